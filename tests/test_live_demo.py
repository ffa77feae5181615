"""The three commands of data/demo/README.md ("Webhooks and monitoring in three commands")
work as written: the sandbox simulates interviews once a webhook is registered, ``listen``
registers, pulls once and stores each simulated interview from its webhook, and ``check``
exits 0 with the planted speech-score gap as a warning (issue 16).

The first two run as real subprocesses (free ports instead of the README's fixed ones, a
temporary store); ``check`` runs in-process.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from milo_analytics import Store
from milo_analytics.cli import main
from milo_analytics.sandbox.world import demo_world_path

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def test_the_three_commands_of_the_demo_readme(tmp_path, monkeypatch, capsys):
    readme = (demo_world_path() / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Webhooks and monitoring in three commands", 1)[1].split("\n## ")[0]
    block = re.search(r"```\n(.*?)```", section, flags=re.S).group(1)
    lines = [line.rstrip(" &") for line in block.strip().splitlines()]
    assert len(lines) == 3
    sandbox, listen, check = (shlex.split(line) for line in lines)
    env_prefix = [w for w in listen if "=" in w and not w.startswith("-")][:1]
    listen = listen[len(env_prefix) :]
    assert [sandbox[1], listen[1], check[1]] == ["sandbox", "listen", "check"]
    api_port, hook_port = _free_port(), _free_port()
    store = str(tmp_path / "demo-live.sqlite3")

    def swap(args: list[str]) -> list[str]:
        text = shlex.join(args).replace("8700", str(api_port))
        out = shlex.split(text)
        return [store if a == "demo-live.sqlite3" else a for a in out]

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update(dict(w.split("=", 1) for w in env_prefix))
    cmd = [sys.executable, "-m", "milo_analytics.cli"]
    procs = []
    try:
        log_sb = tmp_path / "sandbox.log"
        with open(log_sb, "wb") as fh:
            procs.append(subprocess.Popen([*cmd, *swap(sandbox)[1:]], stdout=fh,
                                          stderr=subprocess.STDOUT, env=env))  # fmt: skip
        _wait_for(log_sb, "waiting for a webhook", procs[0])
        log_listen = tmp_path / "listen.log"
        with open(log_listen, "wb") as fh:
            args = [*swap(listen)[1:], "--port", str(hook_port)]
            procs.append(subprocess.Popen([*cmd, *args], stdout=fh, stderr=subprocess.STDOUT,
                                          env=env))  # fmt: skip
        _wait_for(log_listen, "pulled once", procs[1])
        _wait_for(log_sb, "simulated 100 interviews", procs[0])
        # every simulated interview arrives by webhook (the pull may have seen some already)
        deadline = time.monotonic() + 120
        while True:
            with Store(store) as st:
                done = st.event_counts(posting_id="8B4AE5F1").get("done", 0)
            if done >= 100 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done == 100
        # the third command, as written (run from the repository root)
        monkeypatch.chdir(Path(__file__).resolve().parents[1])
        assert (Path("data") / "demo" / "demographics.csv").exists()
        code = main(swap(check)[1:])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "adverse_impact       warn" in out and "Speech score" in out
        assert "nothing alerts (1 warning)" in out
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    listen_log = log_listen.read_text()
    assert "receiver stopped: 100 events recorded" in listen_log  # SIGTERM: a clean stop
    assert env["HEYMILO_API_KEY"] not in listen_log
    with Store(store) as st:
        assert st.listener_runs()[-1]["stopped_at"] is not None
        assert st.webhook_token(create=False) not in listen_log
