"""The one error tree of milo_analytics.

Every error a user can cause derives from :class:`MiloError` and says what was wrong
(with the offending value) and what to do about it. HTTP errors are built in one place,
:func:`milo_analytics.api.errors.error_from_response`, from the status code and both
HeyMilo error bodies.

One message, two renderings
---------------------------
A user reaches the same failure from Python or from the ``milo-analytics`` command line, and the
fix is worded differently on each surface: a Python caller passes a parameter
(``race_ethnicity='Ethnic Group'``), a CLI user a flag (``--race-column 'Ethnic Group'``). So a
:class:`MiloError` takes the problem as its message and the fix as two optional hints:

- ``python_hint``: appended to the message by ``str(exc)`` (what Python users, notebooks and
  logs see);
- ``cli_hint``: appended instead by :meth:`MiloError.cli_message`, which ``cli.main()`` prints.
  Without a ``cli_hint`` the CLI prints ``str(exc)``, so messages that have not been given one
  yet read as before.

The hint is joined to the message with ``"; "`` (or a space after ``.``, ``?``, ``!`` or ``:``).
An error raised without hints behaves exactly like a plain exception with that message.

Examples
--------
>>> from milo_analytics.errors import MiloError, DataError
>>> try:
...     raise DataError("outcomes file has no key column; found ['a', 'b']; pass key='email'")
... except MiloError as exc:
...     print(type(exc).__name__)
DataError
>>> err = DataError("no race/ethnicity column; did you mean 'Ethnic Group'?",
...                 python_hint="pass race_ethnicity='Ethnic Group'",
...                 cli_hint="pass --race-column 'Ethnic Group'")
>>> str(err)
"no race/ethnicity column; did you mean 'Ethnic Group'? pass race_ethnicity='Ethnic Group'"
>>> err.cli_message()
"no race/ethnicity column; did you mean 'Ethnic Group'? pass --race-column 'Ethnic Group'"
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AuthenticationError",
    "ConfigError",
    "DataError",
    "InsufficientDataError",
    "MiloError",
    "MiloWarning",
    "NotFoundError",
    "Note",
    "PushConflictError",
    "PushError",
    "RateLimitError",
    "ServerError",
    "StorePermissionWarning",
    "UnfinishedSyncWarning",
    "ValidationError",
    "WeightConflictError",
    "warning_stacklevel",
    "with_hint",
]


def with_hint(message: str, hint: str | None) -> str:
    """``message`` followed by ``hint`` (after ``"; "``, or a space after ``.?!:``).

    Examples
    --------
    >>> with_hint("no such column", "pass sex='Gender'")
    "no such column; pass sex='Gender'"
    >>> with_hint("did you mean 'Gender'?", "pass sex='Gender'")
    "did you mean 'Gender'? pass sex='Gender'"
    """
    if not hint:
        return message
    text = message.rstrip()
    if not text:
        return hint
    return f"{text} {hint}" if text[-1] in ".?!:" else f"{text}; {hint}"


class MiloError(Exception):
    """Root of every error milo_analytics raises on purpose.

    Parameters
    ----------
    *args
        The message (what is wrong, with the offending value), as for any exception.
    python_hint, cli_hint
        What to do about it, for a Python caller (naming parameters) and for the command line
        (naming flags and commands); see the module docstring. ``str(exc)`` ends with
        ``python_hint``, :meth:`cli_message` with ``cli_hint``.

    Attributes
    ----------
    detail : str
        The message without any hint.
    python_hint, cli_hint : str or None
    """

    def __init__(
        self, *args: Any, python_hint: str | None = None, cli_hint: str | None = None
    ) -> None:
        self.detail = str(args[0]) if args else ""
        self.python_hint = python_hint
        self.cli_hint = cli_hint
        if args and python_hint:
            args = (with_hint(self.detail, python_hint), *args[1:])
        super().__init__(*args)

    def cli_message(self) -> str:
        """The message as the command line prints it: with ``cli_hint`` (else ``str(self)``).

        Examples
        --------
        >>> MiloError("bad", python_hint="pass x=1", cli_hint="pass --x 1").cli_message()
        'bad; pass --x 1'
        >>> MiloError("bad", python_hint="pass x=1").cli_message()
        'bad; pass x=1'
        """
        if self.cli_hint is None:
            return str(self)
        return with_hint(self.detail, self.cli_hint)


class Note(str):
    """A message kept as text (a ``str``, in Python's words) that carries its command-line
    wording in ``.cli``: the notes of a push plan, the problems of a report. The CLI prints
    :meth:`cli_message`.

    Examples
    --------
    >>> n = Note("needs allow_keep=True", cli="needs --allow-keep")
    >>> n, n.cli_message()
    ('needs allow_keep=True', 'needs --allow-keep')
    >>> Note.of(MiloError("bad", python_hint="pass x=1", cli_hint="pass --x 1"), "Audit: ")
    'Audit: bad; pass x=1'
    """

    cli: str

    def __new__(cls, text: str, *, cli: str | None = None) -> Note:
        note = super().__new__(cls, text)
        note.cli = str(text) if cli is None else cli
        return note

    @classmethod
    def of(cls, exc: BaseException, prefix: str = "", clean: Any = None) -> Note:
        """``prefix`` + the error's message, with its CLI wording when it has one; ``clean``
        (e.g. a redaction) is applied to both texts."""
        cli = exc.cli_message() if isinstance(exc, MiloError) else str(exc)
        tidy = clean or (lambda text: text)
        return cls(prefix + tidy(str(exc)), cli=prefix + tidy(cli))

    def cli_message(self) -> str:
        """The note as the command line prints it."""
        return self.cli


class MiloWarning(UserWarning):
    """Root of every warning milo_analytics issues on purpose.

    Like :class:`MiloError`, one message with two renderings of what to do (see the module
    docstring): ``str(w)`` ends with ``python_hint``, :meth:`cli_message` (what the
    ``milo-analytics`` command prints, as one line) with ``cli_hint``.

    Examples
    --------
    >>> w = MiloWarning("the pull did not finish", python_hint="run load_posting('P')",
    ...                 cli_hint="run `milo-analytics pull P`")
    >>> str(w), w.cli_message()
    ("the pull did not finish; run load_posting('P')", 'the pull did not finish; run `milo-analytics pull P`')
    """

    def __init__(
        self, message: str, *, python_hint: str | None = None, cli_hint: str | None = None
    ) -> None:
        self.detail = message
        self.python_hint = python_hint
        self.cli_hint = cli_hint
        super().__init__(with_hint(message, python_hint))

    def cli_message(self) -> str:
        """The warning as the command line prints it: with ``cli_hint`` (else ``str(self)``)."""
        if self.cli_hint is None:
            return str(self)
        return with_hint(self.detail, self.cli_hint)


class UnfinishedSyncWarning(MiloWarning):
    """Frames were built from a store whose last pull of a posting did not finish.

    Attributes
    ----------
    sync : milo_analytics.store.UnfinishedSync
        What the store holds from that pull and when it started (also in
        ``InterviewData.unfinished_syncs``).
    """

    def __init__(
        self,
        message: str,
        *,
        python_hint: str | None = None,
        cli_hint: str | None = None,
        sync: Any = None,
    ) -> None:
        super().__init__(message, python_hint=python_hint, cli_hint=cli_hint)
        self.sync = sync


class StorePermissionWarning(MiloWarning):
    """The store file, its WAL/SHM files or its folder can be read by other users.

    Attributes
    ----------
    paths : list of str
        The files and folders that are too open.
    """

    def __init__(self, message: str, *, paths: list[str] | None = None) -> None:
        super().__init__(message)
        self.paths = list(paths or [])


class ConfigError(MiloError):
    """Missing or inconsistent configuration (API key, base URL, paths, options)."""


class APIError(MiloError):
    """Anything that went wrong talking to the HeyMilo API.

    Parameters
    ----------
    message
        Human-readable message; never contains the API key.
    method, path
        The request that failed (path without host or query string).
    request_id
        The server's request id, when it sent one.
    hint
        What to do about it, for a Python caller (it may name parameters such as
        ``deadline=``); ``str(exc)`` ends with it. Also available as ``python_hint``.
    cli_hint
        The same advice for the command line (naming flags, commands or environment
        variables); :meth:`cli_message` ends with it instead. None: the CLI prints ``str(exc)``.

    Examples
    --------
    >>> err = APIError("no answer", method="GET", path="/api/v2/postings",
    ...                hint="check base_url=", cli_hint="check --base-url")
    >>> str(err)
    'GET /api/v2/postings: no answer — check base_url='
    >>> err.cli_message()
    'GET /api/v2/postings: no answer — check --base-url'
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        cli_hint: str | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        self.hint = hint
        super().__init__(self._compose())
        self.detail = self._compose_with(None)
        self.python_hint = hint
        self.cli_hint = cli_hint

    def _compose(self) -> str:
        return self._compose_with(self.hint)

    def _compose_with(self, hint: str | None) -> str:
        """The message with ``hint`` (the Python or the CLI one) after a dash."""
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}:")
        parts.append(self.message)
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        text = " ".join(parts)
        if hint:
            text += f" — {hint}"
        return text

    def cli_message(self) -> str:
        """The message as the command line prints it: with ``cli_hint`` (else ``str(self)``)."""
        if getattr(self, "cli_hint", None) is None:
            return str(self)
        return self._compose_with(self.cli_hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self.message, self.__dict__.copy()))


