"""The tidy frames materialised in the store (issue 15, "Frames that load in seconds").

The reference is the rebuild path (``frames_from_store(..., materialised=False)``: every
stored document parsed again, as every load did before). The materialised path must give the
same frames — values and dtypes —, the same ``errors`` and the same unfinished-pull warnings:
on the demo world pulled over HTTP, after incremental pulls with new completions and score
overrides, with damaged documents and records, documents outside the API's ranges and
malformed ones, and unfinished pulls. A pull of a few documents makes the next load parse and
write those documents only; a kill -9 in the middle of an update leaves the old
materialisation or the new one; it stays inside the private store file; a change of format or
of the code rebuilds it transparently; writes by any code (raw SQL included) invalidate it.

Where a damaged document is involved, the two paths run on twin copies of the store: a load
marks damaged documents for refetch, so the second load would see another store.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from milo_analytics import materialised
from milo_analytics.errors import ConfigError, DataError
from milo_analytics.frames import (
    RESULT_STATUSES,
    InterviewData,
    frame_order,
    isin,
    take_rows,
)
from milo_analytics.load import (
    frames_from_documents,
    frames_from_store,
    load_posting,
    load_postings,
    prepare_document,
)
from milo_analytics.sandbox import WorldConfig, generate_world
from milo_analytics.store import Store, pack_document, unpack_document

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers
def assert_same(got: InterviewData, want: InterviewData) -> None:
    """Every frame equal, values and dtypes; the scale and the unfinished pulls too."""
    for name in InterviewData.FRAME_NAMES:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtypes.astype(str).tolist() == b.dtypes.astype(str).tolist(), name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert got.score_scale == want.score_scale
    assert got.unfinished_syncs == want.unfinished_syncs
    assert got == want


def load(path: Path, pids: list[str], *, materialised: bool = True, **kw):
    """Frames from the store at ``path`` and the warnings the load gave (category, text)."""
    with Store(path) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = frames_from_store(store, pids, materialised=materialised, **kw)
    return data, [(w.category.__name__, str(w.message)) for w in caught]


def twin(path: Path) -> Path:
    """A copy of a closed store (its WAL is checkpointed when the last connection closes)."""
    copy = path.with_name(path.stem + "-twin.sqlite3")
    shutil.copyfile(path, copy)
    copy.chmod(0o600)
    return copy


def both(path: Path, pids: list[str], **kw):
    """The materialised load of the store at ``path``, and the rebuild on a twin of it;
    asserts equal frames and warnings, and returns the materialised frames."""
    copy = twin(path)
    want, want_warnings = load(copy, pids, materialised=False, **kw)
    got, got_warnings = load(path, pids, **kw)
    assert_same(got, want)
    assert got_warnings == want_warnings
    copy.unlink()
    return got


def segments(path: Path) -> dict[int, tuple[str, str, int, int, str]]:
    """``segment -> (posting, kind, documents, rows, digest of its blobs)``."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for seg, pid, kind, docs, rows in conn.execute(
            "SELECT segment, posting_id, kind, documents, rows FROM frame_segments"
        ):
            h = hashlib.sha256()
            for part, data in conn.execute(
                "SELECT part, data FROM frame_parts WHERE segment=? ORDER BY part", (seg,)
            ):
                h.update(part.encode() + data)
            out[seg] = (pid, kind, docs, rows, h.hexdigest())
        return out
    finally:
        conn.close()


def members(path: Path, kind: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT interview_id FROM frame_members WHERE kind=?",
                                           (kind,))}  # fmt: skip
    finally:
        conn.close()


def finished(sb, pid: str) -> list[str]:
    return [c["interview_id"] for c in sb.world.candidates[pid] if c["status"] in RESULT_STATUSES]


def pull(sb, path: Path, pids: list[str]) -> InterviewData:
    with sb.client() as client:
        return load_postings(pids, client=client, store=path, progress=False)


