"""Typed records for HeyMilo API objects (pydantic v2).

Every model keeps unknown fields (``extra="allow"``) and accepts the documented variants:
float weights such as ``3.0``/``1.5`` (guides) as well as integers 1–10 (spec); per-question
scores on 1–5 or 1–10 (never assumed); ``url`` as well as ``webhook_url`` on webhooks;
``evaluation_score`` as well as ``score`` on scorecard items; timestamps as epoch seconds
(numbers or strings) or ISO-8601 strings, all turned into timezone-aware UTC datetimes.

The loader stores raw documents instead (``raw=True`` on every resource method); these models
are for people using the client directly.

Examples
--------
>>> w = Webhook.model_validate({"webhook_id": "W1", "posting_id": "P1",
...     "url": "https://example.org/hook", "event_type": "report_available"})
>>> w.webhook_url
'https://example.org/hook'
>>> Question.model_validate({"id": "Q", "posting_id": "P", "modality": "voice",
...     "text": "Why?", "score_weight": 1.5}).score_weight
1.5
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "UNFINISHED_STATUSES",
    "BulkIngestItem",
    "Candidate",
    "CandidateWorkflow",
    "CreatedPosting",
    "IngestResult",
    "InterviewResult",
    "Metadata",
    "Posting",
    "PostingStats",
    "PostingURLs",
    "Question",
    "Record",
    "ScorecardItem",
    "TranscriptEntry",
    "WebInterviewResult",
    "Webhook",
    "WorkflowStep",
    "WorkflowStepStatus",
    "to_datetime",
]

#: Statuses of interviews without final results.
UNFINISHED_STATUSES = frozenset({"pending", "in_progress", "evaluating", "not_ready"})


def to_datetime(value: Any) -> datetime | None:
    """Epoch seconds (number or numeric string), ISO-8601 string or datetime → aware UTC.

    Naive datetimes and ISO strings without an offset are taken as UTC.

    Examples
    --------
    >>> to_datetime(1739612400.0).isoformat()
    '2025-02-15T09:40:00+00:00'
    >>> to_datetime("2025-02-15T09:40:00Z") == to_datetime(1739612400)
    True
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e11:  # epoch milliseconds
            seconds /= 1000.0
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_datetime(float(text))
        except ValueError:
            pass
        parsed = datetime.fromisoformat(text)
        return to_datetime(parsed)
    raise ValueError(f"not a timestamp: {value!r}")


_T = TypeVar("_T")


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


Timestamp = Annotated[datetime | None, BeforeValidator(to_datetime)]
#: Weights: ints 1–10 (spec), floats like 1.5 (guides), 0–5 inline at creation.
Weight = int | float | None
#: A list that the API may send as ``null`` (read as empty): ``ListOrNone[Question]``.
ListOrNone = Annotated[list[_T], BeforeValidator(_none_to_list)]
StrList = ListOrNone[str]


class Record(BaseModel):
    """Base of every HeyMilo record: unknown fields are kept, names or aliases accepted."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    object: str | None = None


class PostingURLs(Record):
    """Candidate, ingestion and review links of a posting."""

    candidate_url: str | None = None
    ingestion_url_key: str | None = None
    review_url: str | None = None


class WorkflowStep(Record):
    """One step of a posting's workflow (``web_interview``, ``resume``, ...)."""

    id: str | None = None
    type: str | None = None
    order: int | None = None
    config: dict[str, Any] | None = None


class Posting(Record):
    """A posting (HeyMilo "interviewer"/agent)."""

    id: str
    company_id: str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    finalized: bool | None = None
    archived: bool | None = None
    test_posting: bool | None = None
    name: str | None = None
    language: str | None = None
    interviewer_name: str | None = None
    workflow: ListOrNone[WorkflowStep] = Field(default_factory=list)
    urls: PostingURLs | None = None
    deadline: Timestamp = None
    metadata: dict[str, Any] | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class CreatedPosting(Record):
    """Answer to ``POST /postings``: id, status, urls and the full posting as a receipt."""

    id: str
    status: str | None = None
    urls: PostingURLs | None = None
    created_at: Timestamp = None
    posting: Posting | None = None


class PostingStats(Record):
    """Candidate counts and average scores of a posting."""

    posting_id: str
    title: str | None = None
    name: str | None = None
    total_candidates: int | None = None
    completed_interviews: int | None = None
    average_interview_score: float | None = None
    average_resume_score: float | None = None


