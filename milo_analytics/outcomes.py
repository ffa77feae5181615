"""ATS hire outcomes and voluntary demographics, joined to interviews.

Two readers share one join engine:

- :func:`read_outcomes` — ATS exports with ``hired`` / ``stage`` / ``performance`` /
  ``retention`` columns, parsed forgivingly (Yes/No, Y/N, Hired/Rejected, Offer declined, 1/0,
  True/False, a hire date meaning hired).
- :func:`read_demographics` — voluntary self-identification exports mapped to the EEO-1
  categories (sex: ``Male``, ``Female``; race/ethnicity: the seven categories of
  :data:`RACE_CATEGORIES`), with ``"Unknown"`` for a missing, declined or unrecognised answer.

Both accept a CSV/TSV/Excel path or a DataFrame, and join by ``interview_id``, by ``email``
(case- and whitespace-insensitive) or by ``external_id`` (the candidate metadata's external id,
``candidates.external_id`` in :class:`~milo_analytics.frames.InterviewData`). Without ``data=``
the rows are returned keyed by the file's key (one row per person); with ``data=`` they are
joined to ``interview_id`` (one row per matched interview).

The join report
---------------
Every returned frame carries ``.attrs["join_report"]``, a :class:`JoinReport` (a ``dict`` with an
HTML view) holding only counts, file line numbers and category values — never a name or an
email — so it is safe to put in a report. Keys:

``source``, ``kind``, ``key``, ``key_column``, ``columns`` (role → file column), ``rows``,
``people``, ``no_key`` / ``no_key_lines`` (rows without a key value, dropped),
``duplicates`` (rows merged into another row of the same person), ``duplicate_people``,
``conflicts`` (people whose rows disagree), ``conflict_rows`` (line, column, value),
``on_conflict`` (the rule used), ``matched`` / ``unmatched`` / ``unmatched_lines`` (people found
or not found in ``data``; ``None`` without ``data``), ``ambiguous`` (people matching several
interviews), ``interviews_matched``, ``interviews_without_row``, ``unknown_values`` (unrecognised
spellings → count, per column), ``declined`` (blank or "prefer not to say" answers per column),
``outside_eeo1`` (answers outside the EEO-1 categories, e.g. "Non-binary"), ``unknown_counts``
(``"Unknown"`` / missing values per output column).

Duplicate people (the documented rule)
--------------------------------------
Rows sharing a key are one person. Per column, a known value beats a blank/unknown one, and
identical known values merge silently (counted in ``duplicates``). Different known values are a
conflict, resolved by ``on_conflict``: ``"error"`` (default: :class:`~milo_analytics.errors.DataError`
listing the lines and values), ``"unknown"`` (that column becomes ``"Unknown"`` / missing for the
person), ``"first"`` or ``"last"`` (the first / last row's known value in file order).

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Email": [" Ana@X.com", "bo@x.com"], "Gender": ["F", "prefer not to say"],
...                     "Race": ["Latinx", "African American"]})
>>> demo = read_demographics(raw)
>>> demo[["email", "sex", "race_ethnicity"]].values.tolist()
[['ana@x.com', 'Female', 'Hispanic or Latino'], ['bo@x.com', 'Unknown', 'Black or African American']]
>>> demo.attrs["join_report"]["declined"]
{'sex': 1}
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError
from .frames import InterviewData

__all__ = [
    "RACE_CATEGORIES",
    "SEX_CATEGORIES",
    "UNKNOWN",
    "JoinReport",
    "join_report",
    "map_race_ethnicity",
    "map_sex",
    "parse_hired",
    "read_demographics",
    "read_outcomes",
]

#: EEO-1 sex categories, in the order of the LL144 rule's tables.
SEX_CATEGORIES: tuple[str, ...] = ("Male", "Female")
#: EEO-1 race/ethnicity categories (Hispanic or Latino is not split by race).
RACE_CATEGORIES: tuple[str, ...] = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Other Pacific Islander",
    "Asian",
    "American Indian or Alaska Native",
    "Two or More Races",
)
#: Label for a missing, declined or unrecognised answer.
UNKNOWN = "Unknown"

KeyKind = Literal["email", "interview_id", "external_id"]
OnConflict = Literal["error", "unknown", "first", "last"]
_KEY_KINDS = ("email", "interview_id", "external_id")

# ----------------------------------------------------------------------------- spellings


def _norm_text(value: Any) -> str:
    """Lower-case, punctuation → space, collapsed whitespace ('2+' keeps its plus)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return re.sub(r"[^a-z0-9+]+", " ", str(value).lower()).strip()


def _norm_col(name: Any) -> str:
    return re.sub(r"[^a-z0-9+]+", "_", str(name).lower()).strip("_")


_DECLINED = {
    "", "unknown", "unk", "na", "n a", "none", "null", "nan", "nil", "not specified",
    "unspecified", "not provided", "not disclosed", "undisclosed", "not applicable",
    "prefer not to say", "prefer not to answer", "prefer not to disclose", "i prefer not to say",
    "i prefer not to answer", "decline", "declined", "decline to state", "declined to state",
    "decline to answer", "declined to answer", "decline to self identify",
    "declined to self identify", "i decline to self identify", "i do not wish to answer",
    "i don t wish to answer", "do not wish to answer", "i do not wish to disclose",
    "don t wish to answer", "choose not to disclose", "i choose not to disclose",
    "not declared", "no answer", "no response", "blank", "missing", "did not answer",
    "did not disclose", "refused", "rather not say", "i d rather not say",
}  # fmt: skip

