"""Operating characteristics of ``suggest_weights``' decision rule (issue 10), by simulation.

Worlds (5 correlated questions scored 1–5, today's weights ``(2, 3, 2, 2, 1.5)``; hired ~
logistic(γ·(X − 3)·true − 1.3), the same generator as ``tests/test_calibrate.py``):

- ``null: unrelated``  — the outcome does not depend on the scores (γ = 0);
- ``null: true=today`` — the true weights are today's;
- ``null: true=unit``  — the true weights are equal (today's are not: a change to ~unit is
  *right* here, so its "change" rate is reported as power-like, not as a false change);
- ``planted``          — true weights ``(2, 0.5, 2, 2, 4)`` (the planted world of the tests).

Per cell: the "change" rate (a false change in the first two worlds, power in the last two);
the Spearman correlation of suggested vs true weights; coverage of the 95 % interval of
``suggested_integer − current`` for the *population* gain of the integer weights over today's
(AUC on 200,000 fresh draws from the world); coverage of the weight intervals (each question's
interval vs the true weight on the same scale; only where true weights differ from 0); and the
fairness false-flag rate from ``suggestion.fairness`` when that frame carries flags (no group
differences are simulated: every flag is false), else "n/a". Monte-Carlo SEs in brackets.

Run (the command behind the table in docs/methods.md §5; add ``3000`` to ``--n`` for the
larger worlds, not in that table)::

    python benchmarks/operating_characteristics.py --runs 100 --n 300 600 --seed 20261205 --jobs 2 --boot 50
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from milo_analytics.analysis._common import interview_data_from_matrix
from milo_analytics.calibrate import suggest_weights

CURRENT = (2.0, 3.0, 2.0, 2.0, 1.5)
PLANTED = (2.0, 0.5, 2.0, 2.0, 4.0)
GAMMA = 0.35
WORLDS = {
    "null: unrelated": (CURRENT, 0.0),
    "null: true=today": (CURRENT, GAMMA),
    "null: true=unit": ((1.0,) * 5, GAMMA),
    "planted": (PLANTED, GAMMA),
}
NULL_WORLDS = ("null: unrelated", "null: true=today")


def draw(n: int, true: tuple[float, ...], gamma: float, rng: np.random.Generator):
    g = rng.normal(size=n)
    X = np.clip(np.round(3 + 0.8 * g[:, None] + rng.normal(size=(n, len(true)))), 1, 5)
    eta = gamma * (X - 3) @ np.asarray(true) - 1.3
    return X, rng.random(n) < 1 / (1 + np.exp(-eta))


def frames(X: np.ndarray, hired: np.ndarray, rng: np.random.Generator):
    n, q = X.shape
    ids = [f"iv{i:06d}" for i in range(n)]
    qids = [f"q{j}" for j in range(q)]
    data = interview_data_from_matrix(X, CURRENT, ids=ids, qids=qids, updated_at="2026-01-01")
    outcomes = pd.DataFrame(
        {"interview_id": pd.array(ids, dtype="str"), "hired": pd.array(hired, dtype="boolean")}
    )
    # no group differences: any fairness flag is a false flag
    demo = pd.DataFrame(
        {
            "interview_id": pd.array(ids, dtype="str"),
            "sex": rng.choice(["Female", "Male"], n),
            "race_ethnicity": rng.choice(
                ["White", "Black", "Hispanic or Latino", "Asian"], n, p=[0.5, 0.2, 0.2, 0.1]
            ),
        }
    )
    return data, outcomes, demo


_POP: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def population(world: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if world not in _POP:
        true, gamma = WORLDS[world]
        _POP[world] = draw(200_000, true, gamma, np.random.default_rng(seed))
    return _POP[world]


_AUC: dict[tuple[str, tuple[float, ...]], float] = {}


def population_auc(world: str, weights: tuple[float, ...]) -> float:
    """AUC of ``weights`` on the world's population, remembered: runs share today's weights
    and mostly the same few integer suggestions (~0.1 s saved per AUC on 200,000 rows)."""
    key = (world, tuple(float(w) for w in weights))
    if key not in _AUC:
        Xp, yp = population(world, 1)
        _AUC[key] = float(roc_auc_score(yp, Xp @ np.asarray(key[1])))
    return _AUC[key]


def one_run(world: str, n: int, seed: int, n_boot: int) -> dict[str, float]:
    true, gamma = WORLDS[world]
    rng = np.random.default_rng(seed)
    X, hired = draw(n, true, gamma, rng)
    data, outcomes, demo = frames(X, hired, rng)
    s = suggest_weights(data, outcomes, demographics=demo, n_boot=n_boot, random_state=seed % 2**31)
    t = s.table
    w_int = t["suggested_integer"].to_numpy(float)
    gain = population_auc(world, tuple(w_int)) - population_auc(world, CURRENT)
    d = s.differences.loc["suggested_integer - current"]
    out = {
        "change": float(s.recommendation == "change"),
        "diff_cover": float(d["ci_low"] <= gain <= d["ci_high"]),
        "gain": gain,
    }
    if gamma > 0:
        out["spearman"] = float(stats.spearmanr(t["suggested_weight"], true).statistic)
        tv = np.asarray(true) / np.sum(true) * t["suggested_weight"].sum()
        ok = (t["ci_low"] <= tv) & (tv <= t["ci_high"])
        out["weight_cover"] = float(ok.mean()) if t["ci_low"].notna().all() else math.nan
    fair = s.fairness
    if fair is not None and "flagged_suggested" in fair.columns:
        out["fair_flag"] = float(fair["flagged_suggested"].fillna(False).astype(bool).any())
    return out


def cell(world: str, n: int, runs: int, seed: int, n_boot: int, jobs: int) -> dict[str, str]:
    base = zlib.crc32(f"{world}|{n}".encode())  # stable across processes, unlike hash()
    seeds = [(seed * 1_000_003 + base * 10_000 + r) % 2**62 for r in range(runs)]
    if jobs > 1:
        from joblib import Parallel, delayed

        res = Parallel(n_jobs=jobs)(delayed(one_run)(world, n, s, n_boot) for s in seeds)
    else:
        res = [one_run(world, n, s, n_boot) for s in seeds]
    df = pd.DataFrame(res)

    def rate(col: str) -> str:
        if col not in df or df[col].isna().all():
            return "n/a"
        x = df[col].dropna()
        p = float(x.mean())
        return f"{p:.3f} ({math.sqrt(p * (1 - p) / len(x)):.3f})"

    def mean(col: str) -> str:
        if col not in df or df[col].isna().all():
            return "n/a"
        x = df[col].dropna()
        return f"{x.mean():.2f} ({x.std(ddof=1) / math.sqrt(len(x)):.2f})"

    return {
        "world": world,
        "n": str(n),
        "runs": str(runs),
        "false change" if world in NULL_WORLDS else "change (power)": rate("change"),
        "spearman": mean("spearman"),
        "diff-CI coverage": rate("diff_cover"),
        "weight-CI coverage": rate("weight_cover"),
        "fairness false flag": rate("fair_flag"),
    }


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--n", type=int, nargs="+", default=[300, 600, 3000])
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--boot", type=int, default=100, help="n_boot for the weight intervals")
    ap.add_argument("--worlds", nargs="+", default=list(WORLDS))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for world in a.worlds:
        for n in a.n:
            rows.append(cell(world, n, a.runs, a.seed, a.boot, a.jobs))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows).fillna("")
    print()
    print(
        f"python benchmarks/operating_characteristics.py --runs {a.runs} --n "
        f"{' '.join(map(str, a.n))} --seed {a.seed} --jobs {a.jobs} --boot {a.boot}"
    )
    print(table.to_markdown(index=False))
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return table


if __name__ == "__main__":
    main()
