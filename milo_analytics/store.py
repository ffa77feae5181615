"""The local store: raw HeyMilo API documents and sync state in one SQLite file.

The store is the source of truth offline: :func:`milo_analytics.load.load_posting` writes every
document it fetches here (one transaction per document, together with its sync state), and
builds the frames from here. A pull that is interrupted (Ctrl-C, crash, lost network) leaves the
store consistent, and the next pull resumes without refetching what it already has.

What is kept, per posting: the posting document, today's questions, the candidate listing (in
listing order) and, per interview, the last good interview-data document with the fingerprint of
the candidate record it corresponds to (score, status, last activity), plus the state of the
last fetch (``ok`` or ``error`` with the stage and message). Documents are stored as
zlib-compressed JSON, exactly as the API sent them.

The file is created with its folder when missing; the default is ``store.sqlite3`` under
``platformdirs.user_data_dir("milo_analytics")`` (or the path in ``MILO_ANALYTICS_STORE``).
It uses WAL journaling, so readers never block the writer. One connection is shared behind a
lock, so a Store may be used from several threads (the loader writes from its main thread).

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

import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, DataError

try:  # optional speed-up: the standard library is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

__all__ = ["Store", "SyncState", "default_store_path", "pack_document", "unpack_document"]

_SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS postings (
    posting_id TEXT PRIMARY KEY,
    doc BLOB,                 -- PostingResponse (zlib JSON), NULL when not fetched
    source TEXT,              -- API base URL the posting was pulled from (no key)
    synced_at REAL            -- end of the last complete listing, epoch seconds
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
    state TEXT NOT NULL,      -- 'ok' or 'error' (the last fetch)
    stage TEXT,               -- on error: 'fetch' or 'parse'
    error TEXT,               -- on error: the message (never the API key)
    attempts INTEGER NOT NULL DEFAULT 0,
    fetched_at REAL,
    rows BLOB,                -- the good copy's frame rows, pre-parsed (a cache; see load.py)
    rows_version INTEGER      -- format of `rows`; another version means "parse doc again"
);
CREATE INDEX IF NOT EXISTS interviews_posting ON interviews (posting_id);
"""


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
        Where and why the last fetch failed.
    attempts : int
        Failed fetches since the last good one.
    fetched_at : float or None
        Epoch seconds of the last fetch.
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