_SEX = {
    "Female": {
        "f", "female", "woman", "women", "fem", "cis female", "cis woman", "cisgender female",
        "cisgender woman", "trans woman", "transgender woman", "female f", "girl", "lady",
    },
    "Male": {
        "m", "male", "man", "men", "cis male", "cis man", "cisgender male", "cisgender man",
        "trans man", "transgender man", "male m", "boy",
    },
}  # fmt: skip
_SEX_OUTSIDE = {
    "non binary", "nonbinary", "nb", "enby", "genderqueer", "gender non conforming",
    "gender nonconforming", "agender", "genderfluid", "gender fluid", "other", "x",
    "another gender", "two spirit", "intersex", "self describe", "prefer to self describe",
}  # fmt: skip

_RACE = {
    "Hispanic or Latino": {
        "hispanic", "latino", "latina", "latinx", "latine", "latino a", "latin american",
        "hispanic latino", "hispanic or latino", "latino hispanic", "hispanic latinx",
        "hispanic or latinx", "hispanic latina", "hispanic latino a", "hispanic or latino a",
        "hispanic and latino", "hispanic latine", "hispanic or latine", "latinx hispanic",
    },
    "White": {
        "white", "caucasian", "white american", "european american", "white caucasian",
        "caucasian white", "white or caucasian",
    },
    "Black or African American": {
        "black", "african american", "black african american", "black or african american",
        "african american black", "afro american", "black american", "african american or black",
        "black and african american",
    },
    "Native Hawaiian or Other Pacific Islander": {
        "native hawaiian", "pacific islander", "native hawaiian or other pacific islander",
        "native hawaiian or pacific islander", "native hawaiian pacific islander",
        "native hawaiian other pacific islander", "hawaiian", "nhopi", "nhpi",
        "hawaiian pacific islander", "native hawaiian and other pacific islander",
        "other pacific islander",
    },
    "Asian": {"asian", "asian american", "asian or asian american"},
    "American Indian or Alaska Native": {
        "american indian", "alaska native", "alaskan native", "native american",
        "american indian or alaska native", "american indian or alaskan native",
        "american indian alaska native", "american indian alaskan native",
        "native american alaska native", "native american or alaska native", "aian",
        "american indian native american", "american indian and alaska native",
    },
    "Two or More Races": {
        "two or more races", "two or more", "2 or more races", "2 or more", "2+ races", "2+",
        "2+ race", "multiracial", "multi racial", "mixed", "mixed race", "biracial", "bi racial",
        "multiple races", "multiple", "more than one race", "two or more race",
    },
}  # fmt: skip
_RACE_OUTSIDE = {"other", "some other race", "another race", "other race"}
_NOT_HISPANIC = re.compile(
    r"\b(?:not|non)\s*hispanic(?:\s+(?:or|and)?\s*latin[oaxe]?)?(?:\s+or\s+latin[oaxe]?)?\b"
)
_HISPANIC_WORD = re.compile(r"\b(?:hispanic|latin[oaxe])\b")

_SEX_LOOKUP = {s: cat for cat, spellings in _SEX.items() for s in spellings}
_RACE_LOOKUP = {s: cat for cat, spellings in _RACE.items() for s in spellings}


def map_sex(value: Any) -> tuple[str, str]:
    """Map one self-identification answer to an EEO-1 sex category.

    Returns
    -------
    (category, how)
        ``how`` is ``"known"``, ``"declined"`` (blank, "prefer not to say"),
        ``"outside"`` (a recognised answer outside the EEO-1 categories, e.g. "Non-binary") or
        ``"unrecognised"``; the category is ``"Unknown"`` unless ``how == "known"``.

    Examples
    --------
    >>> map_sex("F"), map_sex(" Woman "), map_sex("Prefer not to say")[1], map_sex("Nonbinary")[1]
    (('Female', 'known'), ('Female', 'known'), 'declined', 'outside')
    """
    key = _norm_text(value)
    if key in _SEX_LOOKUP:
        return _SEX_LOOKUP[key], "known"
    if key in _DECLINED:
        return UNKNOWN, "declined"
    if key in _SEX_OUTSIDE:
        return UNKNOWN, "outside"
    return UNKNOWN, "unrecognised"


def map_race_ethnicity(value: Any) -> tuple[str, str]:
    """Map one answer to an EEO-1 race/ethnicity category (Hispanic or Latino wins over race).

    Qualifiers such as "(Not Hispanic or Latino)" are understood; see :func:`map_sex` for the
    meaning of the second value.

    Examples
    --------
    >>> map_race_ethnicity("Hispanic/Latino")[0], map_race_ethnicity("2+ races")[0]
    ('Hispanic or Latino', 'Two or More Races')
    >>> map_race_ethnicity("White (Not Hispanic or Latino)")[0]
    'White'
    """
    key = _norm_text(value)
    if key in _RACE_LOOKUP:
        return _RACE_LOOKUP[key], "known"
    if key in _DECLINED:
        return UNKNOWN, "declined"
    if key in _RACE_OUTSIDE:
        return UNKNOWN, "outside"
    stripped = re.sub(r"\s+", " ", _NOT_HISPANIC.sub(" ", key)).strip()
    if stripped != key:
        if stripped in _RACE_LOOKUP and _RACE_LOOKUP[stripped] != RACE_CATEGORIES[0]:
            return _RACE_LOOKUP[stripped], "known"
        if stripped in ("", "or", "and"):
            return UNKNOWN, "declined"
        return UNKNOWN, "unrecognised"
    if _HISPANIC_WORD.search(key):
        return RACE_CATEGORIES[0], "known"
    return UNKNOWN, "unrecognised"


