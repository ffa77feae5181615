"""Speech score summary and drift, on synthetic data with planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from milo_analytics.analysis import drift, speech_summary, weight_changes
from milo_analytics.analysis._common import _auc, cohens_d, synthetic_interview_data
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.frames import InterviewData


@pytest.fixture(scope="module")
def world():
    data, truth = synthetic_interview_data(1500, 4, seed=21)
    rng = np.random.default_rng(5)
    ids = data.interviews["interview_id"].to_numpy()
    groups = rng.choice(
        ["White", "Hispanic or Latino", "Asian", "Unknown"], size=len(ids), p=[0.45, 0.3, 0.15, 0.1]
    )
    iv = data.interviews.copy()
    # planted: speech lower by 0.6 for one group; the outcome depends on speech too
    iv["speech_score"] = np.clip(iv["speech_score"] - 0.6 * (groups == "Hispanic or Latino"), 0, 5)
    speech = iv["speech_score"].to_numpy()
    logit = 1.5 * truth["ability"].to_numpy() + 1.2 * (speech - speech.mean()) - 1.0
    hired = rng.uniform(size=len(ids)) < 1 / (1 + np.exp(-logit))
    d = InterviewData(
        questions=data.questions,
        interviews=iv,
        scores=data.scores,
        candidates=data.candidates,
        score_scale=5,
    )
    outcomes = pd.DataFrame(
        {
            "interview_id": ids,
            "hired": hired,
            "performance": np.where(hired, 3 + truth["ability"].to_numpy(), np.nan),
        }
    )
    demo = pd.DataFrame(
        {
            "interview_id": ids,
            "sex": rng.choice(["Male", "Female"], len(ids)),
            "race_ethnicity": groups,
        }
    )
    return d, outcomes, demo


def test_speech_distribution_and_correlations(world):
    d, _, _ = world
    res = speech_summary(d, n_boot=0)
    s = res.summary.iloc[0]
    sp = d.interviews["speech_score"].to_numpy()
    assert s["n"] == len(sp) and s["mean"] == pytest.approx(sp.mean())
    assert s["median"] == pytest.approx(np.median(sp))
    dist = res.extras["distribution"]
    assert dist["count"].sum() == len(sp) and len(dist) == 20  # 0.25-wide bins over 0–5
    t = res.table.set_index("variable")
    assert t.at["overall", "r"] == pytest.approx(np.corrcoef(sp, d.interviews["score"])[0, 1])
    wide = d.score_matrix().reindex(d.interviews["interview_id"])
    assert t.at["P1-q1", "r"] == pytest.approx(np.corrcoef(sp, wide["P1-q1"])[0, 1])
    assert t.at["overall", "ci_low"] < t.at["overall", "r"] < t.at["overall", "ci_high"]
    assert res.incremental is None and res.gaps is None


def test_speech_incremental_validity_binary_and_continuous(world):
    d, outcomes, _ = world
    res = speech_summary(d, outcomes, n_boot=60)
    inc = res.incremental.iloc[0]
    assert inc["metric"] == "auc" and inc["delta"] > 0.01 and inc["p_value"] < 1e-3
    assert inc["ci_low"] <= inc["delta"] <= inc["ci_high"] and inc["ci_low"] > 0
    # base AUC equals the AUC of a logistic fit on the question scores
    wide = d.score_matrix()
    y = outcomes.set_index("interview_id")["hired"].reindex(wide.index).to_numpy()
    from milo_analytics.analysis._common import logit_irls

    X = np.column_stack([np.ones(len(y)), (wide - wide.mean()) / wide.std(ddof=0)])
    assert inc["base"] == pytest.approx(_auc(y, logit_irls(X, y.astype(float)).prob), abs=1e-9)
    cont = speech_summary(d, outcomes, target="performance", n_boot=30).incremental.iloc[0]
    assert cont["metric"] == "r2" and cont["n"] == int(outcomes["hired"].sum())
    with pytest.raises(DataError, match="target"):
        speech_summary(d, outcomes, target="nope")


def test_speech_group_gaps_flag_the_planted_gap(world):
    d, _, demo = world
    res = speech_summary(d, demographics=demo, n_boot=0)
    g = res.gaps[res.gaps["attribute"] == "race_ethnicity"].set_index("group")
    assert (
        "Unknown" not in g.index
        and g["n_unknown"].iloc[0] == (demo["race_ethnicity"] == "Unknown").sum()
    )
    hisp = g.loc["Hispanic or Latino"]
    assert hisp["impact_ratio"] < 0.8 and hisp["d"] < -0.3
    # d and rate by hand
    sp = d.interviews.set_index("interview_id")["speech_score"]
    grp = demo.set_index("interview_id")["race_ethnicity"].reindex(sp.index)
    ref = g.index[g["reference"]][0]
    assert hisp["d"] == pytest.approx(
        cohens_d(sp[grp == "Hispanic or Latino"].to_numpy(), sp[grp == ref].to_numpy())
    )
    med = np.median(sp.to_numpy())
    assert hisp["rate"] == pytest.approx((sp[grp == "Hispanic or Latino"] > med).mean())
    assert any("non-native speakers" in n for n in res.notes)
    fig = res.plot("gaps")
    assert fig.data and res.plot("scatter").data[0].z.shape == (20, 20)


def test_speech_no_gap_no_warning():
    data, _ = synthetic_interview_data(800, 3, seed=22)
    demo = pd.DataFrame(
        {
            "interview_id": data.interviews["interview_id"],
            "sex": np.where(np.arange(800) % 2, "Male", "Female"),
        }
    )
    res = speech_summary(data, demographics=demo, n_boot=0)
    assert not any("non-native" in n for n in res.notes)


def test_speech_errors():
    data, _ = synthetic_interview_data(20, 2, seed=23)
    iv = data.interviews.assign(speech_score=np.nan)
    with pytest.raises(InsufficientDataError, match="speech_score"):
        speech_summary(InterviewData(interviews=iv, scores=data.scores))
    with pytest.raises(DataError, match="interview_id"):
        speech_summary(data, outcomes=pd.DataFrame({"x": [1]}))
    with pytest.raises(DataError, match="race"):
        speech_summary(
            data, demographics=pd.DataFrame({"interview_id": ["a"], "sex": ["Male"]}), by="race"
        )


# ----------------------------------------------------------------------------- drift
def test_drift_by_period_matches_groupby():
    data, _ = synthetic_interview_data(1000, 3, seed=24, days=90)
    res = drift(data, "ME", split=None)
    t = res.table[res.table["variable"] == "score"].set_index("period")
    iv = data.interviews
    by_month = iv.groupby(pd.Grouper(key="interviewed_at", freq="ME"))["score"]
    assert t["n"].to_numpy() == pytest.approx(by_month.size().to_numpy())
    assert t["mean"].to_numpy() == pytest.approx(by_month.mean().to_numpy())
    assert t["median"].to_numpy() == pytest.approx(by_month.median().to_numpy())
    assert set(res.table["variable"]) == {"score", "speech_score", "P1-q1", "P1-q2", "P1-q3"}
    assert res.comparison.empty
    weekly = drift(data, "W", split=None)
    assert weekly.table["period"].nunique() > 12


def test_drift_detects_weight_change_and_compares_periods():
    data, truth = synthetic_interview_data(1200, 3, seed=25, weight_change={"P1-q1": 8.0})
    ch = weight_changes(data)
    assert ch[["question_id", "old_weight", "new_weight"]].values.tolist() == [["P1-q1", 2.0, 8.0]]
    assert ch["changed_at"].iloc[0] >= truth["change_at"]
    res = drift(data, "W")
    assert res.extras["split"]["P1"] == ch["changed_at"].iloc[0]
    c = res.comparison.set_index("variable").loc["score"]
    iv = data.interviews
    before = iv.loc[iv["interviewed_at"] < ch["changed_at"].iloc[0], "score"]
    after = iv.loc[iv["interviewed_at"] >= ch["changed_at"].iloc[0], "score"]
    assert c["n_before"] == len(before) and c["n_after"] == len(after)
    assert c["diff"] == pytest.approx(after.mean() - before.mean())
    assert c["mw_p"] == pytest.approx(stats.mannwhitneyu(after, before).pvalue)
    assert c["ks_p"] == pytest.approx(stats.ks_2samp(after, before).pvalue)
    assert any("weight change detected" in n for n in res.notes)
    fig = res.plot()
    assert fig.layout.shapes  # the split line
    assert res.plot("questions").data


def test_drift_explicit_split_and_errors():
    data, _ = synthetic_interview_data(300, 2, seed=26)
    res = drift(data, "ME", split="2026-02-15", variables=["score"])
    assert res.comparison["variable"].tolist() == ["score"]
    with pytest.raises(DataError, match="freq"):
        drift(data, "fortnight")
    with pytest.raises(DataError, match="not found"):
        drift(data, variables=["zzz"])
    with pytest.raises(InsufficientDataError):
        drift(InterviewData())


def test_speech_notes_never_print_signed_zero():
    # speech that adds nothing over the question scores: the change rounds to zero and the note
    # must say "0.000", never "-0.000"/"+0.000"; without a bootstrap no "[n/a, n/a]" interval.
    data, _ = synthetic_interview_data(600, 3, seed=27)
    wide = data.score_matrix()
    iv = data.interviews.copy()
    iv["speech_score"] = np.random.default_rng(1).uniform(0, 5, len(iv))
    d = InterviewData(interviews=iv, scores=data.scores, questions=data.questions, score_scale=5)
    perf = wide.sum(axis=1)  # exactly explained by the question scores: speech adds 0
    outcomes = pd.DataFrame({"interview_id": wide.index, "performance": perf.to_numpy()})
    res = speech_summary(d, outcomes, target="performance", n_boot=0)
    note = next(n for n in res.notes if "adding speech" in n)
    assert "by 0.000 (" in note and "-0.000" not in note and "+0.000" not in note
    assert "n/a" not in note and "nan" not in note and "changes R² " in note
    boot = speech_summary(d, outcomes, target="performance", n_boot=20)
    note = next(n for n in boot.notes if "adding speech" in n)
    assert "-0.000" not in note and "[" in note


def test_no_public_name_is_shadowed_by_a_submodule_of_the_same_name():
    """Importing a submodule binds it on its package; a public function of the same name would
    then come back as the module (``from milo_analytics.analysis import drift`` did, once
    ``milo_analytics.analysis.drift`` had been imported)."""
    import importlib
    import pkgutil
    import types

    import milo_analytics
    import milo_analytics.analysis
    import milo_analytics.live

    for package in (milo_analytics, milo_analytics.analysis, milo_analytics.live):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
        for name in package.__all__:
            value = getattr(package, name)
            assert not isinstance(value, types.ModuleType), f"{package.__name__}.{name} is a module"
