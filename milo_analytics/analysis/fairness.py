"""Adverse impact: NYC Local Law 144 impact ratios and the EEOC four-fifths rule.

:func:`impact_ratios` computes the rule's table for one frame; :func:`bias_audit` runs it for
every posting, measure (overall score, each question, speech score, selection outcomes) and
dimension (sex, race/ethnicity, their intersection) and returns a :class:`BiasAudit`.

Definitions (METHODS.md §6)
---------------------------
- Selection rate = selected / assessed in the category. Scoring rate = share of the category
  whose score is strictly above the median of the full sample (``ties=">="`` counts ties as
  above; the tie count is always reported; ``unknowns_in_median`` decides whether rows with an
  unknown category are in the median's sample).
- Impact ratio = rate / the reference category's rate (default: the highest rate among the
  categories not excluded). Compared with 0.8 *exactly* (fractions: 64/100 ÷ 80/100 is exactly
  0.8, not below it).
- ``exclude_below`` (e.g. 0.02) excludes categories under that share of the data (``exclude_base``
  ``"all"`` — every row, unknowns included — or ``"known"``); they keep their n and rate, with
  the reason in ``reason``. Categories with no individuals are listed with n = 0.
- Each non-reference ratio carries a two-sided test of its rate against the reference's:
  Fisher's exact test when an expected count of the 2×2 table is below 5, else the pooled
  two-proportion z test (``test="auto"``); Wilson intervals per rate; ``shortfall`` = the
  smallest number of extra selections in the category that lifts its ratio to 0.8.

The headline flag ("evidence of adverse impact")
------------------------------------------------
A ratio under 0.8 alone is reported (``below_four_fifths``) but is not a flag: with small
numbers it is mostly noise. Testing against the reference does not fix that, because the
reference is *chosen* as the highest rate: among seven or fourteen categories the highest is
often a small category whose rate is high by chance, and "lowest vs highest" comparisons come
out "significant" far more often than ``alpha`` when nothing is going on. So ``flag`` is True
when all hold:

1. ``below_four_fifths`` (ratio < 0.8, exact);
2. the category's rate is lower than the rate of everybody else with a known category, and
   that difference is significant after a multiple-comparison correction: ``p_rest`` is the
   two-sided test (Fisher/z as above) of the category against all other known individuals
   pooled, and ``p_adjusted`` is Holm's adjustment of ``p_rest`` over the family — the
   categories of one table in :func:`impact_ratios`, every row of one posting's audit in
   :func:`bias_audit` — and must be below ``alpha``;
3. the category has at least ``min_n`` individuals (default 30).

``p_value`` (against the reference, per the rule) and ``significant`` (``p_value < alpha``) are
reported as well, so compliance staff see the raw four-fifths result and its test beside
``flag``. On synthetic worlds without any group difference this rule flags (almost) nothing;
the rule-table test alone would flag something in most audits (``tests/test_fairness.py``).

JSON export schema (``BiasAudit.to_json()``, validated by :data:`AUDIT_JSON_SCHEMA`)
-----------------------------------------------------------------------------------
An object with:

- ``schema``: ``"milo_analytics.bias_audit/1"``; ``milo_analytics_version``; ``generated_at``:
  ISO-8601 UTC time;
- ``options``: the choices made (ties, unknowns_in_median, exclude_below, exclude_base, test,
  alpha, min_n, adjust, reference), and ``flag_rule``: the rule above in words;
- ``postings``: one object per posting: ``posting_id``, ``n_assessed``, ``unknown``
  (``sex``, ``race_ethnicity``, ``any``, ``no_demographics``), ``flags`` (number of flagged rows),
  ``measures`` (list of measure ids), ``period_start`` / ``period_end`` (ISO-8601 times of the
  first and last interview audited, or null);
- ``summary``: one object per posting × measure × dimension: ``posting_id``, ``measure``,
  ``label``, ``mode`` (``"scoring"`` or ``"selection"``), ``dimension`` (``"sex"``,
  ``"race_ethnicity"``, ``"intersection"``), ``reference``, ``n``, ``unknown``, ``median``,
  ``ties``, ``min_impact_ratio``, ``lowest_category``, ``below_four_fifths``, ``flagged``,
  ``notes`` (the table's edge-case notes, e.g. ties at the median, joined with ``"; "``);
- ``rows``: one object per category: ``posting_id``, ``measure``, ``dimension``, ``category``,
  ``sex``, ``race_ethnicity`` (null where not part of the dimension), ``n``, ``n_positive``,
  ``rate``, ``rate_ci_low``, ``rate_ci_high``, ``impact_ratio``, ``excluded``, ``reason``,
  ``is_reference``, ``test``, ``p_value``, ``rate_rest``, ``p_rest``, ``p_adjusted``,
  ``below_four_fifths``, ``significant``, ``flag``, ``shortfall``, ``mode``;
- ``sweep``: the threshold sweep: ``posting_id``, ``measure``, ``dimension``, ``cut``,
  ``category``, ``n``, ``n_positive``, ``rate``, ``impact_ratio``, ``below_four_fifths``, and
  ``excluded``, ``reason``, ``is_reference`` (the 2 % rule and reference of the table, applied
  at every cut; older exports lack these three).

Numbers that are undefined (an empty category's rate, an excluded category's ratio) are
``null``. The export holds categories and counts only: no names, emails or ids of people.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"sex": ["Male"] * 100 + ["Female"] * 100,
...                    "hired": [True] * 80 + [False] * 20 + [True] * 64 + [False] * 36})
>>> t = impact_ratios(df, by="sex", selected="hired")
>>> t[["sex", "rate", "impact_ratio", "below_four_fifths"]].values.tolist()
[['Male', 0.8, 1.0, False], ['Female', 0.64, 0.8, False]]
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import DataError, InsufficientDataError
from ..frames import RESULT_STATUSES, InterviewData
from ..outcomes import RACE_CATEGORIES, SEX_CATEGORIES, UNKNOWN, parse_hired
from ..results import Result, frame_to_html
from ._common import require_data

__all__ = [
    "AUDIT_JSON_SCHEMA",
    "BEFORE_AFTER_COLUMNS",
    "FLAG_RULE",
    "NOT_AUDITED",
    "BiasAudit",
    "ImpactRatios",
    "bias_audit",
    "holm",
    "impact_before_after",
    "impact_ratios",
    "threshold_sweep",
    "two_proportion_test",
    "wilson_interval",
]

FOUR_FIFTHS = Fraction(4, 5)
FLAG_RULE = (
    "flag = impact ratio < 0.8 (exact) AND the category's rate is significantly lower than "
    "everybody else's (p_rest, Holm-adjusted over the table, or over the posting's whole audit "
    "in bias_audit: p_adjusted < alpha) AND the category has at least min_n individuals"
)
_EEO1 = {"sex": SEX_CATEGORIES, "race_ethnicity": RACE_CATEGORIES}
#: How a note about a dimension or outcome the audit left out begins (the CLI prints them).
NOT_AUDITED = "Not audited:"
_RESULT_COLUMNS = [
    "n", "n_positive", "rate", "impact_ratio", "excluded", "p_value",
    "rate_ci_low", "rate_ci_high", "below_four_fifths", "significant", "shortfall",
    "is_reference", "test", "reason", "rate_rest", "p_rest", "p_adjusted", "flag",
]  # fmt: skip
#: Columns of threshold_sweep after "cut" and the group columns (also bias_audit's sweep).
_SWEEP_COLUMNS = ["n", "n_positive", "rate", "impact_ratio", "below_four_fifths", "overall_rate",
                  "excluded", "reason", "is_reference"]  # fmt: skip


# ----------------------------------------------------------------------------- statistics


def wilson_interval(k: int, n: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (NaNs when n = 0).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        return (math.nan, math.nan)
    # scipy.special's quantile and tail of the standard normal: the same floats as
    # stats.norm.ppf / .sf (which call them), without ~30 µs of wrapping per call
    z = float(special.ndtri(1 - alpha / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(
    k1: int, n1: int, k2: int, n2: int, *, test: str = "auto"
) -> tuple[float, str]:
    """Two-sided test that two proportions are equal.

    ``test="auto"`` uses Fisher's exact test when an expected count of the 2×2 table
    ``[[k1, n1-k1], [k2, n2-k2]]`` is below 5, else the pooled two-proportion z test.

    Returns
    -------
    (p_value, test_used)

    Examples
    --------
    >>> p, used = two_proportion_test(30, 100, 50, 100)
    >>> used, round(p, 4)
    ('z', 0.0039)
    """
    if n1 <= 0 or n2 <= 0:
        return (math.nan, "")
    if test not in ("auto", "fisher", "z"):
        raise DataError(f"test={test!r}; use 'auto', 'fisher' or 'z'")
    total, pos = n1 + n2, k1 + k2
    if test == "auto":
        expected = [n * c / total for n in (n1, n2) for c in (pos, total - pos)]
        test = "fisher" if min(expected) < 5 else "z"
    if test == "fisher":
        res = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided")
        return (float(res.pvalue), "fisher")
    pooled = pos / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return (1.0, "z")
    z = (k1 / n1 - k2 / n2) / se
    return (float(2 * special.ndtr(-abs(z))), "z")


def holm(p_values: Any) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaNs stay NaN and do not count).

    Examples
    --------
    >>> holm([0.01, 0.04, float("nan"), 0.03]).round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


# ----------------------------------------------------------------------------- impact ratios


def _as_list(by: str | list[str] | tuple[str, ...]) -> list[str]:
    cols = [by] if isinstance(by, str) else list(by)
    if not 1 <= len(cols) <= 2:
        raise DataError(f"by={by!r}: give one column or two (an intersection), not {len(cols)}")
    return cols


def _group_codes(
    frame: pd.DataFrame, cols: list[str], unknown_labels: tuple[str, ...]
) -> tuple[pd.Series, list[tuple[np.ndarray, pd.Index]]]:
    """The rows whose every ``cols`` value is known, and per column its codes (-1 where
    missing) into its distinct values: each column is factorized once per table."""
    known = np.ones(len(frame), dtype=bool)
    coded = []
    for c in cols:
        # decided once per distinct value (a handful), then spread over the rows
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        labels = pd.Series(uniques).astype("str").str.strip()
        ok = ~labels.isin(list(unknown_labels)).fillna(True).to_numpy()
        known &= (codes >= 0) & np.append(ok, False)[codes]
        coded.append((codes, uniques))
    return pd.Series(known, index=frame.index), coded


def _present(codes: np.ndarray, uniques: pd.Index, rows: np.ndarray) -> pd.Index:
    """The distinct values of ``rows`` (a mask), in order of first appearance."""
    cells, first = np.unique(codes[rows], return_index=True)
    return uniques.take(cells[np.argsort(first, kind="stable")])


def _cell_counts(
    coded: list[tuple[np.ndarray, pd.Index]], rows: np.ndarray, positive: np.ndarray
) -> dict[tuple[Any, ...], tuple[int, int]]:
    """``{(value, …): (n, n_positive)}`` per combination of the columns' values among
    ``rows`` (a mask of rows without a missing value; ``positive`` is theirs), in order of
    first appearance."""
    if not rows.any():
        return {}
    code = np.zeros(int(rows.sum()), dtype=np.int64)
    values = []
    for codes, uniques in coded:
        code = code * len(uniques) + codes[rows]
        values.append(uniques.tolist())
    cells, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    sizes = np.bincount(inverse, minlength=len(cells))
    hits = np.bincount(inverse, weights=positive, minlength=len(cells))
    out = {}
    for j in np.argsort(first, kind="stable"):
        key, rest = [], int(cells[j])
        for vals in reversed(values):
            rest, i = divmod(rest, len(vals))
            key.append(vals[i])
        out[tuple(reversed(key))] = (int(sizes[j]), int(hits[j]))
    return out


def _selected_bool(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s.dtype):
        vals = pd.to_numeric(s, errors="coerce")
        bad = vals.notna() & ~vals.isin([0, 1])
        if bad.any():
            raise DataError(
                f"selected={name!r} must be boolean (or 0/1); found values like "
                f"{sorted(vals[bad].unique().tolist())[:5]}; use score= for a numeric score"
            )
        return vals.map(lambda v: pd.NA if pd.isna(v) else bool(v)).astype("boolean")
    out, bad = [], []
    for v in s:
        b, _, how = parse_hired(v)
        if how == "unrecognised":
            bad.append(v)
        out.append(pd.NA if b is None else b)
    if bad:
        raise DataError(
            f"selected={name!r} has values that are not yes/no: {sorted({str(b) for b in bad})[:5]}; "
            f"pass a boolean column"
        )
    return pd.Series(out, index=s.index, dtype="boolean")


def _levels(
    frame: pd.DataFrame,
    cols: list[str],
    known: pd.Series,
    layout: str,
    coded: list[tuple[np.ndarray, pd.Index]],
) -> list[tuple[Any, ...]]:
    # the known values of each column, from its codes (boolean row selections of arrow
    # strings cost more than the rest of a small table's impact ratios)
    rows = known.to_numpy()
    present = [_present(codes, uniques, rows) for codes, uniques in coded]
    use_eeo1 = layout == "eeo1"
    if layout == "auto":
        use_eeo1 = all(c in _EEO1 for c in cols) and all(
            set(values.astype("str")) <= set(_EEO1[c])
            for c, values in zip(cols, present, strict=True)
        )
    elif layout not in ("eeo1", "observed"):
        raise DataError(f"layout={layout!r}; use 'auto', 'eeo1' or 'observed'")
    per: list[list[Any]] = []
    for c, values in zip(cols, present, strict=True):
        if use_eeo1:
            if c not in _EEO1:
                raise DataError(f"layout='eeo1' needs by columns 'sex'/'race_ethnicity', got {c!r}")
            per.append(list(_EEO1[c]))
        elif isinstance(frame[c].dtype, pd.CategoricalDtype):
            per.append([v for v in frame[c].cat.categories if str(v) not in ("nan",)])
        else:
            vals = values.tolist()
            try:
                per.append(sorted(vals))
            except TypeError:
                per.append(sorted(vals, key=str))
    return list(itertools.product(*per))


def _check_exclude_below(exclude_below: float) -> None:
    if not 0 <= exclude_below < 1:
        raise DataError(
            f"the share under which categories are excluded must be in [0, 1); got "
            f"{exclude_below!r}",
            python_hint="pass exclude_below= e.g. 0.02 (0: exclude none)",
            cli_hint="pass --exclude-below e.g. 0.02 (0: exclude none)",
        )


def _exclusion(n: int, base: int, exclude_below: float) -> tuple[bool, str]:
    """The 2 % rule for one category: (excluded, reason) — the same for the table and sweep."""
    if n == 0:
        return True, "no individuals in this category"
    if exclude_below > 0 and base > 0 and n / base < exclude_below:
        return True, (
            f"under {exclude_below:.0%} of the data (n={n} of {base}, "
            f"{n / base:.1%}); excluded from impact ratios"
        )
    return False, ""


def _highest_rate(rows: list[dict[str, Any]], eligible: list[int]) -> int | None:
    """The default reference: the highest rate among the categories not excluded; a tie goes
    to the larger n, then to the earlier category in the listing (one rule for the table and
    the threshold sweep)."""
    if not eligible:
        return None
    return max(eligible, key=lambda i: (Fraction(rows[i]["n_positive"], rows[i]["n"]),
                                        rows[i]["n"], -i))  # fmt: skip


def _reference_index(
    levels: list[tuple[Any, ...]], rows: list[dict[str, Any]], reference: Any
) -> int | None:
    """Index of the reference category in ``rows`` (each with n, n_positive, excluded, reason):
    the given ``reference`` (a value, or a tuple for two ``by`` columns), else the highest rate
    among the categories not excluded (:func:`_highest_rate`)."""
    eligible = [i for i, r in enumerate(rows) if not r["excluded"]]
    if reference is None:
        return _highest_rate(rows, eligible)
    want = reference if isinstance(reference, tuple) else (reference,)
    matches = [i for i, lev in enumerate(levels) if tuple(map(str, lev)) == tuple(map(str, want))]
    if not matches:
        raise DataError(
            f"reference={reference!r} is not a category; categories: "
            f"{[lv if len(lv) > 1 else lv[0] for lv in levels]}"
        )
    if matches[0] not in eligible:
        raise DataError(
            f"reference={reference!r} is excluded ({rows[matches[0]]['reason']}); choose another"
        )
    return matches[0]


def impact_ratios(
    frame: pd.DataFrame,
    *,
    by: str | list[str],
    selected: str | None = None,
    score: str | None = None,
    exclude_below: float = 0.0,
    ties: Literal["strict", ">="] = "strict",
    unknowns_in_median: bool = True,
    reference: Any = None,
    test: Literal["auto", "fisher", "z"] = "auto",
    alpha: float = 0.05,
    exclude_base: Literal["all", "known"] = "all",
    min_n: int = 30,
    layout: Literal["auto", "eeo1", "observed"] = "auto",
    unknown_labels: tuple[str, ...] = (UNKNOWN,),
) -> pd.DataFrame:
    """Impact ratios per category (LL144 / four-fifths rule), in selection or scoring mode.

    Parameters
    ----------
    frame
        One row per assessed individual, with the ``by`` columns and the outcome.
    by
        A column name, or a list of one or two (an intersection). With ``sex`` and/or
        ``race_ethnicity`` holding EEO-1 labels, every EEO-1 category is listed (the rule's
        14-cell layout for the intersection), empty ones with n = 0 (``layout="observed"``
        lists observed values only).
    selected
        Selection-rate mode: a boolean (or 0/1, yes/no) column; missing values are left out
        and counted in ``attrs["missing_outcome"]``.
    score
        Scoring-rate mode: a numeric column; positive = strictly above the median of the full
        sample (``ties=">="``: at or above).
    exclude_below
        Exclude categories under this share of the data (e.g. 0.02) from the ratios; they keep
        their n and rate, and ``reason`` says why.
    ties, unknowns_in_median, exclude_base
        The rule's ambiguities, as options; the choice is in ``attrs["options"]``.
    reference
        The category ratios are taken against (a value, or a tuple for two ``by`` columns);
        default the highest-rate category not excluded (a tie goes to the larger n).
    test, alpha
        Significance test (``"auto"``, ``"fisher"``, ``"z"``) and level.
    min_n
        Smallest category n for ``flag``.
    unknown_labels
        Values meaning "unknown" besides missing ones.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``n``, ``n_positive``, ``rate``, ``impact_ratio``, ``excluded``,
        ``p_value`` (1.0 for the reference), then ``rate_ci_low``, ``rate_ci_high`` (Wilson),
        ``below_four_fifths``, ``significant``, ``shortfall``, ``is_reference``, ``test``,
        ``reason``, ``rate_rest`` / ``p_rest`` (against everybody else), ``p_adjusted`` (Holm
        over the table), ``flag`` (the module docstring's rule). ``attrs``: ``unknown``,
        ``n_total``, ``n_known``,
        ``missing_outcome``, ``mode``, ``median``, ``ties``, ``reference``, ``options``,
        ``notes``.

    Raises
    ------
    DataError
        Missing columns, both or neither of ``selected``/``score``, a non-boolean ``selected``,
        a non-numeric ``score``, an unknown ``reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": list("aaaabbbb"), "s": [1, 2, 3, 4, 1, 1, 2, 5]})
    >>> t = impact_ratios(df, by="g", score="s")
    >>> t[["g", "n_positive", "rate", "impact_ratio"]].values.tolist(), t.attrs["median"]
    ([['a', 2, 0.5, 1.0], ['b', 1, 0.25, 0.5]], 2.0)
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"impact_ratios needs a DataFrame, got {type(frame).__name__}")
    cols = _as_list(by)
    if (selected is None) == (score is None):
        raise DataError(
            "pass exactly one of selected='<boolean column>' or score='<numeric column>'"
        )
    outcome = selected if selected is not None else score
    missing = [c for c in [*cols, outcome] if c not in frame.columns]
    if missing:
        raise DataError(f"columns {missing} not in the frame; columns found: {list(frame.columns)}")
    if ties not in ("strict", ">="):
        raise DataError(f"ties={ties!r}; use 'strict' (> median, the rule's text) or '>='")
    if exclude_base not in ("all", "known"):
        raise DataError(f"exclude_base={exclude_base!r}; use 'all' or 'known'")
    _check_exclude_below(exclude_below)

    df = frame[[*cols, outcome]].reset_index(drop=True)
    notes: list[str] = []
    median: float | None = None
    n_ties: int | None = None
    if selected is not None:
        mode = "selection"
        pos = _selected_bool(df[selected], selected)
        have = pos.notna()
    else:
        mode = "scoring"
        if not (pd.api.types.is_numeric_dtype(df[score].dtype)):
            vals = pd.to_numeric(df[score], errors="coerce")
            if vals.notna().sum() < df[score].notna().sum():
                raise DataError(f"score={score!r} is not numeric; found dtype {df[score].dtype}")
        else:
            vals = df[score].astype("Float64")
        vals = vals.astype("float64")
        have = vals.notna()
        pos = pd.Series(pd.NA, index=df.index, dtype="boolean")
    missing_outcome = int((~have).sum())
    df = df[have.to_numpy()].reset_index(drop=True)
    known, coded = _group_codes(df, cols, unknown_labels)
    if mode == "scoring":
        vals = vals[have].reset_index(drop=True)
        sample = vals if unknowns_in_median else vals[known]
        if len(sample):
            median = float(np.median(sample.to_numpy()))
            n_ties = int((sample == median).sum())
            pos = (vals > median) if ties == "strict" else (vals >= median)
        else:
            pos = pd.Series(False, index=vals.index)
        pos = pos.astype("boolean")
    else:
        pos = pos[have].reset_index(drop=True)
    n_total = len(df)
    n_known = int(known.sum())
    n_unknown = n_total - n_known
    levels = _levels(df, cols, known, layout, coded)
    keep = known.to_numpy()
    counts = _cell_counts(coded, keep, pos[keep].astype(bool).to_numpy())
    extra = [k for k in counts if k not in set(levels)]
    levels = levels + extra
    base = n_total if exclude_base == "all" else n_known

    rows = []
    for lev in levels:
        n, k = counts.get(lev, (0, 0))
        lo, hi = wilson_interval(k, n, alpha=alpha)
        excluded, reason = _exclusion(n, base, exclude_below)
        rows.append(
            {
                "n": n,
                "n_positive": k,
                "rate": k / n if n else math.nan,
                "rate_ci_low": lo,
                "rate_ci_high": hi,
                "excluded": excluded,
                "reason": reason,
            }
        )

    # --- reference
    ref_idx = _reference_index(levels, rows, reference)

    ratios, below, pvals, tests, sig, short, is_ref = [], [], [], [], [], [], []
    ref_frac = None
    if ref_idx is not None:
        rn, rk = rows[ref_idx]["n"], rows[ref_idx]["n_positive"]
        ref_frac = Fraction(rk, rn)
    for i, r in enumerate(rows):
        is_ref.append(i == ref_idx)
        if r["excluded"] or ref_frac is None or ref_frac == 0:
            ratios.append(math.nan)
            below.append(pd.NA)
            pvals.append(math.nan)
            tests.append("")
            sig.append(pd.NA)
            short.append(pd.NA)
            continue
        frac = Fraction(r["n_positive"], r["n"]) / ref_frac
        ratios.append(float(frac))
        is_below = frac < FOUR_FIFTHS
        below.append(is_below)
        if i == ref_idx:
            p, used = 1.0, ""
        else:
            p, used = two_proportion_test(r["n_positive"], r["n"], rk, rn, test=test)
        pvals.append(p)
        tests.append(used)
        sig.append(bool(p < alpha) if i != ref_idx else False)
        need = FOUR_FIFTHS * ref_frac * r["n"]
        short.append(max(0, math.ceil(need) - r["n_positive"]) if is_below else 0)
    # the flag's test: each category against everybody else with a known category
    tot_n, tot_k = sum(r["n"] for r in rows), sum(r["n_positive"] for r in rows)
    p_rest, rate_rest = [], []
    for r in rows:
        rest_n, rest_k = tot_n - r["n"], tot_k - r["n_positive"]
        rate_rest.append(rest_k / rest_n if rest_n > 0 else math.nan)
        if r["excluded"] or rest_n <= 0:
            p_rest.append(math.nan)
            continue
        p_rest.append(two_proportion_test(r["n_positive"], r["n"], rest_k, rest_n, test=test)[0])
    # the table in one construction (a column assignment each cost ~0.3 ms a call; the audit
    # and the frontier call this hundreds of times per report)
    n_col = np.array([r["n"] for r in rows], dtype=np.int64)
    rate = np.array([r["rate"] for r in rows], dtype=float)
    p_adjusted = holm(p_rest)
    rest = np.array(rate_rest, dtype=float)
    flag = _flag_rule(below, rate, rest, p_adjusted, n_col, alpha=alpha, min_n=min_n)
    groups = pd.DataFrame([dict(zip(cols, lev, strict=True)) for lev in levels], columns=cols)
    columns: dict[str, Any] = {c: groups[c] for c in cols}
    columns.update(
        {
            "n": n_col,
            "n_positive": np.array([r["n_positive"] for r in rows], dtype=np.int64),
            "rate": rate,
            "impact_ratio": np.array(ratios, dtype=float),
            "excluded": np.array([r["excluded"] for r in rows], dtype=bool),
            "p_value": np.array(pvals, dtype=float),
            "rate_ci_low": np.array([r["rate_ci_low"] for r in rows], dtype=float),
            "rate_ci_high": np.array([r["rate_ci_high"] for r in rows], dtype=float),
            "below_four_fifths": pd.array(below, dtype="boolean"),
            "significant": pd.array(sig, dtype="boolean"),
            "shortfall": pd.array(short, dtype="Int64"),
            "is_reference": np.array(is_ref, dtype=bool),
            "test": pd.array(tests, dtype="str"),
            "reason": pd.array([r["reason"] for r in rows], dtype="str"),
            "rate_rest": rest,
            "p_rest": np.array(p_rest, dtype=float),
            "p_adjusted": p_adjusted,
            "flag": flag,
        }
    )
    out = pd.DataFrame(columns)

    # --- notes for the edge cases
    if n_total == 0:
        notes.append("no rows with an outcome: nothing to compare")
    elif n_known == 0:
        notes.append(f"every row ({n_unknown}) has an unknown category: no impact ratios")
    elif ref_idx is None:
        notes.append("every category is excluded or empty: no reference, no impact ratios")
    elif ref_frac == 0:
        notes.append("the highest rate is 0 (nobody positive): impact ratios are undefined")
    if sum(not r["excluded"] for r in rows) == 1 and ref_idx is not None:
        notes.append("only one category with data: impact ratios need at least two")
    if mode == "scoring" and n_ties:
        notes.append(
            f"{n_ties} scores equal the median {median:g}; counted as "
            f"{'not above (strict >)' if ties == 'strict' else 'above (>=)'}"
        )
    ref_value = None if ref_idx is None else [_plain(v) for v in levels[ref_idx]]
    out.attrs.update(
        {
            "unknown": n_unknown,
            "n_total": n_total,
            "n_known": n_known,
            "missing_outcome": missing_outcome,
            "mode": mode,
            "by": cols,
            "outcome": outcome,
            "median": median,
            "ties": n_ties,
            "reference": ref_value,
            "options": {
                "ties": ties,
                "unknowns_in_median": unknowns_in_median,
                "exclude_below": exclude_below,
                "exclude_base": exclude_base,
                "reference": "highest rate" if reference is None else str(reference),
                "test": test,
                "alpha": alpha,
                "min_n": min_n,
            },
            "notes": notes,
        }
    )
    return out


