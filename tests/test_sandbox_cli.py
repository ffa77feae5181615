"""The `milo-analytics sandbox` command: writing the demo world and serving a folder."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from _helpers import default_sigint

from milo_analytics.cli import main
from milo_analytics.sandbox.world import demo_world_path


def test_write_demo_reproduces_the_packaged_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # run the very command data/demo/README.md documents, into a temporary folder
    readme = (demo_world_path() / "README.md").read_text()
    commands = re.findall(r"^milo-analytics sandbox --write-demo .*$", readme, flags=re.M)
    assert len(commands) == 1, commands
    args = shlex.split(commands[0])[1:]
    assert args[args.index("--write-demo") + 1] == "data/demo"
    args[args.index("--write-demo") + 1] = str(tmp_path)
    assert main(args) == 0
    assert "1600 candidates" in capsys.readouterr().out
    files = sorted(f.name for f in demo_world_path().iterdir() if f.name != "README.md")
    assert sorted(f.name for f in tmp_path.iterdir()) == files  # nothing missing or extra
    for name in files:
        assert (tmp_path / name).read_bytes() == (demo_world_path() / name).read_bytes(), name


def test_serve_a_saved_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["sandbox", "--write-demo", str(tmp_path), "--seed", "3", "--n-candidates", "15"]) == 0
    )
    capsys.readouterr()
    result: dict[str, int] = {}
    t = threading.Thread(
        target=lambda: result.setdefault(
            "rc",
            main(
                [
                    "sandbox",
                    "--world",
                    str(tmp_path),
                    "--api-key",
                    "cli-key",
                    "--duration",
                    "1.5",  # from when it prints its URL: the one request below takes ms
                    "--rate-limit",
                    "100",
                ]
            ),
        )
    )
    t.start()
    base = None
    deadline = time.monotonic() + 10
    while base is None and time.monotonic() < deadline:
        out = capsys.readouterr().out
        for line in out.splitlines():
            if "HEYMILO_BASE_URL=" in line:
                base = line.split("HEYMILO_BASE_URL=")[1].split()[0]
        time.sleep(0.05)
    assert base is not None
    r = httpx.get(base + "/postings", headers={"X-API-KEY": "cli-key"})
    assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "100"
    assert r.json()["pagination"]["total_count"] == 2
    t.join(10)
    assert result["rc"] == 0


def test_bad_world_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--world", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert "missing" in err and "`milo-analytics sandbox --write-demo DIR`" in err
    assert "World.save()" not in err  # the CLI names its own command, not the Python call
    assert main(["sandbox", "--world", str(tmp_path)]) == 1  # a folder, but not a world
    assert "(no postings.json)" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_console_script_serves_with_every_fault_option_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    """`milo-analytics sandbox` as a user starts it: a background process on a chosen port, with
    latency, rate limit, 5xx, dropped connections, a malformed document and an interview delay;
    Ctrl-C (SIGINT) stops it cleanly."""
    assert (
        main(["sandbox", "--write-demo", str(tmp_path), "--seed", "3", "--n-candidates", "15"]) == 0
    )
    with gzip.open(tmp_path / "interviews.jsonl.gz") as f:
        iid = json.loads(f.readline())["interview_id"]
    pid = json.loads((tmp_path / "postings.json").read_text())[0]["id"]
    port = _free_port()
    exe = shutil.which("milo-analytics")
    cmd = [exe] if exe else [sys.executable, "-m", "milo_analytics.cli"]
    cmd += [
        "sandbox", "--world", str(tmp_path), "--port", str(port), "--api-key", "cli-key",
        "--latency", "0.1", "--rate-limit", "500", "--error-rate", "0.4", "--drop-rate", "0.2",
        "--malformed", f"{iid}:json", "--interview-delay", "0.3", "--seed", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # Ctrl-C as a terminal delivers it
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v2"
        line = ""
        while "HEYMILO_BASE_URL" not in line:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line or proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        assert base in line
        h = {"X-API-KEY": "cli-key"}
        outcomes: list[str] = []
        with httpx.Client(headers=h, timeout=10) as c:

            def call(method: str, path: str, **kw: object) -> httpx.Response | None:
                t = time.perf_counter()
                try:
                    r = c.request(method, base + path, **kw)  # type: ignore[arg-type]
                except httpx.TransportError:
                    outcomes.append("dropped")
                    return None
                assert time.perf_counter() - t >= 0.1  # --latency
                assert r.headers["X-RateLimit-Limit"] == "500"  # --rate-limit
                outcomes.append("5xx" if r.status_code >= 500 else str(r.status_code))
                return r if r.status_code < 500 else None

            def until_answered(method: str, path: str, **kw: object) -> httpx.Response:
                for _ in range(40):
                    r = call(method, path, **kw)
                    if r is not None:
                        return r
                raise AssertionError(f"no answer: {outcomes}")

            for _ in range(15):
                call("GET", f"/postings/{pid}")
            assert {"200", "5xx", "dropped"} <= set(outcomes)  # --error-rate, --drop-rate
            body = until_answered("GET", f"/interviews/{iid}/data")
            with pytest.raises(ValueError):  # --malformed ID:json
                body.json()
            new = until_answered(
                "POST", f"/postings/{pid}/candidates", json={"name": "Jo Ng", "email": "j@x.io"}
            )
            assert new.status_code == 201
            new_iid = new.json()["data"]["interview_id"]
            first = until_answered("GET", f"/interviews/{new_iid}/data")
            assert first.json()["data"]["status"] == "not_ready"  # --interview-delay
            deadline = time.monotonic() + 15
            status = ""
            while status != "completed" and time.monotonic() < deadline:
                status = until_answered("GET", f"/interviews/{new_iid}/data").json()["data"][
                    "status"
                ]
            assert status == "completed"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err  # Ctrl-C exits 130, as in every command
        assert err.splitlines()[-1] == "milo-analytics: sandbox stopped"
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
