"""Effective weights (hand-computed), score reconciliation (synthetic, known formula), rescoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milo_analytics.analysis import effective_weights, reconcile_scores, rescore
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.frames import InterviewData


def _data(
    matrix: dict[str, list[float]], weights: dict[str, float], posting: str = "P"
) -> InterviewData:
    """Scores from a wide dict; current weights in the questions frame."""
    n = len(next(iter(matrix.values())))
    rows = []
    for rank, (q, vals) in enumerate(matrix.items(), start=1):
        for i, v in enumerate(vals):
            rows.append(
                {
                    "interview_id": f"i{i}",
                    "posting_id": posting,
                    "question_id": q,
                    "rank": rank,
                    "score": v,
                    "score_weight": weights[q],
                    "not_scored": False,
                }
            )
    questions = pd.DataFrame(
        {
            "posting_id": posting,
            "question_id": list(matrix),
            "rank": range(1, len(matrix) + 1),
            "score_weight": [weights[q] for q in matrix],
        }
    )
    assert n
    return InterviewData(scores=pd.DataFrame(rows), questions=questions, score_scale=5)


def test_effective_weights_uncorrelated_items_hand_computed():
    # a: deviations ±1 (var 4/3), b: ±2 (var 16/3), cov(a, b) = 0.
    data = _data({"a": [4, 2, 4, 2], "b": [5, 5, 1, 1]}, {"a": 1.0, "b": 1.0})
    t = effective_weights(data).table.set_index("question_id")
    # equal weights: shares = var_i / (var_a + var_b) = (4/3)/(20/3), (16/3)/(20/3)
    assert t["effective_share"].tolist() == pytest.approx([0.2, 0.8])
    assert t["nominal_share"].tolist() == pytest.approx([0.5, 0.5])
    assert t["share_gap"].tolist() == pytest.approx([-0.3, 0.3])
    # weights 3:1 → eff_a = 9·(4/3) / (9·(4/3) + 16/3) = 12 / (52/3) = 36/52
    t = effective_weights(data, weights={"a": 3, "b": 1}).table.set_index("question_id")
    assert t.at["a", "effective_share"] == pytest.approx(36 / 52)
    assert t.at["a", "nominal_share"] == pytest.approx(0.75)


def test_effective_weights_correlated_items_hand_computed():
    # a = 1..4, b = 1,3,2,4: var 5/3 each, cov 4/3; weights 1, 2:
    # Σw = [5/3 + 8/3, 4/3 + 10/3] = [13/3, 14/3]; eff = [13, 28] / 41
    data = _data({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]}, {"a": 1.0, "b": 2.0})
    t = effective_weights(data).table.set_index("question_id")
    assert t["effective_share"].tolist() == pytest.approx([13 / 41, 28 / 41])
    assert t["effective_share"].sum() == pytest.approx(1.0)
    assert t["sd"].tolist() == pytest.approx([np.sqrt(5 / 3)] * 2)


def test_effective_weights_missing_answers_use_pairwise_covariances():
    data, _ = synthetic_interview_data(400, 4, seed=2)
    s = data.scores.copy()
    s.loc[s.index[::5], "score"] = np.nan
    d = InterviewData(scores=s, questions=data.questions, interviews=data.interviews, score_scale=5)
    res = effective_weights(d)
    t = res.table.set_index("question_id")
    C = d.score_matrix().cov().to_numpy()
    w = data.questions.set_index("question_id")["score_weight"].to_numpy(float)
    expected = w * (C @ w) / (w @ C @ w)
    assert t["effective_share"].to_numpy() == pytest.approx(expected)
    assert (t["n_missing"] > 0).all()
    assert any("pairwise" in n for n in res.notes)
    # r with HeyMilo's overall score
    wide = d.score_matrix()
    ov = d.interviews.set_index("interview_id")["score"].reindex(wide.index).astype(float)
    assert t.at["P1-q1", "r_overall"] == pytest.approx(wide["P1-q1"].corr(ov))


def test_effective_weights_edge_cases():
    # a zero-variance question: share 0, said so
    data = _data({"a": [1, 2, 3, 4], "b": [3, 3, 3, 3]}, {"a": 1.0, "b": 5.0})
    res = effective_weights(data)
    t = res.table.set_index("question_id")
    assert t.at["b", "effective_share"] == pytest.approx(0.0)
    assert t.at["a", "effective_share"] == pytest.approx(1.0)
    assert any("no variance" in n for n in res.notes)
    # one question
    one = _data({"a": [1, 2, 3, 4]}, {"a": 2.0})
    assert effective_weights(one).table["effective_share"].tolist() == pytest.approx([1.0])
    # single interview
    with pytest.raises(InsufficientDataError, match="at least 2"):
        effective_weights(_data({"a": [3], "b": [4]}, {"a": 1.0, "b": 1.0}))
    # an all-missing column is left out
    res = effective_weights(
        _data(
            {"a": [1, 2, 3, 4], "b": [np.nan] * 4, "c": [2, 1, 4, 4]},
            {"a": 1.0, "b": 1.0, "c": 1.0},
        )
    )
    assert set(res.table["question_id"]) == {"a", "c"}
    with pytest.raises(DataError, match="not in the data"):
        effective_weights(data, weights={"zzz": 1})
    with pytest.raises(DataError, match="InterviewData"):
        effective_weights(pd.DataFrame())


def test_effective_weights_plot_is_aggregated():
    data, _ = synthetic_interview_data(2000, 5, seed=3)
    fig = effective_weights(data).plot()
    assert [len(tr.x) for tr in fig.data] == [5, 5]


# ----------------------------------------------------------------------------- reconcile
def test_reconcile_identifies_proportional_and_the_overrides():
    data, truth = synthetic_interview_data(1000, 5, seed=4, override_share=0.01)
    res = reconcile_scores(data)
    assert res.best == {"P1": "proportional"}
    row = res.table.set_index("formula").loc["proportional"]
    assert row["n_fit"] == 1000 - len(truth["overridden"])
    assert set(res.unmatched["interview_id"]) == set(truth["overridden"])
    fitted = res.residuals[res.residuals["fits"]]
    assert fitted["residual"].abs().max() <= 0.05 + 1e-6
    assert res.table.set_index("formula").at["min_anchored", "share_fit"] < 0.5
    assert "overrides" in " ".join(res.notes)


def test_reconcile_identifies_min_anchored_on_ten_point_scale():
    data, _ = synthetic_interview_data(500, 4, seed=5, scale=10)
    wide = data.score_matrix()
    w = (
        data.questions.set_index("question_id")["score_weight"]
        .reindex(wide.columns)
        .to_numpy(float)
    )
    minanch = 100 * ((wide.to_numpy() - 1) * w).sum(axis=1) / (w.sum() * 9)
    iv = data.interviews.copy()
    iv["score"] = np.round(minanch, 1)
    iv["match_score"] = np.round(minanch)
    res = reconcile_scores(InterviewData(scores=data.scores, interviews=iv, score_scale=10))
    assert res.best == {"P1": "min_anchored"}
    assert res.table.set_index("formula").at["min_anchored", "share_fit"] == 1.0
    assert res.unmatched.empty


def test_reconcile_with_a_user_formula():
    data, _ = synthetic_interview_data(300, 3, seed=6)
    wide = data.score_matrix()
    iv = data.interviews.copy()
    unweighted = 20 * wide.mean(axis=1).reindex(iv["interview_id"]).to_numpy()
    iv["score"] = np.round(unweighted, 1)
    iv["match_score"] = np.round(unweighted)

    def unweighted_mean(scores, weights, scale):
        return 100 * np.nanmean(scores, axis=1) / scale

    res = reconcile_scores(
        InterviewData(scores=data.scores, interviews=iv), formulas=[unweighted_mean]
    )
    assert res.best == {"P1": "unweighted_mean"}
    assert set(res.table["formula"]) == {"proportional", "min_anchored", "unweighted_mean"}
    with pytest.raises(DataError, match="callable"):
        reconcile_scores(data, formulas={"bad": 3})


def test_reconcile_uses_weights_at_scoring_time_and_skips_not_scored():
    data, truth = synthetic_interview_data(400, 4, seed=7, weight_change={"P1-q2": 7.0})
    assert truth["change_at"] is not None
    s = data.scores
    extra = s[s["question_id"] == "P1-q1"].assign(
        question_id="P1-info", rank=9, score=1.0, score_weight=10.0, not_scored=True
    )
    # a structured (pass/fail) item: on the scorecard without a numeric score, it carries no weight
    structured = s[s["question_id"] == "P1-q1"].assign(
        question_id="P1-passfail", rank=10, score=np.nan, score_weight=5.0, not_scored=False
    )
    d = InterviewData(
        scores=pd.concat([s, extra, structured]),
        interviews=data.interviews,
        questions=data.questions,
        score_scale=5,
    )
    res = reconcile_scores(d)
    assert res.table.set_index("formula").at["proportional", "share_fit"] == 1.0
    # with today's weight for everybody, the early interviews would not fit
    today = d.scores.assign(
        score_weight=np.where(d.scores["question_id"] == "P1-q2", 7.0, d.scores["score_weight"])
    )
    res2 = reconcile_scores(InterviewData(scores=today, interviews=data.interviews, score_scale=5))
    assert res2.table.set_index("formula").at["proportional", "share_fit"] < 0.9


def test_reconcile_match_score_only_is_rounding_aware():
    scores = pd.DataFrame(
        {
            "interview_id": ["i1", "i1", "i2", "i2"],
            "posting_id": "P",
            "question_id": ["a", "b"] * 2,
            "rank": [1, 2] * 2,
            "score": [5, 3, 2, 4],
            "score_weight": [2.0, 1.0, 2.0, 1.0],
            "not_scored": False,
        }
    )
    # proportional: 86.67 and 53.33 → match_score 87 and 53
    iv = pd.DataFrame(
        {
            "interview_id": ["i1", "i2"],
            "posting_id": "P",
            "status": "completed",
            "score": [np.nan, np.nan],
            "match_score": [87, 54],
        }
    )
    res = reconcile_scores(InterviewData(scores=scores, interviews=iv, score_scale=5))
    r = res.residuals.set_index("interview_id")
    assert bool(r.at["i1", "fits"]) and not bool(r.at["i2", "fits"])
    assert r.at["i2", "residual"] == pytest.approx(54 - 160 / 3)


def test_reconcile_without_overall_scores_says_so():
    data, _ = synthetic_interview_data(10, 2, seed=8)
    with pytest.raises(InsufficientDataError, match="overall score"):
        reconcile_scores(InterviewData(scores=data.scores))


def test_reconcile_plot_bins_residuals():
    data, _ = synthetic_interview_data(5000, 5, seed=9, override_share=0.02)
    fig = reconcile_scores(data).plot()
    assert len(fig.data[0].x) == 100  # fixed bins, independent of n
    assert int(np.sum(fig.data[0].y)) == 5000


# ----------------------------------------------------------------------------- rescore
def test_rescore_same_weights_changes_nothing():
    data, _ = synthetic_interview_data(300, 4, seed=10)
    w = data.questions.set_index("question_id")["score_weight"].to_dict()
    res = rescore(data, w, cut=60)
    row = res.table.iloc[0]
    assert row["n_flips"] == 0 and row["spearman"] == pytest.approx(1.0)
    assert (res.interviews["rank_change"] == 0).all()


def test_rescore_counts_flips_at_cut_and_top():
    data, _ = synthetic_interview_data(500, 4, seed=11)
    new = {"P1-q1": 1.0, "P1-q4": 6.0}
    res = rescore(data, new, cut=65)
    iv = res.interviews
    wide = data.score_matrix()
    w0 = (
        data.questions.set_index("question_id")["score_weight"]
        .reindex(wide.columns)
        .to_numpy(float)
    )
    w1 = w0.copy()
    w1[0], w1[3] = 1.0, 6.0
    before = 100 * (wide.to_numpy() * w0).sum(axis=1) / (w0.sum() * 5)
    after = 100 * (wide.to_numpy() * w1).sum(axis=1) / (w1.sum() * 5)
    assert iv["score_before"].to_numpy() == pytest.approx(before)
    assert iv["score_after"].to_numpy() == pytest.approx(after)
    n_in = int(((after >= 65) & (before < 65)).sum())
    n_out = int(((after < 65) & (before >= 65)).sum())
    row = res.table.iloc[0]
    assert (row["n_in"], row["n_out"]) == (n_in, n_out) and n_in + n_out > 0
    top = rescore(data, new, top=50).table.iloc[0]
    assert top["n_shortlisted_before"] >= 50 and top["n_in"] > 0
    # a WeightSuggestion-like frame works too
    frame = pd.DataFrame({"question_id": list(new), "suggested_weight": list(new.values())})
    assert rescore(data, frame, cut=65).table.iloc[0]["n_flips"] == n_in + n_out
    fig = res.plot()
    assert fig.data[0].z.shape == (50, 50)


def test_rescore_errors():
    data, _ = synthetic_interview_data(50, 3, seed=12)
    with pytest.raises(DataError, match="not both"):
        rescore(data, {"P1-q1": 2}, cut=50, top=10)
    with pytest.raises(DataError, match="non-negative"):
        rescore(data, {"P1-q1": -1})
    with pytest.raises(DataError, match="not in the data"):
        rescore(data, {"nope": 1})
    before = data.scores.copy()
    rescore(data, {"P1-q1": 9})
    pd.testing.assert_frame_equal(before, data.scores)


def test_results_escape_candidate_and_question_text_and_keep_inputs():
    data, _ = synthetic_interview_data(200, 3, seed=13, override_share=0.05)
    q = data.questions.copy()
    q.loc[0, "text"] = "<script>alert('x')</script> & more"
    d = InterviewData(questions=q, scores=data.scores, interviews=data.interviews, score_scale=5)
    snapshot = {name: getattr(d, name).copy() for name in ("questions", "scores", "interviews")}
    ew = effective_weights(d)
    rec = reconcile_scores(d)
    for res in (ew, rec):
        out = res._repr_html_()
        assert "<script>" not in out
    assert "&lt;script&gt;" in ew._repr_html_()
    assert "fit no formula" in rec._repr_html_()
    for name, frame in snapshot.items():
        pd.testing.assert_frame_equal(getattr(d, name), frame)


def test_rescore_rank_changes_and_spearman_against_scipy():
    from scipy import stats

    data, _ = synthetic_interview_data(400, 4, seed=14)
    res = rescore(data, {"P1-q2": 10.0}, cut=60)
    iv = res.interviews
    # ranks: 1 = best, ties share the best rank (scipy "min"); positive change = moved up
    rb = stats.rankdata(-iv["score_before"].to_numpy(), method="min")
    ra = stats.rankdata(-iv["score_after"].to_numpy(), method="min")
    assert iv["rank_before"].to_numpy() == pytest.approx(rb)
    assert iv["rank_after"].to_numpy() == pytest.approx(ra)
    assert iv["rank_change"].to_numpy() == pytest.approx(rb - ra)
    row = res.table.iloc[0]
    rho = stats.spearmanr(iv["score_before"], iv["score_after"]).statistic
    assert row["spearman"] == pytest.approx(rho)
    assert row["max_abs_rank_change"] == np.abs(rb - ra).max() > 0
    assert row["share_rank_changed"] == pytest.approx(np.mean(rb != ra))
    # flips are exactly the interviews whose side of the cut changed
    crossed = (iv["score_before"] >= 60) != (iv["score_after"] >= 60)
    assert set(iv.loc[iv["flip"] != "", "interview_id"]) == set(iv.loc[crossed, "interview_id"])
    assert (iv.loc[iv["flip"] == "in", "score_after"] >= 60).all()
    assert (iv.loc[iv["flip"] == "out", "score_before"] >= 60).all()
    # a top-k shortlist: those ranked ≤ k before / after
    top = rescore(data, {"P1-q2": 10.0}, top=40).interviews
    assert top["shortlisted_before"].to_numpy().tolist() == (rb <= 40).tolist()
    assert top["shortlisted_after"].to_numpy().tolist() == (ra <= 40).tolist()
