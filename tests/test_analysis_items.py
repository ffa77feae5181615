"""Item statistics and Cronbach's alpha.

Reference numbers: pingouin's ``cronbach_alpha`` on its bundled datasets, both computed at
run time and as published in pingouin's docstring (pingouin 0.5.x/0.7, ``pingouin/reliability.py``,
``cronbach_alpha`` Examples section, which states the values were checked against R's
``psych::alpha``):

* ``cronbach_wide_missing``, pairwise:  0.732660835214447, CI [0.435, 0.909]
* ``cronbach_wide_missing``, listwise:  0.8016949152542373, CI [0.581, 0.933]
* ``cronbach_wide_missing`` median-imputed: 0.7380191693290734, CI [0.447, 0.911]
* ``cronbach_alpha`` (long, Likert): 0.5917188485995826, CI [0.195, 0.84]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milo_analytics.analysis import cronbach_alpha, item_statistics
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.frames import InterviewData


class _Pingouin:
    """``pingouin``, imported on first use: importing it (matplotlib, seaborn) costs ~1.2 s,
    which every xdist worker would pay while collecting, whether or not it runs these tests.
    pytest's collection asks every module attribute for markers of its own (underscore names):
    those are not pingouin's, so they do not import it."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        import pingouin

        return getattr(pingouin, name)


pg = _Pingouin()


def _wide_missing() -> pd.DataFrame:
    return pg.read_dataset("cronbach_wide_missing")


@pytest.mark.parametrize(
    ("policy", "published_alpha", "published_ci"),
    [
        ("pairwise", 0.732660835214447, (0.435, 0.909)),
        ("listwise", 0.8016949152542373, (0.581, 0.933)),
    ],
)
def test_alpha_matches_pingouin_on_wide_missing(policy, published_alpha, published_ci):
    # pingouin's interval uses every row for Feldt's n: feldt_n="pingouin" reproduces it
    data = _wide_missing()
    alpha, (low, high) = cronbach_alpha(data, nan_policy=policy, feldt_n="pingouin")
    ref_alpha, ref_ci = pg.cronbach_alpha(data=data, nan_policy=policy)
    assert alpha == pytest.approx(ref_alpha, abs=1e-12)
    assert (round(low, 3), round(high, 3)) == tuple(ref_ci)
    assert alpha == pytest.approx(published_alpha, abs=1e-12)
    assert (round(low, 3), round(high, 3)) == published_ci


def _feldt_by_hand(alpha: float, n: float, k: int) -> tuple[float, float]:
    # Feldt (1987); the formula of METHODS §3 written out with scipy's F quantiles
    from scipy.stats import f

    df1, df2 = n - 1, (n - 1) * (k - 1)
    return 1 - (1 - alpha) * f.ppf(0.975, df1, df2), 1 - (1 - alpha) * f.ppf(0.025, df1, df2)


def test_feldt_interval_uses_the_interviews_alpha_is_computed_from():
    data = _wide_missing()  # pingouin's dataset: 23 rows, 11 questions, some answers missing
    n, k = data.shape
    complete = data.dropna()
    assert len(complete) < n  # listwise deletion drops rows
    alpha, ci = cronbach_alpha(data, nan_policy="listwise")
    assert alpha == pytest.approx(0.8016949152542373, abs=1e-12)  # α itself is unchanged
    assert ci == pytest.approx(_feldt_by_hand(alpha, len(complete), k), abs=1e-12)
    # pairwise: the harmonic mean of the pairwise-complete n's of the k(k-1)/2 pairs
    m = data.notna().to_numpy(dtype=float)
    pair_n = (m.T @ m)[np.triu_indices(k, 1)]
    hm = len(pair_n) / (1 / pair_n).sum()
    assert len(complete) < hm < n
    alpha, ci = cronbach_alpha(data, nan_policy="pairwise")
    assert ci == pytest.approx(_feldt_by_hand(alpha, hm, k), abs=1e-12)
    # wider than pingouin's, which counts rows that were not used
    _, ci_pg = cronbach_alpha(data, nan_policy="pairwise", feldt_n="pingouin")
    assert ci[0] < ci_pg[0] and ci[1] > ci_pg[1]
    rel = item_statistics(InterviewData(scores=_long_scores(data))).reliability.iloc[0]
    assert rel["n_feldt"] == pytest.approx(hm) and rel["ci_low"] == pytest.approx(ci[0])
    with pytest.raises(DataError, match=r"feldt_n='rows'.*'used'.*'pingouin'"):
        cronbach_alpha(data, feldt_n="rows")


def _long_scores(wide: pd.DataFrame) -> pd.DataFrame:
    long = (
        wide.rename_axis("interview_id")
        .reset_index()
        .melt(id_vars="interview_id", var_name="question_id", value_name="score")
    )
    return long.assign(interview_id=lambda d: "i" + d["interview_id"].astype(str),
                       question_id=lambda d: d["question_id"].astype(str), posting_id="P",
                       rank=1, score_weight=1.0, not_scored=False)  # fmt: skip


