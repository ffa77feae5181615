"""The report's overview statistics: postings, status counts, score distributions, validity.

Each function aggregates per posting and returns a :class:`~milo_analytics.results.Result`
(``.table``, ``_repr_html_``, ``.plot()``); figures receive the aggregates only, so their size
does not grow with the number of interviews.

- :func:`posting_overview`: per posting — title, score scale, candidate and interview counts.
- :func:`status_funnel`: candidates per current status and posting, with shares.
- :func:`score_distribution`: binned overall or speech scores per posting, plus summaries.
- :func:`outcome_validity`: validity coefficients (overall score, speech score and each
  question against an outcome: r, n, Fisher CI, p, significance at ``alpha``) and the outcome
  rate by overall-score quintile.

Examples
--------
>>> from milo_analytics.analysis._common import synthetic_interview_data
>>> data, _ = synthetic_interview_data(200, 3, seed=0)
>>> dist = score_distribution(data, bins=10)
>>> int(dist.table["count"].sum()) == int(data.interviews["score"].notna().sum())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import html_with_frames, pearson_r, r_ci, require_data

__all__ = [
    "STATUS_ORDER",
    "OutcomeValidity",
    "PostingOverview",
    "ScoreDistribution",
    "StatusFunnel",
    "outcome_validity",
    "posting_labels",
    "posting_overview",
    "score_distribution",
    "status_funnel",
]

#: Candidate statuses in interview order (earlier stages first; end states last).
STATUS_ORDER = [
    "pending",
    "in_progress",
    "not_ready",
    "evaluating",
    "completed",
    "shortlisted",
    "dismissed",
    "knocked_out",
]

#: Natural range of each score column (the overall score is 0–100, speech 0–5).
SCORE_RANGES = {"score": (0.0, 100.0), "speech_score": (0.0, 5.0)}
SCORE_LABELS = {"score": "Overall score (0–100)", "speech_score": "Speech score (0–5)"}
SCORE_AXES = {"score": "overall score (points, 0–100)", "speech_score": "speech score (0–5)"}
#: Fewest interviews with both score and outcome for the quintile table of a posting.
MIN_BAND_N = 25


def posting_labels(data: InterviewData) -> dict[str, str]:
    """posting_id -> title (the posting's ``title``, else ``name``, else the id).

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> d = InterviewData(postings=pd.DataFrame({"posting_id": ["P1"], "title": ["Cashier"]}))
    >>> posting_labels(d)
    {'P1': 'Cashier'}
    """
    out: dict[str, str] = {}
    p = data.postings
    for _, row in p.iterrows():
        pid = row["posting_id"]
        if not isinstance(pid, str):
            continue
        label = pid
        for col in ("title", "name"):
            v = row.get(col)
            if isinstance(v, str) and v.strip():
                label = v.strip()
                break
        out[pid] = label
    for pid in data.posting_ids:
        out.setdefault(pid, pid)
    return out


# --------------------------------------------------------------------------- postings
@dataclass(repr=False)
class PostingOverview(Result):
    """One row per posting: ``posting_id``, ``title``, ``score_scale`` (per-question maximum;
    questions are scored 1–``score_scale``), ``candidates``, ``interviews`` (with results),
    ``scored_questions``, ``first_created``, ``last_created``."""

    def plot(self) -> Any:
        """Bars of candidates and completed interviews per posting."""
        from .. import plots

        fig = plots.report_posting_counts(self.table)
        if not fig.layout.xaxis.title.text:
            fig.update_layout(xaxis_title="posting")
        if not fig.layout.yaxis.title.text:
            fig.update_layout(yaxis_title="count (candidates / interviews)")
        return fig


def posting_overview(data: InterviewData) -> PostingOverview:
    """Per-posting facts for the head of a report: title, score scale and counts.

    Postings may use different per-question scales (1–5 and 1–10); the scale comes from
    ``postings.score_scale`` (set by the loader) or is detected from the posting's scores.

    Examples
    --------
    >>> from milo_analytics.analysis._common import synthetic_interview_data
    >>> data, _ = synthetic_interview_data(50, 3, seed=0)
    >>> posting_overview(data).table[["candidates", "interviews", "scored_questions"]].iloc[0].tolist()
    [50, 50, 3]
    """
    from ._common import posting_scale

    data = require_data(data, "posting_overview")
    labels = posting_labels(data)
    c, iv, q = data.candidates, data.interviews, data.questions
    rows = []
    for pid in sorted(labels):
        cp = c[c["posting_id"] == pid]
        created = cp["created_at"].dropna()
        try:
            scale: Any = posting_scale(data, pid)
        except InsufficientDataError:
            scale = pd.NA
        qp = q[q["posting_id"] == pid]
        rows.append(
            {
                "posting_id": pid,
                "title": labels[pid],
                "score_scale": scale,
                "candidates": len(cp),
                "interviews": int((iv["posting_id"] == pid).sum()),
                "scored_questions": int((~qp["not_scored"].astype(bool)).sum()),
                "first_created": created.min() if len(created) else pd.NaT,
                "last_created": created.max() if len(created) else pd.NaT,
            }
        )
    cols = [
        "posting_id", "title", "score_scale", "candidates", "interviews", "scored_questions",
        "first_created", "last_created",
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=cols)
    table = table.astype(
        {"posting_id": "str", "title": "str", "score_scale": "Int64", "candidates": "int64",
         "interviews": "int64", "scored_questions": "int64"}
    )  # fmt: skip
    return PostingOverview(table=table, title="Postings")


# --------------------------------------------------------------------------- statuses
@dataclass(repr=False)
class StatusFunnel(Result):
    """Candidates per posting and current status.

    ``table``: ``posting_id``, ``title``, ``status``, ``n``, ``share`` (of the posting's
    candidates), in :data:`STATUS_ORDER` (unknown statuses last, alphabetically).
    """

    def wide(self) -> pd.DataFrame:
        """Statuses × postings counts with a ``total`` column (columns named "id · title")."""
        t = self.table
        if t.empty:
            return pd.DataFrame(columns=["total"])
        col = t["posting_id"] + " · " + t["title"]
        wide = t.assign(posting=col).pivot_table(
            index="status", columns="posting", values="n", aggfunc="sum", fill_value=0, sort=False
        )
        wide = wide.reindex(list(dict.fromkeys(t["status"])))
        wide.columns.name = None
        wide["total"] = wide.sum(axis=1)
        return wide

    def plot(self) -> Any:
        """Horizontal bars: share of each posting's candidates per status."""
        from .. import plots

        fig = plots.report_status_funnel(self.table)
        if not fig.layout.yaxis.title.text:
            fig.update_layout(yaxis_title="status")
        return fig


def status_funnel(data: InterviewData) -> StatusFunnel:
    """Count candidates by current status, per posting.

    A status is where each candidate is *now* (HeyMilo keeps no history), so the counts are a
    snapshot, not transitions.

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> c = pd.DataFrame({"interview_id": ["a", "b", "c"], "posting_id": "P",
    ...                   "status": ["completed", "pending", "completed"]})
    >>> status_funnel(InterviewData(candidates=c)).table[["status", "n"]].values.tolist()
    [['pending', 1], ['completed', 2]]
    """
    data = require_data(data, "status_funnel")
    c = data.candidates
    labels = posting_labels(data)
    cols = ["posting_id", "title", "status", "n", "share"]
    if c.empty:
        return StatusFunnel(table=pd.DataFrame(columns=cols), title="Candidates by status")
    status = c["status"].astype("object").where(c["status"].notna(), "unknown")
    counts = (
        pd.DataFrame({"posting_id": c["posting_id"], "status": status})
        .groupby(["posting_id", "status"], sort=True)
        .size()
        .rename("n")
        .reset_index()
    )
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    counts["_o"] = counts["status"].map(lambda s: order.get(s, len(order)))
    counts = counts.sort_values(["_o", "status", "posting_id"], kind="stable").drop(columns="_o")
    totals = counts.groupby("posting_id")["n"].transform("sum")
    counts["share"] = counts["n"] / totals
    counts["title"] = counts["posting_id"].map(lambda p: labels.get(p, p))
    table = counts[cols].reset_index(drop=True)
    table = table.astype({"posting_id": "str", "title": "str", "status": "str", "n": "int64"})
    return StatusFunnel(
        table=table,
        title="Candidates by current status",
        notes=["Current status of every candidate (a snapshot, not stage transitions)."],
    )


# --------------------------------------------------------------------------- distributions
@dataclass(repr=False)
class ScoreDistribution(Result):
    """Binned scores per posting.

    ``table``: ``posting_id``, ``title``, ``left``, ``right``, ``count``, ``share`` (of the
    posting's non-missing scores). ``extras["summary"]``: ``posting_id``, ``title``, ``n``,
    ``n_missing``, ``mean``, ``sd``, ``min``, ``median``, ``max``; ``extras["column"]``.
    """

    def _repr_html_(self) -> str:
        return html_with_frames(super()._repr_html_(), [("Summary", self.summary)])

    @property
    def summary(self) -> pd.DataFrame:
        """One row per posting: n, missing, mean, sd (n − 1), min, median, max."""
        return self.extras["summary"]

    def plot(self) -> Any:
        """Overlaid bars of the share of each posting's interviews per bin."""
        from .. import plots

        column = self.extras["column"]
        return plots.report_histogram(
            self.table,
            title=f"{SCORE_LABELS.get(column, column)}: share of each posting's interviews",
            xaxis=SCORE_AXES.get(column, column),
        )


def score_distribution(
    data: InterviewData, column: str = "score", *, bins: int | Any = 20
) -> ScoreDistribution:
    """Histogram counts and summary statistics of an interview-level score, per posting.

    Parameters
    ----------
    data
        The interviews.
    column
        ``"score"`` (overall, 0–100) or ``"speech_score"`` (0–5).
    bins
        Number of equal-width bins over the column's full range (0–100 or 0–5), or a sequence
        of increasing bin edges. Bins are closed on the left except the last, which also holds
        its right edge (as :func:`numpy.histogram`); values outside the edges are counted in
        the first or last bin.

    Returns
    -------
    ScoreDistribution

    Examples
    --------
    >>> from milo_analytics.analysis._common import synthetic_interview_data
    >>> data, _ = synthetic_interview_data(100, 3, seed=1)
    >>> res = score_distribution(data, "score", bins=[0, 50, 100])
    >>> res.table[["left", "right"]].values.tolist()
    [[0.0, 50.0], [50.0, 100.0]]
    """
    data = require_data(data, "score_distribution")
    if column not in SCORE_RANGES:
        raise DataError(f"score_distribution(column={column!r}): use 'score' or 'speech_score'")
    lo, hi = SCORE_RANGES[column]
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise DataError(f"score_distribution(bins={bins}): need at least one bin")
        edges = np.linspace(lo, hi, int(bins) + 1)
    else:
        edges = np.asarray(list(bins), dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
            raise DataError(
                "score_distribution(bins=...): give a bin count or at least two increasing edges"
            )
    iv = data.interviews
    labels = posting_labels(data)
    rows, summ = [], []
    for pid, grp in iv.groupby("posting_id", sort=True):
        v = pd.to_numeric(grp[column], errors="coerce").astype("float64")
        vals = v.dropna().to_numpy(float)
        n = len(vals)
        summ.append(
            {
                "posting_id": pid,
                "title": labels.get(pid, pid),
                "n": n,
                "n_missing": int(v.isna().sum()),
                "mean": float(vals.mean()) if n else math.nan,
                "sd": float(vals.std(ddof=1)) if n > 1 else math.nan,
                "min": float(vals.min()) if n else math.nan,
                "median": float(np.median(vals)) if n else math.nan,
                "max": float(vals.max()) if n else math.nan,
            }
        )
        if not n:
            continue
        counts, _ = np.histogram(np.clip(vals, edges[0], edges[-1]), bins=edges)
        for left, right, k in zip(edges[:-1], edges[1:], counts, strict=True):
            rows.append(
                {
                    "posting_id": pid,
                    "title": labels.get(pid, pid),
                    "left": float(left),
                    "right": float(right),
                    "count": int(k),
                    "share": float(k) / n,
                }
            )
    table = pd.DataFrame(rows, columns=["posting_id", "title", "left", "right", "count", "share"])
    table = table.astype({"posting_id": "str", "title": "str", "count": "int64"})
    summary = pd.DataFrame(
        summ,
        columns=["posting_id", "title", "n", "n_missing", "mean", "sd", "min", "median", "max"],
    ).astype({"posting_id": "str", "title": "str", "n": "int64", "n_missing": "int64"})
    return ScoreDistribution(
        table=table,
        title=SCORE_LABELS[column],
        notes=[f"{len(edges) - 1} bins from {edges[0]:g} to {edges[-1]:g}; sd with n − 1."],
        extras={"summary": summary, "column": column, "edges": edges},
    )


# --------------------------------------------------------------------------- validity
@dataclass(repr=False)
class OutcomeValidity(Result):
    """Validity coefficients and outcome rate by score quintile.

    ``table``: ``posting_id``, ``title``, ``outcome``, ``predictor`` ("score",
    "speech_score" or a question id), ``n``, ``r`` (Pearson; point-biserial for a binary
    outcome), ``ci_low``, ``ci_high`` (Fisher z), ``p_value`` (two-sided t test of r = 0),
    ``significant`` (p < ``alpha``). ``extras["bands"]``: ``posting_id``, ``title``, ``band``
    (Q1 lowest … Q5 highest overall score), ``score_min``, ``score_max``, ``n``,
    ``n_positive``, ``rate`` — only for a binary outcome and postings with at least 25
    interviews with both values.
    """

    def _repr_html_(self) -> str:
        return html_with_frames(
            super()._repr_html_(), [("Outcome rate by overall-score quintile", self.bands)]
        )

    @property
    def bands(self) -> pd.DataFrame:
        """Outcome rate per overall-score quintile and posting."""
        return self.extras["bands"]

    def plot(self, kind: str = "bands") -> Any:
        """``"bands"``: outcome rate by overall-score quintile; ``"r"``: coefficients with CIs."""
        from .. import plots

        target = self.extras["target"]
        if kind == "bands":
            fig = plots.report_rate_bars(
                self.bands, title=f"{target.capitalize()} rate by overall-score quintile"
            )
            if fig.layout.yaxis.title.text == "rate":
                fig.update_yaxes(title=f"{target} rate (% of the quintile's interviews)")
            return fig
        if kind == "r":
            fig = plots.report_validity(self.table, title=f"Validity for {target} (95% CI)")
            if not fig.layout.yaxis.title.text:
                fig.update_layout(yaxis_title="posting: predictor")
            return fig
        raise DataError(f"OutcomeValidity.plot(kind={kind!r}); use 'bands' or 'r'")


def outcome_validity(
    data: InterviewData,
    outcomes: pd.DataFrame,
    *,
    target: str = "hired",
    ci: float = 0.95,
    alpha: float = 0.05,
    questions: bool = True,
) -> OutcomeValidity:
    """Correlations of the overall score, the speech score and each question with an outcome.

    Per posting: Pearson r (point-biserial when the outcome is hired/not hired) over the
    interviews with both values, its Fisher-z confidence interval, the two-sided p value and
    whether p < ``alpha`` (the Uniform Guidelines, 29 CFR 1607.14B(5), ask for statistical
    significance at the .05 level). For a binary outcome, also the outcome rate per
    overall-score quintile (Q1 = the lowest-scoring fifth; ties broken by interview order).

    Parameters
    ----------
    data
        The interviews.
    outcomes
        A frame with ``interview_id`` and ``target`` (from ``read_outcomes``).
    target
        The outcome column (``"hired"``, ``"performance"``, …).
    ci, alpha
        Confidence level and significance level.
    questions
        Also correlate each scored question's score (default True).

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.analysis._common import synthetic_interview_data
    >>> data, truth = synthetic_interview_data(300, 3, seed=0)
    >>> out = pd.DataFrame({"interview_id": data.interviews["interview_id"],
    ...                     "hired": truth["ability"].to_numpy() > 0.5})
    >>> res = outcome_validity(data, out)
    >>> bool(res.table.query("predictor == 'score'")["significant"].iloc[0])
    True
    """
    data = require_data(data, "outcome_validity")
    if not isinstance(outcomes, pd.DataFrame) or "interview_id" not in outcomes.columns:
        raise DataError(
            "outcome_validity(): outcomes must be a DataFrame with an interview_id column "
            "(use read_outcomes(..., data=data) to join by email or external id)"
        )
    if target not in outcomes.columns:
        raise DataError(
            f"outcome_validity(target={target!r}): no such column in outcomes; "
            f"found {list(outcomes.columns)}"
        )
    y_by_id = (
        outcomes.dropna(subset=["interview_id"])
        .drop_duplicates("interview_id")
        .set_index("interview_id")[target]
    )
    y_all = pd.to_numeric(y_by_id.astype("object"), errors="coerce").astype("float64")
    observed = y_all.dropna().to_numpy()
    binary = len(observed) > 0 and bool(np.isin(observed, [0.0, 1.0]).all())
    labels = posting_labels(data)
    iv = data.interviews.drop_duplicates("interview_id").set_index("interview_id")
    rows: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    for pid in sorted(iv["posting_id"].dropna().unique().tolist()):
        sub = iv[iv["posting_id"] == pid]
        y = y_all.reindex(sub.index)
        preds: list[tuple[str, pd.Series]] = [
            ("score", sub["score"]),
            ("speech_score", sub["speech_score"]),
        ]
        if questions:
            wide = data.score_matrix(pid)
            preds += [(str(q), wide[q].reindex(sub.index)) for q in wide.columns]
        for name, x in preds:
            xv = pd.to_numeric(x, errors="coerce").astype("float64").to_numpy()
            r, n = pearson_r(xv, y.to_numpy(float))
            lo, hi, p = r_ci(r, n, ci)
            rows.append(
                {
                    "posting_id": pid,
                    "title": labels.get(pid, pid),
                    "outcome": target,
                    "predictor": name,
                    "n": n,
                    "r": r,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                    "significant": bool(p < alpha) if np.isfinite(p) else pd.NA,
                }
            )
        if binary:
            bands += _bands(sub["score"], y, pid, labels.get(pid, pid))
    if not rows or all(r["n"] == 0 for r in rows):
        raise InsufficientDataError(
            f"outcome_validity(): no interview has both a score and a {target!r} outcome; "
            "check the join report of read_outcomes"
        )
    table = pd.DataFrame(rows)
    table = table.astype(
        {"posting_id": "str", "title": "str", "outcome": "str", "predictor": "str",
         "n": "int64", "significant": "boolean"}
    )  # fmt: skip
    band_cols = ["posting_id", "title", "band", "score_min", "score_max", "n", "n_positive", "rate"]
    band_frame = pd.DataFrame(bands, columns=band_cols).astype(
        {"posting_id": "str", "title": "str", "band": "str"}
    )
    kind = "point-biserial r" if binary else "Pearson r"
    notes = [
        f"{kind} over interviews with both values; {ci:.0%} Fisher-z intervals; two-sided p "
        f"(t test of r = 0); significant = p < {alpha:g} (UGESP 29 CFR 1607.14B(5)). "
        "Uncorrected for range restriction or criterion unreliability.",
    ]
    if binary:
        notes.append(
            f"Quintiles: each posting's interviews with both values ranked by overall score "
            f"(ties by interview order), cut into five equal groups; shown when n ≥ {MIN_BAND_N}."
        )
    return OutcomeValidity(
        table=table,
        title=f"Validity for {target}",
        notes=notes,
        extras={"bands": band_frame, "target": target, "binary": binary, "alpha": alpha},
    )


def _bands(score: pd.Series, y: pd.Series, pid: str, title: str) -> list[dict[str, Any]]:
    s = pd.to_numeric(score, errors="coerce").astype("float64")
    ok = s.notna() & y.notna()
    s, yy = s[ok], y[ok]
    n = len(s)
    if n < MIN_BAND_N:
        return []
    # pandas' quantile cut of the ranks: five groups whose sizes differ by at most one
    band = pd.qcut(s.rank(method="first"), 5, labels=False).to_numpy() + 1
    out = []
    for b in range(1, 6):
        sel = band == b
        k = int(sel.sum())
        out.append(
            {
                "posting_id": pid,
                "title": title,
                "band": f"Q{b}",
                "score_min": float(s[sel].min()) if k else math.nan,
                "score_max": float(s[sel].max()) if k else math.nan,
                "n": k,
                "n_positive": int(yy[sel].sum()) if k else 0,
                "rate": float(yy[sel].mean()) if k else math.nan,
            }
        )
    return out
