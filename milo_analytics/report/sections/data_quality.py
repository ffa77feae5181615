"""Data quality: load errors, unfinished interviews, missing values."""

from __future__ import annotations

import pandas as pd

from ...frames import RESULT_STATUSES, UNFINISHED_STATUSES
from ..context import Context
from ..document import Section


def build(ctx: Context) -> Section | None:
    """The section (always present)."""
    sec = Section(
        "data-quality",
        "Data quality",
        intro="Documents that failed to load or parse, unfinished interviews, and missing values.",
    )
    d = ctx.data
    c = d.candidates
    unfinished = int(c["status"].isin(UNFINISHED_STATUSES).sum())
    with_results = int(c["status"].isin(RESULT_STATUSES).sum())
    missing_results = max(with_results - len(d.interviews), 0)
    rows = [
        ("Load errors", len(d.errors)),
        ("Unfinished interviews (not errors)", unfinished),
        ("Candidates with results but no interview document", missing_results),
        ("Interviews without an overall score", int(d.interviews["score"].isna().sum())),
        ("Interviews without a speech score", int(d.interviews["speech_score"].isna().sum())),
        ("Scorecard items without a score", int(d.scores["score"].isna().sum())),
    ]
    sec.facts.update({k: v for k, v in rows})
    ctx.table(sec, pd.DataFrame(rows, columns=["check", "count"]), title="Checks")
    if len(d.errors):
        by_stage = d.errors.groupby("stage", dropna=False).size().rename("n").reset_index()
        ctx.table(sec, by_stage, title="Load errors by stage")
        errs = d.errors.sort_values(["stage", "interview_id"], kind="stable")
        ctx.table(sec, errs, title="Load errors", max_rows=25, free_text=True)
    return sec
