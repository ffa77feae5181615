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
suggested-integer weights are compared out of sample on the same folds, with paired bootstrap
CIs over candidates; the recommendation is ``"change"`` only when the integer suggestion beats
both current and unit weights beyond that noise.

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

import datetime as _dt
import functools
import hashlib
import html
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from sklearn.base import BaseEstimator
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import DataError, InsufficientDataError
from .results import Result, frame_to_html

__all__ = [
    "HIRED_CAVEAT",
    "WeightSuggester",
    "WeightSuggestion",
    "integer_weights",
    "suggest_weights",
]

#: The caveat printed whenever the target is "hired" (METHODS.md §5).
HIRED_CAVEAT = (
    "Target is 'hired': a model fitted on past hiring decisions learns to reproduce them, "
    "including any past bias. Prefer performance or retention outcomes when the ATS has them."
)
#: Said by every suggestion and push (DESIGN.md, API-NOTES.md).
PAST_SCORES_NOTE = (
    "Changing weights affects interviews scored after the change only: past candidates keep "
    "their scores (each scorecard item keeps the weight used when it was scored)."
)
MAX_WEIGHT = 10
MIN_WEIGHT = 1
F = TypeVar("F", bound=Callable[..., Any])


# ============================================================================ numerical core
def penalised_objective(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray, binary: bool, beta0: np.ndarray, c: float
) -> tuple[float, np.ndarray]:
    """Mean loss + ``c/2·‖β − β₀‖²`` and its gradient, for ``theta = (intercept, β…)``.

    Binary: mean Bernoulli negative log-likelihood ``log(1+e^η) − yη``; continuous: half the
    mean squared error. Vectorised: one ``X·β`` and one ``Xᵀr`` per call.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, 0.0])
    >>> f, g = penalised_objective(np.zeros(2), X, y, True, np.zeros(1), 0.0)
    >>> round(float(f), 4), g.round(4).tolist()
    (0.6931, [0.0, -0.5])
    """
    n, q = X.shape
    eta = X @ theta[1:] + theta[0]
    if binary:
        loss = (np.logaddexp(0.0, eta).sum() - y @ eta) / n
        r = special.expit(eta) - y
    else:
        r = eta - y
        loss = 0.5 * (r @ r) / n
    d = theta[1:] - beta0
    g = np.empty(q + 1)
    g[0] = r.mean()
    g[1:] = X.T @ r / n + c * d
    return loss + 0.5 * c * (d @ d), g


def _fit_glm(
    X: np.ndarray,
    y: np.ndarray,
    binary: bool,
    *,
    beta0: np.ndarray | None = None,
    lam: float = 0.0,
    pen_scale: float = 1.0,
    nonneg: bool = True,
    x0: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float]:
    """Minimise mean loss + ``lam·pen_scale/2·‖β−β₀‖²`` over (intercept, β ≥ 0).

    Returns ``(beta, intercept, loglik)`` where ``loglik`` is the unpenalised log-likelihood
    (Bernoulli for binary targets, the Gaussian profile ``−n/2·log(RSS/n)`` for continuous ones).
    ``X`` should be column-centred for conditioning; the intercept absorbs the means.
    """
    q = X.shape[1]
    b0 = np.zeros(q) if beta0 is None else np.asarray(beta0, float)
    c = lam * pen_scale
    yd = y.astype(float)

    if x0 is None:
        start = np.concatenate([[_base_intercept(yd, binary)], np.maximum(b0, 0.0)])
    else:
        start = np.asarray(x0, float)
    bounds = [(None, None)] + [((0.0, None) if nonneg else (None, None))] * q
    res = optimize.minimize(
        penalised_objective,
        start,
        args=(X, yd, binary, b0, c),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-7},
    )
    theta = res.x
    return theta[1:], float(theta[0]), _loglik(X @ theta[1:] + theta[0], yd, binary)


def _base_intercept(y: np.ndarray, binary: bool) -> float:
    if binary:
        p = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        return math.log(p / (1 - p))
    return float(y.mean())


def _loglik(eta: np.ndarray, y: np.ndarray, binary: bool) -> float:
    if binary:
        return float(y @ eta - np.logaddexp(0.0, eta).sum())
    rss = float(((y - eta) ** 2).sum())
    n = len(y)
    return -0.5 * n * math.log(max(rss, 1e-300) / n)


def _fit_scale(z: np.ndarray, y: np.ndarray, binary: bool) -> tuple[float, float, float]:
    """One-parameter fit of a composite ``z``: returns (slope, intercept, loglik).

    Closed form for a continuous outcome; Newton–Raphson with step halving for a binary one.
    """
    zm = float(z.mean())
    zc = z - zm
    szz = float(zc @ zc)
    if not binary:
        a = float(zc @ (y - y.mean())) / szz if szz > 0 else 0.0
        b = float(y.mean())
        return a, b - a * zm, _loglik(b + a * zc, y, False)
    a, b = 0.0, _base_intercept(y, True)
    ll = _loglik(b + a * zc, y, True)
    for _ in range(100):
        eta = b + a * zc
        p = special.expit(eta)
        r = y - p
        w = p * (1 - p)
        g0, g1 = float(r.sum()), float(r @ zc)
        h00, h01, h11 = float(w.sum()), float(w @ zc), float(w @ (zc * zc))
        det = h00 * h11 - h01 * h01
        if det <= 1e-300:
            break
        d0 = (h11 * g0 - h01 * g1) / det
        d1 = (h00 * g1 - h01 * g0) / det
        decrement = g0 * d0 + g1 * d1  # Newton decrement²: predicted gain ×2
        if decrement < 1e-10:
            break
        t = 1.0
        while True:
            ll_new = _loglik((b + t * d0) + (a + t * d1) * zc, y, True)
            if ll_new >= ll - 1e-9 * max(1.0, abs(ll)) or t < 1e-6:
                break
            t /= 2
        b, a, ll = b + t * d0, a + t * d1, ll_new
    return a, b - a * zm, ll


def _penalty_scale(X: np.ndarray, y: np.ndarray, binary: bool) -> float:
    """Per-observation Fisher information of an average column: makes λ unit-free.

    With this scale, ``λ = 1`` is a prior as strong as the whole sample; ``λ = 1/n`` as one
    observation.
    """
    v = float(np.mean(X.var(axis=0))) or 1.0
    if binary:
        p = float(y.mean())
        v *= max(p * (1 - p), 1e-6)
    return v


@dataclass
class _Prepared:
    X: np.ndarray  # centred
    y: np.ndarray
    mean: np.ndarray
    alpha: float
    beta0: np.ndarray
    pen_scale: float


def _prepare(X: np.ndarray, y: np.ndarray, base: np.ndarray, binary: bool) -> _Prepared:
    mean = X.mean(axis=0)
    Xc = X - mean
    alpha, _, _ = _fit_scale(Xc @ base, y, binary)
    if not np.isfinite(alpha) or alpha <= 0:
        # Today's composite does not predict the outcome at all: centre the prior on zero.
        alpha = 0.0
    return _Prepared(Xc, y, mean, alpha, alpha * base, _penalty_scale(Xc, y, binary))


def _path(p: _Prepared, lambdas: np.ndarray, binary: bool) -> np.ndarray:
    """Fits for every λ (largest first, warm-started); returns (len(lambdas), q) betas."""
    order = np.argsort(lambdas)[::-1]
    out = np.empty((len(lambdas), p.X.shape[1]))
    x0 = None
    for i in order:
        beta, b, _ = _fit_glm(
            p.X, p.y, binary, beta0=p.beta0, lam=float(lambdas[i]), pen_scale=p.pen_scale, x0=x0
        )
        out[i] = beta
        x0 = np.concatenate([[b], beta])
    return out


