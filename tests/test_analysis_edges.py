"""Edge cases across every analysis: one question, a zero-variance question, an all-missing
question, a single interview and the 1–10 scale. Each analysis either works (and says what it
left out) or raises a milo_analytics error naming the problem — never a bare numpy/pandas crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from milo_analytics.analysis import (
    cronbach_alpha,
    drift,
    effective_weights,
    item_statistics,
    question_importance,
    reconcile_scores,
    rescore,
    speech_summary,
)
from milo_analytics.analysis._common import synthetic_interview_data
from milo_analytics.errors import InsufficientDataError, MiloError
from milo_analytics.frames import InterviewData

BASE, _ = synthetic_interview_data(200, 4, seed=3)
TEN, _ = synthetic_interview_data(200, 4, seed=4, scale=10)


def _with(scores: pd.DataFrame, interviews: pd.DataFrame | None = None) -> InterviewData:
    return InterviewData(
        scores=scores,
        interviews=BASE.interviews if interviews is None else interviews,
        questions=BASE.questions,
        candidates=BASE.candidates,
        score_scale=5,
    )


def _cases() -> dict[str, InterviewData]:
    s = BASE.scores
    zero = s.copy()
    zero.loc[zero["question_id"] == "P1-q2", "score"] = 3.0
    missing = s.copy()
    missing.loc[missing["question_id"] == "P1-q3", "score"] = np.nan
    first = s["interview_id"].iloc[0]
    return {
        "one question": _with(s[s["question_id"] == "P1-q1"]),
        "zero variance": _with(zero),
        "all missing": _with(missing),
        "single interview": _with(
            s[s["interview_id"] == first],
            BASE.interviews[BASE.interviews["interview_id"] == first],
        ),
        "ten-point scale": TEN,
    }


CASES = _cases()


def _outcomes(d: InterviewData) -> pd.DataFrame:
    ids = d.interviews["interview_id"]
    hired = np.random.default_rng(0).uniform(size=len(ids)) < 0.4
    return pd.DataFrame({"interview_id": ids, "hired": hired})


def _demographics(d: InterviewData) -> pd.DataFrame:
    ids = d.interviews["interview_id"]
    return pd.DataFrame({"interview_id": ids, "sex": np.where(np.arange(len(ids)) % 2, "M", "F")})


ANALYSES: dict[str, Callable[[InterviewData], Any]] = {
    "effective_weights": effective_weights,
    "reconcile_scores": reconcile_scores,
    "rescore": lambda d: rescore(d, {d.score_matrix().columns[0]: 9.0}, cut=60),
    "item_statistics": item_statistics,
    "cronbach_alpha": cronbach_alpha,
    "speech_summary": lambda d: speech_summary(
        d, _outcomes(d), demographics=_demographics(d), n_boot=5
    ),
    "question_importance": lambda d: question_importance(d, _outcomes(d), n_boot=5),
    "drift": lambda d: drift(d, "ME"),
}

# the combinations that cannot produce a number raise a clear error instead
EXPECTED_ERRORS = {
    ("one question", "cronbach_alpha"): "at least 2 questions",
    ("all missing", "cronbach_alpha"): "no answers",
    ("single interview", "effective_weights"): "need at least 2",
    ("single interview", "item_statistics"): "at least 2",
    ("single interview", "cronbach_alpha"): "at least 2 interviews",
    ("single interview", "question_importance"): "enough interviews",
}


@pytest.mark.parametrize("analysis", list(ANALYSES))
@pytest.mark.parametrize("case", list(CASES))
def test_edge_case_works_or_says_why(case: str, analysis: str) -> None:
    data = CASES[case]
    before = data.scores.copy()
    expected = EXPECTED_ERRORS.get((case, analysis))
    if expected is not None:
        with pytest.raises(MiloError, match=expected):
            ANALYSES[analysis](data)
        return
    try:
        res = ANALYSES[analysis](data)
    except MiloError as exc:  # pragma: no cover - shows which combination regressed
        pytest.fail(f"{analysis} on {case}: unexpected {type(exc).__name__}: {exc}")
    if hasattr(res, "plot"):
        assert res.plot().data is not None
        assert "<table" in res._repr_html_()
    pd.testing.assert_frame_equal(data.scores, before)


def test_edge_cases_are_stated_in_the_notes() -> None:
    zero, missing, single = CASES["zero variance"], CASES["all missing"], CASES["single interview"]
    for res in (effective_weights(zero), item_statistics(zero)):
        assert any("no variance" in n and "P1-q2" in n for n in res.notes)
    for res in (effective_weights(missing), item_statistics(missing)):
        assert any("no answers" in n and "P1-q3" in n for n in res.notes)
    imp = question_importance(zero, _outcomes(zero), n_boot=0)
    assert "P1-q2" not in set(imp.table["question_id"])
    assert any("no variance" in n and "P1-q2" in n for n in imp.notes)
    sp = speech_summary(zero, n_boot=0)
    assert np.isnan(sp.table.set_index("variable").at["P1-q2", "r"])
    assert any("undefined for P1-q2" in n for n in sp.notes)
    one = speech_summary(single, n_boot=0)
    assert one.table["r"].isna().all() and any("fewer than 3" in n for n in one.notes)
    items = item_statistics(CASES["one question"])
    assert any("only 1 scored question" in n for n in items.notes)


def test_ten_point_scale_is_detected_everywhere() -> None:
    data = CASES["ten-point scale"]
    assert item_statistics(data).reliability["scale_max"].iloc[0] == 10
    rec = reconcile_scores(data)
    assert rec.best == {"P1": "proportional"} and "1–10" in " ".join(rec.notes)
    assert "1–10" in drift(data, "ME").plot("questions").layout.yaxis.title.text
    with pytest.raises(InsufficientDataError):
        effective_weights(InterviewData())
