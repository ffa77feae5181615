"""Test scaffolding shared by the MockTransport client tests (injected time, no sleeping), and
the SIGINT set-up of the child processes that the Ctrl-C tests interrupt."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import httpx

from milo_analytics.api import HeyMiloClient


class FakeTime:
    """Monotonic clock whose ``sleep`` advances it and records every wait; ``wall`` is epoch."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response],
    fake: FakeTime,
    *,
    api_key: str,
    base_url: str,
    **kw: Any,
) -> HeyMiloClient:
    """A HeyMiloClient over ``httpx.MockTransport(handler)`` that waits on ``fake`` time."""
    return HeyMiloClient(
        api_key=api_key,
        base_url=base_url,
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        wall_clock=fake.wall,
        **kw,
    )


def default_sigint() -> None:
    """``preexec_fn`` of a child that must take Ctrl-C as a terminal delivers it: a shell's
    background job (`pytest &`) ignores SIGINT, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
