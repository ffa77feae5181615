"""A deliberately hostile HTTP/1.1 server on 127.0.0.1, for hardening tests of HeyMiloClient.

It speaks raw sockets (one thread per connection) so it can do what no well-behaved framework
would: trickle a response one byte at a time, never answer, announce a gigabyte, send a gzip
bomb, nest JSON 100,000 levels deep, or page forever with fresh cursors.

Set ``server.mode`` to one of :data:`MODES` before a request; the mode applies to every path
except in the listing modes, which serve a valid posting and question list so that
``load_posting`` reaches the candidate listing. ``server.requests`` records request lines.

Examples
--------
>>> with HostileServer() as server:  # doctest: +SKIP
...     server.mode = "slow-body"
...     HeyMiloClient(api_key="k", base_url=server.base_url, deadline=2).postings.retrieve("P1")
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
import threading
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["GIGABYTE", "MODES", "HostileServer"]

GIGABYTE = 1 << 30

MODES = {
    "ok": "a valid posting document, at once",
    "slow-body": "valid headers, then the body one byte per `interval` seconds",
    "slow-headers": "the status line and headers one byte per `interval` seconds",
    "silent": "accepts the request and never sends a byte",
    "giant-body": "announces 1 GiB (Content-Length) and streams it",
    "giant-chunked": "streams 1 GiB with chunked encoding (no Content-Length)",
    "gzip-bomb": "about 1 MiB of gzip that inflates to 1 GiB",
    "nested": "a 200 body with JSON nested 100,000 levels deep",
    "nested-error": "a 500 body with JSON nested 100,000 levels deep",
    "nan": "a document with a NaN literal",
    "infinity": "a document with an Infinity literal",
    "huge-number": "a document with 1e400 (beyond a 64-bit float)",
    "garbage": "64 KiB of random bytes labelled application/json",
    "endless-pages": "candidate pages forever, fresh cursors, has_more always true",
    "endless-pages-total": "the same, claiming total_count=250",
    "repeated-cursor": "the same candidate page (same last cursor) forever",
}

_POSTING = {"object": "posting", "id": "P1", "title": "Hostile Rep"}
_CHUNK = 64 * 1024


def _gzip_bomb_parts() -> tuple[bytes, bytes, bytes, int]:
    """(head, first 1 MiB block, every further 1 MiB block, blocks): the deflate output of
    repeated identical blocks after a full flush is itself identical, so 1 GiB costs ~1 MiB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = comp.compress(b'{"data": {"id": "P1", "title": "')
    block = b"a" * (1 << 20)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    return head, first, again, GIGABYTE >> 20


