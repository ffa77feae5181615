"""The webhook receiver over real HTTP: the sandbox posts its webhooks, the receiver stores
every interview without listing a candidate page; and the endpoint's security (issue 16).

Deliveries in the security tests are sent with ``http.client`` (the standard library logs
nothing), so any log record holding the token comes from the receiver's side.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Any

import pytest

from milo_analytics import Store, load_posting
from milo_analytics.errors import ConfigError
from milo_analytics.live import WebhookReceiver, register_webhooks
from milo_analytics.load import refresh_plan
from milo_analytics.sandbox import WorldConfig

LISTING = "GET /postings/{posting_id}/candidates"
DATA = "GET /interviews/{interview_id}/data"


def _post(
    rec: WebhookReceiver,
    body: bytes | str,
    *,
    path: str | None = None,
    method: str = "POST",
    content_type: str = "application/json",
    chunked: bool = False,
) -> tuple[int, bytes, dict[str, str]]:
    """One request to the receiver with the standard library (no logging)."""
    conn = http.client.HTTPConnection("127.0.0.1", rec.port, timeout=10)
    data = body.encode() if isinstance(body, str) else body
    target = path if path is not None else rec.url.split(str(rec.port), 1)[1]
    headers = {"Content-Type": content_type}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        conn.putrequest(method, target)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        for i in range(0, len(data), 1000):
            piece = data[i : i + 1000]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
    else:
        conn.request(method, target, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return out


def _event(iid: str, kind: str = "report_available", **extra: Any) -> str:
    return json.dumps({"event_type": kind, "posting_id": "P?", "interview_id": iid, **extra})


def _wait(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# --------------------------------------------------------------------------- end to end
def test_sandbox_webhooks_fill_the_store_without_listing_pages(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=21, n_candidates=40, n_second=0))
    pid = sb.world.postings[0]["id"]
    n = 30
    with (
        sb.client() as client,
        Store(tmp_path / "s.sqlite3") as store,
        WebhookReceiver(store, client, heartbeat=0.5) as rec,
    ):
        # the receiver is up before the first complete listing: from then on it keeps the store
        load_posting(pid, client=client, store=store, progress=False)
        rows = register_webhooks(client, pid, rec.url)
        assert [r["event_type"] for r in rows] == ["report_available"]  # the default
        sb.reset_counts()
        made = client.candidates.ingest_bulk(
            pid, [{"name": f"Sim {i}", "email": f"sim{i}@example.org"} for i in range(n)]
        )
        new_ids = {m.interview_id for m in made}
        # the sandbox interviews them at its next tick and posts one event each
        assert _wait(lambda: len(sb.webhook_deliveries) >= n)
        assert {d["status"] for d in sb.webhook_deliveries} == {200}
        assert rec.wait_idle(30)
        counts = dict(sb.counts)
        assert counts.get(LISTING, 0) == 0  # not one candidate-listing request
        assert counts[DATA] == n  # each new interview fetched once, no other
        states = store.interview_states(new_ids)
        assert set(states) == new_ids and {s.via for s in states.values()} == {"webhook"}
        assert all(s.state == "ok" and s.has_document for s in states.values())
        # latency from the event's arrival to its stored document (the benchmark measures it
        # precisely; the sandbox's ingest-to-event time is not included)
        events = store.events(posting_id=pid)
        assert len(events) == n and {e["state"] for e in events} == {"done"}
        lag = max(states[e["interview_id"]].fetched_at - e["received_at"] for e in events)
        assert lag <= 2.0

        data = load_posting(pid, store=store, refresh=False)
        assert new_ids <= set(data.interviews["interview_id"])
        assert data.interviews["interview_id"].is_unique
        assert data.candidates["interview_id"].is_unique
        # the stored document is the API's, and the candidate record says where it came from
        iid = sorted(new_ids)[0]
        assert store.interview(iid) == client.interviews.data(iid, raw=True)
        cand = data.candidates.set_index("interview_id").loc[iid]
        assert cand["status"] == "completed" and cand["posting_id"] == pid
        assert cand["interviewed_at"] is not None  # the event's arrival until the next listing

        # refresh="auto": the receiver kept the store complete, so no listing page is read
        sb.reset_counts()
        auto = load_posting(pid, client=client, store=store, refresh="auto", progress=False)
        report = auto.pull_reports[0]
        assert report.path == "events", report.reason
        counts = dict(sb.counts)
        assert counts.get(LISTING, 0) == 0 and counts.get(DATA, 0) == 0
        assert counts == {
            "GET /webhooks": 1,
            "GET /postings/{posting_id}": 1,
            "GET /postings/{posting_id}/questions": 1,
        }
        assert set(auto.interviews["interview_id"]) == set(data.interviews["interview_id"])

    # the next full listing does not fetch the webhook-fed interviews again
    with sb.client() as client, Store(tmp_path / "s.sqlite3") as store:
        sb.reset_counts()
        full = load_posting(pid, client=client, store=store, progress=False)
        assert full.pull_reports[0].fetched == 0 and sb.counts.get(DATA, 0) == 0
        assert full.candidates.set_index("interview_id").loc[iid, "created_at"] is not None


def test_out_of_order_duplicate_and_unfinished_events_are_harmless(sandbox_factory, tmp_path):
    # a long interview delay: ingested candidates stay unfinished until complete_pending()
    sb = sandbox_factory(world=WorldConfig(seed=22, n_candidates=10, n_second=0),
                         interview_delay=3600)  # fmt: skip
    pid = sb.world.postings[0]["id"]
    with (
        sb.client() as client,
        Store(tmp_path / "s.sqlite3") as store,
        WebhookReceiver(store, client) as rec,
    ):
        load_posting(pid, client=client, store=store, progress=False)
        (made,) = client.candidates.ingest_bulk(pid, [{"name": "Late", "email": "l@example.org"}])
        iid = made.interview_id
        # interview_started fetches nothing; an early interview_completed finds no results yet
        assert _post(rec, _event(iid, "interview_started"))[0] == 200
        assert _post(rec, _event(iid, "interview_completed"))[0] == 200
        assert rec.wait_idle(20)
        assert store.interview_states([iid]) == {}  # no document for an unfinished interview
        record = store.candidate_record(iid)
        assert record is not None and record[2]["status"] == "pending"
        sb.complete_pending()
        # the report arrives, then a replay of it, then a late interview_completed
        sb.reset_counts()
        report = _event(iid, "report_available", timestamp=1.0)
        assert json.loads(_post(rec, report)[1]) == {"status": "recorded"}
        assert rec.wait_idle(20)
        assert json.loads(_post(rec, report)[1]) == {"status": "duplicate"}
        late = _event(iid, "interview_completed", timestamp=0.5)
        assert _post(rec, late)[0] == 200
        assert rec.wait_idle(20)
        assert sb.counts[DATA] == 2  # the report, and the late event (arrived after that fetch)
        data = load_posting(pid, store=store, refresh=False)
        assert data.interviews["interview_id"].tolist().count(iid) == 1
        assert data.candidates["interview_id"].tolist().count(iid) == 1
        by_type = {e["event_type"]: e for e in store.events(interview_id=iid)}
        assert by_type["interview_started"]["state"] == "skipped"
        assert by_type["report_available"]["deliveries"] == 2
        assert {e["state"] for e in by_type.values()} <= {"done", "skipped"}
        # a fetched event is filed under its document's posting, not the payload's
        assert by_type["report_available"]["posting_id"] == pid
        assert by_type["interview_started"]["posting_id"] == "P?"  # never fetched


def test_events_for_a_posting_the_store_does_not_know(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=23, n_candidates=10, n_second=0))
    pid = sb.world.postings[0]["id"]
    iid = next(iter(sb.world.interview_data))
    with (
        sb.client() as client,
        Store(tmp_path / "s.sqlite3") as store,
        WebhookReceiver(store, client) as rec,
    ):
        assert _post(rec, _event(iid, posting_id="NOT-THE-POSTING"))[0] == 200
        assert rec.wait_idle(20)
        assert store.has_posting(pid) and store.questions(pid)  # fetched once, with questions
        assert store.events()[0]["posting_id"] == pid  # the document decides, not the payload
        assert sb.counts.get(LISTING, 0) == 0
        # never listed: a load says the store is incomplete rather than pretending
        with pytest.warns(UserWarning, match="no pull of it ever finished"):
            data = load_posting(pid, store=store, refresh=False)
        assert data.interviews["interview_id"].tolist() == [iid]
        # an interview HeyMilo does not know: the event fails, recorded like a pull's error
        assert _post(rec, _event("0000000000000000"))[0] == 200
        assert rec.wait_idle(20)
        failed = store.events(states=["failed"])
        assert [e["interview_id"] for e in failed] == ["0000000000000000"]
        assert "404" in failed[0]["error"]


# --------------------------------------------------------------------------- security
def test_receiver_defaults_bind_loopback_and_refuse_memory_stores(tmp_path):
    with pytest.raises(ConfigError, match="needs a store file"):
        WebhookReceiver(":memory:", process=False)
    with Store(":memory:") as mem, pytest.raises(ConfigError, match="needs a store file"):
        WebhookReceiver(mem, process=False)
    with WebhookReceiver(tmp_path / "s.sqlite3", process=False) as rec:
        assert rec.host == "127.0.0.1" and rec.url.startswith("http://127.0.0.1:")
        token = rec.url.rsplit("/", 1)[1]
        assert len(token) >= 43  # 256 random bits, url-safe base64
        assert token not in repr(rec) and "****" in repr(rec) and token not in rec.masked_url
    with Store(tmp_path / "s.sqlite3") as store:  # the same token next time (kept in the store)
        assert store.webhook_token(create=False) == token
    assert (tmp_path / "s.sqlite3").stat().st_mode & 0o077 == 0


def test_wrong_token_oversized_non_json_and_replays(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # everything, every logger
    with WebhookReceiver(
        tmp_path / "s.sqlite3", process=False, max_body_bytes=2048, rate_cap=None
    ) as rec:
        token = rec.url.rsplit("/", 1)[1]
        # wrong token, or no token: 404 with no body (constant-time compare)
        for path in ("/", "/hooks/", "/hooks/" + token[:-1], "/hooks/" + token + "x",
                     "/hooks/" + token.upper(), "/hooks/" + token + "/"):  # fmt: skip
            status, body, _ = _post(rec, _event("I1"), path=path)
            assert (status, body) == (404, b""), path
        # the right token: JSON only, POST only, within the size cap, with an interview_id
        assert _post(rec, "hello", content_type="text/plain")[0] == 415
        assert _post(rec, "<x/>", content_type="application/xml")[0] == 415
        assert _post(rec, _event("I1"), method="GET")[0] == 405
        assert _post(rec, "{not json")[0] == 400
        assert _post(rec, '{"interview_id": NaN}')[0] == 400
        assert _post(rec, "[1, 2]")[0] == 422
        assert _post(rec, '{"event_type": "report_available"}')[0] == 422
        big = _event("I1", data="x" * 3000)
        assert _post(rec, big)[0] == 413  # Content-Length over the cap
        assert _post(rec, big, chunked=True)[0] == 413  # no length: counted while reading
        assert _post(rec, _event("I1", data="x" * 1000), chunked=True)[0] == 200
        # a replay (same event, other whitespace and key order) is de-duplicated
        first = _post(rec, '{"interview_id": "I2", "event_type": "report_available"}')
        again = _post(rec, '{ "event_type":"report_available","interview_id":"I2" }')
        assert json.loads(first[1]) == {"status": "recorded"}
        assert json.loads(again[1]) == {"status": "duplicate"}
        assert _post(rec, _event("I2", "interview_completed"))[0] == 200  # another event
        assert _post(rec, _event("I2", "report_available", id="evt-1"))[0] == 200
        assert json.loads(_post(rec, _event("I2", "report_available", id="evt-1", x=1))[1]) == {
            "status": "duplicate"  # the sender's own id decides when it sends one
        }
        store = rec.store
        events = store.events()
        assert [e["interview_id"] for e in events] == ["I1", "I2", "I2", "I2"]
        assert [e["deliveries"] for e in events] == [1, 2, 1, 2]
        assert {e["state"] for e in events} == {"pending"}  # process=False: queued only
        raw = store.event_body(events[0]["event_id"])
        assert raw is not None and json.loads(raw)["data"] == "x" * 1000  # the raw body
        stats = rec.stats
        assert stats["rejected"] == {415: 2, 405: 1, 400: 2, 422: 2, 413: 2}
        run = store.listener_runs()[-1]
        assert _wait(lambda: store.listener_runs()[-1]["rejected"] == 9)
        assert run["stopped_at"] is None
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(caplog.records)
    assert token not in text
    assert "refused (413)" in text  # the refusals are logged, without the token or the body


def test_per_source_rate_cap(tmp_path):
    with WebhookReceiver(tmp_path / "s.sqlite3", process=False, rate_cap=5) as rec:
        store = rec.store
        store.save_posting("P1", {"id": "P1"}, source="http://x/api/v2")
        store.mark_sync_started("P1")  # a complete listing while the receiver is up
        store.mark_synced("P1")
        assert refresh_plan(store, "P1").path == "events"
        statuses = [_post(rec, _event(f"I{i}"))[0] for i in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        status, body, headers = _post(rec, _event("I9"))
        assert status == 429 and body == b"" and int(headers["retry-after"]) >= 1
        # unauthenticated probes use up the same budget and learn nothing
        assert _post(rec, _event("I1"), path="/hooks/nope")[0] == 429
        assert _wait(lambda: store.listener_runs()[-1]["rejected"] == 3)
        # a refused delivery with the right token may be a lost event: refresh="auto" lists
        plan = refresh_plan(store, "P1")
        assert plan.path == "listing" and "refused 3 deliveries" in plan.reason


def test_worker_logs_neither_key_nor_token(sandbox_factory, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sb = sandbox_factory(world=WorldConfig(seed=24, n_candidates=10, n_second=0))
    ids = list(sb.world.interview_data)[:3]
    with sb.client() as client, WebhookReceiver(tmp_path / "s.sqlite3", client) as rec:
        token = rec.url.rsplit("/", 1)[1]
        for iid in [*ids, "0000000000000000"]:  # one fails (404): its error is logged
            assert _post(rec, _event(iid))[0] == 200
        assert rec.wait_idle(20)
        assert set(rec.store.interview_states(ids)) == set(ids)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "0000000000000000" in text  # the failure was logged ...
    assert sb.api_key not in text and token not in text  # ... without secrets
    assert sb.api_key not in repr(rec.stats) and token not in repr(rec.stats)