def stored_candidates(path: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT interview_id, doc FROM candidates").fetchall())
    finally:
        conn.close()


# --------------------------------------------------------------------------- equality
def test_demo_world_materialised_equals_rebuild(demo_sandbox, tmp_path, tmp_path_factory):
    """The demo world, all postings, pulled over HTTP (the session's pull,
    tests/_demo_output.py, copied): the load of the pull materialised the frames, the next
    load reads them (writing nothing), they equal the rebuild — in either order of postings —
    and the frames hold every stored interview."""
    from _demo_output import demo_store_copy

    path = demo_store_copy(tmp_path_factory, demo_sandbox, tmp_path / "s.sqlite3")
    pids = [p["id"] for p in demo_sandbox.world.postings]
    written = segments(path)
    assert {(v[0], v[1]) for v in written.values()} == {
        (p, k) for p in pids for k in ("interviews", "candidates")
    }
    again = both(path, pids)
    assert segments(path) == written  # nothing parsed, nothing written
    assert len(again.interviews) == sum(len(finished(demo_sandbox, p)) for p in pids)
    assert len(again.candidates) == sum(len(demo_sandbox.world.candidates[p]) for p in pids)
    both(path, pids[::-1])
    offline = load_postings(pids, store=path, refresh=False)  # the public path
    assert_same(offline, again)


def test_a_pull_of_13_documents_makes_the_next_load_write_only_those(sandbox_factory, tmp_path):
    """New completions and score overrides (the refetch rule fetches exactly those): the load
    after the pull parses and writes the products of the 13 documents and of the candidate
    records that changed, and leaves every other materialised byte as it was."""
    sb = sandbox_factory(
        world=WorldConfig(seed=5, n_candidates=60, n_second=0, unfinished_rate=0.0),
        interview_delay=3600,  # ingested candidates stay unfinished until complete_pending()
    )
    pid = sb.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sb, path, [pid])
    first = segments(path)  # the whole posting: one segment of each kind
    with sb.client() as client:
        new = [
            client.candidates.ingest(pid, name=f"New Person {k}", email=f"new{k}@example.org")
            for k in range(10)
        ]
    new_ids = {r.interview_id for r in new}
    pull(sb, path, [pid])  # lists the pending ones: no document to fetch
    assert sb.complete_pending() >= 10
    overridden = [i for i in finished(sb, pid) if i not in new_ids][:3]
    for iid in overridden:
        sb.override_score(iid, 12.5)
    before, records_before = segments(path), stored_candidates(path)
    data = pull(sb, path, [pid])
    assert data.pull_reports[0].fetched == 13
    after = segments(path)
    assert {k: after[k] for k in first} == first  # the big segments: untouched
    # the 10 pending records' segment of the second pull is gone: all 10 changed since
    assert [v[1:3] for k, v in before.items() if k not in after] == [("candidates", 10)]
    assert all(after[k] == v for k, v in before.items() if k in after)
    new_segments = [v for k, v in after.items() if k not in before]
    changed_records = {i for i, b in stored_candidates(path).items() if records_before.get(i) != b}
    assert changed_records >= new_ids | set(overridden)
    docs = {kind: sum(v[2] for v in new_segments if v[1] == kind) for kind in ("interviews",
            "candidates")}  # fmt: skip
    assert docs == {"interviews": 13, "candidates": len(changed_records)}
    # the rows written are those 13 documents' and those records' rows, nothing else
    fetched = new_ids | set(overridden)
    rows = sum(v[3] for v in new_segments)
    expected = sum(
        int(getattr(data, n)["interview_id"].isin(fetched).sum())
        for n in ("interviews", "scores", "transcript", "highlights")
    )
    expected += int(data.candidates["interview_id"].isin(changed_records).sum())  # fmt: skip
    assert rows == expected
    assert (data.interviews.set_index("interview_id").loc[overridden, "score"] == 12.5).all()
    assert_same(both(path, [pid]), data)


