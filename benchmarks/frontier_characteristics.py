"""Operating characteristics of ``weight_frontier``'s decisions, by seeded simulation.

Run: ``python benchmarks/frontier_characteristics.py [--runs 20] [--n 1500] [--seed 0]``

Two kinds of world, 5 questions (correlated 1–5 scores), hired from unit true weights:

- *null*: sex and race/ethnicity unrelated to the scores — every lowest ratio under 1 is noise;
  the output should say "no trade-off" (false trade-off rate, target ≤ 5 %);
- *planted*: women likelier when question 2 is high given the others (its unique part), the
  world of ``tests/test_frontier.py`` — the trade-off should be found (power), and
  ``choose(min_impact_ratio=0.9)`` should return a point whose held-out ratio is ≥ 0.9 and
  whose held-out AUC is within 0.01 of the most valid point's.

Prints one row per world kind: runs, share with a trade-off, share where point A is flagged by
the audit rule, share where ``choose(min_impact_ratio=0.9)`` succeeds and, among those, the
median validity cost and the share within 0.01. Measured numbers are in docs/methods.md §8.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from milo_analytics.analysis._common import interview_data_from_matrix
from milo_analytics.calibrate.frontier import weight_frontier
from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData


def world(n: int, gap: float, seed: int) -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    k = 5
    g = rng.normal(size=n)
    X = np.clip(np.round(3 + 0.6 * g[:, None] + rng.normal(size=(n, k))), 1, 5)
    others = np.c_[np.ones(n), np.delete(X, 1, axis=1)]
    resid = X[:, 1] - others @ np.linalg.lstsq(others, X[:, 1], rcond=None)[0]
    female = rng.random(n) < 1 / (1 + np.exp(gap * resid / resid.std()))
    eta = 1.2 * ((X - X.mean(0)) / X.std(0)).sum(axis=1) / np.sqrt(k)
    hired = rng.random(n) < 1 / (1 + np.exp(-(eta - 1.2)))
    ids = np.array([f"iv{i:06d}" for i in range(n)])
    qids = [f"q{j}" for j in range(k)]
    current = np.array([2.0, 3.0, 2.0, 2.0, 1.0])
    data = interview_data_from_matrix(X, current, ids=ids, qids=qids, posting_id="SIM")
    race = rng.choice(
        ["White", "Black or African American", "Asian", "Unknown"], n, p=[0.5, 0.25, 0.15, 0.1]
    )
    outcomes = pd.DataFrame({"interview_id": ids, "hired": pd.array(hired, dtype="boolean")})
    demo = pd.DataFrame(
        {"interview_id": ids, "sex": np.where(female, "Female", "Male"), "race_ethnicity": race}
    )
    return data, outcomes, demo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for kind, gap, groups in (("null", 0.0, ("sex", "race_ethnicity")), ("planted", 8.0, ("sex",))):
        res = []
        for r in range(args.runs):
            data, outcomes, demo = world(args.n, gap, args.seed + 1000 * (kind == "planted") + r)
            fr = weight_frontier(data, outcomes, demo, groups=groups, suggestion=False,
                                 n_boot=100, random_state=r)  # fmt: skip
            a = fr.table.iloc[0]
            out = {"trade_off": fr.trade_off, "a_flagged": bool(a["flagged"]), "chosen": False}
            try:
                s = fr.choose(min_impact_ratio=0.9)
                row = fr.table.set_index("point").loc[s.settings["frontier"]["point"]]
                out.update(chosen=True, cost=float(a["validity"] - row["validity"]))
            except DataError:
                pass
            res.append(out)
        df = pd.DataFrame(res)
        ch = df[df["chosen"]]
        rows.append(
            {
                "world": kind,
                "runs": len(df),
                "trade_off": df["trade_off"].mean(),
                "A_flagged": df["a_flagged"].mean(),
                "choose_0.9_ok": df["chosen"].mean(),
                "median_auc_cost": ch["cost"].median() if len(ch) else np.nan,
                "cost_le_0.01": (ch["cost"] <= 0.01).mean() if len(ch) else np.nan,
            }
        )
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    print(f"n={args.n}, runs={args.runs}, seed={args.seed}; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
