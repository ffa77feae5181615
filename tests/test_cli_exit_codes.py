"""Exit status of every data command: on success (0), failure (1, one line), usage error (2)
and Ctrl-C (SIGINT → 130 and one line, "interrupted; N documents saved, run the same command to
resume" when a pull was running; issue 11 "Interrupts"). `push-weights` and `rollback` are
tested with the push work.

What a user's shell sees is checked on real `milo-analytics` processes once per exit path: a
pull, `audit --fail-on-flag` and `sandbox` that succeed, a failure, a usage error, and every
Ctrl-C (a signal needs a process). The other commands of each path run in this process as a
fresh process would run them (tests/_cli_inprocess.py), which spares the 1–3 s of imports each
process pays (issue 15); the demo's exit status is checked on the installed console script by
tests/test_packaging.py, its empty stderr under --quiet by tests/test_cli_report.py.

The interrupted commands pull from a sandbox that answers each request after 0.2 s; SIGINT
is sent once the store holds a document (never after a fixed delay), while the pull still has
seconds of work left.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _cli_inprocess import run_cli
from _helpers import default_sigint

from milo_analytics.frames import RESULT_STATUSES
from milo_analytics.sandbox import Sandbox, WorldConfig, generate_world, run_sandbox
from milo_analytics.sandbox.world import demo_world_path

ROOT = Path(__file__).resolve().parents[1]
DEMO = demo_world_path()
INTERRUPTED = "milo-analytics: interrupted"


def start(*args: str, key: str = "", cwd: Path | None = None) -> subprocess.Popen[str]:
    """`milo-analytics ARGS` in a new process, as a terminal starts it (SIGINT as default)."""
    env = {k: v for k, v in os.environ.items() if k != "MILO_ANALYTICS_STORE"}
    env.update(PYTHONPATH=str(ROOT), HEYMILO_API_KEY=key)
    return subprocess.Popen(
        [sys.executable, "-m", "milo_analytics.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # Ctrl-C as a terminal delivers it
    )


def run(*args: str, key: str = "", timeout: float = 600) -> tuple[int, str, str]:
    proc = start(*args, key=key)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def stored_documents(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM interviews WHERE doc IS NOT NULL").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def interrupt_when_stored(proc: subprocess.Popen[str], store: Path) -> tuple[str, str]:
    """Send SIGINT once the store holds a document; return (stdout, stderr)."""
    deadline = time.monotonic() + 300
    while stored_documents(store) < 1:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "nothing was stored"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        # Ctrl-C ends the command at once: requests still in flight are cut off, not awaited
        # (before the client shut its sockets down on close, exit waited up to the 30 s read
        # timeout for worker threads blocked on a closed connection)
        return proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"still running 20 s after Ctrl-C; stderr: {err}") from None


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def slow() -> Iterator[Sandbox]:
    """150 candidates at 0.2 s per request: a pull takes tens of seconds."""
    world = generate_world(WorldConfig(seed=8, n_candidates=150, n_second=0))
    with run_sandbox(world, latency=0.2) as sb:
        yield sb


@pytest.fixture(scope="module")
def demo_store(demo_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's demo-world store brought up to date by a `milo-analytics pull`
    process (its success case: it lists every candidate and fetches nothing new)."""
    from _demo_output import demo_store_copy

    store = demo_store_copy(
        tmp_path_factory, demo_sandbox, tmp_path_factory.mktemp("exit") / "store.sqlite3"
    )
    ids = [p["id"] for p in demo_sandbox.world.postings]
    code, out, err = run("pull", *ids, "--store", str(store), "--base-url",
                         demo_sandbox.base_url, "-q", key=demo_sandbox.api_key)  # fmt: skip
    assert code == 0, err
    assert err == "" and all(f"{pid}: " in out for pid in ids)
    assert out.count(" 0 fetched, ") == len(ids), out  # incremental: nothing fetched again
    return store


def csr_posting(demo_sandbox: Sandbox) -> str:
    return max(demo_sandbox.world.candidates, key=lambda p: len(demo_sandbox.world.candidates[p]))


# --------------------------------------------------------------------------- success


