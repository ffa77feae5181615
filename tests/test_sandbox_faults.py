"""Fault injection of the sandbox: latency, rate limit, 5xx, dropped connections, malformed docs."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from milo_analytics.sandbox.faults import Faults, RateLimiter, normalise_malformed


def _get(sb: Any, path: str) -> httpx.Response:
    return httpx.get(sb.base_url + path, headers={"X-API-KEY": sb.api_key}, timeout=10)


def test_latency_is_added_and_does_not_serialise_requests(sandbox_factory: Any) -> None:
    sb = sandbox_factory(latency=0.2)
    pid = sb.world.postings[0]["id"]
    t = time.perf_counter()
    assert _get(sb, f"/postings/{pid}").status_code == 200
    assert time.perf_counter() - t >= 0.2
    # 16 concurrent requests overlap their sleeps (asyncio.sleep): far below 16 × 0.2 s
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with httpx.Client(headers={"X-API-KEY": sb.api_key}, limits=limits, timeout=10) as c:
        t = time.perf_counter()
        with ThreadPoolExecutor(16) as ex:
            codes = list(
                ex.map(lambda _: c.get(sb.base_url + f"/postings/{pid}").status_code, range(16))
            )
        elapsed = time.perf_counter() - t
    assert codes == [200] * 16
    assert elapsed < 1.2, elapsed


def test_rate_limit_headers_and_429_with_retry_after(sandbox_factory: Any) -> None:
    sb = sandbox_factory(rate_limit=5)
    remaining = []
    for _ in range(5):
        r = _get(sb, "/postings")
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "5"
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert 1 <= int(r.headers["X-RateLimit-Reset"]) <= 60
    assert remaining == [4, 3, 2, 1, 0]
    r = _get(sb, "/postings")
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # per key: a bad key is rejected with 401 before it is counted against anyone
    assert (
        httpx.get(sb.base_url + "/postings", headers={"X-API-KEY": "other"}, timeout=10).status_code
        == 401
    )
    # lifting the limit at runtime
    sb.set_faults(rate_limit=None)
    r = _get(sb, "/postings")
    assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers


def test_rate_limiter_windows_per_key() -> None:
    now = [1000.0]
    rl = RateLimiter(2, clock=lambda: now[0])
    assert [rl.check("a")[0] for _ in range(3)] == [True, True, False]
    assert rl.check("b")[0] is True  # another key has its own budget
    now[0] += 59.5
    allowed, limit, remaining, reset = rl.check("a")
    assert (allowed, limit, remaining, reset) == (False, 2, 0, 1)
    now[0] += 0.6  # next window
    assert rl.check("a")[:3] == (True, 2, 1)


def test_random_server_errors_are_seeded(sandbox_factory: Any) -> None:
    sb = sandbox_factory(error_rate=1.0)
    r = _get(sb, "/postings")
    assert r.status_code in (500, 502, 503)
    assert r.json()["error"]["type"] == "api_error"
    sb.set_faults(error_rate=0.5, seed=3)
    first = [_get(sb, "/postings").status_code for _ in range(20)]
    sb.set_faults(seed=3)
    again = [_get(sb, "/postings").status_code for _ in range(20)]
    assert first == again
    assert 200 in first and any(c >= 500 for c in first)


def test_dropped_connections_close_without_response(sandbox_factory: Any) -> None:
    sb = sandbox_factory(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        _get(sb, "/postings")
    sb.set_faults(drop_rate=0.0)
    assert _get(sb, "/postings").status_code == 200  # the server survived


def test_malformed_documents_both_modes(sandbox_factory: Any) -> None:
    probe = sandbox_factory()
    ids = list(probe.world.interview_data)[:3]
    sb = sandbox_factory(malformed=[ids[0], f"{ids[1]}:schema"])
    r = _get(sb, f"/interviews/{ids[0]}/data")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    d = _get(sb, f"/interviews/{ids[1]}/data").json()["data"]
    assert "posting_id" not in d and not isinstance(d["status"], str)
    assert d["web_interview"]["scorecard"][0]["score"] == "four"
    good = _get(sb, f"/interviews/{ids[2]}/data").json()["data"]
    assert good["interview_id"] == ids[2] and isinstance(good["web_interview"]["match_score"], int)
    sb.set_faults(malformed={})
    assert _get(sb, f"/interviews/{ids[0]}/data").json()["data"]["interview_id"] == ids[0]


def test_fault_options_are_validated() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=2)
    with pytest.raises(ValueError, match="malformed mode"):
        normalise_malformed({"A": "garbage"})
    with pytest.raises(TypeError, match="unknown fault"):
        Faults().update(latnecy=1)
    assert normalise_malformed("A") == {"A": "json"}


def test_stop_does_not_wait_out_the_simulated_latency_of_answers_in_flight():
    """A request in flight when the sandbox stops gets its answer without the rest of its
    latency (stopping took the whole latency before); a restarted sandbox has it again."""
    import threading
    import time

    import httpx

    from milo_analytics.sandbox import Sandbox, WorldConfig

    sb = Sandbox(WorldConfig(seed=3, n_candidates=5, n_second=0), latency=30.0).start()
    url, headers = f"{sb.base_url}/postings", {"X-API-KEY": sb.api_key}
    answers: list[int] = []
    asking = threading.Thread(
        target=lambda: answers.append(httpx.get(url, headers=headers, timeout=60).status_code)
    )
    asking.start()
    while not sum(sb.counts.values()):  # the request reached the server
        time.sleep(0.01)
    started = time.monotonic()
    sb.stop()
    asking.join(10)
    assert time.monotonic() - started < 5 and answers == [200]
    sb.set_faults(latency=0.3)
    sb.start()
    try:
        started = time.monotonic()
        assert httpx.get(url, headers=headers, timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.3
    finally:
        sb.stop()
