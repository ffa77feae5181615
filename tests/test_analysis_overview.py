"""analysis.overview: status counts, score distributions, posting facts and outcome validity,
each checked against a direct computation (numpy / pandas / scipy) on synthetic postings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from milo_analytics.analysis import (
    outcome_validity,
    posting_overview,
    score_distribution,
    status_funnel,
)
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.analysis.overview import STATUS_ORDER, posting_labels
from milo_analytics.errors import DataError, InsufficientDataError
from milo_analytics.frames import InterviewData


def two_postings(seed: int = 0) -> tuple[InterviewData, pd.Series]:
    """Posting PA on a 1–10 scale (300 interviews), PB on 1–5 (500), titled; ability by id."""
    a, ta = synthetic_interview_data(300, 4, scale=10, posting_id="PA", seed=seed)
    b, tb = synthetic_interview_data(500, 3, scale=5, posting_id="PB", seed=seed + 1)
    frames = {
        f.name: pd.concat([getattr(a, f.name), getattr(b, f.name)], ignore_index=True)
        for f in dataclasses.fields(InterviewData)
        if f.name not in ("postings", "score_scale")
    }
    postings = pd.DataFrame(
        {
            "posting_id": ["PA", "PB"],
            "title": ["Retail <Sales>", "Support"],
            "score_scale": pd.array([10, 5], dtype="Int64"),
        }
    )
    data = InterviewData(**frames, postings=postings)
    rng = np.random.default_rng(seed)
    status = np.array([*STATUS_ORDER, "mystery"], dtype=object)[
        rng.integers(0, len(STATUS_ORDER) + 1, len(data.candidates))
    ]
    cands = data.candidates.copy()
    cands["status"] = pd.array(status, dtype="str")
    cands.loc[cands.index[:7], "status"] = pd.NA
    data = dataclasses.replace(data, candidates=cands)
    ability = pd.Series(
        np.concatenate([np.asarray(ta["ability"]), np.asarray(tb["ability"])]),
        index=data.interviews["interview_id"].to_numpy(),
    )
    return data, ability


@pytest.fixture(scope="module")
def data_and_ability() -> tuple[InterviewData, pd.Series]:
    return two_postings()


@pytest.fixture(scope="module")
def outcomes(data_and_ability) -> pd.DataFrame:
    data, ability = data_and_ability
    rng = np.random.default_rng(5)
    ids = data.interviews["interview_id"].to_numpy()
    hired = ability.to_numpy() + rng.normal(0, 1, len(ids)) > 0.8
    perf = pd.array(np.round(3 + ability.to_numpy() + rng.normal(0, 1, len(ids)), 1))
    out = pd.DataFrame(
        {"interview_id": ids, "hired": pd.array(hired, dtype="boolean"), "performance": perf}
    )
    out.loc[out.index[::9], "hired"] = pd.NA  # some unknown outcomes
    out.loc[out.index[::2], "performance"] = pd.NA
    return out


# ----------------------------------------------------------------------------- postings
def test_posting_overview_has_each_postings_scale_and_title(data_and_ability) -> None:
    data, _ = data_and_ability
    t = posting_overview(data).table.set_index("posting_id")
    assert t.loc["PA", "score_scale"] == 10 and t.loc["PB", "score_scale"] == 5
    assert t.loc["PA", "title"] == "Retail <Sales>"
    c = data.candidates
    assert t.loc["PB", "candidates"] == int((c["posting_id"] == "PB").sum())
    assert t.loc["PA", "interviews"] == int((data.interviews["posting_id"] == "PA").sum())
    assert t.loc["PA", "scored_questions"] == 4 and t.loc["PB", "scored_questions"] == 3


def test_posting_labels_fall_back_to_the_id() -> None:
    a, _ = synthetic_interview_data(20, 2, posting_id="PX", seed=0)
    assert posting_labels(a) == {"PX": "PX"}


# ----------------------------------------------------------------------------- statuses
def test_status_funnel_counts_match_value_counts(data_and_ability) -> None:
    data, _ = data_and_ability
    res = status_funnel(data)
    t = res.table
    c = data.candidates
    for pid in ("PA", "PB"):
        direct = c.loc[c["posting_id"] == pid, "status"].fillna("unknown").value_counts()
        got = t[t["posting_id"] == pid].set_index("status")["n"]
        assert got.sort_index().to_dict() == direct.sort_index().to_dict()
        assert t.loc[t["posting_id"] == pid, "share"].sum() == pytest.approx(1.0)
    order = list(dict.fromkeys(t["status"]))
    known = [s for s in STATUS_ORDER if s in order]
    assert order[: len(known)] == known  # interview order first
    assert order[len(known) :] == sorted(order[len(known) :])  # then unknown ones
    assert "unknown" in order and "mystery" in order
    wide = res.wide()
    assert wide["total"].sum() == len(c)
    assert "PA · Retail <Sales>" in wide.columns
    assert "&lt;Sales&gt;" in res._repr_html_()
    fig = res.plot()
    assert len(fig.data) == 2 and fig.layout.xaxis.tickformat == ".0%"


def test_status_funnel_of_no_candidates_is_empty() -> None:
    assert status_funnel(InterviewData()).table.empty


# ----------------------------------------------------------------------------- distributions
@pytest.mark.parametrize(("column", "hi"), [("score", 100.0), ("speech_score", 5.0)])
def test_score_distribution_matches_numpy_histogram(data_and_ability, column, hi) -> None:
    data, _ = data_and_ability
    res = score_distribution(data, column, bins=8)
    edges = np.linspace(0, hi, 9)
    iv = data.interviews
    for pid in ("PA", "PB"):
        v = iv.loc[iv["posting_id"] == pid, column].dropna().to_numpy(float)
        counts, _ = np.histogram(v, bins=edges)
        got = res.table[res.table["posting_id"] == pid]
        assert got["count"].tolist() == counts.tolist()
        assert got["share"].to_numpy() == pytest.approx(counts / len(v))
        s = res.summary.set_index("posting_id").loc[pid]
        assert s["n"] == len(v)
        assert s["mean"] == pytest.approx(v.mean())
        assert s["sd"] == pytest.approx(np.std(v, ddof=1))
        assert s["median"] == pytest.approx(np.median(v))
    fig = res.plot()
    assert fig.layout.yaxis.tickformat == ".0%"
    assert {t.name for t in fig.data} == {"PA · Retail <Sales>", "PB · Support"}


def test_score_distribution_edges_and_clipping() -> None:
    data, _ = synthetic_interview_data(50, 2, seed=3)
    iv = data.interviews.copy()
    iv.loc[0, "score"] = 120.0  # out of range: counted in the last bin
    iv.loc[1, "score"] = -5.0
    data = dataclasses.replace(data, interviews=iv)
    res = score_distribution(data, bins=[0, 50, 100])
    assert res.table["count"].sum() == iv["score"].notna().sum()
    v = np.clip(iv["score"].dropna().to_numpy(float), 0, 100)
    assert res.table["count"].tolist() == np.histogram(v, bins=[0, 50, 100])[0].tolist()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"column": "match_score"}, "score' or 'speech_score"),
        ({"bins": 0}, "at least one bin"),
        ({"bins": [10, 5]}, "increasing edges"),
    ],
)
def test_score_distribution_rejects_bad_arguments(kwargs, match) -> None:
    data, _ = synthetic_interview_data(20, 2, seed=0)
    with pytest.raises(DataError, match=match):
        score_distribution(data, **kwargs)


# ----------------------------------------------------------------------------- validity
def test_outcome_validity_matches_scipy(data_and_ability, outcomes) -> None:
    data, _ = data_and_ability
    before = outcomes.copy()
    res = outcome_validity(data, outcomes, target="hired")
    pd.testing.assert_frame_equal(outcomes, before)  # input not mutated
    t = res.table
    assert set(t["posting_id"]) == {"PA", "PB"}
    assert len(t[t["posting_id"] == "PA"]) == 2 + 4  # overall, speech, four questions
    iv = data.interviews.set_index("interview_id")
    y = outcomes.set_index("interview_id")["hired"].astype("Float64")
    for pid in ("PA", "PB"):
        ids = iv.index[iv["posting_id"] == pid]
        pred = {"score": iv.loc[ids, "score"], "speech_score": iv.loc[ids, "speech_score"]}
        wide = data.score_matrix(pid)
        pred.update({q: wide[q].reindex(ids) for q in wide.columns})
        for name, x in pred.items():
            yy = y.reindex(ids)
            ok = x.notna().to_numpy() & yy.notna().to_numpy()
            xv, yv = x.to_numpy(float)[ok], yy.to_numpy(float)[ok]
            r, p = stats.pearsonr(xv, yv)
            row = t[(t["posting_id"] == pid) & (t["predictor"] == name)].iloc[0]
            assert row["n"] == ok.sum()
            assert row["r"] == pytest.approx(r, abs=1e-10)
            assert row["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
            z, se = np.arctanh(r), 1 / np.sqrt(ok.sum() - 3)  # Fisher z interval
            assert row["ci_low"] == pytest.approx(np.tanh(z - 1.959964 * se), abs=1e-5)
            assert row["ci_high"] == pytest.approx(np.tanh(z + 1.959964 * se), abs=1e-5)
            assert bool(row["significant"]) == (p < 0.05)


def test_outcome_validity_hire_rate_by_quintile(data_and_ability, outcomes) -> None:
    data, _ = data_and_ability
    bands = outcome_validity(data, outcomes).bands
    iv = data.interviews.set_index("interview_id")
    y = outcomes.set_index("interview_id")["hired"]
    for pid in ("PA", "PB"):
        s = iv.loc[iv["posting_id"] == pid, "score"]
        yy = y.reindex(s.index)
        ok = s.notna() & yy.notna()
        s, yy = s[ok], yy[ok].astype(float)
        q = pd.qcut(s.rank(method="first"), 5, labels=False)  # equal fifths by rank
        direct = yy.groupby(q).mean().to_numpy()
        got = bands[bands["posting_id"] == pid]
        assert got["band"].tolist() == ["Q1", "Q2", "Q3", "Q4", "Q5"]
        assert got["rate"].to_numpy() == pytest.approx(direct)
        assert got["n"].sum() == len(s) and got["n"].max() - got["n"].min() <= 1
        assert got["score_max"].is_monotonic_increasing
    assert (
        bands.loc[bands["band"] == "Q5", "rate"].min()
        > bands.loc[bands["band"] == "Q1", "rate"].max()
    )


def test_outcome_validity_continuous_outcome_has_no_bands(data_and_ability, outcomes) -> None:
    data, _ = data_and_ability
    res = outcome_validity(data, outcomes, target="performance", questions=False)
    assert res.bands.empty
    assert set(res.table["predictor"]) == {"score", "speech_score"}
    assert "Pearson r" in res.notes[0]
    fig = res.plot("r")
    assert fig.layout.xaxis.range == (-1, 1)
    with pytest.raises(DataError, match="bands' or 'r'"):
        res.plot("pie")


def test_outcome_validity_errors_name_the_fix(data_and_ability, outcomes) -> None:
    data, _ = data_and_ability
    with pytest.raises(DataError, match="no such column"):
        outcome_validity(data, outcomes, target="retention")
    with pytest.raises(DataError, match="interview_id"):
        outcome_validity(data, outcomes.drop(columns="interview_id"))
    stranger = outcomes.assign(interview_id="nobody-" + outcomes["interview_id"])
    with pytest.raises(InsufficientDataError, match="join report"):
        outcome_validity(data, stranger)
