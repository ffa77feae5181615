"""``load_posting(..., refresh="auto")``: no listing page while a webhook receiver kept the
store up to date, a full listing whenever it may have missed something (issue 16)."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from milo_analytics import Store, load_posting
from milo_analytics.errors import ConfigError
from milo_analytics.live import WebhookReceiver, delete_webhooks, register_webhooks
from milo_analytics.load import candidate_fingerprint, needs_fetch, refresh_plan
from milo_analytics.sandbox import WorldConfig
from milo_analytics.store import SyncState

LISTING = "GET /postings/{posting_id}/candidates"
DATA = "GET /interviews/{interview_id}/data"


# --------------------------------------------------------------------------- the rule
def _listed(store: Store, start: float, end: float) -> None:
    store.save_posting("P1", {"id": "P1"}, source="http://api.test/api/v2")
    store.mark_sync_started("P1", when=start)
    store.mark_synced("P1", when=end)


def test_refresh_plan_rules_in_order():
    now = 100_000.0
    with Store(":memory:") as s:
        assert refresh_plan(s, "P1", now=now).reason == (
            "posting P1 was never listed completely into this store"
        )
        _listed(s, now - 600, now - 590)
        # no receiver at all since the listing
        plan = refresh_plan(s, "P1", now=now)
        assert plan.path == "listing" and "no webhook receiver" in plan.reason
        # a receiver up since before the listing, beating: events
        run = s.start_listener_run(when=now - 700, heartbeat=30.0)
        s.beat_listener_run(run, when=now - 10)
        assert refresh_plan(s, "P1", now=now).path == "events"
        # ... unless the listing is older than the interval
        plan = refresh_plan(s, "P1", now=now, full_listing_hours=0.1)
        assert (
            plan.path == "listing" and "ended 0.2 h ago (full listing every 0.1 h)" in plan.reason
        )
        # its heartbeats stop (killed): covered up to its last heartbeat only
        assert refresh_plan(s, "P1", now=now + 120).path == "listing"
        # a restart after a clean stop leaves a gap of 5 s: the listing runs
        s.stop_listener_run(run, when=now + 30)
        run2 = s.start_listener_run(when=now + 35, heartbeat=30.0)
        plan = refresh_plan(s, "P1", now=now + 40)
        assert plan.path == "listing" and "(5.0 s)" in plan.reason
        # a new complete listing after the restart: covered again
        _listed(s, now + 50, now + 60)
        assert refresh_plan(s, "P1", now=now + 70).path == "events"
        # a refused delivery (right token) after that listing: maybe lost, so list
        s.note_rejected_delivery(run2, when=now + 80)
        assert "refused 1 delivery" in refresh_plan(s, "P1", now=now + 90).reason
        _listed(s, now + 95, now + 96)
        assert refresh_plan(s, "P1", now=now + 97).path == "events"
        # a pull that started and did not finish
        s.mark_sync_started("P1", when=now + 98)
        assert refresh_plan(s, "P1", now=now + 99).reason == "the last pull did not finish"


def test_refresh_argument_is_checked():
    with pytest.raises(ConfigError, match=r"refresh must be True .* or 'auto'"):
        load_posting("P1", store=":memory:", refresh="yes")
    with pytest.raises(ConfigError, match="full_listing_hours must be a number of hours >= 0"):
        load_posting("P1", store=":memory:", refresh="auto", full_listing_hours=-1)


def test_document_fingerprint_matches_the_listed_record_until_it_changes():
    listed = {"status": "completed", "score": 71.0, "workflow": {"last_activity_at": 5.0},
              "interviewed_at": 4.0, "shortlisted": False, "dismissed": False}  # fmt: skip
    from milo_analytics.load import document_fingerprint

    doc = {k: listed[k] for k in ("status", "score", "workflow")}  # what the document repeats
    state = SyncState("I1", "P1", "ok", document_fingerprint(doc), True, via="webhook")
    assert not needs_fetch(listed, state)
    for change in (
        {"score": 12.0},
        {"status": "shortlisted"},
        {"workflow": {"last_activity_at": 9}},
    ):
        assert needs_fetch({**listed, **change}, state)
    # a copy from the listing keeps comparing the whole record
    state = SyncState("I1", "P1", "ok", candidate_fingerprint(listed), True, via="listing")
    assert not needs_fetch(listed, state) and needs_fetch({**listed, "shortlisted": True}, state)


# --------------------------------------------------------------------------- over HTTP
def _wait(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


def _ingest(client, pid: str, n: int, tag: str) -> set[str]:
    people = [{"name": f"{tag} {i}", "email": f"{tag}{i}@example.org"} for i in range(n)]
    return {m.interview_id for m in client.candidates.ingest_bulk(pid, people)}


def test_missed_events_and_overrides_are_caught_by_a_full_listing(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=41, n_candidates=30, n_second=0))
    pid = sb.world.postings[0]["id"]
    with sb.client() as client, Store(tmp_path / "s.sqlite3") as store:
        with WebhookReceiver(store, client, heartbeat=0.5) as rec:
            load_posting(pid, client=client, store=store, progress=False)
            register_webhooks(client, pid, rec.url)
            fed = _ingest(client, pid, 5, "fed")
            assert _wait(lambda: len(sb.webhook_deliveries) >= 5) and rec.wait_idle(30)
        # the receiver is stopped: these deliveries fail, the events are lost
        missed = _ingest(client, pid, 4, "missed")
        assert _wait(lambda: len(sb.webhook_deliveries) >= 9)
        assert all(d["error"] for d in sb.webhook_deliveries[5:])
        sb.reset_counts()
        data = load_posting(pid, client=client, store=store, refresh="auto", progress=False)
        report = data.pull_reports[0]
        assert report.path == "listing" and "no webhook receiver" in report.reason
        assert sb.counts[LISTING] >= 1
        assert missed | fed <= set(data.interviews["interview_id"])
        assert report.fetched == 4  # the missed ones; the webhook-fed ones are not fetched again
        # a recruiter override sends no webhook: the periodic full listing catches it
        iid = sorted(fed)[0]
        sb.override_score(iid, 12.5)
        sb.reset_counts()
        data = load_posting(pid, client=client, store=store, refresh="auto",
                            full_listing_hours=0, progress=False)  # fmt: skip
        assert data.pull_reports[0].path == "listing" and data.pull_reports[0].fetched == 1
        assert data.interviews.set_index("interview_id").loc[iid, "score"] == 12.5


def test_auto_needs_a_webhook_that_points_at_this_store(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=42, n_candidates=20, n_second=0))
    pid = sb.world.postings[0]["id"]
    with (
        sb.client() as client,
        Store(tmp_path / "s.sqlite3") as store,
        WebhookReceiver(store, client, heartbeat=0.5) as rec,
    ):
        load_posting(pid, client=client, store=store, progress=False)
        plan = refresh_plan(store, pid, client=client)
        assert plan.path == "listing" and "no active report_available" in plan.reason
        register_webhooks(client, pid, rec.url, events=["interview_started"])
        assert refresh_plan(store, pid, client=client).path == "listing"  # no result event
        register_webhooks(client, pid, "https://elsewhere.example.org/hooks/x")  # not ours
        assert refresh_plan(store, pid, client=client).path == "listing"
        register_webhooks(client, pid, rec.url)
        assert refresh_plan(store, pid, client=client).path == "events"
        gone = delete_webhooks(client, posting_id=pid, url=rec.url)
        assert len(gone) == 2 and all(g["deleted"] for g in gone)  # started + report
        assert refresh_plan(store, pid, client=client).path == "listing"


def test_auto_processes_events_a_recording_only_receiver_queued(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=43, n_candidates=20, n_second=0))
    pid = sb.world.postings[0]["id"]
    with (
        sb.client() as client,
        Store(tmp_path / "s.sqlite3") as store,
        WebhookReceiver(store, process=False, heartbeat=0.5) as rec,
    ):
        load_posting(pid, client=client, store=store, progress=False)
        register_webhooks(client, pid, rec.url)
        new = _ingest(client, pid, 6, "queued")
        assert _wait(lambda: len(sb.webhook_deliveries) >= 6)
        assert {d["status"] for d in sb.webhook_deliveries} == {200}
        assert store.event_counts() == {"pending": 6}
        sb.reset_counts()
        data = load_posting(pid, client=client, store=store, refresh="auto", progress=False)
        assert data.pull_reports[0].path == "events"
        assert sb.counts.get(LISTING, 0) == 0 and sb.counts[DATA] == 6
        assert new <= set(data.interviews["interview_id"])
        assert store.event_counts() == {"done": 6}


def test_listen_register_pulls_once_and_webhooks_commands_are_idempotent(
    sandbox_factory, tmp_path, monkeypatch, capsys
):
    from milo_analytics.cli import main

    sb = sandbox_factory(world=WorldConfig(seed=44, n_candidates=20, n_second=0))
    pid = sb.world.postings[0]["id"]
    monkeypatch.setenv("HEYMILO_API_KEY", sb.api_key)
    store = str(tmp_path / "s.sqlite3")
    common = ["--store", store, "--base-url", sb.base_url]
    code = main(["listen", *common, "--port", "0", "--register", pid, "--duration", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "listening on http://127.0.0.1:" in out and "/hooks/****" in out
    assert f"{pid}: report_available registered" in out and "pulled once: 20 candidates" in out
    with Store(store) as st:
        token = st.webhook_token(create=False)
        assert st.listener_runs()[-1]["stopped_at"] is not None  # a clean stop was recorded
    assert token and token not in out
    # register again through `webhooks register`: nothing new, the token is masked
    url = f"http://127.0.0.1:{1234}"
    assert main(["webhooks", "register", pid, "--url", url, *common]) == 0
    assert main(["webhooks", "register", pid, "--url", url, *common]) == 0
    out = capsys.readouterr().out
    assert out.count("already registered") == 1 and "report_available registered" in out
    assert token not in out
    assert main(["webhooks", "list", *common]) == 0
    listed = capsys.readouterr().out
    assert listed.count(pid) == 2 and token not in listed and "/hooks/****" in listed
    assert len([h for h in sb.world.webhooks if h["is_active"]]) == 2  # 2 URLs x 1 event
    assert main(["webhooks", "delete", "--posting", pid, "--url", f"{url}/hooks/{token}",
                 *common]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("deleted ") == 1 and token not in out
    wid = next(h["webhook_id"] for h in sb.world.webhooks if not h["is_active"])
    assert main(["webhooks", "delete", wid, *common]) == 0
    assert "not active (already deleted" in capsys.readouterr().out
    assert main(["webhooks", "register", pid, "--url", url, "--events", "candidate_hired",
                 *common]) == 1  # fmt: skip
    assert "--events with one of" in capsys.readouterr().err


def test_a_delivery_to_a_stopped_store_is_not_acknowledged(tmp_path):
    # acknowledged means committed: a receiver whose store is gone answers 503, not 200
    rec = WebhookReceiver(tmp_path / "s.sqlite3", process=False).start()
    try:
        rec._intake.close()  # the store connection fails under it
        conn = http.client.HTTPConnection("127.0.0.1", rec.port, timeout=10)
        path = rec.url.split(str(rec.port), 1)[1]
        conn.request("POST", path, body=json.dumps({"interview_id": "I1"}),
                     headers={"Content-Type": "application/json"})  # fmt: skip
        assert conn.getresponse().status == 503
    finally:
        rec.stop()
