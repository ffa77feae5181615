"""Importance of questions for an outcome: relative weights, dominance (LMG) and validity.

* :func:`relative_weights` — Johnson's (2000) relative weights, computed as the R package
  ``rwa`` does (``rwa_multiregress``), and the logistic variant of Tonidandel & LeBreton (2010)
  as ``rwa_logit`` does it, for a binary outcome. Optional percentile bootstrap CIs.
* :func:`dominance_analysis` — general dominance / LMG (Shapley decomposition of R²; Budescu
  1993, relaimpo's ``lmg``) over all 2^k subsets (k ≤ 15), optional bootstrap CIs.
* :func:`question_importance` — both, plus univariate validity, per posting, for InterviewData
  joined to outcomes; returns an :class:`ImportanceResult` with ``.plot()``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
>>> y = X["a"] * 2 + X["b"] + rng.normal(size=200)
>>> rw = relative_weights(X, y)
>>> round(float(rw["rescaled_weight"].sum()), 6)
100.0
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from . import resample as _resample
from ._common import (
    is_binary,
    logit_irls,
    outcome_by_id,
    pearson_r,
    percentile_ci,
    posting_ids_with_scores,
    question_texts,
    r_ci,
    require_data,
)
from .resample import (
    CHUNK_CELLS,
    LogitBatch,
    MomentBasis,
    Resamples,
    choose_interval,
    corr_from_cov,
    delta_se,
    map_chunks,
    normal_interval,
    numeric_jacobian,
    one_blas_thread,
    resolve_counts,
    solve_stack,
    sym_sqrt,
)

__all__ = ["ImportanceResult", "dominance_analysis", "question_importance", "relative_weights"]

MAX_DOMINANCE_PREDICTORS = 15


# ----------------------------------------------------------------------------- inputs
def _xy(X: Any, y: Any, func: str, *, with_kept: bool = False) -> Any:
    """Align X and y, drop rows with any missing value; return (X, y, n_dropped) and, with
    ``with_kept``, the mask of rows kept."""
    if isinstance(X, np.ndarray):
        X = pd.DataFrame(X, columns=[f"x{i + 1}" for i in range(X.shape[1])])
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"{func}(X, y): X must be a DataFrame of predictors; got {type(X).__name__}"
        )
    bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    if bad:
        raise DataError(f"{func}(): predictors {bad!r} are not numeric")
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        if y.index.is_unique and X.index.is_unique and set(y.index) == set(X.index):
            y = y.reindex(X.index)  # same labels, other order: align by label
        else:
            y = y.to_numpy()  # otherwise positional
    yv = pd.to_numeric(pd.Series(np.asarray(y, dtype=object)), errors="coerce")
    yv = yv.astype("float64").to_numpy()
    if len(yv) != len(X):
        raise DataError(f"{func}(): X has {len(X)} rows but y has {len(yv)}; align them first")
    Xv = X.astype("float64")
    keep = np.isfinite(yv) & np.isfinite(Xv.to_numpy()).all(axis=1)
    Xv = Xv[keep]
    yv = yv[keep]
    if X.shape[1] < 1:
        raise DataError(f"{func}(): X has no predictor columns")
    if len(yv) < X.shape[1] + 2:
        raise InsufficientDataError(
            f"{func}(): {len(yv)} complete rows for {X.shape[1]} predictors; need at least "
            f"{X.shape[1] + 2} (ideally 10–20 per predictor)",
            shortfalls={"n": (len(yv), X.shape[1] + 2)},
        )
    sd = Xv.std(ddof=1)
    flat = sd.index[~(sd > 0)].tolist()
    if flat:
        raise DataError(
            f"{func}(): predictors {flat!r} have no variance (every value identical); "
            "drop them before estimating importance"
        )
    if np.nanstd(yv) == 0:
        raise DataError(f"{func}(): the outcome has no variance; nothing to explain")
    if with_kept:
        return Xv, yv, int((~keep).sum()), keep
    return Xv, yv, int((~keep).sum())


def _sign(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, "+", np.where(v < 0, "-", "0"))


# ----------------------------------------------------------------------------- Johnson
def _rw_linear(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Raw weights, beta (signs) and R² from correlations (rwa_multiregress)."""
    R = np.corrcoef(np.column_stack([y, X]), rowvar=False)
    rxx = R[1:, 1:]
    rxy = R[1:, 0]
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 0, None)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, rxy)
    raw = (lam**2) @ beta**2
    return raw, beta, float(np.sum(beta**2))


