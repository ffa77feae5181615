"""Shared helpers of the analysis modules: input checks, per-posting matrices, small fits.

Nothing here is public API; the functions keep the analysis modules short and consistent
(the same error messages for the same user mistakes).

Examples
--------
>>> import numpy as np
>>> round(float(_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))), 2)
0.75
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData, detect_score_scale

__all__: list[str] = []


def require_data(data: Any, func: str) -> InterviewData:
    """Return ``data`` when it is an InterviewData, else raise a DataError saying what to pass."""
    if not isinstance(data, InterviewData):
        raise DataError(
            f"{func}() needs an InterviewData (from load_posting or load_documents); "
            f"got {type(data).__name__}"
        )
    return data


def rows_by_id(frame: Any, func: str, what: str = "outcomes") -> pd.DataFrame:
    """``frame`` indexed by ``interview_id``, one row per interview (the first kept).

    Raises a DataError naming ``func`` when ``frame`` is not a DataFrame with an
    ``interview_id`` column (``what`` is ``"outcomes"`` or ``"demographics"``).

    Examples
    --------
    >>> rows_by_id(pd.DataFrame({"interview_id": ["a", "a", None], "x": [1, 2, 3]}), "f")["x"].to_dict()
    {'a': 1}
    """
    if not isinstance(frame, pd.DataFrame) or "interview_id" not in frame.columns:
        reader = "read_outcomes" if what == "outcomes" else "read_demographics"
        raise DataError(
            f"{func}(): {what} must be a DataFrame with an interview_id column "
            f"(use {reader}(..., data=data) to join by email or external id)"
        )
    return (
        frame.dropna(subset=["interview_id"])
        .drop_duplicates("interview_id")
        .set_index("interview_id")
    )


def outcome_by_id(outcomes: Any, target: str, func: str) -> pd.Series:
    """The ``target`` column of ``outcomes`` indexed by ``interview_id`` (see :func:`rows_by_id`).

    Examples
    --------
    >>> out = pd.DataFrame({"interview_id": ["a", "b"], "hired": [True, False]})
    >>> outcome_by_id(out, "hired", "f").to_dict()
    {'a': True, 'b': False}
    """
    by_id = rows_by_id(outcomes, func)
    if target not in by_id.columns:
        raise DataError(
            f"{func}(target={target!r}): no such column in outcomes; found {list(outcomes.columns)}"
        )
    return by_id[target]


def scored_items(data: InterviewData) -> pd.DataFrame:
    """Scorecard items that count toward the overall score (``not_scored`` dropped)."""
    s = data.scores
    s = s[~s["not_scored"].astype(bool)]
    return s


def posting_ids_with_scores(data: InterviewData) -> list[str]:
    """Postings that have at least one scored item, sorted."""
    s = scored_items(data)
    return sorted(s["posting_id"].dropna().unique().tolist())


def posting_scale(data: InterviewData, posting_id: str | None = None) -> int:
    """The per-question scale maximum (5 or 10) of one posting.

    Order: ``postings.score_scale`` of that posting (set by the loader, per posting); else
    ``data.score_scale`` when the data holds one posting; else detected from the posting's
    scores (10 when any exceeds 5).
    """
    p = data.postings
    if posting_id is not None and "score_scale" in p.columns:
        v = p.loc[p["posting_id"] == posting_id, "score_scale"].dropna()
        if len(v):
            return int(v.iloc[0])
    s = data.scores
    single = s["posting_id"].nunique() <= 1
    if data.score_scale and (single or posting_id is None):
        return int(data.score_scale)
    if posting_id is not None:
        s = s[s["posting_id"] == posting_id]
    scale = detect_score_scale(s["score"])
    if scale is None:
        raise InsufficientDataError(
            f"posting {posting_id!r} has no question scores, so the score scale is unknown; "
            "load completed interviews or set InterviewData.score_scale"
        )
    return scale


def question_texts(data: InterviewData) -> dict[str, str]:
    """question_id -> text (from the questions frame, falling back to the scorecard text)."""
    out: dict[str, str] = {}
    if "question_text" in data.scores.columns:
        qt = data.scores[["question_id", "question_text"]].dropna().drop_duplicates("question_id")
        out.update(dict(zip(qt["question_id"], qt["question_text"], strict=False)))
    q = data.questions[["question_id", "text"]].dropna()
    out.update(dict(zip(q["question_id"], q["text"], strict=False)))
    return out


def check_numeric_frame(frame: pd.DataFrame, func: str) -> pd.DataFrame:
    """A float copy of a wide frame; DataError naming non-numeric columns."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"{func}() needs a wide DataFrame (rows = interviews, columns = questions) or an "
            f"InterviewData; got {type(frame).__name__}"
        )
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if bad:
        raise DataError(
            f"{func}(): columns {bad!r} are not numeric; pass only the question score columns"
        )
    return frame.astype("float64")


def pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance matrix (ddof=1), like ``DataFrame.cov()``.

    Vectorised with masked sums, so 100,000 × 10 takes milliseconds.
    """
    mask = ~np.isnan(x)
    if mask.all():
        return np.atleast_2d(np.cov(x, rowvar=False))
    return pd.DataFrame(x).cov().to_numpy()


def pearson_r(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson r over pairs where both are finite; (nan, n) when undefined."""
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 3:
        return float("nan"), n
    a, b = a[ok], b[ok]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan"), n
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)), n


def r_ci(r: float, n: int, ci: float = 0.95) -> tuple[float, float, float]:
    """Fisher-z interval and two-sided p for a Pearson r."""
    from scipy import stats

    if not np.isfinite(r) or n < 4:
        return float("nan"), float("nan"), float("nan")
    rr = min(max(r, -0.999999), 0.999999)
    z = np.arctanh(rr)
    se = 1 / np.sqrt(n - 3)
    q = stats.norm.ppf(0.5 + ci / 2)
    t = rr * np.sqrt((n - 2) / (1 - rr**2))
    p = 2 * stats.t.sf(abs(t), n - 2)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se)), float(p)


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d = (mean a − mean b) / pooled SD (ddof=1)."""
    a = a[np.isfinite(a)]
    b = b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    if pooled == 0:
        return float("nan")
    return float((a.mean() - b.mean()) / pooled)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC via the rank-sum (Mann–Whitney) identity, ties averaged."""
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass
class LogitFit:
    """An unpenalised logistic fit (R ``glm.fit`` style IRLS)."""

    coef: np.ndarray
    prob: np.ndarray
    loglik: float
    converged: bool


