"""The bias audit on the sandbox demo world (over HTTP) and the `audit` command.

The demo world plants one gap (data/demo/README.md, "Planted effects"): the speech score is
lower for Hispanic or Latino candidates (scoring-rate impact ratio ≈ 0.6–0.7); the overall
score, the questions and hiring do not depend on sex or race/ethnicity.
"""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import pytest

from milo_analytics import load_posting, read_demographics, read_outcomes
from milo_analytics.analysis import bias_audit
from milo_analytics.analysis.fairness import AUDIT_JSON_SCHEMA
from milo_analytics.cli import main
from milo_analytics.sandbox.world import demo_world_path

HISPANIC = "Hispanic or Latino"


@pytest.fixture(scope="module")
def demo_audit(demo_sandbox, tmp_path_factory):
    from _demo_output import demo_store_copy

    world = demo_sandbox.world
    csr = next(p["id"] for p in world.postings if "Customer Service" in str(p.get("title", "")))
    # the demo world as pulled over HTTP (once per session), loaded from a copy of that store
    store = demo_store_copy(
        tmp_path_factory, demo_sandbox, tmp_path_factory.mktemp("fairness-demo") / "store.sqlite3"
    )
    data = load_posting(csr, store=store, refresh=False)
    folder = demo_world_path()
    demo = read_demographics(folder / "demographics.csv", data=data)
    outcomes = read_outcomes(folder / "outcomes.csv", data=data, on_conflict="unknown")
    return csr, data, demo, bias_audit(data, demo, outcomes=outcomes)


def test_demo_audit_finds_the_planted_speech_gap(demo_audit):
    _, _, _, audit = demo_audit
    flags = audit.flags
    race = flags[(flags["dimension"] == "race_ethnicity") & (flags["measure"] == "speech_score")]
    assert race["category"].tolist() == [HISPANIC]
    ratio = race["impact_ratio"].item()
    assert 0.45 < ratio < 0.8  # README: ≈ 0.6–0.7 against the mean; here against the top group
    assert race["shortfall"].item() > 0
    assert any("non-native speakers" in n for n in audit.notes)


def test_demo_audit_flags_nothing_where_there_is_no_gap(demo_audit):
    _, _, _, audit = demo_audit
    flags = audit.flags
    assert set(flags["measure"]) == {"speech_score"}
    assert set(flags["race_ethnicity"]) == {HISPANIC}
    assert not (flags["dimension"] == "sex").any()
    # every measure was audited, including hiring from the ATS export
    measures = set(audit.table["measure"])
    assert {"score", "speech_score", "status", "hired"} <= measures
    assert sum(m.startswith("question:") for m in measures) == 5


def test_demo_audit_reports_unknowns_and_the_join(demo_audit):
    _, data, demo, audit = demo_audit
    rep = demo.attrs["join_report"]
    assert rep["matched"] > 0 and rep["declined"]["sex"] > 0
    u = audit.unknown.iloc[0]
    assert u["n_assessed"] == len(data.interviews)
    # about 15 % did not answer the voluntary form (README), plus declined answers
    assert u["no_demographics"] > 0 and u["any"] >= u["no_demographics"]
    jsonschema.validate(json.loads(audit.to_json()), AUDIT_JSON_SCHEMA)


def test_audit_command_over_http(demo_sandbox, demo_audit, tmp_path, monkeypatch, capsys):
    csr = demo_audit[0]
    monkeypatch.setenv("HEYMILO_API_KEY", demo_sandbox.api_key)
    out = tmp_path / "audit.json"
    code = main(
        [
            "audit", csr, "--demographics", str(demo_world_path() / "demographics.csv"),
            "--json", str(out), "--store", str(tmp_path / "store.sqlite"),
            "--base-url", demo_sandbox.base_url, "--fail-on-flag",
        ]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 2  # the planted gap is flagged
    assert f"FLAG Speech score · race_ethnicity · {HISPANIC}" in text
    assert demo_sandbox.api_key not in text
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, AUDIT_JSON_SCHEMA)
    assert doc["postings"][0]["posting_id"] == csr
    # offline: the same audit from the store, no network
    code = main(
        [
            "audit", csr, "--demographics", str(demo_world_path() / "demographics.csv"),
            "--store", str(tmp_path / "store.sqlite"), "--offline", "--ties", ">=",
            "--median-known-only",
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "FLAG Speech score" in text
    # the rule's ambiguities are options, and the choice made is printed
    assert "at or above the median" in text and "unknowns left out of" in text
    assert "strictly above" not in text
    code = main(["audit", csr, "--demographics", str(demo_world_path() / "demographics.csv"),
                 "--store", str(tmp_path / "store.sqlite"), "--offline", "--ties", ">"])  # fmt: skip
    err = capsys.readouterr().err  # a usage error naming the flag, before any work
    assert code == 2 and "Invalid value for '--ties'" in err and "'>'" in err


def test_audit_command_reports_bad_demographics(demo_audit, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,gender\nAna,F\n", encoding="utf-8")
    docs = str(demo_world_path())
    code = main(["audit", demo_audit[0], "--demographics", str(bad), "--documents", docs])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "no usable email column" in err and "'gender'" in err
    # a posting the documents do not hold is named before any file is read
    code = main(["audit", "X", "--demographics", str(bad), "--documents", docs])
    err = capsys.readouterr().err
    assert code == 1 and "posting X is not in the documents" in err


def test_demographics_join_by_every_key_agrees_on_the_demo_world(demo_audit, tmp_path):
    # the demo's demographics.csv is keyed by email; outcomes.csv gives many people's
    # interview_id and ATS external id (candidate metadata), so the same answers can be keyed
    # by the other two, and by a messy spelling of the email, and must join the same way
    _, data, by_email, _ = demo_audit
    folder = demo_world_path()
    raw = pd.read_csv(folder / "demographics.csv", dtype=str, keep_default_na=False)
    ids = pd.read_csv(folder / "outcomes.csv", dtype=str)[["email", "interview_id", "external_id"]]
    ids = ids[ids["interview_id"].isin(data.candidates["interview_id"])]
    assert data.candidates["external_id"].notna().any()  # the loader kept the metadata's id
    keyed = raw.merge(ids, on="email")
    assert len(keyed) > 500
    want = by_email.set_index("interview_id")[["sex", "race_ethnicity"]].sort_index()
    for key, frame in [
        ("interview_id", keyed.drop(columns=["email", "external_id"])),
        ("external_id", keyed.drop(columns=["email", "interview_id"])),
        ("email", raw.assign(email="  " + raw["email"].str.upper() + " ")),
    ]:
        path = tmp_path / f"demo_{key}.csv"
        frame.to_csv(path, index=False)
        got = read_demographics(path, key=key, data=data).set_index("interview_id").sort_index()
        if key == "email":
            assert got.index.tolist() == want.index.tolist()
        else:
            assert set(keyed["interview_id"]) <= set(got.index), key
        pd.testing.assert_frame_equal(
            got[["sex", "race_ethnicity"]], want.loc[got.index], check_dtype=False
        )
