"""The interview simulation: candidates ingested through the API get interviewed.

Each ingested candidate moves ``pending → in_progress → evaluating → completed``, one stage
every ``interview_delay`` seconds (0: the whole interview happens at the next tick or read).
Results are scored with the questions and weights in force at completion time, so PATCHed
weights apply to later interviews only. Registered webhooks (``candidate_ingested`` on ingest,
``interview_started`` when the candidate starts, ``interview_completed`` when they finish, ``report_available`` when the
report is ready) are POSTed to their URLs by a background thread with the payload
``{event_type, posting_id, interview_id, timestamp, data}``.

Examples
--------
>>> sim = Simulation(interview_delay=0.0, seed=1)
>>> sim.pending_count()
0
"""

from __future__ import annotations

import copy
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .world import complete_candidate, rate_answers, set_unfinished_status, speech_from_latent

if TYPE_CHECKING:
    from .app import SandboxState

__all__ = ["WEBHOOK_EVENTS", "Simulation", "WebhookDispatcher"]

#: Events a webhook can subscribe to. ``candidate_ingested`` (fired on ingest) is mentioned
#: only in the spec's description of ``event_type``; the guides list the other three.
WEBHOOK_EVENTS = (
    "interview_started",
    "interview_completed",
    "report_available",
    "candidate_ingested",
)
STAGES = ("in_progress", "evaluating", "completed")


class WebhookDispatcher:
    """POSTs webhook payloads from one background thread (never blocks the server loop).

    ``deliveries`` records every attempt: ``{url, event_type, interview_id, status, error}``.
    """

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        self._q: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one delivery."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()
        self._idle.clear()
        self._q.put((url, payload))

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            while True:
                item = self._q.get()
                if item is None:
                    self._q.task_done()
                    return
                url, payload = item
                rec: dict[str, Any] = {
                    "url": url,
                    "event_type": payload["event_type"],
                    "interview_id": payload["interview_id"],
                    "status": None,
                    "error": None,
                }
                try:
                    r = client.post(url, json=payload)
                    rec["status"] = r.status_code
                except Exception as exc:  # a dead receiver must not kill the thread
                    rec["error"] = f"{type(exc).__name__}: {exc}"
                self.deliveries.append(rec)
                self._q.task_done()
                if self._q.unfinished_tasks == 0:
                    self._idle.set()

    def wait(self, timeout: float = 5.0) -> bool:
        """Block until every queued delivery was attempted; False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the thread after the queued deliveries."""
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None


class Simulation:
    """Moves ingested candidates through the interview and fires webhooks.

    Parameters
    ----------
    interview_delay
        Seconds per stage (pending → in_progress → evaluating → completed).
    seed
        Seed of the abilities drawn for simulated candidates.
    """

    def __init__(
        self, interview_delay: float = 0.0, seed: int = 0, clock: Callable[[], float] = time.time
    ) -> None:
        if interview_delay < 0:
            raise ValueError(f"interview_delay must be >= 0 seconds, got {interview_delay}")
        self.interview_delay = float(interview_delay)
        self.seed = seed
        self.clock = clock
        self._n = 0
        # interview_id -> (t0, next stage index)
        self._active: dict[str, tuple[float, int]] = {}
        self._lock = threading.RLock()
        self.dispatcher = WebhookDispatcher()

    def pending_count(self) -> int:
        """Interviews the simulation has not finished yet."""
        return len(self._active)

    def register(self, interview_id: str, t0: float, stage: int = 0) -> None:
        """Start simulating an interview ingested at ``t0`` (``stage``: next stage index)."""
        with self._lock:
            self._active[interview_id] = (t0, stage)

    def advance(self, state: SandboxState, now: float | None = None, force: bool = False) -> int:
        """Apply every transition due by ``now`` (all of them with ``force``); return how many."""
        if not self._active:
            return 0
        now = self.clock() if now is None else now
        done = 0
        with self._lock, state.lock:
            for iid in list(self._active):
                t0, stage = self._active[iid]
                while stage < len(STAGES):
                    due = t0 + self.interview_delay * (stage + 1)
                    if not force and due > now + 1e-9:
                        break
                    self._apply(state, iid, STAGES[stage], max(due, t0) if not force else now)
                    stage += 1
                    done += 1
                if stage >= len(STAGES):
                    del self._active[iid]
                else:
                    self._active[iid] = (t0, stage)
        return done

    # --------------------------------------------------------------- transitions
    def _apply(self, state: SandboxState, iid: str, stage: str, at: float) -> None:
        cand = state.world.candidate(iid)
        if cand is None:
            return
        at = round(at, 3)
        if stage in ("in_progress", "evaluating"):
            set_unfinished_status(cand, stage, at)
            state.touch(iid)
            event = "interview_started" if stage == "in_progress" else "interview_completed"
            self._fire(state, event, cand, dict(cand), at)
            return
        doc = self.score(state, cand, at)
        state.world.interview_data[iid] = doc
        state.touch(iid)
        self._fire(state, "report_available", cand, doc, at)

    def score(self, state: SandboxState, cand: dict[str, Any], at: float) -> dict[str, Any]:
        """Interview and score one candidate now with the questions and weights in force."""
        pid = cand["posting_id"]
        qs = sorted(
            (q for q in state.world.questions.get(pid, []) if q.get("modality") == "voice"),
            key=lambda q: q.get("rank") or 0,
        )
        pinfo = state.world.truth.get("postings", {}).get(pid, {})
        scale = int(pinfo.get("score_scale", state.default_scale))
        formula = state.world.truth.get("formula", "proportional")
        cfg = state.world.truth.get("config", {})
        rho = float(cfg.get("item_correlation", 0.35))
        noise = float(cfg.get("rating_noise", 0.35))
        self._n += 1
        rng = np.random.default_rng([int(self.seed), 7919, self._n])
        g = rng.normal()
        ab = math.sqrt(rho) * g + math.sqrt(1 - rho) * rng.normal(size=(1, len(qs)))
        ratings = rate_answers(rng, ab, [scale] * len(qs), noise)[0].tolist() if qs else []
        speech = float(speech_from_latent(np.array([0.5 * g + math.sqrt(0.75) * rng.normal()]))[0])
        posting = state.world.posting(pid) or {}
        video = bool(((posting.get("workflow") or [{}])[0].get("config") or {}).get("video", False))
        return complete_candidate(
            rng,
            cand,
            qs,
            ratings,
            speech,
            at,
            scale=scale,
            formula=formula,
            video=video,
            weights=[q.get("score_weight") if q.get("score_weight") is not None else 5 for q in qs],
        )

    def ingested(self, state: SandboxState, cand: dict[str, Any], at: float) -> None:
        """Fire ``candidate_ingested`` for a candidate that was just ingested."""
        self._fire(state, "candidate_ingested", cand, cand, at)

    def _fire(
        self, state: SandboxState, event: str, cand: dict[str, Any], data: dict[str, Any], at: float
    ) -> None:
        hooks = [
            h
            for h in state.world.webhooks
            if h.get("is_active")
            and h["posting_id"] == cand["posting_id"]
            and h["event_type"] == event
        ]
        if hooks:
            data = copy.deepcopy(data)
        for h in hooks:
            payload = {
                "event_type": event,
                "posting_id": cand["posting_id"],
                "interview_id": cand["interview_id"],
                "timestamp": at,
                "data": data,
            }
            self.dispatcher.send(h["webhook_url"], payload)
