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
# Overview figures of the HTML report. Inputs arrive aggregated (counts per bin, per status),
# so each figure's size is independent of the number of interviews.
import pandas as pd  # noqa: E402


def report_status_funnel(counts: pd.DataFrame) -> go.Figure:
    """Candidates per status (rows: ``posting_id``, ``status``, ``n``), one bar group per posting.

    Examples
    --------
    >>> import pandas as pd
    >>> f = report_status_funnel(pd.DataFrame({"posting_id": ["P", "P"],
    ...     "status": ["pending", "completed"], "n": [3, 5]}))
    >>> f.data[0].type
    'bar'
    """
    fig = go.Figure()
    statuses = list(dict.fromkeys(counts["status"].tolist()))
    for pid, grp in counts.groupby("posting_id", sort=True):
        by = dict(zip(grp["status"], grp["n"], strict=True))
        fig.add_trace(
            go.Bar(
                y=statuses,
                x=[int(by.get(s, 0)) for s in statuses],
                name=str(pid),
                orientation="h",
                hovertemplate="%{y}: %{x:,}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="candidates")
    base_layout(fig, title="Candidates by status", height=max(260, 60 + 34 * len(statuses)))
    fig.update_layout(barmode="group", legend_title_text="posting")
    return fig


def report_histogram(bins: pd.DataFrame, *, title: str, xaxis: str) -> go.Figure:
    """Pre-binned counts (``posting_id``, ``left``, ``right``, ``count``) as overlaid bars."""
    fig = go.Figure()
    for pid, grp in bins.groupby("posting_id", sort=True):
        left = grp["left"].to_numpy(float)
        right = grp["right"].to_numpy(float)
        fig.add_trace(
            go.Bar(
                x=((left + right) / 2).round(6).tolist(),
                y=grp["count"].astype(int).tolist(),
                width=((right - left) * 0.95).round(6).tolist(),
                name=str(pid),
                opacity=0.75,
                hovertemplate="%{x}: %{y:,}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_xaxes(title=xaxis)
    fig.update_yaxes(title="interviews")
    base_layout(fig, title=title, height=360)
    fig.update_layout(barmode="overlay", legend_title_text="posting")
    return fig


def report_heatmap(corr: pd.DataFrame, *, title: str) -> go.Figure:
    """A correlation matrix (already computed) as an annotated heatmap on [-1, 1]."""
    z = corr.to_numpy(float).round(3)
    labels = [str(c) for c in corr.columns]
    fig = go.Figure(
        go.Heatmap(
            z=z.tolist(),
            x=labels,
            y=[str(i) for i in corr.index],
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=[["" if v != v else f"{v:.2f}" for v in row] for row in z.tolist()],
            texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}<br>r = %{z:.3f}<extra></extra>",
            colorbar=dict(title="r"),
        )
    )
    fig.update_yaxes(autorange="reversed")
    base_layout(fig, title=title, height=max(360, 120 + 48 * len(labels)))
    fig.update_layout(margin=dict(l=240, r=30, t=60, b=160))
    return fig


def report_rate_bars(rates: pd.DataFrame, *, title: str) -> go.Figure:
    """Rates per band (``posting_id``, ``band``, ``n``, ``rate``) as grouped bars."""
    fig = go.Figure()
    for pid, grp in rates.groupby("posting_id", sort=True):
        fig.add_trace(
            go.Bar(
                x=grp["band"].tolist(),
                y=grp["rate"].astype(float).round(6).tolist(),
                customdata=grp["n"].astype(int).tolist(),
                name=str(pid),
                hovertemplate="%{x}: %{y:.1%} of %{customdata:,}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_yaxes(title="rate", tickformat=".0%")
    fig.update_xaxes(title="overall-score quintile (Q1 lowest)")
    base_layout(fig, title=title, height=360)
    fig.update_layout(barmode="group", legend_title_text="posting")
    return fig


def report_importance(rw: pd.DataFrame, *, title: str) -> go.Figure:
    """Relative weights (index: predictor; ``rescaled_weight`` in % of R²) as horizontal bars."""
    rw = rw.sort_values("rescaled_weight")
    fig = go.Figure(
        go.Bar(
            x=rw["rescaled_weight"].astype(float).round(4).tolist(),
            y=[str(i) for i in rw.index],
            orientation="h",
            marker_color=PALETTE[0],
            hovertemplate="%{y}: %{x:.1f}% of R²<extra></extra>",
        )
    )
    fig.update_xaxes(title="share of R² (%)")
    base_layout(fig, title=title, height=max(300, 80 + 40 * len(rw)))
    fig.update_layout(margin=dict(l=260, r=30, t=60, b=50))
    return fig
