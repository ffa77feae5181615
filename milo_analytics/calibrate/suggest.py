"""suggest_weights: joins outcomes, runs the estimator, integer search and comparison."""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.resample import one_blas_thread, single_blas
from ..errors import DataError, InsufficientDataError
from .compare import _boot_job, _compare, _int_job, decide
from .estimator import WeightSuggester, _is_binary, _run_parallel
from .fairness import _fairness
from .integer import MIN_WEIGHT, integer_weights
from .result import HIRED_CAVEAT, PAST_SCORES_NOTE, WeightSuggestion, _jsonable

#: Folds of the inner CV that chooses λ inside each outer training fold (nested CV). Three
#: folds on every other point of the λ grid keep the extra cost to about one more path fit
#: per outer fold (benchmarks/README.md).
INNER_FOLDS = 3


# ============================================================================ suggest_weights
def _pick_posting(data: Any, posting_id: str | None) -> str:
    with_scores = sorted(set(data.scores["posting_id"].dropna().tolist()))
    if posting_id is not None:
        if posting_id not in with_scores:
            raise DataError(
                f"posting {posting_id!r} has no scored interviews in this data; postings with "
                f"scores: {with_scores}"
            )
        return posting_id
    if len(with_scores) == 1:
        return with_scores[0]
    if not with_scores:
        raise DataError("the data has no scored interviews; load a posting with completed ones")
    raise DataError(
        f"the data holds several postings {with_scores}; pass posting_id= to choose one "
        "(weights are set per posting)"
    )


def _outcome_frame(outcomes: Any, data: Any, key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(outcomes, pd.DataFrame) and "interview_id" in outcomes.columns:
        frame = outcomes
        raw = [
            c
            for c in ("hired", "performance", "retention")
            if c in frame.columns
            and not (
                pd.api.types.is_bool_dtype(frame[c].dtype)
                or pd.api.types.is_numeric_dtype(frame[c].dtype)
            )
        ]
        if raw:  # an unparsed export that already carries interview_id: parse it forgivingly
            from ..outcomes import read_outcomes

            frame = read_outcomes(outcomes, key="interview_id", data=data)
    else:
        from ..outcomes import read_outcomes

        frame = read_outcomes(outcomes, key=key, data=data)
    if "interview_id" not in frame.columns:
        raise DataError(
            f"the outcomes could not be joined to interviews (no interview_id); columns found: "
            f"{[str(c) for c in frame.columns]}; pass key= naming the key column"
        )
    report = dict(frame.attrs.get("join_report") or {})
    return frame, report


def _target_vector(frame: pd.DataFrame, target: str) -> pd.Series:
    from ..outcomes import require_outcome

    if target not in frame.columns:
        raise DataError(
            f"target={target!r} is not a column of the outcomes; columns found: "
            f"{[str(c) for c in frame.columns]}"
        )
    require_outcome(frame, target)  # read_outcomes' all-missing 'hired' of a file without one
    col = frame[target]
    if pd.api.types.is_bool_dtype(col.dtype):
        col = col.astype("Float64")
    vals = pd.to_numeric(col, errors="coerce").astype("float64")
    return pd.Series(vals.to_numpy(), index=frame["interview_id"].astype("str").to_numpy())


def _data_hash(ids: np.ndarray, X: np.ndarray, y: np.ndarray, qids: list[str]) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(qids).encode())
    h.update("\x1f".join(map(str, ids)).encode())
    h.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y, dtype="<f8").tobytes())
    return "sha256:" + h.hexdigest()


def _thorndike(
    X_out: np.ndarray, y: np.ndarray, X_all: np.ndarray, qids: list[str]
) -> pd.DataFrame:
    """Thorndike Case II: R = (r·S/s)/√(1 − r² + r²·S²/s²), S = applicant SD, s = restricted SD."""
    rows = []
    for j, qid in enumerate(qids):
        x = X_out[:, j]
        s, S = float(x.std(ddof=1)), float(X_all[:, j].std(ddof=1))
        r = float(np.corrcoef(x, y)[0, 1]) if s > 0 and y.std() > 0 else math.nan
        u = S / s if s > 0 else math.nan
        corrected = (
            (r * u) / math.sqrt(1 - r**2 + r**2 * u**2) if math.isfinite(r * u) else math.nan
        )
        rows.append(
            {
                "question_id": qid,
                "r": r,
                "sd_applicants": S,
                "sd_restricted": s,
                "r_corrected": corrected,
            }
        )
    return pd.DataFrame(rows)


