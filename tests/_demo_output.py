"""Run `milo-analytics demo` once per test session, shared by test modules and xdist workers.

The demo (sandbox → pull → analyses → suggestion → report) takes ~30 s; the CLI tests and the
browser test both need its output, so the first to ask runs it under a file lock and the
others reuse the folder (the base temp dir is per session, so nothing stale is reused).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from pathlib import Path

import pytest


def demo_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Return (stdout of `milo-analytics demo --quiet`, output folder)."""
    from milo_analytics.cli import main

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out_dir = root / "shared-milo-demo"
    stdout_file = root / "shared-milo-demo.stdout"
    with open(root / "shared-milo-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not stdout_file.exists():
                buf, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
                    code = main(["demo", "--out", str(out_dir), "--quiet"])
                assert code == 0, err.getvalue()
                stdout_file.write_text(buf.getvalue(), encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return stdout_file.read_text(encoding="utf-8"), out_dir
