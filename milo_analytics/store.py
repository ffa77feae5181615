"""The local store: raw HeyMilo API documents and sync state in one SQLite file.

The store is the source of truth offline: :func:`milo_analytics.load.load_posting` writes every
document it fetches here (one transaction per batch of documents, together with their sync
state and the candidate records listed so far), and builds the frames from here. A pull that is
interrupted (Ctrl-C, kill -9, lost network) leaves the store consistent, and the next pull
resumes without refetching what it already has. A load from a store whose last pull of a
posting did not finish still returns everything stored, and says so
(:class:`~milo_analytics.errors.UnfinishedSyncWarning`, ``InterviewData.unfinished_syncs``).

What is kept, per posting: the posting document, today's questions, the candidate listing (in
listing order) and, per interview, the last good interview-data document with the fingerprint of
the candidate record it corresponds to (score, status, last activity), plus the state of the
last fetch (``ok`` or ``error`` with the stage and message), and when the last pull started and
when the last complete one ended. Documents are stored as zlib-compressed JSON, exactly as the
API sent them. A stored document that no longer decodes is marked for refetch
(:meth:`Store.mark_damaged`) and fetched again by the next pull.

The file is created with its folder when missing; the default is ``store.sqlite3`` under
``platformdirs.user_data_dir("milo_analytics")`` (or the path in ``MILO_ANALYTICS_STORE``).
It holds candidate names and emails, so it is created readable by its owner only, whatever the
umask: the file (and the ``-wal``/``-shm`` files SQLite makes next to it with the file's mode)
``0600``, every folder the store creates ``0700``. An existing store that other users can read
gets a :class:`~milo_analytics.errors.StorePermissionWarning` naming the ``chmod`` to run (the
folder too when it is the default one). It uses WAL journaling, so readers never block the
writer. One connection is shared behind a lock, so a Store may be used from several threads
(the loader writes from its main thread).

A file that is not a milo_analytics store is never changed: another application's SQLite
database is refused (unless it holds no tables at all), and a file that is not SQLite, or a
store with a damaged page, raises :class:`~milo_analytics.errors.DataError` naming the path
and what to do (move it aside; everything in a store can be re-pulled from the API).

Schema versions and migrations
------------------------------
A store records its schema version in ``meta.schema_version`` and is marked as ours with
``PRAGMA application_id`` (:data:`APPLICATION_ID`). Opening a store of an older version
migrates it in one transaction, step by step (``_MIGRATIONS[v]`` turns version ``v - 1`` into
``v``); a store of a newer version is refused untouched (an older milo_analytics cannot know
what the newer one wrote). To change the layout (e.g. the ``events`` table a webhook receiver
will feed, issue 16): write ``_migrate_to_N(conn)``
that only adds (new tables, new nullable columns; ``CREATE TABLE IF NOT EXISTS``), put it in
``_MIGRATIONS``, add the same definitions to ``_DDL`` (what a new store is created with) and bump
:data:`SCHEMA_VERSION`. Caches derived from documents carry their own format number (like
``interviews.rows_version``) so a new format needs no migration: stale rows are ignored and
rebuilt from the documents.

Versions: 1 — documents, listings, sync state, cached frame rows. 2 — ``postings.sync_started_at``
(unfinished pulls are visible), ``application_id``, errors of stage ``store`` (damaged copies).
3 — the webhook receiver's tables (issue 16, :mod:`milo_analytics.live`): ``events`` (every
delivery acknowledged, with its processing state), ``listener_runs`` (when a receiver was up),
``check_snapshots`` (what ``milo-analytics check`` found, for ``--since``), and
``interviews.via`` (which path brought each document: ``listing`` or ``webhook``).
4 — the materialised frames (below): tables ``frame_segments``, ``frame_parts``,
``frame_members``, ``frame_changes``, their triggers, and indexes that answer "which documents
does this posting hold" and "which fetches failed" without reading the documents.

Materialised frames
-------------------
Loading frames by parsing every stored document takes 20–23 s and 1.4 GB for 100,000
interviews. The store therefore also keeps each document's *parse products* — its frame rows
as columns and what became of it (usable, unfinished, or its ``errors`` stage and message) —
and a load reads those, parsing only documents that changed since
(:mod:`milo_analytics.materialised` decides what to read, parse and save; this module holds
the SQL). They are kept in this SQLite file, as Arrow IPC blobs in segments of up to 5,000
documents of a posting, rather than as Parquet or Arrow files beside it, because the file
already gives what files would need extra machinery for:

* crash safety: a segment, its blobs and the membership of its documents commit in one
  transaction; a kill -9 mid-update leaves the old materialisation or the new one (files
  would need write-fsync-rename and a manifest kept in step with the database);
* privacy: the ``0600`` file and its ``-wal``/``-shm``, like the documents themselves;
* consistency with the documents, which stay the source of truth: triggers on ``interviews``
  and ``candidates`` (:func:`_frame_triggers`) drop a document's membership in the same
  transaction that changes it, whatever code writes it, and bump the posting's change
  counter, so a load that parsed a document while a pull replaced it saves nothing.

Columns *as SQLite rows* were the other option: reading 2.5 million rows back through the
``sqlite3`` module costs seconds by itself, while a blob of Arrow columns decodes at memory
speed. Segments make updates incremental: changed documents go to a new small segment, the
older rows of those documents are skipped, and a compaction rewrites a posting's segments
when too many are dead or interleaved.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     with Store(pathlib.Path(tmp) / "sub" / "milo.sqlite3") as store:
...         store.save_candidates("P1", [{"interview_id": "I1", "posting_id": "P1",
...             "name": "A", "email": "a@x.org", "status": "pending"}])
...         [c["interview_id"] for c in store.candidates("P1")]
['I1']
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import secrets
import shlex
import sqlite3
import stat
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import (
    ConfigError,
    DataError,
    StorePermissionWarning,
    UnfinishedSyncWarning,
    warning_stacklevel,
)

try:  # optional speed-up: the standard library is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "FrameSegment",
    "Store",
    "SyncState",
    "UnfinishedSync",
    "default_store_path",
    "pack_document",
    "unpack_document",
]

#: The store layout this version writes (see "Schema versions and migrations" above).
SCHEMA_VERSION = 4
#: ``PRAGMA application_id`` of a milo_analytics store ("MILO" in ASCII).
APPLICATION_ID = 0x4D494C4F
#: How to use another store, in Python's words and the command line's (error hints).
_OTHER_STORE = {
    "python_hint": "pass a writable path (Store(path) or store=) or set MILO_ANALYTICS_STORE",
    "cli_hint": "pass a writable path with --store or set MILO_ANALYTICS_STORE",
}
#: Modes of what the store creates: readable by its owner only.
FILE_MODE = 0o600
FOLDER_MODE = 0o700

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS postings (
    posting_id TEXT PRIMARY KEY,
    doc BLOB,                 -- PostingResponse (zlib JSON), NULL when not fetched
    source TEXT,              -- API base URL the posting was pulled from (no key)
    synced_at REAL,           -- end of the last complete listing, epoch seconds
    sync_started_at REAL      -- start of the last pull (v2), epoch seconds
);
CREATE TABLE IF NOT EXISTS questions (
    posting_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (posting_id, question_id)
);
CREATE TABLE IF NOT EXISTS candidates (
    interview_id TEXT PRIMARY KEY,
    posting_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS candidates_posting ON candidates (posting_id, position);
CREATE TABLE IF NOT EXISTS interviews (
    interview_id TEXT PRIMARY KEY,
    posting_id TEXT NOT NULL,
    doc BLOB,                 -- last good InterviewDataResponse, NULL if never fetched well
    fingerprint TEXT,         -- candidate-record fingerprint the good copy corresponds to
    state TEXT NOT NULL,      -- 'ok' or 'error' (the last fetch, or a damaged copy)
    stage TEXT,               -- on error: 'fetch', 'parse' or 'store' (damaged copy)
    error TEXT,               -- on error: the message (never the API key)
    attempts INTEGER NOT NULL DEFAULT 0,
    fetched_at REAL,
    rows BLOB,                -- the good copy's frame rows, pre-parsed (a cache; see load.py)
    rows_version INTEGER,     -- format of `rows`; another version means "parse doc again"
    via TEXT                  -- (v3) the path that brought doc: 'listing' or 'webhook'
);
CREATE INDEX IF NOT EXISTS interviews_posting ON interviews (posting_id);
"""

