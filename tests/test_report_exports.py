"""The demo report's conclusions and exports: the summary names exactly the audit's flags and
counts and the suggestion's before/after table; Excel round trip; PNG/SVG of every figure,
offline; the LL144 summary; redaction of hostile names and keys; the `report` command with
both demo postings.

The demo inputs are read from the packaged documents (no HTTP) and the suggestion is computed
once (module fixture).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from test_browser import needs_chromium

from milo_analytics import suggest_weights
from milo_analytics.analysis import bias_audit
from milo_analytics.errors import ConfigError
from milo_analytics.load import load_documents
from milo_analytics.outcomes import read_demographics, read_outcomes
from milo_analytics.report import Redactor, build_report
from milo_analytics.report.columns import COLUMNS
from milo_analytics.report.findings import fairness_before_after
from milo_analytics.sandbox.world import demo_world_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo():
    folder = demo_world_path()
    data = load_documents(folder)
    outcomes = read_outcomes(
        folder / "outcomes.csv", key="external_id", data=data, on_conflict="unknown"
    )
    demographics = read_demographics(folder / "demographics.csv", data=data, on_conflict="unknown")
    posting = "8B4AE5F1"  # the Customer Service posting the demo calibrates (data/demo/README.md)
    sg = suggest_weights(data, outcomes, demographics=demographics, posting_id=posting, n_boot=50)
    report = build_report(
        data, outcomes=outcomes, demographics=demographics, suggestion=sg, generated_at="t"
    )
    return data, outcomes, demographics, sg, report


def _section(report, sid):
    return next(s for s in report.sections if s.id == sid)


def test_summary_names_the_audits_flags_and_counts(demo) -> None:
    data, _, demographics, _, report = demo
    audit = report.results["audit"]
    again = bias_audit(data, demographics)  # an independent run: the same numbers
    summary = _section(report, "summary")
    assert report.sections[0].id == "summary"
    for pid in data.posting_ids:
        got = summary.facts["postings"][pid]
        flags = again.flags[again.flags["posting_id"] == pid]
        named = {(f["measure"], f["dimension"], f["category"], f["n"]) for f in got["flags"]}
        assert named == set(zip(flags["measure"], flags["dimension"], flags["category"],
                                flags["n"], strict=True))  # fmt: skip
        for f, r in zip(got["flags"], flags.itertuples(index=False), strict=True):
            assert f["impact_ratio"] == pytest.approx(r.impact_ratio)
            assert f["p_adjusted"] == pytest.approx(r.p_adjusted)
        below = again.below_four_fifths
        assert got["below_four_fifths"] == int((below["posting_id"] == pid).sum())
    # the planted speech-score gap (data/demo/README.md) is the one flag, named in the text
    assert summary.facts["flags"] == len(audit.flags) == 1
    assert summary.facts["below_four_fifths"] == len(audit.below_four_fifths)
    page = report.to_html()
    head = page.split("</header>")[0]
    assert f"{len(audit.below_four_fifths):,} impact ratios are below 0.8" in head
    text = page.split('id="summary"')[1].split("</section>")[0]
    assert "Speech score, Hispanic or Latino (impact ratio 0.589" in text
    # one source: the adverse-impact section states the same counts
    impact = _section(report, "adverse-impact")
    assert impact.facts["flags"] == summary.facts["flags"]
    assert impact.facts["below_four_fifths"] == summary.facts["below_four_fifths"]


def test_summary_shows_the_suggestions_weights_gain_and_before_after(demo) -> None:
    _, _, _, sg, report = demo
    got = _section(report, "summary").facts["postings"]["8B4AE5F1"]["suggestion"]
    assert got["recommendation"] == sg.recommendation
    table = sg.table.set_index("question_id")
    for w in got["weights"]:
        assert w["current"] == table.loc[w["question_id"], "current_weight"]
        assert w["suggested"] == table.loc[w["question_id"], "suggested_integer"]
    d = sg.differences.loc["suggested_integer - current"]
    assert got["gain"]["difference"] == pytest.approx(d["difference"])
    assert got["gain"]["ci_low"] == pytest.approx(d["ci_low"])
    block = next(
        b for b in _section(report, "summary").blocks if (b.title or "").startswith("Impact ratios")
    )
    # the summary shows the key rows: every flagged group and each measure's lowest ratio
    expected = fairness_before_after(sg, key_rows=True)
    shown = block.frame.reset_index(drop=True)
    assert list(shown["group"]) == list(expected["group"])
    pd.testing.assert_series_equal(shown["ratio_suggested"], expected["ratio_suggested"])
    full = fairness_before_after(sg)
    keys = [c for c in ("measure", "dimension") if c in full.columns]
    lowest = full.dropna(subset=["ratio_suggested"]).groupby(keys)["ratio_suggested"].min()
    assert sorted(lowest) == sorted(
        expected.dropna(subset=["ratio_suggested"]).groupby(keys)["ratio_suggested"].min()
    )
    flag = "flagged_suggested" if "flagged_suggested" in full.columns else "below_suggested"
    assert set(full.loc[full[flag], "group"]) <= set(expected["group"])
    raw = sg.fairness.rename(columns={"impact_ratio_suggested": "ratio_suggested"})
    raw = raw[raw["n"] > 0]
    assert list(raw["ratio_suggested"].dropna()) == list(full["ratio_suggested"].dropna())


def test_speech_gaps_use_the_audits_reference_group(demo) -> None:
    _, _, _, _, report = demo
    gaps = report.results["speech"].gaps
    summ = report.results["audit"].summary
    checked = 0
    for (pid, attr), g in gaps.groupby(["posting_id", "attribute"]):
        row = summ[(summ["posting_id"] == pid) & (summ["measure"] == "speech_score")
                   & (summ["dimension"] == attr)]  # fmt: skip
        assert g.loc[g["reference"], "group"].tolist() == row["reference"].tolist(), (pid, attr)
        checked += 1
    assert checked == 4  # two postings × sex, race/ethnicity


def test_every_result_behind_the_report_has_to_frame(demo) -> None:
    _, _, _, sg, report = demo
    results = [sg]
    for value in report.results.values():
        results.extend(value.values() if isinstance(value, dict) else [value])
    assert len(results) >= 10
    for r in results:
        frame = r.to_frame()
        assert isinstance(frame, pd.DataFrame) and len(frame), type(r).__name__


def test_excel_round_trip(demo, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _, _, _, _, report = demo
    path = report.to_excel(tmp_path / "r.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    tables = [b for s in report.sections for b in s.blocks if b.kind == "table"]
    assert len(sheets) == len(tables) + 2  # + Contents and Columns
    contents = sheets["Contents"]
    titles = [b.title or s.title for s in report.sections for b in s.blocks if b.kind == "table"]
    assert list(contents["table"]) == titles
    for name, block in zip(contents["sheet"], tables, strict=True):
        frame = sheets[name]
        assert len(frame) == len(block.frame)  # every row, not only the ones the page shows
        for col in frame.columns:
            assert "_" not in str(col) or str(col) not in COLUMNS, col  # labels, not code names
    flags = sheets[contents.loc[contents["table"].str.startswith("Flags: "), "sheet"].iloc[0]]
    assert {"impact ratio", "p (Holm-adjusted)", "n"} <= set(flags.columns)
    wb = load_workbook(path)
    ws = wb[contents.loc[contents["table"].str.startswith("Flags: "), "sheet"].iloc[0]]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("impact ratio") + 1).number_format == "0.000"
    assert ws.cell(2, header.index("rate") + 1).number_format == "0.0%"


@pytest.fixture(scope="module")
def one_chromium():
    """The image tests below share one Chromium (each export would start its own, ~2 s)."""
    from milo_analytics.report.export import image_session

    with image_session(tabs=2):
        yield


def _figure_split(report):
    """(the first figure of each section, every other figure) as two copies of ``report``:
    each kind of chart is in the first, and the two together hold every figure once."""
    import copy
    from dataclasses import replace

    first, rest = copy.copy(report), copy.copy(report)
    first.sections, rest.sections = [], []
    for s in report.sections:
        figures = [b for b in s.blocks if b.kind == "figure"]
        if figures:
            first.sections.append(replace(s, blocks=figures[:1]))
            rest.sections.append(replace(s, blocks=figures[1:]))
    return first, rest


@needs_chromium
def test_every_figure_exports_offline_as_png_or_svg(demo, one_chromium, tmp_path: Path) -> None:
    """Both formats take the same path through kaleido (plotly.js draws SVG; PNG rasterises
    it), and kaleido costs ~0.25 s a figure (the demo has 28): the first figure of each
    section (each kind of chart) as SVG, every other figure as PNG — each figure drawn once."""
    _, _, _, _, report = demo
    figures = [b.id for s in report.sections for b in s.blocks if b.kind == "figure"]
    first, rest = _figure_split(report)
    assert len(first.sections) >= 6 and len(figures) >= 20
    svgs = first.save_images(tmp_path / "svg", format="svg")
    assert [p.stem for p in svgs] == [s.blocks[0].id for s in first.sections]
    for p in svgs:
        head = p.read_text(encoding="utf-8")[:200]
        assert head.startswith("<svg") and 'class="main-svg"' in head, head
    pngs = rest.save_images(tmp_path / "png", format="png")
    assert sorted(p.stem for p in svgs + pngs) == sorted(figures)
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_chromium
def test_image_session_nests_and_exports_after_it_closes(demo, tmp_path: Path) -> None:
    """Exports inside nested sessions, and after the outermost closes (a fresh Chromium)."""
    import copy
    from dataclasses import replace

    from milo_analytics.report import export

    _, _, _, _, report = demo
    part = copy.copy(report)
    first = next(s for s in report.sections if any(b.kind == "figure" for b in s.blocks))
    part.sections = [replace(first, blocks=[b for b in first.blocks if b.kind == "figure"][:1])]
    open_before = export._IMAGE_SESSIONS
    with export.image_session(), export.image_session():
        open_inside = export._IMAGE_SESSIONS
        inside = part.save_images(tmp_path / "in", format="svg")
    assert (open_inside, export._IMAGE_SESSIONS) == (open_before + 2, open_before)
    with pytest.raises(ConfigError, match="whole number of browser tabs"):
        export.image_session(tabs=0).__enter__()
    after = part.save_images(tmp_path / "out", format="svg")
    assert [p.read_text(encoding="utf-8")[:4] for p in inside + after] == ["<svg", "<svg"]


@needs_chromium
def test_result_plot_write_image_works_offline(demo, one_chromium, tmp_path: Path) -> None:
    """plotly's own write_image, also inside an image session (without kaleido's warning that
    plotly's options go unused: the session's browser already has them)."""
    import warnings

    from milo_analytics.report.export import image_session

    _, _, _, _, report = demo
    fig = report.results["audit"].plot("speech_score", posting_id="8B4AE5F1")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # (before the session's own filter)
        with image_session():
            fig.write_image(tmp_path / "flag.png")
    assert (tmp_path / "flag.png").read_bytes()[:4] == b"\x89PNG"
    assert [str(w.message) for w in seen if "kopts" in str(w.message)] == []


def test_ll144_summary_has_what_the_rule_asks(demo, tmp_path: Path) -> None:
    report = demo[-1]
    audit = report.results["audit"]
    page = audit.to_html(summary_only=True)
    assert page.startswith("<!DOCTYPE html>")
    for words in ("Data source", "Dates of the data", "Number of applicants", "Scoring rate",
                  "Impact ratio", "Unknown category", "Distribution date", "excluded: under 2%"):  # fmt: skip
        assert words in page, words
    # every audited category of the overall score, with its n
    rows = audit.table[audit.table["measure"] == "score"]
    for r in rows.itertuples(index=False):
        assert f"<td class='text'>{r.category}</td><td class='num'>{r.n:,}</td>" in page.replace(
            "&amp;", "&"
        )
    assert 'id="ll144-summary"' in report.to_html()


def test_hostile_names_and_keys_are_redacted_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_report import make_data

    key = "mk_live_HOSTILEKEY_0123456789"
    monkeypatch.setenv("HEYMILO_API_KEY", key)
    d = make_data(80)
    d.candidates.loc[1, "name"] = "Luis Jones"
    d.candidates.loc[2, "name"] = "Ana-Maria O'Neil"
    d.questions.loc[0, "text"] = f"Question one {key}"
    d.postings = pd.DataFrame({"posting_id": ["P1"], "title": [f"Sales {key}"]})
    first = d.scores.index[d.scores["interview_id"] == d.interviews["interview_id"].iloc[1]]
    d.scores.loc[first[0], "evaluation_summary"] = (
        "Luis's answer was calm; LUIS JONES stayed calm; luis jones again; L. Jones later; "
        "ANA-MARIA O'NEIL's example; o'neil agreed."
    )
    report = build_report(d, generated_at="t", title=f"Report {key}")
    page = report.to_html() + json.dumps(report.to_dict())
    assert key not in page
    low = page.lower()
    for needle in ("luis", "jones", "o'neil", "o&#x27;neil", "ana-maria"):
        assert needle not in low, needle
    # table headers too (a posting title as a column name)
    for s in report.sections:
        for b in s.blocks:
            if b.frame is not None:
                assert not any(key in str(c) for c in b.frame.columns)


def test_redactor_forms() -> None:
    r = Redactor(names=["Luis Jones", "Ana-Maria O'Neil", "Bo Li"])
    assert r("Luis's answer") == "[redacted]'s answer"
    assert r("LUIS JONES stayed calm") == "[redacted] [redacted] stayed calm"
    assert r("luis said") == "[redacted] said"
    assert r("L. Jones and J. Smith") == "[redacted] [redacted] and J. Smith"
    assert r("ANA-MARIA O’NEIL’s example") == "[redacted] [redacted]’s example"
    # ordinary words stay (a name token of two letters is matched only as a whole word)
    assert r("Bolivia and Lisbon, a bold lie") == "Bolivia and Lisbon, a bold lie"


def test_report_command_takes_both_demo_postings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from milo_analytics.cli import main

    out, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    code = main(["report", "1E25DF5A", "8B4AE5F1", "--documents", str(demo_world_path()),
                 "-o", str(out), "--xlsx", str(xlsx), "-d",
                 str(demo_world_path() / "demographics.csv")])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    page = out.read_text(encoding="utf-8")
    assert 'id="summary-1E25DF5A"' in page and 'id="summary-8B4AE5F1"' in page
    assert re.search(r"Excel: +" + re.escape(str(xlsx)), stdout)
    assert "Contents" in pd.read_excel(xlsx, sheet_name=None)


def test_audit_command_writes_the_ll144_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from milo_analytics.cli import main

    out = tmp_path / "ll144.html"
    code = main(["audit", "8B4AE5F1", "--documents", str(demo_world_path()), "-d",
                 str(demo_world_path() / "demographics.csv"), "--summary-html", str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert f"LL144 summary: {out}" in stdout
    page = out.read_text(encoding="utf-8")
    assert "Bias audit summary — 8B4AE5F1 · Customer Service Representative" in page
    assert "Distribution date" in page and "Number of applicants" in page


def test_the_suggestion_tables_name_the_weightings_in_words(demo) -> None:
    """Rows of the comparison and the paired differences read "suggested (whole numbers)" and
    "a − b" throughout (two of the five differences once kept their code name's hyphen)."""
    *_, report = demo
    tables = [b for b in _section(report, "suggestion").blocks if b.kind == "table"]
    comparison = next(b for b in tables if b.title.startswith("Out-of-sample comparison"))
    assert list(comparison.frame.index) == [
        "current", "unit", "suggested", "suggested (whole numbers)"
    ]  # fmt: skip
    differences = next(b for b in tables if b.title.startswith("Paired differences"))
    rows = list(differences.frame.index)
    assert len(rows) == 5 and all(" − " in r and " - " not in r and "_" not in r for r in rows)