_TRUE = {
    "yes", "y", "true", "t", "1", "hired", "hire", "offer accepted", "accepted", "started",
    "start", "onboarded", "employed", "joined", "selected", "yes hired", "hired yes",
}  # fmt: skip
_FALSE = {
    "no", "n", "false", "f", "0", "rejected", "reject", "not hired", "no hire", "not selected",
    "declined", "offer declined", "candidate declined", "declined offer", "withdrawn", "withdrew",
    "dismissed", "knocked out", "disqualified", "archived", "rejected offer", "turned down",
    "rescinded", "offer rescinded", "not a fit", "no hired", "hired no",
}  # fmt: skip
_UNDECIDED = _DECLINED | {
    "pending", "in progress", "in process", "tbd", "open", "applied", "screen", "screening",
    "phone screen", "interview", "interviewing", "onsite", "on site", "offer", "offer extended",
    "offer sent", "assessment", "new", "active",
}  # fmt: skip
_DATE_RE = re.compile(
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4})"
)


def parse_hired(value: Any) -> tuple[bool | None, pd.Timestamp | None, str]:
    """Parse one ATS "hired" value.

    Returns
    -------
    (hired, hire_date, how)
        ``hired`` is True/False or None (undecided or unrecognised); a date means hired on that
        date; ``how`` is ``"known"``, ``"declined"`` (blank or undecided) or ``"unrecognised"``.

    Examples
    --------
    >>> [parse_hired(v)[0] for v in ["Yes", "N", "Hired", "Offer declined", 1, "2024-03-01", ""]]
    [True, False, True, False, True, True, None]
    """
    if value is None or value is pd.NA:
        return None, None, "declined"
    if isinstance(value, (bool, np.bool_)):
        return bool(value), None, "known"
    if isinstance(value, (_dt.date, pd.Timestamp)):
        ts = pd.Timestamp(value)
        return (None, None, "declined") if pd.isna(ts) else (True, ts, "known")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, float | np.floating) and np.isnan(value):
            return None, None, "declined"
        if value in (0, 1):
            return bool(value), None, "known"
        return None, None, "unrecognised"
    text = str(value).strip()
    if _DATE_RE.match(text):
        ts = pd.to_datetime(text, errors="coerce")
        if not pd.isna(ts):
            return True, pd.Timestamp(ts), "known"
    key = _norm_text(text)
    if key in ("1 0", "0 0"):  # "1.0" / "0.0"
        return key == "1 0", None, "known"
    if key in _TRUE:
        return True, None, "known"
    if key in _FALSE:
        return False, None, "known"
    if key in _UNDECIDED:
        return None, None, "declined"
    return None, None, "unrecognised"


_NUMBER_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _parse_number(value: Any) -> tuple[float | None, str]:
    if value is None or value is pd.NA:
        return None, "declined"
    if isinstance(value, (bool, np.bool_)):
        return float(value), "known"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (None, "declined") if np.isnan(float(value)) else (float(value), "known")
    key = _norm_text(value)
    if key in _UNDECIDED:
        return None, "declined"
    b, _, how = parse_hired(value)
    if how == "known" and b is not None and key not in ("1", "0"):
        return float(b), "known"
    m = _NUMBER_RE.search(str(value))
    if m is None:
        return None, "unrecognised"
    return float(m.group(0).replace(",", ".")), "known"


# ----------------------------------------------------------------------------- join report


_SUMMARY_COUNTS = (
    ("no_key", "row without a key", "rows without a key"),
    ("duplicates", "duplicate row", "duplicate rows"),
    ("conflicts", "person with conflicting rows", "people with conflicting rows"),
    ("ambiguous", "ambiguous key", "ambiguous keys"),
)


