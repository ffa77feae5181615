"""Run `milo-analytics` in the test process, as a fresh shell process would run it.

A real process pays 1–3 s of interpreter start and imports before it does anything (issue 15);
where the process itself is not the point (exit status as the shell sees it, signals, OS-level
streams, the console script: see tests/test_cli_exit_codes.py), tests call
:func:`milo_analytics.cli.main` here instead. What a fresh process would do differently is
reproduced for the duration of the call:

- the environment holds no ``HEYMILO_*``/``MILO_*`` variable but those given (``key`` is
  ``HEYMILO_API_KEY``), and ``COLUMNS`` (80 unless told), as in the subprocess helpers it
  replaces; the test's own environment is restored afterwards;
- log records of WARNING and above go to stderr, as Python's last-resort handler prints them in
  a process where nothing configured logging (pytest's log capture would swallow them), except
  those of a server the test runs in this process (the sandbox), which a CLI process would not
  print;
- warnings that are not milo_analytics' own (which the CLI prints itself) are printed on stderr
  the way Python prints them, instead of being recorded by pytest; deprecation warnings stay
  hidden as in a process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Loggers of the servers a test runs in this process (the in-process sandbox): their records
#: would not reach the stderr of a separate CLI process.
_SERVER_LOGGERS = ("uvicorn", "asyncio", "milo_analytics.sandbox")


class _StderrAtEmit(logging.Handler):
    """Like :data:`logging.lastResort`: the message only, on whatever sys.stderr is now."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(_SERVER_LOGGERS) and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


@contextlib.contextmanager
def process_streams() -> Iterator[None]:
    """Inside, stderr gets what a fresh process would print on it besides the CLI's own lines:
    log records of WARNING and above (not the in-process servers'), and warnings that are not
    milo_analytics' own (the CLI prints those itself), deprecation warnings left out."""
    root = logging.getLogger()
    handler = _StderrAtEmit(logging.WARNING)
    root.addHandler(handler)
    try:
        with warnings.catch_warnings():  # filters and showwarning restored afterwards
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
            warnings.showwarning = _print_warning  # not recorded by pytest: printed, as Python does
            yield
    finally:
        root.removeHandler(handler)


def _print_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli(
    capsys: pytest.CaptureFixture[str],
    *args: str,
    key: str | None = None,
    env: dict[str, str] | None = None,
    columns: int = 80,
) -> tuple[int, str, str]:
    """`milo-analytics ARGS` in this process: (exit code, stdout, stderr).

    ``key`` is the HEYMILO_API_KEY (unset when None), ``env`` more variables.

    Examples
    --------
    >>> code, out, err = run_cli(capsys, "postings", "--offline", key="")  # doctest: +SKIP
    """
    from milo_analytics.cli import main

    capsys.readouterr()  # what the test printed before is not the command's output
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("HEYMILO_", "MILO_")):
                mp.delenv(name)
        mp.setenv("COLUMNS", str(columns))
        if key is not None:
            mp.setenv("HEYMILO_API_KEY", key)
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        with process_streams():
            code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def copy_store(src: Path, dst: Path, served_by: Any = None) -> Path:
    """A consistent copy of a SQLite store (its WAL included) through SQLite's backup API: a
    module fixture's pulled store, for a command that would write to it (an incremental pull
    lists the candidates over HTTP and fetches no document again).

    ``served_by``: a sandbox serving the same world as the one the store was pulled from (the
    other xdist worker's, on another port): the copy records its address as every posting's
    source, or a pull from it would start afresh (a store keeps what one server sent)."""
    # private like every store the toolkit creates (it holds candidate names and emails)
    os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    if served_by is not None:
        from milo_analytics.store import Store

        with Store(dst) as store:
            for posting in served_by.world.postings:
                store.save_posting(posting["id"], None, source=served_by.base_url)
    return dst
