"""Push suggested weights through the questions API — plan, write-ahead log, verify, roll back.

A push is a dry run unless ``apply=True``. Applying:

0. checks the suggestion against its versioned schema (:mod:`milo_analytics.schemas`) before
   anything is sent — whole numbers 1–10 (no ``5.5``, no ``true``), unique question ids, the
   posting id, a baseline weight per question — and refuses a suggestion whose recommendation
   is ``"keep"`` when it would change a weight, unless ``allow_keep=True`` (``--allow-keep``);
1. reads the live questions and refuses with :class:`~milo_analytics.errors.WeightConflictError`
   when a scored question of the suggestion's baseline has a live weight that is neither the
   baseline weight nor the weight this push would write, or was deleted, or when a new scored
   question appeared — unless ``force=True``; nothing is written and no log is created then;
2. creates an append-only JSON-lines audit log in ``audit_dir`` holding the plan;
3. for each change, in order (every log record is fsynced before the next step):

   a. re-reads the question; if its weight is no longer the one the plan read (the baseline,
      unless ``force``), logs a ``conflict`` and stops: nothing is written for it;
   b. logs an ``intent`` (question, expected current weight, new weight);
   c. PATCHes the weight;
   d. reads it back and logs the outcome: ``applied`` (the server holds the new weight),
      ``failed`` (it still holds the expected one), ``conflict`` (it holds neither — someone
      else wrote it) or ``unknown`` (it could not be read back); anything but ``applied`` stops;

4. logs ``done`` and returns, or raises :class:`~milo_analytics.errors.PushError` /
   :class:`~milo_analytics.errors.PushConflictError` saying what was applied, what is unknown
   and how to roll back. Ctrl-C logs the open write as ``unknown`` and raises
   :class:`PushInterrupted` (a ``KeyboardInterrupt``) carrying the same.

Crash safety: whatever instant the process dies at (kill -9, power loss), a question without an
``intent`` record was never sent, and a question with one *may* have been changed.
:func:`rollback_weights` reads the log up to its last complete record (a torn last line from a
crash is ignored, and said so), treats every intent without an ``applied`` as "maybe applied",
reads the server, restores only where the server holds the value the push wrote, and reports
every other case (someone else's value now there: left alone; a pre-push weight such as 1.5
that the API cannot write: to restore by hand).

The remaining race: the questions API has no conditional update (no ETag / If-Match), so an
edit by someone else that lands between our re-read (3a) and our PATCH (3c) is overwritten
without our knowing. The window is about one PATCH round trip per question, not the whole push
(``tests/test_push.py`` measures it with sandbox latency). Each ``applied`` record carries
``read_at`` and ``race_window_s`` (from the re-read's answer to the PATCH's answer) so that
such an edit can be matched against the log afterwards, and rollback never writes over a value
that is not the one the push wrote. An edit landing after our PATCH is seen by the read-back.

Weights already at their new value are left alone, so pushing the same suggestion twice writes
nothing the second time (and a push that stopped part-way can simply be re-run).
Changing weights does not rescore anyone: past candidates keep their scores.

Examples
--------
>>> from milo_analytics import push_weights  # doctest: +SKIP
>>> plan = push_weights(client, suggestion)            # dry run: the plan only  # doctest: +SKIP
>>> done = push_weights(client, suggestion, apply=True, audit_dir="audit")  # doctest: +SKIP
>>> rollback_weights(client, done.audit_log)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .calibrate import PAST_SCORES_NOTE, WeightSuggestion
from .errors import (
    DataError,
    MiloError,
    Note,
    NotFoundError,
    PushConflictError,
    PushError,
    WeightConflictError,
)
from .results import Result
from .schemas import check_suggestion, read_suggestion_file

__all__ = [
    "AuditRecords",
    "PushInterrupted",
    "PushResult",
    "RollbackIncompleteWarning",
    "default_audit_dir",
    "push_weights",
    "read_audit_log",
    "rollback_weights",
]

PLAN_COLUMNS = ["question_id", "text", "baseline", "live", "new", "action"]
#: Written in every push plan record; logs without it come from before the write-ahead log.
LOG_FORMAT = "milo_analytics.push-audit/2"
#: The remaining race, stated in every push plan record (see the module docstring).
RACE_NOTE = (
    "The questions API has no conditional update: an edit by someone else that lands between "
    "a question's re-read (its intent's read_at) and the answer to its PATCH (race_window_s "
    "later, in its 'applied' record) is overwritten without being detected. Rollback restores "
    "only weights that still hold the value this push wrote."
)


def default_audit_dir() -> Path:
    """Where audit logs go when no ``audit_dir`` is given (the user data folder)."""
    import platformdirs

    return platformdirs.user_data_path("milo-analytics") / "audit"


class PushInterrupted(KeyboardInterrupt):
    """Ctrl-C during a push or rollback, after its audit log was created.

    Still a ``KeyboardInterrupt``; the open write (if any) is logged as ``unknown`` first.

    Attributes
    ----------
    kind : str
        ``"push"`` or ``"rollback"``.
    audit_log : str
    applied : list of dict
        Writes applied and verified before the interrupt.
    unknown : list of dict
        The write in flight when interrupted (sent or not: rollback checks the server).
    cli_message : str
        The same message naming CLI commands instead of Python calls.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        audit_log: str,
        applied: list[dict[str, Any]],
        unknown: list[dict[str, Any]],
        cli_message: str,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.audit_log = audit_log
        self.applied = applied
        self.unknown = unknown
        self.cli_message = cli_message


class RollbackIncompleteWarning(UserWarning):
    """A rollback left questions for a person to handle (see ``PushResult.unresolved``)."""


