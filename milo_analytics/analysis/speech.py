"""The speech score (0–5: clarity, delivery, tone) — METHODS.md §7.

:func:`speech_summary` reports its distribution, its relation to the overall score and to each
question, its incremental validity over the question scores for an outcome (ΔAUC for a binary
outcome, ΔR² for a continuous one, bootstrap CIs) and group gaps (Cohen's d and scoring-rate
impact ratio) when demographics are given.

Examples
--------
>>> speech_summary  # doctest: +ELLIPSIS
<function speech_summary at ...>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, InsufficientDataError
from ..frames import InterviewData
from ..results import Result
from ._common import (
    _auc,
    cohens_d,
    html_with_frames,
    is_binary,
    logit_irls,
    outcome_by_id,
    pearson_r,
    percentile_ci,
    posting_ids_with_scores,
    r_ci,
    require_data,
    rows_by_id,
)
from .resample import (
    LogitBatch,
    MomentBasis,
    Resamples,
    map_chunks,
    one_blas_thread,
    resolve_counts,
    weighted_auc,
)

__all__ = ["SpeechSummary", "speech_summary"]

SPEECH_EDGES = np.round(np.arange(0.0, 5.0001, 0.25), 10)
OVERALL_EDGES = np.arange(0.0, 100.0001, 5.0)
MIN_GROUP_N = 30
UNKNOWN = {"", "unknown", "nan", "none", "decline to state", "declined", "prefer not to say"}
NON_NATIVE_NOTE = (
    "Speech ratings can disadvantage non-native speakers, people with accents and people with "
    "speech differences; a gap here is a reason to keep the speech score out of decisions or to "
    "review it, not evidence about the candidates."
)


@dataclass(repr=False)
class SpeechSummary(Result):
    """Speech score results.

    ``table``: relations — ``posting_id``, ``variable`` ("overall" or a question id), ``n``,
    ``r``, ``ci_low``, ``ci_high``, ``p_value``.
    ``extras``: ``summary`` (posting_id, n, n_missing, mean, sd, p10, median, p90),
    ``distribution`` (posting_id, left, right, count), ``scatter`` (posting_id -> dict of
    ``x_edges``, ``y_edges``, ``counts``, ``means``), ``incremental`` (posting_id, target,
    metric, n, base, full, delta, ci_low, ci_high, p_value, interval, n_boot) and ``gaps`` (posting_id,
    attribute, group, n, mean, d, rate, impact_ratio, reference), when computed.
    """

    def _repr_html_(self) -> str:
        return html_with_frames(
            super()._repr_html_(),
            [
                ("Distribution", self.summary),
                ("Incremental validity over the question scores", self.incremental),
                ("Group gaps", self.gaps),
            ],
        )

    @property
    def summary(self) -> pd.DataFrame:
        return self.extras["summary"]

    @property
    def incremental(self) -> pd.DataFrame | None:
        return self.extras.get("incremental")

    @property
    def gaps(self) -> pd.DataFrame | None:
        return self.extras.get("gaps")

    def plot(self, kind: str = "distribution", posting_id: str | None = None) -> Any:
        """``"distribution"`` (binned histogram), ``"scatter"`` (2-D histogram of speech vs
        overall with the mean overall score per speech bin) or ``"gaps"`` (impact ratios)."""
        from .. import plots

        if posting_id is None:
            posting_id = self.summary["posting_id"].iloc[0]
        if kind == "distribution":
            d = self.extras["distribution"]
            return plots.histogram_bars(
                d[d["posting_id"] == posting_id],
                x_title="speech score (0–5)",
                title=f"Speech score distribution — posting {posting_id}",
            )
        if kind == "scatter":
            sc = self.extras["scatter"][posting_id]
            return plots.binned_heatmap(
                sc["x_edges"],
                sc["y_edges"],
                sc["counts"],
                means=sc["means"],
                means_name="mean overall score per speech-score bin",
                x_title="speech score (0–5)",
                y_title="overall score (points, 0–100)",
                title=f"Speech vs overall score — posting {posting_id}",
            )
        if kind == "gaps":
            g = self.gaps
            if g is None:
                raise DataError("no group gaps: call speech_summary(..., demographics=...)")
            return plots.group_gap_bars(
                g[g["posting_id"] == posting_id],
                value="impact_ratio",
                title=f"Speech score: scoring-rate impact ratio — posting {posting_id}",
            )
        raise DataError(
            f"SpeechSummary.plot(kind={kind!r}); use 'distribution', 'scatter' or 'gaps'"
        )


def _ols_r2(X: np.ndarray, y: np.ndarray) -> float:
    A = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    tss = ((y - y.mean()) ** 2).sum()
    return float(1 - (resid @ resid) / tss) if tss > 0 else float("nan")


def _std(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return (X - X.mean(axis=0)) / sd


def _incremental(
    Q: np.ndarray,
    sp: np.ndarray,
    y: np.ndarray,
    counts: np.ndarray | None,
    ci: float,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Base = question scores, full = + speech. AUC for binary y, R² otherwise.

    The percentile CI of the difference comes from ``counts`` (``n_boot × n`` resample counts,
    methods §9): for a binary y both logistic models are refitted on every resample at once
    (:class:`~milo_analytics.analysis.resample.LogitBatch`, warm-started at the full-sample
    fits) and their AUCs taken with the counts as weights; for a continuous y both R² come
    from each resample's covariance matrix.
    """
    binary = is_binary(y)
    # one design matrix [1, questions..., speech]; the base model is a view without speech
    Df = np.column_stack([np.ones(len(y)), _std(Q), _std(sp[:, None])])
    n, k = len(y), Q.shape[1]
    if binary:
        fb = logit_irls(Df[:, :-1], y)
        ff = logit_irls(Df, y)
        base, full = _auc(y, fb.prob), _auc(y, ff.prob)
        lr = 2 * (ff.loglik - fb.loglik)
        p = float(stats.chi2.sf(lr, 1)) if np.isfinite(lr) else np.nan
    else:
        base, full = _ols_r2(Df[:, 1:-1], y), _ols_r2(Df[:, 1:], y)
        df2 = n - k - 2
        fstat = (full - base) / ((1 - full) / df2) if df2 > 0 and full < 1 else np.nan
        p = float(stats.f.sf(fstat, 1, df2)) if np.isfinite(fstat) else np.nan
    lo = hi = np.nan
    if counts is not None:
        if binary:
            draws = _auc_delta_boot(Df, y, fb.coef, ff.coef, counts, n_jobs)
        else:
            draws = _r2_delta_boot(Df[:, 1:], y, counts, n_jobs)
        lo, hi = percentile_ci(draws, ci)
    return {
        "metric": "auc" if binary else "r2",
        "n": n,
        "base": base,
        "full": full,
        "delta": full - base,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": p,
        "interval": "bootstrap" if counts is not None else "none",
        "n_boot": 0 if counts is None else int(counts.shape[0]),
    }


