"""Frame schemas and :class:`InterviewData`, the tidy container every analysis takes.

The column names here are part of the public contract (see DESIGN.md). Text columns use
pandas' ``str`` dtype, times are timezone-aware UTC, weights and scores are floats
(HeyMilo guides use float weights such as 1.5; the questions API writes integers 1–10).

Examples
--------
>>> from milo_analytics.frames import empty_frame
>>> list(empty_frame("highlights").columns)
['interview_id', 'kind', 'text']
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError

__all__ = ["SCHEMAS", "InterviewData", "coerce_frame", "empty_frame"]

UTC_TIME = "datetime64[us, UTC]"

#: Column name -> dtype, per frame. The first columns of each are the contract of DESIGN.md;
#: the rest are additions that analyses may use.
SCHEMAS: dict[str, dict[str, str]] = {
    "postings": {
        "posting_id": "str",
        "title": "str",
        "name": "str",
        "interviewer_name": "str",
        "created_at": UTC_TIME,
        "updated_at": UTC_TIME,
        "score_scale": "Int64",
    },
    "questions": {
        "posting_id": "str",
        "question_id": "str",
        "rank": "Int64",
        "text": "str",
        "score_weight": "Float64",
        "not_scored": "bool",
        "modality": "str",
        "question_type": "str",
        "updated_at": UTC_TIME,
    },
    "candidates": {
        "interview_id": "str",
        "posting_id": "str",
        "candidate_id": "str",
        "name": "str",
        "email": "str",
        "status": "str",
        "score": "Float64",
        "created_at": UTC_TIME,
        "interviewed_at": UTC_TIME,
        "shortlisted": "boolean",
        "dismissed": "boolean",
        "last_activity_at": UTC_TIME,
        "external_id": "str",
    },
    "interviews": {
        "interview_id": "str",
        "posting_id": "str",
        "status": "str",
        "score": "Float64",
        "match_score": "Float64",
        "speech_score": "Float64",
        "interviewed_at": UTC_TIME,
    },
    "scores": {
        "interview_id": "str",
        "posting_id": "str",
        "question_id": "str",
        "rank": "Int64",
        "score": "Float64",
        "score_weight": "Float64",
        "not_scored": "bool",
        "evaluation_summary": "str",
        "question_text": "str",
    },
    "transcript": {
        "interview_id": "str",
        "turn": "Int64",
        "speaker": "str",
        "text": "str",
        "timestamp": "Float64",
        "question_id": "str",
    },
    "highlights": {
        "interview_id": "str",
        "kind": "str",
        "text": "str",
    },
    "errors": {
        "interview_id": "str",
        "stage": "str",
        "error": "str",
    },
}

#: Statuses whose candidates have interview results.
RESULT_STATUSES = frozenset({"completed", "shortlisted", "dismissed", "knocked_out"})
#: Statuses of interviews that are not finished yet (not errors).
UNFINISHED_STATUSES = frozenset({"pending", "in_progress", "evaluating", "not_ready"})


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of schema ``name``.

    Examples
    --------
    >>> empty_frame("errors").dtypes.astype(str).tolist()
    ['str', 'str', 'str']
    """
    schema = SCHEMAS[name]
    return pd.DataFrame({col: pd.Series([], dtype=dtype) for col, dtype in schema.items()})


def coerce_frame(name: str, frame: pd.DataFrame | dict[str, Any]) -> pd.DataFrame:
    """Return ``frame`` with the schema's columns (in order, missing ones filled) and dtypes.

    Extra columns are kept after the schema's. Never mutates the input.

    Examples
    --------
    >>> out = coerce_frame("highlights", {"interview_id": ["A"], "kind": ["highlight"], "text": ["ok"]})
    >>> out.shape
    (1, 3)
    """
    df = pd.DataFrame(frame)
    schema = SCHEMAS[name]
    n = len(df)
    cols: dict[str, pd.Series] = {}
    for col, dtype in schema.items():
        if col in df.columns:
            s = df[col]
            if dtype == UTC_TIME:
                s = _to_utc(s)
            elif str(s.dtype) != dtype:
                s = s.astype(dtype)
            cols[col] = s
        else:
            cols[col] = pd.Series(
                [pd.NA if dtype not in ("str", "bool") else None] * n,
                dtype=dtype if dtype != "bool" else "boolean",
                index=df.index,
            )
            if dtype == "bool":
                cols[col] = cols[col].fillna(False).astype(bool)
    extra = [c for c in df.columns if c not in schema]
    out = pd.DataFrame(cols, index=df.index)
    for c in extra:
        out[c] = df[c]
    return out.reset_index(drop=True)


