"""The report's column dictionary: code name → label, one-line meaning, unit and number format.

Every table of the report (HTML and :meth:`~milo_analytics.report.Report.to_excel`) names its
columns from :data:`COLUMNS`, so a reader sees "impact ratio" with its meaning on hover, never
``impact_ratio``; each column has one number format (:data:`FORMATS`), so a column never mixes
"2.0" and "1.500".

Examples
--------
>>> describe("p_adjusted").label
'p (Holm-adjusted)'
>>> format_values(pd.Series([0.0004, 0.2]), "p")
['< .001', '.200']
>>> format_values(pd.Series([1.0, 2.0]), "weight"), format_values(pd.Series([1.5, 2.0]), "weight")
(['1', '2'], ['1.5', '2.0'])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "FORMATS",
    "VALUE_LABELS",
    "Column",
    "describe",
    "format_values",
    "infer_kind",
    "plain_words",
    "value_words",
]

#: Code values shown in words, by column (``race_ethnicity`` → "race/ethnicity").
VALUE_LABELS: dict[str, dict[str, str]] = {
    "dimension": {"race_ethnicity": "race/ethnicity", "sex": "sex", "intersection": "sex × race"},
    "attribute": {"race_ethnicity": "race/ethnicity"},
    "variable": {"score": "overall score", "speech_score": "speech score"},
    "measure": {
        "score": "overall score",
        "speech_score": "speech score",
        "scoring": "scoring rate",
        "selection": "selection at the cut",
    },
    "predictor": {"score": "overall score", "speech_score": "speech score"},
    "status": {
        "in_progress": "in progress",
        "knocked_out": "knocked out",
        "not_ready": "not ready",
    },
    "item": {},
}

#: Number formats: how a kind is shown in HTML (Python) and in Excel (number_format).
FORMATS: dict[str, str] = {
    "int": "#,##0",
    "num1": "0.0",
    "num2": "0.00",
    "num3": "0.000",
    "pct": "0.0%",
    "ratio": "0.000",
    "r": "0.00",
    "p": "0.0000",
    "weight": "0.##",
    "text": "@",
    "bool": "General",
    "date": "yyyy-mm-dd",
}


@dataclass(frozen=True)
class Column:
    """How one column is shown: ``label`` (header), ``meaning`` (hover and glossary), ``unit``
    and ``kind`` (a key of :data:`FORMATS`)."""

    label: str
    meaning: str = ""
    unit: str = ""
    kind: str = ""

    @property
    def tooltip(self) -> str:
        """``meaning (unit)`` for a header's hover text."""
        return f"{self.meaning} ({self.unit})" if self.unit else self.meaning


