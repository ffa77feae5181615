"""Suggest question weights from hire outcomes (METHODS.md §5).

The model is a regression of the outcome on the question scores, shrunk toward today's weights:
``β = β₀ + δ`` where ``β₀ = α·w_current`` (``α`` from a one-parameter fit of today's composite,
so the prior is "today's weights, on the outcome's scale") and an L2 penalty on ``δ`` only — a
Gaussian prior centred on today's weights. Weights are constrained ≥ 0 (projected Newton steps,
Bertsekas 1982, with scipy's bounded L-BFGS-B as the fallback, on the penalised log-likelihood
for a binary target, squared loss for a continuous one). The penalty
strength ``λ`` is chosen by repeated stratified K-fold cross-validation; ``λ → ∞`` returns today's
weights, ``λ = 0`` the unconstrained (non-negative) maximum-likelihood fit.

Integer weights (the questions API takes integers 1–10, and only ratios matter) come from a
ratio-preserving search, see :func:`integer_weights`. Current, unit, suggested and
suggested-integer weights are compared on held-out candidates of the same repeated CV folds,
nested: each fold chooses its own λ by an inner CV on its training part, refits and runs the
integer search there, so its held-out candidates never saw any of it; the differences carry
Nadeau & Bengio's (2003) corrected resampled t intervals. The decision rule
(:func:`~milo_analytics.calibrate.compare.decide`): ``"change"`` when the integer suggestion
changes a weight and beats today's weights beyond that noise (lower interval bound of
``suggested_integer - current`` above 0), whatever unit weights do; unit weights are the
reference the explanation reports.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> from milo_analytics.calibrate import WeightSuggester
>>> X = rng.integers(1, 6, size=(400, 3)).astype(float)
>>> y = (X @ [1.0, 0.2, 2.0] + rng.normal(0, 2, 400) > 9.6).astype(int)
>>> est = WeightSuggester(baseline_weights=[1, 1, 1], cv_repeats=1, random_state=0).fit(X, y)
>>> bool(est.weights_[2] > est.weights_[1])
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

# Names are imported on first use, so that `from milo_analytics.calibrate import
# WeightSuggestion` (the CLI's report and push commands) does not pay for scipy.stats and
# scikit-learn. Every name the single-module calibrate.py had stays importable from here; new
# code imports from the modules themselves.
_EXPORTS: dict[str, str] = {
    "corrected_t_interval": "milo_analytics.calibrate.compare",
    "decide": "milo_analytics.calibrate.compare",
    "HIRED_CAVEAT": "milo_analytics.calibrate.result",
    "integer_weights": "milo_analytics.calibrate.integer",
    "IntegerChoice": "milo_analytics.calibrate.integer",
    "MAX_WEIGHT": "milo_analytics.calibrate.integer",
    "METHODS_COMPARED": "milo_analytics.calibrate.compare",
    "MIN_WEIGHT": "milo_analytics.calibrate.integer",
    "PAST_SCORES_NOTE": "milo_analytics.calibrate.result",
    "penalised_objective": "milo_analytics.calibrate.estimator",
    "suggest_weights": "milo_analytics.calibrate.suggest",
    "weight_frontier": "milo_analytics.calibrate.frontier",
    "WeightFrontier": "milo_analytics.calibrate.frontier",
    "WeightSuggester": "milo_analytics.calibrate.estimator",
    "WeightSuggestion": "milo_analytics.calibrate.result",
    "_base_intercept": "milo_analytics.calibrate.estimator",
    "_boot_job": "milo_analytics.calibrate.compare",
    "_compare": "milo_analytics.calibrate.compare",
    "_data_hash": "milo_analytics.calibrate.suggest",
    "_draw_indices": "milo_analytics.calibrate.compare",
    "_fairness": "milo_analytics.calibrate.fairness",
    "_fit_glm": "milo_analytics.calibrate.estimator",
    "_fit_scale": "milo_analytics.calibrate.estimator",
    "_fold_job": "milo_analytics.calibrate.estimator",
    "_folds": "milo_analytics.calibrate.estimator",
    "_FRAME_FIELDS": "milo_analytics.calibrate.result",
    "_frame_from_obj": "milo_analytics.calibrate.result",
    "_frame_to_obj": "milo_analytics.calibrate.result",
    "_has_binary_target": "milo_analytics.calibrate.estimator",
    "_int_job": "milo_analytics.calibrate.compare",
    "_is_binary": "milo_analytics.calibrate.estimator",
    "_jsonable": "milo_analytics.calibrate.result",
    "_loglik": "milo_analytics.calibrate.estimator",
    "_outcome_frame": "milo_analytics.calibrate.suggest",
    "_path": "milo_analytics.calibrate.estimator",
    "_penalty_scale": "milo_analytics.calibrate.estimator",
    "_pick_posting": "milo_analytics.calibrate.suggest",
    "_prepare": "milo_analytics.calibrate.estimator",
    "_Prepared": "milo_analytics.calibrate.estimator",
    "_run_parallel": "milo_analytics.calibrate.estimator",
    "_SCALAR_FIELDS": "milo_analytics.calibrate.result",
    "_target_vector": "milo_analytics.calibrate.suggest",
    "_thorndike": "milo_analytics.calibrate.suggest",
    "_weighted_auc": "milo_analytics.calibrate.compare",
    "_weighted_r": "milo_analytics.calibrate.compare",
}

__all__ = [
    "HIRED_CAVEAT",
    "WeightFrontier",
    "WeightSuggester",
    "WeightSuggestion",
    "integer_weights",
    "suggest_weights",
    "weight_frontier",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
