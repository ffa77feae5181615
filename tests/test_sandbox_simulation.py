"""The sandbox's live behaviour: questions API, metadata, webhooks, the interview simulation,
weights in force at completion time and recruiter overrides."""

from __future__ import annotations

import time
from typing import Any

import httpx

from milo_analytics.sandbox import overall_score


def _c(sb: Any) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url, headers={"X-API-KEY": sb.api_key}, timeout=10)


GUIDE_POSTING = {
    "title": "Customer Service Representative",
    "description": "Screen customer service candidates with a structured video interview.",
    "interviewer_name": "Sarah",
    "workflow": [
        {
            "type": "web_interview",
            "config": {"video": True},
            "questions": [
                {
                    "modality": "voice",
                    "text": "Tell me about your customer service experience.",
                    "score_weight": 2.0,
                },
                {
                    "modality": "voice",
                    "text": "How do you de-escalate an upset customer?",
                    "score_weight": 3.0,
                },
                {
                    "modality": "voice",
                    "text": "How do you prioritise several customers?",
                    "score_weight": 2.0,
                },
                {
                    "modality": "voice",
                    "text": "How do you explain a policy they dislike?",
                    "score_weight": 2.0,
                },
                {"modality": "voice", "text": "Why customer service?", "score_weight": 1.5},
            ],
        }
    ],
}


def _create(c: httpx.Client) -> str:
    r = c.post("/postings", json=GUIDE_POSTING)
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def test_create_posting_with_guide_float_weights(sandbox: Any) -> None:
    with _c(sandbox) as c:
        pid = _create(c)
        p = c.get(f"/postings/{pid}").json()["data"]
        assert p["interviewer_name"] == "Sarah" and p["workflow"][0]["config"]["video"] is True
        qs = c.get(f"/postings/{pid}/questions").json()["data"]
        assert [q["score_weight"] for q in qs] == [2.0, 3.0, 2.0, 2.0, 1.5]
        assert [q["rank"] for q in qs] == [1, 2, 3, 4, 5]
        stats = c.get(f"/postings/{pid}/stats").json()["data"]
        assert stats["total_candidates"] == 0 and stats["average_interview_score"] is None
        # inline weights are capped too, with the error envelope
        bad = {
            **GUIDE_POSTING,
            "workflow": [
                {
                    "type": "web_interview",
                    "questions": [{"modality": "voice", "text": "Q", "score_weight": 12}],
                }
            ],
        }
        r = c.post("/postings", json=bad)
        assert r.status_code == 422 and "score_weight" in r.json()["error"]["param"]
        r = c.patch(f"/postings/{pid}", json={"title": "CSR EMEA", "metadata": {"team": "emea"}})
        assert r.json()["data"]["title"] == "CSR EMEA" and r.json()["data"]["metadata"] == {
            "team": "emea"
        }
        assert c.patch(f"/postings/{pid}", json={"title": "x"}).status_code == 422


def test_question_update_delete_and_reorder(sandbox: Any) -> None:
    with _c(sandbox) as c:
        pid = _create(c)
        ids = [q["id"] for q in c.get(f"/postings/{pid}/questions").json()["data"]]
        r = c.patch(
            f"/postings/{pid}/questions/{ids[2]}",
            json={"evaluation_criteria": "Triage by urgency", "score_weight": None},
        )
        q = r.json()["data"]
        assert q["evaluation_criteria"] == "Triage by urgency" and q["score_weight"] == 2.0
        assert c.delete(f"/postings/{pid}/questions/{ids[3]}").json()["data"]["id"] == ids[3]
        assert c.get(f"/postings/{pid}/questions/{ids[3]}").status_code == 404
        live = [q["id"] for q in c.get(f"/postings/{pid}/questions").json()["data"]]
        assert ids[3] not in live and len(live) == 4
        # reorder must list every active id of the modality: the deleted one is unknown now
        r = c.post(
            f"/postings/{pid}/questions/reorder",
            json={"modality": "voice", "order": [ids[4], ids[0], ids[1], ids[3]]},
        )
        assert r.status_code == 422 and r.json()["error"]["param"] == "order"
        msg = r.json()["error"]["errors"][0]["message"]
        assert ids[2] in msg and ids[3] in msg
        r = c.post(
            f"/postings/{pid}/questions/reorder",
            json={"modality": "voice", "order": [ids[4], ids[4], ids[0], ids[1]]},
        )
        assert r.status_code == 422 and "duplicate" in r.json()["error"]["message"]
        new = [ids[4], ids[0], ids[1], ids[2]]
        r = c.post(f"/postings/{pid}/questions/reorder", json={"modality": "voice", "order": new})
        assert r.status_code == 200 and [q["id"] for q in r.json()["data"]] == new
        listed = c.get(f"/postings/{pid}/questions").json()["data"]
        assert [q["id"] for q in listed] == new and [q["rank"] for q in listed] == [1, 2, 3, 4]
        created = c.post(
            f"/postings/{pid}/questions",
            json={"modality": "voice", "text": "Last one?", "score_weight": 4},
        ).json()["data"]
        assert created["rank"] == 5 and created["score_weight"] == 4


