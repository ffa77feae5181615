"""impact_ratios and bias_audit: the LL144 rule's definitions on hand-built cases, agreement
with fairlearn / scipy / statsmodels on random data, and the audit on synthetic worlds."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from milo_analytics.analysis import bias_audit, impact_ratios
from milo_analytics.analysis.fairness import (
    AUDIT_JSON_SCHEMA,
    BiasAudit,
    ImpactRatios,
    holm,
    threshold_sweep,
    two_proportion_test,
    wilson_interval,
)
from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData
from milo_analytics.outcomes import RACE_CATEGORIES, SEX_CATEGORIES


def _groups(**counts: tuple[int, int]) -> pd.DataFrame:
    """A frame with column g and boolean y: counts = {group: (n, n_selected)}."""
    rows = []
    for g, (n, k) in counts.items():
        rows += [(g, True)] * k + [(g, False)] * (n - k)
    return pd.DataFrame(rows, columns=["g", "y"])


# ----------------------------------------------------------------------------- the rule


def test_columns_are_the_contract():
    t = impact_ratios(_groups(a=(10, 5), b=(10, 3)), by="g", selected="y")
    assert t.columns.tolist()[:7] == [
        "g", "n", "n_positive", "rate", "impact_ratio", "excluded", "p_value"
    ]  # fmt: skip
    extras = {"rate_ci_low", "rate_ci_high", "below_four_fifths", "significant", "shortfall",
              "is_reference", "flag"}  # fmt: skip
    assert extras <= set(t.columns)


def test_the_64_over_80_float_trap():
    # 0.64 / 0.80 is 0.7999999999999999 in binary floating point (METHODS.md §6) ...
    assert 0.64 / 0.80 < 0.8
    t = impact_ratios(_groups(a=(100, 80), b=(100, 64), c=(100, 63)), by="g", selected="y")
    got = t.set_index("g")
    # ... but the exact ratio 64/100 ÷ 80/100 is 4/5: not below the four-fifths line
    assert not got.loc["b", "below_four_fifths"]
    assert got.loc["c", "below_four_fifths"]
    assert got.loc["b", "shortfall"] == 0 and got.loc["c", "shortfall"] == 1


def test_reference_is_highest_rate_with_ratio_and_p_of_one():
    t = impact_ratios(_groups(a=(50, 10), b=(40, 20), c=(30, 6)), by="g", selected="y")
    ref = t[t["is_reference"]]
    assert ref["g"].tolist() == ["b"]
    assert ref["impact_ratio"].item() == 1.0 and ref["p_value"].item() == 1.0
    assert t.attrs["reference"] == ["b"]
    # a chosen reference
    t2 = impact_ratios(_groups(a=(50, 10), b=(40, 20)), by="g", selected="y", reference="a")
    assert t2.set_index("g").loc["b", "impact_ratio"] == pytest.approx(2.5)
    with pytest.raises(DataError, match=r"reference='z' is not a category"):
        impact_ratios(_groups(a=(5, 1), b=(5, 2)), by="g", selected="y", reference="z")


def test_shortfall_is_the_extra_selections_to_reach_four_fifths():
    # reference 50/100 = 0.5; 0.8 × 0.5 × 100 = 40 selections needed; has 30 → 10 short
    t = impact_ratios(_groups(a=(100, 50), b=(100, 30), c=(100, 39), d=(100, 40)), by="g",
                      selected="y")  # fmt: skip
    assert t.set_index("g")["shortfall"].to_dict() == {"a": 0, "b": 10, "c": 1, "d": 0}


def test_ties_at_the_median_strict_and_at_or_above():
    df = pd.DataFrame({"g": list("aaaaabbbbb"), "s": [1, 2, 3, 3, 5, 3, 3, 3, 3, 4]})
    # median of the full sample = 3; six scores tie at it
    strict = impact_ratios(df, by="g", score="s")
    assert strict.attrs["median"] == 3.0 and strict.attrs["ties"] == 6
    assert strict.set_index("g")["n_positive"].to_dict() == {"a": 1, "b": 1}
    assert any("6 scores equal the median" in n for n in strict.attrs["notes"])
    ge = impact_ratios(df, by="g", score="s", ties=">=")
    assert ge.set_index("g")["n_positive"].to_dict() == {"a": 3, "b": 5}
    assert ge.attrs["options"]["ties"] == ">="


def test_unknowns_in_the_median_sample_is_an_option():
    df = pd.DataFrame(
        {"g": ["a", "a", "b", "b", None, None, "Unknown"], "s": [1, 2, 3, 4, 10, 11, 12]}
    )
    with_unknown = impact_ratios(df, by="g", score="s")
    without = impact_ratios(df, by="g", score="s", unknowns_in_median=False)
    assert with_unknown.attrs["median"] == 4.0 and without.attrs["median"] == 2.5
    assert with_unknown.attrs["unknown"] == 3
    assert with_unknown.set_index("g")["n_positive"].to_dict() == {"a": 0, "b": 0}
    assert without.set_index("g")["n_positive"].to_dict() == {"a": 0, "b": 2}


def test_empty_category_is_listed_with_n_zero():
    df = pd.DataFrame({"sex": ["Male"] * 10, "y": [True] * 4 + [False] * 6})
    t = impact_ratios(df, by="sex", selected="y")
    assert t["sex"].tolist() == list(SEX_CATEGORIES)
    female = t.set_index("sex").loc["Female"]
    assert female["n"] == 0 and female["excluded"] and math.isnan(female["impact_ratio"])
    assert "no individuals" in female["reason"]
    assert any("only one category" in n for n in t.attrs["notes"])
    # categorical dtype with an unused level behaves the same outside the EEO-1 layout
    cat = pd.DataFrame({"g": pd.Categorical(["x", "x"], categories=["x", "y"]), "y": [1, 0]})
    t2 = impact_ratios(cat, by="g", selected="y")
    assert t2.set_index("g")["n"].to_dict() == {"x": 2, "y": 0}


def test_all_unknown_gives_a_clear_note_not_a_crash():
    df = pd.DataFrame({"g": [None, "Unknown", None], "y": [True, False, True]})
    t = impact_ratios(df, by="g", selected="y")
    assert len(t) == 0 and t.attrs["unknown"] == 3
    assert "every row (3) has an unknown category" in t.attrs["notes"][0]
    eeo = impact_ratios(
        pd.DataFrame({"sex": ["Unknown"] * 3, "y": [True, False, True]}), by="sex", selected="y"
    )
    assert eeo["n"].tolist() == [0, 0] and eeo["impact_ratio"].isna().all()
    empty = impact_ratios(pd.DataFrame({"g": [], "y": []}), by="g", selected="y")
    assert len(empty) == 0 and "no rows" in empty.attrs["notes"][0]


def test_single_category():
    t = impact_ratios(_groups(a=(10, 4)), by="g", selected="y")
    assert t["impact_ratio"].tolist() == [1.0] and t["is_reference"].tolist() == [True]
    assert any("only one category" in n for n in t.attrs["notes"])


def test_all_rates_zero_leaves_ratios_undefined():
    t = impact_ratios(_groups(a=(10, 0), b=(10, 0)), by="g", selected="y")
    assert t["impact_ratio"].isna().all()
    assert any("highest rate is 0" in n for n in t.attrs["notes"])


def test_category_under_two_percent_is_excluded_but_listed():
    df = _groups(a=(600, 300), b=(390, 150), c=(10, 9))  # c = 1.0 % of 1,000
    t = impact_ratios(df, by="g", selected="y", exclude_below=0.02)
    c = t.set_index("g").loc["c"]
    assert c["excluded"] and c["n"] == 10 and c["rate"] == 0.9
    assert math.isnan(c["impact_ratio"]) and "under 2% of the data" in c["reason"]
    # the excluded category cannot be the reference even though its rate is highest
    assert t.attrs["reference"] == ["a"]
    # the 2 % base: unknown rows count in "all", not in "known"
    df2 = pd.concat([_groups(a=(50, 25), b=(47, 20), c=(3, 1)),
                     pd.DataFrame({"g": [None] * 60, "y": [True] * 60})])  # fmt: skip
    all_base = impact_ratios(df2, by="g", selected="y", exclude_below=0.02)
    known_base = impact_ratios(df2, by="g", selected="y", exclude_below=0.02, exclude_base="known")
    assert all_base.set_index("g").loc["c", "excluded"]  # 3 / 160 < 2 %
    assert not known_base.set_index("g").loc["c", "excluded"]  # 3 / 100 ≥ 2 %


def test_two_column_intersection_uses_the_rules_14_cell_layout():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "sex": rng.choice(["Male", "Female", "Unknown"], size=n, p=[0.45, 0.45, 0.1]),
            "race_ethnicity": rng.choice([*RACE_CATEGORIES[:5], "Unknown"], size=n),
            "y": rng.random(n) < 0.4,
        }
    )
    t = impact_ratios(df, by=["race_ethnicity", "sex"], selected="y")
    assert len(t) == 14  # Hispanic or Latino × 2 sexes + six non-Hispanic races × 2 sexes
    assert t[["race_ethnicity", "sex"]].drop_duplicates().shape[0] == 14
    assert t["race_ethnicity"].iloc[0] == "Hispanic or Latino"
    known = df[(df["sex"] != "Unknown") & (df["race_ethnicity"] != "Unknown")]
    assert t.attrs["unknown"] == n - len(known)
    expected = known.groupby(["race_ethnicity", "sex"])["y"].agg(["size", "sum"])
    got = t.set_index(["race_ethnicity", "sex"])
    for (race, sex), row in expected.iterrows():
        assert got.loc[(race, sex), "n"] == row["size"]
        assert got.loc[(race, sex), "n_positive"] == row["sum"]
    empty = got.loc[("American Indian or Alaska Native", "Male")]
    assert empty["n"] == 0 and empty["excluded"]
    with pytest.raises(DataError, match="one column or two"):
        impact_ratios(df, by=["sex", "race_ethnicity", "y"], selected="y")


def test_bad_input_messages():
    df = _groups(a=(5, 2), b=(5, 1))
    df["s"] = range(10)
    with pytest.raises(DataError, match="exactly one of"):
        impact_ratios(df, by="g", selected="y", score="s")
    with pytest.raises(DataError, match="exactly one of"):
        impact_ratios(df, by="g")
    with pytest.raises(DataError, match=r"columns \['nope'\] not in the frame"):
        impact_ratios(df, by="nope", selected="y")
    with pytest.raises(DataError, match="must be boolean"):
        impact_ratios(df, by="g", selected="s")
    with pytest.raises(DataError, match="not numeric"):
        impact_ratios(df.assign(s="high"), by="g", score="s")
    with pytest.raises(DataError, match="ties="):
        impact_ratios(df, by="g", score="s", ties=">")


def test_missing_outcomes_are_left_out_and_counted():
    df = pd.DataFrame({"g": list("aabb"), "y": pd.array([True, pd.NA, False, True], "boolean")})
    t = impact_ratios(df, by="g", selected="y")
    assert t.attrs["missing_outcome"] == 1 and t["n"].sum() == 3
    yes_no = impact_ratios(df.assign(y=["Yes", "", "No", "Y"]), by="g", selected="y")
    assert yes_no["n_positive"].tolist() == t["n_positive"].tolist()


def test_input_frame_not_mutated():
    df = _groups(a=(20, 5), b=(20, 9))
    before = df.copy()
    impact_ratios(df, by="g", selected="y")
    pd.testing.assert_frame_equal(df, before)


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_selection_rates_agree_with_fairlearn(seed):
    rng = np.random.default_rng(seed)
    n = 500
    g = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    y = rng.random(n) < np.select([g == "a", g == "b", g == "c"], [0.5, 0.4, 0.3], 0.2)
    t = impact_ratios(pd.DataFrame({"g": g, "y": y}), by="g", selected="y").set_index("g")
    mf = MetricFrame(metrics=selection_rate, y_true=y, y_pred=y, sensitive_features=g)
    by_group = mf.by_group
    ratio = by_group / by_group.max()
    for grp in by_group.index:
        assert t.loc[grp, "rate"] == pytest.approx(by_group[grp], abs=1e-12)
        assert t.loc[grp, "impact_ratio"] == pytest.approx(ratio[grp], abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_scoring_rates_agree_with_fairlearn(seed):
    rng = np.random.default_rng(seed)
    n = 600
    g = rng.choice(["x", "y", "z"], size=n)
    s = np.round(rng.normal(60, 15, n) - 6 * (g == "z"))  # rounded → ties at the median
    t = impact_ratios(pd.DataFrame({"g": g, "s": s}), by="g", score="s").set_index("g")
    above = s > np.median(s)  # the rule: strictly above the median of the full sample
    mf = MetricFrame(metrics=selection_rate, y_true=above, y_pred=above, sensitive_features=g)
    ratio = mf.by_group / mf.by_group.max()
    for grp in mf.by_group.index:
        assert t.loc[grp, "rate"] == pytest.approx(mf.by_group[grp], abs=1e-12)
        assert t.loc[grp, "impact_ratio"] == pytest.approx(ratio[grp], abs=1e-12)


@pytest.mark.parametrize(
    "table",
    [(3, 10, 9, 12), (0, 4, 5, 5), (1, 20, 8, 25), (2, 2, 0, 7)],
)
def test_fisher_on_small_tables_agrees_with_scipy(table):
    k1, n1, k2, n2 = table
    p, used = two_proportion_test(k1, n1, k2, n2)
    assert used == "fisher"  # an expected count is below 5
    ref = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided").pvalue
    assert p == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("table", [(30, 100, 50, 100), (120, 400, 150, 380), (45, 90, 60, 95)])
def test_pooled_z_agrees_with_statsmodels_and_by_hand(table):
    k1, n1, k2, n2 = table
    p, used = two_proportion_test(k1, n1, k2, n2)
    assert used == "z"
    _, ref = proportions_ztest([k1, k2], [n1, n2])  # pooled variance by default
    assert p == pytest.approx(ref, rel=1e-10)
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert p == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-10)


def test_table_p_values_use_the_test_against_the_reference():
    t = impact_ratios(_groups(a=(100, 50), b=(100, 30), c=(8, 1)), by="g", selected="y")
    got = t.set_index("g")
    assert got.loc["b", "test"] == "z"
    assert got.loc["b", "p_value"] == pytest.approx(proportions_ztest([30, 50], [100, 100])[1])
    assert got.loc["c", "test"] == "fisher"
    assert got.loc["c", "p_value"] == pytest.approx(fisher_exact([[1, 7], [50, 50]]).pvalue)
    assert got.loc["b", "significant"] and not got.loc["c", "significant"]


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (37, 120)])
def test_wilson_interval_agrees_with_statsmodels(k, n):
    lo, hi = wilson_interval(k, n)
    ref_lo, ref_hi = proportion_confint(k, n, method="wilson")
    assert (lo, hi) == (pytest.approx(ref_lo, abs=1e-12), pytest.approx(ref_hi, abs=1e-12))


def test_holm_agrees_with_statsmodels():
    rng = np.random.default_rng(5)
    p = rng.random(30) ** 3
    ref = multipletests(p, method="holm")[1]
    assert np.allclose(holm(p), ref)


def test_p_rest_tests_each_category_against_everybody_else():
    t = impact_ratios(_groups(a=(100, 50), b=(100, 30), c=(120, 45)), by="g", selected="y")
    b = t.set_index("g").loc["b"]
    assert b["rate_rest"] == pytest.approx(95 / 220)
    assert b["p_rest"] == pytest.approx(proportions_ztest([30, 95], [100, 220])[1])
    assert np.allclose(t["p_adjusted"], multipletests(t["p_rest"], method="holm")[1])


def test_flag_needs_ratio_significance_and_min_n():
    # big gap, big n → flag; same rates with tiny n → below 0.8 but not flagged
    big = impact_ratios(_groups(a=(200, 100), b=(200, 50)), by="g", selected="y")
    small = impact_ratios(_groups(a=(10, 5), b=(10, 2)), by="g", selected="y")
    assert big.set_index("g").loc["b", "flag"]
    b = small.set_index("g").loc["b"]
    assert b["below_four_fifths"] and not b["flag"]
    # significant and below 0.8 but n under min_n
    mid = impact_ratios(_groups(a=(200, 150), b=(25, 5)), by="g", selected="y")
    b = mid.set_index("g").loc["b"]
    assert b["significant"] and b["below_four_fifths"] and not b["flag"]


def test_threshold_sweep_matches_impact_ratios_at_each_cut():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 300), "s": rng.integers(0, 100, 300)})
    sw = threshold_sweep(df, by="g", score="s", cuts=[20, 50, 80])
    for cut in (20, 50, 80):
        sel = df.assign(y=df["s"] >= cut)
        ref = impact_ratios(sel, by="g", selected="y").set_index("g")["impact_ratio"]
        got = sw[sw["cut"] == cut].set_index("g")["impact_ratio"]
        assert got.to_dict() == pytest.approx(ref.to_dict())


def test_threshold_sweep_counts_each_intersection_cell_at_each_cut():
    """The sweep counts by group codes found once (a bincount per cut): every cell of an
    intersection, unknown categories left out, agrees with counting the rows directly."""
    rng = np.random.default_rng(21)
    n = 500
    df = pd.DataFrame({
        "sex": rng.choice(["Male", "Female", "Unknown"], n, p=[0.45, 0.45, 0.1]),
        "race_ethnicity": rng.choice(["White", "Asian", "Black or African American"], n),
        "s": rng.integers(0, 100, n).astype(float),
    })  # fmt: skip
    df.loc[rng.random(n) < 0.05, "s"] = np.nan  # no score: left out everywhere
    cuts = [10.0, 37.5, 50.0, 99.0]
    sw = threshold_sweep(df, by=["sex", "race_ethnicity"], score="s", cuts=cuts)
    scored = df[df["s"].notna() & (df["sex"] != "Unknown")]
    for row in sw.itertuples(index=False):
        cell = scored[(scored["sex"] == row.sex) & (scored["race_ethnicity"] == row.race_ethnicity)]
        assert (row.n, row.n_positive) == (len(cell), int((cell["s"] >= row.cut).sum())), row
        assert row.overall_rate == pytest.approx((df["s"].dropna() >= row.cut).mean())
    present = sw[sw["n"] > 0]
    assert set(sw["sex"]) == {"Male", "Female"} and len(present) == len(cuts) * 6


def _small_group_world() -> tuple[InterviewData, pd.DataFrame]:
    """Issue 10 item 4's case: 200 assessed, a 1.5 % category (Asian, n = 3) whose three
    members all score above the median. Above the median: White 49 of 100, Black or African
    American 48 of 97, Asian 3 of 3 (scores all distinct, so "> median" = "≥ the next score")."""
    race = ["White"] * 100 + ["Black or African American"] * 97 + ["Asian"] * 3
    above = [True] * 49 + [False] * 51 + [True] * 48 + [False] * 49 + [True] * 3
    hi, lo = iter(range(101, 201)), iter(range(1, 101))
    score = [float(next(hi) if a else next(lo)) / 2 for a in above]
    ids = [f"i{k:03d}" for k in range(200)]
    iv = pd.DataFrame({"interview_id": ids, "posting_id": "P", "status": "completed",
                       "score": score})  # fmt: skip
    demo = pd.DataFrame({"interview_id": ids, "sex": ["Male", "Female"] * 100,
                         "race_ethnicity": race})  # fmt: skip
    return InterviewData(interviews=iv), demo


def test_threshold_sweep_honours_the_two_percent_rule_and_the_tables_reference():
    data, demo = _small_group_world()
    cut = 50.5  # the lowest score above the median (50.25): the table's scoring cut
    audit = bias_audit(data, demo, questions=False, sweep_cuts=[10.0, cut, 80.0])
    table = audit.table[(audit.table["measure"] == "score")
                        & (audit.table["dimension"] == "race_ethnicity")].set_index("category")  # fmt: skip
    sweep = audit.sweep[(audit.sweep["measure"] == "score")
                        & (audit.sweep["dimension"] == "race_ethnicity")]  # fmt: skip
    at = sweep[sweep["cut"] == cut].set_index("category")
    # the table: Asian excluded (3 of 200 = 1.5 %), Black (48/97) the reference, White 0.990
    assert table.loc["Asian", "excluded"] and "1.5%" in table.loc["Asian", "reason"]
    assert table.loc["Black or African American", "is_reference"]
    assert table.loc["White", "impact_ratio"] == pytest.approx((49 / 100) / (48 / 97))
    # the sweep at the table's cut gives the table's ratios, not White/Asian = 0.49
    ratios = at["impact_ratio"].dropna()
    assert ratios.to_dict() == pytest.approx(table["impact_ratio"].dropna().to_dict())
    assert at.loc["Asian", "excluded"] and math.isnan(at.loc["Asian", "impact_ratio"])
    assert at.loc["Asian", "n"] == 3 and at.loc["Asian", "rate"] == 1.0
    assert at.loc["Asian", "reason"] == table.loc["Asian", "reason"]
    # the small group is never the reference, at any cut
    assert not sweep.loc[sweep["category"] == "Asian", "is_reference"].any()
    assert (sweep.groupby("cut")["is_reference"].sum() == 1).all()
    # without the rule (exclude_below=0) the old behaviour: Asian is the reference
    raw = threshold_sweep(demo.assign(s=data.interviews["score"]), by="race_ethnicity",
                          score="s", cuts=[cut]).set_index("race_ethnicity")  # fmt: skip
    assert raw.loc["Asian", "is_reference"] and raw.loc["White", "impact_ratio"] == 0.49
    # the figure draws the included categories only; the export validates
    fig = audit.plot(kind="sweep")
    assert "Asian" not in {t.name for t in fig.data} and "White" in {t.name for t in fig.data}
    jsonschema.validate(json.loads(audit.to_json()), AUDIT_JSON_SCHEMA)


def test_report_sweep_lists_the_excluded_category_below_the_chart():
    from milo_analytics import build_report

    data, demo = _small_group_world()
    page = build_report(data, demographics=demo, generated_at="2026-01-01 00:00 UTC").to_html()
    note = page[page.index("Not drawn") :].split("</li>")[0]
    assert "Asian (race/ethnicity: under 2% of the data (n=3 of 200, 1.5%)" in note
    assert "scoring rate 100%" in note


def test_threshold_sweep_equals_impact_ratios_with_exclusion_and_reference():
    rng = np.random.default_rng(10)
    g = rng.choice(["a", "b", "c", "d"], 500, p=[0.5, 0.38, 0.1, 0.02])
    df = pd.DataFrame({"g": g, "s": rng.integers(0, 100, 500)})
    df.loc[df.index[:25], "g"] = "Unknown"  # unknowns count in the 2 % base ("all")
    for kw in ({"exclude_below": 0.05}, {"exclude_below": 0.05, "exclude_base": "known"},
               {"reference": "b"}):  # fmt: skip
        sw = threshold_sweep(df, by="g", score="s", cuts=[20, 50, 80], **kw)
        for cut in (20, 50, 80):
            ref = impact_ratios(df.assign(y=df["s"] >= cut), by="g", selected="y", **kw)
            got = sw[sw["cut"] == cut].set_index("g")
            ref = ref.set_index("g")
            assert got["impact_ratio"].to_dict() == pytest.approx(
                ref["impact_ratio"].to_dict(), nan_ok=True
            )
            assert got["excluded"].to_dict() == ref["excluded"].to_dict()
            assert got["is_reference"].to_dict() == ref["is_reference"].to_dict()
    with pytest.raises(DataError, match="exclude_below"):
        threshold_sweep(df, by="g", score="s", exclude_below=2)


def test_impact_ratios_result_object():
    r = ImpactRatios.from_frame(
        impact_ratios(_groups(**{"<b>a</b>": (20, 10), "b": (20, 4)}), by="g", selected="y")
    )
    page = r._repr_html_()
    assert "<b>a</b>" not in page and "&lt;b&gt;a&lt;/b&gt;" in page
    fig = r.plot()
    assert isinstance(fig, go.Figure)
    assert any(s.x0 == 0.8 for s in fig.layout.shapes)


# ----------------------------------------------------------------------------- the audit


def make_world(
    n: int = 1200, *, seed: int = 0, speech_gap: float = 0.0
) -> tuple[InterviewData, pd.DataFrame]:
    """A one-posting world: 5 questions, speech score lower by ``speech_gap`` (in SD) for
    Hispanic or Latino candidates only; no other group differences."""
    rng = np.random.default_rng(seed)
    ids = [f"i{k:05d}" for k in range(n)]
    race = rng.choice(
        [*RACE_CATEGORIES, "Unknown"], size=n, p=[0.18, 0.4, 0.15, 0.01, 0.12, 0.01, 0.05, 0.08]
    )
    sex = rng.choice(["Male", "Female", "Unknown"], size=n, p=[0.47, 0.47, 0.06])
    q = rng.integers(1, 6, (n, 5))
    w = np.array([2.0, 3.0, 2.0, 2.0, 1.5])
    score = np.round(100 * (q * w).sum(1) / (w.sum() * 5), 1)
    speech = np.clip(
        rng.normal(3.5, 0.6, n) - 0.6 * speech_gap * (race == RACE_CATEGORIES[0]), 0, 5
    )
    status = np.where(
        score > 62, "shortlisted", np.where(rng.random(n) < 0.7, "dismissed", "completed")
    )
    iv = pd.DataFrame({"interview_id": ids, "posting_id": "P1", "status": status, "score": score,
                       "speech_score": speech})  # fmt: skip
    cand = iv[["interview_id", "posting_id", "status", "score"]].assign(
        email=[f"p{k}@x.com" for k in range(n)]
    )
    qs = pd.DataFrame({"posting_id": "P1", "question_id": [f"q{j}" for j in range(5)],
                       "rank": range(1, 6), "text": [f"Question {j} <b>" for j in range(5)],
                       "score_weight": w, "not_scored": False})  # fmt: skip
    sc = pd.DataFrame({"interview_id": np.repeat(ids, 5), "posting_id": "P1",
                       "question_id": [f"q{j}" for j in range(5)] * n, "rank": list(range(1, 6)) * n,
                       "score": q.ravel(), "score_weight": np.tile(w, n), "not_scored": False,
                       "evaluation_summary": ""})  # fmt: skip
    data = InterviewData(interviews=iv, candidates=cand, questions=qs, scores=sc)
    demo = pd.DataFrame({"interview_id": ids, "sex": sex, "race_ethnicity": race})
    return data, demo


@pytest.fixture(scope="module")
def gap_audit() -> BiasAudit:
    data, demo = make_world(seed=1, speech_gap=1.0)
    return bias_audit(data, demo)


def test_audit_finds_a_planted_speech_gap_and_nothing_else(gap_audit):
    flags = gap_audit.flags
    assert len(flags) >= 1
    assert set(flags["measure"]) == {"speech_score"}
    assert set(flags["race_ethnicity"]) == {"Hispanic or Latino"}
    race = flags[flags["dimension"] == "race_ethnicity"]
    assert race["category"].tolist() == ["Hispanic or Latino"]
    assert 0.3 < race["impact_ratio"].item() < 0.8
    assert "dimension" in gap_audit.table and set(gap_audit.table["dimension"]) == {
        "sex", "race_ethnicity", "intersection"
    }  # fmt: skip
    assert any("non-native speakers" in n for n in gap_audit.notes)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_audit_flags_nothing_without_a_gap(seed):
    data, demo = make_world(seed=seed, speech_gap=0.0)
    audit = bias_audit(data, demo)
    assert audit.flags.empty
    # the raw four-fifths result still shows noise below 0.8 in small categories ...
    assert len(audit.below_four_fifths) > 0
    # ... and the rule-table test alone (vs the highest category, unadjusted) would call some of
    # that noise significant: this is why the flag tests against the rest with Holm
    t = audit.table
    naive = t["below_four_fifths"].fillna(False) & t["significant"].fillna(False) & (t["n"] >= 30)
    assert naive.sum() > 0


def test_audit_measures_unknowns_and_selection(gap_audit):
    t = gap_audit.table
    measures = set(t["measure"])
    assert {"score", "speech_score", "status"} <= measures
    assert {f"question:q{j}" for j in range(5)} <= measures
    assert set(t.loc[t["measure"] == "status", "mode"]) == {"selection"}
    u = gap_audit.unknown.iloc[0]
    assert u["n_assessed"] == 1200 and u["sex"] > 0 and u["any"] >= u["race_ethnicity"]
    # status: undecided "completed" interviews are not in the selection measure
    st = gap_audit.summary.query("measure == 'status' and dimension == 'sex'").iloc[0]
    assert st["n"] < 1200


def test_audit_p_adjusted_is_holm_over_the_posting(gap_audit):
    t = gap_audit.table
    tested = t[t["p_rest"].notna()]
    assert np.allclose(tested["p_adjusted"], multipletests(tested["p_rest"], method="holm")[1])


def test_audit_json_follows_the_schema(gap_audit, tmp_path):
    text = gap_audit.to_json(tmp_path / "audit.json")
    doc = json.loads((tmp_path / "audit.json").read_text())
    assert json.loads(text)["rows"] == doc["rows"]
    jsonschema.validate(doc, AUDIT_JSON_SCHEMA)
    assert doc["postings"][0]["flags"] == len(gap_audit.flags)
    assert len(doc["rows"]) == len(gap_audit.table) and doc["sweep"]
    assert "NaN" not in text
    # the schema rejects a broken document
    doc["rows"][0]["n"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, AUDIT_JSON_SCHEMA)


def test_audit_html_is_escaped_and_plots(gap_audit):
    page = gap_audit._repr_html_()
    assert "Question 0 <b>" not in page and "Question 0 &lt;b&gt;" in page
    n_below = len(gap_audit.below_four_fifths)
    assert f"Below four-fifths ({n_below}): " in page and "not significant" in page
    fig = gap_audit.plot()
    assert isinstance(fig, go.Figure)
    assert any(s.x0 == 0.8 for s in fig.layout.shapes)
    assert "speech" in fig.layout.title.text.lower()  # default: the measure with the lowest ratio
    sweep = gap_audit.plot(kind="sweep")
    assert any(s.y0 == 0.8 for s in sweep.layout.shapes) and len(sweep.data) > 0


def test_audit_with_outcomes_and_demographics_file(tmp_path):
    data, demo = make_world(n=400, seed=6)
    emails = data.candidates.set_index("interview_id")["email"]
    path = tmp_path / "demo.csv"
    demo.assign(email=demo["interview_id"].map(emails)).drop(columns="interview_id").to_csv(
        path, index=False
    )
    rng = np.random.default_rng(0)
    outcomes = pd.DataFrame({"interview_id": demo["interview_id"], "hired": rng.random(400) < 0.2})
    audit = bias_audit(data, path, outcomes=outcomes, questions=False)
    assert "hired" in set(audit.table["measure"])
    assert audit.unknown.iloc[0]["no_demographics"] == 0
    with pytest.raises(DataError, match="no interview results"):
        bias_audit(data, demo, postings="NOPE")
    with pytest.raises(DataError, match="joined to interview_id"):
        bias_audit(data, demo, outcomes=outcomes.drop(columns="interview_id"))


def test_audit_edge_cases_do_not_crash():
    # all-unknown or unmatched demographics are refused by default (test_fairness_inputs.py);
    # min_known_share=0 audits them anyway, and then nothing crashes
    data, demo = make_world(n=200, seed=1)
    all_unknown = demo.assign(sex="Unknown", race_ethnicity="Unknown")
    unknown = bias_audit(data, all_unknown, min_known_share=0)
    assert unknown.flags.empty and unknown.unknown.iloc[0]["any"] == 200
    assert "every row (200) has an unknown category" in unknown.summary["notes"].iloc[0]
    unmatched = demo.assign(interview_id="x" + demo["interview_id"])
    unmatched = bias_audit(data, unmatched, min_known_share=0)
    assert unmatched.unknown.iloc[0]["no_demographics"] == 200
    empty = bias_audit(InterviewData(), demo)
    assert len(empty.table) == 0 and "nothing to audit" in empty.notes[-1]
    jsonschema.validate(json.loads(empty.to_json()), AUDIT_JSON_SCHEMA)
    for audit in (unknown, empty):
        assert isinstance(audit.plot(), go.Figure)
        assert isinstance(audit.plot(kind="sweep"), go.Figure)
        assert "<h4>" in audit._repr_html_()


# ----------------------------------------------------------------------------- verifier round


def test_intersection_lists_exactly_the_rules_14_cells_in_order():
    # LL144 rules (6 RCNY §5-301): Hispanic or Latino by sex (not split by race), then the six
    # non-Hispanic races by sex; every cell listed even when empty
    df = pd.DataFrame({"sex": ["Male", "Female"] * 5, "race_ethnicity": "White", "y": [True] * 10})
    t = impact_ratios(df, by=["race_ethnicity", "sex"], selected="y")
    expected = [(r, s) for r in RACE_CATEGORIES for s in SEX_CATEGORIES]
    assert list(zip(t["race_ethnicity"], t["sex"], strict=True)) == expected
    assert len(expected) == 14 and RACE_CATEGORIES[0] == "Hispanic or Latino"
    assert t.loc[t["n"] == 0, "reason"].str.contains("no individuals").all()


@pytest.mark.parametrize(
    ("table", "used"),
    [((5, 10, 5, 10), "z"), ((4, 10, 5, 10), "fisher"), ((50, 100, 45, 100), "z")],
)
def test_auto_test_switches_to_fisher_below_an_expected_count_of_five(table, used):
    # (5, 10, 5, 10): smallest expected count 10 × 10 / 20 = 5 → z; (4, 10, 5, 10): 10 × 9 / 20
    # = 4.5 → Fisher (METHODS.md §6: Fisher's exact when a 2×2 cell is small)
    k1, n1, k2, n2 = table
    p, got = two_proportion_test(k1, n1, k2, n2)
    assert got == used
    ref = (
        fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        if used == "fisher"
        else proportions_ztest([k1, k2], [n1, n2])[1]
    )
    assert p == pytest.approx(ref, rel=1e-10)


def test_four_fifths_verdicts_say_why_each_ratio_is_or_is_not_a_flag(gap_audit):
    v = gap_audit.four_fifths_verdicts()
    assert len(v) == len(gap_audit.below_four_fifths) and len(v) > 1
    assert set(v["verdict"]) <= {"flagged", "small n", "not lower than the rest",
                                 "not significant"}  # fmt: skip
    assert (v["verdict"] == "flagged").tolist() == v["flag"].tolist()
    unflagged = v[~v["flag"]]
    small = unflagged["n"] < 30
    assert (unflagged.loc[small, "verdict"] == "small n").all()
    rest = unflagged[~small]
    assert (
        rest.loc[rest["rate"] >= rest["rate_rest"], "verdict"] == "not lower than the rest"
    ).all()
    sig = rest[rest["rate"] < rest["rate_rest"]]
    assert (sig["verdict"] == "not significant").all() and (sig["p_adjusted"] >= 0.05).all()
    assert v["why"].str.len().gt(0).all()


def test_four_fifths_verdicts_on_hand_built_rows():
    # one row per verdict; the method reads only the audit's rows and options
    rows = pd.DataFrame(
        {
            "category": ["flag", "small", "higher", "noise", "fine"],
            "n": [100, 10, 100, 100, 100],
            "rate": [0.2, 0.1, 0.5, 0.3, 0.6],
            "rate_rest": [0.5, 0.5, 0.4, 0.35, 0.5],
            "p_adjusted": [0.001, 0.001, 0.3, 0.2, 0.1],
            "below_four_fifths": pd.array([True, True, True, True, False], "boolean"),
            "flag": [True, False, False, False, False],
        }
    )
    audit = BiasAudit(table=rows, options={"min_n": 30, "alpha": 0.05, "adjust": "holm"})
    v = audit.four_fifths_verdicts()
    assert dict(zip(v["category"], v["verdict"], strict=True)) == {
        "flag": "flagged", "small": "small n", "higher": "not lower than the rest",
        "noise": "not significant",
    }  # fmt: skip
    assert "n=10 is under min_n=30" in v.set_index("category").loc["small", "why"]


def test_choices_print_ties_median_sample_and_exclusion():
    data, demo = make_world(n=300, seed=7)
    strict = bias_audit(data, demo, questions=False)
    ge = bias_audit(data, demo, questions=False, ties=">=", unknowns_in_median=False)
    s, g = " ".join(strict.choices()), " ".join(ge.choices())
    assert "strictly above the median" in s and "unknowns included in" in s
    assert "at or above the median" in g and "unknowns left out of" in g
    ties = strict.summary.query("measure == 'score' and dimension == 'sex'")["ties"].item()
    assert ties > 0 and f"{ties:,} score(s) tie at it" in s
    assert "under 2% of all assessed rows" in s


def test_cli_findings_use_the_verdicts_and_print_the_choices(gap_audit, capsys):
    from milo_analytics.cli import echo_audit_findings

    echo_audit_findings(gap_audit)
    out = " ".join(capsys.readouterr().out.split())
    v = gap_audit.four_fifths_verdicts()["verdict"].value_counts()
    assert f"{v.get('small n', 0):,} in groups under 30 people" in out
    higher, noise = v.get("not lower than the rest", 0), v.get("not significant", 0)
    assert higher + noise > 0  # the planted world has both kinds of unflagged noise
    assert f"{higher + noise:,} not significantly lower than everybody else" in out
    if higher:
        assert f"{higher:,} of them not lower at all" in out
    if noise:
        assert f"{noise:,} with Holm p ≥ 0.05" in out
    assert "strictly above the median" in out and "Flag rule:" in out


def test_each_panel_of_an_audit_figure_has_its_own_line_axes_and_bars(gap_audit):
    """One panel per dimension: its bars on its own axes, the 0.8 line across that panel
    only, the categories top-down, and the x axis titled once, under the last panel."""
    fig = gap_audit.plot()
    layout = fig.layout.to_plotly_json()
    n = sum(1 for k in layout if k.startswith("yaxis"))
    assert n >= 2  # sex and race/ethnicity
    suffixes = [""] + [str(i) for i in range(2, n + 1)]
    assert sorted((s.xref, s.yref, s.x0, s.x1) for s in fig.layout.shapes) == sorted(
        (f"x{k}", f"y{k} domain", 0.8, 0.8) for k in suffixes
    )
    for k in suffixes:
        assert layout[f"yaxis{k}"]["autorange"] == "reversed"
        assert layout[f"yaxis{k}"]["title"]["text"] == "category"
        assert layout[f"xaxis{k}"]["range"][0] == 0
    titled = [k for k in suffixes if layout[f"xaxis{k}"].get("title", {}).get("text")]
    assert titled == [suffixes[-1]]
    bars = {(t.xaxis, t.yaxis) for t in fig.data}
    assert bars == {(f"x{k}", f"y{k}") for k in suffixes}
    shown = [t.name for t in fig.data if t.showlegend]
    assert len(shown) == len(set(shown)) == len({t.name for t in fig.data})  # a legend entry once


def test_impact_ratio_figure_labels_rows_without_a_ratio():
    df = pd.DataFrame({"sex": ["Male"] * 500 + ["Female"] * 480 + ["Female"] * 10,
                       "race_ethnicity": ["White"] * 980 + ["Asian"] * 10,
                       "y": [True, False] * 495})  # fmt: skip
    t = impact_ratios(df, by=["race_ethnicity", "sex"], selected="y", exclude_below=0.02)
    fig = ImpactRatios.from_frame(t).plot()
    bars = {tr.name: tr for tr in fig.data}
    grey = bars["excluded / no ratio"]
    labels = dict(zip(grey.y, grey.text, strict=True))
    assert labels["Asian · Female"] == "excluded (<2%, n=10)"
    assert labels["Black or African American · Male"] == "no data (n=0)"
    assert len(labels) == 14 - 2 and grey.textposition == "outside"


def test_every_rate_carries_its_wilson_interval():
    t = impact_ratios(_groups(a=(37, 12), b=(120, 70), c=(5, 5)), by="g", selected="y")
    for r in t.itertuples(index=False):
        lo, hi = proportion_confint(r.n_positive, r.n, method="wilson")  # statsmodels reference
        assert (r.rate_ci_low, r.rate_ci_high) == (pytest.approx(lo), pytest.approx(hi))
        assert r.rate_ci_low <= r.rate <= r.rate_ci_high


def test_audit_reads_a_raw_frame_keyed_by_interview_id_like_a_file():
    # a frame with interview_id that did not come from read_demographics gets the same
    # treatment: spellings mapped to EEO-1 labels, conflicting duplicates refused
    data, demo = make_world(n=300, seed=8)
    raw = demo.assign(sex=demo["sex"].map({"Male": "m", "Female": "Woman", "Unknown": ""}))
    a = bias_audit(data, raw, questions=False)
    b = bias_audit(data, demo, questions=False)
    assert set(a.table.loc[a.table["dimension"] == "sex", "sex"]) == {"Male", "Female"}
    pd.testing.assert_frame_equal(a.table, b.table)
    clash = pd.concat([demo, demo.iloc[[0]].assign(sex="Female" if demo["sex"].iloc[0] == "Male"
                                                   else "Male")])  # fmt: skip
    with pytest.raises(DataError, match="on_conflict="):
        bias_audit(data, clash, questions=False)
