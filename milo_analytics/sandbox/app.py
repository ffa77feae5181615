"""The sandbox's ASGI application: HeyMilo's public API (v2, also under /api/v4) over a World.

Envelopes, status codes and error bodies follow HeyMilo's API document
(``shared/heymilo/openapi.json``):

* one object: ``{"data": {...}, "meta": {}}``; lists: ``{"data": [...], "pagination":
  {"has_more", "total_count", "url"}}`` with cursor paging (``limit`` 1–100, default 20,
  ``starting_after`` = the id of the last item of the previous page; for candidates the
  ``interview_id``);
* errors: ``{"error": {type, code, message, param, errors[]}}`` for 400/401/404/429/5xx and for
  rule violations answered with 422 (a ``score_weight`` outside 1–10, an incomplete reorder,
  an invalid e-mail); FastAPI's ``{"detail": [{loc, msg, type}]}`` with 422 when the body or
  query does not match the schema (missing field, wrong type, malformed JSON).

Faults: with a rate limit every answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``
and ``X-RateLimit-Reset`` (whole seconds until the one-minute window of this key ends, a delta,
not an epoch); past the limit the answer is 429 with ``Retry-After`` (seconds).

Every response carries a unique ``X-Request-Id`` (``req_<hex>``), as HeyMilo's gateway does, so
the client's "request id in error messages" path runs over real HTTP.

Routes (relative to the version prefix): see :data:`ROUTES`. ``GET /health`` sits at the root
and needs no key.

Examples
--------
>>> from milo_analytics.sandbox.app import ROUTES
>>> ("GET", "/interviews/{interview_id}/data") in [(m, t) for m, t, _ in ROUTES]
True
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.routing import compile_path

from .faults import Faults
from .simulate import WEBHOOK_EVENTS, Simulation
from .world import World, candidate_doc, question_doc, unfinished_document

__all__ = ["ROUTES", "SandboxApp", "SandboxState", "complete_pending", "create_app"]

PREFIXES = ("/api/v2", "/api/v4")
ADMIN_PREFIX = "/_sandbox/"
MODALITIES = ("voice", "sms", "form", "resume_eligibility", "resume_scoring", "voice_tags")
DELIVERY_MODES = ("exact_delivery", "summarized_delivery", "reference_only", "silent_reference")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------- errors


class HTTPError(Exception):
    """An error answer: ``status`` with a JSON ``body``."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


ERROR_TYPES = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    404: ("invalid_request_error", "resource_not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", "validation_error"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("api_error", "internal_error"),
    502: ("api_error", "bad_gateway"),
    503: ("api_error", "service_unavailable"),
}


def api_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPError:
    """An ``APIErrorResponse`` (``{"error": {...}}``) answer."""
    typ, default_code = ERROR_TYPES.get(status, ("api_error", "error"))
    err: dict[str, Any] = {
        "type": typ,
        "code": code or default_code,
        "message": message,
        "param": param,
        "doc_url": None,
    }
    if errors:
        err["errors"] = errors
    return HTTPError(status, {"error": err}, headers)


def invalid_param(param: str, message: str) -> HTTPError:
    """422 ``{"error": ...}`` for a rule violation on one parameter."""
    return api_error(
        422,
        f"The request failed validation: {message}",
        param=param,
        errors=[{"code": "invalid_param", "message": message, "param": param}],
    )


