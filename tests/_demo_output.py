"""Run `milo-analytics demo --apply` once per test session, shared by test modules and xdist
workers (and, the same way, pull the demo world into one store, of which
:func:`demo_store_copy` hands out private copies).

The demo (sandbox → pull → analyses → suggestion → report → push) takes ~10–30 s; the CLI tests
and the browser test all need its output, so the first to ask runs it under a file lock and
the others reuse the folder (the base temp dir is per session, so nothing stale is reused). It
runs with ``--apply`` (the push to its own sandbox happens after the report and the suggestion
are written, so those are what a dry run writes) so that the one run also serves the tests of
the push; :func:`demo_facts` tells what else the tests check about that run.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest


def _run(out_dir: Path) -> tuple[int, str, dict[str, Any]]:
    """The demo in this process (stderr as a fresh process would have it); also counts the
    bias audits it ran."""
    from _cli_inprocess import process_streams

    import milo_analytics.analysis as analysis
    from milo_analytics.analysis import fairness
    from milo_analytics.cli import main

    real, calls = fairness.bias_audit, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    buf, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fairness, "bias_audit", counted)
        mp.setattr(analysis, "bias_audit", counted)  # (read through the package's __getattr__)
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err), process_streams():
            code = main(["demo", "--out", str(out_dir), "--apply", "--quiet"])
    return code, buf.getvalue(), {"stderr": err.getvalue(), "bias_audits": len(calls)}


def once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str, make: Any) -> Path:
    """Run ``make()`` once per session, whichever xdist worker asks first (the others wait on
    a file lock); returns the session's shared folder. ``make`` marks its work done by
    returning normally (a failure leaves it to the next caller)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                make(root)
                done.write_text("done", encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root


def _shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(output folder, stdout file, facts file), made by the first caller of the session."""

    def make(root: Path) -> None:
        code, out, facts = _run(root / "shared-milo-demo")
        assert code == 0, facts["stderr"]
        (root / "shared-milo-demo.json").write_text(json.dumps(facts), encoding="utf-8")
        (root / "shared-milo-demo.stdout").write_text(out, encoding="utf-8")

    root = once_per_session(tmp_path_factory, "shared-milo-demo", make)
    return (
        root / "shared-milo-demo",
        root / "shared-milo-demo.stdout",
        root / "shared-milo-demo.json",
    )


def demo_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Return (stdout of `milo-analytics demo --apply --quiet`, output folder)."""
    out_dir, stdout_file, _ = _shared(tmp_path_factory)
    return stdout_file.read_text(encoding="utf-8"), out_dir


def demo_facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What else happened in that run: ``stderr`` (what a process would have printed there)
    and ``bias_audits`` (how many times :func:`~milo_analytics.analysis.bias_audit` ran)."""
    _, _, facts_file = _shared(tmp_path_factory)
    return json.loads(facts_file.read_text(encoding="utf-8"))


def demo_store_copy(tmp_path_factory: pytest.TempPathFactory, sandbox: Any, dst: Path) -> Path:
    """``dst``: a private copy of a store holding every posting of the demo world, pulled over
    HTTP from ``sandbox`` (the session's ``demo_sandbox``) once per session and shared by the
    xdist workers (the load that followed the pull materialised its frames).

    Use it for an offline load, or an incremental pull (against any demo sandbox: the same
    documents, so it lists the candidates and fetches nothing). The shared store itself is
    never handed out, so no test can write to it. Tests where the full pull is the point pull
    themselves.
    """
    from _cli_inprocess import copy_store

    return copy_store(_pulled_demo_store(tmp_path_factory, sandbox), dst, served_by=sandbox)


def _pulled_demo_store(tmp_path_factory: pytest.TempPathFactory, sandbox: Any) -> Path:
    """The session's shared pull of the demo world (read it only through :func:`demo_store_copy`)."""
    from milo_analytics.load import load_postings

    def make(root: Path) -> None:
        pids = [p["id"] for p in sandbox.world.postings]
        with sandbox.client() as client:
            load_postings(pids, client=client, store=root / "shared-demo-store.sqlite3",
                          progress=False)  # fmt: skip

    return (
        once_per_session(tmp_path_factory, "shared-demo-store", make) / "shared-demo-store.sqlite3"
    )
