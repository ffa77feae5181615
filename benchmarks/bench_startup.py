"""What users and the test suite pay before any work: CLI start-up per command, the demo, and a
sandbox's start and stop — this checkout beside a baseline, measured in one run.

Run: ``python benchmarks/bench_startup.py [--baseline REF | --no-baseline] [--repeat R]
[--cycles N] [--skip-demo]``

Three parts, each side in fresh processes of its own, the sides alternating (a noisy machine
moves both together); the best of ``R`` runs per side is kept for the ratio:

1. ``milo-analytics demo --out DIR -q`` (``python -m milo_analytics.cli``): wall and CPU
   seconds of the whole process, and a digest of what it writes — ``suggestion.json`` and
   ``milo-report.html`` with their generation times blanked (the only bytes that may differ
   from run to run). Equal digests on both sides mean the same numbers and the same page.
2. CLI commands as a shell runs them, against a copy of the demo's store (offline): the
   wall and CPU seconds of each process, and the same digest for the report it writes.
   ``report NOPE --offline`` is an early error (exit 1): nearly all of it is start-up.
3. Sandbox cycles in one process per side: generate the tests' small world (60 + 20
   candidates), start the server, one request through a fresh ``HeyMiloClient``, stop —
   milliseconds per phase, mean of ``N`` cycles after one warm-up.

The baseline is the package as of ``REF`` (default :data:`BASELINE_REF`, main before this
work), extracted with ``git archive`` together with the demo world; both sides render this
checkout's ``docs/methods.md`` in the report's methods appendix.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _baseline import baseline_tree  # benchmarks/ is sys.path[0] when run as a script

#: main before the start-up work (sandbox stop, shared TLS context, lazy calibrate).
BASELINE_REF = "e42cff9"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_STAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}\+00:00)?(?: UTC)?")


def digest(path: Path) -> str:
    """SHA-256 of a file with its generation times blanked (12 hex digits)."""
    return hashlib.sha256(_STAMP.sub(b"TIME", path.read_bytes())).hexdigest()[:12]


def timed(cmd: list[str], tree: Path, cwd: Path) -> tuple[float, float, int, str]:
    """Run ``cmd`` with ``tree`` first on the path: (wall s, CPU s of the child, exit, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("HEYMILO_API_KEY", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, proc.stderr


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "milo_analytics.cli", *args]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def ratio(old: float, new: float) -> str:
    return f"{old / new:5.2f}x" if new > 0 else "   -"


# ----------------------------------------------------------------------------- part 1: demo
def part_demo(sides: list[tuple[str, Path]], tmp: Path, repeat: int) -> Path:
    """Time the demo per side; returns the store one run wrote (for part 2)."""
    print(f"\n1. milo-analytics demo --out DIR -q (fresh process; best of {repeat})")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in sides}
    digests: dict[str, set[str]] = {name: set() for name, _ in sides}
    store = tmp / "demo-store.sqlite3"
    for r in range(repeat):
        for name, tree in sides if r % 2 == 0 else sides[::-1]:
            out = tmp / f"demo-{name.split()[0]}-{r}"
            wall, cpu, code, err = timed(cli("demo", "--out", str(out), "-q"), tree, tmp)
            if code:
                raise SystemExit(f"demo ({name}) exited {code}:\n{err[-2000:]}")
            runs[name].append((wall, cpu))
            digests[name].add(
                f"suggestion {digest(out / 'suggestion.json')}, "
                f"report {digest(out / 'milo-report.html')}"
            )
            if name == "new" and not store.exists():
                shutil.copy(out / "store.sqlite3", store)
            print(
                f"   {name:<18} run {r + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU  (load {load()})"
            )
    new = best(runs["new"])
    for name, _ in sides:
        w, c = best(runs[name])
        line = f"   {name:<18} best {w:6.2f} s wall, {c:6.2f} s CPU; {'; '.join(sorted(digests[name]))}"
        if name != "new":
            line += f"  -> new is {ratio(w, new[0])} wall, {ratio(c, new[1])} CPU"
        print(line)
    all_digests = set().union(*digests.values())
    print(
        "   outputs: "
        + ("identical on both sides" if len(all_digests) == 1 else f"DIFFER: {all_digests}")
    )
    return store


