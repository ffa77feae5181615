"""The report's conclusions, computed once: the header, the summary and the sections all read
their counts from here, so they cannot disagree.

:func:`audit_findings` condenses a :class:`~milo_analytics.analysis.fairness.BiasAudit`
(flags, ratios below 0.8, why the others are not flags) and :func:`suggestion_findings` a
:class:`~milo_analytics.WeightSuggestion` (old → new weights, the out-of-sample gain with its
interval, impact ratios before and after). Nothing is recomputed: these only read results.

Examples
--------
>>> import pandas as pd
>>> from milo_analytics.analysis import bias_audit
>>> from milo_analytics.frames import InterviewData
>>> iv = pd.DataFrame({"interview_id": [f"i{k}" for k in range(8)], "posting_id": "P",
...                    "status": "completed", "score": [10, 20, 30, 40, 50, 60, 70, 80]})
>>> demo = pd.DataFrame({"interview_id": iv["interview_id"],
...                      "sex": ["Male"] * 4 + ["Female"] * 4, "race_ethnicity": "White"})
>>> f = audit_findings(bias_audit(InterviewData(interviews=iv), demo, questions=False))
>>> f["flags"], f["below_four_fifths"]
([], 2)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["audit_findings", "fairness_before_after", "suggestion_findings"]

#: The four-fifths line.
FOUR_FIFTHS = 0.8


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def audit_findings(audit: Any, posting_id: str | None = None) -> dict[str, Any]:
    """Flags and four-fifths counts of an audit (one posting, or all).

    Returns
    -------
    dict
        ``flags``: one dict per flagged row (``posting_id``, ``measure``, ``label``,
        ``dimension``, ``category``, ``impact_ratio``, ``p_value``, ``p_adjusted``, ``n``);
        ``below_four_fifths``: how many ratios are below 0.8 (all measures);
        ``below_overall``: of them, the overall score by sex or by race/ethnicity;
        ``verdicts``: why the unflagged ones are not flags (``{"small n": k, …}``);
        ``measures``: how many measures were audited; ``n_assessed``: people assessed.
    """
    t = audit.table
    if posting_id is not None:
        t = t[t["posting_id"] == posting_id]
    flagged = t[t["flag"].fillna(False).astype(bool)]
    below = t["below_four_fifths"].fillna(False).astype(bool)
    core = below & t["measure"].eq("score") & t["dimension"].ne("intersection")
    verdicts = audit.four_fifths_verdicts()
    if posting_id is not None:
        verdicts = verdicts[verdicts["posting_id"] == posting_id]
    counts = verdicts["verdict"].value_counts()
    unknown = audit.unknown
    if posting_id is not None:
        unknown = unknown[unknown["posting_id"] == posting_id]
    return {
        "flags": [
            {
                "posting_id": str(r.posting_id),
                "measure": str(r.measure),
                "label": str(r.label),
                "dimension": str(r.dimension),
                "category": str(r.category),
                "impact_ratio": _num(r.impact_ratio),
                "p_value": _num(r.p_value),
                "p_adjusted": _num(r.p_adjusted),
                "n": int(r.n),
            }
            for r in flagged.itertuples(index=False)
        ],
        "below_four_fifths": int(below.sum()),
        "below_overall": int(core.sum()),
        "verdicts": {str(k): int(v) for k, v in counts.items() if k != "flagged"},
        "measures": int(t["measure"].nunique()),
        "n_assessed": int(unknown["n_assessed"].sum()) if len(unknown) else 0,
    }


def fairness_before_after(suggestion: Any, *, key_rows: bool = False) -> pd.DataFrame | None:
    """The suggestion's impact ratios with today's and the suggested weights, one row per
    measure and group: ``measure`` (when the suggestion has it: ``scoring`` / ``selection``),
    ``dimension``, ``group``, ``n``, ``ratio_current``, ``ratio_suggested``, ``change`` and
    ``flagged_current`` / ``flagged_suggested`` (the audit's flag rule) when the suggestion
    has them (an older suggestion: ``below_current`` / ``below_suggested``, the ratio is under
    0.8), and ``p_adjusted_suggested`` when present. Categories with nobody are left out.
    None without a suggestion or its fairness frame.

    ``key_rows=True`` keeps what a summary needs: every group flagged with either set of
    weights, and the group with the lowest suggested ratio of each measure and dimension.

    Reads the ``WeightSuggestion.fairness`` frame in either of its layouts (``group``,
    ``ratio_current``, … or ``category``, ``impact_ratio_current``, …).
    """
    fair = getattr(suggestion, "fairness", None)
    if not isinstance(fair, pd.DataFrame) or fair.empty:
        return None
    f = fair.rename(
        columns={
            "category": "group",
            "impact_ratio_current": "ratio_current",
            "impact_ratio_suggested": "ratio_suggested",
        }
    )
    if not {"group", "ratio_current", "ratio_suggested"} <= set(f.columns):
        return None
    if "n" in f.columns:
        f = f[pd.to_numeric(f["n"], errors="coerce").fillna(1) > 0]
    out = pd.DataFrame(index=f.index)
    if "measure" in f.columns:
        out["measure"] = f["measure"].astype("str")
    out["dimension"] = f["dimension"].astype("str") if "dimension" in f.columns else ""
    out["group"] = f["group"].astype("str")
    out["n"] = f["n"] if "n" in f.columns else pd.NA
    out["ratio_current"] = pd.to_numeric(f["ratio_current"], errors="coerce")
    out["ratio_suggested"] = pd.to_numeric(f["ratio_suggested"], errors="coerce")
    out["change"] = (
        pd.to_numeric(f["change"], errors="coerce")
        if "change" in f.columns
        else out["ratio_suggested"] - out["ratio_current"]
    )
    if {"flagged_current", "flagged_suggested"} <= set(f.columns):
        out["flagged_current"] = f["flagged_current"].fillna(False).astype(bool)
        out["flagged_suggested"] = f["flagged_suggested"].fillna(False).astype(bool)
        if "p_adjusted_suggested" in f.columns:
            out["p_adjusted_suggested"] = pd.to_numeric(f["p_adjusted_suggested"], errors="coerce")
    else:
        out["below_current"] = (out["ratio_current"] < FOUR_FIFTHS).astype(bool)
        out["below_suggested"] = (out["ratio_suggested"] < FOUR_FIFTHS).astype(bool)
    out = out.reset_index(drop=True)
    if key_rows and len(out):
        flag = "flagged" if "flagged_current" in out.columns else "below"
        keep = out[f"{flag}_current"] | out[f"{flag}_suggested"]
        keys = [c for c in ("measure", "dimension") if c in out.columns]
        rated = out[out["ratio_suggested"].notna()]
        if len(rated):
            lowest = rated.groupby(keys, sort=False)["ratio_suggested"].idxmin()
            keep |= out.index.isin(lowest.to_numpy())
        out = out[keep].reset_index(drop=True)
    return out


def suggestion_findings(suggestion: Any) -> dict[str, Any]:
    """What a weight suggestion says, in numbers.

    Returns
    -------
    dict
        ``posting_id``, ``recommendation``, ``target``, ``metric``; ``weights``: one dict per
        question (``question_id``, ``current``, ``suggested``); ``changed``: how many weights
        change; ``gain``: the held-out difference of the suggested whole-number weights over
        today's (``difference``, ``ci_low``, ``ci_high``) or None; ``current`` /
        ``suggested``: the metric of each; ``fairness``: :func:`fairness_before_after`;
        ``fairness_key``: its key rows (flagged groups, each measure's lowest ratio);
        ``flagged_suggested``: the groups the audit's rule flags under the suggested weights
        (``new``: not flagged with today's); ``worse``: groups whose ratio falls under 0.8 or
        is flagged only with the suggestion.
    """
    table = getattr(suggestion, "table", None)
    baseline = getattr(suggestion, "baseline", None) or {}
    metric = getattr(suggestion, "metric", "auc")
    weights = []
    if isinstance(table, pd.DataFrame) and "question_id" in table.columns:
        new = "suggested_integer" if "suggested_integer" in table.columns else "suggested_weight"
        for r in table.itertuples(index=False):
            weights.append(
                {
                    "question_id": str(r.question_id),
                    "current": _num(getattr(r, "current_weight", None)),
                    "suggested": _num(getattr(r, new, None)),
                }
            )
    gain = None
    diffs = getattr(suggestion, "differences", None)
    if isinstance(diffs, pd.DataFrame) and "suggested_integer - current" in diffs.index:
        d = diffs.loc["suggested_integer - current"]
        gain = {k: _num(d.get(k)) for k in ("difference", "ci_low", "ci_high")}
    comp = getattr(suggestion, "comparison", None)
    level = {}
    if isinstance(comp, pd.DataFrame) and metric in comp.columns:
        for name in ("current", "suggested_integer", "unit"):
            if name in comp.index:
                level[name] = _num(comp.loc[name, metric])
    fair = fairness_before_after(suggestion)
    worse: list[dict[str, Any]] = []
    if fair is not None:
        after = "flagged_suggested" if "flagged_suggested" in fair.columns else "below_suggested"
        before = after.replace("suggested", "current")
        for r in fair[fair[after] & ~fair[before]].itertuples(index=False):
            worse.append(
                {
                    "dimension": str(r.dimension),
                    "group": str(r.group),
                    "ratio_current": _num(r.ratio_current),
                    "ratio_suggested": _num(r.ratio_suggested),
                }
            )
    return {
        "posting_id": baseline.get("posting_id") if isinstance(baseline, dict) else None,
        "recommendation": getattr(suggestion, "recommendation", None),
        "target": getattr(suggestion, "target", None),
        "metric": metric,
        "weights": weights,
        "changed": sum(
            1
            for w in weights
            if w["current"] is not None
            and w["suggested"] is not None
            and w["current"] != w["suggested"]
        ),
        "gain": gain,
        "levels": level,
        "fairness": fair,
        "fairness_key": fairness_before_after(suggestion, key_rows=True),
        "flagged_suggested": []
        if fair is None or "flagged_suggested" not in fair.columns
        else [
            {
                "measure": str(r.get("measure", "")),
                "dimension": str(r["dimension"]),
                "group": str(r["group"]),
                "ratio_current": _num(r["ratio_current"]),
                "ratio_suggested": _num(r["ratio_suggested"]),
                "n": int(r["n"]),
                "new": not bool(r["flagged_current"]),
            }
            for _, r in fair[fair["flagged_suggested"]].iterrows()
        ],
        "worse": worse,
    }