def _flag_rule(
    below: Any, rate: Any, rate_rest: Any, p_adjusted: Any, n: Any, *, alpha: float, min_n: int
) -> np.ndarray:
    """The documented flag rule, element-wise (a missing value never flags)."""
    below = pd.array(below, dtype="boolean").fillna(False).to_numpy(dtype=bool)
    rate, rate_rest = np.asarray(rate, dtype=float), np.asarray(rate_rest, dtype=float)
    p_adjusted = np.asarray(p_adjusted, dtype=float)
    return below & (rate < rate_rest) & (p_adjusted < alpha) & (np.asarray(n) >= min_n)


def _flag(t: pd.DataFrame, *, alpha: float, min_n: int) -> pd.Series:
    """The documented flag rule on a table with below_four_fifths, rate(_rest), p_adjusted, n."""
    cols = ("below_four_fifths", "rate", "rate_rest", "p_adjusted", "n")
    flags = _flag_rule(*(t[c].to_numpy() for c in cols), alpha=alpha, min_n=min_n)
    return pd.Series(flags, index=t.index)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# ----------------------------------------------------------------------------- sweep


def threshold_sweep(
    frame: pd.DataFrame,
    *,
    by: str | list[str],
    score: str,
    cuts: Any = None,
    exclude_below: float = 0.0,
    exclude_base: Literal["all", "known"] = "all",
    reference: Any = None,
    unknown_labels: tuple[str, ...] = (UNKNOWN,),
    layout: Literal["auto", "eeo1", "observed"] = "auto",
) -> pd.DataFrame:
    """Impact ratio as a function of the cut score (selected = score ≥ cut).

    At every cut the rates and ratios are those :func:`impact_ratios` gives for the selection
    ``score >= cut`` with the same ``exclude_below``, ``exclude_base`` and ``reference``: the
    same 2 % rule (a category's share of the data does not depend on the cut, so a category is
    excluded at every cut or at none) and the same reference rule (the highest rate among the
    categories not excluded, a tie to the larger n). Excluded categories keep their n and
    rate, with no ratio and the reason; a chart should list them, not draw them.

    Parameters
    ----------
    frame
        One row per assessed individual, with the ``by`` columns and ``score``.
    by
        A column name, or a list of one or two (an intersection).
    score
        Numeric column; rows without a score are left out.
    cuts
        Cut scores; default the 5th, 10th, …, 95th percentiles of the score (unique values).
    exclude_below, exclude_base, reference, unknown_labels, layout
        As in :func:`impact_ratios` (``bias_audit`` passes its own, 2 % by default).

    Returns
    -------
    DataFrame
        ``cut``, the ``by`` columns, ``n``, ``n_positive``, ``rate``, ``impact_ratio`` (against
        the reference at that cut; NaN for excluded categories), ``below_four_fifths`` (exact),
        ``overall_rate``, ``excluded``, ``reason``, ``is_reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": list("aabb"), "s": [1, 3, 2, 4]})
    >>> threshold_sweep(df, by="g", score="s", cuts=[3])[["g", "rate", "impact_ratio"]].values.tolist()
    [['a', 0.5, 1.0], ['b', 0.5, 1.0]]

    A category under 2 % of the data is listed but is never the reference:

    >>> df = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 60 + ["c"],
    ...                    "s": [1] * 30 + [9] * 30 + [1] * 45 + [9] * 15 + [9]})
    >>> sw = threshold_sweep(df, by="g", score="s", cuts=[5], exclude_below=0.02)
    >>> sw[["g", "rate", "impact_ratio", "excluded"]].values.tolist()
    [['a', 0.5, 1.0, False], ['b', 0.25, 0.5, False], ['c', 1.0, nan, True]]
    """
    cols = _as_list(by)
    for c in [*cols, score]:
        if c not in frame.columns:
            raise DataError(f"column {c!r} not in the frame; columns found: {list(frame.columns)}")
    _check_exclude_below(exclude_below)
    if exclude_base not in ("all", "known"):
        raise DataError(f"exclude_base={exclude_base!r}; use 'all' or 'known'")
    vals = pd.to_numeric(frame[score], errors="coerce").astype("float64")
    df = frame.loc[vals.notna().to_numpy(), cols].reset_index(drop=True)
    vals = vals[vals.notna()].reset_index(drop=True)
    known, coded = _group_codes(df, cols, unknown_labels)
    if cuts is None:
        cuts = (
            np.unique(np.round(np.quantile(vals.to_numpy(), np.linspace(0.05, 0.95, 19)), 3))
            if len(vals)
            else []
        )
    levels = _levels(df, cols, known, layout, coded)
    kdf = df[known.to_numpy()]
    kv = vals[known.to_numpy()].to_numpy()
    # the groups once (codes into their keys); each cut then counts with one bincount
    keys: list[tuple[Any, ...]] = []
    codes = np.zeros(0, dtype="int64")
    if len(kdf):
        grouped = kdf.groupby(cols, sort=False)
        keys = [k if isinstance(k, tuple) else (k,) for k in grouped.size().index]
        codes = grouped.ngroup().to_numpy()
    sizes = dict(zip(keys, np.bincount(codes, minlength=len(keys)).tolist(), strict=True))
    levels = levels + [k for k in sizes if k not in set(levels)]
    base = len(df) if exclude_base == "all" else int(known.sum())
    rules = [_exclusion(sizes.get(lev, 0), base, exclude_below) for lev in levels]
    all_vals = vals.to_numpy()
    rows = []
    for cut in cuts:
        counts = np.bincount(codes, weights=kv >= cut, minlength=len(keys))
        pos = {k: int(c) for k, c in zip(keys, counts, strict=True)}
        cats = [
            {"n": sizes.get(lev, 0), "n_positive": pos.get(lev, 0), "excluded": ex, "reason": why}
            for lev, (ex, why) in zip(levels, rules, strict=True)
        ]
        ref_idx = _reference_index(levels, cats, reference)
        ref = (
            Fraction(cats[ref_idx]["n_positive"], cats[ref_idx]["n"])
            if ref_idx is not None
            else Fraction(0)
        )
        overall = float((all_vals >= cut).mean()) if len(all_vals) else math.nan
        for i, (lev, c) in enumerate(zip(levels, cats, strict=True)):
            n, k = c["n"], c["n_positive"]
            ratio = Fraction(k, n) / ref if n and ref > 0 and not c["excluded"] else None
            rows.append(
                {
                    "cut": float(cut),
                    **dict(zip(cols, lev, strict=True)),
                    "n": n,
                    "n_positive": k,
                    "rate": k / n if n else math.nan,
                    "impact_ratio": math.nan if ratio is None else float(ratio),
                    "below_four_fifths": pd.NA if ratio is None else ratio < FOUR_FIFTHS,
                    "overall_rate": overall,
                    "excluded": c["excluded"],
                    "reason": c["reason"],
                    "is_reference": i == ref_idx,
                }
            )
    out = pd.DataFrame(rows, columns=["cut", *cols, *_SWEEP_COLUMNS])
    out["below_four_fifths"] = out["below_four_fifths"].astype("boolean")
    out["excluded"] = out["excluded"].astype(bool)
    out["is_reference"] = out["is_reference"].astype(bool)
    out["reason"] = out["reason"].astype("str")
    return out


