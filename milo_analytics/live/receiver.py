"""The webhook receiver: HeyMilo's deliveries in, durably queued in the store, then fetched.

:class:`WebhookReceiver` is a small Starlette application served by uvicorn on a background
thread (``milo-analytics listen`` runs the same). One endpoint, ``POST /hooks/<token>``:

1. a per-source rate cap (token bucket per client address; 429 with ``Retry-After`` past it);
2. the secret token in the path, compared in constant time (``hmac.compare_digest``); any
   other path — a wrong token, a probe — is answered 404 with no body;
3. ``Content-Type`` must be JSON (415 otherwise); the body is read up to a size cap (413
   past it) and must be one JSON object with a non-empty ``interview_id`` (400 / 422);
4. the event is committed to the store's ``events`` table on a connection with
   ``synchronous=FULL`` (the commit survives a killed process and a power cut), by one writer
   thread that commits what arrived together in one transaction (group commit);
5. only then the answer: 200 ``{"status": "recorded"}`` (or ``"duplicate"``: the same event
   was recorded before and is not queued again).

A worker thread (:class:`~milo_analytics.live.queue.EventWorker`) processes the queue: it
fetches ``GET /interviews/{id}/data`` for each event through the same client, rate limiter and
store path as ``load_posting``. A heartbeat in the store's ``listener_runs`` tells
``load_posting(..., refresh="auto")`` that the receiver was up, so it may skip the candidate
listing; a refused delivery that carried the right token is noted there too (the event may be
lost, so the next ``auto`` load lists in full).

Security
--------
HeyMilo documents no signature scheme, so the token in the URL is the only proof that a
delivery comes from whoever it was given to: keep the URL secret. The token (256 random
bits) is made on first use and kept in the store, which only its owner can read. The
receiver binds ``127.0.0.1`` unless told otherwise, never logs the token or the API key (no
access log; its own log lines mask the token), and never echoes a request back.

To receive HeyMilo's deliveries from the internet, do not expose this server directly:
terminate TLS in a reverse proxy (nginx, Caddy, a cloud load balancer) that forwards only
``/hooks/`` to ``127.0.0.1:<port>``, and register the proxy's ``https://`` URL (e.g.
``milo-analytics webhooks register POSTING --url https://hooks.example.org``). Over plain
HTTP the token travels in clear text. Behind a proxy on the same host, the proxy's
``X-Forwarded-For`` names the source for the rate cap (uvicorn trusts it from 127.0.0.1 only;
set ``FORWARDED_ALLOW_IPS`` for a proxy elsewhere). A proxy also keeps the token out of
HeyMilo-side and proxy access logs only if you configure it not to log paths.

Examples
--------
>>> from milo_analytics.live import WebhookReceiver
>>> with WebhookReceiver("store.sqlite3", client) as receiver:  # doctest: +SKIP
...     print(receiver)            # the token is masked
...     register_webhooks(client, "13D77095", receiver.url)
...     receiver.wait_idle()
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from ..api.decoding import loads
from ..errors import ConfigError
from ..store import Store
from .queue import EventWorker, event_id_of

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_RATE_CAP",
    "HOOK_PREFIX",
    "WebhookReceiver",
]

logger = logging.getLogger("milo_analytics.live")

#: Port of ``milo-analytics listen`` (``WebhookReceiver`` picks a free one by default).
DEFAULT_PORT = 8765
#: Largest body accepted. HeyMilo's payload is undocumented; the guides say it "contains all
#: relevant event data", which may include the whole interview document (tens of KB, rarely
#: above a few hundred KB with a long transcript).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Requests per minute per source address (a burst of one minute's worth is allowed).
DEFAULT_RATE_CAP = 1200
#: Seconds between two heartbeats in the store.
DEFAULT_HEARTBEAT = 30.0
#: The endpoint's path is ``HOOK_PREFIX + token``.
HOOK_PREFIX = "/hooks/"
_MASK = "****"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class _RateCap:
    """Token buckets per source: ``per_minute`` requests a minute, bursts of that many."""

    _MAX_SOURCES = 10_000

    def __init__(self, per_minute: int | None, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, source: str) -> float:
        """0.0 when the request may pass, else the seconds until it would."""
        if not self.per_minute:
            return 0.0
        now = self.clock()
        cap = float(self.per_minute)
        rate = cap / 60.0
        tokens, last = self._buckets.get(source, (cap, now))
        tokens = min(cap, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[source] = (tokens, now)
            return (1.0 - tokens) / rate
        if len(self._buckets) >= self._MAX_SOURCES and source not in self._buckets:
            # forget sources whose bucket has refilled (they are as good as new)
            full = [s for s, (t, at) in self._buckets.items() if t + (now - at) * rate >= cap]
            for s in full:
                del self._buckets[s]
        self._buckets[source] = (tokens - 1.0, now)
        return 0.0


def _tell(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    value: Any,
    error: BaseException | None,
) -> None:
    """Resolve a request's future from the writer thread (its loop may have closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_deliver, fut, value, error)


