"""The API resources of HeyMiloClient: postings, questions, candidates, interviews, webhooks.

Same verbs everywhere: ``list`` (a lazy iterator over every page), ``retrieve``, ``create``,
``update``, ``delete``. Every method takes ``raw=True`` to get the ``data`` object(s) exactly
as the server sent them (dicts) instead of pydantic models. Obviously bad input (an empty id,
a weight that is not a whole number 1–10, an over-long metadata key) raises
:class:`~milo_analytics.api.errors.InvalidRequestError` before anything is sent.

Examples
--------
>>> import httpx
>>> from milo_analytics.api import HeyMiloClient
>>> def handler(request):
...     return httpx.Response(200, json={"data": [{"id": "Q1", "posting_id": "P",
...         "modality": "voice", "text": "Why us?", "rank": 1, "score_weight": 3}],
...         "pagination": {"has_more": False}})
>>> client = HeyMiloClient(api_key="k-123456", transport=httpx.MockTransport(handler))
>>> [q.text for q in client.questions.list("P")]
['Why us?']
>>> client.questions.update("P", "Q1", score_weight=1.5)
Traceback (most recent call last):
...
milo_analytics.api.errors.InvalidRequestError: score_weight must be a whole number from 1 to 10 (the questions API accepts integers); got 1.5 — round it, e.g. score_weight=2
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import pydantic

from .errors import InvalidRequestError, MalformedResponseError
from .models import (
    BulkIngestItem,
    Candidate,
    CreatedPosting,
    IngestResult,
    InterviewResult,
    Metadata,
    Posting,
    PostingStats,
    Question,
    Webhook,
)
from .pagination import MAX_PAGE_SIZE, CursorIterator

if TYPE_CHECKING:
    from .client import HeyMiloClient

__all__ = [
    "EVENT_TYPES",
    "MODALITIES",
    "Candidates",
    "Interviews",
    "Postings",
    "Questions",
    "Webhooks",
    "check_metadata",
    "check_weight",
    "to_epoch",
]

#: Question modalities of the questions API.
MODALITIES = ("voice", "sms", "form", "resume_eligibility", "resume_scoring", "voice_tags")
#: Documented webhook events (the spec also mentions ``candidate_ingested``).
EVENT_TYPES = ("interview_started", "interview_completed", "report_available", "candidate_ingested")
_STEP_TYPES = ("web_interview", "conversational_sms", "resume", "form")

M = TypeVar("M", bound=pydantic.BaseModel)


# ---------------------------------------------------------------------- validation helpers
def _path_id(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequestError(
            f"{name} must be a non-empty string; got {type(value).__name__} {value!r}", param=name
        )
    text = str(value).strip()
    if not text:
        raise InvalidRequestError(f"{name} must be a non-empty string; got {value!r}", param=name)
    if "/" in text or "?" in text or "#" in text or any(c.isspace() for c in text):
        raise InvalidRequestError(
            f"{name} {text!r} is not a HeyMilo id (it contains '/', '?', '#' or spaces)",
            param=name,
        )
    return quote(text, safe="")


def check_weight(value: Any, *, param: str = "score_weight", low: int = 1, high: int = 10) -> int:
    """Validate a question weight for the questions API: a whole number ``low..high``.

    Integral floats (``3.0``) are accepted and sent as integers.

    Examples
    --------
    >>> check_weight(3.0)
    3
    >>> check_weight(0)
    Traceback (most recent call last):
    ...
    milo_analytics.api.errors.InvalidRequestError: score_weight must be a whole number from 1 to 10; got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidRequestError(
            f"{param} must be a whole number from {low} to {high}; got "
            f"{type(value).__name__} {value!r}",
            param=param,
        )
    if isinstance(value, numbers.Integral):
        number = int(value)
    else:
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            suggestion = (
                f" — round it, e.g. {param}={max(low, min(high, round(f)))}"
                if math.isfinite(f)
                else ""
            )
            raise InvalidRequestError(
                f"{param} must be a whole number from {low} to {high} (the questions API accepts "
                f"integers); got {value!r}{suggestion}",
                param=param,
            )
        number = int(f)
    if not low <= number <= high:
        raise InvalidRequestError(
            f"{param} must be a whole number from {low} to {high}; got {value!r}", param=param
        )
    return number


