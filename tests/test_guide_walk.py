"""Walk HeyMilo's quick-start guide "Voice Agent with Video (Customer Service Rep)" end to end
with HeyMiloClient against the sandbox over real HTTP (shared/heymilo/voice-agent-video-guide.txt):

1. create the agent (a web_interview posting: Sarah, video on, 5 weighted questions);
2. manage questions (list, update criteria, change a weight, reorder, add and delete);
3. register webhooks to a local receiver; ingest one candidate and a bulk batch;
4. receive interview_started / interview_completed / report_available, then read the
   scorecard, transcript, speech score and recording URLs of every interview.
"""

from __future__ import annotations

import pytest

from milo_analytics import errors as E

# The guide's five questions; weights as printed there (de-escalation 3.0 counts twice
# motivation 1.5). Anchors paraphrase the guide's 1-and-5 descriptions.
GUIDE_QUESTIONS = [
    {
        "text": "Tell me about your experience in customer service.",
        "score_weight": 2.0,
        "evaluation_criteria": "Relevant customer-facing experience and what they learned.",
        "score_of_1": "No relevant experience or cannot give an example.",
        "score_of_5": "Several years of customer-facing work with concrete examples.",
    },
    {
        "text": "A customer is shouting about a late refund. How do you de-escalate?",
        "score_weight": 3.0,
        "evaluation_criteria": "Empathy, calm tone, ownership and a concrete resolution path.",
        "score_of_1": "Argues or deflects blame.",
        "score_of_5": "Acknowledges feelings, owns the problem, offers clear next steps.",
    },
    {
        "text": "Three customers are waiting and the phone rings. How do you prioritise?",
        "score_weight": 2.0,
        "evaluation_criteria": "Triage by urgency, communicates wait times.",
        "score_of_1": "No strategy.",
        "score_of_5": "Clear triage and keeps everyone informed.",
    },
    {
        "text": "Explain a policy to a customer who does not like it.",
        "score_weight": 2.0,
        "evaluation_criteria": "Clarity, reasons behind the policy, alternatives offered.",
        "score_of_1": "Just repeats the rule.",
        "score_of_5": "Explains why, stays friendly and offers alternatives.",
    },
    {
        "text": "Why do you want to work in customer service with us?",
        "score_weight": 1.5,
        "evaluation_criteria": "Genuine motivation and fit with the role.",
        "score_of_1": "Generic or no motivation.",
        "score_of_5": "Specific, credible motivation tied to the role.",
    },
]
EVENTS = ("interview_started", "interview_completed", "report_available")


