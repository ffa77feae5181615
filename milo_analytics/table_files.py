"""Read a user's CSV, TSV or Excel file as text cells, refusing what cannot be read faithfully.

:func:`read_table` is the file layer under :func:`~milo_analytics.read_outcomes` and
:func:`~milo_analytics.read_demographics`. It never guesses silently:

- **Encodings.** A byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); without one the
  file must be UTF-8. Anything else is an error that names the encoding the bytes look like
  (UTF-16 without a BOM, cp1252) and the ``encoding=`` to pass.
- **Delimiters.** ``.tsv``/``.tab`` files are tab-separated; other text files are sniffed among
  ``,`` ``;`` tab and ``|`` (comma when the file has a single column).
- **Empty files** (no bytes, or only blank lines) and **header-only files** are errors.
- **Excel.** Every sheet is read: sheets with the same header are concatenated (with a warning
  naming them and their row counts), sheets with different headers are an error listing them,
  and ``sheet=`` picks one. Empty sheets are skipped. Formula cells without a saved value (a
  workbook written by a program and never opened in Excel; openpyxl and pandas read them as
  blank) are an error naming the sheet and cells.

Errors carry a Python hint (``sheet=``, ``encoding=``) and, when ``kind`` says which of the CLI's
files this is, a CLI hint (``--demographics-sheet``, ``--outcomes-encoding``); see
:mod:`milo_analytics.errors`.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "eeo.csv"
>>> _ = path.write_bytes("email;sex\\na@x.com;F\\n".encode("utf-16"))  # with a BOM
>>> table = read_table(path)
>>> table.frame.to_dict("list"), table.encoding, table.delimiter
({'email': ['a@x.com'], 'sex': ['F']}, 'utf-16', ';')
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shlex
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError

__all__ = ["ConcatenatedSheetsWarning", "Table", "read_table"]


class ConcatenatedSheetsWarning(UserWarning):
    """Several Excel sheets with one header were read and concatenated (say which, and how many
    rows each)."""


_EXCEL = (".xlsx", ".xlsm", ".xls")
_FORMULA_SHEETS = (".xlsx", ".xlsm")  # openpyxl formats; .xls (xlrd) always holds values
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DELIMITERS = ",;\t|"
#: What a damaged or mislabelled workbook raises inside pandas/openpyxl/zipfile.
_EXCEL_ERRORS = (ValueError, OSError, KeyError, zipfile.BadZipFile)


@dataclass
class Table:
    """A file read as a DataFrame, with how it was read.

    Attributes
    ----------
    frame : DataFrame
        The cells (text for CSV/TSV; Excel's own types for Excel), one column per header.
    name : str
        The file name (``"DataFrame"`` for a frame).
    encoding, delimiter : str or None
        How a text file was decoded and split (None for Excel and frames).
    sheets : list of dict
        Excel only: the sheets read, each ``{"sheet", "rows", "first_line"}``; ``first_line``
        is the running line number of the sheet's first data row (2 for the first sheet), so
        the line numbers of a concatenation stay unique.
    """

    frame: pd.DataFrame
    name: str
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[dict[str, Any]] = field(default_factory=list)

    def where(self, line: int) -> str:
        """A data row's place for a message: ``"line 7"``, or ``"sheet 'B' row 7"``.

        Examples
        --------
        >>> t = Table(pd.DataFrame(), "x.xlsx", sheets=[{"sheet": "A", "rows": 3, "first_line": 2},
        ...                                             {"sheet": "B", "rows": 9, "first_line": 5}])
        >>> t.where(3), t.where(6)
        ("sheet 'A' row 3", "sheet 'B' row 3")
        """
        if not self.sheets:
            return f"line {line}"
        for s in reversed(self.sheets):
            if line >= s["first_line"]:
                return f"sheet {s['sheet']!r} row {line - s['first_line'] + 2}"
        return f"line {line}"


def _flag(kind: str | None, option: str) -> str | None:
    return f"--{kind}-{option}" if kind else None


def _hints(
    kind: str | None, option: str, value: str | None, *, param: str | None = None, prefix: str = ""
) -> dict[str, str | None]:
    """``python_hint``/``cli_hint`` telling the user to pass ``param=value`` / ``--kind-option``."""
    param = param or option
    shown = repr(value) if value is not None else f"'<{option}>'"
    flag = _flag(kind, option)
    cli_value = shlex.quote(value) if value is not None else f"<{option}>"
    return {
        "python_hint": f"{prefix}pass {param}={shown}",
        "cli_hint": f"{prefix}pass {flag} {cli_value}" if flag else None,
    }


def read_table(
    source: str | Path | pd.DataFrame,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    kind: str | None = None,
) -> Table:
    """Read a CSV/TSV/Excel file (or copy a DataFrame) into a :class:`Table`.

    Parameters
    ----------
    source
        A path (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``, ``.xlsm``, ``.xls``; ``.gz`` text) or a
        DataFrame (copied).
    sheet
        Excel: a sheet name or 0-based index (a string of digits that names no sheet is an
        index); None reads every sheet (see the module
        docstring). Refused for text files.
    encoding
        Text files: the encoding to decode with (default: from the byte-order mark, else
        UTF-8, else an error naming the likely encoding).
    kind
        ``"outcomes"`` or ``"demographics"``: which of the CLI's files this is, so errors can
        name its flags (``--outcomes-sheet``, ``--demographics-encoding``).

    Returns
    -------
    Table

    Raises
    ------
    DataError
        Missing, empty or header-only file; undecodable bytes; a sheet that does not exist;
        sheets with different headers; formula cells without saved values; a DataFrame
        without rows.

    Examples
    --------
    >>> read_table(pd.DataFrame({"a": [1]})).frame["a"].tolist()
    [1]
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if frame.empty:
            raise DataError(
                f"the DataFrame has no rows (columns: {[str(c) for c in frame.columns]}); "
                "pass a frame with one row per person"
            )
        return Table(frame, "DataFrame")
    if not isinstance(source, (str, Path)):
        raise DataError(f"expected a CSV/Excel path or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise DataError(f"file not found: {path}; pass a CSV/Excel path or a DataFrame")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass a CSV or Excel file")
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-2] if suffixes[-1:] == [".gz"] and len(suffixes) > 1 else path.suffix
    suffix = suffix.lower()
    if suffix in _EXCEL:
        if encoding is not None:
            raise DataError(
                f"encoding={encoding!r} applies to text files; {path.name} is an Excel file "
                "(Excel files carry their own encoding): drop it",
                cli_hint=f"drop {_flag(kind, 'encoding')}" if kind else None,
            )
        table = _read_excel(path, suffix, sheet, kind)
    else:
        if sheet is not None:
            raise DataError(
                f"sheet={sheet!r} applies to Excel files; {path.name} is a text file: drop it",
                cli_hint=f"drop {_flag(kind, 'sheet')}" if kind else None,
            )
        table = _read_text(path, suffix, encoding, kind)
    if table.frame.empty:
        raise DataError(
            f"{path.name} has a header but no data rows (columns: "
            f"{[str(c) for c in table.frame.columns]}); export the file again with its rows"
        )
    return table


