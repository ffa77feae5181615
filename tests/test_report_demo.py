"""The report on the demo world's documents (no HTTP: load_documents): every section computes,
two builds are byte-identical, and no candidate PII reaches the page."""

from __future__ import annotations

import re

import pytest

from milo_analytics.load import load_documents
from milo_analytics.outcomes import read_demographics, read_outcomes
from milo_analytics.report import build_report
from milo_analytics.sandbox import load_demo_world
from milo_analytics.sandbox.world import demo_world_path


@pytest.fixture(scope="module")
def demo_inputs():
    folder = demo_world_path()
    data = load_documents(folder)
    outcomes = read_outcomes(
        folder / "outcomes.csv", key="interview_id", data=data, on_conflict="unknown"
    )
    demographics = read_demographics(folder / "demographics.csv", data=data, on_conflict="unknown")
    return data, outcomes, demographics


@pytest.fixture(scope="module")
def demo_page(demo_inputs) -> str:
    data, outcomes, demographics = demo_inputs
    report = build_report(
        data, outcomes=outcomes, demographics=demographics, generated_at="fixed", strict=True
    )
    assert report.problems == []
    return report.to_html()


@pytest.mark.slow
def test_demo_report_is_byte_identical_across_builds(demo_inputs, demo_page: str) -> None:
    data, outcomes, demographics = demo_inputs
    again = build_report(
        data, outcomes=outcomes, demographics=demographics, generated_at="fixed"
    ).to_html()
    assert again == demo_page


@pytest.mark.slow
def test_demo_report_sections_and_figures(demo_page: str) -> None:
    for sid in ("overview", "weights", "questions", "speech", "validity", "adverse-impact",
                "data-quality"):  # fmt: skip
        assert f'<section id="{sid}"' in demo_page
    figures = re.findall(r'<div class="milo-figure" id="(fig-[a-z-]+)-\d+"', demo_page)
    assert {"fig-overview", "fig-weights", "fig-questions", "fig-speech", "fig-validity",
            "fig-adverse-impact"} <= set(figures)  # fmt: skip


@pytest.mark.slow
def test_demo_report_has_no_candidate_pii(demo_page: str) -> None:
    from plotly.offline import get_plotlyjs

    # search everything but the (static) plotly.js bundle: faster, and no false positives
    ours = demo_page.replace(get_plotlyjs().replace("</script", "<\\/script"), "")
    assert len(ours) < len(demo_page) - 1_000_000
    world = load_demo_world(copy_world=False)
    low = ours.lower()
    for cands in world.candidates.values():
        for c in cands:
            assert c["email"].lower() not in low
            assert c["name"] not in ours
            phone = c.get("phone_number") or (c.get("metadata") or {}).get("phone")
            if isinstance(phone, str) and phone:
                assert phone not in ours
