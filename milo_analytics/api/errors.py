"""Build the milo_analytics error tree from HeyMilo HTTP answers, in one place.

HeyMilo answers errors in two shapes: its own envelope
``{"error": {"type", "code", "message", "param", "errors": [...]}}`` and FastAPI's
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` on some 422s. Both become the same
exception classes of :mod:`milo_analytics.errors`, whose messages carry the method, the path
(never the host or the query string), the request id when the server sent one, and a hint.

Examples
--------
>>> import httpx
>>> from milo_analytics.api.errors import error_from_response
>>> resp = httpx.Response(404, json={"error": {"type": "invalid_request_error",
...     "code": "not_found", "message": "Posting not found"}})
>>> err = error_from_response(resp, "GET", "/api/v2/postings/NOPE")
>>> type(err).__name__, err.status_code
('NotFoundError', 404)
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from ..errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    DataError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)

__all__ = [
    "DeadlineExceededError",
    "InvalidRequestError",
    "MalformedResponseError",
    "PaginationError",
    "ResponseTooLargeError",
    "error_from_response",
    "parse_retry_after",
    "redact",
    "request_id_from",
]

#: Headers servers use for a request id, in order of preference.
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")

#: Path segment -> singular resource name, for 404 hints.
_COLLECTIONS = {
    "postings": "posting",
    "questions": "question",
    "candidates": "candidate",
    "interviews": "interview",
    "webhooks": "webhook",
}

#: Listing call that shows valid ids, per resource.
_LISTING_HINT = {
    "posting": "client.postings.list()",
    "question": "client.questions.list({posting!r})",
    "candidate": "client.candidates.list({posting!r})",
    "interview": "client.candidates.list(posting_id)",
    "webhook": "client.webhooks.list()",
}


class InvalidRequestError(ValidationError, DataError):
    """Bad input caught by the client before anything was sent.

    It is both a :class:`~milo_analytics.errors.ValidationError` (like the server's 422, so one
    ``except`` covers both sides) and a :class:`~milo_analytics.errors.DataError` /
    ``ValueError``. ``status_code`` is ``None`` because no request was made.

    Examples
    --------
    >>> err = InvalidRequestError("score_weight must be an integer 1..10, got 11", param="score_weight")
    >>> str(err)
    'score_weight must be an integer 1..10, got 11'
    """

    def __init__(self, message: str, *, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(
            message,
            status_code=None,  # type: ignore[arg-type]
            param=param,
            errors=[{"param": param, "message": message}] if param else [],
            hint=hint,
        )

    def _compose_with(self, hint: str | None) -> str:
        return APIError._compose_with(self, hint)


class MalformedResponseError(APIError):
    """A success status whose body is not JSON the toolkit can store, or lacks the ``data``
    envelope (see :mod:`milo_analytics.api.decoding` for what "can store" means).

    Examples
    --------
    >>> str(MalformedResponseError("malformed response: not JSON", method="GET", path="/x"))
    'GET /x: malformed response: not JSON'
    """


class ResponseTooLargeError(MalformedResponseError):
    """A response body larger than ``max_response_bytes`` (decoded); reading stopped there.

    Attributes
    ----------
    limit : int
        The cap in bytes.
    declared : int or None
        The size the server announced (``Content-Length``), when it did.
    """

    def __init__(self, message: str, *, limit: int, declared: int | None = None, **kw: Any) -> None:
        self.limit = limit
        self.declared = declared
        super().__init__(message, **kw)


class PaginationError(MalformedResponseError):
    """A listing that does not end: more pages than ``total_count`` allows or than
    ``max_pages``, or a cursor that repeats.

    Attributes
    ----------
    pages : int
        Pages fetched when the listing was stopped.
    """

    def __init__(self, message: str, *, pages: int, **kw: Any) -> None:
        self.pages = pages
        super().__init__(message, **kw)


class DeadlineExceededError(APIConnectionError):
    """No complete answer (connect, headers and whole body) within the per-request
    ``deadline`` of :class:`~milo_analytics.api.HeyMiloClient`.

    Attributes
    ----------
    deadline : float
        The deadline in seconds, per attempt.
    attempts : int
        Attempts made (an idempotent request is retried once after a deadline hit).

    Examples
    --------
    >>> err = DeadlineExceededError("no complete answer within the 2 s deadline",
    ...                             deadline=2.0, attempts=1, method="GET", path="/api/v2/x")
    >>> isinstance(err, APIConnectionError), err.deadline
    (True, 2.0)
    """

    def __init__(self, message: str, *, deadline: float, attempts: int, **kw: Any) -> None:
        self.deadline = deadline
        self.attempts = attempts
        super().__init__(message, **kw)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret (e.g. the API key) in ``text`` with ``****``.

    Examples
    --------
    >>> redact("key=abc123 bad", ["abc123"])
    'key=**** bad'
    """
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "****")
    return text


