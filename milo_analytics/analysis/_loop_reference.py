"""The per-resample bootstrap loops as they were before the vectorised engine (reference only).

``relative_weights``, ``dominance_analysis`` and ``speech_summary`` used to refit every
bootstrap resample in a Python loop (17–100 s at 100,000 × 10). They now apply one matrix of
resample counts to sufficient statistics (:mod:`milo_analytics.analysis.resample`). The old
loops are kept here, unchanged apart from being lifted out of their functions, as the oracle
the new engine is checked against: ``tests/test_analysis_resample.py`` asserts equal
intervals and ``benchmarks/bench_bootstrap.py`` times both side by side. Nothing public calls
this module.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
>>> out = relative_weights_loop(X, X["a"] + rng.normal(size=60), n_boot=20)
>>> list(out.columns)[-2:]
['rescaled_ci_low', 'rescaled_ci_high']
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import _auc, is_binary, limited_blas, logit_irls, percentile_ci
from .importance import _lmg, _rw_linear, _rw_logistic, _sign, _xy
from .speech import _ols_r2, _std

__all__: list[str] = []


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


def relative_weights_loop(
    X: Any,
    y: Any,
    *,
    method: str = "auto",
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """``relative_weights(X, y, n_boot=...)`` exactly as computed before the vectorised engine."""
    Xv, yv, dropped = _xy(X, y, "relative_weights")
    binary = is_binary(yv)
    use_logit = method == "logistic" or (method == "auto" and binary)
    Xa = Xv.to_numpy()
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
    out.attrs.update(r2=r2, n=len(yv), n_dropped=dropped, n_boot=n_boot, ci=ci)
    return out


def dominance_loop(
    X: Any, y: Any, *, n_boot: int = 200, ci: float = 0.95, seed: int = 0, n_jobs: int = 1
) -> pd.DataFrame:
    """``dominance_analysis(X, y, n_boot=...)`` exactly as computed before the new engine."""
    Xv, yv, dropped = _xy(X, y, "dominance_analysis")
    k = Xv.shape[1]
    Xa = Xv.to_numpy()

    def fit(Xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
        R = np.corrcoef(np.column_stack([yb, Xb]), rowvar=False)
        return _lmg(R)

    lmg = fit(Xa, yv)
    r2 = float(lmg.sum())
    out = pd.DataFrame(
        {"lmg": lmg, "rescaled_lmg": 100 * lmg / r2}, index=pd.Index(Xv.columns, name="predictor")
    )

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


def incremental_loop(
    Q: np.ndarray, sp: np.ndarray, y: np.ndarray, n_boot: int, ci: float, seed: int
) -> dict[str, Any]:
    """``speech._incremental`` exactly as it was before the vectorised engine (points, p and
    the percentile CI from the per-resample loop)."""
    binary = is_binary(y)
    # one design matrix [1, questions..., speech]; the base model is a view without speech
    Df = np.column_stack([np.ones(len(y)), _std(Q), _std(sp[:, None])])
    starts: list[np.ndarray | None] = [None, None]

    def metric(rows: np.ndarray | slice) -> tuple[float, float, float, float]:
        yb, f = y[rows], Df[rows]
        b = f[:, :-1]
        if binary:
            if len(np.unique(yb)) < 2:
                return (np.nan,) * 4
            fb = logit_irls(b, yb, start=starts[0])
            ff = logit_irls(f, yb, start=starts[1])
            if starts[0] is None:
                starts[:] = [fb.coef, ff.coef]  # warm starts for the bootstrap refits
            return _auc(yb, fb.prob), _auc(yb, ff.prob), fb.loglik, ff.loglik
        return _ols_r2(b[:, 1:], yb), _ols_r2(f[:, 1:], yb), np.nan, np.nan

    base, full, llb, llf = metric(slice(None))
    n, k = len(y), Q.shape[1]
    if binary:
        p = float(stats.chi2.sf(2 * (llf - llb), 1)) if np.isfinite(llf - llb) else np.nan
    else:
        df2 = n - k - 2
        fstat = (full - base) / ((1 - full) / df2) if df2 > 0 and full < 1 else np.nan
        p = float(stats.f.sf(fstat, 1, df2)) if np.isfinite(fstat) else np.nan
    lo = hi = np.nan
    if n_boot:
        rng = np.random.default_rng(seed)
        with limited_blas(), np.errstate(all="ignore"):
            deltas = []
            for _ in range(n_boot):
                rows = rng.integers(0, n, n)
                b_, f_, _, _ = metric(rows)
                deltas.append(f_ - b_)
        lo, hi = percentile_ci(np.array(deltas), ci)
    return {
        "metric": "auc" if binary else "r2",
        "n": n,
        "base": base,
        "full": full,
        "delta": full - base,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": p,
    }
