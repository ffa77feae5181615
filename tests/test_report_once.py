"""Each analysis runs once per posting per report, and the bootstrap analyses share one
resample set per posting (issue 15) — checked by counting calls, not by timing.

Also the pieces the report's speed rests on: the Context memo, the report's data view that
pivots each score matrix once, ``Resamples.for_data(by="posting_id")``, and the fast
``InterviewData.filter`` (same frames as pandas' ``isin``).
"""

from __future__ import annotations

import functools
from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import milo_analytics.analysis as analysis
from milo_analytics.analysis import Resamples, resample
from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData
from milo_analytics.report import build_report
from milo_analytics.report.context import Context, ReportData

STAMP = "2026-01-01 00:00 UTC"
POSTINGS = ("PA", "PB")


def two_postings(n: int = 160, seed: int = 5) -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    """Two postings of ``n`` completed interviews each (4 questions, 1–5), with outcomes
    (hired, performance) and demographics."""
    rng = np.random.default_rng(seed)
    frames: dict[str, list[pd.DataFrame]] = {k: [] for k in ("q", "c", "i", "s", "o", "d")}
    for p, pid in enumerate(POSTINGS):
        ids = [f"{pid}-{i:04d}" for i in range(n)]
        qids = [f"{pid}q{j}" for j in range(1, 5)]
        w = np.array([1.0, 2.0, 1.5, 1.0]) + p
        latent = rng.normal(size=(n, 1))
        S = np.clip(np.round(3 + latent + rng.normal(scale=0.9, size=(n, 4))), 1, 5)
        score = np.round(100 * (S @ w) / (w.sum() * 5), 1)
        created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
            rng.integers(0, 90 * 86400, n), unit="s"
        )
        frames["q"].append(
            pd.DataFrame(
                {
                    "posting_id": pid,
                    "question_id": qids,
                    "rank": range(1, 5),
                    "text": [f"Question {j} of {pid}" for j in range(1, 5)],
                    "score_weight": w,
                    "not_scored": False,
                }
            )
        )
        frames["c"].append(
            pd.DataFrame(
                {
                    "interview_id": ids,
                    "posting_id": pid,
                    "candidate_id": ids,
                    "name": [f"Name{i} Family{p}" for i in range(n)],
                    "status": "completed",
                    "created_at": created,
                }
            )
        )
        frames["i"].append(
            pd.DataFrame(
                {
                    "interview_id": ids,
                    "posting_id": pid,
                    "status": "completed",
                    "score": score,
                    "speech_score": np.round(
                        np.clip(3 + 0.4 * latent[:, 0] + rng.normal(size=n) * 0.7, 0, 5), 1
                    ),
                    "interviewed_at": created,
                }
            )
        )
        frames["s"].append(
            pd.DataFrame(
                {
                    "interview_id": np.repeat(ids, 4),
                    "posting_id": pid,
                    "question_id": np.tile(qids, n),
                    "rank": np.tile(np.arange(1, 5), n),
                    "score": S.ravel(),
                    "score_weight": np.tile(w, n),
                    "not_scored": False,
                    "evaluation_summary": "A concrete example.",
                }
            )
        )
        hired = rng.random(n) < 1 / (1 + np.exp(-(latent[:, 0] - 0.5)))
        frames["o"].append(
            pd.DataFrame(
                {
                    "interview_id": ids,
                    "hired": pd.array(hired, dtype="boolean"),
                    "performance": pd.array(
                        np.where(hired, np.round(3 + latent[:, 0], 1), np.nan), dtype="Float64"
                    ),
                }
            )
        )
        frames["d"].append(
            pd.DataFrame(
                {
                    "interview_id": ids,
                    "sex": rng.choice(["Female", "Male"], size=n),
                    "race_ethnicity": rng.choice(
                        ["White", "Asian", "Black or African American"], size=n
                    ),
                }
            )
        )
    cat = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
    data = InterviewData(
        questions=cat["q"], candidates=cat["c"], interviews=cat["i"], scores=cat["s"]
    )
    return data, cat["o"], cat["d"]


