"""Headless Chromium helpers, and hostile candidate text stays inert in the browser.

That the demo report opens from file:// with every plot drawn and no console error is tested
in tests/test_report_layout.py (in the same Chromium load as its 1,400 px layout).

Needs Debian's ``chromium`` package (``.ci/run`` installs it); skipped with a reason otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from milo_analytics.frames import InterviewData
from milo_analytics.report import build_report

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (install Debian's `chromium` package; .ci/run does)",
)


def render(page: Path, profile: Path, *, budget_ms: int = 30_000) -> tuple[str, str]:
    """Load ``page`` in headless Chromium; return (serialised DOM after scripts ran, log)."""
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--virtual-time-budget={budget_ms}",
        "--window-size=1280,1024",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def console_lines(log: str) -> list[str]:
    """The page's console messages as Chromium logs them (``...:CONSOLE(n)] "msg", source: ...``)."""
    return [ln for ln in log.splitlines() if ":CONSOLE" in ln]


def figures_drawn(source: str, dom: str) -> tuple[list[str], list[str]]:
    """Figure ids in the page, and those whose div holds a rendered plotly SVG in the DOM."""
    ids = re.findall(r'<div class="milo-figure" id="([^"]+)"', source)
    drawn = []
    for fid in ids:
        start = dom.find(f'id="{fid}"')
        end = dom.find(f'id="{fid}-json"', start)
        if start >= 0 and end > start and 'class="main-svg"' in dom[start:end]:
            drawn.append(fid)
    return ids, drawn


@needs_chromium
def test_hostile_candidate_text_is_inert_in_the_browser(tmp_path: Path) -> None:
    hostile = (
        "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    )
    ids = [f"I{i}" for i in range(40)]
    scores = pd.DataFrame(
        {
            "interview_id": [i for i in ids for _ in range(3)],
            "posting_id": "P",
            "question_id": ["q1", "q2", "q3"] * len(ids),
            "rank": [1, 2, 3] * len(ids),
            "score": [float(1 + (k * 7 + j) % 5) for k in range(len(ids)) for j in range(3)],
            "score_weight": 1.0,
            "not_scored": False,
            "evaluation_summary": hostile,
        }
    )
    questions = pd.DataFrame(
        {
            "posting_id": "P",
            "question_id": ["q1", "q2", "q3"],
            "rank": [1, 2, 3],
            "text": [hostile, "Second </script><script>document.title='pwned'</script>", "Third"],
            "score_weight": 1.0,
            "not_scored": False,
        }
    )
    candidates = pd.DataFrame(
        {"interview_id": ids, "posting_id": "P", "status": hostile, "name": "X Y"}
    )
    interviews = pd.DataFrame(
        {"interview_id": ids, "posting_id": "P", "score": 50.0, "speech_score": 3.0}
    )
    data = InterviewData(
        questions=questions, candidates=candidates, interviews=interviews, scores=scores
    )
    report = build_report(data, title="Hostile input", generated_at="t")
    page = report.save_html(tmp_path / "x.html")
    page.write_text(page.read_text(encoding="utf-8").replace("<details>", "<details open>"))
    dom, log = render(page, tmp_path / "profile", budget_ms=10_000)
    # no injected script ran (it would have renamed the page) and no injected element exists
    assert re.search(r"<title>(.*?)</title>", dom, re.S).group(1) == "Hostile input"
    assert "&lt;script&gt;document.title=" in dom  # shown as text instead
    assert not re.search(r"<img[^>]*src=\"?x", dom)
    ids_, drawn = figures_drawn(page.read_text(encoding="utf-8"), dom)
    assert ids_ and drawn == ids_
    assert console_lines(log) == []
