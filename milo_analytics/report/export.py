"""Exports of a built report: PDF (headless Chromium), Excel (one sheet per table) and static
figures (PNG/SVG through kaleido, offline).

Chromium is Debian's ``chromium`` package, found on ``PATH`` or named by the
``MILO_ANALYTICS_CHROMIUM`` (or kaleido's ``BROWSER_PATH``) environment variable.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .columns import FORMATS, describe, infer_kind

if TYPE_CHECKING:
    from .document import Report

__all__ = ["find_chromium", "image_session", "save_images", "save_pdf", "to_excel"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str:
    """The headless Chromium to print with, or a :class:`ConfigError` saying how to get one."""
    for var in ("MILO_ANALYTICS_CHROMIUM", "BROWSER_PATH"):
        value = os.environ.get(var)
        if value:
            if Path(value).is_file() or shutil.which(value):
                return shutil.which(value) or value
            raise ConfigError(f"{var}={value!r} is not an executable browser; unset it or fix it")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "PDF export needs headless Chromium and none was found: install Debian's `chromium` "
        "package (apt-get install chromium) or set MILO_ANALYTICS_CHROMIUM to the browser's path"
    )


def save_pdf(report: Report, path: str | Path, *, timeout: float = 180.0) -> Path:
    """Print the report to an A4 PDF with headless Chromium; return the path."""
    from .document import PRINT_WIDTH_PX

    browser = find_chromium()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="milo-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report.to_html(), encoding="utf-8")
        out = Path(tmp) / "report.pdf"
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--run-all-compositor-stages-before-draw",
            # no --virtual-time-budget: the figures draw synchronously before the load event,
            # and Chromium 156 never finishes a print of this page under a virtual-time budget
            # figures are drawn at the printed width (the ?print layout has no margins)
            f"--window-size={PRINT_WIDTH_PX},1100",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri() + "?print",
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f"Chromium did not finish printing the report within {timeout:.0f} s"
            ) from None
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise ConfigError(
                f"Chromium could not print the report (exit {proc.returncode}): " + " | ".join(tail)
            )
        shutil.move(str(out), path)
    return path


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", title).strip() or "table"
    base = re.sub(r"\s+", " ", base)[:28].rstrip()
    name, k = base, 2
    while name.lower() in used:
        name = f"{base[:25].rstrip()} {k}"
        k += 1
    used.add(name.lower())
    return name


def to_excel(report: Report, path: str | Path) -> Path:
    """One sheet per table (labelled headers, frozen header row, number formats), a
    "Contents" sheet naming each table and its section, and a "Columns" glossary."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    contents = wb.active
    contents.title = "Contents"
    contents.append(["sheet", "section", "table", "rows"])
    used = {"contents", "columns"}
    glossary: dict[str, tuple[str, str, str]] = {}
    bold = Font(bold=True)
    for section in report.sections:
        for block in section.blocks:
            frame = block.frame
            if block.kind != "table" or frame is None:
                continue
            title = block.title or section.title
            name = _sheet_name(title, used)
            ws = wb.create_sheet(name)
            contents.append([name, section.title, title, len(frame)])
            shown = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
            cols = list(shown.columns)
            labels = []
            for c in cols:
                info = describe(c)
                labels.append(info.label)
                glossary.setdefault(info.label, (str(c), info.meaning, info.unit))
            ws.append(labels)
            for cell in ws[1]:
                cell.font = bold
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            kinds = []
            for c in cols:
                kinds.append(block.kinds.get(str(c)) or describe(c).kind or infer_kind(shown[c]))
            for row in shown.itertuples(index=False, name=None):
                ws.append([_cell(v) for v in row])
            for j, (c, kind) in enumerate(zip(cols, kinds, strict=True), start=1):
                letter = get_column_letter(j)
                fmt = FORMATS.get(kind, "General")
                if kind == "weight":
                    vals = [v for v in shown[c] if isinstance(v, int | float)]
                    fmt = "0" if all(float(v).is_integer() for v in vals if v == v) else "0.0"
                if kind not in ("text", "bool", "date"):
                    for cell in ws[letter][1:]:
                        cell.number_format = fmt
                width = max([len(labels[j - 1])] + [len(str(v)) for v in shown[c].head(50)])
                ws.column_dimensions[letter].width = min(max(8, width + 2), 60)
            ws.freeze_panes = "A2"
    gl = wb.create_sheet("Columns")
    gl.append(["label", "code name", "meaning", "unit"])
    for cell in gl[1]:
        cell.font = bold
    for label, (code, meaning, unit) in sorted(glossary.items()):
        gl.append([label, code, meaning, unit])
    gl.freeze_panes = "A2"
    for cell in contents[1]:
        cell.font = bold
    contents.freeze_panes = "A2"
    wb.save(path)
    return path


