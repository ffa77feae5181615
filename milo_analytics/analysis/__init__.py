"""Statistics on InterviewData: weights, items and reliability, speech, importance, fairness.

Names are imported lazily. No module here speaks HTTP or draws with I/O.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "bias_audit": "milo_analytics.analysis.fairness",
    "cronbach_alpha": "milo_analytics.analysis.items",
    "dominance_analysis": "milo_analytics.analysis.importance",
    "drift": "milo_analytics.analysis.temporal",
    "effective_weights": "milo_analytics.analysis.weights",
    "impact_before_after": "milo_analytics.analysis.fairness",
    "impact_ratios": "milo_analytics.analysis.fairness",
    "item_statistics": "milo_analytics.analysis.items",
    "outcome_validity": "milo_analytics.analysis.overview",
    "posting_overview": "milo_analytics.analysis.overview",
    "question_importance": "milo_analytics.analysis.importance",
    "reconcile_scores": "milo_analytics.analysis.weights",
    "relative_weights": "milo_analytics.analysis.importance",
    "Resamples": "milo_analytics.analysis.resample",
    "rescore": "milo_analytics.analysis.weights",
    "score_distribution": "milo_analytics.analysis.overview",
    "speech_summary": "milo_analytics.analysis.speech",
    "status_funnel": "milo_analytics.analysis.overview",
    "weight_changes": "milo_analytics.analysis.temporal",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
