"""The fairness check of a suggestion: the bias audit's rule on today's and suggested weights.

The implementation lives in :mod:`milo_analytics.analysis.suggestion_fairness` beside the audit
it reuses (``impact_before_after``, ``FLAG_RULE``, the 2 % exclusion, unknowns counted);
``suggest_weights`` calls it through ``_fairness`` to fill ``WeightSuggestion.fairness``.
docs/methods.md §5 "Fairness of a suggestion".
"""

from __future__ import annotations

from ..analysis.suggestion_fairness import (
    fairness_flagged,
    null_demographics,
    suggestion_fairness,
)

_fairness = suggestion_fairness

__all__ = ["_fairness", "fairness_flagged", "null_demographics", "suggestion_fairness"]
