"""Write the three notebooks (without outputs) from the cell sources below.

Run ``python notebooks/build_notebooks.py`` after editing a cell here; the .ipynb files are
generated so that they are committed clean (no outputs, no execution counts).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP_MD = """\
## Setup: the only cell to change for a real account

With `HEYMILO_API_KEY` set in the environment this notebook uses your HeyMilo account: put
your posting id (and file paths) in the first branch. Without a key it starts the local
sandbox with the packaged demo world, so everything below runs with no account."""


def setup_cell(extra_real: str = "", extra_demo: str = "") -> str:
    return f"""\
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import plotly.io as pio

import milo_analytics as ma

pio.renderers.default = "plotly_mimetype+notebook"  # figures in JupyterLab and exported HTML
stack = ExitStack()  # closes the client (and the sandbox) in the last cell
if os.environ.get("HEYMILO_API_KEY"):
    # --- a real account -------------------------------------------------------------
    client = stack.enter_context(ma.HeyMiloClient())   # reads HEYMILO_API_KEY
    POSTING_ID = "13D77095"                            # <- your posting id
    STORE = None                                       # the default local store (incremental){extra_real}
else:
    # --- no account: the local sandbox with the demo world ---------------------------
    from milo_analytics.sandbox import run_sandbox
    from milo_analytics.sandbox.world import demo_world_path

    sandbox = stack.enter_context(run_sandbox("demo"))
    client = stack.enter_context(sandbox.client())
    POSTING_ID = sandbox.world.postings[0]["id"]       # the Customer Service Rep posting
    STORE = Path(tempfile.mkdtemp()) / "store.sqlite3"{extra_demo}
OUT = Path(tempfile.mkdtemp())                         # where files written below go
print("posting", POSTING_ID)"""


LOAD = """\
data = ma.load_posting(POSTING_ID, client=client, store=STORE)
data"""

CLOSE = """\
stack.close()  # stop the sandbox / close the client"""


def explore() -> list:
    return [
        new_markdown_cell(
            "# 01 — Explore a posting\n\n"
            "Pull one posting's interview results into tidy pandas frames, then look at how the "
            "overall score is built, how each question behaves, the speech score, and drift. "
            "Finally, write the one-file HTML report."
        ),
        new_markdown_cell(SETUP_MD),
        new_code_cell(setup_cell()),
        new_markdown_cell(
            "## Load\n\nA pull is incremental: running it again only fetches what changed."
        ),
        new_code_cell(LOAD),
        new_code_cell('data.candidates["status"].value_counts()'),
        new_code_cell("data.score_matrix().describe().round(2)"),
        new_markdown_cell(
            "## Weights\n\nA nominal weight is not a question's influence on the overall score: "
            "the effective share depends on each question's spread and its correlations."
        ),
        new_code_cell(
            "from milo_analytics.analysis import effective_weights, reconcile_scores\n\n"
            "ew = effective_weights(data)\n"
            "ew.plot().show()\n"
            "ew"
        ),
        new_markdown_cell(
            "How is the vendor's overall score built from the scorecard? `reconcile_scores` "
            "fits the candidate formulas and lists the interviews that fit none (recruiter "
            "overrides, for example)."
        ),
        new_code_cell("rec = reconcile_scores(data)\nrec.plot().show()\nrec"),
        new_markdown_cell("## Questions and reliability"),
        new_code_cell(
            "from milo_analytics.analysis import cronbach_alpha, item_statistics\n\n"
            "items = item_statistics(data)\n"
            "items.plot().show()\n"
            "items"
        ),
        new_code_cell(
            "alpha, (low, high) = cronbach_alpha(data.score_matrix())\n"
            'print(f"Cronbach\'s alpha = {alpha:.3f} (95% CI {low:.3f}–{high:.3f})")'
        ),
        new_markdown_cell("## Speech score and drift"),
        new_code_cell(
            "from milo_analytics.analysis import drift, speech_summary\n\n"
            "speech = speech_summary(data)\n"
            "speech.plot().show()\n"
            "speech"
        ),
        new_code_cell("dr = drift(data)\ndr.plot().show()\ndr"),
        new_markdown_cell(
            "## The report\n\nOne self-contained HTML file (works offline; candidate names, emails "
            "and phone numbers redacted). The notebook view below is a compact summary."
        ),
        new_code_cell(
            "report = ma.build_report(data)\n"
            'path = report.save_html(OUT / "01-explore-report.html")\n'
            "print(path)\n"
            "report"
        ),
        new_code_cell(CLOSE),
    ]


