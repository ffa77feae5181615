"""The HTML report: escaping, redaction, determinism, size bound and structure.

These tests build InterviewData by hand (fast, no server); tests/test_report_demo.py builds the
report from the demo world's documents, tests/test_cli_report.py through the `demo` command
(sandbox over HTTP).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from milo_analytics.errors import DataError
from milo_analytics.frames import InterviewData
from milo_analytics.report import Redactor, Report, build_report

STAMP = "2026-01-01 00:00 UTC"
PLANTED_NAME = "Zebedee Quackenbush"
PLANTED_EMAIL = "zebedee.q@planted-example.org"
PLANTED_PHONE = "+1 (555) 867-5309"
XSS_ANSWER = "<script>alert('pwned')</script> and <img src=x onerror=alert(1)>"
XSS_QUESTION = "Tell us </script><script>alert(2)</script> about you"


def make_data(n: int = 300, *, seed: int = 0, plant: bool = True) -> InterviewData:
    """A one-posting data set with n candidates, planted PII and hostile strings."""
    rng = np.random.default_rng(seed)
    qids = [f"q{i}" for i in range(1, 6)]
    weights = [2.0, 3.0, 2.0, 2.0, 1.5]
    texts = [f"Question {i}" for i in range(1, 6)]
    if plant:
        texts[1] = XSS_QUESTION
    questions = pd.DataFrame(
        {
            "posting_id": "P1",
            "question_id": qids,
            "rank": range(1, 6),
            "text": texts,
            "score_weight": weights,
            "not_scored": False,
            "modality": "video",
            "question_type": "open",
        }
    )
    ids = [f"I{i:06d}" for i in range(n)]
    names = [f"Cand{i} Person{i}" for i in range(n)]
    emails = [f"cand{i}@mail.example" for i in range(n)]
    if plant:
        names[0], emails[0] = PLANTED_NAME, PLANTED_EMAIL
    status = np.array(["completed"] * n, dtype=object)
    status[rng.random(n) < 0.1] = "pending"
    status[0] = "completed"
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 120 * 86400, n), unit="s"
    )
    cands = pd.DataFrame(
        {
            "interview_id": ids,
            "posting_id": "P1",
            "candidate_id": ids,
            "name": names,
            "email": emails,
            "phone_number": [PLANTED_PHONE if i == 0 else "" for i in range(n)],
            "status": status,
            "created_at": created,
        }
    )
    done = [i for i, s in zip(ids, status, strict=True) if s != "pending"]
    latent = rng.normal(size=(len(done), 1))
    S = np.clip(np.round(3 + latent + rng.normal(scale=0.9, size=(len(done), 5))), 1, 5)
    w = np.array(weights)
    score = np.round(100 * (S @ w) / (w.sum() * 5), 1)
    iv = pd.DataFrame(
        {
            "interview_id": done,
            "posting_id": "P1",
            "status": "completed",
            "score": score,
            "match_score": np.round(score),
            "speech_score": np.round(rng.uniform(1, 5, len(done)), 1),
            "interviewed_at": created[: len(done)],
        }
    )
    rows = []
    for k, iid in enumerate(done):
        for j, q in enumerate(qids):
            summary = f"The answer covered the topic ({k})."
            if plant and k == 0:
                summary = (
                    f"{PLANTED_NAME.split()[0]} said {XSS_ANSWER}; reach me at {PLANTED_EMAIL} "
                    f"or {PLANTED_PHONE}."
                )
            rows.append((iid, "P1", q, j + 1, S[k, j], weights[j], False, summary))
    scores = pd.DataFrame(
        rows,
        columns=[
            "interview_id",
            "posting_id",
            "question_id",
            "rank",
            "score",
            "score_weight",
            "not_scored",
            "evaluation_summary",
        ],
    )
    errors = pd.DataFrame(
        {
            "interview_id": ["IERR1"],
            "stage": ["data"],
            "error": [f"malformed document mentioning {PLANTED_NAME} <script>x</script>"],
        }
    )
    return InterviewData(
        questions=questions, candidates=cands, interviews=iv, scores=scores, errors=errors
    )


@pytest.fixture(scope="module")
def data() -> InterviewData:
    return make_data()


@pytest.fixture(scope="module")
def plain(data: InterviewData) -> Report:
    """The report of ``data`` alone, built once for the tests that only read it."""
    return build_report(data, generated_at=STAMP)


@pytest.fixture(scope="module")
def page(plain: Report) -> str:
    return plain.to_html()


@pytest.fixture(scope="module")
def joined(data: InterviewData) -> Report:
    """The report of ``data`` with outcomes and demographics (``_joined``), built once."""
    outcomes, demographics = _joined(data)
    return build_report(
        data, outcomes=outcomes, demographics=demographics, generated_at=STAMP, strict=True
    )


def _figure_specs(page: str) -> dict[str, dict]:
    specs = {}
    for fid, body in re.findall(
        r'<script type="application/json" id="([^"]+)-json">(.*?)</script>', page, re.S
    ):
        specs[fid] = json.loads(body)
    return specs


# --------------------------------------------------------------------------- escaping
def test_candidate_html_is_escaped_in_tables_and_text(page: str) -> None:
    assert "<script>alert('pwned')" not in page
    assert "<img src=x" not in page
    # ... and still readable as text
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the only <script> elements are the page's own (JSON figure specs and plotly.js + boot)
    for tag in re.findall(r"<script[^>]*>", page):
        assert tag in ('<script type="text/javascript">',) or tag.startswith(
            '<script type="application/json" id="fig-'
        ), tag


def test_json_in_the_page_cannot_close_its_script_element(page: str) -> None:
    specs = _figure_specs(page)
    assert specs, "the report has figures"
    for body in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in body and ">" not in body and "&" not in body
    # the hostile question text survives intact inside the figure data (heatmap labels)
    labels = json.dumps(specs)
    assert "</script><script>alert(2)" in labels  # decoded JSON holds the original text
    assert "</script><script>alert(2)" not in page


# --------------------------------------------------------------------------- redaction
@pytest.mark.parametrize(
    "needle",
    [
        PLANTED_NAME,
        "Zebedee",
        "Quackenbush",
        PLANTED_EMAIL,
        "867-5309",
        "cand17@mail.example",
        "Person17",
    ],
)
def test_redaction_removes_names_emails_and_phones_everywhere(page: str, needle: str) -> None:
    assert needle.lower() not in page.lower()


def test_without_redaction_the_planted_values_are_shown(data: InterviewData) -> None:
    # proves the redaction test above can fail: the text does carry the planted PII
    page = build_report(data, generated_at=STAMP, redact_pii=False).to_html()
    assert "Zebedee" in page
    assert PLANTED_EMAIL in page


def test_api_key_never_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "mk_live_SECRETKEY_0123456789abcdef"
    monkeypatch.setenv("HEYMILO_API_KEY", key)
    d = make_data(60)
    d.errors = pd.DataFrame(
        {"interview_id": ["X"], "stage": ["data"], "error": [f"401 with X-API-KEY: {key}"]}
    )
    d = InterviewData(**{n: getattr(d, n) for n in InterviewData.FRAME_NAMES})
    for redact in (True, False):
        report = build_report(d, generated_at=STAMP, redact_pii=redact, title=f"t {key}")
        assert key not in report.to_html()
        assert key not in json.dumps(report.to_dict())


def test_redactor_patterns() -> None:
    r = Redactor(names=["Ana María O'Neil"], emails=["ana@x.org"])
    assert r("Ana said hi to O'Neil") == "[redacted] said hi to [redacted]"
    assert r("Write to a.b+c@d.co.uk today") == "Write to [redacted] today"
    assert r("call 212-555-0199 or (212) 555 0199") == "call [redacted] or [redacted]"
    # dates and scores are not phone numbers
    assert r("on 2026-01-05 scored 87.5") == "on 2026-01-05 scored 87.5"
    # words that merely contain a name token are kept
    assert r("Anaconda") == "Anaconda"
    assert Redactor(names=["Ana"], enabled=False)("Ana") == "Ana"
    # known contact values in odd formats: by value, and phones by their digits
    known = Redactor(emails=["ana.at.home@intranet"], phones=["+44 20 7946 0958"])
    assert known("mail ana.at.home@intranet. now") == "mail [redacted]. now"
    assert known("ring 442079460958 or +44 (20) 7946-0958") == "ring [redacted] or [redacted]"


def test_email_redaction_is_the_regex_in_linear_time() -> None:
    """The email pattern as a regex tries every start inside a run of local-part characters:
    16,000 characters took 0.6 s and a megabyte of candidate text would take hours.
    `_redact_emails` finds the same matches (held to `_EMAIL_RE.sub` on 20,000 random strings
    over the characters that matter) and reads each character a bounded number of times."""
    import random
    import time

    from milo_analytics.report import redact

    rng = random.Random(7)
    alphabet = list("ab1_.+'-@ é,\n")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert redact._redact_emails(text) == redact._EMAIL_RE.sub(redact.REDACTED, text), repr(
            text
        )
    assert Redactor()("x" * 300 + "@" + "a@b.cd") == "x" * 300 + "@[redacted]"
    # a megabyte of one word, and of addresses glued to words: seconds at most, not hours (the
    # regex needs ~0.6 s for 16,000 characters and grows with the square of the length)
    for hostile in ("a" * 1_000_000, ("a" * 50 + "@") * 20_000, ("x@y.z" + "a" * 20) * 40_000):
        started = time.perf_counter()
        redact._redact_emails(hostile)
        assert time.perf_counter() - started < 5


# --------------------------------------------------------------------------- determinism
def test_identical_inputs_give_identical_bytes(data: InterviewData, page: str) -> None:
    again = build_report(make_data(), generated_at=STAMP).to_html()
    assert again == page
    other = build_report(data, generated_at="2030-05-05 10:00 UTC").to_html()
    assert other != page and other.replace("2030-05-05 10:00 UTC", STAMP) == page


def test_figure_ids_are_deterministic_and_unique(page: str) -> None:
    ids = re.findall(r'<div class="milo-figure" id="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))
    assert all(re.fullmatch(r"fig-[a-z-]+-\d+", i) for i in ids)
    assert "fig-overview-1" in ids


def test_save_html_writes_the_same_bytes(tmp_path, plain: Report, page: str) -> None:
    path = plain.save_html(tmp_path / "sub" / "r.html")
    assert path.read_bytes() == page.encode("utf-8")


# --------------------------------------------------------------------------- self-contained
def test_plotlyjs_is_inlined_exactly_once_and_nothing_is_fetched(page: str) -> None:
    from plotly.offline import get_plotlyjs

    banner = get_plotlyjs()[:300]
    assert page.count(banner) == 1
    assert page.count("Plotly.newPlot") == 1  # one boot loop for every figure
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    ours = page.replace(get_plotlyjs().replace("</script", "<\\/script"), "")
    assert len(ours) < len(page) - 1_000_000  # the bundle was found and removed
    assert "http://" not in ours and "https://" not in ours
    # the footer names the embedded bundle's version (not the plotly Python package's)
    from plotly.offline import get_plotlyjs_version

    assert f"plotly.js {get_plotlyjs_version()} is embedded" in ours


def test_table_of_contents_links_every_section(page: str, plain: Report) -> None:
    for section in plain.sections:
        assert f'<a href="#{section.id}">' in page
        assert f'<section id="{section.id}"' in page
    assert "@media print" in page
    # printed, wide tables show every column (no scroll box); folded blocks stay folded
    print_css = page.split("@media print")[1].split("</style>")[0]
    assert ".milo-table-wrap { overflow: visible; }" in print_css
    assert "@page { size: A4 portrait" in page
    assert 'addEventListener("beforeprint"' in page and "open = true" not in page


# --------------------------------------------------------------------------- size bound
def test_size_does_not_grow_with_the_number_of_interviews() -> None:
    small = build_report(make_data(300, seed=1), generated_at=STAMP).to_html()
    large = build_report(make_data(3000, seed=1), generated_at=STAMP).to_html()
    assert abs(len(large) - len(small)) < 0.02 * len(small), (len(small), len(large))
    assert len(large) < 6_000_000


def test_a_figure_that_did_not_aggregate_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.graph_objects as go

    from milo_analytics.report import Context, Section, context

    monkeypatch.setattr(context, "MAX_FIGURE_BYTES", 5_000)
    big = go.Figure(go.Scatter(x=list(range(5_000)), y=[str(i) for i in range(5_000)]))
    section = Section("x", "X")
    builder = Context(
        make_data(30),
        outcomes=None,
        demographics=None,
        suggestion=None,
        redact_pii=True,
        strict=True,
    )
    builder.figure(section, big, title="big")
    assert [b.kind for b in section.blocks] == ["error"]
    assert "aggregate" in section.blocks[0].text


# --------------------------------------------------------------------------- sections
def test_sections_follow_their_inputs(plain: Report) -> None:
    ids = [s.id for s in plain.sections]
    assert ids[:2] == ["summary", "overview"] and ids[-2:] == ["data-quality", "methods"]
    assert "validity" not in ids and "adverse-impact" not in ids and "suggestion" not in ids
    empty = build_report(InterviewData(), generated_at=STAMP)
    assert [s.id for s in empty.sections] == ["overview", "data-quality", "methods"]


def test_an_analysis_raising_data_error_shows_its_message(
    monkeypatch: pytest.MonkeyPatch, data: InterviewData
) -> None:
    from milo_analytics.report import context

    def boom(*args, **kwargs):
        raise DataError("speech scores are all missing; nothing to summarise")

    real = context.analysis_function

    def fake(name: str):
        return boom if name == "speech_summary" else real(name)

    monkeypatch.setattr(context, "analysis_function", fake)
    report = build_report(data, generated_at=STAMP, strict=True)
    speech = next(s for s in report.sections if s.id == "speech")
    assert any(
        b.kind == "error" and "speech scores are all missing" in b.text for b in speech.blocks
    )
    assert "speech scores are all missing" in report.to_html()
    assert any("speech scores are all missing" in p for p in report.problems)


def test_data_quality_counts(data: InterviewData, plain: Report) -> None:
    dq = next(s for s in plain.sections if s.id == "data-quality")
    assert dq.facts["Load errors"] == 1
    assert dq.facts["Unfinished interviews (not errors)"] == int(
        (data.candidates["status"] == "pending").sum()
    )


def test_to_dict_is_json_and_pii_free(plain: Report) -> None:
    d = plain.to_dict()
    text = json.dumps(d)
    assert d["generated_at"] == STAMP
    assert "Zebedee" not in text and PLANTED_EMAIL not in text
    overview = d["sections"][1]
    assert overview["id"] == "overview"
    kinds = [b["kind"] for b in overview["blocks"]]
    assert "figure" in kinds and "table" in kinds


def test_repr_html_is_compact_and_draws_figures(plain: Report) -> None:
    report = plain
    out = report._repr_html_()
    assert "<iframe" not in out
    assert "newPlot" in out and "window.Plotly" in out
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:300] not in out  # a notebook holds plotly.js once, not per report
    assert "Zebedee" not in out
    assert isinstance(report, Report) and "overview" in repr(report)
    # several displays in one notebook page never share a div id
    ids = re.findall(r"<div id='([^']+)'", out)
    again = re.findall(r"<div id='([^']+)'", report._repr_html_())
    assert ids and len(ids) == len(set(ids)) and not set(ids) & set(again)


def test_build_report_rejects_non_interview_data() -> None:
    with pytest.raises(DataError, match="InterviewData"):
        build_report(pd.DataFrame())


# --------------------------------------------------------------------------- outcomes, audit
def _joined(data: InterviewData, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcomes and demographics frames shaped as read_outcomes/read_demographics return them."""
    rng = np.random.default_rng(seed)
    iv = data.interviews
    hired = (iv["score"].astype(float) + rng.normal(scale=10, size=len(iv))) > 65
    outcomes = pd.DataFrame(
        {
            "interview_id": iv["interview_id"],
            "posting_id": iv["posting_id"],
            "hired": pd.array(hired.to_numpy(), dtype="boolean"),
        }
    )
    demographics = pd.DataFrame(
        {
            "interview_id": iv["interview_id"],
            "posting_id": iv["posting_id"],
            "sex": rng.choice(["Female", "Male", "Unknown"], size=len(iv), p=[0.5, 0.45, 0.05]),
            "race_ethnicity": rng.choice(
                ["White", "Hispanic or Latino", "Black or African American", "Asian"],
                size=len(iv),
            ),
        }
    )
    return outcomes, demographics


