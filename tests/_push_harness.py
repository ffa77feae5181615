"""Scaffolding of the push tests: suggestions against live weights, a gating HTTP proxy in front
of the sandbox, and a fast child process running the real CLI.

``GateProxy`` forwards every request to the sandbox and can *hold* the n-th one: the client is
then blocked inside that request, so its audit log holds exactly what it wrote before sending
it — a deterministic place to kill it (no sleeping to synchronise). After the kill the held
request is either forwarded (a PATCH that lands after its sender died) or dropped.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pandas as pd

from milo_analytics.calibrate import WeightSuggestion

PATCH = "PATCH /postings/{posting_id}/questions/{question_id}"


def live_weights(client: Any, pid: str) -> dict[str, float]:
    return {q["id"]: q["score_weight"] for q in client.questions.list(pid, raw=True)}


def make_suggestion(client: Any, pid: str, new: dict[str, int]) -> WeightSuggestion:
    """A suggestion computed against today's live weights that changes ``new``'s questions."""
    qs = [q for q in client.questions.list(pid, raw=True) if not q["not_scored"]]
    rows = [q for q in qs if q["id"] in new or float(q["score_weight"]).is_integer()]
    table = pd.DataFrame(
        {
            "question_id": [q["id"] for q in rows],
            "text": [q["text"] for q in rows],
            "current_weight": [float(q["score_weight"]) for q in rows],
            "suggested_integer": [int(new.get(q["id"], q["score_weight"])) for q in rows],
        }
    )
    baseline = {
        "posting_id": pid,
        "question_ids": [q["id"] for q in qs],
        "weights": {q["id"]: float(q["score_weight"]) for q in qs},
    }
    return WeightSuggestion(table=table, baseline=baseline, recommendation="change")


def set_weights(sandbox: Any, pid: str, weights: dict[str, float]) -> None:
    """Put weights straight into the sandbox's world (also non-integers, which the API refuses)."""
    with sandbox.state.lock:
        for q in sandbox.world.questions[pid]:
            if q["id"] in weights:
                q["score_weight"] = weights[q["id"]]
    sandbox.refresh()


class GateProxy:
    """An HTTP forwarder to ``upstream`` (the sandbox's root URL) that can hold one request.

    ``arm(n)`` holds the n-th request counted from now; ``wait_held()`` blocks until it
    arrived; ``release(forward)`` sends it on (its answer goes nowhere if the client died) or
    drops it. ``requests`` lists ``"METHOD path"`` of every request seen.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._armed: int | None = None
        self._held = threading.Event()
        self._go = threading.Event()
        self._done = threading.Event()  # the held request was forwarded (or dropped)
        self._forward = True
        self.held_request: str | None = None
        self._client = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                line = f"{self.command} {self.path}"
                with proxy._lock:
                    proxy.requests.append(line)
                    hold = proxy._armed is not None and len(proxy.requests) == proxy._armed
                if hold:
                    proxy.held_request = line
                    proxy._held.set()
                    proxy._go.wait()
                    try:
                        if proxy._forward:
                            self._pass_on(body)
                        else:
                            self.close_connection = True
                    finally:
                        proxy._done.set()
                    return
                self._pass_on(body)

            def _pass_on(self, body: bytes) -> None:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                r = proxy._client.request(
                    self.command, proxy.upstream + self.path, content=body, headers=headers
                )
                with contextlib.suppress(OSError):
                    self.send_response(r.status_code)
                    for k, v in r.headers.items():
                        if k.lower() not in (
                            "content-length", "transfer-encoding", "connection", "content-encoding",
                        ):  # fmt: skip
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(r.content)))
                    self.end_headers()
                    self.wfile.write(r.content)

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # (shutdown waits for the next poll: 0.5 s by default, at every module's end)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v2"

    def arm(self, n: int) -> None:
        with self._lock:
            self.requests.clear()
            self._armed = n
            self._held.clear()
            self._go.clear()
            self._done.clear()
            self.held_request = None

    def wait_held(self, timeout: float = 180.0) -> str:
        if not self._held.wait(timeout):
            raise AssertionError(f"request {self._armed} never came; saw {self.requests}")
        assert self.held_request is not None
        return self.held_request

    def release(self, forward: bool, timeout: float = 60.0) -> None:
        """Forward or drop the held request; returns when the server has answered it."""
        self._forward = forward
        held = self._held.is_set()
        with self._lock:
            self._armed = None
        self._go.set()
        if held and not self._done.wait(timeout):
            raise AssertionError(f"the held request {self.held_request} was not released")

    def close(self) -> None:
        self.release(False)
        self.server.shutdown()
        self.server.server_close()
        self._client.close()


# ------------------------------------------------------------------ a fast child running the CLI
def _run_cli(argv: list[str], api_key: str, out: str, err: str) -> None:
    """Child process body: the real ``milo-analytics`` entry point, exit code as exit status."""
    # Ctrl-C raises KeyboardInterrupt, as in a terminal: a test run started in the background
    # (`pytest &`, a CI runner) ignores SIGINT, and the fork server passes that on to its children
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ["HEYMILO_API_KEY"] = api_key
    with open(out, "w") as fo, open(err, "w") as fe:
        sys.stdout, sys.stderr = fo, fe
        from milo_analytics.cli import main

        code = main(argv)
        fo.flush()
        fe.flush()
    os._exit(code)


_CTX: Any = None


def cli_process(argv: list[str], api_key: str, out: str, err: str) -> Any:
    """Start ``milo-analytics ARGV`` in a child forked from a preloaded fork server.

    Forking from a server that already imported the CLI makes a child start in milliseconds
    instead of the ~3 s of a fresh interpreter, so the crash harness can kill many pushes.
    """
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(
            [
                "milo_analytics.cli",
                "milo_analytics.api",
                "milo_analytics.push",
                "jsonschema",
                "_push_harness",
            ]
        )
    proc = _CTX.Process(target=_run_cli, args=(argv, api_key, out, err), daemon=True)
    proc.start()
    return proc