def _check_inline_weight(value: Any, where: str) -> Any:
    """Inline weights at posting creation: any number 0–10 (guides use 3.0 and 1.5)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise InvalidRequestError(
            f"{where}.score_weight must be a number from 0 to 10; got {value!r}",
            param="score_weight",
        )
    if not 0 <= float(value) <= 10:
        raise InvalidRequestError(
            f"{where}.score_weight must be a number from 0 to 10; got {value!r}",
            param="score_weight",
        )
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def check_metadata(metadata: Any, *, param: str = "metadata") -> dict[str, str] | None:
    """Validate a HeyMilo metadata map: ≤ 50 string keys of ≤ 40 chars, string values ≤ 500.

    Examples
    --------
    >>> check_metadata({"external_id": "A-17"})
    {'external_id': 'A-17'}
    """
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            f"{param} must be a dict of strings; got {type(metadata).__name__}", param=param
        )
    if len(metadata) > 50:
        raise InvalidRequestError(
            f"{param} has {len(metadata)} keys; HeyMilo allows at most 50", param=param
        )
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > 40:
            raise InvalidRequestError(
                f"{param} key {key!r} must be a non-empty string of at most 40 characters",
                param=f"{param}.{key}",
            )
        if not isinstance(value, str):
            raise InvalidRequestError(
                f"{param}[{key!r}] must be a string (HeyMilo metadata values are strings); "
                f"got {type(value).__name__} {value!r} — convert it with str()",
                param=f"{param}.{key}",
            )
        if len(value) > 500:
            raise InvalidRequestError(
                f"{param}[{key!r}] is {len(value)} characters; HeyMilo allows at most 500",
                param=f"{param}.{key}",
            )
        out[key] = value
    return out


def to_epoch(value: Any, *, param: str) -> float | None:
    """Datetime, date, ISO-8601 string or epoch seconds → epoch seconds (naive = UTC).

    Examples
    --------
    >>> to_epoch("2025-02-15T09:40:00Z", param="created_after")
    1739612400.0
    >>> to_epoch(datetime(2025, 2, 15, 9, 40), param="created_after")
    1739612400.0
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(f"{param} must be a date or time; got {value!r}", param=param)
    if isinstance(value, datetime):
        if value != value:  # pandas NaT
            return None
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return aware.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, numbers.Real):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidRequestError(
                f"{param} must be epoch seconds >= 0; got {value!r}", param=param
            )
        if seconds > 1e11:
            raise InvalidRequestError(
                f"{param}={value!r} looks like epoch milliseconds; pass seconds "
                f"(e.g. {seconds / 1000:.0f}) or a datetime",
                param=param,
            )
        return seconds
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_epoch(float(text), param=param)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidRequestError(
                f"{param}={value!r} is neither ISO-8601 (e.g. '2025-02-15T09:40:00Z') nor "
                "epoch seconds",
                param=param,
            ) from None
        return to_epoch(parsed, param=param)
    raise InvalidRequestError(
        f"{param} must be a datetime, date, ISO-8601 string or epoch seconds; got "
        f"{type(value).__name__}",
        param=param,
    )


def _iso_deadline(value: Any) -> str | None:
    """Posting deadlines are ISO-8601 strings in requests; accept datetimes, dates, epochs."""
    if value is None:
        return None
    seconds = to_epoch(value, param="deadline")
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


