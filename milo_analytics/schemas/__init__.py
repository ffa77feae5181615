"""Versioned JSON schemas of the files milo-analytics reads back, and their strict checks.

``weight-suggestion.v1.json`` describes ``suggestion.json`` (what ``suggest-weights -o`` and
``WeightSuggestion.to_json`` write and ``push-weights`` reads). :func:`check_suggestion` applies
it with :mod:`jsonschema` and adds the rules a JSON schema cannot state about the row-array
table: every row has one value per column, each row passes ``$defs/question_row`` (weights are
whole numbers 1–10: ``5.5`` and ``true`` are refused), question ids are unique and each has a
baseline weight. Every problem is reported at once, each naming its JSON pointer (and for a
table cell its row, question id and column) and the offending value.

Versions: a file without ``schema_version`` is version 1 (files written before the field
existed); unknown extra top-level fields are accepted (newer writers may add tables); a newer
``schema_version`` is refused with a message saying to upgrade.

Examples
--------
>>> doc = {
...     "format": "milo_analytics.WeightSuggestion/1",
...     "table": {"columns": ["question_id", "suggested_integer"], "data": [["Q1", 5.5]]},
...     "baseline": {"posting_id": "P1", "weights": {"Q1": 3}},
... }
>>> try:
...     check_suggestion(doc, source="suggestion.json")
... except DataError as exc:
...     print(str(exc).split(": ", 1)[1])
/table/data/0/1 (row 1, question Q1, column suggested_integer): 5.5 is not a whole number from 1 to 10 (the questions API takes integers 1–10). Nothing was sent.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import DataError

__all__ = [
    "SUGGESTION_SCHEMA_VERSION",
    "check_suggestion",
    "read_suggestion_file",
    "suggestion_schema",
]

#: The newest suggestion-file version this milo-analytics reads (and the one it checks).
SUGGESTION_SCHEMA_VERSION = 1
_FORMAT_PREFIX = "milo_analytics.WeightSuggestion/"
_MAX_LISTED = 12


@cache
def suggestion_schema(version: int = SUGGESTION_SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON schema of suggestion files of ``version`` (shipped in this package).

    Examples
    --------
    >>> suggestion_schema()["$id"]
    'urn:milo-analytics:schema:weight-suggestion:v1'
    """
    name = f"weight-suggestion.v{int(version)}.json"
    try:
        text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"no schema {name} in this milo-analytics") from None
    return json.loads(text)


def read_suggestion_file(path: str | Path) -> dict[str, Any]:
    """Read and check a suggestion file; return its JSON document.

    Raises :class:`~milo_analytics.errors.DataError` naming the file for an empty file, bytes
    that are not UTF-8 text, text that is not JSON (with line and column), a JSON value that is
    not an object (e.g. a list), and every schema problem (see :func:`check_suggestion`).

    Examples
    --------
    >>> read_suggestion_file("suggestion.json")["baseline"]["posting_id"]  # doctest: +SKIP
    '13D77095'
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{p}: no such suggestion file") from None
    except IsADirectoryError:
        raise DataError(f"{p} is a folder; pass the suggestion file inside it") from None
    if not raw.strip():
        raise DataError(
            f"{p} is empty; expected a weight suggestion file.",
            python_hint="Write one with suggest_weights(...).to_json(path). Nothing was sent.",
            cli_hint="Write one with `milo-analytics suggest-weights -o FILE`. Nothing was sent.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p} is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 8]!r}); "
            "it is not a suggestion file. Nothing was sent."
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{p} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); expected the "
            "weight suggestion that `milo-analytics suggest-weights -o FILE` writes. "
            "Nothing was sent."
        ) from None
    return check_suggestion(doc, source=str(p))


def _version(doc: dict[str, Any], source: str) -> None:
    """Refuse a newer version than this code reads (before the schema, whose message is vaguer)."""
    v = doc.get("schema_version")
    fmt = doc.get("format")
    if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
        tail = fmt[len(_FORMAT_PREFIX) :]
        if v is None and tail.isdigit():
            v = int(tail)
    if isinstance(v, int) and not isinstance(v, bool) and v > SUGGESTION_SCHEMA_VERSION:
        raise DataError(
            f"{source} has schema_version {v}, newer than this milo-analytics reads "
            f"(up to {SUGGESTION_SCHEMA_VERSION}); upgrade milo-analytics, or write the "
            "suggestion again with this version's suggest-weights. Nothing was sent."
        )


def _show(value: Any) -> str:
    """A value as JSON (``true``, ``5.5``, ``"x"``), shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _pointer(parts: Any) -> str:
    out = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return out or "(top level)"