def _rw_logistic(
    X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Raw weights, beta, pseudo-R² (sum of raw weights) and the fit's coefficients, as
    rwa_logit computes them.

    rwa_logit builds Z = P·Qᵀ from the SVD of the standardised predictors Xs, standardises it,
    and regresses X on it (Λ) and y on it (glm). Algebraically Z_std = Xs·R^(-1/2) and
    Λ = R^(1/2) (R the predictor correlation matrix), and the logistic fit on Z_std is the fit
    on Xs reparametrised, b = R^(1/2)·β_Xs — IRLS gives identical fitted values in any
    basis — so we fit on the raw X (β_Xs = β_X·sd) and work with k×k matrices only.
    """
    C = np.atleast_2d(np.cov(X, rowvar=False))
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    evals, evecs = np.linalg.eigh(R)
    lam = evecs @ np.diag(np.sqrt(np.clip(evals, 0, None))) @ evecs.T
    # fit on the raw predictors (same fitted values as on Xs); β_Xs = β_X·sd
    fit = logit_irls(np.column_stack([np.ones(len(y)), X]), y, start=start)
    if not fit.converged and start is None:
        warnings.warn(
            "relative_weights(): the logistic fit did not converge (the outcome is (quasi-)"
            "separated by the predictors); raw weights are not meaningful, rescaled shares are "
            "only indicative",
            RuntimeWarning,
            stacklevel=3,
        )
    b = lam @ (fit.coef[1:] * sd)
    p = fit.prob
    lyhat = np.log(p / (1 - p))
    r2 = np.corrcoef(p, y)[0, 1] ** 2
    beta = b * np.sqrt(r2) / lyhat.std(ddof=1)
    raw = (lam**2) @ beta**2
    return raw, beta, float(raw.sum()), fit.coef


# ----------------------------------------------------------------------------- all resamples
# The same statistics for a stack of resamples at once (methods §9): correlation or
# covariance matrices from weighted moments, then batched eigen-decompositions and solves.
def _rw_linear_stack(R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_rw_linear` for a stack of correlation matrices (outcome first)."""
    rxx, rxy = R[:, 1:, 1:], R[:, 1:, 0]
    lam = sym_sqrt(rxx)
    beta = solve_stack(lam, rxy)
    raw = np.einsum("cij,cj->ci", lam**2, beta**2)
    return raw, beta, (beta**2).sum(axis=1)


def _rw_logistic_stack(inputs: np.ndarray, k: int) -> np.ndarray:
    """:func:`_rw_logistic`'s weights from its sufficient statistics, one row per resample.

    Each input row is ``[moments of X (as MomentBasis.U means), mean p, mean p², mean p·y,
    mean y, mean y², mean η, mean η², slopes]`` (p the fitted probabilities, η the linear
    predictor, slopes the coefficients on the raw predictors). Returns ``[raw, rescaled]``.
    ``rwa_logit``'s standard deviations use ddof = 1 throughout; they enter as the ratio
    sd(X)/sd(η), so the population forms here give the same weights.
    """
    d = k + k * (k + 1) // 2
    iu, ju = np.triu_indices(k)
    M = inputs[:, :d]
    mean = M[:, :k]
    cov = np.empty((len(inputs), k, k))
    cov[:, iu, ju] = M[:, k:]
    cov[:, ju, iu] = M[:, k:]
    cov -= mean[:, :, None] * mean[:, None, :]
    pm, p2, py, ym, y2, em, e2 = inputs[:, d : d + 7].T
    slopes = inputs[:, d + 7 :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    lam = sym_sqrt(cov / (sd[:, :, None] * sd[:, None, :]))
    b = np.einsum("cij,cj->ci", lam, slopes * sd)
    r2 = (py - pm * ym) ** 2 / ((p2 - pm**2) * (y2 - ym**2))
    beta = b * (np.sqrt(r2) / np.sqrt(e2 - em**2))[:, None]
    raw = np.einsum("cij,cj->ci", lam**2, beta**2)
    return np.concatenate([raw, 100 * raw / raw.sum(axis=1, keepdims=True)], axis=1)


@functools.lru_cache(maxsize=16)
def _subset_layout(k: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Subsets of k predictors by size (bit masks and member indices) and the matrix that
    turns the 2^k subset R² values into LMG shares (``lmg = r2 @ M``)."""
    masks = np.arange(1 << k)
    sizes = np.array([bin(m).count("1") for m in masks])
    bits = ((masks[:, None] >> np.arange(k)) & 1).astype(bool)
    by_size = []
    for size in range(1, k + 1):
        ms = masks[sizes == size]
        by_size.append((ms, np.array([np.flatnonzero(bits[m]) for m in ms])))
    fact = [math.factorial(i) for i in range(k + 1)]
    wts = np.array([fact[s] * fact[k - s - 1] / fact[k] if s < k else 0.0 for s in sizes])
    M = np.zeros((1 << k, k))
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        M[without | (1 << i), i] += wts[without]
        M[without, i] -= wts[without]
    return by_size, M


def _lmg_stack(R: np.ndarray) -> np.ndarray:
    """:func:`_lmg` for a stack of correlation matrices (outcome first): the R² of every
    subset for every matrix by stacked solves, then the Shapley shares as one product."""
    k = R.shape[1] - 1
    by_size, M = _subset_layout(k)
    rxx, rxy = R[:, 1:, 1:], R[:, 1:, 0]
    r2 = np.zeros((len(R), 1 << k))
    for ms, idx in by_size:
        s = idx.shape[1]
        step = max(1, CHUNK_CELLS // (len(ms) * s * s))
        for a in range(0, len(R), step):
            A = rxx[a : a + step][:, idx[:, :, None], idx[:, None, :]]
            b = rxy[a : a + step][:, idx]
            r2[a : a + step, ms] = np.einsum("ncs,ncs->nc", b, solve_stack(A, b))
    return r2 @ M


def _with_shares(v: np.ndarray) -> np.ndarray:
    """``[v, 100·v/Σv]`` per row (the raw and rescaled columns of the intervals)."""
    return np.concatenate([v, 100 * v / v.sum(axis=1, keepdims=True)], axis=1)


def _corr_stat_boot(Z: np.ndarray, stat: Any, counts: np.ndarray, n_jobs: int) -> np.ndarray:
    """Bootstrap draws of ``stat`` (a function of a stack of correlation matrices of the
    columns of ``Z``); resamples where a column has no variance are NaN."""
    mb = MomentBasis(Z)

    def block(C: np.ndarray) -> np.ndarray:
        _, cov = mb.cov(C.astype("float64"))
        out = stat(corr_from_cov(cov))
        out[mb.degenerate(cov)] = np.nan
        return out

    return map_chunks(block, counts, n_jobs)


def _corr_stat_delta(Z: np.ndarray, stat: Any) -> np.ndarray:
    """Delta-method standard errors of ``stat`` (as in :func:`_corr_stat_boot`).

    Influence of row i: ``J·(u_i − ū)`` with u_i its first and second moments and J the
    Jacobian of ``stat`` with respect to their means (central differences). No normality
    assumption: the fourth moments enter through the rows themselves.
    """
    mb = MomentBasis(Z)
    mean_u = mb.U.mean(axis=0)

    def fn(rows: np.ndarray) -> np.ndarray:
        _, cov = mb.cov_from_means(rows)
        return stat(corr_from_cov(cov))

    J = numeric_jacobian(fn, mean_u, mb.U.std(axis=0))
    return delta_se((mb.U - mean_u) @ J.T)


def _logistic_boot(
    Xa: np.ndarray, y: np.ndarray, start: np.ndarray, counts: np.ndarray, n_jobs: int
) -> np.ndarray:
    """Bootstrap draws of the logistic relative weights (``[raw, rescaled]``): one batched
    Newton fit per block of resamples, warm-started at the full-sample fit (as the old loop
    was), then :func:`_rw_logistic_stack` on each resample's sufficient statistics."""
    k = Xa.shape[1]
    center = Xa.mean(axis=0)
    lb = LogitBatch(np.column_stack([np.ones(len(y)), Xa - center]), y)
    start_c = np.concatenate([[start[0] + start[1:] @ center], start[1:]])
    # the design's products [1, Xc]_i·[1, Xc]_j hold 1, Xc and Xc_i·Xc_j: the count, and the
    # moments of X in MomentBasis order
    iu, ju = np.triu_indices(k)
    pairs = [(0, 0), *((0, j + 1) for j in range(k)), *zip(iu + 1, ju + 1, strict=True)]
    moment_cols = lb.pair_columns(pairs)
    var_x = (Xa - center).var(axis=0)
    yy = np.column_stack([y, y * y])
    lb.prepare(start_c)

    def extra(Wb: np.ndarray, eta: np.ndarray, p: np.ndarray, rows: slice) -> np.ndarray:
        Wp = Wb * p
        We = Wb * eta
        return np.column_stack(
            [
                Wp.sum(axis=1),
                np.einsum("ij,ij->i", Wp, p),
                Wp @ y[rows],
                We.sum(axis=1),
                np.einsum("ij,ij->i", We, eta),
            ]
        )

    def block(C: np.ndarray) -> np.ndarray:
        W = C.astype("float64")
        coef, _ = lb.fit(W, start_c)
        sums = lb.collect(coef, W, extra)
        S = (W @ lb.P)[:, moment_cols]
        S0 = S[:, :1]
        mom = S[:, 1:] / S0
        ys = (W @ yy) / S0
        inputs = np.column_stack([mom, sums[:, :3] / S0, ys, sums[:, 3:] / S0, coef[:, 1:]])
        out = _rw_logistic_stack(inputs, k)
        var = mom[:, k + _diag_positions(k)] - mom[:, :k] ** 2
        flat = (var <= 1e-10 * np.maximum(var_x, 1e-300)).any(axis=1)
        out[flat | (ys[:, 0] <= 0) | (ys[:, 0] >= 1)] = np.nan
        return out

    return map_chunks(block, counts, n_jobs)


def _diag_positions(k: int) -> np.ndarray:
    """Positions of the squares X_i·X_i among the upper-triangle products of k columns."""
    iu, ju = np.triu_indices(k)
    return np.flatnonzero(iu == ju)


def _logistic_delta(Xa: np.ndarray, y: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Delta-method standard errors of the logistic relative weights (``[raw, rescaled]``).

    The weights are a smooth function G of sample means (moments of X, of the fitted
    probabilities p and linear predictor η, of y) and of the logistic coefficients β. A row's
    influence is ``G_m·(u_i − ū) + (G_m·∂ū/∂β + G_β)·H⁻¹·x_i(y_i − p_i)`` — the plug-in part
    plus the coefficients' sandwich influence (H the mean information), so the fit's
    uncertainty and its effect on p and η are both carried.
    """
    k = Xa.shape[1]
    n = len(y)
    Xt = np.column_stack([np.ones(n), Xa])
    eta = Xt @ coef
    p = 1 / (1 + np.exp(-eta))
    mbx = MomentBasis(Xa)
    U = np.column_stack([mbx.U, p, p * p, p * y, y, y * y, eta, eta * eta])
    u_mean = U.mean(axis=0)
    x0 = np.concatenate([u_mean, coef[1:]])
    v = p * (1 - p)
    H = (Xt * v[:, None]).T @ Xt / n
    H_inv = np.linalg.inv(H)
    scale = np.concatenate([U.std(axis=0), np.sqrt(np.diag(H_inv))[1:]])
    J = numeric_jacobian(lambda rows: _rw_logistic_stack(rows, k), x0, scale)
    du = U.shape[1]
    J_m, J_b = J[:, :du], np.concatenate([np.zeros((J.shape[0], 1)), J[:, du:]], axis=1)
    # ∂ū/∂β: only the columns of p, p², p·y, η, η² depend on β
    dU = np.zeros((du, k + 1))
    d0 = mbx.U.shape[1]
    dU[d0] = (Xt * v[:, None]).mean(axis=0)
    dU[d0 + 1] = (Xt * (2 * p * v)[:, None]).mean(axis=0)
    dU[d0 + 2] = (Xt * (y * v)[:, None]).mean(axis=0)
    dU[d0 + 5] = Xt.mean(axis=0)
    dU[d0 + 6] = (Xt * (2 * eta)[:, None]).mean(axis=0)
    if_beta = (Xt * (y - p)[:, None]) @ H_inv
    influence = (U - u_mean) @ J_m.T + if_beta @ (J_m @ dU + J_b).T
    return delta_se(influence)


@one_blas_thread
def relative_weights(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    method: str = "auto",
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
    bootstrap: Resamples | None = None,
    interval: str = "auto",
) -> pd.DataFrame:
    """Johnson's (2000) relative weights of the columns of ``X`` for the outcome ``y``.

    Follows METHODS.md §4 and reproduces the R package ``rwa``: Rxx = VΛVᵀ,
    Λ½ = V·diag(√λ)·Vᵀ, β = Λ½⁻¹·rxy, raw weights ε = (Λ½∘Λ½)·β² (summing to R²),
    rescaled = 100·ε/R², sign = sign of β. For a binary ``y`` (0/1 or bool) the logistic
    variant of Tonidandel & LeBreton (2010) is used, exactly as ``rwa_logit`` computes it
    (``.attrs["r2"]`` is then the sum of the raw weights, a pseudo-R²).

    Parameters
    ----------
    X
        Predictors (rows = interviews, columns = questions). Rows with a missing predictor
        or outcome are dropped (listwise; the count is in ``.attrs["n_dropped"]``).
    y
        Outcome, same length as ``X``.
    method
        ``"auto"`` (logistic when ``y`` is binary), ``"linear"`` or ``"logistic"``.
    n_boot
        Bootstrap resamples for percentile CIs (0 = none). Adds ``ci_low``/``ci_high`` (raw
        weight) and ``rescaled_ci_low``/``rescaled_ci_high``.
    ci
        Confidence level of the intervals.
    seed
        Seed of the bootstrap resampling.
    n_jobs
        Threads for the bootstrap (blocks of resamples; 2 nearly halves the time on 2 cores).
    bootstrap
        A :class:`~milo_analytics.analysis.Resamples` to use instead of drawing
        (``n_boot``/``seed`` then come from it): the set a report shares across analyses.
        Over interview ids it is matched to ``X.index``.
    interval
        ``"auto"`` (default): intervals as requested by ``n_boot``/``bootstrap``, computed by
        the delta method from :data:`~milo_analytics.analysis.resample.ANALYTIC_MIN_N`
        (20,000) complete rows, by the bootstrap below; ``"bootstrap"`` forces the
        bootstrap; ``"analytic"`` the delta method (also with ``n_boot=0``). Methods §9.

    Returns
    -------
    DataFrame
        Indexed by predictor: ``raw_weight``, ``rescaled_weight`` (percent of R², sums to
        100), ``sign``. ``.attrs``: ``r2``, ``n``, ``n_dropped``, ``method``, ``interval``
        (``"bootstrap"``, ``"delta"`` or None), ``n_boot`` (resamples used), ``ci``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5]})
    >>> rw = relative_weights(X, [1.0, 2.1, 2.9, 4.2, 5.0, 6.1])
    >>> list(rw.columns), rw["sign"].tolist()
    (['raw_weight', 'rescaled_weight', 'sign'], ['+', '+'])
    """
    Xv, yv, dropped, kept = _xy(X, y, "relative_weights", with_kept=True)
    if method not in ("auto", "linear", "logistic"):
        raise DataError(f"relative_weights(method={method!r}); use 'auto', 'linear' or 'logistic'")
    binary = is_binary(yv)
    if method == "logistic" and not binary:
        raise DataError("relative_weights(method='logistic') needs a 0/1 outcome")
    use_logit = method == "logistic" or (method == "auto" and binary)
    Xa = Xv.to_numpy()
    k = Xa.shape[1]
    coef = None
    if use_logit:
        raw, beta, r2, coef = _rw_logistic(Xa, yv)
    else:
        raw, beta, r2 = _rw_linear(Xa, yv)
    out = pd.DataFrame(
        {"raw_weight": raw, "rescaled_weight": 100 * raw / r2, "sign": _sign(beta)},
        index=pd.Index(Xv.columns, name="predictor"),
    )
    out["sign"] = out["sign"].astype("str")
    how, used = _intervals(
        out,
        "relative_weights",
        n=len(yv),
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        bootstrap=bootstrap,
        interval=interval,
        labels=Xv.index,
        all_labels=_labels(X),
        kept=kept,
        est=np.concatenate([raw, 100 * raw / r2]),
        boot=lambda counts: (
            _logistic_boot(Xa, yv, coef, counts, n_jobs)
            if coef is not None
            else _corr_stat_boot(
                np.column_stack([yv, Xa]),
                lambda R: _with_shares(_rw_linear_stack(R)[0]),
                counts,
                n_jobs,
            )
        ),
        delta=lambda: (
            _logistic_delta(Xa, yv, coef)
            if coef is not None
            else _corr_stat_delta(
                np.column_stack([yv, Xa]), lambda R: _with_shares(_rw_linear_stack(R)[0])
            )
        ),
        k=k,
    )
    out.attrs.update(
        r2=r2,
        n=len(yv),
        n_dropped=dropped,
        method="logistic" if use_logit else "linear",
        interval=how,
        n_boot=used,
        ci=ci,
    )
    return out


def _labels(X: Any) -> pd.Index:
    """Row labels of the predictors as passed (positions for an array)."""
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))


def _intervals(
    out: pd.DataFrame,
    func: str,
    *,
    n: int,
    n_boot: int,
    seed: int,
    ci: float,
    bootstrap: Resamples | None,
    interval: str,
    labels: pd.Index,
    all_labels: pd.Index,
    kept: np.ndarray,
    est: np.ndarray,
    boot: Any,
    delta: Any,
    k: int,
) -> tuple[str | None, int]:
    """Add ``ci_low``/``ci_high`` and ``rescaled_ci_low``/``rescaled_ci_high`` to ``out`` by
    the bootstrap or the delta method (methods §9); return (method, resamples used)."""
    wanted = n_boot or bootstrap is not None or interval == "analytic"
    if not wanted:
        choose_interval(interval, n, func)  # still reject a misspelt choice
        if interval == "bootstrap":
            raise DataError(
                f"{func}(interval='bootstrap'): no resamples; pass n_boot=200 (or more) or "
                "bootstrap=Resamples(...)"
            )
        return None, 0
    how = choose_interval(interval, n, func)
    if how == "analytic":
        with np.errstate(all="ignore"):
            se = delta()
        lo_raw, hi_raw = normal_interval(est[:k], se[:k], ci, lower=0.0)
        lo_res, hi_res = normal_interval(est[k:], se[k:], ci, lower=0.0, upper=100.0)
        lo, hi = np.concatenate([lo_raw, lo_res]), np.concatenate([hi_raw, hi_res])
        used = 0
    else:
        counts = resolve_counts(
            bootstrap,
            n_boot,
            seed,
            labels=labels,
            func=func,
            all_labels=all_labels,
            kept=kept,
        )
        if counts is None:  # interval="bootstrap" with neither n_boot nor bootstrap
            raise DataError(f"{func}(interval='bootstrap'): pass n_boot=200 or bootstrap=")
        lo, hi = percentile_ci(boot(counts), ci)
        used = counts.shape[0]
    out["ci_low"], out["ci_high"] = lo[:k], hi[:k]
    out["rescaled_ci_low"], out["rescaled_ci_high"] = lo[k:], hi[k:]
    return ("delta" if how == "analytic" else "bootstrap"), used


# ----------------------------------------------------------------------------- LMG
def _subset_r2(R: np.ndarray) -> np.ndarray:
    """R² of every subset of predictors (index = bit mask) from the full correlation matrix.

    ``R`` is (k+1)×(k+1) with the outcome first. Subsets of equal size are solved as one
    stacked batch.
    """
    k = R.shape[0] - 1
    rxx, rxy = R[1:, 1:], R[1:, 0]
    r2 = np.zeros(1 << k)
    masks = np.arange(1 << k)
    sizes = np.array([bin(m).count("1") for m in masks])
    bits = ((masks[:, None] >> np.arange(k)) & 1).astype(bool)
    for size in range(1, k + 1):
        ms = masks[sizes == size]
        idx = np.array([np.flatnonzero(bits[m]) for m in ms])
        A = rxx[idx[:, :, None], idx[:, None, :]]
        b = rxy[idx]
        try:
            sol = np.linalg.solve(A, b[..., None])[..., 0]
        except np.linalg.LinAlgError:
            sol = np.array(
                [np.linalg.lstsq(a, bb, rcond=None)[0] for a, bb in zip(A, b, strict=True)]
            )
        r2[ms] = np.einsum("ij,ij->i", b, sol)
    return r2


def _lmg(R: np.ndarray) -> np.ndarray:
    """Shapley (LMG) share of R² per predictor from all subset R² values."""
    k = R.shape[0] - 1
    r2 = _subset_r2(R)
    masks = np.arange(1 << k)
    sizes = np.array([bin(m).count("1") for m in masks])
    fact = [math.factorial(i) for i in range(k + 1)]
    wts = np.array([fact[s] * fact[k - s - 1] / fact[k] if s < k else 0.0 for s in sizes])
    out = np.empty(k)
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        out[i] = np.sum(wts[without] * (r2[without | (1 << i)] - r2[without]))
    return out


@one_blas_thread
def dominance_analysis(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
    bootstrap: Resamples | None = None,
    interval: str = "auto",
) -> pd.DataFrame:
    """General dominance weights (LMG; the Shapley decomposition of R²).

    Every one of the 2^k subsets of predictors is fitted (from the correlation matrix, so
    the cost does not grow with rows); allowed up to k = 15. For a binary outcome this is the
    decomposition of the linear-probability R² (as relaimpo does for ``lm``).

    Parameters
    ----------
    X, y
        As in :func:`relative_weights` (listwise deletion of incomplete rows).
    n_boot, ci, seed, n_jobs, bootstrap, interval
        Intervals as in :func:`relative_weights`: percentile bootstrap, or the delta method
        from 20,000 complete rows (``interval="bootstrap"`` forces the bootstrap).

    Returns
    -------
    DataFrame
        Indexed by predictor: ``lmg`` (share of R², sums to R²), ``rescaled_lmg`` (percent,
        sums to 100); with intervals also ``ci_low``/``ci_high`` of ``lmg`` and
        ``rescaled_ci_low``/``rescaled_ci_high``. ``.attrs``: ``r2``, ``n``, ``n_dropped``,
        ``interval`` (``"bootstrap"``, ``"delta"`` or None), ``n_boot``, ``ci``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5]})
    >>> d = dominance_analysis(X, [1.0, 2.1, 2.9, 4.2, 5.0, 6.1])
    >>> round(float(d["lmg"].sum()), 6) == round(d.attrs["r2"], 6)
    True
    """
    Xv, yv, dropped, kept = _xy(X, y, "dominance_analysis", with_kept=True)
    k = Xv.shape[1]
    if k > MAX_DOMINANCE_PREDICTORS:
        raise DataError(
            f"dominance_analysis(): {k} predictors need 2^{k} fits; the limit is "
            f"{MAX_DOMINANCE_PREDICTORS}. Use relative_weights() instead, or fewer questions"
        )
    Xa = Xv.to_numpy()
    Z = np.column_stack([yv, Xa])
    lmg = _lmg(np.corrcoef(Z, rowvar=False))
    r2 = float(lmg.sum())
    out = pd.DataFrame(
        {"lmg": lmg, "rescaled_lmg": 100 * lmg / r2}, index=pd.Index(Xv.columns, name="predictor")
    )
    how, used = _intervals(
        out,
        "dominance_analysis",
        n=len(yv),
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        bootstrap=bootstrap,
        interval=interval,
        labels=Xv.index,
        all_labels=_labels(X),
        kept=kept,
        est=np.concatenate([lmg, 100 * lmg / r2]),
        boot=lambda counts: _corr_stat_boot(
            Z, lambda R: _with_shares(_lmg_stack(R)), counts, n_jobs
        ),
        delta=lambda: _corr_stat_delta(Z, lambda R: _with_shares(_lmg_stack(R))),
        k=k,
    )
    out.attrs.update(r2=r2, n=len(yv), n_dropped=dropped, interval=how, n_boot=used, ci=ci)
    return out


def _interval_text(res: pd.DataFrame) -> str:
    """How a result's intervals were made, for notes (methods §9)."""
    how = res.attrs.get("interval")
    level = f"{100 * res.attrs.get('ci', 0.95):g} %"
    if how == "bootstrap":
        return f"{level} percentile bootstrap CIs ({res.attrs['n_boot']} resamples)"
    if how == "delta":
        threshold = _resample.ANALYTIC_MIN_N
        return (
            f"{level} delta-method CIs (n ≥ {threshold:,}: the bootstrap would only add "
            "Monte-Carlo noise; interval='bootstrap' forces it)"
            if res.attrs["n"] >= threshold
            else f"{level} delta-method CIs (interval='analytic')"
        )
    return "no CIs (n_boot=0)"


