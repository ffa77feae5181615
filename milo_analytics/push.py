"""Push suggested weights through the questions API — plan, apply, verify, audit, roll back.

A push is a dry run unless ``apply=True``. Applying:

0. refuses a suggestion whose recommendation is ``"keep"`` (it did not beat both current and
   unit weights beyond the noise) when it would change any weight, unless ``allow_keep=True``
   (``--allow-keep``); ``force`` only concerns conflicts and does not imply it;
1. re-reads the live questions and refuses with :class:`~milo_analytics.errors.WeightConflictError`
   when any scored question of the suggestion's baseline has a live weight that is neither the
   baseline weight nor the weight this push would write (someone edited it since the
   suggestion was computed), or was deleted, or when a new scored question appeared — unless
   ``force=True``; nothing is written then;
2. validates the new weights (whole numbers 1–10, known question ids);
3. appends the plan to a JSON-lines audit log in ``audit_dir`` and fsyncs it *before* the first
   write;
4. PATCHes each change, re-reads the question to verify it, and logs each outcome;
5. on a failure part-way raises :class:`~milo_analytics.errors.PushError` naming what was applied
   (``.applied``) and the log (``.audit_log``), which :func:`rollback_weights` undoes.

Weights already at their new value are left alone, so pushing the same suggestion twice writes
nothing the second time (and a push that failed part-way can simply be re-run).
Changing weights does not rescore anyone: past candidates keep their scores.

Examples
--------
>>> from milo_analytics import push_weights  # doctest: +SKIP
>>> plan = push_weights(client, suggestion)            # dry run: the plan only  # doctest: +SKIP
>>> done = push_weights(client, suggestion, apply=True, audit_dir="audit")  # doctest: +SKIP
>>> rollback_weights(client, done.audit_log)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from .calibrate import PAST_SCORES_NOTE, WeightSuggestion
from .errors import DataError, MiloError, PushError, WeightConflictError
from .results import Result

__all__ = ["PushResult", "default_audit_dir", "push_weights", "read_audit_log", "rollback_weights"]

PLAN_COLUMNS = ["question_id", "text", "baseline", "live", "new", "action"]


def default_audit_dir() -> Path:
    """Where audit logs go when no ``audit_dir`` is given (the user data folder)."""
    import platformdirs

    return platformdirs.user_data_path("milo-analytics") / "audit"


@dataclass(repr=False)
class PushResult(Result):
    """The plan of a weight push (or rollback) and what was applied.

    Attributes
    ----------
    table / plan : DataFrame
        One row per question: ``question_id``, ``text``, ``baseline`` (the weight the suggestion
        was computed against), ``live`` (the weight read just now), ``new`` (the weight to
        write), ``action`` (``update``, ``unchanged``, ``conflict``, ``missing``, ``added``,
        ``skipped``, ``manual``).
    applied : list of dict
        ``{"question_id", "previous", "new"}`` for every weight written and verified.
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

    def summary(self) -> str:
        """A few plain lines for the CLI: one per question, its id with the start of its text.

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
        for r in self.table.itertuples():
            text = " ".join(str(r.text).split()) if isinstance(r.text, str) else ""
            text = text if len(text) <= 40 else text[:37].rstrip() + "…"
            label = f'{r.question_id} "{text}"' if text else str(r.question_id)
            lines.append(
                f"  {label}: baseline {_fmt(r.baseline)}, live {_fmt(r.live)}, "
                f"new {_fmt(r.new)} -> {r.action}"
            )
        if self.audit_log:
            lines.append(f"Audit log: {self.audit_log}")
        lines.extend(self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"PushResult(kind={self.kind!r}, posting={self.posting_id!r}, dry_run={self.dry_run}, "
            f"changes={self.n_changes}, applied={len(self.applied)})"
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{float(v):g}"


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


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


class _AuditLog:
    """Append-only JSON-lines file; every record is flushed and fsynced before returning."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8"):
                pass
            _fsync_dir(path.parent)
        elif not path.exists():
            raise DataError(f"audit log {path} does not exist")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"ts": _now(), **record}, ensure_ascii=False, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


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


