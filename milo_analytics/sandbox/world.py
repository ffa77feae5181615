"""The sandbox's seeded synthetic world: postings, questions, candidates, interview results,
hire outcomes, voluntary demographics and the truth behind them.

The generative model (documented in ``data/demo/README.md`` and in ``World.truth``):

* every candidate has a general ability ``g ~ N(0, 1)``; the latent ability on question ``q`` is
  ``a_q = sqrt(rho)·g + sqrt(1 - rho)·e_q`` (``e_q ~ N(0, 1)``, ``rho = item_correlation``);
* the AI rates question ``q`` as ``clip(round(mid + spread·(a_q + noise)), 1, S_max)`` on the
  question's scale (``S_max`` 5 or 10), ``noise ~ N(0, rating_noise²)``;
* the overall score uses the documented formula (:func:`overall_score`), by default
  ``"proportional"``: ``score = 100·Σ wᵢ sᵢ / (Σ wᵢ · S_max)`` over scored items, ``score``
  rounded half-up to one decimal, ``match_score`` = ``score`` rounded half-up to an integer;
  the speech score (0–5) does not enter it;
* ``hired`` is Bernoulli with ``logit p = b0 + outcome_scale · (Σ_q v_q a_q) / sd(Σ_q v_q a_q)``
  where ``v`` are the TRUE outcome weights (planted: for the CSR posting they differ from the
  current weights on de-escalation — much less important — and motivation — much more);
  ``b0`` is solved so that the hire rate is ``hire_rate``; performance (1–5) for hires follows
  the same composite plus noise;
* demographics are independent of the abilities; the only planted group gap is a lower speech
  score for Hispanic or Latino candidates (``speech_gap`` SD of the speech latent).

Examples
--------
>>> w = generate_world(WorldConfig(seed=1, n_candidates=30, n_second=0))
>>> len(w.candidates[w.truth["csr_posting_id"]])
30
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CSR_QUESTIONS",
    "World",
    "WorldConfig",
    "generate_world",
    "load_demo_world",
    "overall_score",
    "round_half_up",
]

# --------------------------------------------------------------------------- constants

PERIOD_START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
PERIOD_END = datetime(2026, 6, 30, 23, 59, tzinfo=UTC).timestamp()
COMPANY_ID = "CMP7F3A21"
STEP_ID = "agent_vi_001"

#: The guide's Customer Service Rep questions: (key, text, weight, not_scored, criteria, 1, 5).
CSR_QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "experience",
        "text": "Tell me about your previous customer service experience.",
        "score_weight": 2.0,
        "evaluation_criteria": "Relevant, concrete customer-facing experience and what they learned.",
        "score_of_1": "No relevant experience or vague, generic answer.",
        "score_of_5": "Several years of relevant experience with specific, reflective examples.",
        "topic": "customer service experience",
    },
    {
        "key": "de_escalation",
        "text": "Describe a time you calmed down an upset or angry customer. What did you do?",
        "score_weight": 3.0,
        "evaluation_criteria": "Empathy, staying calm, a clear de-escalation technique and a resolution.",
        "score_of_1": "Blames the customer or gives no concrete example.",
        "score_of_5": "Specific example with empathy, calm language and a clear resolution.",
        "topic": "de-escalating upset customers",
    },
    {
        "key": "prioritising",
        "text": "How do you prioritise when several customers need your help at the same time?",
        "score_weight": 2.0,
        "evaluation_criteria": "A sensible triage approach and communication with waiting customers.",
        "score_of_1": "No approach; handles requests at random.",
        "score_of_5": "Clear triage by urgency and impact while keeping everyone informed.",
        "topic": "prioritising competing requests",
    },
    {
        "key": "policy",
        "text": "How would you explain a company policy to a customer who disagrees with it?",
        "score_weight": 2.0,
        "evaluation_criteria": "Clear, respectful explanation of the reason and offering alternatives.",
        "score_of_1": "Repeats the policy without explanation or empathy.",
        "score_of_5": "Explains the reason plainly, acknowledges feelings and offers options.",
        "topic": "explaining policies",
    },
    {
        "key": "motivation",
        "text": "Why do you want to work in customer service, and why with us?",
        "score_weight": 1.5,
        "evaluation_criteria": "Genuine motivation for helping customers and interest in the role.",
        "score_of_1": "No real motivation beyond needing a job.",
        "score_of_5": "Specific, genuine motivation tied to the role and the company.",
        "topic": "motivation for the role",
    },
    {
        "key": "availability",
        "text": "What shifts are you available to work, and when could you start?",
        "score_weight": 1.0,
        "not_scored": True,
        "evaluation_criteria": "Informational only: availability and start date.",
        "score_of_1": None,
        "score_of_5": None,
        "topic": "availability",
    },
]

#: Planted TRUE outcome weights for the CSR scored questions (current: 2, 3, 2, 2, 1.5).
CSR_TRUE_OUTCOME_WEIGHTS = [2.0, 0.5, 2.0, 2.0, 5.0]

SECOND_QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "product",
        "text": "How would you help a customer choose between two similar products?",
        "score_weight": 5,
        "evaluation_criteria": "Asks about needs, compares honestly, recommends clearly.",
        "score_of_1": "Pushes the most expensive product without asking.",
        "score_of_5": "Discovers needs and gives an honest, clear recommendation.",
        "topic": "product advice",
    },
    {
        "key": "teamwork",
        "text": "Tell me about a time you helped a teammate during a busy shift.",
        "score_weight": 3,
        "evaluation_criteria": "Initiative and cooperation under pressure.",
        "score_of_1": "No example of helping others.",
        "score_of_5": "Concrete example of initiative that helped the team and customers.",
        "topic": "teamwork",
    },
    {
        "key": "sales",
        "text": "Walk me through how you would close a sale with a hesitant customer.",
        "score_weight": 4,
        "evaluation_criteria": "Handles objections respectfully and asks for the sale.",
        "score_of_1": "Pressures the customer or gives up immediately.",
        "score_of_5": "Addresses objections with empathy and closes naturally.",
        "topic": "closing sales",
    },
    {
        "key": "reliability",
        "text": "How do you make sure you are reliable and on time for every shift?",
        "score_weight": 6,
        "evaluation_criteria": "Concrete habits that make them dependable.",
        "score_of_1": "No habits; frequent lateness is acceptable to them.",
        "score_of_5": "Specific routines and a record of dependability.",
        "topic": "reliability",
    },
]
#: Weights of the second posting after its one mid-period change (same question order).
SECOND_NEW_WEIGHTS = [5, 6, 4, 3]
SECOND_CHANGE_AT = datetime(2026, 4, 1, tzinfo=UTC).timestamp()

FIRST_NAMES = [
    "Maria", "James", "Aisha", "Wei", "Carlos", "Emily", "Darnell", "Priya", "Jose", "Sarah",
    "Mohammed", "Olivia", "Luis", "Hannah", "Kwame", "Sofia", "Daniel", "Mei", "Andre", "Grace",
    "Diego", "Fatima", "Tyler", "Ana", "Jamal", "Chloe", "Hiroshi", "Isabella", "Marcus", "Lucia",
    "Ethan", "Zainab", "Noah", "Camila", "Kevin", "Leila", "Ryan", "Valentina", "Samuel", "Yuki",
]  # fmt: skip
LAST_NAMES = [
    "Garcia", "Smith", "Johnson", "Nguyen", "Martinez", "Brown", "Williams", "Patel", "Lopez",
    "Jones", "Kim", "Davis", "Hernandez", "Miller", "Chen", "Wilson", "Gonzalez", "Moore", "Okafor",
    "Taylor", "Rodriguez", "Anderson", "Singh", "Thomas", "Perez", "Jackson", "Tanaka", "White",
    "Sanchez", "Harris", "Ramirez", "Clark", "Ali", "Lewis", "Torres", "Walker", "Rivera", "Hall",
]  # fmt: skip
EMAIL_DOMAINS = ["example.com", "example.org", "mail.example.net"]

#: EEO-1 race/ethnicity categories and their shares among respondents.
RACE_CATEGORIES = [
    ("White", 0.44),
    ("Hispanic or Latino", 0.22),
    ("Black or African American", 0.16),
    ("Asian", 0.11),
    ("Two or More Races", 0.04),
    ("Native Hawaiian or Other Pacific Islander", 0.015),
    ("American Indian or Alaska Native", 0.015),
]
RACE_SPELLINGS = {
    "White": ["White", "White", "White", "white", "White (Not Hispanic or Latino)"],
    "Hispanic or Latino": ["Hispanic or Latino", "Hispanic or Latino", "Hispanic/Latino", "Latino", "hispanic or latino"],
    "Black or African American": ["Black or African American", "Black or African American", "Black", "African American"],
    "Asian": ["Asian", "Asian", "asian", "Asian (Not Hispanic or Latino)"],
    "Two or More Races": ["Two or More Races", "Two or more races", "Multiracial"],
    "Native Hawaiian or Other Pacific Islander": ["Native Hawaiian or Other Pacific Islander", "Pacific Islander"],
    "American Indian or Alaska Native": ["American Indian or Alaska Native", "Native American"],
}  # fmt: skip
SEX_SPELLINGS = {
    "Female": ["Female", "Female", "Female", "F", "female", "Woman"],
    "Male": ["Male", "Male", "Male", "M", "male", "Man"],
}
DECLINED = ["", "", "Prefer not to say", "Decline to self-identify", "Unknown"]

FORMULAS = ("proportional", "min_anchored")


# --------------------------------------------------------------------------- helpers


def round_half_up(x: float, ndigits: int = 0) -> float:
    """Round half away from zero (HeyMilo-style), unlike Python's banker's rounding.

    Examples
    --------
    >>> round_half_up(66.45, 1), round_half_up(2.5)
    (66.5, 3.0)
    """
    f = 10.0**ndigits
    # the small epsilon absorbs binary noise such as 66.45 -> 66.4499999
    return math.floor(abs(x) * f + 0.5 + 1e-9) / f * (1 if x >= 0 else -1)


def overall_score(
    items: Sequence[dict[str, Any]], scale: int = 5, formula: str = "proportional"
) -> tuple[float | None, int | None]:
    """Overall ``(score, match_score)`` of scorecard items by a documented formula.

    ``"proportional"``: ``100·Σ wᵢ sᵢ / (Σ wᵢ · S_max)``; ``"min_anchored"``:
    ``100·Σ wᵢ (sᵢ − 1) / (Σ wᵢ (S_max − 1))``. Items with ``not_scored`` are excluded; each
    item uses its own ``score_weight``. ``score`` is rounded half-up to 1 decimal and
    ``match_score`` is ``score`` rounded half-up to an integer.

    Examples
    --------
    >>> overall_score([{"score": 4, "score_weight": 3}, {"score": 2, "score_weight": 1.5}])
    (66.7, 67)
    """
    num = den = 0.0
    for it in items:
        if it.get("not_scored"):
            continue
        w = float(it.get("score_weight", 5))
        s = float(it["score"])
        if formula == "proportional":
            num += w * s
            den += w * scale
        elif formula == "min_anchored":
            num += w * (s - 1)
            den += w * (scale - 1)
        else:
            raise ValueError(f"unknown formula {formula!r}; use one of {FORMULAS}")
    if den <= 0:
        return None, None
    score = round_half_up(100.0 * num / den, 1)
    return score, int(round_half_up(score))


def _hex_ids(rng: np.random.Generator, n: int, nbytes: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        raw = rng.bytes(nbytes * (n - len(out)))
        for i in range(0, len(raw), nbytes):
            s = raw[i : i + nbytes].hex().upper()
            if s not in taken:
                taken.add(s)
                out.append(s)
    return out


def _ts_str(t: float) -> str:
    t = int(t)
    return f"{t // 60:02d}:{t % 60:02d}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- config


@dataclass
class WorldConfig:
    """Parameters of a synthetic world (all defaults give the packaged demo world).

    Parameters
    ----------
    seed
        Seed of the numpy Generator; the same config gives the same world, byte for byte.
    n_candidates
        Candidates of the Customer Service Rep (CSR) posting.
    n_second
        Candidates of the second posting (Retail Sales Associate, weights changed once on
        2026-04-01); 0 leaves it out.
    score_scale
        Per-question scale of the CSR posting (5 or 10). ``second_scale`` for the other.
    formula
        Overall-score formula: ``"proportional"`` or ``"min_anchored"`` (:func:`overall_score`).
    outcome_weights
        TRUE outcome weights of the CSR scored questions (5 values); ``None`` plants
        ``[2, 0.5, 2, 2, 5]`` against current weights ``[2, 3, 2, 2, 1.5]``. Pass the current
        weights to make a world whose weights are already right.
    outcome_scale
        SD of the hire logit's ability part (the strength of the outcome signal).
    hire_rate
        Target share of hired among candidates with results.
    speech_gap
        How many SD lower the speech latent is for Hispanic or Latino candidates.
    override_rate
        Share of completed interviews whose score a recruiter overrode by hand.
    unfinished_rate
        Share of candidates still pending / in progress / evaluating.
    """

    seed: int = 7
    n_candidates: int = 1200
    n_second: int = 400
    score_scale: int = 5
    second_scale: int = 10
    formula: str = "proportional"
    outcome_weights: list[float] | None = None
    outcome_scale: float = 3.0
    performance_weights: list[float] | None = None
    hire_rate: float = 0.22
    item_correlation: float = 0.35
    rating_noise: float = 0.35
    speech_gap: float = 0.45
    override_rate: float = 0.01
    unfinished_rate: float = 0.06
    knockout_rate: float = 0.02
    demographics_response_rate: float = 0.85
    transcripts: str = "full"
    video: bool = True

    def __post_init__(self) -> None:
        if self.score_scale not in (5, 10) or self.second_scale not in (5, 10):
            raise ValueError("score_scale and second_scale must be 5 or 10")
        if self.formula not in FORMULAS:
            raise ValueError(f"formula must be one of {FORMULAS}, got {self.formula!r}")
        if self.outcome_weights is not None and len(self.outcome_weights) != 5:
            raise ValueError("outcome_weights needs one weight per CSR scored question (5)")
        if self.transcripts not in ("full", "short", "none"):
            raise ValueError("transcripts must be 'full', 'short' or 'none'")
        if self.n_candidates < 0 or self.n_second < 0:
            raise ValueError("candidate counts must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorldConfig:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --------------------------------------------------------------------------- text banks

_ANSWERS = {
    "low": [
        "Um, I'm not really sure. I guess I would just do what I'm told about {topic}.",
        "I haven't really done much with {topic}, but I think I could figure it out.",
        "Honestly I don't have a good example for {topic}. I'd probably ask someone else.",
    ],
    "mid": [
        "In my last job I dealt with {topic} sometimes. I try to stay calm and listen first.",
        "I have some experience with {topic}. Usually I follow the process and it works out.",
        "For {topic}, I'd make sure I understand the situation and then do my best to help.",
    ],
    "high": [
        "At my previous role I handled {topic} daily. For example, I listened, acknowledged the "
        "problem, explained the options clearly and followed up the next day.",
        "{topic_cap} is something I care about. I use a simple structure: understand, prioritise, "
        "act, and confirm with the customer that it's resolved.",
        "A concrete example of {topic}: I had a difficult week with many requests, set clear "
        "expectations with each customer and resolved every case within the target time.",
    ],
}
_SUMMARIES = {
    "low": "The candidate gave a vague answer about {topic} without a concrete example.",
    "mid": "The candidate showed a reasonable grasp of {topic} with a partly specific example.",
    "high": "The candidate gave a specific, well-structured example of {topic} with a clear outcome.",
}
_FOLLOW_UP = "Could you give me a specific example of that?"


@functools.lru_cache(maxsize=4096)
def _text(kind: str, lvl: str, k: int, topic: str) -> str:
    """Formatted template text, shared between documents (saves time and memory)."""
    if kind == "answer":
        return _ANSWERS[lvl][k].format(topic=topic, topic_cap=topic[:1].upper() + topic[1:])
    if kind == "follow_up":
        return "Sure. " + _ANSWERS[lvl][0].format(topic=topic)
    if kind == "summary":
        return _SUMMARIES[lvl].format(topic=topic)
    if kind == "highlight":
        return f"Strong answer on {topic}"
    return f"Weak answer on {topic}"


def _level(score: int, scale: int) -> str:
    frac = (score - 1) / (scale - 1)
    return "low" if frac < 0.4 else ("mid" if frac < 0.75 else "high")


# --------------------------------------------------------------------------- documents


def question_doc(
    posting_id: str, qid: str, spec: dict[str, Any], rank: int, created_at: float
) -> dict[str, Any]:
    """A ``QuestionResponse`` dict for a voice question."""
    not_scored = bool(spec.get("not_scored", False))
    return {
        "object": "question",
        "id": qid,
        "posting_id": posting_id,
        "modality": "voice",
        "text": spec["text"],
        "rank": rank,
        "evaluation_criteria": spec.get("evaluation_criteria"),
        "score_of_1": spec.get("score_of_1"),
        "score_of_5": spec.get("score_of_5"),
        "score_weight": spec.get("score_weight"),
        "not_scored": not_scored,
        "question_type": "open-ended" if not_scored else "scored",
        "min_follow_ups": spec.get("min_follow_ups", 0),
        "max_follow_ups": spec.get("max_follow_ups", 2),
        "additional_instructions": spec.get("additional_instructions"),
        "post_processing_evaluation_criteria": spec.get("post_processing_evaluation_criteria"),
        "created_at": created_at,
        "updated_at": created_at,
    }


def posting_doc(
    posting_id: str,
    title: str,
    description: str,
    created_at: float,
    *,
    video: bool = True,
    interviewer_name: str = "Sarah",
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``PostingResponse`` dict with one ``web_interview`` step."""
    slug = name or title.lower().replace(" ", "-")
    doc = {
        "object": "posting",
        "id": posting_id,
        "company_id": COMPANY_ID,
        "title": title,
        "name": slug,
        "description": description,
        "language": "en",
        "interviewer_name": interviewer_name,
        "status": "active",
        "finalized": True,
        "archived": False,
        "test_posting": False,
        "workflow": [
            {
                "id": STEP_ID,
                "type": "web_interview",
                "order": 1,
                "config": {"video": video, "interview_type": "behavioral", "prompt_version": "v2"},
            }
        ],
        "urls": {
            "candidate_url": f"https://candidates.heymilo.io/acme/{slug}",
            "ingestion_url_key": f"ik_{posting_id.lower()}",
            "review_url": f"https://app.heymilo.ai/postings/{posting_id}",
        },
        "deadline": created_at + 240 * 86400.0,
        "redirect_url": None,
        "scheduling_url": None,
        "max_retakes": 0,
        "allow_sms_comms": False,
        "instructions": "",
        "company_overview": "",
        "job_overview": "",
        "interview_process_overview": None,
        "email_report_to_candidate": False,
        "ats_metadata": None,
        "metadata": {},
        "created_at": created_at,
        "updated_at": created_at,
    }
    if extra:
        doc.update(extra)
    return doc


