"""read_demographics / read_outcomes: spellings, the join engine, the join report, bad input."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from milo_analytics import read_demographics, read_outcomes
from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData
from milo_analytics.outcomes import (
    RACE_CATEGORIES,
    JoinReport,
    join_report,
    map_race_ethnicity,
    map_sex,
    parse_hired,
)


def _data() -> InterviewData:
    cands = pd.DataFrame(
        {
            "interview_id": ["iv1", "iv2", "iv3", "iv4"],
            "posting_id": ["P", "P", "P", "Q"],
            "email": ["Ana@Example.com", "bo@example.com", "cy@example.com", "ana@example.com"],
            "status": "completed",
            "external_id": ["ATS-1", "ATS-2", "ATS-3", "ATS-4"],
        }
    )
    return InterviewData(candidates=cands)


# ----------------------------------------------------------------------------- spellings


@pytest.mark.parametrize(
    ("raw", "expected", "how"),
    [
        ("F", "Female", "known"),
        ("female", "Female", "known"),
        (" Woman ", "Female", "known"),
        ("MALE", "Male", "known"),
        ("m", "Male", "known"),
        ("Man", "Male", "known"),
        ("Prefer not to say", "Unknown", "declined"),
        ("", "Unknown", "declined"),
        (None, "Unknown", "declined"),
        ("I don't wish to answer", "Unknown", "declined"),
        ("Non-binary", "Unknown", "outside"),
        ("banana", "Unknown", "unrecognised"),
    ],
)
def test_sex_spellings(raw, expected, how):
    assert map_sex(raw) == (expected, how)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hispanic/Latino", "Hispanic or Latino"),
        ("Latinx", "Hispanic or Latino"),
        ("hispanic or latino", "Hispanic or Latino"),
        ("African American", "Black or African American"),
        ("Black/African-American", "Black or African American"),
        ("2+ races", "Two or More Races"),
        ("Two or More Races (Not Hispanic or Latino)", "Two or More Races"),
        ("White (Not Hispanic or Latino)", "White"),
        ("Caucasian", "White"),
        ("Asian", "Asian"),
        ("Native Hawaiian/Pacific Islander", "Native Hawaiian or Other Pacific Islander"),
        ("American Indian/Alaskan Native", "American Indian or Alaska Native"),
        ("Prefer not to say", "Unknown"),
        ("  ", "Unknown"),
        ("Not Hispanic or Latino", "Unknown"),
    ],
)
def test_race_spellings(raw, expected):
    assert map_race_ethnicity(raw)[0] == expected


def test_race_categories_are_the_seven_eeo1_labels():
    # EEO-1 Component 1 instruction booklet: seven race/ethnicity categories
    assert len(RACE_CATEGORIES) == 7
    assert RACE_CATEGORIES[0] == "Hispanic or Latino"


def test_unknown_spellings_are_counted_reported_and_warned_never_dropped():
    raw = pd.DataFrame(
        {
            "email": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
            "gender": ["F", "Fem-ale?!", "", "M"],
            "race": ["Martian", "White", "Martian", "Latinx"],
        }
    )
    with pytest.warns(UserWarning, match="Martian"):
        out = read_demographics(raw)
    assert len(out) == 4
    rep = out.attrs["join_report"]
    assert rep["unknown_values"]["race_ethnicity"] == {"Martian": 2}
    assert rep["unknown_values"]["sex"] == {"Fem-ale?!": 1}
    assert rep["declined"] == {"sex": 1}
    assert rep["unknown_counts"] == {"sex": 2, "race_ethnicity": 2}
    assert out["race_ethnicity"].tolist() == ["Unknown", "White", "Unknown", "Hispanic or Latino"]


def test_strict_raises_on_unknown_spellings():
    raw = pd.DataFrame({"email": ["a@x.com"], "sex": ["Martian"]})
    with pytest.raises(DataError, match=r"Martian.*strict=False"):
        read_demographics(raw, strict=True, race_ethnicity=False)


def test_separate_hispanic_column_overrides_race():
    raw = pd.DataFrame(
        {"email": ["a@x", "b@x", "c@x"], "race": ["White", "White", "Asian"],
         "Hispanic or Latino": ["Yes", "No", ""]}
    )  # fmt: skip
    out = read_demographics(raw, sex=False)  # the file has no sex answers, on purpose
    assert out["race_ethnicity"].tolist() == ["Hispanic or Latino", "White", "Asian"]


# ----------------------------------------------------------------------------- bad input


def test_no_usable_key_column_lists_columns_and_the_key_to_pass():
    raw = pd.DataFrame({"Candidate Name": ["A"], "Gender": ["F"]})
    with pytest.raises(DataError) as exc:
        read_demographics(raw)
    msg = str(exc.value)
    assert "no usable email column" in msg
    assert "'Candidate Name'" in msg and "'Gender'" in msg
    assert "key_column=" in msg


def test_missing_key_suggests_the_key_the_file_has():
    raw = pd.DataFrame({"Interview ID": ["iv1"], "Gender": ["F"]})
    with pytest.raises(DataError, match=r"pass key='interview_id'"):
        read_demographics(raw, race_ethnicity=False)
    out = read_demographics(raw, key="interview_id", race_ethnicity=False)
    assert out["interview_id"].tolist() == ["iv1"]


def test_bad_key_kind_and_missing_explicit_column():
    raw = pd.DataFrame({"email": ["a@x"], "sex": ["F"]})
    with pytest.raises(DataError, match="not a join key"):
        read_demographics(raw, key="name")
    with pytest.raises(DataError, match=r"columns are \['email', 'sex'\].*sex='Geschlecht'"):
        read_demographics(raw, sex="Geschlecht")


def test_no_demographic_column_at_all():
    with pytest.raises(DataError, match=r"neither a sex/gender nor a race"):
        read_demographics(pd.DataFrame({"email": ["a@x"], "age": [30]}))


def test_conflicting_duplicate_people_error_lists_lines():
    raw = pd.DataFrame(
        {
            "email": ["a@x.com", "b@x.com", "A@X.com ", "b@x.com"],
            "sex": ["Female", "Male", "Male", "Male"],
            "race": ["White", "Asian", "White", ""],
        }
    )
    with pytest.raises(DataError) as exc:
        read_demographics(raw)
    msg = str(exc.value)
    # lines are file lines: header is line 1, first data row line 2
    assert "line 2: sex='Female'" in msg and "line 4: sex='Male'" in msg
    assert "on_conflict=" in msg


def test_duplicate_rule_known_beats_unknown_and_conflict_options():
    raw = pd.DataFrame(
        {
            "email": ["a@x.com", "b@x.com", "A@X.com ", "b@x.com", "c@x.com", "c@x.com"],
            "sex": ["Female", "Male", "Male", "Male", "F", "female"],
            "race": ["White", "", "White", "Asian", "Black", "Black"],
        }
    )
    out = read_demographics(raw, on_conflict="unknown")
    rep = out.attrs["join_report"]
    assert rep["people"] == 3 and rep["duplicates"] == 3 and rep["duplicate_people"] == 3
    assert rep["conflicts"] == 1
    assert [(r["line"], r["column"]) for r in rep["conflict_rows"]] == [(2, "sex"), (4, "sex")]
    got = out.set_index("email")
    assert got.loc["a@x.com", "sex"] == "Unknown"  # conflicting → Unknown
    assert got.loc["a@x.com", "race_ethnicity"] == "White"  # agreeing → kept
    assert got.loc["b@x.com", "race_ethnicity"] == "Asian"  # known beats blank
    assert got.loc["c@x.com", "sex"] == "Female"  # same category, different spelling
    first = read_demographics(raw, on_conflict="first").set_index("email")
    last = read_demographics(raw, on_conflict="last").set_index("email")
    assert (first.loc["a@x.com", "sex"], last.loc["a@x.com", "sex"]) == ("Female", "Male")
    with pytest.raises(DataError, match="on_conflict="):
        read_demographics(raw, on_conflict="max")


def test_rows_without_key_are_reported():
    raw = pd.DataFrame({"email": ["a@x.com", "  ", None], "sex": ["F", "M", "M"]})
    out = read_demographics(raw, race_ethnicity=False)
    rep = out.attrs["join_report"]
    assert len(out) == 1 and rep["no_key"] == 2 and rep["no_key_lines"] == [3, 4]


# ----------------------------------------------------------------------------- the join


def test_email_join_is_case_and_whitespace_insensitive():
    raw = pd.DataFrame(
        {"E-mail Address": [" BO@example.COM ", "cy@example.com", "zed@example.com"],
         "Sex": ["m", "f", "f"], "Race/Ethnicity": ["Asian", "White", "Asian"]}
    )  # fmt: skip
    out = read_demographics(raw, data=_data())
    assert out.columns.tolist()[:3] == ["interview_id", "posting_id", "email"]
    assert out["interview_id"].tolist() == ["iv2", "iv3"]
    assert out["sex"].tolist() == ["Male", "Female"]
    rep = out.attrs["join_report"]
    assert rep["matched"] == 2 and rep["unmatched"] == 1 and rep["unmatched_lines"] == [4]
    assert rep["interviews_matched"] == 2 and rep["interviews_without_row"] == 2
    assert rep["key_column"] == "E-mail Address"


def test_one_person_with_two_interviews_gets_both_and_is_reported():
    raw = pd.DataFrame({"email": ["ana@example.com"], "sex": ["F"], "race": ["Asian"]})
    out = read_demographics(raw, data=_data())
    assert sorted(out["interview_id"]) == ["iv1", "iv4"]
    assert out.attrs["join_report"]["ambiguous"] == 1
    # a posting_id column narrows the join to that posting
    raw["posting_id"] = "Q"
    out = read_demographics(raw, data=_data())
    assert out["interview_id"].tolist() == ["iv4"]


def test_external_id_join_auto_detects_the_column():
    raw = pd.DataFrame({"ATS ID": ["ATS-3", "ATS-9"], "gender": ["Woman", "Man"]})
    out = read_demographics(raw, key="external_id", data=_data(), race_ethnicity=False)
    assert out["interview_id"].tolist() == ["iv3"]
    assert out["race_ethnicity"].tolist() == ["Unknown"]
    assert out.attrs["join_report"]["unmatched"] == 1


def test_interview_id_join_and_unknown_ids():
    raw = pd.DataFrame({"interview_id": ["iv1", "nope"], "sex": ["F", "M"]})
    out = read_demographics(raw, key="interview_id", data=_data(), race_ethnicity=False)
    assert out["interview_id"].tolist() == ["iv1"] and out["posting_id"].tolist() == ["P"]
    assert out.attrs["join_report"]["unmatched"] == 1


def test_join_report_is_pii_free_and_html_escaped():
    raw = pd.DataFrame(
        {"email": ["secret.person@example.com", "bo@example.com"],
         "sex": ["<script>alert(1)</script>", "M"]}
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = read_demographics(raw, data=_data(), race_ethnicity=False)
    rep = join_report(out)
    assert isinstance(rep, JoinReport) and isinstance(rep, dict)
    assert "secret.person" not in repr(dict(rep))
    page = rep._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    with pytest.raises(DataError, match="no join report"):
        join_report(pd.DataFrame())


def test_input_frame_is_not_mutated():
    raw = pd.DataFrame({"Email": [" A@x.com"], "Gender": ["F"]})
    before = raw.copy()
    read_demographics(raw, data=_data(), race_ethnicity=False)
    pd.testing.assert_frame_equal(raw, before)


def test_csv_and_excel_files_read_the_same(tmp_path):
    raw = pd.DataFrame(
        {"Email": ["bo@example.com", "cy@example.com"], "Gender": ["Male", "Prefer not to say"],
         "Race": ["Latinx", "2+ races"]}
    )  # fmt: skip
    csv = tmp_path / "demo.csv"
    csv.write_text(raw.to_csv(index=False), encoding="utf-8-sig")  # BOM as Excel writes it
    xlsx = tmp_path / "demo.xlsx"
    raw.to_excel(xlsx, index=False)
    a = read_demographics(csv, data=_data())
    b = read_demographics(xlsx, data=_data())
    pd.testing.assert_frame_equal(a, b)
    assert a["race_ethnicity"].tolist() == ["Hispanic or Latino", "Two or More Races"]
    assert a.attrs["join_report"]["source"] == "demo.csv"
    with pytest.raises(DataError, match="file not found"):
        read_demographics(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Yes", True), ("y", True), ("TRUE", True), (1, True), (1.0, True), ("1", True),
        ("Hired", True), ("Offer accepted", True), ("2024-03-01", True), ("3/1/2024", True),
        ("No", False), ("N", False), (0, False), ("false", False), ("Rejected", False),
        ("Offer declined", False), ("withdrawn", False),
        ("", None), ("Onsite", None), ("pending", None), (None, None),
    ],
)  # fmt: skip
def test_hired_parsing(raw, expected):
    assert parse_hired(raw)[0] is expected


def test_read_outcomes_parses_forgivingly_and_reports():
    raw = pd.DataFrame(
        {
            "Candidate Email": ["bo@example.com", "cy@example.com", "ana@example.com", "x@y.z"],
            "Hired?": ["Y", "Offer declined", "2024-05-01", "maybe"],
            "Performance Rating": ["4.5", "", "3", "n/a"],
            "Stage": ["Hired", "Rejected", "Hired", "Onsite"],
        }
    )
    with pytest.warns(UserWarning, match="maybe"):
        out = read_outcomes(raw)
    assert out["hired"].tolist() == [True, False, True, pd.NA]
    assert str(out["hired"].dtype) == "boolean"
    assert out["performance"].tolist() == [4.5, pd.NA, 3.0, pd.NA]
    assert out["hire_date"].notna().tolist() == [False, False, True, False]
    assert out["stage"].tolist() == ["Hired", "Rejected", "Hired", "Onsite"]
    rep = out.attrs["join_report"]
    assert rep["unknown_values"] == {"hired": {"maybe": 1}}
    assert rep["columns"]["hired"] == "Hired?"


def test_read_outcomes_joins_like_demographics():
    raw = pd.DataFrame({"interview_id": ["iv1", "iv2", "iv9"], "hired": [1, 0, 1]})
    out = read_outcomes(raw, key="interview_id", data=_data())
    assert out["interview_id"].tolist() == ["iv1", "iv2"]
    assert out["hired"].tolist() == [True, False]
    assert out.attrs["join_report"]["unmatched"] == 1


def test_outcomes_hired_from_stage_when_no_hired_column():
    raw = pd.DataFrame(
        {"email": ["a@x", "b@x", "c@x"], "ATS Stage": ["Hired", "Rejected", "Onsite"]}
    )
    out = read_outcomes(raw)
    assert out["hired"].tolist() == [True, False, pd.NA]


def test_outcomes_without_any_outcome_column():
    raw = pd.DataFrame({"email": ["a@x"], "notes": ["great"]})
    with pytest.raises(
        DataError, match=r"no hired, performance.*columns found: \['email', 'notes'\]"
    ):
        read_outcomes(raw)


def test_outcomes_conflict_and_duplicates():
    raw = pd.DataFrame({"email": ["a@x", "a@x", "b@x", "b@x"], "hired": ["Yes", "No", "Y", "yes"]})
    with pytest.raises(DataError, match=r"line 2: hired=.*line 3: hired="):
        read_outcomes(raw)
    out = read_outcomes(raw, on_conflict="last")
    assert out.set_index("email")["hired"].to_dict() == {"a@x": False, "b@x": True}
    assert out.attrs["join_report"]["duplicates"] == 2


def test_excel_date_cells_mean_hired(tmp_path):
    path = tmp_path / "ats.xlsx"
    pd.DataFrame(
        {"Email": ["a@x", "b@x"], "Hire Date": [pd.Timestamp("2024-02-03"), None]}
    ).to_excel(path, index=False)
    out = read_outcomes(path)
    assert out["hired"].tolist() == [True, False]  # a blank hire date: not hired
    assert out["hire_date"].iloc[0] == pd.Timestamp("2024-02-03")


@pytest.mark.parametrize(
    ("reader", "column"), [(read_demographics, "sex"), (read_outcomes, "hired")]
)
def test_unrecognised_value_warning_points_at_the_callers_line(reader, column):
    # both readers warn from one shared tail (_finish); the stacklevel must still name the caller
    raw = pd.DataFrame({"interview_id": ["i1"], column: ["Martian"]})
    only_sex = {"race_ethnicity": False} if reader is read_demographics else {}
    with pytest.warns(UserWarning, match="Martian") as record:
        reader(raw, key="interview_id", **only_sex)
    assert record[0].filename == __file__