_C = Column
#: code name → Column. Names not listed get their underscores replaced by spaces and a kind
#: inferred from the values (:func:`infer_kind`).
COLUMNS: dict[str, Column] = {
    # identity
    "posting_id": _C("posting id", "HeyMilo posting (interviewer) id", kind="text"),
    "posting": _C("posting", "posting title", kind="text"),
    "title": _C("title", "posting title", kind="text"),
    "question_id": _C("question id", "HeyMilo question id", kind="text"),
    "question": _C("question", "the question (rank in the interview and text)", kind="text"),
    "text": _C("question", "the question's text", kind="text"),
    "rank": _C("rank", "the question's place in the interview", kind="int"),
    "status": _C("status", "the candidate's current status in HeyMilo", kind="text"),
    "check": _C("check", "what was counted", kind="text"),
    "count": _C("count", "how many", "people or documents", "int"),
    "item": _C("item", "what the row describes", kind="text"),
    "value": _C("value", "its value", kind="text"),
    # counts
    "n": _C("n", "number of people (or interviews) in the row", "people", "int"),
    "n_missing": _C("missing", "interviews without a value", "interviews", "int"),
    "n_positive": _C(
        "n selected / above", "people selected, or scoring above the median", "people", "int"
    ),
    "n_assessed": _C("assessed", "people with interview results", "people", "int"),
    "n_unknown": _C("unknown", "people with an unknown category", "people", "int"),
    "n_before": _C("n before", "interviews before the change", "interviews", "int"),
    "n_after": _C("n after", "interviews after the change", "interviews", "int"),
    "n_fit": _C("n fitted", "interviews the formula reproduces", "interviews", "int"),
    "n_score_fit": _C(
        "n matching score",
        "interviews whose overall score the formula reproduces",
        "interviews",
        "int",
    ),
    "n_match_score_fit": _C(
        "n matching match score",
        "interviews whose match score the formula reproduces",
        "interviews",
        "int",
    ),
    "n_flips": _C(
        "shortlist changes", "people who would enter or leave the shortlist", "people", "int"
    ),
    "n_in": _C("would enter", "people who would enter the shortlist", "people", "int"),
    "n_out": _C("would leave", "people who would leave the shortlist", "people", "int"),
    "n_shortlisted_before": _C("shortlisted before", "shortlist size today", "people", "int"),
    "n_shortlisted_after": _C(
        "shortlisted after", "shortlist size with the new weights", "people", "int"
    ),
    "candidates": _C("candidates", "candidates of the posting", "people", "int"),
    "completed interviews": _C(
        "completed interviews", "candidates with interview results", "interviews", "int"
    ),
    "interviews": _C("interviews", "interviews with results", "interviews", "int"),
    "questions": _C("questions", "scored questions", kind="int"),
    "scored questions": _C("scored questions", "questions that count in the score", kind="int"),
    "total": _C("total", "all postings", "people", "int"),
    "unknown": _C("unknown", "people with an unknown category", "people", "int"),
    "any": _C("unknown sex or race", "people with either category unknown", "people", "int"),
    "no_demographics": _C(
        "no self-ID row", "people with no row in the demographics file", "people", "int"
    ),
    "sex": _C("sex", "self-identified sex (unknown: not given)", kind="text"),
    "race_ethnicity": _C("race/ethnicity", "self-identified race/ethnicity", kind="text"),
    "below_four_fifths": _C(
        "below 0.8", "categories whose impact ratio is below four-fifths", "categories", "int"
    ),
    "flagged": _C("flagged", "evidence of adverse impact under the flag rule", kind="bool"),
    "shortfall": _C(
        "shortfall",
        "fewest extra people of the category who would have to be selected "
        "(or score above the median) to lift its ratio to 0.8",
        "people",
        "int",
    ),
    # scores
    "mean": _C("mean", "average", kind="num2"),
    "sd": _C("SD", "sample standard deviation (n − 1)", kind="num2"),
    "min": _C("min", "lowest value", kind="num1"),
    "max": _C("max", "highest value", kind="num1"),
    "median": _C("median", "middle value", kind="num1"),
    "p10": _C("10th pct", "10th percentile", kind="num1"),
    "p25": _C("25th pct", "25th percentile", kind="num1"),
    "p75": _C("75th pct", "75th percentile", kind="num1"),
    "p90": _C("90th pct", "90th percentile", kind="num1"),
    "mean_before": _C("mean before", "mean before the change", kind="num2"),
    "mean_after": _C("mean after", "mean after the change", kind="num2"),
    "diff": _C("difference", "after minus before", kind="num2"),
    "score_min": _C("lowest score", "lowest overall score in the band", "points", "num1"),
    "score_max": _C("highest score", "highest overall score in the band", "points", "num1"),
    "cut": _C("cut score", "overall score at the cut", "points", "num1"),
    "band": _C("band", "overall-score quintile within the posting (Q1 lowest)", kind="text"),
    "week ending": _C("week ending", "the Sunday that ends the week (UTC)", kind="text"),
    "variable": _C("measure", "what is summarised", kind="text"),
    # weights
    "weight": _C("weight", "the question's weight", kind="weight"),
    "current_weight": _C("current weight", "today's weight in HeyMilo", kind="weight"),
    "suggested_weight": _C(
        "suggested (continuous)", "the fitted weight before rounding", kind="num2"
    ),
    "suggested_integer": _C(
        "suggested weight", "the whole-number weight a push would write (1–10)", kind="weight"
    ),
    "mle_weight": _C("unshrunk fit", "the fit without shrinkage toward today", kind="num2"),
    "change": _C("change", "suggested minus current weight", kind="weight"),
    "nominal_share": _C(
        "nominal share", "the weight's share of all weights", "% of the score", "pct"
    ),
    "effective_share": _C(
        "effective share",
        "the question's actual share of the overall score's variance",
        "% of the score",
        "pct",
    ),
    "share_gap": _C("gap", "effective minus nominal share", "percentage points", "pct"),
    "importance": _C(
        "importance",
        "Johnson's relative weight: share of the explained variance",
        "% of R²",
        "num1",
    ),
    "formula": _C("formula", "how the overall score is computed from the scorecard", kind="text"),
    "share_fit": _C(
        "share reproduced", "interviews the formula reproduces within 0.5 points", kind="pct"
    ),
    "mean_abs_residual": _C(
        "mean |residual|", "mean absolute difference from HeyMilo's score", "points", "num2"
    ),
    "median_abs_residual": _C(
        "median |residual|", "median absolute difference from HeyMilo's score", "points", "num2"
    ),
    "max_abs_residual": _C(
        "max |residual|", "largest absolute difference from HeyMilo's score", "points", "num2"
    ),
    "best": _C("best", "the formula that reproduces the most scores", kind="bool"),
    "r_overall": _C("r with overall", "correlation with the overall score", kind="r"),
    "weights": _C("weights", "which weights", kind="text"),
    # items and reliability
    "item_total_r": _C(
        "item–rest r", "correlation of the question with the sum of the others", kind="r"
    ),
    "alpha_if_deleted": _C("α if deleted", "Cronbach's α without the question", kind="r"),
    "alpha_rises": _C("α rises", "α would rise without the question", kind="bool"),
    "low_item_total": _C("low item–rest r", "item–rest r below .20 (revise)", kind="bool"),
    "floor": _C("floor", "share of answers at the scale's lowest score", kind="pct"),
    "ceiling": _C("ceiling", "share of answers at the scale's highest score", kind="pct"),
    "floor_flag": _C("floor > 15 %", "more than 15 % at the lowest score", kind="bool"),
    "ceiling_flag": _C("ceiling > 15 %", "more than 15 % at the highest score", kind="bool"),
    "discrimination": _C(
        "discrimination", "mean score of the top third minus the bottom third", kind="num2"
    ),
    "alpha": _C("α", "Cronbach's alpha (internal consistency)", kind="r"),
    "mean inter-item r": _C("mean inter-item r", "mean correlation between questions", kind="r"),
    "question scale max": _C("scale max", "highest score a question can get", kind="int"),
    "sd (overall, points)": _C("SD overall", "SD of the overall score", "points", "num1"),
    "SEM (overall, points)": _C(
        "SEM overall", "standard error of measurement of the overall score", "points", "num1"
    ),
    # correlations and tests
    "r": _C("r", "correlation (Pearson or point-biserial)", kind="r"),
    "d": _C("d", "Cohen's d: difference in SDs", kind="r"),
    "ci_low": _C("95% CI low", "lower end of the 95% confidence interval", kind="num3"),
    "ci_high": _C("95% CI high", "upper end of the 95% confidence interval", kind="num3"),
    "rw_ci_low": _C("CI low", "lower end of the bootstrap 95% CI", "% of R²", "num1"),
    "rw_ci_high": _C("CI high", "upper end of the bootstrap 95% CI", "% of R²", "num1"),
    "lmg_ci_low": _C("LMG CI low", "lower end of the bootstrap 95% CI", "% of R²", "num1"),
    "lmg_ci_high": _C("LMG CI high", "upper end of the bootstrap 95% CI", "% of R²", "num1"),
    "rescaled_weight": _C(
        "relative weight", "share of the explained variance (Johnson)", "% of R²", "num1"
    ),
    "rescaled_lmg": _C(
        "dominance (LMG)", "share of the explained variance (Shapley)", "% of R²", "num1"
    ),
    "p_value": _C("p", "p value of the test", kind="p"),
    "p_adjusted": _C("p (Holm-adjusted)", "p value adjusted for the many tests (Holm)", kind="p"),
    "p_rest": _C("p vs rest", "p value against everybody else", kind="p"),
    "mw_p": _C("p (Mann-Whitney)", "p of the Mann-Whitney test of the difference", kind="p"),
    "ks_p": _C("p (Kolmogorov-Smirnov)", "p of the test that the distributions differ", kind="p"),
    "r_p": _C("p of r", "p value of the correlation", kind="p"),
    "significant": _C("significant", "p < .05", kind="bool"),
    "predictor": _C("predictor", "what is correlated with the outcome", kind="text"),
    "target": _C("outcome", "the outcome predicted", kind="text"),
    "metric": _C("metric", "how prediction is measured", kind="text"),
    "base": _C("questions only", "questions without the speech score", kind="num3"),
    "full": _C("questions + speech", "questions and the speech score", kind="num3"),
    "delta": _C("gain", "questions + speech minus questions only", kind="num3"),
    "auc": _C("AUC (held out)", "area under the ROC curve on held-out candidates", kind="num3"),
    "difference": _C("difference", "paired difference", kind="num3"),
    "spearman": _C("rank correlation", "Spearman ρ of the old and new scores", kind="r"),
    "share_rank_changed": _C("rank changed", "people whose rank would change", kind="pct"),
    "mean_abs_rank_change": _C(
        "mean rank change", "mean absolute change in rank", "places", "num1"
    ),
    "max_abs_rank_change": _C(
        "max rank change", "largest absolute change in rank", "places", "int"
    ),
    # fairness
    "dimension": _C("dimension", "sex, race/ethnicity, or their intersection", kind="text"),
    "category": _C("category", "the group", kind="text"),
    "group": _C("group", "the group", kind="text"),
    "attribute": _C("dimension", "sex or race/ethnicity", kind="text"),
    "label": _C(
        "measure",
        "what was rated: the overall score, a question, the speech score, or a selection",
        kind="text",
    ),
    "measure": _C("measure", "what was rated", kind="text"),
    "reference": _C("reference group", "the category with the highest rate", kind="text"),
    "rate": _C(
        "rate", "share selected, or scoring strictly above the posting's median", kind="pct"
    ),
    "impact_ratio": _C(
        "impact ratio", "the category's rate divided by the highest category's rate", kind="ratio"
    ),
    "min_impact_ratio": _C("lowest ratio", "the lowest impact ratio of the measure", kind="ratio"),
    "lowest_category": _C("lowest category", "the category with the lowest ratio", kind="text"),
    "excluded": _C(
        "excluded", "under 2 % of the data: no ratio (n and rate still shown)", kind="bool"
    ),
    "ratio_current": _C("ratio today", "impact ratio with today's weights", kind="ratio"),
    "ratio_suggested": _C(
        "ratio suggested", "impact ratio with the suggested weights", kind="ratio"
    ),
    "flagged_current": _C(
        "flagged today",
        "the audit's flag with today's weights: below 0.8, significantly lower, n ≥ 30",
        kind="bool",
    ),
    "flagged_suggested": _C(
        "flagged suggested",
        "the audit's flag with the suggested weights: below 0.8, significantly lower, n ≥ 30",
        kind="bool",
    ),
    "rate_current": _C("rate today", "scoring or selection rate with today's weights", kind="pct"),
    "rate_suggested": _C(
        "rate suggested", "scoring or selection rate with the suggested weights", kind="pct"
    ),
    "p_adjusted_current": _C(
        "p today (Holm)",
        "the group against everybody else, today's weights, Holm-adjusted",
        kind="p",
    ),
    "p_adjusted_suggested": _C(
        "p suggested (Holm)",
        "the group against everybody else, suggested weights, Holm-adjusted",
        kind="p",
    ),
    "is_reference_current": _C(
        "reference today", "the highest rate with today's weights", kind="bool"
    ),
    "is_reference_suggested": _C(
        "reference suggested", "the highest rate with the suggested weights", kind="bool"
    ),
    "below_current": _C("below 0.8 today", "ratio under 0.8 with today's weights", kind="bool"),
    "below_suggested": _C(
        "below 0.8 suggested", "ratio under 0.8 with the suggested weights", kind="bool"
    ),
    "finding": _C("finding", "what was found (links to the section)", kind="text"),
    "verdict": _C("verdict", "why the ratio is or is not a flag", kind="text"),
    "why": _C("why", "the numbers behind the verdict", kind="text"),
    "selection_rate": _C("selection rate", "share selected", kind="pct"),
    "scoring_rate": _C("scoring rate", "share scoring strictly above the median", kind="pct"),
}


