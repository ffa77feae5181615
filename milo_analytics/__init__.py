"""milo_analytics — analytics for HeyMilo AI video and voice interviews.

Pull interview results into tidy pandas frames, study question weights, reliability and
speech scores, audit adverse impact (NYC LL144, EEOC four-fifths rule), suggest question
weights from hire outcomes and push them back safely, and write one-file HTML reports.

Public names are imported lazily so that ``import milo_analytics`` stays fast.

Examples
--------
>>> import milo_analytics as ma
>>> "load_posting" in ma.__all__
True
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "HeyMiloClient": "milo_analytics.api",
    "InterviewData": "milo_analytics.frames",
    "PushResult": "milo_analytics.push",
    "Report": "milo_analytics.report",
    "Store": "milo_analytics.store",
    "WeightSuggester": "milo_analytics.calibrate",
    "WeightSuggestion": "milo_analytics.calibrate",
    "WeightFrontier": "milo_analytics.calibrate",
    "build_report": "milo_analytics.report",
    "frames_from_documents": "milo_analytics.load",
    "list_postings": "milo_analytics.load",
    "load_documents": "milo_analytics.load",
    "load_posting": "milo_analytics.load",
    "load_postings": "milo_analytics.load",
    "push_weights": "milo_analytics.push",
    "read_demographics": "milo_analytics.outcomes",
    "read_outcomes": "milo_analytics.outcomes",
    "rollback_weights": "milo_analytics.push",
    "suggest_weights": "milo_analytics.calibrate",
    "weight_frontier": "milo_analytics.calibrate",
}

__all__ = sorted([*_EXPORTS, "__version__"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
