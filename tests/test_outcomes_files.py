"""Files as users send them (issue 12): encodings, empty and header-only files, Excel sheets and
formula cells. The inputs are the demo world's own files (data/demo), re-saved the way the issue
describes; each unusable one must be a clear DataError whose fix names the Python parameter in
Python and the CLI flag on the command line.
"""

from __future__ import annotations

import codecs
import re
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from milo_analytics import read_demographics, read_outcomes
from milo_analytics.errors import DataError
from milo_analytics.sandbox.world import demo_world_path
from milo_analytics.table_files import ConcatenatedSheetsWarning, read_table

DEMO = demo_world_path()
DEMOGRAPHICS = DEMO / "demographics.csv"
N_ROWS = 1383  # rows of data/demo/demographics.csv (the issue's "1383 rows")


@pytest.fixture(scope="module")
def demographics_text() -> str:
    return DEMOGRAPHICS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """The demo demographics read from the original UTF-8 CSV."""
    return read_demographics(DEMOGRAPHICS)


def test_the_demo_file_has_the_issues_row_count(reference: pd.DataFrame) -> None:
    assert reference.attrs["join_report"]["rows"] == N_ROWS


# ----------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("codec", "bom", "used"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),  # Excel's "Unicode Text"
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),  # Excel's "CSV UTF-8"
    ],
)
def test_byte_order_marks_are_detected(
    tmp_path: Path, demographics_text: str, reference: pd.DataFrame, codec: str, bom: bytes,
    used: str,
) -> None:  # fmt: skip
    path = tmp_path / "eeo.csv"
    path.write_bytes(bom + demographics_text.encode(codec))
    got = read_demographics(path)
    # the same people and categories as the UTF-8 original: no garbled header, no lost rows
    pd.testing.assert_frame_equal(got, reference)
    assert got.attrs["join_report"]["encoding"] == used
    assert got.attrs["join_report"]["columns"]["key"] == "email"


def test_excel_unicode_text_export_is_utf16_and_tab_separated(tmp_path: Path) -> None:
    text = "Email\tHired\tPerformance\r\njosé@x.com\tSí\t4\r\nbo@x.com\tNo\t3\r\n"
    path = tmp_path / "ats.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    table = read_table(path)
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.frame.columns.tolist() == ["Email", "Hired", "Performance"]
    assert table.frame["Email"].tolist() == ["josé@x.com", "bo@x.com"]


def test_utf16_without_a_bom_is_named_in_the_error(tmp_path: Path, demographics_text: str) -> None:
    path = tmp_path / "eeo.csv"
    path.write_bytes(demographics_text.encode("utf-16-le"))  # pure ASCII: "valid" UTF-8 + NULs
    with pytest.raises(DataError) as exc:
        read_demographics(path)
    err = exc.value
    assert "UTF-16-LE without a byte-order mark" in str(err)
    assert "re-save it as UTF-8, or pass encoding='utf-16-le'" in str(err)
    assert err.cli_message().endswith("pass --demographics-encoding utf-16-le")
    got = read_demographics(path, encoding="utf-16-le")
    assert got.attrs["join_report"]["rows"] == N_ROWS


def test_cp1252_is_named_in_the_error_and_readable_on_request(tmp_path: Path) -> None:
    path = tmp_path / "ats.csv"
    path.write_bytes("email,hired,recruiter\na@x.com,Yes,Jörg Müller\n".encode("cp1252"))
    with pytest.raises(DataError) as exc:
        read_outcomes(path)
    err = exc.value
    assert "could not decode ats.csv as UTF-8 (byte 0xf6 on line 2)" in str(err)
    assert "looks like cp1252" in str(err) and "encoding='cp1252'" in str(err)
    assert "--outcomes-encoding cp1252" in err.cli_message()
    assert "encoding=" not in err.cli_message()
    table = read_table(path, encoding="cp1252")
    assert table.frame["recruiter"].tolist() == ["Jörg Müller"]


def test_a_wrong_explicit_encoding_is_an_error_not_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "eeo.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "email,sex\na@x,F\n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"could not decode eeo\.csv with encoding='utf-8'"):
        read_table(path, encoding="utf-8")
    with pytest.raises(DataError, match="not an encoding Python knows"):
        read_table(path, encoding="klingon")


