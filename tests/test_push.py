"""push_weights / rollback_weights against the sandbox over HTTP: dry run, apply + verify +
audit log, idempotence, conflicts, a failure part-way, rollback, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from milo_analytics.calibrate import PAST_SCORES_NOTE, WeightSuggestion
from milo_analytics.cli import main
from milo_analytics.errors import DataError, PushError, WeightConflictError
from milo_analytics.push import push_weights, read_audit_log, rollback_weights

PATCH = "PATCH /postings/{posting_id}/questions/{question_id}"


def live_weights(client, pid: str) -> dict[str, float]:
    return {q["id"]: q["score_weight"] for q in client.questions.list(pid, raw=True)}


def make_suggestion(client, pid: str, new: dict[str, int]) -> WeightSuggestion:
    """A suggestion computed against today's live weights that changes ``new``'s questions."""
    qs = [q for q in client.questions.list(pid, raw=True) if not q["not_scored"]]
    rows = [q for q in qs if q["id"] in new or float(q["score_weight"]).is_integer()]
    table = pd.DataFrame(
        {
            "question_id": [q["id"] for q in rows],
            "text": [q["text"] for q in rows],
            "current_weight": [float(q["score_weight"]) for q in rows],
            "suggested_integer": [int(new.get(q["id"], q["score_weight"])) for q in rows],
        }
    )
    baseline = {
        "posting_id": pid,
        "question_ids": [q["id"] for q in qs],
        "weights": {q["id"]: float(q["score_weight"]) for q in qs},
    }
    return WeightSuggestion(table=table, baseline=baseline, recommendation="change")


@pytest.fixture
def world(sandbox):
    pid = sandbox.world.truth["csr_posting_id"]
    with sandbox.client() as client:
        weights = live_weights(client, pid)
    integral = [q for q, w in weights.items() if float(w).is_integer()]
    scored = [q["id"] for q in sandbox.world.questions[pid] if not q["not_scored"]]
    return pid, weights, [q for q in scored if q in integral]


class FailingPatches(httpx.BaseTransport):
    """Forwards to the real server; every PATCH after the first ``ok`` ones answers 500.

    Also snapshots the audit folder when the first PATCH goes out.
    """

    def __init__(self, ok: int, audit_dir: Path | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.ok = ok
        self.patches = 0
        self.audit_dir = audit_dir
        self.audit_at_first_patch: list[str] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == 1 and self.audit_dir is not None:
                self.audit_at_first_patch = [
                    p.read_text() for p in sorted(self.audit_dir.glob("*.jsonl"))
                ]
            if self.patches > self.ok:
                return httpx.Response(
                    500,
                    json={"error": {"type": "api_error", "code": "internal", "message": "boom"}},
                )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_dry_run_returns_the_plan_and_writes_nothing(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    with sandbox.client() as client:
        s = make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1})
        result = push_weights(client, s, audit_dir=tmp_path)
        assert live_weights(client, pid) == before
    assert result.dry_run and result.audit_log is None and result.applied == []
    plan = result.plan.set_index("question_id")
    assert list(result.plan.columns) == ["question_id", "text", "baseline", "live", "new", "action"]
    assert plan.loc[qs[0], "action"] == "update" and plan.loc[qs[0], "new"] == 7
    assert plan.loc[qs[2], "action"] == "unchanged"
    assert result.n_changes == 2
    assert PAST_SCORES_NOTE in result.notes
    assert sandbox.counts.get(PATCH, 0) == 0 and not list(tmp_path.iterdir())
    assert len(result.plot().data) == 3
    result.table.loc[0, "text"] = "<img src=x onerror=alert(1)>"
    assert "<img" not in result._repr_html_() and "&lt;img" in result._repr_html_()


def test_apply_writes_after_logging_verifies_and_is_idempotent(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    spy = FailingPatches(ok=99, audit_dir=tmp_path)
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9}
    with sandbox.client(transport=spy) as client:
        s = make_suggestion(client, pid, new)
        result = push_weights(client, s, apply=True, audit_dir=tmp_path)
        after = live_weights(client, pid)
    assert {a["question_id"]: a["new"] for a in result.applied} == new
    assert {a["question_id"]: a["previous"] for a in result.applied} == {q: before[q] for q in new}
    assert all(after[q] == new[q] for q in new)
    assert all(after[q] == before[q] for q in before if q not in new)
    assert sandbox.counts[PATCH] == 3
    # the plan was on disk before the first PATCH went out
    assert spy.audit_at_first_patch and len(spy.audit_at_first_patch) == 1
    first = json.loads(spy.audit_at_first_patch[0].splitlines()[0])
    assert first["event"] == "plan" and len(first["changes"]) == 3
    records = read_audit_log(result.audit_log)
    assert [r["event"] for r in records] == ["plan", "write", "write", "write", "done"]
    assert all(r["status"] == "ok" and r["verified"] == r["new"] for r in records[1:4])
    assert records[-1]["status"] == "complete"
    assert sandbox.api_key not in Path(result.audit_log).read_text()

    # the same suggestion again: nothing to do, nothing written
    with sandbox.client() as client:
        again = push_weights(client, s, apply=True, audit_dir=tmp_path)
    assert again.applied == [] and set(again.plan["action"]) == {"unchanged"}
    assert sandbox.counts[PATCH] == 3


def test_hand_edit_after_the_suggestion_is_refused(sandbox, world, tmp_path) -> None:
    pid, _, qs = world
    with sandbox.client() as client:
        s = make_suggestion(client, pid, {qs[0]: 7})
        # someone edits a question the suggestion does NOT change
        client.questions.update(pid, qs[2], score_weight=9)
        sandbox.reset_counts()
        with pytest.raises(WeightConflictError) as exc:
            push_weights(client, s, apply=True, audit_dir=tmp_path)
        assert sandbox.counts.get(PATCH, 0) == 0
        assert not list(tmp_path.iterdir())
        assert exc.value.conflicts[0]["question_id"] == qs[2]
        assert exc.value.conflicts[0]["live"] == 9
        assert "Nothing was written" in str(exc.value) and "force=True" in str(exc.value)
        dry = push_weights(client, s)  # the dry run shows the conflict instead of raising
        assert dry.plan.set_index("question_id").loc[qs[2], "action"] == "conflict"
        # force: the live weights become the suggestion's, the hand edit included
        forced = push_weights(client, s, apply=True, force=True, audit_dir=tmp_path)
        assert [a["question_id"] for a in forced.applied] == [qs[0], qs[2]]
        live = live_weights(client, pid)
        assert (live[qs[0]], live[qs[2]]) == (7, s.baseline["weights"][qs[2]])


def test_invalid_weights_and_unknown_questions_write_nothing(sandbox, world, tmp_path) -> None:
    pid, _, qs = world
    with sandbox.client() as client:
        s = make_suggestion(client, pid, {qs[0]: 11})
        with pytest.raises(DataError, match="whole numbers from 1 to 10"):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
        s = make_suggestion(client, pid, {qs[0]: 4})
        s.table.loc[len(s.table)] = ["NOPE1234", "gone", 2.0, 3]
        with pytest.raises(WeightConflictError, match="NOPE1234: question no longer exists"):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    assert sandbox.counts.get(PATCH, 0) == 0 and not list(tmp_path.iterdir())


def test_keep_suggestion_is_refused_unless_allow_keep(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    with sandbox.client() as client:
        s = make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1})
        s.recommendation = "keep"
        dry = push_weights(client, s)  # the dry run still shows the plan, and says why
        assert dry.n_changes == 2 and any("allow_keep=True" in n for n in dry.notes)
        for force in (False, True):  # force is about conflicts; it does not imply allow_keep
            with pytest.raises(DataError, match=r"'keep'.*Nothing was written.*allow_keep=True"):
                push_weights(client, s, apply=True, force=force, audit_dir=tmp_path)
        assert sandbox.counts.get(PATCH, 0) == 0 and not list(tmp_path.iterdir())
        assert live_weights(client, pid) == before
        done = push_weights(client, s, apply=True, allow_keep=True, audit_dir=tmp_path)
        assert [a["question_id"] for a in done.applied] == [qs[0], qs[1]]
        assert read_audit_log(done.audit_log)[0]["allow_keep"] is True
        # a "keep" whose integer weights equal the live ones changes nothing: no refusal
        same = make_suggestion(client, pid, {})
        same.recommendation = "keep"
        assert push_weights(client, same, apply=True, audit_dir=tmp_path).applied == []
    assert sandbox.counts[PATCH] == 2


def test_summary_names_questions_and_counts_in_plain_english(sandbox, world, tmp_path) -> None:
    pid, _, qs = world
    with sandbox.client() as client:
        texts = {q["id"]: q["text"] for q in client.questions.list(pid, raw=True)}
        one = push_weights(client, make_suggestion(client, pid, {qs[0]: 7}))
        two = push_weights(client, make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1}))
    assert one.summary().splitlines()[0].endswith(": 1 weight to change")
    assert two.summary().splitlines()[0].endswith(": 2 weights to change")
    line = next(x for x in one.summary().splitlines() if x.strip().startswith(qs[0]))
    words = " ".join(texts[qs[0]].split())
    assert f'{qs[0]} "{words[:20]}' in line and line.endswith("-> update")


def test_failure_on_third_patch_then_rollback_restores_every_weight(
    sandbox, world, tmp_path
) -> None:
    pid, before, qs = world
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9, qs[3]: 5}
    failing = FailingPatches(ok=2)
    with sandbox.client(transport=failing, max_retries=0) as client:
        s = make_suggestion(client, pid, new)
        with pytest.raises(PushError) as exc:
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    err = exc.value
    assert [a["question_id"] for a in err.applied] == [qs[0], qs[1]]
    assert f"Applied before the failure: {qs[0]} " in str(err) and err.audit_log in str(err)
    records = read_audit_log(err.audit_log)
    assert [(r["event"], r.get("status")) for r in records] == [
        ("plan", None),
        ("write", "ok"),
        ("write", "ok"),
        ("write", "failed"),
        ("done", "failed"),
    ]
    assert records[3]["question_id"] == qs[2] and "500" in records[3]["error"]
    with sandbox.client() as client:
        mid = live_weights(client, pid)
        assert (mid[qs[0]], mid[qs[1]]) == (7, 1)
        assert (mid[qs[2]], mid[qs[3]]) == (before[qs[2]], before[qs[3]])
        sandbox.reset_counts()
        rb = rollback_weights(client, err)
        assert live_weights(client, pid) == before
        assert sandbox.counts[PATCH] == 2
        assert {a["question_id"] for a in rb.applied} == {qs[0], qs[1]}
        again = rollback_weights(client, err.audit_log)  # already restored: nothing to do
        assert again.applied == [] and sandbox.counts[PATCH] == 2
    kinds = [(r["event"], r.get("kind")) for r in read_audit_log(err.audit_log)]
    assert kinds[5:] == [
        ("plan", "rollback"),
        ("write", "rollback"),
        ("write", "rollback"),
        ("done", "rollback"),
        ("plan", "rollback"),
        ("done", "rollback"),
    ]


def test_rerunning_a_failed_push_resumes(sandbox, world, tmp_path) -> None:
    pid, _, qs = world
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9}
    with sandbox.client(transport=FailingPatches(ok=1), max_retries=0) as client:
        s = make_suggestion(client, pid, new)
        with pytest.raises(PushError):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    sandbox.reset_counts()
    with sandbox.client() as client:
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        assert all(live_weights(client, pid)[q] == w for q, w in new.items())
    assert [a["question_id"] for a in done.applied] == [qs[1], qs[2]]
    assert sandbox.counts[PATCH] == 2


def test_rollback_refuses_when_a_pushed_weight_changed_since(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    with sandbox.client() as client:
        done = push_weights(client, make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1}),
                            apply=True, audit_dir=tmp_path)  # fmt: skip
        client.questions.update(pid, qs[1], score_weight=4)
        sandbox.reset_counts()
        with pytest.raises(WeightConflictError, match="pushed 1, live 4"):
            rollback_weights(client, done.audit_log)
        assert sandbox.counts.get(PATCH, 0) == 0
        rollback_weights(client, done.audit_log, force=True)
        assert live_weights(client, pid) == before


def test_non_integer_previous_weight_is_flagged_for_manual_restore(sandbox, tmp_path) -> None:
    pid = sandbox.world.truth["csr_posting_id"]
    with sandbox.client() as client:
        weights = live_weights(client, pid)
        frac = next(q for q, w in weights.items() if not float(w).is_integer())
        s = make_suggestion(client, pid, {frac: 3})
        dry = push_weights(client, s)
        assert any("cannot be written back" in n for n in dry.notes)
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        with pytest.warns(UserWarning, match="Restore by hand"):
            rb = rollback_weights(client, done.audit_log)
        assert rb.plan.set_index("question_id").loc[frac, "action"] == "manual"
        assert live_weights(client, pid)[frac] == 3


def test_cli_push_apply_and_rollback(sandbox, world, tmp_path, capsys, monkeypatch) -> None:
    pid, before, qs = world
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    with sandbox.client() as client:
        path = tmp_path / "suggestion.json"
        make_suggestion(client, pid, {qs[0]: 6}).to_json(path)
    audit = tmp_path / "audit"
    argv = ["push-weights", str(path), "--base-url", sandbox.base_url, "--audit-dir", str(audit)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Dry run" in out and "past candidates keep their scores" in out
    assert sandbox.counts.get(PATCH, 0) == 0
    keep = tmp_path / "keep.json"
    s_keep = WeightSuggestion.from_json(path)
    s_keep.recommendation = "keep"
    s_keep.to_json(keep)
    keep_argv = ["push-weights", str(keep), "--base-url", sandbox.base_url]
    assert main([*keep_argv, "--audit-dir", str(audit), "--apply"]) == 1
    assert "--allow-keep" in capsys.readouterr().err and sandbox.counts.get(PATCH, 0) == 0
    kept_audit = tmp_path / "kept"
    assert main([*keep_argv, "--audit-dir", str(kept_audit), "--apply", "--allow-keep"]) == 0
    assert "1 weight to change, 1 applied" in capsys.readouterr().out
    assert (
        main(["rollback", str(next(kept_audit.glob("*.jsonl"))), "--base-url", sandbox.base_url])
        == 0
    )
    sandbox.reset_counts()
    assert main([*argv, "--apply"]) == 0
    out = capsys.readouterr().out
    log = next(audit.glob("push-*.jsonl"))
    assert f"Undo: milo-analytics rollback {log}" in out and sandbox.counts[PATCH] == 1
    assert main(["rollback", str(log), "--base-url", sandbox.base_url]) == 0
    capsys.readouterr()
    with sandbox.client() as client:
        assert live_weights(client, pid) == before
    # a conflicting push through the CLI: one clear line, exit 1
    with sandbox.client() as client:
        client.questions.update(pid, qs[1], score_weight=10)
    assert main([*argv, "--apply"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("milo-analytics: error:") and "Nothing was written" in err