def candidate_doc(
    *,
    interview_id: str,
    candidate_id: str,
    posting_id: str,
    name: str,
    email: str,
    phone: str | None,
    external_id: str | None,
    created_at: float,
) -> dict[str, Any]:
    """A pending ``CandidateResponse`` dict (results are added by :func:`complete_candidate`)."""
    return {
        "object": "candidate",
        "interview_id": interview_id,
        "candidate_id": candidate_id,
        "posting_id": posting_id,
        "name": name,
        "email": email,
        "score": None,
        "status": "pending",
        "interview_url": f"https://candidates.heymilo.io/acme/i/{interview_id}",
        "workflow": {
            "steps": [
                {
                    "step_id": STEP_ID,
                    "order": 1,
                    "status": "not_started",
                    "started": False,
                    "completed": False,
                    "knocked_out": False,
                    "last_updated_at": None,
                }
            ],
            "all_complete": False,
            "last_activity_at": created_at,
        },
        "agent_summary": None,
        "shortlisted": False,
        "dismissed": False,
        "metadata": {"external_id": external_id} if external_id else {},
        "data": {"phone_number": phone} if phone else {},
        "interviewed_at": None,
        "created_at": created_at,
    }


def set_unfinished_status(cand: dict[str, Any], status: str, at: float) -> None:
    """Move a candidate to ``pending``, ``in_progress`` or ``evaluating`` (in place)."""
    step = cand["workflow"]["steps"][0]
    cand["status"] = status
    if status == "pending":
        step.update(status="not_started", started=False, completed=False, last_updated_at=None)
    elif status == "in_progress":
        step.update(status="in_progress", started=True, completed=False, last_updated_at=at)
    elif status == "evaluating":
        step.update(status="completed", started=True, completed=True, last_updated_at=at)
        cand["workflow"]["all_complete"] = True
    else:
        raise ValueError(f"not an unfinished status: {status!r}")
    cand["workflow"]["last_activity_at"] = at


