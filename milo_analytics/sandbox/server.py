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
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from .app import SandboxApp, SandboxState, complete_pending
from .faults import Faults
from .simulate import Simulation
from .world import World, WorldConfig, generate_world, load_demo_world

__all__ = ["ProcessSandbox", "Sandbox", "resolve_world", "run_sandbox"]


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


class _Served(ABC):
    """What both servers share: the world, the key, the URLs, the client and ``with``."""

    world: World
    host: str
    port: int

    def _setup(self, world: Any, api_key: str | None) -> None:
        self.world = resolve_world(world)
        self._api_key = api_key or ("sbx_" + secrets.token_hex(16))

    @property
    @abstractmethod
    def running(self) -> bool: ...

    def __repr__(self) -> str:  # the key never appears
        state = "running" if self.running else "stopped"
        return f"{type(self).__name__}({state}, base_url={self.base_url!r}, world={self.world!r})"

    @property
    def api_key(self) -> str:
        """The key the server accepts in ``X-API-KEY``."""
        return self._api_key

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

    def client(self, **kw: Any) -> Any:
        """``HeyMiloClient(api_key=sb.api_key, base_url=sb.base_url, **kw)``."""
        from milo_analytics.api import HeyMiloClient

        kw.setdefault("api_key", self.api_key)
        kw.setdefault("base_url", self.base_url)
        return HeyMiloClient(**kw)

    @abstractmethod
    def start(self, timeout: float = 10.0) -> Self: ...

    @abstractmethod
    def stop(self, timeout: float = 10.0) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Sandbox(_Served):
    """A running (or startable) HeyMilo-compatible server over a World.

    Use :func:`run_sandbox`; the attributes are described in its docstring.
    """

    #: Connections (and so pull threads) of :meth:`client` unless given. The server runs in
    #: this process and shares its GIL with the client's threads: beyond a few they only
    #: contend (pulling the demo world on 2 cores: ~2.2 s with 4, ~2.5–3 s with the client's
    #: default 32).
    CLIENT_CONNECTIONS = 4

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
        self._setup(world, api_key)
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

    def client(self, **kw: Any) -> Any:
        """``HeyMiloClient(api_key=sb.api_key, base_url=sb.base_url,
        max_connections=Sandbox.CLIENT_CONNECTIONS, **kw)``."""
        kw.setdefault("max_connections", self.CLIENT_CONNECTIONS)
        return super().client(**kw)

    # ------------------------------------------------------------------ properties
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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
        return complete_pending(self.state)

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

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> Sandbox:
        """Start uvicorn in a daemon thread on a free port of 127.0.0.1."""
        if self.running:
            return self
        import uvicorn

        from .._serving import PromptServer

        self.state.stopping.clear()  # (a restart after a stop)

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
        self._server = PromptServer(config)
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
        """Stop the server and the webhook thread (answers in flight are sent without the rest
        of their simulated latency)."""
        self.state.stopping.set()
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self.state.simulation.dispatcher.close()


class ProcessSandbox(_Served):
    """The same server in a child process, so that it shares no GIL with the caller.

    For benchmarks: an in-process server competes with the client's threads for the
    interpreter. ``sb.world`` is the parent's snapshot of the world at start (it does not see
    changes made through the API); ``counts``, ``reset_counts()``, ``set_faults()``,
    ``complete_pending()`` and ``override_score()`` go through key-protected control routes.
    Start it with ``run_sandbox(..., process=True)``.
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
    ) -> None:
        from .faults import normalise_malformed

        self._world_arg = world
        self._setup(world, api_key)
        Faults(
            latency=latency, rate_limit=rate_limit, error_rate=error_rate, drop_rate=drop_rate
        )  # validate
        self._opts = {
            "latency": latency,
            "rate_limit": rate_limit,
            "error_rate": error_rate,
            "drop_rate": drop_rate,
            "malformed": normalise_malformed(malformed),
            "interview_delay": interview_delay,
            "seed": seed,
        }
        self.host = "127.0.0.1"
        self.port = 0
        self._proc: Any = None
        self._tmp: Any = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _control(self, method: str, action: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        r = httpx.request(
            method,
            f"{self.root_url}/_sandbox/{action}",
            json=body,
            headers={"X-API-KEY": self.api_key},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()

    @property
    def counts(self) -> dict[str, int]:
        """Requests per route, read from the child process."""
        return self._control("GET", "counts")

    def reset_counts(self) -> None:
        self._control("POST", "reset_counts")

    def set_faults(self, **kw: Any) -> None:
        if "malformed" in kw:
            from .faults import normalise_malformed

            kw["malformed"] = normalise_malformed(kw["malformed"])
        self._control("POST", "faults", kw)

    def complete_pending(self) -> int:
        return int(self._control("POST", "complete_pending")["completed"])

    def override_score(self, interview_id: str, score: float) -> None:
        self._control("POST", "override_score", {"interview_id": interview_id, "score": score})

    def start(self, timeout: float = 60.0) -> ProcessSandbox:
        import subprocess
        import sys
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="milo-sandbox-")
        tmp = Path(self._tmp.name)
        if isinstance(self._world_arg, str) and self._world_arg == "demo":
            folder = "demo"
        elif isinstance(self._world_arg, str | os.PathLike) and Path(self._world_arg).is_dir():
            folder = str(self._world_arg)
        else:
            folder = str(self.world.save(tmp / "world"))
        o = self._opts
        cmd = [
            sys.executable, "-m", "milo_analytics.cli", "sandbox", "--world", folder,
            "--api-key", self.api_key, "--latency", str(o["latency"]),
            "--error-rate", str(o["error_rate"]), "--drop-rate", str(o["drop_rate"]),
            "--interview-delay", str(o["interview_delay"]), "--seed", str(o["seed"]),
        ]  # fmt: skip
        if o["rate_limit"]:
            cmd += ["--rate-limit", str(int(o["rate_limit"]))]
        for iid, mode in o["malformed"].items():
            cmd += ["--malformed", f"{iid}:{mode}"]
        log = tmp / "server.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(log, "wb") as fh:
            self._proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "HEYMILO_BASE_URL=" in text:
                url = text.split("HEYMILO_BASE_URL=", 1)[1].split()[0]
                self.port = int(url.split(":")[2].split("/")[0])
                return self
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox process did not start:\n{text[-2000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except Exception:
                self._proc.kill()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


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
    process: bool = False,
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
    process
        Run the server in a child process (:class:`ProcessSandbox`, for benchmarks: no GIL
        shared with the caller; ``sb.world`` is then a snapshot).

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
    cls = ProcessSandbox if process else Sandbox
    sb = cls(
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
