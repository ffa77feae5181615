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
(``"Unknown"`` / missing values per output column), ``file_columns`` (the file's header),
``encoding`` (text files: how they were decoded), ``sheets`` (Excel: the sheets read, with their
rows and first line), ``absent`` (demographics: dimensions the caller said the file lacks),
``suggestions`` (outcomes: role → the file column that looks like it, for roles not found) and
``mixed`` (outcomes: cells set missing by ``on_mixed="missing"``, per column).

Unusable input is refused, never read into a quiet wrong answer
-----------------------------------------------------------------
Both readers read files through :func:`milo_analytics.table_files.read_table` (empty and
header-only files, undecodable text, Excel sheets that differ or hold formulas without saved
values are errors). :func:`read_demographics` requires each dimension's column (or an explicit
``sex=False`` / ``race_ethnicity=False``) and names a likely column when one is missing;
:func:`read_outcomes` refuses a numeric column that mixes forms ("87%" beside 1–5 ratings) unless
``on_mixed="missing"``; :func:`require_outcome` names a missing target column. Errors carry a
Python hint (parameters) and a CLI hint (flags); see :mod:`milo_analytics.errors`.

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
import difflib
import html
import re
import shlex
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError
from .frames import InterviewData
from .table_files import Table, read_table

__all__ = [
    "NUMBER_FORMS",
    "RACE_CATEGORIES",
    "SEX_CATEGORIES",
    "UNKNOWN",
    "JoinReport",
    "join_report",
    "map_race_ethnicity",
    "map_sex",
    "number_form",
    "parse_hired",
    "read_demographics",
    "read_outcomes",
    "require_outcome",
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
_PLAIN_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_COMMA_RE = re.compile(r"[-+]?\d+,\d+")
_PERCENT_RE = re.compile(r"([-+]?\d+(?:[.,]\d+)?)\s*%")
_FRACTION_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*/\s*\d+(?:[.,]\d+)?")
_SCIENTIFIC_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d+")

#: How each form of a numeric cell is described in messages (one cell / a column of them).
NUMBER_FORMS: dict[str, tuple[str, str]] = {
    "number": ("a plain number", "plain numbers"),
    "decimal comma": ("a number with a decimal comma", "numbers with a decimal comma"),
    "percent": ("a percentage", "percentages"),
    "fraction": ("a fraction", "fractions"),
    "scientific": ("scientific notation", "numbers in scientific notation"),
    "yes/no": ("a yes/no answer", "yes/no answers"),
    "number with text": ("a number with text", "numbers with text"),
    "date": ("a date", "dates"),
    "text": ("not a number", "words"),
}


def number_form(value: Any) -> tuple[float | None, str]:
    """Parse one cell of a numeric outcome column and say which form it was written in.

    Returns
    -------
    (value, form)
        ``form`` is ``"missing"`` (blank, n/a, pending, …) or a key of :data:`NUMBER_FORMS`.
        Percentages, fractions and numbers with text give their first number (``"87%"`` → 87,
        ``"4/5"`` → 4); scientific notation its value (``"1e3"`` → 1000); yes/no 1.0/0.0;
        dates and words None. :func:`read_outcomes` accepts a column written in one form and
        refuses a mix (``on_mixed=``).

    Examples
    --------
    >>> [number_form(v) for v in ["4.5", "87%", "1e3", "excellent", "", 3]]
    [(4.5, 'number'), (87.0, 'percent'), (1000.0, 'scientific'), (None, 'text'), (None, 'missing'), (3.0, 'number')]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None, "missing"
    if isinstance(value, (bool, np.bool_)):
        return float(value), "yes/no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        return (None, "missing") if np.isnan(x) else (x, "number")
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return None, "date"
    text = str(value).strip()
    if _norm_text(text) in _UNDECIDED:
        return None, "missing"
    if _PLAIN_RE.fullmatch(text):
        return float(text), "number"
    if _COMMA_RE.fullmatch(text):
        return float(text.replace(",", ".")), "decimal comma"
    if m := _PERCENT_RE.fullmatch(text):
        return float(m[1].replace(",", ".")), "percent"
    if m := _FRACTION_RE.fullmatch(text):
        return float(m[1].replace(",", ".")), "fraction"
    if _SCIENTIFIC_RE.fullmatch(text):
        return float(text), "scientific"
    if _DATE_RE.match(text):
        return None, "date"
    flag, _, how = parse_hired(text)
    if how == "known" and flag is not None:
        return float(flag), "yes/no"
    if m := _NUMBER_RE.search(text):
        return float(m.group(0).replace(",", ".")), "number with text"
    return None, "text"


# ----------------------------------------------------------------------------- join report


_SUMMARY_COUNTS = (
    ("no_key", "row without a key", "rows without a key"),
    ("duplicates", "duplicate row", "duplicate rows"),
    ("conflicts", "person with conflicting rows", "people with conflicting rows"),
    ("ambiguous", "ambiguous key", "ambiguous keys"),
)


def _count(n: int, one: str, many: str | None = None) -> str:
    """``"1 row"`` / ``"1,383 rows"``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


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
            parts.append(f"{self['matched']:,} matched, {self.get('unmatched', 0):,} unmatched")
        for k, one, many in _SUMMARY_COUNTS:
            if self.get(k):
                parts.append(_count(self[k], one, many))
        n = sum(sum(v.values()) for v in self.get("unknown_values", {}).values())
        if n:
            parts.append(_count(n, "unrecognised value"))
        read = []
        if len(self.get("sheets") or []) > 1:
            read.append(f"{len(self['sheets'])} sheets")
        if self.get("encoding") not in (None, "utf-8", "utf-8-sig"):
            read.append(f"decoded as {self['encoding']}")
        tail = f" ({', '.join(read)})" if read else ""
        head = f"{self.get('kind', 'join')} join by {self.get('key', '?')}"
        return f"{head}: " + ", ".join(parts) + tail

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


def _read_table(
    source: Any, *, sheet: str | int | None, encoding: str | None, kind: str
) -> tuple[pd.DataFrame, str, Table]:
    """The file (or frame) as a DataFrame, its name for messages, and how it was read."""
    table = read_table(source, sheet=sheet, encoding=encoding, kind=kind)
    return table.frame, table.name, table


#: The CLI flag of each column parameter (the others have none: the CLI hint says to rename).
_COLUMN_FLAGS = {
    "sex": "--sex-column",
    "race_ethnicity": "--race-column",
    "hired": "--hired-column",
}


def _column_hints(
    param: str, value: str | None, *, role: str, alternative: str = ""
) -> dict[str, str]:
    """Hints to pass ``param=value`` (Python) / its flag or a rename (CLI)."""
    shown = repr(value) if value is not None else "'<column>'"
    flag = _COLUMN_FLAGS.get(param)
    if flag:
        cli = f"pass {flag} {shlex.quote(value) if value is not None else '<column>'}"
    else:
        cli = f"rename {'that' if value is not None else 'the'} column to {role!r} in the file"
    return {"python_hint": f"pass {param}={shown}{alternative}", "cli_hint": cli}


def _find_column(
    df: pd.DataFrame,
    explicit: str | None,
    synonyms: Iterable[str],
    *,
    param: str,
    what: str,
    source: str = "the file",
) -> str | None:
    normed = {}
    for c in df.columns:
        normed.setdefault(_norm_col(c), c)
    if explicit is not None:
        if explicit in df.columns:
            return explicit
        if _norm_col(explicit) in normed:
            return normed[_norm_col(explicit)]
        close = difflib.get_close_matches(_norm_col(explicit), list(normed), n=1, cutoff=0.6)
        guess = str(normed[close[0]]) if close else None
        flag = _COLUMN_FLAGS.get(param)
        hints = _column_hints(param, guess, role=param)
        raise DataError(
            f"{source} has no column {explicit!r} (asked for as the {what} column); its columns "
            f"are {[str(c) for c in df.columns]}" + (f"; did you mean {guess!r}?" if guess else ""),
            python_hint=f"fix {param}={explicit!r}: " + hints["python_hint"],
            # only the flagged parameters can come from the command line
            cli_hint=f"fix {flag} {shlex.quote(explicit)}: " + hints["cli_hint"] if flag else None,
        )
    for s in synonyms:
        if s in normed:
            return normed[s]
    return None


#: Words that mark a column as a likely (renamed) column of each role.
_ROLE_WORDS = {
    "sex": ("sex", "gender"),
    "race_ethnicity": ("race", "ethnic", "ethnicity", "ethnicities"),
    "hired": ("hire", "hired", "hiring", "offer", "outcome", "decision", "selected"),
    "performance": ("perf", "performance", "rating", "review"),
    "retention": ("retention", "retained", "tenure", "employed"),
}


_ANY_KEY = {name for names in _KEY_SYNONYMS.values() for name in names}


def _suggest_column(
    df: pd.DataFrame,
    role: str,
    parse: Callable[[Any], bool] | None,
    *,
    taken: Iterable[Any] = (),
) -> str | None:
    """The column most likely meant for ``role``: by its name's words, then by its values.

    A column qualifies when a word of its name starts with one of the role's words
    ("Ethnic Group" for race/ethnicity), or when most of its non-blank cells parse as the role's
    values (``parse``; None for roles whose values say little, like numbers) — the values
    decide between several candidates. Key columns (email, ids) never qualify.

    Examples
    --------
    >>> df = pd.DataFrame({"email": ["a@x"], "Ethnic Group": ["Asian"], "Q7": ["White"]})
    >>> _suggest_column(df, "race_ethnicity", _is_answer(map_race_ethnicity))
    'Ethnic Group'
    """
    taken = {str(t) for t in taken if t is not None}
    best: tuple[float, int, str] | None = None
    for order, col in enumerate(df.columns):
        if str(col) in taken or _norm_col(col) in _ANY_KEY:
            continue
        words = _norm_col(col).split("_")
        named = any(w.startswith(r) for w in words for r in _ROLE_WORDS[role])
        cells = [v for v in df[col].head(500) if _norm_text(v) != ""] if parse else []
        share = sum(map(parse, cells)) / len(cells) if cells and parse else 0.0
        if not named and share < 0.5:
            continue
        score = share + (1.0 if named else 0.0)
        if best is None or score > best[0]:
            best = (score, order, str(col))
    return None if best is None else best[2]


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

    return pd.Series([norm(v) for v in _cells(series)], index=series.index, dtype="str")


def _resolve_key(
    df: pd.DataFrame, key: str, key_column: str | None, what: str, source: str = "the file"
) -> str:
    flag = f"--{what}-key"
    if key not in _KEY_KINDS:
        raise DataError(
            f"key={key!r} is not a join key; use one of {list(_KEY_KINDS)} "
            f"(and key_column='<column>' when the file names it differently)"
        )
    col = _find_column(
        df, key_column, _KEY_SYNONYMS[key], param="key_column", what=f"the {key} key",
        source=source,
    )  # fmt: skip
    if col is not None:
        return col
    others = {
        k: c
        for k in _KEY_KINDS
        if k != key
        and (c := _find_column(df, None, _KEY_SYNONYMS[k], param="", what="")) is not None
    }
    found = f"{what} file {source} has no usable {key} column to join on; columns found: "
    found += f"{[str(c) for c in df.columns]}"
    if others:
        has = ", ".join(repr(str(c)) for c in others.values())
        raise DataError(
            f"{found}; this file has {has}",
            python_hint=" or ".join(f"pass key={k!r}" for k in others),
            cli_hint=" or ".join(f"pass {flag} {k}" for k in others),
        )
    raise DataError(
        found,
        python_hint="pass key='email'|'interview_id'|'external_id' with key_column='<column>'",
        cli_hint=(
            f"rename the column holding the key to 'email', 'interview_id' or 'external_id' "
            f"and pass {flag} accordingly"
        ),
    )


def _lines(index: Iterable[int]) -> list[int]:
    """File line numbers of data rows (header is line 1)."""
    return [int(i) + 2 for i in index]


def _cell_text(df: pd.DataFrame, column: str | None, line: int, parsed: Any) -> str:
    """The file's own text of a cell (``"No"``), for messages; the parsed value without it."""
    if column is None or column not in df.columns or not 0 <= line - 2 < len(df):
        return str(parsed)
    raw = df[column].iloc[line - 2]
    return str(raw).strip() if raw is not None and not pd.isna(raw) else str(parsed)


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
    table: Table | None = None,
) -> pd.DataFrame:
    """The shared engine: dedupe people, resolve conflicts, join to interviews, report."""
    if on_conflict not in ("error", "unknown", "first", "last"):
        raise DataError(f"on_conflict={on_conflict!r}; use 'error', 'unknown', 'first' or 'last'")
    where = table.where if table is not None else (lambda line: f"line {line}")
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
    if len(df) and no_key.all():
        raise DataError(
            f"{source_name}: none of its {_count(len(df), 'row')} has a value in the key column "
            f"{str(key_col)!r}, so nobody can be joined; fill in the {key} column (an Excel "
            f"column of formulas must be calculated and saved first), or join by another key",
            python_hint="e.g. key='interview_id'",
            cli_hint=f"e.g. --{kind}-key interview_id",
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
                raw_col = columns.get(col)
                conflicts.extend(
                    {
                        "line": int(ln),
                        "column": col,
                        "value": str(v),
                        "cell": _cell_text(df, raw_col, ln, v),
                    }
                    for ln, v in known
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
        shown = "; ".join(
            f"{where(c['line'])}: {columns.get(c['column'], c['column'])}={c['cell']!r}"
            for c in conflicts[:12]
        )
        more = f" (and {len(conflicts) - 12} more)" if len(conflicts) > 12 else ""
        who = _count(conflicted_people, "person has", "people have")
        raise DataError(
            f"{source_name}: {who} conflicting {kind} rows (same {key}, different values): "
            f"{shown}{more}.",
            python_hint="Fix the file, or pass on_conflict='unknown' (count them as unknown), "
            "'first' or 'last'",
            cli_hint="Fix the file, or pass --on-conflict unknown (count them as unknown), "
            "first or last",
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
        col: int(sum(is_unknown(col, v) for v in _cells(people[col]))) for col in values.columns
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


def _cells(s: pd.Series) -> Any:
    """The cells of ``s`` as iterating it gives them; text converted in one step (iterating an
    arrow-backed column makes a Python scalar per cell: ~1 s for two columns of 100,000 rows).

    Examples
    --------
    >>> list(_cells(pd.Series(["a", None], dtype="str")))
    ['a', nan]
    """
    if isinstance(s.dtype, pd.StringDtype):
        return s.to_numpy(dtype=object)
    return s


def _map_column(
    raw: pd.Series,
    mapper: Callable[[Any], tuple[Any, str]],
    name: str,
    counts: dict[str, dict[str, Counter[str]]],
) -> list[Any]:
    per = counts.setdefault(name, {})
    out = []
    cache: dict[Any, Any] = {}
    for v in _cells(raw):
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
    table: Table,
    extra: Mapping[str, Any] | None = None,
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
        table=table,
    )
    rep = out.attrs["join_report"]
    rep["file_columns"] = [str(c) for c in df.columns]
    if table.encoding is not None:
        rep["encoding"] = table.encoding
    if table.sheets:
        rep["sheets"] = [dict(s) for s in table.sheets]
    rep.update(extra or {})
    _warn_unrecognised(counts, source, what)
    return out


# ----------------------------------------------------------------------------- public readers

_SEX_SYNONYMS = ("sex", "gender", "sex_gender", "gender_sex", "gender_identity", "eeo_sex",
                 "eeo_gender", "sex_at_birth")  # fmt: skip
_RACE_SYNONYMS = ("race_ethnicity", "race_and_ethnicity", "race_or_ethnicity", "raceethnicity",
                  "ethnicity_race", "eeo_race", "eeo_race_ethnicity", "race", "ethnicity")  # fmt: skip
_HISPANIC_SYNONYMS = ("hispanic_or_latino", "hispanic_latino", "hispanic", "is_hispanic",
                      "latino", "hispanic_ethnicity")  # fmt: skip


_DIMENSION_WORDS = {"sex": "sex/gender", "race_ethnicity": "race/ethnicity"}


def _is_answer(mapper: Callable[[Any], tuple[str, str]]) -> Callable[[Any], bool]:
    return lambda v: mapper(v)[1] in ("known", "outside")


def _refuse_missing_dimensions(
    df: pd.DataFrame, source: str, missing: list[str], taken: list[Any]
) -> None:
    """The error for demographic columns not found: the columns, a likely one, the fix."""
    parsers = {"sex": _is_answer(map_sex), "race_ethnicity": _is_answer(map_race_ethnicity)}
    guesses = {d: _suggest_column(df, d, parsers[d], taken=taken) for d in missing}
    words = " nor a ".join(_DIMENSION_WORDS[d] for d in missing)
    text = (
        f"demographics file {source} has {'neither a ' if len(missing) > 1 else 'no '}{words} "
        f"column; columns found: {[str(c) for c in df.columns]}"
    )
    named = [g for g in guesses.values() if g is not None]
    if named:
        text += f"; did you mean {' and '.join(map(repr, named))}?"
    py, cli = [], []
    for d, guess in guesses.items():
        hints = _column_hints(d, guess, role=d)
        py.append(hints["python_hint"].removeprefix("pass "))
        cli.append(hints["cli_hint"].removeprefix("pass "))
    py_hint, cli_hint = "pass " + " and ".join(py), "pass " + " and ".join(cli)
    if len(missing) == 1 and not named:
        d = missing[0]
        other = _DIMENSION_WORDS["sex" if d != "sex" else "race_ethnicity"]
        tail = f" if the file has no {_DIMENSION_WORDS[d]} answers (the audit then covers {other} only)"
        py_hint += f", or {d}=False{tail}"
        cli_hint += f", or {_COLUMN_FLAGS[d]} none{tail}"
    raise DataError(text, python_hint=py_hint, cli_hint=cli_hint)


def _sheet_arg(sheet: str | int | None, sheet_name: str | int | None) -> str | int | None:
    if sheet_name is not None and sheet is not None and sheet_name != sheet:
        raise DataError(f"sheet={sheet!r} and sheet_name={sheet_name!r} disagree; pass sheet= only")
    return sheet if sheet is not None else sheet_name


def read_demographics(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    key: KeyKind = "email",
    sex: str | Literal[False] | None = None,
    race_ethnicity: str | Literal[False] | None = None,
    data: InterviewData | None = None,
    key_column: str | None = None,
    hispanic: str | None = None,
    on_conflict: OnConflict = "error",
    strict: bool = False,
    sheet: str | int | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
) -> pd.DataFrame:
    """Read voluntary self-identification data and map it to EEO-1 categories.

    Parameters
    ----------
    path_or_frame
        CSV/TSV/Excel path or a DataFrame (read by :func:`~milo_analytics.table_files.read_table`:
        empty and header-only files, undecodable text and Excel formulas without saved values
        are errors).
    key
        How rows are joined: ``"email"`` (case/whitespace-insensitive), ``"interview_id"`` or
        ``"external_id"`` (candidate metadata ``external_id``). The key column is found by name
        (e.g. "Email Address"); ``key_column=`` names it explicitly.
    sex, race_ethnicity
        Column names; found automatically ("Gender", "Race/Ethnicity", "Race", …) when None.
        Each must be found: a file without one is an error that lists the columns and names a
        likely one ("did you mean 'Ethnic Group'?"). ``False`` says the file has no such
        answers: the column is all ``"Unknown"``, ``join_report["absent"]`` lists it, and
        :func:`~milo_analytics.analysis.bias_audit` audits the other dimension only.
        A separate Hispanic/Latino yes/no column (``hispanic=``, auto-detected) overrides race
        with "Hispanic or Latino" when yes, as on the EEO-1 form.
    data
        :class:`~milo_analytics.frames.InterviewData` to join to ``interview_id``.
    on_conflict
        The rule for people whose rows disagree (see the module docstring); default ``"error"``.
    strict
        Raise on unrecognised spellings instead of counting them as Unknown (with a warning).
    sheet
        Excel: the sheet (name or 0-based index); default every sheet — concatenated when they
        share a header (with a warning), an error when they differ.
    encoding
        Text files: the encoding (default: from the byte-order mark, else UTF-8).
    sheet_name
        The former name of ``sheet=``.

    Returns
    -------
    DataFrame
        ``interview_id`` (``posting_id`` with ``data``), the key column, ``sex``,
        ``race_ethnicity`` (EEO-1 labels or ``"Unknown"``), ``.attrs["join_report"]``.

    Raises
    ------
    DataError
        An unreadable, empty or header-only file; no usable key column (the message lists the
        columns found and the ``key=`` to pass) or no key value in any row; a sex or
        race/ethnicity column not found; conflicting duplicate people (with the lines); or
        (``strict=True``) unrecognised spellings.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"interview_id": ["i1", "i2"], "sex": ["M", ""],
    ...                    "race": ["2+ races", "Black"]})
    >>> read_demographics(df, key="interview_id")[["sex", "race_ethnicity"]].values.tolist()
    [['Male', 'Two or More Races'], ['Unknown', 'Black or African American']]
    >>> renamed = df.rename(columns={"race": "Ethnic Group"})
    >>> read_demographics(renamed, key="interview_id")
    Traceback (most recent call last):
    ...
    milo_analytics.errors.DataError: demographics file DataFrame has no race/ethnicity column; columns found: ['interview_id', 'sex', 'Ethnic Group']; did you mean 'Ethnic Group'? pass race_ethnicity='Ethnic Group'
    """
    df, source, table = _read_table(
        path_or_frame, sheet=_sheet_arg(sheet, sheet_name), encoding=encoding,
        kind="demographics",
    )  # fmt: skip
    key_col = _resolve_key(df, key, key_column, "demographics", source)
    if sex is False and race_ethnicity is False:
        raise DataError(
            "sex=False and race_ethnicity=False leave nothing to read; name at least one column"
        )
    find = {"source": source}
    sex_col = (
        None if sex is False
        else _find_column(df, sex, _SEX_SYNONYMS, param="sex", what="sex", **find)
    )  # fmt: skip
    race_col = (
        None if race_ethnicity is False
        else _find_column(df, race_ethnicity, _RACE_SYNONYMS, param="race_ethnicity",
                          what="race/ethnicity", **find)
    )  # fmt: skip
    hisp_col = _find_column(df, hispanic, _HISPANIC_SYNONYMS, param="hispanic", what="Hispanic",
                            **find)  # fmt: skip
    if hisp_col == race_col:
        hisp_col = None
    absent = [d for d, v in (("sex", sex), ("race_ethnicity", race_ethnicity)) if v is False]
    missing = [
        d for d, col in (("sex", sex_col), ("race_ethnicity", race_col))
        if col is None and d not in absent
    ]  # fmt: skip
    if missing:
        _refuse_missing_dimensions(df, source, missing, [key_col, sex_col, race_col, hisp_col])
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
        table=table,
        extra={"absent": absent},
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

OnMixed = Literal["error", "missing"]


def _read_numbers(
    raw: pd.Series,
    name: str,
    column: str,
    *,
    on_mixed: OnMixed,
    per: dict[str, Counter[str]],
    source: str,
    table: Table,
) -> tuple[pd.Series, int]:
    """A numeric outcome column written in one form; a mix is refused (or set missing).

    Returns the Float64 values and the number of cells set missing for their form.
    """
    cache: dict[Any, Any] = {}
    parsed = [_cached(number_form, v, cache) for v in raw]
    forms = Counter(f for _, f in parsed if f != "missing")
    zero_one = all(x in (0.0, 1.0) for x, f in parsed if f == "number")
    if "yes/no" in forms and "number" in forms and zero_one:  # 1/0 beside yes/no is one form
        forms["yes/no"] += forms.pop("number")
    usable = [f for f in forms if f not in ("text", "date")]
    main = (
        "number" if "number" in forms
        else max(usable, key=lambda f: forms[f]) if usable else None
    )  # fmt: skip

    def fits(form: str) -> bool:
        return form == "missing" or form == main or (main == "yes/no" and form == "number")

    odd = [i for i, (_, f) in enumerate(parsed) if not fits(f)]
    if odd and on_mixed == "error":
        shown, per_form = [], Counter()
        for i in odd:
            form = parsed[i][1]
            per_form[form] += 1
            if per_form[form] <= 3 and len(shown) < 9:
                shown.append(
                    f"{str(raw.iloc[i]).strip()!r} ({table.where(i + 2)}, {NUMBER_FORMS[form][0]})"
                )
        more = f" and {len(odd) - len(shown):,} more" if len(odd) > len(shown) else ""
        if main is None:
            what = f"holds no numbers: {', '.join(shown)}{more}"
        else:
            examples = list(dict.fromkeys(
                str(raw.iloc[i]).strip() for i, (_, f) in enumerate(parsed) if f == main
            ))[:3]  # fmt: skip
            what = (
                f"mixes {NUMBER_FORMS[main][1]} ({_count(forms[main], 'cell')}, e.g. "
                f"{', '.join(map(repr, examples))}) with {len(odd):,} other "
                f"{'value' if len(odd) == 1 else 'values'}: {', '.join(shown)}{more}"
            )
        raise DataError(
            f"{source}: the {name} column {column!r} {what}; a number read from those would "
            f"not mean the same thing.",
            python_hint="Fix those cells, or pass on_mixed='missing' to read them as missing "
            "(they are listed in the join report)",
            cli_hint="Fix those cells, or pass --on-mixed missing to read them as missing",
        )
    odd_set = set(odd)
    nums = []
    for i, (v, (x, form)) in enumerate(zip(raw, parsed, strict=True)):
        if i in odd_set or form in ("text", "date"):
            _tally(per, "unrecognised", v)
            nums.append(pd.NA)
            continue
        _tally(per, "declined" if form == "missing" else "known", v)
        nums.append(pd.NA if x is None else x)
    return pd.Series(nums, dtype="Float64"), len(odd)


def _parse_hired_column(
    values: pd.Series, per: dict[str, Counter[str]]
) -> tuple[pd.Series, pd.Series | None]:
    """The hired flags (and hire dates, when any) of a hired or stage column."""
    cache: dict[Any, Any] = {}
    parsed = [_cached(parse_hired, v, cache) for v in values]
    # a column of hire dates: a blank cell means "not hired" (not "unknown")
    date_column = any(d is not None for _, d, _ in parsed) and not any(
        d is None and b is not None for b, d, _ in parsed
    )
    flags, dates = [], []
    for v, (b, d, how) in zip(values, parsed, strict=True):
        if date_column and b is None and _norm_text(v) == "" and how == "declined":
            b, how = False, "known"
        _tally(per, how, v)
        flags.append(pd.NA if b is None else b)
        dates.append(d)
    hire_dates = None
    if any(d is not None for d in dates):
        hire_dates = pd.Series([pd.NaT if d is None else d for d in dates], dtype="datetime64[us]")
    return pd.Series(flags, dtype="boolean"), hire_dates


def _is_hired_value(v: Any) -> bool:
    flag, _, how = parse_hired(v)
    return how == "known" and flag is not None


#: How a likely column of each outcome role is recognised by its values (None: by name only —
#: any numeric column would pass a numbers test).
_TARGET_PARSERS: dict[str, Callable[[Any], bool] | None] = {
    "hired": _is_hired_value,
    "performance": None,
    "retention": None,
}


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
    on_mixed: OnMixed = "error",
    sheet: str | int | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
) -> pd.DataFrame:
    """Read an ATS export of hire outcomes, parsed forgivingly, joined like demographics.

    Parameters
    ----------
    path_or_frame
        CSV/TSV/Excel path or a DataFrame.
    key, key_column, data, on_conflict, strict, sheet, encoding, sheet_name
        As in :func:`read_demographics`.
    hired
        The hired column (auto-detected: "Hired", "Outcome", "Hire Date", …). Yes/No, Y/N,
        Hired/Rejected/Offer declined, 1/0, True/False; a date means hired on that date
        (``hire_date``); blank or in-process values ("Onsite", "Offer") are missing — except
        in a column of hire dates only, where a blank cell means not hired.
        Without a hired column, ``hired`` is derived from ``stage`` the same way; without
        either, ``hired`` is all missing and ``join_report["columns"]`` has no ``"hired"``
        (:func:`require_outcome` then names the columns found and a likely one).
    performance, retention
        Numeric columns, each written in one form: plain numbers ("4.5"), or throughout
        percentages ("87%" → 87), fractions ("4/5" → 4), scientific notation ("1e3" → 1000),
        numbers with text ("4 stars" → 4), yes/no (retention: 1.0/0.0). Blank, "n/a" and
        "pending" are missing.
    on_mixed
        A numeric column that mixes forms ("87%" beside 1–5 ratings, "1e3", "excellent") is an
        error listing the odd cells (``"error"``, the default); ``"missing"`` reads the cells
        of the column's main form (plain numbers when there are any) and sets the others
        missing, counted in ``join_report["unknown_values"]`` and ``join_report["mixed"]``,
        with a warning.
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
        An unreadable, empty or header-only file; no usable key column (the message lists the
        columns found); no outcome column at all; a numeric column mixing forms (unless
        ``on_mixed="missing"``); conflicting duplicate rows; or (``strict=True``)
        unrecognised values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Email": ["a@x.com", "B@x.com ", "c@x.com"],
    ...                    "Hired?": ["Y", "Offer declined", "2024-05-01"], "Rating": ["4.5", "", "3"]})
    >>> out = read_outcomes(df)
    >>> out["hired"].tolist(), out["performance"].tolist()
    ([True, False, True], [4.5, <NA>, 3.0])
    """
    if on_mixed not in ("error", "missing"):
        raise DataError(f"on_mixed={on_mixed!r}; use 'error' or 'missing'")
    df, source, table = _read_table(
        path_or_frame, sheet=_sheet_arg(sheet, sheet_name), encoding=encoding, kind="outcomes"
    )
    key_col = _resolve_key(df, key, key_column, "outcomes", source)
    find = {"source": source}
    hired_col = _find_column(df, hired, _HIRED_SYNONYMS, param="hired", what="hired", **find)
    perf_col = _find_column(
        df, performance, _PERF_SYNONYMS, param="performance", what="performance", **find
    )
    ret_col = _find_column(df, retention, _RETENTION_SYNONYMS, param="retention",
                           what="retention", **find)  # fmt: skip
    stage_col = _find_column(df, stage, _STAGE_SYNONYMS, param="stage", what="stage", **find)
    if stage_col is not None and stage_col == hired_col:
        stage_col = None
    taken = [key_col, hired_col, perf_col, ret_col, stage_col]
    suggestions = {
        role: guess
        for role, col in (("hired", hired_col if hired_col is not None else stage_col),
                          ("performance", perf_col), ("retention", ret_col))
        if col is None
        and (guess := _suggest_column(df, role, _TARGET_PARSERS[role], taken=taken)) is not None
    }  # fmt: skip
    if hired_col is None and perf_col is None and ret_col is None and stage_col is None:
        guess = suggestions.get("hired")
        raise DataError(
            f"outcomes file {source} has no hired, performance, retention or stage column; "
            f"columns found: {[str(c) for c in df.columns]}"
            + (f"; did you mean {guess!r} for hired?" if guess else ""),
            python_hint=f"pass hired={guess!r}"
            if guess
            else "pass hired='<column>' (or performance=, retention=, stage=)",
            cli_hint=_column_hints("hired", guess, role="hired")["cli_hint"],
        )
    counts: dict[str, dict[str, Counter[str]]] = {}
    cols: dict[str, pd.Series] = {}
    columns = {"key": str(key_col)}
    n = len(df)
    hired_src = hired_col if hired_col is not None else stage_col
    if hired_src is not None:
        cols["hired"], hire_dates = _parse_hired_column(
            df[hired_src], counts.setdefault("hired", {})
        )
        columns["hired"] = str(hired_src)
        if hire_dates is not None:
            cols["hire_date"] = hire_dates
    else:
        cols["hired"] = pd.Series([pd.NA] * n, dtype="boolean")
    mixed: dict[str, int] = {}
    for name, col in (("performance", perf_col), ("retention", ret_col)):
        if col is None:
            continue
        cols[name], n_odd = _read_numbers(
            df[col], name, str(col), on_mixed=on_mixed, per=counts.setdefault(name, {}),
            source=source, table=table,
        )  # fmt: skip
        if n_odd:
            mixed[name] = n_odd
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
        table=table,
        extra={"suggestions": suggestions, "mixed": mixed},
    )


