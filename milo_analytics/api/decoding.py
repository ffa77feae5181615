"""Strict, bounded decoding of HTTP bodies: JSON that can be stored, and size-capped streams.

What the client hands on must be something the loader can store and read back unchanged
(:func:`milo_analytics.store.pack_document` writes it with orjson). So a body is refused,
with a reason naming the offending bytes, when it

* is nested deeper than :data:`MAX_JSON_DEPTH` levels (checked on the raw bytes, in linear
  time, *before* any parser recurses into it — orjson before 3.9.15 crashes the interpreter on
  deep nesting, the standard library raises ``RecursionError``);
* carries ``NaN``/``Infinity`` literals, which are not JSON (the standard library accepts them;
  orjson would write them back as ``null``);
* holds a number beyond a 64-bit float (``1e400``), invalid UTF-8 or a lone surrogate.

A body is read with :func:`read_capped`, which stops as soon as the *decoded* size passes the
cap (a gzip bomb is inflated at most one cap's worth) and checks a deadline between chunks.

Examples
--------
>>> loads(b'{"data": [1, 2.5, "x"]}')
{'data': [1, 2.5, 'x']}
>>> loads(b'{"score": NaN}')
Traceback (most recent call last):
...
milo_analytics.api.decoding.UnsafeJSONError: NaN/Infinity is not JSON (at byte 10: b'{"score": NaN}')
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson

__all__ = [
    "MAX_JSON_DEPTH",
    "BodyTooLargeError",
    "DeadlineHit",
    "UnsafeJSONError",
    "exceeds_depth",
    "loads",
    "read_capped",
]

#: Deepest nesting a document may have. HeyMilo documents are at most ~8 levels deep; this is
#: far below what orjson writes back (255), what Python recursion takes (1,000) and what
#: orjson 3.9.15+ parses (1,024).
MAX_JSON_DEPTH = 100

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
#: translate() table argument: delete every byte except the quote and the four brackets.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_OPEN = (ord("["), ord("{"))
_BOM = b"\xef\xbb\xbf"
#: Largest piece inflated at once from a compressed body.
_INFLATE_STEP = 1 << 20


class UnsafeJSONError(ValueError):
    """A body that is not JSON the toolkit can store (see the module docstring)."""


class BodyTooLargeError(ValueError):
    """The decoded body passed the cap; ``received`` bytes were read before stopping."""

    def __init__(self, limit: int, received: int, declared: int | None = None) -> None:
        self.limit = limit
        self.received = received
        self.declared = declared
        super().__init__(f"body larger than {limit} bytes")


class DeadlineHit(Exception):
    """The attempt's deadline passed (a signal; the client raises DeadlineExceededError)."""


