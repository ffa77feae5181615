"""The tidy frames materialised in the store, updated per changed document (issue 15).

Building frames from the stored documents means decoding and parsing every document on every
load: 20–23 s and 1.4 GB for 100,000 interviews. The store therefore keeps the *parse
products* of each document — its frame rows and what became of it (usable, unfinished, or the
``errors`` stage and message, :class:`~milo_analytics.frames.FrameParts`) — as columns, and a
load reads those instead of the documents, parsing only the documents that changed since.

Where they live
---------------
In the SQLite store itself (schema 4, see :mod:`milo_analytics.store`), as Arrow IPC streams
(zstd-compressed buffers) in ``frame_parts``, grouped in *segments* of up to
:data:`SEGMENT_DOCUMENTS` documents of one posting and kind (interview-data documents, or
candidate records). ``frame_members`` says which segment holds each document's current
products. Keeping them in the SQLite file rather than in Parquet/Arrow files beside it gives,
with no extra machinery:

* crash safety — a segment, its blobs and the membership of its documents commit in one
  SQLite transaction, so a kill -9 in the middle of an update leaves the old materialisation
  or the new one, never a torn one (files would need write-rename-fsync and a manifest that
  agrees with the database);
* privacy — they are in the ``0600`` file (and its ``-wal``/``-shm``) like the documents;
* consistency with the documents, which stay the source of truth: triggers on ``interviews``
  and ``candidates`` drop a document's membership in the same transaction that changes it,
  whoever writes it, so its products are never used again; and each posting's change counter
  (``frame_changes``) makes a load that parsed a document while a pull replaced it save
  nothing (its products would be of the older copy). A store whose triggers are missing, or
  whose membership names a segment that is not there, is not trusted: its documents are all
  parsed again.

Incremental updates
-------------------
A load reads the current products of a posting (one snapshot), parses only the documents
without current products — new, changed, damaged since — and saves their products as a new,
small segment: a pull that fetched 13 documents makes the next load parse and write those 13,
not the posting's 100,000. The rows an older segment still holds for a changed document are
skipped. When such dead rows, or the interleaving of small segments with the big ones, grow
past :data:`COMPACT_DEAD_SHARE` / :data:`COMPACT_RUNS`, the load rewrites the posting's
products as fresh segments in frame order (from what it has in memory; nothing is parsed).

Everything is rebuilt from the documents, transparently, when :func:`frames_format` changes: a
new schema version of the frames, another version of the code that makes the products (the
source of ``load.py``, ``frames.py`` and this module is part of it), or another pandas/pyarrow.
A store that cannot be written (read-only) still loads: the products are made in memory.

Examples
--------
>>> from milo_analytics.frames import FrameParts
>>> parts = FrameParts.empty("candidates")
>>> sorted(encode(parts))
['candidates', 'docs']
>>> decode("candidates", encode(parts)).docs.columns.tolist() == parts.docs.columns.tolist()
True
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import MiloError
from .frames import PART_DOC_COLUMNS, PART_FRAMES, SCHEMAS, FrameParts, frame_order
from .store import FrameSegment, Store

__all__ = [
    "COMPACT_DEAD_SHARE",
    "COMPACT_RUNS",
    "FORMAT_VERSION",
    "SEGMENT_DOCUMENTS",
    "Materialised",
    "decode",
    "encode",
    "frames_format",
    "posting_parts",
    "read",
]

logger = logging.getLogger(__name__)

#: Bump when the layout of the stored products changes (any code change is caught anyway:
#: see :func:`frames_format`).
FORMAT_VERSION = 1
#: Documents per segment written by a full (re)materialisation or a compaction.
SEGMENT_DOCUMENTS = 5000
#: Compact a posting's products when more than this share of the documents its segments hold
#: are dead (changed since, and held again elsewhere) ...
COMPACT_DEAD_SHARE = 0.25
#: ... or when its current products, read segment by segment, fall into more than this many
#: runs of frame order (each small segment of changed documents interleaves with the big ones).
COMPACT_RUNS = 256
#: Compression of the Arrow buffers: zstd reads as fast as lz4 here (decoding 490 MB of
#: columns takes ~0.3 s either way) and stores a third of lz4's bytes. (A pyarrow built
#: without zstd writes uncompressed buffers; the codec is part of :func:`frames_format`.)
COMPRESSION = "zstd" if pa.Codec.is_available("zstd") else None
#: One thread: on a shared 2-core machine Arrow's thread pool made decoding 3–8× slower.
#: (Decoded into the system allocator: Arrow's default, mimalloc, spent 3× its system time.)
_READ = pa.ipc.IpcReadOptions(use_threads=False)


@functools.cache
def frames_format() -> str:
    """The version of the materialised products this code reads and writes.

    A digest of :data:`FORMAT_VERSION`, the frame schemas, the source of the modules that
    make the products (``load.py``, ``frames.py``, this module) and the pandas and pyarrow
    versions: any change rebuilds the materialisation from the documents on the next load.

    Examples
    --------
    >>> len(frames_format())
    16
    """
    from . import frames, load

    digest = hashlib.sha256()
    digest.update(
        repr((FORMAT_VERSION, SCHEMAS, PART_DOC_COLUMNS, PART_FRAMES, COMPRESSION)).encode()
    )
    digest.update(f"{pd.__version__} {pa.__version__}".encode())
    for module in (load, frames):
        digest.update(_source(module.__file__))
    digest.update(_source(__file__))
    return digest.hexdigest()[:16]


def _source(path: str | None) -> bytes:
    try:
        return Path(path or "").read_bytes()
    except OSError:  # no source shipped (compiled only): the package version stands for it
        from . import __version__

        return str(__version__).encode()


def encode(parts: FrameParts) -> dict[str, bytes]:
    """``part -> Arrow IPC stream`` of ``parts``: ``docs`` and each frame.

    Examples
    --------
    >>> from milo_analytics.frames import FrameParts
    >>> list(encode(FrameParts.empty("interviews")))
    ['docs', 'interviews', 'scores', 'transcript', 'highlights']
    """
    options = pa.ipc.IpcWriteOptions(compression=COMPRESSION, use_threads=False)
    out = {}
    for name, frame in (("docs", parts.docs), *parts.frames.items()):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
            writer.write_table(table)
        out[name] = sink.getvalue().to_pybytes()
    return out


def decode(kind: str, blobs: dict[str, bytes]) -> FrameParts:
    """The inverse of :func:`encode` (dtypes restored from the stored pandas metadata).

    Examples
    --------
    >>> from milo_analytics.frames import FrameParts
    >>> parts = FrameParts.empty("interviews")
    >>> back = decode("interviews", encode(parts))
    >>> all(back.frames[n].dtypes.equals(parts.frames[n].dtypes) for n in parts.frames)
    True
    """
    return _parts(kind, {name: [_table(data)] for name, data in blobs.items()})


def _table(blob: bytes) -> pa.Table:
    stream = pa.ipc.open_stream(
        pa.py_buffer(blob), options=_READ, memory_pool=pa.system_memory_pool()
    )
    return stream.read_all()


def _parts(kind: str, tables: dict[str, list[pa.Table]]) -> FrameParts:
    """FrameParts from the Arrow tables of several segments: concatenated as Arrow (no copy),
    then turned into pandas once per frame (text columns stay in the Arrow buffers)."""

    def frame(name: str) -> pd.DataFrame:
        return pa.concat_tables(tables[name]).to_pandas(use_threads=False)

    return FrameParts(kind, frame("docs"), {name: frame(name) for name in PART_FRAMES[kind]})


def _keep(kind: str, segment: dict[str, pa.Table], keep: np.ndarray) -> dict[str, pa.Table]:
    """A segment's tables restricted to the documents where ``keep`` is true (and their rows)."""
    docs = segment["docs"]
    out = {"docs": docs.filter(pa.array(keep))}
    for name in PART_FRAMES[kind]:
        counts = docs.column(f"n_{name}").to_numpy()
        out[name] = segment[name].filter(pa.array(np.repeat(keep, counts)))
    return out