def suggestion_for(pid: str) -> Any:
    """A stand-in WeightSuggestion: what the suggestion section and the what-if read."""
    table = pd.DataFrame(
        {
            "question_id": [f"{pid}q{j}" for j in range(1, 5)],
            "current_weight": [1.0, 2.0, 1.5, 1.0],
            "suggested_integer": [2.0, 2.0, 1.0, 1.0],
        }
    )
    return SimpleNamespace(table=table, baseline={"posting_id": pid}, recommendation="change")


@pytest.fixture(scope="module")
def inputs() -> tuple[InterviewData, pd.DataFrame, pd.DataFrame]:
    return two_postings()


@pytest.fixture(scope="module")
def counted(inputs) -> dict[str, Any]:
    """One report with every input, every public analysis counted (name, data, arguments)."""
    data, outcomes, demographics = inputs
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    draws: list[int] = []
    mp = pytest.MonkeyPatch()
    for name in analysis.__all__:
        fn = getattr(analysis, name)
        if name == "Resamples" or not callable(fn):
            continue

        def spy(*args: Any, _fn: Any = fn, _name: str = name, **kwargs: Any) -> Any:
            calls.append((_name, args, kwargs))
            return _fn(*args, **kwargs)

        mp.setattr(analysis, name, functools.wraps(fn)(spy))
    real_draw = resample.draw_counts

    def draw(n: int, n_boot: int, seed: int) -> np.ndarray:
        draws.append(n)
        return real_draw(n, n_boot, seed)

    mp.setattr(resample, "draw_counts", draw)
    try:
        report = build_report(
            data,
            outcomes=outcomes,
            demographics=demographics,
            suggestion=suggestion_for("PB"),
            generated_at=STAMP,
            strict=True,
        )
    finally:
        mp.undo()
    return {"report": report, "calls": calls, "draws": draws}


def _posting_of(args: tuple[Any, ...]) -> str:
    """ "all" for the whole data, else the one posting the data holds."""
    data = args[0]
    pids = data.posting_ids
    return pids[0] if len(pids) == 1 else "all"


def test_each_analysis_runs_once_per_posting_per_report(counted) -> None:
    assert counted["report"].problems == []
    seen = Counter(
        (name, _posting_of(args), tuple(a for a in args[1:] if isinstance(a, str)),
         kwargs.get("target"))
        for name, args, kwargs in counted["calls"]
    )  # fmt: skip
    assert max(seen.values()) == 1, [k for k, v in seen.items() if v > 1]
    per_name = Counter(name for name, *_ in counted["calls"])
    # whole-data analyses (their tables hold every posting): once each
    for name in ("posting_overview", "status_funnel", "item_statistics", "speech_summary",
                 "question_importance", "bias_audit"):  # fmt: skip
        assert per_name[name] == 1, name
    # one call per distinct question: per score column, per outcome
    assert per_name["score_distribution"] == 2 and per_name["outcome_validity"] == 2
    # per-posting analyses: exactly once for each posting, on that posting's data
    for name in ("drift", "effective_weights", "reconcile_scores"):
        assert sorted(_posting_of(a) for n, a, _ in counted["calls"] if n == name) == list(
            POSTINGS
        ), name
    assert [_posting_of(a) for n, a, _ in counted["calls"] if n == "rescore"] == ["PB"]
    # nothing else of the public analyses runs behind the report's back
    assert set(per_name) == {
        "posting_overview", "status_funnel", "score_distribution", "drift",
        "effective_weights", "reconcile_scores", "item_statistics", "speech_summary",
        "outcome_validity", "question_importance", "bias_audit", "rescore",
    }  # fmt: skip


