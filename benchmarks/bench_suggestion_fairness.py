"""Operating characteristics of the fairness check under a weight suggestion (issue 10 item 3).

The check (``suggest_weights(..., demographics=...)``, ``WeightSuggestion.fairness``) applies
the bias audit's rule to the composite score under today's and the suggested weights: LL144
scoring rate (and selection at a cut), sex / race-ethnicity / intersection, the 2 % exclusion,
flag = ratio < 0.8 AND Holm-significant AND n ≥ 30. It replaced a check that flagged any ratio
under 0.8 or any drop over 0.05 without a test or a minimum n.

Part 1 — the rule on composites (many worlds, seconds): five correlated 1–5 questions, today's
weights [2, 3, 2, 2, 1.5], suggested [2, 0.5, 2, 2, 4]; sex and race/ethnicity drawn
independently (``null_demographics``: 6 % / 8 % unknown, two race categories under 2 %).
Null worlds: no group difference — any flag is false. Planted worlds: Female candidates score
``gap`` points lower on q4, which the suggestion weighs up (population impact ratios of Female,
from 200,000 draws, printed beside). Printed: share of worlds with any flag under the suggested
weights, with a *new* flag (not flagged today), with Female flagged, and what the old check said.

Part 2 — end to end: ``suggest_weights`` on simulated postings (hired ~ logistic of the true
weights [2, 0.5, 2, 2, 4]); null = demographics independent of everything; planted = Female
lower on q4 by ``gap``; the fairness check (``suggestion_fairness``, what ``suggest_weights``
runs with ``demographics=``) on the suggested integer weights. Printed: the share of postings
with a flag under the suggested weights.

Run::

    python benchmarks/bench_suggestion_fairness.py                 # seed 0
    python benchmarks/bench_suggestion_fairness.py --runs 200 --e2e-runs 20
    python benchmarks/bench_suggestion_fairness.py --runs 0 --e2e-runs 100   # part 2 only
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from milo_analytics import suggest_weights
from milo_analytics.analysis import impact_before_after
from milo_analytics.analysis._common import interview_data_from_matrix
from milo_analytics.calibrate.fairness import (
    null_demographics,
    suggestion_fairness,
)
from milo_analytics.frames import InterviewData

CURRENT = np.array([2.0, 3.0, 2.0, 2.0, 1.5])
SUGGESTED = np.array([2.0, 0.5, 2.0, 2.0, 4.0])


def scores(n: int, rng: np.random.Generator, female: np.ndarray, gap: float) -> np.ndarray:
    ability = rng.normal(size=n)
    x = 3 + 0.8 * ability[:, None] + rng.normal(size=(n, 5))
    x[:, 4] -= gap * female
    return np.clip(np.round(x), 1, 5)


def composite(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 100 * (x * w).sum(1) / (w.sum() * 5)


def composite_world(n: int, seed: int, gap: float) -> pd.DataFrame:
    demo = null_demographics([f"i{k}" for k in range(n)], seed=seed)
    x = scores(n, np.random.default_rng(seed + 10_000), (demo["sex"] == "Female").to_numpy(), gap)
    return demo.assign(current=composite(x, CURRENT), suggested=composite(x, SUGGESTED))


def old_rule(t: pd.DataFrame) -> bool:
    t = t[(t["measure"] == "scoring") & t["dimension"].isin(["sex", "race_ethnicity"])]
    t = t[~t["excluded"]]
    return bool(((t["ratio_suggested"] < 0.8) | (t["change"] < -0.05)).any())


def part1(runs: int, seed: int) -> pd.DataFrame:
    rows = []
    for n, gap, cut in [(300, 0.0, None), (600, 0.0, None), (600, 0.0, 60.0), (1200, 0.0, None),
                        (600, 0.7, None), (600, 1.0, None), (600, 1.2, None), (600, 1.5, None),
                        (1200, 1.0, None)]:  # fmt: skip
        pop = impact_before_after(composite_world(200_000, 1, gap), current="current",
                                  suggested="suggested", dimensions=("sex",))  # fmt: skip
        fem = pop[pop["group"] == "Female"].iloc[0]
        hits = {"any": 0, "new": 0, "female": 0, "today": 0, "old": 0}
        t0 = time.perf_counter()
        for r in range(runs):
            t = impact_before_after(composite_world(n, seed + r, gap), current="current",
                                    suggested="suggested", cut=cut)  # fmt: skip
            hits["any"] += t["flagged_suggested"].any()
            hits["new"] += (t["flagged_suggested"] & ~t["flagged_current"]).any()
            f = t[(t["measure"] == "scoring") & (t["group"] == "Female")]
            hits["female"] += bool(f["flagged_suggested"].any())
            hits["today"] += t["flagged_current"].any()
            hits["old"] += old_rule(t)
        rows.append({"n": n, "gap (q4 points)": gap, "cut": "-" if cut is None else cut,
                     "Female ratio today": fem["ratio_current"],
                     "Female ratio suggested": fem["ratio_suggested"],
                     "any flag suggested": hits["any"] / runs, "new flag": hits["new"] / runs,
                     "Female flagged": hits["female"] / runs,
                     "any flag today": hits["today"] / runs, "old check": hits["old"] / runs,
                     "s/world": (time.perf_counter() - t0) / runs})  # fmt: skip
    return pd.DataFrame(rows)


def posting(n: int, seed: int, gap: float) -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    ids = [f"iv{i:05d}" for i in range(n)]
    demo = null_demographics(ids, seed=seed)
    rng = np.random.default_rng(seed + 20_000)
    x = scores(n, rng, (demo["sex"] == "Female").to_numpy(), gap)
    eta = 0.35 * (x - 3) @ SUGGESTED - 1.3
    hired = rng.random(n) < 1 / (1 + np.exp(-eta))
    qids = [f"q{j}" for j in range(5)]
    data = interview_data_from_matrix(x, CURRENT, ids=ids, qids=qids)
    outcomes = pd.DataFrame({"interview_id": pd.array(ids, dtype="str"),
                             "hired": pd.array(hired, dtype="boolean")})  # fmt: skip
    return data, outcomes, demo


def part2(runs: int, seed: int) -> pd.DataFrame:
    rows = []
    for n, gap in [(600, 0.0), (600, 1.2)]:
        flagged = new = changed = 0
        t0 = time.perf_counter()
        for r in range(runs):
            data, outcomes, demo = posting(n, seed + r, gap)
            s = suggest_weights(data, outcomes, n_boot=50, random_state=r)
            t = s.table
            fair, _ = suggestion_fairness(
                data.score_matrix("P"), t["current_weight"].to_numpy(float),
                t["suggested_integer"].to_numpy(float), demo, data, "email", None, 5,
            )  # fmt: skip
            flagged += fair["flagged_suggested"].any()
            new += (fair["flagged_suggested"] & ~fair["flagged_current"]).any()
            changed += s.recommendation == "change"
        rows.append({"n": n, "gap (q4 points)": gap, "postings": runs,
                     "any flag suggested": flagged / runs, "new flag": new / runs,
                     "recommendation change": changed / runs,
                     "s/posting": (time.perf_counter() - t0) / runs})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="worlds per row of part 1")
    ap.add_argument("--e2e-runs", type=int, default=100, help="postings per row of part 2")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    fmt = {"float_format": lambda v: f"{v:.3f}", "index": False}
    if args.runs:
        print(f"Part 1: the rule on composites, {args.runs} worlds per row, seed {args.seed}")
        print(part1(args.runs, args.seed).to_string(**fmt))
    if args.e2e_runs:
        print(f"\nPart 2: suggest_weights end to end, seed {args.seed}")
        print(part2(args.e2e_runs, args.seed).to_string(**fmt))


if __name__ == "__main__":
    main()
