"""The client-side rate limiter: fixed N/min pacing, header-driven pacing, AIMD after 429s.

Time is injected (a fake clock whose sleep advances it) so minutes of traffic run in
milliseconds; one test uses real threads and real time for a couple of seconds.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time

import httpx
import pytest
from _helpers import FakeTime, mock_client

from milo_analytics import errors as E
from milo_analytics.api import HeyMiloClient
from milo_analytics.api.ratelimit import (
    AIMD_FLOOR,
    RateLimiter,
    is_heymilo_host,
    parse_rate_limit_headers,
)

KEY = "rl-test-key-987654321"


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """Most requests in any half-open window [t, t + window)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + window) - i for i, t in enumerate(times))


class FixedWindowServer:
    """Fake HeyMilo with a fixed one-minute window per key (like the sandbox's limiter)."""

    def __init__(self, fake: FakeTime, limit: int, *, headers: bool = True, used: int = 0):
        self.fake = fake
        self.limit = limit
        self.headers = headers
        self.start: float | None = None
        self.used = used
        self.times: list[float] = []
        self.rejected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.fake.now
        if self.start is None or now - self.start >= 60.0:
            if self.start is not None:
                self.used = 0
            self.start = now
        reset = max(1, math.ceil(self.start + 60.0 - now))
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        h = {}
        if self.headers:
            h = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
                "X-RateLimit-Reset": str(reset),
            }
        if not allowed:
            self.rejected += 1
            h["Retry-After"] = str(reset)
            return httpx.Response(
                429,
                headers=h,
                json={
                    "error": {
                        "type": "rate_limit_error",
                        "code": "rate_limited",
                        "message": "Too many requests",
                    }
                },
            )
        self.times.append(now)
        return httpx.Response(200, headers=h, json={"data": {"id": "P1"}})


def client_for(server, fake: FakeTime, **kw) -> HeyMiloClient:
    kw.setdefault("base_url", "http://127.0.0.1:9/api/v2")
    return mock_client(server, fake, api_key=KEY, **kw)


# ---------------------------------------------------------------------- fixed N/min
def test_integer_rate_limit_paces_smoothly_at_n_per_minute():
    fake = FakeTime()
    times: list[float] = []

    def handler(request):
        times.append(fake.now)
        return httpx.Response(200, json={"data": {"id": "P1"}})

    client = client_for(handler, fake, rate_limit=300)
    for _ in range(900):
        client.postings.retrieve("P1")
    assert max_in_window(times, 60.0 - 1e-6) == 300  # (minus float drift of summed slots)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(0.2) and max(gaps) == pytest.approx(0.2)  # no bursts
    assert times[-1] - times[0] == pytest.approx(899 * 0.2)
    assert client.metrics["rate_limit_wait"] == pytest.approx(899 * 0.2)


def test_limiter_reservations_are_unique_across_threads():
    # Frozen clock: every acquire reserves the next free slot; with 32 threads racing,
    # the reserved offsets must be exactly 0, T, 2T, ... with no slot handed out twice.
    limiter = RateLimiter(600, clock=lambda: 0.0, sleep=lambda s: None)
    waits: list[float] = []
    lock = threading.Lock()

    def work():
        for _ in range(20):
            w = limiter.acquire()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(round(w / 0.1) for w in waits)
    assert slots == list(range(640))


def test_idle_limiter_does_not_bank_a_burst():
    fake = FakeTime()
    limiter = RateLimiter(60, clock=fake.clock, sleep=fake.sleep)
    limiter.acquire()
    fake.now += 600  # ten idle minutes
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(1.0)  # still one per second, no saved-up burst


@pytest.mark.parametrize("bad", [0, -5, "fast", True, 1.5j])
def test_invalid_rate_limit_is_a_config_error(bad):
    with pytest.raises(E.ConfigError, match="rate_limit"):
        HeyMiloClient(api_key=KEY, base_url="http://x.test/api/v2", rate_limit=bad)