def _rebuild_api_error(cls: type[APIError], message: str, state: dict[str, Any]) -> APIError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._compose())
    return err


class APIConnectionError(APIError):
    """The request never got an HTTP answer (connection refused, reset, timeout)."""


class APIStatusError(APIError):
    """The server answered with an error status.

    Attributes
    ----------
    status_code : int
    code : str or None
        The machine-readable ``error.code`` of HeyMilo's error body.
    param : str or None
        The offending parameter, when the server named one.
    errors : list of dict
        Field-level details (``error.errors[]`` or FastAPI's ``detail[]``).
    body : object
        The parsed error body, for debugging.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        param: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.param = param
        self.errors = errors or []
        self.body = body
        self.retry_after = retry_after
        super().__init__(message, **kwargs)

    def _compose_with(self, hint: str | None) -> str:
        return f"[{self.status_code}] {super()._compose_with(hint)}"


class AuthenticationError(APIStatusError):
    """401/403: the API key is missing, wrong or lacks access."""


class NotFoundError(APIStatusError):
    """404: the posting, question, interview or webhook does not exist."""


class ValidationError(APIStatusError):
    """400/422: the server rejected the request body or parameters."""


class RateLimitError(APIStatusError):
    """429: too many requests for this key, after the client's retries."""


class ServerError(APIStatusError):
    """5xx: the server failed, after the client's retries."""