def test_damaged_copies_records_and_caches_give_the_same_errors(sandbox, tmp_path):
    """A document that no longer decodes (stage ``store``, marked for refetch), a damaged
    cache of parsed rows (the document is parsed again: no error), a damaged candidate
    record (``store``, "lists it again"): the same frames and errors by both paths, on the
    load that finds them and on the next one."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    done = finished(sandbox, pid)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE interviews SET doc = ?, rows = ? WHERE interview_id = ?",
                     (b"\x78\x01garbage", b"junk", done[2]))  # fmt: skip
        conn.execute("UPDATE interviews SET rows = ? WHERE interview_id = ?", (b"junk", done[4]))
        conn.execute("UPDATE candidates SET doc = ? WHERE interview_id = ?", (b"junk", done[6]))
    conn.close()
    data = both(path, [pid])
    errors = data.errors.set_index("interview_id")
    assert errors.loc[[done[2], done[6]], "stage"].tolist() == ["store", "store"]
    assert "next pull fetches it again" in errors.loc[done[2], "error"]
    assert "lists it again" in errors.loc[done[6], "error"]
    assert done[4] in set(data.interviews["interview_id"])  # its document parsed again
    assert done[2] not in set(data.interviews["interview_id"])
    both(path, [pid])  # the copy is marked now: the errors come from the store's state
    with sandbox.client() as client:  # the next pull fetches and lists them again
        again = load_posting(pid, client=client, store=path, progress=False)
    assert again.errors.empty
    assert_same(both(path, [pid]), again)


@pytest.fixture
def hostile_sandbox(sandbox_factory):
    """Documents outside the API's ranges (issue 12's inputs), a candidate record with an
    impossible date, and two malformed documents served by the API."""
    world = generate_world(WorldConfig(seed=6, n_candidates=40, n_second=15, unfinished_rate=0.1))
    pid = world.postings[0]["id"]
    done = [c for c in world.candidates[pid] if c["status"] in RESULT_STATUSES]
    docs = [world.interview_data[c["interview_id"]] for c in done]
    done[0]["created_at"] = 1e20
    docs[1]["web_interview"]["scorecard"][0]["score"] = 99
    docs[2]["web_interview"]["scorecard"][0]["score"] = 1e308
    docs[3]["web_interview"]["match_score"] = 1e25
    del docs[4]["web_interview"]["scorecard"][0]["score"]
    docs[4]["web_interview"]["scorecard"][0]["not_scored"] = False
    docs[5]["web_interview"]["scorecard"][1]["score"] = 99  # with a bad candidate record too
    done[5]["interviewed_at"] = -1e20
    sb = sandbox_factory(world=world)
    sb.set_faults(malformed=[done[6]["interview_id"], f"{done[7]['interview_id']}:schema"])
    return sb, [c["interview_id"] for c in done[:8]]


def test_validation_and_parse_errors_are_the_same(hostile_sandbox, tmp_path):
    sb, bad = hostile_sandbox
    pids = [p["id"] for p in sb.world.postings]
    path = tmp_path / "store.sqlite3"
    pulled = pull(sb, path, pids)
    data = both(path, pids)
    assert_same(data, pulled)
    stages = data.errors.groupby("interview_id")["stage"].apply(sorted).to_dict()
    assert stages == {**{i: ["validate"] for i in bad[:5]}, bad[5]: ["validate", "validate"],
                      bad[6]: ["parse"], bad[7]: ["parse"]}  # fmt: skip
    assert not set(bad) & set(data.interviews["interview_id"])
    with pytest.raises(DataError) as rebuilt:
        load(twin(path), pids, materialised=False, strict=True)
    with pytest.raises(DataError) as read:
        load(path, pids, strict=True)
    assert str(read.value) == str(rebuilt.value)


def test_an_unfinished_pull_loads_the_same_with_the_same_warning(tmp_path):
    """A pull that stopped: some candidate records listed, documents stored for listed and
    unlisted interviews (records made from the documents), one failed fetch."""
    world = generate_world(WorldConfig(seed=12, n_candidates=30, n_second=0))
    pid = world.postings[0]["id"]
    listed = world.candidates[pid][:12]
    path = tmp_path / "store.sqlite3"
    with Store(path) as store:
        store.save_posting(pid, world.postings[0], source="http://127.0.0.1:1/api/v2")
        store.mark_sync_started(pid, when=1_000.0)
        store.save_questions(pid, world.questions[pid])
        store.upsert_candidates(pid, list(enumerate(listed)))
        docs = [(iid, pid, *prepare_document(iid, d)) for iid, d in world.interview_data.items()]
        store.record_fetches([(i, p, b, "fp", r, v) for i, p, b, r, v in docs[:20]])
        store.save_interview_error(docs[20][0], pid, "fetch", "[500] boom")
    data = both(path, [pid])
    assert [u.posting_id for u in data.unfinished_syncs] == [pid]
    assert len(data.interviews) == 20 or set(data.candidates["interview_id"]) > {
        c["interview_id"] for c in listed
    }
    assert (data.errors["stage"] == "fetch").sum() == 1
    both(path, [pid])  # and from the materialisation


def test_several_postings_in_any_order(sandbox, tmp_path):
    pids = [p["id"] for p in sandbox.world.postings]
    assert len(pids) == 2
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, pids)
    a = both(path, pids)
    b = both(path, pids[::-1])
    assert_same(a, b)
    for pid in pids:  # one posting alone: that posting's part of both (its own scale aside)
        one, part = both(path, [pid]), a.filter(posting_id=pid)
        for name in InterviewData.FRAME_NAMES:
            pd.testing.assert_frame_equal(getattr(one, name), getattr(part, name), obj=name)


# --------------------------------------------------------------------------- consistency
def test_writes_by_any_code_invalidate_the_materialised_rows(sandbox, tmp_path):
    """Triggers inside SQLite drop a document's products in the same transaction that
    changes it — here raw SQL from another connection, not milo_analytics."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    done = finished(sandbox, pid)
    changed, gone = done[1], done[3]
    assert {changed, gone} <= members(path, "interviews")
    conn = sqlite3.connect(path)
    with conn:
        doc = unpack_document(conn.execute("SELECT doc FROM interviews WHERE interview_id=?",
                                           (changed,)).fetchone()[0])  # fmt: skip
        doc["score"] = 3.25
        conn.execute("UPDATE interviews SET doc=?, rows=NULL WHERE interview_id=?",
                     (pack_document(doc), changed))  # fmt: skip
        conn.execute("DELETE FROM candidates WHERE interview_id=?", (gone,))
        conn.execute("UPDATE postings SET synced_at = synced_at")  # no document: no effect
    conn.close()
    assert changed not in members(path, "interviews")
    assert gone not in members(path, "candidates")
    data = both(path, [pid])
    assert data.interviews.set_index("interview_id").loc[changed, "score"] == 3.25
    assert gone not in set(data.candidates["interview_id"])
    assert gone not in set(data.interviews["interview_id"])  # no longer listed


