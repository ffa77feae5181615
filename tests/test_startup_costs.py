"""What makes clients, sandboxes and CLI commands cheap to start keeps their behaviour.

- Clients share one certificate-verifying TLS context per process (loading the CA bundle took
  ~20 ms per client) — still verifying, and rebuilt when ``SSL_CERT_FILE`` changes.
- The sandbox stops without waiting out uvicorn's 0.1 s sleeps, yet a request in flight at
  ``stop()`` still gets its whole response (uvicorn's graceful shutdown).
- A fresh demo world is parsed from the files (cheaper than cloning the cached one) and
  shares nothing with the cached one or with other fresh ones.
- ``milo_analytics.calibrate`` imports its names on first use: a command that only reads a
  suggestion file does not import scipy.stats and scikit-learn (~1 s), and every name the
  package offered before is still there, the same object as in its module.

The timings themselves are in ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import importlib
import ssl
import subprocess
import sys
import threading
import time
from typing import Any

import certifi
import pytest

from milo_analytics.api import HeyMiloClient
from milo_analytics.sandbox import Sandbox, WorldConfig


def _context(client: HeyMiloClient) -> ssl.SSLContext:
    return client._http._transport._pool._ssl_context


def test_clients_share_one_verifying_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with (
        HeyMiloClient(api_key="k", base_url="https://api.example.com/api/v2") as a,
        HeyMiloClient(api_key="k", base_url="http://127.0.0.1:9/api/v2") as b,
    ):
        ctx = _context(a)
        assert _context(b) is ctx
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.get_ca_certs()  # the CA bundle is loaded


def test_a_changed_ssl_cert_file_gets_its_own_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with HeyMiloClient(api_key="k", base_url="https://api.example.com/api/v2") as plain:
        default = _context(plain)
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    with HeyMiloClient(api_key="k", base_url="https://api.example.com/api/v2") as custom:
        assert _context(custom) is not default
        assert _context(custom).verify_mode == ssl.CERT_REQUIRED


def test_sandbox_stop_lets_a_request_in_flight_finish() -> None:
    sb = Sandbox(WorldConfig(seed=3, n_candidates=5, n_second=0), latency=0.4).start()
    got: dict[str, Any] = {}

    def fetch() -> None:
        with sb.client() as client:
            try:
                got["postings"] = list(client.postings.list(raw=True))
            except Exception as exc:  # the assertion below shows it
                got["error"] = exc

    thread = threading.Thread(target=fetch)
    thread.start()
    deadline = time.monotonic() + 10
    while not sb.counts and time.monotonic() < deadline:  # the request has reached the server
        time.sleep(0.005)
    assert sb.counts, "the request never reached the sandbox"
    sb.stop()
    thread.join(10)
    assert not sb.running
    assert "error" not in got, got.get("error")
    assert [p["id"] for p in got["postings"]] == [str(p["id"]) for p in sb.world.postings]


def test_sandbox_stops_and_starts_again_many_times() -> None:
    sb = Sandbox(WorldConfig(seed=4, n_candidates=5, n_second=0))
    for _ in range(3):
        sb.start()
        with sb.client() as client:
            assert list(client.postings.list(raw=True))
        sb.stop()
        assert not sb.running


def test_calibrate_names_resolve_to_their_modules_objects() -> None:
    import milo_analytics.calibrate as calibrate

    for name, module in calibrate._EXPORTS.items():
        assert getattr(calibrate, name) is getattr(importlib.import_module(module), name), name
    assert set(calibrate.__all__) <= set(calibrate._EXPORTS)
    assert dir(calibrate) == calibrate.__all__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = calibrate.nope


def test_reading_a_suggestion_does_not_import_the_fitting_stack() -> None:
    # a fresh interpreter: what `milo-analytics report --suggestion` and the CLI's start load
    code = (
        "import sys, milo_analytics.cli\n"
        "from milo_analytics.calibrate import WeightSuggestion\n"
        "heavy = ('sklearn', 'scipy.stats', 'scipy.optimize', 'jsonschema', 'uvicorn', "
        "'plotly.graph_objects', 'milo_analytics.calibrate.estimator')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_fresh_demo_world_is_the_shared_one_and_independent_of_it() -> None:
    from milo_analytics.sandbox import load_demo_world

    shared = load_demo_world(copy_world=False)
    assert load_demo_world(copy_world=False) is shared
    mine = load_demo_world()
    assert mine is not shared
    assert mine.interview_data == shared.interview_data
    assert mine.candidates == shared.candidates and mine.truth == shared.truth
    assert mine.outcomes.equals(shared.outcomes)
    iid = next(iter(mine.interview_data))
    mine.interview_data[iid]["score"] = -1.0  # what a sandbox does to its world
    mine.postings[0]["title"] = "changed"
    assert shared.interview_data[iid]["score"] != -1.0
    again = load_demo_world()
    assert again.interview_data[iid] == shared.interview_data[iid]
    assert again.postings[0]["title"] == shared.postings[0]["title"] != "changed"