#: Version 3 (issue 16): the webhook receiver's queue, its uptime and the checks' snapshots.
_DDL_V3 = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,  -- "id:<the sender's id>" or "sha256:<hash of the JSON>"
    received_at REAL NOT NULL,  -- when the receiver recorded it, epoch seconds
    posting_id TEXT,            -- as the event said; set from the document once fetched
    interview_id TEXT NOT NULL,
    event_type TEXT,
    body BLOB NOT NULL,         -- the raw request body, zlib-compressed
    state TEXT NOT NULL,        -- 'pending', 'done', 'skipped' or 'failed'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,       -- pending after a failed try: not before this time
    processed_at REAL,
    error TEXT,                 -- why it failed (or was skipped); never the key or the token
    deliveries INTEGER NOT NULL DEFAULT 1,  -- replays of the same event are counted here
    last_delivery_at REAL
);
CREATE INDEX IF NOT EXISTS events_queue ON events (state, next_attempt_at, received_at);
CREATE INDEX IF NOT EXISTS events_posting ON events (posting_id, received_at);
CREATE INDEX IF NOT EXISTS events_interview ON events (interview_id);
CREATE TABLE IF NOT EXISTS listener_runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    last_seen_at REAL NOT NULL, -- the last heartbeat
    stopped_at REAL,            -- NULL: still running, or killed
    pid INTEGER,
    heartbeat REAL,             -- seconds between heartbeats
    processes INTEGER,          -- 1: it processes the queue; 0: it only records events
    rejected INTEGER NOT NULL DEFAULT 0,  -- deliveries with the right token that were refused
    last_rejected_at REAL
);
CREATE TABLE IF NOT EXISTS check_snapshots (
    snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    postings TEXT NOT NULL,     -- JSON list of the posting ids checked
    report BLOB NOT NULL        -- CheckReport.to_dict(), zlib JSON
);
"""
_DDL += _DDL_V3


def _bump(posting: str) -> str:
    """SQL bumping the change counter of ``posting`` (an SQL expression; NULL: nothing).

    Plain INSERTs that cannot conflict: a statement in a trigger takes the conflict policy of
    the statement that fired it, so under a pull's INSERT OR REPLACE an INSERT OR IGNORE here
    would replace the row, resetting the counter."""
    return (
        f"INSERT INTO frame_changes (posting_id, changes) SELECT {posting}, 0 WHERE {posting} "
        f"IS NOT NULL AND NOT EXISTS (SELECT 1 FROM frame_changes f WHERE f.posting_id = "
        f"{posting});\n    UPDATE frame_changes SET changes = changes + 1 "
        f"WHERE posting_id = {posting};"
    )


def _frame_triggers(table: str, columns: Sequence[str]) -> str:
    """Triggers keeping the materialised frames consistent with the documents of ``table``
    (schema 4): every write that changes a document — by any code, in the same transaction —
    drops the document's materialised products (the next load parses it again) and bumps its
    posting's change counter (a load that parsed an older copy meanwhile then saves nothing).
    ``columns`` are those the products are made from, besides the ids."""
    same = " ".join(f"AND o.{c} IS NEW.{c}" for c in columns)
    changed = " ".join(f"OR OLD.{c} IS NOT NEW.{c}" for c in columns)
    stored = f"(SELECT o.posting_id FROM {table} o WHERE o.interview_id = NEW.interview_id)"
    drop = f"DELETE FROM frame_members WHERE kind = '{table}' AND interview_id"
    return f"""
CREATE TRIGGER IF NOT EXISTS frames_{table}_inserted BEFORE INSERT ON {table}
WHEN NOT EXISTS (SELECT 1 FROM {table} o WHERE o.interview_id = NEW.interview_id
    AND o.posting_id IS NEW.posting_id {same})
BEGIN
    {drop} = NEW.interview_id;
    {_bump(stored)}
    {_bump("NEW.posting_id")}
END;
CREATE TRIGGER IF NOT EXISTS frames_{table}_updated AFTER UPDATE ON {table}
WHEN OLD.interview_id IS NOT NEW.interview_id OR OLD.posting_id IS NOT NEW.posting_id {changed}
BEGIN
    {drop} IN (OLD.interview_id, NEW.interview_id);
    {_bump("OLD.posting_id")}
    {_bump("NEW.posting_id")}
END;
CREATE TRIGGER IF NOT EXISTS frames_{table}_deleted AFTER DELETE ON {table} BEGIN
    {drop} = OLD.interview_id;
    {_bump("OLD.posting_id")}
END;
"""


#: The materialised frames (schema 4; see "Materialised frames" above): segments of parse
#: products (Arrow IPC, one blob per frame), which segment holds each document's current
#: products, and a change counter per posting.
_FRAMES_DDL = (
    """