class Store:
    """Local SQLite store of raw API documents and sync state.

    Parameters
    ----------
    path
        The SQLite file; created with its folder when missing. Default:
        :func:`default_store_path`. ``":memory:"`` keeps everything in memory.

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
        if not self._memory:
            self.path = self.path.expanduser()
            if self.path.exists() and self.path.is_dir():
                raise ConfigError(
                    f"store path {self.path} is a folder; pass the path of a file, "
                    f"e.g. {self.path / 'store.sqlite3'}"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the store's folder {self.path.parent}: {exc}; "
                    "pass Store(path) somewhere writable"
                ) from exc
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                ":memory:" if self._memory else str(self.path),
                check_same_thread=False,
                isolation_level=None,  # explicit transactions below
                timeout=30.0,
            )
            if not self._memory:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_DDL)
            self._check_version()
            self._migrate()
        except BaseException as exc:
            with suppress(Exception):  # never leave the file open behind a failed Store()
                self._conn.close()
            if not isinstance(exc, sqlite3.DatabaseError):
                raise  # e.g. DataError: a store written by a newer milo_analytics
            problem = self._sqlite_problem(exc)
            if problem is not None:
                raise problem from exc
            raise DataError(
                f"{self.path} is not a milo_analytics store ({exc}); pass another path or "
                "delete the file to start afresh"
            ) from exc
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    def _check_version(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(_SCHEMA_VERSION),),
            )
        elif int(row[0]) > _SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer milo_analytics (store schema {row[0]}); "
                "upgrade milo_analytics or use another store path"
            )

    def _migrate(self) -> None:
        cols = {r[1] for r in self._conn.execute("PRAGMA table_info(interviews)")}
        for name, kind in (("rows", "BLOB"), ("rows_version", "INTEGER")):
            if name not in cols:
                self._conn.execute(f"ALTER TABLE interviews ADD COLUMN {name} {kind}")

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the database connection (idempotent)."""
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
        with self._lock:
            n_p = self._conn.execute("SELECT COUNT(*) FROM postings").fetchone()[0]
            n_c = self._conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
            n_i = self._conn.execute(
                "SELECT COUNT(*) FROM interviews WHERE doc IS NOT NULL"
            ).fetchone()[0]
        return f"Store(path={str(self.path)!r}, postings={n_p}, candidates={n_c}, interviews={n_i})"

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An atomic write: everything inside commits together or not at all."""
        with self._lock:
            self._ensure_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise (self._sqlite_problem(exc) or exc) from exc
            try:
                yield self._conn
            except BaseException as exc:
                with suppress(sqlite3.Error):  # e.g. SQLite already rolled back a full disk
                    self._conn.execute("ROLLBACK")
                problem = self._sqlite_problem(exc)
                if problem is not None:
                    raise problem from exc
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise (self._sqlite_problem(exc) or exc) from exc

    def _sqlite_problem(self, exc: BaseException) -> ConfigError | DataError | None:
        """A clear error for SQLite failures the user can fix (read-only, locked, disk full),
        naming the path and the fix; None for anything else."""
        if not isinstance(exc, sqlite3.OperationalError):
            return None
        text = str(exc).lower()
        where = f"the store at {self.path}"
        fix = (
            "pass a writable path (Store(path), store=..., the CLI's --store) "
            "or set MILO_ANALYTICS_STORE"
        )
        if "locked" in text or "busy" in text:
            return ConfigError(
                f"{where} is locked by another process ({exc}); wait until the other pull "
                f"finishes, or {fix}"
            )
        if "disk is full" in text or "database or disk is full" in text:
            return DataError(f"the disk holding {where} is full ({exc}); free space or {fix}")
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
            return ConfigError(f"cannot write {where}: {why} ({exc}); {fix}")
        return None

    def _ensure_open(self) -> None:
        if self._closed:
            raise ConfigError("this Store is closed; open a new Store(path)")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self._ensure_open()
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ postings
    def posting_ids(self) -> list[str]:
        """Every posting the store knows, sorted."""
        return [r[0] for r in self._query("SELECT posting_id FROM postings ORDER BY posting_id")]

    def has_posting(self, posting_id: str) -> bool:
        """Whether the posting was ever pulled into this store."""
        return bool(self._query("SELECT 1 FROM postings WHERE posting_id=?", (posting_id,)))

    def posting(self, posting_id: str) -> dict[str, Any] | None:
        """The stored PostingResponse, or None."""
        rows = self._query("SELECT doc FROM postings WHERE posting_id=?", (posting_id,))
        return _unpack(rows[0][0]) if rows else None

    def posting_info(self, posting_id: str) -> dict[str, Any] | None:
        """``{"source", "synced_at"}`` of a stored posting, or None."""
        rows = self._query(
            "SELECT source, synced_at FROM postings WHERE posting_id=?", (posting_id,)
        )
        return {"source": rows[0][0], "synced_at": rows[0][1]} if rows else None

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

    def mark_synced(self, posting_id: str, when: float | None = None) -> None:
        """Record the end of a complete pull of the posting."""
        with self.transaction() as c:
            c.execute(
                "UPDATE postings SET synced_at=? WHERE posting_id=?",
                (time.time() if when is None else when, posting_id),
            )

    def clear_posting(self, posting_id: str) -> None:
        """Forget everything stored for one posting (one transaction)."""
        with self.transaction() as c:
            for table in ("questions", "candidates", "interviews", "postings"):
                c.execute(f"DELETE FROM {table} WHERE posting_id=?", (posting_id,))

    # ------------------------------------------------------------------ listings
    def _save_listing(
        self,
        table: str,
        id_column: str,
        id_field: str,
        posting_id: str,
        docs: Iterable[Mapping[str, Any]],
    ) -> None:
        """Replace a posting's rows of ``table`` (questions or candidates) with ``docs``."""
        rows = [(posting_id, str(d.get(id_field)), i, _pack(d)) for i, d in enumerate(docs)]
        with self.transaction() as c:
            c.execute(f"DELETE FROM {table} WHERE posting_id=?", (posting_id,))
            c.executemany(
                f"INSERT OR REPLACE INTO {table} (posting_id, {id_column}, position, doc) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def _listing(self, table: str, posting_id: str) -> list[dict[str, Any]]:
        """A posting's stored documents of ``table``, in listing order."""
        rows = self._query(
            f"SELECT doc FROM {table} WHERE posting_id=? ORDER BY position", (posting_id,)
        )
        return [_unpack(r[0]) for r in rows]

    # ------------------------------------------------------------------ questions
    def save_questions(self, posting_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
        """Replace the posting's questions with ``docs`` (today's definitions), atomically."""
        self._save_listing("questions", "question_id", "id", posting_id, docs)

    def questions(self, posting_id: str) -> list[dict[str, Any]]:
        """The stored QuestionResponse dicts of a posting, in listing order."""
        return self._listing("questions", posting_id)

    # ------------------------------------------------------------------ candidates
    def save_candidates(self, posting_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
        """Replace the posting's candidate listing with ``docs`` (every page), atomically."""
        self._save_listing("candidates", "interview_id", "interview_id", posting_id, docs)

    def candidates(self, posting_id: str) -> list[dict[str, Any]]:
        """The stored CandidateResponse dicts of a posting, in listing order."""
        return self._listing("candidates", posting_id)

    def candidate_ids(self, posting_id: str) -> list[str]:
        """The interview ids of the posting's stored listing, in listing order."""
        rows = self._query(
            "SELECT interview_id FROM candidates WHERE posting_id=? ORDER BY position",
            (posting_id,),
        )
        return [r[0] for r in rows]

    def iter_candidates(self, posting_id: str) -> Iterator[dict[str, Any]]:
        """Like :meth:`candidates`, decoding one record at a time (for very large postings)."""
        rows = self._query(
            "SELECT doc FROM candidates WHERE posting_id=? ORDER BY position", (posting_id,)
        )
        for i in range(len(rows)):
            blob = rows[i][0]
            rows[i] = None  # type: ignore[call-overload]
            yield _unpack(blob)

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
    ) -> None:
        """Record a batch of fetch results in one transaction.

        ``ok`` rows are ``(interview_id, posting_id, document, fingerprint)``, optionally
        followed by ``rows`` and ``rows_version`` (the document's frame rows, packed, as
        :func:`milo_analytics.load.prepare_document` makes them); the document is a dict or
        already packed with :func:`pack_document`. ``failed`` rows are
        ``(interview_id, posting_id, stage, error)`` (an earlier good copy is kept, marked
        stale). Each document lands together with its sync state: all of the batch or none.
        """
        now = time.time()
        ok_rows = []
        for row in ok:
            iid, pid, doc, fp = row[:4]
            rows = row[4] if len(row) > 4 else None
            version = row[5] if len(row) > 5 else None
            blob = doc if isinstance(doc, bytes) else _pack(doc)
            ok_rows.append((iid, pid, blob, fp, now, rows, version))
        bad_rows = [(i, p, st, e, now) for i, p, st, e in failed]
        with self.transaction() as c:
            if ok_rows:
                c.executemany(
                    "INSERT OR REPLACE INTO interviews (interview_id, posting_id, doc, "
                    "fingerprint, state, stage, error, attempts, fetched_at, rows, rows_version) "
                    "VALUES (?, ?, ?, ?, 'ok', NULL, NULL, 0, ?, ?, ?)",
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

    def interview(self, interview_id: str) -> dict[str, Any] | None:
        """The stored good InterviewDataResponse, or None."""
        rows = self._query("SELECT doc FROM interviews WHERE interview_id=?", (interview_id,))
        return _unpack(rows[0][0]) if rows else None

    def interviews(self, posting_id: str) -> dict[str, dict[str, Any]]:
        """``interview_id -> good document`` for every interview of the posting with one."""
        rows = self._query(
            "SELECT interview_id, doc FROM interviews WHERE posting_id=? AND doc IS NOT NULL "
            "ORDER BY interview_id",
            (posting_id,),
        )
        return {r[0]: _unpack(r[1]) for r in rows}

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

    def sync_states(self, posting_id: str) -> dict[str, SyncState]:
        """``interview_id -> SyncState`` for every interview of the posting the store tracks."""
        rows = self._query(
            "SELECT interview_id, posting_id, state, fingerprint, doc IS NOT NULL, stage, error, "
            "attempts, fetched_at FROM interviews WHERE posting_id=?",
            (posting_id,),
        )
        return {r[0]: SyncState(r[0], r[1], r[2], r[3], bool(r[4]), *r[5:]) for r in rows}

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
