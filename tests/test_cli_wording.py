"""One message source, two renderings (issue 12, "CLI wording speaks Python"): every failure a
command-line user can reach names CLI commands, flags or environment variables, and the same
failure raised in Python names the Python call or parameter.

Each case below runs `milo-analytics` (against the sandbox over HTTP, or the demo files) and
asserts its one stderr line says the CLI fix and contains no Python call syntax; then it raises
the same error through the public Python functions and asserts the Python wording. The command
runs in this process as a fresh shell process would (tests/_cli_inprocess.py: a clean
environment, log records and foreign warnings on stderr); that a real process prints the same
one line with the same exit status is tests/test_cli_exit_codes.py's job. The issue's examples are cases here with their exact inputs: an unknown
posting, `--offline` on an empty store, a demographics file without a key column, the demo's
`report --outcomes data/demo/outcomes.csv --demographics data/demo/demographics.csv`, a bad API
key and an unknown flag value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest
from _cli_inprocess import run_cli

from milo_analytics import (
    build_report,
    load_documents,
    load_posting,
    read_demographics,
    read_outcomes,
)
from milo_analytics.analysis.fairness import bias_audit
from milo_analytics.api import HeyMiloClient
from milo_analytics.api.errors import error_from_response
from milo_analytics.errors import ConfigError, MiloError
from milo_analytics.sandbox import WorldConfig
from milo_analytics.sandbox.world import demo_world_path

DEMO = demo_world_path()
CSR = "8B4AE5F1"  # Customer Service Representative (data/demo/README.md)

#: Python spellings no CLI message may contain: the client class, the loaders, a call with no
#: argument or a string argument (`list()`, `load_posting('X')`), a `param=` keyword.
_PYTHON = re.compile(
    r"HeyMiloClient|load_postings?\b|read_(?:outcomes|demographics)\b|\w\(\)"
    r"|\b[a-z_][a-z0-9_]*\((?:'|\")|(?<![A-Za-z0-9_-])[a-z][a-z0-9_]*=(?!=)"
)
#: A quoted cell of an input file ("line 581: hired='No'"): the file's words, not Python's.
_FILE_CELL = re.compile(r"line \d+: [^;=']+='[^']*'")


def python_syntax(text: str) -> re.Match[str] | None:
    """The first Python spelling in ``text`` (quoted file cells aside), or None."""
    return _PYTHON.search(_FILE_CELL.sub("", text))


def test_the_python_syntax_pattern_catches_the_issues_examples() -> None:
    for python in [
        "check the id with `HeyMiloClient().postings.list()`",
        "pull it first with `load_posting(...)`",
        "pass `key_column=`",
        "pass on_conflict='unknown'",
        "raise deadline= on the client",
    ]:
        assert python_syntax(python), python
    for cli in [
        "run `milo-analytics postings` to list them",
        "pass --on-conflict unknown",
        "set HEYMILO_DEADLINE=120 (seconds; now 60)",
        "the 2 change(s) were not pushed",
        "the file's cells: line 581: hired='No'; line 1519: hired='Yes'",
    ]:
        assert not python_syntax(cli), cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`milo-analytics ARGS` run in this process as a fresh shell process would run it
    (tests/_cli_inprocess.py): ``cli(*args, key="", env=None)`` -> (exit code, stdout, stderr)."""

    def run(*args: str, key: str = "", env: dict[str, str] | None = None) -> tuple[int, str, str]:
        return run_cli(capsys, *args, key=key, env=env)

    return run


def cli_error(cli: Callable[..., tuple[int, str, str]], *args: str, **kw: Any) -> str:
    """The one error line of a failing command (exit 1), checked for Python syntax."""
    code, _out, err = cli(*args, **kw)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1, (code, err)
    line = lines[0]
    assert line.startswith("milo-analytics: error: ") and "Traceback" not in err
    assert not python_syntax(line), line
    return line


def python_error(call: Callable[[], Any], kind: type[Exception] = MiloError) -> str:
    with pytest.raises(kind) as info:
        call()
    return str(info.value)


