"""HeyMiloClient core: configuration, retries, error mapping, malformed bodies, secrecy.

Narrow edge cases use httpx.MockTransport with injected time (nothing sleeps); the behaviour
against a real HTTP server is in test_api_sandbox.py.
"""

from __future__ import annotations

import datetime
import email.utils
import itertools
import json
import logging
import pickle
import threading
import zlib

import httpx
import pytest
from _helpers import FakeTime, mock_client

from milo_analytics import errors as E
from milo_analytics.api import HeyMiloClient, InvalidRequestError, MalformedResponseError
from milo_analytics.api.errors import (
    DeadlineExceededError,
    ResponseTooLargeError,
    error_from_response,
    parse_retry_after,
)

KEY = "hm_live_SECRET-key-0123456789"
BASE = "http://sandbox.test/api/v2"
POSTING = {"object": "posting", "id": "P1", "title": "Customer Service Rep"}


def make_client(handler, *, fake: FakeTime | None = None, **kw) -> HeyMiloClient:
    kw.setdefault("base_url", BASE)
    return mock_client(handler, fake or FakeTime(1000.0), api_key=KEY, **kw)


def ok(data=POSTING, **headers):
    return httpx.Response(200, json={"data": data, "meta": None}, headers=headers)


class Script:
    """A handler answering a scripted sequence (Responses, or exceptions to raise)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


# ---------------------------------------------------------------------- configuration
def test_missing_key_says_how_to_fix(monkeypatch):
    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)
    with pytest.raises(E.ConfigError, match=r"HEYMILO_API_KEY.*api_key="):
        HeyMiloClient()
    with pytest.raises(E.ConfigError):
        HeyMiloClient(api_key="   ")


def test_key_and_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("HEYMILO_API_KEY", KEY)
    monkeypatch.setenv("HEYMILO_BASE_URL", "http://env.test/api/v2/")
    seen = Script(ok())
    client = HeyMiloClient(transport=httpx.MockTransport(seen))
    assert client.base_url == "http://env.test/api/v2"
    client.postings.retrieve("P1")
    request = seen.requests[0]
    assert request.headers["X-API-KEY"] == KEY
    assert "authorization" not in request.headers
    assert str(request.url) == "http://env.test/api/v2/postings/P1"


def test_default_base_url_is_heymilo_v2(monkeypatch):
    monkeypatch.delenv("HEYMILO_BASE_URL", raising=False)
    client = HeyMiloClient(api_key=KEY)
    assert client.base_url == "https://api.heymilo.ai/api/v2"
    # HeyMilo's own host is paced at its documented 300/min (98 % of it) before any header.
    assert client.limiter.requests_per_minute == pytest.approx(294)
    client.close()


def test_v4_prefix_on_another_host_works_the_same():
    seen = Script(ok())
    client = make_client(seen, base_url="https://api.heymilo.network/api/v4")
    assert client.postings.retrieve("P1").id == "P1"
    assert seen.requests[0].url.path == "/api/v4/postings/P1"
    assert seen.requests[0].url.host == "api.heymilo.network"


@pytest.mark.parametrize("url", ["api.heymilo.ai/api/v2", "ftp://x/api", "http://h/api?key=1"])
def test_bad_base_url_is_a_config_error(url):
    with pytest.raises(E.ConfigError, match="base_url"):
        HeyMiloClient(api_key=KEY, base_url=url)


def test_connection_pool_sized_for_thread_pools():
    client = HeyMiloClient(api_key=KEY, base_url=BASE, max_connections=24)
    pool = client._http._transport._pool
    assert pool._max_connections == 24
    assert pool._max_keepalive_connections == 24
    client.close()


def test_context_manager_closes_and_closed_client_refuses():
    with make_client(Script(ok())) as client:
        assert not client.closed
    assert client.closed
    with pytest.raises(E.ConfigError, match="closed"):
        client.postings.retrieve("P1")


# ---------------------------------------------------------------------- retries
def test_retry_after_seconds_is_honoured_without_sleeping():
    fake = FakeTime(1000.0)
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"message": "slow"}}),
        ok(),
    )
    client = make_client(script, fake=fake, rate_limit=None)
    assert client.postings.retrieve("P1").id == "P1"
    assert fake.sleeps == [7.0]
    assert len(script.requests) == 2
    assert client.metrics["rate_limited"] == 1
    assert client.metrics["retries"] == 1


def test_retry_after_http_date_is_honoured():
    fake = FakeTime(1000.0)
    when = email.utils.formatdate(fake.wall() + 12, usegmt=True)
    script = Script(httpx.Response(503, headers={"Retry-After": when}), ok())
    client = make_client(script, fake=fake, rate_limit=None)
    client.postings.retrieve("P1")
    # HTTP dates have whole-second resolution.
    assert len(fake.sleeps) == 1
    assert 11.0 <= fake.sleeps[0] <= 12.0


def test_parse_retry_after_variants():
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_idempotent_requests_retry_with_capped_exponential_backoff(status):
    fake = FakeTime(1000.0)
    script = Script(httpx.Response(status), httpx.Response(status), httpx.Response(status), ok())
    client = make_client(script, fake=fake, rate_limit=None, backoff_base=0.5, backoff_max=8)
    client.postings.retrieve("P1")
    assert len(script.requests) == 4
    # Equal jitter: attempt k waits in [0.5, 1] x 0.5 * 2**k.
    for k, wait in enumerate(fake.sleeps):
        assert 0.25 * 2**k <= wait <= 0.5 * 2**k


def test_backoff_is_capped():
    fake = FakeTime(1000.0)
    script = Script(httpx.Response(500))
    client = make_client(
        script, fake=fake, rate_limit=None, max_retries=8, backoff_base=1.0, backoff_max=4.0
    )
    with pytest.raises(E.ServerError) as info:
        client.postings.retrieve("P1")
    assert len(script.requests) == 9
    assert len(fake.sleeps) == 8
    assert max(fake.sleeps) <= 4.0
    assert min(fake.sleeps[3:]) >= 2.0  # capped at 4, jitter >= half
    assert info.value.status_code == 500


def test_exhausted_retries_raise_the_status_error_with_context():
    fake = FakeTime(1000.0)
    script = Script(httpx.Response(502, headers={"X-Request-Id": "req_77"}))
    client = make_client(script, fake=fake, rate_limit=None, max_retries=2)
    with pytest.raises(E.ServerError) as info:
        client.questions.retrieve("P1", "Q1")
    err = info.value
    assert len(script.requests) == 3
    assert "GET /api/v2/postings/P1/questions/Q1" in str(err)
    assert "req_77" in str(err)
    assert "sandbox.test" not in str(err)


def test_too_long_retry_after_raises_instead_of_waiting():
    fake = FakeTime(1000.0)
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}))
    client = make_client(script, fake=fake, rate_limit=None)
    with pytest.raises(E.RateLimitError) as info:
        client.postings.retrieve("P1")
    assert info.value.retry_after == 3600
    assert "rate_limit" in str(info.value)
    assert len(script.requests) == 1
    assert fake.sleeps == []


def test_dropped_connection_is_retried_for_get():
    fake = FakeTime(1000.0)
    script = Script(
        httpx.RemoteProtocolError("Server disconnected without sending a response."), ok()
    )
    client = make_client(script, fake=fake, rate_limit=None)
    assert client.postings.retrieve("P1").id == "P1"
    assert len(script.requests) == 2
    assert len(fake.sleeps) == 1


def test_read_timeout_retried_then_connection_error():
    fake = FakeTime(1000.0)
    script = Script(httpx.ReadTimeout("timed out"))
    client = make_client(script, fake=fake, rate_limit=None, max_retries=2)
    with pytest.raises(E.APIConnectionError) as info:
        client.postings.retrieve("P1")
    assert len(script.requests) == 3
    assert "ReadTimeout" in str(info.value)
    assert "after 3 attempts" in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(500),
        httpx.Response(503, headers={"Retry-After": "1"}),
        httpx.Response(408),
    ],
    ids=["dropped", "read-timeout", "500", "503", "408"],
)
def test_post_is_not_retried_blindly(answer):
    script = Script(answer, httpx.Response(201, json={"data": {"interview_id": "I1"}}))
    fake = FakeTime(1000.0)
    client = make_client(script, fake=fake, rate_limit=None)
    with pytest.raises(E.APIError):
        client.candidates.ingest("P1", name="Jane", email="jane@example.com")
    assert len(script.requests) == 1
    assert fake.sleeps == []


def test_post_retried_when_it_never_reached_the_server():
    script = Script(
        httpx.ConnectError("connection refused"),
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(201, json={"data": {"interview_id": "I1", "interview_url": "u"}}),
    )
    fake = FakeTime(1000.0)
    client = make_client(script, fake=fake, rate_limit=None)
    result = client.candidates.ingest("P1", name="Jane", email="jane@example.com")
    assert result.interview_id == "I1"
    assert len(script.requests) == 3
    assert fake.sleeps[1] == 2.0


def test_max_retries_zero_means_one_attempt():
    script = Script(httpx.Response(503))
    client = make_client(script, rate_limit=None, max_retries=0)
    with pytest.raises(E.ServerError):
        client.postings.retrieve("P1")
    assert len(script.requests) == 1


# ---------------------------------------------------------------------- error mapping
ERROR_CLASSES = [
    (400, E.ValidationError),
    (401, E.AuthenticationError),
    (403, E.AuthenticationError),
    (404, E.NotFoundError),
    (409, E.APIStatusError),
    (422, E.ValidationError),
    (429, E.RateLimitError),
    (500, E.ServerError),
    (503, E.ServerError),
]


@pytest.mark.parametrize(("status", "cls"), ERROR_CLASSES)
@pytest.mark.parametrize("shape", ["error", "detail", "text"])
def test_both_error_bodies_map_to_the_error_tree(status, cls, shape):
    if shape == "error":
        body = {
            "error": {
                "type": "invalid_request_error",
                "code": "some_code",
                "message": "Something is off",
                "param": "title",
                "errors": [{"code": "invalid_param", "message": "too short", "param": "title"}],
            }
        }
        resp = httpx.Response(status, json=body)
    elif shape == "detail":
        body = {
            "detail": [{"loc": ["body", "title"], "msg": "too short", "type": "string_too_short"}]
        }
        resp = httpx.Response(status, json=body)
    else:
        resp = httpx.Response(status, text="<html>upstream failure</html>")
    err = error_from_response(resp, "POST", "/api/v2/postings")
    assert type(err) is cls
    assert err.status_code == status
    assert err.method == "POST" and err.path == "/api/v2/postings"
    assert str(err).startswith(f"[{status}] POST /api/v2/postings:")
    if shape != "text":
        assert err.param == "title"
        assert err.errors and err.errors[0]["param"] == "title"
        assert "too short" in str(err)


def test_authentication_error_hint():
    resp = httpx.Response(
        401,
        json={
            "error": {
                "type": "auth",
                "code": "invalid_api_key",
                "message": "Invalid or missing API key.",
            }
        },
    )
    err = error_from_response(resp, "GET", "/api/v2/postings")
    assert isinstance(err, E.AuthenticationError)
    assert "check HEYMILO_API_KEY" in str(err)
    assert err.code == "invalid_api_key"


def test_not_found_hint_names_the_missing_id():
    resp = httpx.Response(
        404, json={"error": {"type": "x", "code": "not_found", "message": "Resource not found."}}
    )
    err = error_from_response(resp, "PATCH", "/api/v2/postings/P9/questions/QX")
    assert "no question with id 'QX' of posting 'P9'" in str(err)
    assert "client.questions.list('P9')" in str(err)
    err = error_from_response(resp, "GET", "/api/v4/interviews/ABC/data")
    assert "no interview with id 'ABC'" in str(err)
    err = error_from_response(resp, "GET", "/api/v2/postings/NOPE/candidates")
    assert "no posting with id 'NOPE'" in str(err)


def test_fastapi_422_lists_the_offending_fields():
    body = {
        "detail": [
            {"loc": ["body", "score_weight"], "msg": "Input should be <= 10", "type": "le"},
            {"loc": ["body", "questions", 2, "text"], "msg": "Field required", "type": "missing"},
        ]
    }
    err = error_from_response(
        httpx.Response(422, json=body), "PATCH", "/api/v2/postings/P/questions/Q"
    )
    assert isinstance(err, E.ValidationError)
    assert err.param == "score_weight"
    assert "score_weight, questions.2.text" in str(err)
    assert "Input should be <= 10" in str(err)


def test_request_id_and_retry_after_carried():
    resp = httpx.Response(
        429,
        headers={"X-Request-Id": "req_abc", "Retry-After": "3"},
        json={
            "error": {"type": "rate_limit", "code": "rate_limited", "message": "Too many requests"}
        },
    )
    err = error_from_response(resp, "GET", "/api/v2/postings")
    assert err.request_id == "req_abc" and "(request id req_abc)" in str(err)
    assert err.retry_after == 3.0
    assert "retry later" in err.hint and "rate_limit" in err.hint


def test_client_raises_mapped_errors_with_path_but_no_query_or_host():
    script = Script(
        httpx.Response(
            404, json={"error": {"type": "x", "code": "not_found", "message": "Posting not found"}}
        )
    )
    client = make_client(script)
    with pytest.raises(E.NotFoundError) as info:
        list(client.candidates.list("P404", created_after=1700000000))
    text = str(info.value)
    assert "GET /api/v2/postings/P404/candidates" in text
    assert "created_after" not in text and "sandbox.test" not in text


# ---------------------------------------------------------------------- malformed bodies
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text='{"data": {"interview_id": '),
        httpx.Response(200, content=b"\xff\xfe<html>"),
        httpx.Response(200, json={"interview_id": "I1"}),
        httpx.Response(200, json=[1, 2, 3]),
        httpx.Response(200, content=b""),
    ],
    ids=["truncated", "binary", "no-envelope", "array", "empty"],
)
def test_malformed_success_body_is_an_api_error(response):
    script = Script(response)
    client = make_client(script, rate_limit=None)
    with pytest.raises(E.APIError, match="malformed response") as info:
        client.interviews.data("I1")
    assert isinstance(info.value, MalformedResponseError)
    assert "GET /api/v2/interviews/I1/data" in str(info.value)
    assert len(script.requests) == 1  # a broken document is recorded, not retried


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        (b"NaN", "NaN/Infinity is not JSON"),
        (b"-Infinity", "NaN/Infinity is not JSON"),
        (b"1e400", "beyond the range of a 64-bit float"),
        (b"1" + b"0" * 400, "beyond the range of a 64-bit float"),
        (b'"\\ud800"', "lone UTF-16 surrogate"),
    ],
    ids=["nan", "-infinity", "1e400", "400-digit-int", "lone-surrogate"],
)
def test_values_the_store_cannot_keep_are_malformed(literal, reason):
    """Python's json module accepts NaN/Infinity and turns 1e400 into inf; the store (orjson)
    would write NaN back as null and refuses inf — so the client refuses them, naming where."""
    body = b'{"data": {"object": "posting", "id": "P1", "score": ' + literal + b"}}"
    script = Script(httpx.Response(200, content=body))
    client = make_client(script, rate_limit=None)
    with pytest.raises(MalformedResponseError) as info:
        client.request("GET", "postings/P1")
    text = str(info.value)
    assert text.startswith("GET /api/v2/postings/P1: malformed response")
    assert reason in text
    assert '"score": ' in text  # the bytes around the offending value
    assert len(script.requests) == 1  # a broken document is not retried


def test_what_the_client_hands_on_round_trips_through_the_store():
    """The largest 64-bit integer, 1e308, deep-but-legal nesting, escapes and non-ASCII text:
    whatever the client accepts, Store's encoder writes back unchanged."""
    from milo_analytics.api.decoding import MAX_JSON_DEPTH
    from milo_analytics.store import pack_document, unpack_document

    nested = b"[" * (MAX_JSON_DEPTH - 2) + b"1" + b"]" * (MAX_JSON_DEPTH - 2)
    body = (
        b'{"data": {"id": "P1", "u64": 18446744073709551615, "max": 1.7976931348623157e308, '
        rb'"tiny": 5e-324, "text": "Z\u00fcrich \"[[[\" \ud83d\ude00", "deep": ' + nested + b"}}"
    )
    data = make_client(Script(httpx.Response(200, content=body)), rate_limit=None).request(
        "GET", "postings/P1"
    )["data"]
    assert data["text"] == 'Zürich "[[[" \U0001f600'
    assert data["u64"] == 2**64 - 1
    assert unpack_document(pack_document(data)) == data
    # Beyond 64 bits, orjson (by version) reads a float or refuses; either way nothing
    # unstorable is handed on.
    big = b'{"data": {"id": "P1", "big": 18446744073709551616}}'
    client = make_client(Script(httpx.Response(200, content=big)), rate_limit=None)
    try:
        data = client.request("GET", "postings/P1")["data"]
    except MalformedResponseError:
        pass
    else:
        assert data["big"] == 2**64 and unpack_document(pack_document(data)) == data