def read_audit_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of an audit log, in order.

    Examples
    --------
    >>> read_audit_log("audit/push-P1-20260101T000000Z-abcd1234.jsonl")  # doctest: +SKIP
    [{'event': 'plan', ...}, {'event': 'write', ...}, {'event': 'done', ...}]
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"audit log {p} does not exist; pass the path printed by push-weights")
    out = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise DataError(f"audit log {p} line {i} is not JSON; the file was edited") from None
    return out


def _live_questions(client: Any, posting_id: str) -> dict[str, dict[str, Any]]:
    return {str(q["id"]): q for q in client.questions.list(posting_id, raw=True)}


def _is_scored(q: dict[str, Any]) -> bool:
    return (
        not bool(q.get("not_scored"))
        and q.get("score_weight") is not None
        and q.get("modality") in (None, "voice", "resume_scoring")
    )


def _as_suggestion(suggestion: Any) -> WeightSuggestion:
    if isinstance(suggestion, WeightSuggestion):
        return suggestion
    if isinstance(suggestion, (str, Path)):
        return WeightSuggestion.from_json(suggestion)
    raise DataError(
        f"push_weights needs a WeightSuggestion or the path of its JSON; got "
        f"{type(suggestion).__name__}"
    )


def _validate_new(table: pd.DataFrame) -> dict[str, int]:
    if table.empty or not {"question_id", "suggested_integer"} <= set(table.columns):
        raise DataError(
            "the suggestion has no 'question_id'/'suggested_integer' table; create it with "
            "suggest_weights"
        )
    out: dict[str, int] = {}
    bad = []
    for qid, w in zip(table["question_id"], table["suggested_integer"], strict=True):
        ok = w is not None and not pd.isna(w) and float(w).is_integer() and 1 <= float(w) <= 10
        if not ok:
            bad.append((str(qid), w))
        else:
            out[str(qid)] = int(w)
    if bad:
        raise DataError(
            f"weights must be whole numbers from 1 to 10 (the questions API); got {bad}. "
            "Nothing was written."
        )
    return out