def _check_text(value: Any, param: str, *, low: int = 1, high: int | None = None) -> str:
    if not isinstance(value, str) or len(value.strip()) < low:
        what = "a non-empty string" if low <= 1 else f"a string of at least {low} characters"
        raise InvalidRequestError(f"{param} must be {what}; got {value!r}", param=param)
    if high is not None and len(value) > high:
        raise InvalidRequestError(
            f"{param} is {len(value)} characters; at most {high} allowed", param=param
        )
    return value


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequestError(
            f"limit is the page size, an integer from 1 to {MAX_PAGE_SIZE}; got {limit!r} "
            "(iteration always continues through every page)",
            param="limit",
        )
    return limit


def _check_modality(modality: Any, param: str = "modality") -> str:
    if modality not in MODALITIES:
        raise InvalidRequestError(
            f"{param} must be one of {', '.join(MODALITIES)}; got {modality!r}", param=param
        )
    return modality


def _check_question_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if out.get("score_weight") is not None:
        out["score_weight"] = check_weight(out["score_weight"])
    for name in ("min_follow_ups", "max_follow_ups"):
        value = out.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidRequestError(f"{name} must be an integer >= 0; got {value!r}", param=name)
    if "text" in out and out["text"] is not None:
        _check_text(out["text"], "text")
    return out


def _check_candidate(item: Any, where: str = "") -> dict[str, Any]:
    if isinstance(item, pydantic.BaseModel):
        item = item.model_dump(exclude_none=True)
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            f"candidate{where} must be a dict with name and email; got {type(item).__name__}",
            param="candidates",
        )
    unknown = set(item) - {"name", "email", "phone_number", "metadata", "data"}
    if unknown:
        raise InvalidRequestError(
            f"candidate{where} has unknown field(s) {sorted(unknown)}; allowed: name, email, "
            "phone_number, metadata, data",
            param=sorted(unknown)[0],
        )
    name = _check_text(item.get("name"), f"name{where}")
    email = _check_text(item.get("email"), f"email{where}")
    if "@" not in email or email.strip() != email or " " in email:
        raise InvalidRequestError(f"email{where} {email!r} is not an email address", param="email")
    body: dict[str, Any] = {"name": name, "email": email}
    phone = item.get("phone_number")
    if phone is not None:
        body["phone_number"] = _check_text(phone, f"phone_number{where}")
    metadata = check_metadata(item.get("metadata"), param=f"metadata{where}")
    if metadata is not None:
        body["metadata"] = metadata
    data = item.get("data")
    if data is not None:
        if not isinstance(data, Mapping):
            raise InvalidRequestError(
                f"data{where} must be a dict; got {type(data).__name__}", param="data"
            )
        body["data"] = dict(data)
    return body


