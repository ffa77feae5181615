"""The decision-first summary: per posting, what was checked, what was found, what the weight
suggestion is and does, and what to do next — each linked to its section.

It is built after the other sections (it reads their results and :mod:`..findings`), and shown
first.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ..context import Context
from ..document import Block, Link, Section
from ..findings import audit_findings, suggestion_findings


def _p(v: float | None) -> str:
    if v is None:
        return "—"
    return "< .001" if v < 0.001 else f"{v:.3f}".replace("0.", ".", 1)


def _a(text: str, href: str) -> str:
    return f"<a href='{html.escape(href)}'>{html.escape(text)}</a>"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def build(ctx: Context) -> Section | None:
    """The summary section (always present when there are postings)."""
    if not ctx.postings:
        return None
    sec = Section(
        "summary",
        "Summary: what was found and what to do",
        intro=(
            "One paragraph and a small table per posting; every number links to the section "
            "that shows it in full. A flag is evidence of adverse impact under the flag rule "
            "(ratio below 0.8, significantly lower than everybody else, enough people); a ratio "
            "below 0.8 that is not flagged is listed in the adverse-impact section with why."
        ),
    )
    audit = ctx.results.get("audit")
    sg = ctx.suggestion
    sf = suggestion_findings(sg) if sg is not None else None
    items = ctx.results.get("items")
    alphas: dict[str, float] = {}
    rel = getattr(items, "reliability", None)
    if isinstance(rel, pd.DataFrame) and len(rel):
        alphas = {str(p): float(a) for p, a in zip(rel["posting_id"], rel["alpha"], strict=True)}
    facts: dict[str, Any] = {"postings": {}}
    for pid in ctx.postings:
        facts["postings"][pid] = _posting(ctx, sec, pid, audit, sf, alphas.get(pid))
    if audit is not None:
        total = ctx.once(("audit_findings", audit, None), lambda: audit_findings(audit))
        facts["flags"] = len(total["flags"])
        facts["below_four_fifths"] = total["below_four_fifths"]
    sec.facts = facts
    return sec


def _posting(
    ctx: Context,
    sec: Section,
    pid: str,
    audit: Any,
    sf: dict[str, Any] | None,
    alpha: float | None,
) -> dict[str, Any]:
    sub = ctx.posting_data(pid)
    n_cand, n_done = len(sub.candidates), len(sub.interviews)
    k = int((~sub.questions["not_scored"].astype(bool)).sum()) if len(sub.questions) else 0
    checked = [
        f"{n_done:,} completed interviews of {_plural(n_cand, 'candidate')}",
        f"{_plural(k, 'scored question')}",
    ]
    if alpha is not None:
        checked.append(f"reliability ({_a('Cronbach’s α', '#questions')} = {alpha:.2f})")
    if "validity" in ctx.results:
        checked.append(_a("validity against outcomes", "#validity"))
    out: dict[str, Any] = {}
    parts = [f"<p><strong>Checked:</strong> {html.escape(checked[0])}, {checked[1]}"]
    sync = next(
        (u for u in getattr(ctx.data, "unfinished_syncs", ()) or () if u.posting_id == pid), None
    )
    parts[0] += "".join(f", {c}" for c in checked[2:])
    found_rows: list[dict[str, Any]] = []
    next_steps: list[str] = []
    if audit is not None and (audit.table["posting_id"] == pid).any():
        af = ctx.once(("audit_findings", audit, pid), lambda: audit_findings(audit, pid))
        out.update(af)
        parts[0] += (
            f", and {_a('adverse impact', '#adverse-impact')} on "
            f"{_plural(af['measures'], 'measure')} by sex, race/ethnicity and their "
            f"intersection ({af['n_assessed']:,} people assessed).</p>"
        )
        flags = af["flags"]
        if flags:
            listed = "; ".join(
                f"{html.escape(f['label'])}, {html.escape(f['category'])} (impact ratio "
                f"{f['impact_ratio']:.3f}, Holm-adjusted p {_p(f['p_adjusted'])}, n = {f['n']:,})"
                for f in flags
            )
            parts.append(
                f"<p><strong>Found:</strong> <span class='milo-verdict-flag'>"
                f"{_plural(len(flags), 'flag')}</span> — evidence of adverse impact: {listed}. "
            )
        else:
            parts.append(
                "<p><strong>Found:</strong> <span class='milo-verdict-ok'>no flag</span> — no "
                "evidence of adverse impact under the flag rule. "
            )
        below, unflagged = af["below_four_fifths"], af["below_four_fifths"] - len(flags)
        why = ", ".join(f"{v:,} {k}" for k, v in af["verdicts"].items())
        parts[-1] += (
            f"{_a(_plural(below, 'impact ratio'), '#four-fifths')} "
            f"{'is' if below == 1 else 'are'} below 0.8 across all measures "
            f"({af['below_overall']:,} for the overall score by sex or race/ethnicity)"
            + (f"; {unflagged:,} of them are not flags ({html.escape(why)})" if unflagged else "")
            + ".</p>"
        )
        for f in flags:
            found_rows.append(
                {
                    "finding": Link("flag", "#flags"),
                    "label": f["label"],
                    "dimension": f["dimension"],
                    "category": f["category"],
                    "impact_ratio": f["impact_ratio"],
                    "p_adjusted": f["p_adjusted"],
                    "n": f["n"],
                }
            )
            extra = (
                " (speech ratings can disadvantage non-native speakers)"
                if f["measure"] == "speech_score"
                else ""
            )
            next_steps.append(
                f"Review the use of the {html.escape(f['label'].lower())} for "
                f"{html.escape(f['category'])} candidates before relying on it{extra}: "
                + _a("flags", "#flags")
                + "."
            )
        if unflagged:
            next_steps.append(
                f"Read the {unflagged:,} unflagged ratios below 0.8 with their n (small groups "
                "cannot show significance): " + _a("four-fifths results", "#four-fifths") + "."
            )
        next_steps.append(
            "Complete the distribution date and publish the "
            + _a("LL144 bias-audit summary", "#ll144-summary")
            + " if this tool is used for hiring decisions in New York City."
        )
    else:
        parts[0] += ".</p>"
        if ctx.demographics is None:
            parts.append("<p>No demographics were given, so adverse impact was not checked.</p>")
    if sf is not None and sf["posting_id"] == pid:
        out["suggestion"] = {k: v for k, v in sf.items() if k not in ("fairness", "fairness_key")}
        parts.append(_suggestion_text(sf))
        if sf["recommendation"] == "change":
            step = (
                "Review the "
                + _a("suggested weights", "#suggested-weights")
                + " and their impact ratios; to apply them run <code>milo-analytics "
                "push-weights suggestion.json</code> (a dry run; add <code>--apply</code> to "
                "write). Past candidates keep their scores."
            )
            if sf["worse"]:
                step += (
                    " Note: "
                    + "; ".join(
                        f"{html.escape(w['group'])} would go from {_ratio(w['ratio_current'])} to "
                        f"{_ratio(w['ratio_suggested'])}"
                        for w in sf["worse"]
                    )
                    + " — weigh that before pushing."
                )
            next_steps.insert(0, step)
        else:
            next_steps.insert(0, "Keep today's weights (" + _a("why", "#suggestion") + ").")
    elif sf is not None:
        parts.append(
            "<p>No weight suggestion for this posting (the suggestion in this report is for "
            f"{html.escape(ctx.posting_name(sf['posting_id']))}).</p>"
        )
    if alpha is not None and alpha < 0.70:
        next_steps.append(
            f"Cronbach's α = {alpha:.2f} is under .70: look at the questions with a low "
            "item–rest r in " + _a("questions and reliability", "#questions") + "."
        )
    if sync is not None:
        out["unfinished_sync"] = True
        parts.insert(
            0,
            "<p><strong><span class='milo-verdict-flag'>Incomplete data:</span></strong> the "
            f"last pull of this posting did not finish; everything below comes from the "
            f"{_plural(sync.documents, 'interview document')} it saved ("
            + _a("data quality", "#data-quality")
            + ").</p>",
        )
        next_steps.insert(
            0,
            f"Finish the pull (<code>milo-analytics pull {html.escape(pid)}</code>) and build "
            "this report again before acting on it.",
        )
    name = ctx.posting_name(pid)
    sec.blocks.append(
        Block(
            kind="html",
            title=name,
            html=ctx.redact.light("".join(parts)),
            anchor=f"summary-{pid}",
            data={"posting_id": pid, "text": ctx.redact.light(_strip(parts))},
        )
    )
    if found_rows:
        ctx.table(
            sec,
            pd.DataFrame(found_rows),
            title=f"Flags — {name}",
            label_questions=False,
            label_postings=False,
        )
    if sf is not None and sf["posting_id"] == pid and sf["weights"]:
        names = ctx.question_full
        rows = pd.DataFrame(
            {
                "question": [names.get(w["question_id"], w["question_id"]) for w in sf["weights"]],
                "current_weight": [w["current"] for w in sf["weights"]],
                "suggested_integer": [w["suggested"] for w in sf["weights"]],
            }
        )
        ctx.table(
            sec,
            rows,
            title=f"Weights: today → suggested — {name}",
            label_questions=False,
            label_postings=False,
        )
        fair = sf["fairness_key"]
        if fair is not None:
            ctx.table(
                sec,
                fair,
                title=f"Impact ratios with today's and the suggested weights — {name}",
                label_questions=False,
                label_postings=False,
                kinds={"change": "ratio"},
                notes=[
                    "The bias audit's rule applied to the overall score under each set of "
                    "weights (flag: ratio under 0.8, significantly lower than everybody else "
                    "after Holm's adjustment, n ≥ 30). Shown: the flagged groups and the lowest "
                    "ratio of each measure and dimension; every group is in the before/after "
                    "table of the suggested-weights section."
                ],
            )
    if next_steps:
        sec.blocks.append(
            Block(
                kind="html",
                html="<p><strong>What to do next</strong></p><ul class='milo-next'>"
                + "".join(f"<li>{ctx.redact.light(s)}</li>" for s in next_steps)
                + "</ul>",
                data=[ctx.redact.light(_strip([s])) for s in next_steps],
            )
        )
    return out


def _suggestion_text(sf: dict[str, Any]) -> str:
    rec = sf["recommendation"]
    metric = str(sf["metric"]).upper() if sf["metric"] == "auc" else str(sf["metric"])
    text = (
        f"<p><strong>Weights:</strong> the suggestion ({_a('details', '#suggestion')}) is to "
        f"<strong>{html.escape(str(rec))}</strong>"
    )
    if rec == "change":
        text += f" {_plural(sf['changed'], 'weight')} of {len(sf['weights'])}"
    text += "."
    gain, lv = sf["gain"], sf["levels"]
    if gain and gain["difference"] is not None:
        text += (
            f" On held-out candidates (the same cross-validation folds for every set of "
            f"weights) the suggested whole-number weights reached {metric} "
            f"{lv.get('suggested_integer', float('nan')):.3f} against "
            f"{lv.get('current', float('nan')):.3f} for today's: a difference of "
            f"{gain['difference']:+.3f} (95% CI {gain['ci_low']:+.3f} to {gain['ci_high']:+.3f}; "
            + _a("comparison", "#suggestion-comparison")
            + ")."
        )
    if sf["target"] == "hired":
        text += " The outcome is past hiring decisions, which can carry past bias."
    fair = sf["fairness"]
    if fair is not None and len(fair):
        moved = fair.dropna(subset=["ratio_current", "ratio_suggested"])
        if len(moved):
            low = moved.loc[moved["ratio_suggested"].idxmin()]
            text += (
                f" Impact ratios with the suggested weights: lowest {html.escape(str(low['group']))}"
                f" {low['ratio_current']:.3f} → {low['ratio_suggested']:.3f} ("
                + _a("before/after", "#suggestion-fairness")
                + ")."
            )
        if "flagged_suggested" in fair.columns:
            flagged = sf.get("flagged_suggested") or []
            if flagged:
                text += (
                    " Flagged by the audit's rule under the suggested weights: "
                    + "; ".join(
                        f"{html.escape(f['group'])} ({html.escape(_measure_words(f['measure']))}, "
                        f"n = {f['n']:,}) {_ratio(f['ratio_current'])} → {_ratio(f['ratio_suggested'])}"
                        + (", new" if f["new"] else ", flagged today too")
                        for f in flagged
                    )
                    + "."
                )
            else:
                text += " No group is flagged by the audit's rule under the suggested weights."
    return text + "</p>"


def _ratio(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _measure_words(measure: str) -> str:
    return {"scoring": "scoring rate", "selection": "selection at the cut"}.get(measure, measure)


def _strip(parts: list[str]) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", " ".join(parts)))