def test_metadata_set_merge_and_delete(sandbox: Any) -> None:
    iid = next(iter(sandbox.world.interview_data))
    with _c(sandbox) as c:
        before = c.get(f"/interviews/{iid}/metadata").json()["data"]
        assert before["object"] == "metadata" and "external_id" in before["metadata"]
        r = c.post(f"/interviews/{iid}/metadata", json={"metadata": {"stage": "onsite"}})
        assert r.json()["data"]["metadata"] == {**before["metadata"], "stage": "onsite"}
        assert c.get(f"/interviews/{iid}/data").json()["data"]["metadata"]["stage"] == "onsite"
        assert c.delete(f"/interviews/{iid}/metadata").json()["data"]["metadata"] == {}
        assert c.get(f"/interviews/{iid}/data").json()["data"]["metadata"] == {}
        big = {f"k{i}": "v" for i in range(51)}
        r = c.post(f"/interviews/{iid}/metadata", json={"metadata": big})
        assert r.status_code == 422 and r.json()["error"]["param"] == "metadata"


def test_webhook_crud_and_url_alias(sandbox: Any) -> None:
    pid = sandbox.world.postings[0]["id"]
    with _c(sandbox) as c:
        r = c.post(
            "/webhooks",
            json={
                "posting_id": pid,
                "url": "http://127.0.0.1:1/x",
                "event_type": "interview_completed",
            },
        )
        assert r.status_code == 201
        hook = r.json()["data"]
        assert hook["webhook_url"] == "http://127.0.0.1:1/x" and hook["is_active"] is True
        assert [h["webhook_id"] for h in c.get("/webhooks").json()["data"]] == [hook["webhook_id"]]
        assert c.get(f"/webhooks/{hook['webhook_id']}").json()["data"] == hook
        gone = c.delete(f"/webhooks/{hook['webhook_id']}").json()["data"]
        assert gone["is_active"] is False
        assert c.get("/webhooks").json()["data"] == []
        r = c.post(
            "/webhooks",
            json={"posting_id": pid, "webhook_url": "http://x/y", "event_type": "candidate_hired"},
        )
        assert r.status_code == 422 and r.json()["error"]["param"] == "event_type"
        r = c.post(
            "/webhooks",
            json={
                "posting_id": "NOPE",
                "webhook_url": "http://x/y",
                "event_type": "report_available",
            },
        )
        assert r.status_code == 404


def test_ingested_candidates_are_interviewed_and_webhooks_fire(
    sandbox_factory: Any, webhook_receiver: Any
) -> None:
    sb = sandbox_factory(interview_delay=0.3)
    with _c(sb) as c:
        pid = _create(c)
        for ev in ("interview_started", "interview_completed", "report_available"):
            assert (
                c.post(
                    "/webhooks",
                    json={"posting_id": pid, "webhook_url": webhook_receiver.url, "event_type": ev},
                ).status_code
                == 201
            )
        r = c.post(
            f"/postings/{pid}/candidates", json={"name": "Jane Smith", "email": "jane@example.com"}
        )
        assert r.status_code == 201
        iid = r.json()["data"]["interview_id"]
        assert r.json()["data"]["candidate"]["status"] == "pending"
        assert c.get(f"/interviews/{iid}/data").json()["data"]["status"] == "not_ready"
        statuses = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            s = c.get(f"/postings/{pid}/candidates").json()["data"][0]["status"]
            statuses.add(s)
            if s == "completed":
                break
            time.sleep(0.05)
        assert {"in_progress", "evaluating", "completed"} <= statuses
        events = webhook_receiver.wait(3)
        assert [e["event_type"] for e in events] == [
            "interview_started",
            "interview_completed",
            "report_available",
        ]
        for e in events:
            assert set(e) == {"event_type", "posting_id", "interview_id", "timestamp", "data"}
            assert e["interview_id"] == iid and e["posting_id"] == pid
        assert events[0]["timestamp"] < events[1]["timestamp"] < events[2]["timestamp"]
        report = events[2]["data"]
        assert report["object"] == "interview_data" and report["web_interview"]["scorecard"]
        data = c.get(f"/interviews/{iid}/data").json()["data"]
        assert data["web_interview"]["video_recording_url"].endswith(".mp4")
        assert data["score"] == report["score"]
        stats = c.get(f"/postings/{pid}/stats").json()["data"]
        assert (
            stats["completed_interviews"] == 1 and stats["average_interview_score"] == data["score"]
        )