CREATE TABLE IF NOT EXISTS frame_segments (
    segment INTEGER PRIMARY KEY AUTOINCREMENT,
    posting_id TEXT NOT NULL,
    kind TEXT NOT NULL,           -- 'interviews' (interview-data documents) or 'candidates'
    documents INTEGER NOT NULL,   -- documents whose parse products it holds
    rows INTEGER NOT NULL,        -- frame rows it holds
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS frame_segments_posting ON frame_segments (posting_id, kind, segment);
CREATE TABLE IF NOT EXISTS frame_parts (
    segment INTEGER NOT NULL,
    part TEXT NOT NULL,           -- 'docs' or a frame name
    data BLOB NOT NULL,           -- Arrow IPC stream (zstd-compressed buffers)
    PRIMARY KEY (segment, part)
);
CREATE TABLE IF NOT EXISTS frame_members (
    kind TEXT NOT NULL,
    interview_id TEXT NOT NULL,
    posting_id TEXT NOT NULL,
    segment INTEGER NOT NULL,     -- the segment holding the document's current products
    PRIMARY KEY (kind, interview_id)
);
CREATE INDEX IF NOT EXISTS frame_members_segment ON frame_members (posting_id, kind, segment);
-- which documents a posting holds, and its failed fetches, without reading the documents
CREATE INDEX IF NOT EXISTS frame_interview_sources ON interviews (posting_id, interview_id)
    WHERE doc IS NOT NULL;
CREATE INDEX IF NOT EXISTS frame_candidate_sources
    ON candidates (posting_id, position, interview_id);
CREATE INDEX IF NOT EXISTS interviews_errors ON interviews (posting_id, interview_id)
    WHERE state = 'error';
CREATE TABLE IF NOT EXISTS frame_changes (
    posting_id TEXT NOT NULL PRIMARY KEY,
    changes INTEGER NOT NULL      -- bumped by every change of a document of the posting
);
CREATE TRIGGER IF NOT EXISTS frames_posting_deleted AFTER DELETE ON postings BEGIN
    DELETE FROM frame_parts WHERE segment IN
        (SELECT segment FROM frame_segments WHERE posting_id = OLD.posting_id);
    DELETE FROM frame_segments WHERE posting_id = OLD.posting_id;
    DELETE FROM frame_members WHERE posting_id = OLD.posting_id;
END;
"""
    + _frame_triggers("interviews", ("doc", "rows", "rows_version"))
    + _frame_triggers("candidates", ("doc",))
)
_DDL += _FRAMES_DDL
_FRAME_TRIGGER_NAMES = tuple(re.findall(r"CREATE TRIGGER IF NOT EXISTS (\w+)", _FRAMES_DDL))

#: Tables of a milo_analytics store (any version so far): a file with other tables is not ours.
_OUR_TABLES = frozenset(
    {"meta", "postings", "questions", "candidates", "interviews"}
    | {"events", "listener_runs", "check_snapshots"}
    | {"frame_segments", "frame_parts", "frame_members", "frame_changes"}
)


def _statements(ddl: str) -> list[str]:
    """The SQL statements of ``ddl`` (comments dropped; a trigger's body stays whole)."""
    lines = [line.split("--", 1)[0] for line in ddl.splitlines()]
    out: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    return out


def _add_columns(conn: sqlite3.Connection, table: str, columns: Sequence[tuple[str, str]]) -> None:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns:
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    """1 → 2: when the last pull started (unfinished pulls become visible). Also adds the
    cached-rows columns that early version-1 stores lack."""
    _add_columns(conn, "interviews", [("rows", "BLOB"), ("rows_version", "INTEGER")])
    _add_columns(conn, "postings", [("sync_started_at", "REAL")])


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    """2 → 3: the webhook receiver's tables and ``interviews.via`` (issue 16)."""
    for statement in _statements(_DDL_V3):
        conn.execute(statement)
    _add_columns(conn, "interviews", [("via", "TEXT")])


def _migrate_to_4(conn: sqlite3.Connection) -> None:
    """3 → 4: the materialised frames (issue 15): their tables, and the triggers that keep
    them consistent with the documents. Nothing is materialised yet: the first load does it."""
    for statement in _statements(_FRAMES_DDL):
        conn.execute(statement)


#: ``version -> step`` turning a store of ``version - 1`` into ``version``.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: _migrate_to_2,
    3: _migrate_to_3,
    4: _migrate_to_4,
}


def default_store_path() -> Path:
    """``$MILO_ANALYTICS_STORE`` or ``<user data dir>/milo_analytics/store.sqlite3``.

    Examples
    --------
    >>> default_store_path().name
    'store.sqlite3'
    """
    env = os.environ.get("MILO_ANALYTICS_STORE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("milo_analytics")) / "store.sqlite3"


def pack_document(doc: Any) -> bytes:
    """A document as the store keeps it: compact JSON, zlib-compressed (level 1).

    Uses orjson when installed (about 10× faster to write than the standard library).

    Examples
    --------
    >>> unpack_document(pack_document({"a": [1, "é"]}))
    {'a': [1, 'é']}
    """
    data: bytes | None = None
    if _orjson is not None:
        try:
            data = _orjson.dumps(doc)
        except (TypeError, _orjson.JSONEncodeError):
            data = None  # e.g. integers beyond 64 bits: the standard library copes
    if data is None:
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return zlib.compress(data, 1)


def unpack_document(blob: bytes | None) -> Any:
    """The inverse of :func:`pack_document` (None stays None)."""
    if blob is None:
        return None
    data = zlib.decompress(blob)
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # NaN or huge integers written by the standard library
    return json.loads(data)


_pack = pack_document


_unpack = unpack_document

#: What a damaged blob raises when decoded.
_DECODE_ERRORS = (ValueError, TypeError, zlib.error)


_STATE_COLUMNS = (
    "interview_id, posting_id, state, fingerprint, doc IS NOT NULL, stage, error, attempts, "
    "fetched_at, via"
)


def _sync_state(row: Sequence[Any]) -> SyncState:
    return SyncState(row[0], row[1], row[2], row[3], bool(row[4]), *row[5:])


def _when(epoch: float | None) -> _dt.datetime | None:
    return None if epoch is None else _dt.datetime.fromtimestamp(epoch, _dt.UTC)


@dataclass(frozen=True)
class SyncState:
    """The store's knowledge of one interview's data document.

    Attributes
    ----------
    interview_id, posting_id : str
    state : str
        ``"ok"`` (the last fetch gave a good document) or ``"error"``.
    fingerprint : str or None
        Fingerprint of the candidate record the good copy corresponds to (None: no good copy).
    has_document : bool
        Whether a good copy is stored (it may be stale when ``state == "error"``).
    stage, error : str or None
        Where and why the last fetch failed (``"store"``: the stored copy was damaged).
    attempts : int
        Failed fetches since the last good one.
    fetched_at : float or None
        Epoch seconds of the last fetch.
    via : str or None
        The path that brought the stored copy: ``"listing"`` (a pull) or ``"webhook"`` (the
        receiver of :mod:`milo_analytics.live`); None for copies stored before schema version 3.
    """

    interview_id: str
    posting_id: str
    state: str
    fingerprint: str | None
    has_document: bool
    stage: str | None = None
    error: str | None = None
    attempts: int = 0
    fetched_at: float | None = None
    via: str | None = None


@dataclass(frozen=True)
class UnfinishedSync:
    """A posting whose last pull into the store did not finish (still running, or stopped).

    Frames built from the store then hold what that pull saved: documents of interviews
    listed so far, not the candidates it had not reached yet.

    Attributes
    ----------
    posting_id : str
    started_at : datetime or None
        When that pull started (UTC); None for a store written before schema version 2.
    first_saved_at : datetime or None
        When the store saved the posting's first interview document still held (a lower
        bound of the start when ``started_at`` is unknown).
    last_finished_at : datetime or None
        The end of the last pull that did finish, or None (never: the first pull stopped).
    documents : int
        Interview-data documents the store holds for the posting.
    candidates : int
        Candidate records the store holds for the posting.

    Examples
    --------
    >>> u = UnfinishedSync("P1", None, None, None, documents=431, candidates=0)
    >>> u.cli_message().endswith("run `milo-analytics pull P1` to finish it")
    True
    """

    posting_id: str
    started_at: _dt.datetime | None
    first_saved_at: _dt.datetime | None
    last_finished_at: _dt.datetime | None
    documents: int
    candidates: int

    def _what(self) -> str:
        if self.started_at is not None:
            when = f"started {self.started_at:%Y-%m-%d %H:%M:%S} UTC"
        elif self.first_saved_at is not None:
            when = f"its first document saved {self.first_saved_at:%Y-%m-%d %H:%M:%S} UTC"
        else:
            when = "start time unknown"
        last = (
            f"the last complete pull ended {self.last_finished_at:%Y-%m-%d %H:%M:%S} UTC"
            if self.last_finished_at is not None
            else "no pull of it ever finished"
        )
        return (
            f"posting {self.posting_id}: the last pull has not finished ({when}; still running, "
            f"or interrupted; {last}): the store holds {self.documents:,} interview "
            f"document{'s' if self.documents != 1 else ''} and {self.candidates:,} candidate "
            f"record{'s' if self.candidates != 1 else ''} of it, loaded as they are (candidates "
            "the pull had not listed yet are missing)"
        )

    def warning(self) -> UnfinishedSyncWarning:
        """The warning a load gives: one message, a Python and a CLI way to finish the pull."""
        return UnfinishedSyncWarning(
            self._what(),
            python_hint=f"run load_posting({self.posting_id!r}, refresh=True) to finish it",
            cli_hint=f"run `milo-analytics pull {self.posting_id}` to finish it",
            sync=self,
        )

    def message(self) -> str:
        """The warning as a Python user reads it (names ``load_posting``)."""
        return str(self.warning())

    def cli_message(self) -> str:
        """The warning as the command line prints it (names ``milo-analytics pull``)."""
        return self.warning().cli_message()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values (times as ISO-8601 strings)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, _dt.datetime) else value
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> UnfinishedSync:
        """The inverse of :meth:`to_dict`."""
        kw = dict(values)
        for key in ("started_at", "first_saved_at", "last_finished_at"):
            if isinstance(kw.get(key), str):
                kw[key] = _dt.datetime.fromisoformat(kw[key])
        return cls(**kw)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("milo_analytics"))


def _make_private_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each ``0700`` whatever the umask."""
    missing = []
    here = folder
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another process made it first
            continue
        os.chmod(path, FOLDER_MODE)  # the umask may have removed bits; never added any


def _create_private_file(path: Path) -> None:
    """Create an empty ``0600`` file (a new store) unless it exists; umask-independent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


