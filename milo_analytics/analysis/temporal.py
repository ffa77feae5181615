"""Drift: score distributions and means by week or month, and a two-period comparison.

:func:`drift` summarises the overall score, the speech score and each question by period
(n, mean, SD, p10–p90) and compares the periods before and after a date — for example a
weight change, which it can detect from the weights recorded on the scorecards
(``split="auto"``): mean difference, Cohen's d, Mann–Whitney and Kolmogorov–Smirnov p.

Examples
--------
>>> drift  # doctest: +ELLIPSIS
<function drift at ...>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import (
    cohens_d,
    html_with_frames,
    interview_times,
    posting_ids_with_scores,
    posting_scale,
    require_data,
    scored_items,
)

__all__ = ["DriftResult", "drift", "weight_changes"]

FREQS = {"W": "W", "ME": "ME", "M": "ME", "D": "D", "QE": "QE"}


@dataclass(repr=False)
class DriftResult(Result):
    """Scores by period, and the before/after comparison.

    ``table``: ``posting_id``, ``variable`` ("score", "speech_score" or a question id),
    ``period`` (UTC timestamp labelling the period), ``n``, ``mean``, ``sd``, ``p10``,
    ``p25``, ``median``, ``p75``, ``p90``.
    ``extras``: ``comparison`` (posting_id, variable, split, n_before, n_after, mean_before,
    mean_after, diff, d, mw_p, ks_p), ``weight_changes`` (see :func:`weight_changes`),
    ``split`` (posting_id -> timestamp or None).
    """

    def _repr_html_(self) -> str:
        return html_with_frames(
            super()._repr_html_(), [("Before / after comparison", self.comparison)]
        )

    @property
    def comparison(self) -> pd.DataFrame:
        return self.extras["comparison"]

    def plot(self, variable: str = "score", posting_id: str | None = None) -> Any:
        """Mean per period with its interquartile band; ``variable="questions"`` draws every
        question's mean (one scale). The split date is marked."""
        from .. import plots

        t = self.table
        if posting_id is None:
            posting_id = t["posting_id"].iloc[0]
        t = t[t["posting_id"] == posting_id]
        if variable == "questions":
            lines = t[~t["variable"].isin(["score", "speech_score"])].drop(columns=["p25", "p75"])
        else:
            lines = t[t["variable"] == variable]
            if lines.empty:
                raise DataError(
                    f"DriftResult.plot(variable={variable!r}): not among {sorted(t['variable'].unique())}"
                )
        split = self.extras["split"].get(posting_id)
        scale = self.extras.get("scales", {}).get(posting_id)
        q_unit = f"1–{scale}" if scale else "question scale"
        units = {
            "score": "mean overall score (points, 0–100)",
            "speech_score": "mean speech score (0–5)",
            "questions": f"mean question score ({q_unit})",
        }
        names = {
            "questions": "Question means",
            "score": "Overall score",
            "speech_score": "Speech score",
        }
        period = {"W": "week (ending Sunday, UTC)", "ME": "month (UTC)", "D": "day (UTC)"}
        return plots.drift_lines(
            lines,
            split=split,
            x_title=period.get(self.extras.get("freq", ""), "period (UTC)"),
            y_title=units.get(variable, f"mean score of {variable} ({q_unit})"),
            title=f"{names.get(variable, variable)} by period — posting {posting_id}",
        )


