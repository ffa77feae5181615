"""The weight suggestion: current vs suggested weights, out-of-sample comparison, what-if."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..context import Context
from ..document import Section
from ..findings import fairness_before_after


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (ctx.suggestion is not None):
        return None
    sec = Section(
        "suggestion",
        "Suggested question weights",
        intro=(
            "Weights fitted to outcomes, shrunk toward today's weights and compared out of "
            "sample with the current and equal weights. Past candidates keep "
            "their scores; new weights apply to interviews scored after a push."
        ),
    )
    sg = ctx.suggestion
    rec = getattr(sg, "recommendation", None)
    baseline = getattr(sg, "baseline", None)
    pid = baseline.get("posting_id") if isinstance(baseline, dict) else None
    if pid:
        sec.facts["posting_id"] = pid
    if rec is not None:
        sec.facts["recommendation"] = rec
        where = f" for posting {ctx.posting_name(pid)}" if pid else ""
        ctx.paragraph(sec, f"Recommendation{where}: {rec}.")
    fig = ctx.run(sec, "Suggestion figure", sg.plot) if hasattr(sg, "plot") else None
    ctx.figure(sec, fig)
    table = getattr(sg, "table", None)
    if isinstance(table, pd.DataFrame):
        ctx.table(
            sec,
            table,
            title="Current and suggested weights",
            label_questions=False,
            anchor="suggested-weights",
        )
    comp = getattr(sg, "comparison", None)
    if isinstance(comp, pd.DataFrame):
        ctx.table(
            sec,
            comp,
            title="Out-of-sample comparison (same folds)",
            anchor="suggestion-comparison",
        )
    diffs = getattr(sg, "differences", None)
    if isinstance(diffs, pd.DataFrame) and len(diffs):
        ctx.table(
            sec,
            diffs,
            title="Paired differences on the same held-out candidates (bootstrap 95% CI)",
        )
    fair = fairness_before_after(sg)
    if fair is not None:
        notes = []
        if "flagged_suggested" in fair.columns:
            now, then = int(fair["flagged_current"].sum()), int(fair["flagged_suggested"].sum())
            notes.append(
                f"Flagged by the bias audit's rule: {now} with today's weights, {then} with the "
                "suggested ones (flag: ratio under 0.8, significantly lower than everybody "
                "else after Holm's adjustment over each set of weights, n ≥ 30). Groups under "
                "2 % of the data have no ratio."
            )
        ctx.table(
            sec,
            fair,
            title="Impact ratios with today's and the suggested weights",
            label_questions=False,
            anchor="suggestion-fairness",
            kinds={"change": "ratio"},
            notes=notes,
        )
    notes = [str(n) for n in getattr(sg, "notes", []) or []]
    if notes:
        ctx.notes(sec, notes)
    _what_if(ctx, sec, sg)
    return sec


def _what_if(ctx: Context, sec: Section, sg: Any) -> None:
    """Rank changes and shortlist flips if the suggested integer weights had been used."""
    table = getattr(sg, "table", None)
    baseline = getattr(sg, "baseline", None) or {}
    pid = baseline.get("posting_id") if isinstance(baseline, dict) else None
    if not isinstance(table, pd.DataFrame) or pid not in ctx.postings:
        return
    col = "suggested_integer" if "suggested_integer" in table.columns else "suggested_weight"
    if col not in table.columns or "question_id" not in table.columns:
        return
    weights = {
        str(q): float(w)
        for q, w in zip(table["question_id"], table[col], strict=True)
        if pd.notna(w)
    }
    res = ctx.run(
        sec,
        "What-if rescoring",
        lambda: ctx.compute("rescore", ctx.posting_data(pid), weights, top=0.25),
    )
    if res is None:
        return
    ctx.keep("rescore", res)
    ctx.add_result(
        sec, res, title=f"If past candidates had been scored with the suggested weights ({pid})"
    )
    sec.blocks[-1].notes.append(
        "Shortlist = the best 25 % of the posting by overall score, before and after, both "
        "recomputed from the scorecards with the same formula. Past candidates keep their "
        "real scores: this only shows how far the decisions would move."
    )
