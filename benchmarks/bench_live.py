"""The webhook receiver under load, and what webhooks save against polling (issue 16).

Part A — a burst of 10,000 webhook deliveries (``report_available`` events naming the 2,000
completed interviews of a sandbox world, five distinct events each) sent over real HTTP by
16 threads on keep-alive connections, and by one (the sandbox's own dispatcher sends one at a
time). The receiver runs in its own process (``WebhookReceiver`` with its defaults, the per-
source rate cap off) and fetches every interview from the sandbox, which runs in a third
process. Printed: deliveries acknowledged per second, acknowledgement latency (p50/p99), the
receiver's peak RSS (``VmHWM``) before and after the burst, the time until the queue is
drained, and the delay from an event's arrival to its stored document (p50/p95/max).

Part B — steady state of one posting (``--sizes`` candidates), side by side in one run: an
hour of traffic (``--rate``
new interviews completing per hour, in ``--loads`` slices; after each slice the posting is
loaded, as a notebook or cron job would) costs how many requests when

* polling: ``load_posting(refresh=True)`` each time (every candidate page, then the changed
  documents);
* webhooks: a receiver is up, and ``load_posting(refresh="auto")`` each time (no listing
  page while the receiver covers the store), plus the daily full listing, amortised per hour.

Requests are counted by the sandbox per route. The request counts do not depend on the
machine; the speeds do (the script prints the load average).

Run::

    python benchmarks/bench_live.py
    python benchmarks/bench_live.py --events 2000 --n 500 --sizes 500  # quicker
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _receiver(conn: Any, store: str, base_url: str, api_key: str) -> None:
    """Child process: a WebhookReceiver until told to stop."""
    from milo_analytics.api import HeyMiloClient
    from milo_analytics.live import WebhookReceiver

    with (
        HeyMiloClient(api_key=api_key, base_url=base_url) as client,
        WebhookReceiver(store, client, rate_cap=None) as rec,
    ):
        conn.send((rec.port, rec.url.split(str(rec.port), 1)[1], os.getpid()))
        while True:
            msg = conn.recv()
            if msg == "stop":
                break
            if msg == "idle":
                conn.send(rec.wait_idle(timeout=600))
        conn.send(rec.stats)


def _rss(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out.get("VmRSS", float("nan")), out.get("VmHWM", float("nan"))


def _send_all(port: int, path: str, bodies: list[bytes], threads: int) -> list[float]:
    """POST every body (keep-alive connection per thread); returns each ack's latency (s)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def run(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for body in chunk:
            t = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"delivery answered {resp.status}")
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(bodies[k::threads],)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def part_a(args: argparse.Namespace) -> None:
    from milo_analytics import Store
    from milo_analytics.sandbox import WorldConfig, run_sandbox

    print(f"Part A — a burst of {args.events:,} deliveries (load average {os.getloadavg()[0]:.1f})")
    world = WorldConfig(seed=3, n_candidates=args.n, n_second=0, unfinished_rate=0.0)
    with run_sandbox(world, process=True) as sb, tempfile.TemporaryDirectory() as tmp:
        ids = sorted(sb.world.interview_data)
        per = max(1, args.events // len(ids))
        bodies = [
            json.dumps(
                {
                    "event_type": "report_available",
                    "posting_id": "P",
                    "interview_id": iid,
                    "timestamp": k,
                }
            ).encode()
            for k in range(per)
            for iid in ids
        ][: args.events]
        for threads in (1, args.threads):
            store = str(Path(tmp) / f"store-{threads}.sqlite3")
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_receiver, args=(child, store, sb.base_url, sb.api_key))
            proc.start()
            port, path, pid = parent.recv()
            rss0, _ = _rss(pid)
            sent = bodies if threads > 1 else bodies[: max(1, len(bodies) // 5)]
            t0 = time.perf_counter()
            lat = _send_all(port, path, sent, threads)
            acked = time.perf_counter() - t0
            _, hwm_burst = _rss(pid)
            parent.send("idle")
            assert parent.recv()
            drained = time.perf_counter() - t0
            _, hwm = _rss(pid)
            parent.send("stop")
            stats = parent.recv()
            proc.join(60)
            with Store(store) as st:
                events = st.events()
                states = st.interview_states({e["interview_id"] for e in events})
            delay = [
                max(0.0, states[e["interview_id"]].fetched_at - e["received_at"])
                for e in events
                if e["interview_id"] in states
            ]
            print(
                f"  {threads:>2} sender thread(s), {len(sent):,} deliveries: "
                f"{len(sent) / acked:,.0f} acknowledged/s (ack p50 {_pct(lat, 50) * 1e3:.1f} ms, "
                f"p99 {_pct(lat, 99) * 1e3:.1f} ms); queue drained after {drained:.1f} s "
                f"({stats.get('fetched', 0):,} interviews fetched, {stats.get('covered', 0):,} "
                f"events covered by a fetch); receiver RSS {rss0:.0f} MB at start, peak "
                f"{hwm_burst:.0f} MB during the burst, {hwm:.0f} MB with the queue drained; "
                f"arrival → stored document p50 {_pct(delay, 50):.2f} s, p95 "
                f"{_pct(delay, 95):.2f} s, max {max(delay):.2f} s"
            )


def _count(counts: dict[str, int]) -> dict[str, int]:
    listing = counts.get("GET /postings/{posting_id}/candidates", 0)
    data = counts.get("GET /interviews/{interview_id}/data", 0)
    other = sum(counts.values()) - listing - data
    other -= counts.get("POST /postings/{posting_id}/candidates/bulk", 0)  # the simulation's
    return {"listing": listing, "documents": data, "other": other}


def part_b(args: argparse.Namespace) -> None:
    for n in args.sizes:
        _steady(args, n)


def _steady(args: argparse.Namespace, n: int) -> None:
    from milo_analytics import Store, load_posting
    from milo_analytics.live import WebhookReceiver, register_webhooks
    from milo_analytics.sandbox import WorldConfig, run_sandbox

    print(
        f"Part B — one posting of {n:,} candidates, {args.rate} new interviews an hour, "
        f"loaded {args.loads}× an hour"
    )
    rows = {}
    for mode in ("polling", "webhooks"):
        world = WorldConfig(seed=4, n_candidates=n, n_second=0, unfinished_rate=0.0)
        with run_sandbox(world) as sb, sb.client() as client, tempfile.TemporaryDirectory() as tmp:
            pid = sb.world.postings[0]["id"]
            store = Store(Path(tmp) / "s.sqlite3")
            rec = WebhookReceiver(store, client) if mode == "webhooks" else None
            if rec is not None:
                rec.start()
            first = load_posting(pid, client=client, store=store, progress=False)
            if rec is not None:
                register_webhooks(client, pid, rec.url)
            sb.reset_counts()
            per_load = args.rate // args.loads
            made = 0
            for k in range(args.loads):
                people = [{"name": f"N{k}-{i}", "email": f"n{k}-{i}@example.org"}
                          for i in range(per_load)]  # fmt: skip
                client.candidates.ingest_bulk(pid, people)
                made += per_load
                want = len(first.interviews) + made
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # the interviews complete at the next tick
                    if len(sb.world.interview_data) >= want and sb.wait_webhooks(0.1):
                        break
                    time.sleep(0.02)
                if rec is not None:
                    rec.wait_idle(60)
                refresh = "auto" if rec is not None else True
                data = load_posting(pid, client=client, store=store, refresh=refresh,
                                    progress=False)  # fmt: skip
                assert len(data.interviews) == want, (mode, len(data.interviews), want)
            hour = _count(dict(sb.counts))
            if rec is not None:
                paths = {r.path for r in data.pull_reports}
                assert paths == {"events"}, paths
                # the daily full listing in steady state: every page, and the documents whose
                # candidate record changed (none: webhook-fed copies match their records)
                sb.reset_counts()
                load_posting(pid, client=client, store=store, progress=False)
                daily = {k: v / 24 for k, v in _count(dict(sb.counts)).items()}
                hour = {k: hour[k] + daily[k] for k in hour}
                rec.stop()
            store.close()
            rows[mode] = hour
            print(
                f"  {mode:<9} per hour: {hour['listing']:>7.1f} listing pages, "
                f"{hour['documents']:>6.1f} documents, {hour['other']:>6.1f} other, "
                f"{sum(hour.values()):>7.1f} in all"
                + ("  (incl. the daily full listing / 24)" if mode == "webhooks" else "")
            )
    ratio = sum(rows["polling"].values()) / max(1e-9, sum(rows["webhooks"].values()))
    print(f"  polling needs {ratio:.1f}× the requests of webhooks")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=10_000, help="deliveries in the burst")
    ap.add_argument("--n", type=int, default=2_000, help="candidates of the posting (part A)")
    ap.add_argument(
        "--sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[2_000, 20_000],
        help="candidates of the posting in part B, comma-separated",
    )
    ap.add_argument("--threads", type=int, default=16, help="sender threads in the burst")
    ap.add_argument("--rate", type=int, default=60, help="new interviews per hour (part B)")
    ap.add_argument("--loads", type=int, default=4, help="loads per hour (part B)")
    ap.add_argument("--skip-burst", action="store_true")
    ap.add_argument("--skip-steady", action="store_true")
    args = ap.parse_args()
    if not args.skip_burst:
        part_a(args)
    if not args.skip_steady:
        part_b(args)


if __name__ == "__main__":
    main()
