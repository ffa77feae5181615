"""HeyMiloClient: authentication, retries, rate limiting and the request loop.

The client is synchronous and thread-safe: one instance is meant to be shared by a thread pool
(the loader runs 32 workers on it by default). It keeps ``max_connections`` keep-alive connections,
paces requests with a shared :class:`~milo_analytics.api.ratelimit.RateLimiter`, retries
idempotent requests on connection errors, 408, 429 and 5xx with capped exponential backoff and
jitter (honouring ``Retry-After``), and turns every failure into the error tree of
:mod:`milo_analytics.errors`. The API key is sent as ``X-API-KEY`` and never appears in a
repr, log line or exception.

Hostile or broken servers are bounded: every attempt has a total ``deadline`` (connect, send,
headers and the whole body — enforced at the socket, so a server trickling one byte per second
is cut off), bodies are streamed under a size cap (``max_response_bytes``, counted after gzip
decoding), listings under a page cap (``max_pages`` and ``total_count``), and a body is handed
on only if it is JSON the store can keep (:mod:`milo_analytics.api.decoding`).

Examples
--------
>>> import httpx
>>> def handler(request):
...     return httpx.Response(200, json={"data": {"object": "posting", "id": "P1",
...                                                "title": "CSR"}, "meta": None})
>>> with HeyMiloClient(api_key="k-123456", transport=httpx.MockTransport(handler)) as client:
...     client.postings.retrieve("P1").title
'CSR'
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ..errors import APIConnectionError, ConfigError
from .decoding import BodyTooLargeError, DeadlineHit, UnsafeJSONError, loads, read_capped
from .errors import (
    DeadlineExceededError,
    InvalidRequestError,
    MalformedResponseError,
    ResponseTooLargeError,
    error_from_response,
    parse_retry_after,
    redact,
    request_id_from,
)
from .pagination import DEFAULT_MAX_PAGES
from .ratelimit import RateLimiter
from .resources import Candidates, Interviews, Postings, Questions, Webhooks

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ENV_DEADLINE",
    "ENV_MAX_PAGES",
    "ENV_MAX_RESPONSE_MB",
    "HeyMiloClient",
]

logger = logging.getLogger("milo_analytics.api")

#: HeyMilo's production API (v2). The guides' ``https://api.heymilo.network/api/v4`` works too.
DEFAULT_BASE_URL = "https://api.heymilo.ai/api/v2"
#: Seconds one attempt may take in all (connect, send, headers, whole body).
DEFAULT_DEADLINE = 60.0
#: Largest response body accepted, in bytes after decoding (50 MiB; interview documents with
#: long transcripts are well under 1 MiB).
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
#: Environment variables that set ``deadline`` (seconds), ``max_response_bytes`` (in MiB) and
#: ``max_pages`` when the parameter is not passed, like ``HEYMILO_BASE_URL`` sets ``base_url``:
#: how the command line, which has no flags for these bounds, changes them. ``none``: no limit.
ENV_DEADLINE = "HEYMILO_DEADLINE"
ENV_MAX_RESPONSE_MB = "HEYMILO_MAX_RESPONSE_MB"
ENV_MAX_PAGES = "HEYMILO_MAX_PAGES"
#: Error bodies are read up to this size (the message is all the client needs of them).
_ERROR_BODY_BYTES = 64 * 1024
#: Idempotent requests are retried this many times after a deadline hit.
_DEADLINE_RETRIES = 1


class _FloatDefault(float):
    """A parameter default that an environment variable may replace (still the number)."""

    env: str = ""


class _IntDefault(int):
    """A parameter default that an environment variable may replace (still the number)."""

    env: str = ""


def _env_default(value: float, env: str) -> Any:
    out = _FloatDefault(value) if isinstance(value, float) else _IntDefault(value)
    out.env = env
    return out


def _from_environment(value: Any, *, scale: float = 1.0, integer: bool = False) -> Any:
    """``value``, or the number its environment variable holds when ``value`` is the
    parameter's default (``none`` there: no limit); a ConfigError naming the variable when it
    holds something else."""
    if not isinstance(value, _FloatDefault | _IntDefault):
        return value
    plain = float(value) if isinstance(value, float) else int(value)
    text = os.environ.get(value.env, "").strip()
    if not text:
        return plain
    if text.lower() in ("none", "off", "unlimited"):
        return None
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf") or (integer and number != int(number)):
        unit = {ENV_DEADLINE: "seconds", ENV_MAX_RESPONSE_MB: "MiB"}.get(value.env, "pages")
        shown = plain / scale
        raise ConfigError(
            f"{value.env}={text!r} is not a positive {'whole ' if integer else ''}number of "
            f"{unit}; set it to e.g. {2 * shown:g}, to 'none' for no limit, or unset it for "
            f"the default {shown:g}"
        )
    return max(1, round(number * scale)) if integer or scale != 1.0 else number


_DEADLINE_DEFAULT = _env_default(DEFAULT_DEADLINE, ENV_DEADLINE)
_MAX_RESPONSE_DEFAULT = _env_default(DEFAULT_MAX_RESPONSE_BYTES, ENV_MAX_RESPONSE_MB)
_MAX_PAGES_DEFAULT = _env_default(DEFAULT_MAX_PAGES, ENV_MAX_PAGES)

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: Transport errors raised before the request could reach the server: safe to retry any method.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Transport errors that retrying cannot fix.
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


class _DeadlineScope(threading.local):
    """The current attempt's deadline, per thread (httpx's sync client does its socket I/O in
    the calling thread, so the thread identifies the attempt)."""

    at: float | None = None  # time.monotonic() by which the attempt must be done
    expired = False  # a socket wait was cut short by the deadline


_SCOPE = _DeadlineScope()


def _clamp(timeout: float | None, exc: type[Exception]) -> tuple[float | None, bool]:
    """``(timeout, clamped)``: the socket timeout shortened to what is left of the deadline;
    raises ``exc`` when nothing is left."""
    at = _SCOPE.at
    if at is None:
        return timeout, False
    left = at - time.monotonic()
    if left <= 0:
        _SCOPE.expired = True
        raise exc("the request deadline passed")
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until the attempt's deadline,
    so a server that trickles bytes (each read returning one byte) cannot outlast it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        wait, clamped = _clamp(timeout, httpcore.ReadTimeout)
        try:
            return self._stream.read(max_bytes, wait)
        except httpcore.ReadTimeout:
            _SCOPE.expired = _SCOPE.expired or clamped
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        wait, clamped = _clamp(timeout, httpcore.WriteTimeout)
        try:
            self._stream.write(buffer, wait)
        except httpcore.WriteTimeout:
            _SCOPE.expired = _SCOPE.expired or clamped
            raise

    def close(self) -> None:
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait, clamped = _clamp(timeout, httpcore.ConnectTimeout)
        try:
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait))
        except httpcore.ConnectTimeout:
            _SCOPE.expired = _SCOPE.expired or clamped
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every wait bounded by the attempt's deadline (httpx has
    no total timeout: encode/httpx#1450 places one in httpcore, which is where this hooks in)."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        wait, clamped = _clamp(timeout, httpcore.ConnectTimeout)
        try:
            stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        except httpcore.ConnectTimeout:
            _SCOPE.expired = _SCOPE.expired or clamped
            raise
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        wait, clamped = _clamp(timeout, httpcore.ConnectTimeout)
        try:
            stream = self._backend.connect_unix_socket(path, wait, socket_options)
        except httpcore.ConnectTimeout:
            _SCOPE.expired = _SCOPE.expired or clamped
            raise
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.lru_cache(maxsize=4)
def _verifying_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default certificate-verifying TLS context, built once per process.

    Loading the CA bundle takes ~20 ms, which every client paid when it made its own (the
    test suite creates hundreds; a webhook receiver one per worker). The context is not
    changed after it is made, so clients share it safely. httpx reads ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` when it builds one: they are the cache key, so a changed variable gets a
    context of its own.
    """
    return httpx.create_ssl_context()