def calibrate() -> list:
    return [
        new_markdown_cell(
            "# 02 — Calibrate question weights from hire outcomes\n\n"
            "Join the ATS export, see which questions predict the outcome, get suggested integer "
            "weights shrunk toward today's, compared out of sample with the current and equal "
            "weights, and push them back — as a dry run first.\n\n"
            "**Caveat**: a model of *hired* learns to reproduce past decisions, including any "
            "past bias. Prefer performance or retention outcomes when the ATS has them."
        ),
        new_markdown_cell(SETUP_MD),
        new_code_cell(
            setup_cell(
                extra_real='\n    OUTCOMES, OUTCOMES_KEY = "ats_export.csv", "email"     # <- your ATS export'
                '\n    DEMOGRAPHICS = "eeo_self_id.csv"                   # <- your self-ID export',
                extra_demo='\n    OUTCOMES, OUTCOMES_KEY = demo_world_path() / "outcomes.csv", "external_id"'
                '\n    DEMOGRAPHICS = demo_world_path() / "demographics.csv"',
            )
        ),
        new_code_cell(LOAD),
        new_markdown_cell(
            "## Outcomes\n\nThe reader is forgiving about values (Yes/No, Hired/Rejected, dates, "
            "1/0) and says exactly how the join went."
        ),
        new_code_cell(
            'outcomes = ma.read_outcomes(OUTCOMES, key=OUTCOMES_KEY, data=data, on_conflict="unknown")\n'
            "from milo_analytics.outcomes import join_report\n\n"
            "join_report(outcomes)"
        ),
        new_code_cell('outcomes["hired"].value_counts(dropna=False)'),
        new_markdown_cell("## Suggested weights"),
        new_code_cell(
            'suggestion = ma.suggest_weights(data, outcomes, target="hired", posting_id=POSTING_ID)\n'
            "suggestion.plot().show()\n"
            "suggestion"
        ),
        new_code_cell("suggestion.comparison.round(3)"),
        new_code_cell(
            'path = OUT / "suggestion.json"\n'
            'path.write_text(suggestion.to_json(), encoding="utf-8")\n'
            "print(path)"
        ),
        new_markdown_cell(
            "## Push — dry run\n\nThe plan compares the baseline the suggestion was computed "
            "against with the live weights; nothing is written without `apply=True`."
        ),
        new_code_cell("plan = ma.push_weights(client, suggestion)\nplan.plan"),
        new_markdown_cell(
            "Against the sandbox (no account) we also apply the push, then roll it back. "
            "With a real account this cell does nothing: push deliberately, with `apply=True`, "
            "after reviewing the plan. Past candidates keep their scores; only interviews "
            "scored after the push use the new weights. The questions API writes whole numbers "
            "1–10, so a weight created as 1.5 (as in the demo) cannot be restored through it: "
            "the rollback warns and names it."
        ),
        new_code_cell(
            'if not os.environ.get("HEYMILO_API_KEY"):\n'
            "    result = ma.push_weights(client, suggestion, apply=True, audit_dir=OUT)\n"
            '    print("applied:", result.applied)\n'
            "    undo = ma.rollback_weights(client, result.audit_log)\n"
            '    print("rolled back:", undo.applied)'
        ),
        new_markdown_cell(
            "## Fairness-aware weights: the validity / adverse-impact frontier\n\n"
            "Weights fitted to *hired* reproduce past decisions. The frontier shows every "
            "integer weighting that trades validity (AUC against the outcome) for adverse "
            "impact (the lowest LL144 impact ratio over sex, race/ethnicity and their "
            "intersection), both measured on held-out candidates, with today's, equal and the "
            "suggested weights on the same axes (methods §8). We reload the posting first: the "
            "push above changed live weights, and the frontier's baseline must be today's."
        ),
        new_code_cell(
            "data = ma.load_posting(POSTING_ID, client=client, store=STORE)\n"
            'demographics = ma.read_demographics(DEMOGRAPHICS, data=data, on_conflict="unknown")\n'
            "frontier = ma.weight_frontier(data, outcomes, demographics, posting_id=POSTING_ID)\n"
            "frontier.plot().show()\n"
            "frontier"
        ),
        new_markdown_cell(
            "Choose a point: the most valid one whose held-out lowest impact ratio is at least "
            "0.9 (`min_impact_ratio=0.9`), or the fairest one within 0.01 AUC of the most "
            "valid (`max_validity_loss=0.01`). A constraint no point meets is an error naming "
            "the best available one. The choice is a `WeightSuggestion`: the same dry run, "
            "conflict check, audit log and rollback as above."
        ),
        new_code_cell(
            "chosen = frontier.choose(max_validity_loss=0.01)\n"
            'print(chosen.settings["frontier"]["why"])\n'
            "ma.push_weights(client, chosen).plan"
        ),
        new_code_cell(
            'if not os.environ.get("HEYMILO_API_KEY"):\n'
            "    result = ma.push_weights(client, chosen, apply=True, audit_dir=OUT)\n"
            '    print("applied:", result.applied)\n'
            "    undo = ma.rollback_weights(client, result.audit_log)\n"
            '    print("rolled back:", undo.applied)'
        ),
        new_code_cell(CLOSE),
    ]


