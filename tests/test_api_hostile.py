"""HeyMiloClient (and load_posting) against a hostile HTTP server on 127.0.0.1.

Every case must end in a clear error of the MiloError tree, within its deadline and with
bounded memory. The bounds asserted are generous (a deadline of 1 s must be done in < 10 s) so
a loaded machine does not fail them; what they rule out is hanging for minutes or reading a
gigabyte. Memory is measured with tracemalloc (peak of Python allocations during the call,
the server thread's included).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator

import pytest
from hostile_server import GIGABYTE, HostileServer

from milo_analytics import errors as E
from milo_analytics.api import HeyMiloClient, MalformedResponseError
from milo_analytics.api.client import DEFAULT_MAX_RESPONSE_BYTES
from milo_analytics.api.errors import (
    DeadlineExceededError,
    PaginationError,
    ResponseTooLargeError,
)
from milo_analytics.load import load_posting
from milo_analytics.store import Store

KEY = "hostile-test-key-24680"
DEADLINE = 0.5  # short: each deadline case waits it out for real (twice for a GET)
MIB = 1 << 20


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def client_for(server: HostileServer, **kw) -> HeyMiloClient:
    kw.setdefault("deadline", DEADLINE)
    kw.setdefault("backoff_base", 0.05)
    return HeyMiloClient(api_key=KEY, base_url=server.base_url, **kw)


class Measured:
    """Wall time and tracemalloc peak of the block."""

    def __enter__(self) -> Measured:
        tracemalloc.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.started
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


# ---------------------------------------------------------------------- deadlines
@pytest.mark.parametrize("mode", ["slow-body", "slow-headers", "silent"])
def test_slow_or_silent_server_ends_at_the_deadline(hostile, mode):
    """A 1-byte-per-second body, 1-byte-per-second headers (each socket read returns a byte,
    so no per-read timeout ever fires) and a server that never answers: a GET gets two
    attempts of DEADLINE seconds each, then a DeadlineExceededError."""
    hostile.mode = mode
    client = client_for(hostile, max_retries=3, timeout=30)
    with Measured() as m, pytest.raises(DeadlineExceededError) as info:
        client.postings.retrieve("P1")
    err = info.value
    assert isinstance(err, E.APIConnectionError)
    assert err.attempts == 2 and len(hostile.requests) == 2
    assert 2 * DEADLINE * 0.9 <= m.seconds < 10  # two deadlines (+ a short backoff)
    text = str(err)
    assert text.startswith(
        "GET /api/v2/postings/P1: no complete answer within the 0.5 seconds deadline (each of 2 "
        "attempts)"
    )
    assert "raise deadline= on HeyMiloClient (now 0.5)" in text
    phase = "body did not finish" if mode == "slow-body" else "no response headers arrived"
    assert phase in text


def test_post_to_a_silent_server_is_not_retried(hostile):
    hostile.mode = "silent"
    client = client_for(hostile, max_retries=3)
    with Measured() as m, pytest.raises(DeadlineExceededError, match="POST is not retried"):
        client.candidates.ingest("P1", name="Pat Doe", email="pat@example.com")
    assert len(hostile.requests) == 1
    assert m.seconds < 6


def test_deadline_shorter_than_a_stall_beats_the_per_read_timeout(hostile):
    """timeout= is per network phase; with a 30 s timeout a silent server would hold a read
    for 30 s — the 0.5 s deadline cuts it."""
    hostile.mode = "silent"
    client = client_for(hostile, max_retries=0, timeout=30)
    with Measured() as m, pytest.raises(DeadlineExceededError):
        client.postings.retrieve("P1")
    assert m.seconds < 6


# ---------------------------------------------------------------------- size
def test_announced_gigabyte_is_refused_without_reading_it(hostile):
    hostile.mode = "giant-body"
    client = client_for(hostile, deadline=30)
    with Measured() as m, pytest.raises(ResponseTooLargeError) as info:
        client.interviews.data("I1", raw=True)
    assert info.value.declared == GIGABYTE
    assert "larger than the 50 MiB cap (52,428,800 bytes)" in str(info.value)
    assert m.peak < 8 * MIB
    assert m.seconds < 10
    assert len(hostile.requests) == 1  # not retried


@pytest.mark.parametrize("mode", ["giant-chunked", "gzip-bomb"])
def test_unannounced_gigabyte_stops_at_the_default_cap(hostile, mode):
    """1 GiB without a Content-Length, and ~1 MiB of gzip that inflates to 1 GiB: reading
    stops at the 50 MiB default cap, holding about one cap in memory, never the gigabyte."""
    hostile.mode = mode
    client = client_for(hostile, deadline=60)
    with Measured() as m, pytest.raises(ResponseTooLargeError) as info:
        client.interviews.data("I1", raw=True)
    assert info.value.limit == DEFAULT_MAX_RESPONSE_BYTES
    assert "stopped reading after" in str(info.value)
    assert m.peak < 2 * DEFAULT_MAX_RESPONSE_BYTES  # well under the 1,024 MiB body
    assert m.seconds < 60
    assert hostile.bytes_sent < GIGABYTE // 4


def test_small_cap_is_honoured(hostile):
    hostile.mode = "giant-chunked"
    client = client_for(hostile, max_response_bytes=MIB)
    with (
        Measured() as m,
        pytest.raises(ResponseTooLargeError, match=r"\(now 1,048,576\)"),
    ):
        client.request("GET", "postings/P1")
    assert m.peak < 8 * MIB


# ---------------------------------------------------------------------- pathological JSON
@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("nested", "nested deeper than 100 levels"),
        ("nan", "NaN/Infinity is not JSON"),
        ("infinity", "NaN/Infinity is not JSON"),
        ("huge-number", "beyond the range of a 64-bit float"),
        ("garbage", "not JSON the toolkit can store"),
    ],
)
def test_pathological_json_is_malformed_response(hostile, mode, reason):
    hostile.mode = mode
    client = client_for(hostile)
    with Measured() as m, pytest.raises(MalformedResponseError) as info:
        client.postings.retrieve("P1")
    text = str(info.value)
    assert text.startswith("GET /api/v2/postings/P1: malformed response")
    assert reason in text
    assert len(hostile.requests) == 1  # a broken document is not retried
    assert m.seconds < 10


def test_nested_error_body_is_still_the_status_error(hostile):
    hostile.mode = "nested-error"
    client = client_for(hostile, max_retries=0)
    with pytest.raises(E.ServerError) as info:  # not RecursionError
        client.postings.retrieve("P1")
    assert info.value.status_code == 500


# ---------------------------------------------------------------------- endless listings
@pytest.mark.parametrize(
    ("mode", "match", "pages"),
    [
        ("endless-pages", r"raise max_pages= on HeyMiloClient \(now 30\)", 30),
        ("endless-pages-total", "total_count=250 needs 3", 5),
        ("repeated-cursor", "repeated after 2 pages", 2),
    ],
)
def test_endless_listing_stops(hostile, mode, match, pages):
    hostile.mode = mode
    client = client_for(hostile, max_pages=30)
    with Measured() as m, pytest.raises(PaginationError, match=match) as info:
        for _ in client.candidates.list("P1", raw=True):
            pass
    assert info.value.pages == pages
    assert sum("/candidates" in r for r in hostile.requests) == pages
    assert m.seconds < 30
    assert m.peak < 32 * MIB


@pytest.mark.parametrize(("mode", "pages"), [("endless-pages", 30), ("endless-pages-total", 5)])
def test_load_posting_stops_on_an_endless_listing(hostile, tmp_path, mode, pages):
    """has_more: true forever with fresh cursors, through the loader: a clear error, not
    16,287 pages and 5.6 GB."""
    hostile.mode = mode
    client = client_for(hostile, max_pages=30)
    store = Store(tmp_path / "store.sqlite3")
    with Measured() as m, pytest.raises(PaginationError) as info:
        load_posting("P1", client=client, store=store)
    assert isinstance(info.value, E.APIError)
    assert "GET /api/v2/postings/P1/candidates" in str(info.value)
    assert sum("/candidates" in r for r in hostile.requests) == pages
    assert m.seconds < 60
    assert m.peak < 64 * MIB