def exceeds_depth(content: bytes | bytearray, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays/objects more than ``limit`` levels deep.

    Works on the raw bytes in linear time, without parsing: escapes are dropped, strings are
    skipped, and the depth of the remaining brackets is a running sum. Unbalanced opening
    brackets count as depth too (a parser would recurse into them before failing).

    Examples
    --------
    >>> exceeds_depth(b'{"a": [[1]], "b": "[[[[[[[["}', limit=3)
    False
    >>> exceeds_depth(b"[" * 5 + b"]" * 5, limit=4)
    True
    """
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    text = _ESCAPE.sub(b"", content) if b"\\" in content else bytes(content)
    skeleton = text.translate(None, _NOT_STRUCTURE)
    outside = b"".join(skeleton.split(b'"')[::2])  # even parts lie outside strings
    if outside.count(b"[") + outside.count(b"{") <= limit:
        return False
    import numpy as np

    steps = np.frombuffer(outside, dtype=np.uint8)
    depth = 0
    for start in range(0, len(steps), 1 << 20):  # bounded memory on a 50 MB body
        block = steps[start : start + (1 << 20)]
        delta = np.where((block == _OPEN[0]) | (block == _OPEN[1]), 1, -1).astype(np.int64)
        running = np.cumsum(delta) + depth
        if running.max() > limit:
            return True
        depth = int(running[-1])
    return False


def _snippet(content: bytes | bytearray, pos: int, width: int = 24) -> bytes:
    return bytes(content[max(0, pos - width) : pos + width])


_POSITION = re.compile(r"\(char (\d+)\)")


def loads(content: bytes | bytearray, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a JSON body strictly (see the module docstring); :class:`UnsafeJSONError` names
    the reason and shows the bytes around the offending position.

    Examples
    --------
    >>> loads(b'{"n": 1e400}')
    Traceback (most recent call last):
    ...
    milo_analytics.api.decoding.UnsafeJSONError: a number beyond the range of a 64-bit float (at byte 6: b'{"n": 1e400}')
    """
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    if exceeds_depth(content, max_depth):
        raise UnsafeJSONError(f"nested deeper than {max_depth} levels")
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        found = _POSITION.search(message)
        pos = int(found.group(1)) if found else 0
        near = _snippet(content, pos)
        head = bytes(content[pos : pos + 9]).lstrip(b"-")
        if head.startswith((b"NaN", b"Infinity")):
            reason = "NaN/Infinity is not JSON"
        elif "infinity when parsed" in message:
            reason = "a number beyond the range of a 64-bit float"
        elif "surrogate" in message:
            reason = "a lone UTF-16 surrogate escape (not valid Unicode)"
        elif "UTF-8" in message:
            reason = "bytes that are not valid UTF-8"
        else:
            reason = f"not valid JSON: {message.split(':')[0]}"
        raise UnsafeJSONError(f"{reason} (at byte {pos}: {near!r})") from None


def read_capped(
    chunks: Iterable[bytes],
    *,
    limit: int | None,
    content_encoding: str | None = None,
    declared_length: int | None = None,
    check_deadline: Callable[[], bool] | None = None,
) -> bytearray:
    """Read a body from raw (still encoded) chunks, never holding more than ``limit`` decoded
    bytes; :class:`BodyTooLargeError` as soon as it would, :class:`DeadlineHit` when
    ``check_deadline()`` turns true between chunks.

    ``content_encoding`` may be absent/``identity``, ``gzip``/``x-gzip`` or ``deflate``
    (zlib-wrapped or raw); anything else is an :class:`UnsafeJSONError`.

    Examples
    --------
    >>> import gzip
    >>> bytes(read_capped([gzip.compress(b"x" * 10)], limit=100, content_encoding="gzip"))
    b'xxxxxxxxxx'
    >>> read_capped([gzip.compress(b"x" * 10_000)], limit=100, content_encoding="gzip")
    Traceback (most recent call last):
    ...
    milo_analytics.api.decoding.BodyTooLargeError: body larger than 100 bytes
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
        raise UnsafeJSONError(
            f"Content-Encoding {content_encoding!r} is not supported (the client asks for "
            "gzip or deflate)"
        )
    if not codings and None not in (limit, declared_length) and declared_length > limit:  # type: ignore[operator]
        raise BodyTooLargeError(limit, 0, declared_length)  # type: ignore[arg-type]
    # wbits 47 = 32 + 15: zlib recognises a gzip or a zlib header by itself.
    decoder = zlib.decompressobj(47) if codings else None
    if codings:
        declared_length = None  # it counts encoded bytes; the cap counts decoded ones
    raw_deflate = False
    first = True
    body = bytearray()

    def add(data: bytes) -> None:
        body.extend(data)
        if limit is not None and len(body) > limit:
            raise BodyTooLargeError(limit, len(body), declared_length)

    for chunk in chunks:
        if decoder is None:
            add(chunk)
        else:
            pending = chunk
            while pending:  # inflate in steps, so at most one step sits beside the body
                try:
                    data = decoder.decompress(pending, _INFLATE_STEP)
                except zlib.error:
                    if not (first and codings[0] == "deflate" and not raw_deflate):
                        raise UnsafeJSONError(f"the body is not valid {codings[0]} data") from None
                    raw_deflate = True  # some servers send deflate without the zlib wrapper
                    decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                first = False
                add(data)
                pending = decoder.unconsumed_tail
        if check_deadline is not None and check_deadline():
            raise DeadlineHit()
    if decoder is not None:
        try:
            add(decoder.flush())
        except zlib.error:
            raise UnsafeJSONError(f"the body is not valid {codings[0]} data") from None
    return body
