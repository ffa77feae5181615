"""The `milo-analytics sandbox` command: writing the demo world and serving a folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from milo_analytics.cli import main
from milo_analytics.sandbox.world import demo_world_path


def test_write_demo_reproduces_the_packaged_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command data/demo/README.md documents
    assert main(["sandbox", "--write-demo", str(tmp_path), "--seed", "7"]) == 0
    assert "1600 candidates" in capsys.readouterr().out
    for f in demo_world_path().iterdir():
        if f.name != "README.md":
            assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


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
                    "3",
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
    assert "missing" in err and "World.save()" in err