def _cell(v: Any) -> Any:
    import math

    import numpy as np
    import pandas as pd

    from .document import Link

    if isinstance(v, Link):
        return v.text
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.tz_convert(None).to_pydatetime() if v.tzinfo else v.to_pydatetime()
    if isinstance(v, int | str):
        return v
    return str(v)


#: How many :func:`image_session` blocks are open (kaleido's one shared Chromium is running).
_IMAGE_SESSIONS = 0


def _import_kaleido() -> Any:
    try:
        import kaleido
    except ImportError:
        raise ConfigError(
            "image export needs kaleido: pip install kaleido (it draws with the local Chromium)"
        ) from None
    return kaleido


@contextlib.contextmanager
def image_session(tabs: int = 1) -> Iterator[None]:
    """Keep one headless Chromium open for every image export inside the block.

    Each :meth:`Report.save_images` (and plotly's ``fig.write_image``) otherwise starts and
    stops its own Chromium, ~2 s each time; inside, they share one (kaleido's sync server,
    without MathJax, offline as before). Blocks nest; the browser stops when the outermost one
    ends.

    Parameters
    ----------
    tabs
        Browser tabs drawing figures side by side (the outermost block's choice): once the
        browser is up, 2 on a machine with a spare core cut a report's export by about a
        quarter (5.3 s to 3.9 s for the demo's 25 figures on 2 cores); the first export also
        pays the browser's start, ~3 s either way.

    Examples
    --------
    >>> with image_session(tabs=2):  # doctest: +SKIP
    ...     report.save_images("figures", format="png")
    ...     report.save_images("figures", format="svg")
    """
    global _IMAGE_SESSIONS
    if not isinstance(tabs, int) or isinstance(tabs, bool) or tabs < 1:
        raise ConfigError(f"tabs={tabs!r}: give a whole number of browser tabs, 1 or more")
    kaleido = _import_kaleido()
    find_chromium()  # a clear error before kaleido's own
    if _IMAGE_SESSIONS == 0:
        kaleido.start_sync_server(n=tabs, mathjax=False, silence_warnings=True)
    _IMAGE_SESSIONS += 1
    try:
        with warnings.catch_warnings():
            # plotly's write_image passes kaleido options the running browser already has
            warnings.filterwarnings("ignore", "The kopts argument is ignored if using a server")
            yield
    finally:
        _IMAGE_SESSIONS -= 1
        if _IMAGE_SESSIONS == 0:
            kaleido.stop_sync_server(silence_warnings=True)


def save_images(
    report: Report,
    folder: str | Path,
    *,
    format: str = "png",
    width: int = 1000,
    scale: float = 1.0,
) -> list[Path]:
    """Every figure as a static image in ``folder`` (``<figure id>.<format>``), drawn offline
    by kaleido with the local Chromium and the bundled plotly.js (no MathJax, no CDN)."""
    import json

    if format not in ("png", "svg"):
        raise ConfigError(f"format={format!r}: use 'png' or 'svg'")
    figures = [b for s in report.sections for b in s.blocks if b.kind == "figure"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not figures:
        return []
    kaleido = _import_kaleido()
    find_chromium()  # a clear error before kaleido's own
    paths = []
    jobs = []
    for b in figures:
        spec = json.loads(b.json)
        layout = dict(spec.get("layout", {}))
        layout.pop("width", None)
        target = folder / f"{b.id}.{format}"
        paths.append(target)
        jobs.append(
            {
                "fig": {"data": spec.get("data", []), "layout": layout},
                "path": str(target),
                "opts": {"format": format, "width": width, "height": b.height, "scale": scale},
            }
        )
    if _IMAGE_SESSIONS:  # the open Chromium of image_session() (started without MathJax)
        kaleido.write_fig_from_object_sync(jobs)
    else:
        kaleido.write_fig_from_object_sync(jobs, kopts={"mathjax": False})
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"kaleido wrote {len(paths) - len(missing)} of {len(paths)} images")
    return paths