def _explain(err: Any) -> str:
    """One jsonschema error in plain words, with the value as JSON."""
    v, kind, rule = err.instance, err.validator, err.validator_value
    field = err.absolute_path[-1] if err.absolute_path else None
    if field == "suggested_integer" and kind in ("type", "minimum", "maximum"):
        return (
            f"{_show(v)} is not a whole number from 1 to 10 (the questions API takes integers 1–10)"
        )
    if kind == "type":
        want = " or ".join(rule) if isinstance(rule, list) else rule
        return f"{_show(v)} is not of type {want}"
    if kind == "minimum":
        return f"{_show(v)} is below the minimum {rule}"
    if kind == "maximum":
        return f"{_show(v)} is above the maximum {rule}"
    if kind == "required":
        missing = [r for r in rule if isinstance(v, dict) and r not in v]
        return f"required field {', '.join(repr(m) for m in missing)} is missing"
    if kind == "anyOf" and all("required" in s for s in rule):
        names = " or ".join(repr(s["required"][0]) for s in rule)
        return (
            f"no {names} field: this is not a weight suggestion written by "
            "milo-analytics suggest-weights"
        )
    if kind == "contains":
        want = rule.get("const") if isinstance(rule, dict) else rule
        return f"has no column {_show(want)} (columns {_show(v)})"
    if kind in ("const", "enum"):
        allowed = [rule] if kind == "const" else list(rule)
        return f"{_show(v)} is not allowed here (expected {' or '.join(_show(a) for a in allowed)})"
    if kind == "uniqueItems":
        return f"{_show(v)} has duplicates"
    if kind == "minItems":
        return f"{_show(v)} is empty (needs at least {rule} item(s))"
    if kind == "minProperties":
        return f"{_show(v)} is empty"
    if kind == "minLength":
        return f"{_show(v)} is empty"
    if kind == "pattern":
        return f"{_show(v)} is not a HeyMilo id (no '/', '?', '#' or spaces)"
    return f"{_show(v)}: {err.message}"


def check_suggestion(doc: Any, *, source: str = "the suggestion") -> dict[str, Any]:
    """Check a suggestion document (parsed JSON) against its versioned schema; return it.

    Parameters
    ----------
    doc
        The parsed JSON document (``json.loads`` of a suggestion file).
    source
        How to name it in errors (the file's path).

    Raises
    ------
    DataError
        Listing every problem with its JSON pointer and value; nothing may be sent then.

    Examples
    --------
    >>> check_suggestion([1, 2], source="s.json")
    Traceback (most recent call last):
    ...
    milo_analytics.errors.DataError: s.json holds a JSON array, not a weight suggestion object; ...
    """
    import jsonschema

    if not isinstance(doc, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
            type(doc), "number"
        )
        raise DataError(
            f"{source} holds a JSON {kind}, not a weight suggestion object",
            python_hint="write one with suggest_weights(...).to_json(path). Nothing was sent.",
            cli_hint="write one with `milo-analytics suggest-weights -o FILE`. Nothing was sent.",
        )
    _version(doc, source)
    schema = suggestion_schema(SUGGESTION_SCHEMA_VERSION)
    cls = jsonschema.validators.validator_for(schema)
    problems: list[tuple[str, str]] = []
    for err in cls(schema).iter_errors(doc):
        where = _pointer(err.absolute_path)
        if all(w != where for w, _ in problems):  # the first (most basic) problem per field
            problems.append((where, _explain(err)))
    table = doc.get("table")
    if not problems and isinstance(table, dict):
        problems.extend(
            _check_rows(table, doc.get("baseline") or {}, cls(schema["$defs"]["question_row"]))
        )
    if problems:
        problems.sort(key=lambda p: p[0])
        shown = [f"{where}: {what}" if where else what for where, what in problems[:_MAX_LISTED]]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        raise DataError(
            f"{source} is not a valid weight suggestion (schema weight-suggestion."
            f"v{SUGGESTION_SCHEMA_VERSION}): {text}. Nothing was sent."
            if len(problems) > 1
            else f"{source}: {text}. Nothing was sent."
        )
    return doc


def _check_rows(
    table: dict[str, Any], baseline: dict[str, Any], row_validator: Any
) -> list[tuple[str, str]]:
    """Row-level rules of the row-array table: arity, $defs/question_row, unique ids, baselines."""
    columns: list[str] = table["columns"]
    col = {name: j for j, name in enumerate(columns)}
    weights = baseline.get("weights") or {}
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(table["data"]):
        if len(row) != len(columns):
            problems.append(
                (
                    f"/table/data/{i}",
                    f"row {i + 1} has {len(row)} values for {len(columns)} columns",
                )
            )
            continue
        record = dict(zip(columns, row, strict=True))
        qid = record.get("question_id")
        label = f"row {i + 1}, question {qid}" if isinstance(qid, str) else f"row {i + 1}"
        for err in row_validator.iter_errors(record):
            name = err.absolute_path[0] if err.absolute_path else None
            where = f"/table/data/{i}" + (f"/{col[name]}" if name in col else "")
            column = f", column {name}" if name in col else ""
            problems.append((f"{where} ({label}{column})", _explain(err)))
        if not isinstance(qid, str):
            continue
        if qid in seen:
            problems.append(
                (
                    f"/table/data/{i}/{col['question_id']} ({label}, column question_id)",
                    f"question {qid} appears twice (rows {seen[qid] + 1} and {i + 1}); keep one "
                    "row per question",
                )
            )
        else:
            seen[qid] = i
        if qid not in weights:
            problems.append(
                (
                    f"/baseline/weights ({label})",
                    f"no baseline weight for question {qid}: the weight it was computed against "
                    "is needed to detect edits made since",
                )
            )
    for qid in baseline.get("question_ids") or []:
        if qid not in weights and qid not in seen:
            problems.append(
                ("/baseline/weights", f"no baseline weight for question {qid} of question_ids")
            )
    return problems
