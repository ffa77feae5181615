"""The out-of-sample comparison of current, unit and suggested weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .estimator import _fit_glm, _prepare
from .integer import integer_weights

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
