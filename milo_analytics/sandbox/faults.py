"""Fault injection for the sandbox: latency, per-key rate limit, random 5xx, dropped
connections and malformed interview documents.

Examples
--------
>>> f = Faults(latency=0.05, rate_limit=300, malformed={"ABC": "schema"})
>>> f.malformed_mode("ABC"), f.malformed_mode("XYZ")
('schema', None)
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MALFORMED_MODES", "Faults", "RateLimiter", "normalise_malformed"]

#: ``"json"``: the 200 body is not valid JSON; ``"schema"``: valid JSON whose interview
#: document violates the API schema (missing required fields, wrong types).
MALFORMED_MODES = ("json", "schema")


def normalise_malformed(malformed: Any) -> dict[str, str]:
    """Turn the ``malformed=`` option into ``{interview_id: mode}``.

    Accepts an iterable of ids (mode ``"json"``), ``"ID:mode"`` strings, or a mapping.

    Examples
    --------
    >>> normalise_malformed(["A", "B:schema"])
    {'A': 'json', 'B': 'schema'}
    """
    if not malformed:
        return {}
    if isinstance(malformed, str):
        malformed = [malformed]
    out: dict[str, str] = {}
    items: Iterable[tuple[str, str]]
    if isinstance(malformed, Mapping):
        items = ((str(k), str(v)) for k, v in malformed.items())
    else:
        items = (
            (str(x).split(":", 1)[0], str(x).split(":", 1)[1])
            if ":" in str(x)
            else (str(x), "json")
            for x in malformed
        )
    for iid, mode in items:
        if mode not in MALFORMED_MODES:
            raise ValueError(
                f"malformed mode for {iid!r} must be one of {MALFORMED_MODES}, got {mode!r}"
            )
        out[iid] = mode
    return out


class RateLimiter:
    """Fixed one-minute windows per API key (like HeyMilo's 300 requests/min per key).

    ``check(key)`` returns ``(allowed, limit, remaining, reset_seconds)``; the reset is the
    number of whole seconds until the current window ends (at least 1).
    """

    def __init__(self, limit: int, window: float = 60.0, clock: Any = time.monotonic) -> None:
        self.limit = int(limit)
        self.window = float(window)
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def check(self, key: str) -> tuple[bool, int, int, int]:
        now = self.clock()
        with self._lock:
            start, used = self._state.get(key, (now, 0))
            if now - start >= self.window:
                start, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._state[key] = (start, used)
        reset = max(1, math.ceil(start + self.window - now))
        return allowed, self.limit, max(0, self.limit - used), reset


@dataclass
class Faults:
    """The faults in force on one sandbox (change them with ``Sandbox.set_faults``).

    Parameters
    ----------
    latency
        Seconds added to every API response (``asyncio.sleep``, so concurrent requests overlap).
    rate_limit
        Requests per minute per API key; ``None`` means unlimited (no headers sent).
    error_rate
        Probability of answering a request with a random 500/502/503 (seeded).
    drop_rate
        Probability of closing the connection without any response (seeded).
    malformed
        Interview ids whose ``/data`` answer is malformed (see :func:`normalise_malformed`).
    seed
        Seed of the random draws for ``error_rate`` and ``drop_rate``.
    """

    latency: float = 0.0
    rate_limit: int | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    malformed: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _limiter: RateLimiter | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.malformed = normalise_malformed(self.malformed)
        self._rng = random.Random(self.seed)
        self._validate()
        self._limiter = RateLimiter(self.rate_limit) if self.rate_limit else None

    def _validate(self) -> None:
        if self.latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {self.latency}")
        for name in ("error_rate", "drop_rate"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {v}")
        if self.rate_limit is not None and int(self.rate_limit) < 1:
            raise ValueError(
                f"rate_limit must be a positive number of requests/min, got {self.rate_limit}"
            )

    def update(self, **kw: Any) -> None:
        """Change some faults; unknown names raise ``TypeError``."""
        allowed = {"latency", "rate_limit", "error_rate", "drop_rate", "malformed", "seed"}
        bad = set(kw) - allowed
        if bad:
            raise TypeError(f"unknown fault option(s) {sorted(bad)}; use {sorted(allowed)}")
        for k, v in kw.items():
            if k == "malformed":
                v = normalise_malformed(v)
            setattr(self, k, v)
        self._validate()
        if "seed" in kw:
            self._rng = random.Random(self.seed)
        if "rate_limit" in kw:
            self._limiter = RateLimiter(self.rate_limit) if self.rate_limit else None

    def draw_error(self) -> int | None:
        """A 5xx status to answer with, or None."""
        if self.error_rate and self._rng.random() < self.error_rate:
            return self._rng.choice((500, 502, 503))
        return None

    def draw_drop(self) -> bool:
        """Whether to drop this connection."""
        return bool(self.drop_rate) and self._rng.random() < self.drop_rate

    def check_rate(self, key: str) -> tuple[bool, int, int, int] | None:
        """Rate-limit verdict for one request (None when unlimited)."""
        return self._limiter.check(key) if self._limiter else None

    def malformed_mode(self, interview_id: str) -> str | None:
        """The malformed mode of this interview's document, or None."""
        return self.malformed.get(interview_id)
