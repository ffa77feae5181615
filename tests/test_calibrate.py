"""Unit tests of the weight calibration (no HTTP): the estimator, the integer search, the
comparison, the gate and the WeightSuggestion result. Sandbox tests: test_calibrate_sandbox.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import optimize
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score

from milo_analytics.calibrate import (
    HIRED_CAVEAT,
    PAST_SCORES_NOTE,
    WeightSuggester,
    WeightSuggestion,
    _thorndike,
    _weighted_auc,
    integer_weights,
    penalised_objective,
    suggest_weights,
)
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.frames import InterviewData

CURRENT = (2.0, 3.0, 2.0, 2.0, 1.5)
PLANTED = (2.0, 0.5, 2.0, 2.0, 4.0)  # q1 much less, q4 much more important than weighted


def correlated_scores(n: int, q: int, rng: np.random.Generator) -> np.ndarray:
    g = rng.normal(size=n)
    return np.clip(np.round(3 + 0.8 * g[:, None] + rng.normal(size=(n, q))), 1, 5)


def make_data(
    n: int = 1200,
    true: tuple[float, ...] = PLANTED,
    current: tuple[float, ...] = CURRENT,
    seed: int = 0,
    gamma: float = 0.35,
    posting: str = "P1",
) -> tuple[InterviewData, pd.DataFrame]:
    """Interviews scored 1–5 on correlated questions; hired ~ logistic(true weights)."""
    rng = np.random.default_rng(seed)
    q = len(current)
    X = correlated_scores(n, q, rng)
    eta = gamma * (X - 3) @ np.asarray(true) - 1.3
    hired = rng.random(n) < 1 / (1 + np.exp(-eta))
    perf = np.where(hired, gamma * (X - 3) @ np.asarray(true) + rng.normal(0, 1, n), np.nan)
    ids = [f"{posting}-iv{i:05d}" for i in range(n)]
    qids = [f"{posting}-q{j}" for j in range(q)]
    questions = pd.DataFrame(
        {
            "posting_id": posting,
            "question_id": qids,
            "rank": range(1, q + 1),
            "text": [f"Question <b>{j}</b>" for j in range(q)],
            "score_weight": list(current),
            "not_scored": False,
            "modality": "voice",
            "question_type": "scored",
            "updated_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(ids, q),
            "posting_id": posting,
            "question_id": np.tile(qids, n),
            "rank": np.tile(np.arange(1, q + 1), n),
            "score": X.ravel(),
            "score_weight": np.tile(current, n),
            "not_scored": False,
            "evaluation_summary": "",
        }
    )
    outcomes = pd.DataFrame(
        {
            "interview_id": pd.array(ids, dtype="str"),
            "hired": pd.array(hired, dtype="boolean"),
            "performance": pd.array(perf, dtype="Float64"),
        }
    )
    return InterviewData(questions=questions, scores=scores), outcomes


@pytest.fixture(scope="module")
def planted() -> tuple[InterviewData, pd.DataFrame, WeightSuggestion]:
    data, outcomes = make_data()
    return data, outcomes, suggest_weights(data, outcomes, n_boot=100)


def test_every_fit_runs_with_one_blas_thread_and_the_limit_is_lifted_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fits limit BLAS to one thread (tall, skinny matrices on shared cores) through the
    analyses' one threadpoolctl controller; the caller's own setting is back afterwards."""
    from threadpoolctl import ThreadpoolController

    from milo_analytics.calibrate import estimator

    controller = ThreadpoolController()  # (threadpool_info() rescans the libraries each call)

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in controller.info() if i["user_api"] == "blas"}

    before = blas_threads()
    if before <= {1}:
        pytest.skip("BLAS runs one thread here already: nothing to limit")
    seen: list[set[int]] = []
    real = estimator._fit_glm

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(estimator, "_fit_glm", recording)
    data, outcomes = make_data()
    suggest_weights(data, outcomes, n_boot=20)
    assert seen and all(s == {1} for s in seen), seen
    assert blas_threads() == before