def _to_utc(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype(UTC_TIME)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_datetime(s.astype("float64"), unit="s", utc=True).astype(UTC_TIME)
    return pd.to_datetime(s, utc=True).astype(UTC_TIME)


@dataclass
class InterviewData:
    """Tidy frames for one or several postings.

    Attributes
    ----------
    questions, candidates, interviews, scores, transcript, highlights, errors : DataFrame
        See the frame table in DESIGN.md.
    postings : DataFrame
        One row per posting loaded.
    score_scale : int or None
        Maximum of the per-question score scale (5 or 10), detected or set by the user. When
        postings use different scales this is the largest; ``postings.score_scale`` holds each
        posting's own scale.
    unfinished_syncs : list of milo_analytics.store.UnfinishedSync
        Postings loaded from a store whose last pull did not finish: the frames hold only what
        that pull had saved (``posting_id``, ``started_at``, ``documents``, ``candidates``...).
        Empty when every pull finished.

    Examples
    --------
    >>> data = InterviewData()
    >>> data.score_matrix().shape
    (0, 0)
    """

    questions: pd.DataFrame = field(default_factory=lambda: empty_frame("questions"))
    candidates: pd.DataFrame = field(default_factory=lambda: empty_frame("candidates"))
    interviews: pd.DataFrame = field(default_factory=lambda: empty_frame("interviews"))
    scores: pd.DataFrame = field(default_factory=lambda: empty_frame("scores"))
    transcript: pd.DataFrame = field(default_factory=lambda: empty_frame("transcript"))
    highlights: pd.DataFrame = field(default_factory=lambda: empty_frame("highlights"))
    errors: pd.DataFrame = field(default_factory=lambda: empty_frame("errors"))
    postings: pd.DataFrame = field(default_factory=lambda: empty_frame("postings"))
    score_scale: int | None = None
    # not a dataclass field: code that walks fields(InterviewData) meets frames and the scale
    unfinished_syncs: InitVar[list[Any] | None] = None

    FRAME_NAMES = (
        "questions",
        "candidates",
        "interviews",
        "scores",
        "transcript",
        "highlights",
        "errors",
        "postings",
    )

    def __post_init__(self, unfinished_syncs: list[Any] | None) -> None:
        self.unfinished_syncs: list[Any] = list(unfinished_syncs or ())
        for name in self.FRAME_NAMES:
            setattr(self, name, coerce_frame(name, getattr(self, name)))
        if self.score_scale is None:
            self.score_scale = detect_score_scale(self.scores["score"])

    # ------------------------------------------------------------------ views
    @property
    def posting_ids(self) -> list[str]:
        """The postings present in any frame, sorted."""
        ids: set[str] = set()
        for name in ("postings", "questions", "candidates"):
            ids.update(getattr(self, name)["posting_id"].dropna().tolist())
        return sorted(ids)

    def score_matrix(
        self, posting_id: str | None = None, *, include_not_scored: bool = False
    ) -> pd.DataFrame:
        """Wide interview × question score matrix.

        Parameters
        ----------
        posting_id
            Restrict to one posting; required only to disambiguate when several postings
            share question ids (they never do in HeyMilo).
        include_not_scored
            Keep informational (``not_scored``) questions as columns.

        Returns
        -------
        DataFrame
            Index ``interview_id``; columns ``question_id`` ordered by rank; float values, NaN
            where a question was not answered.

        Examples
        --------
        >>> import pandas as pd
        >>> scores = pd.DataFrame({"interview_id": ["i1", "i1", "i2"], "posting_id": "P",
        ...     "question_id": ["q1", "q2", "q1"], "rank": [1, 2, 1], "score": [4, 3, 5],
        ...     "score_weight": 1.0, "not_scored": False, "evaluation_summary": ""})
        >>> InterviewData(scores=scores).score_matrix().to_dict("index")
        {'i1': {'q1': 4.0, 'q2': 3.0}, 'i2': {'q1': 5.0, 'q2': nan}}
        """
        s = self.scores
        if posting_id is not None:
            s = s[s["posting_id"] == posting_id]
        if not include_not_scored:
            s = s[~s["not_scored"]]
        if s.empty:
            return pd.DataFrame()
        order = s.groupby("question_id", sort=False)["rank"].min().sort_values(kind="stable").index
        wide = s.pivot_table(
            index="interview_id", columns="question_id", values="score", aggfunc="first"
        ).astype("float64")
        wide = wide.reindex(columns=list(order))
        wide.columns.name = "question_id"
        return wide

    def filter(
        self,
        *,
        start: Any = None,
        end: Any = None,
        status: str | Iterable[str] | None = None,
        posting_id: str | Iterable[str] | None = None,
        on: str = "created_at",
    ) -> InterviewData:
        """A new InterviewData restricted by date range (inclusive start, exclusive end),
        status and posting.

        Parameters
        ----------
        start, end
            Anything ``pd.Timestamp`` accepts; naive values are taken as UTC.
        status
            One status or several, matched against ``candidates.status``.
        posting_id
            One posting id or several.
        on
            The candidate time column the range applies to (``created_at`` or ``interviewed_at``).

        Examples
        --------
        >>> InterviewData().filter(status="completed").candidates.empty
        True
        """
        c = self.candidates
        keep = pd.Series(True, index=c.index)
        if on not in ("created_at", "interviewed_at"):
            raise DataError(
                f"filter(on={on!r}) is not a time column; use 'created_at' or 'interviewed_at'"
            )
        if start is not None:
            keep &= (c[on] >= _utc(start)).fillna(False)
        if end is not None:
            keep &= (c[on] < _utc(end)).fillna(False)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            keep &= c["status"].isin(wanted)
        if posting_id is not None:
            wanted = [posting_id] if isinstance(posting_id, str) else list(posting_id)
            keep &= c["posting_id"].isin(wanted)
        ids = c.loc[keep, "interview_id"]
        postings = (
            set(c.loc[keep, "posting_id"])
            if posting_id is None
            else set([posting_id] if isinstance(posting_id, str) else posting_id)
        )

        def by_interview(df: pd.DataFrame) -> pd.DataFrame:
            return df[_isin(df["interview_id"], ids)].reset_index(drop=True)

        def by_posting(df: pd.DataFrame) -> pd.DataFrame:
            if posting_id is None:
                return df
            return df[df["posting_id"].isin(postings)].reset_index(drop=True)

        return InterviewData(
            questions=by_posting(self.questions),
            candidates=c[keep].reset_index(drop=True),
            interviews=by_interview(self.interviews),
            scores=by_interview(self.scores),
            transcript=by_interview(self.transcript),
            highlights=by_interview(self.highlights),
            # an error of an interview without a candidate row (e.g. a record left out by
            # validation) cannot be placed: it stays rather than vanish
            errors=self.errors[
                _isin(self.errors["interview_id"], ids)
                | self.errors["interview_id"].isna().to_numpy()
                | ~_isin(self.errors["interview_id"], c["interview_id"])
            ].reset_index(drop=True),
            postings=by_posting(self.postings),
            score_scale=self.score_scale,
            unfinished_syncs=[
                u
                for u in self.unfinished_syncs
                if posting_id is None or getattr(u, "posting_id", None) in postings
            ],
        )

    # ------------------------------------------------------------------ I/O
    def to_parquet(self, directory: str | Path) -> Path:
        """Write every frame to ``directory/<frame>.parquet`` plus ``meta.json``.

        Examples
        --------
        >>> import tempfile
        >>> d = InterviewData()
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     InterviewData.from_parquet(d.to_parquet(tmp)).scores.shape
        (0, 9)
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in self.FRAME_NAMES:
            getattr(self, name).to_parquet(directory / f"{name}.parquet", index=False)
        meta = {
            "score_scale": self.score_scale,
            "format": 1,
            "unfinished_syncs": [u.to_dict() for u in self.unfinished_syncs],
        }
        (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        return directory

    @classmethod
    def from_parquet(cls, directory: str | Path) -> InterviewData:
        """Read frames written by :meth:`to_parquet`."""
        directory = Path(directory)
        if not directory.is_dir():
            raise DataError(f"{directory} is not a folder written by InterviewData.to_parquet")
        meta_path = directory / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        frames = {}
        for name in cls.FRAME_NAMES:
            path = directory / f"{name}.parquet"
            if path.exists():
                frames[name] = pd.read_parquet(path)
        from .store import UnfinishedSync

        syncs = [UnfinishedSync.from_dict(u) for u in meta.get("unfinished_syncs") or ()]
        return cls(**frames, score_scale=meta.get("score_scale"), unfinished_syncs=syncs)

    # ------------------------------------------------------------------ display
    def summary(self) -> dict[str, Any]:
        """Counts, date range, statuses and errors, as a plain dict."""
        c = self.candidates
        created = c["created_at"].dropna()
        return {
            "postings": len(self.posting_ids),
            "questions": len(self.questions),
            "candidates": len(c),
            "interviews": len(self.interviews),
            "score_items": len(self.scores),
            "transcript_turns": len(self.transcript),
            "errors": len(self.errors),
            "score_scale": self.score_scale,
            "first_created": created.min() if len(created) else None,
            "last_created": created.max() if len(created) else None,
            "statuses": c["status"].value_counts().to_dict(),
            "unfinished_syncs": [u.posting_id for u in self.unfinished_syncs],
        }

    def __repr__(self) -> str:
        s = self.summary()
        unfinished = f", unfinished_syncs={s['unfinished_syncs']}" if s["unfinished_syncs"] else ""
        return (
            f"InterviewData(postings={s['postings']}, candidates={s['candidates']}, "
            f"interviews={s['interviews']}, questions={s['questions']}, errors={s['errors']}"
            f"{unfinished})"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        esc = html.escape
        rows = [
            ("Postings", ", ".join(self.posting_ids) or "—"),
            ("Candidates", f"{s['candidates']:,}"),
            ("Completed interviews", f"{s['interviews']:,}"),
            ("Questions", f"{s['questions']:,}"),
            ("Score items", f"{s['score_items']:,}"),
            ("Transcript turns", f"{s['transcript_turns']:,}"),
            ("Score scale", f"1–{s['score_scale']}" if s["score_scale"] else "unknown"),
        ]
        if s["first_created"] is not None:
            rows.append(
                ("Created", f"{s['first_created']:%Y-%m-%d} → {s['last_created']:%Y-%m-%d}")
            )
        statuses = ", ".join(f"{k}: {v:,}" for k, v in s["statuses"].items()) or "—"
        rows.append(("Statuses", statuses))
        rows.append(("Load errors", f"{s['errors']:,}"))
        for u in self.unfinished_syncs:
            rows.append(("Unfinished pull", u.message()))
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(str(v))}</td></tr>"
            for k, v in rows
        )
        out = f"<div><strong>InterviewData</strong><table>{body}</table>"
        if s["errors"]:
            out += (
                "<details><summary>Errors</summary>"
                + self.errors.head(20).to_html(index=False, escape=True)
                + "</details>"
            )
        return out + "</div>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InterviewData):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, pd.DataFrame):
                if not a.equals(b):
                    return False
            elif a != b:
                return False
        return self.unfinished_syncs == other.unfinished_syncs

    __hash__ = None  # type: ignore[assignment]


def detect_score_scale(scores: pd.Series) -> int | None:
    """Detect the per-question scale: 10 when any score exceeds 5, else 5; None when empty.

    Examples
    --------
    >>> import pandas as pd
    >>> detect_score_scale(pd.Series([1, 3, 5])), detect_score_scale(pd.Series([2, 7]))
    (5, 10)
    """
    s = pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
    if s.empty:
        return None
    return 10 if float(s.max()) > 5 else 5


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _isin(column: pd.Series, wanted: pd.Series) -> Any:
    """``column.isin(wanted)`` as a boolean array.

    For arrow-backed text on both sides it is one pyarrow hash-set lookup: pandas' own
    ``isin`` on such a column builds a Python scalar per wanted value (0.6 s for 100,000
    interview ids, which made :meth:`InterviewData.filter` take seconds). Missing values match
    missing values, as in pandas.

    Examples
    --------
    >>> col = pd.Series(["a", None, "c"], dtype="str")
    >>> _isin(col, pd.Series(["c", None], dtype="str")).tolist()
    [False, True, True]
    >>> _isin(pd.Series([1, 2]), pd.Series([2])).tolist()
    [False, True]
    """
    if _arrow_text(column) and _arrow_text(wanted):
        import pyarrow as pa
        import pyarrow.compute as pc

        def arrow(s: pd.Series) -> Any:
            a = pa.array(s.array)
            return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a

        values = arrow(column)
        found = pc.is_in(values, value_set=arrow(wanted).cast(values.type))
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    return column.isin(wanted).to_numpy(dtype=bool)


def _arrow_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"
