"""Operating characteristics of ``milo-analytics check``'s decision rules (issue 16).

Part 1 — the drift rule (``drift_verdict``: fail when |Cohen's d| ≥ 0.3 and Mann–Whitney
p < 0.01, with ≥ 30 interviews on each side). Overall scores of the demo world's CSR posting
(data/demo, 1,133 interviews) are resampled into a baseline and a recent window; the recent
one is shifted by a known number of standard deviations (clipped to 0–100). Printed: the share
of runs that fail, per shift and per window size — at shift 0 the false-positive rate.

Part 2 — a year of daily cron runs on a stable process (no drift), interviews arriving at a
steady rate: how many days the check fails, and how many alerts ``--since`` raises (a fail
on a day after a day without it).

Part 3 — the adverse-impact check (``fail_measures``: overall score and status) on synthetic
postings of 1,200 interviews with known truth: no group difference (false-alarm rate per run),
and the overall score of one group (15 % of candidates) lower by 0.3 and 0.5 SD (power).

Run::

    python benchmarks/bench_checks.py
    python benchmarks/bench_checks.py --reps 200 --skip-audit   # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from milo_analytics import InterviewData
from milo_analytics.analysis._common import cohens_d
from milo_analytics.live.checks import (
    AdverseImpactConfig,
    DriftConfig,
    _adverse_impact,
    drift_verdict,
)
from milo_analytics.outcomes import RACE_CATEGORIES
from milo_analytics.sandbox.world import demo_world_path


def _pool() -> np.ndarray:
    docs = pd.read_json(demo_world_path() / "interviews.jsonl.gz", lines=True)
    return docs["score"].dropna().to_numpy(dtype=float)


def _verdict(before: np.ndarray, after: np.ndarray, cfg: DriftConfig) -> str:
    d = cohens_d(after, before)  # what analysis.drift computes
    p = stats.mannwhitneyu(after, before, alternative="two-sided").pvalue
    return drift_verdict(len(before), len(after), d, p, cfg)


def part1(pool: np.ndarray, reps: int, rng: np.random.Generator) -> None:
    cfg = DriftConfig()
    sd = pool.std(ddof=1)
    shifts = (0.0, 0.2, 0.3, 0.5, 0.8)
    print(f"Part 1 — drift rule, share of runs that fail ({reps} runs per cell; baseline 300)")
    print("  recent n " + "".join(f"  shift {s:.1f} SD" for s in shifts))
    for n in (30, 60, 100, 300):
        cells = []
        for shift in shifts:
            fails = 0
            for _ in range(reps):
                before = rng.choice(pool, 300)
                after = np.clip(rng.choice(pool, n) + shift * sd, 0, 100)
                fails += _verdict(before, after, cfg) == "fail"
            cells.append(fails / reps)
        print(f"  {n:>8} " + "".join(f"  {c:>12.3f}" for c in cells))


def part2(pool: np.ndarray, rng: np.random.Generator, years: int) -> None:
    cfg = DriftConfig()
    print(f"Part 2 — daily cron runs on a stable process ({years} simulated years per rate)")
    for per_day in (3, 10, 30):
        fail_days = alerts = 0
        for _ in range(years):
            days = 365 + int(cfg.baseline_days + cfg.window_days)
            counts = rng.poisson(per_day, days)
            day_of = np.repeat(np.arange(days), counts)
            scores = rng.choice(pool, len(day_of))
            failing_before = False
            for today in range(days - 365, days):
                recent = (day_of > today - cfg.window_days) & (day_of <= today)
                base = (day_of > today - cfg.window_days - cfg.baseline_days) & ~recent
                base &= day_of <= today
                failing = _verdict(scores[base], scores[recent], cfg) == "fail"
                fail_days += failing
                alerts += failing and not failing_before
                failing_before = failing
        print(
            f"  {per_day:>3} interviews/day: {fail_days / years:.1f} failing days a year, "
            f"{alerts / years:.2f} alerts a year with --since"
        )


def _world(rng: np.random.Generator, n: int, gap_sd: float) -> tuple[InterviewData, pd.DataFrame]:
    race = rng.choice(
        [*RACE_CATEGORIES, "Unknown"], size=n, p=[0.18, 0.4, 0.15, 0.01, 0.12, 0.01, 0.05, 0.08]
    )
    sex = rng.choice(["Male", "Female", "Unknown"], size=n, p=[0.47, 0.47, 0.06])
    latent = rng.normal(0, 1, n) - gap_sd * (race == "Black or African American")
    score = np.clip(np.round(60 + 12 * latent, 1), 0, 100)
    status = np.where(score > 62, "shortlisted",
                      np.where(rng.random(n) < 0.7, "dismissed", "completed"))  # fmt: skip
    ids = [f"i{k:05d}" for k in range(n)]
    iv = pd.DataFrame({"interview_id": ids, "posting_id": "P1", "status": status,
                       "score": score, "speech_score": np.nan})  # fmt: skip
    cand = iv[["interview_id", "posting_id", "status", "score"]]
    demo = pd.DataFrame({"interview_id": ids, "sex": sex, "race_ethnicity": race})
    return InterviewData(interviews=iv, candidates=cand), demo


def part3(rng: np.random.Generator, reps: int) -> None:
    cfg = AdverseImpactConfig()
    print(f"Part 3 — adverse-impact check (fail_measures {cfg.fail_measures}), 1,200 interviews")
    for gap, n_reps in ((0.0, reps), (0.3, max(10, reps // 2)), (0.5, max(10, reps // 2))):
        fails = 0
        t0 = time.perf_counter()
        for _ in range(n_reps):
            data, demo = _world(rng, 1200, gap)
            fails += _adverse_impact(data, "P1", demo, None, cfg).status == "fail"
        print(
            f"  score gap {gap:.1f} SD for one group (15 %): fails in {fails}/{n_reps} runs "
            f"({fails / n_reps:.3f}; {time.perf_counter() - t0:.0f} s)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000, help="runs per cell (part 1)")
    ap.add_argument("--years", type=int, default=20, help="simulated years per rate (part 2)")
    ap.add_argument("--audit-reps", type=int, default=100, help="postings without a gap (part 3)")
    ap.add_argument("--skip-audit", action="store_true")
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = _pool()
    part1(pool, args.reps, rng)
    part2(pool, rng, args.years)
    if not args.skip_audit:
        part3(rng, args.audit_reps)


if __name__ == "__main__":
    main()