# ----------------------------------------------------------------------------- before / after

#: Columns of :func:`impact_before_after`, in order.
BEFORE_AFTER_COLUMNS = [
    "measure", "dimension", "group", "n", "ratio_current", "ratio_suggested", "change",
    "flagged_current", "flagged_suggested", "rate_current", "rate_suggested",
    "p_adjusted_current", "p_adjusted_suggested", "below_current", "below_suggested",
    "is_reference_current", "is_reference_suggested", "excluded", "reason",
]  # fmt: skip


def impact_before_after(
    frame: pd.DataFrame,
    *,
    current: str,
    suggested: str,
    cut: float | None = None,
    top_k: int | None = None,
    dimensions: tuple[str, ...] | None = None,
    exclude_below: float = 0.02,
    exclude_base: Literal["all", "known"] = "all",
    ties: Literal["strict", ">="] = "strict",
    unknowns_in_median: bool = True,
    test: Literal["auto", "fisher", "z"] = "auto",
    alpha: float = 0.05,
    min_n: int = 30,
    adjust: Literal["holm", "none"] = "holm",
    unknown_labels: tuple[str, ...] = (UNKNOWN,),
) -> pd.DataFrame:
    """Impact ratios of two scores of the same candidates side by side, each flagged by the
    audit's rule — e.g. today's weights and suggested weights (METHODS §5).

    For each score, exactly what :func:`bias_audit` does for one posting: the LL144 scoring
    rate (share strictly above the median of the full sample) and, with ``cut`` or
    ``top_k``, the selection rate; per sex, race/ethnicity and their intersection (the
    rule's 14 cells); categories under ``exclude_below`` of the data listed but excluded;
    the reference the highest rate among the others; and ``flag`` = :data:`FLAG_RULE`, with
    Holm's adjustment over every row of that score (both measures, every dimension) — the
    family of one posting's audit.

    Parameters
    ----------
    frame
        One row per assessed candidate: the ``current`` and ``suggested`` score columns and
        ``sex`` and/or ``race_ethnicity`` (missing or ``"Unknown"`` = unknown; counted in
        ``attrs["unknown"]``, in the 2 % base with ``exclude_base="all"``, never a category).
    current, suggested
        The two score columns (e.g. the 0–100 composite under each set of weights).
    cut
        Selection = score ≥ ``cut`` (the posting's operating cut), as a second measure.
    top_k
        Selection = the ``top_k`` highest scores under each set of weights (ties at the
        k-th score all selected), as a second measure. At most one of ``cut`` / ``top_k``.
    dimensions
        Subset of ``("sex", "race_ethnicity", "intersection")``; default every one the frame
        has columns for (the intersection when it has both).
    exclude_below, exclude_base, ties, unknowns_in_median, test, alpha, min_n, adjust
        As in :func:`bias_audit`.

    Returns
    -------
    DataFrame
        One row per measure × dimension × category (:data:`BEFORE_AFTER_COLUMNS`):
        ``measure`` (``"scoring"`` or ``"selection"``), ``dimension``, ``group`` (the
        category; ``"Hispanic or Latino · Female"`` for the intersection), ``n``,
        ``ratio_current`` / ``ratio_suggested`` (NaN where excluded or undefined),
        ``change`` (suggested − current), ``flagged_current`` / ``flagged_suggested`` (the
        audit's flag rule), ``rate_*``, ``p_adjusted_*`` (Holm-adjusted p of the category
        against everybody else), ``below_*`` (ratio < 0.8 exactly), ``is_reference_*``,
        ``excluded``, ``reason``. ``attrs``: ``unknown`` (dimension -> count), ``n``,
        ``median`` (measure's median per score), ``selection`` (the rule in words),
        ``options``.

    Raises
    ------
    DataError
        Missing columns, no demographic column, both ``cut`` and ``top_k``, a bad option.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["Male", "Female"] * 50,
    ...                    "today": list(range(100)), "new": [v % 2 * 50 for v in range(100)]})
    >>> t = impact_before_after(df, current="today", suggested="new")
    >>> t[["group", "ratio_current", "ratio_suggested", "flagged_suggested"]].values.tolist()
    [['Male', 1.0, 0.0, True], ['Female', 1.0, 1.0, False]]
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"impact_before_after needs a DataFrame, got {type(frame).__name__}")
    if cut is not None and top_k is not None:
        raise DataError("pass cut= or top_k=, not both (one selection rule per comparison)")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise DataError(f"top_k={top_k!r} must be a positive whole number of candidates")
    if adjust not in ("holm", "none"):
        raise DataError(f"adjust={adjust!r}; use 'holm' or 'none'")
    missing = [c for c in (current, suggested) if c not in frame.columns]
    if missing:
        raise DataError(f"score columns {missing} not in the frame; columns: {list(frame.columns)}")
    have = [d for d in ("sex", "race_ethnicity") if d in frame.columns]
    if not have:
        raise DataError(
            f"impact_before_after needs a 'sex' or 'race_ethnicity' column; found "
            f"{list(frame.columns)}"
        )
    dims = [d for d in _DIMENSIONS if set(_DIMENSIONS[d]) <= set(have)]
    if dimensions is not None:
        bad = [d for d in dimensions if d not in dims]
        if bad:
            raise DataError(f"dimensions {bad} are not available; available: {dims}")
        dims = [d for d in dims if d in dimensions]
    opts = dict(exclude_below=exclude_below, exclude_base=exclude_base, ties=ties,
                unknowns_in_median=unknowns_in_median, test=test, alpha=alpha, min_n=min_n,
                unknown_labels=unknown_labels)  # fmt: skip
    work = frame[have].copy()
    tables: dict[str, pd.DataFrame] = {}
    unknown: dict[str, int] = {}
    medians: dict[str, float | None] = {}
    selection = None
    for name, col in (("current", current), ("suggested", suggested)):
        s = pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()
        work["_score"] = s
        measures: list[tuple[str, dict[str, str]]] = [("scoring", {"score": "_score"})]
        if cut is not None:
            work["_sel"] = pd.array(np.where(np.isnan(s), None, s >= cut), dtype="boolean")
            measures.append(("selection", {"selected": "_sel"}))
            selection = f"selected = score ≥ {cut:g}"
        elif top_k is not None:
            ok = s[~np.isnan(s)]
            kth = np.sort(ok)[::-1][min(top_k, len(ok)) - 1] if len(ok) else np.inf
            work["_sel"] = pd.array(np.where(np.isnan(s), None, s >= kth), dtype="boolean")
            measures.append(("selection", {"selected": "_sel"}))
            selection = f"selected = the top {top_k:,} scores (ties at the {top_k:,}th included)"
        parts = []
        for measure, kw in measures:
            for dim in dims:
                cols = _DIMENSIONS[dim]
                t = impact_ratios(work, by=cols, **kw, **opts)
                unknown[dim] = int(t.attrs["unknown"])
                if measure == "scoring":
                    medians[name] = t.attrs["median"]
                t.insert(0, "measure", measure)
                t.insert(1, "dimension", dim)
                t.insert(2, "group", _category_labels(t, cols))
                parts.append(t.drop(columns=cols))
        pt = pd.concat(parts, ignore_index=True)
        testable = pt["p_rest"].notna()
        pt["p_adjusted"] = np.nan
        if adjust == "holm":
            pt.loc[testable, "p_adjusted"] = holm(pt.loc[testable, "p_rest"].to_numpy())
        else:
            pt.loc[testable, "p_adjusted"] = pt.loc[testable, "p_rest"]
        pt["flag"] = _flag(pt, alpha=alpha, min_n=min_n)
        tables[name] = pt
    cur, sug = tables["current"], tables["suggested"]
    out = pd.DataFrame(
        {
            "measure": cur["measure"].astype("str"),
            "dimension": cur["dimension"].astype("str"),
            "group": cur["group"].astype("str"),
            "n": cur["n"].astype("int64"),
            "ratio_current": cur["impact_ratio"].astype("float64"),
            "ratio_suggested": sug["impact_ratio"].astype("float64").to_numpy(),
        }
    )
    out["change"] = out["ratio_suggested"] - out["ratio_current"]
    out["flagged_current"] = cur["flag"].astype(bool).to_numpy()
    out["flagged_suggested"] = sug["flag"].astype(bool).to_numpy()
    out["rate_current"] = cur["rate"].astype("float64").to_numpy()
    out["rate_suggested"] = sug["rate"].astype("float64").to_numpy()
    out["p_adjusted_current"] = cur["p_adjusted"].astype("float64").to_numpy()
    out["p_adjusted_suggested"] = sug["p_adjusted"].astype("float64").to_numpy()
    out["below_current"] = cur["below_four_fifths"].fillna(False).astype(bool).to_numpy()
    out["below_suggested"] = sug["below_four_fifths"].fillna(False).astype(bool).to_numpy()
    out["is_reference_current"] = cur["is_reference"].astype(bool).to_numpy()
    out["is_reference_suggested"] = sug["is_reference"].astype(bool).to_numpy()
    out["excluded"] = cur["excluded"].astype(bool).to_numpy()
    out["reason"] = cur["reason"].astype("str").to_numpy()
    out.attrs.update(
        {
            "unknown": unknown,
            "n": len(frame),
            "median": medians,
            "selection": selection,
            "options": {
                **{k: v for k, v in opts.items() if k != "unknown_labels"},
                "adjust": adjust,
                "cut": cut,
                "top_k": top_k,
            },
        }
    )
    return out[BEFORE_AFTER_COLUMNS]


# ----------------------------------------------------------------------------- results


@dataclass(repr=False)
class ImpactRatios(Result):
    """An :func:`impact_ratios` table with notes, HTML view and a plot.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": list("aabb"), "y": [True, False, True, True]})
    >>> r = ImpactRatios.from_frame(impact_ratios(df, by="g", selected="y"))
    >>> r.table["impact_ratio"].tolist()
    [0.5, 1.0]
    """

    @classmethod
    def from_frame(cls, table: pd.DataFrame, *, title: str | None = None) -> ImpactRatios:
        """Wrap a table returned by :func:`impact_ratios`."""
        a = table.attrs
        notes = list(a.get("notes", []))
        opts = a.get("options", {})
        if opts:
            notes.insert(0, "Options: " + ", ".join(f"{k}={v}" for k, v in opts.items()))
        notes.insert(0, f"Unknown category: {a.get('unknown', 0)} rows (not in the ratios)")
        if a.get("median") is not None:
            notes.insert(0, f"Median {a['median']:g}; {a.get('ties', 0)} ties at the median")
        by = " × ".join(a.get("by", []))
        return cls(
            table=table,
            title=title or f"Impact ratios by {by} ({a.get('mode', '')} rate)",
            notes=notes,
        )

    def plot(self) -> Any:
        """Bars of impact ratios with the 0.8 line."""
        from ..plots import impact_ratio_figure

        return impact_ratio_figure(self.table, by=self.table.attrs.get("by"), title=self.title)


@dataclass(repr=False)
class BiasAudit(Result):
    """The LL144-style audit returned by :func:`bias_audit`.

    Attributes
    ----------
    table : DataFrame
        One row per posting × measure × dimension × category (see the module docstring's
        ``rows``).
    summary : DataFrame
        One row per posting × measure × dimension.
    sweep : DataFrame
        Impact ratio vs cut score for the overall score (and speech score).
    unknown : DataFrame
        Per posting: ``n_assessed``, unknown ``sex``, ``race_ethnicity``, ``any``,
        ``no_demographics``.
    options : dict
        The choices made.
    """

    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    sweep: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown: pd.DataFrame = field(default_factory=pd.DataFrame)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def flags(self) -> pd.DataFrame:
        """The flagged rows (evidence of adverse impact under the documented rule)."""
        return self.table[self.table["flag"]].reset_index(drop=True)

    @property
    def below_four_fifths(self) -> pd.DataFrame:
        """Every row under the four-fifths line (raw, unflagged included)."""
        return self.table[self.table["below_four_fifths"].fillna(False)].reset_index(drop=True)

    def four_fifths_verdicts(self) -> pd.DataFrame:
        """Every below-four-fifths row with why it is or is not a flag.

        Returns
        -------
        DataFrame
            The rows of :attr:`below_four_fifths` with two more columns: ``verdict`` — the first
            of the flag rule's conditions that fails, in this order: ``"small n"`` (``n`` under
            ``min_n``), ``"not lower than the rest"`` (the category's rate is not below
            everybody else's), ``"not significant"`` (``p_adjusted`` ≥ ``alpha``), else
            ``"flagged"`` — and ``why``, the same in words with the numbers.

        Examples
        --------
        >>> import pandas as pd
        >>> from milo_analytics.frames import InterviewData
        >>> iv = pd.DataFrame({"interview_id": [f"i{k}" for k in range(8)], "posting_id": "P",
        ...                    "status": "completed", "score": [10, 20, 30, 40, 50, 60, 70, 80]})
        >>> demo = pd.DataFrame({"interview_id": iv["interview_id"],
        ...                      "sex": ["Male"] * 4 + ["Female"] * 4, "race_ethnicity": "White"})
        >>> audit = bias_audit(InterviewData(interviews=iv), demo, questions=False)
        >>> audit.four_fifths_verdicts()[["category", "verdict"]].values.tolist()[0]
        ['Male', 'small n']
        """
        rows = self.below_four_fifths
        min_n = int(self.options.get("min_n", 30))
        alpha = float(self.options.get("alpha", 0.05))
        adj = "Holm-adjusted " if self.options.get("adjust", "holm") == "holm" else ""
        verdicts: list[str] = []
        whys: list[str] = []
        for r in rows.itertuples(index=False):
            rest = float(r.rate_rest) if pd.notna(r.rate_rest) else math.nan
            p = float(r.p_adjusted) if pd.notna(r.p_adjusted) else math.nan
            if bool(r.flag):
                verdict = "flagged"
                why = (f"n={r.n} ≥ {min_n}, rate {r.rate:.3f} below the rest's {rest:.3f}, "
                       f"{adj}p={p:.2g} < {alpha}")  # fmt: skip
            elif r.n < min_n:
                verdict, why = "small n", f"n={r.n} is under min_n={min_n}"
            elif not (r.rate < rest):
                verdict = "not lower than the rest"
                why = f"rate {r.rate:.3f} is not below everybody else's ({rest:.3f})"
            else:
                verdict = "not significant"
                why = f"{adj}p={p:.2g} is not below alpha={alpha}"
            verdicts.append(verdict)
            whys.append(why)
        out = rows.copy()
        out["verdict"] = pd.array(verdicts, dtype="str")
        out["why"] = pd.array(whys, dtype="str")
        return out

    def choices(self) -> list[str]:
        """The rule's ambiguous points as chosen for this audit, in words (for printing).

        Examples
        --------
        >>> BiasAudit(table=pd.DataFrame(), options={"ties": "strict"}).choices()[0][:40]
        'Scoring rate: share strictly above the m'
        """
        o = self.options
        ties = o.get("ties", "strict")
        lines = [
            "Scoring rate: share "
            + ("strictly above the median (ties at the median count as not above)"
               if ties == "strict" else "at or above the median (ties count as above)")
            + " of the posting's full sample, unknowns "
            + ("included in" if o.get("unknowns_in_median", True) else "left out of")
            + " the median's sample."
        ]  # fmt: skip
        s = self.summary
        if len(s):
            overall = s[(s["measure"] == "score") & (s["dimension"] == "sex")]
            for r in overall.itertuples(index=False):
                if r.median is not None and pd.notna(r.median):
                    ties_n = 0 if pd.isna(r.ties) else int(r.ties)
                    lines.append(
                        f"Overall score median ({r.posting_id}): {r.median:g}; "
                        f"{ties_n:,} score(s) tie at it."
                    )
        eb = float(o.get("exclude_below", 0.0) or 0.0)
        if eb > 0:
            base = "all assessed rows" if o.get("exclude_base", "all") == "all" else "known rows"
            lines.append(
                f"Categories under {eb:.0%} of {base} are excluded from the ratios "
                "(still listed with n and rate)."
            )
        else:
            lines.append("No category is excluded for size (exclude_below=0).")
        lines.append(f"Reference category: the {o.get('reference', 'highest rate')} category.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The JSON export as Python objects (see the module docstring for the schema)."""
        postings = []
        for _, u in self.unknown.iterrows():
            pid = u["posting_id"]
            t = self.table[self.table["posting_id"] == pid]
            postings.append(
                {
                    "posting_id": str(pid),
                    "n_assessed": int(u["n_assessed"]),
                    "unknown": {
                        k: int(u[k]) for k in ("sex", "race_ethnicity", "any", "no_demographics")
                    },
                    "flags": int(t["flag"].sum()),
                    "measures": list(dict.fromkeys(t["measure"].tolist())),
                    "period_start": self.extras.get("periods", {}).get(pid, (None, None))[0],
                    "period_end": self.extras.get("periods", {}).get(pid, (None, None))[1],
                }
            )
        return {
            "schema": "milo_analytics.bias_audit/1",
            "milo_analytics_version": _version(),
            "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "options": _jsonable(self.options),
            "flag_rule": FLAG_RULE,
            "postings": postings,
            "summary": _records(self.summary),
            "rows": _records(self.table.drop(columns=["label"], errors="ignore")),
            "sweep": _records(self.sweep),
        }

    def to_json(self, path: Any = None, *, indent: int | None = 2) -> str:
        """The audit as JSON (schema in the module docstring); also written to ``path``."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)
        if path is not None:
            from pathlib import Path

            Path(path).write_text(text, encoding="utf-8")
        return text

    def plot(self, measure: str | None = None, *, posting_id: str | None = None,
             kind: Literal["ratios", "sweep"] = "ratios") -> Any:  # fmt: skip
        """Impact ratios with the 0.8 line for one measure (default: the one with the lowest
        ratio), or ``kind="sweep"``: impact ratio vs cut score."""
        from ..plots import bias_audit_figure, threshold_sweep_figure

        pid = posting_id or (self.table["posting_id"].iloc[0] if len(self.table) else None)
        if kind == "sweep":
            sw = self.sweep[self.sweep["posting_id"] == pid] if pid is not None else self.sweep
            m = measure or "score"
            return threshold_sweep_figure(sw[sw["measure"] == m],
                                          title=f"Impact ratio vs cut score — {m} ({pid})")  # fmt: skip
        t = self.table[self.table["posting_id"] == pid] if pid is not None else self.table
        if measure is None and len(t):
            ok = t[t["impact_ratio"].notna()]
            measure = (
                ok.loc[ok["impact_ratio"].idxmin(), "measure"] if len(ok) else t["measure"].iloc[0]
            )
        t = t[t["measure"] == measure]
        label = t["label"].iloc[0] if len(t) else str(measure)
        return bias_audit_figure(t, title=f"Impact ratios — {label} ({pid})")

    def to_html(self, *, summary_only: bool = False, **options: Any) -> str:
        """The audit as HTML: with ``summary_only=True`` the one-page summary NYC Local Law 144
        asks for (data source and dates, applicants per category, rates, impact ratios,
        unknown and excluded categories, distribution date), a whole page; else the notebook
        view. ``options`` go to :func:`milo_analytics.report.ll144.summary_html` (``source``,
        ``distribution_date``, ``posting_titles``, ``full_page``)."""
        if not summary_only:
            return self._repr_html_()
        from ..report.ll144 import summary_html

        options.setdefault("full_page", True)
        return summary_html(self, **options)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div class='milo-result'><h4>{esc(self.title)}</h4>"]
        parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("<h5>Unknown categories</h5>" + frame_to_html(self.unknown))
        fl = self.flags
        if len(fl):
            cols = ["posting_id", "label", "dimension", "category", "n", "rate", "impact_ratio",
                    "p_value", "p_adjusted", "shortfall"]  # fmt: skip
            parts.append(f"<h5>Flags ({len(fl)})</h5>" + frame_to_html(fl[cols]))
        else:
            parts.append("<h5>Flags</h5><p>No evidence of adverse impact under the flag rule.</p>")
        verdicts = self.four_fifths_verdicts()
        if len(verdicts):
            counts = verdicts["verdict"].value_counts()
            parts.append(
                f"<details><summary>Below four-fifths ({len(verdicts)}): "
                + esc(", ".join(f"{v} {int(k)}" for v, k in counts.items()))
                + "</summary>"
                + frame_to_html(verdicts[["posting_id", "label", "dimension", "category", "n",
                                          "impact_ratio", "verdict", "why"]], max_rows=400)
                + "</details>"
            )  # fmt: skip
        cols = ["posting_id", "label", "dimension", "reference", "n", "unknown",
                "min_impact_ratio", "lowest_category", "below_four_fifths", "flagged"]  # fmt: skip
        parts.append("<h5>Summary</h5>" + frame_to_html(self.summary[cols], max_rows=200))
        parts.append(
            "<details><summary>All rows</summary>"
            + frame_to_html(self.table, max_rows=400)
            + "</details></div>"
        )
        return "".join(parts)

    def __repr__(self) -> str:
        return (
            f"BiasAudit(postings={self.unknown.shape[0]}, rows={len(self.table)}, "
            f"flags={int(self.table['flag'].sum()) if len(self.table) else 0})"
        )


def _version() -> str:
    from .. import __version__

    return __version__


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(float(v)) or math.isinf(float(v)) else float(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        return v.isoformat()
    return str(v)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [
        {c: _jsonable(v) for c, v in zip(cols, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


_ROW_PROPS: dict[str, Any] = {
    "posting_id": {"type": "string"},
    "measure": {"type": "string"},
    "dimension": {"enum": ["sex", "race_ethnicity", "intersection"]},
    "category": {"type": "string"},
    "sex": {"type": ["string", "null"]},
    "race_ethnicity": {"type": ["string", "null"]},
    "n": {"type": "integer", "minimum": 0},
    "n_positive": {"type": "integer", "minimum": 0},
    "rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "rate_ci_low": {"type": ["number", "null"]},
    "rate_ci_high": {"type": ["number", "null"]},
    "impact_ratio": {"type": ["number", "null"], "minimum": 0},
    "excluded": {"type": "boolean"},
    "reason": {"type": "string"},
    "is_reference": {"type": "boolean"},
    "test": {"enum": ["", "fisher", "z"]},
    "p_value": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "rate_rest": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "p_rest": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "p_adjusted": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "below_four_fifths": {"type": ["boolean", "null"]},
    "significant": {"type": ["boolean", "null"]},
    "flag": {"type": "boolean"},
    "shortfall": {"type": ["integer", "null"], "minimum": 0},
    "mode": {"enum": ["scoring", "selection"]},
}
_SUMMARY_PROPS: dict[str, Any] = {
    "posting_id": {"type": "string"},
    "measure": {"type": "string"},
    "label": {"type": "string"},
    "mode": {"enum": ["scoring", "selection"]},
    "dimension": {"enum": ["sex", "race_ethnicity", "intersection"]},
    "reference": {"type": ["string", "null"]},
    "n": {"type": "integer", "minimum": 0},
    "unknown": {"type": "integer", "minimum": 0},
    "median": {"type": ["number", "null"]},
    "ties": {"type": ["integer", "null"], "minimum": 0},
    "min_impact_ratio": {"type": ["number", "null"]},
    "lowest_category": {"type": ["string", "null"]},
    "below_four_fifths": {"type": "integer", "minimum": 0},
    "flagged": {"type": "integer", "minimum": 0},
    "notes": {"type": "string"},
}
_SWEEP_PROPS: dict[str, Any] = {
    "posting_id": {"type": "string"},
    "measure": {"type": "string"},
    "dimension": {"enum": ["sex", "race_ethnicity", "intersection"]},
    "cut": {"type": "number"},
    "category": {"type": "string"},
    "n": {"type": "integer", "minimum": 0},
    "n_positive": {"type": "integer", "minimum": 0},
    "rate": {"type": ["number", "null"]},
    "impact_ratio": {"type": ["number", "null"]},
    "below_four_fifths": {"type": ["boolean", "null"]},
}

_SWEEP_EXTRA_PROPS: dict[str, Any] = {
    "excluded": {"type": "boolean"},
    "reason": {"type": "string"},
    "is_reference": {"type": "boolean"},
}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(props),
            "additionalProperties": True}  # fmt: skip


#: JSON Schema (draft 2020-12) of :meth:`BiasAudit.to_json`.
AUDIT_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "milo_analytics bias audit",
    "type": "object",
    "required": [
        "schema",
        "generated_at",
        "options",
        "flag_rule",
        "postings",
        "summary",
        "rows",
        "sweep",
    ],
    "properties": {
        "schema": {"const": "milo_analytics.bias_audit/1"},
        "generated_at": {"type": "string"},
        "options": {
            "type": "object",
            "required": [
                "ties",
                "unknowns_in_median",
                "exclude_below",
                "exclude_base",
                "test",
                "alpha",
                "min_n",
                "adjust",
            ],
        },
        "flag_rule": {"type": "string"},
        "postings": {
            "type": "array",
            "items": _obj(
                {
                    "posting_id": {"type": "string"},
                    "n_assessed": {"type": "integer", "minimum": 0},
                    "unknown": _obj(
                        {
                            k: {"type": "integer", "minimum": 0}
                            for k in ("sex", "race_ethnicity", "any", "no_demographics")
                        }
                    ),
                    "flags": {"type": "integer", "minimum": 0},
                    "measures": {"type": "array", "items": {"type": "string"}},
                    "period_start": {"type": ["string", "null"]},
                    "period_end": {"type": ["string", "null"]},
                }
            ),
        },
        "summary": {"type": "array", "items": _obj(_SUMMARY_PROPS)},
        "rows": {"type": "array", "items": _obj(_ROW_PROPS)},
        "sweep": {
            "type": "array",
            "items": {
                **_obj(_SWEEP_PROPS),
                # added later: optional, so earlier exports still validate
                "properties": {**_SWEEP_PROPS, **_SWEEP_EXTRA_PROPS},
            },
        },
    },
}


# ----------------------------------------------------------------------------- the audit

_DIMENSIONS: dict[str, list[str]] = {
    "sex": ["sex"],
    "race_ethnicity": ["race_ethnicity"],
    "intersection": ["race_ethnicity", "sex"],
}


def _coerce_demographics(
    demographics: Any, data: InterviewData
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The demographics joined to ``interview_id`` and their join report."""
    from ..outcomes import read_demographics

    if (
        isinstance(demographics, pd.DataFrame)
        and "interview_id" in demographics.columns
        # joined by read_demographics (even when nobody matched), or keyed by interview_id
        and ("join_report" in demographics.attrs or demographics["interview_id"].notna().any())
    ):
        demo = demographics
        if "join_report" not in demo.attrs:
            # keyed by interview_id but not read by read_demographics: map its spellings to
            # the EEO-1 labels, count unknowns and refuse conflicting duplicate rows the same way
            demo = read_demographics(demo, key="interview_id", key_column="interview_id")
        missing = [c for c in ("sex", "race_ethnicity") if c not in demo.columns]
        if missing:
            raise DataError(
                f"demographics frame lacks {missing}; read it with read_demographics(...) first"
            )
    else:
        demo = read_demographics(demographics, data=data)
    report = dict(demo.attrs.get("join_report") or {})
    demo = demo[["interview_id", "sex", "race_ethnicity"]].drop_duplicates("interview_id")
    return demo, report


_DIMENSION_LABELS = {"sex": "sex", "race_ethnicity": "race/ethnicity"}
_DIMENSION_FLAGS = {"sex": "--sex-column", "race_ethnicity": "--race-column"}


def _refuse_unusable_demographics(
    pid: str,
    base: pd.DataFrame,
    joined: pd.Series,
    dims: list[str],
    min_known_share: float,
    report: dict[str, Any],
) -> None:
    """Refuse to audit a posting whose demographics cannot support a conclusion.

    Nobody assessed has a demographics row (a wrong join key, a header-only file, keys lost to
    formulas), or among those who have one, fewer than ``min_known_share`` have a known
    category in a dimension (an unrecognised or mostly declined column). Either way every ratio
    would be empty or describe a handful of people, and the audit would read "no evidence of
    adverse impact" whatever the truth.
    """
    if min_known_share == 0:  # the caller's explicit "audit whatever is there"
        return
    source = report.get("source", "demographics")
    n_joined = int(joined.sum())
    if n_joined == 0:
        key = report.get("key", "email")
        rows = report.get("rows")
        got = (
            f" ({rows:,} rows, {report.get('matched') or 0:,} matched an interview)" if rows else ""
        )
        raise InsufficientDataError(
            f"posting {pid}: none of its {len(base):,} assessed interviews has a row in the "
            f"demographics ({source}{got}), so there is nothing to audit and the audit would "
            f"show no adverse impact whatever the truth; check that the file covers this "
            f"posting and the join key (now {key})",
            shortfalls={"people_with_demographics": (0, 1)},
            python_hint="(key= of read_demographics; see its .attrs['join_report'])",
            cli_hint="(--demographics-key; the join line printed above)",
        )
    for dim in dims:
        known = int((joined & (base[dim] != UNKNOWN)).sum())
        share = known / n_joined
        if share >= min_known_share:
            continue
        label = _DIMENSION_LABELS[dim]
        why = []
        unrecognised = (report.get("unknown_values") or {}).get(dim) or {}
        if unrecognised:
            top = sorted(unrecognised.items(), key=lambda kv: -kv[1])[:5]
            why.append("unrecognised " + ", ".join(f"{k!r} ×{v:,}" for k, v in top))
        for section, word in (("declined", "blank or declined"), ("outside_eeo1", "outside EEO-1")):
            if count := (report.get(section) or {}).get(dim):
                why.append(f"{count:,} {word}")
        column = (report.get("columns") or {}).get(dim)
        read = f" from column {column!r}" if column else ""
        detail = f" (in the whole file{read}: {'; '.join(why)})" if why else read
        lower = math.floor(share * 100) / 100
        raise InsufficientDataError(
            f"posting {pid}: only {known:,} of the {n_joined:,} assessed people with a "
            f"demographics row have a known {label} ({share:.0%}; the audit needs at least "
            f"{min_known_share:.0%}){detail}. Impact ratios over so few would not describe the "
            f"applicants, and an empty ratio reads as 'no adverse impact'",
            shortfalls={f"known_{dim}_share": (round(share, 4), min_known_share)},
            python_hint=f"fix the {label} answers or the column read ({dim}= of "
            f"read_demographics), or pass min_known_share={lower:g} to audit anyway",
            cli_hint=f"fix the {label} answers or the column read ({_DIMENSION_FLAGS[dim]}), "
            f"or pass --min-known-share {lower:g} to audit anyway",
        )


class _TableLabels(NamedTuple):
    """What one impact-ratio table of an audit is: its rows get these labels."""

    measure: str
    label: str
    mode: str
    dimension: str
    categories: list[str]  # one per row


def _audit_rows(pid: str, labelled: list[tuple[pd.DataFrame, _TableLabels]]) -> pd.DataFrame:
    """One posting's impact-ratio tables stacked, each row labelled with its posting, measure,
    label, mode, dimension and category, and both ``sex`` and ``race_ethnicity`` columns
    (missing where a dimension does not use one). Built in one go: six inserts per table cost
    ~1.5 ms each time, 50 times an audit."""
    tables = [t for t, _ in labelled]
    keys = [k for _, k in labelled]
    sizes = [len(t) for t in tables]
    stacked = pd.concat(tables, ignore_index=True)
    label_columns = {
        "posting_id": pd.array([pid] * len(stacked), dtype="str"),
        **{
            name: pd.array(np.repeat([getattr(k, name) for k in keys], sizes).tolist(), dtype="str")
            for name in ("measure", "label", "mode", "dimension")
        },
        "category": pd.array([c for k in keys for c in k.categories], dtype="str"),
    }
    for c in ("sex", "race_ethnicity"):
        label_columns[c] = stacked[c].astype("str") if c in stacked else (
            pd.array([None] * len(stacked), dtype="str")
        )  # fmt: skip
    rest = stacked.drop(columns=[c for c in ("sex", "race_ethnicity") if c in stacked])
    return pd.concat([pd.DataFrame(label_columns, index=rest.index), rest], axis=1)


def _category_labels(table: pd.DataFrame, cols: list[str]) -> list[str]:
    """Each row's category as the report names it: its ``cols`` values joined by " · "."""
    columns = [table[c] for c in cols]
    return [" · ".join(map(str, values)) for values in zip(*columns, strict=True)]


def bias_audit(
    data: InterviewData,
    demographics: Any,
    *,
    postings: str | list[str] | None = None,
    outcomes: pd.DataFrame | None = None,
    outcome_columns: tuple[str, ...] = ("hired",),
    questions: bool = True,
    exclude_below: float = 0.02,
    exclude_base: Literal["all", "known"] = "all",
    ties: Literal["strict", ">="] = "strict",
    unknowns_in_median: bool = True,
    test: Literal["auto", "fisher", "z"] = "auto",
    alpha: float = 0.05,
    min_n: int = 30,
    adjust: Literal["holm", "none"] = "holm",
    sweep_cuts: Any = None,
    min_known_share: float = 0.5,
) -> BiasAudit:
    """LL144-style bias audit per posting: scoring and selection rates by sex, race/ethnicity
    and their intersection, with four-fifths results, flags and a threshold sweep.

    Measures (each where present): ``score`` (the overall score), ``question:<id>`` (each scored
    question), ``speech_score`` (scoring-rate mode), ``status`` (selection: shortlisted vs
    dismissed / knocked out; undecided interviews left out) and each ``outcome_columns`` column
    of ``outcomes`` (selection, e.g. hired).

    Parameters
    ----------
    data
        Interview data (completed results are the assessed population).
    demographics
        The output of :func:`~milo_analytics.read_demographics` (with ``interview_id``), or
        anything it reads (path/frame), joined with ``data``.
    postings
        Restrict to these postings (default: every posting with results).
    outcomes
        The output of :func:`~milo_analytics.read_outcomes` joined to ``interview_id``.
    exclude_below, exclude_base, ties, unknowns_in_median, test, alpha, min_n
        As in :func:`impact_ratios` (``exclude_below`` defaults to the rule's 2 %).
    adjust
        Multiple-comparison adjustment of the p-values behind ``flag`` (``"holm"`` or ``"none"``).
    sweep_cuts
        Cut scores for the threshold sweep (default: percentiles 5–95 of the score).
    min_known_share
        The audit refuses to conclude (:class:`~milo_analytics.errors.InsufficientDataError`)
        for a posting where, among the assessed people with a demographics row, fewer than this
        share have a known sex (or race/ethnicity) — an unrecognised, mostly declined or
        misread column — or where nobody assessed has a demographics row. People without a
        row (a voluntary form not filled in) do not count against the share; they are reported
        in ``unknown``. Default 0.5; 0 turns both checks off and audits whatever is there. A dimension the demographics
        do not have on purpose (``read_demographics(..., race_ethnicity=False)``) is not
        audited, and the notes say so.

    Returns
    -------
    BiasAudit

    Raises
    ------
    DataError
        Bad options, unknown postings, outcomes without the ``outcome_columns``, demographics
        that cannot be read.
    InsufficientDataError
        Demographics that cannot support a conclusion for a posting (``min_known_share``).

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> iv = pd.DataFrame({"interview_id": [f"i{k}" for k in range(8)], "posting_id": "P",
    ...                    "status": "completed", "score": [10, 20, 30, 40, 50, 60, 70, 80]})
    >>> demo = pd.DataFrame({"interview_id": iv["interview_id"], "sex": ["Male", "Female"] * 4,
    ...                      "race_ethnicity": "White"})
    >>> audit = bias_audit(InterviewData(interviews=iv), demo, questions=False)
    >>> audit.summary[["measure", "dimension", "min_impact_ratio"]].values.tolist()[0]
    ['score', 'sex', 1.0]
    """
    data = require_data(data, "bias_audit")
    if adjust not in ("holm", "none"):
        raise DataError(f"adjust={adjust!r}; use 'holm' or 'none'")
    if ties not in ("strict", ">="):
        raise DataError(f"ties={ties!r}; use 'strict' (> median, the rule's text) or '>='")
    if not 0 <= min_known_share <= 1:
        raise DataError(
            f"min_known_share={min_known_share!r} must be a share in [0, 1], e.g. 0.5",
            cli_hint=f"--min-known-share {min_known_share!r} must be a share in [0, 1], e.g. 0.5",
        )
    demo, demo_report = _coerce_demographics(demographics, data)
    absent = [d for d in demo_report.get("absent") or [] if d in _DIMENSION_LABELS]
    audited = [d for d in ("sex", "race_ethnicity") if d not in absent]
    dimensions = {d: cols for d, cols in _DIMENSIONS.items() if not set(cols) & set(absent)}
    iv = data.interviews
    iv = iv[iv["status"].isin(RESULT_STATUSES) | iv["score"].notna()]
    status = data.candidates[["interview_id", "status"]].drop_duplicates("interview_id")
    iv = iv.drop(columns=["status"]).merge(status, on="interview_id", how="left")
    iv["status"] = iv["status"].fillna(
        data.interviews.set_index("interview_id")["status"]
        .reindex(iv["interview_id"])
        .reset_index(drop=True)
    )
    all_ids = sorted(iv["posting_id"].dropna().unique().tolist())
    wanted = (
        all_ids
        if postings is None
        else ([postings] if isinstance(postings, str) else list(postings))
    )
    unknown_posts = [p for p in wanted if p not in all_ids]
    if unknown_posts:
        raise DataError(
            f"postings {unknown_posts} have no interview results; postings with results: {all_ids}"
        )
    if outcomes is not None and "interview_id" not in outcomes.columns:
        raise DataError("outcomes must be joined to interview_id: read_outcomes(path, data=data)")
    outcome_notes: list[str] = []
    if outcomes is not None:
        from ..outcomes import require_outcome

        usable = []
        for col in outcome_columns:
            try:
                require_outcome(outcomes, col)
                usable.append(col)
            except DataError as exc:
                if col == outcome_columns[-1] and not usable:
                    raise  # outcomes were given to be audited, and none of them is there
                outcome_notes.append(f"{NOT_AUDITED} {exc.detail}")
        outcome_columns = tuple(usable)

    rows_all: list[pd.DataFrame] = []
    summary_rows: list[dict[str, Any]] = []
    sweep_all: list[pd.DataFrame] = []
    unknown_rows: list[dict[str, Any]] = []
    periods: dict[str, tuple[str | None, str | None]] = {}
    opts = dict(exclude_below=exclude_below, exclude_base=exclude_base, ties=ties,
                unknowns_in_median=unknowns_in_median, test=test, alpha=alpha, min_n=min_n)  # fmt: skip
    qtext = data.questions.drop_duplicates("question_id").set_index("question_id")["text"]

    for pid in wanted:
        when = iv.loc[iv["posting_id"] == pid, "interviewed_at"].dropna()
        periods[pid] = (
            (when.min().isoformat(), when.max().isoformat()) if len(when) else (None, None)
        )
        base = iv[iv["posting_id"] == pid][["interview_id", "score", "speech_score", "status"]]
        base = base.merge(demo, on="interview_id", how="left", indicator="_demo")
        no_demo = int((base["_demo"] == "left_only").sum())
        joined = base["_demo"] == "both"
        base = base.drop(columns="_demo")
        for c in ("sex", "race_ethnicity"):
            base[c] = base[c].fillna(UNKNOWN).astype("str")
        if len(base):
            _refuse_unusable_demographics(pid, base, joined, audited, min_known_share,
                                          demo_report)  # fmt: skip
        unk_sex = base["sex"] == UNKNOWN
        unk_race = base["race_ethnicity"] == UNKNOWN
        unknown_rows.append(
            {
                "posting_id": pid,
                "n_assessed": len(base),
                "sex": int(unk_sex.sum()),
                "race_ethnicity": int(unk_race.sum()),
                "any": int((unk_sex | unk_race).sum()),
                "no_demographics": no_demo,
            }
        )
        measures: list[tuple[str, str, str, pd.Series]] = [
            ("score", "Overall score", "scoring", base["score"].astype("Float64"))
        ]
        if questions:
            wide = data.score_matrix(pid)
            for qid in wide.columns:
                s = wide[qid].reindex(base["interview_id"]).reset_index(drop=True)
                text = str(qtext.get(qid, qid))
                measures.append(
                    (f"question:{qid}", f"Q: {text[:60]}", "scoring", s.astype("Float64"))
                )
        if base["speech_score"].notna().any():
            measures.append(("speech_score", "Speech score", "scoring",
                             base["speech_score"].astype("Float64")))  # fmt: skip
        decided = base["status"].isin(["shortlisted", "dismissed", "knocked_out"])
        if decided.any():
            sel = pd.Series(pd.NA, index=base.index, dtype="boolean")
            sel[decided] = (base.loc[decided, "status"] == "shortlisted").to_numpy()
            measures.append(
                ("status", "Selected (shortlisted vs dismissed/knocked out)", "selection", sel)
            )
        if outcomes is not None:
            oc = outcomes.drop_duplicates("interview_id").set_index("interview_id")
            for col in outcome_columns:
                if col in oc.columns and oc[col].notna().any():
                    s = oc[col].reindex(base["interview_id"]).reset_index(drop=True)
                    measures.append((col, f"Outcome: {col}", "selection", s.astype("boolean")))

        post_rows: list[tuple[pd.DataFrame, _TableLabels]] = []
        for measure, label, mode, values in measures:
            frame = base[["sex", "race_ethnicity"]].copy()
            frame["_y"] = values.to_numpy()
            if frame["_y"].notna().sum() == 0:
                continue
            for dim, cols in dimensions.items():
                kw = {"selected": "_y"} if mode == "selection" else {"score": "_y"}
                t = impact_ratios(frame, by=cols, **kw, **opts)
                category = _category_labels(t, cols)
                ref = t.attrs["reference"]
                ratio = t["impact_ratio"].to_numpy(dtype=float)
                # the first lowest ratio (as idxmin over the rows that have one)
                low = int(np.nanargmin(ratio)) if np.isfinite(ratio).any() else None
                summary_rows.append(
                    {
                        "posting_id": pid,
                        "measure": measure,
                        "label": label,
                        "mode": mode,
                        "dimension": dim,
                        "reference": None if ref is None else " · ".join(map(str, ref)),
                        "n": int(t.attrs["n_total"]),
                        "unknown": int(t.attrs["unknown"]),
                        "median": t.attrs["median"],
                        "ties": t.attrs["ties"],
                        "min_impact_ratio": None if low is None else float(ratio[low]),
                        "lowest_category": None if low is None else category[low],
                        "below_four_fifths": int(t["below_four_fifths"].fillna(False).sum()),
                        "flagged": 0,
                        "notes": "; ".join(t.attrs["notes"]),
                    }
                )
                post_rows.append((t, _TableLabels(measure, label, mode, dim, category)))
            if mode == "scoring" and measure in ("score", "speech_score"):
                for dim in audited:
                    sw = threshold_sweep(
                        frame,
                        by=_DIMENSIONS[dim],
                        score="_y",
                        cuts=sweep_cuts,
                        exclude_below=exclude_below,
                        exclude_base=exclude_base,
                    )
                    sw.insert(0, "posting_id", pid)
                    sw.insert(1, "measure", measure)
                    sw.insert(2, "dimension", dim)
                    sw["category"] = sw[dim].astype("str")
                    sweep_all.append(sw.drop(columns=[dim]))
        if not post_rows:
            continue
        pt = _audit_rows(pid, post_rows)
        testable = pt["p_rest"].notna()
        if adjust == "holm":
            pt.loc[testable, "p_adjusted"] = holm(pt.loc[testable, "p_rest"].to_numpy())
        else:
            pt.loc[testable, "p_adjusted"] = pt.loc[testable, "p_rest"]
        pt["flag"] = _flag(pt, alpha=alpha, min_n=min_n)
        rows_all.append(pt)

    cols_order = ["posting_id", "measure", "label", "mode", "dimension", "category", "sex",
                  "race_ethnicity", *_RESULT_COLUMNS]  # fmt: skip
    table = (
        pd.concat(rows_all, ignore_index=True)[cols_order]
        if rows_all
        else pd.DataFrame(columns=cols_order)
    )
    table.attrs = {}
    for c in ("sex", "race_ethnicity", "category", "posting_id", "measure", "label", "dimension",
              "mode"):  # fmt: skip
        table[c] = table[c].astype("str")
    summary = pd.DataFrame(
        summary_rows,
        columns=[
            "posting_id",
            "measure",
            "label",
            "mode",
            "dimension",
            "reference",
            "n",
            "unknown",
            "median",
            "ties",
            "min_impact_ratio",
            "lowest_category",
            "below_four_fifths",
            "flagged",
            "notes",
        ],
    )
    summary["ties"] = summary["ties"].astype("Int64")  # None where no median (selection mode)
    if len(summary):
        flagged = table[table["flag"]].groupby(["posting_id", "measure", "dimension"]).size()
        summary["flagged"] = [
            int(flagged.get((p, m, d), 0))
            for p, m, d in zip(
                summary["posting_id"], summary["measure"], summary["dimension"], strict=True
            )
        ]
    sweep = (
        pd.concat(sweep_all, ignore_index=True)
        if sweep_all
        else pd.DataFrame(
            columns=["posting_id", "measure", "dimension", "cut", "category", *_SWEEP_COLUMNS]
        )
    )
    unknown = pd.DataFrame(unknown_rows, columns=["posting_id", "n_assessed", "sex",
                                                  "race_ethnicity", "any", "no_demographics"])  # fmt: skip
    options = {**opts, "adjust": adjust, "reference": "highest rate",
               "min_known_share": min_known_share, "dimensions": list(dimensions)}  # fmt: skip
    notes = [
        f"Flag rule: {FLAG_RULE} (alpha={alpha}, min_n={min_n}, adjustment={adjust}).",
        "below_four_fifths shows the raw four-fifths result for every category, flagged or not.",
        f"Scoring rate = share strictly {'above' if ties == 'strict' else 'at or above'} the "
        f"median of the posting's full sample (unknowns {'in' if unknowns_in_median else 'not in'} "
        f"the median's sample).",
        f"Categories under {exclude_below:.0%} of the data ({exclude_base} rows) are excluded from "
        f"the ratios but listed with n and rate.",
    ]
    if not wanted:
        notes.append("No posting has interview results: nothing to audit.")
    for d in absent:
        other = " and ".join(_DIMENSION_LABELS[a] for a in audited)
        notes.append(
            f"{NOT_AUDITED} {_DIMENSION_LABELS[d]} — the demographics have no "
            f"{_DIMENSION_LABELS[d]} answers, so only {other} is audited (and no intersection)."
        )
    notes.extend(outcome_notes)
    for _, u in unknown.iterrows():
        notes.append(
            f"{u['posting_id']}: {u['n_assessed']} assessed; unknown sex {u['sex']}, unknown "
            f"race/ethnicity {u['race_ethnicity']}, no demographics row {u['no_demographics']}."
        )
    if len(table):
        speech = table[(table["measure"] == "speech_score") & table["flag"]]
        if len(speech):
            notes.append(
                "The speech score shows adverse impact; speech ratings can disadvantage "
                "non-native speakers — review before using it in decisions."
            )
    return BiasAudit(
        table=table,
        title="Bias audit (NYC LL144 impact ratios, four-fifths rule)",
        notes=notes,
        summary=summary,
        sweep=sweep,
        unknown=unknown,
        options=options,
        extras={"periods": periods},
    )