def _redact_obj(obj: Any, secrets: tuple[str, ...]) -> Any:
    if not secrets:
        return obj
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, list):
        return [_redact_obj(x, secrets) for x in obj]
    if isinstance(obj, dict):
        return {k: _redact_obj(v, secrets) for k, v in obj.items()}
    return obj


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """Return the server's request id from response headers, if any.

    Examples
    --------
    >>> request_id_from(httpx.Headers({"X-Request-Id": "req_1"}))
    'req_1'
    """
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value.strip()[:200]
    return None


def parse_retry_after(
    value: str | None, *, wall_clock: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date).

    Returns ``None`` when absent or unparsable; never negative.

    Examples
    --------
    >>> parse_retry_after("2.5")
    2.5
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", wall_clock=lambda: 1445412470.0)
    10.0
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - wall_clock()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _field_from_loc(loc: Any) -> str | None:
    if not isinstance(loc, list | tuple):
        return str(loc) if loc is not None else None
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _parse_body(response: httpx.Response) -> Any:
    from .decoding import loads  # strict and depth-bounded: a hostile error body cannot recurse

    try:
        return loads(response.content)
    except ValueError:
        text = response.content[:600].decode("utf-8", "replace").strip()
        return text[:300] or None


#: What the command line says instead of a listing call, per resource (None: no command
#: lists them; the hint then only says to check the id).
_LISTING_HINT_CLI = {
    "posting": "run `milo-analytics postings` to list them",
    "question": None,
    "candidate": None,
    "interview": None,
    "webhook": None,
}

#: The base URL as a Python caller and as a command-line user set it.
_BASE_URL = ("base_url", "--base-url or HEYMILO_BASE_URL")


def _not_found_hint(path: str) -> tuple[str, str]:
    """What to do about a 404 on ``path``: ``(python hint, cli hint)``."""
    segments = [s for s in path.split("/") if s]
    pairs: list[tuple[str, str]] = []
    for i, seg in enumerate(segments[:-1]):
        if seg in _COLLECTIONS:
            nxt = segments[i + 1]
            if nxt not in _COLLECTIONS and nxt not in ("reorder", "bulk", "async", "list"):
                pairs.append((_COLLECTIONS[seg], nxt))
    if not pairs:
        return tuple(  # type: ignore[return-value]
            f"check the URL and {where} (it must include the version prefix, e.g. /api/v2)"
            for where in _BASE_URL
        )
    kind, ident = pairs[-1]
    posting = next((i for k, i in pairs if k == "posting"), None)
    listing = _LISTING_HINT[kind].format(posting=posting)
    where = f" of posting {posting!r}" if posting and kind != "posting" else ""
    text = f"no {kind} with id {ident!r}{where} was found — check the id"
    python, cli = f"{text} (see {listing})", text
    if _LISTING_HINT_CLI[kind]:
        cli += f" ({_LISTING_HINT_CLI[kind]})"
    if posting and kind != "posting":
        python += f", and that posting {posting!r} exists"
        cli += f", and that posting {posting!r} exists ({_LISTING_HINT_CLI['posting']})"
    return python, cli