def test_bulk_ingest_and_zero_delay(sandbox: Any, webhook_receiver: Any) -> None:
    with _c(sandbox) as c:
        pid = _create(c)
        c.post(
            "/webhooks",
            json={
                "posting_id": pid,
                "webhook_url": webhook_receiver.url,
                "event_type": "report_available",
            },
        )
        people = [
            {"name": f"P {i}", "email": f"p{i}@example.com", "metadata": {"external_id": f"E{i}"}}
            for i in range(5)
        ]
        r = c.post(f"/postings/{pid}/candidates/bulk", json={"data": people})
        assert r.status_code == 201
        items = r.json()["data"]
        assert [it["metadata"]["external_id"] for it in items] == [f"E{i}" for i in range(5)]
        # delay 0: finished by the next read
        listed = c.get(f"/postings/{pid}/candidates").json()["data"]
        assert [x["status"] for x in listed] == ["completed"] * 5
        assert len(webhook_receiver.wait(5)) == 5


def test_patched_weights_apply_to_later_interviews_only(sandbox_factory: Any) -> None:
    sb = sandbox_factory(interview_delay=60)  # nothing finishes on its own
    with _c(sb) as c:
        pid = _create(c)
        qs = c.get(f"/postings/{pid}/questions").json()["data"]
        a = c.post(
            f"/postings/{pid}/candidates", json={"name": "Early Bird", "email": "early@example.com"}
        ).json()["data"]["interview_id"]
        assert sb.complete_pending() >= 1  # A plus the world's own unfinished interviews
        doc_a = c.get(f"/interviews/{a}/data").json()["data"]
        assert (
            c.patch(
                f"/postings/{pid}/questions/{qs[1]['id']}", json={"score_weight": 1}
            ).status_code
            == 200
        )
        assert (
            c.patch(
                f"/postings/{pid}/questions/{qs[4]['id']}", json={"score_weight": 8}
            ).status_code
            == 200
        )
        b = c.post(
            f"/postings/{pid}/candidates", json={"name": "Late Comer", "email": "late@example.com"}
        ).json()["data"]["interview_id"]
        assert c.get(f"/interviews/{b}/data").json()["data"]["status"] == "not_ready"
        sb.complete_pending()
        doc_b = c.get(f"/interviews/{b}/data").json()["data"]
        assert c.get(f"/interviews/{a}/data").json()["data"] == doc_a  # the past is unchanged
    wa = [x["score_weight"] for x in doc_a["web_interview"]["scorecard"]]
    wb = [x["score_weight"] for x in doc_b["web_interview"]["scorecard"]]
    assert wa == [2.0, 3.0, 2.0, 2.0, 1.5]
    assert wb == [2.0, 1, 2.0, 2.0, 8]
    for doc in (doc_a, doc_b):
        score, match = overall_score(doc["web_interview"]["scorecard"], 5)
        assert (doc["score"], doc["web_interview"]["match_score"]) == (score, match)


def test_override_score_changes_score_and_last_activity(sandbox: Any) -> None:
    iid = next(iter(sandbox.world.interview_data))
    with _c(sandbox) as c:
        before = c.get(f"/interviews/{iid}/data").json()["data"]
        sandbox.override_score(iid, 91.0)
        after = c.get(f"/interviews/{iid}/data").json()["data"]
        pid = before["posting_id"]
        listed = {
            x["interview_id"]: x
            for x in c.get(f"/postings/{pid}/candidates", params={"limit": 100}).json()["data"]
        }
    assert after["score"] == 91.0 and listed[iid]["score"] == 91.0
    assert after["workflow"]["last_activity_at"] > before["workflow"]["last_activity_at"]
    assert after["web_interview"]["match_score"] == before["web_interview"]["match_score"]
    assert sandbox.world.truth["overrides"][-1]["interview_id"] == iid


def test_complete_pending_finishes_world_unfinished(sandbox: Any) -> None:
    unfinished = [
        c["interview_id"]
        for cs in sandbox.world.candidates.values()
        for c in cs
        if c["interview_id"] not in sandbox.world.interview_data
    ]
    assert unfinished
    assert sandbox.complete_pending() == len(unfinished)
    with _c(sandbox) as c:
        for iid in unfinished:
            assert c.get(f"/interviews/{iid}/data").json()["data"]["status"] == "completed"


def test_candidate_ingested_event(sandbox: Any, webhook_receiver: Any) -> None:
    with _c(sandbox) as c:
        pid = _create(c)
        body = {
            "posting_id": pid,
            "webhook_url": webhook_receiver.url,
            "event_type": "candidate_ingested",
        }
        assert c.post("/webhooks", json=body).status_code == 201
        iid = c.post(
            f"/postings/{pid}/candidates", json={"name": "A B", "email": "ab@example.com"}
        ).json()["data"]["interview_id"]
    (event,) = webhook_receiver.wait(1)
    assert event["event_type"] == "candidate_ingested" and event["interview_id"] == iid
    assert event["data"]["status"] == "pending"