@pytest.fixture(scope="module")
def demo_data() -> Any:
    return load_documents(DEMO)


# --------------------------------------------------------------------------- the issue's cases
def test_unknown_posting_points_at_the_postings_command(cli, demo_sandbox, tmp_path):
    line = cli_error(
        cli, "pull", "NOPE1234", "--base-url", demo_sandbox.base_url,
        "--store", str(tmp_path / "s.sqlite3"), key=demo_sandbox.api_key,
    )  # fmt: skip
    assert "posting 'NOPE1234' was not found" in line
    assert line.endswith("check the id; run `milo-analytics postings` to list them")
    with demo_sandbox.client() as client:
        text = python_error(
            lambda: load_posting("NOPE1234", client=client, store=tmp_path / "p.sqlite3")
        )
    assert "posting 'NOPE1234' was not found" in text
    assert text.endswith("check the id; list them with `HeyMiloClient().postings.list()`")


def test_offline_on_an_empty_store_points_at_pull(cli, tmp_path):
    store = tmp_path / "empty.sqlite3"
    line = cli_error(
        cli, "report", "NOPE1234", "--offline", "--store", str(store), "-o",
        str(tmp_path / "r.html"),
    )  # fmt: skip
    assert line.endswith(
        f"posting 'NOPE1234' is not in the store at {store}; the store is empty; run "
        "`milo-analytics pull NOPE1234` first"
    )
    text = python_error(lambda: load_posting("NOPE1234", store=store, refresh=False))
    assert text.endswith("pull it first with load_posting('NOPE1234') (refresh=True)")


def test_missing_key_column_names_the_key_flag(cli, tmp_path, demo_data):
    eeo = tmp_path / "eeo.csv"
    eeo.write_text("Candidate,sex,race_ethnicity\nAna,Female,White\n", encoding="utf-8")
    line = cli_error(cli, "audit", CSR, "--documents", str(DEMO), "-d", str(eeo))
    assert "has no usable email column to join on" in line
    assert "pass --demographics-key accordingly" in line
    text = python_error(lambda: read_demographics(eeo, data=demo_data))
    assert "with key_column='<column>'" in text


def test_the_demos_conflicting_outcome_rows_name_on_conflict(cli, tmp_path, demo_data):
    line = cli_error(
        cli, "report", CSR, "--documents", str(DEMO), "--outcomes", str(DEMO / "outcomes.csv"),
        "--demographics", str(DEMO / "demographics.csv"), "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert "pass --on-conflict unknown" in line
    text = python_error(lambda: read_outcomes(DEMO / "outcomes.csv", data=demo_data))
    assert "pass on_conflict='unknown'" in text


def test_a_rejected_api_key_names_the_environment_variable(cli, demo_sandbox, tmp_path):
    line = cli_error(
        cli, "pull", CSR, "--base-url", demo_sandbox.base_url, "--store", str(tmp_path / "s.sqlite3"),
        key="not-the-key-1234",
    )  # fmt: skip
    assert line.startswith("milo-analytics: error: [401]")
    assert line.endswith("check HEYMILO_API_KEY: the key was rejected")
    bad = HeyMiloClient(api_key="not-the-key-1234", base_url=demo_sandbox.base_url)
    with bad:
        text = python_error(lambda: bad.postings.retrieve(CSR))
    assert "check HEYMILO_API_KEY (or pass api_key=)" in text
    assert "not-the-key-1234" not in line + text


def test_a_missing_api_key_names_the_environment_variable_only(cli, demo_sandbox, monkeypatch):
    line = cli_error(cli, "postings", "--base-url", demo_sandbox.base_url, key="")
    assert line == (
        "milo-analytics: error: no HeyMilo API key: set the HEYMILO_API_KEY environment variable "
        "(the key is never passed on the command line)"
    )
    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)
    text = python_error(lambda: HeyMiloClient(base_url=demo_sandbox.base_url))
    assert text.endswith("or pass api_key= to HeyMiloClient")


