"""Thread-safe client-side rate limiting for HeyMiloClient.

One :class:`RateLimiter` is shared by every thread that uses a client. It hands out send
slots under a lock, GCRA style: each slot is one emission interval after the previous one,
so requests are paced smoothly (never in bursts) and threads never share a slot.

Modes (``rate_limit=`` of :class:`~milo_analytics.api.HeyMiloClient`):

``"auto"``
    Follow the server's rate-limit headers (``X-RateLimit-Limit/-Remaining/-Reset`` or the
    IETF ``RateLimit-*`` fields) when it sends them, pacing at ``safety`` (98 %) of the
    advertised limit and pausing until the reset when the window is used up. Without headers,
    HeyMilo's own hosts (``*.heymilo.ai``, ``*.heymilo.network``) are paced at their
    documented 300 requests/min and other hosts (the local sandbox) run unpaced.
int ``N``
    Pace proactively at exactly N requests per minute (still slowing down when the server
    advertises a lower limit or answers 429).
``None``
    No throttling at all.

A 429 always pauses every thread for the ``Retry-After`` time (at most ``max_pause``). When
no advertised limit explains it, the pace also follows AIMD (additive increase,
multiplicative decrease):

* **cut**: the pace is halved (:data:`AIMD_DECREASE`) from the current pace — for an unpaced
  host, from the larger of the requests sent in the last minute and HeyMilo's documented
  294/min — never below :data:`AIMD_FLOOR` (10/min). One cut per round: 429s answering
  requests that were sent before the last cut do not cut again.
* **recovery**: every successful answer adds back ``ceiling / AIMD_RECOVERY`` requests/min
  per second elapsed since the previous one (time, not request count, so an idle client
  recovers as fast as a busy one), where the ceiling is the pace without AIMD (N, the
  HeyMilo default) or, for an unpaced host, the reference above. Reaching the ceiling ends
  AIMD: after a single 429, full speed again 60 s after the pause (at most
  ``AIMD_RECOVERY`` = 120 s from the floor).
* **a real limit**: a 429 that comes while still recovering, or within ``AIMD_HOLD`` of
  regaining full speed, shows the limit lies below the ceiling. The pace that drew it is
  remembered; after the cut the pace recovers to ``AIMD_MARGIN`` (90 %) of it, holds there
  for ``AIMD_HOLD`` (5 minutes), then probes upwards five times slower than it recovers
  (a fixed one-minute window counts a whole minute, so a fast probe would overshoot it).
  Under a fixed limit without headers the pace settles just below the limit with about one
  429 per hold period (94–96 % of the limit in the tests), and it is back at full speed at
  most 15 minutes (hold plus a slow probe) after the limit is lifted.

A server that advertises its limit in headers is followed exactly, without 429s.

Examples
--------
>>> limiter = RateLimiter(120, clock=lambda: 0.0, sleep=lambda s: None)
>>> [round(limiter.acquire(), 2) for _ in range(3)]  # frozen clock: slots 0.5 s apart
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError
from .errors import parse_retry_after

__all__ = [
    "AIMD_DECREASE",
    "AIMD_FLOOR",
    "AIMD_HOLD",
    "AIMD_MARGIN",
    "AIMD_RECOVERY",
    "HEYMILO_DEFAULT_LIMIT",
    "RateLimitInfo",
    "RateLimiter",
    "is_heymilo_host",
    "parse_rate_limit_headers",
]

#: Documented HeyMilo limit: 300 requests per minute per API key.
HEYMILO_DEFAULT_LIMIT = 300

#: AIMD: the pace after a 429 is this fraction of the pace that drew it.
AIMD_DECREASE = 0.5
#: AIMD: the slowest pace, in requests per minute.
AIMD_FLOOR = 10.0
#: AIMD: seconds of successful traffic to regain the whole ceiling from zero.
AIMD_RECOVERY = 120.0
#: AIMD after a 429 that came while still recovering, or within AIMD_HOLD of having recovered
#: (a real limit, not a blip): recover to this fraction of the pace that drew it, hold there
#: for AIMD_HOLD seconds, then probe upwards five times slower than AIMD_RECOVERY.
AIMD_MARGIN = 0.9
AIMD_HOLD = 300.0
_AIMD_PROBE = AIMD_RECOVERY * 5

_DEFAULT_WINDOW = 60.0


def is_heymilo_host(url_or_host: str) -> bool:
    """True for HeyMilo's own API hosts (``*.heymilo.ai``, ``*.heymilo.network``).

    Examples
    --------
    >>> is_heymilo_host("https://api.heymilo.ai/api/v2"), is_heymilo_host("http://127.0.0.1:8000")
    (True, False)
    """
    host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in ("heymilo.ai", "heymilo.network"))


@dataclass(frozen=True)
class RateLimitInfo:
    """What a response's rate-limit headers say.

    Attributes
    ----------
    limit : int or None
        Requests allowed per ``window``.
    remaining : int or None
        Requests left in the current window.
    reset : float or None
        Seconds until the window resets (epoch values are converted).
    window : float
        Window length in seconds (60 unless a policy header says otherwise).
    """

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    window: float = _DEFAULT_WINDOW


_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _first_number(value: str | None) -> float | None:
    if value is None:
        return None
    m = _NUM.search(value)
    return float(m.group()) if m else None


def _params(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in re.split(r"[;,]", value):
        if "=" in part:
            k, _, v = part.partition("=")
            out[k.strip().lower()] = v.strip().strip('"')
    return out


def _reset_seconds(value: float | None, wall_clock: Callable[[], float]) -> float | None:
    if value is None:
        return None
    if value > 1e12:  # epoch milliseconds
        value = value / 1000.0 - wall_clock()
    elif value > 1e9:  # epoch seconds
        value = value - wall_clock()
    return max(0.0, value)


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, wall_clock: Callable[[], float] = time.time
) -> RateLimitInfo | None:
    """Read ``X-RateLimit-*`` or IETF ``RateLimit`` / ``RateLimit-*`` headers.

    Returns ``None`` when the response carries no rate-limit header.

    Examples
    --------
    >>> parse_rate_limit_headers({"x-ratelimit-limit": "300", "x-ratelimit-remaining": "12",
    ...                           "x-ratelimit-reset": "30"})
    RateLimitInfo(limit=300, remaining=12, reset=30.0, window=60.0)
    >>> parse_rate_limit_headers({"ratelimit": "limit=100, remaining=5, reset=7"})
    RateLimitInfo(limit=100, remaining=5, reset=7.0, window=60.0)
    """
    get = headers.get
    limit = _first_number(get("x-ratelimit-limit"))
    remaining = _first_number(get("x-ratelimit-remaining"))
    reset = _first_number(get("x-ratelimit-reset"))
    window = _DEFAULT_WINDOW
    if limit is None and remaining is None:
        raw_limit = get("ratelimit-limit")
        if raw_limit is not None:  # IETF draft <= 6: RateLimit-Limit: 100, 100;w=60
            limit = _first_number(raw_limit)
            w = _params(raw_limit).get("w")
            if w:
                window = float(_first_number(w) or window)
        remaining = _first_number(get("ratelimit-remaining"))
        reset = _first_number(get("ratelimit-reset"))
        combined = get("ratelimit")
        if combined is not None:  # draft 7 "limit=, remaining=, reset=" or draft 8+ "r=;t="
            p = _params(combined)
            if "limit" in p:
                limit = _first_number(p["limit"])
            if "remaining" in p or "r" in p:
                remaining = _first_number(p.get("remaining", p.get("r")))
            if "reset" in p or "t" in p:
                reset = _first_number(p.get("reset", p.get("t")))
        policy = get("ratelimit-policy")
        if policy is not None:
            p = _params(policy)
            q = p.get("q")
            if q is not None:
                limit = _first_number(q)
            elif limit is None:
                limit = _first_number(policy)
            if p.get("w"):
                window = float(_first_number(p["w"]) or window)
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimitInfo(
        limit=int(limit) if limit is not None and limit > 0 else None,
        remaining=int(remaining) if remaining is not None else None,
        reset=_reset_seconds(reset, wall_clock),
        window=window if window > 0 else _DEFAULT_WINDOW,
    )


class RateLimiter:
    """Thread-safe pacer shared by all threads of one client.

    Parameters
    ----------
    rate_limit
        ``"auto"``, an int (requests per minute) or ``None``; see the module docstring.
    host
        The API's base URL or host; decides the ``"auto"`` default pace.
    clock, sleep
        Monotonic clock and sleep function (injectable so tests never sleep).
    wall_clock
        Epoch clock, for epoch ``X-RateLimit-Reset`` values and HTTP-date ``Retry-After``.
    safety
        Fraction of a server-advertised limit to pace at (0.98: any 60 s window stays below it).
    max_pause
        Longest pause a single 429 imposes on every thread (a longer ``Retry-After`` is
        shortened: the request that drew it fails, and the next one asks again).

    Examples
    --------
    >>> t = [0.0]
    >>> limiter = RateLimiter(60, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> for _ in range(5):
    ...     _ = limiter.acquire()
    ...     limiter.on_response(200, {})
    >>> t[0]  # 5 requests at 60/min: sent at 0, 1, 2, 3, 4 s
    4.0
    >>> _ = limiter.acquire(); limiter.on_response(429, {"Retry-After": "1"})
    >>> limiter.requests_per_minute  # halved by the 429
    30.0
    """

    def __init__(
        self,
        rate_limit: int | str | None = "auto",
        *,
        host: str = "",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        safety: float = 0.98,
        max_pause: float = 120.0,
    ) -> None:
        if isinstance(rate_limit, bool) or not (
            rate_limit is None
            or rate_limit == "auto"
            or (isinstance(rate_limit, int | float) and rate_limit > 0)
        ):
            raise ConfigError(
                f"rate_limit must be 'auto', a positive number of requests per minute, or None; "
                f"got {rate_limit!r}"
            )
        self.mode = "off" if rate_limit is None else "auto" if rate_limit == "auto" else "fixed"
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._safety = safety
        self._max_pause = max_pause
        self._lock = threading.Lock()
        self._fixed_interval: float | None = None
        if self.mode == "fixed":
            self._fixed_interval = 60.0 / float(rate_limit)  # type: ignore[arg-type]
        self._default_interval: float | None = None
        if self.mode == "auto" and is_heymilo_host(host):
            self._default_interval = 60.0 / (HEYMILO_DEFAULT_LIMIT * safety)
        self._server_interval: float | None = None
        # AIMD state: the pace (requests/min) while recovering from a 429, else None.
        self._aimd_rate: float | None = None
        self._aimd_ceiling = 0.0
        self._aimd_since = float("-inf")
        self._aimd_known: float | None = None  # the pace that drew a 429 while recovering
        self._aimd_hold_until = float("-inf")
        self._aimd_ended = float("-inf")  # when AIMD last brought the pace back to full
        self._generation = 0  # bumped by every AIMD cut
        self._local = threading.local()  # the generation this thread's request was sent in
        self._consecutive_429 = 0
        self._tat = float("-inf")  # next free slot (theoretical arrival time)
        self._blocked_until = float("-inf")
        self._inflight = 0
        self._sent: deque[float] = deque()  # send times of the last minute
        self.server_info: RateLimitInfo | None = None

    # ------------------------------------------------------------------ state
    def _base_interval(self) -> float | None:
        """The pace without AIMD (fixed N, the server's advertised limit, HeyMilo's default)."""
        candidates = [
            i
            for i in (
                self._fixed_interval,
                self._server_interval,
                None if self._server_interval else self._default_interval,
            )
            if i
        ]
        return max(candidates) if candidates else None

    @property
    def interval(self) -> float | None:
        """Seconds between two sends at the current pace (``None`` = unpaced)."""
        if self.mode == "off":
            return None
        base = self._base_interval()
        if self._aimd_rate is not None:
            aimd = 60.0 / self._aimd_rate
            return max(base, aimd) if base else aimd
        return base

    @property
    def requests_per_minute(self) -> float | None:
        """The current pace in requests per minute (``None`` = unpaced)."""
        interval = self.interval
        return 60.0 / interval if interval else None

    @property
    def aimd_rate(self) -> float | None:
        """The AIMD pace (requests/min) while recovering from a 429, else ``None``."""
        return self._aimd_rate

    # ------------------------------------------------------------------ slots
    def acquire(self) -> float:
        """Wait for this thread's send slot; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._blocked_until)
                interval = self.interval
                if interval is not None:
                    start = max(start, self._tat)
                    self._tat = start + interval
                wait = start - now
                if wait <= 0:
                    self._admit(now)
                    return waited
            self._sleep(wait)
            waited += wait
            with self._lock:
                now = self._clock()
                # A 429 or an exhausted window seen while we slept moves the block past our slot.
                if self._blocked_until <= start + 1e-9 or self.mode == "off":
                    self._admit(max(now, start))
                    return waited

    def _admit(self, when: float) -> None:
        self._inflight += 1
        self._local.generation = self._generation
        if self.mode != "off":
            self._sent.append(when)
            cutoff = when - _DEFAULT_WINDOW
            while self._sent and self._sent[0] < cutoff:
                self._sent.popleft()

    def release(self) -> None:
        """Mark a request as finished without an HTTP answer (transport error)."""
        with self._lock:
            self._inflight = max(0, self._inflight - 1)

    def on_response(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's status and rate-limit headers (call once per acquire)."""
        with self._lock:
            self._inflight = max(0, self._inflight - 1)
            if self.mode == "off":
                return
            now = self._clock()
            headers = {k.lower(): v for k, v in headers.items()}
            info = parse_rate_limit_headers(headers, wall_clock=self._wall_clock)
            if info is not None:
                self.server_info = info
                if info.limit:
                    self._server_interval = info.window / (info.limit * self._safety)
                # Requests already on the wire may use what is left of the window.
                if (
                    info.remaining is not None
                    and info.reset is not None
                    and info.remaining <= self._inflight
                ):
                    pause = min(info.reset, self._max_pause)
                    self._blocked_until = max(self._blocked_until, now + pause)
            if status == 429:
                self._on_429(now, headers, info)
            else:
                self._consecutive_429 = 0
                if status < 500:
                    self._recover(now)

    def _on_429(self, now: float, headers: Mapping[str, str], info: RateLimitInfo | None) -> None:
        self._consecutive_429 += 1
        pause = parse_retry_after(headers.get("retry-after"), wall_clock=self._wall_clock)
        if pause is None and info is not None and info.reset is not None:
            pause = info.reset
        if pause is None:
            pause = min(60.0, 0.5 * 2 ** (self._consecutive_429 - 1))
        pause = min(pause, self._max_pause)
        self._blocked_until = max(self._blocked_until, now + pause)
        if info is not None and info.limit:
            return  # the advertised limit already sets the pace
        if getattr(self._local, "generation", self._generation) != self._generation:
            return  # sent before the last cut: that cut already answered this overload
        self._generation += 1
        base = self._base_interval()
        if self._aimd_rate is None:
            if base:
                ceiling = 60.0 / base
            else:  # unpaced: what was sent, but at least HeyMilo's documented pace
                ceiling = max(float(len(self._sent)), HEYMILO_DEFAULT_LIMIT * self._safety)
            self._aimd_ceiling = ceiling
            # Refused again soon after recovering to full speed: that speed is over the limit.
            recent = now - self._aimd_ended < AIMD_HOLD
            self._aimd_known = ceiling if recent else None
            current = ceiling
        else:  # refused again before full speed: the limit is real and below the ceiling
            current = self._aimd_rate
            self._aimd_known = current
        self._aimd_rate = max(AIMD_FLOOR, AIMD_DECREASE * current)
        if self._aimd_rate >= self._aimd_ceiling:  # a ceiling at or below the floor
            self._aimd_rate = None
            return
        self._aimd_since = max(now, self._blocked_until)
        self._aimd_hold_until = float("inf")  # set when the margin below the known limit is reached

    def _recover(self, now: float) -> None:
        """Additive increase (see the module docstring)."""
        if self._aimd_rate is None:
            return
        elapsed = now - self._aimd_since
        if elapsed <= 0:
            return
        self._aimd_since = now
        fast = self._aimd_ceiling / AIMD_RECOVERY
        known = self._aimd_known
        if known is None:
            self._aimd_rate += fast * elapsed
        else:
            target = max(AIMD_FLOOR, AIMD_MARGIN * known)
            if self._aimd_rate < target:
                self._aimd_rate = min(target, self._aimd_rate + fast * elapsed)
                if self._aimd_rate >= target:
                    self._aimd_hold_until = now + AIMD_HOLD
            elif now > self._aimd_hold_until:  # probe upwards, slowly: the limit is near
                probing = now - max(self._aimd_hold_until, now - elapsed)
                self._aimd_rate += self._aimd_ceiling / _AIMD_PROBE * probing
        if self._aimd_rate >= self._aimd_ceiling:
            self._aimd_rate = None  # full speed again
            self._aimd_ended = now
            self._aimd_known = None