def test_nesting_beyond_the_limit_is_malformed_not_a_recursion_error():
    from milo_analytics.api.decoding import MAX_JSON_DEPTH

    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    client = make_client(
        Script(httpx.Response(200, content=b'{"data": ' + deep + b"}")), rate_limit=None
    )
    with pytest.raises(MalformedResponseError, match=f"nested deeper than {MAX_JSON_DEPTH}"):
        client.interviews.data("I1", raw=True)
    # ... and brackets inside strings are text, not nesting
    text = b'{"data": {"interview_id": "I1", "t": "' + b"[" * 10_000 + b'"}}'
    client = make_client(Script(httpx.Response(200, content=text)), rate_limit=None)
    assert client.interviews.data("I1", raw=True)["t"] == "[" * 10_000


def test_document_that_does_not_parse_is_malformed_but_raw_works():
    doc = {"object": "interview_data", "status": "completed"}  # no interview_id
    client = make_client(Script(ok(doc)), rate_limit=None)
    with pytest.raises(MalformedResponseError, match="malformed response"):
        client.interviews.data("I1")
    assert client.interviews.data("I1", raw=True) == doc


# ---------------------------------------------------------------------- hostile bodies
class Chunks(httpx.SyncByteStream):
    """A response body that yields ``chunks`` one by one (advancing ``fake`` time by ``step``
    seconds before each) and counts how many the client pulled."""

    def __init__(self, chunks, *, fake: FakeTime | None = None, step: float = 0.0) -> None:
        self.chunks = chunks
        self.fake = fake
        self.step = step
        self.pulled = 0

    def __iter__(self):
        for chunk in self.chunks:
            if self.fake is not None:
                self.fake.now += self.step
            self.pulled += 1
            yield chunk