def _count(n: int, one: str, many: str | None = None) -> str:
    """``"1 row"`` / ``"3 rows"``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


class JoinReport(dict):
    """The join report: a plain ``dict`` (JSON-able, PII-free) with a readable HTML view.

    Examples
    --------
    >>> r = JoinReport(kind="demographics", rows=3, people=2, matched=2, unmatched=0)
    >>> r["people"], "<table" in r._repr_html_()
    (2, True)
    """

    def summary(self) -> str:
        """One line of text.

        Examples
        --------
        >>> JoinReport(kind="outcomes", key="email", rows=3, people=2, matched=2, unmatched=0,
        ...            conflicts=1).summary()
        'outcomes join by email: 3 rows, 2 people, 2 matched, 0 unmatched, 1 person with conflicting rows'
        """
        parts = [
            _count(self.get("rows", 0), "row"),
            _count(self.get("people", 0), "person", "people"),
        ]
        if self.get("matched") is not None:
            parts.append(f"{self['matched']} matched, {self.get('unmatched', 0)} unmatched")
        for k, one, many in _SUMMARY_COUNTS:
            if self.get(k):
                parts.append(_count(self[k], one, many))
        n = sum(sum(v.values()) for v in self.get("unknown_values", {}).values())
        if n:
            parts.append(_count(n, "unrecognised value"))
        return f"{self.get('kind', 'join')} join by {self.get('key', '?')}: " + ", ".join(parts)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for k, v in self.items():
            if isinstance(v, list) and len(v) > 20:
                v = [*v[:20], f"… {len(v) - 20} more"]
            rows.append(
                f"<tr><th style='text-align:left'>{esc(str(k))}</th>"
                f"<td style='text-align:left'>{esc(str(v))}</td></tr>"
            )
        return f"<div><strong>{esc(self.summary())}</strong><table>{''.join(rows)}</table></div>"


def join_report(frame: pd.DataFrame) -> JoinReport:
    """The :class:`JoinReport` of a frame returned by :func:`read_outcomes` / :func:`read_demographics`.

    Raises
    ------
    DataError
        When the frame has no join report (it was not made by these readers).
    """
    rep = frame.attrs.get("join_report")
    if rep is None:
        raise DataError(
            "this frame has no join report; it was not returned by read_outcomes/read_demographics"
        )
    return rep if isinstance(rep, JoinReport) else JoinReport(rep)


# ----------------------------------------------------------------------------- reading

_KEY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e_mail", "email_address", "e_mail_address", "candidate_email",
        "applicant_email", "work_email", "personal_email", "emailaddress", "mail",
        "candidate_email_address",
    ),
    "interview_id": (
        "interview_id", "interviewid", "milo_interview_id", "heymilo_interview_id", "interview",
    ),
    "external_id": (
        "external_id", "externalid", "ext_id", "ats_id", "ats_candidate_id",
        "candidate_external_id", "applicant_id", "ats_applicant_id", "metadata_external_id",
    ),
}  # fmt: skip


def _read_table(source: Any, *, sheet_name: str | int = 0) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"file not found: {path}; pass a CSV/Excel path or a DataFrame")
        suffix = (
            "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
        )
        try:
            if suffix in (".xlsx", ".xlsm", ".xls"):
                df = pd.read_excel(path, sheet_name=sheet_name, dtype=object)
            else:
                sep = "\t" if suffix.startswith((".tsv", ".tab")) else None
                kw: dict[str, Any] = dict(
                    dtype=str, keep_default_na=False, sep=sep, engine="python"
                )
                try:
                    df = pd.read_csv(path, encoding="utf-8-sig", **kw)
                except UnicodeDecodeError:
                    df = pd.read_csv(path, encoding="latin-1", **kw)
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            raise DataError(
                f"could not read {path.name}: {exc}; expected CSV, TSV or Excel"
            ) from exc
        return df, path.name
    raise DataError(f"expected a CSV/Excel path or a DataFrame, got {type(source).__name__}")


def _find_column(
    df: pd.DataFrame,
    explicit: str | None,
    synonyms: Iterable[str],
    *,
    param: str,
    what: str,
) -> str | None:
    normed = {}
    for c in df.columns:
        normed.setdefault(_norm_col(c), c)
    if explicit is not None:
        if explicit in df.columns:
            return explicit
        if _norm_col(explicit) in normed:
            return normed[_norm_col(explicit)]
        raise DataError(
            f"{param}={explicit!r}: no such column for {what}; the columns are "
            f"{[str(c) for c in df.columns]}"
        )
    for s in synonyms:
        if s in normed:
            return normed[s]
    return None


def _key_values(series: pd.Series, kind: str) -> pd.Series:
    def norm(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        text = str(v).strip()
        if kind == "email":
            text = re.sub(r"\s+", "", text).lower()
            text = text.removeprefix("mailto:")
        return text if text and text.lower() not in ("nan", "none", "null") else pd.NA

    return pd.Series([norm(v) for v in series], index=series.index, dtype="str")


def _resolve_key(df: pd.DataFrame, key: str, key_column: str | None, what: str) -> str:
    if key not in _KEY_KINDS:
        raise DataError(
            f"key={key!r} is not a join key; use one of {list(_KEY_KINDS)} "
            f"(and key_column='<column>' when the file names it differently)"
        )
    col = _find_column(
        df, key_column, _KEY_SYNONYMS[key], param="key_column", what=f"the {key} key"
    )
    if col is not None:
        return col
    others = {
        k: c
        for k in _KEY_KINDS
        if k != key
        and (c := _find_column(df, None, _KEY_SYNONYMS[k], param="", what="")) is not None
    }
    hint = (
        "; this file has " + ", ".join(f"{c!r} (pass key={k!r})" for k, c in others.items())
        if others
        else "; pass key='email'|'interview_id'|'external_id' with key_column='<column>'"
    )
    raise DataError(
        f"{what} file has no usable {key} column for key={key!r}; columns found: "
        f"{[str(c) for c in df.columns]}{hint}"
    )


def _lines(index: Iterable[int]) -> list[int]:
    """File line numbers of data rows (header is line 1)."""
    return [int(i) + 2 for i in index]


def _join(
    *,
    kind: str,
    source_name: str,
    df: pd.DataFrame,
    key: str,
    key_col: str,
    values: pd.DataFrame,
    unknown_value: Mapping[str, Any],
    columns: dict[str, str],
    on_conflict: str,
    data: InterviewData | None,
    posting_col: str | None,
    counts: dict[str, dict[str, Counter[str]]],
) -> pd.DataFrame:
    """The shared engine: dedupe people, resolve conflicts, join to interviews, report."""
    if on_conflict not in ("error", "unknown", "first", "last"):
        raise DataError(f"on_conflict={on_conflict!r}; use 'error', 'unknown', 'first' or 'last'")
    keys = _key_values(df[key_col], key)
    group_cols = ["_key"]
    work = values.copy()
    work["_key"] = keys
    work["_line"] = _lines(range(len(df)))
    if posting_col is not None:
        work["_posting"] = _key_values(df[posting_col], "interview_id")
        group_cols.append("_posting")
    no_key = work["_key"].isna()
    report = JoinReport(
        source=source_name,
        kind=kind,
        key=key,
        key_column=str(key_col),
        columns={k: str(v) for k, v in columns.items()},
        rows=len(df),
        people=0,
        no_key=int(no_key.sum()),
        no_key_lines=[int(x) for x in work.loc[no_key, "_line"]][:50],
        duplicates=0,
        duplicate_people=0,
        conflicts=0,
        conflict_rows=[],
        on_conflict=on_conflict,
        matched=None,
        unmatched=None,
        unmatched_lines=[],
        ambiguous=0,
        interviews_matched=None,
        interviews_without_row=None,
    )
    work = work[~no_key]
    value_cols = list(values.columns)

    def is_unknown(col: str, v: Any) -> bool:
        return (
            v is None
            or v is pd.NA
            or v is pd.NaT
            or (isinstance(v, float) and np.isnan(v))
            or (col in unknown_value and v == unknown_value[col])
        )

    # -- dedupe people (plain Python over the duplicated rows: fast with many groups)
    sizes = work.groupby(group_cols, sort=False, dropna=False)["_line"].transform("size")
    single = work[sizes == 1]
    multi = work[sizes > 1]
    merged_rows: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    conflicted_people = 0
    groups: dict[tuple[Any, ...], list[int]] = {}
    gvals = list(zip(*(multi[c].tolist() for c in group_cols), strict=True))
    for i, g in enumerate(gvals):
        groups.setdefault(g, []).append(i)
    lines = multi["_line"].tolist()
    colvals = {col: multi[col].tolist() for col in value_cols}
    for gkey, idx in groups.items():
        row: dict[str, Any] = dict(zip(group_cols, gkey, strict=True))
        row["_line"] = int(lines[idx[0]])
        had_conflict = False
        for col in value_cols:
            vals = colvals[col]
            known = [(lines[i], vals[i]) for i in idx if not is_unknown(col, vals[i])]
            distinct = list(dict.fromkeys(v for _, v in known))
            if not known:
                row[col] = vals[idx[0]]
            elif len(distinct) == 1:
                row[col] = distinct[0]
            else:
                had_conflict = True
                conflicts.extend(
                    {"line": int(ln), "column": col, "value": str(v)} for ln, v in known
                )
                if on_conflict == "first":
                    row[col] = known[0][1]
                elif on_conflict == "last":
                    row[col] = known[-1][1]
                else:
                    row[col] = unknown_value.get(col, pd.NA)
        conflicted_people += had_conflict
        merged_rows.append(row)
    report["duplicates"] = int(len(multi) - len(merged_rows))
    report["duplicate_people"] = len(merged_rows)
    report["conflicts"] = conflicted_people
    report["conflict_rows"] = conflicts[:200]
    if conflicts and on_conflict == "error":
        shown = "; ".join(f"line {c['line']}: {c['column']}={c['value']!r}" for c in conflicts[:12])
        more = f" (and {len(conflicts) - 12} more)" if len(conflicts) > 12 else ""
        raise DataError(
            f"{source_name}: {conflicted_people} people have conflicting {kind} rows "
            f"(same {key}, different values): {shown}{more}. Fix the file, or pass "
            f"on_conflict='unknown' (treat as unknown), 'first' or 'last'"
        )
    people = (
        pd.concat([single, pd.DataFrame(merged_rows, columns=single.columns)], ignore_index=True)
        if merged_rows
        else single.reset_index(drop=True)
    )
    people = people.sort_values("_line", kind="stable").reset_index(drop=True)
    for col in values.columns:
        people[col] = people[col].astype(values[col].dtype)
    report["people"] = len(people)

    # -- unknown counts per output column
    for section in ("unknown_values", "declined", "outside_eeo1"):
        report[section] = {
            col: dict(sorted(c.items(), key=lambda kv: -kv[1]))
            if section == "unknown_values"
            else sum(c.values())
            for col, per in counts.items()
            if (c := per.get(section))
        }
    report["unknown_counts"] = {
        col: int(sum(is_unknown(col, v) for v in people[col])) for col in values.columns
    }

    if data is None:
        out = people.rename(columns={"_key": key})
        lead = ["interview_id"]
        if key != "interview_id":
            out["interview_id"] = _file_interview_ids(df, out["_line"])
            lead.append(key)
        if "_posting" in out.columns:
            out = out.rename(columns={"_posting": "posting_id"})
            lead.append("posting_id")
        out = out[[*lead, *value_cols]]
        out.attrs["join_report"] = report
        return out.reset_index(drop=True)

    # -- join to interviews
    if not isinstance(data, InterviewData):
        raise DataError(f"data= must be an InterviewData, got {type(data).__name__}")
    cand = data.candidates
    if key == "interview_id":
        ids = pd.concat([cand["interview_id"], data.interviews["interview_id"]]).dropna()
        cmap = pd.DataFrame({"_key": ids.unique()})
        cmap["interview_id"] = cmap["_key"]
        post = pd.concat(
            [cand[["interview_id", "posting_id"]], data.interviews[["interview_id", "posting_id"]]]
        )
        post = post.drop_duplicates("interview_id")
        cmap = cmap.merge(post, on="interview_id", how="left")
    else:
        if cand[key].isna().all():
            raise DataError(
                f"key={key!r}: the interview data has no {key} values (candidates.{key} is empty); "
                f"join by another key (e.g. key='interview_id') or load candidate {key}s first"
            )
        cmap = pd.DataFrame(
            {
                "_key": _key_values(cand[key], key),
                "interview_id": cand["interview_id"],
                "posting_id": cand["posting_id"],
            }
        ).dropna(subset=["_key"])
    cmap = cmap.drop_duplicates(["_key", "interview_id"])
    on = ["_key"]
    if "_posting" in people.columns:
        cmap = cmap.rename(columns={"posting_id": "_posting"})
        on.append("_posting")
    joined = people.merge(cmap, on=on, how="left", indicator=True)
    found = joined["_merge"] == "both"
    matched_lines = set(joined.loc[found, "_line"])
    unmatched = people[~people["_line"].isin(matched_lines)]
    per_person = joined[found].groupby("_line").size()
    out = joined[found].copy()
    if "_posting" in out.columns:
        out = out.rename(columns={"_posting": "posting_id"})
    # the same interview reached from two people (impossible for email/external id, guard anyway)
    dup_iv = out["interview_id"].duplicated(keep="first")
    if dup_iv.any():
        report["interview_duplicates"] = int(dup_iv.sum())
        out = out[~dup_iv]
    report["matched"] = len(matched_lines)
    report["unmatched"] = len(unmatched)
    report["unmatched_lines"] = [int(x) for x in unmatched["_line"]][:50]
    report["ambiguous"] = int((per_person > 1).sum())
    report["interviews_matched"] = len(out)
    report["interviews_without_row"] = int((~cand["interview_id"].isin(out["interview_id"])).sum())
    lead = ["interview_id", "posting_id"] + ([key] if key != "interview_id" else [])
    out = out.rename(columns={"_key": key}) if key != "interview_id" else out
    out = out[[*lead, *value_cols]].reset_index(drop=True)
    out["interview_id"] = out["interview_id"].astype("str")
    out["posting_id"] = out["posting_id"].astype("str")
    out.attrs["join_report"] = report
    return out


def _file_interview_ids(df: pd.DataFrame, lines: pd.Series) -> pd.Series:
    """The file's own interview ids (when it has such a column) of the rows at ``lines``."""
    iid = _find_column(df, None, _KEY_SYNONYMS["interview_id"], param="", what="")
    if iid is None:
        return pd.Series([pd.NA] * len(lines), dtype="str")
    lookup = pd.Series(
        _key_values(df[iid], "interview_id").to_numpy(), index=_lines(range(len(df)))
    )
    return pd.Series(lookup.reindex(lines).to_numpy(), dtype="str")


