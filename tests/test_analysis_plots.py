"""Every analysis figure: axis titles with units, a legend wherever several series are drawn,
and a size that does not grow with the number of interviews (plots aggregate first)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from milo_analytics.analysis import (
    drift,
    effective_weights,
    item_statistics,
    outcome_validity,
    posting_overview,
    question_importance,
    reconcile_scores,
    rescore,
    score_distribution,
    speech_summary,
    status_funnel,
)
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.frames import InterviewData


def _two_postings(n: int) -> InterviewData:
    a, _ = synthetic_interview_data(n, 4, scale=10, posting_id="PA", seed=1)
    b, _ = synthetic_interview_data(n, 3, scale=5, posting_id="PB", seed=2)
    frames = {
        f.name: pd.concat([getattr(a, f.name), getattr(b, f.name)], ignore_index=True)
        for f in dataclasses.fields(InterviewData)
        if f.name not in ("postings", "score_scale")
    }
    postings = pd.DataFrame(
        {"posting_id": ["PA", "PB"], "score_scale": pd.array([10, 5], dtype="Int64")}
    )
    return InterviewData(**frames, postings=postings)


def all_figures(n: int) -> dict[str, go.Figure]:
    """One figure of every kind the analysis results draw, on ``n`` synthetic interviews."""
    data, _ = synthetic_interview_data(
        n, 4, seed=25, weight_change={"P1-q1": 8.0}, override_share=0.02, days=120
    )
    rng = np.random.default_rng(0)
    ids = data.interviews["interview_id"]
    outcomes = pd.DataFrame(
        {
            "interview_id": ids,
            "hired": rng.uniform(size=len(ids)) < 0.3,
            "performance": rng.normal(size=len(ids)),
        }
    )
    demo = pd.DataFrame(
        {
            "interview_id": ids,
            "sex": rng.choice(["Male", "Female"], len(ids)),
            "race_ethnicity": rng.choice(["White", "Asian", "Black"], len(ids)),
        }
    )
    items = item_statistics(data)
    speech = speech_summary(data, outcomes, demographics=demo, n_boot=0)
    dr = drift(data, "ME")
    two = _two_postings(n)
    o2 = pd.DataFrame(
        {
            "interview_id": two.interviews["interview_id"],
            "hired": rng.uniform(size=len(two.interviews)) < 0.3,
        }
    )
    validity = outcome_validity(two, o2)
    return {
        "effective_weights": effective_weights(data).plot(),
        "reconcile": reconcile_scores(data).plot(),
        "rescore": rescore(data, {"P1-q1": 1, "P1-q4": 6}, cut=60).plot(),
        "items": items.plot(),
        "items.correlation": items.plot("correlation"),
        "speech": speech.plot(),
        "speech.scatter": speech.plot("scatter"),
        "speech.gaps": speech.plot("gaps"),
        "importance": question_importance(data, outcomes, n_boot=10).plot(),
        "drift": dr.plot(),
        "drift.questions": dr.plot("questions"),
        "drift.speech": dr.plot("speech_score"),
        "overview": posting_overview(two).plot(),
        "funnel": status_funnel(two).plot(),
        "score_distribution": score_distribution(two).plot(),
        "validity.bands": validity.plot("bands"),
        "validity.r": validity.plot("r"),
    }


@pytest.fixture(scope="module")
def small() -> dict[str, go.Figure]:
    return all_figures(400)


def test_every_axis_has_a_title(small):
    for name, fig in small.items():
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            assert axis.title.text, f"{name}: untitled axis"
        for tr in fig.data:
            if tr.type == "heatmap":
                assert tr.colorbar.title.text, f"{name}: colour bar without a title"


def test_units_on_score_axes(small):
    # scores carry their scale, shares say they are percentages
    assert "0–100" in small["rescore"].layout.xaxis.title.text
    assert "0–100" in small["reconcile"].layout.xaxis.title.text
    assert "0–5" in small["speech"].layout.xaxis.title.text
    assert "0–5" in small["speech.scatter"].layout.xaxis.title.text
    assert "0–100" in small["speech.scatter"].layout.yaxis.title.text
    assert "0–100" in small["drift"].layout.yaxis.title.text
    assert "1–5" in small["drift.questions"].layout.yaxis.title.text
    assert "0–5" in small["drift.speech"].layout.yaxis.title.text
    assert "month" in small["drift"].layout.xaxis.title.text
    assert "%" in small["effective_weights"].layout.yaxis.title.text
    assert "%" in small["items"].layout.xaxis.title.text
    assert "%" in small["importance"].layout.yaxis.title.text


def _legend_entries(fig: go.Figure) -> list[go.BaseTraceType]:
    return [
        tr
        for tr in fig.data
        if tr.type not in ("heatmap", "pie") and tr.showlegend is not False and tr.name
    ]


def test_several_series_come_with_a_legend(small):
    for name, fig in small.items():
        entries = _legend_entries(fig)
        lines = [tr for tr in fig.data if tr.type == "scatter"]
        if len(fig.data) > 1 and (len(entries) > 1 or lines):
            assert fig.layout.showlegend is not False, f"{name}: legend hidden"
            assert len(entries) >= 1, f"{name}: series without legend names"
            # a lone named line over a heatmap must be forced into the legend
            if len(entries) == 1:
                assert entries[0].showlegend is True or fig.layout.showlegend, name
    # the rescoring cut and the drift band are explained in the legend
    assert any("cut" in tr.name for tr in _legend_entries(small["rescore"]))
    assert any("p25–p75" in tr.name for tr in _legend_entries(small["drift"]))


def _n_points(trace: go.BaseTraceType) -> int:
    x = getattr(trace, "x", None)
    return 0 if x is None else len(x)


@pytest.mark.slow
def test_figure_size_does_not_grow_with_interviews(small):
    big = all_figures(8000)  # 20× the interviews
    for name, fig in small.items():
        n_small, n_big = len(fig.to_json()), len(big[name].to_json())
        # same traces with (nearly) the same number of points: a bin empty at small n may fill
        assert len(fig.data) == len(big[name].data), name
        for ts, tb in zip(fig.data, big[name].data, strict=True):
            assert _n_points(tb) <= _n_points(ts) + 5, f"{name}: points grow with n"
        assert n_big <= 1.1 * n_small + 2_000, f"{name}: {n_small} → {n_big} bytes"
