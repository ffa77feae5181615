"""Question weights: nominal vs effective weights, score reconstruction, what-if rescoring.

* :func:`effective_weights` — per posting and question, the nominal weight and share beside
  the effective share wᵢ·cov(Xᵢ, C)/var(C) of the composite C = Σ wⱼXⱼ (METHODS.md §2;
  Paruolo, Saisana & Saltelli 2013) and the correlation with the overall score.
* :func:`reconcile_scores` — recompute every overall score from its scorecard and the weights
  used, under the candidate formulas of METHODS.md §1 (and the user's), rounding-aware.
* :func:`rescore` — overall scores under other weights: rank changes and shortlist flips.

Examples
--------
>>> import numpy as np
>>> s = np.array([[5.0, 3.0], [4.0, np.nan]])
>>> w = np.array([[2.0, 1.0], [2.0, 1.0]])
>>> FORMULAS["proportional"](s, w, 5).round(2).tolist()
[86.67, 80.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import (
    html_with_frames,
    pairwise_cov,
    pearson_r,
    posting_ids_with_scores,
    posting_scale,
    question_texts,
    require_data,
    scored_items,
)

__all__ = [
    "FORMULAS",
    "EffectiveWeights",
    "ReconcileResult",
    "RescoreResult",
    "effective_weights",
    "reconcile_scores",
    "rescore",
]

#: A formula maps (scores n×k with NaN for unanswered, weights n×k, scale max) -> n scores 0–100.
Formula = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def _proportional(s: np.ndarray, w: np.ndarray, scale: int) -> np.ndarray:
    """100·Σwᵢsᵢ / (Σwᵢ·S_max) over answered scored items."""
    ok = ~np.isnan(s)
    wv = np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * np.nansum(wv * np.nan_to_num(s), axis=1) / (wv.sum(axis=1) * scale)


def _min_anchored(s: np.ndarray, w: np.ndarray, scale: int) -> np.ndarray:
    """100·Σwᵢ(sᵢ−1) / (Σwᵢ·(S_max−1)) over answered scored items."""
    ok = ~np.isnan(s)
    wv = np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * np.sum(wv * (np.nan_to_num(s) - 1), axis=1) / (wv.sum(axis=1) * (scale - 1))


#: The candidate overall-score formulas of METHODS.md §1.
FORMULAS: dict[str, Formula] = {"proportional": _proportional, "min_anchored": _min_anchored}

#: Rounding tolerances: ``score`` is published with 1 decimal, ``match_score`` as an integer —
#: possibly the rounding of the already rounded ``score`` (84.47 → 84.5 → 85), hence 0.55.
SCORE_TOL = 0.05 + 1e-6
MATCH_TOL = 0.55 + 1e-6


def _formulas(formulas: Any) -> dict[str, Formula]:
    out = dict(FORMULAS)
    if formulas is None:
        return out
    if callable(formulas):
        formulas = [formulas]
    if isinstance(formulas, Mapping):
        items = list(formulas.items())
    else:
        try:
            items = [
                (getattr(f, "__name__", f"formula_{i + 1}"), f) for i, f in enumerate(formulas)
            ]
        except TypeError:
            raise DataError(
                "formulas= takes a callable f(scores, weights, scale) -> overall scores, a list "
                f"of them, or a dict name -> callable; got {type(formulas).__name__}"
            ) from None
    for name, f in items:
        if not callable(f):
            raise DataError(f"formula {name!r} is not callable; pass f(scores, weights, scale)")
        out[str(name)] = f
    return out


def _item_arrays(
    data: InterviewData, pid: str
) -> tuple[pd.Index, list[str], np.ndarray, np.ndarray]:
    """(interview ids, question ids, scores n×k, weights-used n×k) of one posting."""
    s = scored_items(data)
    s = s[s["posting_id"] == pid]
    sm = data.score_matrix(pid)
    wm = s.pivot_table(
        index="interview_id", columns="question_id", values="score_weight", aggfunc="first"
    ).reindex(index=sm.index, columns=sm.columns)
    return sm.index, list(sm.columns), sm.to_numpy("float64"), wm.to_numpy("float64")


def _current_weights(
    data: InterviewData, pid: str, qids: list[str], notes: list[str]
) -> np.ndarray:
    """Today's weights (questions frame); scorecard's latest weight when a question is absent."""
    q = data.questions[data.questions["posting_id"] == pid].drop_duplicates("question_id")
    cur = pd.to_numeric(q.set_index("question_id")["score_weight"], errors="coerce").astype(
        "float64"
    )
    w = cur.reindex(qids)
    missing = w.index[w.isna()].tolist()
    if missing:
        s = scored_items(data)
        s = s[(s["posting_id"] == pid) & s["question_id"].isin(missing)]
        used = s.groupby("question_id")["score_weight"].agg(
            lambda v: v.dropna().iloc[-1] if v.notna().any() else np.nan
        )
        w = w.fillna(pd.to_numeric(used, errors="coerce").astype("float64"))
        notes.append(
            f"posting {pid}: no current weight for {missing} in the questions frame; used the "
            "weight recorded on the scorecards"
        )
    still = w.index[w.isna()].tolist()
    if still:
        raise DataError(
            f"posting {pid}: no weight known for questions {still}; pass weights= explicitly"
        )
    return w.to_numpy("float64")


def _weights_arg(weights: Any, qids: list[str], pid: str) -> dict[str, float]:
    """Normalise a user weights argument to question_id -> weight."""
    if hasattr(weights, "table") and isinstance(weights.table, pd.DataFrame):
        weights = weights.table
    if isinstance(weights, pd.DataFrame):
        if "question_id" not in weights.columns:
            raise DataError("a weights frame needs a question_id column")
        col = next(
            (
                c
                for c in ("suggested_weight", "weight", "score_weight", "new")
                if c in weights.columns
            ),
            None,
        )
        if col is None:
            raise DataError(
                "a weights frame needs a weight column (suggested_weight, weight or score_weight); "
                f"found {list(weights.columns)}"
            )
        if "posting_id" in weights.columns:
            weights = weights[weights["posting_id"].isna() | (weights["posting_id"] == pid)]
        weights = dict(zip(weights["question_id"], weights[col], strict=False))
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if not isinstance(weights, Mapping):
        raise DataError(
            f"weights= must be a dict question_id -> weight, a Series or a frame; got {type(weights).__name__}"
        )
    out = {}
    for q, v in weights.items():
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise DataError(f"weight for question {q!r} is not a number: {v!r}") from None
        if not np.isfinite(fv) or fv < 0:
            raise DataError(f"weight for question {q!r} must be a non-negative number, got {v!r}")
        out[str(q)] = fv
    return out


# ----------------------------------------------------------------------------- effective weights
@dataclass(repr=False)
class EffectiveWeights(Result):
    """Nominal vs effective weights per posting and question.

    ``table`` columns: ``posting_id``, ``question_id``, ``text``, ``weight``,
    ``nominal_share``, ``effective_share``, ``share_gap`` (effective − nominal), ``sd``,
    ``r_overall``, ``n``, ``n_missing``.
    """

    def plot(self, posting_id: str | None = None) -> Any:
        """Grouped bars: nominal share beside effective share per question."""
        from .. import plots

        t = self.table
        if posting_id is None:
            posting_id = t["posting_id"].iloc[0]
        return plots.weight_shares(
            t[t["posting_id"] == posting_id],
            title=f"Nominal vs effective weights — posting {posting_id}",
        )


def effective_weights(
    data: InterviewData,
    *,
    weights: str | Mapping[str, float] | pd.Series | pd.DataFrame = "current",
) -> EffectiveWeights:
    """Nominal weight share vs effective share of composite variance, per posting.

    For composite C = Σ wⱼXⱼ the effective share of question i is wᵢ·cov(Xᵢ, C)/var(C)
    = wᵢ(Σw)ᵢ / wᵀΣw for the question covariance matrix Σ; shares sum to 1 and depend on each
    question's spread and correlations, not only its weight (METHODS.md §2).

    Parameters
    ----------
    data
        InterviewData.
    weights
        ``"current"`` (today's weights in ``data.questions``; the default, as a weight change
        is judged against them), ``"scored"`` (the weight recorded on the scorecards, latest
        per question) or an explicit mapping / Series / frame of question_id -> weight.

    Returns
    -------
    EffectiveWeights

    Notes
    -----
    Missing answers: Σ is the pairwise-complete covariance matrix, so every interview counts
    for the questions it answered; ``n_missing`` says how many lacked each question.
    ``r_overall`` is the correlation with HeyMilo's overall ``score`` when present, else with
    the composite.

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> scores = pd.DataFrame({"interview_id": [f"i{i}" for i in range(4) for _ in range(2)],
    ...     "posting_id": "P", "question_id": ["a", "b"] * 4, "rank": [1, 2] * 4,
    ...     "score": [4, 5, 2, 5, 4, 1, 2, 1], "score_weight": 1.0, "not_scored": False})
    >>> ew = effective_weights(InterviewData(scores=scores), weights="scored")
    >>> ew.table["effective_share"].round(2).tolist()
    [0.2, 0.8]
    """
    data = require_data(data, "effective_weights")
    pids = posting_ids_with_scores(data)
    if not pids:
        raise InsufficientDataError("effective_weights(): the data has no scored question answers")
    texts = question_texts(data)
    overall = data.interviews.drop_duplicates("interview_id").set_index("interview_id")["score"]
    rows, notes = [], []
    for pid in pids:
        ids, qids, S, Wused = _item_arrays(data, pid)
        if len(ids) < 2:
            raise InsufficientDataError(
                f"effective_weights(): posting {pid} has {len(ids)} scored interview; need at least 2",
                shortfalls={"interviews": (len(ids), 2)},
            )
        if isinstance(weights, str):
            if weights == "current":
                w = _current_weights(data, pid, qids, notes)
            elif weights == "scored":
                w = np.array(
                    [
                        Wused[~np.isnan(Wused[:, j]), j][-1]
                        if (~np.isnan(Wused[:, j])).any()
                        else np.nan
                        for j in range(len(qids))
                    ]
                )
            else:
                raise DataError(
                    f"effective_weights(weights={weights!r}); use 'current', 'scored' or a mapping"
                )
        else:
            given = _weights_arg(weights, qids, pid)
            unknown = sorted(set(given) - set(qids) - set(data.questions["question_id"]))
            if unknown:
                raise DataError(f"weights= names questions not in the data: {unknown}")
            cur = _current_weights(data, pid, qids, notes)
            w = np.array([given.get(q, c) for q, c in zip(qids, cur, strict=True)])
        empty = np.isnan(S).all(axis=0)
        if empty.any():
            notes.append(
                f"posting {pid}: questions {[q for q, e in zip(qids, empty, strict=True) if e]} have no answers; left out"
            )
        keep = ~empty
        Sk, wk = S[:, keep], w[keep]
        qk = [q for q, k in zip(qids, keep, strict=True) if k]
        C = pairwise_cov(Sk)
        if not np.isfinite(C).all():
            raise InsufficientDataError(
                f"effective_weights(): posting {pid} has question pairs never answered together; "
                "their covariance is unknown"
            )
        Cw = C @ wk
        var_c = float(wk @ Cw)
        sd = np.sqrt(np.diag(C))
        flat = [q for q, s in zip(qk, sd, strict=True) if not s > 0]
        if flat:
            notes.append(
                f"posting {pid}: questions {flat} have no variance; they shift every score equally "
                "and have effective share 0 whatever their weight"
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = wk * Cw / var_c if var_c > 0 else np.full(len(qk), np.nan)
        nominal = wk / wk.sum() if wk.sum() > 0 else np.full(len(qk), np.nan)
        ov = pd.to_numeric(overall.reindex(ids), errors="coerce").to_numpy("float64")
        use_vendor = np.isfinite(ov).sum() >= 3
        if not use_vendor:
            ov = _proportional(S, np.broadcast_to(w, S.shape), 5)
        missing = np.isnan(Sk).sum(axis=0)
        for j, q in enumerate(qk):
            r, _ = pearson_r(Sk[:, j], ov)
            rows.append(
                {
                    "posting_id": pid,
                    "question_id": q,
                    "text": texts.get(q, ""),
                    "weight": wk[j],
                    "nominal_share": nominal[j],
                    "effective_share": eff[j],
                    "share_gap": eff[j] - nominal[j],
                    "sd": sd[j],
                    "r_overall": r,
                    "n": int(len(ids) - missing[j]),
                    "n_missing": int(missing[j]),
                }
            )
        if missing.any():
            notes.append(
                f"posting {pid}: {int(missing.sum())} missing answers; covariances use pairwise-"
                "complete interviews"
            )
        notes.append(
            f"posting {pid}: r_overall is the correlation with "
            f"{'HeyMilo' + chr(39) + 's overall score' if use_vendor else 'the weighted composite (no overall scores loaded)'}."
        )
    table = pd.DataFrame(rows)
    table["text"] = table["text"].astype("str")
    src = weights if isinstance(weights, str) else "given"
    notes.insert(
        0,
        f"Weights: {src}. Effective share = wᵢ·cov(Xᵢ, C)/var(C) (Paruolo, Saisana & Saltelli 2013).",
    )
    return EffectiveWeights(table=table, title="Nominal vs effective question weights", notes=notes)


# ----------------------------------------------------------------------------- reconcile
@dataclass(repr=False)
class ReconcileResult(Result):
    """Which formula reproduces HeyMilo's overall scores.

    ``table`` (one row per posting × formula): ``posting_id``, ``formula``, ``n``,
    ``n_fit``, ``share_fit``, ``n_score_fit``, ``n_match_score_fit``, ``mean_abs_residual``,
    ``median_abs_residual``, ``max_abs_residual``, ``best``.
    ``residuals``: per interview ``interview_id``, ``posting_id``, ``score``, ``match_score``,
    ``formula`` (the posting's best), ``predicted``, ``residual``, ``fits`` and one
    ``pred_<formula>`` column per formula. ``unmatched``: the rows of ``residuals`` that fit no
    formula. ``best``: posting_id -> formula name.
    """

    def _repr_html_(self) -> str:
        cols = ["interview_id", "posting_id", "score", "match_score", "predicted", "residual"]
        return html_with_frames(
            super()._repr_html_(),
            [
                (
                    "Interviews that fit no formula",
                    self.unmatched[cols] if len(self.unmatched) else None,
                )
            ],
        )

    @property
    def residuals(self) -> pd.DataFrame:
        return self.extras["residuals"]

    @property
    def unmatched(self) -> pd.DataFrame:
        return self.extras["unmatched"]

    @property
    def best(self) -> dict[str, str]:
        return self.extras["best"]

    def plot(self, posting_id: str | None = None) -> Any:
        """Histogram of residuals (vendor − predicted) of the best formula, binned at 0.1."""
        from .. import plots

        r = self.residuals
        if posting_id is None:
            posting_id = r["posting_id"].iloc[0]
        res = r.loc[r["posting_id"] == posting_id, "residual"].to_numpy("float64")
        res = res[np.isfinite(res)]
        edges = np.round(np.arange(-5.0, 5.0001, 0.1), 10)
        counts, _ = np.histogram(np.clip(res, -4.99, 4.99), bins=edges)
        bins = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "count": counts})
        return plots.residual_histogram(
            bins,
            title=f"Score residuals under '{self.best.get(posting_id)}' — posting {posting_id} "
            "(±5 clipped)",
        )


def reconcile_scores(
    data: InterviewData,
    formulas: Formula | list[Formula] | Mapping[str, Formula] | None = None,
) -> ReconcileResult:
    """Recompute each overall score from its scorecard and find the formula that fits.

    Uses each scorecard item's own ``score_weight`` (the weight in force when that interview
    was scored); ``not_scored`` items are excluded; unanswered items and structured
    (pass/fail) items, which carry no numeric score, drop out of numerator and denominator. An interview *fits* a formula when the prediction agrees with ``score``
    within its 1-decimal rounding (±0.05) and with ``match_score`` within integer rounding
    of the rounded score (±0.55), for whichever of the two are present.

    Parameters
    ----------
    data
        InterviewData with ``scores`` and ``interviews``.
    formulas
        Extra candidate formulas besides ``"proportional"`` (100·Σwᵢsᵢ/(Σwᵢ·S_max)) and
        ``"min_anchored"`` (100·Σwᵢ(sᵢ−1)/(Σwᵢ(S_max−1))): a callable
        ``f(scores, weights, scale) -> overall`` on n×k arrays (NaN = unanswered), a list of
        them (named by ``__name__``) or a dict name -> callable.

    Returns
    -------
    ReconcileResult
        ``.table``, ``.best``, ``.residuals``, ``.unmatched`` (e.g. recruiter overrides).

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> scores = pd.DataFrame({"interview_id": ["i1", "i1", "i2", "i2"], "posting_id": "P",
    ...     "question_id": ["a", "b"] * 2, "rank": [1, 2] * 2, "score": [5, 3, 2, 4],
    ...     "score_weight": [2.0, 1.0, 2.0, 1.0], "not_scored": False})
    >>> interviews = pd.DataFrame({"interview_id": ["i1", "i2"], "posting_id": "P",
    ...     "status": "completed", "score": [86.7, 53.3], "match_score": [87, 53]})
    >>> rec = reconcile_scores(InterviewData(scores=scores, interviews=interviews))
    >>> rec.best
    {'P': 'proportional'}
    """
    data = require_data(data, "reconcile_scores")
    fmap = _formulas(formulas)
    pids = posting_ids_with_scores(data)
    if not pids:
        raise InsufficientDataError("reconcile_scores(): the data has no scored question answers")
    iv = data.interviews.drop_duplicates("interview_id").set_index("interview_id")
    rows, res_frames, best, notes = [], [], {}, []
    for pid in pids:
        ids, _qids, S, W = _item_arrays(data, pid)
        scale = posting_scale(data, pid)
        nan_w = np.isnan(W) & ~np.isnan(S)
        if nan_w.any():
            notes.append(
                f"posting {pid}: {int(nan_w.sum())} scored answers lack a weight; treated as weight 1"
            )
            W = np.where(nan_w, 1.0, W)
        score = pd.to_numeric(iv["score"].reindex(ids), errors="coerce").to_numpy("float64")
        match = pd.to_numeric(iv["match_score"].reindex(ids), errors="coerce").to_numpy("float64")
        have = np.isfinite(score) | np.isfinite(match)
        if not have.any():
            notes.append(f"posting {pid}: no overall scores to reconcile against")
            continue
        preds: dict[str, np.ndarray] = {}
        fits: dict[str, np.ndarray] = {}
        for name, f in fmap.items():
            try:
                p = np.asarray(f(S.copy(), W.copy(), scale), dtype="float64").reshape(-1)
            except Exception as exc:
                raise DataError(f"formula {name!r} failed: {type(exc).__name__}: {exc}") from exc
            if p.shape[0] != len(ids):
                raise DataError(
                    f"formula {name!r} returned {p.shape[0]} values for {len(ids)} interviews"
                )
            ok_s = np.abs(p - score) <= SCORE_TOL
            ok_m = np.abs(p - match) <= MATCH_TOL
            fit = (
                np.where(np.isfinite(score), ok_s, True)
                & np.where(np.isfinite(match), ok_m, True)
                & have
            )
            fit &= np.isfinite(p)
            resid = np.where(np.isfinite(score), score - p, match - p)
            ar = np.abs(resid[have & np.isfinite(resid)])
            preds[name], fits[name] = p, fit
            rows.append(
                {
                    "posting_id": pid,
                    "formula": name,
                    "n": int(have.sum()),
                    "n_fit": int(fit.sum()),
                    "share_fit": float(fit.sum() / have.sum()),
                    "n_score_fit": int((ok_s & np.isfinite(score)).sum()),
                    "n_match_score_fit": int((ok_m & np.isfinite(match)).sum()),
                    "mean_abs_residual": float(ar.mean()) if ar.size else np.nan,
                    "median_abs_residual": float(np.median(ar)) if ar.size else np.nan,
                    "max_abs_residual": float(ar.max()) if ar.size else np.nan,
                }
            )
        posting_rows = [r for r in rows if r["posting_id"] == pid]
        top = max(
            posting_rows,
            key=lambda r: (r["share_fit"], -np.nan_to_num(r["mean_abs_residual"], nan=np.inf)),
        )
        best[pid] = top["formula"]
        p = preds[best[pid]]
        any_fit = np.logical_or.reduce(list(fits.values()))
        frame = pd.DataFrame(
            {
                "interview_id": ids.astype("str"),
                "posting_id": pid,
                "score": score,
                "match_score": match,
                "formula": best[pid],
                "predicted": p,
                "residual": np.where(np.isfinite(score), score - p, match - p),
                "fits": fits[best[pid]],
                "fits_any": any_fit,
            }
        )
        for name, pv in preds.items():
            frame[f"pred_{name}"] = pv
        res_frames.append(frame[have])
        n_none = int((have & ~any_fit).sum())
        notes.append(
            f"posting {pid}: '{best[pid]}' fits {top['n_fit']:,} of {top['n']:,} interviews "
            f"({top['share_fit']:.1%}; scale 1–{scale}); {n_none:,} fit no formula "
            "(recruiter overrides or another rule; see .unmatched)."
        )
    if not rows:
        raise InsufficientDataError(
            "reconcile_scores(): no interview has an overall score to compare with"
        )
    table = pd.DataFrame(rows)
    table["best"] = table.apply(lambda r: best.get(r["posting_id"]) == r["formula"], axis=1)
    residuals = pd.concat(res_frames, ignore_index=True)
    unmatched = residuals[~residuals["fits_any"]].reset_index(drop=True)
    return ReconcileResult(
        table=table,
        title="Overall score reconstruction",
        notes=notes,
        extras={"residuals": residuals, "unmatched": unmatched, "best": best},
    )


# ----------------------------------------------------------------------------- rescore
@dataclass(repr=False)
class RescoreResult(Result):
    """Overall scores under other weights.

    ``table`` (one row per posting): ``posting_id``, ``n``, ``spearman``,
    ``mean_abs_rank_change``, ``max_abs_rank_change``, ``share_rank_changed``, ``cut``,
    ``n_shortlisted_before``, ``n_shortlisted_after``, ``n_in`` (newly shortlisted),
    ``n_out`` (dropped), ``n_flips``. ``interviews``: per interview ``interview_id``,
    ``posting_id``, ``score_before``, ``score_after``, ``rank_before``, ``rank_after``,
    ``rank_change`` (positive = moved up), ``shortlisted_before``, ``shortlisted_after``,
    ``flip`` ("in", "out" or "").
    """

    @property
    def interviews(self) -> pd.DataFrame:
        return self.extras["interviews"]

    def plot(self, posting_id: str | None = None) -> Any:
        """2-D histogram of score before vs after (2-point bins), with the cut marked."""
        from .. import plots

        iv = self.interviews
        if posting_id is None:
            posting_id = iv["posting_id"].iloc[0]
        d = iv[iv["posting_id"] == posting_id]
        edges = np.arange(0, 102, 2.0)
        counts, _, _ = np.histogram2d(
            d["score_before"].clip(0, 100), d["score_after"].clip(0, 100), bins=[edges, edges]
        )
        row = self.table[self.table["posting_id"] == posting_id].iloc[0]
        return plots.rescore_heatmap(
            edges,
            counts,
            cut=row["cut"],
            title=f"Overall score before vs after reweighting — posting {posting_id} "
            f"({int(row['n_flips'])} shortlist flips)",
        )


def rescore(
    data: InterviewData,
    weights: Mapping[str, float] | pd.Series | pd.DataFrame | Any,
    *,
    baseline: str | Mapping[str, float] = "current",
    formula: str | Formula = "proportional",
    cut: float | None = None,
    top: int | float | None = None,
) -> RescoreResult:
    """What-if: overall scores under other weights, rank changes and shortlist flips.

    Both the baseline and the new scores are recomputed from the scorecards with the same
    formula, so differences come from the weights alone (recruiter overrides do not blur it).

    Parameters
    ----------
    data
        InterviewData.
    weights
        The new weights: dict question_id -> weight, a Series, a frame with ``question_id`` and
        ``suggested_weight``/``weight``, or a WeightSuggestion. Questions not named keep their
        baseline weight.
    baseline
        ``"current"`` (today's weights), ``"scored"`` (each scorecard's weights as used), or a
        mapping.
    formula
        ``"proportional"`` (HeyMilo's, see :func:`reconcile_scores`), ``"min_anchored"`` or a
        callable.
    cut
        Shortlist = overall score ≥ ``cut`` (same cut before and after).
    top
        Shortlist = the ``top`` best ranks (int) or the best fraction (0 < top < 1) per posting.
        Give ``cut`` or ``top``, not both; with neither, only rank changes are reported.

    Returns
    -------
    RescoreResult

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> scores = pd.DataFrame({"interview_id": ["i1", "i1", "i2", "i2"], "posting_id": "P",
    ...     "question_id": ["a", "b"] * 2, "rank": [1, 2] * 2, "score": [5, 1, 2, 5],
    ...     "score_weight": 1.0, "not_scored": False})
    >>> res = rescore(InterviewData(scores=scores), {"a": 3.0}, baseline="scored", top=1)
    >>> res.interviews["flip"].tolist()
    ['in', 'out']
    """
    data = require_data(data, "rescore")
    if cut is not None and top is not None:
        raise DataError("rescore(): give cut= or top=, not both")
    if top is not None and not (top > 0):
        raise DataError(f"rescore(top={top!r}): use a positive count or a fraction in (0, 1)")
    if isinstance(formula, str):
        if formula not in FORMULAS:
            raise DataError(
                f"rescore(formula={formula!r}); use one of {sorted(FORMULAS)} or a callable"
            )
        fn = FORMULAS[formula]
    elif callable(formula):
        fn = formula
    else:
        raise DataError("rescore(formula=...) must be a name or a callable")
    pids = posting_ids_with_scores(data)
    if not pids:
        raise InsufficientDataError("rescore(): the data has no scored question answers")
    rows, frames, notes = [], [], []
    for pid in pids:
        ids, qids, S, Wused = _item_arrays(data, pid)
        scale = posting_scale(data, pid)
        if isinstance(baseline, str):
            if baseline == "current":
                W0 = np.broadcast_to(_current_weights(data, pid, qids, notes), S.shape)
            elif baseline == "scored":
                W0 = np.where(np.isnan(Wused), 1.0, Wused)
            else:
                raise DataError(
                    f"rescore(baseline={baseline!r}); use 'current', 'scored' or a mapping"
                )
        else:
            b = _weights_arg(baseline, qids, pid)
            cur = _current_weights(data, pid, qids, notes)
            W0 = np.broadcast_to(
                np.array([b.get(q, c) for q, c in zip(qids, cur, strict=True)]), S.shape
            )
        new = _weights_arg(weights, qids, pid)
        unknown = sorted(set(new) - set(qids) - set(data.questions["question_id"]))
        if unknown:
            raise DataError(f"rescore(): weights name questions not in the data: {unknown}")
        W1 = np.array(W0, dtype="float64", copy=True)
        for j, q in enumerate(qids):
            if q in new:
                W1[:, j] = new[q]
        before = fn(S, np.asarray(W0, dtype="float64"), scale)
        after = fn(S, W1, scale)
        rb = pd.Series(before).rank(ascending=False, method="min")
        ra = pd.Series(after).rank(ascending=False, method="min")
        n = len(ids)
        if top is not None:
            k = int(top) if top >= 1 else max(1, round(top * n))
            sb, sa = (rb <= k).to_numpy(), (ra <= k).to_numpy()
            cut_used = float("nan")
        elif cut is not None:
            sb, sa = before >= cut, after >= cut
            cut_used = float(cut)
        else:
            sb = sa = np.zeros(n, dtype=bool)
            cut_used = float("nan")
        flip = np.where(sa & ~sb, "in", np.where(sb & ~sa, "out", ""))
        change = (rb - ra).to_numpy()
        frame = pd.DataFrame(
            {
                "interview_id": ids.astype("str"),
                "posting_id": pid,
                "score_before": before,
                "score_after": after,
                "rank_before": rb.to_numpy(),
                "rank_after": ra.to_numpy(),
                "rank_change": change,
                "shortlisted_before": sb,
                "shortlisted_after": sa,
                "flip": flip,
            }
        )
        frame["flip"] = frame["flip"].astype("str")
        frames.append(frame)
        rho = (
            float(pd.Series(before).corr(pd.Series(after), method="spearman")) if n > 2 else np.nan
        )
        rows.append(
            {
                "posting_id": pid,
                "n": n,
                "spearman": rho,
                "mean_abs_rank_change": float(np.abs(change).mean()) if n else np.nan,
                "max_abs_rank_change": float(np.abs(change).max()) if n else np.nan,
                "share_rank_changed": float((change != 0).mean()) if n else np.nan,
                "cut": cut_used
                if top is None
                else float(np.nanmin(before[sb]))
                if sb.any()
                else np.nan,
                "n_shortlisted_before": int(sb.sum()),
                "n_shortlisted_after": int(sa.sum()),
                "n_in": int((flip == "in").sum()),
                "n_out": int((flip == "out").sum()),
                "n_flips": int((flip != "").sum()),
            }
        )
        if cut is not None or top is not None:
            notes.append(
                f"posting {pid}: {rows[-1]['n_flips']} shortlist decisions change "
                f"({rows[-1]['n_in']} in, {rows[-1]['n_out']} out) of {n}."
            )
    return RescoreResult(
        table=pd.DataFrame(rows),
        title="What-if rescoring",
        notes=notes,
        extras={"interviews": pd.concat(frames, ignore_index=True)},
    )