def unfinished_document(cand: dict[str, Any]) -> dict[str, Any]:
    """The ``InterviewDataResponse`` of an unfinished interview (status ``not_ready`` when the
    candidate has not started, else the in-progress status)."""
    status = "not_ready" if cand["status"] == "pending" else cand["status"]
    return {
        "object": "interview_data",
        "interview_id": cand["interview_id"],
        "candidate_id": cand.get("candidate_id"),
        "posting_id": cand["posting_id"],
        "name": cand["name"],
        "email": cand["email"],
        "score": None,
        "status": status,
        "workflow": cand["workflow"],
        "web_interview": None,
        "resume": None,
        "sms": None,
        "form": None,
        "cheat_detection": None,
        "metadata": cand.get("metadata") or {},
        "data": {},
    }


def rate_answers(
    rng: np.random.Generator,
    abilities: np.ndarray,
    scales: Sequence[int],
    rating_noise: float,
) -> np.ndarray:
    """Integer ratings (n, q) on each question's scale from latent abilities (n, q)."""
    scales_a = np.asarray(scales, dtype=float)
    mid = (1 + scales_a) / 2
    spread = (scales_a - 1) / 4.0  # ±2 SD spans the scale
    noisy = abilities + rng.normal(0, rating_noise, abilities.shape)
    return np.clip(np.rint(mid + spread * noisy), 1, scales_a).astype(int)