def _deadline_transport(limits: httpx.Limits) -> httpx.BaseTransport:
    """httpx's own transport, its connection pool rebuilt on :class:`_DeadlineBackend`.

    httpx offers no public way to pass a network backend, so this swaps the pool it built;
    should a future httpx lay it out differently, its transport is used unchanged and the
    deadline is still checked between body chunks (not inside a trickled header).
    """
    context = _verifying_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    transport = httpx.HTTPTransport(limits=limits, verify=context)
    pool = getattr(transport, "_pool", None)
    ssl_context = getattr(pool, "_ssl_context", None)
    if type(pool) is not httpcore.ConnectionPool or ssl_context is None:  # pragma: no cover
        logger.debug("httpx transport layout not recognised; deadline checked between chunks")
        return transport
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend(),
    )
    return transport


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _off_main_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a new daemon thread; the caller waits in an interrupt-safe queue.

    A KeyboardInterrupt reaches the caller while it waits (``SimpleQueue.get`` is C code
    holding no lock) and leaves ``fn`` to finish, or fail, on its own; the daemon thread
    never keeps the process alive. The wait wakes every 0.1 s: a SIGINT that the kernel
    delivered to another thread only sets Python's flag, and the main thread runs the handler
    when it next returns to the interpreter (a wait with no timeout would sit until ``fn``
    finished — seen as a 30 s delay in CI).
    """
    box: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

    def run() -> None:
        try:
            box.put((True, fn(*args)))
        except BaseException as exc:  # re-raised in the caller
            box.put((False, exc))

    threading.Thread(target=run, name="milo-http", daemon=True).start()
    while True:
        try:
            ok, value = box.get(timeout=0.1)
            break
        except queue.Empty:
            continue
    if ok:
        return value
    try:
        raise value
    finally:
        del value  # no reference cycle through the traceback


def _shorter(timeout: float | None, deadline: float) -> float:
    return deadline if timeout is None else min(timeout, deadline)


def _plural(n: float, unit: str) -> str:
    """``n`` and ``unit``, plural unless ``n`` is 1.

    Examples
    --------
    >>> _plural(1, "second"), _plural(0.5, "second"), _plural(30.0, "second")
    ('1 second', '0.5 seconds', '30 seconds')
    """
    return f"{n:g} {unit}" + ("" if n == 1 else "s")


def _bad_json_value(value: Any, where: str = "body") -> tuple[str, Any] | None:
    """The first place in ``value`` that JSON cannot carry (location, value), or ``None``."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if value == value and abs(value) != float("inf") else (where, value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str | int | float | bool) and k is not None:
                return f"{where} key", k
            found = _bad_json_value(v, f"{where}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _bad_json_value(v, f"{where}[{i}]")
            if found:
                return found
        return None
    return where, value


def _encode_body(body: Any, method: str, full_path: str) -> bytes:
    """Encode a request body as httpx would (compact UTF-8 JSON, no NaN); a value JSON cannot
    carry is an :class:`InvalidRequestError` naming where it sits, raised before sending."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        where, value = _bad_json_value(body) or ("body", body)
        raise InvalidRequestError(
            f"{method} {full_path}: the request body cannot be sent as JSON: {where} is "
            f"{type(value).__name__} {value!r} ({exc})",
            param=where,
            hint="send only strings, numbers (not NaN/inf), booleans, None, lists and dicts; "
            "convert dates with .isoformat() and other objects with str()",
        ) from None


def _version() -> str:
    try:
        from .. import __version__

        return __version__
    except Exception:  # pragma: no cover - only during partial imports
        return "0"


class HeyMiloClient:
    """Client for the HeyMilo public API (v2, or the guides' v4 on another host).

    Parameters
    ----------
    api_key
        The workspace API key; defaults to the ``HEYMILO_API_KEY`` environment variable.
    base_url
        Base URL including the version prefix; defaults to ``HEYMILO_BASE_URL``, then
        ``https://api.heymilo.ai/api/v2``.
    timeout
        Seconds per network phase (connect, each read, each write, waiting for a pooled
        connection); ``deadline`` bounds their sum.
    max_retries
        Retries after the first attempt, for connection errors, 408, 429 and 5xx on idempotent
        requests (GET/PATCH/DELETE). A POST is retried only when it surely never reached the
        server (connection refused) or was turned away with 429.
    rate_limit
        ``"auto"`` (follow the server's rate-limit headers; pace HeyMilo's hosts at 300/min when
        it sends none; on a 429 without headers, halve the pace and recover additively — back
        to full speed a minute after a single 429, settling just below a limit the server does
        not advertise; AIMD, see :mod:`milo_analytics.api.ratelimit`), an int N
        (pace at N requests/min), or ``None`` (off).
    deadline
        Seconds one attempt may take in all: waiting for a pooled connection, connecting,
        sending, the response headers and the whole body (default 60; ``None``: no limit).
        It is enforced at the socket, so a server that trickles one byte per second, or never
        answers, ends in a :class:`~milo_analytics.api.errors.DeadlineExceededError` (an
        ``APIConnectionError``) when it passes. Idempotent requests are retried once after a
        deadline hit, a POST never: a server that never answers a GET costs
        ``2 * deadline`` plus one backoff. Any call ends within
        ``(max_retries + 1) * deadline + max_retries * max(backoff_max, max_retry_wait)``
        plus the rate limiter's pacing. (With your own ``transport=``, or a proxy from the
        environment, the deadline is checked between body chunks only; name resolution is
        never covered.)
    max_response_bytes
        Largest body accepted, counted after gzip/deflate decoding (default 50 MiB; ``None``:
        no cap). The body is streamed and reading stops at the cap, so memory stays bounded:
        a larger answer is a :class:`~milo_analytics.api.errors.ResponseTooLargeError` (a
        ``MalformedResponseError``; not retried — the loader records it as that document's
        error and loads the rest).
    max_pages
        Pages one listing may take when the server sends no ``total_count`` (default 5,000,
        i.e. 500,000 records at 100 a page; ``None``: no cap). With a ``total_count``, a listing may run at most a few pages past
        ``ceil(total_count / limit)``; either way, and on a repeated cursor, it stops with a
        :class:`~milo_analytics.api.errors.PaginationError`.
    transport
        An ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.
    max_connections
        Connection pool size (keep-alive connections too); match your thread count. The
        default, 32, matches :func:`~milo_analytics.load.load_posting`'s default concurrency;
        a pull with a smaller pool runs at most this many requests in flight.
    backoff_base, backoff_max
        Retry backoff: ``min(backoff_max, backoff_base * 2**attempt)`` times a jitter in [0.5, 1].
    max_retry_wait
        A ``Retry-After`` longer than this many seconds is not waited for; the error is raised.
    sleep, clock, wall_clock
        Injectable ``time.sleep``, ``time.monotonic`` and ``time.time`` (tests).
    headers
        Extra headers sent with every request (e.g. ``X-Workspace-Id``).

    Attributes
    ----------
    postings, questions, candidates, interviews, webhooks
        The API resources (see :mod:`milo_analytics.api.resources`).
    limiter : RateLimiter
        The shared pacer.

    Examples
    --------
    >>> import os
    >>> client = HeyMiloClient(api_key="secret-key-1234", base_url="http://127.0.0.1:9/api/v2")
    >>> "secret-key-1234" in repr(client)
    False
    >>> client.close(); client.closed
    True

    Bounds for a server you do not trust (each failure is a clear ``APIError``):

    >>> HeyMiloClient(api_key="secret-key-1234", base_url="http://127.0.0.1:9/api/v2",
    ...               deadline=10, max_response_bytes=5_000_000, max_pages=500).deadline
    10.0
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit: int | str | None = "auto",
        transport: httpx.BaseTransport | None = None,
        deadline: float | None = _DEADLINE_DEFAULT,
        max_response_bytes: int | None = _MAX_RESPONSE_DEFAULT,
        max_pages: int | None = _MAX_PAGES_DEFAULT,
        max_connections: int = 32,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_wait: float = 120.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("HEYMILO_API_KEY")
        key = key.strip() if isinstance(key, str) else key
        if not key:
            raise ConfigError(
                "no HeyMilo API key:",
                python_hint="set the HEYMILO_API_KEY environment variable or pass api_key= to "
                "HeyMiloClient",
                cli_hint="set the HEYMILO_API_KEY environment variable (the key is never "
                "passed on the command line)",
            )
        if not isinstance(key, str) or not key.isascii() or not key.isprintable() or " " in key:
            raise ConfigError(
                "the HeyMilo API key contains spaces or non-printable/non-ASCII characters",
                python_hint="check HEYMILO_API_KEY or api_key= (copy the key again from "
                "Integrations → API Keys)",
                cli_hint="check HEYMILO_API_KEY (copy the key again from Integrations → API Keys)",
            )
        url = base_url or os.environ.get("HEYMILO_BASE_URL") or DEFAULT_BASE_URL
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"the base URL must be an http(s) URL with the version prefix, e.g. "
                f"{DEFAULT_BASE_URL!r}; got {redact(url, [key])!r}",
                python_hint="set HEYMILO_BASE_URL or pass base_url=",
                cli_hint="set HEYMILO_BASE_URL or pass --base-url",
            )
        if parts.query or parts.username or parts.password:
            raise ConfigError(
                "the base URL must not carry a query string or credentials",
                python_hint="pass base_url= without them, and the key with api_key= / "
                "HEYMILO_API_KEY",
                cli_hint="pass --base-url without them, and set the key in HEYMILO_API_KEY",
            )
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0; got {max_retries!r}")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigError(f"max_connections must be an integer >= 1; got {max_connections!r}")
        deadline = _from_environment(deadline)
        max_response_bytes = _from_environment(max_response_bytes, scale=2**20)
        max_pages = _from_environment(max_pages, integer=True)
        if deadline is not None and (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not 0 < deadline < float("inf")
        ):
            raise ConfigError(
                f"deadline must be a positive number of seconds (or None for no limit); "
                f"got {deadline!r}"
            )
        for name, value in (("max_response_bytes", max_response_bytes), ("max_pages", max_pages)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(
                    f"{name} must be an integer >= 1 (or None for no cap); got {value!r}"
                )

        self.base_url = url
        self._base_path = parts.path.rstrip("/")
        self._api_key = key
        self.timeout = timeout
        self.deadline = None if deadline is None else float(deadline)
        self.max_response_bytes = max_response_bytes
        self.max_pages = max_pages
        self.max_retries = max_retries
        self.rate_limit = rate_limit
        self.max_connections = max_connections
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self._wall_clock = wall_clock or time.time
        self._random = random.Random()
        self.limiter = RateLimiter(
            rate_limit,
            host=url,
            clock=self._clock,
            sleep=self._sleep,
            wall_clock=self._wall_clock,
            max_pause=max_retry_wait,
        )
        send_headers = {
            "Accept": "application/json",
            # Only what read_capped can inflate with a bound on the output.
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": f"milo-analytics/{_version()} (+httpx)",
        }
        send_headers.update(headers or {})
        send_headers["X-API-KEY"] = key
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.Client(
            base_url=url + "/",
            headers=send_headers,
            timeout=httpx.Timeout(timeout),
            transport=transport if transport is not None else _deadline_transport(limits),
            limits=limits,
            follow_redirects=False,
        )
        self._closed = False
        self._metrics_lock = threading.Lock()
        self._metrics = {
            "requests": 0,
            "retries": 0,
            "rate_limited": 0,
            "rate_limit_wait": 0.0,
            "retry_wait": 0.0,
        }
        self.postings = Postings(self)
        self.questions = Questions(self)
        self.candidates = Candidates(self)
        self.interviews = Interviews(self)
        self.webhooks = Webhooks(self)
        logger.debug(
            "HeyMiloClient for %s (api_key=****, rate_limit=%r)", self.base_url, rate_limit
        )

    # ------------------------------------------------------------------ lifecycle
    def __repr__(self) -> str:
        return (
            f"HeyMiloClient(base_url={self.base_url!r}, api_key='****', "
            f"rate_limit={self.rate_limit!r}, max_retries={self.max_retries}, "
            f"closed={self._closed})"
        )

    def __enter__(self) -> HeyMiloClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("HeyMiloClient cannot be pickled; create one per process")

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if not self._closed:
            self._closed = True
            self._http.close()

    @property
    def metrics(self) -> dict[str, float]:
        """Counters since creation: ``requests`` (HTTP attempts), ``retries``, ``rate_limited``
        (429 answers), ``rate_limit_wait`` and ``retry_wait`` (seconds slept, summed over threads).

        Examples
        --------
        >>> client.metrics["rate_limited"]  # doctest: +SKIP
        0
        """
        with self._metrics_lock:
            return dict(self._metrics)

    def _count(self, name: str, amount: float = 1) -> None:
        with self._metrics_lock:
            self._metrics[name] += amount

    # ------------------------------------------------------------------ requests
    def _full_path(self, path: str) -> str:
        return f"{self._base_path}/{path.lstrip('/')}"

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_max, self.backoff_base * (2**attempt))
        return base * (0.5 + 0.5 * self._random.random())

    def _wait_before_retry(self, delay: float) -> None:
        if self._closed:
            # closed meanwhile (the CLI closes the client after Ctrl-C, which cuts off the
            # requests in flight): no retry, and no back-off sleep the process must wait out
            raise ConfigError("this HeyMiloClient is closed; create a new one")
        self._count("retries")
        self._count("retry_wait", delay)
        if delay > 0:
            self._sleep(delay)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one API request (with retries and rate limiting) and return the JSON body.

        Parameters
        ----------
        method
            HTTP method.
        path
            Path relative to ``base_url``, e.g. ``"postings/13D77095/stats"``.
        params, json
            Query parameters (``None`` values are dropped) and JSON body.

        Returns
        -------
        dict
            The decoded envelope (``{"data": ..., ...}``).

        Raises
        ------
        APIStatusError
            A subclass per status (see :func:`~milo_analytics.api.errors.error_from_response`).
        APIConnectionError
            No HTTP answer after the retries; :class:`DeadlineExceededError` when the answer
            did not complete within ``deadline``.
        MalformedResponseError
            A success status whose body is not storable JSON or lacks the envelope;
            :class:`ResponseTooLargeError` past ``max_response_bytes``.

        Examples
        --------
        An endpoint without a resource method, e.g. a workflow step's config:

        >>> client.request("PATCH", "postings/13D77095/workflow/web_interview",  # doctest: +SKIP
        ...                json={"config": {"video": True}})["data"]["id"]
        '13D77095'
        """
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C must never land inside httpx/httpcore: a KeyboardInterrupt raised between
            # a lock's acquire() and the end of httpcore's (Python-level) ``__enter__`` leaves
            # the connection pool's lock held, and every thread using this client, and
            # close(), then waits forever (`milo-analytics demo` hung after Ctrl-C that way).
            # The main thread therefore hands the request to a helper thread and waits where
            # an interrupt is safe; an abandoned request finishes in the background.
            return _off_main_thread(self._request, method, path, params, json)
        return self._request(method, path, params, json)

    def _request(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any) -> Any:
        """:meth:`request` in the calling thread."""
        method = method.upper()
        full_path = self._full_path(path)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = None if json is None else _encode_body(json, method, full_path)
        body_headers = None if content is None else {"Content-Type": "application/json"}
        idempotent = method in _IDEMPOTENT
        attempt = 0
        deadline_hits = 0
        while True:
            if self._closed:
                raise ConfigError("this HeyMiloClient is closed; create a new one")
            waited = self.limiter.acquire()
            if waited:
                self._count("rate_limit_wait", waited)
            self._count("requests")
            started = self._clock()
            try:
                response, body = self._exchange(
                    method, path, query, content, body_headers, full_path
                )
            except DeadlineHit as hit:
                deadline_hits += 1
                if idempotent and deadline_hits <= _DEADLINE_RETRIES and attempt < self.max_retries:
                    delay = self._backoff(attempt)
                    logger.info(
                        "%s %s: no complete answer within the %.3g s deadline (%s); "
                        "retry %d/%d in %.2f s",
                        method,
                        full_path,
                        self.deadline,
                        hit,
                        attempt + 1,
                        self.max_retries,
                        delay,
                    )
                    self._wait_before_retry(delay)
                    attempt += 1
                    continue
                raise self._deadline_error(
                    method, full_path, str(hit), attempt + 1, idempotent
                ) from hit
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.UnsupportedProtocol):
                    raise ConfigError(
                        f"the base URL {self.base_url!r} is not usable: {type(exc).__name__}",
                        python_hint="fix base_url= or HEYMILO_BASE_URL",
                        cli_hint="fix --base-url or HEYMILO_BASE_URL",
                    ) from None
                detail = redact(f"{type(exc).__name__}: {exc}", [self._api_key])
                retryable = not isinstance(exc, _NOT_RETRYABLE) and (
                    idempotent or isinstance(exc, _NEVER_SENT)
                )
                if retryable and attempt < self.max_retries:
                    delay = self._backoff(attempt)
                    logger.info(
                        "%s %s failed (%s); retry %d/%d in %.2f s",
                        method,
                        full_path,
                        detail,
                        attempt + 1,
                        self.max_retries,
                        delay,
                    )
                    self._wait_before_retry(delay)
                    attempt += 1
                    continue
                tried = f" after {attempt + 1} attempts" if attempt else ""
                never_sent = isinstance(exc, _NEVER_SENT)
                broke = "the connection broke; retry later" + (
                    "" if idempotent else " (a POST is not retried: check whether it took effect)"
                )
                raise APIConnectionError(
                    f"no answer from the server{tried}: {detail}",
                    method=method,
                    path=full_path,
                    hint="check the network and base_url; the server may be down"
                    if never_sent
                    else broke,
                    cli_hint="check the network and --base-url (or HEYMILO_BASE_URL); the "
                    "server may be down"
                    if never_sent
                    else None,
                ) from exc

            status = response.status_code
            elapsed_ms = (self._clock() - started) * 1000.0
            logger.debug("%s %s -> %d (%.0f ms)", method, full_path, status, elapsed_ms)
            if status < 400:
                return self._decode(response, body, method, full_path)

            if status == 429:
                self._count("rate_limited")
            retryable = status in (408, 429) or status >= 500
            may_retry = idempotent or status == 429
            if retryable and may_retry and attempt < self.max_retries:
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), wall_clock=self._wall_clock
                )
                if retry_after is None or retry_after <= self.max_retry_wait:
                    delay = retry_after if retry_after is not None else self._backoff(attempt)
                    logger.info(
                        "%s %s -> %d; retry %d/%d in %.2f s%s",
                        method,
                        full_path,
                        status,
                        attempt + 1,
                        self.max_retries,
                        delay,
                        " (Retry-After)" if retry_after is not None else "",
                    )
                    self._wait_before_retry(delay)
                    attempt += 1
                    continue
            error = error_from_response(
                _replay(response, body), method, full_path, secrets=[self._api_key]
            )
            logger.debug("%s", error)
            raise error

    def _exchange(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        content: bytes | None,
        headers: dict[str, str] | None,
        full_path: str,
    ) -> tuple[httpx.Response, bytes | bytearray]:
        """One attempt: send, then stream the body under the deadline and the size cap.

        Accounts for the rate-limit slot (``on_response`` once headers arrive, ``release``
        when none do). Raises ``httpx.TransportError``, :class:`DeadlineHit` or
        :class:`MalformedResponseError`.
        """
        deadline = self.deadline
        timeout = self._http.timeout
        if deadline is not None:  # no single phase may outlast the whole attempt either
            timeout = httpx.Timeout(
                connect=_shorter(timeout.connect, deadline),
                read=_shorter(timeout.read, deadline),
                write=_shorter(timeout.write, deadline),
                pool=_shorter(timeout.pool, deadline),
            )
        request = self._http.build_request(
            method,
            path.lstrip("/"),
            params=query or None,
            content=content,
            headers=headers,
            timeout=timeout,
        )
        check: Callable[[], bool] | None = None
        if deadline is not None:
            due = self._clock() + deadline
            real_due = time.monotonic() + deadline
            clock = self._clock

            def check() -> bool:
                return clock() >= due or time.monotonic() >= real_due

            _SCOPE.at = real_due
        _SCOPE.expired = False
        phase_name = "no response headers arrived"
        try:
            try:
                response = self._http.send(request, stream=True)
            except BaseException:
                self.limiter.release()  # e.g. KeyboardInterrupt while waiting for the answer
                raise
            try:
                self.limiter.on_response(response.status_code, response.headers)
                phase_name = (
                    f"the HTTP {response.status_code} headers came but the body did not finish"
                )
                ok = response.status_code < 400
                if response.is_stream_consumed:  # e.g. a MockTransport answer made from bytes
                    chunks: Any = [response.content]
                    encoding = None
                else:
                    chunks = response.iter_raw()
                    encoding = response.headers.get("content-encoding")
                try:
                    body = read_capped(
                        chunks,
                        limit=self.max_response_bytes if ok else _ERROR_BODY_BYTES,
                        content_encoding=encoding,
                        declared_length=_content_length(response.headers),
                        check_deadline=check,
                    )
                except BodyTooLargeError as exc:
                    if not ok:
                        return response, b""  # an oversized error body: the status says enough
                    raise self._too_large(response, exc, method, full_path) from None
                except UnsafeJSONError as exc:
                    if not ok:
                        return response, b""
                    raise MalformedResponseError(
                        f"malformed response: HTTP {response.status_code}: {exc}",
                        method=method,
                        path=full_path,
                        request_id=request_id_from(response.headers),
                        hint="the server sent a broken body; retry later or report it to HeyMilo",
                    ) from None
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            if _SCOPE.expired or (check is not None and check()):
                raise DeadlineHit(phase_name) from exc
            raise
        except DeadlineHit:
            raise DeadlineHit(phase_name) from None
        finally:
            _SCOPE.at = None
        return response, body

    def _too_large(
        self, response: httpx.Response, exc: BodyTooLargeError, method: str, full_path: str
    ) -> ResponseTooLargeError:
        cap = exc.limit
        mib = cap / 2**20
        said = (
            f" (the server announced {exc.declared:,} bytes)"
            if exc.declared is not None
            else f" (stopped reading after {exc.received:,} bytes)"
        )
        broken = "otherwise the server is broken — report it to HeyMilo"
        return ResponseTooLargeError(
            f"malformed response: HTTP {response.status_code} body is larger than the "
            f"{mib:.3g} MiB cap ({cap:,} bytes){said}",
            limit=cap,
            declared=exc.declared,
            method=method,
            path=full_path,
            request_id=request_id_from(response.headers),
            hint=f"if this document is genuine, raise max_response_bytes= on HeyMiloClient "
            f"(now {cap:,}); {broken}",
            cli_hint=f"if this document is genuine, set {ENV_MAX_RESPONSE_MB}={2 * mib:.3g} "
            f"(MiB; now {mib:.3g}); {broken}",
        )

    def _deadline_error(
        self, method: str, full_path: str, phase: str, attempts: int, idempotent: bool
    ) -> DeadlineExceededError:
        deadline = self.deadline or 0.0
        post = "" if idempotent else " (a POST is not retried: check whether it took effect)"
        tried = f" (each of {attempts} attempts)" if attempts > 1 else ""
        return DeadlineExceededError(
            f"no complete answer within the {_plural(deadline, 'second')} deadline{tried}: {phase}",
            deadline=deadline,
            attempts=attempts,
            method=method,
            path=full_path,
            hint=f"the server is too slow or stalled; retry later, or raise deadline= on "
            f"HeyMiloClient (now {deadline:g}) if it is just slow{post}",
            cli_hint=f"the server is too slow or stalled; retry later, or set "
            f"{ENV_DEADLINE}={2 * deadline:g} (seconds; now {deadline:g}) if it is just "
            f"slow{post}",
        )

    def _decode(
        self, response: httpx.Response, content: bytes | bytearray, method: str, path: str
    ) -> Any:
        request_id = request_id_from(response.headers)
        if response.status_code == 204 or not content:
            if method == "DELETE":
                return {"data": None}
            raise MalformedResponseError(
                f"malformed response: HTTP {response.status_code} with an empty body",
                method=method,
                path=path,
                request_id=request_id,
            )
        try:
            body = loads(content)
        except UnsafeJSONError as exc:
            raise MalformedResponseError(
                redact(
                    f"malformed response: HTTP {response.status_code} body is not JSON the "
                    f"toolkit can store ({len(content):,} bytes): {exc}",
                    [self._api_key],
                ),
                method=method,
                path=path,
                request_id=request_id,
                hint="the server sent a broken document; retry later or report it to HeyMilo",
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            got = f"keys {sorted(body)[:8]}" if isinstance(body, dict) else type(body).__name__
            raise MalformedResponseError(
                f"malformed response: HTTP {response.status_code} body has no 'data' "
                f"envelope (got {got})",
                method=method,
                path=path,
                request_id=request_id,
                hint="check base_url: it must point at the API with its version prefix",
                cli_hint="check --base-url (or HEYMILO_BASE_URL): it must point at the API "
                "with its version prefix",
            )
        return body


def _replay(response: httpx.Response, body: bytes | bytearray) -> httpx.Response:
    """A read copy of a streamed response (the body already decoded), for error parsing."""
    drop = ("content-encoding", "content-length", "transfer-encoding")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
    reason = response.extensions.get("reason_phrase")
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body),
        request=response.request,
        extensions={"reason_phrase": reason} if reason is not None else {},
    )