class HostileServer:
    """A raw-socket HTTP server on 127.0.0.1 whose behaviour is chosen by ``mode``.

    Parameters
    ----------
    mode
        One of :data:`MODES`.
    interval
        Seconds between bytes in the slow modes.
    """

    def __init__(self, mode: str = "ok", *, interval: float = 1.0) -> None:
        self.mode = mode
        self.interval = interval
        self.requests: list[str] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.02)  # how often accept() looks at stop(): each test waits
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/v2"
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._pages = itertools.count()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> HostileServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(5)

    # ------------------------------------------------------------------ plumbing
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytearray) -> str | None:
        """The request line of the next request on ``conn`` (its body is discarded)."""
        while b"\r\n\r\n" not in buffer:
            if self._stop.is_set():
                return None
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return None
            if not data:
                return None
            buffer += data
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None
            rest += data
        buffer[:] = rest[length:]
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        with self._lock:
            self.requests.append(line)
        return line

    def _send(self, conn: socket.socket, data: bytes) -> bool:
        try:
            conn.sendall(data)
        except OSError:
            return False
        with self._lock:
            self.bytes_sent += len(data)
        return True

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if not self._send(conn, data[i : i + 1]) or self._stop.wait(self.interval):
                return

    @staticmethod
    def _head(status: int, headers: dict[str, str]) -> bytes:
        reason = {200: "OK", 500: "Internal Server Error"}.get(status, "OK")
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _json(self, conn: socket.socket, body: bytes, status: int = 200) -> bool:
        head = self._head(
            status, {"Content-Type": "application/json", "Content-Length": str(len(body))}
        )
        return self._send(conn, head + body)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = bytearray()
        try:
            while not self._stop.is_set():
                line = self._read_request(conn, buffer)
                if line is None:
                    return
                if not self._answer(conn, line):
                    return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    # ------------------------------------------------------------------ behaviours
    def _answer(self, conn: socket.socket, line: str) -> bool:
        """Answer one request; False closes the connection."""
        mode = self.mode
        target = line.split(" ")[1] if " " in line else "/"
        url = urlsplit(target)
        path = url.path.removeprefix("/api/v2")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        doc = json.dumps({"data": _POSTING, "meta": None}).encode()

        if mode in ("endless-pages", "endless-pages-total", "repeated-cursor"):
            return self._listing(conn, path, query, mode)
        if mode == "ok":
            return self._json(conn, doc)
        if mode == "slow-body":
            self._send(
                conn,
                self._head(
                    200, {"Content-Type": "application/json", "Content-Length": str(len(doc))}
                ),
            )
            self._trickle(conn, doc)
            return False
        if mode == "slow-headers":
            head = self._head(
                200, {"Content-Type": "application/json", "Content-Length": str(len(doc))}
            )
            self._trickle(conn, head + doc)
            return False
        if mode == "silent":
            self._stop.wait()
            return False
        if mode in ("giant-body", "giant-chunked"):
            self._giant(conn, chunked=mode == "giant-chunked")
            return False
        if mode == "gzip-bomb":
            head, first, again, blocks = _gzip_bomb_parts()
            self._send(
                conn,
                self._head(
                    200,
                    {
                        "Content-Type": "application/json",
                        "Content-Encoding": "gzip",
                        "Content-Length": str(len(head) + len(first) + len(again) * (blocks - 1)),
                    },
                ),
            )
            for part in itertools.chain([head, first], itertools.repeat(again, blocks - 1)):
                if self._stop.is_set() or not self._send(conn, part):
                    break
            return False
        if mode in ("nested", "nested-error"):
            depth = 100_000
            body = b'{"data": ' + b"[" * depth + b"]" * depth + b"}"
            return self._json(conn, body, 500 if mode == "nested-error" else 200)
        if mode == "nan":
            return self._json(conn, b'{"data": {"id": "P1", "title": "x", "score": NaN}}')
        if mode == "infinity":
            return self._json(conn, b'{"data": {"id": "P1", "title": "x", "score": -Infinity}}')
        if mode == "huge-number":
            return self._json(conn, b'{"data": {"id": "P1", "title": "x", "score": 1e400}}')
        if mode == "garbage":
            return self._json(conn, random.Random(7).randbytes(_CHUNK))
        raise ValueError(f"unknown hostile mode {mode!r}; use one of {sorted(MODES)}")

    def _giant(self, conn: socket.socket, *, chunked: bool) -> None:
        prefix = b'{"data": {"id": "P1", "title": "'
        filler = b"x" * _CHUNK
        headers = {"Content-Type": "application/json"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(GIGABYTE)
        if not self._send(conn, self._head(200, headers)):
            return
        pieces: Iterator[bytes] = itertools.chain(
            [prefix], itertools.repeat(filler, (GIGABYTE - len(prefix)) // _CHUNK)
        )
        frame = f"{_CHUNK:x}\r\n".encode()
        for piece in pieces:
            if self._stop.is_set():
                return
            data = (
                (f"{len(piece):x}\r\n".encode() if piece is prefix else frame) if chunked else b""
            )
            if not self._send(conn, data + piece + (b"\r\n" if chunked else b"")):
                return

    def _listing(self, conn: socket.socket, path: str, query: dict[str, str], mode: str) -> bool:
        if path == "/postings/P1":
            return self._json(conn, json.dumps({"data": _POSTING, "meta": None}).encode())
        if path == "/postings/P1/questions":
            body = {"data": [], "pagination": {"has_more": False, "total_count": 0}}
            return self._json(conn, json.dumps(body).encode())
        if path != "/postings/P1/candidates":
            return self._json(conn, b'{"error": {"message": "not found"}}', 500)
        limit = int(query.get("limit", 100))
        page = 0 if mode == "repeated-cursor" else next(self._pages)
        items: list[dict[str, Any]] = [
            {
                "interview_id": f"I{page:07d}-{i:03d}",
                "posting_id": "P1",
                "name": "Pat Doe",
                "email": f"p{page}.{i}@example.com",
                "status": "pending",
                "created_at": 1_700_000_000 + page,
            }
            for i in range(limit)
        ]
        pagination: dict[str, Any] = {"has_more": True, "url": "/postings/P1/candidates"}
        if mode == "endless-pages-total":
            pagination["total_count"] = 250
        return self._json(conn, json.dumps({"data": items, "pagination": pagination}).encode())