def _deliver(fut: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


class _EventWriter:
    """One thread commits events (group commit): what arrived together, one transaction."""

    _BATCH = 512

    def __init__(self, store: Store, run_id: int, on_commit: Callable[[int], None]) -> None:
        self.store = store
        self.run_id = run_id
        self.on_commit = on_commit
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="milo-live-writer", daemon=True)
        self._thread.start()

    def submit(self, event: dict[str, Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._q.put(("event", event, fut, loop))
        return fut

    def note_rejection(self) -> None:
        self._q.put(("rejected", time.time(), None, None))

    def close(self, timeout: float = 30.0) -> None:
        self._q.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._q.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self._BATCH:
                try:
                    more = self._q.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            events = [b for b in batch if b[0] == "event"]
            rejections = [b[1] for b in batch if b[0] == "rejected"]
            try:
                flags = self.store.record_events([b[1] for b in events]) if events else []
            except BaseException as exc:  # the store failed: nobody is told "recorded"
                logger.error("could not record %d webhook events: %s", len(events), exc)
                for _, _, fut, loop in events:
                    _tell(loop, fut, None, exc)
                continue
            for (_, _, fut, loop), new in zip(events, flags, strict=True):
                _tell(loop, fut, new, None)
            if any(flags):
                self.on_commit(sum(flags))
            for when in rejections:
                try:
                    self.store.note_rejected_delivery(self.run_id, when=when)
                except Exception as exc:  # pragma: no cover - best effort
                    logger.error("could not note a refused delivery: %s", exc)


class WebhookReceiver:
    """Receive HeyMilo webhook deliveries into a store and fetch the interviews they name.

    Use it as a context manager (or :meth:`start` / :meth:`stop`); ``milo-analytics listen``
    runs the same. See the module docstring for the endpoint, its answers, and how to expose
    it safely (TLS in a reverse proxy; the URL holds the secret token).

    Parameters
    ----------
    store
        A :class:`~milo_analytics.store.Store` or the path of one (default: the user's store).
        Not ``":memory:"``: acknowledged events must survive the process.
    client
        The :class:`~milo_analytics.api.HeyMiloClient` that fetches interview documents; by
        default one made from ``HEYMILO_API_KEY`` / ``HEYMILO_BASE_URL`` (and closed on stop).
    host
        Address to bind; ``127.0.0.1`` by default (reachable from this machine only).
    port
        Port to bind; 0 picks a free one (``.port`` tells which).
    public_url
        The URL HeyMilo reaches this receiver at, without the token (e.g. a reverse proxy's
        ``https://hooks.example.org``); used by :attr:`url`. Default ``http://host:port``.
    max_body_bytes
        Largest request body (413 past it).
    rate_cap
        Requests per minute per source address (429 past it; a minute's worth may come at
        once); None or 0 for no cap.
    process
        Process the queue here (the default). False only records events (another receiver or
        a later ``load_posting(..., refresh="auto")`` processes them).
    concurrency
        Interview documents fetched at once by the worker.
    heartbeat
        Seconds between heartbeats in the store.
    poll
        Seconds between the worker's looks at the queue when nothing wakes it.

    Attributes
    ----------
    stats : dict
        Counters: ``received`` (deliveries answered), ``recorded``, ``duplicates``,
        ``rejected`` (by answer status), and the worker's processing counts.

    Raises
    ------
    ConfigError
        An in-memory store, no API key (when ``process``), or a bad option.
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        client: Any = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        rate_cap: int | None = DEFAULT_RATE_CAP,
        process: bool = True,
        concurrency: int = 4,
        heartbeat: float = DEFAULT_HEARTBEAT,
        poll: float = 1.0,
    ) -> None:
        if isinstance(store, Store):
            if str(store.path) == ":memory:":
                raise ConfigError(_MEMORY)
            self._store_arg: Store | None = store
            self._path = Path(store.path)
        else:
            if store is not None and str(store) == ":memory:":
                raise ConfigError(_MEMORY)
            self._store_arg = None
            from ..store import default_store_path

            self._path = Path(store).expanduser() if store is not None else default_store_path()
        for name, value, low in (
            ("max_body_bytes", max_body_bytes, 1),
            ("concurrency", concurrency, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}; got {value!r}")
        if rate_cap is not None and (
            isinstance(rate_cap, bool) or not isinstance(rate_cap, int) or rate_cap < 0
        ):
            raise ConfigError(
                f"rate_cap must be requests per minute (an integer >= 1), or None for no cap; "
                f"got {rate_cap!r}"
            )
        if not (isinstance(heartbeat, int | float) and heartbeat > 0):
            raise ConfigError(f"heartbeat must be a positive number of seconds; got {heartbeat!r}")
        self.host = host
        self.port = int(port)
        self._public_url = public_url.rstrip("/") if public_url else None
        self.max_body_bytes = max_body_bytes
        self.rate_cap = rate_cap or None
        self.process = process
        self.concurrency = concurrency
        self.heartbeat = float(heartbeat)
        self.poll = float(poll)
        self._client_arg = client
        self._client: Any = None
        self._own_client = False
        self._store: Store | None = None
        self._intake: Store | None = None
        self._token: str | None = None
        self._run_id: int | None = None
        self._writer: _EventWriter | None = None
        self.worker: EventWorker | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._rate = _RateCap(self.rate_cap)
        self._counts: dict[str, int] = {"received": 0, "recorded": 0, "duplicates": 0}
        self._rejected: dict[int, int] = {}

    # ------------------------------------------------------------------ properties
    @property
    def running(self) -> bool:
        """Whether the server thread is up."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def store(self) -> Store:
        """The store the worker writes to (open while running)."""
        if self._store is None:
            raise ConfigError("the receiver is not running; call start() or use `with`")
        return self._store

    @property
    def base_url(self) -> str:
        """Where HeyMilo reaches the receiver, without the token."""
        return self._public_url or f"http://{self._url_host()}:{self.port}"

    @property
    def url(self) -> str:
        """The full webhook URL, **with the secret token**: give it to HeyMilo only
        (``register_webhooks``); never print or log it."""
        if self._token is None:
            raise ConfigError("the receiver is not running; call start() or use `with`")
        return f"{self.base_url}{HOOK_PREFIX}{self._token}"

    @property
    def masked_url(self) -> str:
        """:attr:`url` with the token masked (safe to print)."""
        return f"{self.base_url}{HOOK_PREFIX}{_MASK}"

    @property
    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self._counts)
        out["rejected"] = dict(self._rejected)
        if self.worker is not None:
            out.update(self.worker.counts)
            out["last_error"] = self.worker.last_error
        return out

    def _url_host(self) -> str:
        if self.host in ("0.0.0.0", "::", ""):
            return socket.gethostname()
        return f"[{self.host}]" if ":" in self.host else self.host

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"WebhookReceiver({state}, url={self.masked_url!r}, store={str(self._path)!r})"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> Self:
        """Open the store, start the writer, worker and heartbeat threads, then the server."""
        if self.running:
            return self
        try:
            self._open()
            self._serve(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _open(self) -> None:
        self._store = self._store_arg if self._store_arg is not None else Store(self._path)
        self._intake = Store(self._path)
        self._intake.make_durable()
        self._token = self._store.webhook_token()
        self._path_bytes = (HOOK_PREFIX + self._token).encode()
        if self.process:
            client = self._client_arg
            if client is None:
                from ..api import HeyMiloClient

                client = HeyMiloClient(max_connections=max(self.concurrency, 1))
                self._own_client = True
            self._client = client
        self._run_id = self._store.start_listener_run(
            pid=os.getpid(), heartbeat=self.heartbeat, processes=self.process
        )
        self._writer = _EventWriter(self._intake, self._run_id, self._committed)
        if self.process:
            self.worker = EventWorker(
                self._store, self._client, concurrency=self.concurrency, poll=self.poll
            ).start()
        self._beat_stop.clear()
        self._beat_thread = threading.Thread(
            target=self._beat, name="milo-live-heartbeat", daemon=True
        )
        self._beat_thread.start()

    def _serve(self, timeout: float) -> None:
        import uvicorn

        from .._serving import PromptServer

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc})",
                python_hint="pick another port (port=) or stop what uses it",
                cli_hint="pick another port (--port) or stop what uses it",
            ) from None
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        self._sock = sock
        if self.host not in _LOOPBACK:
            logger.warning(
                "the webhook receiver listens on %s, reachable from other machines over plain "
                "HTTP: put a TLS reverse proxy in front of it (see milo_analytics.live.receiver)",
                self.host,
            )
        config = uvicorn.Config(
            self._app(),
            log_config=None,  # never touch the caller's logging
            log_level="warning",
            access_log=False,  # an access log would write the token (it is in the path)
            lifespan="off",
            http="auto",
            loop="asyncio",
            timeout_keep_alive=30,
            backlog=1024,
            server_header=False,
        )
        self._server = PromptServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="milo-live-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise ConfigError("the webhook receiver failed to start (see the log)")
            if time.monotonic() > deadline:
                raise ConfigError(f"the webhook receiver did not start within {timeout} s")
            time.sleep(0.005)
        logger.info("webhook receiver listening on %s", self.masked_url)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving, finish what was received, stop the worker, record a clean stop."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._server = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._writer is not None:
            self._writer.close(timeout)
            self._writer = None
        if self.worker is not None:
            self.worker.stop(timeout)
        self._beat_stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout)
            self._beat_thread = None
        if self._store is not None and self._run_id is not None and not self._store.closed:
            with contextlib.suppress(Exception):
                self._store.stop_listener_run(self._run_id)
        self._run_id = None
        if self._own_client and self._client is not None:
            self._client.close()
        self._client = None
        self._own_client = False
        if self._intake is not None:
            self._intake.close()
            self._intake = None
        if self._store is not None and self._store is not self._store_arg:
            self._store.close()
        self._store = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 30.0, poll: float = 0.05) -> bool:
        """Block until the queue is empty (every due event processed); False on timeout."""
        if self.worker is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker.idle():
                return True
            self.worker.wake()
            time.sleep(poll)
        return False

    def serve_forever(self) -> None:
        """Start (if needed) and block until Ctrl-C (KeyboardInterrupt), then stop cleanly."""
        self.start()
        try:
            while self.running:
                time.sleep(0.2)
        finally:
            self.stop()

    # ------------------------------------------------------------------ internals
    def _committed(self, n: int) -> None:
        self._counts["recorded"] += n
        if self.worker is not None:
            self.worker.wake()

    def _beat(self) -> None:
        while not self._beat_stop.wait(self.heartbeat):
            if self._store is None or self._run_id is None:
                return
            try:
                self._store.beat_listener_run(self._run_id)
            except Exception as exc:
                logger.error("webhook receiver heartbeat failed: %s", exc)

    def _reject(self, status: int, message: str | None = None, **headers: str) -> Any:
        """A refused delivery that carried the right token (its event may be lost)."""
        from starlette.responses import JSONResponse, Response

        self._rejected[status] = self._rejected.get(status, 0) + 1
        if self._writer is not None:
            self._writer.note_rejection()
        reason = (message or "over the rate cap").split(":", 1)[0]  # never the body
        logger.warning("webhook delivery refused (%d): %s", status, reason)
        if message is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def endpoint(request: Request) -> Response:
            self._counts["received"] += 1
            source = request.client.host if request.client else "unknown"
            path = request.scope.get("path", "")
            ours = hmac.compare_digest(path.encode("utf-8", "replace"), self._path_bytes)
            wait = self._rate.take(source)
            if wait:
                if ours:
                    return self._reject(429, None, **{"Retry-After": str(max(1, round(wait)))})
                return Response(status_code=429, headers={"Retry-After": str(max(1, round(wait)))})
            if not ours:
                return Response(status_code=404)  # no body: nothing to learn from a probe
            if request.method != "POST":
                return self._reject(405, "webhook deliveries are POSTed", Allow="POST")
            if not _is_json(request.headers.get("content-type", "")):
                return self._reject(415, "the body must be JSON (Content-Type: application/json)")
            declared = request.headers.get("content-length")
            if declared is not None and (
                not declared.isdigit() or int(declared) > self.max_body_bytes
            ):
                return self._reject(413, f"the body is larger than {self.max_body_bytes} bytes")
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body_bytes:
                    return self._reject(413, f"the body is larger than {self.max_body_bytes} bytes")
            try:
                payload = loads(bytes(body))
            except ValueError as exc:
                return self._reject(400, f"the body is not JSON: {str(exc)[:200]}")
            iid = payload.get("interview_id") if isinstance(payload, dict) else None
            if not isinstance(iid, str) or not iid.strip() or len(iid) > 200:
                return self._reject(422, "the event must be a JSON object with an interview_id")
            pid = payload.get("posting_id")
            kind = payload.get("event_type")
            event = {
                "event_id": event_id_of(payload),
                "received_at": time.time(),
                "interview_id": iid.strip(),
                "posting_id": pid if isinstance(pid, str) and pid.strip() else None,
                "event_type": kind if isinstance(kind, str) else None,
                "body": bytes(body),
            }
            writer = self._writer
            if writer is None:
                return self._reject(503, "the receiver is stopping; deliver again later")
            try:
                new = await writer.submit(event)
            except Exception:
                return self._reject(503, "the event could not be recorded; deliver again later")
            if not new:
                self._counts["duplicates"] += 1
            logger.debug(
                "webhook event %s for interview %s: %s",
                event["event_type"],
                event["interview_id"],
                "recorded" if new else "duplicate",
            )
            return JSONResponse({"status": "recorded" if new else "duplicate"})

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[Route("/{rest:path}", endpoint, methods=methods)])


_MEMORY = (
    "a webhook receiver needs a store file: acknowledged events must survive the process "
    "(pass a path, or the CLI's --store)"
)
