"""Time ``suggest_weights`` on 50,000 interviews × 10 questions (synthetic, no HTTP).

Run: ``python benchmarks/bench_calibrate.py [--n 50000] [--k 10] [--boot 200] [--jobs 2]``

Target on the 2-core build machines: under 60 s for the defaults with ``--jobs 2``. Prints the
total, the CV fit (plain, then with the nested λ choice that ``suggest_weights`` uses, and their
ratio) and the integer search measured separately, and, side by side in the same run,
``n_jobs=1`` vs ``n_jobs=2`` (cold: the first call starts joblib's worker pool; warm: the pool is
reused) for the whole call. BLAS is limited to one thread in the main process and in every
CV/bootstrap worker (threadpoolctl): the matrices are tall and skinny, and two workers must not
oversubscribe two cores. Timings are noisy on a shared machine; the load average is printed.

Measured 2026-11-28 on the shared 2-core build machine (load average 4–8 from other jobs):
``suggest_weights`` 50,000 × 10 with ``n_boot=200``: 10–41 s; warm ``n_jobs=2`` ≈ 1.7× faster
than ``n_jobs=1`` when the machine is otherwise idle-ish, no gain at load 8.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from milo_analytics.calibrate import WeightSuggester, integer_weights, suggest_weights
from milo_analytics.calibrate.suggest import INNER_FOLDS
from milo_analytics.frames import InterviewData


def synthetic(n: int, k: int, seed: int = 0) -> tuple[InterviewData, pd.DataFrame]:
    """Correlated 1–5 scores; hired from true weights that differ from today's on two items."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    X = np.clip(np.round(3 + 0.8 * g[:, None] + rng.normal(size=(n, k))), 1, 5)
    current = np.full(k, 2.0)
    current[1], current[-1] = 3.0, 1.0
    true = np.full(k, 2.0)
    true[1], true[-1] = 0.5, 4.0
    eta = 0.3 * (X - 3) @ true - 1.3
    hired = rng.random(n) < 1 / (1 + np.exp(-eta))
    ids = np.array([f"iv{i:06d}" for i in range(n)])
    qids = [f"q{j:02d}" for j in range(k)]
    questions = pd.DataFrame(
        {
            "posting_id": "BENCH",
            "question_id": qids,
            "rank": range(1, k + 1),
            "text": [f"Question {j}" for j in range(k)],
            "score_weight": current,
            "not_scored": False,
        }
    )
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(ids, k),
            "posting_id": "BENCH",
            "question_id": np.tile(qids, n),
            "rank": np.tile(np.arange(1, k + 1), n),
            "score": X.ravel(),
            "score_weight": np.tile(current, n),
            "not_scored": False,
            "evaluation_summary": "",
        }
    )
    outcomes = pd.DataFrame({"interview_id": ids, "hired": pd.array(hired, dtype="boolean")})
    return InterviewData(questions=questions, scores=scores), outcomes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-compare", action="store_true", help="Skip the n_jobs=1 run.")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data, outcomes = synthetic(args.n, args.k)
    print(f"synthetic data: {args.n:,} interviews × {args.k} questions "
          f"({time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}")  # fmt: skip

    X = data.score_matrix().to_numpy()
    y = outcomes["hired"].astype(float).to_numpy()
    base = data.questions["score_weight"].astype(float).to_numpy()
    t = time.perf_counter()
    est = WeightSuggester(baseline_weights=base, n_jobs=args.jobs).fit(X, y)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    WeightSuggester(baseline_weights=base, n_jobs=args.jobs)._fit(X, y, inner_folds=INNER_FOLDS)
    t_nested = time.perf_counter() - t
    t = time.perf_counter()
    choice = integer_weights(est.weights_, base, X, y, True, mle=est._mle_fit)
    t_int = time.perf_counter() - t
    print(f"  WeightSuggester.fit (3×5-fold CV over 21 λ, n_jobs={args.jobs}): {t_fit:6.1f} s")
    print(f"  same fit + nested λ (inner {INNER_FOLDS}-fold CV per outer fold, 11 λ): "
          f"{t_nested:6.1f} s (ratio {t_nested / t_fit:.2f}×)")  # fmt: skip
    print(f"  integer search (all rows):                             {t_int:6.1f} s "
          f"-> {choice.weights.tolist()}")  # fmt: skip

    t = time.perf_counter()
    s = suggest_weights(data, outcomes, n_boot=args.boot, n_jobs=args.jobs)
    total = time.perf_counter() - t
    print(f"suggest_weights n_boot={args.boot} n_jobs={args.jobs}: {total:.1f} s "
          f"(target < 60 s) -> {s.recommendation}, "
          f"integer {s.table['suggested_integer'].tolist()}")  # fmt: skip
    print(s.comparison.round(4).to_string())
    if not args.no_compare and args.jobs != 1:
        # side by side in this run: serial, then parallel again with the worker pool warm
        t = time.perf_counter()
        suggest_weights(data, outcomes, n_boot=args.boot, n_jobs=1)
        single = time.perf_counter() - t
        t = time.perf_counter()
        suggest_weights(data, outcomes, n_boot=args.boot, n_jobs=args.jobs)
        warm = time.perf_counter() - t
        print(f"side by side: n_jobs=1 {single:.1f} s; n_jobs={args.jobs} {total:.1f} s cold "
              f"(starts the worker pool), {warm:.1f} s warm (ratio serial/warm "
              f"{single / warm:.2f}×)")  # fmt: skip
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