class Store:
    """Local SQLite store of raw API documents and sync state.

    Parameters
    ----------
    path
        The SQLite file; created (``0600``, its new folders ``0700``) when missing. Default:
        :func:`default_store_path`. ``":memory:"`` keeps everything in memory.

    Raises
    ------
    ConfigError
        The path is a folder, or the file or folder cannot be written.
    DataError
        The file is not a milo_analytics store (another application's SQLite database, or not
        SQLite at all), it is damaged, or it was written by a newer milo_analytics.

    Warns
    -----
    StorePermissionWarning
        The existing file (or its ``-wal``/``-shm`` files, or the default folder) can be read
        by other users; the message names the ``chmod`` to run.

    Examples
    --------
    >>> with Store(":memory:") as s:
    ...     s.save_interview("I1", "P1", {"interview_id": "I1", "status": "completed"}, "fp1")
    ...     s.sync_states("P1")["I1"].fingerprint
    'fp1'
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            path = default_store_path()
        self._memory = str(path) == ":memory:"
        self.path = Path(path) if not self._memory else Path(":memory:")
        self._closed = True
        created = False
        if not self._memory:
            self.path = self.path.expanduser()
            if self.path.exists() and self.path.is_dir():
                raise ConfigError(
                    f"store path {self.path} is a folder; pass the path of a file, "
                    f"e.g. {self.path / 'store.sqlite3'}"
                )
            try:
                _make_private_folders(self.path.parent)
                created = not self.path.exists()
                _create_private_file(self.path)
            except OSError as exc:
                where = self.path.parent if not self.path.parent.exists() else self.path
                raise ConfigError(
                    f"cannot create the store {where}: {exc}", **_OTHER_STORE
                ) from exc
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                ":memory:" if self._memory else str(self.path),
                check_same_thread=False,
                isolation_level=None,  # explicit transactions below
                timeout=30.0,
            )
        except sqlite3.Error as exc:
            raise (self._sqlite_problem(exc) or self._not_a_store(exc)) from exc
        try:
            self._open()
        except BaseException as exc:
            with suppress(Exception):  # never leave the file open behind a failed Store()
                self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise (self._sqlite_problem(exc) or self._not_a_store(exc)) from exc
            raise  # e.g. DataError: another application's file, or a newer store
        self._closed = False
        if not self._memory and not created:
            self._warn_if_readable_by_others()

    # ------------------------------------------------------------------ lifecycle
    def _open(self) -> None:
        """Check whose file this is (changing nothing), then set it up or migrate it."""
        conn = self._conn
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = self._stored_version(tables)
        ours = app_id == APPLICATION_ID or (version is not None and tables <= _OUR_TABLES)
        if tables and not ours:
            self._refuse_foreign(tables)
        if tables and version is None:
            raise self._not_a_store(sqlite3.DatabaseError("its schema version is missing"))
        if version is not None and version > SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer milo_analytics (store schema {version}); "
                "upgrade milo_analytics or use another store path"
            )
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if version == SCHEMA_VERSION and app_id == APPLICATION_ID:
            return  # nothing to write: read-only stores open too
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            }
            version = self._stored_version(tables)  # another process may have migrated it
            if not tables:
                for statement in _statements(_DDL):
                    conn.execute(statement)
            elif version is not None:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    _MIGRATIONS[step](conn)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _stored_version(self, tables: set[str]) -> int | None:
        """The schema version in ``meta``; None when there is none."""
        if "meta" not in tables:
            return None
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            return int(row[0]) if row is not None else None
        except (sqlite3.OperationalError, TypeError, ValueError):  # another application's meta
            return None

    def _refuse_foreign(self, tables: set[str]) -> None:
        names = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
        raise DataError(
            f"{self.path} is a SQLite database of another application (tables: {names}), not a "
            "milo_analytics store; it was left untouched (milo_analytics never adds its tables "
            "to another file):",
            python_hint="pass the path of a new or existing milo_analytics store (Store(path) "
            "or store=) or set MILO_ANALYTICS_STORE",
            cli_hint="pass the path of a new or existing milo_analytics store with --store or "
            "set MILO_ANALYTICS_STORE",
        )

    def _not_a_store(self, exc: BaseException) -> DataError:
        """The error for a file SQLite cannot read as a database, or a damaged store."""
        text = str(exc).lower()
        aside = f"mv {shlex.quote(str(self.path))} {shlex.quote(str(self.path) + '.damaged')}"
        if "not a database" in text:
            tail = (
                f"or if it was the store, move it aside ({aside}) and pull again: everything in a "
                "store can be re-pulled from the API"
            )
            return DataError(
                f"{self.path} is not a milo_analytics store: it is not a SQLite database ({exc}) "
                "— another file given as the store by mistake, or a store whose first page was "
                "overwritten",
                python_hint=f"pass another path (Store(path) or store=), {tail}",
                cli_hint=f"pass another path with --store, {tail}",
            )
        return DataError(
            f"the store at {self.path} is damaged ({exc}); move it aside ({aside}) and pull "
            "again: everything in a store can be re-pulled from the API"
        )

    def _warn_if_readable_by_others(self) -> None:
        loose: list[Path] = []
        for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            mode = _mode(p)
            if mode is not None and mode & 0o077:
                loose.append(p)
        folder = self.path.parent
        folder_mode = _mode(folder)
        loose_folder = (
            folder_mode is not None
            and folder_mode & 0o077
            and folder.resolve() == _default_folder().resolve()
        )
        if not loose and not loose_folder:
            return
        what = [f"{p} is {stat.filemode(p.stat().st_mode)}" for p in loose]
        fixes = []
        if loose:
            fixes.append("chmod 600 " + " ".join(shlex.quote(str(p)) for p in loose))
        if loose_folder:
            what.append(f"its folder {folder} is {stat.filemode(folder.stat().st_mode)}")
            fixes.append(f"chmod 700 {shlex.quote(str(folder))}")
        paths = [str(p) for p in loose] + ([str(folder)] if loose_folder else [])
        warnings.warn(
            StorePermissionWarning(
                f"the store {self.path} holds candidate names and emails but other users can "
                f"read it ({'; '.join(what)}); run: {' && '.join(fixes)}",
                paths=paths,
            ),
            stacklevel=warning_stacklevel(),
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        if not hasattr(self, "_lock"):
            return  # __init__ failed before the connection existed
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"Store(path={str(self.path)!r}, closed)"
        n_p = self._query("SELECT COUNT(*) FROM postings")[0][0]
        n_c = self._query("SELECT COUNT(*) FROM candidates")[0][0]
        n_i = self._query("SELECT COUNT(*) FROM interviews WHERE doc IS NOT NULL")[0][0]
        return f"Store(path={str(self.path)!r}, postings={n_p}, candidates={n_c}, interviews={n_i})"

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An atomic write: everything inside commits together or not at all."""
        with self._lock:
            self._ensure_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._problem(exc) from exc
            try:
                yield self._conn
            except BaseException as exc:
                with suppress(sqlite3.Error):  # e.g. SQLite already rolled back a full disk
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise self._problem(exc) from exc
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise self._problem(exc) from exc

    def _problem(self, exc: sqlite3.DatabaseError) -> Exception:
        """A clear error for a SQLite failure: one the user can fix (read-only, locked, disk
        full), a damaged file; the SQLite error itself for anything else (a bug)."""
        problem = self._sqlite_problem(exc)
        if problem is not None:
            return problem
        if not isinstance(exc, sqlite3.OperationalError):  # corrupt / not a database
            return self._not_a_store(exc)
        return exc

    def _sqlite_problem(self, exc: BaseException) -> ConfigError | DataError | None:
        """A clear error for SQLite failures the user can fix (read-only, locked, disk full),
        naming the path and the fix; None for anything else."""
        if not isinstance(exc, sqlite3.OperationalError):
            return None
        text = str(exc).lower()
        where = f"the store at {self.path}"
        if "locked" in text or "busy" in text:
            return ConfigError(
                f"{where} is locked by another process ({exc})",
                **{
                    k: f"wait until the other pull finishes, or {v}"
                    for k, v in _OTHER_STORE.items()
                },
            )
        if "disk is full" in text or "database or disk is full" in text:
            return DataError(
                f"the disk holding {where} is full ({exc})",
                **{k: f"free space or {v}" for k, v in _OTHER_STORE.items()},
            )
        if any(s in text for s in ("readonly", "read-only", "unable to open", "permission")) or (
            "disk i/o" in text
        ):
            folder = self.path.parent
            if self.path.exists() and not os.access(self.path, os.W_OK):
                why = f"the file {self.path} is read-only"
            elif not os.access(folder, os.W_OK):
                why = f"the folder {folder} is not writable"
            else:
                why = f"SQLite cannot write {self.path} or its -wal/-shm files next to it"
            return ConfigError(f"cannot write {where}: {why} ({exc})", **_OTHER_STORE)
        return None

    def _ensure_open(self) -> None:
        if self._closed:
            raise ConfigError("this Store is closed; open a new Store(path)")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self._ensure_open()
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._problem(exc) from exc

    # ------------------------------------------------------------------ postings
    def posting_ids(self) -> list[str]:
        """Every posting the store knows, sorted."""
        return [r[0] for r in self._query("SELECT posting_id FROM postings ORDER BY posting_id")]

    def has_posting(self, posting_id: str) -> bool:
        """Whether the posting was ever pulled into this store."""
        return bool(self._query("SELECT 1 FROM postings WHERE posting_id=?", (posting_id,)))

    def posting(
        self, posting_id: str, *, damaged: list[tuple[str, str]] | None = None
    ) -> dict[str, Any] | None:
        """The stored PostingResponse, or None.

        A stored document that no longer decodes is None too; with ``damaged`` (a list) it is
        reported there as ``(posting_id, message)`` instead of raising.
        """
        rows = self._query("SELECT doc FROM postings WHERE posting_id=?", (posting_id,))
        if not rows:
            return None
        return self._decode(rows[0][0], posting_id, "posting document", damaged)

    def posting_info(self, posting_id: str) -> dict[str, Any] | None:
        """``{"source", "synced_at", "sync_started_at"}`` of a stored posting, or None."""
        rows = self._query(
            "SELECT source, synced_at, sync_started_at FROM postings WHERE posting_id=?",
            (posting_id,),
        )
        if not rows:
            return None
        return {"source": rows[0][0], "synced_at": rows[0][1], "sync_started_at": rows[0][2]}

    def save_posting(
        self, posting_id: str, doc: Mapping[str, Any] | None, *, source: str | None = None
    ) -> None:
        """Insert or replace the posting document (``doc`` None keeps the stored one)."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO postings (posting_id, doc, source) VALUES (?, ?, ?) "
                "ON CONFLICT(posting_id) DO UPDATE SET doc=COALESCE(excluded.doc, postings.doc), "
                "source=COALESCE(excluded.source, postings.source)",
                (posting_id, None if doc is None else _pack(doc), source),
            )

    def mark_sync_started(self, posting_id: str, when: float | None = None) -> None:
        """Record the start of a pull of the posting (it stays unfinished until
        :meth:`mark_synced`)."""
        with self.transaction() as c:
            c.execute(
                "UPDATE postings SET sync_started_at=? WHERE posting_id=?",
                (time.time() if when is None else when, posting_id),
            )

    def mark_synced(self, posting_id: str, when: float | None = None) -> None:
        """Record the end of a complete pull of the posting."""
        with self.transaction() as c:
            c.execute(
                "UPDATE postings SET synced_at=? WHERE posting_id=?",
                (time.time() if when is None else when, posting_id),
            )

    def unfinished_sync(self, posting_id: str) -> UnfinishedSync | None:
        """What the store holds from a pull of the posting that did not finish, or None.

        A pull is unfinished when it was started (:meth:`mark_sync_started`) and no complete
        pull ended after that start; for stores written before schema version 2 (no start
        recorded), when a pull stored documents but never finished. A posting stored by hand
        (no ``source``) is never "unfinished".

        Examples
        --------
        >>> with Store(":memory:") as s:
        ...     s.save_posting("P1", {"id": "P1"}, source="http://127.0.0.1:1/api/v2")
        ...     s.mark_sync_started("P1", when=100.0)
        ...     s.unfinished_sync("P1").documents, s.mark_synced("P1", when=200.0)
        ...     s.unfinished_sync("P1") is None
        (0, None)
        True
        """
        info = self.posting_info(posting_id)
        if info is None or info["source"] is None:
            return None
        started, finished = info["sync_started_at"], info["synced_at"]
        if finished is not None and (started is None or finished >= started):
            return None
        n_docs, first = self._query(
            "SELECT COUNT(*), MIN(fetched_at) FROM interviews WHERE posting_id=? "
            "AND doc IS NOT NULL",
            (posting_id,),
        )[0]
        if started is None and not n_docs:
            return None  # an old store's posting with nothing pulled: nothing to say
        n_cands = self._query("SELECT COUNT(*) FROM candidates WHERE posting_id=?", (posting_id,))
        return UnfinishedSync(
            posting_id=posting_id,
            started_at=_when(started),
            first_saved_at=_when(first),
            last_finished_at=_when(finished),
            documents=int(n_docs),
            candidates=int(n_cands[0][0]),
        )

    def clear_posting(self, posting_id: str) -> None:
        """Forget everything stored for one posting (one transaction)."""
        with self.transaction() as c:
            for table in ("questions", "candidates", "interviews", "postings"):
                c.execute(f"DELETE FROM {table} WHERE posting_id=?", (posting_id,))

    # ------------------------------------------------------------------ decoding
    def _decode(self, blob: Any, key: str, what: str, damaged: list[tuple[str, str]] | None) -> Any:
        """``unpack_document(blob)``; a damaged blob raises DataError naming it, or with
        ``damaged`` is reported there (``(key, message)``) and decodes to None."""
        try:
            return _unpack(blob)
        except _DECODE_ERRORS as exc:
            message = f"the stored {what} is damaged ({type(exc).__name__}: {exc})"
            if damaged is None:
                raise DataError(
                    f"{message} in the store at {self.path} ({key}); pull the posting again "
                    "to replace it"
                ) from None
            damaged.append((key, message))
            return None

    # ------------------------------------------------------------------ listings
    def _save_listing(
        self,
        table: str,
        id_column: str,
        id_field: str,
        posting_id: str,
        docs: Iterable[Mapping[str, Any]],
    ) -> None:
        """Replace a posting's rows of ``table`` (questions or candidates) with ``docs``.

        Rows no longer listed are deleted and the others written over, rather than deleting
        everything first: an unchanged record then stays unchanged for the triggers that keep
        the materialised frames (only changed records are parsed again)."""
        rows = [(posting_id, str(d.get(id_field)), i, _pack(d)) for i, d in enumerate(docs)]
        listed = {r[1] for r in rows}
        with self.transaction() as c:
            stored = c.execute(f"SELECT {id_column} FROM {table} WHERE posting_id=?", (posting_id,))
            gone = [(posting_id, k) for (k,) in stored.fetchall() if k not in listed]
            c.executemany(f"DELETE FROM {table} WHERE posting_id=? AND {id_column}=?", gone)
            c.executemany(
                f"INSERT OR REPLACE INTO {table} (posting_id, {id_column}, position, doc) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def _listing(
        self, table: str, id_column: str, posting_id: str, damaged: list[tuple[str, str]] | None
    ) -> Iterator[dict[str, Any]]:
        """A posting's stored documents of ``table``, in listing order, decoded one at a time
        (damaged ones skipped and reported in ``damaged``, or raising without it)."""
        rows = self._query(
            f"SELECT {id_column}, doc FROM {table} WHERE posting_id=? ORDER BY position",
            (posting_id,),
        )
        what = "question" if table == "questions" else "candidate record"
        for i in range(len(rows)):
            key, blob = rows[i]
            rows[i] = None  # type: ignore[call-overload]
            doc = self._decode(blob, key, what, damaged)
            if doc is not None:
                yield doc

    # ------------------------------------------------------------------ questions
    def save_questions(self, posting_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
        """Replace the posting's questions with ``docs`` (today's definitions), atomically."""
        self._save_listing("questions", "question_id", "id", posting_id, docs)

    def questions(
        self, posting_id: str, *, damaged: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        """The stored QuestionResponse dicts of a posting, in listing order (``damaged``: see
        :meth:`iter_candidates`)."""
        return list(self._listing("questions", "question_id", posting_id, damaged))

    # ------------------------------------------------------------------ candidates
    def save_candidates(self, posting_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
        """Replace the posting's candidate listing with ``docs`` (every page), atomically."""
        self._save_listing("candidates", "interview_id", "interview_id", posting_id, docs)

    def upsert_candidates(
        self, posting_id: str, rows: Iterable[tuple[int, Mapping[str, Any]]]
    ) -> None:
        """Insert or replace candidate records ``(position, document)`` without touching the
        others (a pull stores the records listed so far as it goes; :meth:`save_candidates`
        replaces the whole listing at its end)."""
        self.record_fetches(candidates=[(posting_id, pos, doc) for pos, doc in rows])

    def candidates(
        self, posting_id: str, *, damaged: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        """The stored CandidateResponse dicts of a posting, in listing order."""
        return list(self.iter_candidates(posting_id, damaged=damaged))

    def candidate_ids(self, posting_id: str) -> list[str]:
        """The interview ids of the posting's stored listing, in listing order."""
        rows = self._query(
            "SELECT interview_id FROM candidates WHERE posting_id=? ORDER BY position",
            (posting_id,),
        )
        return [r[0] for r in rows]

    def iter_candidates(
        self, posting_id: str, *, damaged: list[tuple[str, str]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`candidates`, decoding one record at a time (for very large postings).

        A stored record that no longer decodes raises :class:`~milo_analytics.errors.DataError`;
        with ``damaged`` (a list) it is skipped and reported there as
        ``(interview_id, message)`` (the next pull lists it again).
        """
        return self._listing("candidates", "interview_id", posting_id, damaged)

    # ------------------------------------------------------------------ interviews
    def save_interview(
        self, interview_id: str, posting_id: str, doc: Mapping[str, Any], fingerprint: str | None
    ) -> None:
        """Store a good interview-data document with the candidate fingerprint it matches.

        The document and its sync state commit together (one transaction).
        """
        self.record_fetches(ok=[(interview_id, posting_id, doc, fingerprint)])

    def save_interviews(
        self, rows: Iterable[tuple[str, str, Mapping[str, Any], str | None]]
    ) -> int:
        """Store many good documents ``(interview_id, posting_id, doc, fingerprint)`` in one
        transaction (bulk imports and benchmarks). Returns the number written."""
        batch = [tuple(r) for r in rows]
        self.record_fetches(ok=batch)
        return len(batch)

    def record_fetches(
        self,
        ok: Iterable[Sequence[Any]] = (),
        failed: Iterable[tuple[str, str, str, str]] = (),
        candidates: Iterable[tuple[str, int, Mapping[str, Any]]] = (),
        *,
        via: str = "listing",
    ) -> None:
        """Record a batch of fetch results (and the candidate records listed with them) in one
        transaction.

        ``ok`` rows are ``(interview_id, posting_id, document, fingerprint)``, optionally
        followed by ``rows`` and ``rows_version`` (the document's frame rows, packed, as
        :func:`milo_analytics.load.prepare_document` makes them); the document is a dict or
        already packed with :func:`pack_document`. ``failed`` rows are
        ``(interview_id, posting_id, stage, error)`` (an earlier good copy is kept, marked
        stale). ``candidates`` rows are ``(posting_id, position, CandidateResponse)``, inserted
        or replaced one by one (see :meth:`upsert_candidates`). Each document lands together
        with its sync state and the candidate records: all of the batch or none. ``via`` names
        the path that brought the ``ok`` documents (``"listing"``: a pull; ``"webhook"``: the
        receiver).
        """
        now = time.time()
        ok_rows = []
        for row in ok:
            iid, pid, doc, fp = row[:4]
            rows = row[4] if len(row) > 4 else None
            version = row[5] if len(row) > 5 else None
            blob = doc if isinstance(doc, bytes) else _pack(doc)
            ok_rows.append((iid, pid, blob, fp, now, rows, version, via))
        bad_rows = [(i, p, st, e, now) for i, p, st, e in failed]
        cand_rows = [(str(d.get("interview_id")), p, pos, _pack(d)) for p, pos, d in candidates]
        with self.transaction() as c:
            if cand_rows:
                c.executemany(
                    "INSERT OR REPLACE INTO candidates (interview_id, posting_id, position, doc) "
                    "VALUES (?, ?, ?, ?)",
                    cand_rows,
                )
            if ok_rows:
                c.executemany(
                    "INSERT OR REPLACE INTO interviews (interview_id, posting_id, doc, "
                    "fingerprint, state, stage, error, attempts, fetched_at, rows, rows_version, "
                    "via) VALUES (?, ?, ?, ?, 'ok', NULL, NULL, 0, ?, ?, ?, ?)",
                    ok_rows,
                )
            if bad_rows:
                c.executemany(
                    "INSERT INTO interviews (interview_id, posting_id, doc, fingerprint, state, "
                    "stage, error, attempts, fetched_at) VALUES (?, ?, NULL, NULL, 'error', ?, ?, "
                    "1, ?) ON CONFLICT(interview_id) DO UPDATE SET state='error', "
                    "stage=excluded.stage, error=excluded.error, "
                    "attempts=interviews.attempts + 1, fetched_at=excluded.fetched_at",
                    bad_rows,
                )

    def save_interview_error(
        self, interview_id: str, posting_id: str, stage: str, error: str
    ) -> None:
        """Record a failed fetch; an earlier good copy (if any) is kept but marked stale."""
        self.record_fetches(failed=[(interview_id, posting_id, stage, error)])

    def mark_damaged(self, damaged: Iterable[tuple[str, str]]) -> int:
        """Mark stored interview documents that no longer decode for refetch.

        ``damaged`` holds ``(interview_id, message)``. Each copy is dropped and its state set
        to ``error`` with stage ``store``, so the next pull fetches it again (the refetch rule)
        and, until then, loads list it in ``errors``. Returns the number marked.
        """
        rows = [(message, iid) for iid, message in damaged]
        if rows:
            with self.transaction() as c:
                c.executemany(
                    "UPDATE interviews SET doc=NULL, rows=NULL, rows_version=NULL, "
                    "fingerprint=NULL, state='error', stage='store', error=? "
                    "WHERE interview_id=?",
                    rows,
                )
        return len(rows)

    def saved_since(self, when: float) -> int:
        """Interview documents stored (fetched well) at or after epoch seconds ``when``."""
        return int(
            self._query(
                "SELECT COUNT(*) FROM interviews WHERE state='ok' AND fetched_at >= ?", (when,)
            )[0][0]
        )

    def interview(self, interview_id: str) -> dict[str, Any] | None:
        """The stored good InterviewDataResponse, or None (DataError if it is damaged)."""
        rows = self._query("SELECT doc FROM interviews WHERE interview_id=?", (interview_id,))
        return self._decode(rows[0][0], interview_id, "interview document", None) if rows else None

    def interviews(self, posting_id: str) -> dict[str, dict[str, Any]]:
        """``interview_id -> good document`` for every interview of the posting with one."""
        rows = self._query(
            "SELECT interview_id, doc FROM interviews WHERE posting_id=? AND doc IS NOT NULL "
            "ORDER BY interview_id",
            (posting_id,),
        )
        return {r[0]: self._decode(r[1], r[0], "interview document", None) for r in rows}

    def iter_interview_blobs(
        self, posting_id: str
    ) -> Iterator[tuple[str, bytes, bytes | None, int | None]]:
        """``(interview_id, packed document, packed rows or None, rows version)`` for every
        good copy of the posting, sorted by interview id (fast bulk reads)."""
        rows = self._query(
            "SELECT interview_id, doc, rows, rows_version FROM interviews "
            "WHERE posting_id=? AND doc IS NOT NULL ORDER BY interview_id",
            (posting_id,),
        )
        for i in range(len(rows)):
            row = rows[i]
            rows[i] = None  # type: ignore[call-overload]
            yield row

    def iter_candidate_blobs(self, posting_id: str) -> Iterator[tuple[str, bytes]]:
        """``(interview_id, packed record)`` of the posting's listing, in listing order (the
        records still packed: a damaged one is the reader's to report)."""
        rows = self._query(
            "SELECT interview_id, doc FROM candidates WHERE posting_id=? ORDER BY position",
            (posting_id,),
        )
        for i in range(len(rows)):
            row = rows[i]
            rows[i] = None  # type: ignore[call-overload]
            yield row

    def unlisted_interview_blobs(self, posting_id: str) -> list[tuple[str, bytes]]:
        """``(interview_id, packed document)`` of the posting's good copies whose interview is
        not in its stored listing (a pull stopped before listing them), sorted by id."""
        return [
            (r[0], r[1])
            for r in self._query(
                "SELECT i.interview_id, i.doc FROM interviews i WHERE i.posting_id=? AND "
                "i.doc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM candidates c WHERE "
                "c.interview_id = i.interview_id AND c.posting_id = i.posting_id) "
                "ORDER BY i.interview_id",
                (posting_id,),
            )
        ]

    def sync_states(self, posting_id: str) -> dict[str, SyncState]:
        """``interview_id -> SyncState`` for every interview of the posting the store tracks."""
        rows = self._query(
            f"SELECT {_STATE_COLUMNS} FROM interviews WHERE posting_id=?", (posting_id,)
        )
        return {r[0]: _sync_state(r) for r in rows}

    def errors(self, posting_id: str) -> list[dict[str, Any]]:
        """The interviews whose last fetch failed: ``interview_id``, ``stage``, ``error``."""
        rows = self._query(
            "SELECT interview_id, stage, error FROM interviews WHERE posting_id=? AND state='error' "
            "ORDER BY interview_id",
            (posting_id,),
        )
        return [{"interview_id": r[0], "stage": r[1], "error": r[2]} for r in rows]

    def counts(self) -> dict[str, int]:
        """Row counts per table (documents only), for summaries and tests."""
        out = {}
        for table in ("postings", "questions", "candidates", "interviews"):
            out[table] = self._query(f"SELECT COUNT(*) FROM {table}")[0][0]
        out["interview_errors"] = self._query(
            "SELECT COUNT(*) FROM interviews WHERE state='error'"
        )[0][0]
        return out

    # ------------------------------------------------------------------ webhook receiver (v3)
    # The tables of milo_analytics.live (issue 16): the token in the receiver's URL, the queue
    # of acknowledged events, when a receiver was up, and the checks' snapshots.

    def webhook_token(self, *, create: bool = True) -> str | None:
        """The secret token of this store's webhook URL (``/hooks/<token>``).

        Made on first use (``secrets.token_urlsafe(32)``: 256 random bits) and kept in the store,
        which only its owner can read. None when ``create=False`` and there is none yet.

        Examples
        --------
        >>> with Store(":memory:") as s:
        ...     token = s.webhook_token()
        ...     len(token) >= 43 and s.webhook_token() == token
        True
        """
        rows = self._query("SELECT value FROM meta WHERE key='webhook_token'")
        if rows and rows[0][0]:
            return str(rows[0][0])
        if not create:
            return None
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('webhook_token', ?)",
                (secrets.token_urlsafe(32),),
            )
            return str(c.execute("SELECT value FROM meta WHERE key='webhook_token'").fetchone()[0])

    def make_durable(self) -> None:
        """Make every commit on this connection survive a power loss, not only a crash
        (``PRAGMA synchronous=FULL``: the write-ahead log is fsynced at each commit).

        The webhook receiver acknowledges an event only after it committed it on such a
        connection. (The default, ``NORMAL``, survives a killed process but may lose the last
        commits on a power cut; pulled documents can always be fetched again.)
        """
        with self._lock:
            self._ensure_open()
            if not self._memory:
                self._conn.execute("PRAGMA synchronous=FULL")

    def record_events(self, events: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Record received webhook events in one transaction; True for each new one.

        Each event is a mapping with ``event_id``, ``received_at``, ``interview_id``,
        ``posting_id``, ``event_type`` and ``body`` (the raw bytes). An ``event_id`` already
        stored is a replay: its ``deliveries`` count goes up and it is not queued again (False).

        Examples
        --------
        >>> e = {"event_id": "sha256:1", "received_at": 5.0, "interview_id": "I1",
        ...      "posting_id": "P1", "event_type": "report_available", "body": b"{}"}
        >>> with Store(":memory:") as s:
        ...     s.record_events([e, e]), s.events()[0]["deliveries"]
        ([True, False], 2)
        """
        out: list[bool] = []
        with self.transaction() as c:
            for e in events:
                cur = c.execute(
                    "INSERT OR IGNORE INTO events (event_id, received_at, posting_id, "
                    "interview_id, event_type, body, state, last_delivery_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (
                        e["event_id"],
                        e["received_at"],
                        e.get("posting_id"),
                        e["interview_id"],
                        e.get("event_type"),
                        zlib.compress(bytes(e["body"]), 1),
                        e["received_at"],
                    ),
                )
                new = cur.rowcount == 1
                if not new:
                    c.execute(
                        "UPDATE events SET deliveries=deliveries + 1, last_delivery_at=? "
                        "WHERE event_id=?",
                        (e["received_at"], e["event_id"]),
                    )
                out.append(new)
        return out

    _EVENT_COLUMNS = (
        "event_id, received_at, posting_id, interview_id, event_type, state, attempts, "
        "next_attempt_at, processed_at, error, deliveries, last_delivery_at"
    )

    def _event_dicts(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        names = [n.strip() for n in self._EVENT_COLUMNS.split(",")]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def due_events(
        self, *, now: float | None = None, limit: int = 500, posting_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Pending events whose next try is due, oldest first (without their bodies).

        ``posting_id``: only the events of that posting, and those that named no posting.
        """
        now = time.time() if now is None else now
        where = "state='pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        params: list[Any] = [now]
        if posting_id is not None:
            where += " AND (posting_id=? OR posting_id IS NULL)"
            params.append(posting_id)
        rows = self._query(
            f"SELECT {self._EVENT_COLUMNS} FROM events WHERE {where} ORDER BY received_at LIMIT ?",
            (*params, int(limit)),
        )
        return self._event_dicts(rows)

    def finish_events(self, updates: Iterable[Mapping[str, Any]]) -> int:
        """Record what processing did with events, in one transaction.

        Each update has ``event_id`` and ``state`` (``"done"``, ``"skipped"``, ``"failed"``, or
        ``"pending"`` to try again at ``next_attempt_at``), optionally ``error``, ``posting_id``
        (the posting the fetched document belongs to) and ``attempted`` (True counts a try).
        Returns the number of events updated.
        """
        now = time.time()
        rows = [
            (
                u["state"],
                u.get("error"),
                u.get("next_attempt_at"),
                now if u["state"] != "pending" else None,
                1 if u.get("attempted") else 0,
                u.get("posting_id"),
                u["event_id"],
            )
            for u in updates
        ]
        if not rows:
            return 0
        with self.transaction() as c:
            c.executemany(
                "UPDATE events SET state=?, error=?, next_attempt_at=?, processed_at=?, "
                "attempts=attempts + ?, posting_id=COALESCE(?, posting_id) WHERE event_id=?",
                rows,
            )
        return len(rows)

    def events(
        self,
        *,
        posting_id: str | None = None,
        states: Iterable[str] | None = None,
        since: float | None = None,
        interview_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded events (without bodies), oldest first, optionally filtered by posting,
        processing state, receipt time (``received_at >= since``) and interview."""
        where, params = ["1=1"], []
        if posting_id is not None:
            where.append("posting_id=?")
            params.append(posting_id)
        if states is not None:
            wanted = list(states)
            where.append(f"state IN ({','.join('?' * len(wanted))})")
            params.extend(wanted)
        if since is not None:
            where.append("received_at >= ?")
            params.append(since)
        if interview_id is not None:
            where.append("interview_id=?")
            params.append(interview_id)
        rows = self._query(
            f"SELECT {self._EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} "
            "ORDER BY received_at, event_id",
            params,
        )
        return self._event_dicts(rows)

    def event_body(self, event_id: str) -> bytes | None:
        """The raw body of a recorded event (None when there is no such event)."""
        rows = self._query("SELECT body FROM events WHERE event_id=?", (event_id,))
        return zlib.decompress(rows[0][0]) if rows else None

    def event_counts(self, posting_id: str | None = None) -> dict[str, int]:
        """Events per processing state (all postings, or one)."""
        sql = "SELECT state, COUNT(*) FROM events"
        params: tuple[Any, ...] = ()
        if posting_id is not None:
            sql += " WHERE posting_id=?"
            params = (posting_id,)
        return {r[0]: int(r[1]) for r in self._query(sql + " GROUP BY state", params)}

    def interview_states(self, interview_ids: Iterable[str]) -> dict[str, SyncState]:
        """``interview_id -> SyncState`` for the given interviews the store tracks."""
        ids = list(dict.fromkeys(interview_ids))
        out: dict[str, SyncState] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._query(
                f"SELECT {_STATE_COLUMNS} FROM interviews "
                f"WHERE interview_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r[0]: _sync_state(r) for r in rows})
        return out

    def candidate_record(self, interview_id: str) -> tuple[str, int, dict[str, Any]] | None:
        """``(posting_id, position, CandidateResponse)`` of one stored candidate, or None
        (also when the stored record no longer decodes)."""
        rows = self._query(
            "SELECT posting_id, position, doc FROM candidates WHERE interview_id=?",
            (interview_id,),
        )
        if not rows:
            return None
        damaged: list[tuple[str, str]] = []
        doc = self._decode(rows[0][2], interview_id, "candidate record", damaged)
        return None if doc is None else (rows[0][0], int(rows[0][1]), doc)

    def next_candidate_position(self, posting_id: str) -> int:
        """The position after the posting's last stored candidate record."""
        rows = self._query(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM candidates WHERE posting_id=?",
            (posting_id,),
        )
        return int(rows[0][0])

    # listener runs: when a receiver was up (heartbeats), and refused authentic deliveries
    def start_listener_run(
        self,
        *,
        when: float | None = None,
        pid: int | None = None,
        heartbeat: float = 30.0,
        processes: bool = True,
    ) -> int:
        """Record that a receiver started (beating every ``heartbeat`` seconds; processing the
        queue or only recording events); returns the run id its heartbeats use."""
        when = time.time() if when is None else when
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO listener_runs (started_at, last_seen_at, pid, heartbeat, processes) "
                "VALUES (?, ?, ?, ?, ?)",
                (when, when, pid, heartbeat, int(processes)),
            )
            return int(cur.lastrowid or 0)

    def beat_listener_run(self, run_id: int, *, when: float | None = None) -> None:
        """A heartbeat: the receiver of ``run_id`` is up at ``when``."""
        with self.transaction() as c:
            c.execute(
                "UPDATE listener_runs SET last_seen_at=? WHERE run_id=?",
                (time.time() if when is None else when, run_id),
            )

    def stop_listener_run(self, run_id: int, *, when: float | None = None) -> None:
        """The receiver of ``run_id`` stopped cleanly at ``when``."""
        when = time.time() if when is None else when
        with self.transaction() as c:
            c.execute(
                "UPDATE listener_runs SET last_seen_at=?, stopped_at=? WHERE run_id=?",
                (when, when, run_id),
            )

    def note_rejected_delivery(self, run_id: int, *, when: float | None = None) -> None:
        """A delivery with the right token was refused (too large, not JSON, over the rate
        cap...): the event may be lost, so this run no longer proves the store complete."""
        with self.transaction() as c:
            c.execute(
                "UPDATE listener_runs SET rejected=rejected + 1, last_rejected_at=? WHERE run_id=?",
                (time.time() if when is None else when, run_id),
            )

    def listener_runs(self, *, since: float | None = None) -> list[dict[str, Any]]:
        """Receiver runs that were up at or after ``since`` (all when None; runs that did not
        record a stop are always included), oldest first:
        ``run_id``, ``started_at``, ``last_seen_at``, ``stopped_at``, ``pid``, ``heartbeat``,
        ``processes``, ``rejected``, ``last_rejected_at``."""
        sql = (
            "SELECT run_id, started_at, last_seen_at, stopped_at, pid, heartbeat, processes, "
            "rejected, last_rejected_at FROM listener_runs"
        )
        params: tuple[Any, ...] = ()
        if since is not None:  # a run that did not stop may be up still (or was killed)
            sql += " WHERE last_seen_at >= ? OR stopped_at IS NULL"
            params = (since,)
        names = ["run_id", "started_at", "last_seen_at", "stopped_at", "pid", "heartbeat",
                 "processes", "rejected", "last_rejected_at"]  # fmt: skip
        rows = self._query(sql + " ORDER BY started_at, run_id", params)
        return [dict(zip(names, r, strict=True)) for r in rows]

    # check snapshots (milo-analytics check --since)
    def save_check_snapshot(
        self, posting_ids: Sequence[str], report: Mapping[str, Any], *, when: float | None = None
    ) -> int:
        """Keep what a check run found; returns the snapshot id."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO check_snapshots (created_at, postings, report) VALUES (?, ?, ?)",
                (
                    time.time() if when is None else when,
                    json.dumps(sorted(posting_ids)),
                    _pack(dict(report)),
                ),
            )
            return int(cur.lastrowid or 0)

    def check_snapshot(
        self, posting_id: str, *, snapshot_id: int | None = None
    ) -> tuple[int, float, dict[str, Any]] | None:
        """``(snapshot_id, created_at, report)``: the latest check snapshot covering
        ``posting_id`` (or the snapshot ``snapshot_id``); None when there is none."""
        if snapshot_id is not None:
            rows = self._query(
                "SELECT snapshot_id, created_at, postings, report FROM check_snapshots "
                "WHERE snapshot_id=?",
                (snapshot_id,),
            )
        else:  # the JSON list holds the id quoted; the match is confirmed below
            rows = self._query(
                "SELECT snapshot_id, created_at, postings, report FROM check_snapshots "
                "WHERE instr(postings, ?) > 0 ORDER BY snapshot_id DESC LIMIT 20",
                (json.dumps(posting_id),),
            )
        for sid, created, postings, blob in rows:
            if snapshot_id is not None or posting_id in json.loads(postings):
                return (
                    int(sid),
                    float(created),
                    self._decode(blob, str(sid), "check snapshot", None),
                )
        return None

    # ------------------------------------------------------------------ materialised frames
    # SQL only: what the blobs hold and when to use them is milo_analytics.materialised's.
    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the store (a read transaction): writes committed
        meanwhile by other connections are not seen.

        Examples
        --------
        >>> with Store(":memory:") as s, s.snapshot():
        ...     s.frame_changes("P1")
        0
        """
        with self._lock:
            self._ensure_open()
            try:
                self._conn.execute("BEGIN")
            except sqlite3.DatabaseError as exc:
                raise self._problem(exc) from exc
            try:
                yield
            finally:
                with suppress(sqlite3.Error):
                    self._conn.execute("COMMIT")

    def frame_format(self) -> str | None:
        """The format of the materialised frames held (``meta.frames_format``), or None."""
        rows = self._query("SELECT value FROM meta WHERE key='frames_format'")
        return rows[0][0] if rows else None

    def frame_changes(self, posting_id: str) -> int:
        """The posting's change counter: bumped by every change of one of its documents."""
        rows = self._query("SELECT changes FROM frame_changes WHERE posting_id=?", (posting_id,))
        return int(rows[0][0]) if rows else 0

    def frame_segments(self, posting_id: str, kind: str) -> list[tuple[int, int, int]]:
        """``(segment, documents, live)`` of the posting's segments of ``kind``, oldest first;
        ``live``: the documents whose current products it holds."""
        rows = self._query(
            "SELECT s.segment, s.documents, (SELECT COUNT(*) FROM frame_members m "
            "WHERE m.posting_id = s.posting_id AND m.kind = s.kind AND m.segment = s.segment) "
            "FROM frame_segments s WHERE s.posting_id=? AND s.kind=? ORDER BY s.segment",
            (posting_id, kind),
        )
        return [(int(a), int(b), int(c)) for a, b, c in rows]

    def frame_segment_parts(self, segment: int) -> dict[str, bytes]:
        """``part -> blob`` of one segment."""
        rows = self._query("SELECT part, data FROM frame_parts WHERE segment=?", (segment,))
        return {part: data for part, data in rows}

    def frame_segment_members(self, posting_id: str, kind: str, segment: int) -> list[str]:
        """The documents whose current products ``segment`` holds."""
        rows = self._query(
            "SELECT interview_id FROM frame_members WHERE posting_id=? AND kind=? AND segment=?",
            (posting_id, kind, segment),
        )
        return [r[0] for r in rows]

    def frame_missing(self, posting_id: str, kind: str, *, everything: bool = False) -> list[str]:
        """Ids of the posting's documents of ``kind`` (``"interviews"``: interview data held,
        ``"candidates"``: listed records) without current materialised products — none made
        yet, or the document changed since — or, with ``everything``, all of them; sorted."""
        source = (  # covering indexes: no document is read
            "interviews i INDEXED BY frame_interview_sources "
            "WHERE i.posting_id=? AND i.doc IS NOT NULL"
            if kind == "interviews"
            else "candidates i INDEXED BY frame_candidate_sources WHERE i.posting_id=?"
        )
        if not everything:
            # the triggers keep memberships a subset of the current documents: as many of each
            # means none is missing (two counts on covering indexes, no per-document probe)
            held = self._query(f"SELECT COUNT(*) FROM {source}", (posting_id,))[0][0]
            if held == self.frame_member_count(posting_id, kind):
                return []
        current = (
            ""
            if everything
            else " AND NOT EXISTS (SELECT 1 FROM frame_members m WHERE m.kind=? "
            "AND m.interview_id = i.interview_id AND m.posting_id = i.posting_id)"
        )
        rows = self._query(
            f"SELECT i.interview_id FROM {source}{current} ORDER BY i.interview_id",
            (posting_id,) if everything else (posting_id, kind),
        )
        return [r[0] for r in rows]

    def frame_member_count(self, posting_id: str, kind: str) -> int:
        """Documents of the posting with current materialised products of ``kind``."""
        return int(
            self._query(
                "SELECT COUNT(*) FROM frame_members WHERE posting_id=? AND kind=?",
                (posting_id, kind),
            )[0][0]
        )

    def frame_triggers_present(self) -> bool:
        """Whether the triggers that keep the materialised frames consistent are all there
        (without them, materialised products could outlive their documents)."""
        marks = ",".join("?" * len(_FRAME_TRIGGER_NAMES))
        rows = self._query(
            f"SELECT COUNT(*) FROM sqlite_master WHERE type='trigger' AND name IN ({marks})",
            _FRAME_TRIGGER_NAMES,
        )
        return int(rows[0][0]) == len(_FRAME_TRIGGER_NAMES)

    def frame_sources(
        self, posting_id: str, kind: str, ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """What the products of documents ``ids`` are made from, in that order (documents
        gone meanwhile are left out): ``(interview_id, doc, rows, rows_version)`` for
        ``"interviews"``, ``(interview_id, doc)`` for ``"candidates"``."""
        columns = "interview_id, doc, rows, rows_version" if kind == "interviews" else (
            "interview_id, doc")  # fmt: skip
        table = "interviews" if kind == "interviews" else "candidates"
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._query(  # "+posting_id": look up by id, never scan the posting
                f"SELECT {columns} FROM {table} WHERE +posting_id=? AND doc IS NOT NULL "
                f"AND interview_id IN ({marks})",
                (posting_id, *chunk),
            ):
                found[row[0]] = row
        return [found[i] for i in ids if i in found]

    def save_frame_segments(
        self,
        posting_id: str,
        kind: str,
        segments: Sequence[FrameSegment],
        *,
        frames_format: str,
        changes: int,
        replace: bool = False,
    ) -> bool:
        """Save materialised products of the posting's documents of ``kind``, atomically.

        Nothing is saved (False) when a document of the posting changed since its change
        counter read ``changes`` (the products may be of an older copy). Products of another
        ``frames_format`` are dropped first (every posting's). Each document a segment names
        now has its current products there; with ``replace`` the posting's other segments of
        ``kind`` are dropped with their documents' membership (compaction). Segments no
        document refers to any more are dropped.
        """
        with self.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key='frames_format'").fetchone()
            if row is None or row[0] != frames_format:
                for table in ("frame_parts", "frame_segments", "frame_members"):
                    c.execute(f"DELETE FROM {table}")
                c.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('frames_format', ?)",
                    (frames_format,),
                )
            row = c.execute(
                "SELECT changes FROM frame_changes WHERE posting_id=?", (posting_id,)
            ).fetchone()
            if (int(row[0]) if row else 0) != changes:
                return False
            old = [
                r[0]
                for r in c.execute(
                    "SELECT segment FROM frame_segments WHERE posting_id=? AND kind=?",
                    (posting_id, kind),
                )
            ]
            now = time.time()
            for seg in segments:
                cur = c.execute(
                    "INSERT INTO frame_segments (posting_id, kind, documents, rows, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (posting_id, kind, seg.documents, seg.rows, now),
                )
                sid = cur.lastrowid
                c.executemany(
                    "INSERT INTO frame_parts (segment, part, data) VALUES (?, ?, ?)",
                    [(sid, part, data) for part, data in seg.parts.items()],
                )
                c.executemany(
                    "INSERT OR REPLACE INTO frame_members (kind, interview_id, posting_id, "
                    "segment) VALUES (?, ?, ?, ?)",
                    [(kind, i, posting_id, sid) for i in seg.members],
                )
            if replace and old:
                marks = ",".join("?" * len(old))
                c.execute(
                    f"DELETE FROM frame_members WHERE posting_id=? AND kind=? "
                    f"AND segment IN ({marks})",
                    (posting_id, kind, *old),
                )
            dead = [
                r[0]
                for r in c.execute(
                    "SELECT s.segment FROM frame_segments s WHERE s.posting_id=? AND s.kind=? "
                    "AND NOT EXISTS (SELECT 1 FROM frame_members m WHERE m.posting_id = "
                    "s.posting_id AND m.kind = s.kind AND m.segment = s.segment)",
                    (posting_id, kind),
                )
            ]
            c.executemany("DELETE FROM frame_parts WHERE segment=?", [(d,) for d in dead])
            c.executemany("DELETE FROM frame_segments WHERE segment=?", [(d,) for d in dead])
        return True


@dataclass(frozen=True)
class FrameSegment:
    """One segment of materialised frames to save (see :meth:`Store.save_frame_segments`).

    Attributes
    ----------
    parts : dict of str to bytes
        ``part -> blob`` (``docs`` and the frames).
    documents, rows : int
        Documents it holds the products of; frame rows it holds.
    members : list of str
        The interview ids of the documents whose current products it holds.
    """

    parts: Mapping[str, bytes]
    documents: int
    rows: int
    members: Sequence[str]