# ----------------------------------------------------------------------------- empty files


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n  \n", codecs.BOM_UTF8])
@pytest.mark.parametrize("reader", [read_outcomes, read_demographics])
def test_an_empty_csv_is_a_clear_data_error(tmp_path: Path, content: bytes, reader) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    # before: csv.Error "Could not determine delimiter" (not a MiloError, so "unexpected")
    with pytest.raises(DataError, match=r"empty\.csv is empty .*no header row"):
        reader(path)


def test_a_header_only_csv_is_an_error(tmp_path: Path, demographics_text: str) -> None:
    path = tmp_path / "eeo.csv"
    path.write_text(demographics_text.splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"eeo\.csv has a header but no data rows"):
        read_demographics(path)


def test_a_header_only_sheet_and_an_empty_frame_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "eeo.xlsx"
    pd.DataFrame(columns=["email", "sex", "race_ethnicity"]).to_excel(path, index=False)
    with pytest.raises(DataError, match="header but no data rows"):
        read_demographics(path)
    with pytest.raises(DataError, match="the DataFrame has no rows"):
        read_demographics(pd.DataFrame(columns=["email", "sex", "race_ethnicity"]))


def test_one_column_csv_has_no_delimiter_to_sniff(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("email\na@x.com\nb@x.com\n", encoding="utf-8")
    assert read_table(path).frame["email"].tolist() == ["a@x.com", "b@x.com"]


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "eeo.csv"
    path.write_text("email;sex;race\na@x.com;F;Asian\n", encoding="utf-8")
    out = read_demographics(path)
    assert out[["sex", "race_ethnicity"]].values.tolist() == [["Female", "Asian"]]


# ----------------------------------------------------------------------------- Excel


def _formula_workbook(path: Path, rows: list[list[str]]) -> None:
    """The demo demographics with the email cells as formulas, as a program writes them:
    openpyxl stores the formula and no calculated value."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Responses"
    ws.append(["respondent", "email", "sex", "race_ethnicity"])
    for i, (email, sex, race) in enumerate(rows, start=1):
        ws.append([i, f'=LOWER("{email}")', sex, race])
    wb.save(path)


def test_formula_cells_without_saved_values_are_named(tmp_path: Path) -> None:
    rows = [r.split(",") for r in DEMOGRAPHICS.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(rows) == N_ROWS
    path = tmp_path / "eeo.xlsx"
    _formula_workbook(path, rows)
    # pandas itself reads those cells as blank: the old "1383 rows without a key"
    assert pd.read_excel(path)["email"].isna().all()
    with pytest.raises(DataError) as exc:
        read_demographics(path)
    msg = str(exc.value)
    assert f"eeo.xlsx, sheet 'Responses': B2:B{N_ROWS + 1} are formulas with no saved values" in msg
    assert "open the file in Excel and save it, or export it as CSV" in msg


def test_formula_cells_with_saved_values_are_read(tmp_path: Path) -> None:
    # what Excel writes: the formula and its cached value (<v>) — nothing to refuse
    path = tmp_path / "eeo.xlsx"
    _formula_workbook(path, [["a@x.com", "F", "Asian"], ["b@x.com", "M", "White"]])
    cached = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(cached, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode("utf-8")
                xml = re.sub(
                    r'<c r="(B\d+)"><f>LOWER\("([^"]+)"\)</f><v\s*/>',
                    lambda m: f'<c r="{m[1]}" t="str"><f>LOWER("{m[2]}")</f><v>{m[2]}</v>',
                    xml,
                )
                assert xml.count("<v>a@x.com</v>") == 1, xml
                data = xml.encode("utf-8")
            dst.writestr(item, data)
    out = read_demographics(cached)
    assert out["email"].tolist() == ["a@x.com", "b@x.com"]


def _two_sheets(path: Path, first: pd.DataFrame, second: pd.DataFrame, names=("H1", "H2")) -> None:
    with pd.ExcelWriter(path) as writer:
        first.to_excel(writer, sheet_name=names[0], index=False)
        second.to_excel(writer, sheet_name=names[1], index=False)


def test_all_sheets_with_one_header_are_read_and_said(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    raw = pd.read_csv(DEMOGRAPHICS, dtype=str, keep_default_na=False)
    path = tmp_path / "eeo.xlsx"
    _two_sheets(path, raw.iloc[:600], raw.iloc[600:], names=("Jan-Jun", "Jul-Dec"))
    with pytest.warns(ConcatenatedSheetsWarning) as record:
        got = read_demographics(path)
    text = str(record[0].message)
    assert "'Jan-Jun' (600 rows), 'Jul-Dec' (783 rows), 1,383 rows in all" in text
    assert record[0].filename == __file__  # points at the caller's line
    pd.testing.assert_frame_equal(got, reference)  # all 1,383 rows, not the first 600
    rep = got.attrs["join_report"]
    assert rep["rows"] == N_ROWS
    assert rep["sheets"] == [
        {"sheet": "Jan-Jun", "rows": 600, "first_line": 2},
        {"sheet": "Jul-Dec", "rows": 783, "first_line": 602},
    ]
    assert "(2 sheets)" in rep.summary()
    # one sheet on request
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_demographics(path, sheet="Jul-Dec")) == 783
        assert len(read_demographics(path, sheet=0)) == 600
        assert len(read_demographics(path, sheet_name="Jul-Dec")) == 783  # the former name


def test_a_conflict_across_sheets_names_the_sheet_and_row(tmp_path: Path) -> None:
    first = pd.DataFrame({"email": ["a@x.com", "b@x.com"], "sex": ["F", "M"], "race": "Asian"})
    second = pd.DataFrame({"email": ["c@x.com", "A@x.com"], "sex": ["M", "M"], "race": "Asian"})
    path = tmp_path / "eeo.xlsx"
    _two_sheets(path, first, second)
    with pytest.warns(ConcatenatedSheetsWarning), pytest.raises(DataError) as exc:
        read_demographics(path)
    msg = str(exc.value)
    assert "sheet 'H1' row 2: sex='F'; sheet 'H2' row 3: sex='M'" in msg
    assert "on_conflict='unknown'" in msg
    assert "--on-conflict unknown" in exc.value.cli_message()


def test_sheets_with_different_headers_are_refused(tmp_path: Path) -> None:
    data = pd.DataFrame({"email": ["a@x.com", "b@x.com"], "sex": ["F", "M"], "race": "White"})
    notes = pd.DataFrame({"note": ["exported 2026-07-01"]})
    path = tmp_path / "eeo.xlsx"
    _two_sheets(path, data, notes, names=("Data", "Notes"))
    with pytest.raises(DataError) as exc:
        read_demographics(path)
    err = exc.value
    assert "eeo.xlsx has 2 sheets with different columns" in str(err)
    assert "'Data' (2 rows: email, sex, race); 'Notes' (1 row: note)" in str(err)
    assert str(err).endswith("choose the sheet to read: pass sheet='Data'")
    assert err.cli_message().endswith("pass --demographics-sheet Data")
    assert read_demographics(path, sheet="Data")["sex"].tolist() == ["Female", "Male"]
    assert len(read_demographics(path, sheet="0")) == 2  # a CLI string of digits is an index
    with pytest.raises(DataError, match=r"no sheet 'Summary'; its sheets are \['Data', 'Notes'\]"):
        read_demographics(path, sheet="Summary")


def test_empty_sheets_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "eeo.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["email", "sex", "race"])
    ws.append(["a@x.com", "F", "Asian"])
    wb.create_sheet("Sheet2")  # Excel's default empty sheets
    wb.create_sheet("Sheet3")
    wb.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing concatenated, nothing to say
        out = read_demographics(path)
    assert out["sex"].tolist() == ["Female"]


def test_sheet_and_encoding_only_apply_where_they_mean_something(tmp_path: Path) -> None:
    csv = tmp_path / "eeo.csv"
    csv.write_text("email,sex,race\na@x,F,Asian\n", encoding="utf-8")
    with pytest.raises(DataError, match="sheet='S' applies to Excel files") as exc:
        read_demographics(csv, sheet="S")
    assert exc.value.cli_message().endswith("drop --demographics-sheet")
    xlsx = tmp_path / "eeo.xlsx"
    pd.read_csv(csv).to_excel(xlsx, index=False)
    with pytest.raises(DataError, match="encoding='cp1252' applies to text files"):
        read_demographics(xlsx, encoding="cp1252")
