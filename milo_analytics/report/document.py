"""The built report: :class:`Report` (sections of blocks) and its rendering to HTML.

Section modules (:mod:`milo_analytics.report.sections`) fill :class:`Section` objects with
:class:`Block` objects through a :class:`~milo_analytics.report.context.Context`; this module
turns them into one self-contained page (plotly.js embedded once, print layout, escaped
text) and into plain data (:meth:`Report.to_dict`).
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_TABLE_ROWS", "P_COLUMNS", "Block", "Report", "Section"]

#: Rows shown per table (the rest is summarised as "n more rows").
MAX_TABLE_ROWS = 40
#: Columns holding p values (shown as "< .001" rather than 0.000).
P_COLUMNS = frozenset({"p_value", "p_adjusted", "p_rest", "r_p", "mw_p", "ks_p", "p"})
#: The templates folder of the package (HTML template and CSS).
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


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
    >>> from milo_analytics.report import build_report
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
        from .. import __version__

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
        >>> from milo_analytics.report import build_report
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


# --------------------------------------------------------------------------- rendering
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


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    # Inline-safe: the bundle must not close its own <script> element.
    return get_plotlyjs().replace("</script", "<\\/script")


def _plotly_version() -> str:
    """The version of the embedded plotly.js bundle (not of the plotly Python package)."""
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def _resource(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def _template(name: str) -> Any:
    return _env().get_template(name)
