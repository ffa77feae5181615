"""Turn HeyMilo API documents into :class:`~milo_analytics.frames.InterviewData`.

This is the only module that turns API documents into DataFrames (DESIGN.md, rules of the
house). It has three layers:

* :func:`frames_from_documents` — a pure function from raw API documents (question, candidate
  and interview-data dicts exactly as the API sends them) to tidy frames. Columns are built
  directly from the parsed documents, which is several times faster than ``pd.json_normalize``.
* :func:`load_documents` — the same from a folder of exported JSON documents (or the sandbox's
  ``World.save()`` folder, or an in-memory world).
* :func:`load_posting` / :func:`load_postings` — pull from the API into a local
  :class:`~milo_analytics.store.Store` (incremental, concurrent, fault tolerant) and build the
  frames from the store (:func:`frames_from_store`).

Underneath, documents are parsed one by one into parse products
(:class:`~milo_analytics.frames.FrameParts`: a document's frame rows, and what became of it),
which one assembly step turns into the frames (order, duplicates, validation, score scale).
The store keeps the parse products materialised (:mod:`milo_analytics.materialised`), so a
load from the store parses only the documents that changed since the last load; the
materialised and the rebuilt frames are the same by construction (the same assembly), and
the tests compare them.

The ``errors`` frame lists only documents that failed to load or parse, one row each, with a
``stage``: ``fetch`` (the request still failed after the client's retries), ``parse`` (a
malformed interview-data document, or a body that is not JSON), ``candidate``, ``question`` or
``posting`` (a malformed listing record), ``file`` (an exported file that cannot be read),
``store`` (a stored copy that no longer decodes; the store marks it for refetch) and
``validate`` (a value outside the API's declared range — :data:`RANGES`, :data:`TIME_RANGE` —,
a number no column type can hold, or a scorecard item without its required ``score``; the
message names the record, the field, the value and the allowed range, and the document is
left out of the frames). Unfinished interviews are never errors. A failed document is fetched
again on the next pull; a ``validate`` one only when HeyMilo changes it (its candidate record
changes), since fetching the same document again would give the same values.

Validation runs on the built columns (a few vectorised comparisons per column), not value by
value, so it costs little next to parsing.

Examples
--------
>>> q = [{"id": "q1", "posting_id": "P", "modality": "voice", "text": "Why us?", "rank": 1,
...       "score_weight": 2}]
>>> c = [{"interview_id": "I1", "posting_id": "P", "name": "A", "email": "a@x.org",
...       "status": "completed", "score": 80.0}]
>>> d = [{"interview_id": "I1", "posting_id": "P", "name": "A", "email": "a@x.org",
...       "status": "completed", "score": 80.0, "web_interview": {"interview_id": "I1",
...       "match_score": 80, "scorecard": [{"question_id": "q1", "question_text": "Why us?",
...       "score": 4, "score_weight": 2, "evaluation_summary": "ok", "evaluation_criteria": "",
...       "rank": 1}]}}]
>>> data = frames_from_documents(questions=q, candidates=c, interview_data=d)
>>> data.scores[["question_id", "score", "score_weight"]].values.tolist()
[['q1', 4.0, 2.0]]
"""

from __future__ import annotations

import datetime as _dt
import gc
import gzip
import hashlib
import itertools
import json
import logging
import math
import queue
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import (
    AuthenticationError,
    ConfigError,
    DataError,
    MiloError,
    NotFoundError,
    warning_stacklevel,
)
from .frames import (
    PART_FRAMES,
    RESULT_STATUSES,
    SCHEMAS,
    UTC_TIME,
    FrameParts,
    InterviewData,
    coerce_frame,
    frame_order,
    isin,
    take_rows,
)
from .store import (
    Store,
    SyncState,
    UnfinishedSync,
    pack_document,
    unpack_document,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "InterviewRefresh",
    "PullReport",
    "RefreshPlan",
    "candidate_fingerprint",
    "document_fingerprint",
    "fetch_document",
    "frames_from_documents",
    "frames_from_store",
    "heartbeat_is_recent",
    "list_postings",
    "load_documents",
    "load_posting",
    "load_postings",
    "needs_fetch",
    "prepare_document",
    "pull_posting",
    "refresh_interviews",
    "refresh_plan",
    "resolve_concurrency",
]

logger = logging.getLogger(__name__)

#: Stages named in the ``errors`` frame.
STAGE_FETCH = "fetch"  # the API request failed after the client's retries
STAGE_PARSE = "parse"  # the interview-data document is malformed
STAGE_CANDIDATE = "candidate"  # a candidate record is malformed
STAGE_QUESTION = "question"  # a question record is malformed
STAGE_FILE = "file"  # an exported file could not be read
STAGE_STORE = "store"  # the stored copy no longer decodes: marked for refetch
STAGE_VALIDATE = "validate"  # a value outside the API's declared range, or unrepresentable

_SCALES = (5, 10)
#: Candidate records a pull stores at most in one go while it lists (if no document arrives).
_LISTED_BATCH = 1000
#: Interviews parsed between two conversions of rows into frame parts (bounds peak memory).
_CHUNK = 5000
#: One shared string object per common speaker (millions of turns otherwise each hold a copy).
_SPEAKERS = {s: s for s in ("Interviewer", "Candidate", "System")}


class _Malformed(Exception):
    """Internal: a document does not have the shape the API documents."""


class _Damaged(_Malformed):
    """Internal: a stored copy no longer decodes (the store marks it for refetch)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(
            f"the stored copy is damaged ({type(exc).__name__}: {exc}); the next pull fetches "
            "it again"
        )


# --------------------------------------------------------------------------- small validators
def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return _is_num(v) and float(v).is_integer()


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _huge(v: Any) -> str:
    """A number for a message; integers too long to read are shown in scientific notation."""
    if isinstance(v, int) and not isinstance(v, bool) and len(str(abs(v))) > 20:
        digits = str(abs(v))
        return f"{'-' if v < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"
    return _short(v)


def _bad(where: str, value: Any, expected: str) -> _Malformed:
    """The one wording of a wrong-type field: ``<where> is <type> <value>, expected <what>``."""
    return _Malformed(f"{where} is {type(value).__name__} {_short(value)}, expected {expected}")


def _field(
    doc: Mapping[str, Any], key: str, where: str, ok: Callable[[Any], bool], expected: str
) -> Any:
    """``doc[key]`` when absent/None or ``ok(value)``; otherwise _Malformed naming it."""
    v = doc.get(key)
    if v is None or ok(v):
        return v
    raise _bad(f"{where}.{key}", v, expected)


def _num(doc: Mapping[str, Any], key: str, where: str) -> float | int | None:
    v = _field(doc, key, where, _is_num, "a number")
    if v is None:
        return None
    try:
        f = float(v)
    except OverflowError:  # an integer beyond any float: reported when its column is built
        return v
    return None if math.isnan(f) else f


def _str(doc: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    v = _field(doc, key, where, _is_str, "a string")
    if required and not v:
        raise _Malformed(f"{where}.{key} is {'missing' if v is None else 'empty'}")
    return v


def _bool(doc: Mapping[str, Any], key: str, where: str) -> bool | None:
    return _field(doc, key, where, _is_bool, "true/false")


def _int(doc: Mapping[str, Any], key: str, where: str) -> int | None:
    v = _field(doc, key, where, _is_int, "an integer")
    return None if v is None else int(v)


def _list(doc: Mapping[str, Any], key: str, where: str) -> list[Any]:
    return _field(doc, key, where, lambda v: isinstance(v, list), "a list") or []


def _dict(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise _bad(where, v, "an object")
    return v


def _time(v: Any, where: str) -> float | str | None:
    """Epoch seconds (the API's format) or an ISO-8601 string; parsed later in bulk."""
    if v is None or _is_num(v) or isinstance(v, str):
        return v
    raise _bad(where, v, "epoch seconds or ISO-8601")


# --------------------------------------------------------------------------- column helpers
#: Declared ranges checked on the built columns, ``(frame, column) -> (low, high)``, inclusive.
#: Sources: shared/heymilo/openapi.json and API-NOTES.md — ``score`` and ``match_score``
#: "Overall match score (0-100)"; ``speech_score`` "(0.0-5.0)"; a scorecard item's ``score``
#: "Score (1-10)" (the guides' 1–5 lies inside it; the posting's scale is detected or given);
#: ``score_weight`` "Importance weight (1-10)", and API-NOTES §4: "tolerate floats and values
#: of 0–5 when reading" (inline creation accepts 0–5, guides create 1.5) — so 0–10, floats read.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("candidates", "score"): (0, 100),
    ("interviews", "score"): (0, 100),
    ("interviews", "match_score"): (0, 100),
    ("interviews", "speech_score"): (0, 5),
    ("scores", "score"): (1, 10),
    ("scores", "score_weight"): (0, 10),
    ("questions", "score_weight"): (0, 10),
}
#: Times the API sends (epoch seconds) must lie in [1970-01-01, 2100-01-01) UTC: the API
#: declares no range, and anything outside is a broken record (1e20 would overflow pandas).
TIME_RANGE = (0.0, 4_102_444_800.0)
_TIME_LOW = pd.Timestamp(TIME_RANGE[0], unit="s", tz="UTC")
_TIME_HIGH = pd.Timestamp(TIME_RANGE[1], unit="s", tz="UTC")
_INT64 = (-(2**63), 2**63 - 1)


def _range_text(low: float, high: float) -> str:
    return f"{low:g}–{high:g}"