# ----------------------------------------------------------------------------- estimator
def test_objective_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    for binary in (True, False):
        y = (rng.random(200) < 0.4).astype(float) if binary else rng.normal(size=200)
        beta0 = np.array([0.5, 0.1, 0.0, 1.0])
        theta = rng.normal(size=5)
        args = (X, y, binary, beta0, 0.7)
        err = optimize.check_grad(
            lambda t, a=args: penalised_objective(t, *a)[0],
            lambda t, a=args: penalised_objective(t, *a)[1],
            theta,
        )
        assert err < 1e-5


def test_estimator_follows_sklearn_conventions() -> None:
    est = WeightSuggester(baseline_weights=[1, 2], cv_folds=4, random_state=3)
    params = clone(est).get_params()
    assert params["baseline_weights"] == [1, 2] and params["cv_folds"] == 4
    with pytest.raises(DataError, match="baseline_weights"):
        WeightSuggester(baseline_weights=[1, 2, 3]).fit(np.ones((20, 2)), np.arange(20.0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API check
def test_estimator_passes_sklearns_estimator_checks() -> None:
    # scikit-learn's own API conventions (fit/predict input checks, NotFittedError,
    # n_features_in_, clone, pickling, ...); a small grid keeps it to a few seconds.
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.estimator_checks import check_estimator

    est = WeightSuggester(cv_folds=2, cv_repeats=1, lambdas=[0.01, 1.0])
    results = check_estimator(est, on_fail=None)
    failed = [
        (r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"
    ]
    assert not failed
    with pytest.raises(NotFittedError):
        WeightSuggester().predict(np.ones((3, 2)))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    est = WeightSuggester(cv_repeats=1).fit(X, X @ [1.0, 2.0] + rng.normal(size=60))
    assert not hasattr(est, "predict_proba")  # continuous target: no probabilities
    with pytest.raises(DataError, match="3 features"):
        est.predict(np.ones((2, 3)))


def test_unpenalised_fit_equals_sklearn_maximum_likelihood() -> None:
    # Reference: scikit-learn's unpenalised LogisticRegression / LinearRegression.
    rng = np.random.default_rng(1)
    X = correlated_scores(800, 3, rng)
    eta = 0.4 * (X - 3) @ [1.0, 2.0, 0.5] - 0.5
    y = (rng.random(800) < 1 / (1 + np.exp(-eta))).astype(float)
    est = WeightSuggester(baseline_weights=[1, 1, 1], lambdas=[0.0], cv_repeats=1).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_[0], rtol=1e-4)
    np.testing.assert_allclose(est.intercept_, ref.intercept_[0], rtol=1e-4)
    yc = X @ [1.0, 2.0, 0.5] + rng.normal(0, 1, 800)
    lin = WeightSuggester(baseline_weights=[1, 1, 1], lambdas=[0.0], cv_repeats=1).fit(X, yc)
    ref_lin = LinearRegression().fit(X, yc)
    np.testing.assert_allclose(lin.coef_, ref_lin.coef_, rtol=1e-5)
    np.testing.assert_allclose(lin.intercept_, ref_lin.intercept_, atol=1e-5)


def test_strong_penalty_returns_todays_weights_and_weights_stay_non_negative() -> None:
    rng = np.random.default_rng(2)
    X = correlated_scores(600, 3, rng)
    eta = 0.5 * (X - 3) @ [2.0, -1.0, 1.0]  # question 2 hurts: its weight must stop at 0
    y = (rng.random(600) < 1 / (1 + np.exp(-eta))).astype(float)
    base = np.array([1.0, 2.0, 3.0])
    strong = WeightSuggester(baseline_weights=base, lambdas=[1e6], cv_repeats=1).fit(X, y)
    np.testing.assert_allclose(strong.weights_, base, rtol=1e-3)
    free = WeightSuggester(baseline_weights=base, lambdas=[0.0], cv_repeats=1).fit(X, y)
    assert free.coef_[1] == 0.0 and (free.coef_ >= 0).all()
    assert free.weights_[0] > free.weights_[2]


def test_lambda_chosen_by_cv_and_path_reported() -> None:
    data, outcomes = make_data(n=900, seed=4)
    X = data.score_matrix().to_numpy()
    y = outcomes.set_index("interview_id")["hired"].astype(float).to_numpy()
    est = WeightSuggester(baseline_weights=CURRENT, cv_repeats=2).fit(X, y)
    cv = est.cv_results_
    assert est.lambda_ == cv.loc[cv["mean_loss"].idxmin(), "lambda"]
    assert list(est.lambda_path_.index) == sorted(est.lambda_path_.index)
    # the path runs from the free fit (small λ) to today's weights (large λ)
    big = est.lambda_path_.iloc[-1].to_numpy()
    assert abs(big[4] - CURRENT[4]) < abs(est.lambda_path_.iloc[0].to_numpy()[4] - CURRENT[4])
    one_se = WeightSuggester(baseline_weights=CURRENT, cv_repeats=2, lambda_rule="1se").fit(X, y)
    assert one_se.lambda_ >= est.lambda_


def test_nested_lambda_of_a_fold_never_sees_its_held_out_outcomes() -> None:
    """Issue 10 item 2: λ is chosen inside each outer training fold (nested CV). Rewriting the
    held-out outcomes of a fold changes its held-out losses but not its λ; with no signal the
    inner CV picks a larger λ (closer to today's weights) than with a strong one."""
    from milo_analytics.calibrate.estimator import _fold_job, _folds

    data, outcomes = make_data(n=900, seed=4)
    X = data.score_matrix().to_numpy()
    y = outcomes.set_index("interview_id")["hired"].astype(float).to_numpy()
    lambdas = np.geomspace(1e-4, 10.0, 21)
    base = np.asarray(CURRENT, float)
    tr, te = _folds(y, True, 5, 1, 0)[0]
    a = _fold_job(X, y, tr, te, base, lambdas, True, 3, 7)
    y2 = y.copy()
    y2[te] = np.random.default_rng(1).permutation(y[te])[::-1]  # same class counts, new labels
    b = _fold_job(X, y2, tr, te, base, lambdas, True, 3, 7)
    assert not np.allclose(a["losses"], b["losses"])
    assert a["inner_best"] == b["inner_best"]
    assert a["inner_best"] in set(range(0, 21, 2))  # the coarser inner grid
    assert _fold_job(X, y, tr, te, base, lambdas, True)["inner_best"] is None  # not asked
    # no signal: outcome shuffled against the scores -> strong shrinkage toward today's
    y0 = np.random.default_rng(2).permutation(y)
    tr0, te0 = _folds(y0, True, 5, 1, 0)[0]
    null = _fold_job(X, y0, tr0, te0, base, lambdas, True, 3, 7)
    assert lambdas[null["inner_best"]] > lambdas[a["inner_best"]]


# ----------------------------------------------------------------------------- integer search
def test_integer_search_keeps_questions_that_are_as_weighted() -> None:
    rng = np.random.default_rng(0)
    X = correlated_scores(1500, 4, rng)
    eta = 0.35 * (X - 3) @ [2.0, 2.0, 2.0, 6.0] - 1.0
    y = (rng.random(1500) < 1 / (1 + np.exp(-eta))).astype(float)
    # continuous suggestion on a different scale and slightly noisy: ratios ≈ 1 : 1 : 1 : 3
    choice = integer_weights(
        np.array([0.71, 0.66, 0.69, 2.05]), np.array([2, 2, 2, 2.0]), X, y, True
    )
    assert choice.weights.tolist() == [2, 2, 2, 6]
    assert choice.changes == 1 and choice.accepted


def test_integer_search_never_keeps_a_non_integer_weight() -> None:
    rng = np.random.default_rng(5)
    X = correlated_scores(1000, 3, rng)
    y = (rng.random(1000) < 1 / (1 + np.exp(-0.4 * (X - 3) @ [2, 2, 1.5]))).astype(float)
    choice = integer_weights(np.array([2.0, 2.0, 1.5]), np.array([2.0, 2.0, 1.5]), X, y, True)
    w = choice.weights
    assert w.dtype.kind == "i" and ((w >= 1) & (w <= 10)).all()
    assert choice.changes >= 1  # 1.5 has no integer equal at today's scale


def test_integer_search_returns_current_when_suggestion_equals_it() -> None:
    rng = np.random.default_rng(6)
    X = correlated_scores(800, 4, rng)
    y = (rng.random(800) < 1 / (1 + np.exp(-0.3 * (X - 3) @ [3, 1, 4, 1]))).astype(float)
    choice = integer_weights(np.array([3.0, 1, 4, 1]), np.array([3.0, 1, 4, 1]), X, y, True)
    assert choice.weights.tolist() == [3, 1, 4, 1] and choice.changes == 0


def test_weighted_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    s = rng.integers(0, 20, 300).astype(float)
    y = rng.random(300) < 0.3
    w = rng.integers(0, 4, 300).astype(float)
    u, inv = np.unique(s, return_inverse=True)
    assert _weighted_auc(inv, len(u), y, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w))


def test_thorndike_case_ii_formula() -> None:
    # Thorndike (1949) Case II, as in METHODS.md §5: R = (r·u)/√(1 − r² + r²u²), u = S/s.
    rng = np.random.default_rng(8)
    x_all = rng.normal(0, 2.0, 5000)
    x = x_all[:400] / 2  # restricted SD about half the applicant SD
    y = x + rng.normal(0, 1, 400)
    out = _thorndike(x[:, None], y, x_all[:, None], ["q"]).iloc[0]
    r, u = np.corrcoef(x, y)[0, 1], x_all.std(ddof=1) / x.std(ddof=1)
    assert out["r"] == pytest.approx(r)
    assert out["r_corrected"] == pytest.approx(r * u / math.sqrt(1 - r**2 + r**2 * u**2))
    assert out["r_corrected"] > out["r"]


# ----------------------------------------------------------------------------- suggest_weights
def test_planted_weights_are_recovered_and_beat_current_and_unit(planted) -> None:
    _, _, s = planted
    t = s.table.set_index("question_id")
    assert t["suggested_weight"].idxmax() == "P1-q4"
    ratio = t["suggested_weight"] / t["current_weight"]
    assert ratio.idxmin() == "P1-q1"
    assert set(s.changes["question_id"]) == {"P1-q1", "P1-q4"}
    assert (t.loc[["P1-q0", "P1-q2", "P1-q3"], "suggested_integer"] == 2).all()
    assert s.recommendation == "change"
    assert s.differences.loc["suggested_integer - current", "ci_low"] > 0
    assert s.differences.loc["suggested_integer - unit", "ci_low"] > 0
    assert list(s.comparison.index) == ["current", "unit", "suggested", "suggested_integer"]
    assert list(s.comparison.columns) == ["auc", "ci_low", "ci_high"]
    assert (t["ci_low"] <= t["suggested_weight"]).all() and (
        t["suggested_weight"] <= t["ci_high"]
    ).all()
    assert t["importance"].sum() == pytest.approx(100)
    assert HIRED_CAVEAT in s.notes and PAST_SCORES_NOTE in s.notes
    assert s.rounding["consistent"] and s.rounding["rounding_loss"] < 0.05


def test_weights_already_right_means_keep() -> None:
    data, outcomes = make_data(true=(2, 3, 2, 2, 1), current=(2, 3, 2, 2, 1), seed=1)
    s = suggest_weights(data, outcomes, n_boot=100)
    assert s.recommendation == "keep"
    assert s.changes.empty
    assert s.table["suggested_integer"].tolist() == [2, 3, 2, 2, 1]


def test_sample_size_gate_reports_the_counts() -> None:
    data, outcomes = make_data(n=90, seed=2)
    n_hired = int(outcomes["hired"].sum())
    with pytest.raises(InsufficientDataError) as exc:
        suggest_weights(data, outcomes)
    err = exc.value
    events = min(n_hired, 90 - n_hired)
    # 5 questions × 10 events (Peduzzi et al. 1996) and the default minimum of 100 outcomes
    assert err.shortfalls == {"events": (events, 50), "n": (90, 100)}
    assert f"events: have {events:,}, need 50" in str(err) and "n: have 90, need 100" in str(err)
    assert "Peduzzi" in str(err) and "relative_weights" in str(err)
    with pytest.raises(InsufficientDataError) as exc2:
        suggest_weights(data, outcomes, events_per_question=1, min_n=500)
    assert exc2.value.shortfalls == {"n": (90, 500)}


def test_outcomes_without_key_column_lists_the_columns(tmp_path) -> None:
    data, _ = make_data(n=200)
    path = tmp_path / "ats.csv"
    pd.DataFrame({"Full name": ["A", "B"], "Result": ["Hired", "Rejected"]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError) as exc:
        suggest_weights(data, path)
    msg = str(exc.value)
    assert "Full name" in msg and "Result" in msg


def test_bad_target_and_several_postings_are_clear_errors() -> None:
    d1, o1 = make_data(n=300, posting="P1")
    d2, o2 = make_data(n=300, posting="P2", seed=3)
    both = InterviewData(
        questions=pd.concat([d1.questions, d2.questions]),
        scores=pd.concat([d1.scores, d2.scores]),
    )
    with pytest.raises(DataError, match=r"several postings \['P1', 'P2'\]; pass posting_id="):
        suggest_weights(both, pd.concat([o1, o2]))
    with pytest.raises(DataError, match="target='retention' is not a column"):
        suggest_weights(d1, o1, target="retention")


def test_performance_target_uses_r_and_range_restriction(planted) -> None:
    data, outcomes, _ = planted
    s = suggest_weights(data, outcomes, target="performance", n_boot=50, events_per_question=5)
    assert s.target_type == "continuous" and s.metric == "r"
    assert list(s.comparison.columns) == ["r", "ci_low", "ci_high"]
    assert HIRED_CAVEAT not in s.notes
    rr = s.range_restriction
    assert rr is not None and list(rr["question_id"]) == list(s.table["question_id"])
    assert s.n == int(outcomes["performance"].notna().sum())


def test_fairness_compares_current_and_suggested(planted) -> None:
    data, outcomes, _ = planted
    ids = outcomes["interview_id"]
    rng = np.random.default_rng(9)
    demo = pd.DataFrame(
        {
            "interview_id": ids,
            "sex": rng.choice(["Male", "Female"], len(ids)),
            "race_ethnicity": rng.choice(["White", "Black or African American", "Asian"], len(ids)),
        }
    )
    s = suggest_weights(data, outcomes, demographics=demo, n_boot=20, cv_repeats=1)
    f = s.fairness
    assert set(f["dimension"]) == {"sex", "race_ethnicity", "intersection"}
    assert {"ratio_current", "ratio_suggested", "flagged_suggested"} <= set(f.columns)
    assert f.loc[f["dimension"] == "sex", "n"].sum() == len(ids)
    cut = suggest_weights(data, outcomes, demographics=demo, cut=60.0, n_boot=20, cv_repeats=1)
    assert any("≥ 60" in n for n in cut.notes)


def test_baseline_records_what_the_suggestion_was_computed_against(planted) -> None:
    data, outcomes, s = planted
    b = s.baseline
    assert b["posting_id"] == "P1" and b["question_ids"] == [f"P1-q{j}" for j in range(5)]
    assert b["weights"] == dict(zip(b["question_ids"], CURRENT, strict=True))
    assert b["updated_at"]["P1-q0"].startswith("2026-01-01")
    again = suggest_weights(data, outcomes, n_boot=10, cv_repeats=1)
    assert again.baseline["data_hash"] == b["data_hash"]
    changed = outcomes.copy()
    changed.loc[0, "hired"] = not bool(changed.loc[0, "hired"])
    assert (
        suggest_weights(data, changed, n_boot=10, cv_repeats=1).baseline["data_hash"]
        != b["data_hash"]
    )


def test_json_round_trip(planted, tmp_path) -> None:
    _, _, s = planted
    path = tmp_path / "suggestion.json"
    s.to_json(path)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    back = WeightSuggestion.from_json(path)
    pd.testing.assert_frame_equal(back.table, s.table)
    pd.testing.assert_frame_equal(back.comparison, s.comparison)
    pd.testing.assert_frame_equal(back.differences, s.differences)
    assert back.baseline == json.loads(json.dumps(s.baseline))
    assert back.recommendation == s.recommendation and back.notes == s.notes
    assert back.lambda_ == s.lambda_ and back.rounding == s.rounding
    with pytest.raises(DataError, match="not a WeightSuggestion"):
        WeightSuggestion.from_json('{"a": 1}')


def test_html_is_escaped_and_plot_has_three_panels(planted) -> None:
    _, _, s = planted
    page = s._repr_html_()
    assert "<b>0</b>" not in page and "&lt;b&gt;0&lt;/b&gt;" in page
    assert "Recommendation: change" in page
    fig = s.plot()
    assert isinstance(fig, go.Figure)
    assert {"xaxis", "xaxis2", "xaxis3"} <= set(fig.layout.to_plotly_json())
    names = {t.name for t in fig.data}
    assert {"current", "suggested (continuous)", "suggested integer"} <= names
    # the λ-path lines carry a legend naming each question by rank and (escaped) text
    path = [t for t in fig.data if t.xaxis == "x2"]
    assert len(path) == len(s.table) and all(t.showlegend for t in path)
    assert {t.legend for t in path} == {"legend2"}
    assert [t.name for t in path] == [
        f"Q{j + 1}: Question &lt;b&gt;{j}&lt;/b&gt;" for j in range(5)
    ]
    assert s.table["rank"].tolist() == [1, 2, 3, 4, 5]


def test_projected_newton_fit_reaches_the_lbfgsb_optimum_or_better() -> None:
    """The GLM fit takes projected Newton steps and falls back to scipy's L-BFGS-B (the solver
    it replaced for speed) when they do not converge: on random problems of every kind it uses
    — binary and continuous, with and without the non-negativity bound, λ from 0 to 100,
    badly scaled columns that saturate the logistic start — the objective it reaches is never
    above L-BFGS-B's, and the bound holds."""
    from milo_analytics.calibrate.estimator import _fit_glm, _lbfgsb, penalised_objective

    rng = np.random.default_rng(1)
    for trial in range(60):
        n, q = int(rng.integers(30, 800)), int(rng.integers(1, 12))
        X = rng.normal(size=(n, q)) * rng.uniform(0.2, 20)
        X -= X.mean(axis=0)
        binary = bool(trial % 3)
        eta = X @ (rng.normal(size=q) * rng.uniform(0, 1) / X.std(axis=0)) + rng.normal()
        if binary:
            y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
        else:
            y = 10 * eta + rng.normal(size=n) * rng.uniform(0.1, 30)
        b0 = np.abs(rng.normal(size=q)) if trial % 2 else np.zeros(q)
        lam, nonneg = [0, 1e-4, 1e-2, 1, 100][trial % 5], trial % 7 != 0
        beta, icpt, _ = _fit_glm(X, y, binary, beta0=b0, lam=lam, nonneg=nonneg)
        if nonneg:
            assert (beta >= 0).all()
        start = np.concatenate([[0.0], np.maximum(b0, 0.0)])
        lower = np.r_[-np.inf, np.full(q, 0.0 if nonneg else -np.inf)]
        ref = _lbfgsb(X, y, binary, b0, lam, start, lower)
        ours = penalised_objective(np.r_[icpt, beta], X, y, binary, b0, lam)[0]
        theirs = penalised_objective(ref, X, y, binary, b0, lam)[0]
        assert ours <= theirs + 1e-12 * max(1.0, abs(theirs)), (trial, ours, theirs)
