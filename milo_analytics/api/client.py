"""HeyMiloClient: authentication, retries, rate limiting and the request loop.

The client is synchronous and thread-safe: one instance is meant to be shared by a thread pool
(the loader runs 32 workers on it by default). It keeps ``max_connections`` keep-alive connections,
paces requests with a shared :class:`~milo_analytics.api.ratelimit.RateLimiter`, retries
idempotent requests on connection errors, 408, 429 and 5xx with capped exponential backoff and
jitter (honouring ``Retry-After``), and turns every failure into the error tree of
:mod:`milo_analytics.errors`. The API key is sent as ``X-API-KEY`` and never appears in a
repr, log line or exception.

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

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import APIConnectionError, ConfigError
from .errors import (
    InvalidRequestError,
    MalformedResponseError,
    error_from_response,
    parse_retry_after,
    redact,
    request_id_from,
)
from .ratelimit import RateLimiter
from .resources import Candidates, Interviews, Postings, Questions, Webhooks

__all__ = ["DEFAULT_BASE_URL", "HeyMiloClient"]

logger = logging.getLogger("milo_analytics.api")

#: HeyMilo's production API (v2). The guides' ``https://api.heymilo.network/api/v4`` works too.
DEFAULT_BASE_URL = "https://api.heymilo.ai/api/v2"

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: Transport errors raised before the request could reach the server: safe to retry any method.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Transport errors that retrying cannot fix.
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


try:  # about twice as fast as the standard library on interview documents
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]


def _loads(content: bytes) -> Any:
    """Decode a JSON body (orjson when installed; the standard library for what it refuses,
    e.g. NaN or integers beyond 64 bits)."""
    if _orjson is not None:
        try:
            return _orjson.loads(content)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(content)


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
        Seconds per request (connect, read, write and pool).
    max_retries
        Retries after the first attempt, for connection errors, 408, 429 and 5xx on idempotent
        requests (GET/PATCH/DELETE). A POST is retried only when it surely never reached the
        server (connection refused) or was turned away with 429.
    rate_limit
        ``"auto"`` (follow the server's rate-limit headers; pace HeyMilo's hosts at 300/min when
        it sends none; slow down on 429), an int N (pace at N requests/min), or ``None`` (off).
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
                "no HeyMilo API key: set the HEYMILO_API_KEY environment variable "
                "or pass api_key= to HeyMiloClient"
            )
        if not isinstance(key, str) or not key.isascii() or not key.isprintable() or " " in key:
            raise ConfigError(
                "the HeyMilo API key contains spaces or non-printable/non-ASCII characters; "
                "check HEYMILO_API_KEY or api_key= (copy the key again from Integrations → API Keys)"
            )
        url = base_url or os.environ.get("HEYMILO_BASE_URL") or DEFAULT_BASE_URL
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"base_url must be an http(s) URL with the version prefix, e.g. "
                f"{DEFAULT_BASE_URL!r}; got {redact(url, [key])!r} "
                "(set HEYMILO_BASE_URL or pass base_url=)"
            )
        if parts.query or parts.username or parts.password:
            raise ConfigError(
                "base_url must not carry a query string or credentials; "
                "pass the key with api_key= / HEYMILO_API_KEY"
            )
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0; got {max_retries!r}")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigError(f"max_connections must be an integer >= 1; got {max_connections!r}")

        self.base_url = url
        self._base_path = parts.path.rstrip("/")
        self._api_key = key
        self.timeout = timeout
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
        )
        send_headers = {
            "Accept": "application/json",
            "User-Agent": f"milo-analytics/{_version()} (+httpx)",
        }
        send_headers.update(headers or {})
        send_headers["X-API-KEY"] = key
        self._http = httpx.Client(
            base_url=url + "/",
            headers=send_headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
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
            No HTTP answer after the retries.
        APIError
            A success status whose body is malformed (message says "malformed response").

        Examples
        --------
        An endpoint without a resource method, e.g. a workflow step's config:

        >>> client.request("PATCH", "postings/13D77095/workflow/web_interview",  # doctest: +SKIP
        ...                json={"config": {"video": True}})["data"]["id"]
        '13D77095'
        """
        method = method.upper()
        full_path = self._full_path(path)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = None if json is None else _encode_body(json, method, full_path)
        body_headers = None if content is None else {"Content-Type": "application/json"}
        idempotent = method in _IDEMPOTENT
        attempt = 0
        while True:
            if self._closed:
                raise ConfigError("this HeyMiloClient is closed; create a new one")
            waited = self.limiter.acquire()
            if waited:
                self._count("rate_limit_wait", waited)
            self._count("requests")
            started = self._clock()
            try:
                response = self._http.request(
                    method,
                    path.lstrip("/"),
                    params=query or None,
                    content=content,
                    headers=body_headers,
                )
            except httpx.TransportError as exc:
                self.limiter.release()
                if isinstance(exc, httpx.UnsupportedProtocol):
                    raise ConfigError(
                        f"base_url {self.base_url!r} is not usable: {type(exc).__name__}"
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
                hint = (
                    "check the network and base_url; the server may be down"
                    if isinstance(exc, _NEVER_SENT)
                    else "the connection broke; retry later"
                    + (
                        ""
                        if idempotent
                        else " (a POST is not retried: check whether it took effect)"
                    )
                )
                raise APIConnectionError(
                    f"no answer from the server{tried}: {detail}",
                    method=method,
                    path=full_path,
                    hint=hint,
                ) from exc
            except BaseException:
                self.limiter.release()  # e.g. KeyboardInterrupt while waiting for the answer
                raise

            self.limiter.on_response(response.status_code, response.headers)
            status = response.status_code
            elapsed_ms = (self._clock() - started) * 1000.0
            logger.debug("%s %s -> %d (%.0f ms)", method, full_path, status, elapsed_ms)
            if status < 400:
                return self._decode(response, method, full_path)

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
                    response.close()
                    self._wait_before_retry(delay)
                    attempt += 1
                    continue
            error = error_from_response(response, method, full_path, secrets=[self._api_key])
            logger.debug("%s", error)
            raise error

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        request_id = request_id_from(response.headers)
        if response.status_code == 204 or not response.content:
            if method == "DELETE":
                return {"data": None}
            raise MalformedResponseError(
                f"malformed response: HTTP {response.status_code} with an empty body",
                method=method,
                path=path,
                request_id=request_id,
            )
        try:
            body = _loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise MalformedResponseError(
                f"malformed response: HTTP {response.status_code} body is not valid JSON "
                f"({len(response.content)} bytes)",
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
            )
        return body