def test_outcomes_and_demographics_add_their_sections(joined: Report) -> None:
    report = joined
    ids = [s.id for s in report.sections]
    assert "validity" in ids and "adverse-impact" in ids
    assert report.problems == []
    validity = next(s for s in report.sections if s.id == "validity")
    assert sum(b.kind == "figure" for b in validity.blocks) >= 2  # hire-rate bands, importance
    audit = next(s for s in report.sections if s.id == "adverse-impact")
    assert "flags" in audit.facts and any(b.kind == "figure" for b in audit.blocks)


def test_report_exposes_the_results_its_sections_were_built_from(
    joined: Report, plain: Report
) -> None:
    from milo_analytics.analysis.fairness import BiasAudit

    report = joined
    audit = report.results["audit"]
    assert isinstance(audit, BiasAudit)
    # the very object the page was written from: its counts are the section's
    section = next(s for s in report.sections if s.id == "adverse-impact")
    assert section.facts["flags"] == len(audit.flags)
    assert section.facts["below_four_fifths"] == len(audit.below_four_fifths)
    assert set(report.results["validity"]) == {"hired"}
    alpha = report.results["items"].reliability.set_index("posting_id")["alpha"]
    assert next(s for s in report.sections if s.id == "questions").facts["alpha"] == {
        "P1": round(float(alpha["P1"]), 3)
    }
    assert set(report.results["effective_weights"]) == {"P1"}
    assert set(report.results["drift"]) == {"P1"}
    # sections that are absent leave no result behind
    assert "audit" not in plain.results and "validity" not in plain.results
    # the header states the audit's conclusion with the section's own counts
    flags, below = len(audit.flags), len(audit.below_four_fifths)
    headline = "".join(str(part) for part in report.facts["Adverse impact"])
    assert headline.startswith(f"{flags} flag") and f"{below:,} impact ratio" in headline
    # the header's counts link to the flags and the four-fifths table
    page = report.to_html()
    assert "<a href='#flags'>" in page.split("</header>")[0]
    assert 'id="flags"' in page and 'id="four-fifths"' in page
    assert "Adverse impact" not in plain.facts
    header = report.to_html().split("</header>")[0]
    assert "<th>Adverse impact</th>" in header


