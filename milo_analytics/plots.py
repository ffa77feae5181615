"""Figures: result → plotly Figure. Never ``show()``, never I/O, no statistics computed here.

Plots aggregate first (counts, bins, summaries arrive from the analysis modules), so a
figure's size does not grow with the number of interviews.

Each area keeps its figures in its own section below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__: list[str] = []

#: The palette used everywhere (colour-blind safe, Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = 420) -> go.Figure:
    """Apply the house layout (white template, readable fonts, title) and return ``fig``.

    The top margin holds the title and, above the top row of panels, their panel titles
    (``make_subplots(subplot_titles=…)``), a line of ~18 px each: without that room the
    title sat on the panel titles.
    """
    _white_template(fig)
    top = (60 if title else 30) + 18 * _panel_title_lines(fig)
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=60, r=30, t=top, b=50),
        font=dict(size=13),
        colorway=PALETTE,
    )
    return fig


def _panel_title_lines(fig: go.Figure) -> int:
    """Lines of the tallest panel title above the top row of panels (0 when none)."""
    tops = [
        a for a in fig.layout.annotations
        if a.text and a.yref == "paper" and a.yanchor == "bottom" and (a.y or 0) >= 0.999
    ]  # fmt: skip
    return max((str(a.text).count("<br>") + 1 for a in tops), default=0)


def _white_template(fig: go.Figure) -> None:
    """Give ``fig`` plotly's "plotly_white" template the way plotly gives every new figure its
    default template: without validating it again.

    ``update_layout(template="plotly_white")`` re-validates and deep-copies the whole template
    each time: 10–20 ms a figure, a sixth of building a 3,000-interview report. The template is
    validated once (per registered template object) and then assigned as it is; the figure and
    its JSON are the same, byte for byte.
    """
    import plotly.io as pio

    layout = fig.layout
    if not isinstance(getattr(layout, "_validate", None), bool):  # another plotly: the slow way
        fig.update_layout(template="plotly_white")
        return
    registered = pio.templates["plotly_white"]
    if _WHITE.get("from") is not registered:
        ref = go.Figure()
        ref.update_layout(template="plotly_white")
        _WHITE.update({"from": registered, "template": ref.layout.template})
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = _WHITE["template"]
    finally:
        layout._validate = validate


#: plotly_white validated once: {"from": the registered template, "template": its copy}
_WHITE: dict[str, Any] = {}


# === analysis: weights, items, speech, importance, drift ===
# Every function receives aggregates computed by milo_analytics.analysis (counts, shares,
# bin edges, means); none of them sees per-interview data.


def score_value_bars(dist: Any, *, title: str | None = None) -> go.Figure:
    """Stacked horizontal bars: share of each score value per question.

    ``dist`` has ``question_id``, ``value``, ``count``, ``share`` (long form).
    """
    fig = go.Figure()
    values = sorted(dist["value"].unique())
    questions = list(dict.fromkeys(dist["question_id"]))
    seq = _sequential(len(values))
    for i, v in enumerate(values):
        d = dist[dist["value"] == v].set_index("question_id").reindex(questions)
        fig.add_trace(
            go.Bar(
                y=questions,
                x=d["share"],
                name=str(v),
                orientation="h",
                marker_color=seq[i],
                customdata=d["count"],
                hovertemplate="%{y}: score "
                + str(v)
                + " — %{x:.1%} (%{customdata:,})<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        legend_title_text="score",
        xaxis_tickformat=".0%",
        xaxis_title="share of the question's answers (%)",
        yaxis_title="question",
        yaxis_autorange="reversed",
    )
    return base_layout(fig, title=title, height=max(300, 60 + 40 * len(questions)))


def weight_shares(table: Any, *, title: str | None = None) -> go.Figure:
    """Grouped bars: ``nominal_share`` beside ``effective_share`` per ``question_id``."""
    fig = go.Figure()
    q = table["question_id"].astype(str).tolist()
    fig.add_trace(
        go.Bar(x=q, y=table["nominal_share"], name="nominal share", marker_color=PALETTE[0])
    )
    fig.add_trace(
        go.Bar(x=q, y=table["effective_share"], name="effective share", marker_color=PALETTE[1])
    )
    fig.update_layout(
        barmode="group",
        yaxis_tickformat=".0%",
        xaxis_title="question",
        yaxis_title="share of the overall score (%)",
    )
    return base_layout(fig, title=title)


def correlation_heatmap(matrix: Any, *, title: str | None = None) -> go.Figure:
    """Heatmap of a (small) correlation matrix frame, values annotated."""
    labels = [str(c) for c in matrix.columns]
    z = matrix.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=[[("" if v != v else f"{v:.2f}") for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} × %{x}: %{z:.3f}<extra></extra>",
            colorbar_title="r",
        )
    )
    fig.update_layout(yaxis_autorange="reversed", xaxis_title="question", yaxis_title="question")
    return base_layout(fig, title=title, height=max(350, 80 + 45 * len(labels)))


def residual_histogram(bins: Any, *, title: str | None = None) -> go.Figure:
    """Bars of pre-binned residuals (``left``, ``right``, ``count``)."""
    mids = (bins["left"] + bins["right"]) / 2
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=bins["count"],
            width=(bins["right"] - bins["left"]),
            marker_color=PALETTE[0],
            hovertemplate="%{x:.2f}: %{y:,}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="vendor score − predicted (points of the 0–100 score)",
        yaxis_title="interviews (log scale)",
        yaxis_type="log",
        bargap=0,
    )
    return base_layout(fig, title=title)


def histogram_bars(
    bins: Any, *, x_title: str = "", title: str | None = None, group: str | None = None
) -> go.Figure:
    """Bars of pre-binned counts (``left``, ``right``, ``count``; optional group column)."""
    fig = go.Figure()
    groups = [None] if group is None else list(dict.fromkeys(bins[group]))
    for i, g in enumerate(groups):
        d = bins if g is None else bins[bins[group] == g]
        fig.add_trace(
            go.Bar(
                x=(d["left"] + d["right"]) / 2,
                y=d["count"],
                width=(d["right"] - d["left"]),
                name=str(g) if g is not None else "count",
                marker_color=PALETTE[i % len(PALETTE)],
                opacity=0.8 if g is not None else 1.0,
            )
        )
    fig.update_layout(
        xaxis_title=x_title,
        yaxis_title="interviews",
        bargap=0,
        barmode="overlay",
        showlegend=group is not None,
    )
    return base_layout(fig, title=title)


def binned_heatmap(
    x_edges: Any,
    y_edges: Any,
    counts: Any,
    *,
    x_title: str = "",
    y_title: str = "",
    means: Any = None,
    means_name: str = "mean",
    title: str | None = None,
) -> go.Figure:
    """2-D histogram from pre-computed counts (rows = x bins), optional line of binned means.

    ``means`` is a frame with ``x`` and ``mean`` (the mean of y within each x bin).
    """
    xm = (x_edges[:-1] + x_edges[1:]) / 2
    ym = (y_edges[:-1] + y_edges[1:]) / 2
    fig = go.Figure(
        go.Heatmap(
            x=xm,
            y=ym,
            z=counts.T,
            colorscale="Blues",
            colorbar_title="interviews",
            hovertemplate="x %{x}, y %{y}: %{z:,}<extra></extra>",
        )
    )
    if means is not None and len(means):
        fig.add_trace(
            go.Scatter(
                x=means["x"],
                y=means["mean"],
                mode="lines+markers",
                name=means_name,
                line_color=PALETTE[3],
                showlegend=True,
            )
        )
    fig.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.8)"),
    )
    return base_layout(fig, title=title)


def rescore_heatmap(
    edges: Any, counts: Any, *, cut: float | None = None, title: str | None = None
) -> go.Figure:
    """Before-vs-after overall score counts; the shortlist cut as lines."""
    fig = binned_heatmap(
        edges,
        edges,
        counts,
        x_title="overall score before (points, 0–100)",
        y_title="overall score after (points, 0–100)",
        title=title,
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="no change",
            line=dict(color="grey", dash="dot"),
            showlegend=True,
        )
    )
    if cut is not None and cut == cut:
        # one legend entry for both cut lines (vertical: before, horizontal: after)
        fig.add_trace(
            go.Scatter(
                x=[cut, cut, None, 0, 100],
                y=[0, 100, None, cut, cut],
                mode="lines",
                name=f"shortlist cut ({cut:.4g} points)",
                line=dict(color=PALETTE[3], dash="dash"),
                hoverinfo="skip",
            )
        )
    return fig


def group_gap_bars(
    table: Any, *, value: str = "impact_ratio", title: str | None = None
) -> go.Figure:
    """Bars per group (``attribute``, ``group``, value column) with the 0.8 line for ratios."""
    fig = go.Figure()
    for i, (attr, d) in enumerate(table.groupby("attribute", sort=False)):
        fig.add_trace(
            go.Bar(
                x=[f"{attr}: {g}" for g in d["group"]],
                y=d[value],
                name=str(attr),
                marker_color=PALETTE[i % len(PALETTE)],
            )
        )
    if value == "impact_ratio":
        fig.add_hline(
            y=0.8, line_dash="dash", line_color=PALETTE[3], annotation_text="four-fifths (0.8)"
        )
    y_title = (
        "impact ratio (group's rate ÷ reference group's rate)"
        if value == "impact_ratio"
        else value.replace("_", " ")
    )
    fig.update_layout(xaxis_title="attribute: group", yaxis_title=y_title, showlegend=True)
    return base_layout(fig, title=title)


def drift_lines(
    lines: Any,
    *,
    split: Any = None,
    title: str | None = None,
    x_title: str = "period",
    y_title: str = "mean",
) -> go.Figure:
    """Mean per period with a p25–p75 band per variable (``period``, ``variable``, ``mean``,
    ``p25``, ``p75``, ``n``); ``split`` marks a two-period comparison date."""
    fig = go.Figure()
    for i, (var, d) in enumerate(lines.groupby("variable", sort=False)):
        c = PALETTE[i % len(PALETTE)]
        if "p25" in d and d["p25"].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=list(d["period"]) + list(d["period"])[::-1],
                    y=list(d["p75"]) + list(d["p25"])[::-1],
                    fill="toself",
                    line=dict(width=0),
                    fillcolor=c,
                    opacity=0.15,
                    hoverinfo="skip",
                    name=f"{var}: middle half (p25–p75)",
                    legendgroup=str(var),
                )
            )
        fig.add_trace(
            go.Scatter(
                x=d["period"],
                y=d["mean"],
                mode="lines+markers",
                name=f"{var}: mean",
                legendgroup=str(var),
                line_color=c,
                customdata=d["n"],
                hovertemplate="%{x}: %{y:.2f} (n=%{customdata:,})<extra></extra>",
            )
        )
    if split is not None:
        fig.add_vline(
            x=split, line_dash="dash", line_color="grey", annotation_text="before | after"
        )
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, showlegend=True)
    return base_layout(fig, title=title)


def importance_bars(
    table: Any,
    *,
    label: str = "question_id",
    value: str = "rescaled_weight",
    low: str = "rw_ci_low",
    high: str = "rw_ci_high",
    second: str | None = "rescaled_lmg",
    second_low: str = "lmg_ci_low",
    second_high: str = "lmg_ci_high",
    title: str | None = None,
) -> go.Figure:
    """Bars of importance (percent of R²) with CI error bars; optionally LMG beside them."""
    fig = go.Figure()

    def add(col: str, lo: str, hi: str, name: str, color: str) -> None:
        err = None
        if lo in table and table[lo].notna().any():
            err = dict(
                type="data",
                symmetric=False,
                array=table[hi] - table[col],
                arrayminus=table[col] - table[lo],
            )
        fig.add_trace(
            go.Bar(
                x=table[label].astype(str), y=table[col], name=name, marker_color=color, error_y=err
            )
        )

    add(value, low, high, "relative weight", PALETTE[0])
    if second and second in table and table[second].notna().any():
        add(second, second_low, second_high, "dominance (LMG)", PALETTE[1])
    fig.update_layout(barmode="group", xaxis_title="question", yaxis_title="% of R²")
    return base_layout(fig, title=title)


def _sequential(n: int) -> list[str]:
    """``n`` colours from light to dark blue (score values low → high)."""
    from plotly.colors import sample_colorscale

    return sample_colorscale("RdYlBu", [i / max(n - 1, 1) for i in range(n)])


# === fairness ===

_FAIR_COLOURS = {
    "flag": "#D55E00",
    "below 0.8, not flagged": "#E69F00",
    "at or above 0.8": "#0072B2",
    "reference": "#009E73",
    "excluded / no ratio": "#999999",
}


def _fair_status(row: Any) -> str:
    if bool(row.get("is_reference", False)):
        return "reference"
    ratio = row.get("impact_ratio")
    if ratio is None or ratio != ratio:  # NaN
        return "excluded / no ratio"
    if bool(row.get("flag", False)):
        return "flag"
    below = row.get("below_four_fifths")
    return "below 0.8, not flagged" if below is True or below == 1 else "at or above 0.8"


def _fair_no_ratio_text(row: Any) -> str:
    """Bar text for a category without an impact ratio, e.g. ``excluded (<2%, n=3)``."""
    import re

    n = row.get("n")
    if n is None or n != n or int(n) == 0:
        return "no data (n=0)"
    reason = str(row.get("reason") or "")
    m = re.search(r"under ([\d.]+\s?%)", reason)
    if bool(row.get("excluded", False)):
        return f"excluded (<{m.group(1)}, n={int(n)})" if m else f"excluded (n={int(n)})"
    return f"no ratio (n={int(n)})"


def _fair_label(row: Any, by: list[str]) -> str:
    return " · ".join(str(row[c]) for c in by)


def impact_ratio_figure(
    table: Any,
    *,
    by: list[str] | None = None,
    facet: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """Horizontal bars of impact ratios per category with the 0.8 line.

    ``table`` is an ``impact_ratios`` table (``by`` its category columns) or rows of a
    ``BiasAudit`` table (``category`` column; faceted by ``dimension``). Excluded categories
    show as grey stubs at 0 with their reason in the hover text.
    """
    from plotly.subplots import make_subplots

    t = table.copy()
    if t.empty:
        fig = go.Figure()
        fig.add_annotation(text="No categories to show", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")  # fmt: skip
        fig.add_vline(x=0.8, line_dash="dash", line_color="#D55E00")
        return base_layout(fig, title=title, height=320)
    if "category" not in t.columns:
        cols = list(by or t.attrs.get("by") or [t.columns[0]])
        t["category"] = [_fair_label(r, cols) for r in t[cols].to_dict("records")]
    facet = facet or ("dimension" if "dimension" in t.columns else None)
    groups = list(dict.fromkeys(t[facet])) if facet else [None]
    fig = make_subplots(
        rows=len(groups), cols=1, subplot_titles=[str(g) for g in groups] if facet else None,
        vertical_spacing=0.08 if len(groups) > 1 else 0.0,
        row_heights=[max(1, int((t[facet] == g).sum()) if facet else len(t)) for g in groups],
    )  # fmt: skip
    x_range = [0, max(1.05, float(t["impact_ratio"].max(skipna=True) or 1) + 0.05)]
    # the rows as plain records (a Series per row from iterrows cost most of the figure), the
    # traces added at once, and each panel's 0.8 line and axes set in one layout update
    traces: list[go.Bar] = []
    axes: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, g in enumerate(groups, start=1):
        axis = "" if i == 1 else str(i)  # this panel's axes: x/y, x2/y2, …
        sub = t if g is None else t[t[facet] == g]
        records = sub.to_dict("records")
        status = [_fair_status(r) for r in records]
        for st, colour in _FAIR_COLOURS.items():
            part = [r for r, s in zip(records, status, strict=True) if s == st]
            if not part:
                continue
            ratios = np.array(
                [0.0 if pd.isna(r["impact_ratio"]) else r["impact_ratio"] for r in part],
                dtype="float64",
            )
            hover = [
                f"{r['category']}<br>n={r['n']}, selected/above={r['n_positive']}"
                f"<br>rate={r['rate']:.3f}" + (
                    f"<br>impact ratio={r['impact_ratio']:.3f}" if r["impact_ratio"] == r["impact_ratio"] else ""
                ) + (f"<br>p={r['p_value']:.3g}" if r.get("p_value") == r.get("p_value") else "")
                + (f"<br>{r['reason']}" if r.get("reason") else "")
                for r in part
            ]  # fmt: skip
            text = (
                [_fair_no_ratio_text(r) for r in part] if st == "excluded / no ratio" else None
            )  # a bar of length 0 would leave a blank row: say why there is no ratio
            traces.append(
                go.Bar(
                    x=ratios, y=[str(r["category"]) for r in part], orientation="h", name=st,
                    marker_color=colour, hovertext=hover, hoverinfo="text",
                    legendgroup=st, showlegend=st not in seen, text=text,
                    textposition="outside" if text else None, cliponaxis=False,
                    xaxis=f"x{axis}", yaxis=f"y{axis}",
                )
            )  # fmt: skip
            seen.add(st)
        lines.append(
            dict(type="line", x0=0.8, x1=0.8, xref=f"x{axis}", y0=0, y1=1,
                 yref=f"y{axis} domain", line=dict(dash="dash", color="#D55E00"))
        )  # fmt: skip
        axes[f"yaxis{axis}"] = dict(autorange="reversed", title_text="category")
        axes[f"xaxis{axis}"] = dict(range=x_range)
    axes[f"xaxis{axis}"]["title_text"] = "impact ratio (0.8 = four-fifths line)"  # the last
    fig.add_traces(traces)
    fig.update_layout(shapes=lines, **axes)
    return base_layout(fig, title=title, height=max(320, 120 + 26 * len(t) + 40 * len(groups)))


def bias_audit_figure(rows: Any, *, title: str | None = None) -> go.Figure:
    """Impact ratios of one audit measure, one panel per dimension, with the 0.8 line."""
    return impact_ratio_figure(rows, facet="dimension", title=title)


def threshold_sweep_figure(sweep: Any, *, title: str | None = None) -> go.Figure:
    """Impact ratio vs cut score, one line per category, a panel per dimension, the 0.8 line.

    Categories marked ``excluded`` (when the sweep has that column) are not drawn."""
    from plotly.subplots import make_subplots

    if "excluded" in sweep.columns:
        sweep = sweep[~sweep["excluded"].fillna(False).astype(bool)]
    dims = list(dict.fromkeys(sweep["dimension"])) if "dimension" in sweep.columns else [None]
    fig = make_subplots(rows=1, cols=max(1, len(dims)), subplot_titles=[str(d) for d in dims],
                        shared_yaxes=True)  # fmt: skip
    for j, d in enumerate(dims, start=1):
        sub = sweep if d is None else sweep[sweep["dimension"] == d]
        for k, (cat, part) in enumerate(sub.groupby("category", sort=False)):
            fig.add_trace(
                go.Scatter(
                    x=part["cut"], y=part["impact_ratio"], mode="lines+markers", name=str(cat),
                    line=dict(color=PALETTE[k % len(PALETTE)]), legendgroup=f"{d}",
                    legendgrouptitle_text=str(d) if k == 0 else None,
                    hovertemplate="cut %{x}<br>impact ratio %{y:.3f}<extra>" + str(cat) + "</extra>",
                ),
                row=1, col=j,
            )  # fmt: skip
        fig.add_hline(y=0.8, line_dash="dash", line_color="#D55E00", row=1, col=j)
        fig.update_xaxes(title_text="cut score (selected = score ≥ cut)", row=1, col=j)
    fig.update_yaxes(title_text="impact ratio", range=[0, 1.05], row=1, col=1)
    return base_layout(fig, title=title, height=440)


# === calibration ===


def weight_suggestion_figure(suggestion: Any) -> go.Figure:
    """Three panels: current vs suggested weights (with CIs), the λ path, the CV comparison.

    Takes a :class:`~milo_analytics.calibrate.WeightSuggestion`; draws its tables as they are.
    """
    from plotly.subplots import make_subplots

    t = suggestion.table
    metric = suggestion.metric
    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[0.42, 0.33, 0.25],
        horizontal_spacing=0.15,  # room for the comparison's row labels left of its panel
        # two short lines each: at the printed width (A4) one-line titles ran into each other
        subplot_titles=(
            "Weights:<br>current vs suggested",
            "Regularisation path<br>(λ chosen by CV)",
            f"Held-out {metric.upper() if metric == 'auc' else metric}<br>(same folds)",
        ),
    )
    fig.update_annotations(font_size=13)
    labels = [str(q) for q in t["question_id"]] if len(t) else []
    names = _question_names(t)
    fig.add_trace(
        go.Bar(
            x=labels,
            y=t["current_weight"] if len(t) else [],
            name="current",
            marker_color=PALETTE[0],
        ),
        row=1,
        col=1,
    )
    if len(t):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=t["suggested_weight"],
                name="suggested (continuous)",
                marker_color=PALETTE[1],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(t["ci_high"] - t["suggested_weight"]).clip(lower=0),
                    arrayminus=(t["suggested_weight"] - t["ci_low"]).clip(lower=0),
                ),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=t["suggested_integer"],
                mode="markers",
                name="suggested integer",
                marker=dict(symbol="diamond", size=11, color=PALETTE[3]),
            ),
            row=1,
            col=1,
        )
    path = suggestion.lambda_path
    if path is not None and len(path):
        for i, (qid, g) in enumerate(path.groupby("question_id", sort=False)):
            fig.add_trace(
                go.Scatter(
                    x=g["lambda"],
                    y=g["weight"],
                    mode="lines",
                    name=names.get(str(qid), str(qid)),
                    line=dict(color=PALETTE[i % len(PALETTE)]),
                    legend="legend2",
                    legendgroup="path",
                    showlegend=True,
                    hovertemplate=f"{qid}: %{{y:.2f}} at λ=%{{x:.3g}}<extra></extra>",
                ),
                row=1,
                col=2,
            )
        if suggestion.lambda_ == suggestion.lambda_:  # not NaN
            fig.add_vline(x=suggestion.lambda_, line_dash="dash", line_color="grey", row=1, col=2)
        fig.update_xaxes(type="log", title_text="λ (→ right: today's weights)", row=1, col=2)
    comp = suggestion.comparison
    if comp is not None and len(comp) and metric in comp:
        fig.add_trace(
            go.Scatter(
                x=comp[metric],
                y=[_COMPARISON_ROWS.get(str(i), str(i)) for i in comp.index],
                mode="markers",
                marker=dict(size=10, color=PALETTE[2]),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=comp["ci_high"] - comp[metric],
                    arrayminus=comp[metric] - comp["ci_low"],
                ),
                name=metric,
                showlegend=False,
            ),
            row=1,
            col=3,
        )
    fig.update_yaxes(title_text="weight", row=1, col=1)
    base_layout(
        fig, title=f"{suggestion.title}: recommendation {suggestion.recommendation!r}", height=640
    )
    fig.update_layout(
        barmode="group",
        # both legends below everything (the λ axis's title and rotated ticks included): on the
        # right, the λ path's question names took a third of an A4 page's width from the panels
        margin_b=190,
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom"),
        legend2=dict(
            title_text="λ path", orientation="h", yref="container", y=0.06, yanchor="bottom",
            x=0, xanchor="left",
        ),
    )  # fmt: skip
    return fig


#: Row labels of the suggestion figure's comparison panel that need two lines to fit left of
#: it (at an A4 page's width one line ran into the λ-path panel).
_COMPARISON_ROWS = {"suggested_integer": "suggested<br>(whole numbers)"}


def _question_names(table: Any) -> dict[str, str]:
    """``{question_id: "Q<rank>: short text"}`` for legends (rank = table order if absent)."""
    import html

    import pandas as pd

    if not len(table) or "question_id" not in table:
        return {}
    ranks = table["rank"] if "rank" in table else range(1, len(table) + 1)
    texts = table["text"] if "text" in table else [""] * len(table)
    out: dict[str, str] = {}
    for pos, (qid, rank, text) in enumerate(zip(table["question_id"], ranks, texts, strict=True)):
        num = int(rank) if rank is not None and pd.notna(rank) else pos + 1
        short = " ".join(str(text).split()) if isinstance(text, str) and text else str(qid)
        short = short if len(short) <= 40 else short[:37].rstrip() + "…"
        # question text is not ours: plotly renders a subset of HTML in legends, so escape it
        out[str(qid)] = f"Q{num}: {html.escape(short, quote=False)}"
    return out


def push_plan_figure(result: Any) -> go.Figure:
    """Baseline, live and new weight per question of a push plan (a PushResult)."""
    plan = result.table
    fig = go.Figure()
    for i, col in enumerate(("baseline", "live", "new")):
        if col in plan:
            fig.add_trace(
                go.Bar(
                    x=[str(q) for q in plan["question_id"]],
                    y=plan[col],
                    name=col,
                    marker_color=PALETTE[i],
                    text=plan["action"] if col == "new" else None,
                )
            )
    base_layout(fig, title=result.title)
    fig.update_layout(barmode="group", yaxis_title="weight")
    return fig


# === report ===
# Overview figures of the HTML report. Inputs arrive aggregated (counts per bin, per status),
# so each figure's size is independent of the number of interviews. Postings are named
# "id · title" in legends.


def _posting_name(pid: Any, title: Any = None) -> str:
    pid = str(pid)
    if isinstance(title, str) and title and title != pid:
        return f"{pid} · {title}"
    return pid


def _titles(frame: pd.DataFrame) -> dict[str, Any]:
    if "title" not in frame.columns:
        return {}
    return dict(zip(frame["posting_id"].astype(str), frame["title"], strict=False))


def report_status_funnel(counts: pd.DataFrame) -> go.Figure:
    """Candidates per current status (rows: ``posting_id``, ``status``, ``n``; optional
    ``title`` and ``share``), one bar per posting and status; bars show the share of the
    posting's candidates when ``share`` is given (postings of different sizes compare).

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
    titles = _titles(counts)
    use_share = "share" in counts.columns
    for pid, grp in counts.groupby("posting_id", sort=True):
        n = dict(zip(grp["status"], grp["n"], strict=True))
        share = dict(zip(grp["status"], grp["share"], strict=True)) if use_share else n
        fig.add_trace(
            go.Bar(
                y=statuses,
                x=[round(float(share.get(s, 0)), 6) for s in statuses],
                customdata=[int(n.get(s, 0)) for s in statuses],
                name=_posting_name(pid, titles.get(str(pid))),
                orientation="h",
                hovertemplate=(
                    "%{y}: %{x:.1%} (%{customdata:,} candidates)<extra>%{fullData.name}</extra>"
                    if use_share
                    else "%{y}: %{x:,}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    fig.update_yaxes(autorange="reversed", title=None)
    if use_share:
        fig.update_xaxes(title="share of the posting's candidates", tickformat=".0%")
    else:
        fig.update_xaxes(title="candidates")
    base_layout(
        # ~40 px a status: two bars each stay legible at the printed size (0.62 of this)
        fig,
        title="Candidates by current status",
        height=max(340, 140 + 40 * len(statuses)),
    )
    fig.update_layout(
        barmode="group",
        legend=dict(title_text="posting", orientation="h", yanchor="bottom", y=1.0, x=0),
        margin=dict(l=110, r=30, t=90, b=50),
    )
    return fig


def report_histogram(bins: pd.DataFrame, *, title: str, xaxis: str) -> go.Figure:
    """Pre-binned scores (``posting_id``, ``left``, ``right``, ``count``; optional ``share``
    and ``title``) as side-by-side bars per bin; the y axis is the share of each posting's
    interviews when ``share`` is given, so postings of different sizes compare."""
    fig = go.Figure()
    titles = _titles(bins)
    use_share = "share" in bins.columns
    for pid, grp in bins.groupby("posting_id", sort=True):
        left = grp["left"].to_numpy(float)
        right = grp["right"].to_numpy(float)
        y = grp["share"] if use_share else grp["count"]
        fig.add_trace(
            go.Bar(
                x=((left + right) / 2).round(6).tolist(),
                y=y.astype(float).round(6).tolist(),
                customdata=[
                    [f"{a:g}–{b:g}", int(k)]
                    for a, b, k in zip(left, right, grp["count"], strict=True)
                ],
                name=_posting_name(pid, titles.get(str(pid))),
                hovertemplate=(
                    "%{customdata[0]}: %{y:.1%} (%{customdata[1]:,} interviews)"
                    "<extra>%{fullData.name}</extra>"
                    if use_share
                    else "%{customdata[0]}: %{y:,}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    fig.update_xaxes(title=xaxis)
    if use_share:
        fig.update_yaxes(title="share of interviews", tickformat=".0%")
    else:
        fig.update_yaxes(title="interviews")
    base_layout(fig, title=title, height=380)
    fig.update_layout(
        barmode="group",
        bargap=0.15,
        bargroupgap=0.0,
        legend=dict(title_text="posting", orientation="h", yanchor="bottom", y=1.0, x=0),
        margin=dict(l=60, r=30, t=90, b=50),
    )
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
    fig.update_yaxes(autorange="reversed", title="question")
    fig.update_xaxes(title="question")
    base_layout(fig, title=title, height=max(300, 110 + 44 * len(labels)))
    fig.update_layout(margin=dict(l=260, r=30, t=60, b=50))
    return fig


def report_rate_bars(rates: pd.DataFrame, *, title: str) -> go.Figure:
    """Rates per band (``posting_id``, ``band``, ``n``, ``rate``; optional ``title``,
    ``n_positive``, ``score_min``, ``score_max``) as grouped bars."""
    fig = go.Figure()
    titles = _titles(rates)
    for pid, grp in rates.groupby("posting_id", sort=True):
        if {"score_min", "score_max", "n_positive"} <= set(grp.columns):
            custom = [
                [int(n), int(k), f"{lo:.1f}–{hi:.1f}"]
                for n, k, lo, hi in zip(
                    grp["n"], grp["n_positive"], grp["score_min"], grp["score_max"], strict=True
                )
            ]
            hover = (
                "%{x} (overall score %{customdata[2]}): %{y:.1%} — "
                "%{customdata[1]:,} of %{customdata[0]:,}<extra>%{fullData.name}</extra>"
            )
        else:
            custom = [[int(n)] for n in grp["n"]]
            hover = "%{x}: %{y:.1%} of %{customdata[0]:,}<extra>%{fullData.name}</extra>"
        fig.add_trace(
            go.Bar(
                x=grp["band"].tolist(),
                y=grp["rate"].astype(float).round(6).tolist(),
                customdata=custom,
                name=_posting_name(pid, titles.get(str(pid))),
                hovertemplate=hover,
            )
        )
    fig.update_yaxes(title="rate", tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title="overall-score quintile within the posting (Q1 lowest fifth)")
    base_layout(fig, title=title, height=380)
    fig.update_layout(
        barmode="group",
        legend=dict(title_text="posting", orientation="h", yanchor="bottom", y=1.0, x=0),
        margin=dict(l=60, r=30, t=90, b=50),
    )
    return fig


def report_validity(table: pd.DataFrame, *, title: str) -> go.Figure:
    """Validity coefficients with CI error bars (``posting_id``, ``predictor``, ``r``,
    ``ci_low``, ``ci_high``, ``n``; optional ``label`` for the axis and ``title``)."""
    fig = go.Figure()
    titles = _titles(table)
    for pid, grp in table.groupby("posting_id", sort=True):
        labels = grp["label"] if "label" in grp.columns else grp["predictor"]
        r = grp["r"].astype(float)
        fig.add_trace(
            go.Scatter(
                x=r.round(6).tolist(),
                y=[str(v) for v in labels],
                mode="markers",
                marker=dict(size=9),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(grp["ci_high"].astype(float) - r).round(6).tolist(),
                    arrayminus=(r - grp["ci_low"].astype(float)).round(6).tolist(),
                ),
                customdata=grp["n"].astype(int).tolist(),
                name=_posting_name(pid, titles.get(str(pid))),
                hovertemplate="%{y}: r = %{x:.2f} (n = %{customdata:,})<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_vline(x=0, line_color="#888", line_width=1)
    fig.update_xaxes(title="correlation with the outcome (r)", range=[-1, 1])
    fig.update_yaxes(autorange="reversed", title="predictor")
    n = table["predictor"].nunique() if len(table) else 1
    base_layout(fig, title=title, height=max(300, 120 + 30 * n))
    fig.update_layout(
        margin=dict(l=260, r=30, t=90, b=50),
        legend=dict(title_text="posting", orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig


def report_posting_counts(table: pd.DataFrame) -> go.Figure:
    """Candidates and interviews per posting (``posting_id``, ``title``, ``candidates``,
    ``interviews``) as grouped horizontal bars."""
    names = [_posting_name(p, t) for p, t in zip(table["posting_id"], table["title"], strict=True)]
    fig = go.Figure()
    for col, colour in (("candidates", PALETTE[0]), ("interviews", PALETTE[1])):
        fig.add_trace(
            go.Bar(
                y=names,
                x=table[col].astype(int).tolist(),
                name=col,
                orientation="h",
                marker_color=colour,
            )
        )
    fig.update_layout(barmode="group")
    return base_layout(fig, title="Candidates and interviews per posting")


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


# === live: monitoring checks (milo_analytics.live.checks) ===

_CHECK_STATUS_LEVEL = {"pass": 0, "skip": 1, "warn": 2, "fail": 3, "error": 4}
_CHECK_STATUS_COLOUR = ["#009E73", "#BBBBBB", "#E69F00", "#D55E00", "#CC79A7"]


def check_status_figure(table: Any, *, title: str | None = None) -> go.Figure:
    """A grid of postings × checks coloured by status (``CheckReport.table``)."""
    checks = list(dict.fromkeys(table["check"]))
    postings = list(dict.fromkeys(table["posting_id"]))
    grid = table.pivot_table(index="posting_id", columns="check", values="status", aggfunc="first")
    grid = grid.reindex(index=postings, columns=checks)
    levels = grid.map(lambda s: _CHECK_STATUS_LEVEL.get(s, 1))
    n = len(_CHECK_STATUS_COLOUR)
    scale = [
        [edge, colour]
        for i, colour in enumerate(_CHECK_STATUS_COLOUR)
        for edge in (i / n, (i + 1) / n)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=levels.to_numpy(dtype=float),
            x=checks,
            y=postings,
            text=grid.fillna("").to_numpy(),
            texttemplate="%{text}",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            showscale=False,
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
        )
    )
    return base_layout(fig, title=title, height=160 + 40 * len(postings))


def weight_frontier_figure(frontier: Any) -> go.Figure:
    """Validity vs lowest impact ratio on held-out candidates, one marker per point.

    Takes a :class:`~milo_analytics.calibrate.WeightFrontier`: frontier points (labelled,
    dominated ones hollow) joined by a line, today's / unit / suggested weights marked with
    their own symbols, the 0.8 line, 95 % intervals as error bars.
    """
    t = frontier.table
    metric = "AUC" if frontier.metric == "auc" else "r"
    fig = go.Figure()
    front = t[t["kind"] == "frontier"].sort_values("impact_ratio")

    def bars(d: Any, col: str) -> dict[str, Any]:
        return dict(
            type="data",
            symmetric=False,
            array=(d[f"{col}_ci_high"] - d[col]).clip(lower=0),
            arrayminus=(d[col] - d[f"{col}_ci_low"]).clip(lower=0),
            thickness=1,
            color="#999999",
        )

    if len(front):
        fig.add_trace(
            go.Scatter(
                x=front["impact_ratio"],
                y=front["validity"],
                mode="lines+markers+text",
                text=front["point"],
                textposition="top center",
                name="frontier points (integer weights)",
                line=dict(color=PALETTE[0], width=1.5),
                marker=dict(
                    size=10,
                    color=[("white" if d else PALETTE[0]) for d in front["dominated"]],
                    line=dict(color=PALETTE[0], width=2),
                ),
                error_x=bars(front, "impact_ratio"),
                error_y=bars(front, "validity"),
                customdata=front[["weights"]].to_numpy(),
                hovertemplate="point %{text}: weights %{customdata[0]}<br>"
                "impact ratio %{x:.3f}<br>" + metric + " %{y:.3f}<extra></extra>",
            )
        )
    symbols = {"today": ("diamond", PALETTE[3]), "unit": ("square", PALETTE[2]),
               "suggestion": ("star", PALETTE[1])}  # fmt: skip
    names = {"today": "today's weights", "unit": "unit weights",
             "suggestion": "suggest_weights (outcome only)"}  # fmt: skip
    for kind, (sym, colour) in symbols.items():
        d = t[t["kind"] == kind]
        if d.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=d["impact_ratio"],
                y=d["validity"],
                mode="markers",
                name=names[kind],
                marker=dict(symbol=sym, size=13, color=colour, line=dict(color="black", width=1)),
                error_x=bars(d, "impact_ratio"),
                error_y=bars(d, "validity"),
                customdata=d[["weights"]].to_numpy(),
                hovertemplate=names[kind]
                + ": %{customdata[0]}<br>impact ratio %{x:.3f}<br>"
                + metric
                + " %{y:.3f}<extra></extra>",
            )
        )
    fig.add_vline(x=0.8, line=dict(color="#D55E00", dash="dash"), annotation_text="0.8")
    # axis titles on two lines and the legend below everything: printed at A4 width the
    # one-line titles and a legend inside the margin squeezed the plot to a strip
    fig.update_layout(
        title=frontier.title,
        height=520,
        xaxis_title="Lowest impact ratio, held-out candidates<br>(" + frontier.selection + ")",
        yaxis_title=f"Validity: {metric} against '{frontier.target}'<br>held-out candidates",
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", xanchor="left", x=0),
        template="plotly_white",
    )
    return fig