def test_bootstrap_analyses_share_one_resample_set_drawn_once_per_posting(counted) -> None:
    boot = {
        name: kwargs.get("bootstrap")
        for name, _, kwargs in counted["calls"]
        if name in ("speech_summary", "question_importance")
    }
    rs = boot["speech_summary"]
    assert isinstance(rs, Resamples) and boot["question_importance"] is rs
    assert rs.n_boot == 200 and rs.seed == 0 and rs.strata == (160, 160)
    # drawn once, one block per posting; nobody drew resamples of their own
    assert counted["draws"] == [160, 160]
    report = counted["report"]
    inc = report.results["speech"].incremental
    assert set(inc["posting_id"]) == set(POSTINGS) and (inc["n_boot"] == 200).all()
    imp = report.results["importance"].table
    assert set(imp["rw_interval"]) == {"bootstrap"} and set(imp["posting_id"]) == set(POSTINGS)


def test_report_results_are_the_objects_the_sections_used(counted) -> None:
    returned = {}
    for name, args, kwargs in counted["calls"]:
        returned.setdefault(name, []).append((args, kwargs))
    results = counted["report"].results
    assert set(results["drift"]) == set(POSTINGS) and set(results["effective_weights"]) == set(
        POSTINGS
    )
    assert results["audit"] is not None and results["speech"] is not None
    # the section's figures and the header were built from these (no second audit ran)
    assert len(returned["bias_audit"]) == 1


def test_a_postings_intervals_do_not_depend_on_the_other_postings(inputs, counted) -> None:
    """One resample set per posting: PA's bootstrap intervals in the two-posting report are
    those of a report of PA alone."""
    data, outcomes, demographics = inputs
    alone = build_report(
        data.filter(posting_id="PA"), outcomes=outcomes, demographics=demographics,
        generated_at=STAMP, strict=True,
    )  # fmt: skip
    cols = ["base", "full", "delta", "ci_low", "ci_high"]

    def inc(r: Any) -> pd.DataFrame:
        t = r.results["speech"].incremental
        return t.loc[t["posting_id"] == "PA", cols].reset_index(drop=True)

    pd.testing.assert_frame_equal(inc(alone), inc(counted["report"]))
    imp = ["question_id", "rw_ci_low", "rw_ci_high", "lmg_ci_low", "lmg_ci_high"]

    def importance(r: Any) -> pd.DataFrame:
        t = r.results["importance"].table
        return t.loc[t["posting_id"] == "PA", imp].reset_index(drop=True)

    pd.testing.assert_frame_equal(importance(alone), importance(counted["report"]))


def test_per_posting_resamples_are_each_postings_own_set(inputs) -> None:
    data, _, _ = inputs
    rs = Resamples.for_data(data, n_boot=25, seed=3, by="posting_id")
    assert rs.strata == (160, 160) and "2 postings" in repr(rs)
    for pid in POSTINGS:
        own = Resamples.for_data(data.filter(posting_id=pid), n_boot=25, seed=3)
        block = rs.take(labels=own.ids, func="test")
        assert (block == own.counts).all()
        assert (block.sum(axis=1) == own.n).all()  # each resample holds the posting's n
    with pytest.raises(DataError, match=r"by='posting_id'"):
        Resamples.for_data(data, by="question_id")


# --------------------------------------------------------------------------- the memo
def _context(data: InterviewData) -> Context:
    return Context(
        data, outcomes=None, demographics=None, suggestion=None, redact_pii=True, strict=False
    )


