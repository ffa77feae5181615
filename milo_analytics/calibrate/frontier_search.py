"""Numerical core of the validity / adverse-impact frontier (docs/methods.md §8).

Everything here works on plain arrays: ``X`` (n × q question scores), ``y`` (outcome), the
group codes of every candidate, and many weight vectors at once (``X @ W.T``).

- :class:`Groups` — per candidate, one profile code combining the outcome class (binary
  targets) and the category of every grouping (sex, race/ethnicity, their intersection);
  statistics of a composite only need the count of candidates per (profile, score level).
- :func:`evaluate` — validity (AUC or Pearson r) and the lowest impact ratio over the included
  categories at the selection rule (median split, cut or top-k), for many weight vectors.
- :func:`continuous_trace` — scalarised fits of ``validity − μ·group difference`` over non-negative
  weight ratios (a grid of μ), the seeds of the integer search.
- :func:`integer_frontier` — the non-dominated integer weights 1–``max_weight``: roundings of
  the trace at every scale, then a Pareto local search (±1 moves and one-step swaps) until no
  new non-dominated point appears; :func:`exhaustive_frontier` enumerates the whole lattice.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.integers(1, 6, size=(400, 3)).astype(float)
>>> sex = rng.integers(0, 2, 400)
>>> y = (X @ [1.0, 1.0, 1.0] + rng.normal(0, 2, 400) > 9).astype(float)
>>> g = Groups.build(y, True, [("sex", sex, ["Male", "Female"])], min_n=30)
>>> v, f = evaluate(X, np.array([[1, 1, 1], [1, 0, 0]]), g, Selection("median"))[:2]
>>> bool(v[0] > v[1])
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
from scipy import optimize

__all__ = [
    "Groups",
    "Selection",
    "continuous_trace",
    "evaluate",
    "exhaustive_frontier",
    "integer_frontier",
    "non_dominated",
]


# ----------------------------------------------------------------------------- selection rule
@dataclass(frozen=True)
class Selection:
    """Who counts as "selected" under a composite.

    ``kind="median"``: the LL144 scoring rate — strictly above the median of all candidates
    (unknown categories included in the median's sample, as the audit's default).
    ``kind="cut"``: composite on the 0–100 scale ``100·Σwᵢsᵢ/(Σwᵢ·S_max)`` at or above
    ``value``. ``kind="top_k"``: the top ``value`` share of candidates (ties at the last place
    all selected).
    """

    kind: str
    value: float = math.nan
    score_max: float = 5.0

    def describe(self) -> str:
        if self.kind == "median":
            return "scoring rate: composite strictly above the median (LL144)"
        if self.kind == "cut":
            return f"selection rate: composite ≥ {self.value:g} on the 0–100 scale"
        return f"selection rate: the top {self.value:.1%} of candidates (ties at the cut selected)"


# ----------------------------------------------------------------------------- groups
@dataclass
class Groups:
    """Candidates' outcome class and categories, as profile codes.

    Attributes
    ----------
    profile : ndarray of int, shape (n,)
        Code of the combination (class, category of each family).
    n_profiles : int
    cls : ndarray, shape (n_profiles,)
        Outcome class of each profile (0/1; all 0 for a continuous target).
    families : list of str
        Names of the groupings (e.g. ``sex``, ``race_ethnicity``, ``intersection``).
    labels : list of list of str
        Category labels per family.
    cat : list of ndarray, shape (n_profiles,)
        Category index per profile and family (−1: unknown).
    included : list of ndarray of bool
        Per family and category: counted in the lowest impact ratio (not under ``exclude_below``
        of the data and at least ``min_n`` people).
    n_cat : list of ndarray of int
        People per category (the full sample this object was built on).
    """

    profile: np.ndarray
    n_profiles: int
    cls: np.ndarray
    families: list[str]
    labels: list[list[str]]
    cat: list[np.ndarray]
    included: list[np.ndarray]
    n_cat: list[np.ndarray]
    binary: bool = True
    y: np.ndarray | None = None
    unknown: list[int] = field(default_factory=list)

    @classmethod
    def build(
        cls_,
        y: np.ndarray,
        binary: bool,
        families: list[tuple[str, np.ndarray, list[str]]],
        *,
        min_n: int = 30,
        exclude_below: float = 0.02,
    ) -> Groups:
        """``families``: ``(name, codes, labels)`` with codes −1 for unknown."""
        n = len(y)
        yc = y.astype(int) if binary else np.zeros(n, dtype=int)
        stacked = np.column_stack([yc] + [np.asarray(c, dtype=int) for _, c, _ in families])
        uniq, prof = np.unique(stacked, axis=0, return_inverse=True)
        prof = prof.ravel()
        cats, incl, ncat, unknown = [], [], [], []
        for f, (_, codes, labels) in enumerate(families):
            codes = np.asarray(codes, dtype=int)
            counts = np.bincount(codes[codes >= 0], minlength=len(labels))
            ncat.append(counts)
            incl.append((counts >= min_n) & (counts >= exclude_below * n) & (counts > 0))
            cats.append(uniq[:, f + 1])
            unknown.append(int((codes < 0).sum()))
        return cls_(
            profile=prof,
            n_profiles=len(uniq),
            cls=uniq[:, 0],
            families=[name for name, _, _ in families],
            labels=[list(lb) for _, _, lb in families],
            cat=cats,
            included=incl,
            n_cat=ncat,
            binary=binary,
            y=None if binary else np.asarray(y, dtype=float),
            unknown=unknown,
        )

    def subset(self, idx: np.ndarray) -> Groups:
        """The same profiles and included categories for a subset of candidates."""
        return Groups(
            profile=self.profile[idx],
            n_profiles=self.n_profiles,
            cls=self.cls,
            families=self.families,
            labels=self.labels,
            cat=self.cat,
            included=self.included,
            n_cat=self.n_cat,
            binary=self.binary,
            y=None if self.y is None else self.y[idx],
            unknown=self.unknown,
        )


# ----------------------------------------------------------------------------- evaluation
def _levels(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Level index (n, m) and sorted level values (m, L) padded with +inf, per column."""
    n, m = S.shape
    integral = np.all(np.round(S) == S)
    if integral:
        lo = S.min(axis=0)
        lv = (S - lo).astype(np.int64)
        L = int(lv.max()) + 1 if n else 1
        vals = lo[:, None] + np.arange(L)[None, :]
        return lv, vals.astype(float)
    lvs, vals_list = [], []
    for j in range(m):
        u, inv = np.unique(S[:, j], return_inverse=True)
        lvs.append(inv.ravel())
        vals_list.append(u)
    L = max(len(u) for u in vals_list)
    vals = np.full((m, L), np.inf)
    for j, u in enumerate(vals_list):
        vals[j, : len(u)] = u
    return np.column_stack(lvs).astype(np.int64), vals


