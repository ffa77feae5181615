"""The overview: postings, status counts, score distributions and drift."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...frames import RESULT_STATUSES
from ..context import Context, day
from ..document import Section


def build(ctx: Context) -> Section | None:
    """The section (always present)."""
    sec = Section(
        "overview",
        "Overview",
        intro=(
            "The postings, where every candidate currently stands, and how overall scores "
            "(0–100 points) and speech scores (0–5) are distributed. Each posting scores its "
            "questions on its own scale (below), so question-level numbers compare only "
            "within a posting."
        ),
    )
    d = ctx.data
    t = ctx.posting_table
    if t is not None and len(t):
        shown = t.assign(
            score_scale=t["score_scale"].map(lambda v: f"1–{int(v)}" if pd.notna(v) else ""),
            first_created=t["first_created"].map(day),
            last_created=t["last_created"].map(day),
        ).rename(
            columns={
                "score_scale": "question scale",
                "scored_questions": "scored questions",
                "first_created": "first candidate",
                "last_created": "last candidate",
                "interviews": "completed interviews",
            }
        )
        ctx.table(sec, shown, title="Postings", label_postings=False)
    funnel = ctx.keep(
        "status_funnel", ctx.run(sec, "Status counts", lambda: ctx.compute("status_funnel", d))
    )
    if funnel is not None and len(funnel.table):
        sec.facts["statuses"] = funnel.table.groupby("status")["n"].sum().to_dict()
        ctx.figure(sec, ctx.run(sec, "Status figure", funnel.plot))
        ctx.table(
            sec,
            funnel.wide(),
            title="Candidates by current status (counts)",
            notes=[
                *funnel.notes,
                "'Completed interviews' above counts every candidate with results (status "
                + ", ".join(sorted(RESULT_STATUSES))
                + "); the 'completed' status alone is those not yet shortlisted, dismissed "
                "or knocked out.",
            ],
            label_postings=False,
        )
    iv = d.interviews
    for column, label in (("score", "Overall score"), ("speech_score", "Speech score")):
        if not (len(iv) and iv[column].notna().any()):
            continue
        dist = ctx.run(
            sec, f"{label} distribution", lambda c=column: ctx.compute("score_distribution", d, c)
        )
        if dist is None:
            continue
        ctx.figure(sec, ctx.run(sec, f"{label} figure", dist.plot))
        unit = "points, 0–100" if column == "score" else "0–5"
        ctx.table(
            sec,
            dist.summary.drop(columns=["title"]),
            title=f"{label} by posting ({unit})",
            notes=["sd: sample standard deviation (n − 1)."],
        )
    if len(iv) >= 2:
        for pid in ctx.postings:
            sub = ctx.posting_data(pid)
            if len(sub.interviews) < 2:
                continue
            res = ctx.keep(
                "drift",
                ctx.run(sec, f"Drift ({pid})", lambda s=sub: ctx.compute("drift", s)),
                pid,
            )
            if res is not None:
                _drift(ctx, sec, res, pid)
    return sec


def _drift(ctx: Context, sec: Section, res: Any, pid: str) -> None:
    fig = ctx.run(sec, f"Drift figure ({pid})", res.plot)
    if fig is not None:
        fig.for_each_trace(lambda t: t.update(name="weekly mean") if t.name == "score" else None)
        fig.update_yaxes(title="mean overall score (points); band: p25–p75")
        fig.update_xaxes(title="week (ending Sunday, UTC)")
    ctx.figure(
        sec,
        fig,
        title=f"Overall score by week — {ctx.posting_name(pid)}",
        retitle=True,
        collapsed=True,
    )
    comp = getattr(res, "comparison", None)
    notes = [str(n) for n in res.notes]
    if isinstance(comp, pd.DataFrame) and len(comp):
        split = comp["split"].dropna()
        when = f" of {day(split.iloc[0])}" if len(split) else ""
        ctx.table(
            sec,
            comp.drop(columns=["split"]),
            title=f"Before / after the weight change{when} — {ctx.posting_name(pid)}",
            notes=notes,
        )
        notes = []
    t = res.table
    periods = t.assign(period=t["period"].map(day)).rename(columns={"period": "week ending"})
    ctx.table(
        sec,
        periods[periods["variable"].isin(["score", "speech_score"])],
        title=f"Overall and speech score by week — {ctx.posting_name(pid)}",
        notes=notes,
        collapsed=True,
        max_rows=80,
    )