def require_outcome(outcomes: pd.DataFrame, target: str) -> None:
    """Raise unless ``outcomes`` holds a ``target`` column read from the file.

    :func:`read_outcomes` always returns a ``hired`` column (all missing when the file has
    neither a hired nor a stage column). Call this before using a target so that a renamed
    or missing column is named as such — with the file's columns and a likely one — instead
    of surfacing later as "no outcome row matched".

    Parameters
    ----------
    outcomes
        A frame returned by :func:`read_outcomes` (or any frame with the target column).
    target
        ``"hired"``, ``"performance"`` or ``"retention"``.

    Raises
    ------
    DataError
        The file had no such column.

    Examples
    --------
    >>> import pandas as pd
    >>> oc = read_outcomes(pd.DataFrame({"email": ["a@x"], "Offer status": ["Yes"],
    ...                                  "rating": ["4"]}))
    >>> require_outcome(oc, "performance")
    >>> require_outcome(oc, "hired")
    Traceback (most recent call last):
    ...
    milo_analytics.errors.DataError: the outcomes (DataFrame) have no 'hired' column (1 row read, 1 person); columns found: ['email', 'Offer status', 'rating']; did you mean 'Offer status'? pass hired='Offer status' to read_outcomes
    """
    rep = outcomes.attrs.get("join_report") or {}
    read_from = rep.get("columns")
    if target in outcomes.columns and (read_from is None or target in read_from):
        return
    found = rep.get("file_columns") or [str(c) for c in outcomes.columns]
    guess = (rep.get("suggestions") or {}).get(target)
    counts = ""
    if rep:
        counts = f" ({_count(rep.get('rows', 0), 'row')} read, "
        counts += f"{_count(rep.get('people', 0), 'person', 'people')}"
        if rep.get("matched") is not None:
            counts += f", {rep['matched']:,} matched"
        counts += ")"
    hints = _column_hints(target, guess, role=target)
    raise DataError(
        f"the outcomes ({rep.get('source', 'frame')}) have no {target!r} column{counts}; "
        f"columns found: {found}" + (f"; did you mean {guess!r}?" if guess else ""),
        python_hint=hints["python_hint"] + " to read_outcomes",
        cli_hint=hints["cli_hint"],
    )
