"""The estimator: a penalised regression shrunk toward today's weights, its λ path and
the cross-validation folds (METHODS.md §5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.base import BaseEstimator
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ..analysis.resample import one_blas_thread, single_blas
from ..errors import DataError, InsufficientDataError


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
    lower = np.full(q + 1, -np.inf)
    if nonneg:
        lower[1:] = 0.0
    theta = _projected_newton(X, yd, binary, b0, c, np.maximum(start, lower), lower)
    if theta is None:  # not converged (e.g. a separable sample without a penalty): L-BFGS-B
        theta = _lbfgsb(X, yd, binary, b0, c, start, lower)
    return theta[1:], float(theta[0]), _loglik(X @ theta[1:] + theta[0], yd, binary)


def _projected_newton(
    X: np.ndarray,
    y: np.ndarray,
    binary: bool,
    beta0: np.ndarray,
    c: float,
    start: np.ndarray,
    lower: np.ndarray,
    *,
    gtol: float = 1e-9,
    max_iter: int = 50,
) -> np.ndarray | None:
    """Minimise :func:`penalised_objective` over ``theta ≥ lower`` by projected Newton steps
    (Bertsekas 1982): the variables at their bound whose gradient points outwards stay there,
    the others take the Newton step of their block, and a backtracking (Armijo) search along
    the projected path keeps every step a descent. ``q`` is small (one column per question),
    so a step costs one ``XᵀWX``; a fit takes ~5 steps where L-BFGS-B took ~10 evaluations of
    scipy's bookkeeping. Returns ``theta``, or None when it does not reach a projected
    gradient under ``gtol`` in ``max_iter`` steps (the caller falls back to L-BFGS-B).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] + rng.normal(size=200) > 0).astype(float)
    >>> lower = np.array([-np.inf, 0.0, 0.0])
    >>> theta = _projected_newton(X, y, True, np.zeros(2), 0.0, np.zeros(3), lower)
    >>> bool(theta[1] > 0), float(theta[2]) >= 0.0
    (True, True)
    """
    n, q = X.shape
    theta = start.astype(float)
    f, g = penalised_objective(theta, X, y, binary, beta0, c)
    for _ in range(max_iter):
        if not np.all(np.isfinite(g)):
            return None
        projected = theta - np.maximum(theta - g, lower)  # the projected gradient
        if np.max(np.abs(projected)) < gtol * max(1.0, abs(f)):
            return theta
        # ε-active: at or near the bound with the gradient pointing outwards
        at_bound = (theta - lower <= min(1e-3, float(np.linalg.norm(projected)))) & (g > 0)
        if binary:
            p = special.expit(X @ theta[1:] + theta[0])
            w = p * (1 - p) / n
        else:
            w = np.full(n, 1.0 / n)
        xw = X * w[:, None]
        h = np.empty((q + 1, q + 1))
        h[0, 0] = w.sum()
        h[0, 1:] = h[1:, 0] = xw.sum(axis=0)
        h[1:, 1:] = X.T @ xw
        h[1:, 1:][np.diag_indices(q)] += c
        free = ~at_bound
        diag = np.diag(h)
        if np.any(diag[at_bound] <= 0):  # a saturated fit: no curvature to scale by
            return None
        step = np.zeros(q + 1)
        step[at_bound] = -g[at_bound] / diag[at_bound]  # ε-active: a scaled gradient step
        try:
            step[free] = -np.linalg.solve(h[np.ix_(free, free)], g[free])
        except np.linalg.LinAlgError:
            return None
        t = 1.0
        while True:
            new = np.maximum(theta + t * step, lower)
            f_new, g_new = penalised_objective(new, X, y, binary, beta0, c)
            if f_new <= f + 1e-4 * float(g @ (new - theta)) + 1e-15 * abs(f):
                break
            t *= 0.5
            if t < 1e-12:
                return None
        theta, f, g = new, f_new, g_new
    return None


def _lbfgsb(
    X: np.ndarray,
    y: np.ndarray,
    binary: bool,
    beta0: np.ndarray,
    c: float,
    start: np.ndarray,
    lower: np.ndarray,
) -> np.ndarray:
    """The same minimisation by scipy's L-BFGS-B (the fallback of :func:`_projected_newton`)."""
    bounds = [(None if np.isinf(lo) else float(lo), None) for lo in lower]
    res = optimize.minimize(
        penalised_objective,
        start,
        args=(X, y, binary, beta0, c),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-7},
    )
    return res.x


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


