"""The report as a reader sees it: per-posting scales and titles, the flag rule and the raw
four-fifths results apart from the flags, validity with CIs and p values — and report.py only
renders (the statistics come from milo_analytics.analysis)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_analysis_overview import two_postings

from milo_analytics import report as report_module
from milo_analytics.analysis import outcome_validity
from milo_analytics.analysis.fairness import FLAG_RULE
from milo_analytics.report import build_report

STAMP = "2026-01-01 00:00 UTC"


@pytest.fixture(scope="module")
def inputs():
    data, ability = two_postings(seed=4)
    rng = np.random.default_rng(9)
    ids = data.interviews["interview_id"].to_numpy()
    hired = ability.to_numpy() + rng.normal(0, 1, len(ids)) > 0.7
    outcomes = pd.DataFrame({"interview_id": ids, "hired": pd.array(hired, dtype="boolean")})
    # one group scores lower on purpose, so some ratios fall below 0.8
    score = data.interviews.set_index("interview_id")["score"].reindex(ids).to_numpy()
    low = score < np.nanmedian(score)
    race = np.where(
        low & (rng.random(len(ids)) < 0.5),
        "Hispanic or Latino",
        rng.choice(["White", "Black or African American", "Asian"], size=len(ids)),
    )
    demographics = pd.DataFrame(
        {
            "interview_id": ids,
            "sex": rng.choice(["Female", "Male"], size=len(ids)),
            "race_ethnicity": race,
        }
    )
    return data, outcomes, demographics


@pytest.fixture(scope="module")
def built(inputs):
    data, outcomes, demographics = inputs
    return build_report(
        data, outcomes=outcomes, demographics=demographics, generated_at=STAMP, strict=True
    )


@pytest.fixture(scope="module")
def page(built) -> str:
    return built.to_html()


def _section(report, sid):
    return next(s for s in report.sections if s.id == sid)


def _specs(page: str) -> list[dict]:
    return [
        json.loads(body)
        for body in re.findall(
            r'<script type="application/json" id="[^"]+-json">(.*?)</script>', page, re.S
        )
    ]


def test_each_posting_shows_its_own_scale(built, page: str) -> None:
    assert built.problems == []
    scale = built.facts["Question score scale"]
    assert "1–10 (PA · Retail <Sales>)" in scale and "1–5 (PB · Support)" in scale
    assert "Score scale" not in built.facts  # the old single-scale line is gone
    postings = next(
        b for b in _section(built, "overview").blocks if b.kind == "table" and b.title == "Postings"
    )
    rows = {r[0]: r for r in postings.data["rows"]}
    cols = postings.data["columns"]
    assert rows["PA"][cols.index("question scale")] == "1–10"
    assert rows["PB"][cols.index("question scale")] == "1–5"
    assert "Retail &lt;Sales&gt;" in page and "Retail <Sales>" not in page  # escaped


def test_postings_are_named_by_id_and_title_in_legends_headings_and_tables(
    built, page: str
) -> None:
    names = {t.get("name") for spec in _specs(page) for t in spec["data"] if t.get("name")}
    assert {"PA · Retail <Sales>", "PB · Support"} <= names  # decoded JSON of legends
    titles = [b.title or "" for s in built.sections for b in s.blocks]
    assert any(t.endswith("— PA · Retail <Sales>") for t in titles)
    figure_titles = [(spec["layout"].get("title") or {}).get("text", "") for spec in _specs(page)]
    assert not any(re.search(r"posting P[AB]\b(?! ·)", t) for t in figure_titles)
    tables = [b for s in built.sections for b in s.blocks if b.kind == "table"]
    for b in tables:
        cols = b.data["columns"]
        if "posting_id" in cols:
            assert "posting" in cols or "title" in cols, b.title


def test_overview_numbers_come_from_the_data(inputs, built) -> None:
    data, _, _ = inputs
    ov = _section(built, "overview")
    assert (
        ov.facts["statuses"] == data.candidates["status"].fillna("unknown").value_counts().to_dict()
    )
    summary = next(b for b in ov.blocks if b.kind == "table" and "Overall score by" in b.title)
    cols = summary.data["columns"]
    got = {r[0]: r[cols.index("mean")] for r in summary.data["rows"]}
    direct = data.interviews.groupby("posting_id")["score"].mean()
    assert got == pytest.approx(direct.to_dict())


def test_validity_shows_ci_p_and_significance(inputs, built, page: str) -> None:
    data, outcomes, _ = inputs
    sec = _section(built, "validity")
    table = next(b for b in sec.blocks if b.kind == "table" and "Validity coefficients" in b.title)
    cols = table.data["columns"]
    for c in ("n", "r", "ci_low", "ci_high", "p_value", "significant"):
        assert c in cols
    direct = outcome_validity(data, outcomes).table
    row = next(
        r
        for r in table.data["rows"]
        if r[0] == "PB" and r[cols.index("predictor")] == "overall score"
    )
    ref = direct[(direct["posting_id"] == "PB") & (direct["predictor"] == "score")].iloc[0]
    assert row[cols.index("r")] == pytest.approx(ref["r"])
    assert "&lt; .001" in page  # tiny p values are not shown as 0.000
    assert sec.facts["validity_hired"]["PB"] == pytest.approx(ref["r"])


def test_impact_section_states_the_flag_rule_and_separates_raw_results(built, page: str) -> None:
    sec = _section(built, "adverse-impact")
    from milo_analytics.report.columns import plain_words

    # the rule as the audit states it, with its code names in words
    assert plain_words(FLAG_RULE) in sec.intro and "p (Holm-adjusted) < alpha" in sec.intro
    assert "a ratio below 0.8 is flagged" not in page.lower()
    titles = [b.title or "" for b in sec.blocks]
    raw = [t for t in titles if t.startswith("Four-fifths results")]
    flags = [t for t in titles if t.startswith("Flags: evidence of adverse impact")]
    assert raw and flags
    assert sec.facts["below_four_fifths"] > sec.facts["flags"]  # raw results are not all flags
    full = next(b for b in sec.blocks if (b.title or "").startswith("Every ratio below 0.8"))
    assert full.data["total_rows"] == sec.facts["below_four_fifths"]
    verdict_col = full.data["columns"].index("verdict")
    assert {r[verdict_col] for r in full.data["rows"]} - {"flagged"}  # most are not flags


def test_report_module_computes_no_statistics() -> None:
    """House rule: report/ renders; binning, correlations and rates live in analysis/."""
    package = Path(report_module.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert len(files) >= 10  # the package and its section modules
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        for stat in ("histogram", "corr", "corrcoef", "std", "mean", "median", "quantile", "rank"):
            assert stat not in calls, (path.name, stat)