def _feldt_coverage(runs: int, *, seed: int) -> dict[str, float]:
    """Share of samples whose 95 % Feldt interval holds the population α: n = 80, 5
    tau-equivalent normal questions (population α = 0.714), each answer missing with
    probability 0.143, so about 37 of 80 interviews are complete (issue 10 item 5)."""
    rng = np.random.default_rng(seed)
    k, sigma = 5, np.ones((5, 5)) + 2 * np.eye(5)
    true = k / (k - 1) * (1 - np.trace(sigma) / sigma.sum())
    hits = {"listwise": 0, "listwise_pingouin": 0, "pairwise": 0, "pairwise_pingouin": 0}
    for _ in range(runs):
        x = rng.multivariate_normal(np.zeros(k), sigma, size=80)
        x[rng.random(x.shape) < 0.143] = np.nan
        wide = pd.DataFrame(x, columns=[f"q{j}" for j in range(k)])
        for key in hits:
            policy, _, how = key.partition("_")
            _, (lo, hi) = cronbach_alpha(wide, nan_policy=policy, feldt_n=how or "used")
            hits[key] += lo <= true <= hi
    return {key: v / runs for key, v in hits.items()}


def test_feldt_interval_covers_the_true_alpha_with_heavy_missingness():
    # the longer run: benchmarks/bench_alpha_coverage.py (2,000 samples, seed 0: listwise
    # 0.957, 0.822 with pingouin's n; pairwise 0.965, 0.930 with pingouin's n)
    cov = _feldt_coverage(300, seed=5)  # Monte-Carlo s.e. of a 0.95 coverage: 0.013
    assert 0.92 <= cov["listwise"] <= 0.98
    assert 0.92 <= cov["pairwise"] <= 0.985
    assert cov["listwise_pingouin"] < 0.88  # the old interval overclaims


def test_alpha_matches_pingouin_after_median_imputation():
    data = _wide_missing()
    imputed = data.fillna(data.median())
    alpha, (low, high) = cronbach_alpha(imputed)
    assert alpha == pytest.approx(0.7380191693290734, abs=1e-12)  # pingouin docstring
    assert (round(low, 3), round(high, 3)) == (0.447, 0.911)


def test_alpha_matches_pingouin_on_likert_long_dataset():
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    alpha, (low, high) = cronbach_alpha(wide)
    ref_alpha, ref_ci = pg.cronbach_alpha(data=long, items="Items", scores="Scores", subject="Subj")
    assert alpha == pytest.approx(ref_alpha, abs=1e-12)
    assert [round(low, 3), round(high, 3)] == ref_ci.tolist()
    assert alpha == pytest.approx(0.5917188485995826, abs=1e-12)  # pingouin docstring
    assert (round(low, 3), round(high, 3)) == (0.195, 0.84)
    # another level: still pingouin's numbers
    a90, ci90 = cronbach_alpha(wide, ci=0.90)
    ref90 = pg.cronbach_alpha(data=wide, ci=0.90)
    assert a90 == pytest.approx(ref90[0]) and np.round(ci90, 3).tolist() == ref90[1].tolist()


def test_alpha_on_interview_data_uses_each_posting_matrix():
    d1, _ = synthetic_interview_data(300, 4, seed=1, posting_id="A")
    d2, _ = synthetic_interview_data(200, 3, seed=2, posting_id="B")
    both = InterviewData(
        questions=pd.concat([d1.questions, d2.questions]),
        interviews=pd.concat([d1.interviews, d2.interviews]),
        scores=pd.concat([d1.scores, d2.scores]),
        score_scale=5,
    )
    out = cronbach_alpha(both)
    assert set(out) == {"A", "B"}
    assert out["A"][0] == pytest.approx(pg.cronbach_alpha(d1.score_matrix())[0])
    assert out["B"][0] == pytest.approx(pg.cronbach_alpha(d2.score_matrix())[0])
    single = cronbach_alpha(d1)
    assert isinstance(single, tuple) and single[0] == pytest.approx(out["A"][0])


def test_alpha_does_not_mutate_input():
    data = _wide_missing()
    before = data.copy()
    cronbach_alpha(data, nan_policy="listwise")
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (pd.DataFrame({"q1": [1.0, 2.0, 3.0]}), InsufficientDataError, "at least 2 questions"),
        (pd.DataFrame({"q1": [1.0], "q2": [2.0]}), InsufficientDataError, "at least 2 interviews"),
        (pd.DataFrame({"q1": [1.0, 2, 3], "q2": [np.nan] * 3}), DataError, "no answers"),
        (pd.DataFrame({"q1": [1.0, 2, 3], "q2": ["a", "b", "c"]}), DataError, "not numeric"),
    ],
)
def test_alpha_edge_cases_raise_clear_errors(frame, error, match):
    with pytest.raises(error, match=match):
        cronbach_alpha(frame)


def test_alpha_rejects_bad_policy():
    with pytest.raises(DataError, match="pairwise"):
        cronbach_alpha(_wide_missing(), nan_policy="drop")