def _path_losses(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    base: np.ndarray,
    lambdas: np.ndarray,
    binary: bool,
) -> tuple[np.ndarray, np.ndarray, _Prepared, np.ndarray | None]:
    """Fit the path on ``train`` (largest λ first, warm-started) and score it on ``test``.

    Returns ``(losses, betas, prepared, last_theta)``: the mean held-out loss per λ (deviance/2
    or squared error/2), the betas per λ, the prepared training data and the last fit's
    ``(intercept, β)`` (a warm start)."""
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
    return losses, betas, p, x0


def _choose(losses: np.ndarray, rule: str) -> int:
    """Index of the chosen λ from per-fold losses ``(n_folds, n_lambda)`` (grid ascending)."""
    mean = losses.mean(axis=0)
    best = int(np.argmin(mean))
    if rule == "1se" and len(losses) > 1:
        se = losses.std(axis=0, ddof=1) / math.sqrt(len(losses))
        best = int(np.flatnonzero(mean <= mean[best] + se[best]).max())
    return best


def inner_grid_index(n_lambdas: int) -> np.ndarray:
    """Indices of the coarser λ grid used by the inner (nested) CV: every other point of the
    grid, both ends kept, when the grid has more than 11 points; else the whole grid.

    Examples
    --------
    >>> inner_grid_index(21).tolist()
    [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    >>> inner_grid_index(4).tolist()
    [0, 1, 2, 3]
    """
    if n_lambdas <= 11:
        return np.arange(n_lambdas)
    idx = np.arange(0, n_lambdas, 2)
    return idx if idx[-1] == n_lambdas - 1 else np.append(idx, n_lambdas - 1)


def _fold_job(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    base: np.ndarray,
    lambdas: np.ndarray,
    binary: bool,
    inner_k: int = 0,
    inner_seed: int = 0,
    lambda_rule: str = "min",
) -> dict[str, Any]:
    """One outer fold: the λ path on ``train`` scored on ``test`` and, with ``inner_k ≥ 2``, λ
    chosen by an inner stratified ``inner_k``-fold CV on ``train`` only (nested CV, on the
    coarser grid of :func:`inner_grid_index`); ``inner_best`` indexes ``lambdas``."""
    with single_blas():
        losses, betas, p, x0 = _path_losses(X, y, train, test, base, lambdas, binary)
        mle, b_mle, ll_mle = _fit_glm(p.X, p.y, binary, x0=x0)
        inner_best = None
        if inner_k >= 2:
            sub = inner_grid_index(len(lambdas))
            y_tr = y[train]
            k = inner_k
            if binary:
                k = min(k, int(np.bincount(y_tr.astype(int), minlength=2).min()))
            if k >= 2:
                inner = _folds(y_tr, binary, k, 1, inner_seed)
                inner_losses = np.array(
                    [
                        _path_losses(X[train], y_tr, tr, te, base, lambdas[sub], binary)[0]
                        for tr, te in inner
                    ]
                )
                inner_best = int(sub[_choose(inner_losses, lambda_rule)])
            else:  # too few events in this training part for an inner split: outer choice
                inner_best = None
    return {
        "losses": losses,
        "betas": betas,
        "alpha": p.alpha,
        "mle": (mle, b_mle, ll_mle),
        "inner_best": inner_best,
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
    @one_blas_thread
    def fit(self, X: Any, y: Any) -> WeightSuggester:
        """Fit the path, choose λ by repeated stratified CV and refit on all rows."""
        return self._fit(X, y, inner_folds=0)

    @one_blas_thread
    def _fit(self, X: Any, y: Any, inner_folds: int = 0) -> WeightSuggester:
        """``fit``; with ``inner_folds ≥ 2`` every outer fold also chooses its own λ by an
        inner CV on its training part (``_fold_results[f]["inner_best"]``: nested CV for
        ``suggest_weights``' out-of-sample comparison). The outer folds still choose the λ of
        the final fit on all rows."""
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
        seed0 = 0 if self.random_state is None else int(self.random_state)
        jobs = [
            (Xa, y_fit, tr, te, base, lambdas, binary, inner_folds, seed0 + 1 + f, self.lambda_rule)
            for f, (tr, te) in enumerate(folds)
        ]
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