def _plan(
    suggestion: WeightSuggestion, live: dict[str, dict[str, Any]], force: bool
) -> pd.DataFrame:
    base = suggestion.baseline or {}
    base_w: dict[str, float] = {str(k): float(v) for k, v in (base.get("weights") or {}).items()}
    new = _validate_new(suggestion.table)
    texts = dict(
        zip(
            suggestion.table["question_id"].astype(str),
            suggestion.table.get("text", pd.Series([""] * len(suggestion.table))).astype(str),
            strict=True,
        )
    )
    if not base_w:
        base_w = {
            str(q): float(w)
            for q, w in zip(
                suggestion.table["question_id"], suggestion.table["current_weight"], strict=True
            )
        }
    ids = list(base.get("question_ids") or base_w)
    ids += [q for q in new if q not in ids]
    rows = []
    for qid in ids:
        b = base_w.get(qid)
        n = new.get(qid)
        q = live.get(qid)
        lv = None if q is None else q.get("score_weight")
        lv = None if lv is None else float(lv)
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
        rows.append(
            {
                "question_id": qid,
                "text": texts.get(qid, "" if q is None else str(q.get("text") or "")),
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
    """The writes a plan asks for: its ``update`` rows as ``{question_id, previous, new}``."""
    return [
        {"question_id": r.question_id, "previous": float(r.live), "new": int(r.new)}
        for r in plan.itertuples()
        if r.action == "update"
    ]


def _conflict_error(plan: pd.DataFrame, posting_id: str) -> WeightConflictError:
    bad = plan[plan["action"].isin(["conflict", "missing", "added"])]
    conflicts = [
        {
            "question_id": r.question_id,
            "baseline": None if pd.isna(r.baseline) else float(r.baseline),
            "live": None if pd.isna(r.live) else float(r.live),
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
        f"{detail}. Nothing was written. Re-load the posting and run suggest_weights again, or "
        "pass force=True (--force) to overwrite.",
        conflicts=conflicts,
    )


def _audit_path(audit_dir: str | Path | None, kind: str, posting_id: str) -> Path:
    folder = Path(audit_dir) if audit_dir is not None else default_audit_dir()
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(posting_id))
    return folder / f"{kind}-{safe}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"


def _write_changes(
    client: Any,
    posting_id: str,
    changes: list[dict[str, Any]],
    log: _AuditLog,
    op_id: str,
    kind: str,
) -> list[dict[str, Any]]:
    """PATCH + verify each change in order; log each outcome; PushError on the first failure."""
    applied: list[dict[str, Any]] = []
    for ch in changes:
        qid, prev, new = ch["question_id"], ch["previous"], ch["new"]
        change = {"question_id": qid, "previous": prev, "new": new}
        entry = {"event": "write", "op_id": op_id, "kind": kind, **change}
        try:
            client.questions.update(posting_id, qid, score_weight=int(new), raw=True)
            got = client.questions.retrieve(posting_id, qid, raw=True).get("score_weight")
        except MiloError as exc:
            state = "failed"
            try:  # did the write land anyway (e.g. the response was lost)?
                now = client.questions.retrieve(posting_id, qid, raw=True).get("score_weight")
                if _same(now, new):
                    state = "ok"
                    applied.append(change)
            except MiloError:
                state = "unknown"
            log.write({**entry, "status": state, "error": f"{type(exc).__name__}: {exc}"})
            _fail(log, op_id, kind, applied, posting_id, qid, exc)
        if not _same(got, new):
            log.write({**entry, "status": "mismatch", "verified": got})
            kept = MiloError(f"the server kept weight {got!r} after PATCH score_weight={new}")
            _fail(log, op_id, kind, applied, posting_id, qid, kept)
        applied.append(change)
        log.write({**entry, "status": "ok", "verified": got})
    log.write(
        {"event": "done", "op_id": op_id, "kind": kind, "status": "complete", "applied": applied}
    )
    return applied


def _fail(
    log: _AuditLog,
    op_id: str,
    kind: str,
    applied: list[dict[str, Any]],
    posting_id: str,
    qid: str,
    exc: BaseException,
) -> NoReturn:
    log.write(
        {"event": "done", "op_id": op_id, "kind": kind, "status": "failed", "applied": applied}
    )
    done = ", ".join(f"{a['question_id']} {_fmt(a['previous'])}→{_fmt(a['new'])}" for a in applied)
    what = f"applied before the failure: {done}" if applied else "nothing was applied"
    undo = (
        f"; undo with rollback_weights(client, {str(log.path)!r}) or "
        f"`milo-analytics rollback {log.path}`"
        if applied and kind == "push"
        else ""
    )
    raise PushError(
        f"{kind} for posting {posting_id} failed at question {qid}: {exc}. {what[0].upper() + what[1:]}"
        f" (audit log {log.path}){undo}. Re-running the same push resumes where it stopped.",
        applied=applied,
        audit_log=str(log.path),
    ) from exc


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
    apply
        Write the changes; without it only the plan is returned (nothing is written, no log).
    force
        Overwrite even when live weights differ from the suggestion's baseline.
    allow_keep
        Apply a suggestion whose recommendation is ``"keep"`` (it did not beat both current
        and unit weights beyond the noise). Without it such a push is refused before anything
        is written; the dry run shows the plan either way. ``force`` does not imply it.
    audit_dir
        Folder of the audit logs (default: :func:`default_audit_dir`). One JSON-lines file per
        push, written and fsynced before the first write.

    Returns
    -------
    PushResult
        ``.plan``, ``.applied``, ``.audit_log``.

    Raises
    ------
    WeightConflictError
        A scored baseline question's live weight changed (or it was deleted, or a scored
        question was added) and ``force`` is False; nothing written.
    PushError
        A write failed part-way; ``.applied`` and ``.audit_log`` say what happened.
    DataError
        Invalid new weights (not whole numbers 1–10), or ``apply=True`` on a ``"keep"``
        suggestion that would change weights, without ``allow_keep=True``; nothing written.

    Examples
    --------
    >>> result = push_weights(client, suggestion)  # doctest: +SKIP
    >>> result.plan[["question_id", "live", "new", "action"]]  # doctest: +SKIP
    """
    sugg = _as_suggestion(suggestion)
    posting_id = sugg.baseline.get("posting_id") if sugg.baseline else None
    if not posting_id:
        raise DataError("the suggestion has no baseline posting_id; create it with suggest_weights")
    live = _live_questions(client, posting_id)
    plan = _plan(sugg, live, force)
    notes = [PAST_SCORES_NOTE]
    non_integral = plan[(plan["action"] == "update") & (plan["live"] % 1 != 0)]
    if len(non_integral):
        notes.append(
            "Live weights that are not whole numbers "
            f"({', '.join(f'{r.question_id}={r.live:g}' for r in non_integral.itertuples())}) "
            "cannot be written back through the API (integers 1–10); a rollback would have to "
            "restore them by hand."
        )
    keep = sugg.recommendation != "change" and bool((plan["action"] == "update").any())
    if sugg.recommendation != "change":
        notes.append(
            f"The suggestion's recommendation is {sugg.recommendation!r}: it did not beat both "
            "current and unit weights beyond the noise."
            + (
                " Applying it needs allow_keep=True (--allow-keep)."
                if keep and not allow_keep
                else ""
            )
        )
    if apply and keep and not allow_keep:
        raise DataError(
            f"posting {posting_id}: the suggestion's recommendation is "
            f"{sugg.recommendation!r} — its weights did not beat both current and unit weights "
            f"beyond the noise — so the {int((plan['action'] == 'update').sum())} change(s) "
            "were not pushed. Nothing was written. Keep today's weights, or pass "
            "allow_keep=True (--allow-keep) to push them anyway."
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
            result.notes.insert(0, str(_conflict_error(plan, posting_id)))
        result.notes.append("Dry run: nothing was written. Pass apply=True (--apply) to write.")
        return result
    if blocked.any():
        raise _conflict_error(plan, posting_id)
    changes = _changes(plan)
    path = _audit_path(audit_dir, "push", posting_id)
    log = _AuditLog(path, create=True)
    op_id = uuid.uuid4().hex
    log.write(
        {
            "event": "plan",
            "op_id": op_id,
            "kind": "push",
            "posting_id": posting_id,
            "base_url": str(getattr(client, "base_url", "")),
            "force": force,
            "allow_keep": allow_keep,
            "suggestion": {
                "data_hash": sugg.baseline.get("data_hash"),
                "created_at": sugg.baseline.get("created_at"),
                "target": sugg.target,
                "recommendation": sugg.recommendation,
            },
            "baseline": sugg.baseline.get("weights"),
            "plan": [
                {k: (None if pd.isna(v) else v) for k, v in row.items()}
                for row in plan.drop(columns="text").to_dict("records")
            ],
            "changes": changes,
        }
    )
    result.audit_log = str(path)
    result.applied = _write_changes(client, posting_id, changes, log, op_id, "push")
    result.notes.append(f"Applied {_plural(len(result.applied), 'change')}; audit log {path}.")
    return result


def rollback_weights(
    client: Any,
    audit_log: str | Path | PushResult | PushError,
    *,
    force: bool = False,
) -> PushResult:
    """Restore the weights a push changed, from its audit log (logged there too).

    Every weight the push wrote must still be what the push wrote (or already back at its
    previous value, which is skipped); otherwise :class:`WeightConflictError` and nothing is
    written, unless ``force=True``. Previous weights that are not whole numbers (e.g. a guide's
    1.5) cannot be written through the API; they are listed with action ``manual``.

    Parameters
    ----------
    client : HeyMiloClient
    audit_log
        The log's path, or the PushResult / PushError that carries it.
    force
        Restore even weights changed by someone else since the push.

    Examples
    --------
    >>> rollback_weights(client, "audit/push-P1-....jsonl").applied  # doctest: +SKIP
    """
    path = getattr(audit_log, "audit_log", audit_log)
    if path is None:
        raise DataError("this push has no audit log (it was a dry run); nothing to roll back")
    records = read_audit_log(path)
    plan_rec = next(
        (r for r in records if r.get("event") == "plan" and r.get("kind") == "push"), None
    )
    if plan_rec is None:
        raise DataError(f"{path} is not a push audit log (no push plan record)")
    op_id, posting_id = plan_rec["op_id"], plan_rec["posting_id"]
    written: dict[str, dict[str, Any]] = {}
    for r in records:
        landed = r.get("status") in ("ok", "unknown")  # "unknown": the write may have landed
        if r.get("event") == "write" and r.get("op_id") == op_id and landed:
            written.setdefault(r["question_id"], {"previous": r["previous"], "new": r["new"]})
    live = _live_questions(client, posting_id)
    rows, conflicts = [], []
    for qid, w in reversed(list(written.items())):
        q = live.get(qid)
        lv = None if q is None or q.get("score_weight") is None else float(q["score_weight"])
        prev, new = float(w["previous"]), float(w["new"])
        if q is None:
            action = "missing"
        elif _same(lv, prev):
            action = "unchanged"
        elif not (_same(lv, new) or force):
            action = "conflict"
        elif not prev.is_integer() or not 1 <= prev <= 10:
            action = "manual"
        else:
            action = "update"
        rows.append(
            {
                "question_id": qid,
                "text": "" if q is None else str(q.get("text") or ""),
                "baseline": new,
                "live": lv,
                "new": prev,
                "action": action,
            }
        )
        if action in ("conflict", "missing"):
            conflicts.append({"question_id": qid, "pushed": new, "live": lv})
    plan = _plan_frame(rows)
    if conflicts:
        detail = "; ".join(
            f"{c['question_id']}: pushed {_fmt(c['pushed'])}, live {_fmt(c['live'])}"
            for c in conflicts
        )
        raise WeightConflictError(
            f"cannot roll back push {path}: weights changed since the push — {detail}. Nothing "
            "was written. Pass force=True (--force) to restore the previous weights anyway.",
            conflicts=conflicts,
        )
    log = _AuditLog(Path(path), create=False)
    rb_id = uuid.uuid4().hex
    changes = _changes(plan)
    log.write(
        {
            "event": "plan",
            "op_id": rb_id,
            "kind": "rollback",
            "of": op_id,
            "posting_id": posting_id,
            "base_url": str(getattr(client, "base_url", "")),
            "force": force,
            "changes": changes,
        }
    )
    notes = [PAST_SCORES_NOTE]
    manual = plan[plan["action"] == "manual"]
    if len(manual):
        msg = "Restore by hand (the API takes whole numbers 1–10): " + ", ".join(
            f"{r.question_id} → {r.new:g}" for r in manual.itertuples()
        )
        notes.append(msg)
        warnings.warn(msg, stacklevel=2)
    result = PushResult(
        table=plan,
        title=f"Rollback for posting {posting_id}",
        notes=notes,
        dry_run=False,
        posting_id=posting_id,
        kind="rollback",
        audit_log=str(path),
    )
    result.applied = _write_changes(client, posting_id, changes, log, rb_id, "rollback")
    return result
