"""Data quality: load errors, pulls that did not finish, unfinished interviews, missing values."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...frames import RESULT_STATUSES, UNFINISHED_STATUSES
from ..context import Context
from ..document import Section


def build(ctx: Context) -> Section | None:
    """The section (always present)."""
    sec = Section(
        "data-quality",
        "Data quality",
        intro=(
            "Documents that failed to load or parse, pulls into the store that did not finish, "
            "unfinished interviews, and missing values."
        ),
    )
    d = ctx.data
    c = d.candidates
    unfinished = int(c["status"].isin(UNFINISHED_STATUSES).sum())
    with_results = int(c["status"].isin(RESULT_STATUSES).sum())
    missing_results = max(with_results - len(d.interviews), 0)
    syncs = list(getattr(d, "unfinished_syncs", ()) or ())
    rows = [
        ("Load errors", len(d.errors)),
        ("Postings whose last pull did not finish (data incomplete)", len(syncs)),
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
    if syncs:
        ctx.table(sec, unfinished_sync_table(syncs), title="Pulls that did not finish")
        sec.blocks[-1].notes.append(
            "The store holds what these pulls saved before they stopped: candidates they had "
            "not listed yet are missing from every number in this report. Finish the pull "
            "(the command in the last column) and build the report again."
        )
    return sec


def unfinished_sync_table(syncs: list[Any]) -> pd.DataFrame:
    """One row per posting whose last pull did not finish (``InterviewData.unfinished_syncs``).

    Examples
    --------
    >>> from milo_analytics.store import UnfinishedSync
    >>> t = unfinished_sync_table([UnfinishedSync("P1", None, None, None, 431, 0)])
    >>> row = t.iloc[0]
    >>> str(row["posting_id"]), int(row["interview_documents"]), str(row["to_finish"])
    ('P1', 431, 'milo-analytics pull P1')
    """

    def _when(v: Any) -> Any:
        return pd.NaT if v is None else pd.Timestamp(v)

    return pd.DataFrame(
        {
            "posting_id": pd.array([str(u.posting_id) for u in syncs], dtype="str"),
            "pull_started": [_when(u.started_at or u.first_saved_at) for u in syncs],
            "last_complete_pull": [_when(u.last_finished_at) for u in syncs],
            "interview_documents": [int(u.documents) for u in syncs],
            "candidate_records": [int(u.candidates) for u in syncs],
            "to_finish": pd.array(
                [f"milo-analytics pull {u.posting_id}" for u in syncs], dtype="str"
            ),
        }
    )