def _fold_job(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    base: np.ndarray,
    lambdas: np.ndarray,
    binary: bool,
) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        p = _prepare(X[train], y[train], base, binary)
        order = np.argsort(lambdas)[::-1]
        betas = np.empty((len(lambdas), X.shape[1]))
        icpts = np.empty(len(lambdas))
        x0 = None
        for i in order:
            beta, b, _ = _fit_glm(
                p.X, p.y, binary, beta0=p.beta0, lam=float(lambdas[i]), pen_scale=p.pen_scale, x0=x0
            )
            betas[i], icpts[i] = beta, b
            x0 = np.concatenate([[b], beta])
        Xt = X[test] - p.mean
        eta = Xt @ betas.T + icpts  # (n_test, n_lambda)
        yt = y[test].astype(float)[:, None]
        if binary:
            losses = (np.logaddexp(0.0, eta) - yt * eta).mean(axis=0)
        else:
            losses = 0.5 * ((eta - yt) ** 2).mean(axis=0)
        mle, b_mle, ll_mle = _fit_glm(p.X, p.y, binary, x0=x0)
    return {
        "losses": losses,
        "betas": betas,
        "alpha": p.alpha,
        "mle": (mle, b_mle, ll_mle),
    }


def _folds(
    y: np.ndarray, binary: bool, n_splits: int, n_repeats: int, random_state: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    if binary:
        strata = y.astype(int)
    else:
        ranks = pd.Series(y).rank(method="first").to_numpy()
        strata = np.minimum((ranks - 1) * n_splits // len(y), n_splits - 1).astype(int)
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return list(cv.split(np.zeros(len(y)), strata))


def _is_binary(y: np.ndarray, target_type: str) -> bool:
    if target_type == "binary":
        return True
    if target_type == "continuous":
        return False
    if target_type != "auto":
        raise DataError(f"target_type={target_type!r} is not one of 'auto', 'binary', 'continuous'")
    vals = np.unique(y[~np.isnan(y)])
    return len(vals) <= 2 and set(vals.tolist()) <= {0.0, 1.0}


def _single_blas(func: F) -> F:
    """Run ``func`` with BLAS limited to one thread: the matrices here are tall and skinny
    (n × ~10), where threaded BLAS only adds overhead and oversubscribes shared cores."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _run_parallel(func: Any, jobs: list[tuple[Any, ...]], n_jobs: int | None) -> list[Any]:
    if n_jobs in (None, 1) or len(jobs) <= 1:
        return [func(*args) for args in jobs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(func)(*args) for args in jobs)


def _has_binary_target(est: Any) -> bool:
    """``predict_proba`` exists before fit (to raise NotFittedError) and for binary targets."""
    if getattr(est, "binary_", True):
        return True
    raise AttributeError(
        "predict_proba needs a binary target; this WeightSuggester was fitted on a continuous "
        "one (use predict)"
    )


class WeightSuggester(BaseEstimator):
    """Regression of an outcome on question scores, shrunk toward today's weights.

    ``β = β₀ + δ`` with ``β₀ = α·baseline_weights`` (``α`` from a one-parameter fit of the
    baseline composite), an L2 penalty on ``δ`` only (scaled by the average per-observation
    Fisher information, so ``λ = 1`` is a prior as strong as the whole sample) and ``β ≥ 0``.
    Logistic for a binary target, linear (on the standardised outcome) for a continuous one.
    ``λ`` minimises the mean out-of-fold loss over repeated stratified K-fold CV
    (``lambda_rule="1se"`` takes the largest λ within one standard error instead).

    Parameters
    ----------
    baseline_weights : array-like of shape (n_questions,), optional
        Today's weights; ``None`` means unit weights.
    target_type : {"auto", "binary", "continuous"}
    lambdas : array-like, optional
        The λ grid (default ``geomspace(1e-4, 10, 21)``).
    cv_folds, cv_repeats : int
        Repeated stratified K-fold (continuous targets are stratified on quintiles).
    lambda_rule : {"min", "1se"}
    random_state : int or None
    n_jobs : int or None
        joblib workers for the CV folds (BLAS threads are limited to 1 inside each).

    Attributes
    ----------
    coef_ : ndarray
        β on the model's scale (logit, or outcome units, per score point).
    intercept_ : float
    weights_ : ndarray
        β expressed in baseline-weight units (``β/α``): a question whose ``weights_`` equals its
        baseline weight is as important as it is weighted today.
    alpha_ : float
        Scale of the baseline composite (outcome units per baseline weight unit).
    lambda_ : float
    lambda_path_ : DataFrame
        Index λ, one column per question: weights (baseline units) along the path.
    cv_results_ : DataFrame
        ``lambda``, ``mean_loss``, ``se_loss`` (out-of-fold mean deviance/2 or squared error/2).
    mle_ : ndarray
        The λ = 0 fit (non-negative maximum likelihood), in baseline units.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.integers(1, 6, size=(300, 2)).astype(float)
    >>> y = X @ [2.0, 1.0] + rng.normal(0, 1, 300)
    >>> est = WeightSuggester(baseline_weights=[1, 1], cv_repeats=1).fit(X, y)
    >>> round(float(est.weights_[0] / est.weights_[1]), 0)
    2.0
    """

    def __init__(
        self,
        baseline_weights: Sequence[float] | np.ndarray | None = None,
        *,
        target_type: str = "auto",
        lambdas: Sequence[float] | np.ndarray | None = None,
        cv_folds: int = 5,
        cv_repeats: int = 3,
        lambda_rule: str = "min",
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.baseline_weights = baseline_weights
        self.target_type = target_type
        self.lambdas = lambdas
        self.cv_folds = cv_folds
        self.cv_repeats = cv_repeats
        self.lambda_rule = lambda_rule
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -------------------------------------------------------------- helpers
    def _grid(self) -> np.ndarray:
        grid = np.geomspace(1e-4, 10.0, 21) if self.lambdas is None else self.lambdas
        grid = np.asarray(grid, dtype=float)
        if grid.ndim != 1 or len(grid) == 0 or np.any(grid < 0):
            raise DataError(f"lambdas must be a non-empty 1-D grid of values >= 0; got {grid!r}")
        return np.sort(grid)

    def _validate(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        try:  # sklearn's input checks (2-D, real, non-empty, n_features_in_); NaN is ours below
            Xa, ya = validate_data(
                self, X, y, dtype=np.float64, ensure_all_finite=False, y_numeric=True
            )
        except ValueError as exc:
            raise DataError(f"invalid X / y for WeightSuggester: {exc}") from None
        ya = np.asarray(ya, dtype=float).ravel()
        if not (np.isfinite(Xa).all() and np.isfinite(ya).all()):
            raise DataError("X and y must not contain NaN; drop incomplete interviews first")
        q = Xa.shape[1]
        base = (
            np.ones(q)
            if self.baseline_weights is None
            else np.asarray(self.baseline_weights, dtype=float).ravel()
        )
        if len(base) != q or np.any(base < 0) or not np.isfinite(base).all():
            raise DataError(
                f"baseline_weights must be {q} non-negative numbers; got {base.tolist()}"
            )
        if self.lambda_rule not in ("min", "1se"):
            raise DataError(f"lambda_rule={self.lambda_rule!r}; use 'min' or '1se'")
        return Xa, ya, base

    # -------------------------------------------------------------- fit
    @_single_blas
    def fit(self, X: Any, y: Any) -> WeightSuggester:
        """Fit the path, choose λ by repeated stratified CV and refit on all rows."""
        Xa, ya, base = self._validate(X, y)
        binary = _is_binary(ya, self.target_type)
        if binary:
            counts = np.bincount(ya.astype(int), minlength=2)
            if counts.min() < self.cv_folds:
                raise InsufficientDataError(
                    f"need at least {self.cv_folds} rows of each outcome class for "
                    f"{self.cv_folds}-fold CV; have {counts[1]} positive, {counts[0]} negative "
                    f"(n_samples={len(ya)})",
                    shortfalls={"events": (int(counts.min()), self.cv_folds)},
                )
            y_fit, y_sd, y_mean = ya, 1.0, 0.0
        else:
            y_mean, y_sd = float(ya.mean()), float(ya.std()) or 1.0
            y_fit = (ya - y_mean) / y_sd
        lambdas = self._grid()
        folds = _folds(y_fit, binary, self.cv_folds, self.cv_repeats, self.random_state)
        jobs = [(Xa, y_fit, tr, te, base, lambdas, binary) for tr, te in folds]
        fold_res = _run_parallel(_fold_job, jobs, self.n_jobs)
        losses = np.array([r["losses"] for r in fold_res])  # (n_folds, n_lambda)
        mean = losses.mean(axis=0)
        se = losses.std(axis=0, ddof=1) / math.sqrt(len(folds)) if len(folds) > 1 else 0 * mean
        best = int(np.argmin(mean))
        if self.lambda_rule == "1se":
            ok = np.flatnonzero(mean <= mean[best] + se[best])
            best = int(ok.max())
        self.lambda_ = float(lambdas[best])
        self.cv_results_ = pd.DataFrame({"lambda": lambdas, "mean_loss": mean, "se_loss": se})

        p = _prepare(Xa, y_fit, base, binary)
        betas = _path(p, lambdas, binary)
        beta, b, ll = _fit_glm(
            p.X, p.y, binary, beta0=p.beta0, lam=self.lambda_, pen_scale=p.pen_scale
        )
        mle, b_mle, ll_mle = _fit_glm(p.X, p.y, binary)
        unit = p.alpha if p.alpha > 0 else (beta.sum() / base.sum() if base.sum() else 1.0) or 1.0
        self.binary_ = binary
        self.alpha_ = float(p.alpha)
        self.coef_ = beta * y_sd
        self.intercept_ = float((b - beta @ p.mean) * y_sd + y_mean)
        self.weights_ = beta / unit
        self.mle_ = mle / unit
        self.loglik_ = ll
        self.loglik_mle_ = ll_mle
        self._mle_fit = (mle, b_mle, ll_mle)  # on the centred X (integer search)
        self._theta = np.concatenate([[b], beta])  # warm start for bootstrap refits
        self.lambdas_ = lambdas
        self.lambda_path_ = pd.DataFrame(betas / unit, index=pd.Index(lambdas, name="lambda"))
        # kept for suggest_weights, which reuses the same folds for its comparison
        self._folds = folds
        self._fold_results = fold_res
        self._best_index = best
        self._y_fit = y_fit
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Linear predictor (logit for binary targets, outcome units for continuous ones)."""
        check_is_fitted(self, "coef_")
        try:
            Xa = validate_data(self, X, dtype=np.float64, reset=False)
        except ValueError as exc:
            raise DataError(f"invalid X for WeightSuggester.predict: {exc}") from None
        return Xa @ self.coef_ + self.intercept_

    @available_if(_has_binary_target)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, 2)`` for a binary target (absent for continuous ones)."""
        p = special.expit(self.predict(X))
        return np.column_stack([1 - p, p])


# ============================================================================ integer weights
@dataclass
class IntegerChoice:
    """Outcome of :func:`integer_weights`."""

    weights: np.ndarray
    rule: str
    changes: int
    rounding_loss: float
    share_error: float
    lr_statistic: float
    lr_threshold: float
    accepted: bool
    kept: list[int] = field(default_factory=list)


def integer_weights(
    suggested: np.ndarray,
    current: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    binary: bool,
    *,
    mle: tuple[np.ndarray, float, float] | None = None,
    level: float = 0.95,
    max_checks: int = 400,
) -> IntegerChoice:
    """Integer weights 1–10 whose ratios best represent ``suggested``.

    Candidates:

    1. *ratio search* — for every scale factor ``k`` at which ``round(k·s)`` changes,
       ``clip(round(k·s), 1, 10)`` (the scales with ``round(k·max s) ≤ 10``);
    2. *keep-sets* — questions ``K`` keep today's weight exactly and the others get
       ``round(a_K·s)``, with ``a_K`` the least-squares scale that maps ``s`` onto today's weights
       over ``K``. A current float weight counts as "kept" only when it is an integer in 1–10
       (1.5 is not: there is no integer equal to it at today's scale; at scale 2 it would be 3,
       but then every other weight doubles and changes too). ``K`` starts with every keepable
       question and drops, one at a time, the question whose release lowers the rounding loss
       most; for each ``K`` every free question is tried rounded down and up (≤ 8 free ones).

    A candidate is *consistent with the data* when the likelihood-ratio statistic
    ``2·(ℓ_mle − ℓ(w))`` (``ℓ(w)`` refits only a scale and an intercept for the composite ``X·w``)
    is below the ``level`` quantile of χ² with ``q − 1`` degrees of freedom — i.e. ``w``'s
    ratios lie in the likelihood-ratio confidence region of the weight ratios. Among consistent
    candidates the one that changes the fewest live weights wins (change only what the data
    demands), then the smallest rounding loss; when none is consistent (among the first
    ``max_checks`` in that order), the smallest rounding loss over the ratio search. Rounding
    loss is ``1 − corr(X·w, X·s)``. Candidates whose Wald approximation of the statistic (from
    the Fisher information at the maximum-likelihood fit) exceeds ``2·threshold + 10`` are
    rejected without the exact refit, which keeps the search fast on 50,000 interviews.

    ``mle`` is ``(beta, intercept, loglik)`` of the non-negative maximum-likelihood fit on the
    column-centred ``X`` (computed when omitted).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(1, 6, size=(2000, 3)).astype(float)
    >>> y = (X @ [2.0, 2.0, 1.0] + rng.logistic(0, 1.5, 2000) > 12.5).astype(float)
    >>> choice = integer_weights(np.array([2.1, 1.9, 1.05]), np.array([2.0, 2.0, 3.0]), X, y, True)
    >>> choice.weights.tolist(), choice.changes
    ([2, 2, 1], 1)
    """
    s = np.clip(np.asarray(suggested, float), 0.0, None)
    cur = np.asarray(current, float)
    q = len(s)
    Xc = X - X.mean(axis=0)
    if s.max() <= 0:
        s = np.where(np.isfinite(cur), cur, 1.0)
    beta_hat, b_hat, loglik_mle = _fit_glm(Xc, y, binary) if mle is None else mle
    beta_hat = np.asarray(beta_hat, float)
    eta_hat = Xc @ beta_hat + b_hat
    if binary:
        p_hat = special.expit(eta_hat)
        info = (Xc * (p_hat * (1 - p_hat))[:, None]).T @ Xc
    else:
        info = Xc.T @ Xc / max(float(((y - eta_hat) ** 2).mean()), 1e-12)
    i_beta = info @ beta_hat
    b_i_b = float(beta_hat @ i_beta)
    threshold = float(stats.chi2.ppf(level, max(q - 1, 1)))
    screen = 2 * threshold + 10

    def wald(w: np.ndarray) -> float:
        wiw = float(w @ info @ w)
        return b_i_b - float(w @ i_beta) ** 2 / wiw if wiw > 0 else math.inf

    cov = Xc.T @ Xc / len(Xc)  # corr(X·w, X·s) from the q×q covariance: O(q²) per candidate
    cov_s = cov @ s
    var_s = float(s @ cov_s)

    def loss_of(w: np.ndarray) -> float:
        den = math.sqrt(max(float(w @ cov @ w) * var_s, 0.0))
        return 1.0 - float(w @ cov_s) / den if den else 1.0

    lr_cache: dict[tuple[int, ...], float] = {}

    def lr_stat(w: np.ndarray) -> float:
        key = tuple(int(v) for v in w)
        if key not in lr_cache:
            if wald(w) > screen:
                lr_cache[key] = math.inf
            else:
                _, _, ll = _fit_scale(Xc @ w, y, binary)
                lr_cache[key] = max(2 * (loglik_mle - ll), 0.0)
        return lr_cache[key]

    def changes(w: np.ndarray) -> int:
        return int(np.sum(~np.isclose(w, cur) | ~np.isfinite(cur)))

    # 1. ratio search over scale factors
    pool: dict[tuple[int, ...], tuple[np.ndarray, str, list[int]]] = {}
    pos = s[s > 0]
    breaks = np.unique(np.concatenate([(np.arange(0, MAX_WEIGHT + 1) + 0.5) / v for v in pos]))
    mids = np.concatenate([(breaks[:-1] + breaks[1:]) / 2, [breaks[-1] * 1.0001]])
    for k in mids:
        top = round(k * s.max())
        if top > MAX_WEIGHT or top < MIN_WEIGHT:
            continue
        w = np.clip(np.round(k * s), MIN_WEIGHT, MAX_WEIGHT)
        pool.setdefault(tuple(int(v) for v in w), (w, "ratio search", []))
    if not pool:
        w = np.clip(np.round(s / s.max() * MAX_WEIGHT), MIN_WEIGHT, MAX_WEIGHT)
        pool[tuple(int(v) for v in w)] = (w, "ratio search", [])

    # 2. keep-sets: greedy backward from every keepable question, releasing at each step the
    #    question whose release lowers the rounding loss most
    keepable = [
        i
        for i in range(q)
        if np.isfinite(cur[i]) and float(cur[i]).is_integer() and MIN_WEIGHT <= cur[i] <= MAX_WEIGHT
    ]

    def keep_candidate(K: list[int]) -> np.ndarray | None:
        sK = s[K]
        if not K or float(sK @ sK) == 0:
            return None
        a = float(cur[K] @ sK) / float(sK @ sK)
        w = np.clip(np.round(a * s), MIN_WEIGHT, MAX_WEIGHT)
        w[K] = cur[K]
        return w

    def neighbours(K: list[int]) -> list[np.ndarray]:
        """Kept questions fixed; each free one rounded down or up at the scale a_K."""
        sK = s[K]
        if not K or float(sK @ sK) == 0:
            return []
        a = float(cur[K] @ sK) / float(sK @ sK)
        free = [i for i in range(q) if i not in K]
        if len(free) > 8:
            return [w for w in [keep_candidate(K)] if w is not None]
        lo = np.clip(np.floor(a * s), MIN_WEIGHT, MAX_WEIGHT)
        hi = np.clip(np.ceil(a * s), MIN_WEIGHT, MAX_WEIGHT)
        out = []
        for bits in range(2 ** len(free)):
            w = np.array(cur, dtype=float)
            for j, i in enumerate(free):
                w[i] = hi[i] if (bits >> j) & 1 else lo[i]
            out.append(w)
        return out

    K = list(keepable)
    while K:
        for w in neighbours(K):
            pool.setdefault(tuple(int(v) for v in w), (w, "keep-set", list(K)))
        options = []
        for i in K:
            w2 = keep_candidate([j for j in K if j != i])
            options.append((loss_of(w2) if w2 is not None else math.inf, i))
        K = [j for j in K if j != min(options)[1]]

    cands = [(w, rule, kept, loss_of(w), changes(w)) for w, rule, kept in pool.values()]
    cands.sort(key=lambda c: (c[4], c[3]))
    chosen = None
    for c in cands[:max_checks]:  # fewest changes first, then the smallest rounding loss
        if lr_stat(c[0]) <= threshold:
            chosen = c
            break
    if chosen is None:
        chosen = min((c for c in cands if c[1] == "ratio search"), key=lambda c: (c[3], c[4]))
    w, rule, kept, loss, _ = chosen
    stat = lr_stat(w)
    if not math.isfinite(stat):
        _, _, ll = _fit_scale(Xc @ w, y, binary)
        stat = max(2 * (loglik_mle - ll), 0.0)
    w = w.astype(int)
    share_err = float(np.max(np.abs(w / w.sum() - s / s.sum())))
    return IntegerChoice(
        weights=w,
        rule=rule,
        changes=changes(w),
        rounding_loss=float(loss),
        share_error=share_err,
        lr_statistic=float(stat),
        lr_threshold=threshold,
        accepted=bool(stat <= threshold),
        kept=[int(i) for i in kept],
    )


# ============================================================================ out-of-sample comparison
METHODS_COMPARED = ("current", "unit", "suggested", "suggested_integer")


def _int_job(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    beta: np.ndarray,
    current: np.ndarray,
    binary: bool,
    mle: tuple[np.ndarray, float, float],
    level: float,
) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return integer_weights(
            beta, current, X[train], y[train], binary, mle=mle, level=level
        ).weights


def _boot_job(
    X: np.ndarray,
    y: np.ndarray,
    seeds: list[int],
    base: np.ndarray,
    lam: float,
    binary: bool,
    theta0: np.ndarray,
) -> np.ndarray:
    """Refit at ``lam`` on one stratified bootstrap draw per seed (warm-started at ``theta0``)."""
    from threadpoolctl import threadpool_limits

    out = []
    with threadpool_limits(1):
        for seed in seeds:
            idx = _draw_indices(y, binary, np.random.default_rng(seed))
            p = _prepare(X[idx], y[idx], base, binary)
            beta, _, _ = _fit_glm(
                p.X, p.y, binary, beta0=p.beta0, lam=lam, pen_scale=p.pen_scale, x0=theta0
            )
            out.append(beta)
    return np.array(out)


def _draw_indices(y: np.ndarray, binary: bool, rng: np.random.Generator) -> np.ndarray:
    """One bootstrap draw (stratified by class for a binary outcome)."""
    if not binary:
        return rng.integers(0, len(y), len(y))
    parts = []
    for cls in (0.0, 1.0):
        idx = np.flatnonzero(y == cls)
        parts.append(idx[rng.integers(0, len(idx), len(idx))])
    return np.concatenate(parts)


def _weighted_auc(levels: np.ndarray, n_levels: int, pos: np.ndarray, w: np.ndarray) -> float:
    """AUC (Mann–Whitney, ties count ½) with case weights ``w``; ``levels`` are score ranks."""
    wp = np.bincount(levels[pos], weights=w[pos], minlength=n_levels)
    wn = np.bincount(levels[~pos], weights=w[~pos], minlength=n_levels)
    below = np.cumsum(wn) - wn
    denom = wp.sum() * wn.sum()
    return float((wp @ (below + 0.5 * wn)) / denom) if denom else math.nan


def _weighted_r(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    sw = w.sum()
    mx, my = (w @ x) / sw, (w @ y) / sw
    dx, dy = x - mx, y - my
    den = math.sqrt(float((w @ (dx * dx)) * (w @ (dy * dy))))
    return float((w @ (dx * dy)) / den) if den else math.nan


def _compare(
    oof: np.ndarray,
    y: np.ndarray,
    binary: bool,
    n_boot: int,
    rng: np.random.Generator,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metric per method (mean over CV repeats of the pooled out-of-fold metric) with paired
    bootstrap CIs over candidates. ``oof`` has shape (n_repeats, n_methods, n)."""
    n_rep, n_meth, n = oof.shape
    pos = y == 1
    if binary:
        lv = [
            [np.unique(oof[r, m], return_inverse=True) for m in range(n_meth)] for r in range(n_rep)
        ]

        def metric(r: int, m: int, w: np.ndarray) -> float:
            u, inv = lv[r][m]
            return _weighted_auc(inv, len(u), pos, w)
    else:

        def metric(r: int, m: int, w: np.ndarray) -> float:
            return _weighted_r(oof[r, m], y, w)

    ones = np.ones(n)
    point = np.array([[metric(r, m, ones) for m in range(n_meth)] for r in range(n_rep)]).mean(0)
    boots = np.empty((n_boot, n_meth))
    for b in range(n_boot):
        w = np.bincount(_draw_indices(y, binary, rng), minlength=n).astype(float)
        boots[b] = np.array([[metric(r, m, w) for m in range(n_meth)] for r in range(n_rep)]).mean(
            0
        )
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    name = "auc" if binary else "r"
    comp = pd.DataFrame(
        {
            name: point,
            "ci_low": np.nanquantile(boots, lo_q, axis=0),
            "ci_high": np.nanquantile(boots, hi_q, axis=0),
        },
        index=pd.Index(list(METHODS_COMPARED), name="weights"),
    )
    pairs = [
        ("suggested_integer", "current"),
        ("suggested_integer", "unit"),
        ("suggested", "current"),
        ("suggested", "unit"),
        ("suggested", "suggested_integer"),
    ]
    rows = []
    idx = {m: i for i, m in enumerate(METHODS_COMPARED)}
    for a, b in pairs:
        d = boots[:, idx[a]] - boots[:, idx[b]]
        rows.append(
            {
                "comparison": f"{a} - {b}",
                "difference": point[idx[a]] - point[idx[b]],
                "ci_low": float(np.nanquantile(d, lo_q)),
                "ci_high": float(np.nanquantile(d, hi_q)),
            }
        )
    return comp, pd.DataFrame(rows).set_index("comparison")


# ============================================================================ result object
_FRAME_FIELDS = (
    "table",
    "comparison",
    "differences",
    "lambda_path",
    "cv_results",
    "fairness",
    "range_restriction",
)
#: The plain (JSON-able) fields, in the order to_json writes them.
_SCALAR_FIELDS = (
    "title",
    "notes",
    "recommendation",
    "baseline",
    "join_report",
    "target",
    "target_type",
    "metric",
    "lambda_",
    "rounding",
    "n",
    "n_events",
    "settings",
)


def _frame_to_obj(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    flat = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    index_cols = [c for c in flat.columns if c not in df.columns]
    data = []
    for row in flat.itertuples(index=False, name=None):
        data.append([_jsonable(v) for v in row])
    return {
        "columns": [str(c) for c in flat.columns],
        "index": index_cols,
        "dtypes": {str(c): str(flat[c].dtype) for c in flat.columns},
        "data": data,
    }


def _frame_from_obj(obj: dict[str, Any] | None) -> pd.DataFrame | None:
    if obj is None:
        return None
    df = pd.DataFrame(obj["data"], columns=obj["columns"])
    for col, dtype in obj["dtypes"].items():
        try:
            if dtype.startswith("datetime64"):
                df[col] = pd.to_datetime(df[col], utc=True)
            elif dtype in ("str", "string", "object"):
                df[col] = df[col].astype("str") if df[col].notna().all() else df[col]
            else:
                df[col] = df[col].astype(dtype)
        except (TypeError, ValueError):
            pass
    if obj.get("index"):
        df = df.set_index(obj["index"])
    return df


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    return v


@dataclass(repr=False)
class WeightSuggestion(Result):
    """Suggested question weights for one posting, with the evidence behind them.

    Attributes
    ----------
    table : DataFrame
        One row per scored question: ``question_id``, ``text``, ``rank`` (its place in the
        interview), ``current_weight``,
        ``suggested_weight`` (continuous, on the scale of ``suggested_integer``),
        ``suggested_integer`` (what a push writes), ``importance`` (Johnson's relative weight,
        % of R²), ``ci_low``/``ci_high`` (bootstrap CI of ``suggested_weight``), ``change``
        (``suggested_integer − current_weight``), ``mle_weight`` (the unshrunk fit, same scale).
    comparison : DataFrame
        Index ``current``, ``unit``, ``suggested``, ``suggested_integer``; the metric column
        (``auc`` for a binary target, ``r`` for a continuous one), ``ci_low``, ``ci_high``.
    differences : DataFrame
        Paired differences (e.g. ``suggested_integer - current``) with bootstrap CIs.
    recommendation : str
        ``"change"`` or ``"keep"``.
    baseline : dict
        What the suggestion was computed against: ``posting_id``, ``question_ids`` (every scored
        question), ``weights``, ``updated_at``, ``data_hash``, ``score_scale``, ``created_at``.
    join_report : dict
        How the outcomes joined to the interviews.
    lambda_, lambda_path, cv_results
        The chosen penalty, the weights along the λ path (long: ``lambda``, ``question_id``,
        ``weight``, on the ``suggested_weight`` scale) and the CV curve.
    rounding : dict
        The integer search: ``rule``, ``rounding_loss`` (1 − corr of composites), ``share_error``,
        ``lr_statistic``, ``lr_threshold``, ``consistent``.
    fairness : DataFrame or None
        Impact ratios for current vs suggested weights at the operating cut, with ``flag``.
    range_restriction : DataFrame or None
        Thorndike Case II sensitivity for a performance-type target.

    Examples
    --------
    >>> s = WeightSuggestion.from_json(WeightSuggestion(table=pd.DataFrame({"a": [1]})).to_json())
    >>> s.recommendation
    'keep'
    """

    title: str = "Suggested question weights"
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendation: str = "keep"
    baseline: dict[str, Any] = field(default_factory=dict)
    join_report: dict[str, Any] = field(default_factory=dict)
    target: str = "hired"
    target_type: str = "binary"
    metric: str = "auc"
    lambda_: float = math.nan
    lambda_path: pd.DataFrame = field(default_factory=pd.DataFrame)
    cv_results: pd.DataFrame = field(default_factory=pd.DataFrame)
    rounding: dict[str, Any] = field(default_factory=dict)
    fairness: pd.DataFrame | None = None
    range_restriction: pd.DataFrame | None = None
    n: int = 0
    n_events: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    @property
    def posting_id(self) -> str | None:
        """The posting the suggestion is for."""
        return self.baseline.get("posting_id")

    @property
    def changes(self) -> pd.DataFrame:
        """Rows of :attr:`table` whose integer weight differs from today's weight."""
        t = self.table
        if t.empty or "change" not in t:
            return t
        return t[t["change"].fillna(1) != 0].reset_index(drop=True)

    def plot(self) -> Any:
        """Old vs new weights with CIs, the λ path and the CV comparison (plotly Figure)."""
        from .plots import weight_suggestion_figure

        return weight_suggestion_figure(self)

    # ------------------------------------------------------------------ JSON
    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """Serialise to JSON (and write it to ``path`` when given); see :meth:`from_json`."""
        obj: dict[str, Any] = {"format": "milo_analytics.WeightSuggestion/1"}
        for name in _FRAME_FIELDS:
            obj[name] = _frame_to_obj(getattr(self, name))
        for name in _SCALAR_FIELDS:
            obj[name] = _jsonable(getattr(self, name))
        text = json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")  # a file ends with a newline
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> WeightSuggestion:
        """Read what :meth:`to_json` wrote (a JSON string or a file path)."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            p = Path(source)
            if not p.exists():
                raise DataError(f"{source} is neither suggestion JSON nor an existing file")
            text = p.read_text(encoding="utf-8")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not a suggestion JSON file: {exc}") from None
        if not str(obj.get("format", "")).startswith("milo_analytics.WeightSuggestion/"):
            raise DataError(
                "not a WeightSuggestion JSON document (missing 'format'); write one with "
                "suggest_weights(...).to_json(path) or `milo-analytics suggest-weights -o`"
            )
        kw: dict[str, Any] = {}
        for name in _FRAME_FIELDS:
            kw[name] = _frame_from_obj(obj.get(name))
            if kw[name] is None and name not in ("fairness", "range_restriction"):
                kw[name] = pd.DataFrame()
        for name in _SCALAR_FIELDS:
            if name in obj:
                kw[name] = obj[name]
        kw["lambda_"] = math.nan if obj.get("lambda_") is None else float(obj["lambda_"])
        return cls(**kw)

    # ------------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#D55E00" if self.recommendation == "change" else "#009E73"
        head = (
            f"<div class='milo-result'><h4>{esc(self.title)} — posting "
            f"{esc(str(self.posting_id))}</h4><p><strong style='color:{colour}'>"
            f"Recommendation: {esc(self.recommendation)}</strong> (target "
            f"{esc(self.target)}, n={self.n:,}, λ={self.lambda_:.3g})</p>"
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        parts = [head, f"<ul>{notes}</ul>" if notes else "", frame_to_html(self.table)]
        parts.append("<h5>Out-of-sample comparison (same folds)</h5>")
        parts.append(frame_to_html(self.comparison))
        if not self.differences.empty:
            parts.append(frame_to_html(self.differences))
        if self.fairness is not None and not self.fairness.empty:
            parts.append("<h5>Impact ratios: current vs suggested weights</h5>")
            parts.append(frame_to_html(self.fairness))
        if self.range_restriction is not None and not self.range_restriction.empty:
            parts.append("<h5>Range restriction (Thorndike Case II, sensitivity only)</h5>")
            parts.append(frame_to_html(self.range_restriction))
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        return (
            f"WeightSuggestion(posting={self.posting_id!r}, target={self.target!r}, "
            f"recommendation={self.recommendation!r}, questions={len(self.table)}, n={self.n})"
        )


# ============================================================================ suggest_weights
def _pick_posting(data: Any, posting_id: str | None) -> str:
    with_scores = sorted(set(data.scores["posting_id"].dropna().tolist()))
    if posting_id is not None:
        if posting_id not in with_scores:
            raise DataError(
                f"posting {posting_id!r} has no scored interviews in this data; postings with "
                f"scores: {with_scores}"
            )
        return posting_id
    if len(with_scores) == 1:
        return with_scores[0]
    if not with_scores:
        raise DataError("the data has no scored interviews; load a posting with completed ones")
    raise DataError(
        f"the data holds several postings {with_scores}; pass posting_id= to choose one "
        "(weights are set per posting)"
    )


def _outcome_frame(outcomes: Any, data: Any, key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(outcomes, pd.DataFrame) and "interview_id" in outcomes.columns:
        frame = outcomes
        raw = [
            c
            for c in ("hired", "performance", "retention")
            if c in frame.columns
            and not (
                pd.api.types.is_bool_dtype(frame[c].dtype)
                or pd.api.types.is_numeric_dtype(frame[c].dtype)
            )
        ]
        if raw:  # an unparsed export that already carries interview_id: parse it forgivingly
            from .outcomes import read_outcomes

            frame = read_outcomes(outcomes, key="interview_id", data=data)
    else:
        from .outcomes import read_outcomes

        frame = read_outcomes(outcomes, key=key, data=data)
    if "interview_id" not in frame.columns:
        raise DataError(
            f"the outcomes could not be joined to interviews (no interview_id); columns found: "
            f"{[str(c) for c in frame.columns]}; pass key= naming the key column"
        )
    report = dict(frame.attrs.get("join_report") or {})
    return frame, report


def _target_vector(frame: pd.DataFrame, target: str) -> pd.Series:
    from .outcomes import require_outcome

    if target not in frame.columns:
        raise DataError(
            f"target={target!r} is not a column of the outcomes; columns found: "
            f"{[str(c) for c in frame.columns]}"
        )
    require_outcome(frame, target)  # read_outcomes' all-missing 'hired' of a file without one
    col = frame[target]
    if pd.api.types.is_bool_dtype(col.dtype):
        col = col.astype("Float64")
    vals = pd.to_numeric(col, errors="coerce").astype("float64")
    return pd.Series(vals.to_numpy(), index=frame["interview_id"].astype("str").to_numpy())


def _data_hash(ids: np.ndarray, X: np.ndarray, y: np.ndarray, qids: list[str]) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(qids).encode())
    h.update("\x1f".join(map(str, ids)).encode())
    h.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y, dtype="<f8").tobytes())
    return "sha256:" + h.hexdigest()


def _thorndike(
    X_out: np.ndarray, y: np.ndarray, X_all: np.ndarray, qids: list[str]
) -> pd.DataFrame:
    """Thorndike Case II: R = (r·S/s)/√(1 − r² + r²·S²/s²), S = applicant SD, s = restricted SD."""
    rows = []
    for j, qid in enumerate(qids):
        x = X_out[:, j]
        s, S = float(x.std(ddof=1)), float(X_all[:, j].std(ddof=1))
        r = float(np.corrcoef(x, y)[0, 1]) if s > 0 and y.std() > 0 else math.nan
        u = S / s if s > 0 else math.nan
        corrected = (
            (r * u) / math.sqrt(1 - r**2 + r**2 * u**2) if math.isfinite(r * u) else math.nan
        )
        rows.append(
            {
                "question_id": qid,
                "r": r,
                "sd_applicants": S,
                "sd_restricted": s,
                "r_corrected": corrected,
            }
        )
    return pd.DataFrame(rows)


def _fairness(
    X_all: pd.DataFrame,
    current: np.ndarray,
    suggested: np.ndarray,
    demographics: Any,
    data: Any,
    key: str,
    cut: float | None,
    scale: int,
    drop_tolerance: float,
) -> tuple[pd.DataFrame, list[str]]:
    from .analysis.fairness import impact_ratios
    from .analysis.weights import FORMULAS

    if isinstance(demographics, pd.DataFrame) and "interview_id" in demographics.columns:
        demo = demographics
    else:
        from .outcomes import read_demographics

        demo = read_demographics(demographics, key=key, data=data)
    dims = [c for c in ("sex", "race_ethnicity") if c in demo.columns]
    if not dims:
        raise DataError(
            f"demographics need a 'sex' or 'race_ethnicity' column; found {list(demo.columns)}"
        )
    demo = demo.drop_duplicates("interview_id").set_index(demo["interview_id"].astype("str"))
    frame = pd.DataFrame(index=X_all.index)
    Xv = X_all.to_numpy(dtype=float)
    overall = FORMULAS["proportional"]  # the score model's formula, written once in analysis
    for name, w in (("current", current), ("suggested", suggested)):
        w_rows = np.broadcast_to(np.asarray(w, dtype=float), Xv.shape)
        frame[f"score_{name}"] = overall(Xv, w_rows, scale)
        if cut is not None:
            frame[f"sel_{name}"] = frame[f"score_{name}"] >= cut
    for d in dims:
        frame[d] = demo[d].reindex(frame.index).to_numpy()
    frame = frame.reset_index(drop=True)
    rows = []
    for d in dims:
        out = {}
        for name in ("current", "suggested"):
            kw = {"selected": f"sel_{name}"} if cut is not None else {"score": f"score_{name}"}
            out[name] = impact_ratios(frame, by=d, exclude_below=0.02, **kw).set_index(d)
        joined = pd.merge(
            out["current"][["n", "rate", "impact_ratio", "excluded"]],
            out["suggested"][["rate", "impact_ratio", "p_value"]],
            left_index=True,
            right_index=True,
            how="left",
            suffixes=("_current", "_suggested"),
        )
        for cat, r in joined.iterrows():
            ir_c, ir_s = r["impact_ratio_current"], r["impact_ratio_suggested"]
            excluded = bool(r["excluded"]) if pd.notna(r["excluded"]) else False
            flags = []
            if not excluded and pd.notna(ir_s) and ir_s < 0.8 - 1e-9:
                flags.append("below 0.8")
            if not excluded and pd.notna(ir_s) and pd.notna(ir_c) and ir_s < ir_c - drop_tolerance:
                flags.append(f"drops by {ir_c - ir_s:.2f}")
            rows.append(
                {
                    "dimension": d,
                    "category": str(cat),
                    "n": int(r["n"]),
                    "excluded": excluded,
                    "rate_current": float(r["rate_current"]),
                    "impact_ratio_current": float(ir_c) if pd.notna(ir_c) else math.nan,
                    "rate_suggested": float(r["rate_suggested"]),
                    "impact_ratio_suggested": float(ir_s) if pd.notna(ir_s) else math.nan,
                    "p_value_suggested": float(r["p_value"])
                    if pd.notna(r["p_value"])
                    else math.nan,
                    "flag": "; ".join(flags),
                }
            )
    fair = pd.DataFrame(rows)
    if not fair.empty:
        fair["category"] = fair["category"].astype("str")
        fair["flag"] = fair["flag"].astype("str")
        fair["dimension"] = fair["dimension"].astype("str")
    how = (
        f"selected = composite ≥ {cut:g} (0–100)"
        if cut is not None
        else "positive = composite strictly above the median (scoring rate, LL144)"
    )
    notes = [
        f"Impact ratios on {len(frame):,} scored interviews; {how}; categories under 2% of "
        "the data are listed but excluded from the ratios and flags."
    ]
    flagged = fair[fair["flag"] != ""] if not fair.empty else fair
    if len(flagged):
        notes.append(
            "Fairness flags under the suggested weights: "
            + "; ".join(f"{r.dimension}={r.category}: {r.flag}" for r in flagged.itertuples())
        )
    return fair, notes


@_single_blas
def suggest_weights(
    data: Any,
    outcomes: pd.DataFrame | str | Path,
    *,
    target: str = "hired",
    demographics: pd.DataFrame | str | Path | None = None,
    posting_id: str | None = None,
    cut: float | None = None,
    key: str = "email",
    n_boot: int = 200,
    cv_folds: int = 5,
    cv_repeats: int = 3,
    lambdas: Sequence[float] | None = None,
    lambda_rule: str = "min",
    events_per_question: int = 10,
    min_n: int = 100,
    level: float = 0.95,
    range_restriction: bool = True,
    fairness_drop: float = 0.05,
    random_state: int = 0,
    n_jobs: int | None = None,
) -> WeightSuggestion:
    """Suggest integer question weights for one posting from outcomes (METHODS.md §5).

    Parameters
    ----------
    data : InterviewData
        Loaded interviews; ``questions.score_weight`` is taken as today's weight.
    outcomes
        A frame with ``interview_id`` and the target column (as :func:`read_outcomes` returns),
        or anything :func:`read_outcomes` reads (joined to ``data`` by ``key``).
    target
        ``"hired"`` (binary) or a continuous column such as ``"performance"``.
    demographics
        Optional; with it, impact ratios at the operating ``cut`` (0–100 composite; the median
        split when ``None``) for current vs suggested weights, flagged below 0.8 or when a
        group's ratio drops by more than ``fairness_drop``.
    posting_id
        Required when ``data`` holds several postings.
    n_boot
        Bootstrap resamples for the weight CIs and for the comparison CIs.
    cv_folds, cv_repeats, lambdas, lambda_rule
        Passed to :class:`WeightSuggester`; the comparison uses the same folds.
    events_per_question, min_n
        The sample-size gate: at least ``events_per_question`` events (the rarer outcome class)
        per question (Peduzzi et al. 1996) — for a continuous target, observations per question
        — and ``min_n`` outcomes in total (Riley et al. 2019 ask for more in general).
    level
        Confidence level of every interval and of the integer search's consistency region.
    range_restriction
        For a continuous target measured on a subset (e.g. performance of hires), add the
        Thorndike Case II sensitivity table.
    random_state, n_jobs
        Seed and joblib workers (BLAS threads are limited to 1 inside CV/bootstrap workers).

    Returns
    -------
    WeightSuggestion

    Raises
    ------
    InsufficientDataError
        Below the sample-size gate; ``.shortfalls`` holds ``(have, need)`` per criterion.
    DataError
        No joinable outcomes, an unknown target, several postings without ``posting_id``.

    Notes
    -----
    *Integer weights.* The API writes whole numbers 1–10 and only ratios matter, so
    :func:`integer_weights` looks for the integer vector that changes the fewest live weights
    among those whose ratios the data cannot reject (likelihood-ratio region, ``level``), and
    otherwise the one closest in ratio. A question that is as important as weighted therefore
    keeps its live weight and a push leaves it alone. Today's float weights (a guide's 1.5)
    count as "kept" only when an integer equals them at today's scale — 1.5 never does; at
    scale 2 it would be 3, but every other weight would double and change with it — so such a
    question is always rewritten, to the integer its suggested ratio rounds to.

    *Recommendation.* ``"change"`` only when the integer weights (what a push writes) beat both
    today's and unit weights out of sample: the lower bound of the paired bootstrap CI of each
    difference (same folds, same candidates) is above 0. Otherwise ``"keep"``, and always
    ``"keep"`` when the integer weights equal today's.

    Examples
    --------
    >>> from milo_analytics.sandbox import load_demo_world  # doctest: +SKIP
    >>> s = suggest_weights(data, outcomes, target="hired")  # doctest: +SKIP
    >>> s.recommendation, s.table[["question_id", "suggested_integer"]]  # doctest: +SKIP
    """
    from threadpoolctl import threadpool_limits

    pid = _pick_posting(data, posting_id)
    notes: list[str] = []
    q_frame = data.questions
    q_frame = q_frame[(q_frame["posting_id"] == pid) & ~q_frame["not_scored"].astype(bool)]
    q_frame = q_frame[q_frame["score_weight"].notna()].sort_values("rank", kind="stable")
    wide = data.score_matrix(pid)
    qids = [q for q in q_frame["question_id"].tolist() if q in wide.columns]
    missing = [q for q in q_frame["question_id"].tolist() if q not in wide.columns]
    if missing:
        notes.append(f"Scored questions without any scores were left out: {missing}.")
    if len(qids) < 2:
        raise DataError(
            f"posting {pid!r} has {len(qids)} scored question(s) with scores; weights need ≥ 2"
        )
    q_frame = q_frame.set_index("question_id").loc[qids]
    current = q_frame["score_weight"].astype("float64").to_numpy()
    X_all = wide[qids]
    complete = X_all.notna().all(axis=1)
    if (~complete).any():
        notes.append(
            f"{int((~complete).sum()):,} interviews with an unanswered scored question "
            "were left out (listwise)."
        )
    X_all = X_all[complete]

    out_frame, join_report = _outcome_frame(outcomes, data, key)
    yser = _target_vector(out_frame, target)
    yser = yser[~yser.index.duplicated(keep="first")].dropna()
    ids = X_all.index.intersection(yser.index)
    Xdf = X_all.loc[ids]
    X = Xdf.to_numpy(dtype=float)
    y = yser.loc[ids].to_numpy(dtype=float)
    if len(y) == 0:
        raise DataError(
            f"no outcome row with a {target!r} value matched a scored interview of posting "
            f"{pid!r} ({len(out_frame):,} outcome rows, {len(X_all):,} scored interviews). Check "
            f"the join key (key=, now {key!r}) and the join report: "
            f"{ {k: join_report.get(k) for k in ('matched', 'unmatched', 'no_key')} }"
        )
    binary = _is_binary(y, "auto")
    q = len(qids)

    # ---- sample-size gate
    shortfalls: dict[str, tuple[int, int]] = {}
    need_events = events_per_question * q
    if binary:
        n_pos = int(y.sum())
        events = min(n_pos, len(y) - n_pos)
        if events < need_events:
            shortfalls["events"] = (events, need_events)
    else:
        events = len(y)
        if events < need_events:
            shortfalls["observations"] = (events, need_events)
    if len(y) < min_n:
        shortfalls["n"] = (len(y), min_n)
    if shortfalls:
        what = ", ".join(f"{k}: have {h:,}, need {nd:,}" for k, (h, nd) in shortfalls.items())
        kind = "events (the rarer of hired / not hired)" if binary else "observations"
        raise InsufficientDataError(
            f"too few outcomes to suggest weights for posting {pid!r} ({q} questions, "
            f"{len(y):,} interviews with a {target!r} outcome): {what}. At least "
            f"{events_per_question} {kind} per question are needed (Peduzzi et al. 1996). "
            "Collect more outcomes, or look at question importance only "
            "(milo_analytics.analysis.relative_weights).",
            shortfalls=shortfalls,
        )

    rng = np.random.default_rng(random_state)
    est = WeightSuggester(
        baseline_weights=current,
        target_type="binary" if binary else "continuous",
        lambdas=lambdas,
        cv_folds=cv_folds,
        cv_repeats=cv_repeats,
        lambda_rule=lambda_rule,
        random_state=random_state,
        n_jobs=n_jobs,
    ).fit(X, y)
    y_fit = est._y_fit
    best = est._best_index

    # ---- integer weights on all data
    choice = integer_weights(est.weights_, current, X, y_fit, binary, mle=est._mle_fit, level=level)
    w_int = choice.weights.astype(float)
    s = est.weights_
    scale = float(w_int @ s) / float(s @ s) if float(s @ s) > 0 else 1.0

    # ---- bootstrap CIs of the weights (as shares, then on the integer scale)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    if n_boot > 0:
        seeds = rng.integers(0, 2**63 - 1, size=n_boot).tolist()
        n_chunks = max(1, min(n_boot, 2 * (n_jobs or 1)))
        chunks = [seeds[i::n_chunks] for i in range(n_chunks)]
        res = _run_parallel(
            _boot_job,
            [(X, y_fit, ch, current, est.lambda_, binary, est._theta) for ch in chunks],
            n_jobs,
        )
        betas = np.vstack(res)
        tot = betas.sum(axis=1, keepdims=True)
        shares = np.where(tot > 0, betas / np.where(tot > 0, tot, 1), np.nan)
        total = scale * s.sum()
        ci_low = np.nanquantile(shares, lo_q, axis=0) * total
        ci_high = np.nanquantile(shares, hi_q, axis=0) * total
    else:
        ci_low = ci_high = np.full(q, np.nan)

    # ---- out-of-sample comparison on the same folds
    folds, fres = est._folds, est._fold_results
    jobs = [
        (X, y_fit, tr, fr["betas"][best], current, binary, fr["mle"], level)
        for (tr, _), fr in zip(folds, fres, strict=True)
    ]
    fold_ints = _run_parallel(_int_job, jobs, n_jobs)
    oof = np.empty((cv_repeats, 4, len(y)))
    unit = np.ones(q)
    for f, ((_, te), fr) in enumerate(zip(folds, fres, strict=True)):
        r = f // cv_folds
        Xt = X[te]
        for m, w in enumerate((current, unit, fr["betas"][best], fold_ints[f])):
            w = np.asarray(w, float)
            oof[r, m, te] = Xt @ w / (w.sum() or 1.0)
    with threadpool_limits(1):
        comparison, differences = _compare(
            oof, y, binary, n_boot if n_boot > 0 else 200, rng, level
        )
    metric = "auc" if binary else "r"

    # ---- recommendation
    d_cur = differences.loc["suggested_integer - current"]
    d_unit = differences.loc["suggested_integer - unit"]
    n_changes = int(np.sum(~np.isclose(w_int, current)))
    if n_changes == 0:
        recommendation = "keep"
        why = "the integer suggestion equals today's weights"
    elif d_cur["ci_low"] > 0 and d_unit["ci_low"] > 0:
        recommendation = "change"
        why = (
            f"the integer weights beat current weights by {d_cur['difference']:+.3f} "
            f"{metric} ({level:.0%} CI {d_cur['ci_low']:+.3f} to {d_cur['ci_high']:+.3f}) "
            f"and unit weights by {d_unit['difference']:+.3f} (CI {d_unit['ci_low']:+.3f} "
            f"to {d_unit['ci_high']:+.3f}) on held-out candidates"
        )
    else:
        recommendation = "keep"
        why = (
            f"the integer weights do not beat both current and unit weights beyond the noise "
            f"(vs current {d_cur['difference']:+.3f}, CI {d_cur['ci_low']:+.3f} to "
            f"{d_cur['ci_high']:+.3f}; vs unit {d_unit['difference']:+.3f}, CI "
            f"{d_unit['ci_low']:+.3f} to {d_unit['ci_high']:+.3f})"
        )
    notes.insert(0, f"Recommendation: {recommendation} — {why}.")
    if target == "hired":
        notes.append(HIRED_CAVEAT)
    notes.append(PAST_SCORES_NOTE)
    notes.append(
        f"Fit: {'logistic' if binary else 'linear'} regression shrunk toward today's weights "
        f"(L2 on the change, weights ≥ 0), λ={est.lambda_:.3g} by {cv_repeats}×{cv_folds}-fold "
        f"stratified CV ({lambda_rule} rule); the comparison reuses those folds, so the "
        "'suggested' rows carry the small optimism of choosing λ on them."
    )
    notes.append(
        f"Integer weights by {choice.rule}: {choice.changes} of {q} weights change; rounding "
        f"loss 1−corr(composites) = {choice.rounding_loss:.4f}; largest share error "
        f"{choice.share_error:.3f}; likelihood-ratio statistic {choice.lr_statistic:.2f} vs "
        f"{choice.lr_threshold:.2f} ({'inside' if choice.accepted else 'OUTSIDE'} the "
        f"{level:.0%} region of the weight ratios)."
    )
    if est.alpha_ <= 0:
        notes.append(
            "Today's composite does not predict the outcome (slope ≤ 0); the prior "
            "was centred on zero weights instead of today's weights."
        )
    if (w_int == MIN_WEIGHT).any() and (s * scale < 0.5).any():
        low = [qids[i] for i in np.flatnonzero(s * scale < 0.5)]
        notes.append(
            f"Questions {low} carry almost no weight; the API's minimum is 1 — consider "
            "making them not_scored."
        )

    # ---- importance (Johnson's relative weights)
    importance = np.full(q, np.nan)
    try:
        from .analysis.importance import relative_weights

        with threadpool_limits(1):
            rw = relative_weights(pd.DataFrame(X, columns=qids), y)
        importance = rw["rescaled_weight"].reindex(qids).to_numpy(dtype=float)
    except Exception as exc:  # importance is context, never a reason to fail
        notes.append(f"Relative-weight importance unavailable: {exc}")

    texts = (
        q_frame["text"].astype("str").to_numpy()
        if "text" in q_frame
        else np.array([""] * q, dtype=object)
    )
    table = pd.DataFrame(
        {
            "question_id": pd.array(qids, dtype="str"),
            "text": pd.array(texts, dtype="str"),
            "rank": pd.to_numeric(q_frame["rank"], errors="coerce").to_numpy(dtype="float64")
            if "rank" in q_frame
            else np.arange(1.0, q + 1),
            "current_weight": current,
            "suggested_weight": s * scale,
            "suggested_integer": w_int.astype("int64"),
            "importance": importance,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "change": w_int - current,
            "mle_weight": est.mle_ * scale,
        }
    )
    path = est.lambda_path_ * scale
    path.columns = qids
    lambda_path = path.reset_index().melt(
        id_vars="lambda", var_name="question_id", value_name="weight"
    )
    lambda_path["question_id"] = lambda_path["question_id"].astype("str")

    # ---- range restriction and fairness
    rr = None
    if not binary and range_restriction and len(X_all) > len(ids):
        rr = _thorndike(X, y, X_all.to_numpy(dtype=float), qids)
        notes.append(
            f"Range restriction: {target!r} exists for {len(ids):,} of {len(X_all):,} scored "
            "interviews; r_corrected (Thorndike Case II) is a sensitivity column only — "
            "corrections often overstate validity (Sackett et al. 2022)."
        )
    fair = None
    scale_max = int(data.score_scale or 5)
    if demographics is not None:
        fair, fair_notes = _fairness(
            X_all, current, w_int, demographics, data, key, cut, scale_max, fairness_drop
        )
        notes.extend(fair_notes)

    upd = q_frame["updated_at"] if "updated_at" in q_frame else pd.Series(pd.NaT, index=qids)
    baseline = {
        "posting_id": pid,
        "question_ids": qids,
        "weights": {qid: float(w) for qid, w in zip(qids, current, strict=True)},
        "updated_at": {
            qid: (None if pd.isna(t) else pd.Timestamp(t).isoformat()) for qid, t in upd.items()
        },
        "data_hash": _data_hash(ids.to_numpy(), X, y, qids),
        "score_scale": scale_max,
        "n": len(y),
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return WeightSuggestion(
        table=table,
        notes=notes,
        comparison=comparison,
        differences=differences,
        recommendation=recommendation,
        baseline=baseline,
        join_report=_jsonable(join_report),
        target=target,
        target_type="binary" if binary else "continuous",
        metric=metric,
        lambda_=est.lambda_,
        lambda_path=lambda_path,
        cv_results=est.cv_results_,
        rounding={
            "rule": choice.rule,
            "changes": choice.changes,
            "rounding_loss": choice.rounding_loss,
            "share_error": choice.share_error,
            "lr_statistic": choice.lr_statistic,
            "lr_threshold": choice.lr_threshold,
            "consistent": choice.accepted,
            "scale": scale,
        },
        fairness=fair,
        range_restriction=rr,
        n=len(y),
        n_events=int(events) if binary else None,
        settings={
            "cv_folds": cv_folds,
            "cv_repeats": cv_repeats,
            "n_boot": n_boot,
            "lambda_rule": lambda_rule,
            "level": level,
            "random_state": random_state,
            "cut": cut,
            "key": key,
        },
    )
