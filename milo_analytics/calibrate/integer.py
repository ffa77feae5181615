"""The integer search: integer weights 1–10 whose ratios represent a suggestion."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from .estimator import _fit_glm, _fit_scale

MAX_WEIGHT = 10
MIN_WEIGHT = 1


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