def streamed(stream: Chunks, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": "application/json", **headers}, stream=stream
    )


@pytest.mark.parametrize(
    ("option", "bad"),
    [
        ("deadline", 0),
        ("deadline", -1),
        ("deadline", float("inf")),
        ("deadline", "60"),
        ("max_response_bytes", 0),
        ("max_response_bytes", 1.5),
        ("max_pages", 0),
        ("max_pages", True),
    ],
)
def test_bad_bounds_are_config_errors(option, bad):
    with pytest.raises(E.ConfigError, match=option):
        HeyMiloClient(api_key=KEY, base_url=BASE, **{option: bad})


def test_bounds_default_and_can_be_lifted():
    client = HeyMiloClient(api_key=KEY, base_url=BASE)
    assert (client.deadline, client.max_response_bytes, client.max_pages) == (
        60.0,
        50 * 1024 * 1024,
        5_000,
    )
    free = HeyMiloClient(
        api_key=KEY, base_url=BASE, deadline=None, max_response_bytes=None, max_pages=None
    )
    assert (free.deadline, free.max_response_bytes, free.max_pages) == (None, None, None)


def test_trickled_body_hits_the_deadline_get_retried_once():
    """One byte per (injected) second: the deadline is checked between chunks on any transport;
    a GET is retried once after a deadline hit, even with more retries allowed."""
    fake = FakeTime(1000.0)
    doc = b'{"data": {"object": "posting", "id": "P1", "title": "x"}}'
    streams: list[Chunks] = []

    def handler(request):
        streams.append(Chunks([doc[i : i + 1] for i in range(len(doc))], fake=fake, step=1.0))
        return streamed(streams[-1])

    client = make_client(handler, fake=fake, rate_limit=None, deadline=5, max_retries=3)
    with pytest.raises(DeadlineExceededError) as info:
        client.postings.retrieve("P1")
    err = info.value
    assert isinstance(err, E.APIConnectionError)
    assert (err.deadline, err.attempts) == (5.0, 2)
    assert [s.pulled for s in streams] == [5, 5]  # stopped at the deadline, not at the end
    text = str(err)
    assert text.startswith("GET /api/v2/postings/P1: no complete answer within the 5 seconds")
    assert "the HTTP 200 headers came but the body did not finish" in text
    assert "raise deadline= on HeyMiloClient (now 5)" in text
    assert len(fake.sleeps) == 1  # one backoff between the two attempts


