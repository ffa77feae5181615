"""Bootstrap intervals at scale: the vectorised engine against the old per-resample loops.

Run: ``python benchmarks/bench_bootstrap.py [--n 100000] [--n-old 10000] [--k 10] [--boot 200]
[--check-n 2000 20000] [--coverage-reps 200]``

Five parts, all in one run on synthetic InterviewData (no HTTP):

1. **old vs new at ``--n-old``** (10,000 × 10): each bootstrap analysis by the old loop
   (``milo_analytics.analysis._loop_reference``) and the vectorised engine on the same seed —
   wall and CPU seconds, the speed-up, and the largest difference between their interval
   endpoints (the resamples are the same draws, so it should be rounding, not Monte-Carlo
   error; the seed-to-seed spread of the endpoints is printed beside it for scale).
2. **new at ``--n``** (100,000 × 10): each bootstrap analysis, ``n_jobs`` 1 and 2, plus
   ``interval="auto"`` (delta method above 20,000 rows) where it applies. Target < 5 s each.
3. **delta method vs bootstrap** at ``--check-n``: 2,000-resample percentile intervals against
   delta-method intervals — SE ratio and endpoint differences in units of the half-width.
4. **coverage with known truth**: linear relative weights of a multivariate normal population
   (truth from its correlation matrix), delta-method and bootstrap intervals at n = 2,000.
5. **one shared resample set**: drawing it, and speech + importance reusing it.

Wall times depend on the machine's load (printed); CPU seconds much less so.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from milo_analytics.analysis import (
    Resamples,
    dominance_analysis,
    question_importance,
    relative_weights,
    speech_summary,
)
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.analysis._loop_reference import (
    dominance_loop,
    incremental_loop,
    relative_weights_loop,
)
from milo_analytics.analysis.resample import draw_counts
from milo_analytics.analysis.speech import _incremental

CI_COLS = ["ci_low", "ci_high", "rescaled_ci_low", "rescaled_ci_high"]


def clock(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def world(n: int, k: int, seed: int = 1) -> dict[str, Any]:
    data, truth = synthetic_interview_data(n, k, seed=seed)
    rng = np.random.default_rng(seed + 1)
    ids = data.interviews["interview_id"].to_numpy()
    ability = truth["ability"].to_numpy()
    hired = rng.uniform(size=n) < 1 / (1 + np.exp(-(ability - 1.2)))
    wide = data.score_matrix()
    y = pd.Series(hired, index=ids).reindex(wide.index).to_numpy()
    perf = pd.Series(ability + rng.normal(size=n), index=ids).reindex(wide.index).to_numpy()
    sp = data.interviews.set_index("interview_id")["speech_score"].reindex(wide.index).to_numpy()
    outcomes = pd.DataFrame({"interview_id": ids, "hired": hired})
    return {"data": data, "wide": wide, "y": y, "perf": perf, "sp": sp, "outcomes": outcomes}


# ----------------------------------------------------------------------------- 1. old vs new
def old_vs_new(n: int, k: int, boot: int) -> None:
    print(f"\n1. old loop vs vectorised, {n:,} × {k}, {boot} resamples, same seed ({load()})")
    w = world(n, k)
    X, y, perf = w["wide"], w["y"], w["perf"]
    Q, sp = X.to_numpy("float64"), w["sp"]
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[int], Any]]] = [
        (
            "relative_weights (logistic)",
            lambda: relative_weights_loop(X, y, n_boot=boot, seed=3),
            lambda: relative_weights(X, y, n_boot=boot, seed=3, interval="bootstrap"),
            lambda s: relative_weights(X, y, n_boot=boot, seed=s, interval="bootstrap"),
        ),
        (
            "relative_weights (linear)",
            lambda: relative_weights_loop(X, perf, n_boot=boot, seed=3),
            lambda: relative_weights(X, perf, n_boot=boot, seed=3, interval="bootstrap"),
            lambda s: relative_weights(X, perf, n_boot=boot, seed=s, interval="bootstrap"),
        ),
        (
            "dominance_analysis (LMG)",
            lambda: dominance_loop(X, y, n_boot=boot, seed=3),
            lambda: dominance_analysis(X, y, n_boot=boot, seed=3, interval="bootstrap"),
            lambda s: dominance_analysis(X, y, n_boot=boot, seed=s, interval="bootstrap"),
        ),
        (
            "speech ΔAUC (binary outcome)",
            lambda: incremental_loop(Q, sp, y.astype(float), boot, 0.95, 3),
            lambda: _incremental(Q, sp, y.astype(float), draw_counts(n, boot, 3), 0.95),
            lambda s: _incremental(Q, sp, y.astype(float), draw_counts(n, boot, s), 0.95),
        ),
        (
            "speech ΔR² (continuous outcome)",
            lambda: incremental_loop(Q, sp, perf, boot, 0.95, 3),
            lambda: _incremental(Q, sp, perf, draw_counts(n, boot, 3), 0.95),
            lambda s: _incremental(Q, sp, perf, draw_counts(n, boot, s), 0.95),
        ),
    ]

    def ends(res: Any) -> np.ndarray:
        if isinstance(res, pd.DataFrame):
            return res[CI_COLS].to_numpy().ravel()
        if isinstance(res, dict):
            return np.array([res["ci_low"], res["ci_high"]])
        return np.asarray(res, dtype=float)

    print(
        f"{'analysis':<34} {'old s':>7} {'new s':>7} {'ratio':>6} {'old cpu':>8} {'new cpu':>8}"
        f" {'max |Δ endpoint|':>17} {'seed spread':>12}"
    )
    for label, old, new, other in cases:
        o, ow, oc = clock(old)
        nw_, nww, nwc = clock(new)
        spread = np.std([ends(other(s)) for s in (11, 12, 13, 14)], axis=0).max()
        diff = np.nanmax(np.abs(ends(o) - ends(nw_)))
        print(
            f"{label:<34} {ow:7.2f} {nww:7.2f} {ow / nww:5.1f}× {oc:8.2f} {nwc:8.2f}"
            f" {diff:17.2e} {spread:12.2e}"
        )


# ----------------------------------------------------------------------------- 2. at scale
def at_scale(n: int, k: int, boot: int) -> None:
    print(f"\n2. vectorised at {n:,} × {k}, {boot} resamples ({load()})")
    w = world(n, k)
    X, y, perf, data, outcomes = w["wide"], w["y"], w["perf"], w["data"], w["outcomes"]
    relative_weights(X.iloc[:500], y[:500], n_boot=5)  # imports out of the timings
    cases = [
        (
            "relative_weights (logistic)",
            lambda j: relative_weights(X, y, n_boot=boot, n_jobs=j, interval="bootstrap"),
        ),
        (
            "relative_weights (linear)",
            lambda j: relative_weights(X, perf, n_boot=boot, n_jobs=j, interval="bootstrap"),
        ),
        (
            "dominance_analysis (LMG)",
            lambda j: dominance_analysis(X, y, n_boot=boot, n_jobs=j, interval="bootstrap"),
        ),
        (
            "question_importance",
            lambda j: question_importance(
                data, outcomes, n_boot=boot, n_jobs=j, interval="bootstrap"
            ),
        ),
        (
            "speech_summary (+ outcome)",
            lambda j: speech_summary(data, outcomes, n_boot=boot, n_jobs=j),
        ),
    ]
    auto = {
        "relative_weights (logistic)": lambda: relative_weights(X, y, n_boot=boot),
        "relative_weights (linear)": lambda: relative_weights(X, perf, n_boot=boot),
        "dominance_analysis (LMG)": lambda: dominance_analysis(X, y, n_boot=boot),
        "question_importance": lambda: question_importance(data, outcomes, n_boot=boot),
    }
    print(
        f"{'analysis':<30} {'bootstrap: wall':>15} {'cpu':>6} {'n_jobs=2 wall':>14} {'cpu':>6}"
        f"   {'auto (delta): wall':>18} {'cpu':>6}"
    )
    for label, fn in cases:
        _, w1, c1 = clock(lambda f=fn: f(1))
        _, w2, c2 = clock(lambda f=fn: f(2))
        extra = ""
        if label in auto:
            _, wa, ca = clock(auto[label])
            extra = f"   {wa:18.2f} {ca:6.2f}"
        flag = "" if min(w1, w2) < 5 else "   (over 5 s)"
        print(f"{label:<30} {w1:15.2f} {c1:6.2f} {w2:14.2f} {c2:6.2f}{extra}{flag}")


# ----------------------------------------------------------------------------- 3. delta check
def delta_check(ns: list[int], k: int, boot: int = 2000) -> None:
    print(f"\n3. delta method vs a {boot}-resample bootstrap ({load()})")
    print(
        "   per statistic: median and max of SE(delta)/SD(bootstrap), and of "
        "|endpoint difference| / bootstrap half-width, over the rescaled weights"
    )
    for n in ns:
        w = world(n, k, seed=5)
        X, y, perf = w["wide"], w["y"], w["perf"]
        for label, fn in [
            (
                "relative weights, logistic",
                lambda m, X=X, y=y: relative_weights(X, y, n_boot=boot, seed=9, interval=m),
            ),
            (
                "relative weights, linear",
                lambda m, X=X, p=perf: relative_weights(X, p, n_boot=boot, seed=9, interval=m),
            ),
            (
                "LMG",
                lambda m, X=X, p=perf: dominance_analysis(X, p, n_boot=boot, seed=9, interval=m),
            ),
        ]:
            b = fn("bootstrap")
            d = fn("analytic")
            half_b = (b["rescaled_ci_high"] - b["rescaled_ci_low"]) / 2
            half_d = (d["rescaled_ci_high"] - d["rescaled_ci_low"]) / 2
            gap = (
                np.maximum(
                    (b["rescaled_ci_low"] - d["rescaled_ci_low"]).abs(),
                    (b["rescaled_ci_high"] - d["rescaled_ci_high"]).abs(),
                )
                / half_b
            )
            ratio = half_d / half_b
            print(
                f"   n = {n:>6,}  {label:<28} SE ratio median {ratio.median():.3f} "
                f"[{ratio.min():.3f}, {ratio.max():.3f}]   endpoint gap median "
                f"{gap.median():.3f}, max {gap.max():.3f} half-widths"
            )


# ----------------------------------------------------------------------------- 4. coverage
def population_rw(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A correlation matrix of [y, X] (one-factor X, y depending on two of them) and its
    population relative weights (rescaled, percent)."""
    rng = np.random.default_rng(seed)
    load_ = np.linspace(0.8, 0.4, k)
    R = np.outer(load_, load_)
    np.fill_diagonal(R, 1.0)
    beta = np.zeros(k)
    beta[0], beta[k // 2] = 0.35, 0.25
    beta += rng.uniform(0, 0.05, size=k)
    rxy = R @ beta
    full = np.empty((k + 1, k + 1))
    full[0, 0] = 1.0
    full[0, 1:] = full[1:, 0] = rxy
    full[1:, 1:] = R
    raw, _, r2 = _rw_linear_from_corr(full)
    return full, 100 * raw / r2


def _rw_linear_from_corr(R: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Johnson's weights from a population correlation matrix (outcome first), as
    ``importance._rw_linear`` computes them from a sample's."""
    evals, evecs = np.linalg.eigh(R[1:, 1:])
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, R[1:, 0])
    raw = (lam**2) @ beta**2
    return raw, beta, float(np.sum(beta**2))


def coverage(reps: int, n: int = 2000, k: int = 6, boot: int = 200) -> None:
    print(
        f"\n4. coverage of 95 % intervals on a known population, n = {n:,}, k = {k}, {reps} "
        f"samples, bootstrap {boot} resamples ({load()})"
    )
    rng = np.random.default_rng(17)
    R, truth_lin = population_rw(k, seed=3)
    L = np.linalg.cholesky(R)
    # logistic: X ~ N(0, Rxx), P(y = 1) = expit(−1 + X·b); the population weights are the
    # statistic's probability limit, computed once on 2,000,000 draws (its s.e. there is ~3 %
    # of the s.e. at n = 2,000)
    b = np.zeros(k)
    b[0], b[k // 2], b[-1] = 0.8, 0.5, 0.2

    def logistic_sample(m: int) -> tuple[pd.DataFrame, np.ndarray]:
        Xs = rng.normal(size=(m, k)) @ np.linalg.cholesky(R[1:, 1:]).T
        ys = rng.uniform(size=m) < 1 / (1 + np.exp(1.0 - Xs @ b))
        return pd.DataFrame(Xs, columns=[f"q{j}" for j in range(k)]), ys

    big_X, big_y = logistic_sample(2_000_000)
    truth_log = relative_weights(big_X, big_y)["rescaled_weight"].to_numpy()
    del big_X, big_y
    for label, truth, draw in (
        ("linear", truth_lin, lambda: _normal_sample(rng, L, n, k)),
        ("logistic", truth_log, lambda: logistic_sample(n)),
    ):
        hits = {"delta": np.zeros(k), "bootstrap": np.zeros(k)}
        t0 = time.perf_counter()
        for r in range(reps):
            X, y = draw()
            for how, m in (("delta", "analytic"), ("bootstrap", "bootstrap")):
                rw = relative_weights(X, y, n_boot=boot, seed=r, interval=m)
                hits[how] += (rw["rescaled_ci_low"] <= truth) & (truth <= rw["rescaled_ci_high"])
        se = np.sqrt(0.95 * 0.05 / reps)
        print(
            f"   {label} (truth {np.round(truth, 1).tolist()} %; {time.perf_counter() - t0:.0f} s)"
        )
        for how, h in hits.items():
            cov = h / reps
            print(
                f"     {how:<10} coverage per predictor {np.round(cov, 3).tolist()}  "
                f"mean {cov.mean():.3f} (nominal 0.95, MC s.e. {se:.3f} each)"
            )


def _normal_sample(
    rng: np.random.Generator, L: np.ndarray, n: int, k: int
) -> tuple[pd.DataFrame, np.ndarray]:
    Z = rng.normal(size=(n, k + 1)) @ L.T
    return pd.DataFrame(Z[:, 1:], columns=[f"q{j}" for j in range(k)]), Z[:, 0]


# ----------------------------------------------------------------------------- 5. shared set
def shared(n: int, k: int, boot: int) -> None:
    print(f"\n5. one shared resample set, {n:,} interviews, {boot} resamples ({load()})")
    w = world(n, k)
    data, outcomes = w["data"], w["outcomes"]
    rs, dw, dc = clock(lambda: Resamples.for_data(data, n_boot=boot, seed=0))
    _, dw2, dc2 = clock(lambda: rs.counts)
    print(
        f"   Resamples.for_data: {dw + dw2:.2f} s wall ({dc + dc2:.2f} CPU), "
        f"{rs.nbytes / 1e6:.0f} MB of counts"
    )
    _, sw, sc = clock(
        lambda: (
            speech_summary(data, outcomes, bootstrap=rs),
            question_importance(data, outcomes, bootstrap=rs, interval="bootstrap"),
        )
    )
    _, ow, oc = clock(
        lambda: (
            speech_summary(data, outcomes, n_boot=boot, seed=0),
            question_importance(data, outcomes, n_boot=boot, seed=0, interval="bootstrap"),
        )
    )
    print(
        f"   speech + importance with the shared set: {sw:.2f} s ({sc:.2f} CPU); "
        f"each drawing its own: {ow:.2f} s ({oc:.2f} CPU)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--n-old", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--check-n", type=int, nargs="*", default=[2_000, 20_000])
    ap.add_argument("--coverage-reps", type=int, default=200)
    ap.add_argument("--parts", default="12345", help="which parts to run, e.g. 13")
    a = ap.parse_args()
    print(f"bench_bootstrap: {os.cpu_count()} CPUs, {load()}")
    if "1" in a.parts:
        old_vs_new(a.n_old, a.k, a.boot)
    if "2" in a.parts:
        at_scale(a.n, a.k, a.boot)
    if "3" in a.parts:
        delta_check(a.check_n, a.k)
    if "4" in a.parts and a.coverage_reps:
        coverage(a.coverage_reps)
    if "5" in a.parts:
        shared(a.n, a.k, a.boot)


if __name__ == "__main__":
    main()