@pytest.mark.parametrize(
    ("flag", "value", "python"),
    [
        ("--outcomes-key", "phone", "key='phone'"),
        ("--demographics-key", "phone", "key='phone'"),
        ("--on-conflict", "newest", "on_conflict='newest'"),
        ("--ties", "median", "ties='median'"),
    ],
)
def test_an_unknown_flag_value_is_a_usage_error_naming_the_flag(
    cli, flag, value, python, demo_data
):
    code, out, err = cli(
        "audit", CSR, "--documents", str(DEMO), "-d", str(DEMO / "demographics.csv"), flag, value
    )
    assert code == 2 and out == "", err
    assert f"Invalid value for '{flag}'" in err and f"'{value}'" in err
    assert "Traceback" not in err and not python_syntax(err)
    # the Python functions behind the flags name their parameters
    demo = DEMO / "demographics.csv"
    calls = {
        "--outcomes-key": lambda: read_outcomes(DEMO / "outcomes.csv", key=value),
        "--demographics-key": lambda: read_demographics(demo, key=value),
        "--on-conflict": lambda: read_demographics(demo, on_conflict=value, data=demo_data),
        "--ties": lambda: bias_audit(
            demo_data, read_demographics(demo, data=demo_data), ties=value
        ),
    }
    assert python in python_error(calls[flag])