def _isin(keys: pa.ChunkedArray, wanted: Sequence[str]) -> np.ndarray:
    found = pc.is_in(keys, value_set=pa.array(list(wanted), type=keys.type))
    return found.fill_null(False).to_numpy(zero_copy_only=False)


@dataclass
class Materialised:
    """What a load found materialised for one posting and kind of document.

    Attributes
    ----------
    posting_id, kind : str
    current : FrameParts
        Products of the documents whose products are current, segment by segment.
    missing : list of str
        Documents without current products (new, changed, or nothing usable materialised),
        sorted.
    changes : int
        The posting's change counter when read (see :meth:`Store.save_frame_segments`).
    savable : bool
        Whether products may be saved: not when the store lacks the triggers that keep them
        consistent (a store changed by hand).
    dead, held : int
        Documents the segments hold whose products are no longer current; documents they
        hold.
    """

    posting_id: str
    kind: str
    current: FrameParts
    missing: list[str]
    changes: int
    savable: bool = True
    dead: int = 0
    held: int = 0


def read(store: Store, posting_id: str, kind: str) -> Materialised:
    """The current materialised products of a posting's documents of ``kind``, and which
    documents lack them (one consistent snapshot of the store).

    Nothing materialised is used when it is of another :func:`frames_format`, when the
    triggers that keep it consistent are missing, or when a document is recorded as held by
    a segment that is not there: then every document is parsed again.

    Examples
    --------
    >>> from milo_analytics.load import frames_from_store
    >>> with Store(":memory:") as store:
    ...     store.save_posting("P1", {"id": "P1"})
    ...     store.save_candidates("P1", [{"interview_id": "I1", "posting_id": "P1",
    ...                                   "status": "pending"}])
    ...     before = read(store, "P1", "candidates").missing
    ...     _ = frames_from_store(store, ["P1"])  # parses the record, saves its products
    ...     after = read(store, "P1", "candidates")
    ...     before, after.missing, after.current.docs["key"].tolist()
    (['I1'], [], ['I1'])
    """
    with store.snapshot():
        changes = store.frame_changes(posting_id)
        savable = store.frame_triggers_present()
        segments = store.frame_segments(posting_id, kind) if savable else []
        usable = (
            savable
            and store.frame_format() == frames_format()
            and sum(live for _, _, live in segments) == store.frame_member_count(posting_id, kind)
        )
        missing = store.frame_missing(posting_id, kind, everything=not usable)
        if not usable:
            return Materialised(posting_id, kind, FrameParts.empty(kind), missing, changes, savable)
        tables: dict[str, list[pa.Table]] = {n: [] for n in ("docs", *PART_FRAMES[kind])}
        dead = held = 0
        for segment, documents, live in segments:
            held += documents
            dead += documents - live
            if not live:
                continue
            try:
                parts = _segment_tables(kind, store.frame_segment_parts(segment), documents)
            except _Unreadable as exc:
                # the materialisation is a cache: parse every document again (and save the
                # products afresh, which drops the unreadable segment)
                logger.warning(
                    "materialised frames of posting %s are unreadable (segment %d: %s); "
                    "parsing its documents again",
                    posting_id,
                    segment,
                    exc,
                )
                missing = store.frame_missing(posting_id, kind, everything=True)
                return Materialised(posting_id, kind, FrameParts.empty(kind), missing, changes)
            keys = parts["docs"].column("key")
            keep = np.ones(len(keys), dtype=bool)
            if live < documents:
                keep &= _isin(keys, store.frame_segment_members(posting_id, kind, segment))
            if missing:
                keep &= ~_isin(keys, missing)
            if not keep.all():
                parts = _keep(kind, parts, keep)
            for name, table in parts.items():
                tables[name].append(table)
    current = _parts(kind, tables) if tables["docs"] else FrameParts.empty(kind)
    return Materialised(posting_id, kind, current, missing, changes, savable, dead, held)