@one_blas_thread
def suggest_weights(
    data: Any,
    outcomes: pd.DataFrame | str | Path,
    *,
    target: str = "hired",
    demographics: pd.DataFrame | str | Path | None = None,
    posting_id: str | None = None,
    cut: float | None = None,
    key: str = "email",
    n_boot: int = 200,
    cv_folds: int = 5,
    cv_repeats: int = 3,
    lambdas: Sequence[float] | None = None,
    lambda_rule: str = "min",
    events_per_question: int = 10,
    min_n: int = 100,
    level: float = 0.95,
    range_restriction: bool = True,
    fairness_drop: float = 0.05,
    random_state: int = 0,
    n_jobs: int | None = None,
) -> WeightSuggestion:
    """Suggest integer question weights for one posting from outcomes (METHODS.md §5).

    Parameters
    ----------
    data : InterviewData
        Loaded interviews; ``questions.score_weight`` is taken as today's weight.
    outcomes
        A frame with ``interview_id`` and the target column (as :func:`read_outcomes` returns),
        or anything :func:`read_outcomes` reads (joined to ``data`` by ``key``).
    target
        ``"hired"`` (binary) or a continuous column such as ``"performance"``.
    demographics
        Optional; with it, ``.fairness`` holds impact ratios under today's and the suggested
        weights (the LL144 scoring rate, and selection at the operating ``cut`` on the 0–100
        composite when given) for sex, race/ethnicity and their intersection, each flagged
        by the bias audit's rule (ratio < 0.8 AND Holm-significant AND n ≥ 30; categories
        under 2 % excluded but listed; unknowns counted). ``fairness_drop`` is retired and
        warns when changed.
    posting_id
        Required when ``data`` holds several postings.
    n_boot
        Bootstrap resamples for the weight CIs and for the comparison CIs.
    cv_folds, cv_repeats, lambdas, lambda_rule
        Passed to :class:`WeightSuggester`; the comparison uses the same outer folds, with
        λ chosen inside each outer training fold by an inner ``INNER_FOLDS``-fold CV
        (nested).
    events_per_question, min_n
        The sample-size gate: at least ``events_per_question`` events (the rarer outcome class)
        per question (Peduzzi et al. 1996) — for a continuous target, observations per question
        — and ``min_n`` outcomes in total (Riley et al. 2019 ask for more in general).
    level
        Confidence level of every interval and of the integer search's consistency region.
    range_restriction
        For a continuous target measured on a subset (e.g. performance of hires), add the
        Thorndike Case II sensitivity table.
    random_state, n_jobs
        Seed and joblib workers (BLAS threads are limited to 1 inside CV/bootstrap workers).

    Returns
    -------
    WeightSuggestion

    Raises
    ------
    InsufficientDataError
        Below the sample-size gate; ``.shortfalls`` holds ``(have, need)`` per criterion.
    DataError
        No joinable outcomes, an unknown target, several postings without ``posting_id``.

    Notes
    -----
    *Integer weights.* The API writes whole numbers 1–10 and only ratios matter, so
    :func:`integer_weights` looks for the integer vector that changes the fewest live weights
    among those whose ratios the data cannot reject (likelihood-ratio region, ``level``), and
    otherwise the one closest in ratio. A question that is as important as weighted therefore
    keeps its live weight and a push leaves it alone. Today's float weights (a guide's 1.5)
    count as "kept" only when an integer equals them at today's scale — 1.5 never does; at
    scale 2 it would be 3, but every other weight would double and change with it — so such a
    question is always rewritten, to the integer its suggested ratio rounds to.

    *Recommendation* (:func:`~milo_analytics.calibrate.compare.decide`). ``"change"`` when the
    integer weights (what a push writes) change at least one weight and beat today's weights on
    held-out candidates beyond the noise: the lower bound of the interval of
    ``suggested_integer - current`` is above 0. The interval is Nadeau & Bengio's (2003)
    corrected resampled t over the ``cv_repeats × cv_folds`` folds, every fold refitting the
    weights and the integer search on its training part. Unit weights stay in the comparison as
    the reference; the explanation says which of the three did best and, when unit weights beat
    the suggestion, that they would be better still. What this shows is "beat today's weights
    on held-out candidates by X, 95% interval [a, b]" — not a proof.

    Examples
    --------
    >>> from milo_analytics.sandbox import load_demo_world  # doctest: +SKIP
    >>> s = suggest_weights(data, outcomes, target="hired")  # doctest: +SKIP
    >>> s.recommendation, s.table[["question_id", "suggested_integer"]]  # doctest: +SKIP
    """
    pid = _pick_posting(data, posting_id)
    notes: list[str] = []
    q_frame = data.questions
    q_frame = q_frame[(q_frame["posting_id"] == pid) & ~q_frame["not_scored"].astype(bool)]
    q_frame = q_frame[q_frame["score_weight"].notna()].sort_values("rank", kind="stable")
    wide = data.score_matrix(pid)
    qids = [q for q in q_frame["question_id"].tolist() if q in wide.columns]
    missing = [q for q in q_frame["question_id"].tolist() if q not in wide.columns]
    if missing:
        notes.append(f"Scored questions without any scores were left out: {missing}.")
    if len(qids) < 2:
        raise DataError(
            f"posting {pid!r} has {len(qids)} scored question(s) with scores; weights need ≥ 2"
        )
    q_frame = q_frame.set_index("question_id").loc[qids]
    current = q_frame["score_weight"].astype("float64").to_numpy()
    X_all = wide[qids]
    complete = X_all.notna().all(axis=1)
    if (~complete).any():
        notes.append(
            f"{int((~complete).sum()):,} interviews with an unanswered scored question "
            "were left out (listwise)."
        )
    X_all = X_all[complete]

    out_frame, join_report = _outcome_frame(outcomes, data, key)
    yser = _target_vector(out_frame, target)
    yser = yser[~yser.index.duplicated(keep="first")].dropna()
    ids = X_all.index.intersection(yser.index)
    Xdf = X_all.loc[ids]
    X = Xdf.to_numpy(dtype=float)
    y = yser.loc[ids].to_numpy(dtype=float)
    if len(y) == 0:
        raise DataError(
            f"no outcome row with a {target!r} value matched a scored interview of posting "
            f"{pid!r} ({len(out_frame):,} outcome rows, {len(X_all):,} scored interviews). Check "
            f"the join key (key=, now {key!r}) and the join report: "
            f"{ {k: join_report.get(k) for k in ('matched', 'unmatched', 'no_key')} }"
        )
    binary = _is_binary(y, "auto")
    q = len(qids)

    # ---- sample-size gate
    shortfalls: dict[str, tuple[int, int]] = {}
    need_events = events_per_question * q
    if binary:
        n_pos = int(y.sum())
        events = min(n_pos, len(y) - n_pos)
        if events < need_events:
            shortfalls["events"] = (events, need_events)
    else:
        events = len(y)
        if events < need_events:
            shortfalls["observations"] = (events, need_events)
    if len(y) < min_n:
        shortfalls["n"] = (len(y), min_n)
    if shortfalls:
        what = ", ".join(f"{k}: have {h:,}, need {nd:,}" for k, (h, nd) in shortfalls.items())
        kind = "events (the rarer of hired / not hired)" if binary else "observations"
        raise InsufficientDataError(
            f"too few outcomes to suggest weights for posting {pid!r} ({q} questions, "
            f"{len(y):,} interviews with a {target!r} outcome): {what}. At least "
            f"{events_per_question} {kind} per question are needed (Peduzzi et al. 1996). "
            "Collect more outcomes, or look at question importance only "
            "(milo_analytics.analysis.relative_weights).",
            shortfalls=shortfalls,
        )

    rng = np.random.default_rng(random_state)
    est = WeightSuggester(
        baseline_weights=current,
        target_type="binary" if binary else "continuous",
        lambdas=lambdas,
        cv_folds=cv_folds,
        cv_repeats=cv_repeats,
        lambda_rule=lambda_rule,
        random_state=random_state,
        n_jobs=n_jobs,
    )._fit(X, y, inner_folds=INNER_FOLDS)
    y_fit = est._y_fit
    best = est._best_index

    # ---- integer weights on all data
    choice = integer_weights(est.weights_, current, X, y_fit, binary, mle=est._mle_fit, level=level)
    w_int = choice.weights.astype(float)
    s = est.weights_
    scale = float(w_int @ s) / float(s @ s) if float(s @ s) > 0 else 1.0

    # ---- bootstrap CIs of the weights (as shares, then on the integer scale)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    if n_boot > 0:
        seeds = rng.integers(0, 2**63 - 1, size=n_boot).tolist()
        n_chunks = max(1, min(n_boot, 2 * (n_jobs or 1)))
        chunks = [seeds[i::n_chunks] for i in range(n_chunks)]
        res = _run_parallel(
            _boot_job,
            [(X, y_fit, ch, current, est.lambda_, binary, est._theta) for ch in chunks],
            n_jobs,
        )
        betas = np.vstack(res)
        tot = betas.sum(axis=1, keepdims=True)
        shares = np.where(tot > 0, betas / np.where(tot > 0, tot, 1), np.nan)
        total = scale * s.sum()
        ci_low = np.nanquantile(shares, lo_q, axis=0) * total
        ci_high = np.nanquantile(shares, hi_q, axis=0) * total
    else:
        ci_low = ci_high = np.full(q, np.nan)

    # ---- out-of-sample comparison on the same folds
    # (nested: each outer fold's λ was chosen by an inner CV on its training part only)
    folds, fres = est._folds, est._fold_results
    fold_beta = [fr["betas"][best if fr["inner_best"] is None else fr["inner_best"]] for fr in fres]
    jobs = [
        (X, y_fit, tr, beta_f, current, binary, fr["mle"], level)
        for (tr, _), fr, beta_f in zip(folds, fres, fold_beta, strict=True)
    ]
    fold_ints = _run_parallel(_int_job, jobs, n_jobs)
    oof = np.empty((cv_repeats, 4, len(y)))
    unit = np.ones(q)
    for f, (_, te) in enumerate(folds):
        r = f // cv_folds
        Xt = X[te]
        for m, w in enumerate((current, unit, fold_beta[f], fold_ints[f])):
            w = np.asarray(w, float)
            oof[r, m, te] = Xt @ w / (w.sum() or 1.0)
    with single_blas():
        comparison, differences = _compare(
            oof, y, binary, n_boot if n_boot > 0 else 200, rng, level, folds=folds
        )
    metric = "auc" if binary else "r"

    # ---- recommendation (the decision rule: compare.decide)
    n_changes = int(np.sum(~np.isclose(w_int, current)))
    how = f"{cv_repeats}×{cv_folds} repeated cross-validation, corrected resampled t"
    recommendation, why = decide(differences, n_changes, metric=metric, level=level, how=how)
    notes.insert(0, f"Recommendation: {recommendation} — {why}.")
    if target == "hired":
        notes.append(HIRED_CAVEAT)
    notes.append(PAST_SCORES_NOTE)
    notes.append(
        f"Fit: {'logistic' if binary else 'linear'} regression shrunk toward today's weights "
        f"(L2 on the change, weights ≥ 0), λ={est.lambda_:.3g} by {cv_repeats}×{cv_folds}-fold "
        f"stratified CV ({lambda_rule} rule). The comparison uses those outer folds, nested: "
        f"every fold chooses its own λ by an inner {INNER_FOLDS}-fold CV on its training part "
        "only (a coarser grid), refits the weights and runs the integer search on that "
        "training part, so its held-out candidates never saw λ, the fit or the rounding; the "
        "intervals of the differences are Nadeau & Bengio's (2003) corrected resampled t over "
        f"the {cv_repeats * cv_folds} folds."
    )
    notes.append(
        f"Integer weights by {choice.rule}: {choice.changes} of {q} weights change; rounding "
        f"loss 1−corr(composites) = {choice.rounding_loss:.4f}; largest share error "
        f"{choice.share_error:.3f}; likelihood-ratio statistic {choice.lr_statistic:.2f} vs "
        f"{choice.lr_threshold:.2f} ({'inside' if choice.accepted else 'OUTSIDE'} the "
        f"{level:.0%} region of the weight ratios)."
    )
    if est.alpha_ <= 0:
        notes.append(
            "Today's composite does not predict the outcome (slope ≤ 0); the prior "
            "was centred on zero weights instead of today's weights."
        )
    if (w_int == MIN_WEIGHT).any() and (s * scale < 0.5).any():
        low = [qids[i] for i in np.flatnonzero(s * scale < 0.5)]
        notes.append(
            f"Questions {low} carry almost no weight; the API's minimum is 1 — consider "
            "making them not_scored."
        )

    # ---- importance (Johnson's relative weights)
    importance = np.full(q, np.nan)
    try:
        from ..analysis.importance import relative_weights

        with single_blas():
            rw = relative_weights(pd.DataFrame(X, columns=qids), y)
        importance = rw["rescaled_weight"].reindex(qids).to_numpy(dtype=float)
    except Exception as exc:  # importance is context, never a reason to fail
        notes.append(f"Relative-weight importance unavailable: {exc}")

    texts = (
        q_frame["text"].astype("str").to_numpy()
        if "text" in q_frame
        else np.array([""] * q, dtype=object)
    )
    table = pd.DataFrame(
        {
            "question_id": pd.array(qids, dtype="str"),
            "text": pd.array(texts, dtype="str"),
            "rank": pd.to_numeric(q_frame["rank"], errors="coerce").to_numpy(dtype="float64")
            if "rank" in q_frame
            else np.arange(1.0, q + 1),
            "current_weight": current,
            "suggested_weight": s * scale,
            "suggested_integer": w_int.astype("int64"),
            "importance": importance,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "change": w_int - current,
            "mle_weight": est.mle_ * scale,
        }
    )
    path = est.lambda_path_ * scale
    path.columns = qids
    lambda_path = path.reset_index().melt(
        id_vars="lambda", var_name="question_id", value_name="weight"
    )
    lambda_path["question_id"] = lambda_path["question_id"].astype("str")

    # ---- range restriction and fairness
    rr = None
    if not binary and range_restriction and len(X_all) > len(ids):
        rr = _thorndike(X, y, X_all.to_numpy(dtype=float), qids)
        notes.append(
            f"Range restriction: {target!r} exists for {len(ids):,} of {len(X_all):,} scored "
            "interviews; r_corrected (Thorndike Case II) is a sensitivity column only — "
            "corrections often overstate validity (Sackett et al. 2022)."
        )
    fair = None
    scale_max = int(data.score_scale or 5)
    if demographics is not None:
        fair, fair_notes = _fairness(
            X_all, current, w_int, demographics, data, key, cut, scale_max, fairness_drop
        )
        notes.extend(fair_notes)

    upd = q_frame["updated_at"] if "updated_at" in q_frame else pd.Series(pd.NaT, index=qids)
    baseline = {
        "posting_id": pid,
        "question_ids": qids,
        "weights": {qid: float(w) for qid, w in zip(qids, current, strict=True)},
        "updated_at": {
            qid: (None if pd.isna(t) else pd.Timestamp(t).isoformat()) for qid, t in upd.items()
        },
        "data_hash": _data_hash(ids.to_numpy(), X, y, qids),
        "score_scale": scale_max,
        "n": len(y),
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return WeightSuggestion(
        table=table,
        notes=notes,
        comparison=comparison,
        differences=differences,
        recommendation=recommendation,
        baseline=baseline,
        join_report=_jsonable(join_report),
        target=target,
        target_type="binary" if binary else "continuous",
        metric=metric,
        lambda_=est.lambda_,
        lambda_path=lambda_path,
        cv_results=est.cv_results_,
        rounding={
            "rule": choice.rule,
            "changes": choice.changes,
            "rounding_loss": choice.rounding_loss,
            "share_error": choice.share_error,
            "lr_statistic": choice.lr_statistic,
            "lr_threshold": choice.lr_threshold,
            "consistent": choice.accepted,
            "scale": scale,
        },
        fairness=fair,
        range_restriction=rr,
        n=len(y),
        n_events=int(events) if binary else None,
        settings={
            "cv_folds": cv_folds,
            "cv_repeats": cv_repeats,
            "n_boot": n_boot,
            "lambda_rule": lambda_rule,
            "level": level,
            "random_state": random_state,
            "cut": cut,
            "key": key,
        },
    )