def weight_changes(data: InterviewData) -> pd.DataFrame:
    """Weight changes recorded on the scorecards: when each question's weight-in-use changed.

    Returns
    -------
    DataFrame
        ``posting_id``, ``question_id``, ``changed_at`` (interview time of the first scorecard
        with the new weight), ``old_weight``, ``new_weight``.

    Examples
    --------
    >>> weight_changes(InterviewData()).empty
    True
    """
    s = scored_items(data)[["interview_id", "posting_id", "question_id", "score_weight"]]
    cols = ["posting_id", "question_id", "changed_at", "old_weight", "new_weight"]
    if s.empty:
        return pd.DataFrame({c: [] for c in cols})
    t = interview_times(data)
    s = s.assign(t=s["interview_id"].map(t)).dropna(subset=["t", "score_weight"])
    s = s.sort_values(["posting_id", "question_id", "t"], kind="stable")
    prev = s.groupby(["posting_id", "question_id"])["score_weight"].shift()
    ch = s[prev.notna() & (s["score_weight"] != prev)]
    out = pd.DataFrame(
        {
            "posting_id": ch["posting_id"].to_numpy(),
            "question_id": ch["question_id"].to_numpy(),
            "changed_at": ch["t"].to_numpy(),
            "old_weight": prev[ch.index].astype("float64").to_numpy(),
            "new_weight": ch["score_weight"].astype("float64").to_numpy(),
        }
    )
    # interleaved old/new weights (late re-scores) show as many flips; keep the first per value pair
    return out.drop_duplicates(
        ["posting_id", "question_id", "old_weight", "new_weight"]
    ).reset_index(drop=True)