def test_rate_limit_none_never_waits():
    fake = FakeTime()
    limiter = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):
        assert limiter.acquire() == 0
        limiter.on_response(
            429,
            {
                "Retry-After": "30",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "30",
                "X-RateLimit-Limit": "10",
            },
        )
    assert fake.now == 0


# ---------------------------------------------------------------------- auto mode
def test_auto_paces_heymilo_hosts_only():
    assert is_heymilo_host("https://api.heymilo.ai/api/v2")
    assert is_heymilo_host("https://api.heymilo.network/api/v4")
    assert not is_heymilo_host("https://evilheymilo.ai/api")
    assert not is_heymilo_host("http://127.0.0.1:8123/api/v2")
    hm = RateLimiter("auto", host="https://api.heymilo.ai/api/v2")
    assert hm.requests_per_minute == pytest.approx(300 * 0.98)
    sandbox = RateLimiter("auto", host="http://127.0.0.1:8123/api/v2")
    assert sandbox.requests_per_minute is None


def test_auto_unlimited_host_runs_at_full_speed():
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=10**9, headers=False)
    client = client_for(server, fake)
    for _ in range(500):
        client.postings.retrieve("P1")
    assert fake.now == 0.0  # never waited


@pytest.mark.parametrize("limit", [300, 3000])
def test_auto_follows_rate_limit_headers_at_the_limit_without_429(limit):
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=limit)
    client = client_for(server, fake)
    n = limit + limit // 10  # crosses one window boundary
    for _ in range(n):
        client.postings.retrieve("P1")
    assert server.rejected == 0
    assert client.metrics["rate_limited"] == 0
    per_minute = (n - 1) / (server.times[-1] - server.times[0]) * 60
    # Source of the bar: the loader benchmark requires >= 95 % of the limit with 0 429s.
    assert 0.95 * limit <= per_minute <= limit
    assert max_in_window(server.times) <= limit


def test_auto_waits_for_reset_when_the_window_is_already_used():
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=100, used=95)  # someone else used the key
    client = client_for(server, fake)
    for _ in range(150):
        client.postings.retrieve("P1")
    assert server.rejected == 0
    assert fake.now >= 59.0  # waited for the window to reset instead of provoking 429s


@pytest.mark.parametrize(
    ("base_url", "limit"),
    [
        ("http://127.0.0.1:9/api/v2", 100),  # an unpaced host (like the sandbox)
        ("http://127.0.0.1:9/api/v2", 400),  # a limit above HeyMilo's documented one
        ("https://api.heymilo.ai/api/v2", 250),  # HeyMilo's host, a key limited below 300
    ],
)
def test_auto_without_headers_settles_below_a_fixed_limit(base_url, limit):
    """AIMD against a fixed one-minute window that sends no headers: the pace learns the
    limit from the 429s that come while (or just after) recovering, then holds just below it.
    (Measured: 94-96 % of the limit with 2-3 429s in the second ten minutes.)"""
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=limit, headers=False)
    client = client_for(server, fake, base_url=base_url, max_retries=5)
    n = 20 * limit  # about 20 minutes of traffic
    for i in range(n):
        client.postings.retrieve("P1")
        if i == n // 2:
            half_time, half_rejected = fake.now, server.rejected
    minutes = (fake.now - half_time) / 60
    per_minute = (n - n // 2 - 1) / minutes
    rejected = server.rejected - half_rejected
    # Settled (the second half): most of the limit, about one 429 per AIMD_HOLD (5 min).
    assert per_minute >= 0.85 * limit
    assert rejected <= minutes / 3


def test_single_429_then_full_speed_within_a_minute_on_heymilo_host():
    """HeyMilo's host without headers: one 429 halves the 294/min pace; successful traffic
    brings it back to 294/min 60 s after the pause (AIMD_RECOVERY: 120 s for the full
    ceiling, half of it after a halving)."""
    fake = FakeTime()
    refuse = {3}
    calls = itertools.count()

    def handler(request):
        if next(calls) in refuse:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {}})
        return httpx.Response(200, json={"data": {"id": "P1"}})

    client = client_for(handler, fake, base_url="https://api.heymilo.ai/api/v2")
    limiter = client.limiter
    full = 300 * 0.98
    for _ in range(3):
        client.postings.retrieve("P1")
    assert limiter.requests_per_minute == pytest.approx(full)
    client.postings.retrieve("P1")  # 429, then retried after Retry-After
    cut_at = fake.now
    assert limiter.aimd_rate == pytest.approx(full / 2, rel=0.01)
    assert limiter.requests_per_minute == pytest.approx(full / 2, rel=0.01)
    rates = []
    while fake.now < cut_at + 65:
        client.postings.retrieve("P1")
        rates.append((fake.now - cut_at, limiter.requests_per_minute))
    assert all(b >= a for (_, a), (_, b) in itertools.pairwise(rates))  # only ever recovers
    back = next(t for t, rate in rates if rate == pytest.approx(full))
    assert 55 <= back <= 62  # 60 s of additive recovery (+ one slot)
    assert limiter.aimd_rate is None


