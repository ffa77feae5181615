"""The shared context of the report's sections: inputs, redaction, labels and block helpers."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import fields as dataclass_fields
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MiloError, Note
from ..frames import InterviewData
from .columns import VALUE_LABELS, VALUE_WORDS, plain_words, value_words
from .document import MAX_TABLE_ROWS, Block, Section, _fmt_value, _records, _table_html
from .redact import Redactor

__all__ = [
    "IMPORTANCE_BOOTSTRAP",
    "MAX_FIGURE_BYTES",
    "REPORT_BOOTSTRAP",
    "REPORT_SEED",
    "Context",
    "ReportData",
]

#: A figure whose JSON exceeds this many bytes is left out (it did not aggregate first).
MAX_FIGURE_BYTES = 1_500_000
#: Bootstrap resamples of the report's one resample set (speech's incremental validity and the
#: question-importance CIs use the same resamples of a posting).
REPORT_BOOTSTRAP = 200
#: The seed of the report's resample set (identical inputs give identical intervals).
REPORT_SEED = 0
#: Kept for callers of the validity section's old setting; the same number.
IMPORTANCE_BOOTSTRAP = REPORT_BOOTSTRAP


class Context:
    """What every section is built from: the inputs, the redactor, shared labels, and helpers
    that add figures, tables and text to a :class:`Section`.

    Each part runs in isolation (:meth:`run`), so one failure does not sink the report; the
    analysis results are kept in :attr:`results` for :attr:`Report.results`.

    Every analysis runs once per report: :meth:`compute` remembers each result by analysis and
    arguments, so the header, the summary, the sections and :attr:`Report.results` share one
    computation, and the bootstrap analyses share one resample set per posting
    (:attr:`resamples`).
    """

    def __init__(
        self,
        data: InterviewData,
        *,
        outcomes: pd.DataFrame | None,
        demographics: pd.DataFrame | None,
        suggestion: Any,
        redact_pii: bool,
        strict: bool,
        min_known_share: float = 0.5,
    ) -> None:
        if not isinstance(data, InterviewData):
            from ..errors import DataError

            raise DataError(
                f"build_report needs an InterviewData (from load_posting), got {type(data).__name__}"
            )
        # the same frames; each score matrix is pivoted once for all the analyses
        self.data = ReportData.of(data)
        self.outcomes = outcomes
        self.demographics = demographics
        self.suggestion = suggestion
        self.strict = strict
        self.min_known_share = min_known_share
        self.redact = Redactor.for_data(
            data, enabled=redact_pii, extra_frames=[outcomes, demographics]
        )
        self.problems: list[str] = []
        self.facts: dict[str, Any] = {}
        self.results: dict[str, Any] = {}  # analysis results by name (Report.results)
        self._fig_counter: dict[str, int] = {}
        # (analysis, arguments) -> (succeeded, result or exception); the arguments are kept
        # alive beside it, so an object's id in a key cannot be reused while the memo lives
        self._memo: dict[tuple[Any, ...], tuple[bool, Any]] = {}
        self._memo_args: list[Any] = []
        self._resamples: Any = None
        self.postings = data.posting_ids
        self.question_text = self._question_labels()  # short, for figures
        self.question_full = self._question_labels(limit=None)  # whole, for tables
        self.posting_titles = _posting_labels(data)
        self.posting_table = self._posting_table()

    def analysis(self, name: str) -> Callable[..., Any]:
        """The public analysis function ``name`` of :mod:`milo_analytics.analysis`."""
        return analysis_function(name)

    def compute(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)`` of :mod:`milo_analytics.analysis`, computed once per report.

        The result is remembered by the analysis and its arguments (frames, data and resample
        sets by identity, numbers and text by value); asking again returns the same object, and
        an analysis that failed raises its exception again instead of running twice.

        Examples
        --------
        >>> from milo_analytics.frames import InterviewData
        >>> ctx = Context(InterviewData(), outcomes=None, demographics=None, suggestion=None,
        ...               redact_pii=True, strict=False)
        >>> ctx.compute("status_funnel", ctx.data) is ctx.compute("status_funnel", ctx.data)
        True
        """
        key = ("analysis", name, _key(args), _key(sorted(kwargs.items())))
        return self._remember(key, lambda: analysis_function(name)(*args, **kwargs), (args, kwargs))

    def once(self, key: Any, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed once per report under ``key``: for numbers derived from results
        that several parts read (an audit's findings in the section, the summary and the
        header)."""
        return self._remember(("once", _key(key)), fn, key)

    def _remember(self, key: tuple[Any, ...], fn: Callable[[], Any], keep: Any = None) -> Any:
        if key not in self._memo:
            if keep is not None:
                self._memo_args.append(keep)
            try:
                self._memo[key] = (True, fn())
            except Exception as exc:
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    @property
    def resamples(self) -> Any:
        """The report's bootstrap resamples: one set per posting (``REPORT_BOOTSTRAP``
        resamples, seed ``REPORT_SEED``), made once and handed to every bootstrap analysis;
        the counts are drawn when an analysis first needs them."""
        if self._resamples is None:
            from ..analysis import Resamples

            self._resamples = Resamples.for_data(
                self.data, n_boot=REPORT_BOOTSTRAP, seed=REPORT_SEED, by="posting_id"
            )
        return self._resamples

    def _posting_table(self) -> pd.DataFrame | None:
        try:
            return self.compute("posting_overview", self.data).table
        except MiloError:
            return None

    def posting_name(self, pid: Any) -> str:
        """``"id · title"`` of a posting (the id alone when it has no title); redacted."""
        title = self.posting_titles.get(pid)
        if isinstance(title, str) and title and title != pid:
            return f"{pid} · {self.redact.light(title)}"
        return str(pid)

    def scale_of(self, pid: str) -> str:
        t = self.posting_table
        if t is not None:
            v = t.loc[t["posting_id"] == pid, "score_scale"]
            if len(v) and pd.notna(v.iloc[0]):
                return f"1–{int(v.iloc[0])}"
        return "unknown"

    # ---------------------------------------------------------------- helpers
    def default_title(self) -> str:
        titles = [self.posting_titles.get(pid, pid) for pid in self.postings]
        if not titles:
            return "HeyMilo interview report"
        return (
            "HeyMilo interview report — "
            + ", ".join(self.redact.light(t) for t in titles[:4])
            + (f" and {len(titles) - 4} more" if len(titles) > 4 else "")
        )

    def ranks(self) -> dict[str, Any]:
        q = self.data.questions
        return {
            qid: int(r)
            for qid, r in zip(q["question_id"], q["rank"], strict=False)
            if isinstance(qid, str) and pd.notna(r)
        }

    def _question_labels(self, limit: int | None = 48) -> dict[str, str]:
        """``{question_id: "Q<rank>: text"}``, the text cut at a word with "…" past ``limit``."""
        q = self.data.questions
        labels: dict[str, str] = {}
        for qid, rank, text in zip(q["question_id"], q["rank"], q["text"], strict=False):
            if not isinstance(qid, str):
                continue
            short = " ".join(text.split()) if isinstance(text, str) and text else qid
            if limit is not None and len(short) > limit:
                short = short[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:—-") + "…"
            labels[qid] = self.redact.light(f"Q{rank}: {short}" if pd.notna(rank) else short)
        return labels

    def run(self, section: Section, label: str, fn: Callable[[], Any]) -> Any:
        """Run one part; on failure add an error block to ``section`` and return None."""
        try:
            return fn()
        except MiloError as exc:  # with its CLI wording too (what `milo-analytics report` prints)
            message = Note.of(exc, f"{label}: ", self.redact)
        except (ImportError, AttributeError, NotImplementedError) as exc:
            if self.strict and not isinstance(exc, ImportError | NotImplementedError):
                raise
            message = f"{label}: not available in this installation ({type(exc).__name__}: {self.redact(str(exc))})"
        except Exception as exc:
            if self.strict:
                raise
            message = (
                f"{label}: could not be computed ({type(exc).__name__}: {self.redact(str(exc))})"
            )
        section.blocks.append(Block(kind="error", text=message))
        self.problems.append(message)
        return None

    def figure(
        self,
        section: Section,
        fig: Any,
        *,
        title: str | None = None,
        notes: Iterable[str] = (),
        retitle: bool = False,
        collapsed: bool = False,
    ) -> None:
        """Add a plotly figure (redacted, escaped, deterministic id); ``collapsed`` folds it
        (drawn when opened; folded in print with its title as the one-line summary)."""
        if fig is None:
            return
        n = self._fig_counter.get(section.id, 0) + 1
        self._fig_counter[section.id] = n
        fig_id = f"fig-{section.id}-{n}"
        spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
        spec = {"data": spec.get("data", []), "layout": spec.get("layout", {})}
        spec = self._relabel(spec)
        if title and retitle:
            layout = dict(spec["layout"])
            old = layout.get("title")
            layout["title"] = {**(old if isinstance(old, dict) else {}), "text": title}
            spec["layout"] = layout
        spec["layout"] = _decade_ticks(spec["layout"])
        spec = _redact_tree(spec, self.redact.light)
        text = _figure_json(spec)
        height = spec["layout"].get("height") or 420
        if len(text) > MAX_FIGURE_BYTES:
            msg = (
                f"figure {title or fig_id!r} left out: {len(text) / 1e6:.1f} MB of data "
                "(figures must aggregate before plotting)"
            )
            section.blocks.append(Block(kind="error", text=msg))
            self.problems.append(msg)
            return
        plot_title = title
        if plot_title is None:
            t = spec["layout"].get("title")
            plot_title = t.get("text") if isinstance(t, dict) else t
        section.blocks.append(
            Block(
                kind="figure",
                id=fig_id,
                json=text,
                height=int(height),
                notes=[plain_words(self.redact.light(n)) for n in notes],
                data={"figure": fig_id, "title": plot_title},
                collapsed=collapsed,
                summary=f"Figure: {plot_title}" if plot_title else "Figure",
                frame=None,
            )
        )

    def _relabel(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Question ids → "Q1" (x) / "Q1: text" (y) and posting ids → "id · title" in a figure.

        Analysis figures name questions and postings by id; readers need ranks and titles.
        Only whole category values, trace names and titles are touched (not hover templates).
        """
        ranks = self.ranks()
        short = {q: f"Q{r}" for q, r in ranks.items()}
        long = self.question_text
        names = {p: self.posting_name(p) for p in self.postings}

        def text(v: Any) -> Any:
            if not isinstance(v, str):
                return v
            v = value_words(v)
            if v in names:
                return names[v]
            for pid, nm in names.items():
                if nm != pid and f"posting {pid}" in v:
                    v = v.replace(f"posting {pid}", nm)
                elif nm != pid and v.endswith(f"— {pid}"):
                    v = v[: -len(pid)] + nm
            return v

        def cats(values: Any, table: dict[str, str]) -> Any:
            if isinstance(values, list | tuple) and any(
                isinstance(v, str) and (v in table or v in VALUE_WORDS) for v in values
            ):
                return [value_words(table.get(v, v)) if isinstance(v, str) else v for v in values]
            if isinstance(values, np.ndarray) and values.dtype.kind in "OU":
                return cats(values.tolist(), table)
            return values

        data = []
        for trace in spec.get("data", []):
            t = dict(trace)
            if "x" in t:
                t["x"] = cats(t["x"], short)
            if "y" in t:
                t["y"] = cats(t["y"], long if t.get("type") in {"bar", "scatter"} else short)
            if "name" in t:
                t["name"] = text(t["name"])
            lgt = t.get("legendgrouptitle")
            if isinstance(lgt, dict) and "text" in lgt:
                t["legendgrouptitle"] = {**lgt, "text": text(lgt["text"])}
            data.append(t)
        layout = dict(spec.get("layout", {}))
        if isinstance(layout.get("annotations"), list | tuple):  # subplot titles
            layout["annotations"] = [
                {**a, "text": text(a["text"])} if isinstance(a, dict) and "text" in a else a
                for a in layout["annotations"]
            ]
        tt = layout.get("title")
        if isinstance(tt, dict) and "text" in tt:
            layout["title"] = {**tt, "text": text(tt["text"])}
        elif isinstance(tt, str):
            layout["title"] = text(tt)
        return {"data": data, "layout": layout}

    def notes(self, section: Section, notes: list[str]) -> None:
        """Append a block of plain-text notes (redacted like every toolkit text)."""
        section.blocks.append(
            Block(kind="html", html="", notes=[plain_words(self.redact.light(n)) for n in notes])
        )

    def table(
        self,
        section: Section,
        frame: pd.DataFrame | None,
        *,
        title: str | None = None,
        notes: Iterable[str] = (),
        max_rows: int = MAX_TABLE_ROWS,
        label_questions: bool = True,
        label_postings: bool = True,
        free_text: bool = False,
        collapsed: bool = False,
        one_posting: bool = False,
        kinds: dict[str, str] | None = None,
        anchor: str = "",
        summary: str = "",
    ) -> None:
        """Add a capped, escaped, redacted table (question and posting titles added).

        ``kinds`` overrides the column dictionary's number format of some columns;
        ``anchor`` is the id links point to; ``summary`` the one line a folded table shows.
        """
        if frame is None:
            return
        frame = pd.DataFrame(frame)
        if (
            "posting_id" in frame.columns
            and frame["posting_id"].nunique() == 1
            and (
                one_posting
                or (title and f"— {self.posting_name(frame['posting_id'].iloc[0])}" in title)
            )
        ):
            frame = frame.drop(columns="posting_id")  # the heading names the posting
        if label_postings and "posting_id" in frame.columns and "title" not in frame.columns:
            col = frame["posting_id"].map(lambda p: self.posting_titles.get(p, ""))
            frame = frame.copy()
            frame.insert(list(frame.columns).index("posting_id") + 1, "posting", col.astype("str"))
        frame = self.redact.frame(frame, free_text=free_text)
        for col, words in VALUE_LABELS.items():
            if col in frame.columns and frame[col].isin(list(words)).any():
                frame = frame.assign(**{col: frame[col].map(lambda v, w=words: w.get(v, v))})
        text_cols = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)]
        if text_cols:
            frame = frame.assign(**{c: frame[c].map(value_words) for c in text_cols})
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.copy()
            frame.index = frame.index.map(value_words)
        if (
            label_questions
            and {"question_id", "text"} <= set(frame.columns)
            and "question" not in frame.columns
        ):
            # "Q1: text" (cut with an ellipsis when long; whole on hover)
            short = frame["question_id"].map(lambda q: self.question_full.get(q))
            frame = frame.assign(text=short.fillna(frame["text"]).astype("str")).rename(
                columns={"text": "question"}
            )
        elif label_questions and "text" not in frame.columns:
            frame = self._label_questions(frame)
        section.blocks.append(
            Block(
                kind="table",
                title=title,
                html=_table_html(frame, max_rows=max_rows, kinds=kinds),
                notes=[plain_words(self.redact.light(n)) for n in notes],
                data=_records(frame, max_rows),
                collapsed=collapsed,
                anchor=anchor,
                summary=summary or (f"{title} ({len(frame):,} rows)" if title else ""),
                frame=frame,
                kinds=dict(kinds or {}),
            )
        )

    def _label_questions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add the question's rank and text beside a column that holds question ids."""
        known = self.question_full
        for col in ("question_id", "variable", "predictor", "item", "measure"):
            if col not in frame.columns or f"{col}_label" in frame.columns:
                continue
            values = frame[col]
            if not values.map(lambda v: isinstance(v, str) and v in known).any():
                continue
            name = "question" if "question" not in frame.columns else f"{col}_label"
            labels = values.map(lambda v: known.get(v, "") if isinstance(v, str) else "")
            frame = frame.copy()
            frame.insert(list(frame.columns).index(col) + 1, name, labels.astype("str"))
            break
        return frame

    def paragraph(self, section: Section, text: str, *, title: str | None = None) -> None:
        section.blocks.append(
            Block(
                kind="html",
                title=title,
                html=f"<p>{html.escape(plain_words(self.redact.light(text)))}</p>",
                data=self.redact.light(text),
            )
        )

    def add_result(
        self,
        section: Section,
        result: Any,
        *,
        title: str | None = None,
        plot: bool = True,
        one_posting: bool = False,
        fold_figure: bool = False,
    ) -> None:
        """A Result-like object: its table, notes and plot (folded with ``fold_figure``)."""
        if result is None:
            return
        table = getattr(result, "table", None)
        if table is None and hasattr(result, "to_frame"):
            table = result.to_frame()
        notes = [str(n) for n in getattr(result, "notes", []) or []]
        heading = title or getattr(result, "title", None)
        if plot and hasattr(result, "plot"):
            fig = self.run(section, f"{heading or 'figure'}", result.plot)
            self.figure(section, fig, title=heading, collapsed=fold_figure)
        if isinstance(table, pd.DataFrame):
            self.table(
                section,
                table,
                title=None if plot else heading,
                notes=notes,
                one_posting=one_posting,
            )
        elif notes:
            self.notes(section, notes)

    def keep(self, key: str, result: Any, posting_id: str | None = None) -> Any:
        """Remember an analysis result for :attr:`Report.results` (per posting when given)."""
        if result is not None:
            if posting_id is None:
                self.results[key] = result
            else:
                self.results.setdefault(key, {})[posting_id] = result
        return result

    def per_posting(
        self,
        section: Section,
        label: str,
        analysis: str | Callable[[InterviewData], Any],
        *,
        title: str,
        key: str,
        fold_figure: bool = False,
    ) -> None:
        """Run a Result-returning analysis once per posting (one figure and table each).

        ``analysis`` is the name of a function of :mod:`milo_analytics.analysis` (run through
        :meth:`compute`, so once per posting per report) or a function of the posting's data.
        """
        if isinstance(analysis, str):
            name = analysis

            def fn(d: InterviewData) -> Any:
                return self.compute(name, d)
        else:
            fn = analysis
        if len(self.postings) <= 1:
            res = self.run(section, label, lambda: fn(self.data))
            for pid in self.postings:
                self.keep(key, res, pid)
            self.add_result(section, res, title=title, fold_figure=fold_figure)
            return
        for pid in self.postings:
            sub = self.posting_data(pid)
            if sub.interviews.empty and sub.scores.empty:
                continue
            res = self.keep(
                key, self.run(section, f"{label} ({pid})", lambda sub=sub: fn(sub)), pid
            )
            self.add_result(
                section,
                res,
                title=f"{title} — {self.posting_name(pid)}",
                one_posting=True,
                fold_figure=fold_figure,
            )

    def posting_data(self, pid: str) -> InterviewData:
        """One posting's data, filtered once per report (the same object every time, so its
        analyses are remembered by :meth:`compute`)."""
        cache = self.__dict__.setdefault("_posting_cache", {})
        if pid not in cache:
            cache[pid] = self.data.filter(posting_id=pid)
        return cache[pid]