#: Code values shown in words wherever they appear whole (table cells, index, figure labels).
VALUE_WORDS: dict[str, str] = {
    "in_progress": "in progress",
    "knocked_out": "knocked out",
    "not_ready": "not ready",
    "race_ethnicity": "race/ethnicity",
    "speech_score": "speech score",
    "suggested_integer": "suggested (whole numbers)",
    "suggested_integer - current": "suggested (whole numbers) − current",
    "suggested_integer - unit": "suggested (whole numbers) − unit",
    "suggested - suggested_integer": "suggested − suggested (whole numbers)",
    "suggested - current": "suggested − current",
    "suggested - unit": "suggested − unit",
    "min_anchored": "min-anchored",
}


def value_words(v: Any) -> Any:
    """A code value in words (:data:`VALUE_WORDS`), anything else unchanged."""
    return VALUE_WORDS.get(v, v) if isinstance(v, str) else v


#: Phrases of the analyses' notes that speak Python, in words (applied before code names).
_PHRASES: dict[str, str] = {
    "in bias_audit": "in the audit",
    "min_n": "the minimum n",
    "p_rest": "p vs rest",
    "alpha=": "alpha = ",
}
_SEE_ATTRIBUTE = re.compile(r";?\s*see \.[A-Za-z_]\w*")
_CODE_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def plain_words(text: str) -> str:
    """Toolkit text for people: "see .unmatched" dropped, code names of the column
    dictionary replaced by their labels (``p_adjusted`` → "p (Holm-adjusted)").

    Examples
    --------
    >>> plain_words("8 fit no formula (overrides; see .unmatched). below_four_fifths shows")
    '8 fit no formula (overrides). below 0.8 shows'
    """
    if not isinstance(text, str) or not text:
        return text
    text = _SEE_ATTRIBUTE.sub("", text)
    for old, new in _PHRASES.items():
        text = text.replace(old, new)
    return _CODE_NAME.sub(
        lambda m: COLUMNS[m.group(0)].label if m.group(0) in COLUMNS else m.group(0), text
    )


