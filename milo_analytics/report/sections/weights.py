"""Question weights: nominal vs effective weights and the score reconstruction."""

from __future__ import annotations

from ..context import Context
from ..document import Section


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (len(ctx.data.interviews) or len(ctx.data.scores)):
        return None
    sec = Section(
        "weights",
        "Question weights",
        intro=(
            "A question's nominal weight is not its influence on the overall score: the "
            "effective share depends on each question's spread and its correlations "
            ". The reconstruction checks how the vendor's overall score is built "
            "from the scorecard."
        ),
    )
    ctx.per_posting(
        sec,
        "Effective weights",
        "effective_weights",
        title="Nominal vs effective weights",
        key="effective_weights",
    )
    ctx.per_posting(
        sec,
        "Score reconstruction",
        "reconcile_scores",
        title="Score reconstruction",
        key="reconcile_scores",
        fold_figure=True,
    )
    return sec
