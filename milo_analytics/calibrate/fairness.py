"""Fairness under a weight suggestion: the bias audit's rule on today's and suggested weights.

``suggest_weights(..., demographics=...)`` calls :func:`suggestion_fairness` (as ``_fairness``)
to fill ``WeightSuggestion.fairness``; the audit it reuses stays in ``analysis.fairness``.

The composite 0–100 score of every scored interview of the posting (those without an outcome
too: they were assessed) is computed with today's and with the suggested integer weights, and
:func:`~milo_analytics.analysis.fairness.impact_before_after` applies the audit's rule to each:
the LL144 scoring rate and, with a cut or top-k, the selection rate; sex, race/ethnicity and
their intersection; categories under 2 % of the data listed but excluded; unknowns counted;
``flag`` = ratio < 0.8 (exact) AND significantly lower than everybody else (Holm over every
row of that set of weights) AND n ≥ 30 (:data:`~milo_analytics.analysis.fairness.FLAG_RULE`).
docs/methods.md §5 "Fairness of a suggestion"; operating characteristics in
``benchmarks/bench_suggestion_fairness.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["fairness_flagged", "null_demographics", "suggestion_fairness"]

_MEASURE_WORDS = {"scoring": "scoring rate", "selection": "selection"}
_DIM_WORDS = {"sex": "sex", "race_ethnicity": "race/ethnicity", "intersection": "sex × race"}


def suggestion_fairness(
    X_all: pd.DataFrame,
    current: np.ndarray,
    suggested: np.ndarray,
    demographics: Any,
    data: Any,
    key: str,
    cut: float | None,
    scale: int,
    drop_tolerance: float | None = None,
    *,
    top_k: int | None = None,
    exclude_below: float = 0.02,
    alpha: float = 0.05,
    min_n: int = 30,
) -> tuple[pd.DataFrame, list[str]]:
    """Impact ratios with today's and the suggested weights, flagged by the audit's rule.

    Parameters
    ----------
    X_all
        Question scores of every scored interview of the posting (index: interview_id).
    current, suggested
        Weight vectors in the columns' order.
    demographics
        A frame with ``interview_id`` and ``sex`` / ``race_ethnicity``, or anything
        :func:`~milo_analytics.read_demographics` reads (joined by ``key``).
    data
        The InterviewData (to join a demographics file).
    key
        The join key of a demographics file.
    cut, top_k
        Selection = composite ≥ ``cut`` (0–100), or the ``top_k`` best composites; neither:
        the scoring rate only (the median split).
    scale
        The question scale's maximum (5 or 10).
    drop_tolerance
        Retired (the old check flagged any drop larger than this); passing a value warns.
    exclude_below, alpha, min_n
        The audit's 2 % rule, significance level and smallest flagged n.

    Returns
    -------
    (DataFrame, list of str)
        :data:`~milo_analytics.analysis.fairness.BEFORE_AFTER_COLUMNS` (``measure``,
        ``dimension``, ``group``, ``n``, ``ratio_current``, ``ratio_suggested``, ``change``,
        ``flagged_current``, ``flagged_suggested``, …) and the notes that say what the rule
        is and what it found.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.integers(1, 6, (400, 3)), index=[f"i{k}" for k in range(400)])
    >>> demo = pd.DataFrame({"interview_id": X.index, "sex": ["Male", "Female"] * 200})
    >>> fair, notes = suggestion_fairness(X, np.array([1, 1, 1]), np.array([3, 1, 1]), demo,
    ...                                   None, "email", None, 5)
    >>> fair[["group", "flagged_current", "flagged_suggested"]].values.tolist()
    [['Male', False, False], ['Female', False, False]]
    """
    from ..analysis.fairness import impact_before_after
    from ..analysis.weights import FORMULAS

    if drop_tolerance is not None and drop_tolerance != 0.05:
        warnings.warn(
            "fairness_drop is no longer used: fairness under the suggestion follows the bias "
            "audit's flag rule (ratio < 0.8 AND significant after Holm AND n >= 30)",
            DeprecationWarning,
            stacklevel=3,
        )
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
    demo = demo[~demo.index.duplicated()]
    frame = pd.DataFrame(index=X_all.index.astype("str"))
    Xv = X_all.to_numpy(dtype=float)
    overall = FORMULAS["proportional"]  # the score model's formula, written once in analysis
    for name, w in (("current", current), ("suggested", suggested)):
        w_rows = np.broadcast_to(np.asarray(w, dtype=float), Xv.shape)
        frame[name] = overall(Xv, w_rows, scale)
    for d in dims:
        frame[d] = demo[d].reindex(frame.index).to_numpy()
    no_row = int((~frame.index.isin(demo.index)).sum())
    fair = impact_before_after(
        frame.reset_index(drop=True),
        current="current",
        suggested="suggested",
        cut=cut,
        top_k=top_k,
        exclude_below=exclude_below,
        alpha=alpha,
        min_n=min_n,
    )
    return fair, _notes(fair, len(frame), no_row, cut, top_k, exclude_below, alpha, min_n)


def _notes(
    fair: pd.DataFrame,
    n: int,
    no_row: int,
    cut: float | None,
    top_k: int | None,
    exclude_below: float,
    alpha: float,
    min_n: int,
) -> list[str]:
    how = "the scoring rate (share strictly above the median, LL144)"
    if cut is not None:
        how += f" and the selection rate at the cut (composite ≥ {cut:g} of 100)"
    elif top_k is not None:
        how += f" and the selection rate of the top {top_k:,} composites"
    unknown = fair.attrs.get("unknown", {})
    unk = ", ".join(
        f"{_DIM_WORDS.get(d, d)} {v:,}" for d, v in unknown.items() if d != "intersection"
    )
    notes = [
        f"Fairness under the suggestion — the bias audit's rule on {n:,} scored interviews, "
        f"with today's and with the suggested weights: {how}, by sex, race/ethnicity and their "
        f"intersection. A group is flagged when its impact ratio is below 0.8 AND its rate is "
        f"significantly lower than everybody else's (Holm-adjusted p < {alpha:g} over every "
        f"row of that set of weights) AND it has at least {min_n} people; groups under "
        f"{exclude_below:.0%} of the data are listed without a ratio. Unknown: {unk}"
        + (f" (no demographics row: {no_row:,})" if no_row else "")
        + ". How often this flags when no group differs, and how often it finds a real gap: "
        "docs/methods.md §5."
    ]
    flagged = fair[fair["flagged_suggested"]]
    if len(flagged):
        notes.append(
            "Flagged under the suggested weights: "
            + "; ".join(
                f"{r.group} ({_MEASURE_WORDS.get(r.measure, r.measure)}, n = {r.n:,}): "
                f"{r.ratio_current:.3f} → {r.ratio_suggested:.3f}, p = "
                f"{r.p_adjusted_suggested:.2g}"
                + ("" if not r.flagged_current else " — flagged with today's weights too")
                for r in flagged.itertuples(index=False)
            )
            + "."
        )
    else:
        today = int(fair["flagged_current"].sum())
        notes.append(
            "No group is flagged under the suggested weights"
            + (f" ({today} flagged with today's weights)." if today else " (nor today's).")
        )
    below = fair[fair["below_suggested"] & ~fair["flagged_suggested"] & ~fair["excluded"]]
    if len(below):
        notes.append(
            f"{len(below)} ratio(s) under 0.8 with the suggested weights are not flags (not "
            "significant, or n under the minimum): see the table."
        )
    return notes


def fairness_flagged(suggestion: Any, *, new_only: bool = False) -> bool:
    """Whether the suggestion's fairness check flags any group under the suggested weights
    (``new_only``: a group not flagged with today's weights). False without demographics.

    The benchmark's fairness false-flag rate is the share of null worlds where this is True.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> fair = pd.DataFrame({"flagged_current": [True, False], "flagged_suggested": [True, False]})
    >>> fairness_flagged(SimpleNamespace(fairness=fair)), fairness_flagged(
    ...     SimpleNamespace(fairness=fair), new_only=True)
    (True, False)
    """
    fair = getattr(suggestion, "fairness", None)
    if not isinstance(fair, pd.DataFrame) or "flagged_suggested" not in fair.columns:
        return False
    hit = fair["flagged_suggested"].fillna(False).astype(bool)
    if new_only:
        hit &= ~fair["flagged_current"].fillna(False).astype(bool)
    return bool(hit.any())


#: Shares of the seven LL144 race/ethnicity categories and Unknown in :func:`null_demographics`
#: (two categories under the 2 % rule), and of Male / Female / Unknown.
NULL_RACE_SHARES = (0.18, 0.40, 0.15, 0.01, 0.12, 0.01, 0.05, 0.08)
NULL_SEX_SHARES = (0.47, 0.47, 0.06)


def null_demographics(interview_ids: Any, *, seed: int = 0) -> pd.DataFrame:
    """Demographics drawn independently of everything else — a world with no group
    difference — for simulations of the fairness check (``benchmarks/``).

    Sex Male/Female/Unknown at 47/47/6 %; race/ethnicity over the seven LL144 categories
    and Unknown at :data:`NULL_RACE_SHARES`. Pass the result as ``demographics=`` to
    :func:`~milo_analytics.suggest_weights`; any group :func:`fairness_flagged` then finds
    is a false flag.

    Examples
    --------
    >>> d = null_demographics([f"i{k}" for k in range(1000)], seed=1)
    >>> list(d.columns), int((d["sex"] == "Unknown").sum()) < 100
    (['interview_id', 'sex', 'race_ethnicity'], True)
    """
    from ..outcomes import RACE_CATEGORIES

    ids = pd.Series(list(interview_ids), dtype="str")
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "interview_id": ids,
            "sex": pd.array(
                rng.choice(["Male", "Female", "Unknown"], size=len(ids), p=NULL_SEX_SHARES),
                dtype="str",
            ),
            "race_ethnicity": pd.array(
                rng.choice([*RACE_CATEGORIES, "Unknown"], size=len(ids), p=NULL_RACE_SHARES),
                dtype="str",
            ),
        }
    )


#: the name ``suggest_weights`` and earlier code call it by
_fairness = suggestion_fairness