def _utc(v: Any) -> pd.Timestamp:
    ts = pd.Timestamp(v)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def drift(
    data: InterviewData,
    freq: str = "W",
    *,
    split: Any = "auto",
    variables: list[str] | None = None,
) -> DriftResult:
    """Score distributions and means by period, and a before/after comparison.

    Parameters
    ----------
    data
        InterviewData; times are ``interviews.interviewed_at`` (else the candidate's
        ``interviewed_at`` / ``created_at``).
    freq
        ``"W"`` (weeks ending Sunday), ``"ME"`` (calendar months), ``"D"`` or ``"QE"``.
    split
        Date of the two-period comparison (anything ``pd.Timestamp`` takes; naive = UTC), a
        dict posting_id -> date, ``"auto"`` (the first weight change recorded on the
        scorecards, per posting; no comparison when none) or ``None``.
    variables
        Subset of ``"score"``, ``"speech_score"`` and question ids; default all.

    Returns
    -------
    DriftResult

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> iv = pd.DataFrame({"interview_id": ["a", "b", "c", "d"], "posting_id": "P",
    ...     "status": "completed", "score": [60.0, 64.0, 70.0, 74.0],
    ...     "interviewed_at": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-02-03",
    ...                                       "2026-02-04"], utc=True)})
    >>> res = drift(InterviewData(interviews=iv), "ME", split="2026-02-01")
    >>> res.comparison[["variable", "diff"]].values.tolist()
    [['score', 10.0]]
    """
    data = require_data(data, "drift")
    if freq not in FREQS:
        raise DataError(f"drift(freq={freq!r}); use 'W' (weekly), 'ME' (monthly), 'D' or 'QE'")
    f = FREQS[freq]
    iv = data.interviews.drop_duplicates("interview_id").set_index("interview_id")
    times = interview_times(data)
    pids = sorted(set(iv["posting_id"].dropna()) | set(posting_ids_with_scores(data)))
    if not pids:
        raise InsufficientDataError("drift(): no completed interviews in the data")
    changes = weight_changes(data)
    rows, comps, notes = [], [], []
    splits: dict[str, pd.Timestamp | None] = {}
    scales: dict[str, int | None] = {}
    q = [0.1, 0.25, 0.5, 0.75, 0.9]
    for pid in pids:
        ids = iv.index[iv["posting_id"] == pid]
        wide = data.score_matrix(pid)
        ids = ids.union(wide.index)
        try:
            scales[pid] = posting_scale(data, pid) if wide.shape[1] else None
        except DataError:  # no usable scores: the axis says "question scale"
            scales[pid] = None
        frame = pd.DataFrame(index=ids)
        frame["score"] = pd.to_numeric(iv["score"].reindex(ids), errors="coerce").astype("float64")
        frame["speech_score"] = pd.to_numeric(
            iv["speech_score"].reindex(ids), errors="coerce"
        ).astype("float64")
        frame = frame.join(wide)
        keep_vars = [c for c in frame.columns if frame[c].notna().any()]
        if variables is not None:
            unknown = sorted(set(variables) - set(frame.columns))
            if unknown:
                raise DataError(
                    f"drift(variables=...): {unknown} not found; choose from {list(frame.columns)}"
                )
            keep_vars = [c for c in variables if c in keep_vars]
        frame = frame[keep_vars]
        t = times.reindex(ids)
        no_time = int(t.isna().sum())
        if no_time:
            notes.append(f"posting {pid}: {no_time} interviews without a time are left out")
        frame = frame[t.notna().to_numpy()]
        t = t.dropna()
        if frame.empty:
            notes.append(f"posting {pid}: no timed interviews")
            continue
        long = (
            frame.assign(t=t.to_numpy())
            .melt(id_vars="t", var_name="variable", value_name="v")
            .dropna()
        )
        g = long.groupby(["variable", pd.Grouper(key="t", freq=f)])["v"]
        agg = g.agg(["size", "mean", "std"])
        qs = g.quantile(q).unstack()
        qs.columns = ["p10", "p25", "median", "p75", "p90"]
        per = agg.join(qs).reset_index().rename(columns={"t": "period", "size": "n", "std": "sd"})
        per = per[per["n"] > 0]
        per.insert(0, "posting_id", pid)
        per["variable"] = pd.Categorical(per["variable"], categories=keep_vars, ordered=True)
        per = per.sort_values(["variable", "period"]).astype({"variable": "str"})
        rows.append(per)
        # split
        sp: Any = split.get(pid) if isinstance(split, dict) else split
        if isinstance(sp, str) and sp == "auto":
            ch = changes[changes["posting_id"] == pid]
            sp = ch["changed_at"].min() if len(ch) else None
            if sp is not None:
                moved = ch.drop_duplicates("question_id")
                notes.append(
                    f"posting {pid}: weight change detected on the scorecards at {pd.Timestamp(sp):%Y-%m-%d %H:%M} UTC "
                    f"({', '.join(f'{r.question_id}: {r.old_weight:g}→{r.new_weight:g}' for r in moved.itertuples())}); "
                    "periods compared before/after it."
                )
        splits[pid] = _utc(sp) if sp is not None else None
        if splits[pid] is not None:
            before = frame[(t < splits[pid]).to_numpy()]
            after = frame[(t >= splits[pid]).to_numpy()]
            for var in keep_vars:
                a, b = before[var].dropna().to_numpy(), after[var].dropna().to_numpy()
                mw = ks = np.nan
                if len(a) >= 1 and len(b) >= 1:
                    if np.unique(np.concatenate([a, b])).size > 1:
                        mw = float(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
                    ks = float(stats.ks_2samp(b, a).pvalue)
                comps.append(
                    {
                        "posting_id": pid,
                        "variable": var,
                        "split": splits[pid],
                        "n_before": len(a),
                        "n_after": len(b),
                        "mean_before": float(a.mean()) if len(a) else np.nan,
                        "mean_after": float(b.mean()) if len(b) else np.nan,
                        "diff": float(b.mean() - a.mean()) if len(a) and len(b) else np.nan,
                        "d": cohens_d(b, a),
                        "mw_p": mw,
                        "ks_p": ks,
                    }
                )
            if len(before) < 2 or len(after) < 2:
                notes.append(
                    f"posting {pid}: fewer than 2 interviews on one side of {splits[pid]:%Y-%m-%d}; comparison is not meaningful"
                )
    if not rows:
        raise InsufficientDataError(
            "drift(): no interview has a time (interviewed_at / created_at)"
        )
    table = pd.concat(rows, ignore_index=True)
    comp_cols = [
        "posting_id",
        "variable",
        "split",
        "n_before",
        "n_after",
        "mean_before",
        "mean_after",
        "diff",
        "d",
        "mw_p",
        "ks_p",
    ]
    comparison = pd.DataFrame(comps, columns=comp_cols)
    notes.insert(
        0,
        f"Periods: {'weeks ending Sunday' if f == 'W' else 'calendar months' if f == 'ME' else f} (UTC). "
        "Comparison: difference after − before, Cohen's d, Mann–Whitney U and KS p-values.",
    )
    return DriftResult(
        table=table,
        title="Scores over time",
        notes=notes,
        extras={
            "comparison": comparison,
            "weight_changes": changes,
            "split": splits,
            "freq": f,
            "scales": scales,
        },
    )