def _cached(fn: Callable[[Any], Any], v: Any, cache: dict[Any, Any]) -> Any:
    """``fn(v)``, computed once per distinct value (exports repeat a handful of spellings)."""
    try:
        return cache[v]
    except KeyError:
        out = cache[v] = fn(v)
        return out
    except TypeError:  # unhashable
        return fn(v)


def _map_column(
    raw: pd.Series,
    mapper: Callable[[Any], tuple[Any, str]],
    name: str,
    counts: dict[str, dict[str, Counter[str]]],
) -> list[Any]:
    per = counts.setdefault(name, {})
    out = []
    cache: dict[Any, Any] = {}
    for v in raw:
        value, how = _cached(mapper, v, cache)
        _tally(per, how, v)
        out.append(value)
    return out


_SECTIONS = {"unrecognised": "unknown_values", "declined": "declined", "outside": "outside_eeo1"}


def _tally(per: dict[str, Counter[str]], how: str, raw: Any) -> None:
    """Count one parsed cell in its join-report section (nothing when ``how == "known"``)."""
    section = _SECTIONS.get(how)
    if section is not None:
        per.setdefault(section, Counter())[str(raw).strip() if section != "declined" else "n"] += 1


def _warn_unrecognised(counts: dict[str, dict[str, Counter[str]]], source: str, what: str) -> None:
    bits = []
    for col, per in counts.items():
        c = per.get("unknown_values")
        if c:
            top = ", ".join(f"{k!r} ×{v}" for k, v in c.most_common(8))
            bits.append(f"{col}: {top}")
    if bits:
        warnings.warn(
            f"{source}: unrecognised {what} values were set to Unknown (see "
            f".attrs['join_report']['unknown_values']): " + "; ".join(bits),
            UserWarning,
            stacklevel=4,  # _warn_unrecognised <- _finish <- read_* <- the caller
        )