def test_post_deadline_hit_is_not_retried():
    fake = FakeTime(1000.0)
    stream = Chunks([b"{", b'"data"', b": {}}"], fake=fake, step=3.0)
    script = Script(streamed(stream, 201))
    client = make_client(script, fake=fake, rate_limit=None, deadline=2)
    with pytest.raises(DeadlineExceededError, match="a POST is not retried") as info:
        client.candidates.ingest("P1", name="Jane", email="jane@example.com")
    assert info.value.attempts == 1 and len(script.requests) == 1


def test_announced_giant_body_is_refused_before_reading_it():
    stream = Chunks(itertools.repeat(b"x" * 65536))
    script = Script(streamed(stream, **{"content-length": str(2**30)}))
    client = make_client(script, rate_limit=None, max_response_bytes=1_000_000)
    with pytest.raises(ResponseTooLargeError) as info:
        client.interviews.data("I1", raw=True)
    err = info.value
    assert isinstance(err, MalformedResponseError)  # the loader records it per document
    assert stream.pulled == 0
    assert (err.limit, err.declared) == (1_000_000, 2**30)
    assert "raise max_response_bytes= on HeyMiloClient (now 1,000,000)" in str(err)
    assert "announced 1,073,741,824 bytes" in str(err)
    assert "GET /api/v2/interviews/I1/data" in str(err)
    assert len(script.requests) == 1  # not retried


