"""Documents that break the API's declared ranges or cannot be represented go to
``data.errors`` (stage ``validate``) naming the record, the field, the value and the allowed
range; the rest of the posting loads (issue 11 "Records that cannot be represented", issue 12
"Schema-level validation of documents").

The ranges are the API's (shared/heymilo/openapi.json, API-NOTES.md): ``score`` and
``match_score`` 0–100, ``speech_score`` 0.0–5.0, a scorecard item's ``score`` 1–10 and required
unless ``not_scored``, ``score_weight`` 1–10 (read as 0–10 with floats: API-NOTES §4). The
inputs are the issues': scores 99, −5, 1e308; weights −4 and 1e9; ``match_score`` 1e25; a
missing ``score``; a candidate ``created_at`` of 1e20.
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest

from milo_analytics.errors import DataError
from milo_analytics.frames import RESULT_STATUSES
from milo_analytics.load import frames_from_documents, load_posting
from milo_analytics.sandbox import WorldConfig, generate_world
from tests.test_frames_documents import QUESTIONS, candidate, interview


def item(doc, k):
    return doc["web_interview"]["scorecard"][k]


def documents(n=4):
    return {
        "questions": copy.deepcopy(QUESTIONS),
        "candidates": [candidate(f"I{k}") for k in range(1, n + 1)],
        "interview_data": [interview(f"I{k}", [4, 2, None]) for k in range(1, n + 1)],
    }


# (what breaks, the field named, the value shown, the range named)
INTERVIEW_CASES = [
    (lambda d: item(d, 0).update(score=99), "scorecard[question q0].score", "99", "1–10"),
    (lambda d: item(d, 1).update(score=-5), "scorecard[question q1].score", "-5", "1–10"),
    (lambda d: item(d, 0).update(score=1e308), "scorecard[question q0].score", "1e+308", "1–10"),
    (lambda d: item(d, 0).update(score_weight=-4), "q0].score_weight", "-4", "0–10"),
    (lambda d: item(d, 1).update(score_weight=1e9), "q1].score_weight", "1000000000.0", "0–10"),
    (lambda d: d["web_interview"].update(match_score=1e25), "web_interview.match_score",
     "1e+25", "0–100"),
    (lambda d: d["web_interview"].update(speech_score=7.5), "web_interview.speech_score",
     "7.5", "0–5"),
    (lambda d: d.update(score=101.0), "score", "101.0", "0–100"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "field", "value", "allowed"), INTERVIEW_CASES)
def test_out_of_range_interview_document_goes_to_errors(breakage, field, value, allowed):
    docs = documents()
    breakage(docs["interview_data"][1])  # interview I2
    data = frames_from_documents(**docs)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I2", "validate"]]
    message = data.errors["error"].iloc[0]
    assert field in message and f" is {value}," in message and allowed in message
    assert message.startswith("interview data: ") and "left out" in message
    # the document is not in the frames; its candidate and every other document load
    for name in ("interviews", "scores", "transcript", "highlights"):
        assert "I2" not in set(getattr(data, name)["interview_id"]), name
    assert data.interviews["interview_id"].tolist() == ["I1", "I3", "I4"]
    assert "I2" in set(data.candidates["interview_id"])
    assert data.score_scale == 5  # detected from the valid scores only
    with pytest.raises(DataError, match="validate I2: interview data"):
        frames_from_documents(**docs, strict=True)


def test_a_missing_required_score_is_an_error_unless_not_scored():
    docs = documents()
    del item(docs["interview_data"][2], 0)["score"]  # I3, a scored question
    item(docs["interview_data"][3], 2)["score"] = None  # I4, the not_scored question: fine
    data = frames_from_documents(**docs)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I3", "validate"]]
    assert "scorecard[question q0].score is missing" in data.errors["error"].iloc[0]
    assert "not_scored" in data.errors["error"].iloc[0]
    assert "I4" in set(data.interviews["interview_id"])


def test_created_at_1e20_leaves_out_the_record_and_names_it():
    docs = documents()
    docs["candidates"][1]["created_at"] = 1e20  # I2: OutOfBoundsDatetime before
    data = frames_from_documents(**docs)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I2", "validate"]]
    message = data.errors["error"].iloc[0]
    assert message.startswith("candidate record: created_at is 1e+20, not a time")
    assert "1970-01-01 to 2100-01-01" in message
    for name in ("candidates", "interviews", "scores", "transcript"):
        assert "I2" not in set(getattr(data, name)["interview_id"]), name
    assert data.candidates["interview_id"].tolist() == ["I1", "I3", "I4"]


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("interviewed_at", -1e20, "-1e+20"),
        ("created_at", "9999-12-31T00:00:00Z", "'9999-12-31T00:00:00Z'"),
        ("created_at", "next tuesday", "'next tuesday'"),
        ("created_at", 10**400, "1.000e+400"),
    ],
)
def test_other_unusable_times_name_the_field(field, value, shown):
    docs = documents()
    docs["candidates"][0][field] = value
    data = frames_from_documents(**docs)
    assert data.errors["interview_id"].tolist() == ["I1"]
    assert f"{field} is {shown}" in data.errors["error"].iloc[0]


def test_numbers_that_cannot_be_represented_are_named():
    docs = documents()
    item(docs["interview_data"][0], 1)["score"] = 10**400  # no float holds it
    item(docs["interview_data"][1], 0)["rank"] = 2**70  # no int64 holds it
    docs["candidates"][2]["score"] = -(10**400)
    data = frames_from_documents(**docs)
    errors = dict(zip(data.errors["interview_id"], data.errors["error"], strict=True))
    assert "scorecard[question q1].score is 1.000e+400, a number that cannot be" in errors["I1"]
    assert "scorecard[question q0].rank is 1.180e+21, a number that cannot be" in errors["I2"]
    assert "candidate record: score is -1.000e+400" in errors["I3"]
    assert data.interviews["interview_id"].tolist() == ["I4"]


def test_several_problems_of_one_document_are_one_row():
    docs = documents()
    doc = docs["interview_data"][0]
    item(doc, 0)["score"] = 99
    item(doc, 1)["score_weight"] = -4
    doc["web_interview"]["match_score"] = 1e25
    data = frames_from_documents(**docs)
    assert data.errors["interview_id"].tolist() == ["I1"]
    message = data.errors["error"].iloc[0]
    assert "score is 99" in message and "score_weight is -4" in message and "1e+25" in message


def test_legal_values_are_not_errors():
    """The boundaries and the API-NOTES tolerances: weights 0, 1.5 and 10, a score of 10 on
    the 1–10 scale, match_score 0 and 100, speech_score 0 and 5, dates as ISO strings."""
    docs = documents()
    item(docs["interview_data"][0], 0).update(score=10, score_weight=1.5)
    item(docs["interview_data"][1], 0).update(score=1, score_weight=0)
    item(docs["interview_data"][1], 1).update(score_weight=10)
    docs["interview_data"][2]["web_interview"].update(match_score=0, speech_score=0.0)
    docs["interview_data"][3]["web_interview"].update(match_score=100, speech_score=5)
    docs["candidates"][0]["created_at"] = "2024-05-01T09:30:00+02:00"
    docs["questions"][0]["score_weight"] = 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = frames_from_documents(**docs)
    assert data.errors.empty and len(data.interviews) == 4
    assert data.score_scale == 10


def test_a_question_outside_the_range_is_left_out():
    docs = documents()
    docs["questions"][1]["score_weight"] = 1e9
    data = frames_from_documents(**docs)
    assert data.errors.values.tolist()[0][1:] == ["validate", data.errors["error"].iloc[0]]
    assert data.errors["interview_id"].isna().all()
    assert "question q1 of posting P1: score_weight is 1000000000.0" in data.errors["error"][0]
    assert data.questions["question_id"].tolist() == ["q0", "q2"]


def test_a_posting_with_an_impossible_date_keeps_only_its_id():
    docs = documents()
    posting = {"object": "posting", "id": "P1", "title": "CSR", "company_id": "c",
               "created_at": 1e20}  # fmt: skip
    data = frames_from_documents(**docs, postings=[posting])
    assert "posting P1: created_at is 1e+20" in data.errors["error"].iloc[0]
    row = data.postings.iloc[0]
    assert row["posting_id"] == "P1" and row["score_scale"] == 5
    assert row.drop(["posting_id", "score_scale"]).isna().all()


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def hostile_world():
    """A small world whose API serves the issues' inputs for six interviews."""
    world = generate_world(WorldConfig(seed=6, n_candidates=40, n_second=0, unfinished_rate=0))
    pid = world.postings[0]["id"]
    done = [c for c in world.candidates[pid] if c["status"] in RESULT_STATUSES]
    docs = [world.interview_data[c["interview_id"]] for c in done]
    done[0]["created_at"] = 1e20
    item(docs[1], 0)["score"] = 99
    item(docs[2], 0)["score"] = 1e308
    item(docs[3], 0)["score_weight"] = 1e9
    docs[4]["web_interview"]["match_score"] = 1e25
    del item(docs[5], 0)["score"]
    item(docs[5], 0)["not_scored"] = False
    bad = [c["interview_id"] for c in done[:6]]
    return world, pid, bad


