"""Store: SQLite file, WAL, atomic writes, sync state, thread safety, no secrets in repr."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from milo_analytics.errors import ConfigError, DataError
from milo_analytics.store import Store, default_store_path


def cand(iid, status="completed", score=70.0):
    return {
        "interview_id": iid,
        "posting_id": "P",
        "name": "A",
        "email": "a@x.org",
        "status": status,
        "score": score,
    }


def test_created_with_folder_and_wal(tmp_path):
    path = tmp_path / "deep" / "er" / "milo.sqlite3"
    with Store(path) as store:
        store.save_posting("P", {"id": "P", "title": "CSR"}, source="http://127.0.0.1:1/api/v2")
        assert path.exists()
        assert store.posting("P") == {"id": "P", "title": "CSR"}
        assert store.posting_info("P")["source"] == "http://127.0.0.1:1/api/v2"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with Store(path) as again:  # reopening keeps the data
        assert again.posting_ids() == ["P"]
        # saving without a document keeps the stored one
        again.save_posting("P", None)
        assert again.posting("P")["title"] == "CSR"


def test_default_path_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MILO_ANALYTICS_STORE", str(tmp_path / "x.sqlite3"))
    assert default_store_path() == tmp_path / "x.sqlite3"
    with Store() as store:
        assert store.path == tmp_path / "x.sqlite3"
    monkeypatch.delenv("MILO_ANALYTICS_STORE")
    assert default_store_path().parent.name == "milo_analytics"


def test_bad_paths(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        Store(tmp_path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a milo_analytics store"):
        Store(junk)


def test_listing_replaced_atomically_in_order(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_candidates("P", [cand("B"), cand("A"), cand("C")])
        assert [c["interview_id"] for c in store.candidates("P")] == ["B", "A", "C"]
        store.save_candidates("P", [cand("C"), cand("D")])
        assert [c["interview_id"] for c in store.candidates("P")] == ["C", "D"]
        store.save_questions("P", [{"id": "q2"}, {"id": "q1"}])
        assert [q["id"] for q in store.questions("P")] == ["q2", "q1"]


def test_interview_sync_state_and_errors(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_interview("I1", "P", {"interview_id": "I1", "v": 1}, "fp1")
        store.save_interview_error("I2", "P", "fetch", "[500] boom")
        st = store.sync_states("P")
        assert (st["I1"].state, st["I1"].fingerprint, st["I1"].has_document) == ("ok", "fp1", True)
        assert (st["I2"].state, st["I2"].has_document, st["I2"].attempts) == ("error", False, 1)
        # a failed refetch keeps the stale good copy but marks it
        store.save_interview_error("I1", "P", "parse", "malformed document: x")
        st = store.sync_states("P")
        assert (st["I1"].state, st["I1"].has_document, st["I1"].fingerprint) == (
            "error",
            True,
            "fp1",
        )
        assert store.interview("I1") == {"interview_id": "I1", "v": 1}
        assert [e["interview_id"] for e in store.errors("P")] == ["I1", "I2"]
        # a good fetch clears the error
        store.save_interview("I1", "P", {"interview_id": "I1", "v": 2}, "fp2")
        assert store.sync_states("P")["I1"].state == "ok"
        assert store.interviews("P") == {"I1": {"interview_id": "I1", "v": 2}}
        assert store.counts()["interview_errors"] == 1


def test_transaction_rolls_back_on_interrupt(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_candidates("P", [cand("A")])
        with pytest.raises(KeyboardInterrupt), store.transaction() as c:
            c.execute("DELETE FROM candidates WHERE posting_id='P'")
            raise KeyboardInterrupt
        assert [x["interview_id"] for x in store.candidates("P")] == ["A"]


def test_clear_posting(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_posting("P", {"id": "P"})
        store.save_candidates("P", [cand("A")])
        store.save_interview("A", "P", {"interview_id": "A"}, "f")
        store.save_posting("Q", {"id": "Q"})
        store.clear_posting("P")
        assert store.posting_ids() == ["Q"]
        assert store.candidates("P") == [] and store.interviews("P") == {}


def test_thread_safe_writes(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:

        def work(k):
            for j in range(50):
                store.save_interview(f"I{k}-{j}", "P", {"interview_id": f"I{k}-{j}"}, "f")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(store.interviews("P")) == 400


def test_repr_close_and_memory():
    store = Store(":memory:")
    store.save_candidates("P", [cand("A")])
    assert "candidates=1" in repr(store)
    store.close()
    store.close()  # idempotent
    assert store.closed and "closed" in repr(store)
    with pytest.raises(ConfigError, match="closed"):
        store.candidates("P")


def test_bulk_save_interviews_writes_all_and_clears_errors(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.save_interview_error("B", "P", "fetch", "[500] boom")
        rows = ((iid, "P", {"interview_id": iid}, f"fp-{iid}") for iid in ("A", "B", "C"))
        assert store.save_interviews(rows) == 3  # a generator is fine
        st = store.sync_states("P")
        assert {k: (v.state, v.fingerprint) for k, v in st.items()} == {
            "A": ("ok", "fp-A"),
            "B": ("ok", "fp-B"),
            "C": ("ok", "fp-C"),
        }
        assert sorted(store.interviews("P")) == ["A", "B", "C"]
        assert store.counts()["interview_errors"] == 0


# --------------------------------------------------------------------------- unwritable stores


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_read_only_folder_names_the_path_and_the_fix(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ConfigError) as info:
            Store(folder / "store.sqlite3")
    finally:
        folder.chmod(0o755)
    message = str(info.value)
    assert str(folder / "store.sqlite3") in message and "not writable" in message
    assert "MILO_ANALYTICS_STORE" in message and "not a milo_analytics store" not in message


@pytest.mark.parametrize(
    "sqlite_message", ["unable to open database file", "attempt to write a readonly database"]
)
def test_unopenable_store_is_a_config_error_not_a_corrupt_file(
    tmp_path, monkeypatch, sqlite_message
):
    # what SQLite answers in a read-only folder (simulated: these tests may run as root,
    # who may write anywhere; the real folder case is the test above)
    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError(sqlite_message)

    monkeypatch.setattr("milo_analytics.store.sqlite3.connect", refuse)
    path = tmp_path / "store.sqlite3"
    with pytest.raises(ConfigError) as info:
        Store(path)
    message = str(info.value)
    assert f"cannot write the store at {path}" in message
    assert sqlite_message in message and "Store(path)" in message
    assert "delete the file" not in message


def test_store_locked_by_another_process_says_so(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as first, Store(path) as second:
        second._conn.execute("PRAGMA busy_timeout=50")  # instead of waiting 30 s
        with (
            first.transaction(),
            pytest.raises(ConfigError, match=r"store at .*store\.sqlite3 is locked"),
        ):
            second.save_candidates("P", [cand("I1")])
        second.save_candidates("P", [cand("I1")])  # free again
        assert second.candidate_ids("P") == ["I1"]


def test_store_of_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        store.save_candidates("P", [cand("I1")])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.close()
    with pytest.raises(DataError, match=r"written by a newer milo_analytics \(store schema 99\)"):
        Store(path)
    conn = sqlite3.connect(path)  # nothing was migrated or rewritten
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("99",)
    assert conn.execute("SELECT COUNT(*) FROM candidates").fetchone() == (1,)
    conn.close()