@dataclass(repr=False)
class PushResult(Result):
    """The plan of a weight push (or rollback) and what was applied.

    Attributes
    ----------
    table / plan : DataFrame
        One row per question: ``question_id``, ``text``, ``baseline`` (the weight the suggestion
        was computed against; for a rollback, the weight the push wrote), ``live`` (the weight
        read just now), ``new`` (the weight to write; for a rollback, the pre-push weight),
        ``action`` (push: ``update``, ``unchanged``, ``conflict``, ``missing``, ``added``,
        ``skipped``; rollback: ``update`` (restored), ``unchanged`` (already at its pre-push
        weight), ``not_sent`` (the push never wrote it), ``conflict`` (someone else's value
        now), ``missing``, ``manual`` (restore by hand), ``pending`` (not reached)).
    applied : list of dict
        ``{"question_id", "previous", "new"}`` for every weight written and verified.
    unresolved : list of dict
        Rollback only: what is left for a person, one entry per question with ``question_id``,
        ``problem``, ``fix`` (Python wording) and ``fix_cli`` (command-line wording).
    audit_log : str or None
        The JSON-lines log (None for a dry run).
    dry_run : bool
    posting_id : str
    kind : str
        ``"push"`` or ``"rollback"``.

    Examples
    --------
    >>> r = PushResult(table=pd.DataFrame(columns=PLAN_COLUMNS), dry_run=True)
    >>> r.n_changes
    0
    """

    title: str = "Weight push"
    applied: list[dict[str, Any]] = field(default_factory=list)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    audit_log: str | None = None
    dry_run: bool = True
    posting_id: str | None = None
    kind: str = "push"

    @property
    def plan(self) -> pd.DataFrame:
        """The plan (same as :attr:`table`)."""
        return self.table

    @property
    def n_changes(self) -> int:
        """Number of weights the plan changes."""
        if self.table.empty:
            return 0
        return int((self.table["action"] == "update").sum())

    def plot(self) -> Any:
        """Baseline, live and new weight per question (plotly Figure)."""
        from .plots import push_plan_figure

        return push_plan_figure(self)

    def summary(self, *, cli: bool = False) -> str:
        """A few plain lines: one per question (its id with the start of its text), then one
        per question left for a person (``cli=True`` words the fixes as commands).

        Examples
        --------
        >>> plan = pd.DataFrame(
        ...     [["q1", "Tell us about a hard customer call", 2.0, 2.0, 3.0, "update"]],
        ...     columns=PLAN_COLUMNS,
        ... )
        >>> print(PushResult(table=plan, posting_id="P1").summary().splitlines()[:2])
        ['Dry run for posting P1: 1 weight to change', '  q1 "Tell us about a hard customer call": baseline 2, live 2, new 3 -> update']
        """
        head = (
            f"{'Dry run' if self.dry_run else self.kind.capitalize()} for posting "
            f"{self.posting_id}: {_plural(self.n_changes, 'weight')} to change"
        )
        if not self.dry_run:
            head += f", {len(self.applied)} applied"
        lines = [head]
        # a rollback's "baseline" is what the push wrote and its "new" the pre-push weight
        names = ("pushed", "pre-push") if self.kind == "rollback" else ("baseline", "new")
        for r in self.table.itertuples():
            lines.append(
                f"  {_label(r.question_id, r.text)}: {names[0]} {_fmt(r.baseline)}, live "
                f"{_fmt(r.live)}, {names[1]} {_fmt(r.new)} -> {r.action}"
            )
        if self.audit_log:
            lines.append(f"Audit log: {self.audit_log}")
        lines.extend(n.cli if cli and isinstance(n, Note) else n for n in self.notes)
        if self.unresolved:
            lines.append(f"Left for you to do ({len(self.unresolved)}):")
            for u in self.unresolved:
                fix = u["fix_cli"] if cli else u["fix"]
                lines.append(f"  {u['question_id']}: {u['problem']} {fix}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"PushResult(kind={self.kind!r}, posting={self.posting_id!r}, dry_run={self.dry_run}, "
            f"changes={self.n_changes}, applied={len(self.applied)}, "
            f"unresolved={len(self.unresolved)})"
        )


# --------------------------------------------------------------------------- small helpers
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{float(v):g}"


def _label(qid: Any, text: Any) -> str:
    words = " ".join(str(text).split()) if isinstance(text, str) else ""
    words = words if len(words) <= 40 else words[:37].rstrip() + "…"
    return f'{qid} "{words}"' if words else str(qid)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return False
    if math.isnan(fa) or math.isnan(fb):
        return False
    return math.isclose(fa, fb, rel_tol=0, abs_tol=1e-9)


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _writable(w: float | None) -> bool:
    """Whether the questions API can store ``w`` (whole numbers 1–10)."""
    return w is not None and float(w).is_integer() and 1 <= w <= 10


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- the audit log
class _AuditLog:
    """Append-only JSON-lines file; each record is one ``write(2)`` then ``fsync`` before
    :meth:`write` returns, so a crash leaves whole records and at most one torn last line."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            _fsync_dir(path.parent)
        elif not path.exists():
            raise DataError(f"audit log {path} does not exist")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"ts": _now(), **record}, ensure_ascii=False, allow_nan=False)
        data = (line + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def repair_tail(self, records: AuditRecords) -> None:
        """Before appending: cut a torn last line (keeping its bytes in a record), or end an
        unterminated last record with its newline."""
        if records.torn_tail is not None:
            with open(self.path, "r+b") as fh:
                fh.truncate(records.complete_bytes)
                fh.flush()
                os.fsync(fh.fileno())
            self.write(
                {
                    "event": "note",
                    "torn_tail_removed": records.torn_tail.decode("utf-8", "backslashreplace"),
                    "line": records.torn_line,
                }
            )
        elif records.needs_newline:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class AuditRecords(list):  # type: ignore[type-arg]
    """The complete records of an audit log (a list of dicts), plus what was left out.

    Attributes
    ----------
    path : Path
    torn_tail : bytes or None
        The bytes after the last complete record when they are a torn record (a crash while
        the log was written); they are not in the list.
    torn_line : int or None
        The line number of the torn tail.
    """

    path: Path
    torn_tail: bytes | None = None
    torn_line: int | None = None
    complete_bytes: int = 0
    needs_newline: bool = False


_NOT_OURS = (
    "it is not an audit log written by milo-analytics push-weights --apply, or it was edited or "
    "damaged; pass the log path the push printed"
)


def _parse_line(path: Path, n: int, raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 8]
        raise DataError(
            f"audit log {path} line {n} holds binary bytes (column {exc.start + 1}: {bad!r}): "
            f"{_NOT_OURS}"
        ) from None
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"audit log {path} line {n} is not JSON (column {exc.colno}: {exc.msg}): {_NOT_OURS}"
        ) from None
    if not isinstance(rec, dict) or not isinstance(rec.get("event"), str):
        raise DataError(
            f"audit log {path} line {n} is not an audit record (no 'event' field): {_NOT_OURS}"
        )
    return rec


def read_audit_log(path: str | Path) -> AuditRecords:
    """The records of an audit log, in order, up to its last complete record.

    A torn last line — what a crash while a record was being written leaves — is left out and
    reported in ``.torn_tail`` / ``.torn_line``. Any other line that is not a JSON audit record
    (binary bytes, text, a line edited by hand) is a :class:`DataError` naming the file and line.

    Examples
    --------
    >>> read_audit_log("audit/push-P1-20260101T000000Z-abcd1234.jsonl")  # doctest: +SKIP
    [{'event': 'plan', ...}, {'event': 'intent', ...}, {'event': 'applied', ...}, ...]
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"audit log {p} does not exist; pass the path printed by push-weights")
    raw = p.read_bytes()
    out = AuditRecords()
    out.path = p
    if not raw.strip():
        raise DataError(f"audit log {p} is empty: {_NOT_OURS}")
    lines = raw.split(b"\n")
    tail = lines.pop()  # the bytes after the last newline: b"" when the file ends with one
    offset = 0
    for n, line in enumerate(lines, start=1):
        offset += len(line) + 1
        if line.strip():
            out.append(_parse_line(p, n, line))
    out.complete_bytes = offset
    if tail:
        n = len(lines) + 1
        try:
            out.append(_parse_line(p, n, tail))
            out.complete_bytes += len(tail)
            out.needs_newline = True
        except DataError:
            # a crash mid-record leaves the start of a record; a power loss may leave NULs
            if not (tail.startswith(b'{"') or not tail.strip(b"\x00")):
                raise
            out.torn_tail, out.torn_line = tail, n
    return out


