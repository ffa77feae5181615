"""Report size and build time for 300 / 3,000 / 100,000 interviews.

The report's size must not grow with the number of interviews (figures aggregate first,
tables are capped): target < 6 MB at 100,000 interviews, of which ~4.8 MB is plotly.js.

Run: ``python benchmarks/bench_report.py [N ...]``. Prints one line per size and the size
ratio against the smallest run, measured in this one run.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from milo_analytics.frames import InterviewData
from milo_analytics.report import build_report

RACES = [
    "White",
    "Hispanic or Latino",
    "Black or African American",
    "Asian",
    "Two or More Races",
    "Unknown",
]


def synthetic(
    n: int, *, seed: int = 0, k: int = 5
) -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    """One posting, n completed interviews, k questions (1–5), outcomes and demographics."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("I", np.char.zfill(np.arange(n).astype(str), 7)).astype(object)
    qids = [f"Q{j}" for j in range(1, k + 1)]
    weights = rng.choice([1.0, 1.5, 2.0, 3.0], size=k)
    latent = rng.normal(size=(n, 1))
    S = np.clip(np.round(3 + latent + rng.normal(scale=0.9, size=(n, k))), 1, 5)
    score = np.round(100 * (S @ weights) / (weights.sum() * 5), 1)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 180 * 86400, n), unit="s"
    )
    questions = pd.DataFrame(
        {
            "posting_id": "P",
            "question_id": qids,
            "rank": range(1, k + 1),
            "text": [f"Question {j}: tell us about situation {j}" for j in range(1, k + 1)],
            "score_weight": weights,
            "not_scored": False,
        }
    )
    candidates = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": "P",
            "candidate_id": ids,
            "name": [f"Person {i}" for i in range(n)],
            "email": [f"p{i}@example.org" for i in range(n)],
            "status": "completed",
            "score": score,
            "created_at": created,
            "interviewed_at": created,
        }
    )
    interviews = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": "P",
            "status": "completed",
            "score": score,
            "match_score": np.round(score),
            "speech_score": np.round(
                np.clip(3 + 0.5 * latent[:, 0] + rng.normal(size=n) * 0.6, 0, 5), 1
            ),
            "interviewed_at": created,
        }
    )
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(ids, k),
            "posting_id": "P",
            "question_id": np.tile(qids, n),
            "rank": np.tile(np.arange(1, k + 1), n),
            "score": S.ravel(),
            "score_weight": np.tile(weights, n),
            "not_scored": False,
            "evaluation_summary": "The answer addressed the question with a concrete example.",
        }
    )
    data = InterviewData(
        questions=questions, candidates=candidates, interviews=interviews, scores=scores
    )
    logit = -1.5 + 1.2 * (latent[:, 0])
    hired = rng.random(n) < 1 / (1 + np.exp(-logit))
    outcomes = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": "P",
            "hired": pd.array(hired, dtype="boolean"),
            "performance": pd.array(
                np.where(
                    hired, np.round(3 + 0.4 * latent[:, 0] + rng.normal(size=n) * 0.5, 1), np.nan
                ),
                dtype="Float64",
            ),
        }
    )
    demographics = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": "P",
            "sex": rng.choice(["Female", "Male", "Unknown"], size=n, p=[0.48, 0.47, 0.05]),
            "race_ethnicity": rng.choice(RACES, size=n, p=[0.5, 0.2, 0.12, 0.1, 0.03, 0.05]),
        }
    )
    return data, outcomes, demographics


def main(sizes: list[int]) -> None:
    print(f"{'interviews':>10} {'build s':>8} {'html MB':>8} {'vs first':>9}  problems")
    first = None
    for n in sizes:
        data, outcomes, demographics = synthetic(n)
        t0 = time.perf_counter()
        report = build_report(
            data, outcomes=outcomes, demographics=demographics, generated_at="benchmark"
        )
        page = report.to_html()
        dt = time.perf_counter() - t0
        size = len(page.encode("utf-8"))
        first = first or size
        print(
            f"{n:>10,} {dt:>8.1f} {size / 1e6:>8.2f} {size / first:>9.3f}  {len(report.problems)}"
        )
        for p in report.problems:
            print(f"{'':>10} note: {p}")
        assert size < 6_000_000, "report over 6 MB"


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 3_000, 100_000])