def audit() -> list:
    return [
        new_markdown_cell(
            "# 03 — Adverse-impact audit (NYC Local Law 144, EEOC four-fifths rule)\n\n"
            "Join voluntary self-identification data, compute scoring-rate impact ratios for the "
            "overall score, each question and the speech score by sex, race/ethnicity and their "
            "intersection, and look at how the ratio moves with the cut score."
        ),
        new_markdown_cell(SETUP_MD),
        new_code_cell(
            setup_cell(
                extra_real='\n    DEMOGRAPHICS = "eeo_self_id.csv"                   # <- your self-ID export',
                extra_demo='\n    DEMOGRAPHICS = demo_world_path() / "demographics.csv"',
            )
        ),
        new_code_cell(LOAD),
        new_markdown_cell(
            "## Demographics\n\nCommon spellings are mapped to the EEO-1 categories; blanks and "
            "declines are counted as *Unknown*, never dropped silently."
        ),
        new_code_cell(
            'demographics = ma.read_demographics(DEMOGRAPHICS, data=data, on_conflict="unknown")\n'
            "from milo_analytics.outcomes import join_report\n\n"
            "join_report(demographics)"
        ),
        new_code_cell('demographics[["sex", "race_ethnicity"]].value_counts().head(15)'),
        new_markdown_cell("## The audit"),
        new_code_cell(
            "from milo_analytics.analysis import bias_audit, impact_ratios\n\n"
            "audit = bias_audit(data, demographics)\n"
            "audit"
        ),
        new_markdown_cell(
            "The flagged result first (the measure and posting of the first flag), with the 0.8 "
            "line; without a flag, the measure with the lowest ratio."
        ),
        new_code_cell(
            "if len(audit.flags):\n"
            "    flag = audit.flags.iloc[0]\n"
            '    fig = audit.plot(flag["measure"], posting_id=flag["posting_id"])\n'
            "else:\n"
            "    fig = audit.plot()\n"
            "fig.show()"
        ),
        new_code_cell('audit.plot(kind="sweep").show()'),
        new_code_cell("audit.flags"),
        new_markdown_cell(
            "## One table by hand\n\n`impact_ratios` works on any frame: here the overall score "
            "by the 14-cell sex × race/ethnicity layout of the rule."
        ),
        new_code_cell(
            'frame = data.interviews.merge(demographics[["interview_id", "sex", "race_ethnicity"]], on="interview_id")\n'
            'impact_ratios(frame, by=["sex", "race_ethnicity"], score="score")'
        ),
        new_markdown_cell("## Speech score gaps"),
        new_code_cell(
            "from milo_analytics.analysis import speech_summary\n\n"
            "speech = speech_summary(data, demographics=demographics)\n"
            "speech.plot().show()\n"
            "speech"
        ),
        new_markdown_cell(
            "## Export\n\nThe audit as JSON (documented schema) and the HTML report."
        ),
        new_code_cell(
            'audit.to_json(OUT / "bias-audit.json")\n'
            "report = ma.build_report(data, demographics=demographics)\n"
            'print(report.save_html(OUT / "03-bias-audit-report.html"))'
        ),
        new_code_cell(CLOSE),
    ]


NOTEBOOKS = {
    "01-explore.ipynb": explore,
    "02-calibrate-weights.ipynb": calibrate,
    "03-bias-audit.ipynb": audit,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook into ``folder`` (no outputs) and return the paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(
            cells=cells(),
            metadata={
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
        )
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"  # stable ids: clean diffs
        nbformat.validate(nb)
        path = folder / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print(p)
