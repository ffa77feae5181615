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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError

__all__ = [
    "PART_FRAMES",
    "SCHEMAS",
    "FrameParts",
    "InterviewData",
    "coerce_frame",
    "empty_frame",
    "frame_order",
    "isin",
    "take_rows",
]

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


#: The frames a kind of document contributes rows to (see :class:`FrameParts`).
PART_FRAMES: dict[str, tuple[str, ...]] = {
    "interviews": ("interviews", "scores", "transcript", "highlights"),
    "candidates": ("candidates",),
}
#: Columns of ``FrameParts.docs`` besides the row counts ``n_<frame>``.
PART_DOC_COLUMNS: dict[str, str] = {
    "key": "str",
    "interview_id": "str",
    "posting_id": "str",
    "stage": "str",
    "error": "str",
}


@dataclass
class FrameParts:
    """The frame rows of a set of documents of one kind, with what became of each document.

    This is the unit in which frames are built and kept: :func:`milo_analytics.load` parses
    documents into FrameParts (one document's rows never depend on another document), and
    the store keeps them materialised (:mod:`milo_analytics.materialised`); the frames of
    :class:`InterviewData` are assembled from FrameParts (ordering, duplicates, validation
    across documents, the score scale).

    Attributes
    ----------
    kind : str
        ``"interviews"`` (interview-data documents: rows of ``interviews`` — whose
        ``interviewed_at`` is joined from the candidate records when assembling —, ``scores``,
        ``transcript``, ``highlights``) or ``"candidates"`` (candidate records: ``candidates``).
    docs : DataFrame
        One row per document, in the order of its rows in ``frames``: ``key`` (the interview
        id; a placeholder sorting first for a document without one), ``interview_id`` (as
        reported in ``errors``), ``posting_id`` (the posting the document names, or NA),
        ``stage`` (NA: its rows are usable; ``"none"``: an unfinished interview, no rows and no
        error; otherwise the ``errors`` stage, e.g. ``parse``, ``store``, ``candidate``,
        ``validate``), ``error`` (the message), and ``n_<frame>``: how many rows it has in each
        frame (0 unless usable). Candidate parts also have ``order``: the position of the
        record in the listing, which decides duplicates (the last wins).
    frames : dict of str to DataFrame
        Rows of the usable documents, grouped by document in ``docs`` order; schema columns.

    Examples
    --------
    >>> parts = FrameParts.empty("candidates")
    >>> list(parts.docs.columns), list(parts.frames)
    (['key', 'interview_id', 'posting_id', 'stage', 'error', 'n_candidates', 'order'], ['candidates'])
    """

    kind: str
    docs: pd.DataFrame
    frames: dict[str, pd.DataFrame]

    @classmethod
    def empty(cls, kind: str) -> FrameParts:
        """Parts of no document."""
        return cls(kind, _part_docs(kind, {}), {n: empty_frame(n) for n in PART_FRAMES[kind]})

    @classmethod
    def build(
        cls, kind: str, docs: dict[str, list[Any]], frames: dict[str, pd.DataFrame]
    ) -> FrameParts:
        """Parts from plain ``docs`` column lists (see ``docs`` above) and the frames."""
        return cls(kind, _part_docs(kind, docs), frames)

    def __len__(self) -> int:
        return len(self.docs)

    def row_counts(self, frame: str) -> np.ndarray:
        """Rows each document has in ``frame`` (int64, aligned with ``docs``)."""
        return self.docs[f"n_{frame}"].to_numpy(dtype="int64")

    def take(self, documents: np.ndarray) -> FrameParts:
        """The parts of the documents at positions ``documents`` (in that order), their rows
        following them. Contiguous runs of rows are sliced, not copied (see :func:`take_rows`).

        Examples
        --------
        >>> parts = FrameParts.empty("interviews")
        >>> len(parts.take(np.arange(0)))
        0
        """
        documents = np.asarray(documents, dtype="int64")
        if len(documents) == len(self.docs) and (documents == np.arange(len(documents))).all():
            return self
        frames = {
            name: take_rows(frame, self.row_counts(name), documents)
            for name, frame in self.frames.items()
        }
        docs = self.docs.take(documents).reset_index(drop=True)
        return FrameParts(self.kind, docs, frames)

    @classmethod
    def concat(cls, kind: str, parts: list[FrameParts]) -> FrameParts:
        """One FrameParts of ``parts`` one after the other."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty(kind)
        if len(parts) == 1:
            return parts[0]
        docs = pd.concat([p.docs for p in parts], ignore_index=True)
        frames = {
            name: pd.concat([p.frames[name] for p in parts], ignore_index=True)
            for name in PART_FRAMES[kind]
        }
        return cls(kind, docs, frames)


def _part_docs(kind: str, columns: dict[str, list[Any]]) -> pd.DataFrame:
    n = len(next(iter(columns.values()))) if columns else 0
    out: dict[str, Any] = {}
    for col, dtype in PART_DOC_COLUMNS.items():
        out[col] = pd.Series(pd.array(columns.get(col, [None] * n), dtype=dtype))
    for name in PART_FRAMES[kind]:
        out[f"n_{name}"] = pd.Series(np.asarray(columns.get(f"n_{name}", [0] * n), dtype="int64"))
    if kind == "candidates":
        out["order"] = pd.Series(np.asarray(columns.get("order", range(n)), dtype="int64"))
    return pd.DataFrame(out)


def frame_order(postings: pd.Series, keys: pd.Series) -> np.ndarray:
    """Positions sorting rows by (posting, key), stable — the order of every frame (missing
    values sort as ""; text compares by code point, as Python's ``sorted``). Sorted input is
    recognised in one vectorised pass and costs no sort.

    Examples
    --------
    >>> frame_order(pd.Series(["P", "P", "A"]), pd.Series(["b", "a", "z"])).tolist()
    [2, 1, 0]
    """
    p, k = _text_array(postings).fill_null(""), _text_array(keys).fill_null("")
    n = len(k)
    if n < 2:
        return np.arange(n)
    p0, p1, k0, k1 = p[:-1], p[1:], k[:-1], k[1:]
    ordered = pc.or_(pc.greater(p1, p0), pc.and_(pc.equal(p1, p0), pc.greater_equal(k1, k0)))
    if pc.all(ordered).as_py():
        return np.arange(n)
    table = pa.table({"p": p, "k": k})
    order = pc.sort_indices(table, sort_keys=[("p", "ascending"), ("k", "ascending")])
    return order.to_numpy().astype("int64")  # Arrow's sort is stable


def _text_array(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow (no copy for the ``str`` dtype)."""
    out = pa.array(values.array, type=pa.large_string())
    return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])