def test_full_speed_within_fifteen_minutes_after_a_limit_is_lifted():
    """Ten minutes under a 100/min limit without headers (AIMD learns it and holds below),
    then the limit is lifted: the pace is back at HeyMilo's 294/min within AIMD_HOLD (300 s)
    plus one slow probe over the whole ceiling (600 s)."""
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=100, headers=False)
    client = client_for(server, fake, base_url="https://api.heymilo.ai/api/v2", max_retries=5)
    while fake.now < 600:
        client.postings.retrieve("P1")
    assert client.limiter.requests_per_minute < 150  # holding near the limit
    server.limit = 10**9
    lifted = fake.now
    while client.limiter.aimd_rate is not None:
        client.postings.retrieve("P1")
        assert fake.now - lifted <= 900
    assert client.limiter.requests_per_minute == pytest.approx(294)


def test_idle_client_is_not_slowed_to_its_own_trickle_after_a_429():
    """The issue's case: after a few requests, one 429 without rate-limit headers used to pace
    the client at 90 % of what it had sent in the last minute — forever (a GET took 33 s).
    Now the pause is the Retry-After, the pace is halved from at least 294/min, and the
    client is unpaced again a minute later."""
    fake = FakeTime()
    answers = iter([200, 200, 429])

    def handler(request):
        status = next(answers, 200)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {}})
        return httpx.Response(200, json={"data": {"id": "P1"}})

    client = client_for(handler, fake)  # an unpaced host, like the sandbox
    client.postings.retrieve("P1")
    fake.now += 20
    client.postings.retrieve("P1")
    fake.now += 20
    t0 = fake.now
    client.postings.retrieve("P1")  # 429 -> waits Retry-After -> 200
    assert fake.now - t0 == pytest.approx(2.0)
    t1 = fake.now
    client.postings.retrieve("P1")  # a plain GET right after
    assert fake.now - t1 <= 60 / (0.5 * 294) + 1e-9  # one slot at the halved pace: ~0.4 s
    fake.now += 60
    client.postings.retrieve("P1")
    assert client.limiter.requests_per_minute is None  # unpaced again
    t2 = fake.now
    for _ in range(50):
        client.postings.retrieve("P1")
    assert fake.now == t2


def test_429s_to_requests_sent_before_a_cut_do_not_cut_again():
    """32 threads in flight all get 429 for the same overload: one cut, not 32."""
    fake = FakeTime()
    limiter = RateLimiter("auto", host="https://api.heymilo.ai", clock=fake.clock, sleep=fake.sleep)
    barrier = threading.Barrier(32)

    def work():
        limiter.acquire()
        barrier.wait()  # every request is on the wire before the first 429 comes back
        limiter.on_response(429, {"Retry-After": "1"})

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limiter.aimd_rate == pytest.approx(0.5 * 294)