def test_compute_remembers_results_and_failures(monkeypatch: pytest.MonkeyPatch, inputs) -> None:
    from milo_analytics.report import context

    runs: Counter[str] = Counter()

    def fake(name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            runs[name] += 1
            if name == "drift":
                raise DataError("no timed interviews")
            return object()

        return fn

    ctx = _context(inputs[0])
    monkeypatch.setattr(context, "analysis_function", fake)
    a = ctx.compute("status_funnel", ctx.data)
    assert ctx.compute("status_funnel", ctx.data) is a  # the same object, computed once
    assert ctx.compute("score_distribution", ctx.data, "score") is not ctx.compute(
        "score_distribution", ctx.data, "speech_score"
    )  # other arguments, another result
    sub = ctx.posting_data("PA")
    assert ctx.posting_data("PA") is sub and ctx.compute("status_funnel", sub) is not a
    for _ in range(2):
        with pytest.raises(DataError, match="no timed interviews"):
            ctx.compute("drift", sub)
    assert runs == {"status_funnel": 2, "score_distribution": 2, "drift": 1}


def test_report_data_pivots_once_and_hands_out_copies(
    monkeypatch: pytest.MonkeyPatch, inputs
) -> None:
    pivots: list[Any] = []
    real = InterviewData.score_matrix

    def counting(self: InterviewData, *args: Any, **kwargs: Any) -> pd.DataFrame:
        pivots.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(InterviewData, "score_matrix", counting)
    data = ReportData.of(inputs[0])
    assert isinstance(data, InterviewData) and data.scores.equals(inputs[0].scores)
    first = data.score_matrix("PA")
    first.iloc[0, 0] = -99.0  # a caller changing its copy
    again = data.score_matrix("PA")
    assert again.iloc[0, 0] != -99.0 and again.equals(real(inputs[0], "PA"))
    data.score_matrix("PB")
    assert pivots == [("PA",), ("PB",)]
    sub = data.filter(posting_id="PA")
    assert isinstance(sub, ReportData) and sub.posting_ids == ["PA"]
    assert ReportData.of(data) is data


def test_identical_inputs_give_identical_bytes_with_two_postings(inputs, counted) -> None:
    data, outcomes, demographics = inputs
    again = build_report(
        data, outcomes=outcomes, demographics=demographics, suggestion=suggestion_for("PB"),
        generated_at=STAMP,
    )  # fmt: skip
    assert again.to_html() == counted["report"].to_html()


# --------------------------------------------------------------------------- filter
def _filter_reference(data: InterviewData, **kw: Any) -> InterviewData:
    """InterviewData.filter as written before its fast membership test (pandas' isin)."""
    c = data.candidates
    keep = pd.Series(True, index=c.index)
    if "posting_id" in kw:
        keep &= c["posting_id"].isin([kw["posting_id"]])
    if "status" in kw:
        keep &= c["status"].isin([kw["status"]])
    ids = set(c.loc[keep, "interview_id"])

    def by_interview(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["interview_id"].isin(ids)].reset_index(drop=True)

    e = data.errors
    return InterviewData(
        candidates=c[keep].reset_index(drop=True),
        interviews=by_interview(data.interviews),
        scores=by_interview(data.scores),
        errors=e[
            e["interview_id"].isin(ids)
            | e["interview_id"].isna()
            | ~e["interview_id"].isin(c["interview_id"])
        ].reset_index(drop=True),
    )


def test_filter_keeps_exactly_the_rows_pandas_isin_keeps(inputs) -> None:
    data, _, _ = inputs
    c = data.candidates.copy()
    c.loc[3, "interview_id"] = None  # a candidate without an interview id
    c.loc[5, "status"] = "pending"
    iv = data.interviews.copy()
    iv.loc[7, "interview_id"] = None  # an interview without an id
    iv = pd.concat(  # an interview no candidate row names
        [iv, iv.iloc[[0]].assign(interview_id="ORPHAN")], ignore_index=True
    )
    errors = pd.DataFrame(
        {
            "interview_id": ["PA-0001", None, "GONE", "PB-0002"],
            "stage": "data",
            "error": ["a", "b", "c", "d"],
        }
    )
    odd = InterviewData(
        questions=data.questions, candidates=c, interviews=iv, scores=data.scores, errors=errors
    )
    for kw in ({"posting_id": "PA"}, {"posting_id": "PB"}, {"status": "completed"}, {}):
        got, want = odd.filter(**kw), _filter_reference(odd, **kw)
        for name in ("candidates", "interviews", "scores", "errors"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    # the unnamed interview goes with a candidate without an id, as with pandas' isin
    assert odd.filter(posting_id="PA").interviews["interview_id"].isna().sum() == 1