class _Problems:
    """Values of the documents being built that break the API's schema or cannot be
    represented, keyed by the document they came from (collected while building columns)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any, str]] = []  # (frame, key, message)

    def add(self, frame: str, columns: Mapping[str, list[Any]], row: int, text: str) -> None:
        if frame in ("postings",):
            key: Any = columns["posting_id"][row]
        elif frame == "questions":
            key = (columns["posting_id"][row], columns["question_id"][row])
        else:
            key = columns["interview_id"][row]
        self.items.append((frame, key, text))


#: API field names of frame columns, for messages (scores' are per scorecard item).
_FIELD_NAMES = {
    ("interviews", "match_score"): "web_interview.match_score",
    ("interviews", "speech_score"): "web_interview.speech_score",
    ("candidates", "last_activity_at"): "workflow.last_activity_at",
    ("transcript", "timestamp"): "web_interview.transcript[].timestamp",
    ("transcript", "turn"): "web_interview.transcript[] position",
    ("highlights", "text"): "web_interview.highlights[]",
}


def _field_name(frame: str, column: str, columns: Mapping[str, list[Any]], row: int) -> str:
    if frame == "scores":
        return f"web_interview.scorecard[question {columns['question_id'][row]}].{column}"
    return _FIELD_NAMES.get((frame, column), column)


def _times(
    values: list[Any], problems: _Problems | None = None, where: Callable[[int], None] | None = None
) -> pd.Series:
    """UTC timestamps from epoch seconds (fast path) or ISO strings (mixed allowed).

    Values outside :data:`TIME_RANGE` (and unparseable strings) become NaT; ``where(i)`` is
    called for each (in order), so the caller can report the record. A value converts the same
    whatever the other values of the column are (numbers always take the vectorised path), so
    a document's rows never depend on which documents it was built with.
    """
    if not values:
        return pd.Series([], dtype=UTC_TIME)
    try:
        arr = np.array([np.nan if v is None else v for v in values], dtype="float64")
        parsed: dict[int, pd.Timestamp] = {}
        bad_values: list[int] = []
    except (TypeError, ValueError, OverflowError):
        arr = np.full(len(values), np.nan)
        parsed, bad_values = {}, []
        for i, v in enumerate(values):
            if v is None:
                continue
            if _is_num(v):
                try:
                    arr[i] = float(v)
                except OverflowError:
                    bad_values.append(i)
                continue
            ts = _one_time(v)
            if ts is None:
                bad_values.append(i)
            else:
                parsed[i] = ts
    with np.errstate(invalid="ignore"):
        bad = (arr < TIME_RANGE[0]) | (arr >= TIME_RANGE[1])
    if bad.any() or bad_values:
        for i in sorted({int(i) for i in np.flatnonzero(bad)} | set(bad_values)):
            if where is not None:
                where(i)
        arr[bad] = np.nan
    out = pd.Series(pd.to_datetime(arr * 1e6, unit="us", utc=True), dtype=UTC_TIME)
    if parsed:
        stamps = list(out)
        for i, ts in parsed.items():
            stamps[i] = ts
        out = pd.Series(pd.to_datetime(stamps, utc=True), dtype=UTC_TIME)
    return out


def _one_time(v: Any) -> pd.Timestamp | None:
    """One value as a UTC Timestamp in :data:`TIME_RANGE`; NaT for None; None when invalid."""
    if v is None:
        return pd.NaT
    if _is_num(v):
        try:
            f = float(v)
        except OverflowError:
            return None
        if not TIME_RANGE[0] <= f < TIME_RANGE[1]:
            return None
        return pd.Timestamp(f, unit="s", tz="UTC")
    ts = _iso(v) if isinstance(v, str) else pd.NaT
    if ts is pd.NaT or not _TIME_LOW <= ts < _TIME_HIGH:
        return None
    return ts


def _iso(v: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if ts is pd.NaT:
        return pd.NaT
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _numbers(values: list[Any], dtype: str, where: Callable[[int, Any], None]) -> pd.Series:
    """The slow path of a numeric column: values no float64/int64 holds become NA and are
    reported with ``where(i, value)``."""
    out = []
    low, high = _INT64
    for i, v in enumerate(values):
        if v is not None:
            try:
                float(v)
                ok = dtype != "Int64" or low <= v <= high
            except (OverflowError, TypeError, ValueError):
                ok = False
            if not ok:
                where(i, v)
                v = None
        out.append(v)
    return pd.Series(pd.array(out, dtype=dtype))


def _frame(
    name: str, columns: dict[str, list[Any]], problems: _Problems | None = None
) -> pd.DataFrame:
    """A frame of schema ``name`` from plain column lists (all the same length).

    With ``problems``, values outside the API's declared ranges (:data:`RANGES`,
    :data:`TIME_RANGE`), values no column type can hold, and scorecard items missing their
    required ``score`` are reported there (checked on whole columns, not value by value).
    """
    schema = SCHEMAS[name]
    out: dict[str, Any] = {}
    for col, dtype in schema.items():
        values = columns[col]

        def unrepresentable(i: int, v: Any, col: str = col) -> None:
            if problems is not None:
                field = _field_name(name, col, columns, i)
                problems.add(
                    name, columns, i, f"{field} is {_huge(v)}, a number that cannot be represented"
                )

        def out_of_time_range(i: int, col: str = col, values: list[Any] = values) -> None:
            # interviews.interviewed_at is the candidate record's, reported with that record
            if problems is not None and (name, col) != ("interviews", "interviewed_at"):
                field = _field_name(name, col, columns, i)
                problems.add(
                    name,
                    columns,
                    i,
                    f"{field} is {_huge(values[i])}, not a time from 1970-01-01 to 2100-01-01 "
                    "(epoch seconds or ISO-8601)",
                )

        if dtype == UTC_TIME:
            out[col] = _times(values, problems, out_of_time_range)
        elif dtype == "bool":
            out[col] = pd.Series(np.array(values, dtype=bool), dtype=bool)
        elif dtype in ("Float64", "Int64"):
            try:
                out[col] = pd.Series(pd.array(values, dtype=dtype))
            except (OverflowError, TypeError, ValueError):
                out[col] = _numbers(values, dtype, unrepresentable)
        else:
            out[col] = pd.Series(pd.array(values, dtype=dtype))
    for col, values in columns.items():
        if col not in schema:
            out[col] = pd.Series(values)
    if problems is not None:
        _check_ranges(name, columns, out, problems)
    return pd.DataFrame(out)


def _check_ranges(
    name: str, columns: dict[str, list[Any]], built: dict[str, Any], problems: _Problems
) -> None:
    """Report values outside :data:`RANGES` and missing required scores (vectorised)."""
    for (frame, col), (low, high) in RANGES.items():
        if frame != name:
            continue
        arr = built[col].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = (arr < low) | (arr > high)
        for i in np.flatnonzero(bad):
            i = int(i)
            field = _field_name(name, col, columns, i)
            problems.add(
                name,
                columns,
                i,
                f"{field} is {_short(columns[col][i])}, outside the API's range "
                f"{_range_text(low, high)}",
            )
    if name == "scores":
        missing = built["score"].isna().to_numpy() & ~built["not_scored"].to_numpy()
        for i in np.flatnonzero(missing):
            i = int(i)
            if columns["score"][i] is not None:
                continue  # unrepresentable, reported as such
            field = _field_name(name, "score", columns, i)
            problems.add(
                name,
                columns,
                i,
                f"{field} is missing: the API requires it for every item not marked not_scored",
            )


# --------------------------------------------------------------------------- per-document parsers
def _parse_question(q: Any) -> tuple[Any, ...]:
    q = _dict(q, "question")
    where = f"question {q.get('id')!r}"
    return (
        _str(q, "posting_id", where, required=True),
        _str(q, "id", where, required=True),
        _int(q, "rank", where),
        _str(q, "text", where),
        _num(q, "score_weight", where),
        bool(_bool(q, "not_scored", where)),
        _str(q, "modality", where),
        _str(q, "question_type", where),
        _time(q.get("updated_at"), f"{where}.updated_at"),
    )


def _parse_posting(p: Any) -> tuple[Any, ...]:
    p = _dict(p, "posting")
    where = f"posting {p.get('id')!r}"
    return (
        _str(p, "id", where, required=True),
        _str(p, "title", where),
        _str(p, "name", where),
        _str(p, "interviewer_name", where),
        _time(p.get("created_at"), f"{where}.created_at"),
        _time(p.get("updated_at"), f"{where}.updated_at"),
    )


def _parse_candidate(c: Any) -> tuple[Any, ...]:
    c = _dict(c, "candidate")
    where = f"candidate {c.get('interview_id')!r}"
    wf = c.get("workflow")
    last = None
    if wf is not None:
        last = _time(
            _dict(wf, f"{where}.workflow").get("last_activity_at"), f"{where}.last_activity_at"
        )
    meta = c.get("metadata")
    external_id = None
    if isinstance(meta, Mapping) and meta.get("external_id") is not None:
        external_id = str(meta["external_id"])
    return (
        _str(c, "interview_id", where, required=True),
        _str(c, "posting_id", where, required=True),
        _str(c, "candidate_id", where),
        _str(c, "name", where),
        _str(c, "email", where),
        _str(c, "status", where, required=True),
        _num(c, "score", where),
        _time(c.get("created_at"), f"{where}.created_at"),
        _time(c.get("interviewed_at"), f"{where}.interviewed_at"),
        _bool(c, "shortlisted", where),
        _bool(c, "dismissed", where),
        last,
        external_id,
    )


_NUM_TYPES = (int, float)


def _check_item(item: Mapping[str, Any], where: str) -> None:
    """Raise _Malformed naming the first bad field of a scorecard item (slow path only)."""
    qid = item.get("question_id")
    if type(qid) is not str or not qid:
        raise _bad(f"{where}.question_id", qid, "a non-empty string")
    for key, expected in (("score", "a number"), ("score_weight", "a number")):
        v = item.get(key)
        if v is not None and type(v) not in _NUM_TYPES:
            raise _bad(f"{where}.{key}", v, expected)
    ns = item.get("not_scored")
    if ns is not None and type(ns) is not bool:
        raise _bad(f"{where}.not_scored", ns, "true/false")
    for key in ("evaluation_summary", "question_text"):
        v = item.get(key)
        if v is not None and type(v) is not str:
            raise _bad(f"{where}.{key}", v, "a string")


def _parse_interview(d: Any) -> dict[str, Any] | None:
    """Validate one interview-data document and return its rows, or None if it has no results.

    The hot loops check types inline (``type(x) is str``): this runs once per transcript turn
    and scorecard item, millions of times for a large posting.

    Raises _Malformed when the document does not have the documented shape.
    """
    d = _dict(d, "document")
    iid = _str(d, "interview_id", "document", required=True)
    where = f"interview {iid}"
    pid = _str(d, "posting_id", where, required=True)
    status = _str(d, "status", where, required=True)
    score = _num(d, "score", where)
    if status not in RESULT_STATUSES:
        return None  # unfinished (pending, in_progress, evaluating, not_ready): not an error
    wi = d.get("web_interview")
    rows: dict[str, Any] = {
        "interview": (iid, pid, status, score, None, None),
        "scores": [],
        "transcript": [],
        "highlights": [],
    }
    if wi is None:
        return rows
    w = f"{where}.web_interview"
    wi = _dict(wi, w)
    rows["interview"] = (
        iid,
        pid,
        status,
        score,
        _num(wi, "match_score", w),
        _num(wi, "speech_score", w),
    )

    scores = rows["scores"]
    exact: dict[tuple[Any, Any, Any], str] = {}
    loose: dict[tuple[Any, Any], str] | None = None  # built on the first inexact turn
    windows: list[tuple[float, float, str]] = []
    scorecard = _list(wi, "scorecard", w)
    for k, item in enumerate(scorecard):
        if type(item) is not dict:
            item = _dict(item, f"{w}.scorecard[{k}]")
        qid = item.get("question_id")
        s = item.get("score")
        wt = item.get("score_weight")
        ns = item.get("not_scored")
        summary = item.get("evaluation_summary")
        qtext = item.get("question_text")
        rank = item.get("rank")
        if (
            type(qid) is not str
            or not qid
            or (s is not None and type(s) not in _NUM_TYPES)
            or (wt is not None and type(wt) not in _NUM_TYPES)
            or (ns is not None and type(ns) is not bool)
            or (summary is not None and type(summary) is not str)
            or (qtext is not None and type(qtext) is not str)
            or (rank is not None and type(rank) is not int)
        ):
            _check_item(item, f"{w}.scorecard[{k}]")  # raises with the precise reason
            rank = _int(item, "rank", f"{w}.scorecard[{k}]")
        scores.append((iid, pid, qid, rank, s, wt, ns is True, summary, qtext))
        turns = item.get("transcript")
        if not turns:
            continue
        if type(turns) is not list:
            raise _bad(f"{w}.scorecard[{k}].transcript", turns, "a list")
        lo = hi = None
        for t in turns:
            if type(t) is not dict:
                raise _bad(f"{w}.scorecard[{k}].transcript[]", t, "an object")
            sp, tx, ts = t.get("speaker"), t.get("text"), t.get("timestamp")
            exact.setdefault((sp, tx, ts), qid)
            if type(ts) in _NUM_TYPES:
                if lo is None:
                    lo = hi = ts
                elif ts < lo:
                    lo = ts
                elif ts > hi:
                    hi = ts
        if lo is not None:
            windows.append((lo, hi, qid))

    turns = _list(wi, "transcript", w)
    if not turns:  # no full transcript: rebuild it from the per-question dialogue
        turns = [t for item in scorecard for t in (item.get("transcript") or ())]
        turns.sort(key=lambda t: t.get("timestamp") if _is_num(t.get("timestamp")) else math.inf)
    out = rows["transcript"]
    for j, t in enumerate(turns):
        if type(t) is not dict:
            raise _bad(f"{w}.transcript[{j}]", t, "an object")
        sp, tx, ts = t.get("speaker"), t.get("text"), t.get("timestamp")
        if (
            (sp is not None and type(sp) is not str)
            or (tx is not None and type(tx) is not str)
            or (ts is not None and type(ts) not in _NUM_TYPES)
        ):
            for key, v, expected in (("speaker", sp, "a string"), ("text", tx, "a string")):
                if v is not None and type(v) is not str:
                    raise _bad(f"{w}.transcript[{j}].{key}", v, expected)
            raise _bad(f"{w}.transcript[{j}].timestamp", ts, "a number")
        qid = exact.get((sp, tx, ts))
        sp = _SPEAKERS.get(sp, sp)
        if qid is None:
            if loose is None:
                loose = {}
                for key3, q in exact.items():
                    loose.setdefault(key3[:2], q)
            qid = loose.get((sp, tx))
            if qid is None and ts is not None:
                for lo, hi, wq in windows:
                    if lo <= ts <= hi:
                        qid = wq
                        break
        out.append((iid, j, sp, tx, ts, qid))

    hl = rows["highlights"]
    for kind, field in (("highlight", "highlights"), ("lowlight", "lowlights")):
        for j, text in enumerate(_list(wi, field, w)):
            if type(text) is not str:
                raise _bad(f"{w}.{field}[{j}]", text, "a string")
            hl.append((iid, kind, text))
    return rows


# --------------------------------------------------------------------------- the pure builder
def _iter_docs(docs: Any, what: str) -> Iterator[Any]:
    """Documents from a list, a mapping id -> list/document, or None."""
    if docs is None:
        return
    if isinstance(docs, Mapping):
        for value in docs.values():
            if isinstance(value, list):
                yield from value
            else:
                yield value
    elif isinstance(docs, Iterable) and not isinstance(docs, (str, bytes)):
        yield from docs
    else:
        raise DataError(
            f"{what} must be a list of documents or a mapping; got {type(docs).__name__}"
        )


def _columns(rows: list[tuple[Any, ...]], names: Iterable[str]) -> dict[str, list[Any]]:
    # one list comprehension per column: ~4× faster than zip(*rows) on millions of rows
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}


def _world_parts(world: Any) -> dict[str, Any]:
    parts = {}
    for key in ("postings", "questions", "candidates", "interview_data"):
        if isinstance(world, Mapping):
            parts[key] = world.get(key)
        else:
            parts[key] = getattr(world, key, None)
    return parts


def frames_from_documents(
    world: Any = None,
    *,
    postings: Any = None,
    questions: Any = None,
    candidates: Any = None,
    interview_data: Any = None,
    errors: Iterable[Mapping[str, Any]] | None = None,
    score_scale: int | Mapping[str, int] | None = None,
    strict: bool = False,
) -> InterviewData:
    """Build :class:`InterviewData` from raw HeyMilo API documents (a pure function).

    Parameters
    ----------
    world
        Optional object or mapping with attributes/keys ``postings``, ``questions``,
        ``candidates`` and ``interview_data`` (e.g. the sandbox's ``World``); the keyword
        arguments below override its parts.
    postings
        ``PostingResponse`` dicts (a list).
    questions
        ``QuestionResponse`` dicts: a list, or a mapping ``posting_id -> list``.
    candidates
        ``CandidateResponse`` dicts: a list, or a mapping ``posting_id -> list``.
    interview_data
        ``InterviewDataResponse`` dicts (the ``data`` of ``GET /interviews/{id}/data``): a list
        or a mapping ``interview_id -> document``. A document may also be the packed bytes a
        :class:`~milo_analytics.store.Store` keeps (decoded one at a time, to keep memory
        low). Unfinished interviews (``not_ready``, ``pending``, ...) are skipped, not errors.
    errors
        Earlier failures to carry into the ``errors`` frame (dicts with ``interview_id``,
        ``stage``, ``error``), e.g. failed fetches.
    score_scale
        The per-question scale maximum (5 or 10), for every posting or as a mapping
        ``posting_id -> 5 or 10``. Detected per posting from its scorecards when None (10 if any
        scored item exceeds 5, else 5). ``postings.score_scale`` holds each posting's scale;
        ``InterviewData.score_scale`` the largest.
    strict
        Raise :class:`~milo_analytics.errors.DataError` on the first malformed document (or
        one breaking the API's declared ranges) instead of listing it in ``errors``.

    Returns
    -------
    InterviewData
        Frames ordered by posting id then interview id (independent of the input order);
        duplicated documents keep the last one. ``scores.score_weight`` is the weight each
        scorecard item was scored with; ``questions.score_weight`` is today's weight.
        ``transcript.question_id`` is attributed by matching each turn to the per-question
        dialogue of the scorecard (exact turn, then same speaker and text, then the
        question's time window); turns outside any question stay unattributed.

    Raises
    ------
    DataError
        ``score_scale`` is not 5 or 10, or valid scores exceed it; with ``strict=True`` also
        for a malformed document or one breaking the API's declared ranges.

    Examples
    --------
    >>> frames_from_documents(candidates=[{"interview_id": "I9", "posting_id": "P",
    ...     "name": "B", "email": "b@x.org", "status": "pending"}]).candidates.status.tolist()
    ['pending']
    """
    # Millions of small tuples are made and kept here; the cyclic garbage collector would
    # traverse them again and again (they hold no cycles), so it pauses during the build.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _frames_from_documents(
            world,
            postings=postings,
            questions=questions,
            candidates=candidates,
            interview_data=interview_data,
            errors=errors,
            score_scale=score_scale,
            strict=strict,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _frames_from_documents(
    world: Any,
    *,
    postings: Any,
    questions: Any,
    candidates: Any,
    interview_data: Any,
    errors: Iterable[Mapping[str, Any]] | None,
    score_scale: int | Mapping[str, int] | None,
    strict: bool,
) -> InterviewData:
    _check_scale_argument(score_scale)
    if world is not None:
        parts = _world_parts(world)
        postings = parts["postings"] if postings is None else postings
        questions = parts["questions"] if questions is None else questions
        candidates = parts["candidates"] if candidates is None else candidates
        interview_data = parts["interview_data"] if interview_data is None else interview_data

    records = _candidate_parts(
        (i, None, c) for i, c in enumerate(_iter_docs(candidates, "candidates"))
    )

    # interview data: one document per interview (the last one given wins)
    docs: dict[str, Any] = {}
    anonymous = 0
    if isinstance(interview_data, Mapping):
        items: Iterable[tuple[Any, Any]] = interview_data.items()
    else:
        items = ((None, d) for d in _iter_docs(interview_data, "interview_data"))
    for key, d in items:
        iid = d.get("interview_id") if isinstance(d, Mapping) else None
        if not isinstance(iid, str) or not iid:
            iid = key if isinstance(key, str) else None
        if iid is None:
            anonymous += 1
            iid = f"\0anonymous-{anonymous}"
        docs[iid] = d

    # parsed in the frames' order, so that assembling them needs no reordering
    posting_of_record = _record_postings(records)

    def order(k: str) -> tuple[str, str]:
        d = docs[k]
        posting = d.get("posting_id") if type(d) is dict else None
        if not isinstance(posting, str):
            posting = posting_of_record.get(k)
        return (posting or "", k)

    ordered = sorted(docs, key=order)
    pieces = []
    for start in range(0, len(ordered), _CHUNK):
        # let each document go once parsed: keeps the peak memory low
        chunk = ordered[start : start + _CHUNK]
        pieces.append(_interview_parts((k, docs.pop(k)) for k in chunk))
    return _assemble(
        postings=postings,
        questions=questions,
        candidates=records,
        interviews=FrameParts.concat("interviews", pieces),
        errors=errors,
        score_scale=score_scale,
        strict=strict,
    )


def _check_scale_argument(score_scale: int | Mapping[str, int] | None) -> None:
    bad_scale = [
        v
        for v in (score_scale.values() if isinstance(score_scale, Mapping) else [score_scale])
        if v is not None and v not in _SCALES
    ]
    if bad_scale:
        raise DataError(
            f"a score scale of {bad_scale[0]!r} is not supported",
            python_hint="pass score_scale=5 (1–5 scores) or 10 (1–10 scores), or None to detect it",
            cli_hint="pass --score-scale 5 (1–5 scores) or 10 (1–10 scores), or leave it out to "
            "detect it",
        )


# --------------------------------------------------------------------------- parse products
#: ``FrameParts.docs.stage`` of an interview without results yet (unfinished): not an error.
_STAGE_NONE = "none"


def _unpack_stored(blob: bytes) -> Any:
    """A packed document from the store; _Damaged when it no longer decodes."""
    try:
        return unpack_document(blob)
    except (ValueError, TypeError, zlib.error) as exc:
        raise _Damaged(exc) from None


def _interview_parts(items: Iterable[tuple[str, Any]]) -> FrameParts:
    """Parse interview-data documents ``(key, document)`` into :class:`FrameParts`.

    ``key`` is the interview id (``"\\0anonymous-N"`` for a document without one); a document
    is a dict, the packed bytes a Store keeps, or a :class:`_Prepared` copy with cached rows.
    Each document's rows and its outcome depend on that document alone: a malformed one is
    ``parse``, a stored copy that no longer decodes ``store``, one with values outside the
    API's ranges (or unrepresentable) ``validate`` — its rows are left out —, an unfinished
    interview ``none``.
    """
    keys: list[str] = []
    ids: list[str | None] = []
    postings: list[str | None] = []
    stages: list[str | None] = []
    messages: list[str | None] = []
    counts: dict[str, list[int]] = {name: [] for name in PART_FRAMES["interviews"]}
    i_rows: list[tuple[Any, ...]] = []
    s_rows: list[tuple[Any, ...]] = []
    t_rows: list[tuple[Any, ...]] = []
    h_rows: list[tuple[Any, ...]] = []
    for key, d in items:
        posting = stage = message = rows = None
        try:
            if type(d) is _Prepared:
                rows = d.load()
            else:
                if isinstance(d, bytes):
                    d = _unpack_stored(d)
                if isinstance(d, Mapping) and isinstance(d.get("posting_id"), str):
                    posting = d["posting_id"]
                rows = _parse_interview(d)
        except _Damaged as exc:
            stage, message = STAGE_STORE, str(exc)
        except _Malformed as exc:
            stage, message = STAGE_PARSE, str(exc)
        keys.append(key)
        if rows is None:
            ids.append(None if key.startswith("\0") else key)
            postings.append(posting)
            stages.append(stage or _STAGE_NONE)
            messages.append(message)
            for c in counts.values():
                c.append(0)
            continue
        interview = rows["interview"]
        ids.append(interview[0])
        postings.append(interview[1])
        stages.append(None)
        messages.append(None)
        i_rows.append((*interview, None))  # interviewed_at: the candidate record's, joined later
        s_rows.extend(rows["scores"])
        t_rows.extend(rows["transcript"])
        h_rows.extend(rows["highlights"])
        counts["interviews"].append(1)
        counts["scores"].append(len(rows["scores"]))
        counts["transcript"].append(len(rows["transcript"]))
        counts["highlights"].append(len(rows["highlights"]))
    problems = _Problems()
    frames: dict[str, pd.DataFrame] = {}
    # the order in which a document's problems are named: scores, transcript, highlights, then
    # the interview's own fields
    for name, rows_of in (("scores", s_rows), ("transcript", t_rows), ("highlights", h_rows)):
        frames[name] = _frame(name, _columns(rows_of, SCHEMAS[name]), problems)
        rows_of.clear()
    frames["interviews"] = _frame("interviews", _columns(i_rows, SCHEMAS["interviews"]), problems)
    docs = {"key": keys, "interview_id": ids, "posting_id": postings, "stage": stages}
    docs.update({"error": messages, **{f"n_{n}": c for n, c in counts.items()}})
    parts = FrameParts.build("interviews", docs, frames)
    if problems.items:
        texts: dict[Any, list[str]] = {}
        for _frame_name, iid, text in problems.items:
            texts.setdefault(iid, []).append(text)
        _leave_out(parts, texts, "interview data")
    return parts


def _candidate_parts(records: Iterable[tuple[int, str | None, Any]]) -> FrameParts:
    """Parse candidate records ``(order, key, record)`` into :class:`FrameParts`.

    ``order`` is the record's position in the listing; ``key`` its id in the store (None
    otherwise); a record is a dict or the packed bytes a Store keeps. Of several parsed records
    of one interview the last one counts (earlier ones leave no trace, as in a dict). A record
    that does not parse is ``candidate``, a stored one that no longer decodes ``store``, one
    with values outside the API's ranges ``validate``.
    """
    failed: list[tuple[int, str, str | None, str, str]] = []
    parsed: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for order, key, c in records:
        if isinstance(c, bytes):
            try:
                c = unpack_document(c)
            except (ValueError, TypeError, zlib.error) as exc:
                message = f"the stored candidate record is damaged ({type(exc).__name__}: {exc})"
                failed.append((order, str(key), key, STAGE_STORE, message))
                continue
        try:
            row = _parse_candidate(c)
        except _Malformed as exc:
            iid = c.get("interview_id") if isinstance(c, Mapping) else None
            iid = iid if isinstance(iid, str) else None
            failed.append((order, iid or "", iid, STAGE_CANDIDATE, str(exc)))
            continue
        parsed.pop(row[0], None)
        parsed[row[0]] = (order, row)
    problems = _Problems()
    frame = _frame(
        "candidates", _columns([row for _, row in parsed.values()], SCHEMAS["candidates"]), problems
    )
    n = len(failed)
    parts = FrameParts.build(
        "candidates",
        {
            "key": [f[1] for f in failed] + list(parsed),
            "interview_id": [f[2] for f in failed] + list(parsed),
            "posting_id": [None] * n + [row[1] for _, row in parsed.values()],
            "stage": [f[3] for f in failed] + [None] * len(parsed),
            "error": [f[4] for f in failed] + [None] * len(parsed),
            "n_candidates": [0] * n + [1] * len(parsed),
            "order": [f[0] for f in failed] + [order for order, _ in parsed.values()],
        },
        {"candidates": frame},
    )
    if problems.items:
        texts: dict[Any, list[str]] = {}
        for _frame_name, iid, text in problems.items:
            texts.setdefault(iid, []).append(text)
        _leave_out(parts, texts, "candidate record")
    return parts


def _leave_out(parts: FrameParts, texts: Mapping[Any, list[str]], document: str) -> None:
    """Mark the usable documents of ``parts`` named in ``texts`` (interview id -> problems)
    ``validate`` with one message each, and drop their rows (in place)."""
    docs = parts.docs
    usable = docs["stage"].isna().to_numpy()
    named = docs["interview_id"].isin(list(texts)).to_numpy() & usable
    if not named.any():
        return
    keep = np.flatnonzero(usable & ~named)
    for name in list(parts.frames):
        parts.frames[name] = take_rows(parts.frames[name], parts.row_counts(name), keep)
    where = np.flatnonzero(named)
    stage = docs["stage"].to_numpy(dtype=object, na_value=None)
    error = docs["error"].to_numpy(dtype=object, na_value=None)
    for i in where:
        iid = docs["interview_id"].iat[i]
        stage[i] = STAGE_VALIDATE
        error[i] = _validation_message(document, iid, texts[iid])
    docs["stage"] = pd.array(stage, dtype="str")
    docs["error"] = pd.array(error, dtype="str")
    for name in PART_FRAMES[parts.kind]:
        col = docs[f"n_{name}"].to_numpy(copy=True)
        col[where] = 0
        docs[f"n_{name}"] = col


def _validation_message(document: str, key: Any, texts: list[str]) -> str:
    """The ``errors`` message of a document with values outside the API's ranges."""
    unique = list(dict.fromkeys(texts))
    shown = "; ".join(unique[:5]) + (f"; and {len(unique) - 5} more" if len(unique) > 5 else "")
    if document == "interview data":
        return f"interview data: {shown}; the document is left out"
    if document == "candidate record":
        return f"candidate record: {shown}; the record and its interview are left out"
    if document == "question":
        return f"question {key[1]} of posting {key[0]}: {shown}; the question is left out"
    return f"posting {key}: {shown}; only its id is kept"


def _record_postings(records: FrameParts) -> dict[str, str]:
    """``interview id -> posting id`` of the candidate records that count (the last parsed)."""
    docs = records.docs
    parsed = docs[docs["stage"].isna() | (docs["stage"] == STAGE_VALIDATE)]
    parsed = parsed.sort_values("order", kind="stable")
    return dict(zip(parsed["key"].tolist(), parsed["posting_id"].tolist(), strict=True))


def _is(column: pd.Series, value: str | None) -> np.ndarray:
    """Where a text column equals ``value`` (None: where it is missing), as a bool array."""
    if value is None:
        return column.isna().to_numpy()
    return (column == value).to_numpy(dtype=bool, na_value=False)


def _na(value: Any) -> Any:
    """None for a missing value of a frame (NaN/NA), the value otherwise."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


# --------------------------------------------------------------------------- assembling frames
def _assemble(
    *,
    postings: Any,
    questions: Any,
    candidates: FrameParts,
    interviews: FrameParts,
    errors: Iterable[Mapping[str, Any]] | None,
    score_scale: int | Mapping[str, int] | None,
    strict: bool,
) -> InterviewData:
    """InterviewData from the parse products of the documents (the rebuild and the
    materialised frames both end here, so both give the same frames and the same errors).

    ``errors`` lists, in order: the failures given (``errors``), postings and questions that
    do not parse, candidate records that do not parse (listing order), interview documents
    that do not parse or decode (frame order), then documents with values outside the API's
    ranges — questions first, then candidate records and interview data by posting and
    interview id —, then postings with such values.
    """
    err_rows: list[tuple[Any, ...]] = []
    for e in errors or ():
        err_rows.append(
            (e.get("interview_id"), str(e.get("stage") or STAGE_FETCH), str(e.get("error")))
        )

    def fail(interview_id: Any, stage: str, message: str) -> None:
        if strict:
            raise DataError(f"{stage} {interview_id or ''}: {message}".replace("  ", " "))
        err_rows.append((interview_id if isinstance(interview_id, str) else None, stage, message))

    # postings
    p_rows: dict[str, tuple[Any, ...]] = {}
    for p in _iter_docs(postings, "postings"):
        try:
            row = _parse_posting(p)
        except _Malformed as exc:
            fail(None, "posting", str(exc))
            continue
        p_rows[row[0]] = row

    # questions (today's definitions)
    q_rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    for q in _iter_docs(questions, "questions"):
        try:
            row = _parse_question(q)
        except _Malformed as exc:
            fail(None, STAGE_QUESTION, str(exc))
            continue
        q_rows[(row[0], row[1])] = row

    # candidate records: failures in listing order; of several records of one interview the
    # last parsed one counts
    cd = candidates.docs
    c_order = cd["order"].to_numpy()
    bad = np.flatnonzero(_is(cd["stage"], STAGE_CANDIDATE))
    for i in bad[np.argsort(c_order[bad], kind="stable")]:
        fail(_na(cd["interview_id"].iat[i]), STAGE_CANDIDATE, cd["error"].iat[i])
    parsed = np.flatnonzero(_is(cd["stage"], None) | _is(cd["stage"], STAGE_VALIDATE))
    parsed = parsed[np.argsort(c_order[parsed], kind="stable")]
    counted = parsed[~cd["key"].take(parsed).duplicated(keep="last").to_numpy()]
    usable_c = counted[_is(cd["stage"].take(counted), None)]
    invalid_c = counted[_is(cd["stage"].take(counted), STAGE_VALIDATE)]
    in_order = usable_c[frame_order(cd["posting_id"].take(usable_c), cd["key"].take(usable_c))]
    frames: dict[str, pd.DataFrame] = {}
    frames["candidates"] = take_rows(
        candidates.frames["candidates"], candidates.row_counts("candidates"), in_order
    )
    counted_keys = cd["key"].take(counted).reset_index(drop=True)
    counted_posts = cd["posting_id"].take(counted).reset_index(drop=True)

    # interview data, in frame order: by the posting a document names (else its candidate
    # record's), then interview id
    idocs = interviews.docs
    i_post = idocs["posting_id"]
    if i_post.isna().any():
        record = pd.Index(counted_keys).get_indexer(idocs["key"])
        fallback = counted_posts.reindex(record).reset_index(drop=True).fillna("")
        i_post = i_post.fillna(fallback)
    i_keys = idocs["key"]
    ranked = frame_order(i_post, i_keys)
    i_stage = idocs["stage"]
    failed = _is(i_stage, STAGE_PARSE) | _is(i_stage, STAGE_STORE)
    for i in ranked[failed[ranked]]:
        fail(_na(idocs["interview_id"].iat[i]), i_stage.iat[i], idocs["error"].iat[i])
    # a candidate record with values outside the ranges leaves with its interview's rows
    dropped = isin(i_keys, cd["key"].take(invalid_c))
    usable_i = _is(i_stage, None) & ~dropped
    in_order = ranked[usable_i[ranked]]
    for name in PART_FRAMES["interviews"]:
        frames[name] = take_rows(interviews.frames[name], interviews.row_counts(name), in_order)
    frames["interviews"] = _with_interview_times(frames["interviews"], frames["candidates"])

    # values outside the API's ranges: questions, then candidate records and interview data
    problems = _Problems()
    frames["questions"] = _frame(
        "questions",
        _columns(
            sorted(
                q_rows.values(),
                key=lambda r: (r[0], r[2] if r[2] is not None else 1 << 30, r[1]),
            ),
            SCHEMAS["questions"],
        ),
        problems,
    )
    _drop_violations(frames, problems, fail)
    problems.items.clear()
    invalid = [
        (_na(cd["posting_id"].iat[i]) or "", cd["key"].iat[i], 0, cd["error"].iat[i])
        for i in invalid_c
    ]
    invalid += [
        (_na(i_post.iat[i]) or "", idocs["interview_id"].iat[i], 1, idocs["error"].iat[i])
        for i in np.flatnonzero(_is(i_stage, STAGE_VALIDATE))
    ]
    for _post, iid, _kind, message in sorted(invalid, key=lambda v: v[:3]):
        fail(iid, STAGE_VALIDATE, message)

    # score scale, per posting (postings may differ: the guides use 1–5, the spec 1–10),
    # from the scored items that passed validation
    seen = set(p_rows) | {k[0] for k in q_rows} | set(counted_posts.dropna().unique())
    with_rows = _is(i_stage, None) | _is(i_stage, STAGE_VALIDATE)
    seen |= set(idocs["posting_id"][with_rows].dropna().unique())
    top = _top_scores(frames["scores"])
    scales: dict[str, int | None] = {}
    for pid in seen:
        wanted = score_scale.get(pid) if isinstance(score_scale, Mapping) else score_scale
        if wanted is None:
            scales[pid] = None if pid not in top else (10 if top[pid] > 5 else 5)
        else:
            if pid in top and top[pid] > wanted:
                raise DataError(
                    f"a score scale of {wanted} was given but posting {pid} has a question "
                    f"score of {top[pid]:g}; it uses the 1–10 scale",
                    python_hint="pass score_scale=10 or leave it None to detect it",
                    cli_hint="pass --score-scale 10 or leave it out to detect it",
                )
            scales[pid] = wanted
    known = [v for v in scales.values() if v is not None]
    if isinstance(score_scale, int):
        scale: int | None = score_scale
    else:
        scale = max(known) if known else None
    for pid in seen - set(p_rows):
        p_rows[pid] = (pid, None, None, None, None, None)
    p_rows = {k: (*v, scales.get(k)) for k, v in p_rows.items()}
    frames["postings"] = _frame(
        "postings", _columns([p_rows[k] for k in sorted(p_rows)], SCHEMAS["postings"]), problems
    )
    _drop_violations(frames, problems, fail)
    frames["errors"] = _frame("errors", _columns(err_rows, SCHEMAS["errors"]))
    return InterviewData(**frames, score_scale=scale)


def _with_interview_times(interviews: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """``interviews.interviewed_at`` from each interview's candidate record (NaT without one)."""
    if interviews.empty:
        return interviews
    where = pd.Index(candidates["interview_id"]).get_indexer(interviews["interview_id"])
    times = candidates["interviewed_at"].array.take(where, allow_fill=True)
    out = interviews.copy(deep=False)
    out["interviewed_at"] = pd.Series(times, index=out.index)
    return out


def _top_scores(scores: pd.DataFrame) -> dict[str, float]:
    """The highest score of a scored item per posting (for the scale), vectorised."""
    if scores.empty:
        return {}
    kept = scores.loc[~scores["not_scored"] & scores["score"].notna(), ["posting_id", "score"]]
    if kept.empty:
        return {}
    return {str(k): float(v) for k, v in kept.groupby("posting_id")["score"].max().items()}


#: Which document a problem found in a frame belongs to.
_DOCUMENT_OF = {
    "candidates": "candidate record",
    "questions": "question",
    "postings": "posting",
    "interviews": "interview data",
    "scores": "interview data",
    "transcript": "interview data",
    "highlights": "interview data",
}


def _drop_violations(
    frames: dict[str, pd.DataFrame],
    problems: _Problems,
    fail: Callable[[Any, str, str], None],
) -> None:
    """Report each question or posting with problems once (stage ``validate``) and leave it
    out: a question leaves ``questions``; a posting keeps only its id and scale. (Interview
    documents and candidate records are checked one by one when parsed: see
    :func:`_interview_parts`.)"""
    if not problems.items:
        return
    by_doc: dict[tuple[str, Any], list[str]] = {}
    for frame, key, text in problems.items:
        by_doc.setdefault((_DOCUMENT_OF[frame], key), []).append(text)
    questions: set[tuple[str, str]] = set()
    postings: set[str] = set()
    for (doc, key), texts in by_doc.items():
        fail(None, STAGE_VALIDATE, _validation_message(doc, key, texts))
        if doc == "question":
            questions.add(key)
        else:
            postings.add(key)
    if questions:
        q = frames["questions"]
        keys = pd.MultiIndex.from_frame(q[["posting_id", "question_id"]].astype(object))
        frames["questions"] = q[~keys.isin(list(questions))].reset_index(drop=True)
    if postings and "postings" in frames:
        p = frames["postings"].copy()
        rows = p["posting_id"].isin(postings)
        for col in p.columns:
            if col not in ("posting_id", "score_scale"):
                p.loc[rows, col] = None
        frames["postings"] = p


# --------------------------------------------------------------------------- folders of documents
_KINDS = ("postings", "questions", "candidates", "interview_data")
_INTERVIEW_KEYS = frozenset({"web_interview", "resume", "sms", "form", "cheat_detection"})
_SKIP_NAMES = ("truth", "outcomes", "demographics", "readme", "manifest", "meta")


def _kind_of(d: Mapping[str, Any]) -> str | None:
    obj = d.get("object")
    if obj == "interview_data":
        return "interview_data"
    if obj == "candidate":
        return "candidates"
    if obj == "question":
        return "questions"
    if obj == "posting":
        return "postings"
    keys = d.keys()
    if "interview_id" in keys and "posting_id" in keys and "status" in keys:
        return "interview_data" if _INTERVIEW_KEYS & keys else "candidates"
    if {"id", "posting_id", "modality", "text"} <= keys:
        return "questions"
    if "id" in keys and "title" in keys and ("workflow" in keys or "company_id" in keys):
        return "postings"
    return None


def _hint_of(name: str) -> str | None:
    n = name.lower()
    if "interview" in n and "interviewer" not in n:
        return "interview_data"
    if "candidate" in n:
        return "candidates"
    if "question" in n:
        return "questions"
    if "posting" in n:
        return "postings"
    return None


def _collect(obj: Any, hint: str | None, out: dict[str, list[Any]], depth: int = 0) -> None:
    """Classify documents inside ``obj`` (any JSON value) into ``out`` by kind."""
    if isinstance(obj, Mapping):
        if set(obj.keys()) >= {"data"} and set(obj.keys()) <= {"data", "meta", "pagination"}:
            _collect(obj["data"], hint, out, depth)  # an API envelope
            return
        kind = _kind_of(obj)
        shared = ("candidates", "interview_data")
        if kind in shared and hint in shared and "object" not in obj:
            kind = hint  # the two share their required fields: the folder/key decides
        if kind is not None:
            out[kind].append(obj)
            return
        if hint == "interview_data" and ("interview_id" in obj or (depth > 0 and "status" in obj)):
            out[hint].append(obj)  # malformed interview document: keep it for `errors`
            return
        if depth > 4:
            return
        for key, value in obj.items():
            sub = _hint_of(str(key)) or hint
            if isinstance(value, (Mapping, list)):
                _collect(value, sub, out, depth + 1)
            elif sub == "interview_data" and depth > 0:
                out["interview_data"].append(value)  # not even an object: malformed
    elif isinstance(obj, list):
        for value in obj:
            if isinstance(value, (Mapping, list)):
                _collect(value, hint, out, depth + 1)
            elif hint == "interview_data":
                out["interview_data"].append(value)


def _read_json_file(path: Path) -> list[Any]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    if ".jsonl" in path.name or ".ndjson" in path.name:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def _document_files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        name = path.name.lower()
        if not path.is_file() or not any(
            name.endswith(ext) for ext in (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson")
        ):
            continue
        if name.startswith(_SKIP_NAMES) or name.startswith("."):
            continue
        files.append(path)
    return files


def collect_documents(folder_or_docs: Any) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """Gather API documents by kind from a folder, a JSON file, a World or a mapping.

    Returns ``(documents, errors)`` where ``documents`` maps ``postings``, ``questions``,
    ``candidates`` and ``interview_data`` to lists of raw dicts and ``errors`` lists files that
    could not be read. See :func:`load_documents` for the folder layout.
    """
    out: dict[str, list[Any]] = {k: [] for k in _KINDS}
    errors: list[dict[str, Any]] = []
    if isinstance(folder_or_docs, (str, Path)):
        root = Path(folder_or_docs).expanduser()
        if not root.exists():
            raise DataError(
                f"{root} does not exist",
                python_hint="pass a folder of exported HeyMilo API JSON documents (see "
                "load_documents' docstring for the layout)",
                cli_hint="pass --documents a folder of exported HeyMilo API JSON documents",
            )
        paths = [root] if root.is_file() else _document_files(root)
        if not paths:
            raise DataError(
                f"{root} holds no .json/.json.gz/.jsonl documents",
                python_hint="pass a folder of exported HeyMilo API JSON documents",
                cli_hint="pass --documents a folder of exported HeyMilo API JSON documents",
            )
        for path in paths:
            rel = path.relative_to(root) if path != root else Path(path.name)
            hint = None
            for part in rel.parts:
                hint = _hint_of(part.split(".")[0]) or hint
            try:
                values = _read_json_file(path)
            except (OSError, ValueError, EOFError) as exc:
                stem = path.name.split(".")[0]
                iid = stem if hint == "interview_data" else None
                errors.append({"interview_id": iid, "stage": STAGE_FILE, "error": f"{rel}: {exc}"})
                continue
            for value in values:
                if (
                    hint == "interview_data"
                    and isinstance(value, Mapping)
                    and _kind_of(value) is None
                ):
                    doc = value.get("data", value) if set(value) <= {"data", "meta"} else value
                    if isinstance(doc, Mapping) and "interview_id" not in doc:
                        doc = {**doc, "interview_id": path.name.split(".")[0]}
                    if isinstance(doc, Mapping) and _kind_of(doc) is None and "interview_id" in doc:
                        out["interview_data"].append(doc)
                        continue
                _collect(value, hint, out)
        return out, errors
    if isinstance(folder_or_docs, Mapping) and not any(k in folder_or_docs for k in _KINDS):
        _collect(folder_or_docs, None, out)
        return out, errors
    parts = _world_parts(folder_or_docs)
    for kind in _KINDS:
        out[kind] = list(_iter_docs(parts[kind], kind))
    return out, errors


def load_documents(
    folder_or_docs: str | Path | Any,
    *,
    score_scale: int | None = None,
    strict: bool = False,
) -> InterviewData:
    """Load InterviewData from exported HeyMilo API JSON documents, without the network.

    Parameters
    ----------
    folder_or_docs
        A folder, a single JSON file, the sandbox's ``World`` or a mapping with keys
        ``postings``, ``questions``, ``candidates``, ``interview_data``.

        The folder layout this toolkit documents (each file may be gzipped, ``.json.gz``, and
        may hold the API's envelope ``{"data": ...}`` or the bare document)::

            postings.json                   list of PostingResponse
            questions/<posting_id>.json     list of QuestionResponse
            candidates/<posting_id>.json    list of CandidateResponse (every page)
            interviews/<interview_id>.json  InterviewDataResponse

        Other layouts work too: every ``.json``/``.json.gz``/``.jsonl`` file under the folder is
        read, and each document is recognised by its ``object`` field or its shape (this
        covers the sandbox's ``World.save()`` folder, ``data/demo``). Files named ``truth*``,
        ``outcomes*``, ``demographics*``, ``README*``, ``manifest*`` and ``meta*`` are skipped.
    score_scale
        5 or 10, or None to detect it (see :func:`frames_from_documents`).
    strict
        Raise on the first malformed document instead of listing it in ``errors``.

    Returns
    -------
    InterviewData
        Unreadable files and malformed documents are listed in ``errors``.

    Raises
    ------
    DataError
        The folder does not exist or holds no JSON documents.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     (root / "candidates").mkdir()
    ...     _ = (root / "candidates" / "P.json").write_text(json.dumps([{"interview_id": "I1",
    ...         "posting_id": "P", "name": "A", "email": "a@x.org", "status": "pending"}]))
    ...     load_documents(root).candidates.interview_id.tolist()
    ['I1']
    """
    docs, file_errors = collect_documents(folder_or_docs)
    if strict and file_errors:
        raise DataError(file_errors[0]["error"])
    return frames_from_documents(
        postings=docs["postings"],
        questions=docs["questions"],
        candidates=docs["candidates"],
        interview_data=docs["interview_data"],
        errors=file_errors,
        score_scale=score_scale,
        strict=strict,
    )


# --------------------------------------------------------------------------- pulling from the API
#: Candidate statuses whose interview has results to fetch.
_HAS_RESULTS = RESULT_STATUSES
#: Below this many documents to fetch, no progress bar is shown by default.
_PROGRESS_MIN = 100
#: Interview-data requests in flight by default. At 32 a pull from an unthrottled server runs
#: within ~1.1× of N·latency/32 (benchmarks/bench_load.py); against HeyMilo's 300/min pacing
#: decides and extra requests in flight cost nothing. HeyMiloClient's pool defaults to the same.
DEFAULT_CONCURRENCY = 32

ProgressArg = bool | Callable[[int, int], None] | None


def candidate_fingerprint(candidate: Mapping[str, Any]) -> str:
    """Fingerprint of the parts of a candidate record that change when its results change.

    Score, status, last activity, interview time, shortlisted and dismissed: a recruiter's
    override changes the score and the last activity; a status move changes the status.

    Examples
    --------
    >>> a = {"status": "completed", "score": 71.0, "workflow": {"last_activity_at": 5.0}}
    >>> candidate_fingerprint(a) == candidate_fingerprint(dict(a, score=60.0))
    False
    """
    wf = candidate.get("workflow")
    last = wf.get("last_activity_at") if isinstance(wf, Mapping) else None
    key = [
        candidate.get("status"),
        candidate.get("score"),
        last,
        candidate.get("interviewed_at"),
        candidate.get("shortlisted"),
        candidate.get("dismissed"),
    ]
    return hashlib.sha1(json.dumps(key, default=str).encode()).hexdigest()[:20]


def needs_fetch(candidate: Mapping[str, Any], state: SyncState | None) -> bool:
    """The refetch rule of DESIGN.md, for one candidate of the listing.

    Fetch when the listing says results exist and the store has no good copy, or the candidate
    record changed since the copy (score, status, last activity), or the last fetch failed.
    Unfinished interviews are never fetched.

    Examples
    --------
    >>> needs_fetch({"status": "pending"}, None), needs_fetch({"status": "completed"}, None)
    (False, True)
    """
    if candidate.get("status") not in _HAS_RESULTS:
        return False
    if state is None or state.state != "ok" or not state.has_document:
        return True
    if state.fingerprint is not None and state.fingerprint.startswith(DOCUMENT_FINGERPRINT):
        # a copy brought by a webhook: compared on the fields its document carries
        return state.fingerprint != document_fingerprint(candidate)
    return state.fingerprint != candidate_fingerprint(candidate)


#: How a fingerprint made by :func:`document_fingerprint` begins.
DOCUMENT_FINGERPRINT = "doc:"


def document_fingerprint(record: Mapping[str, Any]) -> str:
    """Fingerprint of the fields an interview-data document shares with its candidate record.

    A document fetched because of a webhook comes without its candidate record, and the
    document lacks the record's ``interviewed_at``, ``shortlisted`` and ``dismissed``; so its
    copy is stored with this fingerprint of status, score and last activity (what DESIGN.md's
    refetch rule watches), and :func:`needs_fetch` compares a listed record on the same fields:
    the next full listing fetches the interview again only if one of them changed.

    Examples
    --------
    >>> doc = {"status": "completed", "score": 71.0, "workflow": {"last_activity_at": 5.0}}
    >>> listed = dict(doc, interviewed_at=4.0, shortlisted=False)
    >>> document_fingerprint(doc) == document_fingerprint(listed)
    True
    >>> document_fingerprint(doc) == document_fingerprint(dict(listed, score=60.0))
    False
    """
    wf = record.get("workflow")
    last = wf.get("last_activity_at") if isinstance(wf, Mapping) else None
    key = [record.get("status"), record.get("score"), last]
    return (
        DOCUMENT_FINGERPRINT + hashlib.sha1(json.dumps(key, default=str).encode()).hexdigest()[:20]
    )


@dataclass
class PullReport:
    """What one pull of one posting did.

    Attributes
    ----------
    posting_id : str
    candidates : int
        Candidates in the listing.
    with_results : int
        Candidates whose listing says results exist.
    fetched : int
        Interview-data documents fetched and stored.
    failed : int
        Documents that failed (fetch error or malformed) and are listed in ``errors``.
    unchanged : int
        Interviews with results served from the store without a request.
    seconds : float
        Wall time of the pull.
    fetch_seconds : float
        Wall time of the interview-data phase (after the listings).
    path : str
        ``"listing"`` (the candidate listing was paged through) or ``"events"`` (with
        ``refresh="auto"``: webhook events kept the store complete, no listing page was read).
    reason : str
        With ``refresh="auto"``: why this path (see :func:`refresh_plan`).
    """

    posting_id: str
    candidates: int = 0
    with_results: int = 0
    fetched: int = 0
    failed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    fetch_seconds: float = 0.0
    path: str = "listing"
    reason: str = ""


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """tqdm.auto bar, a user callback ``(done, total)``, or nothing.

    The total grows while the candidate listing is still being paged through.
    """

    def __init__(self, progress: ProgressArg, desc: str) -> None:
        self.total = 0
        self.done = 0
        self.desc = desc
        self.callback: Callable[[int, int], None] | None = None
        self.bar: Any = None
        self.want_bar = progress is True or (progress is None and _interactive())
        self.always = progress is True
        if callable(progress) and not isinstance(progress, bool):
            self.callback = progress
            self.want_bar = False

    def grow(self, n: int = 1) -> None:
        self.total += n
        if self.bar is not None:
            self.bar.total = self.total
        elif self.want_bar and (self.always or self.total >= _PROGRESS_MIN):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.desc, unit="doc", leave=False)
            self.bar.update(self.done)

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def resolve_concurrency(concurrency: int | None, client: Any = None) -> int:
    """The number of interview-data requests a pull keeps in flight.

    ``None`` means :data:`DEFAULT_CONCURRENCY`. It is capped at the client's connection pool
    (``client.max_connections``): more threads than pooled connections would only queue for a
    connection (and could time out waiting for one). An explicit ``concurrency`` above the
    pool is capped too, with a ``UserWarning`` naming the fix.

    Raises
    ------
    ConfigError
        ``concurrency`` is not an integer >= 1.

    Examples
    --------
    >>> resolve_concurrency(None)
    32
    >>> class Small:
    ...     max_connections = 8
    >>> resolve_concurrency(None, Small())
    8
    """
    if concurrency is not None and (
        not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
    ):
        raise ConfigError(f"concurrency must be an integer >= 1; got {concurrency!r}")
    wanted = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    pool = getattr(client, "max_connections", None)
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 1 or pool >= wanted:
        return wanted
    if concurrency is not None:
        warnings.warn(
            f"concurrency={concurrency} but the client's connection pool holds {pool} "
            f"connections: pulling with {pool} in flight; create the client with "
            f"HeyMiloClient(max_connections={concurrency}) to run {concurrency} in flight",
            UserWarning,
            stacklevel=3,
        )
    else:
        logger.info(
            "the client's pool holds %d connections: pulling with %d in flight (default %d)",
            pool,
            pool,
            DEFAULT_CONCURRENCY,
        )
    return pool


def _posting_not_found(posting_id: str, client: Any, exc: NotFoundError) -> NotFoundError:
    return NotFoundError(
        f"posting {posting_id!r} was not found at {client.base_url} (or this API key cannot "
        "see it)",
        hint="check the id; list them with `HeyMiloClient().postings.list()`",
        cli_hint="check the id; run `milo-analytics postings` to list them",
        status_code=exc.status_code,
        code=exc.code,
        body=exc.body,
        method=exc.method,
        path=exc.path,
        request_id=exc.request_id,
    )


def _validate_fetched(interview_id: str, doc: Any) -> dict[str, Any] | None:
    """The document's frame rows; _Malformed when it is not this interview's document."""
    if not isinstance(doc, dict):
        raise _Malformed(f"the response is {type(doc).__name__}, expected an object")
    got = doc.get("interview_id")
    if got is not None and got != interview_id:
        raise _Malformed(f"the response is for interview {got!r}, not {interview_id!r}")
    return _parse_interview(dict(doc, interview_id=interview_id) if got is None else doc)


#: Format of the pre-parsed rows the store caches next to each document; bump it whenever
#: _parse_interview's output changes, and stored rows of another version are ignored.
ROWS_VERSION = 1


def prepare_document(interview_id: str, doc: Any) -> tuple[bytes, bytes | None, int]:
    """Validate a fetched interview-data document and pack it for the store.

    Returns ``(packed document, packed frame rows or None, rows version)``: the rows are what
    :func:`frames_from_documents` would extract, cached so that building frames from the store
    skips parsing (the raw document stays the source of truth).

    Raises
    ------
    DataError
        The document is malformed (it names the offending field).

    Examples
    --------
    >>> doc = {"interview_id": "I1", "posting_id": "P", "status": "completed", "score": 50.0}
    >>> blob, rows, version = prepare_document("I1", doc)
    >>> isinstance(blob, bytes), isinstance(rows, bytes), version == ROWS_VERSION
    (True, True, True)
    """
    try:
        rows = _validate_fetched(interview_id, doc)
    except _Malformed as exc:
        raise DataError(f"interview {interview_id}: malformed document: {exc}") from None
    return pack_document(doc), None if rows is None else pack_document(rows), ROWS_VERSION


class _Prepared:
    """A stored document with its cached rows (decoded lazily in the frames build)."""

    __slots__ = ("doc", "rows")

    def __init__(self, doc: bytes, rows: bytes) -> None:
        self.doc = doc
        self.rows = rows

    def load(self) -> dict[str, Any] | None:
        try:
            rows = unpack_document(self.rows)
        except (ValueError, TypeError, zlib.error):  # a damaged cache: parse the document again
            try:
                doc = unpack_document(self.doc)
            except (ValueError, TypeError, zlib.error) as exc:
                raise _Damaged(exc) from None
            return _parse_interview(doc)
        for t in rows["transcript"]:
            t[2] = _SPEAKERS.get(t[2], t[2])
        return rows


def pull_posting(
    client: Any,
    store: Store,
    posting_id: str,
    *,
    strict: bool = False,
    progress: ProgressArg = None,
    concurrency: int | None = None,
) -> PullReport:
    """Bring the store up to date with one posting (the API → store half of load_posting).

    Stores the posting and its questions, then pages through the candidate listing and,
    while it does, fetches the interview data of the candidates the refetch rule selects
    (:func:`needs_fetch`) on a thread pool sharing ``client``. Documents are committed with
    their sync state and the candidate records listed so far as they arrive (those arriving
    together in one transaction), so an interruption loses at most the documents in flight,
    and every stored document has its candidate record. The pull's start is recorded first and
    its end last (:meth:`~milo_analytics.store.Store.mark_sync_started`, ``mark_synced``): a
    load from a store whose pull did not finish says so. At the end the whole listing replaces
    the stored one in one transaction (candidates no longer listed leave).

    Parameters
    ----------
    client
        A :class:`~milo_analytics.api.HeyMiloClient` (thread-safe; it retries and paces).
    store
        The :class:`~milo_analytics.store.Store` to update.
    posting_id
        The posting (interviewer) id.
    strict
        Raise on the first document that fails after the client's retries or is malformed.
    progress
        ``None`` (a tqdm bar on long pulls when interactive), ``False``, ``True`` or a callable
        ``(done, total)`` called after each document.
    concurrency
        Interview-data requests in flight at once; ``None``: :data:`DEFAULT_CONCURRENCY`,
        capped at ``client.max_connections`` (see :func:`resolve_concurrency`).

    Returns
    -------
    PullReport

    Raises
    ------
    NotFoundError
        The posting does not exist (or the key cannot see it).
    AuthenticationError
        The key is wrong; the pull stops at once.
    APIError, DataError
        With ``strict=True``, the first failed or malformed document.
    """
    t0 = time.perf_counter()
    report = PullReport(posting_id)
    try:
        posting = client.postings.retrieve(posting_id, raw=True)
    except NotFoundError as exc:
        raise _posting_not_found(posting_id, client, exc) from None
    source = str(getattr(client, "base_url", "") or "") or None
    info = store.posting_info(posting_id)
    if info is not None and source and info["source"] and info["source"] != source:
        logger.warning(
            "posting %s was stored from %s; now pulling from %s: starting afresh",
            posting_id,
            info["source"],
            source,
        )
        store.clear_posting(posting_id)
    store.save_posting(posting_id, posting if isinstance(posting, dict) else None, source=source)
    store.mark_sync_started(posting_id)  # unfinished until mark_synced below

    questions = list(client.questions.list(posting_id, raw=True))
    store.save_questions(posting_id, questions)

    # The interview data of a page's candidates is fetched while the next pages are listed.
    # The candidate records listed so far are stored as the pull goes (each with or before its
    # document), so that an interrupted pull leaves every stored document with its record.
    states = store.sync_states(posting_id)
    listing: dict[str, dict[str, Any]] = {}
    listed: list[tuple[str, int, dict[str, Any]]] = []

    def take_listed() -> list[tuple[str, int, dict[str, Any]]]:
        batch = listed[:]
        listed.clear()
        return batch

    def to_fetch() -> Iterator[tuple[str, str]]:
        for position, cand in enumerate(client.candidates.list(posting_id, raw=True)):
            iid = cand.get("interview_id") if isinstance(cand, dict) else None
            if not isinstance(iid, str) or not iid:
                continue
            seen = iid in listing
            listing.pop(iid, None)  # a record seen twice (it moved while paging): keep the last
            listing[iid] = cand
            listed.append((posting_id, position, cand))
            if len(listed) >= _LISTED_BATCH:
                store.record_fetches(candidates=take_listed())
            if not seen and needs_fetch(cand, states.get(iid)):
                yield iid, candidate_fingerprint(cand)

    t1 = time.perf_counter()
    concurrency = resolve_concurrency(concurrency, client)
    try:
        _fetch_all(
            client, store, posting_id, to_fetch(), report, strict, progress, concurrency,
            take_listed,
        )  # fmt: skip
    except KeyboardInterrupt:
        logger.warning(
            "pull of posting %s interrupted: %d interview documents fetched so far are saved "
            "in %s; run the same load_posting again to resume (saved documents are not "
            "fetched again)",
            posting_id,
            report.fetched,
            store.path,
            extra={"milo_interrupted": True},  # the CLI says it in its own words
        )
        raise
    store.save_candidates(posting_id, listing.values())
    report.candidates = len(listing)
    report.with_results = sum(1 for c in listing.values() if c.get("status") in _HAS_RESULTS)
    report.unchanged = report.with_results - report.fetched - report.failed
    report.fetch_seconds = time.perf_counter() - t1
    logger.info(
        "posting %s: %d candidates, %d with results, %d fetched, %d failed",
        posting_id,
        report.candidates,
        report.with_results,
        report.fetched,
        report.failed,
    )
    store.mark_synced(posting_id)
    report.seconds = time.perf_counter() - t0
    return report


def fetch_document(client: Any, interview_id: str) -> tuple[str, Any]:
    """Request, validate and pack one interview-data document (safe in a worker thread).

    The one fetch of the data path: the pull (:func:`pull_posting`) and the webhook receiver
    (:func:`refresh_interviews`) both use it.

    Returns
    -------
    tuple
        ``("ok", (packed document, packed rows or None, rows version))`` as
        :func:`prepare_document` makes them, or ``(stage, exception)``: stage ``fetch`` (an
        ``APIError`` after the client's retries) or ``parse`` (a body that is not JSON, or a
        malformed document).

    Raises
    ------
    AuthenticationError
        The key is wrong: nothing else will work either.
    """
    from .api.errors import MalformedResponseError

    try:
        doc = client.interviews.data(interview_id, raw=True)
    except AuthenticationError:
        raise
    except MalformedResponseError as exc:
        return STAGE_PARSE, exc
    except Exception as exc:  # APIError after retries, or unexpected: keep going
        return STAGE_FETCH, exc
    try:
        return "ok", prepare_document(interview_id, doc)
    except DataError as exc:
        return STAGE_PARSE, exc


def failure_message(exc: BaseException) -> str:
    """How a failed document's error reads in ``errors`` (never the API key: the client's
    errors do not carry it). Python and the command line both show it, so an error whose fix
    is worded differently for each (``deadline=`` on HeyMiloClient / ``HEYMILO_DEADLINE``)
    keeps the problem without the fix; the next pull retries the document anyway.

    Examples
    --------
    >>> failure_message(DataError("interview I1: malformed document: no score"))
    'malformed document: no score'
    >>> failure_message(TimeoutError("slow"))
    'TimeoutError: slow'
    >>> failure_message(MiloError("too slow", python_hint="raise deadline=", cli_hint="set X"))
    'too slow'
    """
    if isinstance(exc, MiloError):
        message = exc.detail if getattr(exc, "cli_hint", None) is not None else str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, DataError) and ": " in message:
        message = message.split(": ", 1)[1]  # drop the "interview X" prefix
    return message


def _fetch_all(
    client: Any,
    store: Store,
    posting_id: str,
    todo: Iterator[tuple[str, str]],
    report: PullReport,
    strict: bool,
    progress: ProgressArg,
    concurrency: int,
    take_listed: Callable[[], list[tuple[str, int, dict[str, Any]]]] = list,
) -> None:
    results: queue.SimpleQueue[tuple[str, str, str, Any]] = queue.SimpleQueue()

    def work(iid: str, fp: str) -> None:
        """In a worker thread: fetch one document and hand the outcome to the main thread."""
        try:
            status, payload = fetch_document(client, iid)
        except BaseException as exc:  # AuthenticationError, or a bug: re-raised by the main thread
            status, payload = _RAISE, exc
        results.put((iid, fp, status, payload))

    bar = _Progress(progress, f"posting {posting_id}")
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="milo-load")
    # bounded: never more than this many documents in memory; the slack keeps the workers
    # busy while the main thread pages through the candidate listing
    window = max(4 * concurrency, 8)
    todo_iter = iter(todo)
    in_flight = 0
    clean = False

    def submit(n: int) -> int:
        sent = 0
        for iid, fp in itertools.islice(todo_iter, n):
            bar.grow()
            pool.submit(work, iid, fp)
            sent += 1
        return sent

    try:
        in_flight += submit(window)
        while in_flight:
            # the outcomes that arrived together are handled (and committed) together; a
            # queue costs O(1) per document, where futures.wait() re-arms every pending future
            batch = [_get(results)]
            while True:
                try:
                    batch.append(results.get_nowait())
                except queue.Empty:
                    break
            in_flight -= len(batch)
            ok: list[tuple[Any, ...]] = []
            failed: list[tuple[str, str, str, str]] = []
            first_exc: BaseException | None = None
            for iid, fp, status, payload in batch:
                if status == _RAISE:
                    raise payload
                if status == "ok":
                    ok.append((iid, posting_id, payload[0], fp, payload[1], payload[2]))
                else:
                    first_exc = first_exc or payload
                    failed.append((iid, posting_id, status, failure_message(payload)))
            in_flight += submit(len(batch))
            # each document commits together with its sync state (and its candidate record)
            store.record_fetches(ok, failed, take_listed())
            report.fetched += len(ok)
            report.failed += len(failed)
            for iid, _, stage, message in failed:
                logger.warning("interview %s: %s failed: %s", iid, stage, message)
            if strict and first_exc is not None:
                raise first_exc
            for _ in range(len(batch)):
                bar.update()
        clean = True
    finally:
        bar.close()
        # On Ctrl-C or a strict failure, drop what is queued; requests in flight finish in the
        # background and their results are discarded (the store only has committed documents).
        pool.shutdown(wait=clean, cancel_futures=True)