# ---------------------------------------------------------------------- base
class _Resource:
    def __init__(self, client: HeyMiloClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client.base_url}>"

    def _parse(self, cls: type[M], data: Any, method: str, path: str) -> M:
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise MalformedResponseError(
                f"malformed response: the {cls.__name__} document does not parse ({problems})",
                method=method,
                path=self._client._full_path(path),
                hint="use raw=True to get the document as sent",
            ) from None

    def _one(
        self,
        method: str,
        path: str,
        cls: type[M],
        raw: bool,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        body = self._client.request(method, path, params=params, json=json)
        data = body["data"]
        if raw:
            return data
        return self._parse(cls, data, method, path)

    def _many(
        self, method: str, path: str, cls: type[M], raw: bool, *, json: Any = None
    ) -> list[Any]:
        body = self._client.request(method, path, json=json)
        data = body["data"]
        if not isinstance(data, list):
            raise MalformedResponseError(
                "malformed response: expected a 'data' array",
                method=method,
                path=self._client._full_path(path),
            )
        if raw:
            return data
        return [self._parse(cls, item, method, path) for item in data]

    def _list(
        self,
        path: str,
        cls: type[M],
        raw: bool,
        *,
        cursor_field: str,
        params: dict[str, Any],
    ) -> CursorIterator[Any]:
        client = self._client

        def fetch(extra: dict[str, Any]) -> Any:
            return client.request("GET", path, params={**params, **extra})

        parse = None if raw else (lambda item: self._parse(cls, item, "GET", path))
        return CursorIterator(
            fetch,
            cursor_field=cursor_field,
            parse=parse,
            method="GET",
            path=client._full_path(path),
            page_size=params.get("limit"),
            max_pages=client.max_pages,
        )


# ---------------------------------------------------------------------- postings
class Postings(_Resource):
    """Postings (HeyMilo "interviewers"): ``client.postings``."""

    def list(
        self, *, search: str | None = None, limit: int = MAX_PAGE_SIZE, raw: bool = False
    ) -> CursorIterator[Posting]:
        """Iterate over every posting (lazily, page by page).

        Parameters
        ----------
        search
            Case-insensitive substring of the title.
        limit
            Page size (1–100).
        raw
            Yield the documents as sent (dicts).

        Examples
        --------
        >>> for posting in client.postings.list():  # doctest: +SKIP
        ...     print(posting.id, posting.title)
        """
        params = {"limit": _check_limit(limit), "search": search}
        return self._list("postings", Posting, raw, cursor_field="id", params=params)

    def retrieve(self, posting_id: str, *, raw: bool = False) -> Posting:
        """Get one posting.

        Examples
        --------
        >>> client.postings.retrieve("13D77095").interviewer_name  # doctest: +SKIP
        'Sarah'
        """
        return self._one("GET", f"postings/{_path_id(posting_id, 'posting_id')}", Posting, raw)

    def create(
        self,
        title: str | None = None,
        *,
        workflow: Sequence[Mapping[str, Any]] | None = None,
        questions: Sequence[Mapping[str, Any]] | None = None,
        video: bool | None = None,
        interview_type: str | None = None,
        raw: bool = False,
        **fields: Any,
    ) -> CreatedPosting:
        """Create a posting, e.g. the guide's video interview with inline weighted questions.

        Either pass ``workflow`` as the API takes it, or ``questions`` (and ``video``,
        ``interview_type``) to get a single ``web_interview`` step. Inline questions default
        to ``modality="voice"``; their ``score_weight`` may be a float such as 3.0 or 1.5, as
        in HeyMilo's guide.

        Parameters
        ----------
        title
            3–200 characters.
        workflow
            Workflow steps (``{"type": "web_interview", "config": {...}, "questions": [...]}``).
        questions
            Inline questions for a single web_interview step (ignored if ``workflow`` is given).
        video
            Turn on the candidate's webcam (``config.video``).
        interview_type
            ``general``, ``technical``, ``cultural`` or ``behavioral``.
        **fields
            Any other ``CreatePostingRequest`` field: ``description``, ``interviewer_name``,
            ``language``, ``metadata``, ``deadline``, ...

        Returns
        -------
        CreatedPosting
            ``id``, ``status``, ``urls`` and ``posting`` (the full posting).

        Examples
        --------
        >>> created = client.postings.create(  # doctest: +SKIP
        ...     "Customer Service Representative", interviewer_name="Sarah", video=True,
        ...     questions=[{"text": "How would you calm down an angry customer?",
        ...                 "score_weight": 3.0, "score_of_1": "...", "score_of_5": "..."}])
        """
        body: dict[str, Any] = dict(fields)
        if title is not None:
            body["title"] = title
        if "title" not in body and "interview_template_id" not in body:
            raise InvalidRequestError("title is required (3–200 characters)", param="title")
        if "title" in body:
            _check_text(body["title"], "title", low=3, high=200)
        if "metadata" in body:
            body["metadata"] = check_metadata(body["metadata"])
        if "deadline" in body:
            body["deadline"] = _iso_deadline(body["deadline"])
        if workflow is None and body.get("interview_template_id") is None:
            config: dict[str, Any] = {}
            if video is not None:
                config["video"] = bool(video)
            if interview_type is not None:
                config["interview_type"] = interview_type
            step: dict[str, Any] = {"type": "web_interview"}
            if config:
                step["config"] = config
            if questions is not None:
                step["questions"] = list(questions)
            workflow = [step]
        elif workflow is not None and (
            questions is not None or video is not None or interview_type is not None
        ):
            raise InvalidRequestError(
                "pass either workflow= or questions=/video=/interview_type=, not both",
                param="workflow",
            )
        if workflow is not None:
            body["workflow"] = self._check_workflow(workflow)
        return self._one("POST", "postings", CreatedPosting, raw, json=body)

    @staticmethod
    def _check_workflow(workflow: Any) -> list[dict[str, Any]]:
        if isinstance(workflow, Mapping) or not isinstance(workflow, Sequence) or not workflow:
            raise InvalidRequestError(
                "workflow must be a non-empty list of steps, e.g. "
                "[{'type': 'web_interview', 'questions': [...]}]",
                param="workflow",
            )
        steps = []
        for i, step in enumerate(workflow):
            if not isinstance(step, Mapping) or step.get("type") not in _STEP_TYPES:
                got = step.get("type") if isinstance(step, Mapping) else step
                raise InvalidRequestError(
                    f"workflow[{i}].type must be one of {', '.join(_STEP_TYPES)}; got {got!r}",
                    param="workflow",
                )
            out = dict(step)
            if out.get("questions") is not None:
                qs = []
                for j, q in enumerate(out["questions"]):
                    where = f"workflow[{i}].questions[{j}]"
                    if isinstance(q, pydantic.BaseModel):
                        q = q.model_dump(exclude_none=True)
                    if not isinstance(q, Mapping):
                        raise InvalidRequestError(
                            f"{where} must be a dict with at least 'text'", param="questions"
                        )
                    qd = dict(q)
                    _check_text(qd.get("text"), f"{where}.text")
                    qd.setdefault("modality", "voice" if step["type"] == "web_interview" else None)
                    if qd["modality"] is None:
                        raise InvalidRequestError(f"{where}.modality is required", param="modality")
                    _check_modality(qd["modality"], f"{where}.modality")
                    if "score_weight" in qd:
                        qd["score_weight"] = _check_inline_weight(qd["score_weight"], where)
                    qs.append(qd)
                out["questions"] = qs
            steps.append(out)
        return steps

    def update(self, posting_id: str, *, raw: bool = False, **fields: Any) -> Posting:
        """Change posting fields (only those passed; ``metadata`` replaces the old map).

        Examples
        --------
        >>> client.postings.update("13D77095", interviewer_name="Sam")  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        if not fields:
            raise InvalidRequestError("update() needs at least one field to change", param=None)
        for name in ("workflow", "questions"):
            if name in fields:
                raise InvalidRequestError(
                    f"{name} cannot be changed with postings.update(); use client.questions "
                    "(create/update/delete/reorder) instead",
                    param=name,
                )
        if "title" in fields:
            _check_text(fields["title"], "title", low=3, high=200)
        if "metadata" in fields:
            fields["metadata"] = check_metadata(fields["metadata"])
        if "deadline" in fields:
            fields["deadline"] = _iso_deadline(fields["deadline"])
        return self._one("PATCH", f"postings/{pid}", Posting, raw, json=fields)

    def stats(self, posting_id: str, *, raw: bool = False) -> PostingStats:
        """Candidate counts and average scores of a posting.

        Examples
        --------
        >>> client.postings.stats("13D77095").completed_interviews  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        return self._one("GET", f"postings/{pid}/stats", PostingStats, raw)


# ---------------------------------------------------------------------- questions
class Questions(_Resource):
    """Questions of a posting: ``client.questions``."""

    def list(
        self,
        posting_id: str,
        modality: str | None = None,
        *,
        limit: int = MAX_PAGE_SIZE,
        raw: bool = False,
    ) -> CursorIterator[Question]:
        """Iterate over every question of a posting (all pages), optionally one modality.

        Examples
        --------
        >>> [q.text for q in client.questions.list("13D77095", "voice")]  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        if modality is not None:
            _check_modality(modality)
        params = {"limit": _check_limit(limit), "modality": modality}
        return self._list(
            f"postings/{pid}/questions", Question, raw, cursor_field="id", params=params
        )

    def retrieve(self, posting_id: str, question_id: str, *, raw: bool = False) -> Question:
        """Get one question.

        Examples
        --------
        >>> client.questions.retrieve("13D77095", "A1B2C3D4").score_weight  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        qid = _path_id(question_id, "question_id")
        return self._one("GET", f"postings/{pid}/questions/{qid}", Question, raw)

    def create(
        self,
        posting_id: str,
        text: str | None = None,
        *,
        modality: str = "voice",
        raw: bool = False,
        **fields: Any,
    ) -> Question:
        """Add a question (``score_weight`` a whole number 1–10).

        Examples
        --------
        >>> client.questions.create("13D77095", "Tell me about a time ...",  # doctest: +SKIP
        ...                         score_weight=4, evaluation_criteria="...")
        """
        pid = _path_id(posting_id, "posting_id")
        body = _check_question_fields(
            {**fields, "text": text if text is not None else fields.get("text")}
        )
        _check_text(body.get("text"), "text")
        body["modality"] = _check_modality(modality)
        return self._one("POST", f"postings/{pid}/questions", Question, raw, json=body)

    def update(
        self, posting_id: str, question_id: str, *, raw: bool = False, **fields: Any
    ) -> Question:
        """Change question fields, e.g. its weight: ``update(pid, qid, score_weight=7)``.

        Only the fields passed change. ``score_weight`` must be a whole number 1–10.

        Examples
        --------
        >>> client.questions.update("13D77095", "A1B2C3D4", score_weight=7)  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        qid = _path_id(question_id, "question_id")
        if not fields:
            raise InvalidRequestError(
                "update() needs at least one field to change, e.g. score_weight=5", param=None
            )
        if "modality" in fields:
            raise InvalidRequestError(
                "a question's modality cannot be changed; delete it and create a new one",
                param="modality",
            )
        body = _check_question_fields(fields)
        return self._one("PATCH", f"postings/{pid}/questions/{qid}", Question, raw, json=body)

    def delete(self, posting_id: str, question_id: str, *, raw: bool = False) -> Question:
        """Delete a question (soft delete: it leaves the listings; past scores stay).

        Examples
        --------
        >>> client.questions.delete("13D77095", "A1B2C3D4")  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        qid = _path_id(question_id, "question_id")
        return self._one("DELETE", f"postings/{pid}/questions/{qid}", Question, raw)

    def reorder(
        self,
        posting_id: str,
        order: Sequence[str | Question],
        modality: str = "voice",
        *,
        raw: bool = False,
    ) -> list[Question]:
        """Set the question order of one modality (``order`` lists every active question id).

        Returns the questions in their new order.

        Examples
        --------
        >>> client.questions.reorder("13D77095", ["Q5", "Q1", "Q2", "Q3", "Q4"])  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        if isinstance(order, str) or not isinstance(order, Sequence | Iterable):
            raise InvalidRequestError("order must be a list of question ids", param="order")
        ids = [q.id if isinstance(q, Question) else q for q in order]
        if not ids:
            raise InvalidRequestError("order must list every question id; got []", param="order")
        for q in ids:
            _path_id(q, "order[]")
        dupes = sorted({q for q in ids if ids.count(q) > 1})
        if dupes:
            raise InvalidRequestError(f"order lists {dupes} more than once", param="order")
        body = {"modality": _check_modality(modality), "order": [str(q) for q in ids]}
        return self._many("POST", f"postings/{pid}/questions/reorder", Question, raw, json=body)


# ---------------------------------------------------------------------- candidates
class Candidates(_Resource):
    """Candidates of a posting: ``client.candidates``."""

    def list(
        self,
        posting_id: str,
        created_after: Any = None,
        created_before: Any = None,
        *,
        limit: int = MAX_PAGE_SIZE,
        raw: bool = False,
    ) -> CursorIterator[Candidate]:
        """Iterate over the candidates of a posting (cursor: the last ``interview_id``).

        Parameters
        ----------
        created_after, created_before
            Inclusive bounds on the invitation time: datetime (naive = UTC), date, ISO-8601
            string or epoch seconds.

        Examples
        --------
        >>> recent = client.candidates.list("13D77095", created_after="2025-01-01")  # doctest: +SKIP
        """
        pid = _path_id(posting_id, "posting_id")
        after = to_epoch(created_after, param="created_after")
        before = to_epoch(created_before, param="created_before")
        if after is not None and before is not None and before < after:
            raise InvalidRequestError(
                f"created_before ({created_before!r}) is earlier than created_after "
                f"({created_after!r}); swap them",
                param="created_before",
            )
        params = {
            "limit": _check_limit(limit),
            "created_after": _fmt_epoch(after),
            "created_before": _fmt_epoch(before),
        }
        return self._list(
            f"postings/{pid}/candidates", Candidate, raw, cursor_field="interview_id", params=params
        )

    def ingest(
        self,
        posting_id: str,
        *,
        name: str,
        email: str,
        phone_number: str | None = None,
        metadata: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> IngestResult:
        """Invite one candidate; the answer carries ``interview_id`` and ``interview_url``.

        Not retried on broken connections (no idempotency keys at HeyMilo): on
        ``APIConnectionError`` check the candidate list before sending again.

        Examples
        --------
        >>> client.candidates.ingest("13D77095", name="Jane Smith",  # doctest: +SKIP
        ...                          email="jane@example.com")
        """
        pid = _path_id(posting_id, "posting_id")
        body = _check_candidate(
            {
                k: v
                for k, v in {
                    "name": name,
                    "email": email,
                    "phone_number": phone_number,
                    "metadata": metadata,
                    "data": data,
                }.items()
                if v is not None or k in ("name", "email")
            }
        )
        return self._one("POST", f"postings/{pid}/candidates", IngestResult, raw, json=body)

    def ingest_bulk(
        self,
        posting_id: str,
        candidates: Iterable[Mapping[str, Any]],
        *,
        raw: bool = False,
    ) -> list[BulkIngestItem]:
        """Invite many candidates in one request; items come back in the order sent.

        Examples
        --------
        >>> client.candidates.ingest_bulk("13D77095", [  # doctest: +SKIP
        ...     {"name": "A", "email": "a@example.com", "metadata": {"external_id": "ats-1"}}])
        """
        pid = _path_id(posting_id, "posting_id")
        if isinstance(candidates, Mapping | str):
            raise InvalidRequestError(
                "candidates must be a list of dicts with name and email", param="candidates"
            )
        items = [_check_candidate(c, f"[{i}]") for i, c in enumerate(candidates)]
        if not items:
            raise InvalidRequestError("candidates is empty; pass at least one", param="candidates")
        return self._many(
            "POST", f"postings/{pid}/candidates/bulk", BulkIngestItem, raw, json={"data": items}
        )


def _fmt_epoch(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---------------------------------------------------------------------- interviews
class Interviews(_Resource):
    """Interview results and metadata: ``client.interviews``."""

    def data(self, interview_id: str, *, raw: bool = False) -> InterviewResult:
        """The full result: score, scorecard, transcript, speech score, recording URLs.

        Unfinished interviews answer with ``status`` ``not_ready`` or an in-progress status
        (``InterviewResult.ready`` is False); that is not an error.

        Examples
        --------
        >>> result = client.interviews.data("D536A69A4090E13F")  # doctest: +SKIP
        >>> result.web_interview.scorecard[0].score  # doctest: +SKIP
        """
        iid = _path_id(interview_id, "interview_id")
        return self._one("GET", f"interviews/{iid}/data", InterviewResult, raw)

    def metadata(self, interview_id: str, *, raw: bool = False) -> Metadata:
        """An interview's metadata map (``.metadata``).

        Examples
        --------
        >>> client.interviews.metadata("D536A69A4090E13F").metadata  # doctest: +SKIP
        {'external_id': 'ats-17'}
        """
        iid = _path_id(interview_id, "interview_id")
        return self._one("GET", f"interviews/{iid}/metadata", Metadata, raw)

    def set_metadata(
        self, interview_id: str, metadata: Mapping[str, str], *, raw: bool = False
    ) -> Metadata:
        """Set or update metadata (≤ 50 string keys of ≤ 40 chars, values ≤ 500 chars).

        Examples
        --------
        >>> client.interviews.set_metadata("D536A69A4090E13F", {"stage": "onsite"})  # doctest: +SKIP
        """
        iid = _path_id(interview_id, "interview_id")
        if metadata is None:
            raise InvalidRequestError("metadata is required (a dict of strings)", param="metadata")
        body = {"metadata": check_metadata(metadata)}
        return self._one("POST", f"interviews/{iid}/metadata", Metadata, raw, json=body)

    def delete_metadata(self, interview_id: str, *, raw: bool = False) -> Metadata | None:
        """Remove all metadata of an interview.

        Examples
        --------
        >>> client.interviews.delete_metadata("D536A69A4090E13F")  # doctest: +SKIP
        """
        iid = _path_id(interview_id, "interview_id")
        body = self._client.request("DELETE", f"interviews/{iid}/metadata")
        data = body.get("data")
        if raw or data is None:
            return data
        return self._parse(Metadata, data, "DELETE", f"interviews/{iid}/metadata")


# ---------------------------------------------------------------------- webhooks
class Webhooks(_Resource):
    """Webhook registrations: ``client.webhooks``."""

    def create(
        self, posting_id: str, webhook_url: str, event_type: str, *, raw: bool = False
    ) -> Webhook:
        """Register ``webhook_url`` for one event of one posting.

        Events: ``interview_started``, ``interview_completed``, ``report_available``.

        Examples
        --------
        >>> client.webhooks.create("13D77095", "https://example.org/hooks/t0k3n",  # doctest: +SKIP
        ...                        "report_available")
        """
        _path_id(posting_id, "posting_id")
        url = _check_text(webhook_url, "webhook_url")
        if not url.startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"webhook_url must be an http(s) URL; got {url!r}", param="webhook_url"
            )
        event = _check_text(event_type, "event_type")
        if event not in EVENT_TYPES:
            raise InvalidRequestError(
                f"event_type must be one of {', '.join(EVENT_TYPES)}; got {event!r}",
                param="event_type",
            )
        body = {"posting_id": str(posting_id).strip(), "webhook_url": url, "event_type": event}
        return self._one("POST", "webhooks", Webhook, raw, json=body)

    def list(self, *, limit: int = MAX_PAGE_SIZE, raw: bool = False) -> CursorIterator[Webhook]:
        """Iterate over the active webhooks (cursor: ``webhook_id``).

        Examples
        --------
        >>> [w.event_type for w in client.webhooks.list()]  # doctest: +SKIP
        """
        params = {"limit": _check_limit(limit)}
        return self._list("webhooks", Webhook, raw, cursor_field="webhook_id", params=params)

    def retrieve(self, webhook_id: str, *, raw: bool = False) -> Webhook:
        """Get one webhook.

        Examples
        --------
        >>> client.webhooks.retrieve("42AE4CFA720B1C35D499E9E39C14F321")  # doctest: +SKIP
        """
        wid = _path_id(webhook_id, "webhook_id")
        return self._one("GET", f"webhooks/{wid}", Webhook, raw)

    def delete(self, webhook_id: str, *, raw: bool = False) -> Webhook:
        """Deactivate a webhook (soft delete).

        Examples
        --------
        >>> client.webhooks.delete("42AE4CFA720B1C35D499E9E39C14F321")  # doctest: +SKIP
        """
        wid = _path_id(webhook_id, "webhook_id")
        return self._one("DELETE", f"webhooks/{wid}", Webhook, raw)