class Question(Record):
    """A question (or criterion/tag) of a posting; ``rank`` is its 1-based order."""

    id: str
    posting_id: str | None = None
    modality: str | None = None
    text: str | None = None
    rank: int | None = None
    evaluation_criteria: str | None = None
    score_of_1: str | None = None
    score_of_5: str | None = None
    score_weight: Weight = None
    not_scored: bool | None = None
    question_type: str | None = None
    min_follow_ups: int | None = None
    max_follow_ups: int | None = None
    additional_instructions: str | None = None
    structured_config: dict[str, Any] | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class WorkflowStepStatus(Record):
    """Progress of one workflow step for one candidate."""

    step_id: str | None = None
    order: int | None = None
    status: str | None = None
    started: bool | None = None
    completed: bool | None = None
    knocked_out: bool | None = None
    last_updated_at: Timestamp = None


class CandidateWorkflow(Record):
    """A candidate's progress through a posting's workflow."""

    steps: ListOrNone[WorkflowStepStatus] = Field(default_factory=list)
    all_complete: bool | None = None
    last_activity_at: Timestamp = None


class Candidate(Record):
    """A candidate of a posting (one interview per candidate × posting)."""

    interview_id: str
    posting_id: str | None = None
    candidate_id: str | None = None
    name: str | None = None
    email: str | None = None
    status: str | None = None
    score: float | None = None
    interview_url: str | None = None
    workflow: CandidateWorkflow | None = None
    agent_summary: dict[str, Any] | None = None
    shortlisted: bool | None = None
    dismissed: bool | None = None
    metadata: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    interviewed_at: Timestamp = None
    created_at: Timestamp = None


class IngestResult(Record):
    """Answer to ingesting one candidate."""

    interview_id: str
    interview_url: str | None = None
    posting_id: str | None = None
    candidate: Candidate | None = None


class BulkIngestItem(Record):
    """One item of a bulk ingest answer (in the order sent)."""

    interview_id: str
    interview_url: str | None = None
    metadata: dict[str, Any] | None = None


class TranscriptEntry(Record):
    """One transcript turn; ``timestamp`` is seconds from the interview start."""

    speaker: str | None = None
    text: str | None = None
    timestamp: float | None = None
    timestamp_str: str | None = None


class ScorecardItem(Record):
    """One question's evaluation; ``score`` is on the question's scale (1–5 or 1–10)."""

    question_id: str | None = None
    question_text: str | None = None
    score: int | float | None = Field(
        default=None, validation_alias=AliasChoices("score", "evaluation_score")
    )
    score_weight: Weight = None
    evaluation_summary: str | None = None
    evaluation_criteria: str | None = None
    score_1_description: str | None = None
    score_5_description: str | None = None
    not_scored: bool | None = None
    rank: int | None = None
    transcript: ListOrNone[TranscriptEntry] = Field(default_factory=list)


class WebInterviewResult(Record):
    """The voice/video interview step's result: scorecard, transcript, recordings."""

    interview_id: str | None = None
    match_score: int | float | None = None
    highlights: StrList = Field(default_factory=list)
    lowlights: StrList = Field(default_factory=list)
    scorecard: ListOrNone[ScorecardItem] = Field(default_factory=list)
    speech_score: float | None = None
    transcript: ListOrNone[TranscriptEntry] = Field(default_factory=list)
    audio_recording_url: str | None = None
    video_recording_url: str | None = None
    tags: StrList = Field(default_factory=list)


class InterviewResult(Record):
    """``GET /interviews/{id}/data``: the full result of one interview.

    ``ready`` is False while the interview is unfinished (``pending``, ``in_progress``,
    ``evaluating`` or ``not_ready``).
    """

    interview_id: str
    posting_id: str | None = None
    candidate_id: str | None = None
    name: str | None = None
    email: str | None = None
    status: str | None = None
    score: float | None = None
    workflow: CandidateWorkflow | None = None
    web_interview: WebInterviewResult | None = None
    resume: dict[str, Any] | None = None
    sms: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    cheat_detection: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    data: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        """True when the interview has final results."""
        return self.status not in UNFINISHED_STATUSES


class Metadata(Record):
    """An interview's metadata map (string → string)."""

    metadata: Annotated[dict[str, Any], BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=dict
    )


class Webhook(Record):
    """A webhook registration (one per posting × event type)."""

    webhook_id: str
    posting_id: str | None = None
    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("webhook_url", "url")
    )
    event_type: str | None = None
    is_active: bool | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
