"""Frames for 100,000 interviews built from the local store: wall time and peak memory.

What it does
------------
1. Writes a Store with one posting of N interviews (default 100,000) without HTTP: it
   generates a small sandbox world (``generate_world``, 500 completed interviews) and clones
   its candidate records and interview documents under new interview ids (JSON text with the
   id replaced), stored as a pull stores them (``prepare_document``: the packed document plus
   its pre-parsed frame rows).
2. In a fresh Python process (so the peak memory is the build's alone, plus the imports),
   runs ``load_posting(posting_id, store=path, refresh=False)`` — the store → InterviewData
   path every offline analysis uses — and reports the wall time and the process's peak
   resident memory (``ru_maxrss``).

Targets (issue 3): < 30 s and < 2 GB on the 2-core CI machine.

Run::

    python benchmarks/bench_frames.py            # 100,000 interviews
    python benchmarks/bench_frames.py --n 20000  # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_store(path: Path, n: int, seed: int = 1) -> tuple[str, float]:
    """Fill a Store at ``path`` with ``n`` cloned interviews; return (posting_id, seconds)."""
    from milo_analytics.load import candidate_fingerprint, prepare_document
    from milo_analytics.sandbox import WorldConfig, generate_world
    from milo_analytics.store import Store

    t0 = time.perf_counter()
    world = generate_world(
        WorldConfig(seed=seed, n_candidates=500, n_second=0, unfinished_rate=0.0)
    )
    pid = world.postings[0]["id"]
    templates = [
        (c, json.dumps(world.interview_data[c["interview_id"]], separators=(",", ":")))
        for c in world.candidates[pid]
        if c["interview_id"] in world.interview_data
    ]
    with Store(path) as store:
        store.save_posting(pid, world.postings[0], source="benchmark")
        store.save_questions(pid, world.questions[pid])
        candidates = []
        batch = []
        for k in range(n):
            cand, doc_json = templates[k % len(templates)]
            iid = f"{k:016X}"
            new_cand = dict(cand, interview_id=iid, email=f"c{k}@example.org")
            candidates.append(new_cand)
            # as a pull stores it: the document plus its pre-parsed frame rows
            blob, rows, version = prepare_document(
                iid, json.loads(doc_json.replace(cand["interview_id"], iid))
            )
            batch.append((iid, pid, blob, candidate_fingerprint(new_cand), rows, version))
            if len(batch) == 5000:
                store.record_fetches(batch)
                batch = []
        store.record_fetches(batch)
        store.save_candidates(pid, candidates)
        store.mark_synced(pid)
    return pid, time.perf_counter() - t0


def measure(path: str, pid: str) -> dict[str, float]:
    """In this process: build the frames from the store; time and peak memory."""
    from milo_analytics.load import load_posting

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    data = load_posting(pid, store=path, refresh=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    mem = {
        name: int(getattr(data, name).memory_usage(deep=True).sum()) for name in data.FRAME_NAMES
    }
    return {
        "seconds": seconds,
        "peak_rss_mb": peak / 1024,
        "rss_before_mb": rss0 / 1024,
        "interviews": len(data.interviews),
        "candidates": len(data.candidates),
        "score_rows": len(data.scores),
        "transcript_rows": len(data.transcript),
        "frames_mb": sum(mem.values()) / 2**20,
        "errors": len(data.errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="interviews (default 100,000)")
    parser.add_argument("--measure", nargs=2, metavar=("STORE", "POSTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        pid, write_s = write_store(path, args.n)
        size_mb = path.stat().st_size / 2**20
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(path), pid],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"store: {args.n:,} interviews written in {write_s:.1f} s, {size_mb:.0f} MB on disk")
    print(
        f"frames: {r['interviews']:,} interviews, {r['score_rows']:,} score rows, "
        f"{r['transcript_rows']:,} transcript turns ({r['frames_mb']:.0f} MB in pandas)"
    )
    print(
        f"build from store: {r['seconds']:.1f} s (target < 30 s: "
        f"{'met' if r['seconds'] < 30 else 'MISSED'}; {r['seconds'] / 30:.2f}× the target)"
    )
    print(
        f"peak memory (whole process, imports {r['rss_before_mb']:.0f} MB included): "
        f"{r['peak_rss_mb']:.0f} MB (target < 2048 MB: "
        f"{'met' if r['peak_rss_mb'] < 2048 else 'MISSED'}; {r['peak_rss_mb'] / 2048:.2f}× the target)"
    )


if __name__ == "__main__":
    main()