def _strict_check(counts: dict[str, dict[str, Counter[str]]], source: str, strict: bool) -> None:
    if not strict:
        return
    bad = {
        col: dict(per["unknown_values"]) for col, per in counts.items() if per.get("unknown_values")
    }
    if bad:
        raise DataError(
            f"{source}: unrecognised values {bad}; fix the spellings or pass strict=False "
            f"(they then count as Unknown and are reported)"
        )


def _finish(
    kind: str,
    df: pd.DataFrame,
    source: str,
    *,
    key: KeyKind,
    key_col: Any,
    values: pd.DataFrame,
    unknown_value: dict[str, str],
    columns: dict[str, str],
    on_conflict: OnConflict,
    data: InterviewData | None,
    counts: dict[str, dict[str, Counter[str]]],
    strict: bool,
    what: str,
) -> pd.DataFrame:
    """The tail both readers share: strict check, join to ``interview_id``, warn on Unknowns."""
    _strict_check(counts, source, strict)
    posting_col = (
        _find_column(df, None, ("posting_id",), param="", what="")
        if key != "interview_id"
        else None
    )
    out = _join(
        kind=kind,
        source_name=source,
        df=df.reset_index(drop=True),
        key=key,
        key_col=key_col,
        values=values,
        unknown_value=unknown_value,
        columns=columns,
        on_conflict=on_conflict,
        data=data,
        posting_col=posting_col,
        counts=counts,
    )
    _warn_unrecognised(counts, source, what)
    return out


# ----------------------------------------------------------------------------- public readers

_SEX_SYNONYMS = ("sex", "gender", "sex_gender", "gender_sex", "gender_identity", "eeo_sex",
                 "eeo_gender", "sex_at_birth")  # fmt: skip
_RACE_SYNONYMS = ("race_ethnicity", "race_and_ethnicity", "race_or_ethnicity", "raceethnicity",
                  "ethnicity_race", "eeo_race", "eeo_race_ethnicity", "race", "ethnicity")  # fmt: skip