def complete_candidate(
    rng: np.random.Generator,
    cand: dict[str, Any],
    questions: Sequence[dict[str, Any]],
    ratings: Sequence[int],
    speech: float,
    interviewed_at: float,
    *,
    scale: int,
    formula: str,
    video: bool = True,
    transcripts: str = "full",
    status: str = "completed",
    weights: Sequence[float] | None = None,
    html_probe: bool = False,
) -> dict[str, Any]:
    """Score one interview: fill the candidate (in place) and return its InterviewDataResponse.

    ``questions`` are the QuestionResponse dicts in interview order; ``weights`` the weights in
    force at completion (default: each question's ``score_weight``).
    """
    iid = cand["interview_id"]
    first = cand["name"].split(" ")[0]
    scorecard: list[dict[str, Any]] = []
    transcript: list[dict[str, Any]] = []
    t = float(rng.uniform(3, 8))

    def say(speaker: str, text: str, dur: float) -> dict[str, Any]:
        nonlocal t
        entry = {
            "speaker": speaker,
            "text": text,
            "timestamp": round(t, 1),
            "timestamp_str": _ts_str(t),
        }
        t += dur
        return entry

    if transcripts != "none":
        transcript.append(
            say(
                "Interviewer", f"Hi {first}, I'm Sarah. Thanks for joining this interview today.", 6
            )
        )
        transcript.append(say("Candidate", "Hi Sarah, thanks for having me.", 3))
    for i, (q, s) in enumerate(zip(questions, ratings, strict=True)):
        topic = q.get("_topic") or _topic_of(q["text"])
        lvl = _level(int(s), scale)
        w = float(weights[i]) if weights is not None else q.get("score_weight")
        w = 5 if w is None else w
        w_out: int | float = int(w) if float(w).is_integer() else float(w)
        qturns: list[dict[str, Any]] = []
        if transcripts != "none":
            qturns.append(say("Interviewer", q["text"], float(rng.uniform(4, 9))))
            ans = _text("answer", lvl, int(rng.integers(0, 3)), topic)
            if html_probe and i == 0:
                ans += " <script>alert('xss')</script> & <b>bold</b>"
            qturns.append(say("Candidate", ans, float(rng.uniform(15, 60))))
            if transcripts == "full" and lvl != "high" and rng.random() < 0.5:
                qturns.append(say("Interviewer", _FOLLOW_UP, 3))
                qturns.append(
                    say(
                        "Candidate",
                        _text("follow_up", lvl, 0, topic),
                        float(rng.uniform(10, 30)),
                    )
                )
            transcript.extend(qturns)
        summary = _text("summary", lvl, 0, topic)
        if html_probe and i == 0:
            summary += " Quoted: <script>alert('xss')</script>"
        scorecard.append(
            {
                "question_id": q["id"],
                "question_text": q["text"],
                "score": int(s),
                "score_weight": w_out,
                "evaluation_summary": summary,
                "evaluation_criteria": q.get("evaluation_criteria") or "",
                "score_1_description": q.get("score_of_1"),
                "score_5_description": q.get("score_of_5"),
                "not_scored": bool(q.get("not_scored") or False),
                "rank": int(q.get("rank") or i + 1),
                "transcript": qturns,
            }
        )
    if transcripts != "none":
        transcript.append(say("Interviewer", "Thank you, that's all my questions. Goodbye!", 4))
    score, match = overall_score(scorecard, scale, formula)
    scored = [c for c in scorecard if not c["not_scored"]]
    ordered = sorted(scored, key=lambda c: -c["score"])
    highlights = [
        _text("highlight", "", 0, _topic_of(c["question_text"]))
        for c in ordered[:2]
        if _level(c["score"], scale) == "high"
    ] or ["Polite and engaged throughout the interview"]
    lowlights = [
        _text("lowlight", "", 0, _topic_of(c["question_text"]))
        for c in ordered[::-1][:2]
        if _level(c["score"], scale) == "low"
    ]
    audio = f"https://cdn.heymilo.io/recordings/{iid}.mp3"
    video_url = f"https://cdn.heymilo.io/recordings/{iid}.mp4" if video else None
    last = interviewed_at + float(rng.uniform(60, 600))
    knocked = status == "knocked_out"
    cand["status"] = status
    cand["score"] = score
    cand["interviewed_at"] = interviewed_at
    cand["shortlisted"] = status == "shortlisted"
    cand["dismissed"] = status == "dismissed"
    cand["workflow"] = {
        "steps": [
            {
                "step_id": STEP_ID,
                "order": 1,
                "status": "knocked_out" if knocked else "completed",
                "started": True,
                "completed": True,
                "knocked_out": knocked,
                "last_updated_at": interviewed_at,
            }
        ],
        "all_complete": True,
        "last_activity_at": last,
    }
    cand["agent_summary"] = {
        "resume": None,
        "web_interview": {
            "score": float(match) if match is not None else None,
            "highlights": highlights,
            "audio_recording_link": audio,
            "video_recording_link": video_url,
        },
        "sms": None,
        "form": None,
    }
    return {
        "object": "interview_data",
        "interview_id": iid,
        "candidate_id": cand.get("candidate_id"),
        "posting_id": cand["posting_id"],
        "name": cand["name"],
        "email": cand["email"],
        "score": score,
        "status": status,
        "workflow": cand["workflow"],
        "web_interview": {
            "object": "web_interview_result",
            "interview_id": iid,
            "match_score": match if match is not None else 0,
            "highlights": highlights,
            "lowlights": lowlights,
            "scorecard": scorecard,
            "speech_score": float(speech),
            "transcript": transcript,
            "audio_recording_url": audio,
            "video_recording_url": video_url,
            "tags": [],
        },
        "resume": None,
        "sms": None,
        "form": None,
        "cheat_detection": None,
        "metadata": cand.get("metadata") or {},
        "data": {},
    }


