"""The package as of an earlier git ref, for benchmarks that run both sides in one go.

Examples
--------
>>> tree = baseline_tree("HEAD~5", Path(tempfile.mkdtemp()), "data")  # doctest: +SKIP
>>> (tree / "milo_analytics").is_dir()  # doctest: +SKIP
True
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def baseline_tree(ref: str, into: Path, *extra: str) -> Path | None:
    """``milo_analytics`` (and the ``extra`` top-level paths) as of ``ref``, under ``into``.

    The methods appendix (``docs/``) is this checkout's on both sides: it is documentation,
    not the code path, so equal output hashes mean equal analyses, figures and tables.
    Returns None (and says why) when git or the ref is unavailable.
    """
    archive = into / "baseline.tar"
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "milo_analytics", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        print(f"no baseline: git archive {ref} failed ({proc.stderr.strip()[:200]})")
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(into / "baseline", filter="data")
    shutil.rmtree(into / "baseline" / "docs", ignore_errors=True)
    shutil.copytree(ROOT / "docs", into / "baseline" / "docs")
    return into / "baseline"
