"""``milo-analytics check`` / ``run_checks``: the thresholds file, each check's rule (with its
false-positive rate and power measured on a seeded simulation), and the command's exit codes
on the demo world before and after a planted change (issue 16)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from milo_analytics import InterviewData, Store, load_posting, read_demographics
from milo_analytics.analysis._common import cohens_d
from milo_analytics.cli import main
from milo_analytics.errors import ConfigError
from milo_analytics.live import DEFAULT_CHECKS_TOML, CheckConfig, load_check_config, run_checks
from milo_analytics.live.checks import DriftConfig, _drift_checks, drift_verdict
from milo_analytics.sandbox import WorldConfig, run_sandbox
from milo_analytics.sandbox.world import demo_world_path

BLACK = "Black or African American"


# --------------------------------------------------------------------------- the config file
def test_the_documented_defaults_are_the_defaults(tmp_path):
    assert load_check_config(text=DEFAULT_CHECKS_TOML) == CheckConfig()
    path = tmp_path / "checks.toml"
    path.write_text("[drift]\nmin_effect = 0.5\nvariables = ['score']\n", encoding="utf-8")
    cfg = load_check_config(path)
    assert cfg.drift.min_effect == 0.5 and cfg.drift.variables == ["score"]
    assert cfg.drift.alpha == CheckConfig().drift.alpha  # the rest keeps its default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[drfit]\n", r"unknown section \[drfit\]; the sections are \[adverse_impact\]"),
        ("[drift]\nmin_efect = 1\n", r"unknown key 'min_efect' in \[drift\]; the keys are"),
        ("[drift]\nalpha = 1.5\n", r"\[drift\] alpha = 1.5 must be between 0 and 1"),
        ("[drift]\nmin_n = 2.5\n", r"min_n = 2.5 must be a whole number"),
        ("[drift]\nwindow_days = 0\n", r"window_days = 0 must be greater than 0"),
        ("[drift]\nvariables = 'score'\n", r"variables = 'score' must be a list of strings"),
        ("[data_quality]\nunfinished_sync = 'maybe'\n", r"must be 'fail' or 'warn' or 'ignore'"),
        ("[drift\n", r"is not valid TOML"),
    ],
)
def test_bad_config_files_name_the_key(text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_check_config(text=text)
    assert "drop --config" in info.value.cli_message()


# --------------------------------------------------------------------------- the drift rule
def _scores(n: int, start: str, days: float, rng: np.random.Generator, shift: float = 0.0):
    times = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.uniform(0, days, n), unit="D")
    return times, np.clip(rng.normal(60 + shift, 10, n), 0, 100).round(1)


def _data(parts: list[tuple[pd.DatetimeIndex, np.ndarray]]) -> InterviewData:
    times = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    ids = [f"I{i:05d}" for i in range(len(scores))]
    iv = pd.DataFrame({"interview_id": ids, "posting_id": "P", "status": "completed",
                       "score": scores, "speech_score": np.nan,
                       "interviewed_at": pd.to_datetime(times, utc=True)})  # fmt: skip
    cand = iv[["interview_id", "posting_id", "status", "score", "interviewed_at"]]
    return InterviewData(interviews=iv, candidates=cand)


def test_drift_check_finds_a_known_shift_and_not_a_null_one():
    rng = np.random.default_rng(7)
    base = _scores(400, "2026-01-01", 150, rng)
    cfg = DriftConfig(variables=["score"])
    # recent window shifted by 0.6 SD (6 points on SD 10): fails, direction named
    shifted = _data([base, _scores(80, "2026-06-05", 27, rng, shift=6.0)])
    (res,) = _drift_checks(shifted, "P", cfg)
    assert res.check == "drift:score" and res.status == "fail"
    assert res.problems[0].key == "score|up" and 0.3 < res.value < 1.0  # true d = 0.6
    assert res.details["n_after"] == 80 and res.details["n_before"] == 400
    # the numbers are drift()'s, the rule only reads them
    from milo_analytics.analysis.temporal import drift

    start = res.details["split"] - pd.Timedelta(days=cfg.baseline_days)
    window = shifted.filter(start=start, on="interviewed_at")
    comp = drift(window, split=res.details["split"]).comparison.set_index("variable").loc["score"]
    assert math.isclose(comp["d"], res.value) and math.isclose(comp["mw_p"], res.details["mw_p"])
    # no shift: passes; a small recent window: too few to judge
    (res,) = _drift_checks(_data([base, _scores(80, "2026-06-05", 27, rng)]), "P", cfg)
    assert res.status == "pass"
    (res,) = _drift_checks(_data([base, _scores(12, "2026-06-05", 27, rng, 9.0)]), "P", cfg)
    assert res.status == "skip" and "too few interviews to judge: 12 recent" in res.message


def _rates(rng, pool, n_before, n_after, shift_sd, reps, cfg):
    """Share of simulated checks that fail (scores resampled from a real posting)."""
    sd = pool.std(ddof=1)
    fails = 0
    for _ in range(reps):
        before = rng.choice(pool, n_before)
        after = np.clip(rng.choice(pool, n_after) + shift_sd * sd, 0, 100)
        d = cohens_d(after, before)  # as analysis.drift computes them
        p = stats.mannwhitneyu(after, before, alternative="two-sided").pvalue
        fails += drift_verdict(n_before, n_after, d, p, cfg) == "fail"
    return fails / reps


def test_drift_rule_false_positive_rate_and_power():
    # fast version of benchmarks/bench_checks.py: overall scores of the demo's CSR posting
    # (data/demo), resampled; "after" shifted by a known number of SDs
    pool = pd.read_json(demo_world_path() / "interviews.jsonl.gz", lines=True)["score"]
    pool = pool.dropna().to_numpy(dtype=float)
    rng = np.random.default_rng(2026)
    cfg = DriftConfig()
    fpr = _rates(rng, pool, 300, 100, 0.0, 400, cfg)
    # nominal alpha 0.01; the |d| >= 0.3 condition only lowers it. 400 draws: 0.03 is > 3 SE
    assert fpr <= 0.03, fpr
    assert _rates(rng, pool, 300, 100, 0.5, 200, cfg) >= 0.85  # d = 0.5 with 100 recent
    assert _rates(rng, pool, 300, 30, 0.2, 200, cfg) <= 0.1  # small shifts, small n: rarely


# --------------------------------------------------------------------------- data quality
def test_data_quality_checks(sandbox_factory, tmp_path):
    sb = sandbox_factory(world=WorldConfig(seed=51, n_candidates=40, n_second=0))
    pid = sb.world.postings[0]["id"]
    bad = sorted(sb.world.interview_data)[:2]
    sb.set_faults(malformed={bad[0]: "json", bad[1]: "schema"})
    with sb.client() as client, Store(tmp_path / "s.sqlite3") as store:
        load_posting(pid, client=client, store=store, progress=False)
        now = store.posting_info(pid)["synced_at"] + 60

        def by_check(report):
            return {r.check: r for r in report.results}

        res = by_check(run_checks(pid, store=store, now=now, save=False))
        assert res["load_errors"].status == "fail"  # 2 of ~38 documents: over 1 %
        assert {p.key for p in res["load_errors"].problems} == {
            f"{bad[0]}|parse",
            f"{bad[1]}|parse",
        }
        assert (
            res["adverse_impact"].status == "skip"
            and "--demographics" in res["adverse_impact"].message
        )
        assert res["unfinished_sync"].status == res["freshness"].status == "pass"
        assert res["event_queue"].status == "pass"
        lenient = load_check_config(text="[data_quality]\nmax_error_share = 0.1\n")
        res = by_check(run_checks(pid, store=store, config=lenient, now=now, save=False))
        assert res["load_errors"].status == "warn"
        # two days later, nobody pulled and no receiver ran: stale
        res = by_check(run_checks(pid, store=store, now=now + 49 * 3600, save=False))
        assert res["freshness"].status == "fail" and "49.0 h ago" in res["freshness"].message
        # a pull that did not finish; an event waiting for an hour
        store.mark_sync_started(pid, when=now + 1)
        store.record_events([{"event_id": "sha256:x", "received_at": now - 3600,
                              "interview_id": "I1", "posting_id": pid,
                              "event_type": "report_available", "body": b"{}"}])  # fmt: skip
        res = by_check(run_checks(pid, store=store, now=now + 2, save=False))
        assert res["unfinished_sync"].status == "fail"
        assert "milo-analytics pull" in res["unfinished_sync"].message
        assert res["event_queue"].status == "fail" and "waiting since 60 min" in (
            res["event_queue"].problems[0].text
        )


# --------------------------------------------------------------------------- the command
@pytest.mark.slow  # 12–85 s under load (issue 15: heavy end-to-end cases are marked)
def test_check_on_the_demo_world_before_and_after_a_planted_change(
    tmp_path, capsys, monkeypatch, demo_sandbox, tmp_path_factory
):
    from _demo_output import demo_store_copy

    demographics = str(demo_world_path() / "demographics.csv")
    with run_sandbox("demo") as sb:  # its own: the test changes scores in it
        csr = next(p["id"] for p in sb.world.postings if "Customer" in p["title"])
        # the demo world as the session pulled it: the first --pull lists, fetches nothing
        store = str(tmp_path / "store.sqlite3")
        demo_store_copy(tmp_path_factory, demo_sandbox, Path(store))
        args = ["check", csr, "--store", store, "-d", demographics, "--base-url", sb.base_url]
        monkeypatch.setenv("HEYMILO_API_KEY", sb.api_key)
        # before: the planted speech-score gap is a warning (a component score), exit 0
        assert main([*args, "--pull", "--since"]) == 0
        out = capsys.readouterr().out
        assert "adverse_impact       warn" in out and "Speech score" in out
        assert "nothing alerts (1 warning)" in out and sb.api_key not in out
        # the planted change: a recruiter marks half the Black candidates down 15 points
        with Store(store) as st:
            data = load_posting(csr, store=st, refresh=False)
        demo = read_demographics(demographics, data=data)
        done = set(data.interviews["interview_id"])
        black = sorted(set(demo.loc[demo["race_ethnicity"] == BLACK, "interview_id"]) & done)
        scores = data.interviews.set_index("interview_id")["score"]
        for iid in black[::2]:
            sb.override_score(iid, max(0.0, float(scores[iid]) - 15.0))
        out_json = tmp_path / "check.json"
        assert main([*args, "--pull", "--since", "--json", str(out_json)]) == 1
        out = capsys.readouterr().out
        assert f"ALERT: adverse_impact ({csr})" in out
        assert f"Overall score · race_ethnicity · {BLACK}" in out
        doc = json.loads(out_json.read_text())
        assert doc["schema"] == "milo_analytics.check/1" and doc["exit_code"] == 1
        (ai,) = [c for c in doc["checks"] if c["check"] == "adverse_impact"]
        assert ai["status"] == "fail" and ai["alert"] is True
        new = {p["key"] for p in ai["problems"] if p["new"]}
        assert f"score|race_ethnicity|{BLACK}" in new
        assert not any(p["new"] for p in ai["problems"] if p["key"].startswith("speech"))
        # with --since, the same problem alerts once; without, every time
        assert main([*args, "--since"]) == 0
        assert "nothing alerts" in capsys.readouterr().out
        assert main(args) == 1
        capsys.readouterr()
        # the checks could not run: exit 3, one line naming the problem
        assert main(["check", "NOPE", "--store", store]) == 3
        err = capsys.readouterr().err
        assert "the checks could not run" in err and "'NOPE' is not in the store" in err
        bad = tmp_path / "bad.toml"
        bad.write_text("[drift]\nalpha = 2\n", encoding="utf-8")
        assert main([*args, "--config", str(bad)]) == 3
        assert "alpha = 2 must be between 0 and 1; fix the file" in capsys.readouterr().err


def test_check_report_renders(tmp_path):
    with Store(tmp_path / "s.sqlite3") as st:
        st.save_posting("P1", {"id": "P1"}, source="http://api.test/api/v2")
        st.mark_sync_started("P1", when=1.0)
        st.mark_synced("P1", when=2.0)
        report = run_checks("P1", store=st, now=3.0)
        again = run_checks("P1", store=st, now=4.0, since=report.snapshot_id)
    assert report.exit_code == 0 and again.since["snapshots"]["P1"]["snapshot_id"] == 1
    assert "Monitoring checks" in report._repr_html_()
    fig = report.plot()
    assert list(fig.data[0].x) == list(dict.fromkeys(report.table["check"]))
    assert json.loads(report.to_json())["checks"][0]["posting_id"] == "P1"