_TOPIC_CACHE: dict[str, str] = {}


def _topic_of(text: str) -> str:
    """A short topic phrase for a question text (known questions map to their topic)."""
    if text in _TOPIC_CACHE:
        return _TOPIC_CACHE[text]
    for spec in (*CSR_QUESTIONS, *SECOND_QUESTIONS):
        if spec["text"] == text:
            _TOPIC_CACHE[text] = spec["topic"]
            return spec["topic"]
    words = text.rstrip("?.!").split()
    topic = " ".join(words[-4:]).lower() if words else "this question"
    _TOPIC_CACHE[text] = topic
    return topic


def speech_from_latent(latent: np.ndarray) -> np.ndarray:
    """Speech scores 0–5 (one decimal) from a standard-normal latent."""
    return np.round(np.clip(3.1 + 0.75 * latent, 0.0, 5.0), 1)


# --------------------------------------------------------------------------- World


@dataclass
class World:
    """The sandbox's data: API documents plus outcomes, demographics and the truth.

    Attributes
    ----------
    postings
        ``PostingResponse`` dicts.
    questions
        posting_id -> active ``QuestionResponse`` dicts (sorted by rank).
    candidates
        posting_id -> ``CandidateResponse`` dicts (in ingestion order).
    interview_data
        interview_id -> ``InterviewDataResponse`` dict (completed interviews; unfinished ones
        are answered from the candidate record).
    outcomes, demographics
        The ATS export and the voluntary self-identification file, messy as a real export
        (``outcomes.csv`` / ``demographics.csv``).
    truth
        JSON-able facts behind the data (planted weights, formula, overrides, ...).
    """

    postings: list[dict[str, Any]]
    questions: dict[str, list[dict[str, Any]]]
    candidates: dict[str, list[dict[str, Any]]]
    interview_data: dict[str, dict[str, Any]]
    outcomes: pd.DataFrame
    demographics: pd.DataFrame
    truth: dict[str, Any]
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    deleted_questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    latent: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        n = sum(len(v) for v in self.candidates.values())
        return (
            f"World(postings={len(self.postings)}, candidates={n}, "
            f"interviews={len(self.interview_data)}, seed={self.truth.get('seed')})"
        )

    # ----------------------------------------------------------- lookups
    def posting(self, posting_id: str) -> dict[str, Any] | None:
        """The posting dict with this id, or None."""
        for p in self.postings:
            if p["id"] == posting_id:
                return p
        return None

    def candidate(self, interview_id: str) -> dict[str, Any] | None:
        """The candidate dict with this interview id, or None."""
        idx = self._candidate_index()
        return idx.get(interview_id)

    def _candidate_index(self) -> dict[str, dict[str, Any]]:
        idx = self.__dict__.get("_cidx")
        n = sum(len(v) for v in self.candidates.values())
        if idx is None or len(idx) != n:
            idx = {c["interview_id"]: c for cs in self.candidates.values() for c in cs}
            self.__dict__["_cidx"] = idx
        return idx

    def copy(self) -> World:
        """A deep copy (the server mutates its world); documents are cloned through JSON."""
        return World(
            postings=_clone(self.postings),
            questions=_clone(self.questions),
            candidates=_clone(self.candidates),
            interview_data=_clone(self.interview_data),
            outcomes=self.outcomes.copy(),
            demographics=self.demographics.copy(),
            truth=_clone(self.truth),
            webhooks=_clone(self.webhooks),
            deleted_questions=_clone(self.deleted_questions),
            latent=dict(self.latent),
        )

    def clean_outcomes(self) -> pd.DataFrame:
        """The true outcomes: interview_id, posting_id, hired (bool), performance (float)."""
        t = self.truth.get("outcomes_clean")
        if t is None:
            return pd.DataFrame(columns=["interview_id", "posting_id", "hired", "performance"])
        df = pd.DataFrame(t)
        df["hired"] = df["hired"].astype(bool)
        df["performance"] = df["performance"].astype(float)
        return df

    def clean_demographics(self) -> pd.DataFrame:
        """The true demographics: interview_id, sex, race_ethnicity (EEO-1, "Unknown" if none)."""
        return pd.DataFrame(self.truth.get("demographics_clean", {}))

    # ----------------------------------------------------------- persistence
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the world to ``folder`` (reproducible bytes: gzip with mtime 0).

        Files: ``postings.json``, ``questions.json``, ``candidates.json.gz``,
        ``interviews.jsonl.gz`` (one InterviewDataResponse per line), ``webhooks.json``,
        ``outcomes.csv``, ``demographics.csv``, ``truth.json.gz``. ``README.md`` is left alone.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "postings.json").write_text(_dumps(self.postings, indent=1) + "\n")
        qs = [q for pid in self.questions for q in self.questions[pid]]
        (folder / "questions.json").write_text(_dumps(qs, indent=1) + "\n")
        cands = [c for pid in self.candidates for c in self.candidates[pid]]
        _write_gz(folder / "candidates.json.gz", _dumps(cands).encode())
        lines = "".join(_dumps(d) + "\n" for d in self.interview_data.values())
        _write_gz(folder / "interviews.jsonl.gz", lines.encode())
        if self.webhooks or (folder / "webhooks.json").exists():
            (folder / "webhooks.json").write_text(_dumps(self.webhooks, indent=1) + "\n")
        self.outcomes.to_csv(folder / "outcomes.csv", index=False, lineterminator="\n")
        self.demographics.to_csv(folder / "demographics.csv", index=False, lineterminator="\n")
        truth = dict(self.truth)
        truth["deleted_questions"] = self.deleted_questions
        _write_gz(folder / "truth.json.gz", _dumps(truth, indent=1).encode())
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> World:
        """Read a folder written by :meth:`save` (the demo world is one)."""
        folder = Path(folder)
        if not (folder / "postings.json").exists():
            raise FileNotFoundError(
                f"{folder} is not a sandbox world folder (no postings.json); "
                "write one with World.save() or `milo-analytics sandbox --write-demo DIR`"
            )
        postings = json.loads((folder / "postings.json").read_text())
        questions: dict[str, list[dict[str, Any]]] = {p["id"]: [] for p in postings}
        for q in json.loads((folder / "questions.json").read_text()):
            questions.setdefault(q["posting_id"], []).append(q)
        candidates: dict[str, list[dict[str, Any]]] = {p["id"]: [] for p in postings}
        for c in json.loads(_read_gz(folder / "candidates.json.gz")):
            candidates.setdefault(c["posting_id"], []).append(c)
        interview_data: dict[str, dict[str, Any]] = {}
        for line in _read_gz(folder / "interviews.jsonl.gz").splitlines():
            if line.strip():
                d = json.loads(line)
                interview_data[d["interview_id"]] = d
        webhooks = []
        if (folder / "webhooks.json").exists():
            webhooks = json.loads((folder / "webhooks.json").read_text())
        truth = (
            json.loads(_read_gz(folder / "truth.json.gz"))
            if (folder / "truth.json.gz").exists()
            else {}
        )
        deleted = truth.pop("deleted_questions", {}) or {}
        outcomes = pd.read_csv(folder / "outcomes.csv", dtype=str, keep_default_na=False)
        demographics = pd.read_csv(folder / "demographics.csv", dtype=str, keep_default_na=False)
        return cls(
            postings=postings,
            questions=questions,
            candidates=candidates,
            interview_data=interview_data,
            outcomes=outcomes,
            demographics=demographics,
            truth=truth,
            webhooks=webhooks,
            deleted_questions=deleted,
        )


