"""The store never leaks, never touches a file that is not its own, and says what to do with a
damaged one (issue 11 "Store", issue 12 "a zeroed page in the store").

Inputs are the issue's: the store created under umask 000 and 022 (default location and an
explicit path), an existing world-readable store, another application's SQLite file, an empty
SQLite file, a file that is not SQLite, a zeroed page; plus the schema-version migration of a
store written by version 1.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from milo_analytics.cli import main
from milo_analytics.errors import DataError, StorePermissionWarning
from milo_analytics.store import APPLICATION_ID, SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cand(iid: str, posting: str = "P") -> dict:
    return {"interview_id": iid, "posting_id": posting, "name": "A", "email": "a@x.org",
            "status": "completed", "score": 70.0}  # fmt: skip


def fill(store: Store, n: int = 300) -> None:
    store.save_posting("P", {"id": "P", "title": "CSR"}, source="http://127.0.0.1:1/api/v2")
    store.save_candidates("P", [cand(f"I{k:04d}") for k in range(n)])
    store.save_interviews(
        (f"I{k:04d}", "P", {"interview_id": f"I{k:04d}", "pad": "x" * 200}, "fp") for k in range(n)
    )
    store.mark_synced("P")


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_new_store_is_private_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "a" / "b" / "store.sqlite3"
    old = os.umask(umask)
    try:
        with Store(path) as store:
            fill(store, 5)  # the -wal and -shm files exist while the store is open
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(p.exists() for p in files)
            assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    finally:
        os.umask(old)
    # every folder the store created is 0700; the existing one above is left alone
    assert oct(mode(tmp_path / "a")) == oct(mode(tmp_path / "a" / "b")) == "0o700"


@pytest.mark.parametrize("umask", ["000", "022"])
def test_default_location_and_cli_store_are_private_whatever_the_umask(tmp_path, umask):
    """The default location (platformdirs, under XDG_DATA_HOME) and `--store`, in fresh
    processes started under the umask, as a user's shell would."""
    env = {k: v for k, v in os.environ.items() if k != "MILO_ANALYTICS_STORE"}
    env.update(PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "xdg"))
    code = (
        "from pathlib import Path\n"
        "from milo_analytics.store import Store, default_store_path\n"
        "with Store() as s:\n"
        "    s.save_candidates('P', [{'interview_id': 'I1', 'posting_id': 'P'}])\n"
        "    p = default_store_path()\n"
        "    import stat\n"
        "    for f in (p, Path(f'{p}-wal'), Path(f'{p}-shm'), p.parent):\n"
        "        print(f.name, oct(stat.S_IMODE(f.stat().st_mode)))\n"
    )
    out = subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" -c "$1"', sys.executable, code],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["store.sqlite3", "0o600", "store.sqlite3-wal", "0o600",
                   "store.sqlite3-shm", "0o600", "milo_analytics", "0o700"]  # fmt: skip
    assert (tmp_path / "xdg" / "milo_analytics" / "store.sqlite3").exists()

    store = tmp_path / "cli" / "s.sqlite3"
    cli = subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" -m milo_analytics.cli "$@"', sys.executable,
         "pull", "P1", "--offline", "--store", str(store)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1 and "not in the store" in cli.stderr  # but the store was made:
    assert oct(mode(store)) == "0o600" and oct(mode(store.parent)) == "0o700"