def describe(name: Any) -> Column:
    """The :class:`Column` of ``name`` (a readable default for names not in the dictionary).

    Examples
    --------
    >>> describe("alpha_if_deleted").label, describe("n_other_thing").label
    ('α if deleted', 'n other thing')
    """
    key = str(name)
    if key in COLUMNS:
        return COLUMNS[key]
    return Column(label=key.replace("_", " "))


def infer_kind(values: pd.Series) -> str:
    """A number format for a column not in the dictionary, from its values."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        v = values.dropna().astype("float64")
        if len(v) and bool(np.all(np.mod(v, 1) == 0)) and v.abs().max() < 1e12:
            return "int"
        return "num3"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "text"


def _number(v: Any) -> float | None:
    if isinstance(v, bool | np.bool_) or v is None:
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        f = float(v)
        return None if math.isnan(f) else f
    return None


def _one(v: Any, kind: str, integer_column: bool) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float | np.floating) and math.isnan(float(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    f = _number(v)
    if f is None:
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d}"
        return str(v)
    if kind == "int":
        return f"{f:,.0f}" if f.is_integer() else f"{f:,.2f}"
    if kind == "pct":
        return f"{100 * f:.1f} %"
    if kind == "p":
        if f < 0.001:
            return "< .001"
        return f"{f:.3f}".replace("0.", ".", 1) if f < 1 else "1"
    if kind == "weight":
        return f"{f:.0f}" if integer_column else f"{f:.1f}"
    decimals = {"num1": 1, "num2": 2, "num3": 3, "ratio": 3, "r": 2}.get(kind, 3)
    text = f"{f:,.{decimals}f}"
    return "0." + "0" * decimals if text.startswith("-") and float(text) == 0 else text


def format_values(values: pd.Series, kind: str) -> list[str]:
    """Every value of a column in one format (``kind`` from :data:`FORMATS`)."""
    integer_column = False
    if kind == "weight":
        nums = [f for f in (_number(v) for v in values) if f is not None]
        integer_column = all(f.is_integer() for f in nums)
    return [_one(v, kind, integer_column) for v in values]