class DetailErrors:
    """Collects FastAPI-style ``{"detail": [...]}`` validation errors (answered with 422)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: list[Any], msg: str, typ: str, value: Any = None) -> None:
        item: dict[str, Any] = {"loc": loc, "msg": msg, "type": typ}
        if value is not None:
            item["input"] = value
        self.items.append(item)

    def raise_if_any(self) -> None:
        if self.items:
            raise HTTPError(422, {"detail": self.items})


# field specs: name -> (kind, required, constraints)
_MISSING = object()


def _check(
    errs: DetailErrors, loc: list[Any], value: Any, kind: str, nullable: bool, **c: Any
) -> Any:
    """Validate one value like pydantic would; return the coerced value."""
    if value is None:
        if nullable:
            return None
        errs.add(loc, f"Input should be a valid {kind}", f"{kind}_type", value)
        return None
    if kind == "string":
        if not isinstance(value, str):
            errs.add(loc, "Input should be a valid string", "string_type", value)
            return value
        if "min_length" in c and len(value) < c["min_length"]:
            errs.add(
                loc,
                f"String should have at least {c['min_length']} characters",
                "string_too_short",
                value,
            )
        if "max_length" in c and len(value) > c["max_length"]:
            errs.add(
                loc,
                f"String should have at most {c['max_length']} characters",
                "string_too_long",
                value,
            )
        if "enum" in c and value not in c["enum"]:
            errs.add(loc, "Input should be " + ", ".join(repr(e) for e in c["enum"]), "enum", value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            errs.add(loc, "Input should be a valid boolean", "bool_type", value)
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            errs.add(loc, "Input should be a valid integer", "int_type", value)
            return value
        if isinstance(value, float):
            if not value.is_integer():
                errs.add(
                    loc,
                    "Input should be a valid integer, got a number with a fractional part",
                    "int_from_float",
                    value,
                )
                return value
            value = int(value)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            errs.add(loc, "Input should be a valid number", "float_type", value)
        return value
    if kind == "object":
        if not isinstance(value, dict):
            errs.add(loc, "Input should be a valid dictionary", "dict_type", value)
        return value
    if kind == "array":
        if not isinstance(value, list):
            errs.add(loc, "Input should be a valid list", "list_type", value)
        return value
    if kind == "any":
        return value
    raise AssertionError(kind)


def _validate(
    body: Any,
    spec: dict[str, tuple[str, bool, bool, dict[str, Any]]],
    loc0: list[Any] | None = None,
    errs: DetailErrors | None = None,
) -> dict[str, Any]:
    """Validate a JSON object against ``spec`` (name -> (kind, required, nullable, constraints)).

    Unknown fields are ignored (as FastAPI does); returns the fields that were sent.
    """
    own = errs is None
    errs = errs or DetailErrors()
    loc0 = loc0 or ["body"]
    if not isinstance(body, dict):
        errs.add(
            loc0,
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
            body,
        )
        if own:
            errs.raise_if_any()
        return {}
    out: dict[str, Any] = {}
    for name, (kind, required, nullable, cons) in spec.items():
        v = body.get(name, _MISSING)
        if v is _MISSING:
            if required:
                errs.add([*loc0, name], "Field required", "missing")
            continue
        out[name] = _check(errs, [*loc0, name], v, kind, nullable, **cons)
    if own:
        errs.raise_if_any()
    return out


def _metadata_rules(md: Any, param: str = "metadata") -> None:
    if md is None:
        return
    if len(md) > 50:
        raise invalid_param(param, f"metadata may have at most 50 keys, got {len(md)}")
    for k, v in md.items():
        if len(k) > 40:
            raise invalid_param(param, f"metadata key {k[:50]!r} is longer than 40 characters")
        if not isinstance(v, str):
            raise invalid_param(
                param, f"metadata value of {k!r} must be a string, got {type(v).__name__}"
            )
        if len(v) > 500:
            raise invalid_param(param, f"metadata value of {k!r} is longer than 500 characters")


def _str_dict(errs: DetailErrors, loc: list[Any], md: Any) -> None:
    if isinstance(md, dict):
        for k, v in md.items():
            if not isinstance(v, str):
                errs.add([*loc, k], "Input should be a valid string", "string_type", v)


S = "string"
QUESTION_FIELDS: dict[str, tuple[str, bool, bool, dict[str, Any]]] = {
    "text": (S, False, True, {}),
    "evaluation_criteria": (S, False, True, {}),
    "score_of_1": (S, False, True, {}),
    "score_of_5": (S, False, True, {}),
    "score_weight": ("number", False, True, {}),
    "not_scored": ("boolean", False, True, {}),
    "question_type": (S, False, True, {}),
    "min_follow_ups": ("integer", False, True, {}),
    "max_follow_ups": ("integer", False, True, {}),
    "additional_instructions": (S, False, True, {}),
    "post_processing_evaluation_criteria": (S, False, True, {}),
    "expected_answer": (S, False, True, {}),
    "expected_value": ("integer", False, True, {}),
    "is_dealbreaker": ("boolean", False, True, {}),
    "answer": ("any", False, True, {}),
    "is_knockout": ("boolean", False, True, {}),
    "dropdown_values": ("array", False, True, {}),
    "is_answer_mandated": ("boolean", False, True, {}),
    "mcq_type": (S, False, True, {}),
    "operator": (S, False, True, {}),
    "file_types": ("array", False, True, {}),
    "allow_multiple_files": ("boolean", False, True, {}),
    "slider_min": ("number", False, True, {}),
    "slider_max": ("number", False, True, {}),
    "slider_step": ("number", False, True, {}),
    "response_format": (S, False, True, {"enum": ("text", "freeform", "date", "number")}),
    "instructions": (S, False, True, {}),
    "options": ("array", False, True, {}),
    "structured_config": ("object", False, True, {}),
}
POSTING_UPDATE_FIELDS: dict[str, tuple[str, bool, bool, dict[str, Any]]] = {
    "title": (S, False, True, {"min_length": 3, "max_length": 200}),
    "description": (S, False, True, {"min_length": 10, "max_length": 50000}),
    "name": (S, False, True, {"max_length": 100}),
    "language": (S, False, True, {}),
    "interviewer_name": (S, False, True, {"max_length": 100}),
    "instructions": (S, False, True, {"max_length": 10000}),
    "company_overview": (S, False, True, {"max_length": 10000}),
    "job_overview": (S, False, True, {"max_length": 10000}),
    "interview_process_overview": (S, False, True, {"max_length": 10000}),
    "company_overview_delivery_mode": (S, False, True, {"enum": DELIVERY_MODES}),
    "job_overview_delivery_mode": (S, False, True, {"enum": DELIVERY_MODES}),
    "interview_process_overview_delivery_mode": (S, False, True, {"enum": DELIVERY_MODES}),
    "phone_number_id": (S, False, True, {}),
    "sender_email_id": (S, False, True, {}),
    "email_template_group_id": (S, False, True, {}),
    "design_template_group_id": (S, False, True, {}),
    "redirect_url": (S, False, True, {}),
    "scheduling_url": (S, False, True, {}),
    "deadline": (S, False, True, {}),
    "allow_sms_comms": ("boolean", False, True, {}),
    "max_retakes": ("integer", False, True, {}),
    "retake_cooldown_days": ("number", False, True, {}),
    "email_report_to_candidate": ("boolean", False, True, {}),
    "metadata": ("object", False, True, {}),
}
POSTING_CREATE_FIELDS: dict[str, tuple[str, bool, bool, dict[str, Any]]] = {
    **POSTING_UPDATE_FIELDS,
    "title": (S, True, False, {"min_length": 3, "max_length": 200}),
    "description": (S, False, False, {"max_length": 50000}),
    "workflow": ("array", False, True, {}),
    "interview_template_id": (S, False, True, {}),
    "language": (S, False, False, {}),
    "interviewer_name": (S, False, False, {}),
}
CANDIDATE_FIELDS: dict[str, tuple[str, bool, bool, dict[str, Any]]] = {
    "name": (S, True, False, {}),
    "email": (S, True, False, {}),
    "phone_number": (S, False, True, {}),
    "metadata": ("object", False, True, {}),
    "data": ("object", False, True, {}),
}


# --------------------------------------------------------------------------- state


class SandboxState:
    """The live state behind one sandbox server (world, key, faults, counters, caches)."""

    def __init__(
        self,
        world: World,
        *,
        api_key: str,
        faults: Faults | None = None,
        simulation: Simulation | None = None,
        seed: int = 0,
        default_scale: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.world = world
        self.api_key = api_key
        self.faults = faults or Faults(seed=seed)
        self.simulation = simulation or Simulation(seed=seed)
        self.default_scale = default_scale
        self.clock = clock
        self.lock = threading.RLock()
        #: Set when the server is stopping: simulated latency ends at once (a stop does not
        #: wait out the answers in flight).
        self.stopping = threading.Event()
        self.counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self.rng = random.Random(seed)
        self._doc_cache: dict[str, bytes] = {}
        self._cand_cache: dict[str, bytes] = {}
        self._cand_pos: dict[str, tuple[int, dict[str, int], list[float] | None]] = {}
        self._candidate_ids: dict[str, str] | None = None

    # ------------------------------------------------------------- bookkeeping
    def count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def reset_counts(self) -> None:
        with self._counts_lock:
            self.counts.clear()

    def touch(self, interview_id: str) -> None:
        """Forget cached JSON of an interview after its documents changed."""
        self._doc_cache.pop(interview_id, None)
        self._cand_cache.pop(interview_id, None)

    def touch_all(self) -> None:
        self._doc_cache.clear()
        self._cand_cache.clear()

    def new_hex(self, nbytes: int) -> str:
        return f"{self.rng.getrandbits(nbytes * 8):0{nbytes * 2}X}"

    def candidate_id_for(self, email: str) -> str:
        if self._candidate_ids is None:
            self._candidate_ids = {
                c["email"].strip().lower(): c["candidate_id"]
                for cs in self.world.candidates.values()
                for c in cs
                if c.get("candidate_id")
            }
        key = email.strip().lower()
        if key not in self._candidate_ids:
            self._candidate_ids[key] = "cand_" + self.new_hex(6).lower()
        return self._candidate_ids[key]

    # ------------------------------------------------------------- lookups
    def posting_or_404(self, posting_id: str) -> dict[str, Any]:
        p = self.world.posting(posting_id)
        if p is None:
            raise api_error(404, f"Posting {posting_id!r} not found.", param="posting_id")
        return p

    def question_or_404(self, posting_id: str, question_id: str) -> dict[str, Any]:
        self.posting_or_404(posting_id)
        for q in self.world.questions.get(posting_id, []):
            if q["id"] == question_id:
                return q
        raise api_error(
            404,
            f"Question {question_id!r} not found in posting {posting_id!r}.",
            param="question_id",
        )

    def candidate_or_404(self, interview_id: str) -> dict[str, Any]:
        c = self.world.candidate(interview_id)
        if c is None:
            raise api_error(404, f"Interview {interview_id!r} not found.", param="interview_id")
        return c

    def candidate_json(self, cand: dict[str, Any]) -> bytes:
        iid = cand["interview_id"]
        b = self._cand_cache.get(iid)
        if b is None:
            b = self._cand_cache[iid] = _dumps(cand)
        return b

    def candidate_positions(self, posting_id: str) -> dict[str, int]:
        """interview_id -> position in the posting's candidate list (cached per length)."""
        return self._candidate_meta(posting_id)[0]

    def _candidate_meta(self, posting_id: str) -> tuple[dict[str, int], list[float] | None]:
        cands = self.world.candidates.get(posting_id, [])
        n, idx, created = self._cand_pos.get(posting_id, (-1, {}, None))
        if n != len(cands):
            idx = {c["interview_id"]: i for i, c in enumerate(cands)}
            times = [float(c.get("created_at") or 0) for c in cands]
            created = times if all(a <= b for a, b in itertools.pairwise(times)) else None
            self._cand_pos[posting_id] = (len(cands), idx, created)
        return idx, created

    def candidates_between(
        self, posting_id: str, after: float | None, before: float | None
    ) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        """Candidates created in ``[after, before]`` (bisect when the list is in time order)."""
        cands = self.world.candidates.get(posting_id, [])
        idx, created = self._candidate_meta(posting_id)
        if after is None and before is None:
            return cands, idx
        if created is not None:
            lo = 0 if after is None else bisect.bisect_left(created, after)
            hi = len(created) if before is None else bisect.bisect_right(created, before)
            return cands[lo:hi], None
        out = [
            c
            for c in cands
            if (after is None or (c.get("created_at") or 0) >= after)
            and (before is None or (c.get("created_at") or 0) <= before)
        ]
        return out, None

    def interview_body(self, interview_id: str) -> bytes:
        """The full JSON body of ``GET /interviews/{id}/data`` (cached for finished ones)."""
        b = self._doc_cache.get(interview_id)
        if b is not None:
            return b
        cand = self.candidate_or_404(interview_id)
        doc = self.world.interview_data.get(interview_id)
        if doc is None:
            return _dumps({"data": unfinished_document(cand), "meta": {}})
        b = _dumps({"data": doc, "meta": {}})
        self._doc_cache[interview_id] = b
        return b

    # ------------------------------------------------------------- actions
    def override_score(
        self, interview_id: str, score: float, at: float | None = None
    ) -> dict[str, Any]:
        """A recruiter overrides an interview's overall score (score + last_activity_at change)."""
        if not 0 <= float(score) <= 100:
            raise ValueError(f"score must be between 0 and 100, got {score}")
        with self.lock:
            cand = self.world.candidate(interview_id)
            doc = self.world.interview_data.get(interview_id)
            if cand is None or doc is None:
                raise KeyError(f"no finished interview {interview_id!r} to override")
            at = round(self.clock() if at is None else at, 3)
            cand["score"] = doc["score"] = float(score)
            cand["workflow"]["last_activity_at"] = at
            if doc.get("workflow") is not cand["workflow"]:
                doc["workflow"] = cand["workflow"]
            self.world.truth.setdefault("overrides", []).append(
                {
                    "interview_id": interview_id,
                    "score": float(score),
                    "at": at,
                    "via": "override_score",
                }
            )
            self.touch(interview_id)
            return cand