def test_aimd_never_paces_below_the_floor():
    fake = FakeTime()
    limiter = RateLimiter(60, clock=fake.clock, sleep=fake.sleep)
    for _ in range(20):  # each 429 answers a request sent after the previous cut
        limiter.acquire()
        limiter.on_response(429, {"Retry-After": "0"})
    assert limiter.requests_per_minute == pytest.approx(AIMD_FLOOR)


def test_429_pause_is_capped_at_max_retry_wait():
    fake = FakeTime()
    script = iter([429, 200])

    def handler(request):
        if next(script, 200) == 429:
            return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": {}})
        return httpx.Response(200, json={"data": {"id": "P1"}})

    client = client_for(handler, fake, max_retry_wait=30)
    with pytest.raises(E.RateLimitError):  # an hour is too long to wait inside a call
        client.postings.retrieve("P1")
    client.postings.retrieve("P1")  # ... and the next call is not frozen for an hour either
    assert fake.now == pytest.approx(30.0)


def test_integer_rate_limit_still_respects_a_lower_server_limit():
    fake = FakeTime()
    server = FixedWindowServer(fake, limit=120)
    client = client_for(server, fake, rate_limit=6000)
    for _ in range(400):
        client.postings.retrieve("P1")
    assert server.rejected == 0
    assert max_in_window(server.times) <= 120


def test_429_pauses_every_thread_until_retry_after():
    fake = FakeTime()
    limiter = RateLimiter("auto", host="http://127.0.0.1", clock=fake.clock, sleep=fake.sleep)
    limiter.acquire()
    limiter.on_response(429, {"Retry-After": "4"})
    assert limiter.acquire() == pytest.approx(4.0)


# ---------------------------------------------------------------------- header parsing
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299", "X-RateLimit-Reset": "42"},
            (300, 299, 42.0, 60.0),
        ),
        (
            {
                "RateLimit-Limit": "100, 100;w=30",
                "RateLimit-Remaining": "3",
                "RateLimit-Reset": "5",
            },
            (100, 3, 5.0, 30.0),
        ),
        ({"RateLimit": "limit=50, remaining=10, reset=9"}, (50, 10, 9.0, 60.0)),
        (
            {"RateLimit": '"default";r=7;t=12', "RateLimit-Policy": '"default";q=200;w=60'},
            (200, 7, 12.0, 60.0),
        ),
        (
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(1_700_000_030),
            },
            (300, 0, 30.0, 60.0),
        ),
    ],
    ids=["x-ratelimit", "ietf-draft6", "ietf-draft7", "ietf-draft8", "epoch-reset"],
)
def test_rate_limit_header_variants(headers, expected):
    info = parse_rate_limit_headers(httpx.Headers(headers), wall_clock=lambda: 1_700_000_000.0)
    assert (info.limit, info.remaining, info.reset, info.window) == expected


def test_no_rate_limit_headers():
    assert parse_rate_limit_headers(httpx.Headers({"content-type": "application/json"})) is None


# ---------------------------------------------------------------------- real threads, real time
def test_sixteen_threads_share_the_pace_in_real_time():
    lock = threading.Lock()
    times: list[float] = []

    def handler(request):
        with lock:
            times.append(time.monotonic())
        return httpx.Response(200, json={"data": {"id": "P1"}})

    client = HeyMiloClient(
        api_key=KEY,
        base_url="http://127.0.0.1:9/api/v2",
        transport=httpx.MockTransport(handler),
        rate_limit=2400,
    )

    def work():
        for _ in range(4):
            client.postings.retrieve("P1")

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    assert len(times) == 64
    span = times[-1] - times[0]
    # 2400/min = one request per 25 ms: 63 gaps take 1.575 s (never less; more on a busy box).
    assert 1.5 <= span <= 4.0
    assert max_in_window(times, 1.0) <= 46  # 40 a second, no bursts beyond scheduling noise
