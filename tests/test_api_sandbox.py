"""HeyMiloClient against the sandbox over real HTTP on 127.0.0.1: pagination, auth, 404/422,
retries on injected 5xx and dropped connections, rate-limit headers, malformed documents."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from milo_analytics import errors as E
from milo_analytics.api import HeyMiloClient, InvalidRequestError, MalformedResponseError
from milo_analytics.api.errors import error_from_response
from milo_analytics.sandbox import WorldConfig

NO_SLEEP = {"sleep": lambda s: None}


def _first_posting(client) -> str:
    return next(iter(client.postings.list())).id


def test_pagination_over_250_candidates(sandbox_factory):
    sb = sandbox_factory(world=WorldConfig(seed=3, n_candidates=260, n_second=0))
    client = sb.client()
    pid = _first_posting(client)
    sb.reset_counts()
    it = client.candidates.list(pid)
    ids = [c.interview_id for c in it]
    truth = [c["interview_id"] for c in sb.world.candidates[pid]]
    assert len(ids) == 260 == len(set(ids))
    assert set(ids) == set(truth)
    assert sb.counts["GET /postings/{posting_id}/candidates"] == 3  # 100 + 100 + 60
    assert it.pages_fetched == 3
    raw = list(client.candidates.list(pid, raw=True, limit=50))
    by_id = {c["interview_id"]: c for c in sb.world.candidates[pid]}
    assert all(doc == by_id[doc["interview_id"]] for doc in raw)  # raw = exactly the documents


def test_created_after_before_filter_matches_the_world(sandbox):
    client = sandbox.client()
    pid = _first_posting(client)
    created = sorted(c["created_at"] for c in sandbox.world.candidates[pid])
    lo, hi = created[10], created[40]
    from datetime import UTC, datetime

    got = list(
        client.candidates.list(
            pid,
            created_after=datetime.fromtimestamp(lo, UTC),
            created_before=datetime.fromtimestamp(hi, UTC).isoformat(),
            raw=True,
        )
    )
    expected = [c for c in sandbox.world.candidates[pid] if lo <= c["created_at"] <= hi]
    assert {c["interview_id"] for c in got} == {c["interview_id"] for c in expected}
    assert 25 <= len(got) <= 40


def test_v4_prefix_serves_the_same(sandbox):
    v2 = sandbox.client()
    v4 = sandbox.client(base_url=sandbox.base_url_v4)
    pid = _first_posting(v2)
    assert v4.postings.retrieve(pid, raw=True) == v2.postings.retrieve(pid, raw=True)
    assert [q.id for q in v4.questions.list(pid)] == [q.id for q in v2.questions.list(pid)]


def test_bad_key_gives_authentication_error_with_hint(sandbox):
    bad = "sbx_totally-wrong-key-42"
    client = HeyMiloClient(api_key=bad, base_url=sandbox.base_url)
    with pytest.raises(E.AuthenticationError) as info:
        list(client.postings.list())
    err = info.value
    assert err.status_code == 401
    assert "check HEYMILO_API_KEY" in str(err)
    assert "GET /api/v2/postings" in str(err)
    assert bad not in str(err) and bad not in repr(err) and sandbox.api_key not in str(err)


def test_unknown_ids_are_not_found_with_the_id_named(sandbox):
    client = sandbox.client()
    pid = _first_posting(client)
    with pytest.raises(E.NotFoundError, match="no posting with id 'NOPE1234'"):
        client.postings.retrieve("NOPE1234")
    with pytest.raises(E.NotFoundError, match="no question with id 'QQQQ0000'"):
        client.questions.update(pid, "QQQQ0000", score_weight=3)
    with pytest.raises(E.NotFoundError, match="no interview with id 'FFFF'"):
        client.interviews.data("FFFF")
    with pytest.raises(E.NotFoundError):
        list(client.questions.list("NOPE1234"))
    with pytest.raises(E.NotFoundError, match="no webhook"):
        client.webhooks.retrieve("W0")


def test_invalid_weights_rejected_on_both_sides(sandbox):
    client = sandbox.client()
    pid = _first_posting(client)
    qid = next(iter(client.questions.list(pid))).id
    sandbox.reset_counts()
    route = "PATCH /postings/{posting_id}/questions/{question_id}"
    for weight in (0, 11, 2.5):
        with pytest.raises(InvalidRequestError, match="score_weight"):
            client.questions.update(pid, qid, score_weight=weight)
    assert sandbox.counts.get(route, 0) == 0  # caught before sending
    # The same bad values sent past the client's checks: the server answers 422.
    for weight in (0, 11, 2.5, "heavy"):
        with pytest.raises(E.ValidationError) as info:
            client.request(
                "PATCH", f"postings/{pid}/questions/{qid}", json={"score_weight": weight}
            )
        assert info.value.status_code == 422
        assert info.value.param == "score_weight"
        assert "score_weight" in info.value.hint
    assert sandbox.counts[route] == 4
    # A valid weight goes through and is read back.
    assert client.questions.update(pid, qid, score_weight=7).score_weight == 7
    assert client.questions.retrieve(pid, qid).score_weight == 7


def test_malformed_json_request_body_gets_a_clear_error(sandbox):
    client = sandbox.client()
    pid = _first_posting(client)
    # The client always sends valid JSON; send a broken body past it to see the server's answer.
    resp = client._http.post(
        f"postings/{pid}/questions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    err = error_from_response(resp, "POST", f"/api/v2/postings/{pid}/questions")
    assert isinstance(err, E.ValidationError)
    assert err.status_code in (400, 422)
    assert "json" in str(err).lower()


def test_retries_injected_server_errors(sandbox_factory):
    sb = sandbox_factory(error_rate=0.3, seed=5)
    client = sb.client(max_retries=8, **NO_SLEEP)
    pid = _first_posting(client)
    ids = [c.interview_id for c in client.candidates.list(pid, limit=10)]
    assert len(ids) == len(sb.world.candidates[pid])
    for iid in ids[:20]:
        assert client.interviews.data(iid).interview_id == iid
    assert client.metrics["retries"] > 0
    assert sum(sb.counts.values()) == client.metrics["requests"]


def test_server_errors_exhaust_retries(sandbox_factory):
    sb = sandbox_factory(error_rate=1.0)
    client = sb.client(max_retries=2, **NO_SLEEP)
    with pytest.raises(E.ServerError) as info:
        list(client.postings.list())
    assert info.value.status_code in (500, 502, 503)
    assert sb.counts["GET /postings"] == 3


def test_dropped_connections_retried_for_get_not_for_post(sandbox_factory):
    sb = sandbox_factory(drop_rate=0.25, seed=2)
    client = sb.client(max_retries=8, **NO_SLEEP)
    pid = _first_posting(client)
    ids = [c.interview_id for c in client.candidates.list(pid, limit=5)]
    for iid in ids[:15]:
        assert client.interviews.data(iid).interview_id == iid
    assert client.metrics["retries"] > 0

    sb.set_faults(drop_rate=1.0)
    sb.reset_counts()
    with pytest.raises(E.APIConnectionError) as info:
        client.candidates.ingest(pid, name="Jane Doe", email="jane.doe@example.com")
    assert "POST /api/v2/postings/" in str(info.value)
    assert "not retried" in str(info.value)
    assert sb.counts["POST /postings/{posting_id}/candidates"] == 1


def test_rate_limit_headers_followed_without_429(sandbox_factory):
    sb = sandbox_factory(rate_limit=3000)  # 50 requests/s per key, fixed one-minute windows
    client = sb.client(max_connections=16)
    pid = _first_posting(client)
    iids = [c.interview_id for c in client.candidates.list(pid)][:60]
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        docs = list(pool.map(lambda i: client.interviews.data(i, raw=True), iids))
    elapsed = time.monotonic() - started
    assert [d["interview_id"] for d in docs] == iids
    assert client.metrics["rate_limited"] == 0
    assert client.limiter.server_info.limit == 3000
    # Paced at ~98 % of 50/s: 60 requests need >= ~1.2 s; an unpaced pull takes ~0.2 s.
    assert elapsed >= 1.0
    assert elapsed <= 4.0


def test_429_becomes_rate_limit_error_with_hint(sandbox_factory):
    sb = sandbox_factory(rate_limit=3)
    client = sb.client(rate_limit=None, max_retries=1, max_retry_wait=0.5)
    pid = _first_posting(client)  # request 1 of 3 this minute
    client.postings.retrieve(pid)
    client.postings.retrieve(pid)
    with pytest.raises(E.RateLimitError) as info:
        client.postings.retrieve(pid)
    err = info.value
    assert err.status_code == 429
    assert err.retry_after is not None and err.retry_after > 0.5  # too long to wait: raised
    assert "retry later" in str(err) and "rate_limit" in str(err)
    assert sb.counts["GET /postings/{posting_id}"] == 3


def test_malformed_documents(sandbox):
    client = sandbox.client()
    pid = _first_posting(client)
    done = [c["interview_id"] for c in sandbox.world.candidates[pid] if c["status"] == "completed"]
    bad_json, bad_schema = done[0], done[1]
    sandbox.set_faults(malformed={bad_json: "json", bad_schema: "schema"})
    with pytest.raises(E.APIError, match="malformed response") as info:
        client.interviews.data(bad_json)
    assert isinstance(info.value, MalformedResponseError)
    assert f"/interviews/{bad_json}/data" in str(info.value)
    with pytest.raises(MalformedResponseError, match="malformed response"):
        client.interviews.data(bad_schema)
    doc = client.interviews.data(bad_schema, raw=True)  # the loader stores it and records why
    assert isinstance(doc, dict)
    assert client.interviews.data(done[2]).interview_id == done[2]


def test_threads_share_one_client_at_full_speed(sandbox):
    client = sandbox.client(max_connections=16)
    pid = _first_posting(client)
    iids = [c.interview_id for c in client.candidates.list(pid)]
    seen: list[str] = []
    lock = threading.Lock()

    def get(iid: str) -> None:
        doc = client.interviews.data(iid, raw=True)
        with lock:
            seen.append(doc["interview_id"])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(get, iids * 3))
    assert sorted(seen) == sorted(iids * 3)
    assert client.metrics["rate_limit_wait"] == 0  # an unlimited sandbox is not paced


def test_unfinished_interview_is_not_ready_not_an_error(sandbox_factory):
    sb = sandbox_factory(interview_delay=60)
    client = sb.client()
    pid = _first_posting(client)
    ingested = client.candidates.ingest(pid, name="Pat Lee", email="pat.lee@example.com")
    result = client.interviews.data(ingested.interview_id)
    assert result.status in ("not_ready", "pending", "in_progress", "evaluating")
    assert not result.ready
    assert result.web_interview is None or not result.web_interview.scorecard
    listed = {c.interview_id: c for c in client.candidates.list(pid)}
    assert listed[ingested.interview_id].status == "pending"
    assert listed[ingested.interview_id].score is None


def test_key_never_logged_over_real_http(sandbox_factory, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # httpx and httpcore trace logging included
    sb = sandbox_factory(error_rate=0.5, seed=1)
    client = sb.client(max_retries=6, **NO_SLEEP)
    pid = _first_posting(client)
    list(client.candidates.list(pid, limit=20))
    with pytest.raises(E.NotFoundError) as info:
        client.questions.retrieve(pid, "NOPE")
    assert client.metrics["retries"] > 0
    assert "httpcore" in caplog.text or "HTTP Request" in caplog.text  # real HTTP was logged
    for text in (caplog.text, str(info.value), repr(info.value), repr(client)):
        assert sb.api_key not in text