# --------------------------------------------------------------------------- more raise sites
def test_a_report_sections_problem_is_printed_in_cli_words(cli, tmp_path, demo_data):
    """A section that cannot be computed leaves a note in the report; the command prints it
    with the CLI's fix. Demographics whose race/ethnicity answers are all declined."""
    demo = pd.read_csv(DEMO / "demographics.csv")
    demo["race_ethnicity"] = "Decline to state"
    path = tmp_path / "declined.csv"
    demo.to_csv(path, index=False)
    retail = "1E25DF5A"  # Retail Sales Associate (data/demo/README.md)
    code, out, err = cli(
        "report", retail, "--documents", str(DEMO), "--demographics", str(path),
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 0 and err == "", err
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    assert "have a known race/ethnicity (0%" in note
    assert note.endswith("(--race-column), or pass --min-known-share 0 to audit anyway")
    assert not python_syntax(note), note
    # ... and the flag it names exists on `report`: with it the posting is audited
    code, out, err = cli(
        "report", retail, "--documents", str(DEMO), "--demographics", str(path),
        "--min-known-share", "0", "-o", str(tmp_path / "r0.html"),
    )  # fmt: skip
    assert code == 0 and err == "", err
    assert not [line for line in out.splitlines() if line.startswith("note: ")], out
    page = (tmp_path / "r0.html").read_text(encoding="utf-8")
    assert 'id="four-fifths"' in page and "Bias audit: posting" not in page
    assert "Bias audit: posting" in (tmp_path / "r.html").read_text(encoding="utf-8")
    data = demo_data.filter(posting_id=[retail])
    report = build_report(data, demographics=read_demographics(path, data=data))
    (problem,) = report.problems
    assert problem.endswith("(race_ethnicity= of read_demographics), or pass "
                            "min_known_share=0 to audit anyway")  # fmt: skip


def test_an_unsupported_score_scale_names_the_flag(cli):
    line = cli_error(cli, "pull", CSR, "--documents", str(DEMO), "--score-scale", "7")
    assert line.endswith("pass --score-scale 5 (1–5 scores) or 10 (1–10 scores), or leave it "
                         "out to detect it")  # fmt: skip
    text = python_error(lambda: load_documents(DEMO, score_scale=7))
    assert "pass score_scale=5 (1–5 scores) or 10" in text


def test_an_unreachable_server_names_the_base_url_flag(cli, monkeypatch):
    url = "http://127.0.0.1:9/api/v2"  # nothing listens on the discard port
    # the client's retry back-off (~3 s of sleeping before it gives up) proves nothing here
    monkeypatch.setattr("time.sleep", lambda s: None)
    line = cli_error(cli, "postings", "--base-url", url, key="some-key-1234")
    assert "no answer from the server" in line
    assert "check the network and --base-url (or HEYMILO_BASE_URL)" in line
    client = HeyMiloClient(api_key="some-key-1234", base_url=url, max_retries=0)
    with client:
        text = python_error(lambda: client.postings.retrieve(CSR))
    assert "check the network and base_url" in text


def test_a_slow_server_names_the_deadline_variable_and_the_cli_honours_it(
    cli, sandbox_factory, tmp_path
):
    """HEYMILO_DEADLINE is how the CLI sets the client's deadline: 0.3 s against a server that
    answers after 1 s ends in the deadline error, whose CLI fix names the variable."""
    sb = sandbox_factory(world=WorldConfig(seed=3, n_candidates=10, n_second=0), latency=1.0)
    pid = sb.world.postings[0]["id"]
    line = cli_error(
        cli, "pull", pid, "--base-url", sb.base_url, "--store", str(tmp_path / "s.sqlite3"),
        key=sb.api_key, env={"HEYMILO_DEADLINE": "0.3"},
    )  # fmt: skip
    assert "no complete answer within the 0.3 seconds deadline" in line
    assert "set HEYMILO_DEADLINE=0.6 (seconds; now 0.3) if it is just slow" in line
    with HeyMiloClient(api_key=sb.api_key, base_url=sb.base_url, deadline=0.3) as client:
        text = python_error(lambda: client.postings.retrieve(pid))
    assert "raise deadline= on HeyMiloClient (now 0.3)" in text


def test_a_response_over_the_cap_names_the_size_variable(cli, demo_sandbox, tmp_path):
    line = cli_error(
        cli, "pull", CSR, "--base-url", demo_sandbox.base_url, "--store", str(tmp_path / "s.sqlite3"),
        key=demo_sandbox.api_key, env={"HEYMILO_MAX_RESPONSE_MB": "0.001"},
    )  # fmt: skip
    assert "body is larger than the 0.001 MiB cap (1,049 bytes)" in line
    assert "set HEYMILO_MAX_RESPONSE_MB=0.002 (MiB; now 0.001)" in line
    client = HeyMiloClient(
        api_key=demo_sandbox.api_key, base_url=demo_sandbox.base_url, max_response_bytes=1049
    )
    with client:
        text = python_error(lambda: client.questions.list(CSR, raw=True).__next__())
    assert "raise max_response_bytes= on HeyMiloClient (now 1,049)" in text


def test_a_bad_bound_in_the_environment_is_a_config_error_naming_it(cli, demo_sandbox):
    line = cli_error(
        cli, "postings", "--base-url", demo_sandbox.base_url, key=demo_sandbox.api_key,
        env={"HEYMILO_DEADLINE": "soon"},
    )  # fmt: skip
    assert line == (
        "milo-analytics: error: HEYMILO_DEADLINE='soon' is not a positive number of seconds; "
        "set it to e.g. 120, to 'none' for no limit, or unset it for the default 60"
    )


def test_the_environment_sets_the_bounds_only_when_the_parameters_are_not_passed(monkeypatch):
    monkeypatch.setenv("HEYMILO_DEADLINE", "12.5")
    monkeypatch.setenv("HEYMILO_MAX_RESPONSE_MB", "2")
    monkeypatch.setenv("HEYMILO_MAX_PAGES", "none")
    base = {"api_key": "k-123456", "base_url": "http://127.0.0.1:9/api/v2"}
    with HeyMiloClient(**base) as c:
        assert (c.deadline, c.max_response_bytes, c.max_pages) == (12.5, 2 * 2**20, None)
    with HeyMiloClient(**base, deadline=60.0, max_response_bytes=100, max_pages=7) as c:
        assert (c.deadline, c.max_response_bytes, c.max_pages) == (60.0, 100, 7)
    monkeypatch.setenv("HEYMILO_MAX_PAGES", "2.5")
    with pytest.raises(ConfigError, match=r"HEYMILO_MAX_PAGES='2.5' is not a positive whole"):
        HeyMiloClient(**base)


@pytest.mark.parametrize(
    ("status", "path", "python", "cli_fix"),
    [
        (429, "/api/v2/postings/P1/candidates", "lower rate_limit= on HeyMiloClient",
         "give `milo-analytics pull` a lower --rate-limit"),
        (404, "/api/v2/postings/P1/questions/Q9", "(see client.questions.list('P1'))",
         "and that posting 'P1' exists (run `milo-analytics postings` to list them)"),
        (404, "/v2/nothing", "check the URL and base_url",
         "check the URL and --base-url or HEYMILO_BASE_URL"),
    ],
)  # fmt: skip
def test_status_errors_carry_both_renderings(status, path, python, cli_fix):
    """Narrow edge (an httpx.Response, no server): the status hints of error_from_response."""
    err = error_from_response(httpx.Response(status, json={"error": {"message": "x"}}), "GET", path)
    assert python in str(err) and cli_fix not in str(err)
    assert cli_fix in err.cli_message() and not python_syntax(err.cli_message())


# --------------------------------------------------------------------------- push-weights
def test_push_weights_speaks_cli_in_the_cli_and_python_in_python(cli, sandbox, tmp_path):
    """The dry-run note, the 'keep' refusal, a conflict and a file that is not a suggestion."""
    from _push_harness import make_suggestion

    from milo_analytics import WeightSuggestion, push_weights

    pid = sandbox.world.truth["csr_posting_id"]
    with sandbox.client() as client:
        qs = [q for q in client.questions.list(pid, raw=True) if not q["not_scored"]]
        q = next(q for q in qs if float(q["score_weight"]).is_integer())
        suggestion = make_suggestion(client, pid, {q["id"]: 1 if q["score_weight"] != 1 else 2})
    path = tmp_path / "suggestion.json"
    suggestion.to_json(path)
    keep = WeightSuggestion.from_json(path)
    keep.recommendation = "keep"
    keep_path = tmp_path / "keep.json"
    keep.to_json(keep_path)
    base = ["--base-url", sandbox.base_url, "--audit-dir", str(tmp_path / "audit")]

    code, out, err = cli("push-weights", str(path), *base, key=sandbox.api_key)
    assert code == 0 and err == "", err
    assert "Dry run: nothing was written. Pass --apply to write." in out
    assert not python_syntax(out), python_syntax(out)
    line = cli_error(cli, "push-weights", str(keep_path), *base, "--apply", key=sandbox.api_key)
    assert line.endswith("Keep today's weights, or pass --allow-keep to push them anyway.")
    array = tmp_path / "array.json"
    array.write_text("[1, 2]", encoding="utf-8")
    line = cli_error(cli, "push-weights", str(array), *base, key=sandbox.api_key)
    assert "write one with `milo-analytics suggest-weights -o FILE`. Nothing was sent." in line

    with sandbox.client() as client:
        dry = push_weights(client, keep).summary()
        assert "Pass apply=True to write." in dry and "Applying it needs allow_keep=True." in dry
        assert "Applying it needs --allow-keep." in push_weights(client, keep).summary(cli=True)
        text = python_error(lambda: push_weights(client, keep, apply=True))
        assert text.endswith("or pass allow_keep=True to push them anyway.")
        text = python_error(lambda: push_weights(client, array))
        assert "write one with suggest_weights(...).to_json(path)" in text

        client.questions.update(pid, q["id"], score_weight=9)  # someone edits it meanwhile
        code, _out, err = cli("push-weights", str(path), *base, "--apply", key=sandbox.api_key)
        assert code == 3 and not python_syntax(err), err  # conflict: nothing written
        assert f"Run `milo-analytics suggest-weights {pid}` again, or pass --force" in err
        text = python_error(lambda: push_weights(client, path, apply=True))
        assert "run suggest_weights again, or pass force=True to overwrite" in text