def _clone(obj: Any) -> Any:
    """Deep copy of JSON-able data (several times faster than copy.deepcopy)."""
    return json.loads(json.dumps(obj))


def _dumps(obj: Any, indent: int | None = None) -> str:
    if indent is None:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, indent=indent, ensure_ascii=False)


def _write_gz(path: Path, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())


def _read_gz(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode()


def demo_world_path() -> Path:
    """The folder of the packaged demo world (wheel: ``milo_analytics/_demo``; repo: data/demo)."""
    here = Path(__file__).resolve().parent.parent
    for p in (here / "_demo", here.parent / "data" / "demo"):
        if (p / "postings.json").exists():
            return p
    raise FileNotFoundError(
        "the demo world is missing (looked in milo_analytics/_demo and data/demo); "
        "regenerate it with `milo-analytics sandbox --write-demo data/demo --seed 7`"
    )


_DEMO_CACHE: dict[str, World] = {}


def load_demo_world(*, copy_world: bool = True) -> World:
    """The packaged demo world: a fresh one of your own, or with ``copy_world=False`` one
    shared (cached) instance that must not be changed.

    A fresh world is read from the files each time: parsing them (~0.2 s) is cheaper than
    cloning a cached world through JSON (~0.3 s), and the first call is not paid twice.

    Examples
    --------
    >>> w = load_demo_world()
    >>> w.truth["seed"]
    7
    """
    path = demo_world_path()
    if copy_world:
        return World.load(path)
    key = str(path)
    if key not in _DEMO_CACHE:
        _DEMO_CACHE[key] = World.load(path)
    return _DEMO_CACHE[key]


# --------------------------------------------------------------------------- generation


def _names(
    rng: np.random.Generator, n: int, seen: set[str] | None = None
) -> tuple[list[str], list[str]]:
    fi = rng.integers(0, len(FIRST_NAMES), n)
    li = rng.integers(0, len(LAST_NAMES), n)
    di = rng.integers(0, len(EMAIL_DOMAINS), n)
    names, emails = [], []
    seen = set() if seen is None else seen
    for k in range(n):
        f, last = FIRST_NAMES[fi[k]], LAST_NAMES[li[k]]
        names.append(f"{f} {last}")
        base = f"{f}.{last}".lower()
        email = f"{base}@{EMAIL_DOMAINS[di[k]]}"
        j = 1
        while email in seen:
            j += 1
            email = f"{base}{j}@{EMAIL_DOMAINS[di[k]]}"
        seen.add(email)
        emails.append(email)
    return names, emails


def _solve_intercept(lp: np.ndarray, rate: float) -> float:
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + lp)))) > rate:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def generate_world(config: WorldConfig | None = None, **overrides: Any) -> World:
    """Generate a synthetic world from a seeded numpy Generator.

    Parameters
    ----------
    config
        A :class:`WorldConfig`; ``None`` uses the demo defaults.
    **overrides
        Fields of WorldConfig to override (``generate_world(seed=3, n_candidates=50)``).

    Examples
    --------
    >>> w = generate_world(seed=3, n_candidates=40, n_second=0)
    >>> w.truth["formula"]
    'proportional'
    """
    cfg = config or WorldConfig()
    if overrides:
        cfg = WorldConfig.from_dict({**cfg.to_dict(), **overrides})
    rng = np.random.default_rng(cfg.seed)
    taken: set[str] = set()
    postings: list[dict[str, Any]] = []
    questions: dict[str, list[dict[str, Any]]] = {}
    candidates: dict[str, list[dict[str, Any]]] = {}
    interview_data: dict[str, dict[str, Any]] = {}
    out_rows: list[dict[str, Any]] = []
    truth: dict[str, Any] = {
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "formula": cfg.formula,
        "formula_text": (
            "score = round_half_up(100*sum(w_i*s_i)/(sum(w_i)*S_max), 1); match_score = round_half_up(score)"
            if cfg.formula == "proportional"
            else "score = round_half_up(100*sum(w_i*(s_i-1))/(sum(w_i)*(S_max-1)), 1); match_score = round_half_up(score)"
        ),
        "period": [_iso(PERIOD_START), _iso(PERIOD_END)],
        "postings": {},
        "overrides": [],
    }
    specs = [("csr", cfg.n_candidates)]
    if cfg.n_second > 0:
        specs.append(("second", cfg.n_second))
    latent_all: dict[str, Any] = {}
    demo_rows: list[dict[str, Any]] = []
    html_probe_done = False
    seen_emails: set[str] = set()

    for kind, n in specs:
        pid = _hex_ids(rng, 1, 4, taken)[0]
        created = PERIOD_START - 14 * 86400.0
        if kind == "csr":
            title, desc = (
                "Customer Service Representative",
                "Help customers by phone, chat and email; resolve issues with empathy and care.",
            )
            qspecs, scale = CSR_QUESTIONS, cfg.score_scale
        else:
            title, desc = (
                "Retail Sales Associate",
                "Advise shoppers, keep the floor tidy and close sales in a busy retail store.",
            )
            qspecs, scale = SECOND_QUESTIONS, cfg.second_scale
        post = posting_doc(pid, title, desc, created, video=cfg.video)
        qids = _hex_ids(rng, len(qspecs), 4, taken)
        qdocs = [
            question_doc(pid, qid, s, i + 1, created)
            for i, (qid, s) in enumerate(zip(qids, qspecs, strict=True))
        ]
        for qd, s in zip(qdocs, qspecs, strict=True):
            qd["_topic"] = s["topic"]
        scored_idx = [i for i, s in enumerate(qspecs) if not s.get("not_scored")]
        cur_w = np.array([float(qspecs[i]["score_weight"]) for i in scored_idx])
        if kind == "csr":
            true_w = np.array(
                cfg.outcome_weights
                if cfg.outcome_weights is not None
                else CSR_TRUE_OUTCOME_WEIGHTS,
                float,
            )
        else:
            true_w = np.array(SECOND_NEW_WEIGHTS, float)
        perf_w = (
            np.array(cfg.performance_weights, float)
            if (cfg.performance_weights and kind == "csr")
            else true_w
        )

        # abilities
        nq = len(qspecs)
        g = rng.normal(size=n)
        e = rng.normal(size=(n, nq))
        rho = cfg.item_correlation
        ab = math.sqrt(rho) * g[:, None] + math.sqrt(1 - rho) * e
        ratings = rate_answers(rng, ab, [scale] * nq, cfg.rating_noise)

        # demographics (independent of ability)
        race_p = np.array([p for _, p in RACE_CATEGORIES])
        race_i = rng.choice(len(RACE_CATEGORIES), size=n, p=race_p / race_p.sum())
        race = [RACE_CATEGORIES[k][0] for k in race_i]
        sex = np.where(rng.random(n) < 0.55, "Female", "Male")
        hisp = np.array([r == "Hispanic or Latino" for r in race])
        speech_lat = 0.5 * g + math.sqrt(0.75) * rng.normal(size=n) - cfg.speech_gap * hisp
        speech = speech_from_latent(speech_lat)

        # times and statuses
        created_at = np.sort(rng.uniform(PERIOD_START, PERIOD_END - 3 * 86400, n))
        delay = rng.gamma(1.5, 20 * 3600, n) + 600
        interviewed_at = created_at + delay
        unfinished = rng.random(n) < cfg.unfinished_rate
        # unfinished candidates were invited late in the period
        late = PERIOD_END - rng.uniform(0.5, 14, n) * 86400
        created_at = np.where(unfinished, late, created_at)
        order = np.argsort(created_at, kind="stable")
        unf_kind = rng.choice(["pending", "in_progress", "evaluating"], size=n, p=[0.55, 0.25, 0.2])
        knocked = (~unfinished) & (rng.random(n) < cfg.knockout_rate)

        # outcomes
        z = ab[:, scored_idx]
        comp = z @ true_w
        comp = (comp - comp.mean()) / comp.std()
        lp = cfg.outcome_scale * comp
        has = ~unfinished & ~knocked
        b0 = _solve_intercept(lp[has], cfg.hire_rate) if has.any() else 0.0
        p_hire = 1 / (1 + np.exp(-(b0 + lp)))
        hired = (rng.random(n) < p_hire) & has
        pc = z @ perf_w
        pc = (pc - pc.mean()) / pc.std()
        perf = np.round(np.clip(3.2 + 0.6 * pc + rng.normal(0, 0.45, n), 1, 5), 1)

        names, emails = _names(rng, n, seen_emails)
        iids = _hex_ids(rng, n, 8, taken)
        cids = [f"cand_{x.lower()}" for x in _hex_ids(rng, n, 6, taken)]
        ext = rng.choice(900000, size=n, replace=False) + 100000
        phones = rng.integers(1000, 9999, n)
        status_u = rng.random(n)
        overridden = (~unfinished) & (rng.random(n) < cfg.override_rate)

        # weights in force at interview time
        cand_list: list[dict[str, Any]] = []
        for k in order:
            cand = candidate_doc(
                interview_id=iids[k],
                candidate_id=cids[k],
                posting_id=pid,
                name=names[k],
                email=emails[k],
                phone=f"+1206555{phones[k]:04d}",
                external_id=f"ATS-{ext[k]}",
                created_at=round(float(created_at[k]), 1),
            )
            cand_list.append(cand)
            if unfinished[k]:
                set_unfinished_status(
                    cand, str(unf_kind[k]), round(float(created_at[k]) + 3600 * rng.random(), 1)
                )
                continue
            if knocked[k]:
                status = "knocked_out"
            elif hired[k]:
                status = "shortlisted" if status_u[k] < 0.85 else "completed"
            else:
                status = "dismissed" if status_u[k] < 0.25 else "completed"
            t_int = round(float(interviewed_at[k]), 1)
            if kind == "second" and t_int < SECOND_CHANGE_AT:
                weights = [s["score_weight"] for s in qspecs]
            else:
                weights = (
                    [d["score_weight"] for d in qdocs] if kind == "csr" else SECOND_NEW_WEIGHTS
                )
            probe = kind == "csr" and not html_probe_done
            doc = complete_candidate(
                rng,
                cand,
                qdocs,
                ratings[k].tolist(),
                float(speech[k]),
                t_int,
                scale=scale,
                formula=cfg.formula,
                video=cfg.video,
                transcripts=cfg.transcripts,
                status=status,
                weights=weights,
                html_probe=probe,
            )
            if probe:
                html_probe_done = True
                truth["html_probe_interview_id"] = iids[k]
            if overridden[k]:
                orig = doc["score"]
                new = float(
                    min(
                        100.0,
                        max(0.0, round_half_up(orig + rng.choice([-1, 1]) * rng.uniform(8, 20))),
                    )
                )
                when = round(
                    doc["workflow"]["last_activity_at"] + float(rng.uniform(1, 10)) * 86400, 1
                )
                doc["score"] = cand["score"] = new
                cand["workflow"]["last_activity_at"] = when
                truth["overrides"].append(
                    {"interview_id": iids[k], "original_score": orig, "score": new, "at": when}
                )
            interview_data[iids[k]] = doc
            out_rows.append(
                {
                    "interview_id": iids[k],
                    "posting_id": pid,
                    "email": emails[k],
                    "external_id": f"ATS-{ext[k]}",
                    "hired": bool(hired[k]),
                    "performance": float(perf[k]) if hired[k] else None,
                }
            )
        for k in range(n):
            demo_rows.append(
                {
                    "interview_id": iids[k],
                    "email": emails[k],
                    "sex": str(sex[k]),
                    "race_ethnicity": race[k],
                }
            )
        # the second posting's questions now carry the new weights
        if kind == "second":
            for qd, w in zip(qdocs, SECOND_NEW_WEIGHTS, strict=True):
                qd["score_weight"] = w
                qd["updated_at"] = SECOND_CHANGE_AT
            post["updated_at"] = SECOND_CHANGE_AT
        postings.append(post)
        questions[pid] = qdocs
        candidates[pid] = cand_list
        scored_ids = [qdocs[i]["id"] for i in scored_idx]
        truth["postings"][pid] = {
            "kind": kind,
            "title": title,
            "score_scale": scale,
            "scored_question_ids": scored_ids,
            "question_keys": {qdocs[i]["id"]: qspecs[i]["key"] for i in range(nq)},
            "current_weights": dict(zip(scored_ids, [float(w) for w in cur_w if True], strict=True))
            if kind == "csr"
            else dict(zip(scored_ids, [float(w) for w in SECOND_NEW_WEIGHTS], strict=True)),
            "true_outcome_weights": dict(zip(scored_ids, true_w.tolist(), strict=True)),
            "outcome_intercept": b0,
            "outcome_scale": cfg.outcome_scale,
            "weight_change": (
                {
                    "at": SECOND_CHANGE_AT,
                    "at_iso": _iso(SECOND_CHANGE_AT),
                    "old": dict(
                        zip(scored_ids, [float(s["score_weight"]) for s in qspecs], strict=True)
                    ),
                    "new": dict(
                        zip(scored_ids, [float(w) for w in SECOND_NEW_WEIGHTS], strict=True)
                    ),
                }
                if kind == "second"
                else None
            ),
            "n_candidates": n,
            "n_with_results": int((~unfinished).sum()),
            "hire_rate": float(hired[has].mean()) if has.any() else None,
        }
        if kind == "csr":
            truth["csr_posting_id"] = pid
            truth["planted"] = {
                "less_important_than_weighted": scored_ids[1],
                "more_important_than_weighted": scored_ids[4],
                "speech_gap_group": "Hispanic or Latino",
                "speech_gap_sd": cfg.speech_gap,
            }
        else:
            truth["second_posting_id"] = pid
        latent_all[pid] = {"abilities": ab, "order": order}

    truth["outcomes_clean"] = {
        "interview_id": [r["interview_id"] for r in out_rows],
        "posting_id": [r["posting_id"] for r in out_rows],
        "hired": [r["hired"] for r in out_rows],
        "performance": [r["performance"] for r in out_rows],
    }
    truth["demographics_clean"] = {
        "interview_id": [r["interview_id"] for r in demo_rows],
        "sex": [r["sex"] for r in demo_rows],
        "race_ethnicity": [r["race_ethnicity"] for r in demo_rows],
    }
    outcomes = _messy_outcomes(rng, out_rows)
    demographics = _messy_demographics(rng, demo_rows, cfg.demographics_response_rate)
    truth["files"] = {
        "outcomes.csv": "ATS export: one row per candidate with results, messy (blanks, Yes/No/Y/1 spellings, padded emails, duplicates, strangers)",
        "demographics.csv": "voluntary self-identification keyed by email; blanks and spelling variants",
    }
    return World(
        postings=postings,
        questions={pid: [_strip_private(q) for q in qs] for pid, qs in questions.items()},
        candidates=candidates,
        interview_data=interview_data,
        outcomes=outcomes,
        demographics=demographics,
        truth=truth,
        latent=latent_all,
    )


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One of ``options``, drawn uniformly (one ``rng.integers`` draw)."""
    return options[int(rng.integers(0, len(options)))]


def _strip_private(q: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in q.items() if not k.startswith("_")}


def _messy_outcomes(rng: np.random.Generator, rows: list[dict[str, Any]]) -> pd.DataFrame:
    yes = ["Yes"] * 12 + ["yes", "Y", "1", "TRUE", "Hired"]
    no = ["No"] * 12 + ["no", "N", "0", "FALSE", "Rejected"]
    recs = []
    recruiters = ["A. Moreno", "J. Park", "K. Osei", "L. Fischer"]
    for r in rows:
        u = rng.random(4)
        email = r["email"]
        if u[0] < 0.04:
            email = email.upper()
        elif u[0] < 0.08:
            email = f" {email} "
        hired_txt = _pick(rng, yes if r["hired"] else no)
        if u[1] < 0.01:
            hired_txt = ""
        perf = "" if r["performance"] is None or u[2] < 0.03 else f"{r['performance']:.1f}"
        recs.append(
            {
                "interview_id": "" if u[3] < 0.1 else r["interview_id"],
                "email": email,
                "external_id": r["external_id"],
                "requisition": "REQ-2026-"
                + ("014" if r["posting_id"] == rows[0]["posting_id"] else "027"),
                "recruiter": _pick(rng, recruiters),
                "hired": hired_txt,
                "performance": perf,
            }
        )
    # a few duplicates (one conflicting) and strangers absent from the API
    if len(recs) > 10:
        for j in rng.choice(len(recs), size=3, replace=False):
            recs.append(dict(recs[int(j)]))
        c = dict(_pick(rng, recs))
        c["hired"] = "No" if c["hired"] in yes else "Yes"
        recs.append(c)
        for k in range(4):
            recs.append(
                {
                    "interview_id": "",
                    "email": f"walk.in{k + 1}@example.com",
                    "external_id": f"ATS-{9000000 + k}",
                    "requisition": "REQ-2026-014",
                    "recruiter": recruiters[0],
                    "hired": "Yes" if k == 0 else "No",
                    "performance": "3.5" if k == 0 else "",
                }
            )
    return pd.DataFrame(recs, dtype=str)


def _messy_demographics(
    rng: np.random.Generator, rows: list[dict[str, Any]], response_rate: float
) -> pd.DataFrame:
    recs = []
    for r in rows:
        u = rng.random(4)
        if u[0] > response_rate:
            continue  # did not answer the voluntary form
        sexes = SEX_SPELLINGS[r["sex"]]
        sex = _pick(rng, sexes) if u[1] > 0.05 else _pick(rng, DECLINED)
        races = RACE_SPELLINGS[r["race_ethnicity"]]
        race = _pick(rng, races) if u[2] > 0.06 else _pick(rng, DECLINED)
        email = r["email"].upper() if u[3] < 0.03 else r["email"]
        recs.append({"email": email, "sex": sex, "race_ethnicity": race})
    return pd.DataFrame(recs, columns=["email", "sex", "race_ethnicity"], dtype=str)