def _hint_for(
    status: int, path: str, fields: list[str], retry_after: float | None
) -> tuple[str | None, str | None]:
    """What to do about an error status: ``(python hint, cli hint)``; the CLI hint is None
    where the advice names nothing Python-specific (the CLI then prints the Python one)."""
    if status in (401, 403):
        if status == 403:
            return "check HEYMILO_API_KEY: this key has no access to that resource", None
        return (
            "check HEYMILO_API_KEY (or pass api_key=): the key was rejected",
            "check HEYMILO_API_KEY: the key was rejected",
        )
    if status == 404:
        return _not_found_hint(path)
    if status in (400, 422):
        if fields:
            return "fix the offending field(s): " + ", ".join(fields), None
        return "fix the request parameters", None
    if status == 429:
        wait = f" (the server asks for {retry_after:g} s)" if retry_after is not None else ""
        return (
            f"retry later{wait}, or lower rate_limit= on HeyMiloClient",
            f"retry later{wait}, or give `milo-analytics pull` a lower --rate-limit",
        )
    if status == 408 or status >= 500:
        return (
            "the server failed; retry later (the client already retried idempotent requests)",
            None,
        )
    return None, None


_CLASS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
}


def error_from_response(
    response: httpx.Response,
    method: str,
    path: str,
    *,
    secrets: Iterable[str | None] = (),
) -> APIStatusError:
    """Turn an error response into the matching exception of :mod:`milo_analytics.errors`.

    Parameters
    ----------
    response
        The HTTP answer with a status of 400 or more.
    method, path
        The request (``path`` without host or query string).
    secrets
        Strings (the API key) removed from everything the error carries.

    Returns
    -------
    APIStatusError
        :class:`AuthenticationError` (401/403), :class:`NotFoundError` (404),
        :class:`ValidationError` (400/422), :class:`RateLimitError` (429),
        :class:`ServerError` (5xx), else :class:`APIStatusError`.

    Examples
    --------
    >>> resp = httpx.Response(422, json={"detail": [{"loc": ["body", "score_weight"],
    ...     "msg": "Input should be less than or equal to 10", "type": "less_than_equal"}]})
    >>> err = error_from_response(resp, "PATCH", "/api/v2/postings/P/questions/Q")
    >>> type(err).__name__, err.param
    ('ValidationError', 'score_weight')
    """
    secrets = tuple(s for s in secrets if s)
    status = response.status_code
    body = _redact_obj(_parse_body(response), secrets)
    message: str | None = None
    code: str | None = None
    param: str | None = None
    errors: list[dict[str, Any]] = []

    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = err.get("message") if isinstance(err.get("message"), str) else None
        code = err.get("code") if isinstance(err.get("code"), str) else None
        param = err.get("param") if isinstance(err.get("param"), str) else None
        for item in err.get("errors") or []:
            if isinstance(item, dict):
                errors.append(dict(item))
    elif isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):
            message = "the request failed validation"
            for item in detail:
                if not isinstance(item, dict):
                    continue
                errors.append(
                    {
                        "param": _field_from_loc(item.get("loc")),
                        "message": item.get("msg"),
                        "code": item.get("type"),
                        "loc": item.get("loc"),
                    }
                )
            code = "validation_error"
        elif isinstance(detail, str):
            message = detail
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    elif isinstance(body, str) and body:
        message = body[:200]

    if not message:
        message = response.reason_phrase or "error"
    fields: list[str] = []
    for name in [param, *(e.get("param") for e in errors)]:
        if isinstance(name, str) and name and name not in fields:
            fields.append(name)
    if param is None and fields:
        param = fields[0]
    details = [
        f"{e.get('param')}: {e.get('message')}" if e.get("param") else str(e.get("message"))
        for e in errors
        if e.get("message") and str(e.get("message")) not in message
    ]
    if details:
        message = f"{message} ({'; '.join(details)})"

    retry_after = parse_retry_after(response.headers.get("retry-after"))
    cls = _CLASS_BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    hint, cli_hint = _hint_for(status, path, fields, retry_after)
    return cls(
        redact(message, secrets),
        status_code=status,
        code=code,
        param=param,
        errors=errors,
        body=body,
        retry_after=retry_after,
        method=method,
        path=redact(path, secrets),
        request_id=request_id_from(response.headers),
        hint=redact(hint, secrets) if hint else None,
        cli_hint=redact(cli_hint, secrets) if cli_hint else None,
    )