# --------------------------------------------------------------------------- request context


class Ctx:
    """One parsed request handed to a handler."""

    __slots__ = ("body", "method", "params", "path", "prefix", "query", "state")

    def __init__(
        self,
        state: SandboxState,
        method: str,
        path: str,
        prefix: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> None:
        self.state = state
        self.method = method
        self.path = path
        self.prefix = prefix
        self.params = params
        self.query = query
        self.body = body

    def json(self) -> Any:
        if not self.body.strip():
            raise HTTPError(
                422, {"detail": [{"loc": ["body"], "msg": "Field required", "type": "missing"}]}
            )
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            pos = getattr(exc, "pos", 0)
            raise HTTPError(
                422,
                {
                    "detail": [
                        {
                            "type": "json_invalid",
                            "loc": ["body", pos],
                            "msg": "JSON decode error",
                            "input": {},
                            "ctx": {"error": str(getattr(exc, "msg", exc))},
                        }
                    ]
                },
            ) from None

    def q(self, name: str) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else None


class Resp:
    """A handler's answer."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers


def single(obj: Any, status: int = 200, meta: dict[str, Any] | None = None) -> Resp:
    return Resp(status, _dumps({"data": obj, "meta": meta if meta is not None else {}}))


def paginate(
    ctx: Ctx,
    items: list[Any],
    key: Callable[[Any], str],
    *,
    raw: Callable[[Any], bytes] | None = None,
    positions: dict[str, int] | None = None,
) -> Resp:
    """A cursor page of ``items`` as a ListResponse."""
    limit = _limit(ctx)
    after = ctx.q("starting_after")
    start = 0
    if after:
        pos = positions.get(after) if positions is not None else None
        if pos is None or pos >= len(items) or key(items[pos]) != after:
            pos = next((i for i, it in enumerate(items) if key(it) == after), None)
        if pos is None:
            raise api_error(
                400,
                f"starting_after={after!r} is not an item of this list; pass the id of the last item of the previous page.",
                param="starting_after",
            )
        start = pos + 1
    page = items[start : start + limit]
    has_more = start + limit < len(items)
    pag = _dumps({"has_more": has_more, "total_count": len(items), "url": ctx.prefix + ctx.path})
    parts = b",".join(raw(it) for it in page) if raw else b",".join(_dumps(it) for it in page)
    return Resp(200, b'{"data":[' + parts + b'],"pagination":' + pag + b"}")


def _limit(ctx: Ctx) -> int:
    v = ctx.q("limit")
    if v is None:
        return 20
    errs = DetailErrors()
    try:
        n = int(v)
    except ValueError:
        errs.add(
            ["query", "limit"],
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
            v,
        )
        errs.raise_if_any()
        raise AssertionError from None
    if n < 1:
        errs.add(
            ["query", "limit"],
            "Input should be greater than or equal to 1",
            "greater_than_equal",
            v,
        )
    if n > 100:
        errs.add(
            ["query", "limit"], "Input should be less than or equal to 100", "less_than_equal", v
        )
    errs.raise_if_any()
    return n


def _parse_time(ctx: Ctx, name: str) -> float | None:
    v = ctx.q(name)
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        pass
    try:
        s = v.strip().replace("Z", "+00:00").replace(" ", "+", 1) if "T" in v else v.strip()
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise HTTPError(
            422,
            {
                "detail": [
                    {
                        "loc": ["query", name],
                        "msg": "Input should be an ISO-8601 datetime or epoch seconds",
                        "type": "datetime_parsing",
                        "input": v,
                    }
                ]
            },
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


# --------------------------------------------------------------------------- handlers


def h_list_postings(ctx: Ctx) -> Resp:
    items = ctx.state.world.postings
    search = ctx.q("search")
    if search:
        items = [p for p in items if search.lower() in p["title"].lower()]
    return paginate(ctx, items, lambda p: p["id"])


def h_list_posting_summaries(ctx: Ctx) -> Resp:
    items = ctx.state.world.postings
    search = ctx.q("search")
    if search:
        items = [p for p in items if search.lower() in p["title"].lower()]
    summ = [
        {"object": "posting_summary", "id": p["id"], "title": p["title"], "name": p.get("name")}
        for p in items
    ]
    return paginate(ctx, summ, lambda p: p["id"])


def _normalise_weight(errs: DetailErrors, loc: list[Any], w: Any, *, allow_float: bool) -> Any:
    """Type-check a score_weight; range rules are checked separately (error envelope)."""
    if w is None:
        return None
    if isinstance(w, bool) or not isinstance(w, int | float):
        errs.add(loc, "Input should be a valid integer", "int_type", w)
        return w
    if isinstance(w, float) and not w.is_integer() and not allow_float:
        errs.add(
            loc,
            "Input should be a valid integer, got a number with a fractional part",
            "int_from_float",
            w,
        )
    return w


def _weight_range(w: Any, lo: float, hi: float, param: str = "score_weight") -> None:
    if w is not None and isinstance(w, int | float) and not lo <= w <= hi:
        raise invalid_param(param, f"score_weight must be between {lo:g} and {hi:g}, got {w}")


def h_create_posting(ctx: Ctx) -> Resp:
    st = ctx.state
    body = ctx.json()
    errs = DetailErrors()
    f = _validate(body, POSTING_CREATE_FIELDS, errs=errs)
    _str_dict(errs, ["body", "metadata"], f.get("metadata"))
    steps_in = f.get("workflow")
    if steps_in is None and not f.get("interview_template_id"):
        errs.add(
            ["body", "workflow"], "Field required (workflow or interview_template_id)", "missing"
        )
    steps: list[tuple[dict[str, Any], list[dict[str, Any]] | None]] = []
    for i, step in enumerate(steps_in or []):
        loc = ["body", "workflow", i]
        if not isinstance(step, dict):
            errs.add(loc, "Input should be a valid dictionary", "dict_type", step)
            continue
        typ = step.get("type")
        if typ not in ("web_interview", "conversational_sms", "resume", "form"):
            errs.add(
                [*loc, "type"],
                "Input tag should be 'web_interview', 'conversational_sms', 'resume' or 'form'",
                "union_tag_invalid",
                typ,
            )
            continue
        cfg = step.get("config")
        if cfg is not None and not isinstance(cfg, dict):
            errs.add([*loc, typ, "config"], "Input should be a valid dictionary", "dict_type", cfg)
        qs = step.get("questions")
        if qs is not None and not isinstance(qs, list):
            errs.add([*loc, typ, "questions"], "Input should be a valid list", "list_type", qs)
            qs = None
        for j, q in enumerate(qs or []):
            qloc = [*loc, typ, "questions", j]
            qv = _validate(
                q,
                {
                    "modality": (S, True, False, {}),
                    "text": (S, True, False, {}),
                    **{
                        k: v
                        for k, v in QUESTION_FIELDS.items()
                        if k not in ("text", "score_weight")
                    },
                },
                loc0=qloc,
                errs=errs,
            )
            if isinstance(q, dict):
                _normalise_weight(
                    errs, [*qloc, "score_weight"], q.get("score_weight"), allow_float=True
                )
            del qv
        steps.append((step, qs))
    errs.raise_if_any()
    _metadata_rules(f.get("metadata"))
    for _step, qs in steps:
        for j, q in enumerate(qs or []):
            # inline creation takes the guide's float weights (3.0, 1.5); 0–10 accepted
            _weight_range(
                q.get("score_weight"), 0, 10, param=f"workflow.questions[{j}].score_weight"
            )
    now = round(st.clock(), 3)
    with st.lock:
        pid = st.new_hex(4)
        while st.world.posting(pid) is not None:
            pid = st.new_hex(4)
        workflow = []
        questions: list[dict[str, Any]] = []
        for order, (step, qs) in enumerate(steps, start=1):
            typ = step["type"]
            sid = {
                "web_interview": "agent_vi",
                "conversational_sms": "agent_sms",
                "resume": "agent_rs",
                "form": "agent_fm",
            }[typ]
            workflow.append(
                {
                    "id": f"{sid}_{order:03d}",
                    "type": typ,
                    "order": order,
                    "config": dict(step.get("config") or {}),
                }
            )
            if typ == "web_interview" and not qs:
                qs = [
                    {"modality": "voice", "text": t, "score_weight": 5}
                    for t in (
                        f"Tell me about your experience relevant to the {f['title']} role.",
                        "Describe a challenge you faced at work and how you handled it.",
                        "How do you prioritise when you have several urgent tasks?",
                        "Tell me about a time you received difficult feedback.",
                        "Why are you interested in this role?",
                    )
                ]
            ranks: dict[str, int] = {}
            for q in qs or []:
                mod = q.get("modality") or "voice"
                ranks[mod] = ranks.get(mod, 0) + 1
                spec = {k: q.get(k) for k in QUESTION_FIELDS if k in q}
                spec["text"] = q["text"]
                qd = question_doc(pid, st.new_hex(4), spec, ranks[mod], now)
                qd["modality"] = mod
                if q.get("not_scored") is None:
                    qd["not_scored"] = False
                qd["question_type"] = q.get("question_type") or qd["question_type"]
                for k in QUESTION_FIELDS:
                    if k in q and k not in qd:
                        qd[k] = q[k]
                questions.append(qd)
        posting = {
            "object": "posting",
            "id": pid,
            "company_id": st.world.postings[0]["company_id"] if st.world.postings else "CMP7F3A21",
            "title": f["title"],
            "name": f.get("name") or re.sub(r"[^a-z0-9]+", "-", f["title"].lower()).strip("-"),
            "description": f.get("description", ""),
            "language": f.get("language", "en"),
            "interviewer_name": f.get("interviewer_name", "Sarah"),
            "status": "active",
            "finalized": True,
            "archived": False,
            "test_posting": False,
            "workflow": workflow,
            "urls": {
                "candidate_url": f"https://candidates.heymilo.io/acme/{pid.lower()}",
                "ingestion_url_key": f"ik_{pid.lower()}",
                "review_url": f"https://app.heymilo.ai/postings/{pid}",
            },
            "deadline": _deadline(f.get("deadline"), now),
            "redirect_url": f.get("redirect_url"),
            "scheduling_url": f.get("scheduling_url"),
            "max_retakes": f.get("max_retakes"),
            "allow_sms_comms": bool(f.get("allow_sms_comms") or False),
            "instructions": f.get("instructions", ""),
            "company_overview": f.get("company_overview", ""),
            "job_overview": f.get("job_overview", ""),
            "interview_process_overview": f.get("interview_process_overview"),
            "email_report_to_candidate": bool(f.get("email_report_to_candidate") or False),
            "ats_metadata": None,
            "metadata": f.get("metadata") or {},
            "created_at": now,
            "updated_at": now,
        }
        for k in (
            "company_overview_delivery_mode",
            "job_overview_delivery_mode",
            "interview_process_overview_delivery_mode",
            "phone_number_id",
            "sender_email_id",
            "email_template_group_id",
            "design_template_group_id",
            "retake_cooldown_days",
        ):
            if k in f:
                posting[k] = f[k]
        st.world.postings.append(posting)
        st.world.questions[pid] = questions
        st.world.candidates[pid] = []
    resp = {
        "object": "posting",
        "id": pid,
        "status": "active",
        "urls": posting["urls"],
        "created_at": now,
        "posting": posting,
    }
    return single(resp, 201)


def _deadline(v: str | None, now: float) -> float:
    if not v:
        return now + 31 * 86400.0
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(
            "deadline", f"deadline must be an ISO-8601 date-time, got {v!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def h_get_posting(ctx: Ctx) -> Resp:
    return single(ctx.state.posting_or_404(ctx.params["posting_id"]))


def h_update_posting(ctx: Ctx) -> Resp:
    st = ctx.state
    posting = st.posting_or_404(ctx.params["posting_id"])
    body = ctx.json()
    errs = DetailErrors()
    f = _validate(body, POSTING_UPDATE_FIELDS, errs=errs)
    _str_dict(errs, ["body", "metadata"], f.get("metadata"))
    errs.raise_if_any()
    _metadata_rules(f.get("metadata"))
    if f.get("max_retakes") is not None and not 0 <= f["max_retakes"] <= 5:
        raise invalid_param(
            "max_retakes", f"max_retakes must be between 0 and 5, got {f['max_retakes']}"
        )
    with st.lock:
        for k, v in f.items():
            if v is None and k not in ("metadata",):
                continue
            if k == "deadline":
                posting["deadline"] = _deadline(v, st.clock())
            elif k == "metadata":
                posting["metadata"] = v or {}
            else:
                posting[k] = v
        posting["updated_at"] = round(st.clock(), 3)
    return single(posting)


def h_posting_stats(ctx: Ctx) -> Resp:
    st = ctx.state
    posting = st.posting_or_404(ctx.params["posting_id"])
    with st.lock:
        cands = st.world.candidates.get(posting["id"], [])
        done = [
            c
            for c in cands
            if c["status"] in ("completed", "shortlisted", "dismissed", "knocked_out")
        ]
        scores = [c["score"] for c in done if c.get("score") is not None]
    return single(
        {
            "object": "posting_stats",
            "posting_id": posting["id"],
            "title": posting["title"],
            "name": posting.get("name"),
            "total_candidates": len(cands),
            "completed_interviews": len(done),
            "average_interview_score": round(sum(scores) / len(scores), 2) if scores else None,
            "average_resume_score": None,
        }
    )


def h_list_questions(ctx: Ctx) -> Resp:
    st = ctx.state
    pid = ctx.params["posting_id"]
    st.posting_or_404(pid)
    mod = ctx.q("modality")
    if mod is not None and mod not in MODALITIES:
        raise HTTPError(
            422,
            {
                "detail": [
                    {
                        "loc": ["query", "modality"],
                        "msg": "Input should be " + ", ".join(repr(m) for m in MODALITIES),
                        "type": "enum",
                        "input": mod,
                    }
                ]
            },
        )
    with st.lock:
        qs = sorted(
            st.world.questions.get(pid, []),
            key=lambda q: (
                MODALITIES.index(q["modality"]) if q["modality"] in MODALITIES else 99,
                q.get("rank") or 0,
            ),
        )
        if mod:
            qs = [q for q in qs if q["modality"] == mod]
        return paginate(ctx, qs, lambda q: q["id"])


def _question_body(ctx: Ctx, *, create: bool) -> dict[str, Any]:
    body = ctx.json()
    errs = DetailErrors()
    spec = {k: v for k, v in QUESTION_FIELDS.items() if k != "score_weight"}
    if create:
        spec["modality"] = (S, True, False, {"enum": MODALITIES})
        spec["text"] = (S, True, False, {})
    f = _validate(body, spec, errs=errs)
    if isinstance(body, dict) and "score_weight" in body:
        f["score_weight"] = _normalise_weight(
            errs, ["body", "score_weight"], body["score_weight"], allow_float=False
        )
    errs.raise_if_any()
    if f.get("score_weight") is not None:
        _weight_range(f["score_weight"], 1, 10)
        f["score_weight"] = int(f["score_weight"])
    for k in ("min_follow_ups", "max_follow_ups"):
        if f.get(k) is not None and f[k] < 0:
            raise invalid_param(k, f"{k} must be >= 0, got {f[k]}")
    if "text" in f and f["text"] is not None and not f["text"].strip():
        raise invalid_param("text", "text must not be empty")
    return f


def h_create_question(ctx: Ctx) -> Resp:
    st = ctx.state
    pid = ctx.params["posting_id"]
    st.posting_or_404(pid)
    f = _question_body(ctx, create=True)
    now = round(st.clock(), 3)
    with st.lock:
        qs = st.world.questions.setdefault(pid, [])
        rank = 1 + max(
            (q.get("rank") or 0 for q in qs if q["modality"] == f["modality"]), default=0
        )
        qd = question_doc(
            pid,
            st.new_hex(4),
            {**f, "score_weight": f.get("score_weight", 5 if f["modality"] == "voice" else None)},
            rank,
            now,
        )
        qd["modality"] = f["modality"]
        if f.get("not_scored") is None:
            qd["not_scored"] = False if f["modality"] == "voice" else None
        qd["question_type"] = f.get("question_type") or (
            qd["question_type"] if f["modality"] == "voice" else None
        )
        for k, v in f.items():
            if k not in qd:
                qd[k] = v
        qs.append(qd)
    return single(qd, 201)


def h_get_question(ctx: Ctx) -> Resp:
    return single(ctx.state.question_or_404(ctx.params["posting_id"], ctx.params["question_id"]))


def h_update_question(ctx: Ctx) -> Resp:
    st = ctx.state
    q = st.question_or_404(ctx.params["posting_id"], ctx.params["question_id"])
    f = _question_body(ctx, create=False)
    with st.lock:
        for k, v in f.items():
            if v is None:
                continue  # partial update: null means "leave as is"
            q[k] = v
        q["updated_at"] = round(st.clock(), 3)
    return single(q)


def h_delete_question(ctx: Ctx) -> Resp:
    st = ctx.state
    pid, qid = ctx.params["posting_id"], ctx.params["question_id"]
    q = st.question_or_404(pid, qid)
    with st.lock:
        st.world.questions[pid] = [x for x in st.world.questions[pid] if x["id"] != qid]
        q["updated_at"] = round(st.clock(), 3)
        st.world.deleted_questions[qid] = q
    return single(q)


def h_reorder_questions(ctx: Ctx) -> Resp:
    st = ctx.state
    pid = ctx.params["posting_id"]
    st.posting_or_404(pid)
    body = ctx.json()
    errs = DetailErrors()
    f = _validate(
        body,
        {"modality": (S, True, False, {"enum": MODALITIES}), "order": ("array", True, False, {})},
        errs=errs,
    )
    for i, x in enumerate(f.get("order") or []):
        if not isinstance(x, str):
            errs.add(["body", "order", i], "Input should be a valid string", "string_type", x)
    errs.raise_if_any()
    order: list[str] = f["order"]
    with st.lock:
        active = [q for q in st.world.questions.get(pid, []) if q["modality"] == f["modality"]]
        ids = {q["id"] for q in active}
        dups = sorted({x for x in order if order.count(x) > 1})
        unknown = [x for x in order if x not in ids]
        missing = [
            q["id"]
            for q in sorted(active, key=lambda q: q.get("rank") or 0)
            if q["id"] not in order
        ]
        problems = []
        if dups:
            problems.append(f"duplicate ids {dups}")
        if unknown:
            problems.append(
                f"ids not among the active {f['modality']} questions of this posting: {unknown}"
            )
        if missing:
            problems.append(f"missing active {f['modality']} question ids: {missing}")
        if problems:
            raise invalid_param(
                "order",
                "order must list every active question id of the modality exactly once; "
                + "; ".join(problems),
            )
        by_id = {q["id"]: q for q in active}
        now = round(st.clock(), 3)
        for rank, qid in enumerate(order, start=1):
            by_id[qid]["rank"] = rank
            by_id[qid]["updated_at"] = now
        ordered = [by_id[x] for x in order]
        parts = b",".join(_dumps(q) for q in ordered)
    pag = _dumps({"has_more": False, "total_count": len(ordered), "url": ctx.prefix + ctx.path})
    return Resp(200, b'{"data":[' + parts + b'],"pagination":' + pag + b"}")


def _ingest_one(ctx: Ctx, body: Any, loc0: list[Any], errs: DetailErrors) -> dict[str, Any]:
    f = _validate(body, CANDIDATE_FIELDS, loc0=loc0, errs=errs)
    _str_dict(errs, [*loc0, "metadata"], f.get("metadata"))
    return f


def _rules_candidate(f: dict[str, Any], prefix: str = "") -> None:
    email = f["email"].strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise invalid_param(
            prefix + "email", f"email is not a valid e-mail address: {f['email']!r}"
        )
    if not f["name"].strip():
        raise invalid_param(prefix + "name", "name must not be empty")
    if f.get("phone_number") and not E164.match(f["phone_number"]):
        raise invalid_param(
            prefix + "phone_number",
            f"phone_number must be E.164 like +12065551234, got {f['phone_number']!r}",
        )
    _metadata_rules(f.get("metadata"), prefix + "metadata")


def _create_candidate(st: SandboxState, pid: str, f: dict[str, Any]) -> dict[str, Any]:
    now = round(st.clock(), 3)
    iid = st.new_hex(8)
    while st.world.candidate(iid) is not None:
        iid = st.new_hex(8)
    cand = candidate_doc(
        interview_id=iid,
        candidate_id=st.candidate_id_for(f["email"]),
        posting_id=pid,
        name=f["name"],
        email=f["email"].strip(),
        phone=f.get("phone_number"),
        external_id=None,
        created_at=now,
    )
    cand["metadata"] = dict(f.get("metadata") or {})
    cand["data"] = dict(f.get("data") or {})
    if f.get("phone_number"):
        cand["data"].setdefault("phone_number", f["phone_number"])
    st.world.candidates.setdefault(pid, []).append(cand)
    st.simulation.register(iid, now)
    st.simulation.ingested(st, cand, now)
    return cand


def _check_accepting(posting: dict[str, Any]) -> None:
    if posting.get("archived") or posting.get("status") in ("archived", "expired"):
        raise api_error(
            400,
            f"Posting {posting['id']!r} is {posting.get('status')} and does not accept candidates.",
            param="posting_id",
        )


def h_ingest(ctx: Ctx) -> Resp:
    st = ctx.state
    posting = st.posting_or_404(ctx.params["posting_id"])
    body = ctx.json()
    errs = DetailErrors()
    f = _ingest_one(ctx, body, ["body"], errs)
    errs.raise_if_any()
    _rules_candidate(f)
    _check_accepting(posting)
    with st.lock:
        cand = _create_candidate(st, posting["id"], f)
        out = {
            "object": "candidate",
            "interview_id": cand["interview_id"],
            "interview_url": cand["interview_url"],
            "posting_id": posting["id"],
            "candidate": json.loads(_dumps(cand)),
        }
    return single(out, 201)


def h_ingest_bulk(ctx: Ctx) -> Resp:
    st = ctx.state
    posting = st.posting_or_404(ctx.params["posting_id"])
    body = ctx.json()
    errs = DetailErrors()
    f = _validate(body, {"data": ("array", True, False, {})}, errs=errs)
    items = f.get("data") if isinstance(f.get("data"), list) else []
    if "data" in f and isinstance(f["data"], list) and not f["data"]:
        errs.add(
            ["body", "data"],
            "List should have at least 1 item after validation, not 0",
            "too_short",
            [],
        )
    parsed = [_ingest_one(ctx, it, ["body", "data", i], errs) for i, it in enumerate(items)]
    errs.raise_if_any()
    for i, p in enumerate(parsed):
        _rules_candidate(p, prefix=f"data[{i}].")
    _check_accepting(posting)
    out = []
    with st.lock:
        for p in parsed:
            cand = _create_candidate(st, posting["id"], p)
            out.append(
                {
                    "object": "candidate",
                    "interview_id": cand["interview_id"],
                    "interview_url": cand["interview_url"],
                    "metadata": cand["metadata"],
                }
            )
    return single(out, 201, meta={"count": len(out)})


def h_list_candidates(ctx: Ctx) -> Resp:
    st = ctx.state
    pid = ctx.params["posting_id"]
    st.posting_or_404(pid)
    after = _parse_time(ctx, "created_after")
    before = _parse_time(ctx, "created_before")
    if after is not None and before is not None and before < after:
        raise api_error(
            400,
            f"created_before ({ctx.q('created_before')}) is earlier than created_after ({ctx.q('created_after')}); swap them.",
            param="created_before",
        )
    with st.lock:
        cands, positions = st.candidates_between(pid, after, before)
        return paginate(
            ctx, cands, lambda c: c["interview_id"], raw=st.candidate_json, positions=positions
        )


def h_interview_data(ctx: Ctx) -> Resp:
    st = ctx.state
    iid = ctx.params["interview_id"]
    mode = st.faults.malformed_mode(iid)
    with st.lock:
        body = st.interview_body(iid)
    if mode == "json":
        return Resp(200, body[: max(1, len(body) // 2)])
    if mode == "schema":
        doc = json.loads(body)
        d = doc["data"]
        d.pop("posting_id", None)
        d["status"] = 42
        wi = d.get("web_interview")
        if wi:
            wi["match_score"] = "high"
            for item in wi.get("scorecard", [])[:2]:
                item["score"] = "four"
                item.pop("question_id", None)
        return Resp(200, _dumps(doc))
    return Resp(200, body)


def h_get_metadata(ctx: Ctx) -> Resp:
    st = ctx.state
    with st.lock:
        cand = st.candidate_or_404(ctx.params["interview_id"])
        return single({"object": "metadata", "metadata": dict(cand.get("metadata") or {})})


def _set_metadata(st: SandboxState, cand: dict[str, Any], md: dict[str, str]) -> None:
    cand["metadata"] = md
    doc = st.world.interview_data.get(cand["interview_id"])
    if doc is not None:
        doc["metadata"] = md
    st.touch(cand["interview_id"])


def h_set_metadata(ctx: Ctx) -> Resp:
    st = ctx.state
    cand = st.candidate_or_404(ctx.params["interview_id"])
    body = ctx.json()
    errs = DetailErrors()
    f = _validate(body, {"metadata": ("object", True, False, {})}, errs=errs)
    _str_dict(errs, ["body", "metadata"], f.get("metadata"))
    errs.raise_if_any()
    with st.lock:
        merged = {**(cand.get("metadata") or {}), **f["metadata"]}
        _metadata_rules(merged)
        _set_metadata(st, cand, merged)
        return single({"object": "metadata", "metadata": dict(merged)})


def h_delete_metadata(ctx: Ctx) -> Resp:
    st = ctx.state
    with st.lock:
        cand = st.candidate_or_404(ctx.params["interview_id"])
        _set_metadata(st, cand, {})
    return single({"object": "metadata", "metadata": {}})


def h_create_webhook(ctx: Ctx) -> Resp:
    st = ctx.state
    body = ctx.json()
    if isinstance(body, dict) and "webhook_url" not in body and "url" in body:
        body = {**body, "webhook_url": body["url"]}  # the older snapshot's field name
    f = _validate(
        body,
        {
            "posting_id": (S, True, False, {}),
            "webhook_url": (S, True, False, {}),
            "event_type": (S, True, False, {}),
        },
    )
    if f["event_type"] not in WEBHOOK_EVENTS:
        raise invalid_param(
            "event_type",
            f"event_type must be one of {list(WEBHOOK_EVENTS)}, got {f['event_type']!r}",
        )
    if not re.match(r"^https?://[^\s/]+", f["webhook_url"]):
        raise invalid_param(
            "webhook_url", f"webhook_url must be an http(s) URL, got {f['webhook_url']!r}"
        )
    st.posting_or_404(f["posting_id"])
    now = round(st.clock(), 3)
    with st.lock:
        hook = {
            "object": "webhook",
            "webhook_id": st.new_hex(16),
            "posting_id": f["posting_id"],
            "webhook_url": f["webhook_url"],
            "event_type": f["event_type"],
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        st.world.webhooks.append(hook)
    return single(hook, 201)


def h_list_webhooks(ctx: Ctx) -> Resp:
    with ctx.state.lock:
        hooks = [h for h in ctx.state.world.webhooks if h.get("is_active")]
        return paginate(ctx, hooks, lambda h: h["webhook_id"])


def _webhook_or_404(st: SandboxState, wid: str) -> dict[str, Any]:
    for h in st.world.webhooks:
        if h["webhook_id"] == wid:
            return h
    raise api_error(404, f"Webhook {wid!r} not found.", param="webhook_id")


def h_get_webhook(ctx: Ctx) -> Resp:
    return single(_webhook_or_404(ctx.state, ctx.params["webhook_id"]))


def h_delete_webhook(ctx: Ctx) -> Resp:
    st = ctx.state
    with st.lock:
        h = _webhook_or_404(st, ctx.params["webhook_id"])
        h["is_active"] = False
        h["updated_at"] = round(st.clock(), 3)
        return single(h)


#: (method, template relative to the version prefix, handler)
ROUTES: list[tuple[str, str, Callable[[Ctx], Resp]]] = [
    ("GET", "/postings", h_list_postings),
    ("POST", "/postings", h_create_posting),
    ("GET", "/postings/list", h_list_posting_summaries),
    ("GET", "/postings/{posting_id}", h_get_posting),
    ("PATCH", "/postings/{posting_id}", h_update_posting),
    ("GET", "/postings/{posting_id}/stats", h_posting_stats),
    ("GET", "/postings/{posting_id}/questions", h_list_questions),
    ("POST", "/postings/{posting_id}/questions", h_create_question),
    ("POST", "/postings/{posting_id}/questions/reorder", h_reorder_questions),
    ("GET", "/postings/{posting_id}/questions/{question_id}", h_get_question),
    ("PATCH", "/postings/{posting_id}/questions/{question_id}", h_update_question),
    ("DELETE", "/postings/{posting_id}/questions/{question_id}", h_delete_question),
    ("POST", "/postings/{posting_id}/candidates", h_ingest),
    ("GET", "/postings/{posting_id}/candidates", h_list_candidates),
    ("POST", "/postings/{posting_id}/candidates/bulk", h_ingest_bulk),
    ("GET", "/interviews/{interview_id}/data", h_interview_data),
    ("GET", "/interviews/{interview_id}/metadata", h_get_metadata),
    ("POST", "/interviews/{interview_id}/metadata", h_set_metadata),
    ("DELETE", "/interviews/{interview_id}/metadata", h_delete_metadata),
    ("POST", "/webhooks", h_create_webhook),
    ("GET", "/webhooks", h_list_webhooks),
    ("GET", "/webhooks/{webhook_id}", h_get_webhook),
    ("DELETE", "/webhooks/{webhook_id}", h_delete_webhook),
]

_STATIC: dict[str, dict[str, tuple[str, Callable[[Ctx], Resp]]]] = {}
_DYNAMIC: list[tuple[re.Pattern[str], str, dict[str, Callable[[Ctx], Resp]]]] = []
for _m, _t, _h in ROUTES:
    if "{" not in _t:
        _STATIC.setdefault(_t, {})[_m] = (_t, _h)
    else:
        _rx = compile_path(_t)[0]
        for _entry in _DYNAMIC:
            if _entry[1] == _t:
                _entry[2][_m] = _h
                break
        else:
            _DYNAMIC.append((_rx, _t, {_m: _h}))


def match_route(
    method: str, path: str
) -> tuple[str | None, Callable[[Ctx], Resp] | None, dict[str, str], bool]:
    """``(template, handler, params, path_known)`` for a path below the version prefix."""
    if path in _STATIC:
        entry = _STATIC[path].get(method)
        return (path, entry[1], {}, True) if entry else (path, None, {}, True)
    for rx, tmpl, handlers in _DYNAMIC:
        m = rx.match(path)
        if m:
            return tmpl, handlers.get(method), m.groupdict(), True
    return None, None, {}, False


# --------------------------------------------------------------------------- ASGI app


async def _simulated_latency(seconds: float, stopping: threading.Event) -> None:
    """Wait ``seconds`` (the latency fault), or less once ``stopping`` is set."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not stopping.is_set():
        left = end - loop.time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.02))