class ReportData(InterviewData):
    """The data as a report's analyses see it: the same frames, but :meth:`score_matrix`
    pivots each posting's scores once and hands out copies.

    Nearly every analysis starts from the interview × question matrix; a report runs about ten
    of them, and at 100,000 interviews each pivot of the scores takes ~0.1 s. The frames'
    data are shared, not copied (pandas copy-on-write), and nothing modifies them while a
    report is built. :meth:`filter` returns a ReportData too, so the per-posting analyses
    share their posting's matrix the same way.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"interview_id": ["i1", "i2"], "posting_id": "P",
    ...     "question_id": "q1", "rank": 1, "score": [4, 5], "score_weight": 1.0,
    ...     "not_scored": False, "evaluation_summary": ""})
    >>> d = ReportData.of(InterviewData(scores=scores))
    >>> a, b = d.score_matrix(), d.score_matrix()
    >>> a.equals(b) and a is not b
    True
    """

    @classmethod
    def of(cls, data: InterviewData) -> ReportData:
        """``data`` (its frames, scale and unfinished syncs) as a ReportData."""
        if isinstance(data, cls):
            return data
        return cls(
            **{f.name: getattr(data, f.name) for f in dataclass_fields(data)},
            unfinished_syncs=data.unfinished_syncs,
        )

    def score_matrix(
        self, posting_id: str | None = None, *, include_not_scored: bool = False
    ) -> pd.DataFrame:
        """:meth:`InterviewData.score_matrix`, pivoted once per arguments (a copy each call:
        a caller may change it)."""
        cache = self.__dict__.setdefault("_score_matrices", {})
        key = (posting_id, include_not_scored)
        if key not in cache:
            cache[key] = super().score_matrix(posting_id, include_not_scored=include_not_scored)
        return cache[key].copy()

    def filter(
        self,
        *,
        start: Any = None,
        end: Any = None,
        status: str | Iterable[str] | None = None,
        posting_id: str | Iterable[str] | None = None,
        on: str = "created_at",
    ) -> ReportData:
        """:meth:`InterviewData.filter`, as a ReportData."""
        sub = super().filter(start=start, end=end, status=status, posting_id=posting_id, on=on)
        return ReportData.of(sub)