def test_a_document_changed_while_a_load_parses_is_not_saved(sandbox, tmp_path, monkeypatch):
    """A pull commits a document while a load is parsing (here: between the load's reading
    of the sources and its save): the load saves nothing, the next load parses again."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    done = finished(sandbox, pid)
    with Store(path) as other:
        other.save_interview(done[0], pid, dict(other.interview(done[0]), score=1.0), "fp")
    kept = segments(path)
    real = Store.frame_sources

    def sources_then_a_pull_commits(self, *args, **kw):
        rows = real(self, *args, **kw)
        with Store(path) as other:
            other.save_interview(done[5], pid, dict(other.interview(done[5]), score=2.0), "f2")
        return rows

    monkeypatch.setattr(Store, "frame_sources", sources_then_a_pull_commits)
    load(path, [pid])
    assert segments(path) == kept  # nothing saved: the posting changed meanwhile
    monkeypatch.undo()
    data = both(path, [pid])
    assert data.interviews.set_index("interview_id").loc[[done[0], done[5]], "score"].tolist() == [
        1.0,
        2.0,
    ]
    assert len(segments(path)) > len(kept)  # saved this time


def test_a_new_format_rebuilds_transparently(sandbox, tmp_path, monkeypatch):
    """Another frames format (a new schema, or other code making the products) rebuilds the
    whole materialisation from the documents on the next load."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    old = segments(path)
    current = materialised.frames_format()
    assert len(current) == 16
    monkeypatch.setattr(materialised, "frames_format", lambda: "another-version")
    both(path, [pid])
    new = segments(path)
    assert new and not set(new) & set(old)
    with Store(path) as store:
        assert store.frame_format() == "another-version"
    monkeypatch.undo()
    both(path, [pid])
    with Store(path) as store:
        assert store.frame_format() == current