# ----------------------------------------------------------------------------- on InterviewData
@dataclass(repr=False)
class ImportanceResult(Result):
    """Per posting and question: validity r, relative weight and LMG share with CIs.

    ``table`` columns: ``posting_id``, ``question_id``, ``text``, ``n``, ``r``, ``r_ci_low``,
    ``r_ci_high``, ``r_p``, ``raw_weight``, ``rescaled_weight``, ``rw_ci_low``,
    ``rw_ci_high``, ``sign``, ``lmg``, ``rescaled_lmg``, ``lmg_ci_low``, ``lmg_ci_high``,
    ``rw_interval``, ``lmg_interval`` (how the CIs were made: ``"bootstrap"``, ``"delta"`` or
    ``"none"``; the r CIs are Fisher-z). ``extras["r2"]``: posting_id -> R² (relative weights' R² or pseudo-R²).
    """

    def plot(self, posting_id: str | None = None) -> Any:
        """Rescaled relative weights with bootstrap CI error bars (and LMG beside them)."""
        from .. import plots

        t = self.table
        if posting_id is None and len(t):
            posting_id = t["posting_id"].iloc[0]
        t = t[t["posting_id"] == posting_id]
        return plots.importance_bars(
            t,
            label="question_id",
            title=f"Importance for {self.extras.get('target', 'outcome')} — posting {posting_id}",
        )


