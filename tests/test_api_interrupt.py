"""Ctrl-C during a request made on the main thread (the CLI's case).

A KeyboardInterrupt raised inside httpcore — between a lock's ``acquire()`` and the end of its
Python-level ``__enter__`` — leaves the connection pool's lock held; every thread sharing the
client, and ``close()``, then wait forever. CI saw `milo-analytics demo` hang after SIGINT
that way (tests/test_cli_exit_codes.py::test_ctrl_c_during_demo_exits_130). The client runs
main-thread requests in a helper thread, so the interrupt reaches the main thread only while
it waits.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from milo_analytics.api import HeyMiloClient


def _client(handler) -> HeyMiloClient:
    return HeyMiloClient(
        api_key="k-1234567890",
        base_url="http://api.test/api/v2",
        transport=httpx.MockTransport(handler),
        rate_limit=None,
        max_retries=0,
    )


def test_main_thread_requests_run_outside_the_main_thread():
    seen: list[threading.Thread] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(threading.current_thread())
        return httpx.Response(200, json={"data": {"id": "P1"}})

    with _client(handler) as client:
        assert client.request("GET", "postings/P1") == {"data": {"id": "P1"}}
    assert seen and seen[0] is not threading.main_thread()


def test_errors_of_the_helper_thread_reach_the_caller():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(handler) as client, pytest.raises(Exception, match="refused"):
        client.request("GET", "postings/P1")


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
@pytest.mark.parametrize("receiver", ["process", "another thread"])
def test_ctrl_c_during_a_request_interrupts_at_once_and_close_does_not_hang(receiver: str):
    """A terminal's Ctrl-C goes to the process and the kernel hands it to any thread; when
    that is not the main thread, Python only sets a flag, and a main thread blocked without a
    timeout would notice it after the server answered (CI: 30 s). "another thread" sends the
    signal to the sending thread itself, the case that failed."""
    started, release = threading.Event(), threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        release.wait(30)  # a server that takes its time
        return httpx.Response(200, json={"data": {}})

    client = _client(handler)

    def send() -> None:
        started.wait(30)
        if receiver == "process":
            os.kill(os.getpid(), signal.SIGINT)
        else:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    sender = threading.Thread(target=send, daemon=True)
    # a shell's background job (`pytest &`) ignores SIGINT; a terminal's Ctrl-C raises
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sender.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            client.request("GET", "postings/P1")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - t0 < 10  # not after the server answered
    closer = threading.Thread(target=client.close, daemon=True)
    closer.start()
    closer.join(10)
    release.set()
    assert not closer.is_alive(), "close() hung after Ctrl-C"


def test_close_cuts_off_requests_in_flight_on_other_threads(sandbox_factory):
    """After Ctrl-C the CLI closes the client while pull workers still wait for answers.
    Closing shuts their sockets down, so those waits end at once with a transport error;
    before, a worker could sit out the 30 s read timeout and the process could not exit
    (tests/test_cli_exit_codes.py's Ctrl-C cases, 5 in 12 runs of a repro)."""
    sb = sandbox_factory(latency=2.0)  # every answer comes after 2 s
    client = HeyMiloClient(api_key=sb.api_key, base_url=sb.base_url, rate_limit=None,
                           max_retries=0)  # fmt: skip
    outcomes: list[BaseException | None] = []

    def wait_for_an_answer() -> None:
        try:
            client.request("GET", "postings")
            outcomes.append(None)
        except BaseException as exc:  # the test inspects it
            outcomes.append(exc)

    workers = [threading.Thread(target=wait_for_an_answer) for _ in range(3)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 10
    while sum(sb.counts.values()) < 3:  # all three requests reached the server
        assert time.monotonic() < deadline, sb.counts
        time.sleep(0.02)
    started = time.monotonic()
    client.close()
    for worker in workers:
        worker.join(timeout=1.5)
    assert not any(worker.is_alive() for worker in workers), "close() left workers waiting"
    assert time.monotonic() - started < 1.5  # well before the server answers
    assert len(outcomes) == 3 and all(exc is not None for exc in outcomes), outcomes


def test_a_request_cut_off_by_close_is_not_retried_after_a_back_off():
    """A worker whose connection close() shut down gets a transport error; an idempotent GET
    would be retried after a back-off sleep, which kept an interrupted command alive at exit.
    A closed client raises at once instead of sleeping (the injected sleep records any wait)."""
    slept: list[float] = []
    client: HeyMiloClient

    def handler(request: httpx.Request) -> httpx.Response:
        client.close()  # closed while this request is in flight
        raise httpx.ReadError("connection shut down", request=request)

    client = HeyMiloClient(
        api_key="k-1234567890",
        base_url="http://api.test/api/v2",
        transport=httpx.MockTransport(handler),
        rate_limit=None,
        max_retries=5,
        sleep=slept.append,
    )
    with pytest.raises(Exception, match="closed"):
        client._request("GET", "postings/P1", None, None)
    assert slept == []