def test_missing_triggers_mean_nothing_materialised_is_trusted(sandbox, tmp_path):
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TRIGGER frames_interviews_updated")
        done = finished(sandbox, pid)
        doc = unpack_document(conn.execute("SELECT doc FROM interviews WHERE interview_id=?",
                                           (done[0],)).fetchone()[0])  # fmt: skip
        doc["score"] = 4.5  # unseen by the materialisation: no trigger fired
        conn.execute("UPDATE interviews SET doc=?, rows=NULL WHERE interview_id=?",
                     (pack_document(doc), done[0]))  # fmt: skip
    conn.close()
    kept = segments(path)
    data = both(path, [pid])
    assert data.interviews.set_index("interview_id").loc[done[0], "score"] == 4.5
    assert segments(path) == kept  # and nothing saved without the triggers


@pytest.mark.parametrize("damage", ["not arrow", "another segment's rows"])
def test_an_unreadable_materialisation_is_parsed_again_and_replaced(
    sandbox, tmp_path, caplog, damage
):
    """The materialisation is a cache of the documents: a blob that does not decode, or one
    that decodes but does not hold what its segment says, costs a rebuild, never a load."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    with Store(path) as store:  # a second, small segment of interviews
        iid = finished(sandbox, pid)[0]
        store.save_interview(iid, pid, dict(store.interview(iid), score=61.0), "fp")
    both(path, [pid])
    conn = sqlite3.connect(path)
    with conn:
        big, small = [
            r[0]
            for r in conn.execute(
                "SELECT segment FROM frame_segments WHERE kind='interviews' ORDER BY documents DESC"
            )
        ]
        if damage == "not arrow":
            conn.execute(
                "UPDATE frame_parts SET data = ? WHERE segment = ? AND part = 'scores'",
                (b"\x00" * 64, big),
            )
        else:
            conn.execute("UPDATE frame_parts SET data = (SELECT data FROM frame_parts WHERE "
                         "segment = ? AND part = 'scores') WHERE segment = ? AND part = 'scores'",
                         (small, big))  # fmt: skip
    conn.close()
    with caplog.at_level("WARNING", logger="milo_analytics.materialised"):
        data = both(path, [pid])
    assert "unreadable" in caplog.text
    assert data.interviews.set_index("interview_id").loc[iid, "score"] == 61.0
    assert big not in segments(path) and small not in segments(path)  # replaced
    caplog.clear()
    with caplog.at_level("WARNING", logger="milo_analytics.materialised"):
        both(path, [pid])
    assert "unreadable" not in caplog.text


def test_compaction_rewrites_in_frame_order_and_stays_equal(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(world=WorldConfig(seed=7, n_candidates=50, n_second=0, unfinished_rate=0))
    pid = sb.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sb, path, [pid])
    for k, iid in enumerate(finished(sb, pid)[::7]):
        sb.override_score(iid, 10.0 + k)
    monkeypatch.setattr(materialised, "COMPACT_RUNS", 1)
    data = pull(sb, path, [pid])
    segs = segments(path)
    assert sorted(v[1] for v in segs.values()) == ["candidates", "interviews"]  # one each
    assert all(v[2] == m for v in segs.values() for m in [v[2]])
    assert_same(both(path, [pid]), data)
    with Store(path) as store:
        assert store.frame_segments(pid, "interviews")[0][1:] == (len(data.interviews),) * 2


def test_dead_rows_past_the_share_are_compacted(sandbox, tmp_path, monkeypatch):
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    done = finished(sandbox, pid)
    monkeypatch.setattr(materialised, "COMPACT_DEAD_SHARE", 0.05)
    with Store(path) as store:  # a tenth of the documents change: dead rows in the big segment
        for iid in done[: len(done) // 10 + 1]:
            store.save_interview(iid, pid, dict(store.interview(iid), score=50.0), "fp")
    both(path, [pid])  # writes the changed ones, then compacts
    with Store(path) as store:
        segs = store.frame_segments(pid, "interviews")
    assert len(segs) == 1 and segs[0][1] == segs[0][2]  # no dead document held


# --------------------------------------------------------------------------- safety
_KILLER = """
import os, signal, sys
from milo_analytics import materialised
from milo_analytics.load import frames_from_store
from milo_analytics.store import Store

path, pid, marker, occurrence, compact = sys.argv[1:]
if compact == "1":
    materialised.COMPACT_RUNS = 0  # every load compacts
store = Store(path)
seen = []

def trace(sql):  # called as each statement runs (each row of an executemany)
    if marker in sql:
        seen.append(sql)
        if len(seen) == int(occurrence):  # inside the saving transaction
            os.kill(os.getpid(), signal.SIGKILL)

