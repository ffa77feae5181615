"""Figures: result → plotly Figure. Never ``show()``, never I/O, no statistics computed here.

Plots aggregate first (counts, bins, summaries arrive from the analysis modules), so a
figure's size does not grow with the number of interviews.

Each area keeps its figures in its own section below.
"""

from __future__ import annotations

import plotly.graph_objects as go

__all__: list[str] = []

#: The palette used everywhere (colour-blind safe, Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = 420) -> go.Figure:
    """Apply the house layout (white template, readable fonts, title) and return ``fig``."""
    fig.update_layout(
        template="plotly_white",
        title=title,
        height=height,
        margin=dict(l=60, r=30, t=60 if title else 30, b=50),
        font=dict(size=13),
        colorway=PALETTE,
    )
    return fig


# === analysis: weights, items, speech, importance, drift ===

# === fairness ===

# === calibration ===

# === report ===