def test_a_pull_of_a_posting_with_hostile_records_loads_the_rest(
    hostile_world, sandbox_factory, tmp_path, monkeypatch, capsys
):
    from milo_analytics.cli import main

    world, pid, bad = hostile_world
    sb = sandbox_factory(world=world)
    store = tmp_path / "s.sqlite3"
    with sb.client() as client:
        data = load_posting(pid, client=client, store=store, progress=False)
    assert sorted(data.errors["interview_id"]) == sorted(bad)
    assert set(data.errors["stage"]) == {"validate"}
    n_done = sum(1 for c in world.candidates[pid] if c["status"] in RESULT_STATUSES)
    assert len(data.interviews) == n_done - 6
    assert not set(bad) & set(data.interviews["interview_id"])
    offline = load_posting(pid, store=store, refresh=False)  # the same from the store alone
    assert offline.errors.equals(data.errors) and offline.interviews.equals(data.interviews)

    # the CLI: exit 0, the records named, and the honest "fetched again only when changed"
    monkeypatch.setenv("HEYMILO_API_KEY", sb.api_key)
    sb.reset_counts()
    code = main(["pull", pid, "--store", str(store), "--base-url", sb.base_url, "-q"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "6 documents break the API's schema and are left out" in out.out
    assert "unexpected" not in out.err and "OutOfBoundsDatetime" not in out.out + out.err
    for iid in bad:
        assert iid in out.out
    assert sb.counts.get("GET /interviews/{interview_id}/data", 0) == 0  # not refetched


def test_no_numpy_overflow_warning_reaches_a_report(hostile_world, tmp_path):
    """The issue's report was written with numpy overflow warnings (weights 1e9, scores 1e308):
    with those documents left out, building the report raises none."""
    from milo_analytics import build_report
    from milo_analytics.load import load_documents

    world, pid, bad = hostile_world
    folder = world.save(tmp_path / "docs")
    data = load_documents(folder).filter(posting_id=pid)
    assert sorted(data.errors["interview_id"]) == sorted(bad)
    values = data.scores[["score", "score_weight"]].astype("float64")
    assert (values.abs().max() <= 10).all() and not math.isinf(values.to_numpy().max())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RuntimeWarning, message=".*overflow.*")
        report = build_report(data)
    assert report.to_html()