def isin(values: pd.Series, wanted: Any) -> np.ndarray:
    """``values.isin(wanted)`` as a bool array, for any iterable ``wanted``: one Arrow hash
    lookup for text (see :func:`_isin`; pandas converts each wanted value in Python).

    Examples
    --------
    >>> isin(pd.Series(["a", None, "c"], dtype="str"), ["c", "d"]).tolist()
    [False, False, True]
    """
    if not isinstance(wanted, pd.Series):
        wanted = pd.Series(list(wanted), dtype=values.dtype if _arrow_text(values) else None)
    return _isin(values, wanted)


#: Above this many runs of rows, :func:`take_rows` gathers the rows into new arrays instead of
#: concatenating slices (many tiny chunks make later pandas operations slow).
_MAX_RUNS = 256


def take_rows(frame: pd.DataFrame, counts: np.ndarray, documents: np.ndarray) -> pd.DataFrame:
    """The rows of the documents at positions ``documents`` (in that order), for a frame whose
    rows are grouped by document (``counts[i]`` consecutive rows for document ``i``).

    Runs of rows that stay contiguous are sliced and concatenated: text columns (Arrow-backed)
    share their buffers instead of being copied, which keeps the peak memory of a load low.

    Examples
    --------
    >>> f = pd.DataFrame({"x": [1, 2, 3, 4]})
    >>> take_rows(f, np.array([1, 2, 1]), np.array([2, 0]))["x"].tolist()
    [4, 1]
    """
    counts = np.asarray(counts, dtype="int64")
    documents = np.asarray(documents, dtype="int64")
    starts = np.cumsum(counts) - counts
    first, n = starts[documents], counts[documents]
    total = int(n.sum())
    if total == len(frame) and total and (first == np.cumsum(n) - n).all():
        return frame.reset_index(drop=True)  # every row, in its order
    ends = first + n
    nonempty = n > 0
    first, ends = first[nonempty], ends[nonempty]
    if not len(first):
        return frame.iloc[0:0].reset_index(drop=True)
    breaks = np.flatnonzero(first[1:] != ends[:-1]) + 1
    run_start = first[np.concatenate([[0], breaks])]
    run_end = ends[np.concatenate([breaks - 1, [len(ends) - 1]])]
    if len(run_start) <= _MAX_RUNS:
        pieces = [
            frame.iloc[a:b] for a, b in zip(run_start.tolist(), run_end.tolist(), strict=True)
        ]
        out = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
        return out.reset_index(drop=True)
    lengths = run_end - run_start
    index = np.arange(int(lengths.sum())) + np.repeat(
        run_start - (np.cumsum(lengths) - lengths), lengths
    )
    return frame.take(index).reset_index(drop=True)


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
    schema = SCHEMAS[name]
    if (
        isinstance(frame, pd.DataFrame)
        and list(frame.columns) == list(schema)
        and [str(d) for d in frame.dtypes] == list(schema.values())
        and isinstance(frame.index, pd.RangeIndex)
        and frame.index.start == 0
        and frame.index.step == 1
    ):
        return frame.copy(deep=False)  # already conforms (copy-on-write: no data copied)
    df = pd.DataFrame(frame)
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
