"""Adverse impact: the bias audit (NYC LL144 impact ratios, four-fifths rule) and its flags."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..context import Context, join_table
from ..document import Section
from ..findings import audit_findings


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (ctx.demographics is not None):
        return None
    from ...analysis.fairness import FLAG_RULE

    sec = Section(
        "adverse-impact",
        "Adverse impact",
        intro=(
            "Impact ratios by sex, race/ethnicity and their intersection as NYC Local Law "
            "144 and the EEOC four-fifths rule define them: for scores, the "
            "scoring rate is the share strictly above the posting's median; the impact "
            "ratio is a category's rate divided by the highest category's rate. Two "
            "separate lists follow. Flags — evidence of adverse impact under this toolkit's "
            f"rule: {FLAG_RULE}. Four-fifths results: every ratio below 0.8, as the rule of "
            "thumb reads, whatever the sample size. A ratio below 0.8 that is not flagged can "
            "still matter in small samples; read both."
        ),
    )
    jr = getattr(ctx.demographics, "attrs", {}).get("join_report")
    if isinstance(jr, dict):
        if hasattr(jr, "summary"):
            ctx.paragraph(sec, str(jr.summary()))
        ctx.table(sec, join_table(jr), title="How the demographics file joined", collapsed=True)
    res = ctx.run(
        sec,
        "Bias audit",
        lambda: ctx.compute(
            "bias_audit", ctx.data, ctx.demographics, min_known_share=ctx.min_known_share
        ),
    )
    if res is None:
        return sec
    ctx.keep("audit", res)
    if not isinstance(getattr(res, "summary", None), pd.DataFrame):
        ctx.add_result(sec, res, title="Impact ratios")
        return sec
    t = res.table
    # the counts the header and the summary show too (computed once, read by all three)
    found = ctx.once(("audit_findings", res, None), lambda: audit_findings(res))
    sec.facts["flags"] = len(found["flags"])
    sec.facts["below_four_fifths"] = found["below_four_fifths"]
    opts = getattr(res, "options", {}) or {}
    rule = (
        f"Flag rule used: {FLAG_RULE} (alpha = {opts.get('alpha', 0.05)}, "
        f"min_n = {opts.get('min_n', '?')})."
    )
    show = [
        "posting_id", "label", "dimension", "category", "n", "rate", "impact_ratio",
        "p_adjusted", "shortfall",
    ]  # fmt: skip
    cols = [c for c in show if c in t.columns]
    flags = res.flags
    if len(flags):
        ctx.table(
            sec,
            flags[cols].reset_index(drop=True),
            title=f"Flags: evidence of adverse impact ({len(flags)})",
            notes=[rule],
            label_questions=False,
            anchor="flags",
        )
    else:
        ctx.paragraph(
            sec,
            "No evidence of adverse impact under the flag rule: no category has a ratio "
            "below 0.8 that is also significant after Holm's adjustment with enough people. "
            + rule,
            title="Flags: evidence of adverse impact (none)",
        )
        sec.blocks[-1].anchor = "flags"
    verdicts = res.four_fifths_verdicts()
    below = found["below_four_fifths"]
    if below:
        shown = verdicts[[*cols, "verdict"]].reset_index(drop=True)
        core = shown["label"].eq("Overall score") & shown["dimension"].ne("intersection")
        ctx.table(
            sec,
            shown[core],
            title=(
                f"Four-fifths results: {found['below_overall']:,} of the {below:,} ratios "
                "below 0.8 are for the overall score by sex or race/ethnicity"
            ),
            notes=[
                "Every category whose rate is below 80 % of the highest category's, flagged "
                "or not; verdict: why it is or is not a flag (small n: fewer than min_n "
                "people; not significant: the Holm-adjusted p is not below alpha)."
            ],
            label_questions=False,
            anchor="four-fifths",
        )
        ctx.table(
            sec,
            shown,
            title=f"Every ratio below 0.8 — all measures, questions and intersections ({below:,})",
            label_questions=False,
            max_rows=120,
            collapsed=True,
        )
    else:
        ctx.paragraph(sec, "No impact ratio is below 0.8.", title="Four-fifths results")
        sec.blocks[-1].anchor = "four-fifths"
    for pid in sorted(t["posting_id"].dropna().unique().tolist()):
        name = ctx.posting_name(pid)
        tp = t[t["posting_id"] == pid]
        # the overall score always; then every measure with a flag (e.g. the speech score)
        measures = ["score"] if (tp["measure"] == "score").any() else []
        measures += sorted(
            set(tp.loc[tp["flag"].fillna(False).astype(bool), "measure"]) - set(measures)
        )
        for m in measures:
            label = tp.loc[tp["measure"] == m, "label"].iloc[0]
            fig = ctx.run(
                sec,
                f"Impact ratio figure ({pid}, {m})",
                lambda p=pid, m=m: res.plot(m, posting_id=p),
            )
            ctx.figure(sec, fig, title=f"Impact ratios — {label} — {name}", retitle=True)
        if len(res.sweep):
            _sweep(ctx, sec, res, pid, name)
    summary_cols = [
        "posting_id", "label", "dimension", "reference", "n", "unknown",
        "min_impact_ratio", "lowest_category", "below_four_fifths", "flagged",
    ]  # fmt: skip
    summ = res.summary[[c for c in summary_cols if c in res.summary.columns]]
    ctx.table(
        sec,
        summ,
        title="Summary by measure",
        label_questions=False,
        max_rows=80,
        collapsed=True,
        kinds={"flagged": "int"},
        notes=["below 0.8 / flagged: how many categories of the measure are below 0.8 / flagged."],
    )
    if isinstance(getattr(res, "unknown", None), pd.DataFrame) and len(res.unknown):
        ctx.table(
            sec, res.unknown, title="Candidates with unknown categories", label_questions=False
        )
    notes = [str(n) for n in res.notes]
    if notes:
        ctx.notes(sec, notes)
    return sec


def _sweep(ctx: Context, sec: Section, res: Any, pid: str, name: str) -> None:
    """Impact ratio by cut score for the included categories, against the table's reference
    rule; the excluded ones are listed below the chart with n, share and scoring rate (a line
    for a category of a few people is noise)."""
    from ... import plots

    sw = res.sweep[(res.sweep["posting_id"] == pid) & (res.sweep["measure"] == "score")]
    rows = res.table[(res.table["posting_id"] == pid) & (res.table["measure"] == "score")]
    if "excluded" in sw.columns:  # threshold_sweep applies the 2 % rule itself
        out = sw[sw["excluded"].fillna(False).astype(bool)]
        left = sorted(set(zip(out["dimension"], out["category"], strict=True)))
    else:  # an audit exported before the sweep carried the rule
        ex = rows[rows["excluded"].fillna(False).astype(bool)]
        left = sorted(set(zip(ex["dimension"], ex["category"], strict=True)))
    keep = ~pd.Series(
        [(d, c) in set(left) for d, c in zip(sw["dimension"], sw["category"], strict=True)],
        index=sw.index,
    )
    fig = ctx.run(
        sec,
        f"Threshold sweep ({pid})",
        lambda: plots.threshold_sweep_figure(sw[keep.to_numpy()]),
    )
    info = {
        (d, c): (int(n), rate, str(why))
        for d, c, n, rate, why in zip(
            rows["dimension"], rows["category"], rows["n"], rows["rate"], rows["reason"],
            strict=True,
        )
    }  # fmt: skip
    notes = [
        "Selected = overall score at or above the cut; the dashed line is 0.8. The reference "
        "at each cut is the highest rate among the categories drawn, as in the impact-ratio "
        "table."
    ]
    small = [(d, c) for d, c in left if info.get((d, c), (0,))[0] > 0]
    empty = [(d, c) for d, c in left if info.get((d, c), (0,))[0] == 0]
    if small:
        parts = []
        for d, c in small:
            n, rate, why = info[(d, c)]
            why = why.replace("; excluded from impact ratios", "") or f"n = {n:,}"
            scoring = f"; scoring rate {rate:.0%}" if pd.notna(rate) else ""
            parts.append(f"{c} ({d.replace('_', '/')}: {why}{scoring})")
        notes.append(
            "Not drawn — excluded from the ratios (and never the reference) as in the "
            "impact-ratio table: " + "; ".join(parts) + "."
        )
    if empty:
        notes.append(
            "No candidates in: " + ", ".join(f"{c} ({d.replace('_', '/')})" for d, c in empty) + "."
        )
    ctx.figure(
        sec,
        fig,
        title=f"Overall score: impact ratio by cut score — {name}",
        retitle=True,
        notes=notes,
        collapsed=True,
    )