# --------------------------------------------------------------------------- the suggestion
def _suggestion_document(suggestion: Any) -> dict[str, Any]:
    """The checked JSON document of a WeightSuggestion, a suggestion file or its JSON text."""
    if isinstance(suggestion, WeightSuggestion):
        return check_suggestion(
            json.loads(suggestion.to_json(indent=None)), source="the suggestion"
        )
    if isinstance(suggestion, dict):
        return check_suggestion(suggestion, source="the suggestion")
    if isinstance(suggestion, str) and suggestion.lstrip().startswith("{"):
        try:
            doc = json.loads(suggestion)
        except json.JSONDecodeError as exc:
            raise DataError(f"the suggestion text is not JSON: {exc}") from None
        return check_suggestion(doc, source="the suggestion")
    if isinstance(suggestion, (str, Path)):
        return read_suggestion_file(suggestion)
    raise DataError(
        f"push_weights needs a WeightSuggestion or the path of its JSON; got "
        f"{type(suggestion).__name__}"
    )


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    cols = doc["table"]["columns"]
    return [dict(zip(cols, row, strict=True)) for row in doc["table"]["data"]]


def _live_questions(client: Any, posting_id: str) -> dict[str, dict[str, Any]]:
    return {str(q["id"]): q for q in client.questions.list(posting_id, raw=True)}


def _is_scored(q: dict[str, Any]) -> bool:
    return (
        not bool(q.get("not_scored"))
        and q.get("score_weight") is not None
        and q.get("modality") in (None, "voice", "resume_scoring")
    )


def _plan(doc: dict[str, Any], live: dict[str, dict[str, Any]], force: bool) -> pd.DataFrame:
    base = doc["baseline"]
    base_w: dict[str, float] = {str(k): float(v) for k, v in base["weights"].items()}
    rows_in = _rows(doc)
    new = {r["question_id"]: int(r["suggested_integer"]) for r in rows_in}
    texts = {r["question_id"]: r.get("text") for r in rows_in}
    ids = list(base.get("question_ids") or base_w)
    ids += [q for q in new if q not in ids]
    rows = []
    for qid in ids:
        b = base_w.get(qid)
        n = new.get(qid)
        q = live.get(qid)
        lv = None if q is None else _num(q.get("score_weight"))
        if q is None:
            action = "missing"
        elif n is None:
            action = "unchanged" if _same(lv, b) else ("skipped" if force else "conflict")
        elif _same(lv, n):
            action = "unchanged"
        elif b is None or _same(lv, b) or force:
            action = "update"
        else:
            action = "conflict"
        text = texts.get(qid)
        if not isinstance(text, str):
            text = "" if q is None else str(q.get("text") or "")
        rows.append(
            {
                "question_id": qid,
                "text": text,
                "baseline": b,
                "live": lv,
                "new": n,
                "action": action,
            }
        )
    for qid, q in live.items():
        if (
            qid not in ids
            and _is_scored(q)
            and str(q.get("posting_id") or "") in ("", str(base.get("posting_id")))
        ):
            rows.append(
                {
                    "question_id": qid,
                    "text": str(q.get("text") or ""),
                    "baseline": None,
                    "live": float(q["score_weight"]),
                    "new": None,
                    "action": "skipped" if force else "added",
                }
            )
    return _plan_frame(rows)


