"""Run the sandbox as a real HTTP server on 127.0.0.1 (uvicorn in a background thread).

Examples
--------
>>> import httpx
>>> with run_sandbox(WorldConfig(seed=1, n_candidates=20, n_second=0)) as sb:
...     r = httpx.get(sb.base_url + "/postings", headers={"X-API-KEY": sb.api_key})
>>> r.status_code, r.json()["pagination"]["total_count"]
(200, 1)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .app import SandboxApp, SandboxState
from .faults import Faults
from .simulate import Simulation
from .world import World, WorldConfig, generate_world, load_demo_world

__all__ = ["Sandbox", "resolve_world", "run_sandbox"]


def resolve_world(world: Any) -> World:
    """A World from ``"demo"``, a World, a WorldConfig or a folder written by World.save()."""
    if isinstance(world, World):
        return world
    if isinstance(world, WorldConfig):
        return generate_world(world)
    if world is None or (isinstance(world, str) and world == "demo"):
        return load_demo_world()
    if isinstance(world, str | os.PathLike):
        p = Path(world)
        if p.is_dir():
            return World.load(p)
        raise FileNotFoundError(
            f"world={str(world)!r} is neither 'demo' nor a folder written by World.save(); "
            "pass 'demo', a World, a WorldConfig or an existing folder"
        )
    raise TypeError(
        f"world must be 'demo', a World, a WorldConfig or a folder, not {type(world).__name__}"
    )


class Sandbox:
    """A running (or startable) HeyMilo-compatible server over a World.

    Use :func:`run_sandbox`; the attributes are described in its docstring.
    """

    def __init__(
        self,
        world: Any = "demo",
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        rate_limit: int | None = None,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        malformed: Any = (),
        interview_delay: float = 0.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = resolve_world(world)
        self._api_key = api_key or ("sbx_" + secrets.token_hex(16))
        faults = Faults(
            latency=latency,
            rate_limit=rate_limit,
            error_rate=error_rate,
            drop_rate=drop_rate,
            malformed=malformed,
            seed=seed,
        )
        self.state = SandboxState(
            self.world,
            api_key=self._api_key,
            faults=faults,
            simulation=Simulation(interview_delay, seed=seed),
            seed=seed,
        )
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:  # the key never appears
        state = "running" if self.running else "stopped"
        return f"Sandbox({state}, base_url={self.base_url!r}, world={self.world!r})"

    # ------------------------------------------------------------------ properties
    @property
    def api_key(self) -> str:
        """The key the server accepts in ``X-API-KEY``."""
        return self._api_key

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/v2``."""
        return self.root_url + "/api/v2"

    @property
    def base_url_v4(self) -> str:
        """``http://127.0.0.1:<port>/api/v4`` (same handlers)."""
        return self.root_url + "/api/v4"

    @property
    def counts(self) -> dict[str, int]:
        """Requests per route, e.g. ``counts["GET /interviews/{interview_id}/data"]``."""
        return self.state.counts

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def simulation(self) -> Simulation:
        return self.state.simulation

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST attempted: ``{url, event_type, interview_id, status, error}``."""
        return self.state.simulation.dispatcher.deliveries

    # ------------------------------------------------------------------ control
    def reset_counts(self) -> None:
        """Zero the per-route request counter."""
        self.state.reset_counts()

    def set_faults(self, **kw: Any) -> None:
        """Change faults at runtime: latency, rate_limit, error_rate, drop_rate, malformed, seed."""
        self.state.faults.update(**kw)

    def complete_pending(self) -> int:
        """Finish every unfinished interview now, scored with the weights in force now.

        Returns the number of interviews finished. Webhooks fire as usual.
        """
        st = self.state
        with st.lock:
            for cands in st.world.candidates.values():
                for c in cands:
                    if (
                        c["interview_id"] not in st.world.interview_data
                        and c["interview_id"] not in st.simulation._active
                    ):
                        stage = {"pending": 0, "in_progress": 1, "evaluating": 2}.get(
                            c["status"], 0
                        )
                        st.simulation.register(c["interview_id"], st.clock(), stage)
            before = st.simulation.pending_count()
            st.simulation.advance(st, force=True)
        return before

    def override_score(self, interview_id: str, score: float) -> dict[str, Any]:
        """A recruiter override: changes the interview's ``score`` and ``last_activity_at``."""
        return self.state.override_score(interview_id, score)

    def refresh(self) -> None:
        """Forget cached JSON after you changed ``sb.world`` documents directly (API calls and
        the methods above do this themselves)."""
        with self.state.lock:
            self.state.touch_all()

    def wait_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until queued webhook deliveries were attempted."""
        return self.state.simulation.dispatcher.wait(timeout)

    def client(self, **kw: Any) -> Any:
        """``HeyMiloClient(api_key=sb.api_key, base_url=sb.base_url, **kw)``."""
        from milo_analytics.api import HeyMiloClient

        kw.setdefault("api_key", self.api_key)
        kw.setdefault("base_url", self.base_url)
        return HeyMiloClient(**kw)

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> Sandbox:
        """Start uvicorn in a daemon thread on a free port of 127.0.0.1."""
        if self.running:
            return self
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit TCP_NODELAY on Linux; asyncio also sets it per connection.
        # Without it, small responses wait ~40 ms for delayed ACKs (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(512)
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            SandboxApp(self.state),
            log_level="error",
            access_log=False,
            lifespan="on",
            http="auto",  # httptools when installed (about half the per-request cost), else h11
            loop="asyncio",
            timeout_keep_alive=60,
            backlog=512,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"milo-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and the webhook thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self.state.simulation.dispatcher.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def run_sandbox(
    world: Any = "demo",
    *,
    api_key: str | None = None,
    latency: float = 0.0,
    rate_limit: int | None = None,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    malformed: Any = (),
    interview_delay: float = 0.0,
    seed: int = 0,
) -> Iterator[Sandbox]:
    """Serve a world on 127.0.0.1 for the duration of a ``with`` block.

    Parameters
    ----------
    world
        ``"demo"`` (the packaged demo world, a fresh copy), a :class:`World` (served and
        mutated in place), a :class:`WorldConfig` or a folder written by ``World.save``.
    api_key
        The key the server accepts; random per run when None (``sb.api_key``).
    latency, rate_limit, error_rate, drop_rate, malformed
        Faults (see :class:`~milo_analytics.sandbox.faults.Faults`); change them later with
        ``sb.set_faults(...)``.
    interview_delay
        Seconds per interview stage for candidates ingested through the API.
    seed
        Seed of the fault draws, new ids and simulated interviews.

    Yields
    ------
    Sandbox
        ``sb.base_url`` (``.../api/v2``), ``sb.base_url_v4``, ``sb.api_key``, ``sb.world``,
        ``sb.counts``, ``sb.reset_counts()``, ``sb.set_faults()``, ``sb.complete_pending()``,
        ``sb.override_score()``, ``sb.client()``, ``sb.webhook_deliveries``.

    Examples
    --------
    >>> with run_sandbox(WorldConfig(seed=2, n_candidates=10, n_second=0), latency=0.01) as sb:
    ...     sb.base_url.startswith("http://127.0.0.1:")
    True
    """
    sb = Sandbox(
        world,
        api_key=api_key,
        latency=latency,
        rate_limit=rate_limit,
        error_rate=error_rate,
        drop_rate=drop_rate,
        malformed=malformed,
        interview_delay=interview_delay,
        seed=seed,
    )
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()