def test_data_commands_succeed_with_0(demo_sandbox, demo_store, tmp_path, capsys):
    """In this process; the demo_store fixture's pull is the real process that exits 0."""
    pid = csr_posting(demo_sandbox)
    offline = ["--store", str(demo_store), "--offline"]
    code, out, err = run_cli(capsys, "pull", pid, *offline, key="")
    assert (code, err) == (0, ""), err
    code, out, err = run_cli(capsys, "report", pid, *offline, "-o", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r.html").exists(), err
    code, out, err = run_cli(capsys, "audit", pid, "-d", str(DEMO / "demographics.csv"), *offline)
    assert code == 0 and "Flag rule" in out, err
    code, out, err = run_cli(
        capsys, "suggest-weights", pid, "--outcomes", str(DEMO / "outcomes.csv"),
        "--outcomes-key", "external_id", "--on-conflict", "unknown", "--n-boot", "20", *offline,
    )  # fmt: skip
    assert code == 0 and "recommendation" in out, err


def test_audit_fail_on_flag_exits_2(demo_sandbox, demo_store):
    """The demo's planted speech-score gap is a flag (data/demo/README.md)."""
    pid = csr_posting(demo_sandbox)
    code, out, err = run("audit", pid, "-d", str(DEMO / "demographics.csv"), "--store",
                         str(demo_store), "--offline", "--fail-on-flag")  # fmt: skip
    assert code == 2 and "FLAG" in out, err


def test_sandbox_succeeds_with_0():
    code, out, err = run("sandbox", "--world", str(DEMO), "--duration", "0.5")
    assert code == 0 and "sandbox stopped" in out, err


def test_the_in_process_runner_prints_what_a_process_would(capsys, monkeypatch):
    """run_cli's stderr holds what a process prints besides the CLI's own lines: a log record
    of WARNING or above (Python's last-resort handler) and a foreign warning, once."""
    import logging
    import warnings

    import milo_analytics.cli as cli
    from milo_analytics.errors import DataError

    def noisy(*args, **kwargs):
        logging.getLogger("milo_analytics.load").warning("a logged warning")
        logging.getLogger("milo_analytics.load").info("an info record")  # not printed
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
        raise DataError("stop here")

    monkeypatch.setattr(cli, "load_data", noisy)
    code, out, err = run_cli(capsys, "report", "ABC", "--offline")
    lines = err.splitlines()
    assert code == 1 and out == "", err
    assert lines[0] == "a logged warning" and lines[-1] == "milo-analytics: error: stop here"
    assert "UserWarning: a library's warning" in err and "info record" not in err


# --------------------------------------------------------------------------- failure and usage
FAILURES = [
    ["pull", "NOPE1234", "--offline"],
    ["report", "NOPE1234", "--offline"],
    ["audit", "NOPE1234", "-d", str(DEMO / "demographics.csv"), "--offline"],
    ["suggest-weights", "NOPE1234", "--outcomes", str(DEMO / "outcomes.csv"), "--offline"],
    ["sandbox", "--world", "/nonexistent/world"],
]


def failure_args(args: list[str], store: Path) -> list[str]:
    return args if args[0] == "sandbox" else [*args, "--store", str(store)]


def test_a_failure_exits_1_with_one_line_in_a_real_process(demo_store):
    code, out, err = run(*failure_args(FAILURES[0], demo_store))
    assert code == 1, (out, err)
    assert one_line(err).startswith("milo-analytics: error:")
    assert "Traceback" not in err


@pytest.mark.parametrize("args", FAILURES, ids=lambda a: a[0])
def test_failures_exit_1_with_one_line(args, demo_store, capsys):
    code, out, err = run_cli(capsys, *failure_args(args, demo_store), key="")
    assert code == 1, (out, err)
    assert one_line(err).startswith("milo-analytics: error:")
    assert "Traceback" not in err


USAGE_ERRORS = [
    ["pull"],  # a posting is required
    ["report", "P1", "--outcomes", "/nonexistent.csv"],
    ["audit", "P1"],  # -d is required
    ["suggest-weights", "P1", "--target", "salary"],
    ["demo", "--out", __file__],  # a file, not a folder
    ["sandbox", "--port", "many"],
]


def test_a_usage_error_exits_2_in_a_real_process():
    code, out, err = run(*USAGE_ERRORS[0])
    assert code == 2, (out, err)
    assert "Usage:" in err and "Traceback" not in err


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: a[0])
def test_usage_errors_exit_2(args, capsys):
    code, out, err = run_cli(capsys, *args, key="")
    assert code == 2, (out, err)
    assert "Usage:" in err and "Traceback" not in err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_pull_exits_130_saying_what_was_saved_and_resumes(slow, tmp_path, capsys):
    pid = slow.world.postings[0]["id"]
    store = tmp_path / "s.sqlite3"
    args = ["pull", pid, "--store", str(store), "--base-url", slow.base_url, "-q",
            "--concurrency", "2"]  # fmt: skip
    proc = start(*args, key=slow.api_key)
    out, err = interrupt_when_stored(proc, store)
    assert proc.returncode == 130, err
    line = one_line(err)  # the loader's Python-worded log line is not printed as well
    saved = stored_documents(store)
    assert line == (
        f"{INTERRUPTED}; {saved:,} document{'s' if saved != 1 else ''} saved, run the same "
        "command to resume"
    )
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in err
    # running the same command resumes: only the documents not saved are fetched
    total = sum(1 for c in slow.world.candidates[pid] if c["status"] in RESULT_STATUSES)
    slow.set_faults(latency=0)  # the resume need not be slow (~15 s at 0.2 s per request)
    try:  # nor a process: the exit status that matters here is the 130 above
        code, out, err = run_cli(capsys, *args, key=slow.api_key)
    finally:
        slow.set_faults(latency=0.2)
    assert code == 0, err
    assert f"{total - saved:,} fetched, {saved:,} unchanged" in out