class _Unreadable(Exception):
    """Internal: a stored segment does not decode, or does not hold what it says."""


def _segment_tables(kind: str, blobs: dict[str, bytes], documents: int) -> dict[str, pa.Table]:
    """A segment's tables, checked: every part there, ``documents`` documents, and as many
    rows in each frame as the documents' row counts add up to."""
    names = ("docs", *PART_FRAMES[kind])
    if set(blobs) != set(names):
        raise _Unreadable(f"parts {sorted(blobs)}, expected {sorted(names)}")
    try:
        tables = {name: _table(blobs[name]) for name in names}
        docs = tables["docs"]
        counts = {n: pc.sum(docs.column(f"n_{n}")).as_py() or 0 for n in PART_FRAMES[kind]}
    except (pa.ArrowException, KeyError, ValueError, OSError) as exc:
        raise _Unreadable(f"{type(exc).__name__}: {exc}") from None
    if docs.num_rows != documents or any(tables[n].num_rows != counts[n] for n in counts):
        raise _Unreadable("row counts do not add up")
    return tables


def posting_parts(
    store: Store,
    posting_id: str,
    kind: str,
    parse: Callable[[Sequence[tuple[Any, ...]]], FrameParts],
) -> FrameParts:
    """The products of every document of ``kind`` the store holds for the posting: read
    where materialised and current, otherwise parsed (``parse`` takes the rows of
    :meth:`Store.frame_sources`) and saved as new segments (best effort).

    Saving stops, without an error, when the store cannot be written (read-only, locked) or
    a document of the posting changed meanwhile: the products returned are still right for
    what was read.

    Examples
    --------
    >>> from milo_analytics.frames import FrameParts
    >>> with Store(":memory:") as store:
    ...     store.save_posting("P1", {"id": "P1"})
    ...     store.save_candidates("P1", [{"interview_id": "I1", "posting_id": "P1"}])
    ...     seen = []
    ...     def parse(rows):  # what milo_analytics.load passes: rows -> FrameParts
    ...         seen.extend(r[0] for r in rows)
    ...         return FrameParts.build("candidates", {"key": [r[0] for r in rows]}, {
    ...             "candidates": FrameParts.empty("candidates").frames["candidates"]})
    ...     first = posting_parts(store, "P1", "candidates", parse)
    ...     again = posting_parts(store, "P1", "candidates", parse)  # read, not parsed
    ...     seen, again.docs["key"].tolist()
    (['I1'], ['I1'])
    """
    found = read(store, posting_id, kind)
    pieces = [found.current]
    saving = found.savable
    for start in range(0, len(found.missing), SEGMENT_DOCUMENTS):
        ids = found.missing[start : start + SEGMENT_DOCUMENTS]
        parts = parse(store.frame_sources(posting_id, kind, ids))
        pieces.append(parts)
        if saving:
            saving = _save(store, found, [_segment(parts)])
    parts = FrameParts.concat(kind, pieces)
    if saving and _needs_compaction(found, parts):
        parts = _compact(store, found, parts)
    return parts