# --------------------------------------------------------------------------- helpers
def _key(value: Any) -> Any:
    """A memo key for an argument: numbers and text by value, containers element-wise,
    anything else (frames, InterviewData, resample sets) by identity."""
    if value is None or isinstance(value, str | bytes | bool | int | float):
        return (type(value).__name__, value)
    if isinstance(value, list | tuple):
        return ("seq", tuple(_key(v) for v in value))
    return ("id", id(value))


def analysis_function(name: str) -> Callable[..., Any]:
    from .. import analysis

    return getattr(analysis, name)


def _decade_ticks(layout: dict[str, Any]) -> dict[str, Any]:
    """Log axes labelled at 1, 10, 100… only (plotly's minor labels overlap when short)."""
    out = dict(layout)
    for key, axis in layout.items():
        if (
            key.startswith(("xaxis", "yaxis"))
            and isinstance(axis, dict)
            and axis.get("type") == "log"
            and "dtick" not in axis
        ):
            out[key] = {**axis, "dtick": 1}
    return out


def day(v: Any) -> str:
    """A timestamp as its UTC date (tables show days, not microseconds)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    ts = pd.Timestamp(v)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return f"{ts:%Y-%m-%d}"


def join_table(report: dict[str, Any]) -> pd.DataFrame:
    """Scalar facts of a join report (line lists are left out; nested counts flattened)."""
    rows = []
    for key, value in report.items():
        if isinstance(value, bool | int | float | str) or value is None:
            rows.append({"item": str(key).replace("_", " "), "value": _fmt_value(value)})
        elif isinstance(value, dict):
            for k2, v2 in value.items():
                if isinstance(v2, bool | int | float | str):
                    rows.append({"item": f"{key}: {k2}".replace("_", " "), "value": _fmt_value(v2)})
                elif isinstance(v2, dict) and all(isinstance(x, int) for x in v2.values()):
                    rows.append(
                        {"item": f"{key}: {k2}".replace("_", " "), "value": str(sum(v2.values()))}
                    )
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"item": "str", "value": "str"})


def _redact_tree(node: Any, redact: Callable[[Any], Any], key: str | None = None) -> Any:
    """Redact every string value of a figure spec (keys and the template are left alone).

    A typed array (``{"dtype": "f8", "bdata": "<base64>"}``, how plotly 6 writes numeric
    arrays) holds numbers, not text: its base64 is left alone. Redacting it took 0.3 s for one
    26,668-character array of the demo report (the email pattern backtracks over long runs of
    word characters), and a run of 9–10 digits between ``/`` or ``+`` in it would have been
    taken for a phone number, corrupting the data.
    """
    if isinstance(node, dict):
        typed = "dtype" in node and isinstance(node.get("bdata"), str)
        return {
            k: (v if k == "template" or (typed and k == "bdata") else _redact_tree(v, redact, k))
            for k, v in node.items()
        }
    if isinstance(node, list | tuple):
        return [_redact_tree(v, redact, key) for v in node]
    if isinstance(node, np.ndarray) and node.dtype.kind in "OUS":
        return [_redact_tree(v, redact, key) for v in node.tolist()]
    if isinstance(node, str):
        return redact(node)
    return node


def _figure_json(spec: dict[str, Any]) -> str:
    """plotly's JSON (typed arrays, NaN handling) made safe for a ``<script>`` element."""
    import plotly.io.json as pjson

    text = pjson.to_json_plotly(spec)
    return _script_safe(text)


def _script_safe(text: str) -> str:
    """Escape ``<``, ``>``, ``&`` and line separators inside JSON (valid JSON, inert in HTML)."""
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _posting_labels(data: InterviewData) -> dict[str, str]:
    from ..analysis.overview import posting_labels

    return posting_labels(data)