_HISPANIC_SYNONYMS = ("hispanic_or_latino", "hispanic_latino", "hispanic", "is_hispanic",
                      "latino", "hispanic_ethnicity")  # fmt: skip


def read_demographics(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    key: KeyKind = "email",
    sex: str | None = None,
    race_ethnicity: str | None = None,
    data: InterviewData | None = None,
    key_column: str | None = None,
    hispanic: str | None = None,
    on_conflict: OnConflict = "error",
    strict: bool = False,
    sheet_name: str | int = 0,
) -> pd.DataFrame:
    """Read voluntary self-identification data and map it to EEO-1 categories.

    Parameters
    ----------
    path_or_frame
        CSV/TSV/Excel path or a DataFrame.
    key
        How rows are joined: ``"email"`` (case/whitespace-insensitive), ``"interview_id"`` or
        ``"external_id"`` (candidate metadata ``external_id``). The key column is found by name
        (e.g. "Email Address"); ``key_column=`` names it explicitly.
    sex, race_ethnicity
        Column names; found automatically ("Gender", "Race/Ethnicity", "Race", …) when None.
        A separate Hispanic/Latino yes/no column (``hispanic=``, auto-detected) overrides race
        with "Hispanic or Latino" when yes, as on the EEO-1 form.
    data
        :class:`~milo_analytics.frames.InterviewData` to join to ``interview_id``.
    on_conflict
        The rule for people whose rows disagree (see the module docstring); default ``"error"``.
    strict
        Raise on unrecognised spellings instead of counting them as Unknown (with a warning).

    Returns
    -------
    DataFrame
        ``interview_id`` (``posting_id`` with ``data``), the key column, ``sex``,
        ``race_ethnicity`` (EEO-1 labels or ``"Unknown"``), ``.attrs["join_report"]``.

    Raises
    ------
    DataError
        No usable key column (the message lists the columns found and the ``key=`` to pass),
        neither a sex nor a race column, conflicting duplicate people (with the lines), or
        (``strict=True``) unrecognised spellings.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"interview_id": ["i1", "i2"], "sex": ["M", ""],
    ...                    "race": ["2+ races", "Black"]})
    >>> read_demographics(df, key="interview_id")[["sex", "race_ethnicity"]].values.tolist()
    [['Male', 'Two or More Races'], ['Unknown', 'Black or African American']]
    """
    df, source = _read_table(path_or_frame, sheet_name=sheet_name)
    key_col = _resolve_key(df, key, key_column, "demographics")
    sex_col = _find_column(df, sex, _SEX_SYNONYMS, param="sex", what="sex")
    race_col = _find_column(df, race_ethnicity, _RACE_SYNONYMS, param="race_ethnicity",
                            what="race/ethnicity")  # fmt: skip
    hisp_col = _find_column(df, hispanic, _HISPANIC_SYNONYMS, param="hispanic", what="Hispanic")
    if hisp_col == race_col:
        hisp_col = None
    if sex_col is None and race_col is None:
        raise DataError(
            f"demographics file {source} has neither a sex/gender nor a race/ethnicity column; "
            f"columns found: {[str(c) for c in df.columns]}; pass sex='<column>' and/or "
            f"race_ethnicity='<column>'"
        )
    counts: dict[str, dict[str, Counter[str]]] = {}
    n = len(df)
    sex_vals = (
        _map_column(df[sex_col], map_sex, "sex", counts) if sex_col is not None else [UNKNOWN] * n
    )
    if race_col is not None:
        race_vals = _map_column(df[race_col], map_race_ethnicity, "race_ethnicity", counts)
    else:
        race_vals = [UNKNOWN] * n
    if hisp_col is not None:
        for i, v in enumerate(df[hisp_col]):
            flag, _, how = parse_hired(v)
            if how == "known" and flag is None:
                continue
            if flag is True or map_race_ethnicity(v)[0] == RACE_CATEGORIES[0]:
                race_vals[i] = RACE_CATEGORIES[0]
    if sex_col is None:
        counts.setdefault("sex", {})["declined"] = Counter({"n": n})
    if race_col is None:
        counts.setdefault("race_ethnicity", {})["declined"] = Counter({"n": n})
    values = pd.DataFrame(
        {
            "sex": pd.Series(sex_vals, dtype="str"),
            "race_ethnicity": pd.Series(race_vals, dtype="str"),
        }
    )
    columns = {"key": str(key_col)}
    if sex_col is not None:
        columns["sex"] = str(sex_col)
    if race_col is not None:
        columns["race_ethnicity"] = str(race_col)
    if hisp_col is not None:
        columns["hispanic"] = str(hisp_col)
    return _finish(
        "demographics",
        df,
        source,
        key=key,
        key_col=key_col,
        values=values,
        unknown_value={"sex": UNKNOWN, "race_ethnicity": UNKNOWN},
        columns=columns,
        on_conflict=on_conflict,
        data=data,
        counts=counts,
        strict=strict,
        what="demographic",
    )


_HIRED_SYNONYMS = ("hired", "was_hired", "is_hired", "hire", "hired_yn", "hired_y_n", "hire_status",
                   "hired_status", "hire_decision", "outcome", "decision", "result", "hire_date",
                   "hired_on", "start_date")  # fmt: skip
_PERF_SYNONYMS = ("performance", "performance_rating", "performance_score", "perf", "perf_rating",
                  "rating", "review_score", "manager_rating", "job_performance")  # fmt: skip