def test_outcomes_without_interview_ids_explain_themselves(data: InterviewData) -> None:
    outcomes = pd.DataFrame({"email": ["a@b.org"], "hired": [True]})
    report = build_report(data, outcomes=outcomes, generated_at=STAMP)
    validity = next(s for s in report.sections if s.id == "validity")
    assert validity.error and "interview_id" in validity.error
    assert "a@b.org" not in report.to_html()


def test_a_bad_demographics_frame_shows_the_audit_error(data: InterviewData) -> None:
    report = build_report(
        data, demographics=pd.DataFrame({"interview_id": ["I000001"]}), generated_at=STAMP
    )
    audit = next(s for s in report.sections if s.id == "adverse-impact")
    errors = [b.text for b in audit.blocks if b.kind == "error"]
    assert errors and errors[0].startswith("Bias audit: ")
    assert report.to_html().count('class="milo-error"') >= 1


def test_pdf_without_chromium_names_the_package(
    monkeypatch: pytest.MonkeyPatch, data: InterviewData, tmp_path
) -> None:
    from milo_analytics.errors import ConfigError

    report = build_report(make_data(30), generated_at=STAMP)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("MILO_ANALYTICS_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(ConfigError, match=r"MILO_ANALYTICS_CHROMIUM=.*no-such-browser"):
        report.save_pdf(tmp_path / "r.pdf")
    monkeypatch.delenv("MILO_ANALYTICS_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser anywhere
    with pytest.raises(ConfigError, match=r"Debian's `chromium` package"):
        report.save_pdf(tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_methods_document_ships_and_every_section_links_to_it(joined: Report) -> None:
    import tomllib
    from pathlib import Path

    from milo_analytics.report.methods import methods_html

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert shipped["docs/methods.md"] == "milo_analytics/_docs/methods.md"
    body, toc = methods_html()
    assert len(toc) >= 10 and "<script" not in body
    report = joined
    page = report.to_html()
    anchors = set(re.findall(r'id="(methods-[^"]+)"', page))
    for sid in ("weights", "questions", "speech", "validity", "adverse-impact"):
        section = next(s for s in report.sections if s.id == sid)
        assert section.method and section.method[0] in anchors, sid
        assert f'href="#{section.method[0]}"' in page
    assert "METHODS §" not in page and "see ." not in page