def test_walk_the_voice_agent_video_guide(sandbox_factory, webhook_receiver):
    sb = sandbox_factory(interview_delay=0.1)
    client = sb.client()

    # ---- Step 1: create the agent ---------------------------------------------------------
    created = client.postings.create(
        "Customer Service Representative",
        description="Screen customer service candidates with a structured video interview.",
        interviewer_name="Sarah",
        video=True,
        questions=GUIDE_QUESTIONS,
    )
    pid = created.id
    assert created.status == "active"
    assert created.urls is not None and created.urls.candidate_url
    posting = client.postings.retrieve(pid)
    assert posting.interviewer_name == "Sarah"
    assert [s.type for s in posting.workflow] == ["web_interview"]
    assert posting.workflow[0].config["video"] is True

    # ---- Step 2: manage questions after creation -----------------------------------------
    questions = list(client.questions.list(pid))
    assert [q.text for q in questions] == [q["text"] for q in GUIDE_QUESTIONS]
    assert [q.rank for q in questions] == [1, 2, 3, 4, 5]
    assert [float(q.score_weight) for q in questions] == [2.0, 3.0, 2.0, 2.0, 1.5]
    experience, deescalation, prioritise, policy, motivation = (q.id for q in questions)

    # Update question 3's scoring criteria, as the guide does after early results.
    new_criteria = "Triage by urgency and impact; sets expectations with every waiting customer."
    updated = client.questions.update(pid, prioritise, evaluation_criteria=new_criteria)
    assert updated.evaluation_criteria == new_criteria
    assert client.questions.retrieve(pid, prioritise).evaluation_criteria == new_criteria

    # Change a weight through the questions API (integers 1..10 on PATCH).
    assert client.questions.update(pid, deescalation, score_weight=4).score_weight == 4

    # Reorder: the motivation question first.
    order = [motivation, experience, deescalation, prioritise, policy]
    reordered = client.questions.reorder(pid, order)
    assert [q.id for q in reordered] == order
    listed = list(client.questions.list(pid, "voice"))
    assert [q.id for q in listed] == order
    assert [q.rank for q in listed] == [1, 2, 3, 4, 5]

    # Add a question, then delete it again.
    extra = client.questions.create(pid, "Anything else we should know?", score_weight=1)
    assert extra.id in {q.id for q in client.questions.list(pid)}
    client.questions.delete(pid, extra.id)
    assert [q.id for q in client.questions.list(pid)] == order

    # ---- Webhooks to a local receiver ----------------------------------------------------
    hooks = [client.webhooks.create(pid, webhook_receiver.url, ev) for ev in EVENTS]
    assert {h.event_type for h in hooks} == set(EVENTS)
    assert all(h.is_active and h.webhook_url == webhook_receiver.url for h in hooks)
    listed_hooks = {h.webhook_id for h in client.webhooks.list() if h.posting_id == pid}
    assert listed_hooks == {h.webhook_id for h in hooks}
    assert client.webhooks.retrieve(hooks[0].webhook_id).event_type == hooks[0].event_type

    # ---- Step 3: ingest candidates --------------------------------------------------------
    one = client.candidates.ingest(
        pid,
        name="Jane Smith",
        email="jane.smith@example.com",
        phone_number="+12065551234",
        metadata={"external_id": "ats-1001"},
    )
    assert one.interview_id and one.interview_url
    batch = [
        {
            "name": "Alex Kim",
            "email": "alex.kim@example.com",
            "metadata": {"external_id": "ats-1002"},
        },
        {
            "name": "Maria Lopez",
            "email": "maria.lopez@example.com",
            "metadata": {"external_id": "ats-1003"},
        },
        {
            "name": "Sam Okafor",
            "email": "sam.okafor@example.com",
            "metadata": {"external_id": "ats-1004"},
        },
    ]
    bulk = client.candidates.ingest_bulk(pid, batch)
    assert len(bulk) == 3 and all(b.interview_id and b.interview_url for b in bulk)
    interview_ids = [one.interview_id, *(b.interview_id for b in bulk)]
    assert len(set(interview_ids)) == 4

    # ---- The interviews happen; webhooks arrive ------------------------------------------
    events = webhook_receiver.wait(12, timeout=20)
    assert len(events) == 12, f"got {len(events)} webhook events: {events}"
    for iid in interview_ids:
        mine = [e["event_type"] for e in events if e.get("interview_id") == iid]
        assert mine == list(EVENTS), f"{iid}: {mine}"
    assert {e["posting_id"] for e in events} == {pid}

    # ---- Step 4: see results ----------------------------------------------------------------
    candidates = {c.interview_id: c for c in client.candidates.list(pid)}
    assert set(candidates) == set(interview_ids)
    assert candidates[one.interview_id].name == "Jane Smith"
    weights_now = {q.id: float(q.score_weight) for q in client.questions.list(pid)}
    for iid in interview_ids:
        result = client.interviews.data(iid)
        assert result.ready and result.status == "completed"
        web = result.web_interview
        # Scorecard: one item per question, 1–5 scale (guide), weights in force when scored.
        assert {item.question_id for item in web.scorecard} == set(order)
        assert all(1 <= item.score <= 5 for item in web.scorecard)
        assert all(item.evaluation_summary for item in web.scorecard)
        assert {i.question_id: float(i.score_weight) for i in web.scorecard} == weights_now
        # Overall score: proportional weighted average (shared/heymilo/API-NOTES.md §6 formula A).
        num = sum(i.score_weight * i.score for i in web.scorecard if not i.not_scored)
        den = sum(i.score_weight * 5 for i in web.scorecard if not i.not_scored)
        assert result.score == pytest.approx(100 * num / den, abs=0.051)
        assert web.match_score == round(result.score)
        assert candidates[iid].score == pytest.approx(result.score)
        assert 0 <= web.speech_score <= 5
        assert web.highlights or web.lowlights
        # Transcript with timestamps, and the recordings (video on).
        assert len(web.transcript) >= 5
        stamps = [t.timestamp for t in web.transcript]
        assert stamps == sorted(stamps)
        assert {t.speaker for t in web.transcript} <= {"Interviewer", "Candidate", "System"}
        assert web.video_recording_url.startswith("https://")
        assert web.audio_recording_url

    # Interview metadata: set, read, delete.
    iid = one.interview_id
    client.interviews.set_metadata(iid, {"external_id": "ats-1001", "stage": "onsite"})
    assert client.interviews.metadata(iid).metadata["stage"] == "onsite"
    client.interviews.delete_metadata(iid)
    assert client.interviews.metadata(iid).metadata == {}

    stats = client.postings.stats(pid)
    assert stats.total_candidates == 4 and stats.completed_interviews == 4

    # Clean up one webhook: it leaves the listing.
    client.webhooks.delete(hooks[0].webhook_id)
    assert hooks[0].webhook_id not in {h.webhook_id for h in client.webhooks.list()}

    # A question id that was deleted cannot be updated any more.
    with pytest.raises(E.NotFoundError):
        client.questions.update(pid, extra.id, score_weight=2)