def _auc_delta_boot(
    Df: np.ndarray,
    y: np.ndarray,
    start_base: np.ndarray,
    start_full: np.ndarray,
    counts: np.ndarray,
    n_jobs: int,
) -> np.ndarray:
    """Bootstrap draws of AUC(questions + speech) − AUC(questions), refitting both."""
    full = LogitBatch(Df, y)
    base = full.nested(Df.shape[1] - 1)
    full.prepare(start_full)
    base.prepare(start_base)

    def block(C: np.ndarray) -> np.ndarray:
        W = C.astype("float64")
        cb, _ = base.fit(W, start_base)
        cf, _ = full.fit(W, start_full)
        auc_full, auc_base = weighted_auc(
            [full.linear_predictor(cf), base.linear_predictor(cb)], y, C
        )
        out = auc_full - auc_base
        pos = W @ y
        out[(pos == 0) | (pos == W.sum(axis=1))] = np.nan  # one class only
        return out

    return map_chunks(block, counts, n_jobs)


def _r2_delta_boot(X: np.ndarray, y: np.ndarray, counts: np.ndarray, n_jobs: int) -> np.ndarray:
    """Bootstrap draws of R²(questions + speech) − R²(questions) (OLS with intercept) from
    each resample's covariance matrix of ``[y, X]`` (speech last); least squares by
    pseudo-inverse, so a question constant within a resample drops out as in ``lstsq``."""
    mb = MomentBasis(np.column_stack([y, X]))

    def r2(cov: np.ndarray) -> np.ndarray:
        cxx, cxy = cov[:, 1:, 1:], cov[:, 1:, 0]
        beta = np.einsum("cij,cj->ci", np.linalg.pinv(cxx, rcond=1e-12, hermitian=True), cxy)
        return np.einsum("ci,ci->c", beta, cxy) / cov[:, 0, 0]

    def block(C: np.ndarray) -> np.ndarray:
        _, cov = mb.cov(C.astype("float64"))
        out = r2(cov) - r2(cov[:, :-1, :-1])
        out[np.diagonal(cov, axis1=1, axis2=2)[:, 0] <= 1e-10 * mb.var[0]] = np.nan
        return out

    return map_chunks(block, counts, n_jobs)