def logit_irls(
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_iter: int = 25,
    tol: float = 1e-8,
    start: np.ndarray | None = None,
) -> LogitFit:
    """Logistic regression by IRLS exactly as R's ``glm.fit`` iterates it.

    ``X`` must include the intercept column. Starts from ``mustart = (y + 0.5) / 2`` and stops
    when ``|dev − dev_old| / (|dev| + 0.1) < tol`` or after ``max_iter`` iterations (R's
    defaults, ``glm.control(epsilon=1e-8, maxit=25)``), so that results agree with R even
    under quasi-separation. ``start`` (coefficients) warm-starts bootstrap refits. Above
    2,000 rows the same Newton/IRLS steps run through the normal equations
    (:func:`_logit_newton_large`; same solution, several times faster at 100,000 rows).
    """
    y = y.astype("float64")
    if X.shape[0] > 2000:
        return _logit_newton_large(X, y, max_iter=max_iter, tol=tol, start=start)
    eps = np.finfo(float).eps

    def linkinv(eta: np.ndarray) -> np.ndarray:  # R's C logit_linkinv with its thresholds
        tmp = np.where(eta < -30, eps, np.where(eta > 30, 1 / eps, np.exp(np.clip(eta, -30, 30))))
        return tmp / (1 + tmp)

    def mu_eta(eta: np.ndarray) -> np.ndarray:  # R's C logit_mu_eta
        e = np.exp(np.clip(eta, -30, 30))
        return np.where(np.abs(eta) > 30, eps, e / (1 + e) ** 2)

    def deviance(mu: np.ndarray) -> float:
        with np.errstate(divide="ignore"):
            return float(-2 * np.sum(np.where(y > 0.5, np.log(mu), np.log1p(-mu))))

    if start is None:
        mu = (y + 0.5) / 2
        eta = np.log(mu / (1 - mu))
    else:
        eta = X @ start
        mu = linkinv(eta)
    dev_old = deviance(mu)
    coef = np.zeros(X.shape[1])
    converged = False
    dev = dev_old
    for _ in range(max_iter):
        me = mu_eta(eta)
        z = eta + (y - mu) / me
        w = np.sqrt(me**2 / (mu * (1 - mu)))
        coef, *_ = np.linalg.lstsq(X * w[:, None], z * w, rcond=None)
        eta = X @ coef
        mu = linkinv(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    mu_c = np.clip(mu, eps, 1 - eps)
    return LogitFit(coef=coef, prob=mu_c, loglik=-dev / 2, converged=converged)


def _logit_newton_large(
    X: np.ndarray, y: np.ndarray, *, max_iter: int, tol: float, start: np.ndarray | None
) -> LogitFit:
    """IRLS via the normal equations with R's convergence rule, for large samples."""
    from scipy.special import expit, log_expit

    eps = np.finfo(float).eps
    coef = np.zeros(X.shape[1]) if start is None else np.asarray(start, dtype="float64")
    # R's start: mu = (y + 0.5) / 2, i.e. the first step starts from eta = logit(mu)
    eta = np.log((y + 0.5) / (1.5 - y)) if start is None else X @ coef
    sign = 2 * y - 1

    def deviance(eta: np.ndarray) -> float:
        return float(-2 * log_expit(sign * eta).sum())

    dev_old = deviance(eta)
    dev = dev_old
    converged = False
    for _ in range(max_iter):
        mu = expit(eta)
        var = np.maximum(mu * (1 - mu), eps)
        Xw = X * var[:, None]
        A = X.T @ Xw
        b = Xw.T @ eta + X.T @ (y - mu)
        try:
            new = np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            new = np.linalg.lstsq(A, b, rcond=None)[0]
        coef = new
        eta = np.clip(X @ coef, -36.0, 36.0)
        dev = deviance(eta)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    prob = np.clip(expit(eta), eps, 1 - eps)
    return LogitFit(coef=coef, prob=prob, loglik=-dev / 2, converged=converged)


def is_binary(y: np.ndarray) -> bool:
    """True when the finite values of ``y`` are exactly two distinct values 0/1 (or bools)."""
    v = np.unique(y[np.isfinite(y)])
    return len(v) == 2 and set(v.tolist()) <= {0.0, 1.0}


@contextlib.contextmanager
def limited_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside bootstrap loops (2 cores shared by many processes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def percentile_ci(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0 (NaN draws ignored)."""
    lo = (1 - ci) / 2 * 100
    with np.errstate(all="ignore"):
        return np.nanpercentile(samples, lo, axis=0), np.nanpercentile(samples, 100 - lo, axis=0)


def interview_times(data: InterviewData) -> pd.Series:
    """interview_id -> interviewed_at (interviews frame, else candidates), UTC."""
    t = data.interviews.set_index("interview_id")["interviewed_at"]
    c = data.candidates.drop_duplicates("interview_id").set_index("interview_id")
    for col in ("interviewed_at", "created_at"):
        if col in c.columns:
            t = t.combine_first(c[col]) if len(t) else c[col]
    return t


def interview_data_from_matrix(
    X: np.ndarray,
    weights: Any,
    *,
    ids: Any,
    qids: list[str],
    posting_id: str = "P",
    updated_at: str | None = None,
) -> InterviewData:
    """A posting's questions and scores frames from a score matrix (simulations, no HTTP).

    ``X`` is interviews × questions; ``weights`` are today's ``score_weight`` per question.
    Only what the calibration and fairness code reads is filled: no interviews frame.

    Examples
    --------
    >>> d = interview_data_from_matrix(np.ones((3, 2)), [1, 2], ids=["a", "b", "c"],
    ...                                qids=["q0", "q1"])
    >>> len(d.scores), d.questions["score_weight"].tolist()
    (6, [1.0, 2.0])
    """
    X = np.asarray(X, dtype="float64")
    n, k = X.shape
    w = np.asarray(weights, dtype="float64")
    questions = pd.DataFrame(
        {
            "posting_id": posting_id,
            "question_id": qids,
            "rank": range(1, k + 1),
            "text": qids,
            "score_weight": w,
            "not_scored": False,
            "modality": "voice",
            "question_type": "scored",
        }
    )
    if updated_at is not None:
        questions["updated_at"] = pd.Timestamp(updated_at, tz="UTC")
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(np.asarray(ids), k),
            "posting_id": posting_id,
            "question_id": np.tile(qids, n),
            "rank": np.tile(np.arange(1, k + 1), n),
            "score": X.ravel(),
            "score_weight": np.tile(w, n),
            "not_scored": False,
            "evaluation_summary": "",
        }
    )
    return InterviewData(questions=questions, scores=scores)


def synthetic_interview_data(
    n: int = 500,
    k: int = 5,
    *,
    scale: int = 5,
    weights: list[float] | None = None,
    seed: int = 0,
    posting_id: str = "P1",
    override_share: float = 0.0,
    weight_change: dict[str, float] | None = None,
    start: str = "2026-01-01",
    days: int = 120,
) -> tuple[InterviewData, dict[str, Any]]:
    """A synthetic posting built directly as frames (tests and benchmarks; no HTTP).

    Scores follow one latent ability plus noise on a 1–``scale`` scale; the overall score is
    HeyMilo's "proportional" formula rounded to 1 decimal (``match_score`` to an integer);
    ``override_share`` of the interviews get a hand-overridden score; ``weight_change`` (a
    dict question_id -> new weight) applies to interviews in the second half of the period.
    Returns the data and a truth dict (weights, overridden ids, change time, ability).

    Examples
    --------
    >>> data, truth = synthetic_interview_data(20, 3, seed=1)
    >>> len(data.interviews), len(data.scores)
    (20, 60)
    """
    rng = np.random.default_rng(seed)
    w = np.asarray(
        weights
        if weights is not None
        else [2.0, 3.0, 2.0, 2.0, 1.5, 1.0, 2.5, 1.0, 3.0, 2.0][:k] + [1.0] * max(0, k - 10),
        dtype="float64",
    )[:k]
    qids = [f"{posting_id}-q{j + 1}" for j in range(k)]
    ids = np.array([f"{posting_id}-i{i:06d}" for i in range(n)])
    ability = rng.normal(size=n)
    loading = np.linspace(0.9, 0.4, k)
    raw = ability[:, None] * loading + rng.normal(scale=0.8, size=(n, k))
    mid = (1 + scale) / 2
    s = np.clip(np.rint(mid + raw * (scale - 1) / 4), 1, scale)
    t0 = pd.Timestamp(start, tz="UTC")
    offs = np.sort(rng.uniform(0, days * 86400, size=n))
    times = t0 + pd.to_timedelta(offs, unit="s")
    W = np.broadcast_to(w, (n, k)).copy()
    change_at = None
    if weight_change:
        change_at = t0 + pd.Timedelta(days=days / 2)
        late = np.asarray(times >= change_at)
        for q, nw in weight_change.items():
            W[late, qids.index(q)] = nw
    overall = 100 * (W * s).sum(axis=1) / (W.sum(axis=1) * scale)
    score = np.round(overall, 1)
    overridden = np.array([], dtype=int)
    if override_share:
        overridden = rng.choice(n, size=max(1, int(override_share * n)), replace=False)
        bump = rng.choice([-1, 1], size=len(overridden)) * rng.uniform(5, 20, size=len(overridden))
        score[overridden] = np.clip(np.round(score[overridden] + bump, 1), 0, 100)
    match = np.round(score)
    speech = np.clip(np.round(2.8 + 0.5 * ability + rng.normal(scale=0.7, size=n), 1), 0, 5)
    interviews = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": posting_id,
            "status": "completed",
            "score": score,
            "match_score": match,
            "speech_score": speech,
            "interviewed_at": times,
        }
    )
    scores = pd.DataFrame(
        {
            "interview_id": np.repeat(ids, k),
            "posting_id": posting_id,
            "question_id": np.tile(np.array(qids), n),
            "rank": np.tile(np.arange(1, k + 1), n),
            "score": s.reshape(-1),
            "score_weight": W.reshape(-1),
            "not_scored": False,
            "evaluation_summary": "",
        }
    )
    final_w = W[-1] if n else w
    questions = pd.DataFrame(
        {
            "posting_id": posting_id,
            "question_id": qids,
            "rank": np.arange(1, k + 1),
            "text": [f"Question {j + 1}" for j in range(k)],
            "score_weight": final_w,
            "not_scored": False,
            "modality": "video",
            "question_type": "open",
        }
    )
    candidates = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": posting_id,
            "candidate_id": ids,
            "status": "completed",
            "score": score,
            "created_at": times,
            "interviewed_at": times,
        }
    )
    data = InterviewData(
        questions=questions,
        candidates=candidates,
        interviews=interviews,
        scores=scores,
        score_scale=scale,
    )
    truth = {
        "weights": dict(zip(qids, w.tolist(), strict=True)),
        "overridden": ids[overridden].tolist(),
        "change_at": change_at,
        "ability": pd.Series(ability, index=ids),
    }
    return data, truth


def html_with_frames(base_html: str, frames: list[tuple[str, Any]]) -> str:
    """Append titled, escaped tables (skipping None/empty) inside a result's HTML block."""
    import html as _html

    from ..results import frame_to_html

    parts = [
        f"<h5>{_html.escape(title)}</h5>{frame_to_html(frame)}"
        for title, frame in frames
        if isinstance(frame, pd.DataFrame) and len(frame)
    ]
    if not parts:
        return base_html
    body = base_html[: -len("</div>")] if base_html.endswith("</div>") else base_html
    return body + "".join(parts) + ("</div>" if base_html.endswith("</div>") else "")