def test_item_statistics_against_direct_computation():
    data, _ = synthetic_interview_data(400, 5, seed=3)
    res = item_statistics(data)
    wide = data.score_matrix()
    t = res.table.set_index("question_id")
    total = wide.sum(axis=1)
    for q in wide.columns:
        rest = total - wide[q]
        assert t.at[q, "item_total_r"] == pytest.approx(wide[q].corr(rest), abs=1e-10)
        assert t.at[q, "alpha_if_deleted"] == pytest.approx(
            pg.cronbach_alpha(wide.drop(columns=q))[0], abs=1e-10
        )
        assert t.at[q, "mean"] == pytest.approx(wide[q].mean())
        assert t.at[q, "floor"] == pytest.approx((wide[q] == 1).mean())
        assert t.at[q, "ceiling"] == pytest.approx((wide[q] == 5).mean())
    rel = res.reliability.iloc[0]
    alpha = pg.cronbach_alpha(wide)[0]
    assert rel["alpha"] == pytest.approx(alpha)
    corr = wide.corr().to_numpy()
    assert rel["mean_inter_item_r"] == pytest.approx(corr[~np.eye(5, dtype=bool)].mean())
    assert rel["sem_sum"] == pytest.approx(total.std() * np.sqrt(1 - alpha))
    assert rel["sem_overall"] == pytest.approx(data.interviews["score"].std() * np.sqrt(1 - alpha))
    # shares per question sum to one and cover the 1–5 scale
    dist = res.distribution
    assert sorted(dist["value"].unique()) == [1, 2, 3, 4, 5]
    assert dist.groupby("question_id")["share"].sum().to_numpy() == pytest.approx(np.ones(5))
    # discriminating items: positive index, the most loaded question discriminates best
    assert (t["discrimination"] > 0).all()
    assert t["discrimination"].idxmax() == wide.columns[0]


def test_item_statistics_flags_floor_and_ceiling_on_ten_point_scale():
    data, _ = synthetic_interview_data(300, 4, scale=10, seed=4)
    scores = data.scores.copy()
    q = "P1-q1"
    scores.loc[scores["question_id"] == q, "score"] = np.where(
        np.arange((scores["question_id"] == q).sum()) % 2 == 0, 10.0, 9.0
    )
    res = item_statistics(InterviewData(scores=scores, interviews=data.interviews))
    t = res.table.set_index("question_id")
    assert res.reliability["scale_max"].iloc[0] == 10
    assert sorted(res.distribution["value"].unique()) == list(range(1, 11))
    assert t.at[q, "ceiling"] == pytest.approx(0.5)
    assert bool(t.at[q, "ceiling_flag"]) and not t["floor_flag"].any()
    assert any("Floor/ceiling" in n for n in res.notes)


def test_item_statistics_edge_cases():
    data, _ = synthetic_interview_data(50, 3, seed=5)
    # zero-variance question: stated, no crash
    s = data.scores.copy()
    s.loc[s["question_id"] == "P1-q2", "score"] = 4.0
    res = item_statistics(InterviewData(scores=s))
    assert np.isnan(res.table.set_index("question_id").at["P1-q2", "item_total_r"])
    assert any("no variance" in n for n in res.notes)
    # all-missing question: left out, stated
    s = data.scores.copy()
    s.loc[s["question_id"] == "P1-q3", "score"] = np.nan
    res = item_statistics(InterviewData(scores=s))
    assert "P1-q3" not in set(res.table["question_id"])
    assert any("no answers" in n for n in res.notes)
    # one question: per-item stats, alpha undefined, said so
    s = data.scores[data.scores["question_id"] == "P1-q1"]
    res = item_statistics(InterviewData(scores=s))
    assert len(res.table) == 1 and np.isnan(res.reliability["alpha"].iloc[0])
    assert any("only 1 scored question" in n for n in res.notes)
    # a single interview
    s = data.scores[data.scores["interview_id"] == data.scores["interview_id"].iloc[0]]
    with pytest.raises(InsufficientDataError, match="at least 2"):
        item_statistics(InterviewData(scores=s))
    with pytest.raises(InsufficientDataError, match="no scored"):
        item_statistics(InterviewData())
    with pytest.raises(DataError, match="InterviewData"):
        item_statistics(data.score_matrix())


def test_item_statistics_listwise_and_plots():
    data, _ = synthetic_interview_data(200, 4, seed=6)
    s = data.scores.copy()
    s.loc[s.index[::7], "score"] = np.nan
    before = s.copy()
    d = InterviewData(scores=s)
    pair = item_statistics(d)
    lw = item_statistics(d, nan_policy="listwise")
    assert pair.reliability["alpha"].iloc[0] == pytest.approx(
        pg.cronbach_alpha(d.score_matrix())[0]
    )
    assert lw.reliability["alpha"].iloc[0] == pytest.approx(
        pg.cronbach_alpha(d.score_matrix(), nan_policy="listwise")[0]
    )
    assert (pair.table["n_missing"] > 0).all()
    pd.testing.assert_frame_equal(d.scores, InterviewData(scores=before).scores)
    fig = pair.plot()
    assert len(fig.data) == 5  # one stacked trace per score value
    heat = pair.plot("correlation")
    assert heat.data[0].z.shape == (4, 4)
    assert "<table" in pair._repr_html_()
