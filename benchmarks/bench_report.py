"""Report build time and size at 300 / 3,000 / 100,000 interviews: today's code beside the
baseline, measured in one run.

Targets (issue 15): the report at 100,000 interviews builds in < 12 s, at 3,000 in < 3 s; its
size does not grow with the number of interviews (figures aggregate first, tables are capped):
< 6 MB at 100,000, of which ~4.6 MB is plotly.js.

Run: ``python benchmarks/bench_report.py [N ...] [--baseline REF | --no-baseline]
[--repeat R] [--postings P]``

For each size, every code version builds the same synthetic report (one posting, or ``P``;
outcomes and demographics; ``generated_at`` fixed) in a fresh process of its own: the process
imports the package and builds a small report first (plotly, scipy and the analysis modules
load lazily — that one-off cost is printed as "first report"), then times ``build_report`` and
``to_html``. The versions alternate, so a noisy machine moves both sides together; with
``--repeat`` the best of R is kept for the ratio. The baseline is the package as of ``REF``
(default :data:`BASELINE_REF`, main before the report-speed work: every analysis called from
its section with its own resamples), extracted with ``git archive``; the new side is this
checkout. Both render this checkout's ``docs/methods.md`` in the methods appendix, so the
page's SHA-256 tells whether the two versions computed and drew the same things.

Then one side check of the redactor: the time to redact a fixed page with 1,000 and with
100,000 known candidate names (linear in the page, not in the number of names).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _baseline import baseline_tree  # benchmarks/ is sys.path[0] when run as a script

#: main before issue 15's report work (each analysis run from its section, own resamples).
BASELINE_REF = "2b4ab3d"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

RACES = [
    "White",
    "Hispanic or Latino",
    "Black or African American",
    "Asian",
    "Two or More Races",
    "Unknown",
]


def synthetic(
    n: int, *, seed: int = 0, k: int = 5, postings: int = 1
) -> tuple[object, pd.DataFrame, pd.DataFrame]:
    """n completed interviews (split over ``postings`` postings), k questions (1–5), outcomes
    and demographics."""
    from milo_analytics.frames import InterviewData

    rng = np.random.default_rng(seed)
    ids = np.char.add("I", np.char.zfill(np.arange(n).astype(str), 7)).astype(object)
    pids = np.array(["P"] + [f"P{j + 1}" for j in range(1, postings)], dtype=object)
    posting = pids[np.arange(n) % postings]
    qids = [f"Q{j}" for j in range(1, k + 1)]
    weights = rng.choice([1.0, 1.5, 2.0, 3.0], size=k)
    latent = rng.normal(size=(n, 1))
    S = np.clip(np.round(3 + latent + rng.normal(scale=0.9, size=(n, k))), 1, 5)
    score = np.round(100 * (S @ weights) / (weights.sum() * 5), 1)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 180 * 86400, n), unit="s"
    )
    questions = pd.concat(
        [
            pd.DataFrame(
                {
                    "posting_id": pid,
                    "question_id": [q if pid == "P" else f"{pid}-{q}" for q in qids],
                    "rank": range(1, k + 1),
                    "text": [f"Question {j}: tell us about situation {j}" for j in range(1, k + 1)],
                    "score_weight": weights,
                    "not_scored": False,
                }
            )
            for pid in pids
        ],
        ignore_index=True,
    )
    candidates = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": posting,
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
            "posting_id": posting,
            "status": "completed",
            "score": score,
            "match_score": np.round(score),
            "speech_score": np.round(
                np.clip(3 + 0.5 * latent[:, 0] + rng.normal(size=n) * 0.6, 0, 5), 1
            ),
            "interviewed_at": created,
        }
    )
    qcol = np.tile(np.array(qids, dtype=object), n)
    prow = np.repeat(posting, k)
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(ids, k),
            "posting_id": prow,
            "question_id": np.where(prow == "P", qcol, prow + "-" + qcol),
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
            "posting_id": posting,
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
            "posting_id": posting,
            "sex": rng.choice(["Female", "Male", "Unknown"], size=n, p=[0.48, 0.47, 0.05]),
            "race_ethnicity": rng.choice(RACES, size=n, p=[0.5, 0.2, 0.12, 0.1, 0.03, 0.05]),
        }
    )
    return data, outcomes, demographics


# ----------------------------------------------------------------------------- one build
def child(n: int, postings: int) -> None:
    """Runs in a fresh process: the first (small) report, then the timed one; prints JSON."""
    t0 = time.perf_counter()
    from milo_analytics.report import build_report

    small = synthetic(300, seed=1, postings=postings)
    build_report(small[0], outcomes=small[1], demographics=small[2], generated_at="x").to_html()
    first = time.perf_counter() - t0
    data, outcomes, demographics = synthetic(n, postings=postings)
    t1, c1 = time.perf_counter(), time.process_time()
    report = build_report(
        data, outcomes=outcomes, demographics=demographics, generated_at="benchmark"
    )
    page = report.to_html()
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    body = page.encode("utf-8")
    print(
        json.dumps(
            {
                "first": first,
                "wall": wall,
                "cpu": cpu,
                "bytes": len(body),
                "sha": hashlib.sha256(body).hexdigest()[:12],
                "problems": report.problems,
                "where": str(Path(sys.modules["milo_analytics"].__file__).parent),
            }
        )
    )


def run(tree: Path, n: int, postings: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(n),
            "--postings",
            str(postings),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"the build in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(sizes: list[int], *, ref: str | None, repeat: int, postings: int) -> None:
    print(
        f"report build (build_report + to_html), {postings} posting(s); "
        f"{os.cpu_count()} cores, load average {load()} at the start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = baseline_tree(ref, Path(tmp)) if ref else None
        sides = [("new", ROOT)] + ([(f"baseline {ref}", old_tree)] if old_tree else [])
        print(
            f"{'interviews':>10} {'version':<17} {'build s':>8} {'cpu s':>7} {'first s':>8} "
            f"{'MB':>6} {'sha256':>12}  load"
        )
        first_size = None
        summary = []
        for n in sizes:
            best: dict[str, dict] = {}
            for r in range(repeat):
                order = sides if r % 2 == 0 else sides[::-1]
                for name, tree in order:
                    out = run(tree, n, postings)
                    if name == "new" and Path(out["where"]).resolve() != (ROOT / "milo_analytics"):
                        raise SystemExit(f"the new side imported {out['where']}")
                    print(
                        f"{n:>10,} {name:<17} {out['wall']:>8.2f} {out['cpu']:>7.2f} "
                        f"{out['first']:>8.2f} {out['bytes'] / 1e6:>6.2f} {out['sha']:>12}  "
                        f"{load()}"
                    )
                    for p in out["problems"]:
                        print(f"{'':>10} note: {p}")
                    if name not in best or out["wall"] < best[name]["wall"]:
                        best[name] = out
            new = best["new"]
            first_size = first_size or new["bytes"]
            assert new["bytes"] < 6_000_000, "report over 6 MB"
            line = (
                f"{n:>10,} new {new['wall']:.2f} s (cpu {new['cpu']:.2f} s), "
                f"{new['bytes'] / 1e6:.2f} MB ({new['bytes'] / first_size:.3f} of the first size)"
            )
            if len(best) > 1:
                old = best[sides[1][0]]
                same = "same bytes" if old["sha"] == new["sha"] else "different bytes"
                line += (
                    f"; baseline {old['wall']:.2f} s (cpu {old['cpu']:.2f} s): "
                    f"{old['wall'] / new['wall']:.2f}x faster wall, "
                    f"{old['cpu'] / new['cpu']:.2f}x cpu; {same}"
                )
            summary.append(line)
    print("\nbest of", repeat, "per version:")
    for line in summary:
        print(line)
    redaction_scaling()


def redaction_scaling() -> None:
    """Redacting one page with 1,000 vs 100,000 known names: the same time (set lookups)."""
    from milo_analytics.report import Redactor

    words = [f"Word{i} " for i in range(2_000)] + ["Person 12 wrote to p12@example.org. "]
    page = "".join(words) * 50  # ~0.7 MB of text
    times = {}
    for names in (1_000, 100_000):
        red = Redactor(names=[f"Person {i}" for i in range(names)], emails=["p12@example.org"])
        t = time.perf_counter()
        out = red(page)
        times[names] = time.perf_counter() - t
        assert "p12@example.org" not in out and "Person" not in out
    print(
        f"\nredacting a {len(page) / 1e6:.1f} MB page: {times[1_000]:.3f} s with 1,000 known "
        f"names, {times[100_000]:.3f} s with 100,000 (ratio "
        f"{times[100_000] / times[1_000]:.2f})"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[300, 3_000, 100_000])
    ap.add_argument("--baseline", default=BASELINE_REF, help="git ref of the baseline code")
    ap.add_argument("--no-baseline", action="store_true", help="time this checkout only")
    ap.add_argument("--repeat", type=int, default=1, help="builds per version (best kept)")
    ap.add_argument("--postings", type=int, default=1, help="split the interviews over P")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.postings)
    else:
        main(
            args.sizes,
            ref=None if args.no_baseline else args.baseline,
            repeat=max(1, args.repeat),
            postings=max(1, args.postings),
        )