def _plan_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The plan table (PLAN_COLUMNS, weights float64, text columns str) of push and rollback."""
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    for c in ("baseline", "live", "new"):
        plan[c] = pd.to_numeric(plan[c]).astype("float64")
    for c in ("question_id", "text", "action"):
        plan[c] = plan[c].astype("str")
    return plan


def _changes(plan: pd.DataFrame) -> list[dict[str, Any]]:
    """The writes a plan asks for: its ``update`` rows as ``{question_id, expected, new}``
    (``expected``: the weight the plan read, which each write re-checks just before it)."""
    return [
        {"question_id": r.question_id, "expected": float(r.live), "new": int(r.new)}
        for r in plan.itertuples()
        if r.action == "update"
    ]


def _conflict_error(plan: pd.DataFrame, posting_id: str) -> WeightConflictError:
    bad = plan[plan["action"].isin(["conflict", "missing", "added"])]
    conflicts = [
        {
            "question_id": r.question_id,
            "baseline": _num(r.baseline),
            "live": _num(r.live),
            "problem": {
                "conflict": "live weight differs from the baseline",
                "missing": "question no longer exists",
                "added": "scored question not in the baseline",
            }[r.action],
        }
        for r in bad.itertuples()
    ]
    detail = "; ".join(
        f"{c['question_id']}: {c['problem']} (baseline {_fmt(c['baseline'])}, live "
        f"{_fmt(c['live'])})"
        for c in conflicts
    )
    return WeightConflictError(
        f"posting {posting_id}: the live questions changed since the suggestion was computed — "
        f"{detail}. Nothing was written.",
        conflicts=conflicts,
        python_hint="Re-load the posting and run suggest_weights again, or pass force=True to "
        "overwrite.",
        cli_hint=f"Run `milo-analytics suggest-weights {posting_id}` again, or pass --force to "
        "overwrite.",
    )


def _audit_path(audit_dir: str | Path | None, kind: str, posting_id: str) -> Path:
    folder = Path(audit_dir) if audit_dir is not None else default_audit_dir()
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(posting_id))
    return folder / f"{kind}-{safe}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"


# --------------------------------------------------------------------------- writing
@dataclass
class _Run:
    """What a sequence of write-ahead-logged writes did."""

    applied: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None  # the write that failed or is unknown, and why
    pending: list[str] = field(default_factory=list)  # question ids not reached
    in_flight: dict[str, Any] | None = None  # intent logged, outcome not yet recorded

    @property
    def status(self) -> str:
        if self.failure is not None:
            return "unknown" if self.unknown else "failed"
        return "conflict" if self.conflicts else "complete"


def _weight_of(client: Any, posting_id: str, qid: str) -> float | None:
    """The live weight of one question (NotFoundError when it was deleted)."""
    return _num(client.questions.retrieve(posting_id, qid, raw=True).get("score_weight"))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _write_all(
    client: Any,
    posting_id: str,
    changes: list[dict[str, Any]],
    log: _AuditLog,
    op_id: str,
    kind: str,
    run: _Run,
    *,
    stop_on_conflict: bool,
) -> None:
    """Write each change with the write-ahead protocol of the module docstring into ``run``;
    log ``done``.

    Stops at the first failed or unknown write (and, when ``stop_on_conflict``, conflict).
    Ctrl-C logs the open write as unknown and raises :class:`PushInterrupted`.
    """
    base = {"op_id": op_id, "kind": kind}
    try:
        for i, ch in enumerate(changes):
            qid, expected, new = ch["question_id"], float(ch["expected"]), int(ch["new"])
            change = {"question_id": qid, "expected": expected, "new": new}
            # (a) re-read just before the write
            try:
                live = _weight_of(client, posting_id, qid)
            except NotFoundError:
                live, gone = None, True
            except MiloError as exc:
                log.write({"event": "failed", **base, **change, "stage": "reread",
                           "written": False, "error": _describe(exc)})  # fmt: skip
                run.failure = {**change, "stage": "reread", "error": str(exc)}
                run.pending = [c["question_id"] for c in changes[i:]]
                break
            else:
                gone = False
            read_at, t_read = _now(), time.monotonic()
            if gone or not _same(live, expected):
                conflict = {**change, "live": live, "stage": "before_write", "written": False,
                            "problem": "deleted" if gone else "changed"}  # fmt: skip
                log.write({"event": "conflict", **base, **conflict})
                run.conflicts.append(conflict)
                if stop_on_conflict:
                    run.pending = [c["question_id"] for c in changes[i + 1 :]]
                    break
                continue
            # (b) intent, (c) PATCH, (d) read back
            run.in_flight = change  # from here on an interrupt logs the write as unknown
            log.write({"event": "intent", **base, **change, "read_at": read_at})
            patch_error: MiloError | None = None
            try:
                client.questions.update(posting_id, qid, score_weight=new, raw=True)
            except MiloError as exc:
                patch_error = exc
            window = round(time.monotonic() - t_read, 6)
            try:
                got = _weight_of(client, posting_id, qid)
            except MiloError as exc:
                reason = patch_error or exc
                log.write({"event": "unknown", **base, **change, "stage": "verify",
                           "error": _describe(exc), "patch_error": patch_error and _describe(patch_error)})  # fmt: skip
                run.unknown.append(change)
                run.failure = {**change, "stage": "verify", "error": str(reason),
                               "patch_ok": patch_error is None}  # fmt: skip
                run.pending = [c["question_id"] for c in changes[i + 1 :]]
                run.in_flight = None
                break
            if _same(got, new):
                rec = {"event": "applied", **base, **change, "verified": got, "read_at": read_at,
                       "race_window_s": window}  # fmt: skip
                if patch_error is not None:  # the answer was lost but the write landed
                    rec["patch_error"] = _describe(patch_error)
                log.write(rec)
                run.applied.append({"question_id": qid, "previous": expected, "new": new})
                run.in_flight = None
                continue
            if _same(got, expected):
                why = (
                    str(patch_error)
                    if patch_error is not None
                    else f"the server kept weight {_fmt(got)} after PATCH score_weight={new}"
                )
                log.write({"event": "failed", **base, **change, "stage": "write",
                           "written": False, "verified": got, "error": why})  # fmt: skip
                run.failure = {**change, "stage": "write", "error": why}
                run.pending = [c["question_id"] for c in changes[i + 1 :]]
                run.in_flight = None
                break
            conflict = {**change, "live": got, "stage": "after_write", "written": True,
                        "problem": "overwritten"}  # fmt: skip
            log.write({"event": "conflict", **base, **conflict, "verified": got})
            run.conflicts.append(conflict)
            run.in_flight = None
            if stop_on_conflict:
                run.pending = [c["question_id"] for c in changes[i + 1 :]]
                break
    except KeyboardInterrupt:
        open_write = [run.in_flight] if run.in_flight is not None else []
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: still say what we know
            if open_write:
                log.write({"event": "unknown", **base, **open_write[0], "stage": "interrupted",
                           "error": "interrupted (Ctrl-C) while the write was in flight"})  # fmt: skip
            log.write({"event": "done", **base, "status": "interrupted",
                       "applied": run.applied, "unknown": open_write})  # fmt: skip
        raise _interrupted(kind, posting_id, log.path, run) from None
    log.write({"event": "done", **base, "status": run.status, "applied": run.applied,
               "unknown": run.unknown, "conflicts": run.conflicts})  # fmt: skip


def _run_logged(
    client: Any,
    posting_id: str,
    changes: list[dict[str, Any]],
    log: _AuditLog,
    plan_record: dict[str, Any],
    *,
    stop_on_conflict: bool,
) -> _Run:
    """Log the plan, then the writes; any Ctrl-C from here on is a :class:`PushInterrupted`
    that says what was applied and what may have been."""
    run = _Run()
    kind = plan_record["kind"]
    try:
        log.write(plan_record)
        _write_all(client, posting_id, changes, log, plan_record["op_id"], kind, run,
                   stop_on_conflict=stop_on_conflict)  # fmt: skip
    except PushInterrupted:
        raise
    except KeyboardInterrupt:  # outside the writes' own handler (logging the plan or 'done')
        raise _interrupted(kind, posting_id, log.path, run) from None
    return run


def _changes_text(applied: list[dict[str, Any]]) -> str:
    return ", ".join(f"{a['question_id']} {_fmt(a['previous'])}→{_fmt(a['new'])}" for a in applied)


def _undo(kind: str, path: Path, *, cli: bool) -> str:
    if kind == "push":
        return (
            f"undo with `milo-analytics rollback {path}`"
            if cli
            else f"undo with rollback_weights(client, {str(path)!r})"
        )
    return (
        f"run `milo-analytics rollback {path}` again"
        if cli
        else f"run rollback_weights(client, {str(path)!r}) again"
    )


def _interrupted(kind: str, posting_id: str, path: Path, run: _Run) -> PushInterrupted:
    """The PushInterrupted for a run stopped by Ctrl-C, from what ``run`` recorded."""
    applied = run.applied
    open_write = [run.in_flight] if run.in_flight is not None else []

    def text(cli: bool) -> str:
        done = (
            f"{_plural(len(applied), 'weight')} {'restored' if kind == 'rollback' else 'applied'}"
        )
        if open_write:
            w = open_write[0]
            doubt = (
                f", the write of {w['question_id']} ({_fmt(w['expected'])}→{_fmt(w['new'])}) "
                "may or may not have landed"
            )
        else:
            doubt = ", no write in flight"
        if not applied and not open_write:
            return (
                f"{kind} of posting {posting_id} interrupted before any weight was written "
                f"(audit log {path}); nothing to undo"
            )
        return f"{kind} of posting {posting_id} interrupted: {done}{doubt}; {_undo(kind, path, cli=cli)} (audit log {path})"

    return PushInterrupted(
        text(False),
        kind=kind,
        audit_log=str(path),
        applied=applied,
        unknown=open_write,
        cli_message=text(True),
    )


def _stop_error(run: _Run, kind: str, posting_id: str, path: Path, extra: str = "") -> PushError:
    """The PushError / PushConflictError for a run that stopped, worded for Python and CLI."""

    def text(cli: bool) -> str:
        parts = []
        f = run.failure
        if f is not None:
            q = f["question_id"]
            if f["stage"] == "reread":
                parts.append(
                    f"{kind} for posting {posting_id} stopped at question {q}: it could not be "
                    f"read before writing ({f['error']}); nothing was sent for it"
                )
            elif f["stage"] == "write":
                parts.append(
                    f"{kind} for posting {posting_id} failed at question {q}: {f['error']}; the "
                    f"server still holds {_fmt(f['expected'])}, so nothing was written for it"
                )
            else:
                sent = "was sent and answered OK" if f.get("patch_ok") else "was sent"
                parts.append(
                    f"{kind} for posting {posting_id} stopped at question {q}: the write "
                    f"{_fmt(f['expected'])}→{_fmt(f['new'])} {sent}, but the weight could not be "
                    f"read back ({f['error']}): whether {q} now holds {_fmt(f['new'])} or still "
                    f"{_fmt(f['expected'])} is unknown"
                )
        for c in run.conflicts:
            q = c["question_id"]
            if c["stage"] == "before_write":
                now = (
                    "was deleted" if c["problem"] == "deleted" else f"changed to {_fmt(c['live'])}"
                )
                parts.append(
                    f"{kind} for posting {posting_id} stopped at question {q}: its weight {now} "
                    f"after the plan read {_fmt(c['expected'])} (someone else edited it); nothing "
                    "was written for it"
                )
            else:
                parts.append(
                    f"{kind} for posting {posting_id} stopped at question {q}: it holds "
                    f"{_fmt(c['live'])} after this {kind} wrote {_fmt(c['new'])} (someone else "
                    "wrote it just after); left as it is"
                )
        if run.applied:
            verb = "restored" if kind == "rollback" else "applied"
            parts.append(f"{verb} before it: {_changes_text(run.applied)}")
        elif run.unknown:
            parts.append("no other weight was changed")
        else:
            parts.append("no weight was changed")
        if run.pending:
            parts.append(f"not reached: {', '.join(run.pending)}")
        if kind == "rollback":
            parts.append(_undo(kind, path, cli=cli) + " when the API answers again")
        elif run.applied or run.unknown:
            parts.append(_undo(kind, path, cli=cli) + " (it checks each live weight first)")
            if run.failure is not None:
                parts.append("or re-run the same push to finish it")
        elif run.failure is not None:
            parts.append("re-run the same push when the API answers again")
        where = "" if any(str(path) in p for p in parts) else f" Audit log: {path}."
        msg = "; ".join(parts) + "." + where + extra
        return msg[0].upper() + msg[1:]

    kw = {"applied": run.applied, "audit_log": str(path), "unknown": run.unknown}
    err: PushError
    if run.failure is None and run.conflicts:
        err = PushConflictError(text(False), conflicts=run.conflicts, **kw)
    else:
        err = PushError(text(False), **kw)
    err.cli_message = text(True)  # type: ignore[attr-defined]
    return err


# --------------------------------------------------------------------------- push
def push_weights(
    client: Any,
    suggestion: WeightSuggestion | str | Path,
    *,
    apply: bool = False,
    force: bool = False,
    audit_dir: str | Path | None = None,
    allow_keep: bool = False,
) -> PushResult:
    """Plan (default) or apply a suggestion's integer weights through the questions API.

    Parameters
    ----------
    client : HeyMiloClient
    suggestion : WeightSuggestion or path of its JSON
        Checked against the versioned suggestion schema before anything is sent.
    apply
        Write the changes; without it only the plan is returned (nothing is written, no log).
    force
        Overwrite even when live weights differ from the suggestion's baseline (as read when
        the push starts; a weight that changes while the push runs still stops it).
    allow_keep
        Apply a suggestion whose recommendation is ``"keep"`` (it did not beat both current
        and unit weights beyond the noise). Without it such a push is refused before anything
        is written; the dry run shows the plan either way. ``force`` does not imply it.
    audit_dir
        Folder of the audit logs (default: :func:`default_audit_dir`). One JSON-lines file per
        push, write-ahead: each write's intent is on disk before the write is sent.

    Returns
    -------
    PushResult
        ``.plan``, ``.applied``, ``.audit_log``.

    Raises
    ------
    DataError
        A suggestion that breaks its schema (every problem named by JSON pointer and value),
        or ``apply=True`` on a ``"keep"`` suggestion that would change weights without
        ``allow_keep=True``; nothing written.
    WeightConflictError
        A scored baseline question's live weight changed (or it was deleted, or a scored
        question was added) and ``force`` is False; nothing written.
    PushConflictError
        A weight changed while the push ran: nothing was written over it, the push stopped;
        ``.applied`` says what to roll back.
    PushError
        A write failed or its result is unknown; ``.applied``, ``.unknown`` and ``.audit_log``
        say what happened — :func:`rollback_weights` undoes it.
    PushInterrupted
        Ctrl-C after the log was created (a ``KeyboardInterrupt``).

    Examples
    --------
    >>> result = push_weights(client, suggestion)  # doctest: +SKIP
    >>> result.plan[["question_id", "live", "new", "action"]]  # doctest: +SKIP
    """
    doc = _suggestion_document(suggestion)
    base = doc["baseline"]
    posting_id = str(base["posting_id"])
    recommendation = doc.get("recommendation") or "keep"
    live = _live_questions(client, posting_id)
    plan = _plan(doc, live, force)
    notes = [PAST_SCORES_NOTE]
    non_integral = plan[(plan["action"] == "update") & (plan["live"] % 1 != 0)]
    if len(non_integral):
        notes.append(
            "Live weights that are not whole numbers "
            f"({', '.join(f'{r.question_id}={r.live:g}' for r in non_integral.itertuples())}) "
            "cannot be written back through the API (integers 1–10); a rollback would have to "
            "restore them by hand."
        )
    keep = recommendation != "change" and bool((plan["action"] == "update").any())
    if recommendation != "change":
        said = (
            f"The suggestion's recommendation is {recommendation!r}: it did not beat both "
            "current and unit weights beyond the noise."
        )
        needs = keep and not allow_keep
        notes.append(
            Note(
                said + (" Applying it needs allow_keep=True." if needs else ""),
                cli=said + (" Applying it needs --allow-keep." if needs else ""),
            )
        )
    if apply and keep and not allow_keep:
        raise DataError(
            f"posting {posting_id}: the suggestion's recommendation is "
            f"{recommendation!r} — its weights did not beat both current and unit weights "
            f"beyond the noise — so the {int((plan['action'] == 'update').sum())} change(s) "
            "were not pushed. Nothing was written.",
            python_hint="Keep today's weights, or pass allow_keep=True to push them anyway.",
            cli_hint="Keep today's weights, or pass --allow-keep to push them anyway.",
        )
    blocked = plan["action"].isin(["conflict", "missing", "added"])
    result = PushResult(
        table=plan,
        title=f"Weight push for posting {posting_id}",
        notes=notes,
        dry_run=not apply,
        posting_id=posting_id,
    )
    if not apply:
        if blocked.any():
            conflict = _conflict_error(plan, posting_id)
            result.notes.insert(0, Note.of(conflict))
        result.notes.append(
            Note(
                "Dry run: nothing was written. Pass apply=True to write.",
                cli="Dry run: nothing was written. Pass --apply to write.",
            )
        )
        return result
    if blocked.any():
        raise _conflict_error(plan, posting_id)
    changes = _changes(plan)
    path = _audit_path(audit_dir, "push", posting_id)
    log = _AuditLog(path, create=True)
    op_id = uuid.uuid4().hex
    plan_record = {
        "event": "plan",
        "log_format": LOG_FORMAT,
        "op_id": op_id,
        "kind": "push",
        "posting_id": posting_id,
        "base_url": str(getattr(client, "base_url", "")),
        "force": force,
        "allow_keep": allow_keep,
        "suggestion": {
            "data_hash": base.get("data_hash"),
            "created_at": base.get("created_at"),
            "target": doc.get("target"),
            "recommendation": recommendation,
            "schema_version": doc.get("schema_version", 1),
        },
        "baseline": base.get("weights"),
        "plan": [
            {k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in plan.drop(columns="text").to_dict("records")
        ],
        "changes": changes,
        "race": RACE_NOTE,
    }
    result.audit_log = str(path)
    run = _run_logged(client, posting_id, changes, log, plan_record, stop_on_conflict=True)
    result.applied = run.applied
    if run.status != "complete":
        raise _stop_error(run, "push", posting_id, path)
    result.notes.append(f"Applied {_plural(len(result.applied), 'change')}; audit log {path}.")
    return result


# --------------------------------------------------------------------------- rollback
def _push_history(records: AuditRecords) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The push's plan record and, per planned change, what the log says happened to it.

    ``state`` per question: ``not_sent`` (no intent: never sent), ``refused`` (a conflict
    before the write), ``maybe`` (an intent without ``applied``, or a pre-write-ahead log's
    change without a record), ``applied``, ``failed``.
    """
    path = records.path
    first = records[0] if records else None
    if first is None or first.get("event") != "plan" or first.get("kind") != "push":
        raise DataError(
            f"audit log {path} line 1 is not the plan of a push (event "
            f"{None if first is None else first.get('event')!r}): {_NOT_OURS}"
        )
    plan_rec = first
    op_id = plan_rec.get("op_id")
    write_ahead = plan_rec.get("log_format") == LOG_FORMAT
    hist: dict[str, dict[str, Any]] = {}
    for ch in plan_rec.get("changes") or []:
        expected = ch.get("expected", ch.get("previous"))
        hist[str(ch["question_id"])] = {
            "expected": _num(expected),
            "new": _num(ch.get("new")),
            # before the write-ahead log a write was logged only after it: unlogged = maybe
            "state": "not_sent" if write_ahead else "maybe",
        }
    for r in records:
        if r.get("op_id") != op_id or r.get("event") in ("plan", "done"):
            continue
        qid = str(r.get("question_id"))
        h = hist.get(qid)
        if h is None:
            continue
        ev = r["event"]
        if ev == "intent":
            h.update(state="maybe", expected=_num(r["expected"]), new=_num(r["new"]))
        elif ev == "applied":
            h["state"] = "applied"
        elif ev == "failed" and r.get("stage") == "write" and h["state"] == "maybe":
            h["state"] = "failed"  # read back: the server kept the expected weight
        elif ev == "conflict" and r.get("stage") == "before_write":
            h["state"] = "refused"
        elif ev == "write":  # a log from before the write-ahead log
            st = r.get("status")
            h.update(
                state={"ok": "applied", "unknown": "maybe"}.get(st, "failed"),
                expected=_num(r.get("previous")),
                new=_num(r.get("new")),
            )
    return plan_rec, hist


