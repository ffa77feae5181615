"""Strict suggestion files: the versioned schema (milo_analytics/schemas/weight-suggestion.v1.json)
is checked before anything is sent. The hand edits of issue 11 (5.5, `true`, a duplicated
question row) and the broken files of issue 12 (a JSON list, not JSON, empty, binary) each get
a clear error naming the field (JSON pointer, row, column) and the value, through the CLI with
exit code 1 and not one request to the server. Files without ``schema_version`` (written before
it existed) and files with unknown extra top-level fields are accepted; a newer version is not."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _push_harness import make_suggestion

from milo_analytics.cli import main
from milo_analytics.errors import DataError
from milo_analytics.push import push_weights
from milo_analytics.sandbox import WorldConfig, run_sandbox
from milo_analytics.schemas import (
    SUGGESTION_SCHEMA_VERSION,
    check_suggestion,
    read_suggestion_file,
    suggestion_schema,
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, str, dict[str, Any]]]:
    """A sandbox and a valid suggestion document for its customer-service posting."""
    with run_sandbox(WorldConfig(seed=11, n_candidates=60, n_second=20)) as sb:
        pid = sb.world.truth["csr_posting_id"]
        with sb.client() as client:
            weights = {q["id"]: q["score_weight"] for q in client.questions.list(pid, raw=True)}
            ints = [q for q, w in weights.items() if float(w).is_integer()]
            doc = json.loads(make_suggestion(client, pid, {ints[0]: 7, ints[1]: 1}).to_json())
        yield sb, pid, doc


def column(doc: dict[str, Any], name: str) -> int:
    return doc["table"]["columns"].index(name)


def set_cell(row: int, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["table"]["data"][row][column(doc, name)] = value

    return edit


def duplicate_row(doc: dict[str, Any]) -> None:
    dup = list(doc["table"]["data"][0])
    dup[column(doc, "suggested_integer")] = 9  # the old code pushed the last row's value
    doc["table"]["data"].append(dup)


def run_push(sb: Any, path: Path, capsys: Any, monkeypatch: Any, *extra: str) -> tuple[int, str]:
    monkeypatch.setenv("HEYMILO_API_KEY", sb.api_key)
    sb.reset_counts()
    code = main(["push-weights", str(path), "--apply", "--base-url", sb.base_url,
                 "--audit-dir", str(path.parent / "audit"), *extra])  # fmt: skip
    return code, capsys.readouterr().err


REFUSED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("five-and-a-half", set_cell(0, "suggested_integer", 5.5),
     r"/table/data/0/3 \(row 1, question \w+, column suggested_integer\): 5\.5 is not a whole "
     r"number from 1 to 10"),
    ("true", set_cell(1, "suggested_integer", True),
     r"/table/data/1/3 \(row 2, question \w+, column suggested_integer\): true is not a whole "
     r"number"),
    ("zero", set_cell(1, "suggested_integer", 0), r"suggested_integer\): 0 is not a whole number"),
    ("string-weight", set_cell(0, "suggested_integer", "7"),
     r'suggested_integer\): "7" is not a whole number'),
    ("duplicated-question-row", duplicate_row,
     r"/table/data/\d+/0 \(row \d+, question (\w+), column question_id\): question \1 appears "
     r"twice \(rows 1 and \d+\)"),
    ("no-baseline-for-a-question",
     lambda d: d["baseline"]["weights"].pop(d["table"]["data"][0][0]),
     r"/baseline/weights \(row 1, question \w+\): no baseline weight for question"),
    ("no-posting-id", lambda d: d["baseline"].pop("posting_id"),
     r"/baseline: required field 'posting_id' is missing"),
    ("posting-id-with-a-slash", lambda d: d["baseline"].update(posting_id="../x"),
     r'/baseline/posting_id: "\.\./x" is not a HeyMilo id'),
    ("no-suggested-integer-column",
     lambda d: d["table"]["columns"].__setitem__(3, "suggested_int"),
     r'/table/columns: has no column "suggested_integer"'),
    ("short-row", lambda d: d["table"]["data"][0].pop(),
     r"/table/data/0: row 1 has 3 values for 4 columns"),
    ("no-format-nor-version", lambda d: d.pop("format"),
     r"no 'format' or 'schema_version' field"),
    ("newer-version", lambda d: d.update(schema_version=2),
     r"schema_version 2, newer than this milo-analytics reads \(up to 1\); upgrade"),
    ("version-as-text", lambda d: d.update(schema_version="1"),
     r'/schema_version: "1" is not of type integer'),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hand_edited_suggestion_is_refused_before_anything_is_sent(
    served, tmp_path, capsys, monkeypatch, name, edit, message
) -> None:
    sb, _, valid = served
    doc = copy.deepcopy(valid)
    edit(doc)
    path = tmp_path / "suggestion.json"
    path.write_text(json.dumps(doc))
    code, err = run_push(sb, path, capsys, monkeypatch)
    assert code == 1, err
    assert err.startswith(f"milo-analytics: error: {path}") and err.count("\n") == 1
    assert re.search(message, err), err
    assert "Nothing was sent" in err
    assert sb.counts == {}  # not one request
    assert not (tmp_path / "audit").exists()


FILES: list[tuple[str, bytes, str]] = [
    ("json-list", b'[{"question_id": "A", "suggested_integer": 3}]', "holds a JSON array, not a weight suggestion object"),
    ("not-json", b"question_id,suggested_integer\nA,3\n", r"is not JSON \(line 1, column 1"),
    ("empty", b"", "is empty; expected a weight suggestion file"),
    ("whitespace", b"\n  \n", "is empty"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff", r"is not UTF-8 text \(byte \d+"),
    ("truncated", b'{"format": "milo_analytics.WeightSuggestion/1", "table": {"colu', r"is not JSON \(line 1, column \d+"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "message"), FILES, ids=[f[0] for f in FILES])
def test_broken_suggestion_files_are_clear_errors(
    served, tmp_path, capsys, monkeypatch, name, content, message
) -> None:
    sb, _, _ = served
    path = tmp_path / "suggestion.json"
    path.write_bytes(content)
    code, err = run_push(sb, path, capsys, monkeypatch)
    assert code == 1, err
    assert re.search(message, err), err
    assert str(path) in err and err.count("\n") == 1
    assert "unexpected" not in err and "Traceback" not in err
    assert sb.counts == {}


def test_versions_and_extra_fields(served, tmp_path, capsys, monkeypatch) -> None:
    """No schema_version = version 1 (files from before); schema_version 1 with new top-level
    fields (what the calibration engineer may add) = accepted; the dry run shows the plan."""
    sb, pid, valid = served
    monkeypatch.setenv("HEYMILO_API_KEY", sb.api_key)
    assert "schema_version" not in valid  # what suggest-weights writes today
    newer = {**copy.deepcopy(valid), "schema_version": 1,
             "fairness": {"columns": ["group"], "data": [["x"]]},
             "frontier": {"provenance": "test"}}  # fmt: skip
    for i, doc in enumerate([valid, newer]):
        path = tmp_path / f"s{i}.json"
        path.write_text(json.dumps(doc))
        assert main(["push-weights", str(path), "--base-url", sb.base_url]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Dry run for posting {pid}: 2 weights to change")
    assert read_suggestion_file(tmp_path / "s1.json")["frontier"] == {"provenance": "test"}


def test_in_memory_suggestions_are_checked_the_same_way(served, tmp_path) -> None:
    sb, _, valid = served
    doc = copy.deepcopy(valid)
    set_cell(0, "suggested_integer", 5.5)(doc)
    from milo_analytics.calibrate import WeightSuggestion

    s = WeightSuggestion.from_json(json.dumps(valid))
    s.table["suggested_integer"] = s.table["suggested_integer"].astype("float64")
    s.table.loc[0, "suggested_integer"] = 5.5  # the old code pushed int(5.5) == 5
    sb.reset_counts()
    with sb.client() as client, pytest.raises(DataError, match=r"5\.5 is not a whole number"):
        push_weights(client, s, apply=True, audit_dir=tmp_path)
    with pytest.raises(DataError, match=r"true is not a whole number"):
        check_suggestion({**doc, "table": {**doc["table"], "data": [
            [*doc["table"]["data"][0][:3], True]]}})  # fmt: skip
    assert sb.counts == {}


def test_every_problem_is_listed_at_once() -> None:
    doc = {
        "format": "milo_analytics.WeightSuggestion/1",
        "table": {"columns": ["question_id", "suggested_integer"],
                  "data": [["Q1", 5.5], ["Q2", True], ["Q1", 11]]},
        "baseline": {"posting_id": "P1", "weights": {"Q1": 2, "Q2": 3}},
    }  # fmt: skip
    with pytest.raises(DataError) as exc:
        check_suggestion(doc, source="s.json")
    msg = str(exc.value)
    assert msg.startswith("s.json is not a valid weight suggestion (schema weight-suggestion.v1)")
    for part in ("/table/data/0/1", "5.5", "/table/data/1/1", "true", "/table/data/2/1", "11",
                 "question Q1 appears twice (rows 1 and 3)"):  # fmt: skip
        assert part in msg


def test_the_shipped_schema_is_valid_and_versioned() -> None:
    schema = suggestion_schema()
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == SUGGESTION_SCHEMA_VERSION == 1
    assert schema["$id"].endswith(":v1")
    with pytest.raises(DataError, match=r"no schema weight-suggestion\.v9\.json"):
        suggestion_schema(9)


def test_what_suggest_weights_writes_passes(tmp_path_factory) -> None:
    """The demo's real suggestion.json (suggest_weights → to_json) is valid as written."""
    from _demo_output import demo_output

    _, out_dir = demo_output(tmp_path_factory)
    doc = read_suggestion_file(out_dir / "suggestion.json")
    assert doc["recommendation"] in ("change", "keep") and doc["baseline"]["posting_id"]
