"""Time ``weight_frontier`` on 50,000 interviews × 10 questions with two groupings (no HTTP).

Run: ``python benchmarks/bench_frontier.py [--n 50000] [--k 10] [--boot 200] [--jobs 2]``

Target on the 2-core build machines: under 120 s for the defaults (sex and race/ethnicity, so
three families with the intersection; median split; 5 outer folds; 200 bootstrap resamples).
Prints, side by side in the same run, the parts: the plain ``suggest_weights`` it shows on the
same axes, one integer search on all rows, and the whole call with ``n_jobs=1`` and
``n_jobs=2``. The world: correlated 1–5 scores; women score lower on question 2 beyond what the
other questions say; hired from unit true weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_calibrate import synthetic

from milo_analytics.calibrate import frontier_search as core
from milo_analytics.calibrate import suggest_weights
from milo_analytics.calibrate.frontier import _families, weight_frontier


def demographics(data, seed: int = 1) -> pd.DataFrame:
    """Sex tied to question 2's unique part; race/ethnicity random with 5 % unknown."""
    X = data.score_matrix().to_numpy()
    n = len(X)
    rng = np.random.default_rng(seed)
    others = np.c_[np.ones(n), np.delete(X, 1, axis=1)]
    resid = X[:, 1] - others @ np.linalg.lstsq(others, X[:, 1], rcond=None)[0]
    female = rng.random(n) < 1 / (1 + np.exp(4 * resid / resid.std()))
    races = ["White", "Black or African American", "Hispanic or Latino", "Asian", "Unknown"]
    race = rng.choice(races, n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    return pd.DataFrame(
        {
            "interview_id": data.score_matrix().index.astype("str"),
            "sex": np.where(female, "Female", "Male"),
            "race_ethnicity": race,
        }
    )


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
    demo = demographics(data)
    print(f"synthetic data: {args.n:,} interviews × {args.k} questions, sex and race/ethnicity "
          f"({time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}")  # fmt: skip

    t = time.perf_counter()
    suggest_weights(data, outcomes, n_boot=0, cv_repeats=1, n_jobs=args.jobs)
    t_sugg = time.perf_counter() - t
    X = data.score_matrix().to_numpy()
    y = outcomes["hired"].astype(float).to_numpy()
    ids = data.score_matrix().index.astype("str")
    fams, _, _ = _families(demo, data, "interview_id", ids, ("sex", "race_ethnicity"))
    g = core.Groups.build(y, True, fams)
    t = time.perf_counter()
    res = core.search(X, y, g, core.Selection("median"), max_weight=10)
    t_search = time.perf_counter() - t
    print(f"  suggest_weights (n_boot=0, 1×5-fold):  {t_sugg:6.1f} s")
    print(f"  one integer search on all rows:         {t_search:6.1f} s ({res.evaluated:,} weight "
          f"vectors, {int(res.frontier.sum())} non-dominated)")  # fmt: skip

    t = time.perf_counter()
    fr = weight_frontier(data, outcomes, demo, key="interview_id", n_boot=args.boot,
                         n_jobs=args.jobs)  # fmt: skip
    total = time.perf_counter() - t
    print(f"weight_frontier n_boot={args.boot} n_jobs={args.jobs}: {total:.1f} s "
          f"(target < 120 s); trade-off: {fr.trade_off}")  # fmt: skip
    cols = ["point", "weights", "validity", "impact_ratio", "lowest_group", "flagged", "dominated"]
    print(fr.table[cols].round(3).to_string(index=False))
    if not args.no_compare and args.jobs != 1:
        t = time.perf_counter()
        weight_frontier(data, outcomes, demo, key="interview_id", n_boot=args.boot, n_jobs=1)
        single = time.perf_counter() - t
        print(f"side by side: n_jobs=1 {single:.1f} s; n_jobs={args.jobs} {total:.1f} s "
              f"(ratio {single / total:.2f}×)")  # fmt: skip
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
