"""push_weights / rollback_weights against the sandbox over HTTP: dry run, write-ahead log
(intent before each PATCH, re-read before, read-back after), idempotence, conflicts before and
during a push, failures before and after a PATCH landed, rollback of maybe-applied writes,
torn and foreign logs, the measured race window, and the CLI's exit codes."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from _push_harness import PATCH, live_weights, make_suggestion, set_weights

from milo_analytics.calibrate import PAST_SCORES_NOTE, WeightSuggestion
from milo_analytics.cli import main
from milo_analytics.errors import DataError, PushConflictError, PushError, WeightConflictError
from milo_analytics.push import (
    RollbackIncompleteWarning,
    push_weights,
    read_audit_log,
    rollback_weights,
)


@pytest.fixture
def world(sandbox):
    pid = sandbox.world.truth["csr_posting_id"]
    with sandbox.client() as client:
        weights = live_weights(client, pid)
    integral = [q for q, w in weights.items() if float(w).is_integer()]
    scored = [q["id"] for q in sandbox.world.questions[pid] if not q["not_scored"]]
    return pid, weights, [q for q in scored if q in integral]


class Hooked(httpx.BaseTransport):
    """Forwards to the real server, calling ``before(request, n)`` / ``after(request, n)``
    around the n-th request (1-based) of each method+path; ``before`` may return a response
    to answer instead. Records when each answer arrived (``log``: method, path, time)."""

    def __init__(
        self,
        before: Callable[[httpx.Request, int], httpx.Response | None] | None = None,
        after: Callable[[httpx.Request, int], None] | None = None,
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.before, self.after = before, after
        self.seen: dict[str, int] = {}
        self.log: list[tuple[str, str, float]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        n = self.seen[key] = self.seen.get(key, 0) + 1
        answer = self.before(request, n) if self.before else None
        if answer is None:
            answer = self.inner.handle_request(request)
            answer.read()
        self.log.append((request.method, request.url.path, time.monotonic()))
        if self.after:
            self.after(request, n)
        return answer

    def close(self) -> None:
        self.inner.close()


def failing_patches(ok: int) -> Hooked:
    """Every PATCH after the first ``ok`` ones answers 500 (without reaching the server)."""
    count = {"patches": 0}

    def before(request: httpx.Request, n: int) -> httpx.Response | None:
        if request.method == "PATCH":
            count["patches"] += 1
            if count["patches"] > ok:
                return httpx.Response(
                    500,
                    json={"error": {"type": "api_error", "code": "internal", "message": "boom"}},
                )
        return None

    return Hooked(before)


def question_path(pid: str, qid: str) -> str:
    return f"/api/v2/postings/{pid}/questions/{qid}"


def events(path: str | Path) -> list[tuple[str, str | None]]:
    return [(r["event"], r.get("question_id")) for r in read_audit_log(path)]


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


def test_each_patch_follows_its_fsynced_intent_and_is_verified(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9}
    on_disk_at_patch: list[dict] = []

    def before_request(request: httpx.Request, n: int) -> None:
        if request.method == "PATCH":  # what the log holds when each PATCH goes out
            (log,) = tmp_path.glob("*.jsonl")
            on_disk_at_patch.append(json.loads(log.read_text().splitlines()[-1]))

    spy = Hooked(before_request)
    with sandbox.client(transport=spy) as client:
        s = make_suggestion(client, pid, new)
        result = push_weights(client, s, apply=True, audit_dir=tmp_path)
        after = live_weights(client, pid)
    assert {a["question_id"]: a["new"] for a in result.applied} == new
    assert {a["question_id"]: a["previous"] for a in result.applied} == {q: before[q] for q in new}
    assert all(after[q] == new[q] for q in new)
    assert all(after[q] == before[q] for q in before if q not in new)
    assert sandbox.counts[PATCH] == 3
    # before every PATCH, the last record on disk is that write's intent
    assert [(r["event"], r["question_id"], r["expected"], r["new"]) for r in on_disk_at_patch] == [
        ("intent", q, before[q], w) for q, w in new.items()
    ]
    # each write re-read its question first and read it back after: GET, PATCH, GET
    calls = [(m, p) for m, p, _ in spy.log if p.startswith(question_path(pid, ""))]
    assert calls == [(m, question_path(pid, q)) for q in new for m in ("GET", "PATCH", "GET")]
    records = read_audit_log(result.audit_log)
    assert records[0]["event"] == "plan" and records[0]["log_format"].endswith("/2")
    assert [e for e, _ in events(result.audit_log)] == [
        "plan", "intent", "applied", "intent", "applied", "intent", "applied", "done",
    ]  # fmt: skip
    applied = [r for r in records if r["event"] == "applied"]
    assert all(r["verified"] == r["new"] and r["race_window_s"] > 0 for r in applied)
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
        with pytest.raises(DataError, match=r"suggested_integer\): 11 is not a whole number"):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
        s = make_suggestion(client, pid, {qs[0]: 4})
        s.table.loc[len(s.table)] = ["NOPE1234", "gone", 2.0, 3]
        with pytest.raises(DataError, match="no baseline weight for question NOPE1234"):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
        s.baseline["weights"]["NOPE1234"] = 2.0
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
    with sandbox.client(transport=failing_patches(ok=2), max_retries=0) as client:
        s = make_suggestion(client, pid, new)
        with pytest.raises(PushError) as exc:
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    err = exc.value
    assert not isinstance(err, WeightConflictError)
    assert [a["question_id"] for a in err.applied] == [qs[0], qs[1]] and err.unknown == []
    msg = str(err)
    assert f"failed at question {qs[2]}" in msg and f"still holds {before[qs[2]]:g}" in msg
    assert f"Applied before it: {qs[0]} " in msg.replace("; applied", "; Applied")
    assert f"rollback_weights(client, {err.audit_log!r})" in msg and "milo-analytics" not in msg
    assert (
        "`milo-analytics rollback " in err.cli_message and "rollback_weights" not in err.cli_message
    )
    assert events(err.audit_log) == [
        ("plan", None), ("intent", qs[0]), ("applied", qs[0]), ("intent", qs[1]),
        ("applied", qs[1]), ("intent", qs[2]), ("failed", qs[2]), ("done", None),
    ]  # fmt: skip
    records = read_audit_log(err.audit_log)
    assert records[6]["stage"] == "write" and "500" in records[6]["error"]
    with sandbox.client() as client:
        mid = live_weights(client, pid)
        assert (mid[qs[0]], mid[qs[1]]) == (7, 1)
        assert (mid[qs[2]], mid[qs[3]]) == (before[qs[2]], before[qs[3]])
        sandbox.reset_counts()
        rb = rollback_weights(client, err)
        assert live_weights(client, pid) == before
        assert sandbox.counts[PATCH] == 2
        assert {a["question_id"] for a in rb.applied} == {qs[0], qs[1]}
        acts = rb.plan.set_index("question_id")["action"]
        assert (acts[qs[2]], acts[qs[3]]) == ("unchanged", "not_sent") and rb.unresolved == []
        again = rollback_weights(client, err.audit_log)  # already restored: nothing to do
        assert again.applied == [] and sandbox.counts[PATCH] == 2
    kinds = [(r["event"], r.get("kind")) for r in read_audit_log(err.audit_log)]
    assert kinds[8:] == [
        ("plan", "rollback"), ("intent", "rollback"), ("applied", "rollback"),
        ("intent", "rollback"), ("applied", "rollback"), ("done", "rollback"),
        ("plan", "rollback"), ("done", "rollback"),
    ]  # fmt: skip


def test_rerunning_a_failed_push_resumes(sandbox, world, tmp_path) -> None:
    pid, _, qs = world
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9}
    with sandbox.client(transport=failing_patches(ok=1), max_retries=0) as client:
        s = make_suggestion(client, pid, new)
        with pytest.raises(PushError):
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    sandbox.reset_counts()
    with sandbox.client() as client:
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        assert all(live_weights(client, pid)[q] == w for q, w in new.items())
    assert [a["question_id"] for a in done.applied] == [qs[1], qs[2]]
    assert sandbox.counts[PATCH] == 2


# ------------------------------------------------------------------------ concurrent edits
def edit_on(sandbox, pid: str, qid: str, method: str, nth: int, weight: int) -> Hooked:
    """A transport that lets another client set ``qid`` to ``weight`` just before the push's
    ``nth`` ``method`` request on that question goes out."""

    def before(request: httpx.Request, n: int) -> None:
        if request.method == method and request.url.path == question_path(pid, qid) and n == nth:
            with sandbox.client() as other:
                other.questions.update(pid, qid, score_weight=weight)

    return Hooked(before)


def test_edit_before_our_reread_is_a_logged_conflict_and_never_overwritten(
    sandbox, world, tmp_path
) -> None:
    """Someone sets weight 8 while the push runs, before the push re-reads that question."""
    pid, before, qs = world
    new = {qs[0]: 7, qs[1]: 1, qs[2]: 9}
    hook = edit_on(sandbox, pid, qs[1], "GET", 1, 8)  # the first GET of qs[1]: our re-read
    with sandbox.client(transport=hook) as client:
        s = make_suggestion(client, pid, new)
        with pytest.raises(PushConflictError) as exc:
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    err = exc.value
    assert isinstance(err, PushError) and isinstance(err, WeightConflictError)
    assert [a["question_id"] for a in err.applied] == [qs[0]]
    assert err.conflicts[0]["question_id"] == qs[1] and err.conflicts[0]["live"] == 8
    assert f"changed to 8 after the plan read {before[qs[1]]:g}" in str(err)
    assert "nothing was written for it" in str(err) and f"not reached: {qs[2]}" in str(err)
    log = err.audit_log
    assert events(log) == [
        ("plan", None), ("intent", qs[0]), ("applied", qs[0]), ("conflict", qs[1]), ("done", None),
    ]  # fmt: skip
    conflict = read_audit_log(log)[3]
    assert (conflict["stage"], conflict["written"], conflict["live"]) == ("before_write", False, 8)
    with sandbox.client() as client:
        assert live_weights(client, pid)[qs[1]] == 8  # the edit stands
        rb = rollback_weights(client, log)
        after = live_weights(client, pid)
    assert after[qs[1]] == 8 and after[qs[0]] == before[qs[0]]  # restored ours, not over theirs
    assert rb.plan.set_index("question_id").loc[qs[1], "action"] == "not_sent"
    assert rb.unresolved == []


def test_edit_after_our_patch_is_seen_on_read_back_and_rollback_leaves_it(
    sandbox, world, tmp_path, capsys, monkeypatch
) -> None:
    pid, before, qs = world
    hook = edit_on(sandbox, pid, qs[1], "GET", 2, 8)  # the second GET of qs[1]: our read-back
    with sandbox.client(transport=hook) as client:
        s = make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1})
        with pytest.raises(PushConflictError) as exc:
            push_weights(client, s, apply=True, audit_dir=tmp_path)
    log = exc.value.audit_log
    assert events(log)[-3:] == [("intent", qs[1]), ("conflict", qs[1]), ("done", None)]
    assert read_audit_log(log)[-2]["stage"] == "after_write"
    assert f"stopped at question {qs[1]}: it holds 8 after this push wrote 1" in str(exc.value)
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    code = main(["rollback", log, "--base-url", sandbox.base_url])
    out, err = capsys.readouterr()
    assert code == 3, err  # something is left for a person
    line = next(x for x in out.splitlines() if x.strip().startswith(f"{qs[1]}:"))
    assert "holds 8, not the 1 the push wrote" in line and f"rollback {log} --force" in line
    with sandbox.client() as client:
        after = live_weights(client, pid)
    assert after[qs[1]] == 8 and after[qs[0]] == before[qs[0]]
    # --force restores the pre-push weight over it, on purpose
    assert main(["rollback", log, "--base-url", sandbox.base_url, "--force"]) == 0
    with sandbox.client() as client:
        assert live_weights(client, pid) == before


def test_race_window_is_one_patch_round_trip_not_the_push(sandbox_factory, tmp_path) -> None:
    """The documented race: an edit landing between our re-read and our PATCH is overwritten
    (the API has no conditional update). Measured with 0.1 s of sandbox latency, the window —
    from the server's answer to the re-read to its answer to the PATCH — holds one PATCH round
    trip (at least the latency), a small part of the push (its 10 round trips)."""
    latency = 0.1
    sb = sandbox_factory()
    pid = sb.world.truth["csr_posting_id"]
    with sb.client() as client:
        before = live_weights(client, pid)
        qs = [q for q, w in before.items() if float(w).is_integer()][:3]
        s = make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1, qs[2]: 9})
    sb.set_faults(latency=latency)  # for the measured push only
    spy = Hooked()
    with sb.client(transport=spy) as client:
        t0 = time.monotonic()
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        total = time.monotonic() - t0
    answers = [(m, p, t) for m, p, t in spy.log if p.startswith(question_path(pid, ""))]
    windows = [answers[i + 1][2] - answers[i][2] for i in range(0, len(answers), 3)]
    assert [m for m, _, _ in answers] == ["GET", "PATCH", "GET"] * 3
    logged = [r["race_window_s"] for r in read_audit_log(done.audit_log) if r["event"] == "applied"]
    print(f"race window per question {windows} s (logged {logged}); whole push {total:.2f} s")
    for w, lw in zip(windows, logged, strict=True):
        assert w >= latency and lw >= latency  # the PATCH's own round trip is inside
        assert 3 * w < total  # ...but not the push: 10 round trips of which the window is ~1
    # and the race itself: an edit that lands inside the window is overwritten, as documented
    sb.set_faults(latency=0)
    set_weights(sb, pid, before)
    hook = edit_on(sb, pid, qs[0], "PATCH", 1, 8)
    with sb.client(transport=hook) as client:
        raced = push_weights(client, s, apply=True, audit_dir=tmp_path)
        assert live_weights(client, pid)[qs[0]] == 7
    assert [a["question_id"] for a in raced.applied] == qs


# ------------------------------------------------------------------ failures after the PATCH
def test_503s_after_the_patch_landed_say_unknown_and_how_to_roll_back(
    sandbox, world, tmp_path, capsys, monkeypatch
) -> None:
    """The PATCH lands, then the server answers only 503s: the read-back fails. The message
    must not say nothing was applied; it says what is unknown and how to roll back."""
    pid, before, qs = world

    def after(request: httpx.Request, n: int) -> None:
        if request.method == "PATCH" and request.url.path == question_path(pid, qs[1]):
            sandbox.set_faults(error_rate=1.0)  # from now on every answer is a 5xx

    with sandbox.client(max_retries=1, sleep=lambda s: None) as client:
        s = make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1, qs[2]: 9})
    hooked = Hooked(after=after)
    with (
        sandbox.client(transport=hooked, max_retries=1, sleep=lambda s: None) as c,
        pytest.raises(PushError) as exc,
    ):
        push_weights(c, s, apply=True, audit_dir=tmp_path)
    err = exc.value
    msg = str(err)
    assert "nothing was applied" not in msg.lower() and "no weight was changed" not in msg
    assert f"whether {qs[1]} now holds 1 or still {before[qs[1]]:g} is unknown" in msg
    assert f"rollback_weights(client, {err.audit_log!r})" in msg
    assert [a["question_id"] for a in err.applied] == [qs[0]]
    assert [u["question_id"] for u in err.unknown] == [qs[1]]
    assert events(err.audit_log)[-3:] == [("intent", qs[1]), ("unknown", qs[1]), ("done", None)]
    sandbox.set_faults(error_rate=0.0)
    with sandbox.client() as client:
        assert live_weights(client, pid)[qs[1]] == 1  # it did land
        rb = rollback_weights(client, err.audit_log)
        assert live_weights(client, pid) == before
    assert {a["question_id"] for a in rb.applied} == {qs[0], qs[1]}

    # the same through the CLI: exit 4, the rollback command named, nothing claimed
    path = tmp_path / "s.json"
    s.to_json(path)
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    sandbox.set_faults(error_rate=0.0)

    calls = {"n": 0}
    real = httpx.HTTPTransport.handle_request

    def flaky(self, request):  # the CLI's own client: 503s right after its second PATCH
        response = real(self, request)
        if request.method == "PATCH":
            calls["n"] += 1
            if calls["n"] == 2:
                sandbox.set_faults(error_rate=1.0)
        return response

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", flaky)
    monkeypatch.setattr("time.sleep", lambda s: None)  # the CLI client's retry back-off
    code = main(["push-weights", str(path), "--apply", "--base-url", sandbox.base_url,
                 "--audit-dir", str(tmp_path / "cli")])  # fmt: skip
    err_text = capsys.readouterr().err
    sandbox.set_faults(error_rate=0.0)
    assert code == 4, err_text
    assert err_text.count("\n") == 1 and "is unknown" in err_text
    log = next((tmp_path / "cli").glob("*.jsonl"))
    assert f"`milo-analytics rollback {log}`" in err_text and "rollback_weights" not in err_text
    assert "nothing was applied" not in err_text.lower()


# ------------------------------------------------------------------------ rollback reports
def test_rollback_restores_ours_and_leaves_someone_elses_value(sandbox, world, tmp_path) -> None:
    pid, before, qs = world
    with sandbox.client() as client:
        done = push_weights(client, make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1}),
                            apply=True, audit_dir=tmp_path)  # fmt: skip
        client.questions.update(pid, qs[1], score_weight=4)
        sandbox.reset_counts()
        with pytest.warns(RollbackIncompleteWarning, match=f"{qs[1]} holds 4"):
            rb = rollback_weights(client, done.audit_log)
        assert sandbox.counts[PATCH] == 1  # only ours
        assert live_weights(client, pid)[qs[1]] == 4
        assert [(u["question_id"], u["action"]) for u in rb.unresolved] == [(qs[1], "conflict")]
        assert "force=True" in rb.unresolved[0]["fix"]
        assert "--force" in rb.unresolved[0]["fix_cli"]
        assert rb.summary(cli=True).splitlines()[-1].startswith(f"  {qs[1]}: holds 4, not the 1")
        rollback_weights(client, done.audit_log, force=True)
        assert live_weights(client, pid) == before


def test_a_weight_like_1_5_is_listed_for_manual_restore_with_exit_3(
    sandbox, tmp_path, capsys, monkeypatch
) -> None:
    pid = sandbox.world.truth["csr_posting_id"]
    with sandbox.client() as client:
        weights = live_weights(client, pid)
        frac = next(q for q, w in weights.items() if not float(w).is_integer())
        s = make_suggestion(client, pid, {frac: 3})
        dry = push_weights(client, s)
        assert any("cannot be written back" in n for n in dry.notes)
        done = push_weights(client, s, apply=True, audit_dir=tmp_path)
        with pytest.warns(RollbackIncompleteWarning, match="Set it back to 1.5 by hand"):
            rb = rollback_weights(client, done.audit_log)
        assert rb.plan.set_index("question_id").loc[frac, "action"] == "manual"
        assert live_weights(client, pid)[frac] == 3
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a terminal would show them
        code = main(["rollback", done.audit_log, "--base-url", sandbox.base_url])
    out, err = capsys.readouterr()
    assert code == 3
    assert "UserWarning" not in err and "cli.py" not in err and "Warning" not in out
    line = next(x for x in out.splitlines() if x.strip().startswith(f"{frac}:"))
    assert "pre-push weight 1.5 is not a whole number" in line
    assert "Set it back to 1.5 by hand in HeyMilo" in line
    assert "left 1 question for you" in err


# ------------------------------------------------------------------------ the log itself
def test_torn_last_line_is_ignored_and_said_so(sandbox, world, tmp_path, capsys, monkeypatch):
    """A crash while a record was written leaves a cut-off last line: rollback reads every
    record before it, says it ignored the tail, and keeps the log readable afterwards."""
    pid, before, qs = world
    with sandbox.client() as client:
        done = push_weights(client, make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1}),
                            apply=True, audit_dir=tmp_path)  # fmt: skip
    log = Path(done.audit_log)
    lines = log.read_bytes().splitlines(keepends=True)
    # the crash: the push died while writing its 'done' record
    log.write_bytes(b"".join(lines[:-1]) + lines[-1][:23])
    records = read_audit_log(log)
    assert records.torn_line == len(lines) and records.torn_tail == lines[-1][:23]
    assert len(records) == len(lines) - 1
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    assert main(["rollback", str(log), "--base-url", sandbox.base_url]) == 0
    out = capsys.readouterr().out
    assert f"Ignored a torn last line (line {len(lines)}, 23 bytes)" in out
    with sandbox.client() as client:
        assert live_weights(client, pid) == before
    after = read_audit_log(log)  # readable again: the torn bytes became a note
    assert after.torn_tail is None
    assert after[len(lines) - 1]["event"] == "note"
    assert after[len(lines) - 1]["torn_tail_removed"] == lines[-1][:23].decode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'{"event": "plan"}\n\xff\xfe\x00\x01binary\n{"event": "done"}\n',
            "line 2 holds binary bytes",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 1 holds binary bytes"),
        (b"email,hired\na@x.org,1\n", "line 1 is not JSON"),
        (b'{"name": "not ours"}\n', "line 1 is not an audit record"),
        (b'{"event": "plan", "kind": "rollback"}\n', "line 1 is not the plan of a push"),
        (b"", "is empty"),
    ],
    ids=["binary-middle", "png", "csv", "json-lines-not-ours", "not-a-push", "empty"],
)
def test_garbage_or_foreign_logs_are_clear_errors(
    sandbox, tmp_path, capsys, monkeypatch, content, expected
) -> None:
    log = tmp_path / "push-x.jsonl"
    log.write_bytes(content)
    with sandbox.client() as client, pytest.raises(DataError, match=expected) as exc:
        rollback_weights(client, log)
    assert str(log) in str(exc.value)
    assert sandbox.counts.get(PATCH, 0) == 0
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    assert main(["rollback", str(log), "--base-url", sandbox.base_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("milo-analytics: error: audit log") and err.count("\n") == 1
    assert str(log) in err and "Traceback" not in err and "unexpected" not in err


def test_logs_from_before_the_write_ahead_log_still_roll_back(sandbox, world, tmp_path) -> None:
    """A log of the old format (a 'write' record after each verified PATCH): a planned change
    without its record may have landed (the crash case of issue 11), so it is checked too."""
    pid, before, qs = world
    with sandbox.client() as client:
        client.questions.update(pid, qs[0], score_weight=7)
        client.questions.update(pid, qs[1], score_weight=1)  # written, never logged (crash)
    old = [
        {"event": "plan", "op_id": "o1", "kind": "push", "posting_id": pid,
         "changes": [{"question_id": qs[0], "previous": before[qs[0]], "new": 7},
                     {"question_id": qs[1], "previous": before[qs[1]], "new": 1}]},
        {"event": "write", "op_id": "o1", "kind": "push", "question_id": qs[0],
         "previous": before[qs[0]], "new": 7, "status": "ok", "verified": 7},
    ]  # fmt: skip
    log = tmp_path / "push-old.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in old))
    with sandbox.client() as client:
        rb = rollback_weights(client, log)
        assert live_weights(client, pid) == before
    assert {a["question_id"] for a in rb.applied} == {qs[0], qs[1]}
    assert any("before pushes were write-ahead logged" in n for n in rb.notes)


# ------------------------------------------------------------------------ CLI
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
    # a conflicting push through the CLI: one clear line, exit 3 (conflict), nothing written
    with sandbox.client() as client:
        client.questions.update(pid, qs[1], score_weight=10)
    sandbox.reset_counts()
    assert main([*argv, "--apply"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("milo-analytics: error:") and "Nothing was written" in err
    assert err.count("\n") == 1 and sandbox.counts.get(PATCH, 0) == 0
    # a failed write: exit 4
    with sandbox.client() as client:
        client.questions.update(pid, qs[1], score_weight=int(before[qs[1]]))
    real = httpx.HTTPTransport.handle_request

    def refuse_patch(self, request):
        if request.method == "PATCH":
            return httpx.Response(
                500, json={"error": {"type": "api_error", "code": "internal", "message": "boom"}}
            )
        return real(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_patch)
    monkeypatch.setattr("time.sleep", lambda s: None)  # the CLI client's retry back-off
    assert main([*argv, "--apply"]) == 4
    err = capsys.readouterr().err
    assert "failed at question" in err and "no weight was changed" in err


def test_cli_rollback_that_cannot_write_exits_4_and_says_run_it_again(
    sandbox, world, tmp_path, capsys, monkeypatch
) -> None:
    pid, before, qs = world
    with sandbox.client() as client:
        done = push_weights(client, make_suggestion(client, pid, {qs[0]: 7, qs[1]: 1}),
                            apply=True, audit_dir=tmp_path)  # fmt: skip
    real = httpx.HTTPTransport.handle_request

    def refuse_patch(self, request):
        if request.method == "PATCH":
            return httpx.Response(
                503, json={"error": {"type": "api_error", "code": "busy", "message": "busy"}}
            )
        return real(self, request)

    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_patch)
    monkeypatch.setattr("time.sleep", lambda s: None)  # the client's retry back-off
    code = main(["rollback", done.audit_log, "--base-url", sandbox.base_url])
    err = capsys.readouterr().err
    assert code == 4, err
    assert err.startswith(f"milo-analytics: error: Rollback for posting {pid} failed at question")
    assert f"run `milo-analytics rollback {done.audit_log}` again" in err
    assert err.count("\n") == 1
    monkeypatch.undo()
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    assert main(["rollback", done.audit_log, "--base-url", sandbox.base_url]) == 0
    with sandbox.client() as client:
        assert live_weights(client, pid) == before


def test_help_documents_the_exit_codes(capsys) -> None:
    for cmd in ("push-weights", "rollback"):
        assert main([cmd, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "Exit codes: 0" in text and "3 " in text and "4 " in text and "130" in text
