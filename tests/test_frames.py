"""InterviewData: score_matrix, Parquet round trip, filters, HTML summary escaping."""

from __future__ import annotations

import pandas as pd
import pytest

from milo_analytics.errors import DataError
from milo_analytics.frames import SCHEMAS, InterviewData
from milo_analytics.load import frames_from_documents
from milo_analytics.sandbox import WorldConfig, generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=21, n_candidates=80, n_second=30, unfinished_rate=0.1))


@pytest.fixture(scope="module")
def data(world):
    return frames_from_documents(world)


def test_score_matrix_matches_scorecards(data, world):
    pid = world.postings[0]["id"]
    m = data.score_matrix(pid)
    questions = [q for q in world.questions[pid] if not q.get("not_scored")]
    assert list(m.columns) == [q["id"] for q in sorted(questions, key=lambda q: q["rank"])]
    finished = [
        d
        for d in world.interview_data.values()
        if d["posting_id"] == pid and d.get("web_interview")
    ]
    assert len(m) == len(finished)
    for d in finished[:20]:
        for item in d["web_interview"]["scorecard"]:
            if not item["not_scored"]:
                assert m.loc[d["interview_id"], item["question_id"]] == item["score"]
    with_info = data.score_matrix(pid, include_not_scored=True)
    assert with_info.shape[1] == len(world.questions[pid])


def test_parquet_round_trip(data, tmp_path):
    back = InterviewData.from_parquet(data.to_parquet(tmp_path / "frames"))
    assert back == data
    assert back.score_scale == data.score_scale
    for name, schema in SCHEMAS.items():
        assert list(getattr(back, name).columns)[: len(schema)] == list(schema)
        assert getattr(back, name).dtypes.astype(str).tolist()[: len(schema)] == list(
            schema.values()
        )
    with pytest.raises(DataError):
        InterviewData.from_parquet(tmp_path / "missing")


def test_filter_by_date_status_posting(data):
    c = data.candidates
    mid = c["created_at"].sort_values().iloc[len(c) // 2]
    late = data.filter(start=mid)
    assert len(late.candidates) == int((c["created_at"] >= mid).sum())
    assert set(late.interviews["interview_id"]) <= set(late.candidates["interview_id"])
    assert set(late.scores["interview_id"]) <= set(late.candidates["interview_id"])
    early = data.filter(end=mid)
    assert len(early.candidates) + len(late.candidates) == len(c)
    naive = data.filter(end=mid.tz_localize(None))  # naive means UTC
    assert naive == early
    done = data.filter(status="completed")
    assert set(done.candidates["status"]) == {"completed"}
    assert set(done.interviews["interview_id"]) == set(done.candidates["interview_id"])
    several = data.filter(status=["completed", "shortlisted"])
    assert len(several.candidates) == int(c["status"].isin(["completed", "shortlisted"]).sum())
    pid = data.postings["posting_id"].iloc[0]
    one = data.filter(posting_id=pid)
    assert set(one.questions["posting_id"]) == {pid} and set(one.candidates["posting_id"]) == {pid}
    by_interview = data.filter(start="2026-03-01", on="interviewed_at")
    assert (by_interview.candidates["interviewed_at"] >= pd.Timestamp("2026-03-01", tz="UTC")).all()
    with pytest.raises(DataError, match="not a time column"):
        data.filter(start=mid, on="score")
    assert data.filter(status="completed") is not data  # a new object; the input is untouched
    assert len(data.candidates) == len(c)


def test_repr_html_escapes_untrusted_text(data):
    evil = "<script>alert(1)</script>"
    frames = {
        "candidates": pd.DataFrame(
            {"interview_id": ["I1"], "posting_id": [evil], "status": [evil], "created_at": [1.7e9]}
        ),
        "errors": pd.DataFrame({"interview_id": [evil], "stage": ["parse"], "error": [evil]}),
    }
    html = InterviewData(**frames)._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    summary = data._repr_html_()
    assert f"{len(data.candidates):,}" in summary
    assert f"1–{data.score_scale}" in summary
    assert "Load errors" in summary