store._conn.set_trace_callback(trace)
frames_from_store(store, [pid])
print("not killed")
"""


def _killed_load(path: Path, pid: str, marker: str, occurrence: int = 2, compact: bool = False):
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(path), pid, marker, str(occurrence),
         "1" if compact else "0"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == -9, (proc.returncode, proc.stdout, proc.stderr)


def _consistent(path: Path) -> None:
    """Every member's segment exists with all its parts; every segment holds its members."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert not conn.execute(
            "SELECT 1 FROM frame_members m LEFT JOIN frame_segments s USING (segment) "
            "WHERE s.segment IS NULL"
        ).fetchall()
        for seg, kind in conn.execute("SELECT segment, kind FROM frame_segments").fetchall():
            parts = {r[0] for r in conn.execute("SELECT part FROM frame_parts WHERE segment=?",
                                                (seg,))}  # fmt: skip
            want = {"docs", "candidates"} if kind == "candidates" else {
                "docs", "interviews", "scores", "transcript", "highlights"}  # fmt: skip
            assert parts == want
    finally:
        conn.close()


def test_kill_9_mid_update_leaves_the_old_or_the_new_materialisation(sandbox, tmp_path):
    """A real SIGKILL inside the saving transaction — of the first materialisation, of an
    update, of a compaction: the store keeps the materialisation it had, whole, and the next
    load equals the rebuild."""
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    with Store(path) as store:  # what it holds is of another format: nothing usable
        store._conn.execute("DELETE FROM meta WHERE key='frames_format'")
    stale = segments(path)
    # the first materialisation, killed while saving a segment's blobs
    _killed_load(path, pid, "INSERT INTO frame_parts")
    _consistent(path)
    assert segments(path) == stale
    with Store(path) as store:
        assert store.frame_format() is None
    both(path, [pid])
    complete = segments(path)
    assert complete
    # an update, killed while saving the membership of the changed documents
    done = finished(sandbox, pid)
    with Store(path) as store:
        for iid in done[:3]:
            store.save_interview(iid, pid, dict(store.interview(iid), score=33.0), "fp")
    _killed_load(path, pid, "INSERT OR REPLACE INTO frame_members")
    _consistent(path)
    assert segments(path) == complete  # the old materialisation, whole
    both(path, [pid])
    updated = segments(path)
    assert len(updated) == len(complete) + 1  # the changed documents' segment
    # a compaction, killed after writing the new segments, while dropping the old ones
    _killed_load(path, pid, "segment IN (", occurrence=1, compact=True)
    _consistent(path)
    assert segments(path) == updated
    data = both(path, [pid])
    assert (data.interviews.set_index("interview_id").loc[done[:3], "score"] == 33.0).all()
    _consistent(path)


