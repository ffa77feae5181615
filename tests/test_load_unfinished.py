"""A store never hides or blocks data (issue 11): a first pull killed with SIGKILL, then
`--offline` and `report`; a store left by an earlier version's killed pull; a damaged document
that the next pull really refetches. Every pull talks to a sandbox on 127.0.0.1; the killed
pull is a real `milo-analytics pull` process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from _cli_inprocess import run_cli

from milo_analytics.cli import main
from milo_analytics.errors import UnfinishedSyncWarning
from milo_analytics.frames import RESULT_STATUSES, InterviewData
from milo_analytics.load import load_posting
from milo_analytics.sandbox import WorldConfig, generate_world
from milo_analytics.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA_ROUTE = "GET /interviews/{interview_id}/data"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "milo_analytics.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored_documents(path: Path) -> int:
    """Interview documents committed in the store, read as another process would."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM interviews WHERE doc IS NOT NULL").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0
    finally:
        conn.close()


def wait_for_documents(path: Path, proc: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 240
    while stored_documents(path) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the pull never stored a document"
        time.sleep(0.05)


@pytest.fixture
def slow_world_sandbox(sandbox_factory):
    """150 candidates served at 0.2 s a request: a pull at 2 in flight takes ≥ 13 s, so it is
    always still running when the test kills it (the kill waits for documents, not a clock)."""
    world = generate_world(WorldConfig(seed=8, n_candidates=150, n_second=0))
    return sandbox_factory(world=world, latency=0.2)


@pytest.mark.slow  # 12–85 s under load (issue 15: heavy end-to-end cases are marked)
def test_first_pull_killed_then_offline_and_report_show_what_is_stored(
    slow_world_sandbox, tmp_path, capsys
):
    sb = slow_world_sandbox
    pid = sb.world.postings[0]["id"]
    store = tmp_path / "store.sqlite3"
    env = {"HEYMILO_API_KEY": sb.api_key}
    pull = ["pull", pid, "--store", str(store), "--base-url", sb.base_url, "-q"]
    proc = cli(*pull, "--concurrency", "2", env=env)
    wait_for_documents(store, proc, 10)
    proc.kill()  # SIGKILL: no cleanup, no "finished" mark
    proc.communicate(timeout=60)
    assert proc.returncode == -9
    have = stored_documents(store)
    assert have >= 10

    # --offline: the documents are there, and it says the pull did not finish (one line); this
    # and the report run in this process as a fresh process would (only the kill needs one)
    code, out, err = run_cli(capsys, "pull", pid, "--store", str(store), "--offline",
                             "--parquet", str(tmp_path / "pq"), key="")  # fmt: skip
    assert code == 0, err
    notes = [line for line in err.splitlines() if "has not finished" in line]
    assert len(notes) == 1, err
    assert notes[0].startswith(f"milo-analytics: warning: posting {pid}: the last pull")
    assert f"the store holds {have} interview documents" in notes[0]
    assert f"run `milo-analytics pull {pid}` to finish it" in notes[0]
    assert "started 20" in notes[0] and "load_posting" not in notes[0]
    frames = InterviewData.from_parquet(tmp_path / "pq")
    assert len(frames.interviews) == have and len(frames.candidates) >= have
    assert set(frames.interviews["interview_id"]) <= set(frames.candidates["interview_id"])
    assert [u.posting_id for u in frames.unfinished_syncs] == [pid]

    # report --offline: never "0 candidates, 0 completed interviews"
    code, out, err = run_cli(capsys, "report", pid, "--store", str(store), "--offline", "-o",
                             str(tmp_path / "r.html"), key="")  # fmt: skip
    assert code == 0, err
    assert f"{have:,} completed interviews" in out and "has not finished" in err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Incomplete data:" in page and "Pulls that did not finish" in page
    assert f"milo-analytics pull {pid}" in page

    # Python: a warning of its own class, and the machine-readable attribute
    with pytest.warns(UnfinishedSyncWarning) as caught:
        data = load_posting(pid, store=store, refresh=False)
    assert len(caught) == 1 and caught[0].filename == __file__
    message = str(caught[0].message)
    assert f"run load_posting({pid!r}, refresh=True) to finish it" in message
    (sync,) = data.unfinished_syncs
    assert (sync.posting_id, sync.documents) == (pid, have)
    assert sync.started_at is not None and sync.last_finished_at is None
    assert sync.candidates == len(data.candidates)
    assert caught[0].message.sync == sync
    assert "unfinished_syncs" in repr(data) and "Unfinished pull" in data._repr_html_()

    # the loader's guarantees after kill -9: intact file, resume fetches only the rest
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    total = sum(1 for c in sb.world.candidates[pid] if c["status"] in RESULT_STATUSES)
    sb.set_faults(latency=0.0)
    sb.reset_counts()
    with sb.client() as client, warnings.catch_warnings():
        warnings.simplefilter("error", UnfinishedSyncWarning)  # finished now: no warning
        resumed = load_posting(pid, client=client, store=store, progress=False)
    assert sb.counts.get(DATA_ROUTE, 0) == total - have
    assert resumed.unfinished_syncs == []
    assert not resumed.interviews["interview_id"].duplicated().any()
    with sb.client() as client:
        fresh = load_posting(pid, client=client, store=tmp_path / "fresh.sqlite3", progress=False)
    assert resumed == fresh


def _old_killed_store(path: Path, world, pid: str) -> list[str]:
    """What a killed first pull of an earlier version left: the posting (with its source),
    questions and interview documents, but no candidate listing and no finish time."""
    ids = [c["interview_id"] for c in world.candidates[pid] if c["status"] in RESULT_STATUSES]
    kept = ids[: len(ids) // 2]
    with Store(path) as store:
        store.save_posting(pid, world.postings[0], source="http://127.0.0.1:9/api/v2")
        store.save_questions(pid, world.questions[pid])
        store.save_interviews((i, pid, world.interview_data[i], "fp") for i in kept)
    return kept


def test_documents_without_candidate_records_are_loaded_from_the_documents(tmp_path, capsys):
    world = generate_world(WorldConfig(seed=4, n_candidates=40, n_second=0))
    pid = world.postings[0]["id"]
    path = tmp_path / "old.sqlite3"
    kept = _old_killed_store(path, world, pid)
    with pytest.warns(UnfinishedSyncWarning, match=r"its first document saved .* UTC"):
        data = load_posting(pid, store=path, refresh=False)
    assert sorted(data.interviews["interview_id"]) == sorted(kept)
    # candidate records made from the documents' own fields (no dates: the document has none)
    by_id = {c["interview_id"]: c for c in world.candidates[pid]}
    got = data.candidates.set_index("interview_id")
    assert sorted(got.index) == sorted(kept)
    for iid in kept:
        assert got.loc[iid, "email"] == by_id[iid]["email"]
        assert got.loc[iid, "status"] == by_id[iid]["status"]
    assert got["created_at"].isna().all()
    assert len(data.scores) > 0 and data.errors.empty
    # the CLI counts what is there
    assert main(["report", pid, "--store", str(path), "--offline",
                 "-o", str(tmp_path / "r.html")]) == 0  # fmt: skip
    out = capsys.readouterr()
    assert f"{len(kept)} candidates, {len(kept)} completed interviews" in out.out
    assert "has not finished" in out.err and f"milo-analytics pull {pid}" in out.err


def test_a_hand_made_store_without_a_pull_is_not_unfinished(tmp_path):
    world = generate_world(WorldConfig(seed=4, n_candidates=10, n_second=0))
    pid = world.postings[0]["id"]
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_posting(pid, world.postings[0])  # no source: not a pull
        store.save_candidates(pid, world.candidates[pid])
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnfinishedSyncWarning)
            data = load_posting(pid, store=store, refresh=False)
    assert data.unfinished_syncs == [] and len(data.candidates) == 10


# --------------------------------------------------------------------------- damaged documents


def _damage(path: Path, interview_id: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE interviews SET doc = ?, rows = ? WHERE interview_id = ?",
            (b"\x78\x01garbage", b"not zlib either", interview_id),
        )
    conn.close()


def test_a_damaged_document_is_refetched_by_the_next_pull(sandbox, tmp_path, capsys, monkeypatch):
    pid = sandbox.world.postings[0]["id"]
    done = [c["interview_id"] for c in sandbox.world.candidates[pid]
            if c["status"] in RESULT_STATUSES]  # fmt: skip
    path = tmp_path / "store.sqlite3"
    with sandbox.client() as client:
        clean = load_posting(pid, client=client, store=path, progress=False)
    _damage(path, done[2])

    offline = load_posting(pid, store=path, refresh=False)
    assert offline.errors[["interview_id", "stage"]].values.tolist() == [[done[2], "store"]]
    assert "damaged" in offline.errors["error"].iloc[0]
    assert "next pull fetches it again" in offline.errors["error"].iloc[0]
    assert done[2] not in set(offline.interviews["interview_id"])
    assert len(offline.interviews) == len(clean.interviews) - 1  # the rest loads
    with Store(path) as store:
        state = store.sync_states(pid)[done[2]]
    assert (state.state, state.stage, state.has_document) == ("error", "store", False)
    assert load_posting(pid, store=path, refresh=False).errors["stage"].tolist() == ["store"]

    # the next pull fetches it again — exactly that one — and the one after fetches nothing
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    sandbox.reset_counts()
    code = main(["pull", pid, "--store", str(path), "--base-url", sandbox.base_url, "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 fetched" in out and "0 failed" in out and sandbox.counts.get(DATA_ROUTE, 0) == 1
    assert "fetches them again" not in out  # nothing left to retry
    sandbox.reset_counts()
    assert main(["pull", pid, "--store", str(path), "--base-url", sandbox.base_url]) == 0
    assert sandbox.counts.get(DATA_ROUTE, 0) == 0
    assert load_posting(pid, store=path, refresh=False) == clean


def test_a_damaged_candidate_record_is_reported_and_the_rest_loads(sandbox, tmp_path):
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    with sandbox.client() as client:
        clean = load_posting(pid, client=client, store=path, progress=False)
    victim = clean.candidates["interview_id"].iloc[5]
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE candidates SET doc = ? WHERE interview_id = ?", (b"junk", victim))
    conn.close()
    data = load_posting(pid, store=path, refresh=False)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [[victim, "store"]]
    assert "candidate record is damaged" in data.errors["error"].iloc[0]
    assert len(data.candidates) == len(clean.candidates) - 1
    with sandbox.client() as client:  # the next pull lists it again
        again = load_posting(pid, client=client, store=path, progress=False)
    assert again == clean


def test_reading_a_damaged_copy_directly_names_it(tmp_path):
    """Store.interview() on a damaged copy raises a DataError naming the store and the id."""
    from milo_analytics.errors import DataError

    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        store.save_interview("I1", "P", {"interview_id": "I1"}, "fp")
    _damage(path, "I1")
    with Store(path) as store, pytest.raises(DataError, match=r"damaged .*\(I1\)"):
        store.interview("I1")


# --------------------------------------------------------------------------- two processes


def test_two_pull_processes_on_one_new_store_stay_safe(sandbox_factory, tmp_path):
    """Two `milo-analytics pull` processes started together on a store that does not exist
    yet: both create it, migrate nothing twice, and finish; nothing is duplicated."""
    world = generate_world(WorldConfig(seed=9, n_candidates=80, n_second=0))
    sb = sandbox_factory(world=world, latency=0.01)
    pid = world.postings[0]["id"]
    store = tmp_path / "new" / "store.sqlite3"
    args = ["pull", pid, "--store", str(store), "--base-url", sb.base_url, "-q"]
    procs = [cli(*args, env={"HEYMILO_API_KEY": sb.api_key}) for _ in range(2)]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "has not finished" not in err
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    n_done = sum(1 for c in world.candidates[pid] if c["status"] in RESULT_STATUSES)
    assert conn.execute("SELECT COUNT(*) FROM interviews WHERE state='ok'").fetchone() == (n_done,)
    assert conn.execute("SELECT COUNT(*) FROM candidates").fetchone() == (
        len(world.candidates[pid]),
    )
    conn.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        offline = load_posting(pid, store=store, refresh=False)
    with sb.client() as client:
        assert offline == load_posting(pid, client=client, store=":memory:", progress=False)