def _counts(lv: np.ndarray, L: int, g: Groups, weights: np.ndarray | None) -> np.ndarray:
    """Counts per (weight vector, profile, level): shape (m, P, L)."""
    _n, m = lv.shape
    P = g.n_profiles
    idx = lv + L * (g.profile[:, None] + P * np.arange(m)[None, :])
    w = None if weights is None else np.repeat(weights[:, None], m, axis=1).ravel()
    return np.bincount(idx.ravel(), weights=w, minlength=m * P * L).reshape(m, P, L)


def _first_above(cum: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Index of the first level whose cumulative count exceeds ``k`` (per row)."""
    return (cum <= k[..., None]).sum(axis=-1)


def _threshold(T: np.ndarray, vals: np.ndarray, sel: Selection, wsum: np.ndarray) -> np.ndarray:
    """First selected level per row of ``T`` (m, L) counts."""
    N = T.sum(axis=-1)
    cum = np.cumsum(T, axis=-1)
    if sel.kind == "median":
        i_lo = _first_above(cum, np.floor((N - 1) / 2))
        i_hi = _first_above(cum, np.floor(N / 2))
        L = vals.shape[-1]
        rows = np.arange(len(vals))
        med = (vals[rows, np.minimum(i_lo, L - 1)] + vals[rows, np.minimum(i_hi, L - 1)]) / 2
        return (vals <= med[:, None]).sum(axis=-1)
    if sel.kind == "cut":
        target = sel.value / 100.0 * wsum * sel.score_max
        return (vals < target[:, None] - 1e-9).sum(axis=-1)
    if sel.kind == "top_k":
        k = np.maximum(1.0, np.round(sel.value * N))
        top = np.cumsum(T[:, ::-1], axis=-1)  # counts at or above each level, from the top
        j = (top < k[:, None]).sum(axis=-1)  # levels from the top before reaching k
        return T.shape[-1] - 1 - np.minimum(j, T.shape[-1] - 1)
    raise ValueError(f"unknown selection {sel.kind!r}")


def _from_counts(
    C: np.ndarray,
    vals: np.ndarray,
    g: Groups,
    sel: Selection,
    wsum: np.ndarray,
    with_detail: bool = False,
) -> dict[str, Any]:
    """AUC, rates, impact ratios and the lowest ratio from counts (m, P, L)."""
    T = C.sum(axis=1)
    out: dict[str, Any] = {}
    if g.binary:
        pos = C[:, g.cls == 1, :].sum(axis=1)
        neg = C[:, g.cls == 0, :].sum(axis=1)
        below = np.cumsum(neg, axis=-1) - neg
        den = pos.sum(-1) * neg.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["auc"] = (pos * (below + 0.5 * neg)).sum(-1) / den
    t = _threshold(T, vals, sel, wsum)
    L = C.shape[-1]
    mask = np.arange(L)[None, :] >= t[:, None]  # (m, L)
    above = (C * mask[:, None, :]).sum(-1)  # (m, P)
    tot = C.sum(-1)  # (m, P)
    lowest = np.full(len(C), np.inf)
    detail = []
    for f in range(len(g.families)):
        k = len(g.labels[f])
        onehot = (g.cat[f][:, None] == np.arange(k)[None, :]).astype(float)  # (P, k)
        n_g = tot @ onehot
        a_g = above @ onehot
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = a_g / n_g
        inc = g.included[f] & np.ones_like(n_g, dtype=bool) & (n_g > 0)
        r_inc = np.where(inc, rate, np.nan)
        with np.errstate(invalid="ignore"):
            ref = np.nanmax(np.where(inc, rate, -np.inf), axis=1)
            ratio = r_inc / ref[:, None]
        ok = inc.sum(axis=1) >= 2
        low_f = np.where(ok & (ref > 0), np.nanmin(np.where(inc, ratio, np.inf), axis=1), np.nan)
        low_f = np.where(ok & (ref <= 0), 0.0, low_f)
        lowest = np.fmin(lowest, np.where(ok, low_f, np.inf))
        if with_detail:
            detail.append({"n": n_g, "rate": rate, "ratio": ratio, "included": inc})
    lowest[~np.isfinite(lowest)] = np.nan
    out["lowest_ratio"] = lowest
    out["threshold"] = t
    if with_detail:
        out["detail"] = detail
        # standardised difference of each included category vs everybody else (pooled SD)
        v = np.where(np.isfinite(vals), vals, 0.0)
        s1 = (C * v[:, None, :]).sum(-1)  # (m, P)
        s2 = (C * (v * v)[:, None, :]).sum(-1)
        N = tot.sum(-1)
        mean = s1.sum(-1) / N
        sd = np.sqrt(np.maximum(s2.sum(-1) / N - mean**2, 0.0))
        dmin = np.full(len(C), np.inf)
        for f in range(len(g.families)):
            k = len(g.labels[f])
            onehot = (g.cat[f][:, None] == np.arange(k)[None, :]).astype(float)
            n_g, sum_g = tot @ onehot, s1 @ onehot
            with np.errstate(invalid="ignore", divide="ignore"):
                m_g = sum_g / n_g
                m_r = (s1.sum(-1)[:, None] - sum_g) / (N[:, None] - n_g)
                d = (m_g - m_r) / sd[:, None]
            d = np.where(g.included[f][None, :] & (n_g > 0), d, np.inf)
            dmin = np.fmin(dmin, d.min(axis=1))
            detail[f]["d"] = d
        dmin[~np.isfinite(dmin)] = np.nan
        out["d_min"] = dmin
    return out


def _pearson(S: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    w = np.ones(len(y)) if w is None else w
    sw = w.sum()
    my = (w @ y) / sw
    ms = (w @ S) / sw
    dy = y - my
    cov = (w * dy) @ S / sw - 0.0 * ms
    vs = (w @ (S * S)) / sw - ms**2
    vy = (w @ (dy * dy)) / sw
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(np.maximum(vs, 0) * vy)


def evaluate(
    X: np.ndarray,
    W: np.ndarray,
    g: Groups,
    sel: Selection,
    *,
    weights: np.ndarray | None = None,
    chunk: int | None = None,
    detail: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Validity and lowest impact ratio of the composites ``X @ W.T``.

    Returns ``(validity, lowest_ratio, extra)``: validity is the AUC (binary) or Pearson r,
    ``lowest_ratio`` the smallest impact ratio over included categories of every family (NaN
    when no family has two included categories with people). ``weights`` are case weights
    (bootstrap multiplicities). ``extra`` holds ``d_min`` and per-family details when
    ``detail``.
    """
    W = np.atleast_2d(np.asarray(W, dtype=float))
    n = X.shape[0]
    m = len(W)
    if chunk is None:
        chunk = min(max(int(2e7 // max(n * max(g.n_profiles, 1), 1)), 8), 512)
    V, F = np.empty(m), np.empty(m)
    extra: dict[str, list[Any]] = {"d_min": [], "detail": []}
    for s in range(0, m, chunk):
        Wc = W[s : s + chunk]
        S = X @ Wc.T
        v, f, ex = evaluate_scores(S, g, sel, Wc.sum(axis=1), weights=weights, detail=detail)
        V[s : s + chunk], F[s : s + chunk] = v, f
        if detail:
            extra["d_min"].extend(ex["d_min"])
            extra["detail"].extend(ex["detail"])
    return V, F, extra


def evaluate_scores(
    S: np.ndarray,
    g: Groups,
    sel: Selection,
    wsum: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    levels: tuple[np.ndarray, np.ndarray] | None = None,
    detail: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """:func:`evaluate` for given composites ``S`` (n × m); ``wsum`` is each column's weight
    sum (the cut rule's scale: ``100/score_max`` for composites already on 0–100);
    ``levels`` = :func:`_levels` of ``S`` when computed once for many bootstrap calls."""
    lv, vals = _levels(S) if levels is None else levels
    C = _counts(lv, vals.shape[1], g, weights)
    res = _from_counts(C, vals, g, sel, np.asarray(wsum, float), with_detail=detail)
    V = res["auc"] if g.binary else _pearson(S, g.y, weights)
    extra: dict[str, Any] = {}
    if detail:
        extra["d_min"] = res["d_min"].tolist()
        extra["detail"] = [
            [{k: v[j] for k, v in fam.items()} for fam in res["detail"]] for j in range(len(C))
        ]
    return V, res["lowest_ratio"], extra


# ----------------------------------------------------------------------------- dominance
def non_dominated(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Boolean mask of points no other point dominates (both axes maximised; NaN F = worst).

    Points with identical (V, F) are all kept.

    Examples
    --------
    >>> non_dominated(np.array([0.7, 0.6, 0.65, 0.6]), np.array([0.8, 0.9, 0.7, 0.9])).tolist()
    [True, True, False, True]
    """
    V = np.asarray(V, float)
    F = np.where(np.isnan(F), -np.inf, np.asarray(F, float))
    keep = np.zeros(len(V), dtype=bool)
    if not len(V):
        return keep
    order = np.lexsort((-F, -V))  # by V desc, then F desc
    v, f = V[order], F[order]
    # in that order a point is kept when its F beats every F before it (higher V or same V);
    # identical (V, F) points are adjacent and share the first one's fate
    first = f > np.concatenate([[-np.inf], np.maximum.accumulate(f)[:-1]])
    starts = np.ones(len(v), dtype=bool)
    starts[1:] = (v[1:] != v[:-1]) | (f[1:] != f[:-1])
    keep[order] = first[starts][np.cumsum(starts) - 1]
    return keep


def _layers(V: np.ndarray, F: np.ndarray, depth: int) -> np.ndarray:
    """Points on the first ``depth`` non-dominated layers (peeling the front ``depth`` times)."""
    left = np.ones(len(V), dtype=bool)
    out = np.zeros(len(V), dtype=bool)
    for _ in range(depth):
        idx = np.flatnonzero(left)
        if not len(idx):
            break
        nd = idx[non_dominated(V[idx], F[idx])]
        out[nd] = True
        left[nd] = False
    return out


# ----------------------------------------------------------------------------- continuous trace
def _moments(X: np.ndarray, y: np.ndarray, g: Groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariance Σ of X, cov(X, y), and B = Σ_g δ_g δ_gᵀ over included categories."""
    Xc = X - X.mean(axis=0)
    n = len(X)
    sigma = Xc.T @ Xc / n
    c = Xc.T @ (y - y.mean()) / n
    B = np.zeros_like(sigma)
    for f in range(len(g.families)):
        codes = g.cat[f][g.profile]
        for k in np.flatnonzero(g.included[f]):
            sel = codes == k
            if sel.sum() == 0 or sel.all():
                continue
            delta = Xc[sel].mean(axis=0)
            B += np.outer(delta, delta)
    return sigma, c, B


def continuous_trace(
    X: np.ndarray, y: np.ndarray, g: Groups, *, max_weight: int = 10, n_mu: int = 15
) -> np.ndarray:
    """Weight ratios maximising ``R(w) − μ·D(w)`` for a grid of μ (rows; max weight 1).

    ``R(w) = wᵀc/√(wᵀΣw)`` is the composite's covariance-based validity (proportional to its
    correlation with the outcome), ``D(w) = wᵀBw/wᵀΣw`` the sum of squared standardised
    differences between each included category's mean composite and the overall mean. Both
    are scale-free; weights live in the box ``[1/max_weight, 1]`` (the ratios integer weights
    1–max_weight can express).
    """
    sigma, c, B = _moments(X, y, g)
    q = X.shape[1]
    lo = 1.0 / max_weight

    def parts(w: np.ndarray) -> tuple[float, np.ndarray, float, np.ndarray]:
        Q = float(w @ sigma @ w)
        Sw = sigma @ w
        N = float(w @ c)
        R = N / math.sqrt(Q)
        gR = c / math.sqrt(Q) - N * Sw / Q**1.5
        Bw = B @ w
        D = float(w @ Bw) / Q
        gD = 2 * Bw / Q - 2 * D * Sw / Q
        return R, gR, D, gD

    w0 = np.ones(q)
    R0, _, D0, _ = parts(w0)
    scale = abs(R0) / D0 if D0 > 1e-15 else 1.0
    mus = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, n_mu - 1) * scale])
    out = []
    starts = [w0]
    for mu in mus:
        best = None
        for start in [*starts, out[-1] if out else w0]:
            res = optimize.minimize(
                lambda w, mu=mu: _neg(parts(w), mu),
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=[(lo, 1.0)] * q,
            )
            if best is None or res.fun < best.fun:
                best = res
        w = best.x / best.x.max()
        out.append(w)
    return np.array(out)


def _neg(p: tuple[float, np.ndarray, float, np.ndarray], mu: float) -> tuple[float, np.ndarray]:
    R, gR, D, gD = p
    return -(R - mu * D), -(gR - mu * gD)


# ----------------------------------------------------------------------------- integer search
def _roundings(W: np.ndarray, max_weight: int) -> np.ndarray:
    """Integer vectors ``clip(round(k·w/max w), 1, max_weight)`` for every scale k."""
    out = []
    for w in W:
        w = np.asarray(w, float) / max(float(np.max(w)), 1e-12)
        for k in range(1, max_weight + 1):
            out.append(np.clip(np.round(w * k), 1, max_weight))
    return np.unique(np.array(out, dtype=np.int64), axis=0)


def _neighbours(w: np.ndarray, max_weight: int, swaps: bool) -> list[np.ndarray]:
    q = len(w)
    out = []
    for i in range(q):
        for d in (-1, 1):
            v = w.copy()
            v[i] += d
            if 1 <= v[i] <= max_weight:
                out.append(v)
    if swaps:
        for i in range(q):
            for j in range(q):
                if i != j and w[i] < max_weight and w[j] > 1:
                    v = w.copy()
                    v[i] += 1
                    v[j] -= 1
                    out.append(v)
    return out


@dataclass
class SearchResult:
    """All evaluated integer points and which are non-dominated (in the data searched)."""

    W: np.ndarray
    V: np.ndarray
    F: np.ndarray
    frontier: np.ndarray  # bool mask over W
    evaluated: int
    rounds: int


def integer_frontier(
    X: np.ndarray,
    y: np.ndarray,
    g: Groups,
    sel: Selection,
    *,
    max_weight: int = 10,
    extra: list[np.ndarray] | None = None,
    n_mu: int = 15,
    max_rounds: int = 50,
    swaps: bool | None = None,
    depth: int = 3,
    max_evals: int | None = None,
) -> SearchResult:
    """Non-dominated integer weights 1–``max_weight`` (validity, lowest impact ratio).

    Seeds: roundings of :func:`continuous_trace` at every scale, unit weights and ``extra``
    (today's weights, the plain suggestion). Then a Pareto local search: the non-dominated
    points not yet expanded get their ±1 neighbours (and one-step swaps ``+1 on i, −1 on j``
    for ``q ≤ 12``) evaluated; when the front has no unexpanded point, the next layers (up to
    ``depth``) are expanded too — the lowest impact ratio is a step function, and a front point
    can sit next to dominated points only. Stops when nothing is left to expand, or after
    ``max_evals`` weight vectors (default ``2·10⁸ / n``, at least 3,000: about eight seconds of
    one core whatever ``n``).
    """
    if max_evals is None:
        max_evals = int(max(3000, 2e8 / max(len(X), 1)))
    q = X.shape[1]
    swaps = q <= 12 if swaps is None else swaps
    trace = continuous_trace(X, y, g, max_weight=max_weight, n_mu=n_mu)
    seeds = [_roundings(trace, max_weight), np.ones((1, q), dtype=np.int64)]
    for e in extra or []:
        e = np.asarray(e, float)
        if np.all(np.isfinite(e)) and e.max() > 0:
            seeds.append(_roundings(e[None, :], max_weight))
    W = np.unique(np.vstack(seeds), axis=0)
    V, F, _ = evaluate(X, W, g, sel)
    seen = {tuple(w) for w in W}
    expanded: set[tuple[int, ...]] = set()
    rounds = 0
    while rounds < max_rounds:
        if len(W) >= max_evals:
            break
        todo = []
        for layer in range(1, depth + 1):
            near = np.flatnonzero(_layers(V, F, layer))
            todo = [W[i] for i in near if tuple(W[i]) not in expanded]
            if todo:
                break
        if not todo:
            break
        rounds += 1
        new = []
        for w in todo:
            if len(W) + len(new) >= max_evals:
                break
            expanded.add(tuple(w))
            for v in _neighbours(w, max_weight, swaps):
                t = tuple(v)
                if t not in seen:
                    seen.add(t)
                    new.append(v)
        if not new:
            continue
        Wn = np.array(new, dtype=np.int64)
        Vn, Fn, _ = evaluate(X, Wn, g, sel)
        W, V, F = np.vstack([W, Wn]), np.concatenate([V, Vn]), np.concatenate([F, Fn])
    return SearchResult(W, V, F, non_dominated(V, F), len(W), rounds)


def exhaustive_frontier(
    X: np.ndarray, y: np.ndarray, g: Groups, sel: Selection, *, max_weight: int
) -> SearchResult:
    """Every integer vector in ``{1..max_weight}^q`` evaluated (the brute-force reference)."""
    q = X.shape[1]
    W = np.array(list(product(range(1, max_weight + 1), repeat=q)), dtype=np.int64)
    V, F, _ = evaluate(X, W, g, sel)
    return SearchResult(W, V, F, non_dominated(V, F), len(W), 0)


def objective_set(res: SearchResult, digits: int = 12) -> set[tuple[float, float]]:
    """The (validity, lowest ratio) pairs of the non-dominated points, rounded."""
    return {
        (round(float(v), digits), round(float(f), digits) if np.isfinite(f) else -1.0)
        for v, f in zip(res.V[res.frontier], res.F[res.frontier], strict=True)
    }


def search(
    X: np.ndarray,
    y: np.ndarray,
    g: Groups,
    sel: Selection,
    *,
    max_weight: int = 10,
    extra: list[np.ndarray] | None = None,
    method: str = "auto",
    max_enumerate: float = 2e7,
) -> SearchResult:
    """The integer frontier: exhaustive when ``max_weight**q · n ≤ max_enumerate`` (or
    ``method="exhaustive"``), else :func:`integer_frontier` (``method="local"``)."""
    q = X.shape[1]
    size = float(max_weight) ** q
    if method == "auto":
        method = "exhaustive" if size * len(X) <= max_enumerate else "local"
    if method == "exhaustive":
        return exhaustive_frontier(X, y, g, sel, max_weight=max_weight)
    if method != "local":
        raise ValueError(f"method={method!r}; use 'auto', 'exhaustive' or 'local'")
    return integer_frontier(X, y, g, sel, max_weight=max_weight, extra=extra)
