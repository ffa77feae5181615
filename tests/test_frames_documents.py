"""frames_from_documents / load_documents on hand-written API documents (no HTTP).

The document shapes follow shared/heymilo/openapi.json (CandidateResponse,
InterviewDataResponse, ScorecardQuestion, TranscriptEntry, QuestionResponse).
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from types import SimpleNamespace

import pandas as pd
import pytest

from milo_analytics.errors import DataError
from milo_analytics.load import frames_from_documents, load_documents


def turn(speaker, text, ts):
    return {"speaker": speaker, "text": text, "timestamp": ts, "timestamp_str": f"00:{int(ts):02d}"}


def interview(iid, scores, *, weights=(2.0, 3.0, 1.0), status="completed", posting="P1"):
    scorecard, full = [], [turn("Interviewer", "Hello, I am Sarah.", 0.0)]
    t = 5.0
    for k, (s, w) in enumerate(zip(scores, weights, strict=True)):
        qturns = [
            turn("Interviewer", f"Question {k}?", t),
            turn("Candidate", f"Answer {k} of {iid}", t + 2),
        ]
        t += 10
        full.extend(qturns)
        scorecard.append(
            {
                "question_id": f"q{k}",
                "question_text": f"Question {k}?",
                "score": s,
                "score_weight": w,
                "evaluation_summary": f"summary {k}",
                "evaluation_criteria": "crit",
                "not_scored": k == 2,
                "rank": k + 1,
                "transcript": qturns,
            }
        )
    full.append(turn("Interviewer", "Thanks, bye.", t))
    return {
        "object": "interview_data",
        "interview_id": iid,
        "posting_id": posting,
        "name": "N",
        "email": f"{iid}@example.org",
        "status": status,
        "score": 70.0,
        "web_interview": {
            "object": "web_interview_result",
            "interview_id": iid,
            "match_score": 70,
            "speech_score": 3.5,
            "highlights": ["<b>calm</b>"],
            "lowlights": ["short answers"],
            "scorecard": scorecard,
            "transcript": full,
        },
    }


def candidate(iid, status="completed", posting="P1", created=1_700_000_000):
    return {
        "object": "candidate",
        "interview_id": iid,
        "posting_id": posting,
        "candidate_id": f"c-{iid}",
        "name": "N",
        "email": f"{iid}@example.org",
        "status": status,
        "score": 70.0 if status == "completed" else None,
        "created_at": created,
        "interviewed_at": created + 3600 if status == "completed" else None,
        "workflow": {
            "steps": [],
            "all_complete": status == "completed",
            "last_activity_at": created + 7200,
        },
        "metadata": {"external_id": f"ext-{iid}"},
    }


QUESTIONS = [
    {
        "object": "question",
        "id": f"q{k}",
        "posting_id": "P1",
        "modality": "voice",
        "text": f"Question {k}?",
        "rank": k + 1,
        "score_weight": [5, 3, 1][k],
        "not_scored": k == 2,
        "question_type": "scored",
    }
    for k in range(3)
]


@pytest.fixture
def docs():
    cands = [candidate("I1"), candidate("I2"), candidate("I3", status="pending")]
    data = [
        interview("I1", [4, 2, None]),
        interview("I2", [5, 1, None], weights=(1.0, 1.0, 1.0)),
        {
            "interview_id": "I3",
            "posting_id": "P1",
            "name": "N",
            "email": "e",
            "status": "not_ready",
        },
    ]
    return {"questions": QUESTIONS, "candidates": cands, "interview_data": data}


def test_frames_columns_weights_and_attribution(docs):
    data = frames_from_documents(**docs)
    assert data.candidates["interview_id"].tolist() == ["I1", "I2", "I3"]
    assert data.candidates["external_id"].tolist() == ["ext-I1", "ext-I2", "ext-I3"]
    assert str(data.candidates["created_at"].dtype) == "datetime64[us, UTC]"
    assert data.candidates["created_at"].iloc[0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    # the unfinished interview is a candidate, not an interview, and not an error
    assert data.interviews["interview_id"].tolist() == ["I1", "I2"]
    assert data.errors.empty
    assert data.interviews["interviewed_at"].iloc[0] == pd.Timestamp(
        1_700_003_600, unit="s", tz="UTC"
    )
    # each scorecard item keeps the weight it was scored with; questions hold today's weight
    s = data.scores.set_index(["interview_id", "question_id"])
    assert s.loc[("I1", "q0"), "score_weight"] == 2.0
    assert s.loc[("I2", "q0"), "score_weight"] == 1.0
    assert data.questions.set_index("question_id")["score_weight"].to_dict() == {
        "q0": 5.0,
        "q1": 3.0,
        "q2": 1.0,
    }
    assert s["not_scored"].tolist() == [False, False, True, False, False, True]
    # transcript: full, in order, attributed per question; intro/outro unattributed
    t = data.transcript[data.transcript["interview_id"] == "I1"]
    assert t["turn"].tolist() == list(range(8))
    qids = t["question_id"].astype(object).where(t["question_id"].notna(), None).tolist()
    assert qids == [None, "q0", "q0", "q1", "q1", "q2", "q2", None]
    assert data.highlights.groupby("kind").size().to_dict() == {"highlight": 2, "lowlight": 2}
    assert data.score_scale == 5
    m = data.score_matrix()
    assert m.loc["I1"].tolist() == [4.0, 2.0]


def test_order_independent_and_duplicates_dropped(docs):
    a = frames_from_documents(**docs)
    shuffled = {k: list(v) for k, v in docs.items()}
    rng = random.Random(3)
    for v in shuffled.values():
        rng.shuffle(v)
    shuffled["interview_data"].append(copy.deepcopy(docs["interview_data"][0]))
    b = frames_from_documents(**shuffled)
    assert a == b


def test_world_like_object_and_mappings(docs):
    postings = [
        {
            "object": "posting",
            "id": "P1",
            "title": "CSR",
            "company_id": "c",
            "created_at": 1_600_000_000,
        }
    ]
    world = SimpleNamespace(  # a stand-in for the sandbox's World
        postings=postings,
        questions={"P1": QUESTIONS},
        candidates={"P1": docs["candidates"]},
        interview_data={d["interview_id"]: d for d in docs["interview_data"]},
    )

    data = frames_from_documents(world)
    assert data.postings["posting_id"].tolist() == ["P1"]
    assert data == frames_from_documents(**docs, postings=postings)


def test_score_scale_detection_and_override(docs):
    ten = copy.deepcopy(docs)
    ten["interview_data"][0]["web_interview"]["scorecard"][0]["score"] = 8
    assert frames_from_documents(**ten).score_scale == 10
    assert frames_from_documents(**docs, score_scale=10).score_scale == 10
    with pytest.raises(DataError, match=r"scale of 5 was given.*pass score_scale=10"):
        frames_from_documents(**ten, score_scale=5)
    with pytest.raises(DataError, match="not supported"):
        frames_from_documents(**docs, score_scale=7)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["web_interview"].__setitem__("scorecard", "oops"),
        lambda d: d["web_interview"]["scorecard"][0].__setitem__("score", "four"),
        lambda d: d["web_interview"]["transcript"].append(42),
        lambda d: d["web_interview"].__setitem__("speech_score", [1]),
        lambda d: d.pop("status"),
        lambda d: d["web_interview"]["scorecard"][1].pop("question_id"),
    ],
)
def test_malformed_document_goes_to_errors(docs, breakage):
    bad = copy.deepcopy(docs)
    breakage(bad["interview_data"][1])
    data = frames_from_documents(**bad)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I2", "parse"]]
    assert data.interviews["interview_id"].tolist() == ["I1"]
    assert set(data.scores["interview_id"]) == {"I1"}  # no partial rows of the broken one
    assert set(data.transcript["interview_id"]) == {"I1"}
    with pytest.raises(DataError, match="I2"):
        frames_from_documents(**bad, strict=True)


def test_not_a_dict_document_goes_to_errors(docs):
    bad = copy.deepcopy(docs)
    bad["interview_data"] = {"I1": bad["interview_data"][0], "I2": "<html>502</html>"}
    data = frames_from_documents(**bad)
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I2", "parse"]]


def test_carried_errors_and_empty():
    data = frames_from_documents(
        errors=[{"interview_id": "X", "stage": "fetch", "error": "[500] boom"}]
    )
    assert data.errors.values.tolist() == [["X", "fetch", "[500] boom"]]
    assert data.score_scale is None and data.candidates.empty


def test_load_documents_documented_layout(tmp_path, docs):
    (tmp_path / "questions").mkdir()
    (tmp_path / "candidates").mkdir()
    (tmp_path / "interviews").mkdir()
    (tmp_path / "postings.json").write_text(
        json.dumps({"data": [{"object": "posting", "id": "P1", "title": "CSR", "company_id": "c"}]})
    )
    (tmp_path / "questions" / "P1.json").write_text(json.dumps(QUESTIONS))
    with gzip.open(tmp_path / "candidates" / "P1.json.gz", "wt") as fh:
        json.dump(docs["candidates"], fh)
    for d in docs["interview_data"]:
        (tmp_path / "interviews" / f"{d['interview_id']}.json").write_text(
            json.dumps({"data": d, "meta": {}})
        )
    (tmp_path / "interviews" / "I9.json").write_text("{not json")
    (tmp_path / "truth.json").write_text(
        json.dumps({"overrides": [{"interview_id": "I1", "posting_id": "P1", "status": "x"}]})
    )
    data = load_documents(tmp_path)
    ref = frames_from_documents(**docs)
    assert data.candidates.equals(ref.candidates)
    assert data.scores.equals(ref.scores)
    assert data.transcript.equals(ref.transcript)
    assert data.postings["title"].tolist() == ["CSR"]
    assert data.errors[["interview_id", "stage"]].values.tolist() == [["I9", "file"]]
    with pytest.raises(DataError):
        load_documents(tmp_path, strict=True)


def test_load_documents_single_world_file(tmp_path, docs):
    path = tmp_path / "world.json"
    path.write_text(
        json.dumps(
            {
                "questions": {"P1": QUESTIONS},
                "candidates": {"P1": docs["candidates"]},
                "interview_data": {d["interview_id"]: d for d in docs["interview_data"]},
            }
        )
    )
    assert load_documents(path).scores.equals(frames_from_documents(**docs).scores)
    assert load_documents(tmp_path).candidates.equals(frames_from_documents(**docs).candidates)


def test_load_documents_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_documents(tmp_path / "nope")
    with pytest.raises(DataError, match=r"no \.json"):
        load_documents(tmp_path)


def test_store_rows_cache_matches_parsing(tmp_path, docs):
    """Frames from cached pre-parsed rows equal frames parsed from the raw documents; a cache
    of another version or a damaged one falls back to the document."""
    from milo_analytics.load import ROWS_VERSION, frames_from_store, prepare_document
    from milo_analytics.store import Store

    with Store(tmp_path / "s.sqlite3") as store:
        store.save_posting("P1", None)
        store.save_questions("P1", QUESTIONS)
        store.save_candidates("P1", docs["candidates"])
        batch = []
        for d in docs["interview_data"]:
            blob, rows, version = prepare_document(d["interview_id"], d)
            batch.append((d["interview_id"], "P1", blob, "fp", rows, version))
        store.record_fetches(batch)
        ref = frames_from_documents(**docs)
        assert frames_from_store(store, ["P1"]).scores.equals(ref.scores)
        assert frames_from_store(store, ["P1"]).transcript.equals(ref.transcript)
        stale = [(*b[:4], b"not zlib", b[5]) for b in batch]
        store.record_fetches(stale)
        assert frames_from_store(store, ["P1"]).transcript.equals(ref.transcript)
        old = [(*b[:4], b[4], ROWS_VERSION - 1) for b in batch]
        store.record_fetches(old)
        assert frames_from_store(store, ["P1"]).scores.equals(ref.scores)
    with pytest.raises(DataError, match="malformed"):
        prepare_document("I1", {"interview_id": "I1", "posting_id": "P1", "status": 42})


def test_load_documents_demo_folder_equals_world():
    """data/demo is written by World.save(): loading the folder equals the world itself."""
    from milo_analytics.sandbox import load_demo_world
    from milo_analytics.sandbox.world import demo_world_path

    world = load_demo_world()
    data = load_documents(demo_world_path())
    assert data == frames_from_documents(world)
    assert data.errors.empty
    assert len(data.candidates) == sum(len(c) for c in world.candidates.values())
    assert sorted(data.postings["score_scale"]) == [5, 10]