def _unresolved(
    qid: str, action: str, live: float | None, pushed: float | None, prev: float | None, path: Path
) -> dict[str, Any]:
    if action == "manual":
        problem = (
            f"holds {_fmt(live)}, written by the push; its pre-push weight {_fmt(prev)} is not a "
            "whole number 1–10, which the questions API cannot write."
        )
        fix = (
            f"Set it back to {_fmt(prev)} by hand in HeyMilo (the interviewer's question settings)."
        )
        return {"question_id": qid, "problem": problem, "fix": fix, "fix_cli": fix,
                "action": action, "live": live, "pushed": pushed, "previous": prev}  # fmt: skip
    if action == "missing":
        problem = (
            f"no longer exists (the push wrote {_fmt(pushed)} over {_fmt(prev)}); nothing to "
            "restore."
        )
        fix = "Check that deleting it was intended."
        return {"question_id": qid, "problem": problem, "fix": fix, "fix_cli": fix,
                "action": action, "live": live, "pushed": pushed, "previous": prev}  # fmt: skip
    problem = (
        f"holds {_fmt(live)}, not the {_fmt(pushed)} the push wrote (pre-push {_fmt(prev)}): "
        "someone else changed it since, so it was left alone."
    )
    restore = "" if _writable(prev) else " by hand"
    return {
        "question_id": qid,
        "problem": problem,
        "fix": f"If {_fmt(prev)} should win, restore it{restore} with "
        f"rollback_weights(client, {str(path)!r}, force=True)."
        if _writable(prev)
        else f"If {_fmt(prev)} should win, set it by hand in HeyMilo.",
        "fix_cli": f"If {_fmt(prev)} should win, run `milo-analytics rollback {path} --force`."
        if _writable(prev)
        else f"If {_fmt(prev)} should win, set it by hand in HeyMilo.",
        "action": action,
        "live": live,
        "pushed": pushed,
        "previous": prev,
    }


