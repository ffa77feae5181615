"""Fairness under a weight suggestion (issue 10 item 3): impact ratios of today's and the
suggested composite side by side, each flagged by the bias audit's rule
(``analysis.fairness.impact_before_after``), and its operating characteristics on simulated
worlds: false flags where no group differs, power where the suggestion widens a planted gap.
The longer simulation: ``benchmarks/bench_suggestion_fairness.py``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from milo_analytics import WeightSuggestion, suggest_weights
from milo_analytics.analysis import impact_before_after, impact_ratios
from milo_analytics.analysis._common import interview_data_from_matrix
from milo_analytics.analysis.fairness import BEFORE_AFTER_COLUMNS, FLAG_RULE
from milo_analytics.calibrate.fairness import (
    fairness_flagged,
    null_demographics,
    suggestion_fairness,
)
from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData

CURRENT = np.array([2.0, 3.0, 2.0, 2.0, 1.5])
SUGGESTED = np.array([2.0, 0.5, 2.0, 2.0, 4.0])  # q4 weighs 38 % instead of 14 %


def _scores(n: int, rng: np.random.Generator, female: np.ndarray, gap: float) -> np.ndarray:
    """Five correlated 1–5 questions; Female candidates ``gap`` points lower on q4."""
    ability = rng.normal(size=n)
    x = 3 + 0.8 * ability[:, None] + rng.normal(size=(n, 5))
    x[:, 4] -= gap * female
    return np.clip(np.round(x), 1, 5)


def composite_world(n: int, seed: int, gap: float = 0.0) -> pd.DataFrame:
    """n candidates with ``null_demographics`` (6 % unknown sex, 8 % unknown race, two race
    categories under 2 %), independent of the scores except that Female candidates score
    ``gap`` points lower on q4, the question the suggestion weighs up; the 0–100 composite
    under both weight sets (as in benchmarks/bench_suggestion_fairness.py). Population impact
    ratios of Female (scoring rate, 200,000 draws): gap 1.2 → 0.867 today, 0.671 suggested."""
    demo = null_demographics([f"i{k}" for k in range(n)], seed=seed)
    female = (demo["sex"] == "Female").to_numpy()
    x = _scores(n, np.random.default_rng(seed + 10_000), female, gap)

    def composite(w: np.ndarray) -> np.ndarray:
        return 100 * (x * w).sum(1) / (w.sum() * 5)

    return demo.assign(current=composite(CURRENT), suggested=composite(SUGGESTED))


def _old_rule(t: pd.DataFrame) -> bool:
    """The check this replaced: any sex or race category (not excluded) whose scoring-rate
    ratio under the suggestion is below 0.8 or drops by more than 0.05 — no test, no min n."""
    t = t[(t["measure"] == "scoring") & t["dimension"].isin(["sex", "race_ethnicity"])]
    t = t[~t["excluded"]]
    return bool(((t["ratio_suggested"] < 0.8) | (t["change"] < -0.05)).any())


def test_each_side_is_the_audit_rule_by_hand():
    df = composite_world(600, seed=3, gap=1.2)
    t = impact_before_after(df, current="current", suggested="suggested", cut=60.0)
    assert list(t.columns) == BEFORE_AFTER_COLUMNS
    assert set(t["measure"]) == {"scoring", "selection"}
    assert set(t["dimension"]) == {"sex", "race_ethnicity", "intersection"}
    for side in ("current", "suggested"):
        parts = []
        for measure in ("scoring", "selection"):
            frame = df.assign(sel=df[side] >= 60.0)
            kw = {"score": side} if measure == "scoring" else {"selected": "sel"}
            for dim, by in (("sex", "sex"), ("race_ethnicity", "race_ethnicity"),
                            ("intersection", ["race_ethnicity", "sex"])):  # fmt: skip
                ref = impact_ratios(frame, by=by, exclude_below=0.02, **kw)
                got = t[(t["measure"] == measure) & (t["dimension"] == dim)]
                assert got["n"].tolist() == ref["n"].tolist()
                np.testing.assert_allclose(got[f"ratio_{side}"], ref["impact_ratio"])
                np.testing.assert_allclose(got[f"rate_{side}"], ref["rate"])
                assert got["excluded"].tolist() == ref["excluded"].tolist()
                parts.append(ref)
        allrows = pd.concat(parts, ignore_index=True)
        ok = allrows["p_rest"].notna()
        # Holm over the whole family of one weight set, as bias_audit does per posting
        holm = multipletests(allrows.loc[ok, "p_rest"], method="holm")[1]
        np.testing.assert_allclose(t.loc[ok.to_numpy(), f"p_adjusted_{side}"], holm)
        flag = (
            allrows["below_four_fifths"].fillna(False).astype(bool)
            & (allrows["rate"] < allrows["rate_rest"])
            & (t[f"p_adjusted_{side}"].to_numpy() < 0.05)
            & (allrows["n"] >= 30)
        )
        assert t[f"flagged_{side}"].tolist() == flag.tolist()
    np.testing.assert_allclose(t["change"], t["ratio_suggested"] - t["ratio_current"])
    female = t[(t["measure"] == "scoring") & (t["group"] == "Female")].iloc[0]
    assert female["flagged_suggested"] and not female["flagged_current"]
    assert "Holm" in FLAG_RULE


def test_unknowns_exclusions_and_selection_rules():
    df = composite_world(600, seed=4)
    t = impact_before_after(df, current="current", suggested="suggested")
    assert set(t["measure"]) == {"scoring"}
    assert t.attrs["unknown"]["sex"] == int((df["sex"] == "Unknown").sum())
    assert t.attrs["unknown"]["race_ethnicity"] == int((df["race_ethnicity"] == "Unknown").sum())
    assert "Unknown" not in set(t["group"])
    small = t[(t["dimension"] == "race_ethnicity") & t["excluded"]]
    assert len(small) and small["ratio_suggested"].isna().all()
    assert small["reason"].str.contains("under 2% of the data").all()
    assert not (small["flagged_current"] | small["flagged_suggested"]).any()
    # top_k: the k highest composites under each weight set are selected
    k = impact_before_after(df, current="current", suggested="suggested", top_k=100,
                            dimensions=("sex",))  # fmt: skip
    sel = k[k["measure"] == "selection"].set_index("group")
    kth = np.sort(df["suggested"].to_numpy())[::-1][99]
    chosen = df[df["suggested"] >= kth]
    assert sel.loc["Female", "rate_suggested"] == pytest.approx(
        (chosen["sex"] == "Female").sum() / (df["sex"] == "Female").sum()
    )
    assert "top 100" in k.attrs["selection"]
    with pytest.raises(DataError, match="not both"):
        impact_before_after(df, current="current", suggested="suggested", cut=50, top_k=10)
    with pytest.raises(DataError, match="'sex' or 'race_ethnicity'"):
        impact_before_after(df[["current", "suggested"]], current="current", suggested="suggested")
    with pytest.raises(DataError, match="not in the frame"):
        impact_before_after(df, current="today", suggested="suggested")


def test_no_group_difference_flags_at_most_five_percent_of_worlds():
    # issue 10 item 3: the old check flagged 90 % of such worlds (groups of n = 15, p = 0.57).
    # 60 worlds of n = 600 here; the benchmark runs 1,000 (0.012 with the audit's rule).
    runs = [impact_before_after(composite_world(600, seed=s), current="current",
                                suggested="suggested") for s in range(60)]  # fmt: skip
    new = np.mean([t["flagged_suggested"].any() for t in runs])
    old = np.mean([_old_rule(t) for t in runs])
    assert new <= 0.05
    assert old >= 0.7  # what the replaced check said on the same worlds


def test_a_gap_the_suggestion_widens_is_flagged():
    # Female candidates 1.2 points lower on q4: population ratio 0.865 today, 0.672 suggested
    runs = [impact_before_after(composite_world(600, seed=100 + s, gap=1.2), current="current",
                                suggested="suggested", dimensions=("sex", "race_ethnicity",
                                "intersection")) for s in range(30)]  # fmt: skip
    female = [t[(t["dimension"] == "sex") & (t["group"] == "Female")].iloc[0] for t in runs]
    power = np.mean([f["flagged_suggested"] for f in female])
    assert power >= 0.8
    assert np.mean([f["change"] for f in female]) < -0.1
    assert not math.isnan(female[0]["p_adjusted_suggested"])


# ----------------------------------------------------------------------------- suggest_weights


def posting_world(
    n: int, seed: int, gap: float
) -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    """A posting whose hires follow the weights [2, 0.5, 2, 2, 4] (today's: [2, 3, 2, 2, 1.5]),
    demographics from ``null_demographics``, Female candidates ``gap`` points lower on q4 —
    the question the suggestion weighs up (as in benchmarks/bench_suggestion_fairness.py)."""
    ids = [f"iv{i:05d}" for i in range(n)]
    demo = null_demographics(ids, seed=seed)
    rng = np.random.default_rng(seed + 20_000)
    x = _scores(n, rng, (demo["sex"] == "Female").to_numpy(), gap)
    hired = rng.random(n) < 1 / (1 + np.exp(-(0.35 * (x - 3) @ SUGGESTED - 1.3)))
    qids = [f"q{j}" for j in range(5)]
    data = interview_data_from_matrix(x, CURRENT, ids=ids, qids=qids)
    outcomes = pd.DataFrame({"interview_id": pd.array(ids, dtype="str"),
                             "hired": pd.array(hired, dtype="boolean")})  # fmt: skip
    return data, outcomes, demo


def _weights(s: WeightSuggestion) -> tuple[np.ndarray, np.ndarray]:
    t = s.table
    return t["current_weight"].to_numpy(float), t["suggested_integer"].to_numpy(float)


@pytest.fixture(scope="module")
def gap_posting():
    data, outcomes, demo = posting_world(600, seed=2, gap=1.5)
    return data, outcomes, demo, suggest_weights(data, outcomes, n_boot=30, cv_repeats=1)


def test_the_suggestions_weights_under_the_audit_rule(gap_posting):
    data, _, demo, s = gap_posting
    current, suggested = _weights(s)
    assert suggested[4] / suggested.sum() > current[4] / current.sum()  # q4 weighed up
    X = data.score_matrix("P")
    f, notes = suggestion_fairness(X, current, suggested, demo, data, "email", 60.0, 5)
    assert {"group", "n", "ratio_current", "ratio_suggested", "change", "flagged_current",
            "flagged_suggested"} <= set(f.columns)  # fmt: skip  # DESIGN.md
    assert set(f["measure"]) == {"scoring", "selection"}
    assert set(f["dimension"]) == {"sex", "race_ethnicity", "intersection"}
    female = f[(f["measure"] == "scoring") & (f["group"] == "Female")].iloc[0]
    assert female["flagged_suggested"] and female["change"] < 0
    # every scored interview (with or without an outcome) is in the check
    known = (demo["sex"] != "Unknown").sum()
    assert f.loc[(f["measure"] == "scoring") & (f["dimension"] == "sex"), "n"].sum() == known
    # the same numbers as impact_before_after on the two composites
    comp = X.assign(**{d: demo.set_index("interview_id")[d].reindex(X.index).to_numpy()
                       for d in ("sex", "race_ethnicity")})  # fmt: skip
    for name, w in (("current", current), ("suggested", suggested)):
        comp[name] = 100 * (X.to_numpy() * w).sum(1) / (w.sum() * 5)
    ref = impact_before_after(comp, current="current", suggested="suggested", cut=60.0)
    pd.testing.assert_frame_equal(f, ref)
    rule = notes[0]
    assert rule.startswith("Fairness under the suggestion")
    assert "below 0.8 AND" in rule and "Holm" in rule and "at least 30" in rule
    assert f"sex {(demo['sex'] == 'Unknown').sum():,}" in rule
    assert any(n.startswith("Flagged under the suggested weights: ") and "Female" in n
               for n in notes)  # fmt: skip
    holder = type("S", (), {"fairness": f})()
    assert fairness_flagged(holder) and fairness_flagged(holder, new_only=True)
    with pytest.warns(DeprecationWarning, match="fairness_drop"):
        suggestion_fairness(X, current, suggested, demo, data, "email", None, 5, 0.1)


def test_the_suggestion_in_worlds_without_group_differences_flags_nothing():
    for seed in range(3):
        data, outcomes, demo = posting_world(600, seed=seed, gap=0.0)
        s = suggest_weights(data, outcomes, n_boot=20, cv_repeats=1)
        f, notes = suggestion_fairness(data.score_matrix("P"), *_weights(s), demo, data,
                                       "email", None, 5)  # fmt: skip
        assert not f["flagged_suggested"].any()  # the composite test above holds the rate
        assert notes[1].startswith("No group is flagged under the suggested weights")


def test_suggest_weights_fills_fairness_with_the_audit_rule(gap_posting, tmp_path):
    data, outcomes, demo, _ = gap_posting
    s = suggest_weights(data, outcomes, demographics=demo, n_boot=30, cv_repeats=1, cut=60.0)
    f = s.fairness
    assert {"flagged_current", "flagged_suggested", "ratio_current", "measure"} <= set(f.columns)
    assert fairness_flagged(s)
    assert any(n.startswith("Fairness under the suggestion") for n in s.notes)
    back = WeightSuggestion.from_json(s.to_json(tmp_path / "s.json"))
    pd.testing.assert_frame_equal(back.fairness, f)
    assert "flagged_suggested" in s._repr_html_()