class SandboxApp:
    """The ASGI callable (lifespan starts the simulation ticker)."""

    def __init__(self, state: SandboxState, tick: float = 0.02) -> None:
        self.state = state
        self.tick = tick
        self._ticker: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._ticker:
                    self._ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._ticker
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            # keep ticking; a bad state shows up in the responses
            with contextlib.suppress(Exception):
                self.state.simulation.advance(self.state)

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        st = self.state
        method = scope["method"]
        full = scope["path"]
        if full in ("/health", "/health/"):
            st.count(f"{method} /health")
            await _send(
                send, 200, _dumps({"message": "API Gateway is running successfully", "status": 200})
            )
            return
        if full.startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
            return
        prefix = next((p for p in PREFIXES if full == p or full.startswith(p + "/")), None)
        path = full[len(prefix) :] if prefix else full
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        tmpl, handler, params, known = (
            match_route(method, path) if prefix else (None, None, {}, False)
        )
        st.count(f"{method} {tmpl}" if tmpl else f"{method} {full}")
        faults = st.faults
        if faults.latency:
            await _simulated_latency(faults.latency, st.stopping)
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        if prefix is None or not known:
            await _send_error(
                send,
                api_error(404, f"No route {method} {full}; paths live under /api/v2 or /api/v4."),
            )
            return
        if key != st.api_key:
            msg = "Invalid or missing API key." + (
                " Send it in the X-API-KEY header." if not key else ""
            )
            await _send_error(send, api_error(401, msg))
            return
        rl_headers: dict[str, str] = {}
        verdict = faults.check_rate(key)
        if verdict is not None:
            allowed, limit, remaining, reset = verdict
            rl_headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset),
            }
            if not allowed:
                err = api_error(
                    429,
                    f"Rate limit of {limit} requests per minute exceeded; retry after {reset} s.",
                )
                err.headers = {**rl_headers, "Retry-After": str(reset)}
                await _send_error(send, err)
                return
        if faults.draw_drop():
            _drop(send)
            return
        status5 = faults.draw_error()
        if status5:
            await _send_error(
                send,
                api_error(status5, f"Simulated server error {status5}; retry the request."),
                rl_headers,
            )
            return
        if handler is None:
            await _send_error(
                send,
                api_error(
                    405, f"Method {method} is not allowed on {tmpl}.", code="method_not_allowed"
                ),
                rl_headers,
            )
            return
        body = await _read_body(receive) if method in ("POST", "PATCH", "PUT") else b""
        qs = scope.get("query_string", b"").decode("latin-1")
        ctx = Ctx(
            st,
            method,
            path,
            prefix,
            params,
            parse_qs(qs, keep_blank_values=True) if qs else {},
            body,
        )
        if st.simulation._active:
            st.simulation.advance(st)
        try:
            with st.lock:  # handlers are synchronous and short; Python-side calls share the lock
                resp = handler(ctx)
        except HTTPError as exc:
            await _send_error(send, exc, rl_headers)
            return
        except Exception as exc:  # a sandbox bug: answer 500 with the reason
            await _send_error(
                send, api_error(500, f"sandbox bug: {type(exc).__name__}: {exc}"), rl_headers
            )
            return
        await _send(send, resp.status, resp.body, {**rl_headers, **(resp.headers or {})})

    async def _admin(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Control routes for a sandbox running in another process (not counted, key needed).

        ``GET counts``, ``POST reset_counts``, ``POST faults`` (body: set_faults kwargs),
        ``POST complete_pending``, ``POST override_score`` (body: interview_id, score).
        """
        st = self.state
        headers = dict(scope.get("headers") or [])
        if headers.get(b"x-api-key", b"").decode("latin-1") != st.api_key:
            await _send_error(send, api_error(401, "Invalid or missing API key."))
            return
        action = scope["path"][len(ADMIN_PREFIX) :]
        method = scope["method"]
        body = await _read_body(receive) if method == "POST" else b""
        try:
            args = json.loads(body) if body.strip() else {}
            if (method, action) == ("GET", "counts"):
                out: Any = dict(st.counts)
            elif (method, action) == ("POST", "reset_counts"):
                st.reset_counts()
                out = {}
            elif (method, action) == ("POST", "faults"):
                st.faults.update(**args)
                out = {}
            elif (method, action) == ("POST", "complete_pending"):
                out = {"completed": complete_pending(st)}
            elif (method, action) == ("POST", "override_score"):
                st.override_score(args["interview_id"], float(args["score"]))
                out = {}
            else:
                raise api_error(404, f"No sandbox control route {method} {action!r}.")
        except HTTPError as exc:
            await _send_error(send, exc)
            return
        except (TypeError, ValueError, KeyError) as exc:
            await _send_error(send, api_error(400, f"{type(exc).__name__}: {exc}"))
            return
        await _send(send, 200, _dumps(out))


def complete_pending(st: SandboxState) -> int:
    """Finish every unfinished interview now (scored with the weights in force now)."""
    with st.lock:
        for cands in st.world.candidates.values():
            for c in cands:
                iid = c["interview_id"]
                if iid not in st.world.interview_data and iid not in st.simulation._active:
                    stage = {"pending": 0, "in_progress": 1, "evaluating": 2}.get(c["status"], 0)
                    st.simulation.register(iid, st.clock(), stage)
        n = st.simulation.pending_count()
        st.simulation.advance(st, force=True)
    return n


async def _read_body(receive: Any) -> bytes:
    chunks = []
    more = True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunks.append(msg.get("body", b""))
        more = msg.get("more_body", False)
    return b"".join(chunks)


#: Request ids: a process-wide counter (next() on itertools.count is atomic under the GIL).
_REQUEST_IDS = itertools.count(1)


def next_request_id() -> str:
    """A unique id for one response, ``req_<12 hex digits>``, sent as ``X-Request-Id``.

    Examples
    --------
    >>> a, b = next_request_id(), next_request_id()
    >>> a != b and a.startswith("req_") and len(a) == 16
    True
    """
    return f"req_{next(_REQUEST_IDS):012x}"


async def _send(send: Any, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """Send one JSON response; every response carries a unique ``X-Request-Id``."""
    hdrs = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", next_request_id().encode()),
    ]
    if headers:
        hdrs.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Any, err: HTTPError, extra: dict[str, str] | None = None) -> None:
    await _send(send, err.status, _dumps(err.body), {**(extra or {}), **err.headers})


class DroppedConnection(Exception):
    """Raised when the server cannot close the socket itself (not under uvicorn)."""


def _drop(send: Any) -> None:
    """Close the client's connection without sending a response (uvicorn h11/httptools)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DroppedConnection("connection dropped by fault injection")
    cycle.disconnected = True  # uvicorn then sends nothing when the app returns
    transport.close()


def create_app(state: SandboxState) -> SandboxApp:
    """The ASGI app for ``state``."""
    return SandboxApp(state)
