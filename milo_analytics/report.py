"""One self-contained HTML report of everything the toolkit knows about a set of interviews.

:func:`build_report` runs the analyses on an :class:`~milo_analytics.frames.InterviewData`
(plus, when given, hire outcomes, voluntary demographics and a weight suggestion) and returns a
:class:`Report`. The HTML file works offline (plotly.js is embedded once), has a table of
contents and a print layout, is byte-identical for identical inputs (pass ``generated_at``),
and its size does not grow with the number of interviews (figures aggregate first, tables are
capped).

Safety: every candidate-derived string is escaped, in HTML and in the JSON embedded in the page
(``<`` is written as ``\\u003c``). With ``redact_pii=True`` (the default) candidate names, emails
and phone numbers are removed from every piece of free text and name/email/phone columns are
never shown. The report never calls the API, and the value of ``HEYMILO_API_KEY`` is scrubbed
from anything it shows.

Examples
--------
>>> from milo_analytics.frames import InterviewData
>>> report = build_report(InterviewData(), title="Empty", generated_at="2026-01-01T00:00:00Z")
>>> [s["id"] for s in report.to_dict()["sections"]]
['overview', 'data-quality']
>>> "<h1>Empty</h1>" in report.to_html()
True
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import MiloError
from .frames import RESULT_STATUSES, UNFINISHED_STATUSES, InterviewData

__all__ = ["Redactor", "Report", "build_report"]

#: Rows shown per table (the rest is summarised as "n more rows").
MAX_TABLE_ROWS = 40
#: A figure whose JSON exceeds this many bytes is left out (it did not aggregate first).
MAX_FIGURE_BYTES = 1_500_000
#: Columns never shown when PII is redacted.
PII_COLUMNS = frozenset(
    {
        "name",
        "email",
        "phone",
        "phone_number",
        "candidate_name",
        "first_name",
        "last_name",
        "full_name",
        "mobile",
        "telephone",
    }
)
REDACTED = "[redacted]"
#: Bootstrap resamples for the question-importance CIs of the validity section.
IMPORTANCE_BOOTSTRAP = 200
#: Columns holding p values (shown as "< .001" rather than 0.000).
P_COLUMNS = frozenset({"p_value", "p_adjusted", "p_rest", "r_p", "mw_p", "ks_p", "p"})

_EMAIL_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE_RE = re.compile(
    r"(?<![\w])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{3,4}(?![\w])"
    r"|(?<![\w])\+\d[\d\s.-]{7,}\d(?![\w])"
)
_CHUNK_RE = re.compile(r"[^\s,;<>()\[\]\"'`]+")
_DIGITS_RE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_WORD_RE = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*", re.UNICODE)


# --------------------------------------------------------------------------- redaction
class Redactor:
    """Remove candidate names, emails and phone numbers from free text.

    Names are matched word by word against every token of the candidates' names
    (case-sensitive, whole words, two letters or more), emails and phone numbers by pattern
    and by the exact values in the candidates frame. The API key (``HEYMILO_API_KEY`` and any
    ``secrets`` given) is always scrubbed, even when ``enabled`` is False.

    Parameters
    ----------
    names, emails, phones
        Known values from the data.
    enabled
        When False only secrets are scrubbed.
    secrets
        Strings that must never be shown (API keys).

    Examples
    --------
    >>> r = Redactor(names=["Zebedee Quackenbush"])
    >>> r("Zebedee said: mail zq@example.org or call 555-867-5309.")
    '[redacted] said: mail [redacted] or call [redacted].'
    """

    def __init__(
        self,
        names: Iterable[Any] = (),
        emails: Iterable[Any] = (),
        phones: Iterable[Any] = (),
        *,
        enabled: bool = True,
        secrets: Iterable[str] = (),
    ) -> None:
        self.enabled = enabled
        tokens: set[str] = set()
        for name in names:
            if isinstance(name, str):
                tokens.update(t for t in _WORD_RE.findall(name) if len(t) >= 2)
        self._tokens = frozenset(tokens)
        # Known contact values, matched per chunk (set lookups: cost independent of how many
        # candidates there are); phone numbers also by their digits whatever the formatting.
        literals = [str(v).strip() for v in [*emails, *phones] if isinstance(v, str)]
        self._literals = frozenset(v.lower() for v in literals if len(v) >= 5)
        self._phone_digits = frozenset(
            d
            for d in (re.sub(r"\D", "", str(v)) for v in phones if isinstance(v, str))
            if len(d) >= 7
        )
        key = os.environ.get("HEYMILO_API_KEY", "")
        self._secrets = sorted(
            {s for s in [*secrets, key] if s and len(s) >= 6}, key=len, reverse=True
        )

    def __call__(self, value: Any) -> Any:
        """Redact one value of candidate free text (non-strings are returned unchanged)."""
        return self._apply(value, names=True)

    def light(self, value: Any) -> Any:
        """Redact emails, phone numbers, known contact values and secrets, but not name words.

        For text the toolkit wrote itself (analysis notes, category labels such as "White"),
        where matching every name word of every candidate would blank out ordinary words.
        """
        return self._apply(value, names=False)

    def _apply(self, value: Any, *, names: bool) -> Any:
        if not isinstance(value, str) or not value:
            return value
        text = value
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if not self.enabled:
            return text
        if self._literals:
            text = _CHUNK_RE.sub(lambda m: _replace_chunk(m.group(0), self._literals), text)
        if self._phone_digits:
            text = _DIGITS_RE.sub(
                lambda m: (
                    REDACTED if re.sub(r"\D", "", m.group(0)) in self._phone_digits else m.group(0)
                ),
                text,
            )
        text = _EMAIL_RE.sub(REDACTED, text)
        text = _PHONE_RE.sub(REDACTED, text)
        if names and self._tokens:
            text = _WORD_RE.sub(
                lambda m: REDACTED if m.group(0) in self._tokens else m.group(0), text
            )
        return text

    def frame(self, frame: pd.DataFrame, *, free_text: bool = False) -> pd.DataFrame:
        """A copy of ``frame`` with PII columns dropped (when enabled) and text redacted.

        ``free_text=True`` also removes name words (for candidate-written text).
        """
        fn = self if free_text else self.light
        out = frame.copy()
        if self.enabled:
            drop = [c for c in out.columns if str(c).lower() in PII_COLUMNS]
            out = out.drop(columns=drop)
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
                out[col] = out[col].map(fn, na_action="ignore")
        if not isinstance(out.index, pd.RangeIndex):
            out.index = out.index.map(lambda v: fn(v) if isinstance(v, str) else v)
        return out

    @classmethod
    def for_data(
        cls,
        data: InterviewData,
        *,
        enabled: bool = True,
        extra_frames: Iterable[pd.DataFrame | None] = (),
        secrets: Iterable[str] = (),
    ) -> Redactor:
        """Build a redactor from the names, emails and phones found in ``data`` (and frames)."""
        names: list[Any] = []
        emails: list[Any] = []
        phones: list[Any] = []
        for frame in [data.candidates, *extra_frames]:
            if frame is None or not isinstance(frame, pd.DataFrame):
                continue
            for col in frame.columns:
                low = str(col).lower()
                if low in {"name", "candidate_name", "first_name", "last_name", "full_name"}:
                    names.extend(frame[col].dropna().astype(str).tolist())
                elif "email" in low:
                    emails.extend(frame[col].dropna().astype(str).tolist())
                elif "phone" in low or low in {"mobile", "telephone"}:
                    phones.extend(frame[col].dropna().astype(str).tolist())
        return cls(names, emails, phones, enabled=enabled, secrets=secrets)


def _replace_chunk(chunk: str, literals: frozenset[str]) -> str:
    core = chunk.rstrip(".:!?")
    if core.lower() in literals:
        return REDACTED + chunk[len(core) :]
    return chunk


# --------------------------------------------------------------------------- blocks
@dataclass
class Block:
    """One piece of a section: a figure, a table, a paragraph or an error message."""

    kind: str  # "figure" | "table" | "html" | "error"
    title: str | None = None
    html: str = ""
    text: str = ""
    json: str = ""
    id: str = ""
    height: int = 420
    notes: list[str] = field(default_factory=list)
    collapsed: bool = False  # tables shown inside a closed <details> (opened for print)
    data: Any = None  # JSON-able content for to_dict()


@dataclass
class Section:
    """A report section: an id (anchor), a title, blocks, and an error when it failed."""

    id: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- report
class Report:
    """A built report: render it with :meth:`to_html`, save it with :meth:`save_html`.

    Attributes
    ----------
    title : str
    generated_at : str
        ISO timestamp shown in the page (injected for byte-identical output).
    sections : list of Section
    facts : dict
        The headline numbers (counts, postings, date range).
    problems : list of str
        Parts that could not be computed (also shown in the page where they belong).
    results : dict
        The analysis results the sections were built from, so callers reuse them instead of
        computing them again: ``"status_funnel"``, ``"items"`` (item statistics),
        ``"speech"``, ``"validity"`` (``{target: result}``), ``"importance"``, ``"audit"``
        (the :class:`~milo_analytics.analysis.fairness.BiasAudit`), ``"rescore"``, and per
        posting ``"drift"``, ``"effective_weights"``, ``"reconcile_scores"``
        (``{posting_id: result}``). A key is absent when its section is absent or failed.

    Examples
    --------
    >>> from milo_analytics.frames import InterviewData
    >>> r = build_report(InterviewData(), generated_at="2026-01-01T00:00:00Z")
    >>> r.to_html() == r.to_html()
    True
    >>> "audit" in r.results  # no demographics, no audit
    False
    """

    def __init__(
        self,
        *,
        title: str,
        generated_at: str,
        sections: list[Section],
        facts: dict[str, Any],
        redact_pii: bool,
        problems: list[str],
        results: dict[str, Any] | None = None,
    ) -> None:
        self.title = title
        self.generated_at = generated_at
        self.sections = sections
        self.facts = facts
        self.redact_pii = redact_pii
        self.problems = problems
        self.results: dict[str, Any] = dict(results or {})

    # ---------------------------------------------------------------- output
    def to_html(self) -> str:
        """The complete, self-contained HTML page as a string."""
        from . import __version__

        has_figures = any(b.kind == "figure" for s in self.sections for b in s.blocks)
        return _template("report.html.j2").render(
            title=self.title,
            generated_at=self.generated_at,
            version=__version__,
            plotly_version=_plotly_version(),
            redact_pii=self.redact_pii,
            facts=[(k, _fmt_fact(v)) for k, v in self.facts.items()],
            sections=self.sections,
            css=_resource("report.css"),
            plotlyjs=_plotlyjs() if has_figures else "",
            has_figures=has_figures,
        )

    def save_html(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from milo_analytics.frames import InterviewData
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = build_report(InterviewData()).save_html(pathlib.Path(tmp) / "r.html")
        ...     p.stat().st_size > 0
        True
        """
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8", newline="\n")
        return path

    def to_dict(self) -> dict[str, Any]:
        """The report's content as plain JSON-able data (tables as capped lists of records)."""
        return {
            "title": self.title,
            "generated_at": self.generated_at,
            "redact_pii": self.redact_pii,
            "facts": {k: _jsonable(v) for k, v in self.facts.items()},
            "problems": list(self.problems),
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "error": s.error,
                    "facts": {k: _jsonable(v) for k, v in s.facts.items()},
                    "blocks": [
                        {
                            "kind": b.kind,
                            "title": b.title,
                            **({"text": b.text} if b.kind == "error" else {}),
                            **({"data": b.data} if b.data is not None else {}),
                            **({"notes": list(b.notes)} if b.notes else {}),
                        }
                        for b in s.blocks
                    ],
                }
                for s in self.sections
            ],
        }

    def _repr_html_(self) -> str:
        """A compact notebook view: headline numbers, contents and the overview figures.

        Figures are drawn by the plotly.js bundle embedded once per page (guarded, so a
        second display does not load it again); no iframe.
        """
        esc = html.escape
        rows = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>"
            f"{esc(_fmt_fact(v))}</td></tr>"
            for k, v in self.facts.items()
        )
        items = "".join(
            f"<li>{esc(s.title)}" + (f" — <em>{esc(s.error)}</em>" if s.error else "") + "</li>"
            for s in self.sections
        )
        figs = [b for s in self.sections[:1] for b in s.blocks if b.kind == "figure"][:3]
        parts = [
            f"<div class='milo-report-summary'><h3>{esc(self.title)}</h3>",
            f"<table>{rows}</table><p><strong>Sections</strong></p><ol>{items}</ol>",
        ]
        if self.problems:
            parts.append(
                "<p><strong>Not computed:</strong></p><ul>"
                + "".join(f"<li>{esc(p)}</li>" for p in self.problems)
                + "</ul>"
            )
        if figs:
            # ids unique per display: a notebook may show several reports (or one twice)
            token = uuid.uuid4().hex[:12]
            parts.append(
                "<script type='text/javascript'>if (typeof window.Plotly === 'undefined') {"
                + _plotlyjs()
                + "}</script>"
            )
            for b in figs:
                div_id = f"{b.id}-{token}"
                parts.append(
                    f"<div id='{div_id}' style='height:{b.height}px;width:100%'></div>"
                    f"<script type='text/javascript'>(function(){{var s={b.json};"
                    f"Plotly.newPlot(document.getElementById('{div_id}'),s.data||[],s.layout||{{}},"
                    "{responsive:true,displaylogo:false});})();</script>"
                )
        parts.append("<p><em>Use .save_html(path) for the full report.</em></p></div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"Report({self.title!r}, sections={[s.id for s in self.sections]})"


# --------------------------------------------------------------------------- builder
def build_report(
    data: InterviewData,
    *,
    outcomes: pd.DataFrame | None = None,
    demographics: pd.DataFrame | None = None,
    suggestion: Any = None,
    redact_pii: bool = True,
    title: str | None = None,
    generated_at: str | _dt.datetime | None = None,
    strict: bool = False,
) -> Report:
    """Run the analyses on ``data`` and assemble a :class:`Report`.

    Parameters
    ----------
    data
        The interviews (one or several postings).
    outcomes
        Hire outcomes from :func:`~milo_analytics.read_outcomes` (``interview_id``, ``hired``,
        optional ``performance``). Adds the outcomes-and-validity section.
    demographics
        From :func:`~milo_analytics.read_demographics`. Adds the adverse-impact section and
        group gaps in the speech section.
    suggestion
        A :class:`~milo_analytics.WeightSuggestion`. Adds the weight-suggestion section.
    redact_pii
        Remove candidate names, emails and phone numbers everywhere (default True).
    title
        Page title; defaults to the posting titles.
    generated_at
        Timestamp shown in the page. Pass a fixed value for byte-identical output; defaults
        to now (UTC).
    strict
        Re-raise unexpected exceptions from the analyses instead of showing them in the page
        (errors a user can cause, :class:`~milo_analytics.errors.MiloError`, are always shown).

    Returns
    -------
    Report

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> cands = pd.DataFrame({"interview_id": ["i1"], "posting_id": "P", "name": ["Ada Lovelace"],
    ...                       "status": ["pending"]})
    >>> html_text = build_report(InterviewData(candidates=cands)).to_html()
    >>> "Lovelace" in html_text
    False
    """
    builder = _Builder(
        data,
        outcomes=outcomes,
        demographics=demographics,
        suggestion=suggestion,
        redact_pii=redact_pii,
        strict=strict,
    )
    sections = builder.build()
    return Report(
        title=builder.redact.light(title) if title else builder.default_title(),
        generated_at=_timestamp(generated_at),
        sections=sections,
        facts=builder.facts,
        redact_pii=redact_pii,
        problems=builder.problems,
        results=builder.results,
    )


class _Builder:
    """Collects sections; each part runs in isolation so one failure does not sink the report."""

    def __init__(
        self,
        data: InterviewData,
        *,
        outcomes: pd.DataFrame | None,
        demographics: pd.DataFrame | None,
        suggestion: Any,
        redact_pii: bool,
        strict: bool,
    ) -> None:
        if not isinstance(data, InterviewData):
            from .errors import DataError

            raise DataError(
                f"build_report needs an InterviewData (from load_posting), got {type(data).__name__}"
            )
        self.data = data
        self.outcomes = outcomes
        self.demographics = demographics
        self.suggestion = suggestion
        self.strict = strict
        self.redact = Redactor.for_data(
            data, enabled=redact_pii, extra_frames=[outcomes, demographics]
        )
        self.problems: list[str] = []
        self.facts: dict[str, Any] = {}
        self.results: dict[str, Any] = {}  # analysis results by name (Report.results)
        self._fig_counter: dict[str, int] = {}
        self.postings = data.posting_ids
        self.question_text = self._question_labels()
        self.posting_titles = _posting_labels(data)
        self.posting_table = self._posting_table()

    def _posting_table(self) -> pd.DataFrame | None:
        from .analysis.overview import posting_overview

        try:
            return posting_overview(self.data).table
        except MiloError:
            return None

    def posting_name(self, pid: Any) -> str:
        """``"id · title"`` of a posting (the id alone when it has no title); redacted."""
        title = self.posting_titles.get(pid)
        if isinstance(title, str) and title and title != pid:
            return f"{pid} · {self.redact.light(title)}"
        return str(pid)

    def _scale_of(self, pid: str) -> str:
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

    def _ranks(self) -> dict[str, Any]:
        q = self.data.questions
        return {
            qid: int(r)
            for qid, r in zip(q["question_id"], q["rank"], strict=False)
            if isinstance(qid, str) and pd.notna(r)
        }

    def _question_labels(self) -> dict[str, str]:
        q = self.data.questions
        labels: dict[str, str] = {}
        for qid, rank, text in zip(q["question_id"], q["rank"], q["text"], strict=False):
            if not isinstance(qid, str):
                continue
            short = text if isinstance(text, str) and text else qid
            short = short if len(short) <= 48 else short[:45].rstrip() + "…"
            labels[qid] = f"Q{rank}: {short}" if pd.notna(rank) else short
        return labels

    def run(self, section: Section, label: str, fn: Callable[[], Any]) -> Any:
        """Run one part; on failure add an error block to ``section`` and return None."""
        try:
            return fn()
        except MiloError as exc:
            message = f"{label}: {self.redact(str(exc))}"
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
    ) -> None:
        """Add a plotly figure (redacted, escaped, deterministic id)."""
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
                notes=[self.redact.light(n) for n in notes],
                data={"figure": fig_id, "title": plot_title},
            )
        )

    def _relabel(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Question ids → "Q1" (x) / "Q1: text" (y) and posting ids → "id · title" in a figure.

        Analysis figures name questions and postings by id; readers need ranks and titles.
        Only whole category values, trace names and titles are touched (not hover templates).
        """
        ranks = self._ranks()
        short = {q: f"Q{r}" for q, r in ranks.items()}
        long = self.question_text
        names = {p: self.posting_name(p) for p in self.postings}

        def text(v: Any) -> Any:
            if not isinstance(v, str):
                return v
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
                isinstance(v, str) and v in table for v in values
            ):
                return [table.get(v, v) if isinstance(v, str) else v for v in values]
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
            data.append(t)
        layout = dict(spec.get("layout", {}))
        tt = layout.get("title")
        if isinstance(tt, dict) and "text" in tt:
            layout["title"] = {**tt, "text": text(tt["text"])}
        elif isinstance(tt, str):
            layout["title"] = text(tt)
        return {"data": data, "layout": layout}

    def notes(self, section: Section, notes: list[str]) -> None:
        """Append a block of plain-text notes (redacted like every toolkit text)."""
        section.blocks.append(
            Block(kind="html", html="", notes=[self.redact.light(n) for n in notes])
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
    ) -> None:
        """Add a capped, escaped, redacted table (question and posting titles added)."""
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
        if (
            label_questions
            and {"question_id", "text"} <= set(frame.columns)
            and "question" not in frame.columns
        ):
            # "Q1: short text" instead of the full question: tables stay narrow enough to read
            short = frame["question_id"].map(lambda q: self.question_text.get(q))
            frame = frame.assign(text=short.fillna(frame["text"]).astype("str")).rename(
                columns={"text": "question"}
            )
        elif label_questions and "text" not in frame.columns:
            frame = self._label_questions(frame)
        section.blocks.append(
            Block(
                kind="table",
                title=title,
                html=_table_html(frame, max_rows=max_rows),
                notes=[self.redact.light(n) for n in notes],
                data=_records(frame, max_rows),
                collapsed=collapsed,
            )
        )

    def _label_questions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add the question's rank and text beside a column that holds question ids."""
        known = self.question_text
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
                html=f"<p>{html.escape(self.redact.light(text))}</p>",
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
    ) -> None:
        """A Result-like object: its table, notes and plot."""
        if result is None:
            return
        table = getattr(result, "table", None)
        if table is None and hasattr(result, "to_frame"):
            table = result.to_frame()
        notes = [str(n) for n in getattr(result, "notes", []) or []]
        heading = title or getattr(result, "title", None)
        if plot and hasattr(result, "plot"):
            fig = self.run(section, f"{heading or 'figure'}", result.plot)
            self.figure(section, fig, title=heading)
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
        fn: Callable[[InterviewData], Any],
        *,
        title: str,
        key: str,
    ) -> None:
        """Run a Result-returning analysis once per posting (one figure and table each)."""
        if len(self.postings) <= 1:
            res = self.run(section, label, lambda: fn(self.data))
            for pid in self.postings:
                self.keep(key, res, pid)
            self.add_result(section, res, title=title)
            return
        for pid in self.postings:
            sub = self._posting_data(pid)
            if sub.interviews.empty and sub.scores.empty:
                continue
            res = self.keep(
                key, self.run(section, f"{label} ({pid})", lambda sub=sub: fn(sub)), pid
            )
            self.add_result(
                section, res, title=f"{title} — {self.posting_name(pid)}", one_posting=True
            )

    def _posting_data(self, pid: str) -> InterviewData:
        cache = self.__dict__.setdefault("_posting_cache", {})
        if pid not in cache:
            cache[pid] = self.data.filter(posting_id=pid)
        return cache[pid]

    # ---------------------------------------------------------------- sections
    def build(self) -> list[Section]:
        d = self.data
        self.facts = self._facts()
        sections = [self.overview()]
        if len(d.interviews) or len(d.scores):
            sections.append(self.weights())
            sections.append(self.questions())
        if d.interviews["speech_score"].notna().any():
            sections.append(self.speech())
        if self.outcomes is not None:
            sections.append(self.validity())
        if self.suggestion is not None:
            sections.append(self.suggestion_section())
        if self.demographics is not None:
            sections.append(self.impact())
        sections.append(self.data_quality())
        self._headline(sections)
        return sections

    def _headline(self, sections: list[Section]) -> None:
        """The audit's and the suggestion's conclusions in the page header (read first)."""
        by_id = {s.id: s for s in sections}
        audit = by_id.get("adverse-impact")
        if audit is not None:
            if "flags" in audit.facts:
                flags, below = audit.facts["flags"], audit.facts["below_four_fifths"]
                self.facts["Adverse impact"] = (
                    f"{flags} flag{'' if flags == 1 else 's'} (evidence of adverse impact); "
                    f"{below} impact ratio{' is' if below == 1 else 's are'} below 0.8 "
                    "— see the Adverse impact section"
                )
            else:
                self.facts["Adverse impact"] = "not computed — see the Adverse impact section"
        sug = by_id.get("suggestion")
        if sug is not None and "recommendation" in sug.facts:
            self.facts["Suggested weights"] = (
                f"{sug.facts['recommendation']} — see the Suggested question weights section"
            )

    def _facts(self) -> dict[str, Any]:
        s = self.data.summary()
        facts: dict[str, Any] = {
            "Postings": ", ".join(self.posting_name(p) for p in self.postings) or "—",
            "Candidates": s["candidates"],
            "Completed interviews": s["interviews"],
            "Scored questions": int((~self.data.questions["not_scored"]).sum()),
            "Question score scale": self._scales(),
        }
        if s["first_created"] is not None:
            facts["Candidates created"] = (
                f"{s['first_created']:%Y-%m-%d} → {s['last_created']:%Y-%m-%d}"
            )
        facts["Load errors"] = s["errors"]
        if self.outcomes is not None:
            facts["Outcomes"] = f"{len(self.outcomes):,} rows"
        if self.demographics is not None:
            facts["Demographics"] = f"{len(self.demographics):,} rows"
        return facts

    def _scales(self) -> str:
        """ "1–5" when every posting uses it, else the scale of each posting."""
        t = self.posting_table
        if t is None or t.empty:
            s = self.data.score_scale
            return f"1–{s}" if s else "unknown"
        scales = {
            pid: (f"1–{int(v)}" if pd.notna(v) else "unknown")
            for pid, v in zip(t["posting_id"], t["score_scale"], strict=True)
        }
        if len(set(scales.values())) == 1:
            return next(iter(scales.values()))
        return "; ".join(f"{v} ({self.posting_name(p)})" for p, v in scales.items())

    def overview(self) -> Section:
        sec = Section(
            "overview",
            "Overview",
            intro=(
                "The postings, where every candidate currently stands, and how overall scores "
                "(0–100 points) and speech scores (0–5) are distributed. Each posting scores its "
                "questions on its own scale (below), so question-level numbers compare only "
                "within a posting."
            ),
        )
        d = self.data
        t = self.posting_table
        if t is not None and len(t):
            shown = t.assign(
                score_scale=t["score_scale"].map(lambda v: f"1–{int(v)}" if pd.notna(v) else ""),
                first_created=t["first_created"].map(_day),
                last_created=t["last_created"].map(_day),
            ).rename(
                columns={
                    "score_scale": "question scale",
                    "scored_questions": "scored questions",
                    "first_created": "first candidate",
                    "last_created": "last candidate",
                    "interviews": "completed interviews",
                }
            )
            self.table(sec, shown, title="Postings", label_postings=False)
        funnel = self.keep(
            "status_funnel", self.run(sec, "Status counts", lambda: _analysis("status_funnel")(d))
        )
        if funnel is not None and len(funnel.table):
            sec.facts["statuses"] = funnel.table.groupby("status")["n"].sum().to_dict()
            self.figure(sec, self.run(sec, "Status figure", funnel.plot))
            self.table(
                sec,
                funnel.wide(),
                title="Candidates by current status (counts)",
                notes=[
                    *funnel.notes,
                    "'Completed interviews' above counts every candidate with results (status "
                    + ", ".join(sorted(RESULT_STATUSES))
                    + "); the 'completed' status alone is those not yet shortlisted, dismissed "
                    "or knocked out.",
                ],
                label_postings=False,
            )
        iv = d.interviews
        for column, label in (("score", "Overall score"), ("speech_score", "Speech score")):
            if not (len(iv) and iv[column].notna().any()):
                continue
            dist = self.run(
                sec, f"{label} distribution", lambda c=column: _analysis("score_distribution")(d, c)
            )
            if dist is None:
                continue
            self.figure(sec, self.run(sec, f"{label} figure", dist.plot))
            unit = "points, 0–100" if column == "score" else "0–5"
            self.table(
                sec,
                dist.summary.drop(columns=["title"]),
                title=f"{label} by posting ({unit})",
                notes=["sd: sample standard deviation (n − 1)."],
            )
        if len(iv) >= 2:
            for pid in self.postings:
                sub = self._posting_data(pid)
                if len(sub.interviews) < 2:
                    continue
                res = self.keep(
                    "drift",
                    self.run(sec, f"Drift ({pid})", lambda s=sub: _analysis("drift")(s)),
                    pid,
                )
                if res is not None:
                    self._drift(sec, res, pid)
        return sec

    def _drift(self, sec: Section, res: Any, pid: str) -> None:
        fig = self.run(sec, f"Drift figure ({pid})", res.plot)
        if fig is not None:
            fig.for_each_trace(
                lambda t: t.update(name="weekly mean") if t.name == "score" else None
            )
            fig.update_yaxes(title="mean overall score (points); band: p25–p75")
            fig.update_xaxes(title="week (ending Sunday, UTC)")
        self.figure(
            sec, fig, title=f"Overall score by week — {self.posting_name(pid)}", retitle=True
        )
        comp = getattr(res, "comparison", None)
        notes = [str(n) for n in res.notes]
        if isinstance(comp, pd.DataFrame) and len(comp):
            split = comp["split"].dropna()
            when = f" of {_day(split.iloc[0])}" if len(split) else ""
            self.table(
                sec,
                comp.drop(columns=["split"]),
                title=f"Before / after the weight change{when} — {self.posting_name(pid)}",
                notes=notes,
            )
            notes = []
        t = res.table
        periods = t.assign(period=t["period"].map(_day)).rename(columns={"period": "week ending"})
        self.table(
            sec,
            periods[periods["variable"].isin(["score", "speech_score"])],
            title=f"Overall and speech score by week — {self.posting_name(pid)}",
            notes=notes,
            collapsed=True,
            max_rows=80,
        )

    def weights(self) -> Section:
        sec = Section(
            "weights",
            "Question weights",
            intro=(
                "A question's nominal weight is not its influence on the overall score: the "
                "effective share depends on each question's spread and its correlations "
                "(METHODS §2). The reconstruction checks how the vendor's overall score is built "
                "from the scorecard."
            ),
        )
        self.per_posting(
            sec,
            "Effective weights",
            lambda d: _analysis("effective_weights")(d),
            title="Nominal vs effective weights",
            key="effective_weights",
        )
        self.per_posting(
            sec,
            "Score reconstruction",
            lambda d: _analysis("reconcile_scores")(d),
            title="Score reconstruction",
            key="reconcile_scores",
        )
        return sec

    def questions(self) -> Section:
        sec = Section(
            "questions",
            "Questions and reliability",
            intro=(
                "Per-question score distributions, item statistics and Cronbach's α with the "
                "Feldt interval (METHODS §3). Each posting's questions are on that posting's "
                "scale (1–5 or 1–10)."
            ),
        )
        res = self.keep(
            "items",
            self.run(sec, "Item statistics", lambda: _analysis("item_statistics")(self.data)),
        )
        if res is None:
            return sec
        from . import plots

        notes = [str(n) for n in res.notes]
        for pid in self.postings:
            rows = res.table[res.table["posting_id"] == pid]
            if rows.empty:
                continue
            name = self.posting_name(pid)
            fig = self.run(
                sec, f"Item figure ({pid})", lambda p=pid: res.plot("distribution", posting_id=p)
            )
            if fig is not None:  # a 1–10 legend does not fit beside the bars: put it on top
                fig.update_layout(
                    legend=dict(
                        orientation="h",
                        yanchor="bottom",
                        y=1.0,
                        x=0,
                        traceorder="normal",
                        title_text=f"score (scale {self._scale_of(pid)})",
                    ),
                    height=(fig.layout.height or 300) + 40,
                    margin=dict(t=100),
                )
                fig.update_xaxes(title="share of interviews")
            self.figure(sec, fig)
            self.table(
                sec,
                rows,
                title=f"Item statistics — {name} (scale {self._scale_of(pid)})",
                notes=[n for n in notes if pid in n],
            )
            corr = self.run(sec, f"Correlations ({pid})", lambda p=pid: res.correlations(p))
            if isinstance(corr, pd.DataFrame) and corr.shape[0] >= 2:
                ranks = self._ranks()
                corr = corr.copy()
                corr.index = [self.question_text.get(q, q) for q in corr.index]
                corr.columns = [f"Q{ranks[q]}" if q in ranks else q for q in corr.columns]
                self.figure(
                    sec,
                    self.run(
                        sec,
                        f"Correlation heatmap ({pid})",
                        lambda c=corr, n=name: plots.report_heatmap(
                            c, title=f"Inter-item correlations (pairwise r) — {n}"
                        ),
                    ),
                )
        rel = res.reliability
        if isinstance(rel, pd.DataFrame) and len(rel):
            sec.facts["alpha"] = {
                str(p): round(float(a), 3)
                for p, a in zip(rel["posting_id"], rel["alpha"], strict=True)
            }
            keep = {
                "posting_id": "posting_id", "n": "interviews", "k": "questions",
                "scale_max": "question scale max", "alpha": "alpha", "ci_low": "ci_low",
                "ci_high": "ci_high", "mean_inter_item_r": "mean inter-item r",
                "sd_overall": "sd (overall, points)", "sem_overall": "SEM (overall, points)",
            }  # fmt: skip
            self.table(
                sec,
                rel[[c for c in keep if c in rel.columns]].rename(columns=keep),
                title="Reliability (Cronbach's α with Feldt 95% CI; SEM of the overall score)",
                notes=[n for n in notes if not any(p in n for p in self.postings)],
            )
        self._examples(sec)
        return sec

    def _examples(self, sec: Section) -> None:
        """Up to two evaluation summaries per question (redacted, escaped), deterministic."""
        s = self.data.scores
        if s.empty or s["evaluation_summary"].isna().all():
            return
        s = s[s["evaluation_summary"].notna() & (s["evaluation_summary"].str.len() > 0)]
        s = s.sort_values(["posting_id", "rank", "interview_id"], kind="stable")
        parts = []
        for (pid, qid), grp in s.groupby(["posting_id", "question_id"], sort=False):
            quotes = "".join(
                f"<blockquote class='milo-quote'>{html.escape(self.redact(str(t))[:600])}</blockquote>"
                for t in grp["evaluation_summary"].head(2)
            )
            label = html.escape(self.question_text.get(qid, qid))
            if bool(grp["not_scored"].astype(bool).any()):
                label += " (not scored)"
            parts.append(
                f"<details><summary>{html.escape(self.posting_name(pid))} — {label}</summary>"
                f"{quotes}</details>"
            )
            if len(parts) >= 30:
                break
        section_html = "".join(parts)
        sec.blocks.append(
            Block(
                kind="html",
                title="How answers were evaluated (examples)",
                html=section_html,
                notes=["The first two evaluation summaries per question, by interview id."],
            )
        )

    def speech(self) -> Section:
        sec = Section(
            "speech",
            "Speech score",
            intro=(
                "The speech score (0–5: clarity, delivery, tone) is not a question and carries "
                "no weight (METHODS §7). Its distribution is in the overview; here: how it "
                "relates to the overall score (0–100 points) and to each question, and whether "
                "it adds to the questions in predicting outcomes."
            ),
        )
        res = self.run(
            sec,
            "Speech summary",
            lambda: _analysis("speech_summary")(
                self.data, outcomes=self.outcomes, demographics=self.demographics
            ),
        )
        self.keep("speech", res)
        if res is None:
            return sec
        notes = [str(n) for n in res.notes]
        general = list(dict.fromkeys(n for n in notes if not any(p in n for p in self.postings)))
        for pid in self.postings:
            rows = res.table[res.table["posting_id"] == pid]
            if rows.empty:
                continue
            name = self.posting_name(pid)
            fig = self.run(
                sec, f"Speech figure ({pid})", lambda p=pid: res.plot("scatter", posting_id=p)
            )
            self.figure(
                sec,
                fig,
                title=(
                    f"Speech vs overall score — {name} "
                    "(cells: interviews; line: mean overall score)"
                ),
                retitle=True,
            )
            shown = rows.assign(
                variable=rows["variable"].map(lambda v: "overall score" if v == "overall" else v)
            )
            self.table(
                sec,
                shown,
                title=f"Correlation of the speech score with the overall score and each question "
                f"— {name}",
                notes=[n for n in notes if pid in n],
            )
        inc = res.incremental
        if isinstance(inc, pd.DataFrame) and len(inc):
            self.table(
                sec,
                inc,
                title="Incremental validity of the speech score over the question scores",
                notes=["delta: full model (questions + speech) minus questions only."],
            )
        gaps = res.gaps
        if isinstance(gaps, pd.DataFrame) and len(gaps):
            self.table(
                sec,
                gaps,
                title="Speech score by group (Cohen's d and scoring-rate impact ratio)",
                collapsed=True,
                label_questions=False,
                max_rows=60,
            )
        if general:
            self.notes(sec, general)
        return sec

    def validity(self) -> Section:
        sec = Section(
            "validity",
            "Outcomes and validity",
            intro=(
                "How the overall score, the speech score and each question relate to outcomes: "
                "correlations with 95% confidence intervals and p values (significant = p < .05, "
                "as the Uniform Guidelines ask), the hire rate by overall-score quintile, and "
                "each question's share of the explained variance. A model of 'hired' reproduces "
                "past decisions, including any past bias; prefer performance or retention where "
                "available. Coefficients are observed values (no correction for range "
                "restriction or criterion unreliability)."
            ),
        )
        from . import plots

        out = self.outcomes
        jr = getattr(out, "attrs", {}).get("join_report")
        if isinstance(jr, dict):
            if hasattr(jr, "summary"):
                self.paragraph(sec, str(jr.summary()))
            self.table(sec, _join_table(jr), title="How the outcomes file joined", collapsed=True)
        if "interview_id" not in out.columns:
            sec.error = "The outcomes could not be joined to interviews (no interview_id column)."
            return sec
        targets = [t for t in ("hired", "performance") if t in out.columns and out[t].notna().any()]
        units = {"hired": "hired = 1, not hired = 0", "performance": "performance rating"}
        for target in targets:
            res = self.run(
                sec,
                f"Validity for {target}",
                lambda t=target: _analysis("outcome_validity")(self.data, out, target=t),
            )
            if res is None:
                continue
            self.results.setdefault("validity", {})[target] = res
            labelled = res.table.assign(label=res.table["predictor"].map(self._predictor_label))
            fig = self.run(
                sec,
                f"Validity figure ({target})",
                lambda t=labelled, g=target: plots.report_validity(
                    t, title=f"Correlation with {g} (95% CI)"
                ),
            )
            self.figure(sec, fig)
            self.table(
                sec,
                res.table.drop(columns=["title", "outcome"]).assign(
                    predictor=res.table["predictor"]
                    .map({"score": "overall score", "speech_score": "speech score"})
                    .fillna(res.table["predictor"])
                ),
                title=f"Validity coefficients for {target} ({units.get(target, target)})",
                notes=res.notes[:1],
                max_rows=60,
            )
            sec.facts[f"validity_{target}"] = {
                str(r["posting_id"]): _jsonable(r["r"])
                for _, r in res.table[res.table["predictor"] == "score"].iterrows()
            }
            if res.extras.get("binary") and len(res.bands):
                rate = "Hire rate" if target == "hired" else f"Rate of {target}"
                fig = self.run(sec, f"Quintile figure ({target})", res.plot)
                if fig is not None:
                    fig.update_yaxes(title=f"{rate.lower()} (share of the quintile)")
                self.figure(sec, fig, title=f"{rate} by overall-score quintile", retitle=True)
                self.table(
                    sec,
                    res.bands.drop(columns=["title"]),
                    title=f"{rate} by overall-score quintile (score range in points)",
                    notes=res.notes[1:],
                    collapsed=True,
                )
        target = (
            "performance"
            if "performance" in out.columns and out["performance"].notna().sum() >= 30
            else "hired"
        )
        if target not in out.columns:
            return sec
        imp = self.run(
            sec,
            f"Question importance ({target})",
            lambda: _analysis("question_importance")(
                self.data, out, target=target, n_boot=IMPORTANCE_BOOTSTRAP
            ),
        )
        if imp is None:
            return sec
        self.keep("importance", imp)
        for pid in self.postings:
            rows = imp.table[imp.table["posting_id"] == pid]
            if rows.empty:
                continue
            name = self.posting_name(pid)
            fig = self.run(sec, f"Importance figure ({pid})", lambda p=pid: imp.plot(posting_id=p))
            self.figure(
                sec,
                fig,
                title=f"Question importance for {target} — {name} (relative weights, % of R²)",
                retitle=True,
            )
            cols = [
                "question_id", "n", "rescaled_weight", "rw_ci_low", "rw_ci_high",
                "rescaled_lmg", "lmg_ci_low", "lmg_ci_high",
            ]  # fmt: skip
            self.table(
                sec,
                rows[[c for c in cols if c in rows.columns]],
                title=f"Relative importance for {target} — {name} (% of R²)",
                notes=[
                    "rescaled weights and LMG: each question's share of the explained variance "
                    "(%), with bootstrap 95% CIs; they sum to 100 within the posting.",
                    *[n for n in imp.notes if pid in n],
                ],
            )
        return sec

    def _predictor_label(self, predictor: str) -> str:
        if predictor == "score":
            return "Overall score"
        if predictor == "speech_score":
            return "Speech score"
        return self.question_text.get(predictor, predictor)

    def suggestion_section(self) -> Section:
        sec = Section(
            "suggestion",
            "Suggested question weights",
            intro=(
                "Weights fitted to outcomes, shrunk toward today's weights and compared out of "
                "sample with the current and equal weights (METHODS §5). Past candidates keep "
                "their scores; new weights apply to interviews scored after a push."
            ),
        )
        sg = self.suggestion
        rec = getattr(sg, "recommendation", None)
        baseline = getattr(sg, "baseline", None)
        pid = baseline.get("posting_id") if isinstance(baseline, dict) else None
        if rec is not None:
            sec.facts["recommendation"] = rec
            where = f" for posting {self.posting_name(pid)}" if pid else ""
            self.paragraph(sec, f"Recommendation{where}: {rec}.")
        fig = self.run(sec, "Suggestion figure", sg.plot) if hasattr(sg, "plot") else None
        self.figure(sec, fig)
        table = getattr(sg, "table", None)
        if isinstance(table, pd.DataFrame):
            self.table(sec, table, title="Current and suggested weights", label_questions=False)
        comp = getattr(sg, "comparison", None)
        if isinstance(comp, pd.DataFrame):
            self.table(sec, comp, title="Out-of-sample comparison (same folds)")
        notes = [str(n) for n in getattr(sg, "notes", []) or []]
        if notes:
            self.notes(sec, notes)
        self._what_if(sec, sg)
        return sec

    def _what_if(self, sec: Section, sg: Any) -> None:
        """Rank changes and shortlist flips if the suggested integer weights had been used."""
        table = getattr(sg, "table", None)
        baseline = getattr(sg, "baseline", None) or {}
        pid = baseline.get("posting_id") if isinstance(baseline, dict) else None
        if not isinstance(table, pd.DataFrame) or pid not in self.postings:
            return
        col = "suggested_integer" if "suggested_integer" in table.columns else "suggested_weight"
        if col not in table.columns or "question_id" not in table.columns:
            return
        weights = {
            str(q): float(w)
            for q, w in zip(table["question_id"], table[col], strict=True)
            if pd.notna(w)
        }
        res = self.run(
            sec,
            "What-if rescoring",
            lambda: _analysis("rescore")(self._posting_data(pid), weights, top=0.25),
        )
        if res is None:
            return
        self.keep("rescore", res)
        self.add_result(
            sec, res, title=f"If past candidates had been scored with the suggested weights ({pid})"
        )
        sec.blocks[-1].notes.append(
            "Shortlist = the best 25 % of the posting by overall score, before and after, both "
            "recomputed from the scorecards with the same formula. Past candidates keep their "
            "real scores: this only shows how far the decisions would move."
        )

    def impact(self) -> Section:
        from .analysis.fairness import FLAG_RULE

        sec = Section(
            "adverse-impact",
            "Adverse impact",
            intro=(
                "Impact ratios by sex, race/ethnicity and their intersection as NYC Local Law "
                "144 and the EEOC four-fifths rule define them (METHODS §6): for scores, the "
                "scoring rate is the share strictly above the posting's median; the impact "
                "ratio is a category's rate divided by the highest category's rate. Two "
                "separate lists follow. (1) Four-fifths results: every ratio below 0.8, as the "
                "rule of thumb reads, whatever the sample size. (2) Flags — evidence of adverse "
                f"impact under this toolkit's rule: {FLAG_RULE}. A ratio below 0.8 that is not "
                "flagged can still matter in small samples; read both."
            ),
        )
        jr = getattr(self.demographics, "attrs", {}).get("join_report")
        if isinstance(jr, dict):
            if hasattr(jr, "summary"):
                self.paragraph(sec, str(jr.summary()))
            self.table(
                sec, _join_table(jr), title="How the demographics file joined", collapsed=True
            )
        res = self.run(
            sec, "Bias audit", lambda: _analysis("bias_audit")(self.data, self.demographics)
        )
        if res is None:
            return sec
        self.keep("audit", res)
        if not isinstance(getattr(res, "summary", None), pd.DataFrame):
            self.add_result(sec, res, title="Impact ratios")
            return sec
        t = res.table
        flag_mask = t["flag"].fillna(False).astype(bool)
        below_mask = t["below_four_fifths"].fillna(False).astype(bool)
        flags, below = t[flag_mask], t[below_mask]
        sec.facts["flags"] = len(flags)
        sec.facts["below_four_fifths"] = int(below_mask.sum())
        opts = getattr(res, "options", {}) or {}
        rule = (
            f"Flag rule used: {FLAG_RULE} (alpha = {opts.get('alpha', 0.05)}, "
            f"min_n = {opts.get('min_n', '?')})."
        )
        for pid in sorted(t["posting_id"].dropna().unique().tolist()):
            name = self.posting_name(pid)
            tp = t[t["posting_id"] == pid]
            # the overall score always; then every measure with a flag (e.g. the speech score)
            measures = ["score"] if (tp["measure"] == "score").any() else []
            measures += sorted(
                set(tp.loc[tp["flag"].fillna(False).astype(bool), "measure"]) - set(measures)
            )
            for m in measures:
                label = tp.loc[tp["measure"] == m, "label"].iloc[0]
                fig = self.run(
                    sec,
                    f"Impact ratio figure ({pid}, {m})",
                    lambda p=pid, m=m: res.plot(m, posting_id=p),
                )
                self.figure(sec, fig, title=f"Impact ratios — {label} — {name}", retitle=True)
            if len(res.sweep):
                fig = self.run(
                    sec,
                    f"Threshold sweep ({pid})",
                    lambda p=pid: res.plot("score", posting_id=p, kind="sweep"),
                )
                self.figure(
                    sec,
                    fig,
                    title=f"Overall score: impact ratio by cut score — {name}",
                    retitle=True,
                )
        show = [
            "posting_id", "label", "dimension", "category", "n", "rate", "impact_ratio",
            "p_adjusted", "flag", "shortfall",
        ]  # fmt: skip
        cols = [c for c in show if c in t.columns]
        if len(below):
            below = below[cols].rename(columns={"flag": "flagged"}).reset_index(drop=True)
            core = (
                below["label"].eq("Overall score") & below["dimension"].ne("intersection")
                if {"label", "dimension"} <= set(below.columns)
                else pd.Series(True, index=below.index)
            )
            raw_note = (
                "Raw four-fifths rule: every category whose rate is below 80 % of the highest "
                "category's, flagged or not. rate: share scoring above the posting's median "
                "(or selected); p_adjusted: Holm-adjusted p of the category against everybody "
                "else; shortfall: the fewest extra people of the category who would have to "
                "score above the median (or be selected) to lift its ratio to 0.8."
            )
            self.table(
                sec,
                below[core],
                title=(
                    f"(1) Four-fifths results, overall score by sex and race/ethnicity: "
                    f"{int(core.sum())} ratio(s) below 0.8"
                ),
                notes=[raw_note],
                label_questions=False,
            )
            self.table(
                sec,
                below,
                title=(
                    f"(1b) Every ratio below 0.8 — all measures, questions and intersections "
                    f"({len(below)})"
                ),
                label_questions=False,
                max_rows=120,
                collapsed=True,
            )
        else:
            self.paragraph(sec, "No impact ratio is below 0.8.", title="(1) Four-fifths results")
        if len(flags):
            self.table(
                sec,
                flags[[c for c in cols if c != "flag"]].reset_index(drop=True),
                title=f"(2) Flags ({len(flags)})",
                notes=[rule],
                label_questions=False,
            )
        else:
            self.paragraph(
                sec,
                "No evidence of adverse impact under the flag rule: no category has a ratio "
                "below 0.8 that is also significant after Holm's adjustment with enough people. "
                + rule,
                title="(2) Flags",
            )
        summary_cols = [
            "posting_id", "label", "dimension", "reference", "n", "unknown",
            "min_impact_ratio", "lowest_category", "below_four_fifths", "flagged",
        ]  # fmt: skip
        summ = res.summary[[c for c in summary_cols if c in res.summary.columns]]
        self.table(
            sec,
            summ,
            title=f"Summary by measure ({len(summ)} rows)",
            label_questions=False,
            max_rows=80,
            collapsed=True,
            notes=[
                "below_four_fifths / flagged: how many categories of the measure are below "
                "0.8 / flagged."
            ],
        )
        if isinstance(getattr(res, "unknown", None), pd.DataFrame) and len(res.unknown):
            self.table(
                sec, res.unknown, title="Candidates with unknown categories", label_questions=False
            )
        notes = [str(n) for n in res.notes]
        if notes:
            self.notes(sec, notes)
        return sec

    def data_quality(self) -> Section:
        sec = Section(
            "data-quality",
            "Data quality",
            intro="Documents that failed to load or parse, unfinished interviews, and missing values.",
        )
        d = self.data
        c = d.candidates
        unfinished = int(c["status"].isin(UNFINISHED_STATUSES).sum())
        with_results = int(c["status"].isin(RESULT_STATUSES).sum())
        missing_results = max(with_results - len(d.interviews), 0)
        rows = [
            ("Load errors", len(d.errors)),
            ("Unfinished interviews (not errors)", unfinished),
            ("Candidates with results but no interview document", missing_results),
            ("Interviews without an overall score", int(d.interviews["score"].isna().sum())),
            ("Interviews without a speech score", int(d.interviews["speech_score"].isna().sum())),
            ("Scorecard items without a score", int(d.scores["score"].isna().sum())),
        ]
        sec.facts.update({k: v for k, v in rows})
        self.table(sec, pd.DataFrame(rows, columns=["check", "count"]), title="Checks")
        if len(d.errors):
            by_stage = d.errors.groupby("stage", dropna=False).size().rename("n").reset_index()
            self.table(sec, by_stage, title="Load errors by stage")
            errs = d.errors.sort_values(["stage", "interview_id"], kind="stable")
            self.table(sec, errs, title="Load errors", max_rows=25, free_text=True)
        return sec