class DataError(MiloError, ValueError):
    """Bad input data: a file or frame without a needed column, a wrong scale, a malformed record."""


class InsufficientDataError(DataError):
    """Too little data for a trustworthy answer.

    Attributes
    ----------
    shortfalls : dict
        What fell short, e.g. ``{"events": (12, 50), "n": (80, 200)}`` as ``(have, need)``.
    """

    def __init__(
        self, message: str, *, shortfalls: dict[str, Any] | None = None, **hints: Any
    ) -> None:
        self.shortfalls = dict(shortfalls or {})
        super().__init__(message, **hints)


class WeightConflictError(MiloError):
    """A live question weight differs from the baseline a suggestion was computed against.

    Attributes
    ----------
    conflicts : list of dict
        One entry per question: ``question_id``, ``baseline``, ``live``.
    """

    def __init__(
        self, message: str, *, conflicts: list[dict[str, Any]] | None = None, **hints: Any
    ) -> None:
        self.conflicts = list(conflicts or [])
        super().__init__(message, **hints)


class PushError(MiloError):
    """A weight push (or rollback) failed part-way.

    Attributes
    ----------
    applied : list of dict
        The changes that were applied (and verified) before the failure.
    audit_log : str or None
        Path of the audit log that records what happened (use it with ``rollback_weights``).
    unknown : list of dict
        Writes that were sent but whose result could not be read back (they may have landed);
        ``rollback_weights`` checks the live weight of each before restoring it.
    """

    def __init__(
        self,
        message: str,
        *,
        applied: list[dict[str, Any]] | None = None,
        audit_log: str | None = None,
        unknown: list[dict[str, Any]] | None = None,
    ) -> None:
        self.applied = list(applied or [])
        self.audit_log = audit_log
        self.unknown = list(unknown or [])
        super().__init__(message)


class PushConflictError(PushError, WeightConflictError):
    """A push stopped part-way because a live weight changed while it ran.

    Both a :class:`PushError` (``.applied``, ``.audit_log``, ``.unknown``: roll back what was
    applied) and a :class:`WeightConflictError` (``.conflicts``: what changed, and nothing was
    written over it).
    """

    def __init__(
        self,
        message: str,
        *,
        conflicts: list[dict[str, Any]] | None = None,
        applied: list[dict[str, Any]] | None = None,
        audit_log: str | None = None,
        unknown: list[dict[str, Any]] | None = None,
    ) -> None:
        PushError.__init__(self, message, applied=applied, audit_log=audit_log, unknown=unknown)
        self.conflicts = list(conflicts or [])  # after: the MRO runs WeightConflictError's init


def warning_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside milo_analytics.

    Call it as ``warnings.warn(w, stacklevel=warning_stacklevel())`` from the function that
    warns: however deep inside the package that function is, the warning names the user's line.

    Examples
    --------
    >>> warning_stacklevel() >= 2
    True
    """
    try:
        frame = sys._getframe(2)  # the caller of the function that warns
    except ValueError:  # called from the top of the stack
        return 2
    level = 2
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name != "milo_analytics" and not name.startswith("milo_analytics."):
            break
        frame = frame.f_back
        level += 1
    return level