def test_the_materialisation_stays_in_the_private_store_file(sandbox, tmp_path):
    folder = tmp_path / "private"
    path = folder / "store.sqlite3"
    old = os.umask(0o022)
    try:
        pull(sandbox, path, [p["id"] for p in sandbox.world.postings])
        with Store(path) as store:
            frames_from_store(store, [p["id"] for p in sandbox.world.postings])
            names = sorted(p.name for p in folder.iterdir())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    finally:
        os.umask(old)
    assert names == ["store.sqlite3", "store.sqlite3-shm", "store.sqlite3-wal"]
    assert set(modes.values()) == {0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert segments(path)


def test_a_store_that_cannot_be_written_loads_the_same(sandbox, tmp_path, monkeypatch):
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    with Store(path) as store:
        store._conn.execute("DELETE FROM meta WHERE key='frames_format'")  # nothing usable

    def read_only(self, *args, **kw):
        raise ConfigError(f"cannot write the store at {self.path}: the file is read-only")

    monkeypatch.setattr(Store, "save_frame_segments", read_only)
    kept = segments(path)
    both(path, [pid])
    assert segments(path) == kept


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only files anyway")
def test_a_read_only_store_file_loads_the_same(sandbox, tmp_path):
    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pull(sandbox, path, [pid])
    want, _ = load(twin(path), [pid], materialised=False)
    path.chmod(0o400)
    try:
        got, _ = load(path, [pid])
    finally:
        path.chmod(0o600)
    assert_same(got, want)


def test_a_version_3_store_is_migrated_and_materialised(sandbox, tmp_path):
    """A store of schema 3 (issue 16's layout, before the materialised frames) gets them by
    the migration step 3 → 4, and loads the same."""
    from milo_analytics.store import _FRAME_TRIGGER_NAMES, SCHEMA_VERSION

    pid = sandbox.world.postings[0]["id"]
    path = tmp_path / "store.sqlite3"
    pulled = pull(sandbox, path, [pid])
    conn = sqlite3.connect(path)  # back to the layout of schema 3
    with conn:
        for name in _FRAME_TRIGGER_NAMES:
            conn.execute(f"DROP TRIGGER {name}")
        for name in ("frame_interview_sources", "frame_candidate_sources", "interviews_errors"):
            conn.execute(f"DROP INDEX {name}")
        for name in ("frame_segments", "frame_parts", "frame_members", "frame_changes"):
            conn.execute(f"DROP TABLE {name}")
        conn.execute("DELETE FROM meta WHERE key='frames_format'")
        conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    conn.close()
    data = both(path, [pid])
    assert_same(data, pulled)
    with Store(path) as store:
        assert store.frame_triggers_present() and store.frame_format()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    conn.close()


# --------------------------------------------------------------------------- the pieces
def test_take_rows_matches_a_plain_gather():
    """Documents with 0–5 rows each, taken in random orders and subsets (runs sliced below
    the gather threshold, gathered above it): the same rows as a row-by-row gather."""
    rng = np.random.default_rng(15)
    for n_docs in (0, 1, 7, 300, 2000):
        counts = rng.integers(0, 6, n_docs)
        frame = pd.DataFrame({
            "interview_id": pd.array([f"I{d}" for d, c in enumerate(counts) for _ in range(c)],
                                     dtype="str"),
            "x": pd.array(np.arange(int(counts.sum())), dtype="Int64"),
        })  # fmt: skip
        starts = np.cumsum(counts) - counts
        for docs in (
            np.arange(n_docs),
            rng.permutation(n_docs),
            np.sort(rng.choice(n_docs, n_docs // 2, replace=False)) if n_docs else np.arange(0),
        ):
            rows = [r for d in docs for r in range(starts[d], starts[d] + counts[d])]
            want = frame.take(rows).reset_index(drop=True)
            got = take_rows(frame, counts, docs)
            pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_frame_order_and_isin():
    posts = pd.Series(["P2", None, "P1", "P1", "P2"], dtype="str")
    keys = pd.Series(["a", "z", "b", "a", "a"], dtype="str")
    assert frame_order(posts, keys).tolist() == [1, 3, 2, 0, 4]  # missing posting sorts first
    assert frame_order(posts.iloc[[2, 3]], keys.iloc[[3, 2]]).tolist() == [0, 1]  # stable
    assert isin(keys, {"a"}).tolist() == [True, False, False, True, True]
    assert isin(keys, []).tolist() == [False] * 5


def test_validation_errors_are_listed_by_posting_then_interview():
    """One order whatever the documents' order: questions first, then candidate records and
    interview data by posting and interview id (a record before its document)."""
    from tests.test_frames_documents import QUESTIONS, candidate, interview

    docs = [interview(f"I{k}", [4, 2, None]) for k in range(1, 5)]
    cands = [candidate(f"I{k}") for k in range(1, 5)]
    docs[3]["web_interview"]["match_score"] = 1e25  # I4: interview data
    docs[1]["score"] = 101.0  # I2: interview data
    cands[1]["created_at"] = 1e20  # I2: candidate record
    questions = [dict(q) for q in QUESTIONS]
    questions[2]["score_weight"] = 1e9
    for order in (slice(None), slice(None, None, -1)):
        data = frames_from_documents(questions=questions, candidates=cands[order],
                                     interview_data=docs[order])  # fmt: skip
        errors = data.errors
        assert errors["interview_id"].tolist()[1:] == ["I2", "I2", "I4"]
        assert errors["interview_id"].isna().tolist()[0]
        assert [e.split(":")[0] for e in errors["error"]][1:3] == [
            "candidate record",
            "interview data",
        ]
        assert math.isnan(errors["interview_id"].iloc[0])
