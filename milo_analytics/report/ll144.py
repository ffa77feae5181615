"""The one-page bias-audit summary in the shape NYC Local Law 144 asks for (6 RCNY § 5-301–304).

Per posting: the data source and the dates of the data, the number of people assessed and of
unknown category, and for the overall score by sex, by race/ethnicity and by their
intersection: the number of applicants per category, the scoring (or selection) rate, the
impact ratio, and the categories excluded for being under 2 % of the data (with their n and
rate). The distribution date is left for the employer to fill in.

Used by :meth:`BiasAudit.to_html(summary_only=True)
<milo_analytics.analysis.fairness.BiasAudit.to_html>`, ``milo-analytics audit
--summary-html`` and the report's "LL144 bias-audit summary" section.

Examples
--------
>>> import pandas as pd
>>> from milo_analytics.analysis import bias_audit
>>> from milo_analytics.frames import InterviewData
>>> iv = pd.DataFrame({"interview_id": [f"i{k}" for k in range(8)], "posting_id": "P",
...                    "status": "completed", "score": [10, 20, 30, 40, 50, 60, 70, 80]})
>>> demo = pd.DataFrame({"interview_id": iv["interview_id"],
...                      "sex": ["Male", "Female"] * 4, "race_ethnicity": "White"})
>>> page = summary_html(bias_audit(InterviewData(interviews=iv), demo, questions=False))
>>> "Distribution date" in page and "Impact ratio" in page
True
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = ["summary_html"]

_DIMENSION_TITLES = {
    "sex": "Sex",
    "race_ethnicity": "Race/ethnicity",
    "intersection": "Intersection of sex and race/ethnicity",
}


def _rate(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.1f} %"


def _ratio(v: Any) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.3f}"


def _day(v: Any) -> str:
    if not v:
        return "—"
    return str(v)[:10]


def summary_html(
    audit: Any,
    *,
    source: str | None = None,
    measure: str = "score",
    distribution_date: str | None = None,
    posting_titles: dict[str, str] | None = None,
    full_page: bool = False,
) -> str:
    """The LL144 summary of ``audit`` as escaped HTML (a fragment, or a page with
    ``full_page=True``).

    Parameters
    ----------
    source
        Where the data came from (default: "HeyMilo interview results (AI-scored
        interviews), with voluntary self-identification").
    measure
        The audited measure shown (``"score"``: the overall score, scoring rates).
    distribution_date
        Shown as given; by default a blank for the employer to complete.
    posting_titles
        ``{posting_id: title}`` to name the postings.
    """
    esc = html.escape
    titles = posting_titles or {}
    source = source or (
        "HeyMilo interview results (AI-scored video/voice interviews) joined to the "
        "candidates' voluntary self-identification of sex and race/ethnicity"
    )
    opts = getattr(audit, "options", {}) or {}
    periods = (getattr(audit, "extras", {}) or {}).get("periods", {})
    t = audit.table
    parts = ["<div class='milo-ll144'>"]
    for u in audit.unknown.itertuples(index=False):
        pid = str(u.posting_id)
        rows = t[(t["posting_id"] == pid) & (t["measure"] == measure)]
        mode = str(rows["mode"].iloc[0]) if len(rows) else "scoring"
        rate_word = "Scoring rate" if mode == "scoring" else "Selection rate"
        name = f"{pid} · {titles[pid]}" if titles.get(pid) else pid
        start, end = periods.get(pid, (None, None))
        if len(parts) > 1:
            parts.append("</div>")
        parts.append(
            "<div class='milo-ll144-posting'>"
            f"<h3>Bias audit summary — {esc(name)}</h3>"
            "<table class='milo-table milo-kv'>"
            f"<tr><th class='text'>Data source</th><td class='text'>{esc(source)}</td></tr>"
            f"<tr><th class='text'>Dates of the data</th><td class='text'>{esc(_day(start))} to "
            f"{esc(_day(end))} (interview dates)</td></tr>"
            f"<tr><th class='text'>People assessed</th><td class='text'>{int(u.n_assessed):,}"
            "</td></tr>"
            f"<tr><th class='text'>Unknown category</th><td class='text'>sex {int(u.sex):,}; "
            f"race/ethnicity {int(u.race_ethnicity):,}; either {int(u.any):,} (of them "
            f"{int(u.no_demographics):,} with no self-identification row). Not in the impact "
            "ratios.</td></tr>"
            f"<tr><th class='text'>Rate</th><td class='text'>{esc(rate_word)}: "
            + (
                "the share of the category scoring strictly above the median overall score "
                "of everybody assessed"
                if mode == "scoring"
                else "the share of the category selected"
            )
            + "; impact ratio: the category's rate divided by the highest category's rate."
            "</td></tr>"
            "<tr><th class='text'>Distribution date</th><td class='text'>"
            + (
                esc(distribution_date)
                if distribution_date
                else "____________ (to be completed by the employer)"
            )
            + "</td></tr></table>"
        )
        for dim in ("sex", "race_ethnicity", "intersection"):
            d = rows[rows["dimension"] == dim]
            if d.empty:
                continue
            body = []
            for r in d.itertuples(index=False):
                excluded = bool(r.excluded) if pd.notna(r.excluded) else False
                share = float(opts.get("exclude_below", 0.02))
                note = f"excluded: under {share:.0%} of the data" if excluded else ""
                body.append(
                    "<tr>"
                    f"<td class='text'>{esc(str(r.category))}</td>"
                    f"<td class='num'>{int(r.n):,}</td>"
                    f"<td class='num'>{_rate(r.rate)}</td>"
                    f"<td class='num'>{_ratio(r.impact_ratio)}</td>"
                    f"<td class='text'>{esc(note)}</td>"
                    "</tr>"
                )
            parts.append(
                f"<h4>{esc(_DIMENSION_TITLES.get(dim, dim))}</h4>"
                "<div class='milo-table-wrap'><table class='milo-table'><thead><tr>"
                "<th class='text'>Category</th><th class='num'>Number of applicants</th>"
                f"<th class='num'>{esc(rate_word)}</th><th class='num'>Impact ratio</th>"
                "<th class='text'>Note</th></tr></thead><tbody>"
                + "".join(body)
                + "</tbody></table></div>"
            )
    if len(parts) > 1:
        parts.append("</div>")
    parts.append(
        "<p class='milo-notes'>Computed by milo_analytics under NYC Local Law 144's rules "
        "(6 RCNY § 5-301): categories with fewer than "
        f"{float(opts.get('exclude_below', 0.02)):.0%} of the data are excluded from the impact "
        "ratios and listed with their number and rate. This summary is the audit's result, "
        "not legal advice; the bias audit itself must be done by an independent auditor.</p>"
    )
    parts.append("</div>")
    fragment = "".join(parts)
    if not full_page:
        return fragment
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Bias audit summary</title><style>"
        "body{font-family:system-ui,Arial,sans-serif;max-width:900px;margin:24px auto;"
        "font-size:14px;color:#1d2330}table{border-collapse:collapse;margin:6px 0}"
        "th,td{border-bottom:1px solid #d9dee7;padding:2px 8px;vertical-align:top}"
        "td.num,th.num{text-align:right}td.text,th.text{text-align:left}"
        "h3{margin:18px 0 6px}h4{margin:10px 0 4px}.milo-notes{color:#5b6474;font-size:12px}"
        "@page{size:A4 portrait;margin:12mm}"
        "@media print{.milo-ll144-posting+.milo-ll144-posting{break-before:page}}"
        "</style></head><body>" + fragment + "</body></html>"
    )
