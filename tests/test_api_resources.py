"""Resources of HeyMiloClient: request shapes, client-side validation, lazy pagination, raw
documents and tolerant models (MockTransport; the real server is in test_api_sandbox.py)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import httpx
import pytest

from milo_analytics import errors as E
from milo_analytics.api import HeyMiloClient, InvalidRequestError, MalformedResponseError
from milo_analytics.api.errors import PaginationError
from milo_analytics.api.models import (
    InterviewResult,
    Posting,
    Question,
    ScorecardItem,
    Webhook,
)

KEY = "res-test-key-13579"
BASE = "http://mock.test/api/v2"


class Recorder:
    def __init__(self, respond) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self):
        return json.loads(self.last.content)


def ok(data, status=200):
    return lambda request: httpx.Response(status, json={"data": data, "meta": None})


def client_with(rec) -> HeyMiloClient:
    return HeyMiloClient(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(rec))


def paged(items, cursor_field, page_size_seen: list[int]):
    """A list endpoint over ``items`` honouring limit/starting_after like HeyMilo."""

    def respond(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        page_size_seen.append(limit)
        after = request.url.params.get("starting_after")
        start = 0
        if after is not None:
            start = next(i for i, it in enumerate(items) if it[cursor_field] == after) + 1
        page = items[start : start + limit]
        return httpx.Response(
            200,
            json={
                "data": page,
                "pagination": {
                    "has_more": start + limit < len(items),
                    "total_count": len(items),
                    "url": None,
                },
            },
        )

    return respond


# ---------------------------------------------------------------------- pagination
@pytest.mark.parametrize(
    ("resource", "args", "cursor", "path"),
    [
        ("postings", (), "id", "/api/v2/postings"),
        ("questions", ("P1",), "id", "/api/v2/postings/P1/questions"),
        ("candidates", ("P1",), "interview_id", "/api/v2/postings/P1/candidates"),
        ("webhooks", (), "webhook_id", "/api/v2/webhooks"),
    ],
)
def test_lists_follow_the_right_cursor_lazily(resource, args, cursor, path):
    items = [
        {
            cursor: f"X{i:04d}",
            "id": f"X{i:04d}",
            "webhook_id": f"X{i:04d}",
            "interview_id": f"X{i:04d}",
            "posting_id": "P1",
        }
        for i in range(257)
    ]
    sizes: list[int] = []
    rec = Recorder(paged(items, cursor, sizes))
    client = client_with(rec)
    it = getattr(client, resource).list(*args)
    assert rec.requests == []  # lazy: nothing fetched before iteration
    first = next(it)
    assert len(rec.requests) == 1 and it.total_count == 257
    rest = list(it)
    got = [first, *rest]
    assert [getattr(x, cursor) for x in got] == [x[cursor] for x in items]
    assert sizes == [100, 100, 100]
    assert [r.url.path for r in rec.requests] == [path] * 3
    assert [r.url.params.get("starting_after") for r in rec.requests] == [None, "X0099", "X0199"]
    raw = list(getattr(client, resource).list(*args, raw=True))
    assert raw == items  # exactly as sent


def test_pages_and_custom_limit():
    items = [{"id": f"Q{i}", "posting_id": "P"} for i in range(7)]
    sizes: list[int] = []
    client = client_with(Recorder(paged(items, "id", sizes)))
    pages = list(client.questions.list("P", limit=3, raw=True).pages())
    assert [len(p) for p in pages] == [3, 3, 1]
    with pytest.raises(InvalidRequestError, match="limit"):
        client.questions.list("P", limit=500)


def test_pagination_that_does_not_advance_is_malformed():
    def respond(request):
        return httpx.Response(200, json={"data": [{"id": "A"}], "pagination": {"has_more": True}})

    client = client_with(Recorder(respond))
    with pytest.raises(PaginationError, match=r"malformed response.*cursor 'A' repeated"):
        list(client.postings.list())


def endless(total_count=None, per_page=None):
    """has_more forever, with a fresh cursor on every page."""
    counter = itertools.count()

    def respond(request: httpx.Request) -> httpx.Response:
        page = next(counter)
        n = per_page or int(request.url.params["limit"])
        pagination = {"has_more": True}
        if total_count is not None:
            pagination["total_count"] = total_count
        data = [
            {"id": f"X{page}-{i}", "interview_id": f"X{page}-{i}", "posting_id": "P"}
            for i in range(n)
        ]
        return httpx.Response(200, json={"data": data, "pagination": pagination})

    return respond


@pytest.mark.parametrize(
    ("total", "limit", "per_page", "pages"),
    [
        (250, 100, None, 3 + 2),  # ceil(250/100) + 2 slack
        (250, 10, None, 25 + 2 + 2),  # + 10 % for longer listings
        (250, 100, 50, 5 + 2),  # shorter pages than asked for: counted in pages really sent
        (0, 100, None, 1 + 2),
    ],
)
def test_listing_stops_past_what_total_count_allows(total, limit, per_page, pages):
    rec = Recorder(endless(total, per_page))
    it = client_with(rec).questions.list("P", limit=limit, raw=True)
    got = []
    with pytest.raises(PaginationError) as info:
        for item in it:
            got.append(item)
    err = info.value
    assert isinstance(err, MalformedResponseError)
    assert len(rec.requests) == pages == err.pages
    assert len(got) == pages * (per_page or limit)  # everything listed was handed on first
    assert f"total_count={total}" in str(err) and "has_more" in str(err)
    assert "GET /api/v2/postings/P/questions" in str(err)


def test_listing_without_total_count_stops_at_max_pages():
    rec = Recorder(endless())
    client = HeyMiloClient(
        api_key=KEY, base_url=BASE, transport=httpx.MockTransport(rec), max_pages=40
    )
    with pytest.raises(PaginationError, match="stopped after 40 pages") as info:
        list(client.candidates.list("P", raw=True, limit=5))
    assert len(rec.requests) == 40
    assert "raise max_pages= on HeyMiloClient (now 40)" in str(info.value)
    assert "without a total_count" in str(info.value)
    # the default cap is large but finite
    assert HeyMiloClient(api_key=KEY, base_url=BASE).candidates.list("P")._max_pages == 5_000


def test_page_larger_than_the_limit_is_malformed():
    rec = Recorder(endless(per_page=500))
    with pytest.raises(
        PaginationError, match="a page of 500 records, but pages of 100 were asked for"
    ):
        list(client_with(rec).postings.list(raw=True))
    assert len(rec.requests) == 1


def test_honest_listing_at_exactly_total_count_is_fine():
    items = [{"id": f"Q{i}", "posting_id": "P"} for i in range(300)]
    client = client_with(Recorder(paged(items, "id", [])))
    assert len(list(client.questions.list("P", raw=True))) == 300


def test_list_without_data_array_is_malformed():
    client = client_with(Recorder(lambda r: httpx.Response(200, json={"data": {"id": "A"}})))
    with pytest.raises(E.APIError, match="malformed response"):
        list(client.webhooks.list())


def test_questions_modality_filter_sent():
    sizes: list[int] = []
    rec = Recorder(paged([{"id": "Q1", "posting_id": "P"}], "id", sizes))
    client = client_with(rec)
    list(client.questions.list("P", "voice"))
    assert rec.last.url.params["modality"] == "voice"
    with pytest.raises(InvalidRequestError, match="modality must be one of"):
        client.questions.list("P", "video")


# ---------------------------------------------------------------------- candidates dates
@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 2, 15, 9, 40),
        datetime(2025, 2, 15, 9, 40, tzinfo=UTC),
        "2025-02-15T09:40:00Z",
        "2025-02-15T10:40:00+01:00",
        "2025-02-15 09:40:00",
        1739612400,
        1739612400.0,
        "1739612400",
    ],
)
def test_created_after_accepts_datetime_iso_and_epoch(value):
    sizes: list[int] = []
    rec = Recorder(paged([], "interview_id", sizes))
    list(client_with(rec).candidates.list("P1", created_after=value))
    assert rec.last.url.params["created_after"] == "1739612400"
    assert "created_before" not in rec.last.url.params


def test_created_before_date_and_bad_ranges():
    sizes: list[int] = []
    rec = Recorder(paged([], "interview_id", sizes))
    client = client_with(rec)
    list(client.candidates.list("P1", created_before=date(2025, 2, 15)))
    assert rec.last.url.params["created_before"] == str(
        int(datetime(2025, 2, 15, tzinfo=UTC).timestamp())
    )
    n = len(rec.requests)
    with pytest.raises(InvalidRequestError, match="earlier than created_after"):
        client.candidates.list("P1", created_after="2025-03-01", created_before="2025-02-01")
    with pytest.raises(InvalidRequestError, match="milliseconds"):
        client.candidates.list("P1", created_after=1739612400000)
    with pytest.raises(InvalidRequestError, match="ISO-8601"):
        client.candidates.list("P1", created_after="last tuesday")
    assert len(rec.requests) == n


# ---------------------------------------------------------------------- validation before sending
@pytest.mark.parametrize("weight", [0, 11, 1.5, -3, True, "5", [3], float("nan"), 2.5])
def test_bad_weights_rejected_before_sending(weight):
    rec = Recorder(ok({"id": "Q1"}))
    client = client_with(rec)
    with pytest.raises(InvalidRequestError, match="score_weight must be a whole number") as info:
        client.questions.update("P1", "Q1", score_weight=weight)
    assert rec.requests == []
    err = info.value
    # One except clause covers client- and server-side rejection; it is also a DataError.
    assert isinstance(err, E.ValidationError) and isinstance(err, E.DataError)
    assert isinstance(err, ValueError)
    assert err.param == "score_weight"


def test_fractional_weight_error_suggests_a_rounded_value():
    client = client_with(Recorder(ok({"id": "Q1"})))
    with pytest.raises(InvalidRequestError, match=r"got 1\.5 — round it, e\.g\. score_weight=2"):
        client.questions.update("P1", "Q1", score_weight=1.5)


def test_integral_float_weight_sent_as_integer():
    np = pytest.importorskip("numpy")
    rec = Recorder(ok({"id": "Q1", "score_weight": 7}))
    client = client_with(rec)
    client.questions.update("P1", "Q1", score_weight=7.0)
    assert rec.last_json() == {"score_weight": 7}
    client.questions.update("P1", "Q1", score_weight=np.int64(4))
    assert rec.last_json() == {"score_weight": 4}
    client.questions.create("P1", "Why us?", score_weight=np.float64(10.0))
    assert rec.last_json() == {"text": "Why us?", "score_weight": 10, "modality": "voice"}


@pytest.mark.parametrize("bad", ["", "  ", None, "a/b", "x y", "id?x=1", 3.5, True])
def test_bad_ids_rejected_before_sending(bad):
    rec = Recorder(ok({"id": "P1"}))
    client = client_with(rec)
    with pytest.raises(InvalidRequestError):
        client.postings.retrieve(bad)
    with pytest.raises(InvalidRequestError):
        client.questions.delete("P1", bad)
    with pytest.raises(InvalidRequestError):
        client.interviews.data(bad)
    assert rec.requests == []


def test_update_needs_fields_and_cannot_change_modality():
    client = client_with(Recorder(ok({"id": "Q1"})))
    with pytest.raises(InvalidRequestError, match="at least one field"):
        client.questions.update("P1", "Q1")
    with pytest.raises(InvalidRequestError, match="modality cannot be changed"):
        client.questions.update("P1", "Q1", modality="sms")
    with pytest.raises(InvalidRequestError, match=r"use client\.questions"):
        client.postings.update("P1", questions=[])


def test_reorder_request_and_checks():
    qs = [{"id": q, "posting_id": "P1", "rank": i + 1} for i, q in enumerate(["Q5", "Q1", "Q2"])]
    rec = Recorder(
        lambda r: httpx.Response(200, json={"data": qs, "pagination": {"has_more": False}})
    )
    client = client_with(rec)
    out = client.questions.reorder("P1", ["Q5", Question(id="Q1"), "Q2"])
    assert rec.last.url.path == "/api/v2/postings/P1/questions/reorder"
    assert rec.last_json() == {"modality": "voice", "order": ["Q5", "Q1", "Q2"]}
    assert [q.id for q in out] == ["Q5", "Q1", "Q2"]
    with pytest.raises(InvalidRequestError, match="more than once"):
        client.questions.reorder("P1", ["Q1", "Q1"])
    with pytest.raises(InvalidRequestError):
        client.questions.reorder("P1", [])
    with pytest.raises(InvalidRequestError):
        client.questions.reorder("P1", "Q1")


def test_ingest_validation_and_body():
    rec = Recorder(ok({"interview_id": "I1", "interview_url": "u", "posting_id": "P1"}, 201))
    client = client_with(rec)
    client.candidates.ingest(
        "P1", name="Jane Smith", email="jane@example.com", metadata={"external_id": "ats-17"}
    )
    assert rec.last_json() == {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "metadata": {"external_id": "ats-17"},
    }
    n = len(rec.requests)
    with pytest.raises(InvalidRequestError, match="email"):
        client.candidates.ingest("P1", name="Jane", email="not-an-email")
    with pytest.raises(InvalidRequestError, match="name"):
        client.candidates.ingest("P1", name="", email="a@b.c")
    with pytest.raises(InvalidRequestError, match=r"must be a string.*str\(\)"):
        client.candidates.ingest("P1", name="J", email="a@b.c", metadata={"age": 31})
    with pytest.raises(InvalidRequestError, match="40 characters"):
        client.candidates.ingest("P1", name="J", email="a@b.c", metadata={"k" * 41: "v"})
    with pytest.raises(InvalidRequestError, match="at most 50"):
        client.candidates.ingest(
            "P1", name="J", email="a@b.c", metadata={f"k{i}": "v" for i in range(51)}
        )
    assert len(rec.requests) == n


def test_ingest_bulk_body_and_checks():
    items = [
        {"interview_id": "I1", "interview_url": "u1"},
        {"interview_id": "I2", "interview_url": "u2"},
    ]
    rec = Recorder(lambda r: httpx.Response(201, json={"data": items, "meta": None}))
    client = client_with(rec)
    out = client.candidates.ingest_bulk(
        "P1",
        [
            {"name": "A", "email": "a@x.org"},
            {"name": "B", "email": "b@x.org", "phone_number": "+12065551234"},
        ],
    )
    assert [o.interview_id for o in out] == ["I1", "I2"]
    assert rec.last.url.path == "/api/v2/postings/P1/candidates/bulk"
    assert rec.last_json()["data"][1]["phone_number"] == "+12065551234"
    with pytest.raises(InvalidRequestError, match="empty"):
        client.candidates.ingest_bulk("P1", [])
    with pytest.raises(InvalidRequestError, match=r"email\[1\]"):
        client.candidates.ingest_bulk("P1", [{"name": "A", "email": "a@x.org"}, {"name": "B"}])
    with pytest.raises(InvalidRequestError, match="unknown field"):
        client.candidates.ingest_bulk("P1", [{"name": "A", "email": "a@x.org", "mail": "x"}])


def test_webhook_create_checks():
    rec = Recorder(
        ok(
            {
                "webhook_id": "W1",
                "posting_id": "P1",
                "webhook_url": "http://h/x",
                "event_type": "report_available",
                "is_active": True,
            },
            201,
        )
    )
    client = client_with(rec)
    hook = client.webhooks.create("P1", "http://h/x", "report_available")
    assert hook.webhook_id == "W1"
    assert rec.last_json() == {
        "posting_id": "P1",
        "webhook_url": "http://h/x",
        "event_type": "report_available",
    }
    with pytest.raises(InvalidRequestError, match="http"):
        client.webhooks.create("P1", "ftp://h/x", "report_available")
    with pytest.raises(InvalidRequestError, match="event_type must be one of"):
        client.webhooks.create("P1", "http://h/x", "report_ready")


# ---------------------------------------------------------------------- posting creation
GUIDE_QUESTIONS = [
    {"text": "Tell me about your customer service experience.", "score_weight": 2.0},
    {"text": "How would you de-escalate an angry customer?", "score_weight": 3.0},
    {"text": "How do you prioritise several waiting customers?", "score_weight": 2.0},
    {"text": "Explain a policy the customer does not like.", "score_weight": 2.0},
    {"text": "Why do you want this role?", "score_weight": 1.5},
]


def test_create_posting_builds_a_web_interview_step_with_weighted_questions():
    created = {
        "object": "posting",
        "id": "P9",
        "status": "active",
        "urls": {"candidate_url": "https://c"},
        "created_at": 1739612400.0,
        "posting": {
            "id": "P9",
            "title": "Customer Service Representative",
            "interviewer_name": "Sarah",
        },
    }
    rec = Recorder(ok(created, 201))
    client = client_with(rec)
    out = client.postings.create(
        "Customer Service Representative",
        interviewer_name="Sarah",
        video=True,
        interview_type="behavioral",
        questions=GUIDE_QUESTIONS,
    )
    body = rec.last_json()
    assert rec.last.method == "POST" and rec.last.url.path == "/api/v2/postings"
    assert body["title"] == "Customer Service Representative"
    assert body["interviewer_name"] == "Sarah"
    (step,) = body["workflow"]
    assert step["type"] == "web_interview"
    assert step["config"] == {"video": True, "interview_type": "behavioral"}
    assert [q["score_weight"] for q in step["questions"]] == [2.0, 3.0, 2.0, 2.0, 1.5]
    assert {q["modality"] for q in step["questions"]} == {"voice"}
    assert out.id == "P9" and out.posting.interviewer_name == "Sarah"
    assert out.created_at == datetime(2025, 2, 15, 9, 40, tzinfo=UTC)


def test_create_posting_validation():
    rec = Recorder(ok({"id": "P"}, 201))
    client = client_with(rec)
    with pytest.raises(InvalidRequestError, match="title"):
        client.postings.create("ab")
    with pytest.raises(InvalidRequestError, match="score_weight must be a number from 0 to 10"):
        client.postings.create("Valid title", questions=[{"text": "q", "score_weight": 12}])
    with pytest.raises(InvalidRequestError, match=r"questions\[0\]\.text"):
        client.postings.create("Valid title", questions=[{"score_weight": 2}])
    with pytest.raises(InvalidRequestError, match="workflow"):
        client.postings.create("Valid title", workflow=[{"type": "video_call"}])
    assert rec.requests == []


# ---------------------------------------------------------------------- tolerant models
def test_models_accept_documented_variants():
    q = Question.model_validate(
        {"id": "Q", "score_weight": 3, "updated_at": "1739612400", "future_field": {"x": 1}}
    )
    assert q.score_weight == 3 and isinstance(q.score_weight, int)
    assert q.updated_at == datetime(2025, 2, 15, 9, 40, tzinfo=UTC)
    assert q.model_extra == {"future_field": {"x": 1}}
    assert Question.model_validate({"id": "Q", "score_weight": 1.5}).score_weight == 1.5

    w_old = Webhook.model_validate({"webhook_id": "W", "url": "http://a", "created_at": 1.0})
    w_new = Webhook.model_validate({"webhook_id": "W", "webhook_url": "http://a"})
    assert w_old.webhook_url == w_new.webhook_url == "http://a"

    guide = ScorecardItem.model_validate({"question_id": "q", "evaluation_score": 4, "rank": 1})
    spec = ScorecardItem.model_validate({"question_id": "q", "score": 9, "score_weight": 8})
    assert (guide.score, spec.score) == (4, 9)

    p = Posting.model_validate({"id": "P", "workflow": None, "deadline": "2025-03-15T00:00:00Z"})
    assert p.workflow == [] and p.deadline.year == 2025


def test_interview_result_not_ready_and_nulls():
    r = InterviewResult.model_validate(
        {"interview_id": "I", "status": "not_ready", "web_interview": None}
    )
    assert not r.ready
    full = InterviewResult.model_validate(
        {
            "interview_id": "I",
            "status": "completed",
            "score": 78.5,
            "web_interview": {
                "match_score": 79,
                "highlights": None,
                "scorecard": [
                    {
                        "question_id": "q",
                        "score": 4,
                        "score_weight": 3.0,
                        "not_scored": False,
                        "transcript": [
                            {
                                "speaker": "Candidate",
                                "text": "hi",
                                "timestamp": 1.5,
                                "timestamp_str": "00:01",
                            }
                        ],
                    }
                ],
                "speech_score": 3.5,
                "video_recording_url": "https://cdn/x.mp4",
            },
        }
    )
    assert full.ready
    assert full.web_interview.highlights == []
    assert full.web_interview.scorecard[0].transcript[0].timestamp == 1.5


def test_raw_returns_the_document_unchanged():
    doc = {
        "object": "interview_data",
        "interview_id": "I",
        "status": "completed",
        "score": 78.5,
        "web_interview": {"match_score": 79},
        "unknown": [1, {"a": None}],
    }
    client = client_with(Recorder(ok(doc)))
    assert client.interviews.data("I", raw=True) == doc
    model = client.interviews.data("I")
    assert model.model_extra["unknown"] == [1, {"a": None}]


def test_metadata_endpoints():
    rec = Recorder(ok({"object": "metadata", "metadata": {"stage": "onsite"}}))
    client = client_with(rec)
    assert client.interviews.set_metadata("I1", {"stage": "onsite"}).metadata == {"stage": "onsite"}
    assert rec.last.method == "POST" and rec.last_json() == {"metadata": {"stage": "onsite"}}
    assert client.interviews.metadata("I1").metadata == {"stage": "onsite"}
    client.interviews.delete_metadata("I1")
    assert rec.last.method == "DELETE" and rec.last.url.path == "/api/v2/interviews/I1/metadata"


def test_posting_deadline_sent_as_iso_string():
    rec = Recorder(ok({"id": "P1"}))
    client = client_with(rec)
    client.postings.update("P1", deadline=datetime(2026, 1, 31, 17, 0))
    assert rec.last_json() == {"deadline": "2026-01-31T17:00:00Z"}
    client.postings.update("P1", deadline="2026-01-31T18:00:00+01:00")
    assert rec.last_json() == {"deadline": "2026-01-31T17:00:00Z"}