def _segment(parts: FrameParts) -> FrameSegment:
    rows = sum(len(f) for f in parts.frames.values())
    members = parts.docs["key"].tolist()
    return FrameSegment(encode(parts), documents=len(parts), rows=rows, members=members)


def _save(
    store: Store, found: Materialised, segments: list[FrameSegment], *, replace: bool = False
) -> bool:
    """Save segments; False (and nothing saved) when the store cannot be written or a
    document of the posting changed since ``found`` was read."""
    try:
        saved = store.save_frame_segments(
            found.posting_id,
            found.kind,
            segments,
            frames_format=frames_format(),
            changes=found.changes,
            replace=replace,
        )
    except MiloError as exc:  # read-only or locked: the frames load all the same
        logger.info("frames of posting %s not materialised: %s", found.posting_id, exc)
        return False
    if not saved:
        logger.info(
            "posting %s changed while its frames were built: not materialised this time",
            found.posting_id,
        )
    return saved


def _order(found: Materialised, parts: FrameParts) -> np.ndarray:
    """Positions putting the documents of ``parts`` in frame order."""
    return frame_order(parts.docs["posting_id"].fillna(found.posting_id), parts.docs["key"])


def _runs(order: np.ndarray) -> int:
    return 1 + int(np.count_nonzero(np.diff(order) != 1)) if len(order) else 0


def _needs_compaction(found: Materialised, parts: FrameParts) -> bool:
    if not found.held:
        return False
    if found.dead > COMPACT_DEAD_SHARE * found.held:
        return True
    return _runs(_order(found, parts)) > COMPACT_RUNS


def _compact(store: Store, found: Materialised, parts: FrameParts) -> FrameParts:
    """Rewrite the posting's products of ``found.kind`` in frame order, in segments of
    :data:`SEGMENT_DOCUMENTS` (one transaction: the old segments go with it)."""
    ordered = parts.take(_order(found, parts))
    segments = []
    for start in range(0, len(ordered), SEGMENT_DOCUMENTS):
        chunk = ordered.take(np.arange(start, min(start + SEGMENT_DOCUMENTS, len(ordered))))
        segments.append(_segment(chunk))
    if _save(store, found, segments, replace=True):
        logger.info(
            "posting %s: %s products compacted into %d segments (%d dead documents dropped)",
            found.posting_id,
            found.kind,
            math.ceil(len(ordered) / SEGMENT_DOCUMENTS),
            found.dead,
        )
    return ordered