def rollback_weights(
    client: Any,
    audit_log: str | Path | PushResult | PushError,
    *,
    force: bool = False,
) -> PushResult:
    """Restore the weights a push changed, from its audit log (logged there too).

    Reads the log up to its last complete record (a torn last line from a crash is ignored and
    said so in the notes). Every write the log shows as sent — applied, or an ``intent``
    without outcome, which may have landed — is checked against the server: where the server
    holds the weight the push wrote it is restored (with the same write-ahead protocol);
    where it holds the pre-push weight nothing is needed; anything else is left alone and
    listed in ``.unresolved`` with what to do: someone else's value now there (restore it
    anyway with ``force=True``), a deleted question, or a pre-push weight such as 1.5 that
    the API cannot write (restore by hand). Questions the push never sent are not touched.

    Parameters
    ----------
    client : HeyMiloClient
    audit_log
        The log's path, or the PushResult / PushError that carries it.
    force
        Restore even weights someone else changed since the push.

    Returns
    -------
    PushResult
        ``kind="rollback"``; ``.applied`` (restored), ``.unresolved`` (left for a person; a
        :class:`RollbackIncompleteWarning` is issued when it is not empty).

    Raises
    ------
    DataError
        The log is missing, empty, not ours or damaged before its last line (file and line
        named).
    PushError
        A restore failed or its result is unknown; run the rollback again.

    Examples
    --------
    >>> rollback_weights(client, "audit/push-P1-....jsonl").applied  # doctest: +SKIP
    """
    path_arg = getattr(audit_log, "audit_log", audit_log)
    if path_arg is None:
        raise DataError("this push has no audit log (it was a dry run); nothing to roll back")
    path = Path(path_arg)
    records = read_audit_log(path)
    notes = [PAST_SCORES_NOTE]
    if records.torn_tail is not None:
        notes.append(
            f"Ignored a torn last line (line {records.torn_line}, {len(records.torn_tail)} bytes) "
            f"of {path}: a crash while a record was being written. Every record before it is "
            "intact; the torn bytes are kept in a note record."
        )
    if not records:  # only a torn first line: the plan never reached the disk, so no write did
        notes.append(
            "The log holds no complete record: the push stopped before its plan was on disk, "
            "so it wrote no weight. Nothing to roll back."
        )
        return PushResult(
            table=_plan_frame([]), title="Rollback", notes=notes, dry_run=False,
            kind="rollback", audit_log=str(path),
        )  # fmt: skip
    plan_rec, hist = _push_history(records)
    op_id, posting_id = plan_rec["op_id"], str(plan_rec["posting_id"])
    if not plan_rec.get("log_format"):
        notes.append(
            "This log was written before pushes were write-ahead logged: planned changes "
            "without a logged write were checked on the server as if they may have landed."
        )
    live = _live_questions(client, posting_id)
    rows = []
    for qid, h in reversed(list(hist.items())):
        q = live.get(qid)
        lv = None if q is None else _num(q.get("score_weight"))
        prev, pushed = h["expected"], h["new"]
        if h["state"] in ("not_sent", "refused"):
            action = "not_sent"
        elif q is None:
            action = "missing"
        elif _same(lv, prev):
            action = "unchanged"
        elif not (_same(lv, pushed) or force):
            action = "conflict"
        elif not _writable(prev):
            action = "manual"
        else:
            action = "update"
        rows.append(
            {
                "question_id": qid,
                "text": "" if q is None else str(q.get("text") or ""),
                "baseline": pushed,
                "live": lv,
                "new": prev,
                "action": action,
            }
        )
    plan = _plan_frame(rows)
    texts = dict(zip(plan["question_id"], plan["text"], strict=True))
    changes = [
        {"question_id": r.question_id, "expected": float(r.live), "new": int(r.new)}
        for r in plan.itertuples()
        if r.action == "update"
    ]
    log = _AuditLog(path, create=False)
    log.repair_tail(records)
    plan_record = {
        "event": "plan",
        "op_id": uuid.uuid4().hex,
        "kind": "rollback",
        "of": op_id,
        "posting_id": posting_id,
        "base_url": str(getattr(client, "base_url", "")),
        "force": force,
        "changes": changes,
    }
    run = _run_logged(client, posting_id, changes, log, plan_record, stop_on_conflict=False)
    # the rollback's own outcome per question
    restored = {a["question_id"] for a in run.applied}
    late = {c["question_id"]: c for c in run.conflicts}
    stopped = set(run.pending) | ({run.failure["question_id"]} if run.failure else set())
    for i, r in enumerate(plan.itertuples()):
        if r.action != "update" or r.question_id in restored:
            continue
        if r.question_id in late:
            plan.loc[i, "action"] = "conflict"
            plan.loc[i, "live"] = late[r.question_id]["live"]
        elif r.question_id in stopped:
            plan.loc[i, "action"] = "pending"
    unresolved = [
        _unresolved(r.question_id, r.action, _num(r.live), _num(r.baseline), _num(r.new), path)
        for r in plan.itertuples()
        if r.action in ("conflict", "missing", "manual")
    ]
    for u in unresolved:
        u["text"] = texts.get(u["question_id"], "")
    result = PushResult(
        table=plan,
        title=f"Rollback for posting {posting_id}",
        notes=notes,
        dry_run=False,
        posting_id=posting_id,
        kind="rollback",
        audit_log=str(path),
        applied=run.applied,
        unresolved=unresolved,
    )
    if run.failure is not None:
        extra = ""
        if unresolved:
            extra = " Also left for you: " + " ".join(
                f"{u['question_id']} {u['problem']}" for u in unresolved
            )
        raise _stop_error(run, "rollback", posting_id, path, extra)
    if unresolved:
        warnings.warn(
            f"rollback of {path} left {_plural(len(unresolved), 'question')} for you: "
            + " ".join(f"{u['question_id']} {u['problem']} {u['fix']}" for u in unresolved),
            RollbackIncompleteWarning,
            stacklevel=2,
        )
    return result