def _signed(x: float, digits: int = 3) -> str:
    """Format ``x`` with an explicit sign, but a value that rounds to zero as plain zero.

    Examples
    --------
    >>> _signed(0.0123), _signed(-0.00001), _signed(0.0), _signed(-0.5, 2), _signed(float("nan"))
    ('+0.012', '0.000', '0.000', '-0.50', 'n/a')
    """
    if not np.isfinite(x):
        return "n/a"
    text = f"{x:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def _clean_group(s: pd.Series) -> pd.Series:
    v = s.astype("object").where(s.notna(), None)
    return v.map(
        lambda x: None if x is None or str(x).strip().lower() in UNKNOWN else str(x).strip()
    )


@one_blas_thread
def speech_summary(
    data: InterviewData,
    outcomes: pd.DataFrame | None = None,
    demographics: pd.DataFrame | None = None,
    *,
    target: str = "hired",
    by: str | list[str] | None = None,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    bootstrap: Resamples | None = None,
    n_jobs: int = 1,
    reference: Literal["speech", "audit"] = "speech",
) -> SpeechSummary:
    """Distribution of the speech score and how it relates to content scores and outcomes.

    Parameters
    ----------
    data
        InterviewData (``interviews.speech_score``, ``interviews.score``, ``scores``).
    outcomes
        Optional frame with ``interview_id`` and ``target`` (from ``read_outcomes``): adds the
        incremental validity of speech over the question scores (ΔAUC with a likelihood-ratio
        p for a binary target, ΔR² with an F-test p otherwise; in-sample fits, percentile
        bootstrap CI of the difference with ``n_boot`` resamples).
    demographics
        Optional frame with ``interview_id`` and the ``by`` columns (from
        ``read_demographics``): adds group gaps — Cohen's d against the group with the highest
        scoring rate, and the scoring-rate impact ratio (scoring = speech score strictly above
        the whole sample's median; unknown categories excluded). Only groups with n ≥ 30 and
        ≥ 2 % of the known can be the reference or be flagged in the notes.
    target
        Outcome column of ``outcomes``.
    by
        Demographic column(s); default every one of ``sex``, ``race_ethnicity`` present.
    n_boot, ci, seed
        Bootstrap of the incremental-validity difference (``n_boot=0``: no interval). It
        always uses the bootstrap — ΔAUC of nested in-sample models has no valid analytic
        interval (the DeLong test is invalid for nested models; Demler, Pencina & D'Agostino
        2012) and ΔR² sits on its boundary at 0 — computed for all resamples at once
        (methods §9). The ``incremental`` table's ``interval`` column says which was used.
    bootstrap
        A shared :class:`~milo_analytics.analysis.Resamples` over the interviews (e.g.
        ``Resamples.for_data(data)``) instead of ``n_boot``/``seed``: each posting uses the
        counts of the interviews it analyses.
    n_jobs
        Threads for the bootstrap.
    reference
        The reference group of the gaps: ``"speech"`` (above), or ``"audit"`` — the rule of
        :func:`~milo_analytics.analysis.bias_audit` (the highest rate among groups with at least
        2 % of everybody assessed, unknowns included; no minimum n), so that a report's speech
        and audit tables name the same reference.

    Returns
    -------
    SpeechSummary

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> iv = pd.DataFrame({"interview_id": ["a", "b", "c", "d"], "posting_id": "P",
    ...     "status": "completed", "score": [80.0, 60.0, 40.0, 70.0],
    ...     "speech_score": [4.5, 3.5, 2.0, 4.0]})
    >>> sc = pd.DataFrame({"interview_id": ["a", "b", "c", "d"], "posting_id": "P",
    ...     "question_id": "q1", "rank": 1, "score": [4, 3, 2, 4], "score_weight": 1.0,
    ...     "not_scored": False})
    >>> res = speech_summary(InterviewData(interviews=iv, scores=sc), n_boot=0)
    >>> res.summary["n"].tolist()
    [4]
    """
    data = require_data(data, "speech_summary")
    iv = data.interviews.drop_duplicates("interview_id").set_index("interview_id")
    speech_all = pd.to_numeric(iv["speech_score"], errors="coerce").astype("float64")
    if speech_all.notna().sum() == 0:
        raise InsufficientDataError(
            "speech_summary(): no interview has a speech_score; the posting may not record "
            "speech scores (voice/video interviews only)"
        )
    pids = sorted(set(iv["posting_id"].dropna().unique()) | set(posting_ids_with_scores(data)))
    summaries, dists, rels, incs, gaps = [], [], [], [], []
    scatter: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    y_by_id = None
    if outcomes is not None:
        y_by_id = outcome_by_id(outcomes, target, "speech_summary")
    if bootstrap is not None:
        resolve_counts(  # checks bootstrap against n_boot / seed before any work
            bootstrap, n_boot, seed, labels=pd.Index([]), func="speech_summary", default_n_boot=200
        )
        if bootstrap.ids is None:
            raise DataError(
                f"speech_summary(bootstrap={bootstrap!r}): the set must be over interview ids; "
                "build it with Resamples.for_data(data)"
            )
    demo = None
    by_cols: list[str] = []
    if demographics is not None:
        demo = rows_by_id(demographics, "speech_summary", "demographics")
        by_cols = (
            [by]
            if isinstance(by, str)
            else list(by)
            if by
            else [c for c in ("sex", "race_ethnicity") if c in demographics.columns]
        )
        missing = [c for c in by_cols if c not in demographics.columns]
        if missing or not by_cols:
            raise DataError(
                f"speech_summary(by={by!r}): columns {missing or by_cols} not in demographics; found {list(demographics.columns)}"
            )
    for pid in pids:
        ids = iv.index[iv["posting_id"] == pid]
        sp = speech_all.reindex(ids)
        ok = sp.notna()
        if ok.sum() == 0:
            notes.append(f"posting {pid}: no speech scores")
            continue
        v = sp[ok].to_numpy()
        summaries.append(
            {
                "posting_id": pid,
                "n": int(ok.sum()),
                "n_missing": int((~ok).sum()),
                "mean": float(v.mean()),
                "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
                "p10": float(np.quantile(v, 0.1)),
                "median": float(np.median(v)),
                "p90": float(np.quantile(v, 0.9)),
            }
        )
        counts, _ = np.histogram(np.clip(v, 0, 5), bins=SPEECH_EDGES)
        dists.append(
            pd.DataFrame(
                {
                    "posting_id": pid,
                    "left": SPEECH_EDGES[:-1],
                    "right": SPEECH_EDGES[1:],
                    "count": counts,
                }
            )
        )
        overall = pd.to_numeric(iv["score"].reindex(ids), errors="coerce").astype("float64")
        both = ok & overall.notna()
        c2, _, _ = np.histogram2d(
            np.clip(sp[both], 0, 5),
            np.clip(overall[both], 0, 100),
            bins=[SPEECH_EDGES, OVERALL_EDGES],
        )
        bin_idx = np.clip(np.digitize(sp[both], SPEECH_EDGES) - 1, 0, len(SPEECH_EDGES) - 2)
        means = pd.Series(overall[both].to_numpy()).groupby(bin_idx).agg(["mean", "size"])
        means = pd.DataFrame(
            {
                "x": (SPEECH_EDGES[means.index] + 0.125),
                "mean": means["mean"].to_numpy(),
                "n": means["size"].to_numpy(),
            }
        )
        scatter[pid] = {
            "x_edges": SPEECH_EDGES,
            "y_edges": OVERALL_EDGES,
            "counts": c2,
            "means": means,
        }
        wide = data.score_matrix(pid).reindex(ids)
        cols = [("overall", overall)] + [(q, wide[q]) for q in wide.columns]
        undefined: list[str] = []
        for name, col in cols:
            r, n = pearson_r(sp.to_numpy("float64"), col.to_numpy("float64"))
            lo, hi, p = r_ci(r, n, ci)
            if not np.isfinite(r):
                undefined.append(f"{name} (n = {n})")
            rels.append(
                {
                    "posting_id": pid,
                    "variable": name,
                    "n": n,
                    "r": r,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                }
            )
        if undefined:
            notes.append(
                f"posting {pid}: r with speech is undefined for {', '.join(undefined)}: fewer "
                "than 3 interviews with both values, or one of them has no variance."
            )
        if y_by_id is not None and wide.shape[1]:
            y = pd.to_numeric(y_by_id.reindex(ids).astype("object"), errors="coerce").astype(
                "float64"
            )
            frame = pd.concat([wide, sp.rename("__speech"), y.rename("__y")], axis=1).dropna()
            if len(frame) < wide.shape[1] + 10 or frame["__y"].nunique() < 2:
                notes.append(
                    f"posting {pid}: too few interviews with outcome {target!r} ({len(frame)}) for incremental validity"
                )
            else:
                counts = resolve_counts(
                    bootstrap,
                    n_boot,
                    seed,
                    labels=frame.index,
                    func="speech_summary",
                    default_n_boot=200,
                )
                inc = _incremental(
                    frame[wide.columns].to_numpy("float64"),
                    frame["__speech"].to_numpy("float64"),
                    frame["__y"].to_numpy("float64"),
                    counts,
                    ci,
                    n_jobs,
                )
                incs.append({"posting_id": pid, "target": target, **inc})
                interval = (
                    f" [{_signed(inc['ci_low'])}, {_signed(inc['ci_high'])}]"
                    if np.isfinite(inc["ci_low"]) and np.isfinite(inc["ci_high"])
                    else ""
                )
                metric = {"auc": "AUC", "r2": "R²"}.get(inc["metric"], inc["metric"])
                p_text = f"p = {inc['p_value']:.3g}, " if np.isfinite(inc["p_value"]) else ""
                if interval:
                    p_text += f"{inc['n_boot']} bootstrap resamples, "
                notes.append(
                    f"posting {pid}: adding speech to the question scores changes {metric} "
                    f"for {target!r} by {_signed(inc['delta'])}{interval} "
                    f"({p_text}n = {inc['n']:,}; in-sample)."
                )
        if demo is not None:
            med = float(np.median(v))
            gap_found = False
            for col in by_cols:
                g = _clean_group(demo[col].reindex(ids[ok.to_numpy()]))
                d = pd.DataFrame({"g": g.to_numpy(), "s": v})
                unknown = int(d["g"].isna().sum())
                d = d.dropna(subset=["g"])
                if d.empty:
                    continue
                grp = d.groupby("g")["s"]
                st = pd.DataFrame(
                    {
                        "n": grp.size(),
                        "mean": grp.mean(),
                        "rate": (d["s"] > med).groupby(d["g"]).mean(),
                    }
                )
                # reference = highest scoring rate among groups large enough to estimate a
                # rate (n ≥ 30 and ≥ 2 % of the known; NYC LL144 lets audits set < 2 % aside)
                if reference == "audit":
                    big = st[st["n"] >= 0.02 * (st["n"].sum() + unknown)]
                else:
                    big = st[(st["n"] >= MIN_GROUP_N) & (st["n"] >= 0.02 * st["n"].sum())]
                ref = (big if len(big) else st)["rate"].idxmax()
                ref_vals = d.loc[d["g"] == ref, "s"].to_numpy()
                for gname, row in st.iterrows():
                    dval = (
                        cohens_d(d.loc[d["g"] == gname, "s"].to_numpy(), ref_vals)
                        if gname != ref
                        else 0.0
                    )
                    ir = row["rate"] / st.at[ref, "rate"] if st.at[ref, "rate"] > 0 else np.nan
                    gaps.append(
                        {
                            "posting_id": pid,
                            "attribute": col,
                            "group": str(gname),
                            "n": int(row["n"]),
                            "mean": row["mean"],
                            "d": dval,
                            "rate": row["rate"],
                            "impact_ratio": ir,
                            "reference": gname == ref,
                            "n_unknown": unknown,
                        }
                    )
                    if gname != ref and gname in big.index and (ir < 0.8 or dval <= -0.2):
                        gap_found = True
                        notes.append(
                            f"posting {pid}: speech score gap for {col} = {gname}: impact ratio {ir:.2f} "
                            f"vs {ref}, d = {_signed(dval, 2)} (n = {int(row['n'])})."
                        )
            if gap_found:
                notes.append(NON_NATIVE_NOTE)
    if not summaries:
        raise InsufficientDataError("speech_summary(): no posting has speech scores")
    table = pd.DataFrame(rels)
    table["variable"] = table["variable"].astype("str")
    extras: dict[str, Any] = {
        "summary": pd.DataFrame(summaries),
        "distribution": pd.concat(dists, ignore_index=True),
        "scatter": scatter,
    }
    if outcomes is not None:
        extras["incremental"] = pd.DataFrame(incs)
    if demographics is not None:
        extras["gaps"] = pd.DataFrame(gaps)
    notes.insert(0, "Correlations are Pearson r over interviews with both values (Fisher-z CIs).")
    return SpeechSummary(table=table, title="Speech score", notes=notes, extras=extras)