#: Marks a worker outcome that the main thread re-raises (e.g. AuthenticationError).
_RAISE = "raise"


def _get(results: queue.SimpleQueue[Any]) -> Any:
    """Block for the next worker outcome, waking up regularly so Ctrl-C is seen at once."""
    while True:
        try:
            return results.get(timeout=0.5)
        except queue.Empty:
            continue


# --------------------------------------------------------------------------- store → frames
def frames_from_store(
    store: Store,
    posting_ids: Iterable[str],
    *,
    score_scale: int | Mapping[str, int] | None = None,
    strict: bool = False,
    materialised: bool = True,
) -> InterviewData:
    """Build InterviewData for ``posting_ids`` from the store alone (no network).

    Only interviews in each posting's stored candidate listing are included; ``errors`` lists
    those whose last fetch failed (a stale good copy, if any, still appears in the frames).

    When the last pull of a posting did not finish (:meth:`Store.unfinished_sync`), everything
    it stored is loaded: the candidate records listed so far and every interview document of
    the posting (a document without a stored candidate record gets one made from the
    document's own fields, without its dates). Each such posting is in
    ``data.unfinished_syncs`` and gets an :class:`~milo_analytics.errors.UnfinishedSyncWarning`
    saying how much the store holds, when that pull started and how to finish it.

    A stored document that no longer decodes is listed in ``errors`` (stage ``store``) and
    marked in the store for refetch: the next pull fetches it again.

    Parameters
    ----------
    store, posting_ids
        The store and the postings to load.
    score_scale, strict
        See :func:`frames_from_documents`.
    materialised
        True (default): read the frames' parse products the store keeps materialised for
        documents unchanged since they were made, and parse (and materialise) only the others
        (:mod:`milo_analytics.materialised`). False: parse every stored document again and
        leave the materialisation alone — the reference the materialised frames are tested
        and benchmarked against; both give the same frames, errors and warnings.

    Raises
    ------
    DataError
        A posting was never pulled into this store.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of acyclic objects are made while parsing (see frames_from_documents)
    try:
        return _frames_from_store(store, posting_ids, score_scale, strict, materialised)
    finally:
        if gc_was_enabled:
            gc.enable()


def _frames_from_store(
    store: Store,
    posting_ids: Iterable[str],
    score_scale: int | Mapping[str, int] | None,
    strict: bool,
    materialised: bool,
) -> InterviewData:
    _check_scale_argument(score_scale)
    postings: list[Any] = []
    questions: list[Any] = []
    errors: list[dict[str, Any]] = []
    unfinished: list[UnfinishedSync] = []
    damaged_listing: list[dict[str, Any]] = []
    records: list[FrameParts] = []
    made: list[tuple[str, bytes]] = []  # documents without a listed record (unfinished pulls)
    documents: dict[str, FrameParts] = {}
    listed = 0
    for pid in posting_ids:
        if not store.has_posting(pid):
            known = store.posting_ids()
            raise DataError(
                f"posting {pid!r} is not in the store at {store.path}"
                + (f"; the store has {', '.join(known[:10])}" if known else "; the store is empty"),
                python_hint=f"pull it first with load_posting({pid!r}) (refresh=True)",
                cli_hint=f"run `milo-analytics pull {pid}` first"
                + (" (`milo-analytics postings --offline` lists what it has)" if known else ""),
            )
        sync = store.unfinished_sync(pid)
        if sync is not None:
            unfinished.append(sync)
        damaged: list[tuple[str, str]] = []  # listing documents that no longer decode
        doc = store.posting(pid, damaged=damaged)
        if doc is not None:
            postings.append(doc)
        questions.extend(store.questions(pid, damaged=damaged))
        for key, message in damaged:
            damaged_listing.append({"interview_id": None, "stage": STAGE_STORE,
                                    "error": f"posting {pid}, {key}: {message}; the next pull "
                                    "replaces it"})  # fmt: skip
        listing = store.candidate_ids(pid)
        position = pd.Index(listing)
        if materialised:
            cands = _materialised_parts(store, pid, "candidates")
            docs = _materialised_parts(store, pid, "interviews")
        else:
            cands = _candidate_parts(
                (0, iid, blob) for iid, blob in store.iter_candidate_blobs(pid)
            )
            docs = FrameParts.concat("interviews", list(_parsed_documents(store, pid)))
        # the records in listing order, postings one after the other
        cands.docs["order"] = listed + position.get_indexer(cands.docs["key"])
        records.append(cands)
        listed += len(listing)
        if sync is None:  # documents of interviews no longer listed are left out
            keep = isin(docs.docs["key"], listing)
            docs = docs.take(np.flatnonzero(keep))
        else:
            made.extend(store.unlisted_interview_blobs(pid))
        documents[pid] = docs
        in_listing = set(listing)
        errors.extend(e for e in store.errors(pid) if e["interview_id"] in in_listing or sync)
    if made:  # records made from the documents come after every listed one
        records.append(
            _candidate_parts(
                (listed + i, None, record)
                for i, (_iid, blob) in enumerate(made)
                if (record := _candidate_from_document(blob)) is not None
            )
        )
    candidates = FrameParts.concat("candidates", records)
    # candidate records that no longer decode: reported last; the next pull lists them again
    stage = candidates.docs["stage"].to_numpy(dtype=object, na_value=None)
    damaged_records = np.flatnonzero(stage == STAGE_STORE)
    damaged_records = damaged_records[
        np.argsort(candidates.docs["order"].to_numpy()[damaged_records], kind="stable")
    ]
    extra = pd.DataFrame(
        {
            "interview_id": candidates.docs["key"].take(damaged_records).to_numpy(),
            "stage": STAGE_STORE,
            "error": [f"{m}; the next pull lists it again"
                      for m in candidates.docs["error"].take(damaged_records)],
        }
    )  # fmt: skip
    candidates = candidates.take(np.flatnonzero(stage != STAGE_STORE))
    data = _assemble(
        postings=postings,
        questions=questions,
        candidates=candidates,
        # in frame order: postings sorted (each posting's documents are sorted already)
        interviews=FrameParts.concat("interviews", [documents[p] for p in sorted(documents)]),
        errors=errors + damaged_listing,
        score_scale=score_scale,
        strict=strict,
    )
    already = {e["interview_id"] for e in errors if e.get("stage") == STAGE_STORE}
    _mark_damaged_documents(store, data, already)
    if len(extra):
        data.errors = coerce_frame("errors", pd.concat([data.errors, extra], ignore_index=True))
    data.unfinished_syncs = unfinished
    for sync in unfinished:
        warnings.warn(sync.warning(), stacklevel=warning_stacklevel())
    return data


def _stored_interview(row: tuple[Any, ...]) -> Any:
    """A stored ``(interview_id, doc, rows, rows_version)`` as the parser takes it: with its
    cached rows when they are of this version, else the packed document."""
    _iid, blob, rows, version = row
    return _Prepared(blob, rows) if rows and version == ROWS_VERSION else blob


def _parsed_documents(store: Store, posting_id: str) -> Iterator[FrameParts]:
    """The posting's interview documents parsed again, in chunks (the rebuild path)."""
    chunk: list[tuple[str, Any]] = []
    for row in store.iter_interview_blobs(posting_id):
        chunk.append((row[0], _stored_interview(row)))
        if len(chunk) == _CHUNK:
            yield _interview_parts(chunk)
            chunk = []
    yield _interview_parts(chunk)


