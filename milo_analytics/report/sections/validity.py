"""Outcomes and validity: correlations with outcomes, hire rate by quintile, importance."""

from __future__ import annotations

from ..context import Context, join_table
from ..document import Section, _jsonable


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (ctx.outcomes is not None):
        return None
    sec = Section(
        "validity",
        "Outcomes and validity",
        intro=(
            "How the overall score, the speech score and each question relate to outcomes: "
            "correlations with 95% confidence intervals and p values (significant = p < .05, "
            "as the Uniform Guidelines ask), the hire rate by overall-score quintile, and "
            "each question's share of the explained variance. A model of 'hired' reproduces "
            "past decisions, including any past bias; prefer performance or retention where "
            "available. Coefficients are observed values (no correction for range "
            "restriction or criterion unreliability)."
        ),
    )
    from ... import plots

    out = ctx.outcomes
    jr = getattr(out, "attrs", {}).get("join_report")
    if isinstance(jr, dict):
        if hasattr(jr, "summary"):
            ctx.paragraph(sec, str(jr.summary()))
        ctx.table(sec, join_table(jr), title="How the outcomes file joined", collapsed=True)
    if "interview_id" not in out.columns:
        sec.error = "The outcomes could not be joined to interviews (no interview_id column)."
        return sec
    targets = [t for t in ("hired", "performance") if t in out.columns and out[t].notna().any()]
    units = {"hired": "hired = 1, not hired = 0", "performance": "performance rating"}
    for target in targets:
        res = ctx.run(
            sec,
            f"Validity for {target}",
            lambda t=target: ctx.compute("outcome_validity", ctx.data, out, target=t),
        )
        if res is None:
            continue
        ctx.results.setdefault("validity", {})[target] = res
        labelled = res.table.assign(
            label=res.table["predictor"].map(lambda p: _predictor_label(ctx, p))
        )
        fig = ctx.run(
            sec,
            f"Validity figure ({target})",
            lambda t=labelled, g=target: plots.report_validity(
                t, title=f"Correlation with {g} (95% CI)"
            ),
        )
        ctx.figure(sec, fig)
        ctx.table(
            sec,
            res.table.drop(columns=["title", "outcome"]).assign(
                predictor=res.table["predictor"]
                .map({"score": "overall score", "speech_score": "speech score"})
                .fillna(res.table["predictor"])
            ),
            title=f"Validity coefficients for {target} ({units.get(target, target)})",
            notes=res.notes[:1],
            max_rows=60,
        )
        sec.facts[f"validity_{target}"] = {
            str(r["posting_id"]): _jsonable(r["r"])
            for _, r in res.table[res.table["predictor"] == "score"].iterrows()
        }
        if res.extras.get("binary") and len(res.bands):
            rate = "Hire rate" if target == "hired" else f"Rate of {target}"
            fig = ctx.run(sec, f"Quintile figure ({target})", res.plot)
            if fig is not None:
                fig.update_yaxes(title=f"{rate.lower()} (share of the quintile)")
            ctx.figure(sec, fig, title=f"{rate} by overall-score quintile", retitle=True)
            ctx.table(
                sec,
                res.bands.drop(columns=["title"]),
                title=f"{rate} by overall-score quintile (score range in points)",
                notes=res.notes[1:],
                collapsed=True,
            )
    target = (
        "performance"
        if "performance" in out.columns and out["performance"].notna().sum() >= 30
        else "hired"
    )
    if target not in out.columns:
        return sec
    imp = ctx.run(
        sec,
        f"Question importance ({target})",
        lambda: ctx.compute(
            "question_importance",
            ctx.data,
            out,
            target=target,
            bootstrap=ctx.resamples,  # the posting's resamples, shared with speech
        ),
    )
    if imp is None:
        return sec
    ctx.keep("importance", imp)
    for pid in ctx.postings:
        rows = imp.table[imp.table["posting_id"] == pid]
        if rows.empty:
            continue
        name = ctx.posting_name(pid)
        fig = ctx.run(sec, f"Importance figure ({pid})", lambda p=pid: imp.plot(posting_id=p))
        ctx.figure(
            sec,
            fig,
            title=f"Question importance for {target} — {name} (relative weights, % of R²)",
            retitle=True,
        )
        cols = [
            "question_id", "n", "rescaled_weight", "rw_ci_low", "rw_ci_high",
            "rescaled_lmg", "lmg_ci_low", "lmg_ci_high",
        ]  # fmt: skip
        ctx.table(
            sec,
            rows[[c for c in cols if c in rows.columns]],
            title=f"Relative importance for {target} — {name} (% of R²)",
            notes=[
                "rescaled weights and LMG: each question's share of the explained variance "
                "(%), with bootstrap 95% CIs; they sum to 100 within the posting.",
                *[n for n in imp.notes if pid in n],
            ],
        )
    return sec


def _predictor_label(ctx: Context, predictor: str) -> str:
    if predictor == "score":
        return "Overall score"
    if predictor == "speech_score":
        return "Speech score"
    return ctx.question_text.get(predictor, predictor)
