"""Frames for 100,000 interviews from the local store: the rebuild vs the materialised frames.

What it does
------------
1. Writes a Store with one posting of N interviews (default 100,000) without HTTP: it
   generates a small sandbox world (``generate_world``, 500 completed interviews) and clones
   its candidate records and interview documents under new interview ids (JSON text with the
   id replaced), stored as a pull stores them (``prepare_document``: the packed document plus
   its pre-parsed frame rows).
2. Runs, each in a fresh Python process (so a peak memory is that path's alone, plus the
   imports), ``frames_from_store`` on that posting:

   - ``rebuild``: ``materialised=False`` — today's path, every stored document parsed again;
   - ``first``: the first materialised load (parses everything and saves the products);
   - ``unchanged``: a load with nothing changed since — the target;
   - then ``rebuild`` and ``unchanged`` once more, alternating (the machine is shared: the two
     paths see the same load);
   - ``incremental``: after a simulated pull that fetched 13 changed documents (recruiter
     overrides: new documents and candidate records, stored exactly as a pull stores them);
     the rows it writes are counted in the store;
   - ``after``: a load with nothing changed since the incremental one (its products are read
     from the big segments plus the small new one).

   Each reports wall time, CPU time (user + system of the process), peak resident memory
   (``ru_maxrss``) and a digest of every frame (values and dtypes): equal digests mean equal
   frames, errors included.

Targets (issue 15): unchanged ≥ 10× faster than the rebuild, < 1 GB peak.

Run::

    python benchmarks/bench_frames.py            # 100,000 interviews
    python benchmarks/bench_frames.py --n 20000  # quicker
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import statistics
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


def simulate_pull(path: Path, pid: str, changed: int = 13) -> list[str]:
    """What a pull that fetched ``changed`` documents leaves in the store: recruiter overrides
    of spread-out interviews (new score and last activity in the candidate record, new score
    in the document), each document committed with its record, then the whole listing saved
    and the pull marked finished — the calls :func:`milo_analytics.load.pull_posting` makes."""
    from milo_analytics.load import candidate_fingerprint, prepare_document
    from milo_analytics.store import Store

    with Store(path) as store:
        listing = store.candidates(pid)
        step = max(1, len(listing) // changed)
        picked = list(range(step // 2, len(listing), step))[:changed]
        store.mark_sync_started(pid)
        ok, records = [], []
        for pos in picked:
            cand = dict(listing[pos], score=12.5)
            cand["workflow"] = dict(cand.get("workflow") or {}, last_activity_at=time.time())
            listing[pos] = cand
            iid = cand["interview_id"]
            doc = dict(store.interview(iid), score=12.5)
            blob, rows, version = prepare_document(iid, doc)
            ok.append((iid, pid, blob, candidate_fingerprint(cand), rows, version))
            records.append((pid, pos, cand))
        store.record_fetches(ok, [], records)
        store.save_candidates(pid, listing)
        store.mark_synced(pid)
    return [listing[p]["interview_id"] for p in picked]


def digest(data) -> str:
    """One hash of every frame's values and dtypes (equal digests: identical frames)."""
    import pandas as pd

    h = hashlib.sha256()
    for name in data.FRAME_NAMES:
        frame = getattr(data, name)
        h.update(f"{name}{list(frame.columns)}{list(map(str, frame.dtypes))}".encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update(repr((data.score_scale, data.unfinished_syncs)).encode())
    return h.hexdigest()[:16]


def measure(path: str, pid: str, path_name: str) -> dict[str, float | str]:
    """In this (fresh) process: build the frames from the store by one path."""
    from milo_analytics.load import frames_from_store
    from milo_analytics.store import Store

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = os.times()
    t0 = time.perf_counter()
    with Store(path) as store:
        data = frames_from_store(store, [pid], materialised=path_name != "rebuild")
    seconds = time.perf_counter() - t0
    cpu1 = os.times()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    mem = {
        name: int(getattr(data, name).memory_usage(deep=True).sum()) for name in data.FRAME_NAMES
    }
    return {
        "seconds": seconds,
        "cpu": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
        "peak_rss_mb": peak / 1024,
        "rss_before_mb": rss0 / 1024,
        "interviews": len(data.interviews),
        "candidates": len(data.candidates),
        "score_rows": len(data.scores),
        "transcript_rows": len(data.transcript),
        "frames_mb": sum(mem.values()) / 2**20,
        "errors": len(data.errors),
        "digest": digest(data),
    }


def run(path: Path, pid: str, path_name: str) -> dict[str, float | str]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), pid, path_name],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def segments(path: Path) -> list[tuple[int, str, int, int]]:
    """``(segment, kind, documents, rows)`` of the materialised frames in the store."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT segment, kind, documents, rows FROM frame_segments ORDER BY segment"
        ).fetchall()
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="interviews (default 100,000)")
    parser.add_argument("--changed", type=int, default=13, help="documents the pull fetched")
    parser.add_argument("--measure", nargs=3, metavar=("STORE", "POSTING", "PATH"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        pid, write_s = write_store(path, args.n)
        size_before = path.stat().st_size / 2**20
        runs: dict[str, list[dict[str, float | str]]] = {}
        for name in ("rebuild", "first", "unchanged", "rebuild", "unchanged"):
            runs.setdefault(name, []).append(run(path, pid, name))
        size_after = path.stat().st_size / 2**20  # the WAL is checkpointed on close
        before = {s[0] for s in segments(path)}
        changed = simulate_pull(path, pid, args.changed)
        runs["incremental"] = [run(path, pid, "incremental")]
        written = [s for s in segments(path) if s[0] not in before]
        runs["after"] = [run(path, pid, "after")]
        runs["rebuild after"] = [run(path, pid, "rebuild")]
        all_segments = segments(path)

    first = runs["rebuild"][0]
    print(f"store: {args.n:,} interviews written in {write_s:.1f} s, {size_before:.0f} MB on disk")
    print(
        f"frames: {first['interviews']:,} interviews, {first['score_rows']:,} score rows, "
        f"{first['transcript_rows']:,} transcript turns ({first['frames_mb']:.0f} MB in pandas)"
    )
    print("path         wall s   CPU s   peak RSS MB   digest")
    for name, results in runs.items():
        for r in results:
            print(
                f"{name:<12} {r['seconds']:6.2f}  {r['cpu']:6.2f}   {r['peak_rss_mb']:8.0f}"
                f"      {r['digest']}"
            )
    same = len({r["digest"] for k in ("rebuild", "first", "unchanged") for r in runs[k]}) == 1
    same_after = (
        runs["after"][0]["digest"]
        == runs["incremental"][0]["digest"]
        == (runs["rebuild after"][0]["digest"])
    )
    print(f"identical frames (digests) before the pull: {same}; after it: {same_after}")
    rebuild = statistics.median(float(r["seconds"]) for r in runs["rebuild"])
    unchanged = statistics.median(float(r["seconds"]) for r in runs["unchanged"])
    rebuild_cpu = statistics.median(float(r["cpu"]) for r in runs["rebuild"])
    unchanged_cpu = statistics.median(float(r["cpu"]) for r in runs["unchanged"])
    peak = max(float(r["peak_rss_mb"]) for r in runs["unchanged"])
    ratio = rebuild / unchanged
    print(
        f"unchanged vs rebuild (median of 2 each): {unchanged:.2f} s vs {rebuild:.2f} s wall = "
        f"{ratio:.1f}× faster (target ≥ 10×: {'met' if ratio >= 10 else 'MISSED'}); CPU "
        f"{unchanged_cpu:.2f} s vs {rebuild_cpu:.2f} s = {rebuild_cpu / unchanged_cpu:.1f}×"
    )
    print(
        f"peak memory of the unchanged load (whole process, imports "
        f"{runs['unchanged'][0]['rss_before_mb']:.0f} MB included): {peak:.0f} MB (target "
        f"< 1024 MB: {'met' if peak < 1024 else 'MISSED'}); the rebuild's: "
        f"{max(float(r['peak_rss_mb']) for r in runs['rebuild']):.0f} MB"
    )
    f = runs["first"][0]
    print(
        f"first materialised load: {f['seconds']:.2f} s wall, {f['cpu']:.2f} s CPU "
        f"({float(f['cpu']) / rebuild_cpu:.2f}× the rebuild's CPU); store {size_before:.0f} → "
        f"{size_after:.0f} MB"
    )
    total_rows = sum(s[3] for s in all_segments if s[0] in before)
    rows = sum(s[3] for s in written)
    docs = sum(s[2] for s in written)
    inc = runs["incremental"][0]
    print(
        f"incremental: a pull fetched {len(changed)} documents (and changed their candidate "
        f"records); the next load parsed and wrote {docs} documents' products, {rows:,} rows "
        f"in {len(written)} new segments ({rows / total_rows:.4%} of the {total_rows:,} "
        f"materialised rows), in {inc['seconds']:.2f} s wall, {inc['cpu']:.2f} s CPU"
    )
    a = runs["after"][0]
    print(
        f"unchanged after the pull (big segments + the small one): {a['seconds']:.2f} s wall, "
        f"{a['cpu']:.2f} s CPU, {a['peak_rss_mb']:.0f} MB peak"
    )
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
