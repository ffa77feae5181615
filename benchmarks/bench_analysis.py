"""Time every analysis on 100,000 interviews × 10 questions (synthetic InterviewData, no HTTP).

Run: ``python benchmarks/bench_analysis.py [--n 100000] [--k 10] [--boot 200] [--jobs 2]``

Prints one line per analysis (seconds), and a side-by-side of the relative-weights bootstrap
with n_jobs=1 and n_jobs=2 (threads over blocks of resamples), and the size of each figure's
JSON (it must not grow with n). Bootstrap lines force ``interval="bootstrap"``; the
``auto`` lines show what a default call does at this n (delta method from 20,000 rows).
``benchmarks/bench_bootstrap.py`` compares the bootstraps with the old loops.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from milo_analytics.analysis import (
    cronbach_alpha,
    dominance_analysis,
    drift,
    effective_weights,
    item_statistics,
    question_importance,
    reconcile_scores,
    relative_weights,
    rescore,
    speech_summary,
)
from milo_analytics.analysis._common import synthetic_interview_data


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float, str]]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    size = ""
    if hasattr(out, "plot") and not isinstance(out, pd.DataFrame):
        try:
            size = f"{len(out.plot().to_json()) / 1024:.0f} KB figure"
        except Exception as exc:  # pragma: no cover - report, don't hide
            size = f"plot failed: {exc}"
    rows.append((label, dt, size))
    print(f"{label:<44} {dt:8.2f} s  {size}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    rows: list[tuple[str, float, str]] = []
    print(f"{a.n:,} interviews × {a.k} questions; bootstrap {a.boot}; n_jobs {a.jobs}")
    data, truth = timed(
        "build synthetic InterviewData",
        lambda: synthetic_interview_data(
            a.n, a.k, seed=1, override_share=0.01, weight_change={"P1-q2": 7.0}
        ),
        rows,
    )
    rng = np.random.default_rng(2)
    ids = data.interviews["interview_id"].to_numpy()
    hired = rng.uniform(size=a.n) < 1 / (1 + np.exp(-(truth["ability"].to_numpy() - 1.2)))
    outcomes = pd.DataFrame({"interview_id": ids, "hired": hired})
    demo = pd.DataFrame(
        {
            "interview_id": ids,
            "sex": rng.choice(["Female", "Male", "Unknown"], a.n),
            "race_ethnicity": rng.choice(["White", "Hispanic or Latino", "Asian", "Black"], a.n),
        }
    )
    wide = data.score_matrix()
    y = pd.Series(hired, index=ids).reindex(wide.index).to_numpy()

    timed("effective_weights", lambda: effective_weights(data), rows)
    timed("reconcile_scores", lambda: reconcile_scores(data), rows)
    timed("rescore (top 10 %)", lambda: rescore(data, {"P1-q1": 5.0, "P1-q3": 1.0}, top=0.1), rows)
    timed("cronbach_alpha", lambda: cronbach_alpha(data), rows)
    timed("item_statistics", lambda: item_statistics(data), rows)
    timed(
        f"speech_summary (+outcome, groups, {a.boot} boot)",
        lambda: speech_summary(data, outcomes, demo, n_boot=a.boot),
        rows,
    )
    timed("relative_weights (logistic, no boot)", lambda: relative_weights(wide, y), rows)
    timed(
        f"relative_weights ({a.boot} boot, n_jobs=1)",
        lambda: relative_weights(wide, y, n_boot=a.boot, interval="bootstrap"),
        rows,
    )
    timed(
        f"relative_weights ({a.boot} boot, n_jobs={a.jobs})",
        lambda: relative_weights(wide, y, n_boot=a.boot, n_jobs=a.jobs, interval="bootstrap"),
        rows,
    )
    timed(
        "relative_weights (auto intervals)", lambda: relative_weights(wide, y, n_boot=a.boot), rows
    )
    timed(
        f"dominance_analysis (2^{a.k} subsets, no boot)", lambda: dominance_analysis(wide, y), rows
    )
    timed(
        f"dominance_analysis ({a.boot} boot, n_jobs={a.jobs})",
        lambda: dominance_analysis(wide, y, n_boot=a.boot, n_jobs=a.jobs, interval="bootstrap"),
        rows,
    )
    timed(
        f"question_importance ({a.boot} boot, n_jobs={a.jobs})",
        lambda: question_importance(
            data, outcomes, n_boot=a.boot, n_jobs=a.jobs, interval="bootstrap"
        ),
        rows,
    )
    timed(
        "question_importance (auto intervals)",
        lambda: question_importance(data, outcomes, n_boot=a.boot),
        rows,
    )
    timed("drift (weekly, auto split)", lambda: drift(data, "W"), rows)
    timed("drift (monthly)", lambda: drift(data, "ME", split=None), rows)
    total = sum(r[1] for r in rows[1:])
    print(f"{'total (analyses)':<44} {total:8.2f} s")
    s1 = next(r[1] for r in rows if "n_jobs=1" in r[0] and r[0].startswith("relative"))
    s2 = next(r[1] for r in rows if f"n_jobs={a.jobs}" in r[0] and r[0].startswith("relative"))
    print(f"relative-weights bootstrap speed-up with n_jobs={a.jobs}: {s1 / s2:.2f}×")


if __name__ == "__main__":
    main()
