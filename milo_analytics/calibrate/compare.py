"""The out-of-sample comparison of current, unit and suggested weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.resample import single_blas
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
    with single_blas():
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
    out = []
    with single_blas():
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
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metric per method and paired differences between methods.

    ``comparison``: the mean over CV repeats of the pooled out-of-fold metric with a bootstrap
    CI over candidates (predictions held fixed: a description of these held-out predictions).
    ``differences``: with ``folds`` (the ``R×K`` train/test splits behind ``oof``, repeat-major),
    the mean of the per-fold differences with the corrected resampled t interval of Nadeau &
    Bengio (2003): variance ``(1/J + n_test/n_train)·s²`` over the ``J = R·K`` folds, t with
    ``J − 1`` degrees of freedom — every fold refits, so refitting noise is inside it, and the
    correction accounts for the overlap of the training sets that makes the naive interval too
    narrow. Without ``folds``, paired bootstrap CIs (the pre-issue-10 behaviour).
    ``oof`` has shape (n_repeats, n_methods, n)."""
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
    if folds is not None:
        per_fold = _fold_metrics(oof, y, binary, folds)  # (J, n_methods)
        for a, b in pairs:
            d, lo, hi = corrected_t_interval(
                per_fold[:, idx[a]] - per_fold[:, idx[b]], _test_share(folds, len(y)), level
            )
            rows.append({"comparison": f"{a} - {b}", "difference": d, "ci_low": lo, "ci_high": hi})
        return comp, pd.DataFrame(rows).set_index("comparison")
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


def _test_share(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> float:
    """``n_test / n_train`` averaged over the folds (Nadeau & Bengio's correction term)."""
    return float(np.mean([len(te) / max(len(tr), 1) for tr, te in folds]))


def corrected_t_interval(
    diffs: np.ndarray, test_train_ratio: float, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean and corrected resampled t interval of per-fold differences (Nadeau & Bengio 2003).

    ``var = (1/J + n_test/n_train)·s²`` with ``s²`` the sample variance of the ``J`` per-fold
    differences; the interval uses Student's t with ``J − 1`` degrees of freedom.

    Examples
    --------
    >>> import numpy as np
    >>> d, lo, hi = corrected_t_interval(np.array([0.01, 0.03, 0.02, 0.02]), 0.25)
    >>> round(d, 3), round(lo, 4), round(hi, 4)
    (0.02, 0.0016, 0.0384)
    """
    x = np.asarray(diffs, dtype=float)
    x = x[np.isfinite(x)]
    j = len(x)
    if j == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if j == 1:
        return mean, math.nan, math.nan
    se = math.sqrt((1.0 / j + test_train_ratio) * float(x.var(ddof=1)))
    half = float(stats.t.ppf(1 - (1 - level) / 2, j - 1)) * se
    return mean, mean - half, mean + half


def _fold_metrics(
    oof: np.ndarray, y: np.ndarray, binary: bool, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The metric of every method on every test fold: shape (n_folds, n_methods)."""
    n_rep, n_meth, _ = oof.shape
    k = len(folds) // n_rep
    out = np.full((len(folds), n_meth), np.nan)
    for f, (_, te) in enumerate(folds):
        r = f // k
        yt = y[te]
        ones = np.ones(len(te))
        for m in range(n_meth):
            pred = oof[r, m, te]
            if binary:
                u, inv = np.unique(pred, return_inverse=True)
                out[f, m] = _weighted_auc(inv, len(u), yt == 1, ones)
            else:
                out[f, m] = _weighted_r(pred, yt, ones)
    return out


def decide(
    differences: pd.DataFrame,
    n_changes: int,
    *,
    metric: str = "auc",
    level: float = 0.95,
    how: str = "repeated cross-validation",
) -> tuple[str, str]:
    """The decision rule: should the posting move from today's weights to the integer ones?

    ``"change"`` exactly when the integer suggestion changes at least one weight and beats
    today's weights out of sample beyond the noise: the lower bound of the interval of
    ``suggested_integer - current`` is above 0. Unit weights do not enter the rule; they stay in
    the comparison as the reference (Dawes 1979) and the explanation says which of the three
    (today's, unit, suggested integer) scored best and by how much.

    Returns ``(recommendation, explanation)``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame(
    ...     {"difference": [0.024, 0.0], "ci_low": [0.012, -0.004], "ci_high": [0.036, 0.004]},
    ...     index=["suggested_integer - current", "suggested_integer - unit"],
    ... )
    >>> decide(d, n_changes=3)[0]
    'change'
    """
    d_cur = differences.loc["suggested_integer - current"]
    d_unit = differences.loc["suggested_integer - unit"]
    ci = f"{level:.0%} interval"
    metric = {"auc": "AUC"}.get(metric, metric)

    def span(row: pd.Series) -> str:
        return (
            f"{row['difference']:+.3f} {metric} ({ci} {row['ci_low']:+.3f} to "
            f"{row['ci_high']:+.3f})"
        )

    # which of the three scored best (point estimates: integer − current, integer − unit)
    score = {
        "suggested integer": 0.0,
        "today's": -d_cur["difference"],
        "unit": -d_unit["difference"],
    }
    best = max(score, key=lambda k: score[k])
    ranking = f"best of the three on held-out candidates: {best} weights"
    unit_vs_int = (
        f"; unit weights would be better still, by {-d_unit['difference']:.3f} {metric} "
        f"({ci} of integer − unit {d_unit['ci_low']:+.3f} to {d_unit['ci_high']:+.3f})"
        if d_unit["ci_high"] < 0
        else f"; versus unit weights (the reference): {span(d_unit)}"
    )
    if n_changes == 0:
        return "keep", f"the integer suggestion equals today's weights ({ranking})"
    if d_cur["ci_low"] > 0:
        return "change", (
            f"the integer weights beat today's weights on held-out candidates by {span(d_cur)}, "
            f"from {how}{unit_vs_int}; {ranking}"
        )
    return "keep", (
        f"the integer weights do not beat today's weights beyond the noise on held-out "
        f"candidates ({span(d_cur)}, from {how}){unit_vs_int}; {ranking}"
    )
