"""The decision rule of suggest_weights (issue 10), case by case, and its interval.

Each unit case gives the differences frame the rule sees (AUC differences with their 95%
intervals); the end-to-end case is the world of issue 10 item 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from milo_analytics.calibrate import suggest_weights
from milo_analytics.calibrate.compare import corrected_t_interval, decide
from tests.test_calibrate import make_data


def diffs(cur: tuple[float, float, float], unit: tuple[float, float, float]) -> pd.DataFrame:
    """(difference, ci_low, ci_high) of integer − current and integer − unit."""
    return pd.DataFrame(
        [cur, unit],
        columns=["difference", "ci_low", "ci_high"],
        index=["suggested_integer - current", "suggested_integer - unit"],
    )


def test_suggestion_equal_to_unit_that_beats_today_means_change() -> None:
    # issue 10 item 1: the suggestion IS unit weights, so integer − unit is exactly 0
    rec, why = decide(diffs((0.024, 0.012, 0.036), (0.0, 0.0, 0.0)), n_changes=2)
    assert rec == "change"
    assert "beat today's weights" in why and "+0.024 AUC" in why and "+0.012 to +0.036" in why
    assert "unit would be better" not in why and "better still" not in why


def test_suggestion_close_to_today_means_keep() -> None:
    rec, why = decide(diffs((0.002, -0.006, 0.010), (0.001, -0.007, 0.009)), n_changes=1)
    assert rec == "keep"
    assert "do not beat today's weights beyond the noise" in why
    assert "+0.002 AUC" in why and "-0.006 to +0.010" in why


def test_all_three_tie_means_keep() -> None:
    rec, why = decide(diffs((0.0, -0.008, 0.008), (0.0, -0.008, 0.008)), n_changes=3)
    assert rec == "keep"
    assert "beyond the noise" in why


def test_worse_than_unit_but_better_than_today_means_change_and_says_unit_is_better() -> None:
    rec, why = decide(diffs((0.015, 0.004, 0.026), (-0.012, -0.020, -0.004)), n_changes=2)
    assert rec == "change"
    assert "unit weights would be better still, by 0.012 AUC" in why
    assert "best of the three on held-out candidates: unit weights" in why


def test_integer_suggestion_equal_to_today_is_always_keep() -> None:
    # even with an interval above 0 (impossible in practice: identical composites give 0)
    rec, why = decide(diffs((0.02, 0.01, 0.03), (0.0, -0.01, 0.01)), n_changes=0)
    assert rec == "keep" and "equals today's weights" in why


def test_corrected_t_interval_matches_nadeau_bengio_by_hand() -> None:
    # J = 4 folds, n_test/n_train = 1/4: var = (1/4 + 1/4)·s², t with 3 df
    d = np.array([0.01, 0.03, 0.02, 0.02])
    mean, lo, hi = corrected_t_interval(d, 0.25, 0.95)
    half = stats.t.ppf(0.975, 3) * np.sqrt(0.5 * d.var(ddof=1))
    assert mean == pytest.approx(0.02)
    assert (lo, hi) == pytest.approx((0.02 - half, 0.02 + half))
    # the naive interval (1/J only) is narrower: the correction is what widens it
    naive = stats.t.ppf(0.975, 3) * np.sqrt(d.var(ddof=1) / 4)
    assert hi - lo > 2 * naive


def test_issue10_world_equal_truth_today_1_5_1_1_5_says_change() -> None:
    # issue 10 item 1: equal true weights, today's [1,5,1,1,5], n = 3000 — the old rule said
    # "keep" 10/10 although the suggestion (unit-like) beat today's weights out of sample.
    data, outcomes = make_data(n=3000, true=(1, 1, 1, 1, 1), current=(1, 5, 1, 1, 5), seed=3)
    s = suggest_weights(data, outcomes, n_boot=0)
    d = s.differences.loc["suggested_integer - current"]
    assert d["ci_low"] > 0
    assert s.recommendation == "change"
    assert s.notes[0].startswith("Recommendation: change — the integer weights beat today's")
    ints = s.table["suggested_integer"].to_numpy()
    assert ints.max() - ints.min() <= 1  # (close to) equal weights