def test_unannounced_giant_body_stops_at_the_cap():
    stream = Chunks(itertools.repeat(b"x" * 65536))  # endless, no Content-Length
    client = make_client(Script(streamed(stream)), rate_limit=None, max_response_bytes=1_000_000)
    with pytest.raises(ResponseTooLargeError, match="stopped reading after 1,048,576 bytes"):
        client.interviews.data("I1", raw=True)
    assert stream.pulled == 16  # 16 x 64 KiB: the first chunk past 1,000,000 bytes


def test_gzip_bomb_is_inflated_only_up_to_the_cap():
    import gzip

    bomb = gzip.compress(b'{"data": "' + b"a" * 50_000_000 + b'"}', 9)  # 50 MB in ~50 KB
    stream = Chunks([bomb[i : i + 4096] for i in range(0, len(bomb), 4096)])
    script = Script(streamed(stream, **{"content-encoding": "gzip"}))
    client = make_client(script, rate_limit=None, max_response_bytes=1_000_000)
    with pytest.raises(ResponseTooLargeError, match=r"\(1,000,000 bytes\)"):
        client.request("GET", "postings/P1")
    assert stream.pulled <= 2  # one 4 KiB chunk inflates past 1 MB
    assert script.requests[0].headers["accept-encoding"] == "gzip, deflate"
    # a body within the cap is inflated as usual, zlib-wrapped or raw deflate alike
    doc = b'{"data": {"id": "P1"}}'
    for encoded, coding in [
        (gzip.compress(doc), "gzip"),
        (zlib.compress(doc), "deflate"),
        (zlib.compress(doc)[2:-4], "deflate"),
    ]:
        reply = streamed(Chunks([encoded]), **{"content-encoding": coding})
        assert make_client(Script(reply), rate_limit=None).request("GET", "x")["data"] == {
            "id": "P1"
        }


