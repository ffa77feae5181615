"""The vectorised bootstrap engine (analysis/resample.py) against the old per-resample loops.

The old loops are kept verbatim in ``milo_analytics.analysis._loop_reference``; the new engine
draws the same rows from the same seed (multinomial counts from ``rng.integers(0, n, (B, n))``),
so its intervals must equal the loop's to rounding — and, drawn from another seed, agree within
Monte-Carlo error. Delta-method intervals are checked against a 2,000-resample bootstrap at
n = 2,000 and for coverage on a population with known relative weights (methods §9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milo_analytics.analysis import (
    Resamples,
    dominance_analysis,
    question_importance,
    relative_weights,
    speech_summary,
)
from milo_analytics.analysis import resample as rs_mod
from milo_analytics.analysis._common import _auc, logit_irls, synthetic_interview_data
from milo_analytics.analysis._loop_reference import (
    dominance_loop,
    incremental_loop,
    relative_weights_loop,
)
from milo_analytics.analysis.resample import LogitBatch, MomentBasis, draw_counts, weighted_auc
from milo_analytics.analysis.speech import _incremental
from milo_analytics.errors import DataError

CI = ["ci_low", "ci_high", "rescaled_ci_low", "rescaled_ci_high"]


@pytest.fixture(scope="module")
def world():
    """1,500 interviews × 5 questions, a binary and a continuous outcome, speech scores."""
    data, truth = synthetic_interview_data(1500, 5, seed=41)
    rng = np.random.default_rng(42)
    wide = data.score_matrix()
    ability = truth["ability"].reindex(wide.index).to_numpy()
    sp = data.interviews.set_index("interview_id")["speech_score"].reindex(wide.index).to_numpy()
    hired = rng.uniform(size=len(wide)) < 1 / (1 + np.exp(-(1.3 * ability + 0.4 * sp - 2.5)))
    perf = ability + 0.3 * sp + rng.normal(size=len(wide))
    outcomes = pd.DataFrame({"interview_id": wide.index, "hired": hired, "performance": perf})
    return {
        "data": data,
        "X": wide,
        "y": hired,
        "perf": perf,
        "sp": sp,
        "outcomes": outcomes,
    }


# ----------------------------------------------------------------------------- the set
def test_counts_are_the_old_loops_draws_in_any_chunking(monkeypatch):
    idx = np.random.default_rng(7).integers(0, 50, size=(30, 50))  # the old _boot_indices
    expected = np.stack([np.bincount(r, minlength=50) for r in idx])
    rs = Resamples(50, n_boot=30, seed=7)
    assert rs.counts.dtype == np.uint8 and (rs.counts == expected).all()
    assert (rs.counts.sum(axis=1) == 50).all()
    monkeypatch.setattr(rs_mod, "CHUNK_CELLS", 120)  # 2 resamples per chunk
    assert (draw_counts(50, 30, 7) == expected).all()


def test_resamples_over_interview_ids(world):
    data = world["data"]
    rs = Resamples.for_data(data, n_boot=20, seed=3)
    ids = data.interviews["interview_id"]
    assert rs.n == ids.nunique() and set(rs.ids) == set(ids)
    pick = ids.iloc[[5, 2, 9]].tolist()
    pos = [rs.ids.get_loc(i) for i in pick]
    assert (rs.take(labels=pick) == rs.counts[:, pos]).all()
    assert "20" in repr(rs) and "interview ids" in repr(rs)
    with pytest.raises(DataError, match=r"not in the resample set.*Resamples.for_data"):
        rs.take(labels=["nope", pick[0]], func="relative_weights")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "positive number of rows"),
        ({"n": 5, "n_boot": 0}, "positive number of resamples"),
        ({"n": 5, "seed": 1.5}, "integer"),
        ({"ids": ["a", "a", "b"]}, "unique"),
        ({"n": 4, "ids": ["a", "b", "c"]}, "3 ids but n = 4"),
    ],
)
def test_resamples_refuses_bad_arguments(kwargs, message):
    with pytest.raises(DataError, match=message):
        Resamples(**kwargs)


def test_bootstrap_argument_errors(world):
    X, y, data, outcomes = world["X"], world["y"], world["data"], world["outcomes"]
    with pytest.raises(DataError, match=r"pass a milo_analytics\.analysis\.Resamples"):
        relative_weights(X, y, bootstrap=200)
    with pytest.raises(DataError, match="fixes the number of resamples"):
        relative_weights(X, y, n_boot=50, bootstrap=Resamples(len(X), n_boot=20))
    with pytest.raises(DataError, match="fixes the number of resamples"):
        question_importance(data, outcomes, seed=4, bootstrap=Resamples.for_data(data, 20))
    with pytest.raises(DataError, match="has 10 rows but the analysis uses 1,500"):
        relative_weights(X, y, bootstrap=Resamples(10, n_boot=5))
    with pytest.raises(DataError, match="over interview ids"):
        speech_summary(data, outcomes, bootstrap=Resamples(len(X), n_boot=5))
    with pytest.raises(DataError, match="over interview ids"):
        question_importance(data, outcomes, bootstrap=Resamples(len(X), n_boot=5))
    with pytest.raises(DataError, match="interval='sometimes'"):
        relative_weights(X, y, n_boot=5, interval="sometimes")
    with pytest.raises(DataError, match="no resamples"):
        relative_weights(X, y, interval="bootstrap")


# ----------------------------------------------------------------------------- old vs new
@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        (
            "logistic relative weights",
            lambda w: relative_weights_loop(w["X"], w["y"], n_boot=150, seed=5),
            lambda w: relative_weights(w["X"], w["y"], n_boot=150, seed=5),
        ),
        (
            "linear relative weights",
            lambda w: relative_weights_loop(w["X"], w["perf"], n_boot=150, seed=5),
            lambda w: relative_weights(w["X"], w["perf"], n_boot=150, seed=5),
        ),
        (
            "LMG",
            lambda w: dominance_loop(w["X"], w["perf"], n_boot=150, seed=5),
            lambda w: dominance_analysis(w["X"], w["perf"], n_boot=150, seed=5),
        ),
    ],
)
def test_same_seed_same_intervals_as_the_old_loop(world, name, old, new):
    o, n = old(world), new(world)
    assert n.attrs["interval"] == "bootstrap" and n.attrs["n_boot"] == 150
    pd.testing.assert_frame_equal(o.drop(columns=CI), n[o.columns.drop(CI)], check_dtype=False)
    np.testing.assert_allclose(n[CI].to_numpy(), o[CI].to_numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("outcome", ["y", "perf"])
def test_same_seed_same_speech_interval_as_the_old_loop(world, outcome):
    Q, sp, y = world["X"].to_numpy("float64"), world["sp"], np.asarray(world[outcome], float)
    new = _incremental(Q, sp, y, draw_counts(len(y), 60, 8), 0.95)
    old = incremental_loop(Q, sp, y, 60, 0.95, 8)
    assert new.pop("interval") == "bootstrap" and new.pop("n_boot") == 60
    assert new.keys() == old.keys() and new["metric"] == old["metric"]
    for key in ("n", "base", "full", "delta", "p_value"):  # the point estimates: unchanged
        assert new[key] == old[key], key
    np.testing.assert_allclose(
        [new["ci_low"], new["ci_high"]], [old["ci_low"], old["ci_high"]], rtol=0, atol=1e-12
    )


def test_other_seed_agrees_with_the_old_loop_within_monte_carlo_error(world):
    # Different resamples: the endpoints differ by Monte-Carlo error only. With B = 300 a
    # 2.5 % percentile's s.d. is √(p(1−p)/B)/φ(z) ≈ 0.15 σ ≈ 0.08 half-widths, so two
    # independent runs differ by ≈ 0.11 half-widths; 0.45 is 4 s.d.
    X, y = world["X"], world["y"]
    old = relative_weights_loop(X, y, n_boot=300, seed=1)
    new = relative_weights(X, y, n_boot=300, seed=2)
    half = (old["rescaled_ci_high"] - old["rescaled_ci_low"]) / 2
    for col in ("rescaled_ci_low", "rescaled_ci_high"):
        assert ((new[col] - old[col]).abs() / half).max() < 0.45
    Q, sp = X.to_numpy("float64"), world["sp"]
    ref = incremental_loop(Q, sp, y.astype(float), 300, 0.95, 1)
    lo, hi = ref["ci_low"], ref["ci_high"]
    inc = _incremental(Q, sp, y.astype(float), draw_counts(len(y), 300, 2), 0.95)
    assert abs(inc["ci_low"] - lo) < 0.45 * (hi - lo) / 2
    assert abs(inc["ci_high"] - hi) < 0.45 * (hi - lo) / 2


# ----------------------------------------------------------------------------- the pieces
def test_weighted_auc_equals_auc_of_the_resampled_rows():
    rng = np.random.default_rng(3)
    y = rng.uniform(size=400) < 0.3
    scores = np.round(rng.normal(size=(6, 400)) + y, 1)  # many ties
    scores[:, :5] = -0.0  # a signed zero among them
    counts = draw_counts(400, 6, 9)
    got = weighted_auc(scores, y, counts)
    for b in range(6):
        rows = np.repeat(np.arange(400), counts[b])
        assert got[b] == pytest.approx(_auc(y[rows], scores[b, rows]), abs=1e-14)
    both = weighted_auc([scores, -scores], y, counts)
    np.testing.assert_allclose(both[0] + both[1], 1.0)


def test_logit_batch_equals_logit_irls_on_the_resampled_rows(world):
    X = np.column_stack([np.ones(len(world["y"])), world["X"].to_numpy("float64")])
    y = world["y"].astype(float)
    start = logit_irls(X, y).coef
    counts = draw_counts(len(y), 4, 11)
    coef, converged = LogitBatch(X, y).fit(counts.astype(float), start)
    assert converged.all()
    for b in range(4):
        rows = np.repeat(np.arange(len(y)), counts[b])
        np.testing.assert_allclose(
            coef[b], logit_irls(X[rows], y[rows], start=start).coef, atol=1e-8
        )


def test_moment_basis_equals_covariance_of_the_resampled_rows(world):
    Z = np.column_stack([world["perf"], world["X"].to_numpy("float64")])
    counts = draw_counts(len(Z), 3, 2)
    _, cov = MomentBasis(Z).cov(counts.astype(float))
    for b in range(3):
        rows = np.repeat(np.arange(len(Z)), counts[b])
        np.testing.assert_allclose(cov[b], np.cov(Z[rows], rowvar=False, ddof=0), atol=1e-12)


# ----------------------------------------------------------------------------- shared set
def test_a_resample_set_gives_the_same_intervals_as_its_seed(world):
    X, y, perf = world["X"], world["y"], world["perf"]
    for outcome in (y, perf):
        seeded = relative_weights(X, outcome, n_boot=60, seed=4)
        shared = relative_weights(X, outcome, bootstrap=Resamples(len(X), n_boot=60, seed=4))
        pd.testing.assert_frame_equal(seeded, shared)
    # by interview id, in another order: matched by label
    ids = Resamples(ids=X.index, n_boot=60, seed=4)
    pd.testing.assert_frame_equal(
        relative_weights(X.iloc[::-1], perf[::-1], bootstrap=ids).sort_index(),
        relative_weights(X, perf, n_boot=60, seed=4).sort_index(),
        check_exact=False,
        atol=1e-9,
    )
    # rows dropped for a missing value: a set over the rows as passed, or over the kept rows
    Xm = X.copy()
    Xm.iloc[[3, 10], 0] = np.nan
    kept = Xm.notna().all(axis=1).to_numpy()
    seeded = relative_weights(Xm, perf, n_boot=40, seed=6)
    over_kept = relative_weights(Xm, perf, bootstrap=Resamples(int(kept.sum()), 40, 6))
    pd.testing.assert_frame_equal(seeded, over_kept)
    over_all = relative_weights(Xm, perf, bootstrap=Resamples(len(Xm), 40, 6))
    counts = Resamples(len(Xm), 40, 6).counts[:, kept]
    assert over_all.attrs["n_boot"] == 40 and counts.sum() < 40 * len(Xm)


def test_report_style_sharing_across_speech_and_importance(world):
    data, outcomes = world["data"], world["outcomes"]
    wide = data.score_matrix()
    # the set over exactly the analysed interviews, in their order: identical to the seed
    exact = Resamples(ids=wide.index, n_boot=50, seed=9)
    seeded = question_importance(data, outcomes, n_boot=50, seed=9)
    pd.testing.assert_frame_equal(
        question_importance(data, outcomes, bootstrap=exact).table, seeded.table
    )
    sp_seeded = speech_summary(data, outcomes, n_boot=50, seed=9).incremental
    sp_shared = speech_summary(data, outcomes, bootstrap=exact).incremental
    pd.testing.assert_frame_equal(sp_shared, sp_seeded)
    # one set over all interviews, reused: deterministic, drawn once, close to the seeded run
    rs = Resamples.for_data(data, n_boot=300, seed=1)
    a = question_importance(data, outcomes, bootstrap=rs)
    counts = rs.counts
    b = question_importance(data, outcomes, bootstrap=rs)
    s = speech_summary(data, outcomes, bootstrap=rs)
    assert rs.counts is counts
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.table["rw_interval"] == "bootstrap").all()
    assert s.incremental["interval"].tolist() == ["bootstrap"]
    ref = question_importance(data, outcomes, n_boot=300, seed=2).table
    half = (ref["rw_ci_high"] - ref["rw_ci_low"]) / 2
    assert ((a.table["rw_ci_low"] - ref["rw_ci_low"]).abs() / half).max() < 0.45
    assert ((a.table["rw_ci_high"] - ref["rw_ci_high"]).abs() / half).max() < 0.45


# ----------------------------------------------------------------------------- analytic
def test_interval_choice_is_reported(world, monkeypatch):
    X, y, data, outcomes = world["X"], world["y"], world["data"], world["outcomes"]
    assert relative_weights(X, y, n_boot=30).attrs["interval"] == "bootstrap"  # n < 20,000
    monkeypatch.setattr(rs_mod, "ANALYTIC_MIN_N", 1000)
    auto = relative_weights(X, y, n_boot=30)
    assert auto.attrs["interval"] == "delta" and auto.attrs["n_boot"] == 0
    forced = relative_weights(X, y, n_boot=30, interval="bootstrap")
    assert forced.attrs["interval"] == "bootstrap" and forced.attrs["n_boot"] == 30
    none = relative_weights(X, y)
    assert none.attrs["interval"] is None and "ci_low" not in none
    assert relative_weights(X, y, interval="analytic").attrs["interval"] == "delta"
    res = question_importance(data, outcomes, n_boot=30)
    assert set(res.table["rw_interval"]) == {"delta"} == set(res.table["lmg_interval"])
    assert any("delta-method CIs" in n and "interval='bootstrap'" in n for n in res.notes)
    boot = question_importance(data, outcomes, n_boot=30, interval="bootstrap")
    assert any("percentile bootstrap CIs (30 resamples)" in n for n in boot.notes)
    off = question_importance(data, outcomes, n_boot=0)
    assert set(off.table["rw_interval"]) == {"none"} and off.table["rw_ci_low"].isna().all()
    assert speech_summary(data, outcomes, n_boot=0).incremental["interval"].tolist() == ["none"]


@pytest.mark.parametrize(
    ("outcome", "stat", "max_gap"),
    [("y", "rw", 0.35), ("perf", "rw", 0.2), ("perf", "lmg", 0.2)],
)
def test_delta_method_agrees_with_the_bootstrap_at_n_2000(outcome, stat, max_gap):
    # methods §9: at n = 2,000 the delta-method and 2,000-resample percentile intervals have
    # the same width within 15 % and endpoints within max_gap half-widths (the bootstrap also
    # carries the statistic's skew; at n = 20,000 both gaps are ≤ 0.1, benchmarks part 3).
    data, truth = synthetic_interview_data(2000, 5, seed=61)
    X = data.score_matrix()
    rng = np.random.default_rng(62)
    a = truth["ability"].reindex(X.index).to_numpy()
    y = {"y": rng.uniform(size=2000) < 1 / (1 + np.exp(1 - a)), "perf": a + rng.normal(size=2000)}[
        outcome
    ]
    fn = relative_weights if stat == "rw" else dominance_analysis
    b = fn(X, y, n_boot=2000, seed=63, interval="bootstrap")
    d = fn(X, y, interval="analytic")
    half_b = (b["rescaled_ci_high"] - b["rescaled_ci_low"]) / 2
    half_d = (d["rescaled_ci_high"] - d["rescaled_ci_low"]) / 2
    assert ((half_d / half_b).between(0.85, 1.15)).all()
    for col in ("rescaled_ci_low", "rescaled_ci_high"):
        assert ((d[col] - b[col]).abs() / half_b).max() < max_gap


def test_delta_and_bootstrap_intervals_cover_known_relative_weights():
    # Population: [y, X] multivariate normal with a known correlation matrix, so the true
    # rescaled weights follow from it (Johnson 2000). 120 samples of n = 800: each interval
    # covers the truth with probability ≈ 0.95 (300 samples of n = 1,000 gave 0.944 for the
    # delta method and 0.936 for the percentile bootstrap; benchmarks part 4 runs more).
    k = 4
    load = np.linspace(0.8, 0.5, k)
    R = np.outer(load, load)
    np.fill_diagonal(R, 1.0)
    beta = np.array([0.35, 0.05, 0.25, 0.1])
    full = np.block([[np.ones((1, 1)), (R @ beta)[None, :]], [(R @ beta)[:, None], R]])
    evals, evecs = np.linalg.eigh(R)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    b = np.linalg.solve(lam, full[1:, 0])
    truth = 100 * (lam**2) @ b**2 / np.sum(b**2)
    L = np.linalg.cholesky(full)
    rng = np.random.default_rng(5)
    hits = {"analytic": 0, "bootstrap": 0}
    reps = 120
    for r in range(reps):
        Z = rng.normal(size=(800, k + 1)) @ L.T
        X = pd.DataFrame(Z[:, 1:], columns=list("abcd"))
        for how in hits:
            rw = relative_weights(X, Z[:, 0], n_boot=100, seed=r, interval=how)
            inside = (rw["rescaled_ci_low"] <= truth) & (truth <= rw["rescaled_ci_high"])
            hits[how] += int(inside.sum())
    for how, h in hits.items():
        assert 0.9 <= h / (reps * k) <= 0.99, (how, h / (reps * k))