def _materialised_parts(store: Store, posting_id: str, kind: str) -> FrameParts:
    """The posting's parse products of ``kind``, read from the materialisation where current
    and parsed (then materialised) where not."""
    from . import materialised

    if kind == "interviews":
        return materialised.posting_parts(
            store,
            posting_id,
            kind,
            lambda rows: _interview_parts((row[0], _stored_interview(row)) for row in rows),
        )
    return materialised.posting_parts(
        store, posting_id, kind, lambda rows: _candidate_parts((0, iid, b) for iid, b in rows)
    )


def _candidate_from_document(blob: bytes) -> dict[str, Any] | None:
    """A candidate record made from an interview-data document's own fields (the document
    repeats the record's ids, name, email, status, score, workflow and metadata; it has no
    ``created_at`` or ``interviewed_at``). None when the document does not decode."""
    try:
        doc = unpack_document(blob)
    except (ValueError, TypeError, zlib.error):
        return None  # the document itself is reported (stage "store") and marked
    if not isinstance(doc, Mapping):
        return None
    return _candidate_fields(doc)


def _candidate_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The candidate-record fields an interview-data document repeats."""
    keys = ("interview_id", "posting_id", "candidate_id", "name", "email", "status", "score",
            "workflow", "metadata", "shortlisted", "dismissed")  # fmt: skip
    return {"object": "candidate", **{k: doc[k] for k in keys if k in doc}}


def _mark_damaged_documents(store: Store, data: InterviewData, already: set[str]) -> None:
    """Mark the interview documents that no longer decoded for refetch (best effort: a
    read-only store still loads, and the error stays listed). ``already``: marked before."""
    errors = data.errors
    bad = errors[(errors["stage"] == STAGE_STORE) & errors["interview_id"].notna()]
    marks = [
        (iid, msg)
        for iid, msg in zip(bad["interview_id"], bad["error"], strict=True)
        if iid not in already
    ]
    if not marks:
        return
    try:
        store.mark_damaged(marks)
    except MiloError as exc:
        logger.warning("could not mark %d damaged documents for refetch: %s", len(marks), exc)


# --------------------------------------------------------------------------- the webhook path
# Issue 16: interviews fetched because a webhook said they changed (milo_analytics.live), and
# load_posting(refresh="auto"), which relies on them instead of the candidate listing while a
# receiver keeps the store complete. Same fetch (fetch_document), same store path
# (Store.record_fetches), same `errors` as a pull; only how the interviews are chosen differs.

#: Hours between two complete candidate listings with ``refresh="auto"`` (webhooks carry no
#: recruiter overrides, and a delivery can be lost while a receiver looks up).
DEFAULT_FULL_LISTING_HOURS = 24.0
#: Events that can mean an interview has results; a webhook for one of them must point at the
#: store's receiver for ``refresh="auto"`` to skip the listing.
RESULT_EVENTS = ("report_available", "interview_completed")
#: Unfinished statuses of a document, as a candidate record spells them.
_RECORD_STATUS = {"not_ready": "pending"}


@dataclass(frozen=True)
class InterviewRefresh:
    """What :func:`refresh_interviews` did with one interview.

    Attributes
    ----------
    interview_id : str
    outcome : str
        ``"stored"`` (a finished document and its candidate record), ``"unfinished"`` (no results
        yet: the candidate record only) or ``"failed"``.
    posting_id : str or None
        The posting, from the document (or the caller's hint when the document never came).
    stage, error : str or None
        On failure: ``fetch`` or ``parse`` (as in ``errors``), or ``posting`` (the posting could
        not be stored), and the message.
    transient : bool
        A failure worth trying again later (no connection, 429, 5xx).
    """

    interview_id: str
    outcome: str
    posting_id: str | None = None
    stage: str | None = None
    error: str | None = None
    transient: bool = False


def _is_transient(exc: BaseException) -> bool:
    from .errors import APIConnectionError, RateLimitError, ServerError

    return isinstance(exc, APIConnectionError | RateLimitError | ServerError)


def _ensure_posting(client: Any, store: Store, posting_id: str, source: str | None) -> None:
    """Store the posting and its questions when the store does not know it yet.

    Raises DataError when the store's copy of the posting came from another API base URL.
    """
    info = store.posting_info(posting_id)
    if info is not None and info["source"] and source and info["source"] != source:
        raise DataError(
            f"posting {posting_id} in the store at {store.path} was pulled from "
            f"{info['source']}, but this client talks to {source}; use one store per account"
        )
    if info is not None and store.posting(posting_id, damaged=[]) is not None:
        return
    try:
        posting = client.postings.retrieve(posting_id, raw=True)
    except NotFoundError as exc:
        raise _posting_not_found(posting_id, client, exc) from None
    store.save_posting(posting_id, posting if isinstance(posting, dict) else None, source=source)
    store.save_questions(posting_id, list(client.questions.list(posting_id, raw=True)))


def refresh_interviews(
    client: Any,
    store: Store,
    interview_ids: Iterable[str],
    *,
    posting_hints: Mapping[str, str | None] | None = None,
    completed_at: Mapping[str, float] | None = None,
    via: str = "webhook",
    concurrency: int = 8,
) -> dict[str, InterviewRefresh]:
    """Fetch named interviews and store them the way a pull does, without the listing.

    The webhook receiver (:class:`milo_analytics.live.WebhookReceiver`) calls this with the
    interview ids of the events it acknowledged. Each document is fetched with
    :func:`fetch_document` (the same client, retries and rate limiter as a pull) and written
    with :meth:`~milo_analytics.store.Store.record_fetches` (the same store path), together
    with the interview's candidate record: the stored one updated with the document's status,
    score, workflow and metadata, or one made from the document (which has no ``created_at``,
    and ``interviewed_at`` only from ``completed_at``, until the next full listing brings
    HeyMilo's own record). A finished document is stored
    with a :func:`document_fingerprint`, so the next full listing does not fetch it again
    unless its status, score or last activity changed. An unfinished one (``not_ready``,
    ``in_progress``, ``evaluating``) updates the candidate record only, as a pull would list it.
    A posting the store does not know yet is stored first (its document and questions: two
    requests). Failures are recorded like a pull's (``errors``, stage ``fetch`` or ``parse``).

    Parameters
    ----------
    client
        A :class:`~milo_analytics.api.HeyMiloClient`.
    store
        The :class:`~milo_analytics.store.Store` to update.
    interview_ids
        The interviews to fetch (duplicates are fetched once).
    posting_hints
        ``interview_id -> posting_id`` as the events said: used only to record a failure when
        no document came (the document's own ``posting_id`` is what counts).
    completed_at
        ``interview_id -> epoch seconds`` used as ``interviewed_at`` of a finished interview's
        candidate record when the store has none with it (the receiver passes when its first
        result event arrived; the next full listing replaces it with HeyMilo's own time).
    via
        Recorded with each document (``Store`` column ``interviews.via``).
    concurrency
        Requests in flight at once (capped at the client's pool).

    Returns
    -------
    dict
        ``interview_id -> InterviewRefresh``.

    Raises
    ------
    AuthenticationError
        The key is wrong (nothing is recorded: the caller keeps its events).

    Examples
    --------
    >>> from milo_analytics.sandbox import run_sandbox, WorldConfig  # doctest: +SKIP
    >>> with run_sandbox(WorldConfig(seed=1, n_candidates=20, n_second=0)) as sb:  # doctest: +SKIP
    ...     iid = next(iter(sb.world.interview_data))
    ...     with sb.client() as client, Store(":memory:") as store:
    ...         refresh_interviews(client, store, [iid])[iid].outcome
    'stored'
    """
    ids = [i for i in dict.fromkeys(interview_ids) if isinstance(i, str) and i]
    if not ids:
        return {}
    hints = dict(posting_hints or {})
    times = dict(completed_at or {})
    pool_size = getattr(client, "max_connections", concurrency)
    workers = max(1, min(concurrency, len(ids), pool_size if isinstance(pool_size, int) else 8))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="milo-refresh") as pool:
        fetched = list(pool.map(lambda iid: (iid, fetch_document(client, iid)), ids))
    source = str(getattr(client, "base_url", "") or "") or None
    out: dict[str, InterviewRefresh] = {}
    ok: list[tuple[Any, ...]] = []
    failed: list[tuple[str, str, str, str]] = []
    records: list[tuple[str, int, dict[str, Any]]] = []
    postings_ready: dict[str, BaseException | None] = {}
    for iid, (status, payload) in fetched:
        if status != "ok":
            pid = hints.get(iid) or _known_posting(store, iid)
            message = failure_message(payload)
            out[iid] = InterviewRefresh(iid, "failed", pid, status, message, _is_transient(payload))
            if pid:
                failed.append((iid, pid, status, message))
            continue
        blob, rows, version = payload
        doc = unpack_document(blob)
        pid = str(doc["posting_id"])  # validated by prepare_document
        if pid not in postings_ready:
            try:
                _ensure_posting(client, store, pid, source)
                postings_ready[pid] = None
            except AuthenticationError:
                raise
            except (MiloError, OSError) as exc:
                postings_ready[pid] = exc
        problem = postings_ready[pid]
        if problem is not None:
            out[iid] = InterviewRefresh(
                iid, "failed", pid, "posting", failure_message(problem), _is_transient(problem)
            )
            continue
        finished = rows is not None
        stored = store.candidate_record(iid)
        record = dict(stored[2]) if stored is not None and stored[0] == pid else {}
        record.update(_candidate_fields(doc))
        record["status"] = _RECORD_STATUS.get(record.get("status"), record.get("status"))
        if finished and record.get("interviewed_at") is None and iid in times:
            record["interviewed_at"] = times[iid]
        position = (
            stored[1]
            if stored is not None and stored[0] == pid
            else store.next_candidate_position(pid) + len(records)
        )
        records.append((pid, position, record))
        if finished:
            ok.append((iid, pid, blob, document_fingerprint(doc), rows, version))
            out[iid] = InterviewRefresh(iid, "stored", pid)
        else:
            out[iid] = InterviewRefresh(iid, "unfinished", pid)
    store.record_fetches(ok, failed, records, via=via)
    for iid, r in out.items():
        if r.outcome == "failed":
            logger.warning("interview %s: %s failed: %s", iid, r.stage, r.error)
    return out


def _known_posting(store: Store, interview_id: str) -> str | None:
    """The posting the store files an interview under (its candidate record or document)."""
    record = store.candidate_record(interview_id)
    if record is not None:
        return record[0]
    state = store.interview_states([interview_id]).get(interview_id)
    return None if state is None else state.posting_id


@dataclass(frozen=True)
class RefreshPlan:
    """How ``load_posting(..., refresh="auto")`` brings one posting up to date.

    Attributes
    ----------
    posting_id : str
    path : str
        ``"listing"`` (a full pull: every candidate page) or ``"events"`` (no listing page: the
        posting and its questions, plus any events no receiver is processing).
    reason : str
        Why, in words (the first rule of :func:`refresh_plan` that decided).
    """

    posting_id: str
    path: str
    reason: str


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


#: Seconds a heartbeat may be late (a busy machine delays the heartbeat thread) beyond two
#: heartbeat intervals before a receiver that did not stop counts as down.
HEARTBEAT_GRACE = 5.0


def heartbeat_is_recent(run: Mapping[str, Any], now: float) -> bool:
    """Whether a receiver run that did not stop still beats (``listener_runs`` row).

    Examples
    --------
    >>> run = {"last_seen_at": 100.0, "heartbeat": 30.0}
    >>> heartbeat_is_recent(run, 160.0), heartbeat_is_recent(run, 170.0)
    (True, False)
    """
    beat = float(run.get("heartbeat") or 30.0)
    return now - float(run["last_seen_at"]) <= 2 * beat + HEARTBEAT_GRACE


def _coverage_gap(
    runs: list[dict[str, Any]], start: float, now: float
) -> tuple[float, float] | None:
    """The first stretch of ``[start, now]`` no receiver run covers, or None.

    A run covers ``[started_at, stopped_at]``; one that did not stop covers up to ``now`` while
    its heartbeats are recent (:func:`heartbeat_is_recent`), else up to its last heartbeat (it
    was killed some time after it).
    """
    spans = []
    for r in runs:
        end = r["stopped_at"]
        if end is None:
            end = now if heartbeat_is_recent(r, now) else r["last_seen_at"]
        spans.append((r["started_at"], end))
    covered = start
    for begin, end in sorted(spans):
        if begin > covered:
            return covered, begin
        covered = max(covered, end)
        if covered >= now:
            return None
    return (covered, now) if covered < now else None


def refresh_plan(
    store: Store,
    posting_id: str,
    *,
    client: Any = None,
    full_listing_hours: float = DEFAULT_FULL_LISTING_HOURS,
    now: float | None = None,
) -> RefreshPlan:
    """Decide whether ``refresh="auto"`` may skip the candidate listing of a posting.

    The listing is skipped (path ``"events"``) only when all of these hold, checked in order;
    the first that fails says why the posting is listed in full (path ``"listing"``):

    1. the store has a complete listing of the posting, and the last pull finished;
    2. that listing is younger than ``full_listing_hours`` (recruiter overrides send no event,
       and a periodic full listing also catches deliveries HeyMilo never made);
    3. a webhook receiver on this store was up from the start of that listing until now, with
       no gap between runs (heartbeats in the store's ``listener_runs``; a run that stops
       heartbeating counts as down from its last heartbeat);
    4. it refused no delivery that carried the right token (too large, not JSON, over the
       rate cap: such an event may be lost);
    5. with ``client``: HeyMilo has an active webhook of the posting for ``report_available``
       or ``interview_completed`` pointing at this store's receiver (one request,
       ``GET /webhooks``; without ``client`` this is not checked).

    Examples
    --------
    >>> with Store(":memory:") as s:
    ...     refresh_plan(s, "P1").reason
    'posting P1 was never listed completely into this store'
    """
    now = time.time() if now is None else now
    info = store.posting_info(posting_id)
    if info is None or info["synced_at"] is None:
        return RefreshPlan(
            posting_id,
            "listing",
            f"posting {posting_id} was never listed completely into this store",
        )
    if store.unfinished_sync(posting_id) is not None:
        return RefreshPlan(posting_id, "listing", "the last pull did not finish")
    started = info["sync_started_at"] if info["sync_started_at"] is not None else info["synced_at"]
    age = now - info["synced_at"]
    if age >= full_listing_hours * 3600:
        return RefreshPlan(
            posting_id,
            "listing",
            f"the last complete listing ended {_hours(age)} ago (full listing every "
            f"{full_listing_hours:g} h)",
        )
    runs = store.listener_runs(since=started)
    gap = _coverage_gap(runs, started, now)
    if gap is not None:
        begin, end = (_dt.datetime.fromtimestamp(t, _dt.UTC) for t in gap)
        return RefreshPlan(
            posting_id,
            "listing",
            f"no webhook receiver on this store was up from {begin:%Y-%m-%d %H:%M:%S} to "
            f"{end:%H:%M:%S} UTC ({gap[1] - gap[0]:.1f} s) since the last complete listing "
            "started",
        )
    rejected = sum(
        int(r["rejected"])
        for r in runs
        if r["rejected"] and (r["last_rejected_at"] or 0) >= started
    )
    if rejected:
        return RefreshPlan(
            posting_id,
            "listing",
            f"the receiver refused {rejected} deliver{'y' if rejected == 1 else 'ies'} with the "
            "right token since the last complete listing (events may be lost)",
        )
    if client is not None:
        from .errors import APIError

        token = store.webhook_token(create=False)
        try:
            hooks = [] if token is None else list(client.webhooks.list(raw=True))
        except AuthenticationError:
            raise
        except APIError as exc:
            return RefreshPlan(posting_id, "listing", f"the webhooks could not be checked ({exc})")
        ours = [
            h
            for h in hooks
            if isinstance(h, Mapping)
            and h.get("posting_id") == posting_id
            and h.get("event_type") in RESULT_EVENTS
            and h.get("is_active", True) is not False
            and token in str(h.get("webhook_url") or h.get("url") or "")
        ]
        if not ours:
            return RefreshPlan(
                posting_id,
                "listing",
                f"HeyMilo has no active {' or '.join(RESULT_EVENTS)} webhook of posting "
                f"{posting_id} pointing at this store's receiver",
            )
    return RefreshPlan(
        posting_id,
        "events",
        f"a webhook receiver kept the store up to date since the last complete listing "
        f"({_hours(age)} ago)",
    )


def _refresh_from_events(
    client: Any, store: Store, posting_id: str, plan: RefreshPlan, concurrency: int
) -> PullReport:
    """The ``"events"`` path of ``refresh="auto"``: the posting and its questions (two
    requests), and the posting's queued events when no receiver is up to process them (one
    started with ``process=False`` only records them)."""
    t0 = time.perf_counter()
    report = PullReport(posting_id, path="events", reason=plan.reason)
    try:
        posting = client.postings.retrieve(posting_id, raw=True)
    except NotFoundError as exc:
        raise _posting_not_found(posting_id, client, exc) from None
    store.save_posting(posting_id, posting if isinstance(posting, dict) else None)
    store.save_questions(posting_id, list(client.questions.list(posting_id, raw=True)))
    from .live.queue import process_events, receiver_alive  # the event queue's rule

    if not receiver_alive(store, processing=True):  # e.g. a receiver that only records
        while True:
            due = store.due_events(posting_id=posting_id, limit=1000)
            if not due:
                break
            counts = process_events(client, store, due, concurrency=concurrency)
            report.fetched += counts["stored"] + counts["unfinished"]
            report.failed += counts["failed"] + counts["retry"]
            if counts["retry"]:
                break  # the rest waits for its delay (the receiver, or the next load)
    report.candidates = len(store.candidate_ids(posting_id))
    report.seconds = report.fetch_seconds = time.perf_counter() - t0
    logger.info("posting %s: no listing (%s)", posting_id, plan.reason)
    return report


# --------------------------------------------------------------------------- the public loaders
def _check_ids(posting_ids: Any) -> list[str]:
    if isinstance(posting_ids, str):
        posting_ids = [posting_ids]
    ids = list(dict.fromkeys(posting_ids))
    bad = [p for p in ids if not isinstance(p, str) or not p.strip()]
    if bad or not ids:
        raise ConfigError(
            f"posting ids must be non-empty strings; got {bad or ids!r}",
            python_hint="find them with client.postings.list()",
            cli_hint="run `milo-analytics postings` to list them",
        )
    return [p.strip() for p in ids]


def load_postings(
    posting_ids: Iterable[str],
    *,
    client: Any = None,
    store: Store | str | Path | None = None,
    refresh: bool | str = True,
    strict: bool = False,
    progress: ProgressArg = None,
    concurrency: int | None = None,
    score_scale: int | Mapping[str, int] | None = None,
    full_listing_hours: float = DEFAULT_FULL_LISTING_HOURS,
) -> InterviewData:
    """Load several postings into one :class:`InterviewData` (see :func:`load_posting`).

    Examples
    --------
    >>> from milo_analytics.sandbox import run_sandbox  # doctest: +SKIP
    >>> with run_sandbox("demo") as sb, sb.client() as client:  # doctest: +SKIP
    ...     data = load_postings([p["id"] for p in sb.world.postings], client=client,
    ...                          store=":memory:")
    """
    ids = _check_ids(posting_ids)
    _check_refresh(refresh, full_listing_hours)
    if client is not None or not refresh:
        concurrency = resolve_concurrency(concurrency, client)
    else:  # the client made below gets a pool of this size
        concurrency = resolve_concurrency(concurrency)
    own_store = not isinstance(store, Store)
    st = store if isinstance(store, Store) else Store(store)
    own_client = False
    try:
        if refresh:
            if client is None:
                from .api import HeyMiloClient

                client = HeyMiloClient(max_connections=concurrency)
                own_client = True
            reports = []
            for pid in ids:
                plan = None
                if refresh == "auto":
                    plan = refresh_plan(
                        st, pid, client=client, full_listing_hours=full_listing_hours
                    )
                    if plan.path == "events":
                        reports.append(_refresh_from_events(client, st, pid, plan, concurrency))
                        continue
                report = pull_posting(
                    client, st, pid, strict=strict, progress=progress, concurrency=concurrency
                )
                if plan is not None:
                    report.reason = plan.reason
                reports.append(report)
        data = frames_from_store(st, ids, score_scale=score_scale, strict=strict)
        if refresh:
            data.pull_reports = reports  # type: ignore[attr-defined]
        return data
    finally:
        if own_client:
            client.close()
        if own_store:
            st.close()


def _check_refresh(refresh: Any, full_listing_hours: Any) -> None:
    if not (refresh is True or refresh is False or refresh == "auto"):
        raise ConfigError(
            f"refresh must be True (pull), False (the store only) or 'auto' (use webhook "
            f"events while a receiver keeps the store up to date); got {refresh!r}"
        )
    if (
        isinstance(full_listing_hours, bool)
        or not isinstance(full_listing_hours, int | float)
        or not full_listing_hours >= 0
    ):
        raise ConfigError(
            f"full_listing_hours must be a number of hours >= 0 (e.g. 24); got "
            f"{full_listing_hours!r}"
        )


def load_posting(
    posting_id: str,
    *,
    client: Any = None,
    store: Store | str | Path | None = None,
    refresh: bool | str = True,
    strict: bool = False,
    progress: ProgressArg = None,
    concurrency: int | None = None,
    score_scale: int | Mapping[str, int] | None = None,
    full_listing_hours: float = DEFAULT_FULL_LISTING_HOURS,
) -> InterviewData:
    """Pull one posting's interview results into the local store and return tidy frames.

    Incremental: an interview's data is fetched only when the candidate listing says results
    exist and the store has no good copy, or the candidate record changed since (score,
    status, last activity — recruiters can override scores), or the last fetch failed. An
    unchanged interview, finished or not, costs no request. Requests run on a thread pool
    sharing one client (which retries and paces to the rate limit), so this also works inside
    a running event loop (Jupyter).

    Parameters
    ----------
    posting_id
        The posting (interviewer) id, e.g. ``"13D77095"``.
    client
        A :class:`~milo_analytics.api.HeyMiloClient`; by default one is made from
        ``HEYMILO_API_KEY`` / ``HEYMILO_BASE_URL`` and closed afterwards.
    store
        A :class:`~milo_analytics.store.Store` or the path of one; by default the store under
        the user's data directory.
    refresh
        True: pull (page through the candidate listing, fetch what changed). False: no network
        at all; build the frames from what the store has. ``"auto"``: like True, but when a
        webhook receiver (:class:`milo_analytics.live.WebhookReceiver`, ``milo-analytics
        listen``) kept the store up to date since the last complete listing, no listing page
        is read — only the posting and its questions (see :func:`refresh_plan` for the rule);
        every ``full_listing_hours`` a full listing still runs.
    strict
        Raise on the first document that still fails after the client's retries, or is
        malformed, instead of listing it in ``errors``.
    progress
        ``None`` shows a tqdm progress bar on long pulls when interactive; ``False`` never;
        ``True`` always; a callable ``(done, total)`` is called after each document.
    concurrency
        Interview-data requests in flight at once (default :data:`DEFAULT_CONCURRENCY`, 32).
        A client made here gets a connection pool of this size; a client passed in caps it
        at its ``max_connections`` (with a warning when ``concurrency`` was given explicitly).
    score_scale
        5 or 10 (or ``{posting_id: scale}``); detected per posting when None.
    full_listing_hours
        With ``refresh="auto"``: list every candidate page at least this often (default 24).

    Returns
    -------
    InterviewData
        ``errors`` lists only documents that failed to load or parse; unfinished interviews are
        in ``candidates`` only. After a pull, ``data.pull_reports`` holds one
        :class:`PullReport` per posting (its ``path`` says whether the listing was read).

    Raises
    ------
    NotFoundError
        The posting does not exist at the API (or this key cannot see it).
    DataError
        ``refresh=False`` and the posting was never pulled into the store.
    ConfigError
        No API key (set ``HEYMILO_API_KEY``), or a bad argument.

    Examples
    --------
    >>> from milo_analytics.sandbox import run_sandbox  # doctest: +SKIP
    >>> with run_sandbox("demo") as sb, sb.client() as client:  # doctest: +SKIP
    ...     data = load_posting(sb.world.postings[0]["id"], client=client, store=":memory:")
    ...     data.score_matrix().shape
    """
    return load_postings(
        [posting_id],
        client=client,
        store=store,
        refresh=refresh,
        strict=strict,
        progress=progress,
        concurrency=concurrency,
        score_scale=score_scale,
        full_listing_hours=full_listing_hours,
    )


# --------------------------------------------------------------------------- posting listing
#: Columns of :func:`list_postings`, in order, with their dtypes.
POSTING_LIST_SCHEMA: dict[str, str] = {
    "posting_id": "str",
    "title": "str",
    "status": "str",
    "candidates": "Int64",
    "completed_interviews": "Int64",
    "average_score": "Float64",
    "synced_at": UTC_TIME,
}


def _posting_row(doc: Mapping[str, Any] | None, posting_id: str) -> dict[str, Any]:
    doc = doc if isinstance(doc, Mapping) else {}
    title, status = doc.get("title"), doc.get("status")
    if doc.get("archived") is True and status != "archived":
        status = f"{status}, archived" if isinstance(status, str) and status else "archived"
    return {
        "posting_id": posting_id,
        "title": title if isinstance(title, str) else None,
        "status": status if isinstance(status, str) and status else None,
    }


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _score(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _synced_at(st: Store | None, posting_id: str) -> float | None:
    info = st.posting_info(posting_id) if st is not None else None
    return None if info is None else info.get("synced_at")


def _postings_from_api(client: Any, st: Store | None, search: str | None) -> list[dict[str, Any]]:
    rows = []
    for doc in client.postings.list(search=search, raw=True):
        pid = str(doc.get("id") or "") if isinstance(doc, Mapping) else ""
        if not pid:
            continue
        row = _posting_row(doc, pid)
        try:
            stats = client.postings.stats(pid, raw=True)
        except NotFoundError:  # removed between the listing and its stats: no counts
            stats = {}
        stats = stats if isinstance(stats, Mapping) else {}
        row.update(
            candidates=_count(stats.get("total_candidates")),
            completed_interviews=_count(stats.get("completed_interviews")),
            average_score=_score(stats.get("average_interview_score")),
            synced_at=_synced_at(st, pid),
        )
        if row["title"] is None and isinstance(stats.get("title"), str):
            row["title"] = stats["title"]
        rows.append(row)
    return rows


def _postings_from_store(st: Store, search: str | None) -> list[dict[str, Any]]:
    rows = []
    for pid in st.posting_ids():
        damaged: list[tuple[str, str]] = []
        row = _posting_row(st.posting(pid, damaged=damaged), pid)
        if search and search.lower() not in (row["title"] or "").lower():
            continue
        n = done = 0
        scores = []
        for c in st.iter_candidates(pid, damaged=damaged):  # damaged records are not counted
            n += 1
            if c.get("status") in RESULT_STATUSES:
                done += 1
                if (s := _score(c.get("score"))) is not None:
                    scores.append(s)
        row.update(
            candidates=n,
            completed_interviews=done,
            average_score=round(sum(scores) / len(scores), 2) if scores else None,
            synced_at=_synced_at(st, pid),
        )
        rows.append(row)
    return rows


def list_postings(
    *,
    client: Any = None,
    store: Store | str | Path | None = None,
    refresh: bool = True,
    search: str | None = None,
) -> pd.DataFrame:
    """The postings an API key can see, with their candidate counts (or those a store holds).

    From the API (the default): one listing (``client.postings.list()``) and one
    ``client.postings.stats()`` request per posting, so the counts are the server's. With
    ``refresh=False``: no network at all; the postings pulled into ``store`` with the counts
    of the candidate listing stored by the last pull.

    Parameters
    ----------
    client
        A :class:`~milo_analytics.api.HeyMiloClient`; by default one is made from
        ``HEYMILO_API_KEY`` / ``HEYMILO_BASE_URL`` and closed afterwards.
    store
        A :class:`~milo_analytics.store.Store` or the path of one. With ``refresh=False`` the
        postings are read from it (by default the store under the user's data directory);
        otherwise it only fills ``synced_at`` (when each posting was last pulled into it).
    refresh
        False: list what the store holds, without the network.
    search
        Keep postings whose title contains this text (case-insensitive).

    Returns
    -------
    pandas.DataFrame
        One row per posting, sorted by title then id, with columns ``posting_id``, ``title``,
        ``status`` (as the API says; ``archived`` added when the posting is), ``candidates``
        (every candidate of the posting), ``completed_interviews`` (candidates with results:
        completed, shortlisted, dismissed, knocked out), ``average_score`` (their average
        overall score) and ``synced_at`` (end of the last complete pull into ``store``; NaT
        when never, or when no store was given). A count the server did not give is NA.

    Raises
    ------
    ConfigError
        No API key (set ``HEYMILO_API_KEY``) when listing from the API.
    AuthenticationError
        The key was rejected.

    Examples
    --------
    >>> import httpx
    >>> from milo_analytics.api import HeyMiloClient
    >>> def api(request):
    ...     if request.url.path.endswith("/stats"):
    ...         return httpx.Response(200, json={"data": {"posting_id": "P1",
    ...             "total_candidates": 12, "completed_interviews": 9}})
    ...     return httpx.Response(200, json={"data": [{"id": "P1", "title": "CSR",
    ...         "status": "active"}], "pagination": {"has_more": False}})
    >>> with HeyMiloClient(api_key="k-123456", transport=httpx.MockTransport(api)) as client:
    ...     table = list_postings(client=client)
    >>> table[["posting_id", "title", "status", "candidates", "completed_interviews"]].values.tolist()
    [['P1', 'CSR', 'active', 12, 9]]
    """
    if search is not None and not isinstance(search, str):
        raise ConfigError(f"search must be a string (part of a title); got {search!r}")
    search = search.strip() or None if search is not None else None
    # a Store is the caller's; a path (or the default store, offline) is opened and closed here
    own_store = not isinstance(store, Store) and (store is not None or not refresh)
    st = store if isinstance(store, Store) else Store(store) if own_store else None
    own_client = False
    try:
        if not refresh:
            assert st is not None
            rows = _postings_from_store(st, search)
        else:
            if client is None:
                from .api import HeyMiloClient

                client = HeyMiloClient()
                own_client = True
            rows = _postings_from_api(client, st, search)
    finally:
        if own_client:
            client.close()
        if own_store and st is not None:
            st.close()
    frame = pd.DataFrame(rows, columns=list(POSTING_LIST_SCHEMA))
    frame["synced_at"] = pd.to_datetime(frame["synced_at"], unit="s", utc=True)
    frame = frame.astype(POSTING_LIST_SCHEMA)
    order = frame["title"].fillna("").str.casefold()
    frame = frame.assign(_order=order).sort_values(["_order", "posting_id"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)