def test_unknown_content_encoding_is_malformed():
    reply = streamed(Chunks([b"\x00\x01"]), **{"content-encoding": "br"})
    with pytest.raises(MalformedResponseError, match="Content-Encoding 'br' is not supported"):
        make_client(Script(reply), rate_limit=None).request("GET", "x")


def test_hostile_error_bodies_still_give_the_status_error():
    deep = b"[" * 200_000 + b"]" * 200_000
    script = Script(httpx.Response(500, content=deep), httpx.Response(404, content=b"x" * 10**7))
    client = make_client(script, rate_limit=None, max_retries=0)
    with pytest.raises(E.ServerError) as info:  # not RecursionError
        client.postings.retrieve("P1")
    assert info.value.status_code == 500
    with pytest.raises(E.NotFoundError, match="no posting with id 'P1'"):
        client.postings.retrieve("P1")


# ---------------------------------------------------------------------- secrecy
def _every_error(client_key: str) -> list[Exception]:
    echo = {
        "error": {"type": "x", "code": "y", "message": f"bad key {client_key}", "param": client_key}
    }
    errors: list[Exception] = []
    for status, _ in ERROR_CLASSES:
        errors.append(
            error_from_response(
                httpx.Response(status, json=echo), "GET", "/api/v2/postings", secrets=[client_key]
            )
        )
    return errors


