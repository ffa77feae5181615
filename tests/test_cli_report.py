"""The `demo` and `report` commands: help, the main job end to end, errors and --debug."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from milo_analytics.cli import main
from milo_analytics.errors import MiloError


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- help
def test_root_help_lists_demo_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "demo" in out and "report" in out


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("demo", ["--out", "--apply", "milo-report.html", "suggestion.json", "dry-run"]),
        (
            "report",
            ["POSTINGS", "--outcomes", "--demographics", "--output", "--store", "--offline",
             "HEYMILO_API_KEY", "--pdf", "--xlsx"],
        ),
    ],
)  # fmt: skip
def test_command_help(
    capsys: pytest.CaptureFixture[str], command: str, expected: list[str]
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for word in expected:
        assert word.lower() in flat.lower(), (word, out)


# --------------------------------------------------------------------------- errors
def test_report_offline_on_an_empty_store_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "report", "NOPE1234", "--offline", "--store", str(tmp_path / "s.sqlite3"),
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("milo-analytics: error:"), err
    assert "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(MiloError):
        main(["--debug", "report", "NOPE1234", "--offline", "--store", str(tmp_path / "s.sqlite3")])


def test_an_unexpected_failure_is_one_line_and_debug_shows_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import milo_analytics.cli as cli

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "load_data", broken)
    code, out, err = run(capsys, "report", "ABC", "--offline")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1 and out == ""
    assert lines == [
        "milo-analytics: unexpected RuntimeError: disk on fire (run with --debug for the traceback)"
    ]
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["--debug", "report", "ABC", "--offline"])


def test_report_without_api_key_says_how_to_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)
    code, _, err = run(capsys, "report", "ABC", "--store", str(tmp_path / "s.sqlite3"))
    assert code == 1
    assert "HEYMILO_API_KEY" in err and "Traceback" not in err


def test_report_missing_outcomes_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "report", "ABC", "--outcomes", str(tmp_path / "missing.csv"))
    assert code == 2
    assert "missing.csv" in err


@pytest.mark.parametrize("command", ["report", "audit", "suggest-weights"])
@pytest.mark.parametrize(
    ("option", "choices"),
    [
        ("--outcomes-key", ["email", "interview_id", "external_id"]),
        ("--demographics-key", ["email", "interview_id", "external_id"]),
        ("--on-conflict", ["error", "unknown", "first", "last"]),
    ],
)
def test_join_options_are_one_validated_set(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    option: str,
    choices: list[str],
) -> None:
    # --help lists the choices and the default of every join option of every data command
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, command, "--help")
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if f" {option} " in ln)
    assert code == 0 and f"{option} [{'|'.join(choices)}]" in lines[at], out
    assert f"[default: {choices[0]}]" in " ".join(lines[at : at + 4])
    # a bad value is a usage error (exit 2) naming the option, before any work is done
    code, _, err = run(capsys, command, "ABC", option, "name")
    assert code == 2
    assert option in err and "'name'" in err and "Traceback" not in err


def test_join_choices_match_the_library() -> None:
    from typing import get_args

    from milo_analytics.cli import JoinKey, OnConflict
    from milo_analytics.outcomes import KeyKind
    from milo_analytics.outcomes import OnConflict as LibraryOnConflict

    assert [k.value for k in JoinKey] == list(get_args(KeyKind))
    assert [k.value for k in OnConflict] == list(get_args(LibraryOnConflict))


@pytest.mark.parametrize("command", ["pull", "audit", "suggest-weights", "report"])
def test_every_data_command_has_the_same_data_options(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    for option in ("--store", "--offline", "--documents", "--base-url"):
        assert option in out, (command, option)


@pytest.mark.parametrize(
    "command",
    ["pull", "audit", "suggest-weights", "push-weights", "rollback", "report", "demo", "sandbox"],
)
def test_every_command_help_renders(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "--help")
    assert code == 0 and err == ""
    assert "Usage: milo-analytics " + command in " ".join(out.split())


def test_documents_cannot_be_mixed_with_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from milo_analytics.sandbox.world import demo_world_path

    docs = str(demo_world_path())
    code, _, err = run(capsys, "report", "X", "--documents", docs, "--offline")
    assert code == 1 and err.count("\n") == 1 and "--documents" in err
    code, _, err = run(capsys, "report", "NOPE1234", "--documents", docs)
    assert code == 1 and err.count("\n") == 1
    assert "NOPE1234" in err and "not in the documents" in err


# --------------------------------------------------------------------------- report command
def test_report_command_against_the_sandbox(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_sandbox,
) -> None:
    from milo_analytics.sandbox.world import demo_world_path

    monkeypatch.setenv("HEYMILO_API_KEY", demo_sandbox.api_key)
    monkeypatch.setenv("HEYMILO_BASE_URL", demo_sandbox.base_url)
    posting = demo_sandbox.world.postings[-1]["id"]  # the smaller posting keeps this fast
    store = tmp_path / "store.sqlite3"
    out = tmp_path / "r.html"
    code, stdout, err = run(
        capsys, "report", posting, "--store", str(store), "-o", str(out),
        "--demographics", str(demo_world_path() / "demographics.csv"),
        "--outcomes", str(demo_world_path() / "outcomes.csv"),
        "--outcomes-key", "interview_id", "--on-conflict", "unknown",
    )  # fmt: skip
    assert code == 0, err
    assert f"Report: {out}" in stdout
    page = out.read_text(encoding="utf-8")
    assert 'id="adverse-impact"' in page and 'id="overview"' in page
    assert 'id="validity"' in page
    assert demo_sandbox.api_key not in page
    # offline from the same store gives the same report body (only the timestamp differs)
    out2 = tmp_path / "r2.html"
    code, _, err = run(
        capsys, "report", posting, "--offline", "--store", str(store), "-o", str(out2)
    )
    assert code == 0, err
    assert 'id="overview"' in out2.read_text(encoding="utf-8")


def test_report_from_exported_documents_needs_no_key(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_sandbox,
) -> None:
    from milo_analytics.sandbox.world import demo_world_path

    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)
    posting = demo_sandbox.world.postings[-1]["id"]
    out = tmp_path / "r.html"
    code, stdout, err = run(
        capsys, "report", posting, "--documents", str(demo_world_path()), "-o", str(out),
        "-d", str(demo_world_path() / "demographics.csv"),
    )  # fmt: skip
    assert code == 0, err
    assert "demographics join by email:" in stdout  # every data command prints its joins
    assert f"Report: {out}" in stdout and 'id="adverse-impact"' in out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- demo
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """The session's one `milo-analytics demo --apply --quiet` (tests/_demo_output.py): what
    else it did (its stderr, the bias audits it ran), its stdout and its folder."""
    from _demo_output import demo_facts, demo_output

    out, out_dir = demo_output(tmp_path_factory)
    return demo_facts(tmp_path_factory), out, out_dir


@pytest.mark.slow
def test_demo_writes_report_and_suggestion_and_prints_the_plan(
    demo_run: tuple[dict, str, Path],
) -> None:
    from milo_analytics import WeightSuggestion

    facts, out, out_dir = demo_run
    assert facts["stderr"] == ""  # --quiet: nothing on stderr (exit 0: tests/_demo_output.py)
    report = out_dir / "milo-report.html"
    suggestion = out_dir / "suggestion.json"
    assert report.exists() and suggestion.exists()
    assert f"Report:     {report}" in out and f"Suggestion: {suggestion}" in out
    assert "Dry run for posting" in out
    assert "Dry run: nothing was written" in out
    # postings are named by title as well as id (the demo world's guide posting)
    assert re.search(r"reliability [0-9A-F]{8} \(Customer Service Representative\): ", out), out
    # one plan line per scored question of the calibrated posting, with an action
    dry = out.split("Push for posting")[0]  # (the push --apply made follows the dry run)
    plan_lines = [ln for ln in dry.splitlines() if re.search(r"\s(update|unchanged)$", ln)]
    assert len(plan_lines) == 5, out
    sugg = WeightSuggestion.from_json(suggestion.read_text(encoding="utf-8"))
    assert sugg.recommendation in ("keep", "change")
    assert len(sugg.table) == 5
    json.loads(suggestion.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_demo_summary_shows_the_flags_and_puts_raw_four_fifths_in_context(
    demo_run: tuple[dict, str, Path],
) -> None:
    _, out, _ = demo_run
    summary = out.split("Report:")[0]
    # the planted speech-score gap (data/demo/README.md) is printed as a finding with its numbers
    flag = [ln for ln in summary.splitlines() if "FLAG Speech score · race_ethnicity" in ln]
    assert len(flag) == 1, summary
    assert re.search(r"impact ratio 0\.\d{3} \(n=[\d,]+, p=[^,]+, Holm p=", flag[0]), flag[0]
    # the raw four-fifths count comes with its context, in proper English
    m = re.search(
        r"([\d,]+) impact ratios fall below four-fifths \(0\.8\); ([\d,]+) of them are not "
        r"flags: ([\d,]+) in groups under 30 people and ([\d,]+) not significantly lower",
        " ".join(summary.split()),
    )
    assert m, summary
    below, unflagged, small, not_sig = (int(g.replace(",", "")) for g in m.groups())
    assert below == unflagged + 1 and unflagged == small + not_sig
    assert "flagged categories" not in summary and "1 flagged finding" in summary


@pytest.mark.slow
def test_demo_report_has_every_section_and_no_pii(demo_run: tuple[dict, str, Path]) -> None:
    from milo_analytics.sandbox import load_demo_world

    _, _, out_dir = demo_run
    page = (out_dir / "milo-report.html").read_text(encoding="utf-8")
    for sid in ("overview", "weights", "questions", "speech", "validity", "suggestion",
                "adverse-impact", "data-quality"):  # fmt: skip
        assert f'<section id="{sid}"' in page, sid
    # the suggestion section says what the new weights would have changed for candidates
    assert "Shortlist = the best 25 % of the posting" in page
    world = load_demo_world()
    cands = [c for cs in world.candidates.values() for c in cs]
    from plotly.offline import get_plotlyjs

    ours = page.replace(get_plotlyjs().replace("</script", "<\\/script"), "")
    assert len(ours) < len(page) - 1_000_000  # the bundle was found and left out of the search
    low = ours.lower()
    for c in cands:
        assert c["email"].lower() not in low
        assert c["name"] not in ours
    assert 5 < len(page) / 1e6 < 6  # plotly.js (~4.7 MB) + aggregated content


@pytest.mark.slow
def test_demo_apply_pushes_and_verifies(demo_run: tuple[dict, str, Path]) -> None:
    facts, out, out_dir = demo_run
    # the report's section and the demo's summary share one audit (Report.results["audit"])
    assert facts["bias_audits"] == 1
    assert "Dry run for posting" in out
    assert "Push for posting" in out
    assert "Verified: the sandbox now serves the new weights" in out
    assert list(out_dir.glob("*.jsonl")) or "Audit log:" in out
    # as many weights written (and re-read by push_weights) as the dry run planned to update
    dry = out.split("Push for posting")[0]
    planned = len(re.findall(r"-> update$", dry, flags=re.M))
    assert planned > 0
    assert re.search(rf"\({planned} weights? written, re-read\)", out), out
