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

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import (
    is_binary,
    limited_blas,
    logit_irls,
    outcome_by_id,
    pearson_r,
    percentile_ci,
    posting_ids_with_scores,
    question_texts,
    r_ci,
    require_data,
)

__all__ = ["ImportanceResult", "dominance_analysis", "question_importance", "relative_weights"]

MAX_DOMINANCE_PREDICTORS = 15


# ----------------------------------------------------------------------------- inputs
def _xy(X: Any, y: Any, func: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Align X and y, drop rows with any missing value; return (X, y, n_dropped)."""
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


def _boot_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n))


def _run_boot(fn: Any, idx: np.ndarray, n_jobs: int) -> np.ndarray:
    """Apply ``fn(rows)`` to every bootstrap row set, BLAS limited; joblib when n_jobs > 1."""
    with limited_blas():
        if n_jobs == 1 or len(idx) < 50:
            return np.array([fn(r) for r in idx])
        from joblib import Parallel, delayed

        chunks = np.array_split(idx, n_jobs)

        def run(ch: np.ndarray) -> np.ndarray:
            with limited_blas():
                return np.array([fn(r) for r in ch])

        parts = Parallel(n_jobs=n_jobs)(delayed(run)(c) for c in chunks)
        return np.vstack(parts)


def relative_weights(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    method: str = "auto",
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
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
        Confidence level of the bootstrap intervals.
    seed
        Seed of the bootstrap resampling.
    n_jobs
        joblib workers for the bootstrap (2 halves the time on a 2-core machine).

    Returns
    -------
    DataFrame
        Indexed by predictor: ``raw_weight``, ``rescaled_weight`` (percent of R², sums to
        100), ``sign``. ``.attrs``: ``r2``, ``n``, ``n_dropped``, ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5]})
    >>> rw = relative_weights(X, [1.0, 2.1, 2.9, 4.2, 5.0, 6.1])
    >>> list(rw.columns), rw["sign"].tolist()
    (['raw_weight', 'rescaled_weight', 'sign'], ['+', '+'])
    """
    Xv, yv, dropped = _xy(X, y, "relative_weights")
    if method not in ("auto", "linear", "logistic"):
        raise DataError(f"relative_weights(method={method!r}); use 'auto', 'linear' or 'logistic'")
    binary = is_binary(yv)
    if method == "logistic" and not binary:
        raise DataError("relative_weights(method='logistic') needs a 0/1 outcome")
    use_logit = method == "logistic" or (method == "auto" and binary)
    Xa = Xv.to_numpy()
    start = None
    if use_logit:
        raw, beta, r2, start = _rw_logistic(Xa, yv)

        def fn(Xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
            return _rw_logistic(Xb, yb, start)[:3]
    else:
        fn = _rw_linear
        raw, beta, r2 = fn(Xa, yv)
    out = pd.DataFrame(
        {"raw_weight": raw, "rescaled_weight": 100 * raw / r2, "sign": _sign(beta)},
        index=pd.Index(Xv.columns, name="predictor"),
    )
    out["sign"] = out["sign"].astype("str")
    if n_boot:

        def one(rows: np.ndarray) -> np.ndarray:
            yb = yv[rows]
            if np.std(yb) == 0 or (use_logit and len(np.unique(yb)) < 2):
                return np.full(2 * Xa.shape[1], np.nan)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rb, _, r2b = fn(Xa[rows], yb)
            except (np.linalg.LinAlgError, FloatingPointError):
                return np.full(2 * Xa.shape[1], np.nan)
            return np.concatenate([rb, 100 * rb / r2b])

        with np.errstate(all="ignore"):
            draws = _run_boot(one, _boot_indices(len(yv), n_boot, seed), n_jobs)
        lo, hi = percentile_ci(draws, ci)
        k = Xa.shape[1]
        out["ci_low"], out["ci_high"] = lo[:k], hi[:k]
        out["rescaled_ci_low"], out["rescaled_ci_high"] = lo[k:], hi[k:]
    out.attrs.update(
        r2=r2,
        n=len(yv),
        n_dropped=dropped,
        method="logistic" if use_logit else "linear",
        n_boot=n_boot,
        ci=ci,
    )
    return out


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


def dominance_analysis(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    *,
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """General dominance weights (LMG; the Shapley decomposition of R²).

    Every one of the 2^k subsets of predictors is fitted (from the correlation matrix, so
    the cost does not grow with rows); allowed up to k = 15. For a binary outcome this is the
    decomposition of the linear-probability R² (as relaimpo does for ``lm``).

    Parameters
    ----------
    X, y
        As in :func:`relative_weights` (listwise deletion of incomplete rows).
    n_boot, ci, seed, n_jobs
        Percentile bootstrap as in :func:`relative_weights`.

    Returns
    -------
    DataFrame
        Indexed by predictor: ``lmg`` (share of R², sums to R²), ``rescaled_lmg`` (percent,
        sums to 100); with ``n_boot`` also ``ci_low``/``ci_high`` of ``lmg`` and
        ``rescaled_ci_low``/``rescaled_ci_high``. ``.attrs``: ``r2``, ``n``, ``n_dropped``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5]})
    >>> d = dominance_analysis(X, [1.0, 2.1, 2.9, 4.2, 5.0, 6.1])
    >>> round(float(d["lmg"].sum()), 6) == round(d.attrs["r2"], 6)
    True
    """
    Xv, yv, dropped = _xy(X, y, "dominance_analysis")
    k = Xv.shape[1]
    if k > MAX_DOMINANCE_PREDICTORS:
        raise DataError(
            f"dominance_analysis(): {k} predictors need 2^{k} fits; the limit is "
            f"{MAX_DOMINANCE_PREDICTORS}. Use relative_weights() instead, or fewer questions"
        )
    Xa = Xv.to_numpy()

    def fit(Xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
        R = np.corrcoef(np.column_stack([yb, Xb]), rowvar=False)
        return _lmg(R)

    lmg = fit(Xa, yv)
    r2 = float(lmg.sum())
    out = pd.DataFrame(
        {"lmg": lmg, "rescaled_lmg": 100 * lmg / r2}, index=pd.Index(Xv.columns, name="predictor")
    )
    if n_boot:

        def one(rows: np.ndarray) -> np.ndarray:
            yb, Xb = yv[rows], Xa[rows]
            if np.std(yb) == 0 or (Xb.std(axis=0) == 0).any():
                return np.full(2 * k, np.nan)
            v = fit(Xb, yb)
            return np.concatenate([v, 100 * v / v.sum()])

        with np.errstate(all="ignore"):
            draws = _run_boot(one, _boot_indices(len(yv), n_boot, seed), n_jobs)
        lo, hi = percentile_ci(draws, ci)
        out["ci_low"], out["ci_high"] = lo[:k], hi[:k]
        out["rescaled_ci_low"], out["rescaled_ci_high"] = lo[k:], hi[k:]
    out.attrs.update(r2=r2, n=len(yv), n_dropped=dropped, n_boot=n_boot, ci=ci)
    return out


# ----------------------------------------------------------------------------- on InterviewData
@dataclass(repr=False)
class ImportanceResult(Result):
    """Per posting and question: validity r, relative weight and LMG share with CIs.

    ``table`` columns: ``posting_id``, ``question_id``, ``text``, ``n``, ``r``, ``r_ci_low``,
    ``r_ci_high``, ``r_p``, ``raw_weight``, ``rescaled_weight``, ``rw_ci_low``,
    ``rw_ci_high``, ``sign``, ``lmg``, ``rescaled_lmg``, ``lmg_ci_low``, ``lmg_ci_high``.
    ``extras["r2"]``: posting_id -> R² (relative weights' R² or pseudo-R²).
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
) -> ImportanceResult:
    """Importance of each scored question for an outcome, per posting.

    Joins ``outcomes`` (a frame with ``interview_id`` and ``target``, e.g. from
    ``read_outcomes``) to each posting's score matrix and reports univariate validity (Pearson
    / point-biserial r with Fisher CI and p), Johnson's relative weights and LMG shares, both
    with percentile bootstrap CIs.

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
        rw = relative_weights(wide, y, n_boot=n_boot, ci=ci, seed=seed, n_jobs=n_jobs)
        dom = (
            dominance_analysis(wide, y, n_boot=n_boot, ci=ci, seed=seed, n_jobs=n_jobs)
            if wide.shape[1] <= MAX_DOMINANCE_PREDICTORS
            else None
        )
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
                    "rw_ci_low": rw.at[q, "rescaled_ci_low"] if n_boot else np.nan,
                    "rw_ci_high": rw.at[q, "rescaled_ci_high"] if n_boot else np.nan,
                    "sign": rw.at[q, "sign"],
                    "lmg": dom.at[q, "lmg"] if dom is not None else np.nan,
                    "rescaled_lmg": dom.at[q, "rescaled_lmg"] if dom is not None else np.nan,
                    "lmg_ci_low": dom.at[q, "rescaled_ci_low"]
                    if dom is not None and n_boot
                    else np.nan,
                    "lmg_ci_high": dom.at[q, "rescaled_ci_high"]
                    if dom is not None and n_boot
                    else np.nan,
                }
            )
        method = rw.attrs["method"]
        notes.append(
            f"posting {pid}: {method} relative weights (Johnson 2000"
            f"{'; Tonidandel & LeBreton 2010' if method == 'logistic' else ''}), "
            f"R² = {rw.attrs['r2']:.3f}, n = {rw.attrs['n']}, {n_boot} bootstrap resamples"
            " (percentile CIs, rescaled weights)."
        )
    if not rows:
        raise InsufficientDataError(
            f"question_importance(): no posting has enough interviews joined to a {target!r} "
            "outcome; check the join report of read_outcomes"
        )
    table = pd.DataFrame(rows)
    table["text"] = table["text"].astype("str")
    table["sign"] = table["sign"].astype("str")
    return ImportanceResult(
        table=table,
        title=f"Question importance for {target}",
        notes=notes,
        extras={"r2": r2s, "target": target},
    )