def test_key_never_in_repr_str_of_client_or_any_error(caplog):
    caplog.set_level(logging.DEBUG)
    script = Script(
        httpx.Response(500, json={"error": {"type": "x", "code": "y", "message": f"echo {KEY}"}}),
        httpx.ConnectError(f"refused {KEY}"),
        httpx.Response(
            401, json={"error": {"type": "x", "code": "y", "message": f"key {KEY} bad"}}
        ),
    )
    client = make_client(script, rate_limit=None, max_retries=2)
    assert KEY not in repr(client) and KEY not in str(client)
    assert "****" in repr(client)
    errors = _every_error(KEY)
    with pytest.raises(E.AuthenticationError) as info:
        client.postings.retrieve("P1")
    errors.append(info.value)
    script2 = Script(httpx.ConnectError(f"refused {KEY}"))
    with pytest.raises(E.APIConnectionError) as info2:
        make_client(script2, rate_limit=None, max_retries=0).postings.retrieve("P1")
    errors.append(info2.value)
    errors.append(E.ConfigError("x"))
    with pytest.raises(MalformedResponseError) as info3:
        make_client(Script(httpx.Response(200, text=KEY)), rate_limit=None).postings.retrieve("P")
    errors.append(info3.value)
    for err in errors:
        for text in (str(err), repr(err), repr(err.__dict__), pickle.dumps(err).hex()):
            assert KEY not in text
        assert KEY.encode().hex() not in pickle.dumps(err).hex()
    assert KEY not in caplog.text
    assert "retry" in caplog.text  # the retries were logged (without the key)


def test_client_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(make_client(Script(ok())))


# ---------------------------------------------------------------------- threads
def test_one_client_shared_by_many_threads():
    lock = threading.Lock()
    counts: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        iid = request.url.path.split("/")[-2]
        with lock:
            counts[iid] = counts.get(iid, 0) + 1
        return httpx.Response(200, json={"data": {"interview_id": iid, "status": "completed"}})

    client = HeyMiloClient(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(handler))
    results: list[str] = []
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for i in range(start, start + 25):
                results.append(client.interviews.data(f"I{i}").interview_id)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t * 25,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == sorted(f"I{i}" for i in range(400))
    assert set(counts.values()) == {1}
    assert client.metrics["requests"] == 400


def test_json_body_sent_as_json():
    script = Script(ok({"id": "Q1", "text": "t", "score_weight": 7}))
    client = make_client(script)
    client.questions.update("P1", "Q1", score_weight=7.0)
    request = script.requests[0]
    assert request.method == "PATCH"
    assert json.loads(request.content) == {"score_weight": 7}
    assert isinstance(json.loads(request.content)["score_weight"], int)


def test_body_json_cannot_carry_is_a_clear_error_before_sending():
    script = Script(ok())
    client = make_client(script, rate_limit=None)
    with pytest.raises(InvalidRequestError) as info:
        client.request("POST", "postings", json={"title": "ok", "when": [1, object()]})
    text = str(info.value)
    assert "POST /api/v2/postings" in text and "cannot be sent as JSON" in text
    assert "body['when'][1] is object" in text
    assert info.value.param == "body['when'][1]"
    assert "isoformat" in info.value.hint
    with pytest.raises(InvalidRequestError, match=r"body\['score'\] is float nan"):
        client.request("PATCH", "postings/P1", json={"score": float("nan")})
    # through a resource method: the extra ingest fields are passed on as they are
    with pytest.raises(InvalidRequestError, match=r"body\['data'\]\['start'\] is date"):
        client.candidates.ingest(
            "P1", name="Jane Doe", email="jane@example.com", data={"start": datetime.date.today()}
        )
    assert script.requests == []  # nothing was sent
    assert client.limiter._inflight == 0  # and no rate-limit slot leaked
    # the encoded body is exactly what httpx's json= would send
    client.request("POST", "postings", json={"title": "Zürich", "n": 1.5})
    sent = script.requests[-1]
    assert sent.content == httpx.Request("POST", BASE, json={"title": "Zürich", "n": 1.5}).content
    assert sent.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "err",
    [
        InvalidRequestError(
            "score_weight must be a whole number from 1 to 10; got 11", param="score_weight"
        ),
        MalformedResponseError("malformed response: not JSON", method="GET", path="/x"),
    ],
    ids=["invalid-request", "malformed"],
)
def test_client_side_errors_survive_pickling(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert getattr(back, "param", None) == getattr(err, "param", None)
