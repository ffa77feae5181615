"""The sandbox server over real HTTP on 127.0.0.1: auth, errors, paging, prefixes, counters."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import httpx
import pytest

from milo_analytics.sandbox import Sandbox, WorldConfig


def _client(sb: Sandbox, v4: bool = False, **kw: Any) -> httpx.Client:
    return httpx.Client(
        base_url=sb.base_url_v4 if v4 else sb.base_url,
        headers={"X-API-KEY": sb.api_key},
        timeout=10,
        **kw,
    )


def _csr(sb: Sandbox) -> str:
    return sb.world.truth["csr_posting_id"]


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-KEY": "not-the-key"}, {"Authorization": "Bearer x"}]
)
def test_bad_or_missing_key_is_401_with_error_body(
    sandbox: Sandbox, headers: dict[str, str]
) -> None:
    r = httpx.get(sandbox.base_url + "/postings", headers=headers)
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["type"] == "authentication_error"
    assert "API key" in err["message"]
    assert sandbox.api_key not in r.text


def test_health_needs_no_key(sandbox: Sandbox) -> None:
    r = httpx.get(sandbox.root_url + "/health")
    assert r.status_code == 200 and r.json()["status"] == 200


def test_explicit_api_key_is_used(sandbox_factory: Any) -> None:
    sb = sandbox_factory(api_key="k-123")
    assert sb.api_key == "k-123"
    assert httpx.get(sb.base_url + "/postings", headers={"X-API-KEY": "k-123"}).status_code == 200
    assert "k-123" not in repr(sb)


# --------------------------------------------------------------------------- 404 / 405


def test_unknown_ids_are_404(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    with _client(sandbox) as c:
        for path, param in [
            ("/postings/DEADBEEF", "posting_id"),
            ("/postings/DEADBEEF/questions", "posting_id"),
            (f"/postings/{pid}/questions/NOPE", "question_id"),
            ("/interviews/FFFFFFFFFFFFFFFF/data", "interview_id"),
            ("/interviews/FFFFFFFFFFFFFFFF/metadata", "interview_id"),
            ("/webhooks/NOPE", "webhook_id"),
        ]:
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.json()["error"]["param"] == param
        assert c.get("/no/such/route").status_code == 404
        assert c.put(f"/postings/{pid}").status_code == 405


# --------------------------------------------------------------------------- 422 / 400


def test_schema_failures_use_fastapi_detail(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    qid = sandbox.world.questions[pid][0]["id"]
    with _client(sandbox) as c:
        r = c.post("/postings", json={"description": "no title"})
        assert r.status_code == 422
        assert r.json()["detail"][0] == {
            "loc": ["body", "title"],
            "msg": "Field required",
            "type": "missing",
        }
        r = c.patch(f"/postings/{pid}/questions/{qid}", json={"score_weight": "high"})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "int_type"
        r = c.patch(f"/postings/{pid}/questions/{qid}", json={"score_weight": 2.5})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "int_from_float"
        r = c.post(f"/postings/{pid}/candidates", json={"name": "No Email"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"]
        r = c.post(f"/postings/{pid}/candidates/bulk", json={"data": []})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "too_short"
        r = c.get(f"/postings/{pid}/candidates", params={"limit": 101})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_malformed_json_body_is_a_clear_422(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    with _client(sandbox) as c:
        r = c.post(
            f"/postings/{pid}/candidates",
            content=b'{"name": "x", ',
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["type"] == "json_invalid" and d["msg"] == "JSON decode error"


@pytest.mark.parametrize("weight", [0, 11, -3])
def test_weight_out_of_range_uses_error_envelope(sandbox: Sandbox, weight: int) -> None:
    pid = _csr(sandbox)
    q = sandbox.world.questions[pid][1]
    before = q["score_weight"]
    with _client(sandbox) as c:
        r = c.patch(f"/postings/{pid}/questions/{q['id']}", json={"score_weight": weight})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["param"] == "score_weight"
    assert "between 1 and 10" in err["errors"][0]["message"]
    assert q["score_weight"] == before  # nothing changed


def test_rule_violations_on_candidates(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    with _client(sandbox) as c:
        r = c.post(f"/postings/{pid}/candidates", json={"name": "A", "email": "not-an-email"})
        assert r.status_code == 422 and r.json()["error"]["param"] == "email"
        r = c.post(
            f"/postings/{pid}/candidates",
            json={"name": "A", "email": "a@example.com", "phone_number": "555"},
        )
        assert r.status_code == 422 and r.json()["error"]["param"] == "phone_number"
        r = c.post(
            f"/postings/{pid}/candidates",
            json={"name": "A", "email": "a@example.com", "metadata": {"k": 1}},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "metadata", "k"]


def test_date_filters_accept_iso_and_epoch_and_reject_inverted(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    cands = sandbox.world.candidates[pid]
    lo, hi = sorted(c["created_at"] for c in cands)[10], sorted(c["created_at"] for c in cands)[30]
    expect = {c["interview_id"] for c in cands if lo <= c["created_at"] <= hi}
    from datetime import UTC, datetime

    iso = lambda t: datetime.fromtimestamp(t, UTC).isoformat()  # noqa: E731
    with _client(sandbox) as c:
        a = c.get(
            f"/postings/{pid}/candidates",
            params={"created_after": lo, "created_before": hi, "limit": 100},
        ).json()
        b = c.get(
            f"/postings/{pid}/candidates",
            params={"created_after": iso(lo), "created_before": iso(hi), "limit": 100},
        ).json()
        assert {x["interview_id"] for x in a["data"]} == expect  # both bounds inclusive
        assert {x["interview_id"] for x in b["data"]} == expect
        naive = datetime.fromtimestamp(lo, UTC).replace(tzinfo=None).isoformat()  # naive = UTC
        n = c.get(
            f"/postings/{pid}/candidates", params={"created_after": naive, "limit": 100}
        ).json()
        assert n["pagination"]["total_count"] == sum(1 for x in cands if x["created_at"] >= lo)
        r = c.get(f"/postings/{pid}/candidates", params={"created_after": hi, "created_before": lo})
        assert r.status_code == 400 and "created_before" in r.json()["error"]["message"]
        r = c.get(f"/postings/{pid}/candidates", params={"created_after": "last tuesday"})
        assert r.status_code == 422


# --------------------------------------------------------------------------- paging


def test_pagination_over_250_candidates(sandbox_factory: Any) -> None:
    sb = sandbox_factory(
        world=WorldConfig(seed=5, n_candidates=260, n_second=0, transcripts="none")
    )
    pid = _csr(sb)
    seen: list[str] = []
    pages = 0
    after = None
    with _client(sb) as c:
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            body = c.get(f"/postings/{pid}/candidates", params=params).json()
            pages += 1
            seen += [x["interview_id"] for x in body["data"]]
            assert body["pagination"]["total_count"] == 260
            if not body["pagination"]["has_more"]:
                break
            after = body["data"][-1]["interview_id"]
        assert pages == 3 and len(seen) == 260 and len(set(seen)) == 260
        assert seen == [x["interview_id"] for x in sb.world.candidates[pid]]
        # default page size 20
        assert len(c.get(f"/postings/{pid}/candidates").json()["data"]) == 20
        r = c.get(f"/postings/{pid}/candidates", params={"starting_after": "NOT-AN-ID"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "starting_after"


def test_question_listing_pages_and_filters(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    with _client(sandbox) as c:
        for i in range(25):
            assert (
                c.post(
                    f"/postings/{pid}/questions", json={"modality": "sms", "text": f"SMS {i}?"}
                ).status_code
                == 201
            )
        all_ids: list[str] = []
        after = None
        while True:
            params: dict[str, Any] = {"limit": 10, **({"starting_after": after} if after else {})}
            b = c.get(f"/postings/{pid}/questions", params=params).json()
            all_ids += [q["id"] for q in b["data"]]
            if not b["pagination"]["has_more"]:
                break
            after = all_ids[-1]
        assert len(all_ids) == 31 and len(set(all_ids)) == 31
        voice = c.get(f"/postings/{pid}/questions", params={"modality": "voice"}).json()
        assert [q["rank"] for q in voice["data"]] == [1, 2, 3, 4, 5, 6]
        assert c.get(f"/postings/{pid}/questions", params={"modality": "fax"}).status_code == 422


# --------------------------------------------------------------------------- v4 and counters


def test_v4_prefix_is_identical(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    iid = next(iter(sandbox.world.interview_data))
    with _client(sandbox) as v2, _client(sandbox, v4=True) as v4:
        for path in [f"/interviews/{iid}/data", f"/postings/{pid}"]:
            a, b = v2.get(path), v4.get(path)
            assert a.status_code == b.status_code == 200
            assert a.content == b.content
        a = v2.get(f"/postings/{pid}/questions").json()
        b = v4.get(f"/postings/{pid}/questions").json()
        assert a["data"] == b["data"]
        a = v2.get(f"/postings/{pid}/candidates").json()
        b = v4.get(f"/postings/{pid}/candidates").json()
        assert a["data"] == b["data"]
        assert b["pagination"]["url"].startswith("/api/v4/")


def test_request_counter_per_route_template(sandbox: Sandbox) -> None:
    ids = list(sandbox.world.interview_data)[:3]
    sandbox.reset_counts()
    with _client(sandbox) as c:
        for iid in ids:
            c.get(f"/interviews/{iid}/data")
        c.get("/interviews/NOPE/data")
        c.get("/postings")
    httpx.get(sandbox.base_url_v4 + "/postings", headers={"X-API-KEY": "bad"})
    assert sandbox.counts["GET /interviews/{interview_id}/data"] == 4
    assert sandbox.counts["GET /postings"] == 2
    sandbox.reset_counts()
    assert sandbox.counts == {}


def test_trivial_get_is_fast(sandbox: Sandbox) -> None:
    # DESIGN.md: without TCP_NODELAY a small response waits ~40 ms for a delayed ACK.
    with _client(sandbox) as c:
        pid = _csr(sandbox)
        c.get(f"/postings/{pid}")
        times = []
        for _ in range(30):
            t = time.perf_counter()
            c.get(f"/postings/{pid}")
            times.append(time.perf_counter() - t)
    assert statistics.median(times) < 0.02


def test_unfinished_interview_answers_not_ready(sandbox: Sandbox) -> None:
    unfinished = [
        c
        for cs in sandbox.world.candidates.values()
        for c in cs
        if c["interview_id"] not in sandbox.world.interview_data
    ]
    assert unfinished
    with _client(sandbox) as c:
        for cand in unfinished:
            r = c.get(f"/interviews/{cand['interview_id']}/data")
            assert r.status_code == 200
            d = r.json()["data"]
            assert d["status"] in ("not_ready", "in_progress", "evaluating")
            assert d["web_interview"] is None and d["score"] is None
            assert (d["status"] == "not_ready") == (cand["status"] == "pending")


def test_sandbox_client_is_wired_to_the_server(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        ids = [p.id for p in client.postings.list()]
    assert ids == [p["id"] for p in sandbox.world.postings]
    assert sandbox.api_key not in repr(client)
    # the server shares this process's GIL: a pull runs a few threads, not the client's 32
    from milo_analytics.load import resolve_concurrency

    assert client.max_connections == Sandbox.CLIENT_CONNECTIONS == 4
    assert resolve_concurrency(None, client) == 4
    with sandbox.client(max_connections=16) as client:
        assert client.max_connections == 16


def test_small_writes_are_fast_too(sandbox: Sandbox) -> None:
    # a PATCH body must not wait for a delayed ACK either (TCP_NODELAY on both ends)
    pid = _csr(sandbox)
    qid = sandbox.world.questions[pid][0]["id"]
    times = []
    with _client(sandbox) as c:
        for i in range(20):
            t = time.perf_counter()
            assert (
                c.patch(
                    f"/postings/{pid}/questions/{qid}", json={"score_weight": 1 + i % 9}
                ).status_code
                == 200
            )
            times.append(time.perf_counter() - t)
    assert statistics.median(times) < 0.02


def test_process_mode_serves_the_same_api_from_a_child_process() -> None:
    from milo_analytics.sandbox import ProcessSandbox, run_sandbox

    cfg = WorldConfig(seed=6, n_candidates=30, n_second=0, transcripts="short")
    with run_sandbox(cfg, process=True, api_key="proc-key") as sb:
        assert isinstance(sb, ProcessSandbox) and sb.running
        iid = next(iter(sb.world.interview_data))
        with _client(sb) as c:
            doc = c.get(f"/interviews/{iid}/data").json()["data"]
            assert doc == sb.world.interview_data[iid]
            assert sb.counts == {"GET /interviews/{interview_id}/data": 1}
            sb.reset_counts()
            assert sb.counts == {}
            sb.override_score(iid, 12.5)
            assert c.get(f"/interviews/{iid}/data").json()["data"]["score"] == 12.5
            sb.set_faults(error_rate=1.0)
            assert c.get("/postings").status_code >= 500
            sb.set_faults(error_rate=0.0, malformed=[iid])
            assert c.get(f"/interviews/{iid}/data").content[-1:] != b"}"
        assert httpx.get(sb.root_url + "/_sandbox/counts").status_code == 401
        proc = sb._proc
    assert proc.poll() is not None  # stopped


# --------------------------------------------------------------------------- request ids


def test_every_response_carries_a_unique_request_id(sandbox: Sandbox) -> None:
    pid = _csr(sandbox)
    with _client(sandbox) as c:
        answers = [
            c.get(f"/postings/{pid}"),  # 200
            c.get("/postings/DEADBEEF"),  # 404
            c.get("/no/such/route"),  # 404 outside the API
            c.get(f"/postings/{pid}/candidates", params={"limit": 101}),  # 422
        ]
    with httpx.Client(base_url=sandbox.base_url) as bare:
        answers.append(bare.get(f"/postings/{pid}"))  # 401: no key
    ids = [r.headers.get("x-request-id") for r in answers]
    assert [r.status_code for r in answers] == [200, 404, 404, 422, 401]
    assert all(i and re.fullmatch(r"req_[0-9a-f]{12}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_client_errors_from_the_sandbox_name_the_request_id(sandbox: Sandbox) -> None:
    """Over real HTTP, the id the sandbox sent ends up in the client's exception message."""
    from milo_analytics.errors import NotFoundError, ValidationError

    pid = _csr(sandbox)
    qid = sandbox.world.questions[pid][0]["id"]
    with sandbox.client(max_retries=0) as client:
        with pytest.raises(NotFoundError) as not_found:
            client.postings.retrieve("DEADBEEF")
        # raw request: the resource method would refuse the weight before sending it
        with pytest.raises(ValidationError) as invalid:
            client.request("PATCH", f"postings/{pid}/questions/{qid}", json={"score_weight": 11})
        with pytest.raises(ValidationError) as schema:  # FastAPI's {"detail": [...]} shape
            client.request("GET", f"postings/{pid}/candidates", params={"limit": 101})
    errors = [not_found.value, invalid.value, schema.value]
    assert [e.status_code for e in errors] == [404, 422, 422]
    for err in errors:
        assert re.fullmatch(r"req_[0-9a-f]{12}", err.request_id or ""), err.request_id
        assert f"(request id {err.request_id})" in str(err)
    assert len({e.request_id for e in errors}) == 3
