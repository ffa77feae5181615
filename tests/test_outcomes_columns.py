"""Columns the readers must recognise or refuse (issue 12): a renamed demographic header, a
renamed ``hired`` column, numeric outcome columns that mix forms. Inputs are the demo world's
files (data/demo) changed the way the issue describes.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from milo_analytics import read_demographics, read_outcomes, suggest_weights
from milo_analytics.errors import DataError
from milo_analytics.load import load_documents
from milo_analytics.outcomes import number_form, require_outcome
from milo_analytics.sandbox.world import demo_world_path

DEMO = demo_world_path()
CSR = "8B4AE5F1"  # Customer Service Representative (data/demo/README.md)


@pytest.fixture(scope="module")
def csr_data():
    return load_documents(DEMO).filter(posting_id=[CSR])


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)


# ----------------------------------------------------------------------------- demographics


def test_renamed_race_header_is_refused_with_a_suggestion(tmp_path) -> None:
    path = tmp_path / "eeo.csv"
    _raw("demographics.csv").rename(columns={"race_ethnicity": "Ethnic Group"}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError) as exc:
        read_demographics(path)
    err = exc.value
    assert str(err) == (
        "demographics file eeo.csv has no race/ethnicity column; columns found: ['email', "
        "'sex', 'Ethnic Group']; did you mean 'Ethnic Group'? pass race_ethnicity='Ethnic Group'"
    )
    assert err.cli_message().endswith(
        "did you mean 'Ethnic Group'? pass --race-column 'Ethnic Group'"
    )
    # the suggested fix works and gives the original's answers
    fixed = read_demographics(path, race_ethnicity="Ethnic Group")
    pd.testing.assert_frame_equal(fixed, read_demographics(DEMO / "demographics.csv"))


def test_a_header_that_says_nothing_is_suggested_by_its_values() -> None:
    raw = _raw("demographics.csv").rename(columns={"sex": "Q3"})
    with pytest.raises(DataError, match=r"no sex/gender column.*did you mean 'Q3'\? pass sex='Q3'"):
        read_demographics(raw)


def test_no_demographic_column_names_both_fixes() -> None:
    raw = _raw("demographics.csv").rename(columns={"sex": "Q3", "race_ethnicity": "Q4"})
    with pytest.raises(DataError) as exc:
        read_demographics(raw)
    assert "has neither a sex/gender nor a race/ethnicity column" in str(exc.value)
    assert str(exc.value).endswith("pass sex='Q3' and race_ethnicity='Q4'")
    assert exc.value.cli_message().endswith("pass --sex-column Q3 and --race-column Q4")


def test_a_missing_dimension_without_a_likely_column_offers_false() -> None:
    raw = _raw("demographics.csv").drop(columns="race_ethnicity")
    with pytest.raises(DataError) as exc:
        read_demographics(raw)
    assert "or race_ethnicity=False if the file has no race/ethnicity answers" in str(exc.value)
    assert "or --race-column none if the file" in exc.value.cli_message()
    out = read_demographics(raw, race_ethnicity=False)
    rep = out.attrs["join_report"]
    assert rep["absent"] == ["race_ethnicity"] and "race_ethnicity" not in rep["columns"]
    assert set(out["race_ethnicity"]) == {"Unknown"} and "Female" in set(out["sex"])
    with pytest.raises(DataError, match="leave nothing to read"):
        read_demographics(raw, race_ethnicity=False, sex=False)


def test_an_explicit_column_that_does_not_exist_names_the_value_and_a_near_miss() -> None:
    raw = _raw("demographics.csv").rename(columns={"race_ethnicity": "Ethnic Group"})
    with pytest.raises(DataError) as exc:
        read_demographics(raw, race_ethnicity="Ethnic Groups")
    err = exc.value
    assert "has no column 'Ethnic Groups'" in str(err) and "did you mean 'Ethnic Group'?" in str(
        err
    )
    assert "fix race_ethnicity='Ethnic Groups'" in str(err)
    assert (
        "fix --race-column 'Ethnic Groups': pass --race-column 'Ethnic Group'" in err.cli_message()
    )


# ----------------------------------------------------------------------------- outcomes


def test_renamed_hired_column_is_named_as_missing_not_as_a_join_problem(tmp_path, csr_data) -> None:
    path = tmp_path / "ats.csv"
    _raw("outcomes.csv").rename(columns={"hired": "Hiring Outcome"}).to_csv(path, index=False)
    oc = read_outcomes(path, data=csr_data, on_conflict="unknown")
    rep = oc.attrs["join_report"]
    assert rep["matched"] == 1133  # the join is fine: 1,133 people matched
    assert "hired" not in rep["columns"] and rep["suggestions"] == {"hired": "Hiring Outcome"}
    with pytest.raises(DataError) as exc:
        require_outcome(oc, "hired")
    msg = str(exc.value)
    assert "the outcomes (ats.csv) have no 'hired' column" in msg and "1,133 matched" in msg
    assert "'Hiring Outcome', 'performance']" in msg  # the columns found
    assert msg.endswith(
        "did you mean 'Hiring Outcome'? pass hired='Hiring Outcome' to read_outcomes"
    )
    assert exc.value.cli_message().endswith("pass --hired-column 'Hiring Outcome'")
    # suggest_weights says the same, not "no outcome row … matched … check the join key"
    with pytest.raises(DataError) as exc:
        suggest_weights(csr_data, oc, posting_id=CSR, n_boot=0)
    assert "no 'hired' column" in str(exc.value) and "join key" not in str(exc.value)
    require_outcome(oc, "performance")  # present: no error
    fixed = read_outcomes(path, data=csr_data, on_conflict="unknown", hired="Hiring Outcome")
    want = read_outcomes(DEMO / "outcomes.csv", data=csr_data, on_conflict="unknown")
    pd.testing.assert_frame_equal(fixed, want)


def test_no_outcome_column_at_all_suggests_the_renamed_one() -> None:
    raw = pd.DataFrame({"email": ["a@x", "b@x"], "Offer Status": ["Yes", "No"]})
    with pytest.raises(DataError) as exc:
        read_outcomes(raw)
    assert "did you mean 'Offer Status' for hired? pass hired='Offer Status'" in str(exc.value)
    assert exc.value.cli_message().endswith("pass --hired-column 'Offer Status'")


def _with_cells(cells: dict[int, str]) -> pd.DataFrame:
    raw = _raw("outcomes.csv")
    rated = raw.index[raw["performance"] != ""]
    for k, value in cells.items():
        raw.loc[rated[k], "performance"] = value
    return raw


def test_mixed_numeric_forms_are_refused_with_examples() -> None:
    # the cells beside the demo's 1–5 ratings: before, "87%" read as 87 and "1e3" as 1.0
    raw = _with_cells({0: "87%", 1: "1e3", 2: "excellent"})
    with pytest.raises(DataError) as exc:
        read_outcomes(raw, on_conflict="unknown")
    err = exc.value
    msg = str(err)
    assert "the performance column 'performance' mixes plain numbers (" in msg
    assert "with 3 other values: '87%' (line 2, a percentage), '1e3' (line 5, scientific " in msg
    assert "'excellent' (line 21, not a number)" in msg  # file lines of rows 0, 3, 19
    assert "on_mixed='missing'" in msg and "--on-mixed missing" in err.cli_message()
    assert "on_mixed" not in err.cli_message()


def test_on_mixed_missing_reads_the_plain_numbers_and_lists_the_rest() -> None:
    raw = _with_cells({0: "87%", 1: "1e3", 2: "excellent"})
    want = read_outcomes(_raw("outcomes.csv"), on_conflict="unknown")
    with pytest.warns(UserWarning, match="'87%'"):
        got = read_outcomes(raw, on_conflict="unknown", on_mixed="missing")
    rep = got.attrs["join_report"]
    assert rep["mixed"] == {"performance": 3}
    assert rep["unknown_values"]["performance"] == {"87%": 1, "1e3": 1, "excellent": 1}
    changed = got["performance"].isna() & want["performance"].notna()
    assert int(changed.sum()) == 3
    same = ~changed
    pd.testing.assert_series_equal(got["performance"][same], want["performance"][same])
    assert got["performance"].max() <= 5  # no 87 or 1000 among 1–5 ratings
    with pytest.raises(DataError, match="on_mixed='maybe'"):
        read_outcomes(raw, on_mixed="maybe")


def test_a_column_written_in_one_form_is_read() -> None:
    raw = pd.DataFrame(
        {
            "email": ["a@x", "b@x", "c@x", "d@x"],
            "performance": ["87%", "92 %", "", "60%"],
            "retention": ["Yes", "no", "1", "0"],  # yes/no beside 1/0 is one form
        }
    )
    out = read_outcomes(raw)
    assert out["performance"].tolist() == [87.0, 92.0, pd.NA, 60.0]
    assert out["retention"].tolist() == [1.0, 0.0, 1.0, 0.0]
    sci = read_outcomes(pd.DataFrame({"email": ["a@x", "b@x"], "tenure": ["1e3", "2.5E2"]}))
    assert sci["retention"].tolist() == [1000.0, 250.0]  # not 1.0 and 2.5


def test_a_column_of_words_holds_no_numbers() -> None:
    raw = pd.DataFrame({"email": ["a@x", "b@x"], "hired": ["Y", "N"], "rating": ["good", "poor"]})
    with pytest.raises(
        DataError, match=r"'rating' holds no numbers: 'good' \(line 2, not a number\)"
    ):
        read_outcomes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = read_outcomes(raw, on_mixed="missing")
    assert out["performance"].isna().all()


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("4", (4.0, "number")), (" 4.5 ", (4.5, "number")), ("-2", (-2.0, "number")),
        (".5", (0.5, "number")), ("4,5", (4.5, "decimal comma")), ("87%", (87.0, "percent")),
        ("4/5", (4.0, "fraction")), ("1e3", (1000.0, "scientific")),
        ("2.5E-1", (0.25, "scientific")), ("yes", (1.0, "yes/no")), ("N", (0.0, "yes/no")),
        ("4 stars", (4.0, "number with text")), ("excellent", (None, "text")),
        ("2024-03-01", (None, "date")), ("n/a", (None, "missing")), ("", (None, "missing")),
        ("pending", (None, "missing")), (None, (None, "missing")), (3, (3.0, "number")),
        (float("nan"), (None, "missing")), (True, (1.0, "yes/no")),
    ],
)  # fmt: skip
def test_number_forms(cell, expected) -> None:
    assert number_form(cell) == expected
