"""Shared fixtures: real sandbox servers on 127.0.0.1 (see INTERFACES.md).

- ``demo_sandbox`` (session): the packaged demo world; READ-ONLY (never PATCH or ingest).
- ``sandbox`` (function): a fresh small world (~80 candidates) you may mutate.
- ``sandbox_factory`` (function): ``sandbox_factory(**run_sandbox_kwargs)`` -> a started
  Sandbox, stopped at the end of the test (``world=`` defaults to a small fresh world).
- ``small_world_config``: the WorldConfig of the ``sandbox`` fixture.
- ``webhook_receiver``: a local HTTP receiver on 127.0.0.1 collecting webhook POSTs.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from milo_analytics.sandbox import ProcessSandbox, Sandbox, WorldConfig, run_sandbox

SMALL_WORLD = WorldConfig(seed=11, n_candidates=60, n_second=20)


# Garbage collection tuned for a test session: after collection the imported modules and the
# collected tests (hundreds of thousands of long-lived objects: pandas, plotly, sklearn) are
# frozen out of the cycle collector, and the youngest generation is collected every 10,000
# allocations instead of 700. Every full collection otherwise walked all of them again: ~8 %
# of the in-process test time, ~2.5 % with this (test modules of the report, audit and
# frontier). Garbage cycles are still collected, only less often.
gc.set_threshold(10_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported and collected so far lives to the end: out of the cycle collector."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules holding ``slow`` tests first, whole and in their usual order.

    ``pytest -n 2`` hands tests out in chunks that grow with what is left; with the heavy
    end-to-end modules near the end of the alphabet (report exports, layout), one worker
    was still busy with them ~25 s after the other had finished. Starting with them leaves
    the quick unit tests and doctests for the tail, where they even out the two workers.
    Whole modules move, so module-scoped fixtures are still built once.
    """
    heavy = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in heavy)  # stable: same order within each


@pytest.fixture(scope="session")
def demo_sandbox() -> Iterator[Sandbox]:
    """The demo world served for the whole session. Treat as read-only."""
    with run_sandbox("demo") as sb:
        yield sb


@pytest.fixture
def small_world_config() -> WorldConfig:
    return WorldConfig(**SMALL_WORLD.to_dict())


@pytest.fixture
def sandbox(small_world_config: WorldConfig) -> Iterator[Sandbox]:
    """A fresh small world (60 + 20 candidates) that a test may mutate."""
    with run_sandbox(small_world_config) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Any]:
    """Start sandboxes with any run_sandbox keyword arguments; all stop after the test."""
    started: list[Sandbox | ProcessSandbox] = []

    def make(**kw: Any) -> Sandbox | ProcessSandbox:
        kw.setdefault("world", WorldConfig(**SMALL_WORLD.to_dict()))
        world = kw.pop("world")
        cls = ProcessSandbox if kw.pop("process", False) else Sandbox
        sb = cls(world, **kw).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


class _Receiver:
    """Collects JSON POSTs; ``wait(n)`` blocks until n arrived."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.url = ""

    def wait(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= n, timeout)
            return list(self.events)


@pytest.fixture
def webhook_receiver() -> Iterator[_Receiver]:
    """A local receiver (``.url``, ``.events``, ``.wait(n)``) for sandbox webhooks."""
    rec = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n)
            with rec.cond:
                try:
                    rec.events.append(json.loads(body))
                except ValueError:
                    rec.events.append({"_raw": body.decode(errors="replace")})
                rec.cond.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/milo"
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