@pytest.mark.parametrize(
    "command",
    [
        ["report", "-o", "{tmp}/r.html"],
        ["audit", "-d", str(DEMO / "demographics.csv")],
        ["suggest-weights", "--outcomes", str(DEMO / "outcomes.csv")],
    ],
    ids=lambda c: c[0],
)
def test_ctrl_c_during_the_pull_of_any_data_command_exits_130(slow, tmp_path, command):
    pid = slow.world.postings[0]["id"]
    store = tmp_path / "s.sqlite3"
    name, *rest = command
    rest = [a.replace("{tmp}", str(tmp_path)) for a in rest]
    proc = start(name, pid, *rest, "--store", str(store), "--base-url", slow.base_url,
                 key=slow.api_key)  # fmt: skip
    _out, err = interrupt_when_stored(proc, store)
    assert proc.returncode == 130, err
    assert one_line(err).startswith(f"{INTERRUPTED}; ")
    assert one_line(err).endswith("saved, run the same command to resume")
    assert not (tmp_path / "r.html").exists()


def test_ctrl_c_during_demo_exits_130(tmp_path):
    out_dir = tmp_path / "d"
    proc = start("demo", "--out", str(out_dir), "-q")
    _out, err = interrupt_when_stored(proc, out_dir / "store.sqlite3")
    assert proc.returncode == 130, err
    # the demo starts afresh on every run: no "resume" promise
    assert one_line(err) == INTERRUPTED


def test_ctrl_c_stops_the_sandbox_with_130_and_one_line():
    """Ctrl-C is how the sandbox is meant to stop ("Press Ctrl-C to stop."), and it exits 130
    like every other command (issue 12: "Ctrl-C in any command … exits 130"), with one line
    on stderr saying the server stopped; the server no longer answers."""
    proc = start("sandbox", "--world", str(DEMO), "--port", "0")
    line, base_url = "", ""
    while "Press Ctrl-C" not in line:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line or proc.poll() is None, proc.communicate()
        if "HEYMILO_BASE_URL=" in line:
            base_url = line.split("HEYMILO_BASE_URL=")[1].split()[0]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert one_line(err) == "milo-analytics: sandbox stopped"
    assert "Traceback" not in out + err and "sandbox stopped" not in out
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/postings", timeout=5)


def test_ctrl_c_stops_the_receiver_with_130_and_one_line(sandbox, tmp_path):
    """`listen` is stopped with Ctrl-C like the sandbox: exit 130, one line on stderr saying
    what it recorded (every acknowledged event is already in the store)."""
    proc = start(
        "listen", "--store", str(tmp_path / "s.sqlite3"), "--port", "0",
        "--base-url", sandbox.base_url, key=sandbox.api_key,
    )  # fmt: skip
    line = ""
    while "Press Ctrl-C" not in line:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line or proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # stderr also carries the receiver's log (the masked URL it listened on); one line after it
    logged, _, after = err.rpartition("****\n")
    assert "INFO milo_analytics.live" in logged
    assert one_line(after).startswith("milo-analytics: receiver stopped: 0 events recorded")
    assert "Traceback" not in out + err


def test_the_console_script_does_not_wait_for_busy_threads_after_ctrl_c():
    """After Ctrl-C (status 130) the console script ends at once, its line printed, even when
    a worker thread is still busy (CI once saw an interrupted pull alive 20 s after its line);
    any other status still leaves through SystemExit. A stand-in `main` leaves a non-daemon
    thread sleeping 60 s, which Python would join at exit."""
    script = (
        "import sys, threading, time\n"
        "from milo_analytics import cli\n"
        "def main(argv=None):\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "    print('milo-analytics: interrupted', file=sys.stderr)\n"
        "    return int(sys.argv[1])\n"
        "cli.main = main\n"
        "cli.console_main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script, "130"], env=env, capture_output=True,
                          text=True, timeout=50)  # fmt: skip
    assert proc.returncode == 130 and proc.stderr == "milo-analytics: interrupted\n"
    assert time.monotonic() - started < 30  # not the worker's 60 s