# ----------------------------------------------------------------------------- part 2: CLI
def part_cli(sides: list[tuple[str, Path]], tmp: Path, repeat: int, store: Path) -> None:
    world = ROOT / "data" / "demo"
    posting = "8B4AE5F1"
    empty = tmp / "empty.sqlite3"
    commands: list[tuple[str, list[str], str | None]] = [
        ("--help", ["--help"], None),
        ("report NOPE --offline (exit 1)", ["report", "NOPE", "--offline", "--store", str(empty)], None),
        ("postings --offline", ["postings", "--offline", "--store", "{store}"], None),
        ("audit --offline", ["audit", posting, "--offline", "--store", "{store}",
                             "-d", str(world / "demographics.csv")], None),
        ("report --offline", ["report", posting, "--offline", "--store", "{store}",
                              "-o", "{out}/r.html"], "r.html"),
    ]  # fmt: skip
    print(f"\n2. CLI commands, one process each, on a copy of the demo store (best of {repeat})")
    print(f"   {'command':<32} {'side':<18} {'wall s':>7} {'CPU s':>7}  ratio (old/new)  output")
    for label, args, output in commands:
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in sides}
        outs: dict[str, set[str]] = {name: set() for name, _ in sides}
        for r in range(repeat):
            for name, tree in sides if r % 2 == 0 else sides[::-1]:
                work = tmp / f"cli-{name.split()[0]}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                copy = work / "store.sqlite3"
                shutil.copy(store, copy)
                argv = [a.format(store=copy, out=work) for a in args]
                wall, cpu, code, err = timed(cli(*argv), tree, work)
                if code not in (0, 1, 3):
                    raise SystemExit(f"{label} ({name}) exited {code}:\n{err[-2000:]}")
                runs[name].append((wall, cpu))
                outs[name].add(f"exit {code}" + (f", {digest(work / output)}" if output else ""))
        new = best(runs["new"])
        for name, _ in sides:
            w, c = best(runs[name])
            rt = "" if name == "new" else f"{ratio(w, new[0])} / {ratio(c, new[1])}"
            print(
                f"   {label:<32} {name:<18} {w:7.2f} {c:7.2f}  {rt:<15}  "
                f"{'; '.join(sorted(outs[name]))}"
            )


# ----------------------------------------------------------------------------- part 3: sandbox
_CYCLE_CODE = r"""
import json, sys, time
from milo_analytics.sandbox import Sandbox, WorldConfig
from milo_analytics.sandbox.world import generate_world
small = dict(seed=11, n_candidates=60, n_second=20)
n = int(sys.argv[1])
phases = {"world": 0.0, "start": 0.0, "client + 1 request": 0.0, "stop": 0.0}
for i in range(n + 1):
    t0 = time.perf_counter()
    world = generate_world(WorldConfig(**small))
    t1 = time.perf_counter()
    sb = Sandbox(world).start()
    t2 = time.perf_counter()
    with sb.client() as client:
        assert list(client.postings.list(raw=True))
    t3 = time.perf_counter()
    sb.stop()
    t4 = time.perf_counter()
    if i:  # the first cycle is a warm-up (imports)
        for k, d in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            phases[k] += d / n
print(json.dumps(phases))
"""


def part_sandbox(sides: list[tuple[str, Path]], tmp: Path, repeat: int, cycles: int) -> None:
    print(f"\n3. sandbox cycles: small world, start, client + 1 request, stop (ms, mean of "
          f"{cycles}; best of {repeat})")  # fmt: skip
    res: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
    for r in range(repeat):
        for name, tree in sides if r % 2 == 0 else sides[::-1]:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            proc = subprocess.run(
                [sys.executable, "-c", _CYCLE_CODE, str(cycles)],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode:
                raise SystemExit(f"sandbox cycles ({name}) failed:\n{proc.stderr[-2000:]}")
            res[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    phases = list(res["new"][0])
    print(f"   {'side':<18} " + " ".join(f"{p:>20}" for p in phases) + f" {'cycle':>8}")
    totals = {}
    for name, _ in sides:
        b = {p: min(x[p] for x in res[name]) * 1000 for p in phases}
        totals[name] = sum(b.values())
        print(
            f"   {name:<18} " + " ".join(f"{b[p]:20.1f}" for p in phases) + f" {totals[name]:8.1f}"
        )
    for name, _ in sides[1:]:
        print(f"   a cycle: {ratio(totals[name], totals['new'])} faster than {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default=BASELINE_REF, help="git ref of the baseline code")
    ap.add_argument("--no-baseline", action="store_true", help="time this checkout only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side (best kept)")
    ap.add_argument("--cycles", type=int, default=20, help="sandbox cycles per run")
    ap.add_argument("--skip-demo", action="store_true", help="parts 2 and 3 only")
    args = ap.parse_args()
    print(
        f"bench_startup: {os.cpu_count()} cores, load average {load()} at the start; "
        f"python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as t:
        tmp = Path(t)
        old = None if args.no_baseline else baseline_tree(args.baseline, tmp, "data")
        sides = [("new", ROOT)] + ([(f"baseline {args.baseline}", old)] if old else [])
        if args.skip_demo:
            store = tmp / "demo-store.sqlite3"
            out = tmp / "one-demo"
            _, _, code, err = timed(cli("demo", "--out", str(out), "-q"), ROOT, tmp)
            if code:
                raise SystemExit(f"demo exited {code}:\n{err[-2000:]}")
            shutil.copy(out / "store.sqlite3", store)
        else:
            store = part_demo(sides, tmp, args.repeat)
        part_cli(sides, tmp, args.repeat, store)
        part_sandbox(sides, tmp, args.repeat, args.cycles)
    print(f"\nload average {load()} at the end")


if __name__ == "__main__":
    main()
