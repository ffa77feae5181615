"""The event queue: what an acknowledged webhook event makes the store do.

The receiver (:mod:`milo_analytics.live.receiver`) records each event in the store's ``events``
table before it answers 2xx; :class:`EventWorker` then takes the due events oldest first and
:func:`process_events` handles them: it fetches the interviews they point at through
:func:`milo_analytics.load.refresh_interviews` (the pull's fetch, client, rate limiter and
store path) and marks each event ``done``, ``skipped``, ``failed`` or ``pending`` again (to be
retried after a delay). An event is marked only after what it asked for is committed, so a
process killed at any point leaves every acknowledged event either processed or still
pending, and the next worker on the store resumes the queue. Processing an event twice stores
the same document twice under the same key: harmless.

Examples
--------
>>> event_id_of({"event_type": "report_available", "interview_id": "I1"})[:7]
'sha256:'
>>> event_id_of({"id": "evt_123", "interview_id": "I1"})
'id:evt_123'
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import AuthenticationError
from ..load import heartbeat_is_recent, refresh_interviews
from ..store import Store

__all__ = [
    "NO_FETCH_EVENTS",
    "EventWorker",
    "event_id_of",
    "process_events",
    "receiver_alive",
]

logger = logging.getLogger("milo_analytics.live")

#: Events that fetch nothing: the interview has no results yet.
NO_FETCH_EVENTS = frozenset({"interview_started", "candidate_ingested"})
#: Fields a sender may use to name one delivery (not documented by HeyMilo; used when present).
_ID_FIELDS = ("event_id", "webhook_event_id", "delivery_id", "id")


def event_id_of(event: Mapping[str, Any]) -> str:
    """The de-duplication key of an event: the sender's own id when the payload has one
    (``event_id``, ``webhook_event_id``, ``delivery_id`` or ``id``), else the SHA-256 of the
    payload as canonical JSON (sorted keys), so a replayed delivery has the same key whatever
    its whitespace or key order."""
    for field in _ID_FIELDS:
        value = event.get(field)
        if isinstance(value, str) and 0 < len(value) <= 200:
            return f"id:{value}"
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def receiver_alive(store: Store, *, now: float | None = None, processing: bool = False) -> bool:
    """Whether a webhook receiver on this store is up now (a recent heartbeat, not stopped);
    with ``processing``, one that processes the queue (not only records events).

    Examples
    --------
    >>> with Store(":memory:") as s:
    ...     run = s.start_listener_run(when=100.0, heartbeat=30.0, processes=False)
    ...     receiver_alive(s, now=130.0), receiver_alive(s, now=170.0)
    ...     receiver_alive(s, now=130.0, processing=True)
    (True, False)
    False
    """
    now = time.time() if now is None else now
    return any(
        r["stopped_at"] is None
        and heartbeat_is_recent(r, now)
        and (not processing or r["processes"] != 0)
        for r in store.listener_runs(since=now - 3600)
    )


def process_events(
    client: Any,
    store: Store,
    events: list[dict[str, Any]],
    *,
    now: float | None = None,
    concurrency: int = 8,
    max_attempts: int = 8,
) -> dict[str, int]:
    """Process recorded webhook events: fetch and store what they point at, then mark them.

    The rule (DESIGN.md's refetch rule, for events): ``interview_started`` and
    ``candidate_ingested`` fetch nothing (there are no results yet; marked ``skipped``); any
    other event — ``interview_completed``, ``report_available``, or a type HeyMilo adds later —
    fetches its interview unless the store holds a good copy fetched after the event arrived
    (a replay, or a late duplicate: marked ``done`` without a request). Events of one
    interview are handled together, with one request. The payload is never trusted beyond its
    ``interview_id``: the document's own ``posting_id`` decides where it is filed.

    A transient failure (no connection, 429, 5xx) leaves the event ``pending`` with a growing
    delay (5 s, 10 s, … up to 15 min), ``failed`` after ``max_attempts`` tries; a permanent one
    (404, a malformed document) marks it ``failed`` at once, and the document is listed in
    ``errors`` like a pull's. Either way the next full listing fetches the interview again.

    Returns
    -------
    dict
        Counts: ``fetched`` (interviews requested), ``stored`` / ``unfinished`` (events whose
        fetch stored a finished document / a candidate record only), ``skipped``,
        ``covered``, ``failed``, ``retry``.

    Raises
    ------
    AuthenticationError
        The key is wrong; no event changed state.
    """
    now = time.time() if now is None else now
    counts = dict.fromkeys(
        ("fetched", "stored", "unfinished", "skipped", "covered", "failed", "retry"), 0
    )
    if not events:
        return counts
    by_interview: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_interview.setdefault(e["interview_id"], []).append(e)
    states = store.interview_states(by_interview)
    updates: list[dict[str, Any]] = []
    fetch: dict[str, list[dict[str, Any]]] = {}
    for iid, evs in by_interview.items():
        wanted = [e for e in evs if e["event_type"] not in NO_FETCH_EVENTS]
        for e in evs:
            if e["event_type"] in NO_FETCH_EVENTS:
                updates.append(
                    {
                        "event_id": e["event_id"],
                        "state": "skipped",
                        "error": "no results before the interview is completed",
                    }
                )
                counts["skipped"] += 1
        if not wanted:
            continue
        st = states.get(iid)
        newest = max(e["received_at"] for e in wanted)
        if (
            st is not None
            and st.state == "ok"
            and st.has_document
            and st.fetched_at is not None
            and st.fetched_at >= newest
        ):
            for e in wanted:
                updates.append(
                    {"event_id": e["event_id"], "state": "done", "posting_id": st.posting_id}
                )
                counts["covered"] += 1
            continue
        fetch[iid] = wanted
    if fetch:
        hints = {iid: evs[0].get("posting_id") for iid, evs in fetch.items()}
        first_result = {iid: min(e["received_at"] for e in evs) for iid, evs in fetch.items()}
        results = refresh_interviews(
            client,
            store,
            fetch,
            posting_hints=hints,
            completed_at=first_result,
            concurrency=concurrency,
        )
        counts["fetched"] += len(fetch)
        for iid, evs in fetch.items():
            r = results[iid]
            for e in evs:
                u: dict[str, Any] = {
                    "event_id": e["event_id"],
                    "posting_id": r.posting_id,
                    "attempted": True,
                }
                if r.outcome != "failed":
                    u["state"] = "done"
                    counts[r.outcome] += 1
                elif r.transient and e["attempts"] + 1 < max_attempts:
                    delay = min(900.0, 5.0 * 2 ** e["attempts"])
                    u.update(
                        state="pending", error=f"{r.stage}: {r.error}", next_attempt_at=now + delay
                    )
                    counts["retry"] += 1
                else:
                    u.update(state="failed", error=f"{r.stage}: {r.error}")
                    counts["failed"] += 1
                updates.append(u)
    store.finish_events(updates)
    return counts


class EventWorker:
    """A background thread that processes the store's due events (:func:`process_events`).

    It wakes when :meth:`wake` is called (the receiver does after each commit) and at least
    every ``poll`` seconds (events waiting for a retry, events left by a killed process).

    Parameters
    ----------
    store
        The store whose ``events`` table is the queue.
    client
        The :class:`~milo_analytics.api.HeyMiloClient` that fetches (its rate limiter paces).
    concurrency
        Requests in flight at once.
    poll
        Seconds between two looks at the queue when nothing wakes the worker.
    batch
        Events taken at once.
    """

    def __init__(
        self,
        store: Store,
        client: Any,
        *,
        concurrency: int = 4,
        poll: float = 1.0,
        batch: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.client = client
        self.concurrency = concurrency
        self.poll = poll
        self.batch = batch
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EventWorker:
        """Start the thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="milo-live-worker", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the queue now."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the batch in hand (its events are committed or stay pending)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def idle(self) -> bool:
        """True when no event is due and none is being processed."""
        return not self._busy.is_set() and not self.store.due_events(now=self.clock(), limit=1)

    def _add(self, counts: Mapping[str, int]) -> None:
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + int(v)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            while not self._stop.is_set():
                self._busy.set()
                try:
                    due = self.store.due_events(now=self.clock(), limit=self.batch)
                    if not due:
                        break
                    self._add(
                        process_events(
                            self.client,
                            self.store,
                            due,
                            now=self.clock(),
                            concurrency=self.concurrency,
                        )
                    )
                    self.last_error = None
                except AuthenticationError as exc:
                    # the key is wrong: every fetch would fail; the events wait (not lost)
                    self.last_error = str(exc)
                    logger.error("webhook events wait: %s; fix HEYMILO_API_KEY and restart", exc)
                    self._stop.wait(60.0)
                    break
                except Exception as exc:  # a store or network problem: retry on the next poll
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    logger.error("processing webhook events failed: %s", self.last_error)
                    self._stop.wait(self.poll)
                    break
                finally:
                    self._busy.clear()
