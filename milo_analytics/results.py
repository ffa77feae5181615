"""A small base for result objects: a tidy ``table``, notes, ``_repr_html_`` and ``plot()``.

Every result a notebook sees has ``.table`` / ``.to_frame()``, ``_repr_html_()`` and ``.plot()``
returning a plotly Figure (DESIGN.md, "Results"). Subclasses set ``title``, fill ``notes`` and
implement ``plot``; figures come from :mod:`milo_analytics.plots`.

Examples
--------
>>> import pandas as pd
>>> r = Result(table=pd.DataFrame({"a": [1]}), title="Demo", notes=["<b> is escaped"])
>>> "&lt;b&gt;" in r._repr_html_()
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Result", "frame_to_html"]


def frame_to_html(frame: pd.DataFrame, *, max_rows: int = 60, float_format: str = "{:.3f}") -> str:
    """Render a frame as an escaped HTML table (candidate text is untrusted)."""
    shown = frame.head(max_rows)
    formatters = {
        c: (lambda v, f=float_format: "" if pd.isna(v) else f.format(v))
        for c in shown.columns
        if pd.api.types.is_float_dtype(shown[c].dtype)
    }
    out = shown.to_html(
        escape=True,
        border=0,
        classes="milo-table",
        formatters=formatters,
        na_rep="",
        index=not isinstance(shown.index, pd.RangeIndex),
    )
    if len(frame) > max_rows:
        out += f"<p><em>{len(frame) - max_rows:,} more rows; use .table for all.</em></p>"
    return out


@dataclass
class Result:
    """Base result: ``table`` plus human notes (caveats, choices made).

    Attributes
    ----------
    table : DataFrame
        The tidy result.
    title : str
        Heading shown in notebooks and reports.
    notes : list of str
        Plain-text caveats and the options chosen; escaped when rendered.
    extras : dict
        Further frames or values a subclass exposes.
    """

    table: pd.DataFrame
    title: str = "Result"
    notes: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def plot(self) -> Any:  # pragma: no cover - subclasses implement
        """Return a plotly Figure."""
        raise NotImplementedError(f"{type(self).__name__} has no plot")

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        notes_html = f"<ul>{notes}</ul>" if notes else ""
        return (
            f"<div class='milo-result'><h4>{html.escape(self.title)}</h4>{notes_html}"
            f"{frame_to_html(self.table)}</div>"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.title!r}, rows={len(self.table)})"
