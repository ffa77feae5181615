"""Calibration against the sandbox over HTTP: the demo world's planted weights, a world whose
weights are already right, too few outcomes, an outcomes file without a key column, and the
full loop suggest → push → new interviews scored with the new weights."""

from __future__ import annotations

import pandas as pd
import pytest
from _cli_inprocess import copy_store

from milo_analytics.calibrate import HIRED_CAVEAT, WeightSuggestion, suggest_weights
from milo_analytics.cli import main
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.load import load_posting
from milo_analytics.outcomes import read_outcomes
from milo_analytics.push import push_weights
from milo_analytics.sandbox import WorldConfig

PATCH = "PATCH /postings/{posting_id}/questions/{question_id}"


def _load(sb, tmp_path, name="store.sqlite"):
    pid = sb.world.truth["csr_posting_id"]
    with sb.client() as client:
        data = load_posting(pid, client=client, store=tmp_path / name, progress=False)
    return pid, data


@pytest.fixture(scope="module")
def demo_store(demo_sandbox, tmp_path_factory):
    """The demo world pulled over HTTP (the session's shared pull, tests/_demo_output.py) and
    its CSR posting loaded: (id, data, store file). The file is the module's: copy it
    (``copy_store``) for a command that pulls into it."""
    from _demo_output import demo_store_copy

    path = demo_store_copy(
        tmp_path_factory, demo_sandbox, tmp_path_factory.mktemp("calibrate-demo") / "store.sqlite"
    )
    pid = demo_sandbox.world.truth["csr_posting_id"]
    return pid, load_posting(pid, store=path, refresh=False), path


@pytest.fixture(scope="module")
def demo_suggestion(demo_sandbox, demo_store):
    """The CSR posting of the (read-only) demo sandbox, its outcomes and the suggestion."""
    pid, data, _ = demo_store
    outcomes = read_outcomes(demo_sandbox.world.outcomes, key="interview_id", data=data)
    return pid, data, outcomes, suggest_weights(data, outcomes)


def test_demo_suggestion_recovers_the_planted_importance(demo_suggestion, demo_sandbox) -> None:
    _, _, _, s = demo_suggestion
    planted = demo_sandbox.world.truth["planted"]
    less, more = planted["less_important_than_weighted"], planted["more_important_than_weighted"]
    t = s.table.set_index("question_id")
    ratio = t["suggested_weight"] / t["current_weight"]
    assert ratio.idxmin() == less and ratio.idxmax() == more
    # the planted order by weight: motivation first, de-escalation last (data/demo/README.md)
    assert t["suggested_weight"].idxmax() == more and t["suggested_weight"].idxmin() == less
    assert t.loc[less, "suggested_integer"] < t.loc[less, "current_weight"]
    assert t.loc[more, "suggested_integer"] > t.loc[more, "current_weight"]
    # the planted order is also what Johnson's relative weights see
    assert t["importance"].idxmax() == more and t["importance"].idxmin() == less


def test_demo_suggestion_beats_current_and_unit_on_held_out_candidates(demo_suggestion) -> None:
    _, _, _, s = demo_suggestion
    assert s.recommendation == "change"
    for other in ("current", "unit"):
        d = s.differences.loc[f"suggested_integer - {other}"]
        assert d["ci_low"] > 0, (other, d.to_dict())
    auc = s.comparison["auc"]
    assert auc["suggested_integer"] > max(auc["current"], auc["unit"])
    assert HIRED_CAVEAT in s.notes
    # every interview in the fit came through the join, and the join report travels along
    assert 0 < s.n <= s.join_report["matched"] == s.join_report["interviews_matched"]


def test_pushing_the_demo_suggestion_changes_exactly_the_planted_questions(
    demo_suggestion, demo_sandbox, sandbox_factory, tmp_path
) -> None:
    pid, _, _, s = demo_suggestion
    planted = demo_sandbox.world.truth["planted"]
    expected = {planted["less_important_than_weighted"], planted["more_important_than_weighted"]}
    sb = sandbox_factory(world="demo")  # a writable copy of the same world
    new = dict(zip(s.table["question_id"], s.table["suggested_integer"], strict=True))
    with sb.client() as client:
        before = {q["id"]: q["score_weight"] for q in client.questions.list(pid, raw=True)}
        dry = push_weights(client, s)
        assert set(dry.plan.loc[dry.plan["action"] == "update", "question_id"]) == expected
        assert sb.counts.get(PATCH, 0) == 0 and dry.audit_log is None
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        after = {q["id"]: q["score_weight"] for q in client.questions.list(pid, raw=True)}
    assert {a["question_id"] for a in done.applied} == expected
    assert sb.counts[PATCH] == 2
    assert {q for q in before if before[q] != after[q]} == expected
    assert all(after[q] == new[q] for q in expected)

    # interviews completed after the push are scored with the new weights
    with sb.client() as client:
        ingested = [
            client.candidates.ingest(pid, name=f"After Push {i}", email=f"after{i}@example.org")
            for i in range(3)
        ]
        sb.complete_pending()
        for res in ingested:
            doc = client.interviews.data(res.interview_id, raw=True)
            items = [it for it in doc["web_interview"]["scorecard"] if not it.get("not_scored")]
            weights = {it["question_id"]: it["score_weight"] for it in items}
            assert {q: weights[q] for q in expected} == {q: new[q] for q in expected}
            # score = 100·Σwᵢsᵢ/(Σwᵢ·5) over scored items (the sandbox's documented formula)
            num = sum(it["score_weight"] * it["score"] for it in items)
            den = sum(it["score_weight"] for it in items) * 5
            assert doc["score"] == pytest.approx(100 * num / den, abs=0.051)