def test_existing_world_readable_store_gets_a_warning_naming_the_chmod(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        fill(store, 3)
    path.chmod(0o644)  # what earlier versions created under umask 022
    with pytest.warns(StorePermissionWarning) as caught:
        store = Store(path)
    try:
        message = str(caught[0].message)
        assert f"chmod 600 {path}" in message and "-rw-r--r--" in message
        assert "names and emails" in message
        assert str(path) in caught[0].message.paths
        assert caught[0].filename == __file__  # points at the caller, not at store.py
    finally:
        store.close()
    path.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Store(path).close()  # private again: no warning


def test_loose_default_folder_is_named_too(tmp_path, monkeypatch):
    monkeypatch.delenv("MILO_ANALYTICS_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    Store().close()
    folder = tmp_path / "milo_analytics"
    assert oct(mode(folder)) == "0o700"
    folder.chmod(0o755)
    with pytest.warns(StorePermissionWarning, match=f"chmod 700 {folder}"):
        Store().close()


def test_cli_prints_the_permission_warning_as_one_line(tmp_path, capsys):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        fill(store, 3)
    path.chmod(0o640)
    code = main(["pull", "P", "--offline", "--store", str(path)])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "chmod" in line]
    assert lines == [lines[0]] and lines[0].startswith("milo-analytics: warning: the store")
    assert "UserWarning" not in err and "store.py" not in err


# --------------------------------------------------------------------------- files that are not ours


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("CREATE TABLE meta (k TEXT, v TEXT)")  # another app's "meta" is not ours
    conn.execute("INSERT INTO contacts (email) VALUES ('x@y.org')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DataError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message and "another application" in message
    assert "contacts" in message and "left untouched" in message and "store=" in message
    assert path.read_bytes() == before  # no tables added, no WAL switch, nothing
    assert not Path(f"{path}-wal").exists()
    # the CLI: one line, exit 1
    assert main(["pull", "P", "--offline", "--store", str(path)]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "milo_analytics store with --store" in err  # CLI's words
    assert "store=" not in err


def test_a_store_layout_plus_foreign_tables_is_foreign(tmp_path):
    path = tmp_path / "mixed.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(DataError, match="another application"):
        Store(path)


@pytest.mark.parametrize("kind", ["zero bytes", "sqlite without tables"])
def test_an_empty_file_becomes_a_store(tmp_path, kind):
    path = tmp_path / "empty.db"
    if kind == "zero bytes":
        path.touch()
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 7")  # a valid database file with no table
        conn.close()
        assert path.stat().st_size > 0
    path.chmod(0o644)
    with pytest.warns(StorePermissionWarning, match="chmod 600"):  # the user's file, as it was
        store = Store(path)
    with store:
        fill(store, 2)
        assert store.candidate_ids("P") == ["I0000", "I0001"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    conn.close()


def test_a_file_that_is_not_sqlite_names_the_path_and_what_to_do(tmp_path, capsys):
    path = tmp_path / "notes.sqlite3"
    path.write_text("meeting notes\n" * 200)
    before = path.read_bytes()
    with pytest.raises(DataError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message and "not a SQLite database" in message
    assert f"mv {path} {path}.damaged" in message and "re-pulled" in message
    assert path.read_bytes() == before
    assert main(["pull", "P", "--offline", "--store", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("milo-analytics: error:") and str(path) in err[0]


def _zero_page(path: Path, page: int) -> None:
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\0" * size)


def test_a_zeroed_first_page_is_a_clear_error(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        fill(store)
    _zero_page(path, 1)
    with pytest.raises(DataError, match=r"not a SQLite database .*mv .*\.damaged"):
        Store(path)


def test_a_zeroed_data_page_is_a_clear_error_not_an_unexpected_one(tmp_path, capsys):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        fill(store)
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='candidates'").fetchone()
    conn.close()
    _zero_page(path, root[0])
    with Store(path) as store, pytest.raises(DataError) as info:
        store.candidates("P")
    message = str(info.value)
    assert f"the store at {path} is damaged" in message and "malformed" in message
    assert f"mv {path} {path}.damaged" in message
    code = main(["pull", "P", "--offline", "--store", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert "is damaged" in err[0] and "unexpected" not in err[0]


# --------------------------------------------------------------------------- schema versions

_V1_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE postings (posting_id TEXT PRIMARY KEY, doc BLOB, source TEXT, synced_at REAL);
CREATE TABLE questions (posting_id TEXT NOT NULL, question_id TEXT NOT NULL,
    position INTEGER NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (posting_id, question_id));
CREATE TABLE candidates (interview_id TEXT PRIMARY KEY, posting_id TEXT NOT NULL,
    position INTEGER NOT NULL, doc BLOB NOT NULL);
CREATE TABLE interviews (interview_id TEXT PRIMARY KEY, posting_id TEXT NOT NULL, doc BLOB,
    fingerprint TEXT, state TEXT NOT NULL, stage TEXT, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, fetched_at REAL);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def test_a_version_1_store_is_migrated_in_place(tmp_path):
    """The layout of the first release (before the cached rows and the pull start time)."""
    from milo_analytics.store import pack_document

    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(_V1_DDL)
    conn.execute("INSERT INTO postings VALUES ('P', ?, 'http://h/api/v2', 1.0)",
                 (pack_document({"id": "P"}),))  # fmt: skip
    conn.execute("INSERT INTO candidates VALUES ('I1', 'P', 0, ?)", (pack_document(cand("I1")),))
    conn.commit()
    conn.close()
    path.chmod(0o600)
    with Store(path) as store:
        assert store.candidate_ids("P") == ["I1"]
        assert store.posting_info("P")["sync_started_at"] is None
        assert store.unfinished_sync("P") is None  # it finished (synced_at), nothing to say
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(interviews)")}
    assert {"rows", "rows_version"} <= cols
    assert "sync_started_at" in {r[1] for r in conn.execute("PRAGMA table_info(postings)")}
    conn.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only files anyway")
def test_a_current_read_only_store_still_opens(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        fill(store, 2)
    path.chmod(0o400)
    try:
        with Store(path) as store:
            assert store.candidate_ids("P") == ["I0000", "I0001"]
    finally:
        path.chmod(0o600)
