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

__all__ = ["MAX_TABLE_ROWS", "Block", "Link", "Report", "Section"]

#: Rows shown per table (the rest is summarised as "n more rows").
MAX_TABLE_ROWS = 40
#: The printed width of an A4 portrait page with 12 mm margins (186 mm) in CSS pixels: figures
#: are drawn at this width for print and PDF.
PRINT_WIDTH_PX = 703
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
    collapsed: bool = False  # shown inside a closed <details> (stays closed in print)
    data: Any = None  # JSON-able content for to_dict()
    anchor: str = ""  # id of the block's element (links from the summary)
    summary: str = ""  # one line shown on a folded block's <summary>
    frame: pd.DataFrame | None = None  # a table's values (uncapped), for to_excel
    kinds: dict[str, str] = field(default_factory=dict)  # a table's number format per column


@dataclass
class Section:
    """A report section: an id (anchor), a title, blocks, and an error when it failed."""

    id: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    method: tuple[str, str] | None = None  # (anchor, heading) of its methods section


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
        redactor: Any = None,
    ) -> None:
        self.title = title
        self.generated_at = generated_at
        self.sections = sections
        self.facts = facts
        self.redact_pii = redact_pii
        self.problems = problems
        self.results: dict[str, Any] = dict(results or {})
        self.redactor: Any = redactor  # its secrets are scrubbed from every output again

    # ---------------------------------------------------------------- output
    def to_html(self) -> str:
        """The complete, self-contained HTML page as a string."""
        has_figures = any(b.kind == "figure" for s in self.sections for b in s.blocks)
        return self._scrub(self._render(has_figures))

    def _scrub(self, text: str) -> str:
        return self.redactor.scrub_secrets(text) if self.redactor is not None else text

    def _render(self, has_figures: bool) -> str:
        from .. import __version__

        return _template("report.html.j2").render(
            title=self.title,
            generated_at=self.generated_at,
            version=__version__,
            plotly_version=_plotly_version(),
            redact_pii=self.redact_pii,
            facts=[(k, _fact_html(v)) for k, v in self.facts.items()],
            sections=self.sections,
            css=_resource("report.css"),
            plotlyjs=_plotlyjs() if has_figures else "",
            has_figures=has_figures,
            print_width=PRINT_WIDTH_PX,
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

    def save_pdf(self, path: str | Path) -> Path:
        """Print the report to an A4 PDF with headless Chromium (Debian's ``chromium``, on
        ``PATH`` or named by ``MILO_ANALYTICS_CHROMIUM``); return the path.

        Figures are drawn at the printed width; folded blocks stay folded (their one-line
        summary is printed); each section starts a page.

        Examples
        --------
        >>> report.save_pdf("report.pdf")  # doctest: +SKIP
        PosixPath('report.pdf')
        """
        from .export import save_pdf

        return save_pdf(self, path)

    def to_excel(self, path: str | Path) -> Path:
        """Write every table to an Excel workbook and return the path: one sheet per table
        (labelled headers, frozen header row, number formats; all rows, not only those the
        page shows), a "Contents" sheet and a "Columns" glossary.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from milo_analytics.frames import InterviewData
        >>> from milo_analytics.report import build_report
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = build_report(InterviewData()).to_excel(pathlib.Path(tmp) / "r.xlsx")
        ...     list(pd.read_excel(p, sheet_name=None))[:2]
        ['Contents', 'Checks']
        """
        from .export import to_excel

        return to_excel(self, path)

    def save_images(self, folder: str | Path, format: str = "png") -> list[Path]:
        """Save every figure as ``<folder>/<figure id>.png`` (or ``.svg``); return the paths.

        Drawn offline by kaleido with the local Chromium and the bundled plotly.js.

        Examples
        --------
        >>> report.save_images("figures", format="svg")  # doctest: +SKIP
        [PosixPath('figures/fig-overview-1.svg'), ...]
        """
        from .export import save_images

        return save_images(self, folder, format=format)

    def to_dict(self) -> dict[str, Any]:
        """The report's content as plain JSON-able data (tables as capped lists of records)."""
        import json

        return json.loads(self._scrub(json.dumps(self._dict())))

    def _dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "generated_at": self.generated_at,
            "redact_pii": self.redact_pii,
            "facts": {
                k: (_fmt_fact(v) if isinstance(v, list | Link) else _jsonable(v))
                for k, v in self.facts.items()
            },
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
        """A compact notebook view: headline numbers, contents, the summary and the overview
        figures.

        No plotly.js is embedded (a notebook has one copy, from plotly's renderer): the
        figures draw with it; no iframe.
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
        overview = [s for s in self.sections if s.id == "overview"][:1]
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
        summary = [s for s in self.sections if s.id == "summary"][:1]
        for sec in summary:  # the decision-first summary (already escaped HTML)
            parts.append(f"<h4>{esc(sec.title)}</h4>")
            for blk in sec.blocks:
                if blk.kind == "html":
                    parts.append((f"<h5>{esc(blk.title)}</h5>" if blk.title else "") + blk.html)
                elif blk.kind == "table":
                    parts.append(f"<h5>{esc(blk.title or '')}</h5>{blk.html}")
        figs = [b for s in overview for b in s.blocks if b.kind == "figure"][:3]
        if figs:
            # No plotly.js here: a notebook loads it once (plotly's notebook renderer); the
            # figures draw with that copy, or say how to see them.
            token = uuid.uuid4().hex[:12]
            for b in figs:
                div_id = f"{b.id}-{token}"
                parts.append(
                    f"<div id='{div_id}' style='height:{b.height}px;width:100%'></div>"
                    f"<script type='text/javascript'>(function(){{var s={b.json};"
                    f"var d=document.getElementById('{div_id}');"
                    "var go=function(P){P.newPlot(d,s.data||[],s.layout||{},"
                    "{responsive:true,displaylogo:false});};"
                    "if(window.Plotly){go(window.Plotly);}"
                    "else if(window._Plotly){go(window._Plotly);}"
                    "else if(typeof require!=='undefined'){require(['plotly'],go);}"
                    "else{d.style.height='auto';d.textContent='(figure: open the saved HTML "
                    "report, or show any plotly figure first to load plotly.js)';}"
                    "})();</script>"
                )
        parts.append("<p><em>Use .save_html(path) for the full report.</em></p></div>")
        return self._scrub("".join(parts))

    def __repr__(self) -> str:
        return f"Report({self.title!r}, sections={[s.id for s in self.sections]})"


# --------------------------------------------------------------------------- rendering
def _table_html(frame: pd.DataFrame, *, max_rows: int, kinds: dict[str, str] | None = None) -> str:
    """An escaped HTML table: labelled headers (meaning on hover), one number format per
    column, long text cut at a word with an ellipsis and shown whole on hover."""
    from .columns import describe, format_values, infer_kind

    esc = html.escape
    kinds = dict(kinds or {})
    show_index = not isinstance(frame.index, pd.RangeIndex)
    shown = frame.head(max_rows)
    if show_index:
        shown = shown.reset_index()
    cols = list(shown.columns)
    head, cells = [], []
    for c in cols:
        info = describe(c)
        kind = kinds.get(str(c)) or info.kind or infer_kind(shown[c])
        kinds[str(c)] = kind
        cls = "text" if kind in ("text", "date") else "num"
        tip = f" title='{esc(info.tooltip)}'" if info.tooltip else ""
        head.append(f"<th class='{cls}'{tip}>{esc(info.label)}</th>")
        if kind == "text":
            cells.append([_text_cell(v) for v in shown[c]])
        else:
            cells.append(
                [f"<td class='{cls}'>{esc(t)}</td>" for t in format_values(shown[c], kind)]
            )
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in zip(*cells, strict=True))
    wide = " milo-wide" if len(cols) >= 11 else ""
    out = (
        f"<div class='milo-table-wrap'><table class='milo-table{wide}'><thead><tr>"
        + "".join(head)
        + "</tr></thead><tbody>"
        + body
        + "</tbody></table></div>"
    )
    if len(frame) > max_rows:
        out += (
            f"<p class='milo-more'>{len(frame) - max_rows:,} more rows not shown "
            "(all rows are in the Excel export).</p>"
        )
    return out


#: Text cells longer than this are cut at a word (full text on hover).
TEXT_CELL_CHARS = 90


def _text_cell(v: Any) -> str:
    esc = html.escape
    if isinstance(v, Link):
        return f"<td class='text'>{v.html()}</td>"
    text = _fmt_value(v)
    if len(text) <= TEXT_CELL_CHARS:
        return f"<td class='text'>{esc(text)}</td>"
    short = text[: TEXT_CELL_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:—-") + "…"
    return f"<td class='text' title='{esc(text)}'>{esc(short)}</td>"


@dataclass(frozen=True)
class Link:
    """A table cell or fact that links to an anchor of the page (``href`` like ``#flags``)."""

    text: str
    href: str

    def html(self) -> str:
        return f"<a href='{html.escape(self.href)}'>{html.escape(self.text)}</a>"

    def __str__(self) -> str:
        return self.text


def _fact_html(v: Any) -> Any:
    """A header fact as safe HTML: text escaped, :class:`Link` parts as links."""
    from markupsafe import Markup

    parts = v if isinstance(v, list) else [v]
    return Markup(
        "".join(p.html() if isinstance(p, Link) else html.escape(_fmt_fact(p)) for p in parts)
    )


def _fmt_fact(v: Any) -> str:
    """A header fact: counts with thousands separators ("1,600"), else as in tables."""
    if isinstance(v, list):
        return "".join(_fmt_fact(p) for p in v)
    if isinstance(v, Link):
        return v.text
    if isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_):
        return f"{int(v):,}"
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