def question_importance(
    data: InterviewData,
    outcomes: pd.DataFrame,
    *,
    target: str = "hired",
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
    bootstrap: Resamples | None = None,
    interval: str = "auto",
) -> ImportanceResult:
    """Importance of each scored question for an outcome, per posting.

    Joins ``outcomes`` (a frame with ``interview_id`` and ``target``, e.g. from
    ``read_outcomes``) to each posting's score matrix and reports univariate validity (Pearson
    / point-biserial r with Fisher CI and p), Johnson's relative weights and LMG shares, both
    with intervals: percentile bootstrap (``n_boot`` resamples), or the delta method for a
    posting with at least 20,000 analysed interviews (methods §9). The table's
    ``rw_interval`` / ``lmg_interval`` say which (``"bootstrap"``, ``"delta"``, ``"none"``).

    Parameters
    ----------
    data, outcomes, target
        Interviews, the outcome frame and its column.
    n_boot, ci, seed, n_jobs
        Bootstrap resamples (0 = no intervals), confidence level, seed, threads.
    bootstrap
        A shared :class:`~milo_analytics.analysis.Resamples` over the interviews (e.g.
        ``Resamples.for_data(data)``); each posting uses the counts of its own interviews.
    interval
        ``"auto"``, ``"bootstrap"`` (force the bootstrap) or ``"analytic"``; see
        :func:`relative_weights`.

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.analysis._common import synthetic_interview_data
    >>> data, truth = synthetic_interview_data(300, 3, seed=0)
    >>> hired = truth["ability"].to_numpy() > 0.5
    >>> out = pd.DataFrame({"interview_id": data.interviews["interview_id"], "hired": hired})
    >>> res = question_importance(data, out, n_boot=0)
    >>> round(float(res.table["rescaled_weight"].sum()), 6)
    100.0
    """
    data = require_data(data, "question_importance")
    y_by_id = outcome_by_id(outcomes, target, "question_importance")
    if bootstrap is not None:
        resolve_counts(  # validates bootstrap against n_boot / seed before any work
            bootstrap,
            n_boot,
            seed,
            labels=pd.Index([]),
            func="question_importance",
            default_n_boot=200,
        )
        if bootstrap.ids is None:
            raise DataError(
                f"question_importance(bootstrap={bootstrap!r}): the set must be over interview "
                "ids; build it with Resamples.for_data(data)"
            )
        n_boot, seed = 0, 0
    boot_kw: dict[str, Any] = dict(
        n_boot=n_boot, ci=ci, seed=seed, n_jobs=n_jobs, bootstrap=bootstrap, interval=interval
    )
    texts = question_texts(data)
    rows = []
    r2s: dict[str, float] = {}
    notes: list[str] = []
    for pid in posting_ids_with_scores(data):
        wide = data.score_matrix(pid)
        y = pd.to_numeric(y_by_id.reindex(wide.index).astype("object"), errors="coerce").astype(
            "float64"
        )
        keep = y.notna()
        wide, y = wide[keep], y[keep]
        usable = wide.notna().any() & (wide.std() > 0)
        if not usable.all():
            notes.append(
                f"posting {pid}: questions {sorted(map(str, wide.columns[~usable]))} have no "
                f"answers or no variance among interviews with a {target!r} outcome; left out "
                "(a constant question cannot predict anything)"
            )
        wide = wide.loc[:, usable]
        if wide.shape[1] == 0 or len(y) < wide.shape[1] + 2:
            notes.append(f"posting {pid}: too few interviews with a {target!r} outcome ({len(y)})")
            continue
        rw = relative_weights(wide, y, **boot_kw)
        dom = (
            dominance_analysis(wide, y, **boot_kw)
            if wide.shape[1] <= MAX_DOMINANCE_PREDICTORS
            else None
        )
        rw_how = rw.attrs["interval"]
        dom_how = dom.attrs["interval"] if dom is not None else None
        r2s[pid] = rw.attrs["r2"]
        for q in wide.columns:
            r, n = pearson_r(wide[q].to_numpy(), y.to_numpy())
            lo, hi, p = r_ci(r, n, ci)
            rows.append(
                {
                    "posting_id": pid,
                    "question_id": q,
                    "text": texts.get(q, ""),
                    "n": n,
                    "r": r,
                    "r_ci_low": lo,
                    "r_ci_high": hi,
                    "r_p": p,
                    "raw_weight": rw.at[q, "raw_weight"],
                    "rescaled_weight": rw.at[q, "rescaled_weight"],
                    "rw_ci_low": rw.at[q, "rescaled_ci_low"] if rw_how else np.nan,
                    "rw_ci_high": rw.at[q, "rescaled_ci_high"] if rw_how else np.nan,
                    "sign": rw.at[q, "sign"],
                    "lmg": dom.at[q, "lmg"] if dom is not None else np.nan,
                    "rescaled_lmg": dom.at[q, "rescaled_lmg"] if dom is not None else np.nan,
                    "lmg_ci_low": dom.at[q, "rescaled_ci_low"] if dom_how else np.nan,
                    "lmg_ci_high": dom.at[q, "rescaled_ci_high"] if dom_how else np.nan,
                    "rw_interval": rw_how or "none",
                    "lmg_interval": dom_how or "none",
                }
            )
        method = rw.attrs["method"]
        notes.append(
            f"posting {pid}: {method} relative weights (Johnson 2000"
            f"{'; Tonidandel & LeBreton 2010' if method == 'logistic' else ''}), "
            f"R² = {rw.attrs['r2']:.3f}, n = {rw.attrs['n']}; {_interval_text(rw)}."
        )
    if not rows:
        raise InsufficientDataError(
            f"question_importance(): no posting has enough interviews joined to a {target!r} "
            "outcome; check the join report of read_outcomes"
        )
    table = pd.DataFrame(rows)
    table["text"] = table["text"].astype("str")
    table["sign"] = table["sign"].astype("str")
    for col in ("rw_interval", "lmg_interval"):
        table[col] = table[col].astype("str")
    return ImportanceResult(
        table=table,
        title=f"Question importance for {target}",
        notes=notes,
        extras={"r2": r2s, "target": target},
    )
