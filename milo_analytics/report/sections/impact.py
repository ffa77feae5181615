"""Adverse impact: the bias audit (NYC LL144 impact ratios, four-fifths rule) and its flags."""

from __future__ import annotations

import pandas as pd

from ..context import Context, join_table
from ..document import Section


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
            "144 and the EEOC four-fifths rule define them (METHODS §6): for scores, the "
            "scoring rate is the share strictly above the posting's median; the impact "
            "ratio is a category's rate divided by the highest category's rate. Two "
            "separate lists follow. (1) Four-fifths results: every ratio below 0.8, as the "
            "rule of thumb reads, whatever the sample size. (2) Flags — evidence of adverse "
            f"impact under this toolkit's rule: {FLAG_RULE}. A ratio below 0.8 that is not "
            "flagged can still matter in small samples; read both."
        ),
    )
    jr = getattr(ctx.demographics, "attrs", {}).get("join_report")
    if isinstance(jr, dict):
        if hasattr(jr, "summary"):
            ctx.paragraph(sec, str(jr.summary()))
        ctx.table(sec, join_table(jr), title="How the demographics file joined", collapsed=True)
    res = ctx.run(sec, "Bias audit", lambda: ctx.analysis("bias_audit")(ctx.data, ctx.demographics))
    if res is None:
        return sec
    ctx.keep("audit", res)
    if not isinstance(getattr(res, "summary", None), pd.DataFrame):
        ctx.add_result(sec, res, title="Impact ratios")
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
            fig = ctx.run(
                sec,
                f"Threshold sweep ({pid})",
                lambda p=pid: res.plot("score", posting_id=p, kind="sweep"),
            )
            ctx.figure(
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
        ctx.table(
            sec,
            below[core],
            title=(
                f"(1) Four-fifths results, overall score by sex and race/ethnicity: "
                f"{int(core.sum())} ratio(s) below 0.8"
            ),
            notes=[raw_note],
            label_questions=False,
        )
        ctx.table(
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
        ctx.paragraph(sec, "No impact ratio is below 0.8.", title="(1) Four-fifths results")
    if len(flags):
        ctx.table(
            sec,
            flags[[c for c in cols if c != "flag"]].reset_index(drop=True),
            title=f"(2) Flags ({len(flags)})",
            notes=[rule],
            label_questions=False,
        )
    else:
        ctx.paragraph(
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
    ctx.table(
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
        ctx.table(
            sec, res.unknown, title="Candidates with unknown categories", label_questions=False
        )
    notes = [str(n) for n in res.notes]
    if notes:
        ctx.notes(sec, notes)
    return sec
