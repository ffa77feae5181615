"""Suggest question weights from hire outcomes (METHODS.md §5).

The model is a regression of the outcome on the question scores, shrunk toward today's weights:
``β = β₀ + δ`` where ``β₀ = α·w_current`` (``α`` from a one-parameter fit of today's composite,
so the prior is "today's weights, on the outcome's scale") and an L2 penalty on ``δ`` only — a
Gaussian prior centred on today's weights. Weights are constrained ≥ 0 (bounded L-BFGS-B on the
penalised log-likelihood for a binary target, squared loss for a continuous one). The penalty
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
>>> X = rng.integers(1, 6, size=(400, 3)).astype(float)
>>> y = (X @ [1.0, 0.2, 2.0] + rng.normal(0, 2, 400) > 9.6).astype(int)
>>> est = WeightSuggester(baseline_weights=[1, 1, 1], cv_repeats=1, random_state=0).fit(X, y)
>>> bool(est.weights_[2] > est.weights_[1])
True
"""

from __future__ import annotations

# Every name the single-module calibrate.py had stays importable from here (pyproject:
# F401 is off for this file); new code imports from the modules themselves.
from .compare import (
    METHODS_COMPARED,
    _boot_job,
    _compare,
    _draw_indices,
    _int_job,
    _weighted_auc,
    _weighted_r,
    corrected_t_interval,
    decide,
)
from .estimator import (
    WeightSuggester,
    _base_intercept,
    _fit_glm,
    _fit_scale,
    _fold_job,
    _folds,
    _has_binary_target,
    _is_binary,
    _loglik,
    _path,
    _penalty_scale,
    _prepare,
    _Prepared,
    _run_parallel,
    _single_blas,
    penalised_objective,
)
from .fairness import (
    _fairness,
)

# the validity / adverse-impact frontier (imports estimator, result and suggest itself)
from .frontier import WeightFrontier, weight_frontier
from .integer import (
    MAX_WEIGHT,
    MIN_WEIGHT,
    IntegerChoice,
    integer_weights,
)
from .result import (
    _FRAME_FIELDS,
    _SCALAR_FIELDS,
    HIRED_CAVEAT,
    PAST_SCORES_NOTE,
    WeightSuggestion,
    _frame_from_obj,
    _frame_to_obj,
    _jsonable,
)
from .suggest import (
    _data_hash,
    _outcome_frame,
    _pick_posting,
    _target_vector,
    _thorndike,
    suggest_weights,
)

__all__ = [
    "HIRED_CAVEAT",
    "WeightFrontier",
    "WeightSuggester",
    "WeightSuggestion",
    "integer_weights",
    "suggest_weights",
    "weight_frontier",
]
