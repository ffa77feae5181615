"""The speech score: relation to the overall score and questions, incremental validity, group gaps."""

from __future__ import annotations

import pandas as pd

from ..context import Context
from ..document import Section


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (ctx.data.interviews["speech_score"].notna().any()):
        return None
    sec = Section(
        "speech",
        "Speech score",
        intro=(
            "The speech score (0–5: clarity, delivery, tone) is not a question and carries "
            "no weight. Its distribution is in the overview; here: how it "
            "relates to the overall score (0–100 points) and to each question, and whether "
            "it adds to the questions in predicting outcomes."
        ),
    )
    res = ctx.run(
        sec,
        "Speech summary",
        lambda: ctx.compute(
            "speech_summary",
            ctx.data,
            outcomes=ctx.outcomes,
            demographics=ctx.demographics,
            bootstrap=ctx.resamples,  # the posting's resamples, shared with importance
            **({"reference": "audit"} if ctx.demographics is not None else {}),
        ),
    )
    ctx.keep("speech", res)
    if res is None:
        return sec
    notes = [str(n) for n in res.notes]
    general = list(dict.fromkeys(n for n in notes if not any(p in n for p in ctx.postings)))
    for pid in ctx.postings:
        rows = res.table[res.table["posting_id"] == pid]
        if rows.empty:
            continue
        name = ctx.posting_name(pid)
        fig = ctx.run(
            sec, f"Speech figure ({pid})", lambda p=pid: res.plot("scatter", posting_id=p)
        )
        ctx.figure(
            sec,
            fig,
            title=(
                f"Speech vs overall score — {name} (cells: interviews; line: mean overall score)"
            ),
            retitle=True,
        )
        shown = rows.assign(
            variable=rows["variable"].map(lambda v: "overall score" if v == "overall" else v)
        )
        ctx.table(
            sec,
            shown,
            title=f"Correlation of the speech score with the overall score and each question "
            f"— {name}",
            notes=[n for n in notes if pid in n],
        )
    inc = res.incremental
    if isinstance(inc, pd.DataFrame) and len(inc):
        ctx.table(
            sec,
            inc,
            title="Incremental validity of the speech score over the question scores",
            notes=["delta: full model (questions + speech) minus questions only."],
        )
    gaps = res.gaps
    if isinstance(gaps, pd.DataFrame) and len(gaps):
        ctx.table(
            sec,
            gaps,
            title="Speech score by group (Cohen's d and scoring-rate impact ratio)",
            collapsed=True,
            label_questions=False,
            max_rows=60,
        )
    if general:
        ctx.notes(sec, general)
    return sec