_RETENTION_SYNONYMS = ("retention", "retained", "retained_90d", "retained_90_days", "tenure",
                       "tenure_days", "tenure_months", "still_employed", "days_employed")  # fmt: skip
_STAGE_SYNONYMS = ("stage", "ats_stage", "pipeline_stage", "current_stage", "status",
                   "application_status", "candidate_status")  # fmt: skip


def read_outcomes(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    key: KeyKind = "email",
    hired: str | None = None,
    performance: str | None = None,
    retention: str | None = None,
    stage: str | None = None,
    data: InterviewData | None = None,
    key_column: str | None = None,
    on_conflict: OnConflict = "error",
    strict: bool = False,
    sheet_name: str | int = 0,
) -> pd.DataFrame:
    """Read an ATS export of hire outcomes, parsed forgivingly, joined like demographics.

    Parameters
    ----------
    path_or_frame
        CSV/TSV/Excel path or a DataFrame.
    key, key_column, data, on_conflict, strict
        As in :func:`read_demographics`.
    hired
        The hired column (auto-detected: "Hired", "Outcome", "Hire Date", …). Yes/No, Y/N,
        Hired/Rejected/Offer declined, 1/0, True/False; a date means hired on that date
        (``hire_date``); blank or in-process values ("Onsite", "Offer") are missing — except
        in a column of hire dates only, where a blank cell means not hired.
        Without a hired column, ``hired`` is derived from ``stage`` the same way.
    performance, retention
        Numeric columns ("4.5", "87%", "4/5" → first number); retention also accepts yes/no
        (1.0/0.0).
    stage
        The ATS stage, kept as text.

    Returns
    -------
    DataFrame
        ``interview_id`` (``posting_id`` with ``data``), the key column, ``hired`` (boolean,
        nullable), ``hire_date`` (when dates were given), ``performance``, ``retention``
        (Float64, when present), ``stage`` (when present); ``.attrs["join_report"]``.

    Raises
    ------
    DataError
        No usable key column (the message lists the columns found), no outcome column at all,
        conflicting duplicate rows, or (``strict=True``) unrecognised values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Email": ["a@x.com", "B@x.com ", "c@x.com"],
    ...                    "Hired?": ["Y", "Offer declined", "2024-05-01"], "Rating": ["4.5", "", ""]})
    >>> out = read_outcomes(df)
    >>> out["hired"].tolist(), out["performance"].tolist()
    ([True, False, True], [4.5, <NA>, <NA>])
    """
    df, source = _read_table(path_or_frame, sheet_name=sheet_name)
    key_col = _resolve_key(df, key, key_column, "outcomes")
    hired_col = _find_column(df, hired, _HIRED_SYNONYMS, param="hired", what="hired")
    perf_col = _find_column(
        df, performance, _PERF_SYNONYMS, param="performance", what="performance"
    )
    ret_col = _find_column(df, retention, _RETENTION_SYNONYMS, param="retention", what="retention")
    stage_col = _find_column(df, stage, _STAGE_SYNONYMS, param="stage", what="stage")
    if stage_col is not None and stage_col == hired_col:
        stage_col = None
    if hired_col is None and perf_col is None and ret_col is None and stage_col is None:
        raise DataError(
            f"outcomes file {source} has no hired, performance, retention or stage column; "
            f"columns found: {[str(c) for c in df.columns]}; pass hired='<column>' (or "
            f"performance=, retention=, stage=)"
        )
    counts: dict[str, dict[str, Counter[str]]] = {}
    cols: dict[str, pd.Series] = {}
    columns = {"key": str(key_col)}
    n = len(df)
    hired_src = hired_col if hired_col is not None else stage_col
    if hired_src is not None:
        per = counts.setdefault("hired", {})
        cache: dict[Any, Any] = {}
        parsed = [_cached(parse_hired, v, cache) for v in df[hired_src]]
        # a column of hire dates: a blank cell means "not hired" (not "unknown")
        date_column = any(d is not None for _, d, _ in parsed) and not any(
            d is None and b is not None for b, d, _ in parsed
        )
        flags, dates = [], []
        for v, (b, d, how) in zip(df[hired_src], parsed, strict=True):
            if date_column and b is None and _norm_text(v) == "" and how == "declined":
                b, how = False, "known"
            _tally(per, how, v)
            flags.append(pd.NA if b is None else b)
            dates.append(d)
        cols["hired"] = pd.Series(flags, dtype="boolean")
        columns["hired"] = str(hired_src)
        if any(d is not None for d in dates):
            cols["hire_date"] = pd.Series(
                [pd.NaT if d is None else d for d in dates], dtype="datetime64[us]"
            )
    else:
        cols["hired"] = pd.Series([pd.NA] * n, dtype="boolean")
    for name, col in (("performance", perf_col), ("retention", ret_col)):
        if col is None:
            continue
        per = counts.setdefault(name, {})
        nums = []
        cache = {}
        for v in df[col]:
            x, how = _cached(_parse_number, v, cache)
            _tally(per, how, v)
            nums.append(pd.NA if x is None else x)
        cols[name] = pd.Series(nums, dtype="Float64")
        columns[name] = str(col)
    if stage_col is not None:
        st = df[stage_col].map(lambda v: pd.NA if _norm_text(v) in _DECLINED else str(v).strip())
        cols["stage"] = pd.Series(st.tolist(), dtype="str")
        columns["stage"] = str(stage_col)
    return _finish(
        "outcomes",
        df,
        source,
        key=key,
        key_col=key_col,
        values=pd.DataFrame(cols),
        unknown_value={},
        columns=columns,
        on_conflict=on_conflict,
        data=data,
        counts=counts,
        strict=strict,
        what="outcome",
    )