# ----------------------------------------------------------------------------- text files


def _read_text(path: Path, suffix: str, encoding: str | None, kind: str | None) -> Table:
    try:
        raw = path.read_bytes()
        if path.suffix.lower() == ".gz":
            import gzip

            raw = gzip.decompress(raw)
    except OSError as exc:
        raise DataError(f"could not read {path.name}: {exc}") from exc
    text, used = _decode(raw, path.name, encoding, kind)
    if not text.strip():
        raise DataError(
            f"{path.name} is empty ({len(raw)} bytes, no header row); export the file again "
            "with a header row and one row per person"
        )
    if suffix in (".tsv", ".tab"):
        sep = "\t"
    else:
        sample = "\n".join(text.lstrip("\r\n").splitlines()[:50])
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
        except csv.Error:  # one column (no delimiter at all) or irregular rows
            sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, csv.Error) as exc:
        raise DataError(
            f"could not read {path.name} as a {'tab' if sep == chr(9) else repr(sep)}-separated "
            f"file: {exc}; expected CSV, TSV or Excel"
        ) from exc
    return Table(frame, path.name, encoding=used, delimiter=sep)


def _decode(raw: bytes, name: str, encoding: str | None, kind: str | None) -> tuple[str, str]:
    """The text of ``raw`` and the encoding used (BOM, else UTF-8, else a clear error)."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(
                f"encoding={encoding!r} is not an encoding Python knows; use e.g. 'utf-8', "
                "'utf-16', 'cp1252' or 'latin-1'",
                cli_hint=f"fix {_flag(kind, 'encoding')}" if kind else None,
            ) from None
        for bom, enc in _BOMS:  # an explicit UTF-8 still drops a UTF-8 BOM
            if (
                raw.startswith(bom)
                and enc == "utf-8-sig"
                and codecs.lookup(encoding).name == "utf-8"
            ):
                encoding = enc
        try:
            return _no_nul(raw.decode(encoding), name, kind), encoding
        except UnicodeDecodeError as exc:
            raise DataError(
                f"could not decode {name} with encoding={encoding!r} ({_where_bytes(raw, exc)}); "
                f"the file looks like {_guess(raw)}",
                **_hints(kind, "encoding", _codec(raw)),
            ) from None
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{name} starts with a {enc} byte-order mark but is not valid {enc} "
                    f"({_where_bytes(raw, exc)})",
                    **_hints(kind, "encoding", None, prefix="re-save it as UTF-8, or "),
                ) from None
    try:
        return _no_nul(raw.decode("utf-8"), name, kind), "utf-8"
    except UnicodeDecodeError as exc:
        raise DataError(
            f"could not decode {name} as UTF-8 ({_where_bytes(raw, exc)}); the file looks like "
            f"{_guess(raw)}",
            **_hints(kind, "encoding", _codec(raw), prefix="re-save it as UTF-8, or "),
        ) from None


def _no_nul(text: str, name: str, kind: str | None) -> str:
    """Refuse NUL characters: UTF-16 without a BOM decodes as 'valid' UTF-8 full of them."""
    if "\x00" in text:
        enc = _codec(text.encode("utf-8", "surrogatepass"))
        raise DataError(
            f"{name} contains NUL bytes, so it is not UTF-8 text: it looks like "
            f"{enc.upper()} without a byte-order mark",
            **_hints(kind, "encoding", enc, prefix="re-save it as UTF-8, or "),
        )
    return text


def _utf16_order(raw: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the NUL bytes sit where ASCII in UTF-16 puts them."""
    sample = raw[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _codec(raw: bytes) -> str:
    """The encoding to suggest: UTF-16 LE/BE by its NUL pattern, else cp1252."""
    return _utf16_order(raw) or "cp1252"


def _guess(raw: bytes) -> str:
    order = _utf16_order(raw)
    if order:
        return f"{order.upper()} without a byte-order mark"
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return "neither UTF-8 nor cp1252 (Windows Western European); check how it was exported"
    return "cp1252 (Windows Western European, e.g. an Excel 'CSV' export)"


def _where_bytes(raw: bytes, exc: UnicodeDecodeError) -> str:
    line = raw[: exc.start].count(b"\n") + 1
    return f"byte 0x{raw[exc.start]:02x} on line {line}"


# ----------------------------------------------------------------------------- Excel


def _read_excel(path: Path, suffix: str, sheet: str | int | None, kind: str | None) -> Table:
    try:
        book = pd.ExcelFile(path)
    except _EXCEL_ERRORS as exc:
        raise DataError(f"could not read {path.name} as Excel: {exc}") from exc
    with book:
        names = [str(n) for n in book.sheet_names]
        chosen = names if sheet is None else [_pick_sheet(path.name, names, sheet, kind)]
        if suffix in _FORMULA_SHEETS:
            _refuse_formulas_without_values(path, chosen)
        try:
            frames = {n: pd.read_excel(book, sheet_name=n, dtype=object) for n in chosen}
        except _EXCEL_ERRORS as exc:
            raise DataError(f"could not read {path.name} as Excel: {exc}") from exc
    used = {n: f for n, f in frames.items() if len(f.columns) or len(f)}
    if not used:
        raise DataError(f"{path.name}: every sheet ({', '.join(map(repr, chosen))}) is empty")
    if len(used) == 1:
        ((name, frame),) = used.items()
        return Table(frame, path.name, sheets=[{"sheet": name, "rows": len(frame),
                                                "first_line": 2}])  # fmt: skip
    headers = {n: [str(c) for c in f.columns] for n, f in used.items()}
    if len({tuple(h) for h in headers.values()}) > 1:
        listing = "; ".join(
            f"{n!r} ({_rows(len(used[n]))}: {', '.join(h[:6])}{', …' if len(h) > 6 else ''})"
            for n, h in headers.items()
        )
        largest = max(used, key=lambda n: len(used[n]))
        raise DataError(
            f"{path.name} has {len(used)} sheets with different columns: {listing}; choose the "
            f"sheet to read:",
            **_hints(kind, "sheet", largest, param="sheet"),
        )
    sheets, first = [], 2
    for n, f in used.items():
        sheets.append({"sheet": n, "rows": len(f), "first_line": first})
        first += len(f)
    frame = pd.concat(list(used.values()), ignore_index=True)
    shown = ", ".join(f"{s['sheet']!r} ({_rows(s['rows'])})" for s in sheets)
    warnings.warn(
        f"{path.name}: read {len(sheets)} sheets with the same columns and concatenated them: "
        f"{shown}, {_rows(len(frame))} in all",
        ConcatenatedSheetsWarning,
        stacklevel=5,  # _read_excel <- read_table <- _read_table <- read_* <- the caller
    )
    return Table(frame, path.name, sheets=sheets)


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _pick_sheet(name: str, names: list[str], sheet: str | int, kind: str | None) -> str:
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if -len(names) <= sheet < len(names):
            return names[sheet]
    elif str(sheet) in names:
        return str(sheet)
    elif str(sheet).isdigit() and int(sheet) < len(names):  # "1" from the command line
        return names[int(sheet)]
    raise DataError(
        f"{name} has no sheet {sheet!r}; its sheets are {names}",
        **_hints(kind, "sheet", names[0] if names else None, param="sheet"),
    )


def _refuse_formulas_without_values(path: Path, sheets: list[str]) -> None:
    """Raise when a sheet has formula cells whose saved (cached) value is missing."""
    import openpyxl

    if not _has_formulas(path):  # the common case: skip openpyxl's cell-by-cell pass
        return
    try:
        formulas_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except _EXCEL_ERRORS as exc:
        raise DataError(f"could not read {path.name} as Excel: {exc}") from exc
    try:
        formulas = {
            s: {
                c.coordinate
                for row in formulas_book[s].iter_rows()
                for c in row
                if getattr(c, "data_type", None) == "f"
            }
            for s in sheets
        }
    finally:
        formulas_book.close()
    if not any(formulas.values()):
        return
    values_book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for s in sheets:
            wanted = formulas[s]
            if not wanted:
                continue
            blank = [
                (c.column_letter, c.row)
                for row in values_book[s].iter_rows()
                for c in row
                if getattr(c, "coordinate", None) in wanted and c.value is None
            ]
            if blank:
                ranges = _cell_ranges(blank)
                shown = ", ".join(ranges[:6]) + (
                    f" and {len(ranges) - 6} more" if len(ranges) > 6 else ""
                )
                raise DataError(
                    f"{path.name}, sheet {s!r}: {shown} {'is a formula' if len(blank) == 1 else 'are formulas'} "
                    f"with no saved value{'s' if len(blank) > 1 else ''} (the workbook was written "
                    "by a program and never calculated, so those cells read as blank); open the "
                    "file in Excel and save it, or export it as CSV"
                )
    finally:
        values_book.close()


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (``<f>`` element); cheap."""
    try:
        with zipfile.ZipFile(path) as book:
            return any(
                _FORMULA_TAG.search(book.read(name))
                for name in book.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, OSError, KeyError):
        return True  # let openpyxl look (and fail with its own message)


def _cell_ranges(cells: list[tuple[str, int]]) -> list[str]:
    """``[("B", 2), ("B", 3), ("B", 5)]`` → ``["B2:B3", "B5"]`` (runs down each column).

    Examples
    --------
    >>> _cell_ranges([("B", 3), ("B", 2), ("C", 9), ("B", 5)])
    ['B2:B3', 'B5', 'C9']
    """
    by_col: dict[str, list[int]] = {}
    for col, row in cells:
        by_col.setdefault(col, []).append(row)
    out = []
    for col in sorted(by_col, key=lambda c: (len(c), c)):
        rows = sorted(set(by_col[col]))
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            out.append(f"{col}{start}" if start == prev else f"{col}{start}:{col}{prev}")
            if r is not None:
                start = prev = r
    return out