# --------------------------------------------------------------------------- helpers
def _analysis(name: str) -> Callable[..., Any]:
    from . import analysis

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


def _day(v: Any) -> str:
    """A timestamp as its UTC date (tables show days, not microseconds)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    ts = pd.Timestamp(v)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return f"{ts:%Y-%m-%d}"


def _join_table(report: dict[str, Any]) -> pd.DataFrame:
    """Scalar facts of a join report (line lists are left out; nested counts flattened)."""
    rows = []
    for key, value in report.items():
        if isinstance(value, bool | int | float | str) or value is None:
            rows.append({"item": str(key), "value": _fmt_value(value)})
        elif isinstance(value, dict):
            for k2, v2 in value.items():
                if isinstance(v2, bool | int | float | str):
                    rows.append({"item": f"{key}: {k2}", "value": _fmt_value(v2)})
                elif isinstance(v2, dict) and all(isinstance(x, int) for x in v2.values()):
                    rows.append({"item": f"{key}: {k2}", "value": str(sum(v2.values()))})
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"item": "str", "value": "str"})


def _redact_tree(node: Any, redact: Callable[[Any], Any], key: str | None = None) -> Any:
    """Redact every string value of a figure spec (keys and the template are left alone)."""
    if isinstance(node, dict):
        return {k: (v if k == "template" else _redact_tree(v, redact, k)) for k, v in node.items()}
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


def _table_html(frame: pd.DataFrame, *, max_rows: int) -> str:
    esc = html.escape
    show_index = not isinstance(frame.index, pd.RangeIndex)
    shown = frame.head(max_rows)
    cols = list(shown.columns)
    text_cols = {
        c
        for c in cols
        if not pd.api.types.is_numeric_dtype(shown[c].dtype)
        or pd.api.types.is_bool_dtype(shown[c].dtype)
    }
    wide = {
        c
        for c in text_cols
        if shown[c].map(lambda v: len(str(v)) if isinstance(v, str) else 0).max() > 40
    }

    def cls(c: Any) -> str:
        return ("text wide" if c in wide else "text") if c in text_cols else "num"

    head = ""
    if show_index:
        head += f"<th class='text'>{esc(str(shown.index.name or ''))}</th>"
    # column names break after underscores ("alpha_if_<wbr>deleted"): narrow pages and print
    head += "".join(f"<th class='{cls(c)}'>{esc(str(c)).replace('_', '_<wbr>')}</th>" for c in cols)
    body = []
    for idx, row in zip(shown.index, shown.itertuples(index=False, name=None), strict=True):
        cells = f"<td class='text'>{esc(_fmt_value(idx))}</td>" if show_index else ""
        for c, v in zip(cols, row, strict=True):
            shown_v = _fmt_p(v) if c in P_COLUMNS else _fmt_value(v)
            cells += f"<td class='{cls(c)}'>{esc(shown_v)}</td>"
        body.append(f"<tr>{cells}</tr>")
    out = (
        "<div class='milo-table-wrap'><table class='milo-table'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )
    if len(frame) > max_rows:
        out += f"<p class='milo-more'>{len(frame) - max_rows:,} more rows not shown.</p>"
    return out


def _fmt_fact(v: Any) -> str:
    """A header fact: counts with thousands separators ("1,600"), else as in tables."""
    if isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_):
        return f"{int(v):,}"
    return _fmt_value(v)


def _fmt_p(v: Any) -> str:
    """A p value as APA writes it: "< .001", else three decimals."""
    if isinstance(v, float | np.floating) and not math.isnan(float(v)):
        return "< .001" if float(v) < 0.001 else f"{float(v):.3f}"
    return _fmt_value(v)


def _posting_labels(data: InterviewData) -> dict[str, str]:
    from .analysis.overview import posting_labels

    return posting_labels(data)


def _fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return ""
        if f != 0 and abs(f) < 0.0005:
            return "0.000"  # not "-0.000"
        if f.is_integer() and abs(f) < 1e6:
            return f"{f:.1f}" if abs(f) < 100 else f"{f:.0f}"
        return f"{f:.3f}" if abs(f) < 100 else f"{f:,.1f}"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if math.isnan(float(v)) else float(v)
    if v is None or isinstance(v, str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _records(frame: pd.DataFrame, max_rows: int) -> dict[str, Any]:
    shown = frame.head(max_rows)
    if not isinstance(shown.index, pd.RangeIndex):
        shown = shown.reset_index()
    return {
        "columns": [str(c) for c in shown.columns],
        "rows": [[_jsonable(v) for v in row] for row in shown.itertuples(index=False, name=None)],
        "total_rows": len(frame),
    }


def _timestamp(value: str | _dt.datetime | None) -> str:
    if value is None:
        value = _dt.datetime.now(_dt.UTC)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


@functools.cache
def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    # Inline-safe: the bundle must not close its own <script> element.
    return get_plotlyjs().replace("</script", "<\\/script")


def _plotly_version() -> str:
    """The version of the embedded plotly.js bundle (not of the plotly Python package)."""
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


@functools.cache
def _resource(name: str) -> str:
    return (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")


@functools.cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def _template(name: str) -> Any:
    return _env().get_template(name)


def _dump(value: Any) -> str:  # pragma: no cover - debugging aid
    return json.dumps(_jsonable(value), indent=2)
