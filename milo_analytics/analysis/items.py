"""Item statistics and reliability per posting (METHODS.md §3).

:func:`cronbach_alpha` computes α with the Feldt interval exactly as pingouin does;
:func:`item_statistics` gives per-question n, mean, SD, score-value shares, floor/ceiling
flags, corrected item-total r, α if deleted, discrimination, plus per-posting α, mean
inter-item r and SEM. Everything derives from one covariance matrix (raw α throughout).

Examples
--------
>>> import pandas as pd
>>> wide = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4], "q3": [1, 3, 3, 4, 5]})
>>> alpha, (low, high) = cronbach_alpha(wide)
>>> round(alpha, 3)  # pingouin.cronbach_alpha gives the same
0.945
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import (
    check_numeric_frame,
    html_with_frames,
    posting_ids_with_scores,
    posting_scale,
    question_texts,
    require_data,
)

__all__ = ["ItemStatistics", "cronbach_alpha", "item_statistics"]

FLOOR_CEILING_FLAG = 0.15  # Terwee et al. (2007): > 15 % at the scale's min or max
#: Choices of the n in Feldt's interval (see :func:`cronbach_alpha`).
FELDT_N = ("used", "pingouin")


def _alpha_from_cov(C: np.ndarray) -> float:
    k = C.shape[0]
    total = C.sum()
    if k < 2 or total == 0 or not np.isfinite(total):
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(C) / total))


def _feldt(alpha: float, n: float, k: int, ci: float) -> tuple[float, float]:
    """Feldt (1987) interval as pingouin computes it (not rounded here); ``n`` may be a
    harmonic mean (not an integer): the F distribution takes real degrees of freedom."""
    if not np.isfinite(alpha) or not n >= 2 or k < 2:
        return float("nan"), float("nan")
    a = 1 - ci
    df1 = n - 1
    df2 = df1 * (k - 1)
    lower = 1 - (1 - alpha) * f_dist.isf(a / 2, df1, df2)
    upper = 1 - (1 - alpha) * f_dist.isf(1 - a / 2, df1, df2)
    return float(lower), float(upper)


def _check_policy(nan_policy: str, feldt_n: str = "used") -> None:
    if nan_policy not in ("pairwise", "listwise"):
        raise DataError(f"nan_policy={nan_policy!r}; use 'pairwise' or 'listwise'")
    if feldt_n not in FELDT_N:
        raise DataError(
            f"feldt_n={feldt_n!r}; use 'used' (the interviews the estimate uses) or 'pingouin' "
            "(every row, as pingouin does)"
        )


def _feldt_n(wide: pd.DataFrame, n_rows: int, nan_policy: str, feldt_n: str) -> float:
    """The n of the Feldt interval: the interviews α was computed from (METHODS §3).

    ``feldt_n="pingouin"``: every row of the frame, before listwise deletion (pingouin's
    numbers). ``"used"``: for listwise deletion the complete interviews; for pairwise
    covariances the harmonic mean of the pairwise-complete n's of the k(k−1)/2 question pairs
    (the covariances that make up α); with no missing answer both are the number of rows.
    ``wide`` is the matrix α was computed from (after any deletion).
    """
    if feldt_n == "pingouin":
        return float(n_rows)
    if nan_policy == "listwise" or not wide.isna().to_numpy().any():
        return float(len(wide))
    m = wide.notna().to_numpy(dtype="float64")
    pair_n = (m.T @ m)[np.triu_indices(m.shape[1], 1)]
    if not (pair_n > 0).all():
        return float("nan")
    return float(len(pair_n) / np.sum(1.0 / pair_n))


def _alpha_frame(
    wide: pd.DataFrame, nan_policy: str, ci: float, where: str, feldt_n: str = "used"
) -> tuple[float, tuple[float, float]]:
    wide = check_numeric_frame(wide, "cronbach_alpha")
    n, k = wide.shape
    if k < 2:
        raise InsufficientDataError(
            f"cronbach_alpha(){where}: needs at least 2 questions, got {k}; α is undefined "
            "for a single question",
            shortfalls={"questions": (k, 2)},
        )
    if n < 2:
        raise InsufficientDataError(
            f"cronbach_alpha(){where}: needs at least 2 interviews, got {n}",
            shortfalls={"interviews": (n, 2)},
        )
    empty = [c for c in wide.columns if wide[c].isna().all()]
    if empty:
        raise DataError(
            f"cronbach_alpha(){where}: columns {empty!r} have no answers at all; drop them "
            "(e.g. frame.dropna(axis=1, how='all'))"
        )
    if nan_policy == "listwise" and wide.isna().any().any():
        # pingouin (and psych's use="complete.obs") drop incomplete rows; pingouin keeps the
        # original n for the Feldt degrees of freedom (feldt_n="pingouin" does the same).
        wide = wide.dropna(axis=0, how="any")
        if len(wide) < 2:
            raise InsufficientDataError(
                f"cronbach_alpha(){where}: fewer than 2 complete interviews after listwise "
                "deletion; use nan_policy='pairwise'"
            )
    C = wide.cov().to_numpy()
    if not np.isfinite(C).all():
        raise InsufficientDataError(
            f"cronbach_alpha(){where}: some pairs of questions were never answered together, "
            "so their covariance is unknown; use nan_policy='listwise' or drop a question"
        )
    alpha = _alpha_from_cov(C)
    return alpha, _feldt(alpha, _feldt_n(wide, n, nan_policy, feldt_n), k, ci)


def cronbach_alpha(
    data: pd.DataFrame | InterviewData,
    *,
    nan_policy: str = "pairwise",
    ci: float = 0.95,
    feldt_n: str = "used",
) -> tuple[float, tuple[float, float]] | dict[str, tuple[float, tuple[float, float]]]:
    """Cronbach's α with Feldt's confidence interval (α exactly as pingouin computes it).

    α = k/(k−1)·(1 − tr(C)/ΣC) from the covariance matrix C; Feldt (1987) interval
    ``1 − (1−α)·F.isf(q, n−1, (n−1)(k−1))``, with n the number of interviews α was computed
    from. Without missing answers the interval is pingouin's too.

    Parameters
    ----------
    data
        A wide frame (rows = interviews, columns = questions, numeric) or an InterviewData
        (α of each posting's score matrix, scored questions only).
    nan_policy
        ``"pairwise"`` (pairwise-complete covariances, pingouin's default) or
        ``"listwise"`` (drop interviews with any missing answer).
    ci
        Confidence level of the interval.
    feldt_n
        The n of Feldt's degrees of freedom. ``"used"`` (default): the interviews the
        estimate uses — the complete ones after listwise deletion; for pairwise covariances
        the harmonic mean of the pairwise-complete n's of the question pairs. ``"pingouin"``:
        every row before deletion, as pingouin does, which makes the interval too narrow
        when answers are missing (at n = 80 with 37 complete interviews a 95 % listwise
        interval covered the true α in 82 % of simulated samples, with ``"used"`` in 96 %;
        docs/methods.md §3).

    Returns
    -------
    (alpha, (low, high))
        For a frame, or an InterviewData with one posting. The interval is not rounded
        (pingouin rounds it to 3 decimals).
    dict
        For an InterviewData with several postings: posting_id -> (alpha, (low, high)).

    Raises
    ------
    InsufficientDataError
        Fewer than 2 questions or 2 interviews.
    DataError
        A column with no answers, a non-numeric column, or a bad ``nan_policy``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4]})
    >>> a, (lo, hi) = cronbach_alpha(wide, nan_policy="listwise")
    >>> round(a, 4)
    0.9091

    With missing answers the interval follows the complete interviews; ``feldt_n="pingouin"``
    reproduces pingouin's (narrower) interval:

    >>> wide.loc[0, "q2"] = None  # 4 complete interviews of 5
    >>> [round(x, 3) for x in cronbach_alpha(wide, nan_policy="listwise")[1]]
    [-0.715, 0.993]
    >>> [round(x, 3) for x in cronbach_alpha(wide, nan_policy="listwise", feldt_n="pingouin")[1]]
    [-0.067, 0.988]
    """
    _check_policy(nan_policy, feldt_n)
    if not 0 < ci < 1:
        raise DataError(f"cronbach_alpha(ci={ci!r}): ci must be between 0 and 1, e.g. 0.95")
    if isinstance(data, InterviewData):
        pids = posting_ids_with_scores(data)
        if not pids:
            raise InsufficientDataError("cronbach_alpha(): the data has no scored question answers")
        out = {
            pid: _alpha_frame(
                data.score_matrix(pid), nan_policy, ci, f" for posting {pid}", feldt_n
            )
            for pid in pids
        }
        return out[pids[0]] if len(pids) == 1 else out
    return _alpha_frame(data, nan_policy, ci, "", feldt_n)


# ----------------------------------------------------------------------------- item statistics
@dataclass(repr=False)
class ItemStatistics(Result):
    """Per question statistics; ``reliability`` per posting; ``distribution`` long shares.

    ``table`` columns: ``posting_id``, ``question_id``, ``text``, ``n``, ``n_missing``,
    ``mean``, ``sd``, ``floor``, ``ceiling``, ``floor_flag``, ``ceiling_flag``,
    ``item_total_r`` (corrected), ``alpha_if_deleted``, ``discrimination``,
    ``low_item_total`` (r < .20) and ``alpha_rises`` (α if deleted > α).
    ``extras``: ``reliability`` (posting_id, n, n_feldt (the n of the Feldt interval), k,
    alpha, ci_low, ci_high, nan_policy,
    mean_inter_item_r, sd_sum, sem_sum, sd_overall, sem_overall), ``distribution``
    (posting_id, question_id, value, count, share), ``correlations`` (posting_id -> frame).
    """

    def _repr_html_(self) -> str:
        return html_with_frames(
            super()._repr_html_(), [("Reliability per posting", self.reliability)]
        )

    @property
    def reliability(self) -> pd.DataFrame:
        """One row per posting: α, Feldt CI, mean inter-item r and SEM."""
        return self.extras["reliability"]

    @property
    def distribution(self) -> pd.DataFrame:
        """Long frame of score-value counts and shares per question."""
        return self.extras["distribution"]

    def correlations(self, posting_id: str | None = None) -> pd.DataFrame:
        """Inter-item (pairwise) correlation matrix of one posting."""
        cors = self.extras["correlations"]
        if posting_id is None:
            posting_id = next(iter(cors))
        return cors[posting_id]

    def plot(self, kind: str = "distribution", posting_id: str | None = None) -> Any:
        """``kind="distribution"``: stacked score-value bars per question;
        ``kind="correlation"``: inter-item correlation heatmap."""
        from .. import plots

        if posting_id is None:
            posting_id = self.table["posting_id"].iloc[0]
        if kind == "distribution":
            d = self.distribution
            return plots.score_value_bars(
                d[d["posting_id"] == posting_id],
                title=f"Score values per question — posting {posting_id}",
            )
        if kind == "correlation":
            return plots.correlation_heatmap(
                self.correlations(posting_id),
                title=f"Inter-item correlations — posting {posting_id}",
            )
        raise DataError(f"ItemStatistics.plot(kind={kind!r}); use 'distribution' or 'correlation'")


def _posting_items(
    wide: pd.DataFrame,
    scale: int,
    nan_policy: str,
    ci: float,
    pid: str,
    notes: list[str],
    feldt_n: str = "used",
) -> tuple[list[dict[str, Any]], dict[str, Any], pd.DataFrame, pd.DataFrame]:
    n_all = len(wide)
    empty = [c for c in wide.columns if wide[c].isna().all()]
    if empty:
        notes.append(
            f"posting {pid}: questions {empty} have no answers; left out of the statistics"
        )
        wide = wide.drop(columns=empty)
    work = wide.dropna(how="any") if nan_policy == "listwise" else wide
    x = work.to_numpy(dtype="float64")
    k = x.shape[1]
    C = work.cov().to_numpy() if len(work) >= 2 else np.full((k, k), np.nan)
    sd = np.sqrt(np.diag(C))
    flat = [q for q, s in zip(work.columns, sd, strict=True) if not s > 0]
    if flat:
        notes.append(
            f"posting {pid}: questions {flat} have no variance (every answer the same); their "
            "item-total r is undefined and they add nothing to reliability"
        )
    alpha = _alpha_from_cov(C) if k >= 2 else float("nan")
    if k < 2:
        notes.append(f"posting {pid}: only {k} scored question; α and item-total r need ≥ 2")
    n_feldt = _feldt_n(work, n_all, nan_policy, feldt_n) if k >= 2 else float("nan")
    lo, hi = _feldt(alpha, n_feldt, k, ci)
    with np.errstate(all="ignore"):
        corr = C / np.outer(sd, sd)
    off = corr[~np.eye(k, dtype=bool)]
    mean_r = float(np.nanmean(off)) if off.size and np.isfinite(off).any() else float("nan")
    total_var = C.sum()
    rows = []
    # rest score (pro-rated mean of the other answered questions) for discrimination
    mask = ~np.isnan(x)
    tot = np.nansum(x, axis=1)
    cnt = mask.sum(axis=1)
    values = np.arange(1, scale + 1)
    dist_rows = []
    for i, q in enumerate(work.columns):
        col = wide[q].to_numpy(dtype="float64")
        answered = col[~np.isnan(col)]
        n = len(answered)
        counts = np.array([(answered == v).sum() for v in values])
        for v, c in zip(values, counts, strict=True):
            dist_rows.append(
                {
                    "posting_id": pid,
                    "question_id": q,
                    "value": int(v),
                    "count": int(c),
                    "share": c / n if n else np.nan,
                }
            )
        off_scale = n - counts.sum()
        if off_scale:
            notes.append(
                f"posting {pid}: question {q} has {off_scale} answers outside 1–{scale}; check "
                "the score scale (InterviewData.score_scale)"
            )
        cov_rest = C[i].sum() - C[i, i]
        var_rest = total_var - 2 * C[i].sum() + C[i, i]
        with np.errstate(all="ignore"):
            itr = cov_rest / np.sqrt(C[i, i] * var_rest) if k >= 2 else np.nan
        keep = [j for j in range(k) if j != i]
        aid = _alpha_from_cov(C[np.ix_(keep, keep)]) if k >= 3 else float("nan")
        with np.errstate(all="ignore"):
            rest = (tot - np.nan_to_num(x[:, i])) / (cnt - mask[:, i])
        ok = mask[:, i] & np.isfinite(rest)
        disc = float("nan")
        if ok.sum() >= 10 and k >= 2:
            r_ok, xi = rest[ok], x[ok, i]
            lo_cut, hi_cut = np.quantile(r_ok, [0.27, 0.73])
            low, high = xi[r_ok <= lo_cut], xi[r_ok >= hi_cut]
            if len(low) and len(high):
                disc = float((high.mean() - low.mean()) / (scale - 1))
        rows.append(
            {
                "posting_id": pid,
                "question_id": q,
                "n": n,
                "n_missing": n_all - n,
                "mean": float(answered.mean()) if n else np.nan,
                "sd": float(answered.std(ddof=1)) if n > 1 else np.nan,
                "floor": counts[0] / n if n else np.nan,
                "ceiling": counts[-1] / n if n else np.nan,
                "item_total_r": float(itr),
                "alpha_if_deleted": aid,
                "discrimination": disc,
            }
        )
    sd_sum = float(np.sqrt(total_var)) if np.isfinite(total_var) else float("nan")
    rel = {
        "posting_id": pid,
        "n": n_all,
        "n_feldt": n_feldt,
        "k": k,
        "alpha": alpha,
        "ci_low": lo,
        "ci_high": hi,
        "nan_policy": nan_policy,
        "mean_inter_item_r": mean_r,
        "sd_sum": sd_sum,
        "sem_sum": sd_sum * np.sqrt(1 - alpha) if np.isfinite(alpha) and alpha <= 1 else np.nan,
    }
    corr_frame = pd.DataFrame(corr, index=work.columns, columns=work.columns)
    return rows, rel, pd.DataFrame(dist_rows), corr_frame


def item_statistics(
    data: InterviewData,
    *,
    nan_policy: str = "pairwise",
    ci: float = 0.95,
    feldt_n: str = "used",
) -> ItemStatistics:
    """Item analysis and reliability of each posting's scored questions (METHODS.md §3).

    Parameters
    ----------
    data
        InterviewData; each posting is analysed on its own score matrix.
    nan_policy
        How missing answers enter the covariance matrix: ``"pairwise"`` or ``"listwise"``.
    ci
        Level of the Feldt interval of α.
    feldt_n
        The n of the Feldt interval, as in :func:`cronbach_alpha` (``"used"``: the interviews
        α is computed from; ``"pingouin"``: every row). ``reliability["n_feldt"]`` holds it.

    Returns
    -------
    ItemStatistics
        ``.table`` per question, ``.reliability`` per posting, ``.distribution`` of score
        values; ``.plot("distribution")`` and ``.plot("correlation")``.

    Notes
    -----
    Floor/ceiling are the shares at 1 and at the scale maximum (5 or 10, from
    ``data.score_scale`` or detected); > 15 % is flagged (Terwee et al. 2007). Corrected
    item-total r is corr(item, total − item) from the covariance matrix; r < .20 suggests
    revising the question. Discrimination = (mean in the top 27 % − mean in the bottom 27 %
    by the rest score) / (scale max − 1). SEM = SD·√(1−α), for the raw sum of question
    scores and for the 0–100 overall score. α uses raw covariances (pingouin's estimator).

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> scores = pd.DataFrame({"interview_id": [f"i{i}" for i in range(6) for _ in range(2)],
    ...     "posting_id": "P", "question_id": ["q1", "q2"] * 6, "rank": [1, 2] * 6,
    ...     "score": [1, 2, 2, 2, 3, 3, 4, 5, 5, 4, 3, 4], "score_weight": 1.0,
    ...     "not_scored": False})
    >>> res = item_statistics(InterviewData(scores=scores))
    >>> res.table[["question_id", "n"]].values.tolist()
    [['q1', 6], ['q2', 6]]
    """
    data = require_data(data, "item_statistics")
    _check_policy(nan_policy, feldt_n)
    pids = posting_ids_with_scores(data)
    if not pids:
        raise InsufficientDataError(
            "item_statistics(): the data has no scored question answers; load completed "
            "interviews first"
        )
    texts = question_texts(data)
    rows: list[dict[str, Any]] = []
    rels, dists = [], []
    cors: dict[str, pd.DataFrame] = {}
    notes = [
        f"Missing answers: {nan_policy} ({'pairwise-complete covariances' if nan_policy == 'pairwise' else 'interviews with any missing answer dropped'}).",
        "Feldt interval of α: n = "
        + (
            "every interview (pingouin's choice; too narrow when answers are missing)."
            if feldt_n == "pingouin"
            else "the interviews α is computed from ("
            + (
                "the harmonic mean of the pairwise-complete n's"
                if nan_policy == "pairwise"
                else "complete interviews"
            )
            + "; reliability column n_feldt)."
        ),
    ]
    overall = data.interviews.drop_duplicates("interview_id").set_index("interview_id")["score"]
    for pid in pids:
        wide = data.score_matrix(pid)
        if len(wide) < 2:
            raise InsufficientDataError(
                f"item_statistics(): posting {pid} has {len(wide)} interview with scores; item "
                "statistics need at least 2 (better 100+)",
                shortfalls={"interviews": (len(wide), 2)},
            )
        scale = posting_scale(data, pid)
        r, rel, dist, corr = _posting_items(wide, scale, nan_policy, ci, pid, notes, feldt_n)
        ov = pd.to_numeric(overall.reindex(wide.index), errors="coerce").astype("float64")
        sd_ov = float(ov.std()) if ov.notna().sum() > 1 else np.nan
        rel["scale_max"] = scale
        rel["sd_overall"] = sd_ov
        rel["sem_overall"] = (
            sd_ov * np.sqrt(1 - rel["alpha"])
            if np.isfinite(rel["alpha"]) and rel["alpha"] <= 1
            else np.nan
        )
        rows += r
        rels.append(rel)
        dists.append(dist)
        cors[pid] = corr
        if len(wide) < 100:
            notes.append(f"posting {pid}: only {len(wide)} interviews; estimates are imprecise")
    table = pd.DataFrame(rows)
    table.insert(2, "text", table["question_id"].map(lambda q: texts.get(q, "")).astype("str"))
    table["floor_flag"] = table["floor"] > FLOOR_CEILING_FLAG
    table["ceiling_flag"] = table["ceiling"] > FLOOR_CEILING_FLAG
    table["low_item_total"] = table["item_total_r"] < 0.20
    alpha_by = {r["posting_id"]: r["alpha"] for r in rels}
    table["alpha_rises"] = table["alpha_if_deleted"] > table["posting_id"].map(alpha_by)
    reliability = pd.DataFrame(rels)
    for r in rels:
        if np.isfinite(r["alpha"]):
            band = (
                "below .70"
                if r["alpha"] < 0.70
                else ("above .95 (redundant questions?)" if r["alpha"] > 0.95 else "within .70–.95")
            )
            notes.append(
                f"posting {r['posting_id']}: α = {r['alpha']:.3f} [{r['ci_low']:.3f}, "
                f"{r['ci_high']:.3f}] (Feldt), {band}; don't rank candidates whose overall scores "
                f"differ by less than one SEM ({r['sem_overall']:.1f} points)."
            )
    flagged = table.loc[table["floor_flag"] | table["ceiling_flag"], "question_id"].tolist()
    if flagged:
        notes.append(f"Floor/ceiling above 15 % (Terwee et al. 2007): {flagged}.")
    return ItemStatistics(
        table=table,
        title="Item statistics and reliability",
        notes=notes,
        extras={
            "reliability": reliability,
            "distribution": pd.concat(dists, ignore_index=True),
            "correlations": cors,
        },
    )