def test_world_whose_weights_are_already_right_keeps(sandbox_factory, tmp_path) -> None:
    cfg = WorldConfig(seed=21, n_candidates=700, n_second=0, outcome_weights=[2, 3, 2, 2, 1.5])
    sb = sandbox_factory(world=cfg)
    _, data = _load(sb, tmp_path)
    outcomes = read_outcomes(
        sb.world.outcomes, key="interview_id", data=data, on_conflict="unknown"
    )
    s = suggest_weights(data, outcomes, n_boot=100)
    assert s.recommendation == "keep", s.notes[0]
    assert s.differences.loc["suggested_integer - current", "ci_low"] <= 0


def test_too_few_outcomes_raise_with_counts(sandbox, tmp_path) -> None:
    _, data = _load(sandbox, tmp_path)
    outcomes = read_outcomes(
        sandbox.world.outcomes, key="interview_id", data=data, on_conflict="unknown"
    )
    with pytest.raises(InsufficientDataError) as exc:
        suggest_weights(data, outcomes)
    sf = exc.value.shortfalls
    y = outcomes.set_index("interview_id")["hired"].dropna()
    y = y[y.index.isin(data.score_matrix().dropna().index)]
    events = int(min(y.sum(), (~y.astype(bool)).sum()))
    assert sf["events"] == (events, 50)
    assert sf["n"] == (len(y), 100)
    assert str(events) in str(exc.value)


def test_outcomes_file_without_key_column_lists_columns(sandbox, tmp_path) -> None:
    _, data = _load(sandbox, tmp_path)
    path = tmp_path / "ats_export.csv"
    pd.DataFrame({"Candidate": ["x"], "Stage": ["Hired"], "Rating": [4]}).to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        suggest_weights(data, path)
    for col in ("Candidate", "Stage", "Rating"):
        assert col in str(exc.value)


def test_cli_suggest_then_dry_run_push(
    demo_suggestion, demo_store, demo_sandbox, tmp_path, capsys, monkeypatch
) -> None:
    pid, _, _, _ = demo_suggestion
    # the fixture's store, copied: the command's pull over HTTP is incremental (no document
    # fetched again), as on an analyst's second run
    store = copy_store(demo_store[2], tmp_path / "s.sqlite")
    monkeypatch.setenv("HEYMILO_API_KEY", demo_sandbox.api_key)
    outcomes = tmp_path / "outcomes.csv"
    demo_sandbox.world.outcomes.to_csv(outcomes, index=False)
    out = tmp_path / "suggestion.json"
    code = main([
        "suggest-weights", pid, "--outcomes", str(outcomes), "--outcomes-key", "interview_id",
        "-o", str(out), "--store", str(store), "--base-url",
        demo_sandbox.base_url, "--n-boot", "50",
    ])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "recommendation: CHANGE" in text and "past candidates keep their scores" in text
    s = WeightSuggestion.from_json(out)
    assert s.baseline["posting_id"] == pid
    code = main(["push-weights", str(out), "--base-url", demo_sandbox.base_url])
    text = capsys.readouterr().out
    assert code == 0 and "Dry run" in text and "-> update" in text
    assert "past candidates keep their scores" in text
    assert demo_sandbox.api_key not in text


def test_raw_ats_frame_with_interview_id_is_parsed(demo_suggestion, demo_sandbox) -> None:
    _, data, _, s = demo_suggestion
    raw = demo_sandbox.world.outcomes  # "Yes"/"No"/"1"/… as the ATS exported them
    assert not pd.api.types.is_bool_dtype(raw["hired"].dtype)
    again = suggest_weights(data, raw, n_boot=20)
    assert again.n == s.n
    assert again.table["suggested_integer"].tolist() == s.table["suggested_integer"].tolist()
