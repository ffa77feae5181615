"""Impact ratios under today's and the suggested weights (the fairness check)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError


def _fairness(
    X_all: pd.DataFrame,
    current: np.ndarray,
    suggested: np.ndarray,
    demographics: Any,
    data: Any,
    key: str,
    cut: float | None,
    scale: int,
    drop_tolerance: float,
) -> tuple[pd.DataFrame, list[str]]:
    from ..analysis.fairness import impact_ratios
    from ..analysis.weights import FORMULAS

    if isinstance(demographics, pd.DataFrame) and "interview_id" in demographics.columns:
        demo = demographics
    else:
        from ..outcomes import read_demographics

        demo = read_demographics(demographics, key=key, data=data)
    dims = [c for c in ("sex", "race_ethnicity") if c in demo.columns]
    if not dims:
        raise DataError(
            f"demographics need a 'sex' or 'race_ethnicity' column; found {list(demo.columns)}"
        )
    demo = demo.drop_duplicates("interview_id").set_index(demo["interview_id"].astype("str"))
    frame = pd.DataFrame(index=X_all.index)
    Xv = X_all.to_numpy(dtype=float)
    overall = FORMULAS["proportional"]  # the score model's formula, written once in analysis
    for name, w in (("current", current), ("suggested", suggested)):
        w_rows = np.broadcast_to(np.asarray(w, dtype=float), Xv.shape)
        frame[f"score_{name}"] = overall(Xv, w_rows, scale)
        if cut is not None:
            frame[f"sel_{name}"] = frame[f"score_{name}"] >= cut
    for d in dims:
        frame[d] = demo[d].reindex(frame.index).to_numpy()
    frame = frame.reset_index(drop=True)
    rows = []
    for d in dims:
        out = {}
        for name in ("current", "suggested"):
            kw = {"selected": f"sel_{name}"} if cut is not None else {"score": f"score_{name}"}
            out[name] = impact_ratios(frame, by=d, exclude_below=0.02, **kw).set_index(d)
        joined = pd.merge(
            out["current"][["n", "rate", "impact_ratio", "excluded"]],
            out["suggested"][["rate", "impact_ratio", "p_value"]],
            left_index=True,
            right_index=True,
            how="left",
            suffixes=("_current", "_suggested"),
        )
        for cat, r in joined.iterrows():
            ir_c, ir_s = r["impact_ratio_current"], r["impact_ratio_suggested"]
            excluded = bool(r["excluded"]) if pd.notna(r["excluded"]) else False
            flags = []
            if not excluded and pd.notna(ir_s) and ir_s < 0.8 - 1e-9:
                flags.append("below 0.8")
            if not excluded and pd.notna(ir_s) and pd.notna(ir_c) and ir_s < ir_c - drop_tolerance:
                flags.append(f"drops by {ir_c - ir_s:.2f}")
            rows.append(
                {
                    "dimension": d,
                    "category": str(cat),
                    "n": int(r["n"]),
                    "excluded": excluded,
                    "rate_current": float(r["rate_current"]),
                    "impact_ratio_current": float(ir_c) if pd.notna(ir_c) else math.nan,
                    "rate_suggested": float(r["rate_suggested"]),
                    "impact_ratio_suggested": float(ir_s) if pd.notna(ir_s) else math.nan,
                    "p_value_suggested": float(r["p_value"])
                    if pd.notna(r["p_value"])
                    else math.nan,
                    "flag": "; ".join(flags),
                }
            )
    fair = pd.DataFrame(rows)
    if not fair.empty:
        fair["category"] = fair["category"].astype("str")
        fair["flag"] = fair["flag"].astype("str")
        fair["dimension"] = fair["dimension"].astype("str")
    how = (
        f"selected = composite ≥ {cut:g} (0–100)"
        if cut is not None
        else "positive = composite strictly above the median (scoring rate, LL144)"
    )
    notes = [
        f"Impact ratios on {len(frame):,} scored interviews; {how}; categories under 2% of "
        "the data are listed but excluded from the ratios and flags."
    ]
    flagged = fair[fair["flag"] != ""] if not fair.empty else fair
    if len(flagged):
        notes.append(
            "Fairness flags under the suggested weights: "
            + "; ".join(f"{r.dimension}={r.category}: {r.flag}" for r in flagged.itertuples())
        )
    return fair, notes
