"""The validity / adverse-impact frontier beside the suggestion (docs/methods.md §8).

Built when the report has a suggestion, outcomes and demographics: the frontier of integer
weights for the suggestion's posting, with today's, unit and the suggested weights marked.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..document import Section

#: Columns of WeightFrontier.table shown in the report.
COLUMNS = [
    "point", "weights", "validity", "validity_ci_low", "validity_ci_high", "impact_ratio",
    "impact_ratio_ci_low", "impact_ratio_ci_high", "lowest_group", "flagged", "dominated",
]  # fmt: skip


def build(ctx: Context) -> Section | None:
    """The section, or None without a suggestion, outcomes and demographics."""
    sg = ctx.suggestion
    if sg is None or ctx.outcomes is None or ctx.demographics is None:
        return None
    baseline = getattr(sg, "baseline", None)
    pid = baseline.get("posting_id") if isinstance(baseline, dict) else None
    if not pid:
        return None
    sec = Section(
        "frontier",
        "Validity and adverse impact of other integer weights",
        intro=(
            "Every integer weighting on the trade-off between validity (against the outcome) "
            "and the lowest impact ratio (sex, race/ethnicity, their intersection), both on "
            "held-out candidates; today's, equal and the suggested weights on the same axes."
        ),
    )
    sec.facts["posting_id"] = pid
    fr = ctx.run(
        sec, "Frontier", lambda: ctx.once(("frontier", pid), lambda: _frontier(ctx, sg, pid))
    )
    if fr is None:
        return sec
    ctx.results["frontier"] = fr
    sec.facts["trade_off"] = bool(fr.trade_off)
    ctx.paragraph(sec, fr.notes[0])
    ctx.figure(sec, ctx.run(sec, "Frontier figure", fr.plot))
    ctx.table(
        sec,
        fr.table[COLUMNS],
        title="Frontier points, today's, equal and suggested weights (held out, 95% CI)",
        label_questions=False,
        anchor="frontier-points",
        kinds={c: "ratio" for c in COLUMNS if c.startswith(("validity", "impact_ratio"))},
    )
    ctx.notes(sec, [str(n) for n in fr.notes[1:]])
    return sec


def _frontier(ctx: Context, sg: Any, pid: str) -> Any:
    from ...calibrate.frontier import weight_frontier

    return weight_frontier(
        ctx.data, ctx.outcomes, ctx.demographics, posting_id=pid, suggestion=sg,
        target=getattr(sg, "target", "hired"), n_boot=100,
    )  # fmt: skip
