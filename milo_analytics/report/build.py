"""Assemble a report: run every section of :data:`SECTIONS` on one shared context.

Adding a section means one new module in :mod:`milo_analytics.report.sections` (a function
``build(ctx) -> Section | None``) and one entry in :data:`SECTIONS`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..frames import InterviewData
from .columns import plain_words
from .context import Context
from .document import Link, Report, Section, _timestamp
from .methods import methods_link
from .sections import (
    data_quality,
    frontier,
    impact,
    ll144,
    methods,
    overview,
    questions,
    speech,
    suggestion,
    summary,
    validity,
    weights,
)

__all__ = ["SECTIONS", "build_report"]

#: Sections built after :data:`SECTIONS` from their results, shown before them.
SUMMARIES: list[Callable[[Context], Section | None]] = [summary.build]
#: The sections in page order; each returns None when its inputs are absent.
SECTIONS: list[Callable[[Context], Section | None]] = [
    overview.build,
    weights.build,
    questions.build,
    speech.build,
    validity.build,
    suggestion.build,
    frontier.build,
    impact.build,
    ll144.build,
    data_quality.build,
    methods.build,
]


def build_report(
    data: InterviewData,
    *,
    outcomes: pd.DataFrame | None = None,
    demographics: pd.DataFrame | None = None,
    suggestion: Any = None,
    redact_pii: bool = True,
    title: str | None = None,
    generated_at: str | _dt.datetime | None = None,
    strict: bool = False,
    min_known_share: float = 0.5,
) -> Report:
    """Run the analyses on ``data`` and assemble a :class:`Report`.

    Parameters
    ----------
    data
        The interviews (one or several postings).
    outcomes
        Hire outcomes from :func:`~milo_analytics.read_outcomes` (``interview_id``, ``hired``,
        optional ``performance``). Adds the outcomes-and-validity section.
    demographics
        From :func:`~milo_analytics.read_demographics`. Adds the adverse-impact section and
        group gaps in the speech section.
    suggestion
        A :class:`~milo_analytics.WeightSuggestion`. Adds the weight-suggestion section.
    redact_pii
        Remove candidate names, emails and phone numbers everywhere (default True).
    title
        Page title; defaults to the posting titles.
    generated_at
        Timestamp shown in the page. Pass a fixed value for byte-identical output; defaults
        to now (UTC).
    strict
        Re-raise unexpected exceptions from the analyses instead of showing them in the page
        (errors a user can cause, :class:`~milo_analytics.errors.MiloError`, are always shown).
    min_known_share
        Passed to :func:`~milo_analytics.analysis.bias_audit`: the share of assessed people
        with a known sex (race/ethnicity) below which a posting is not audited (default 0.5).

    Returns
    -------
    Report

    Examples
    --------
    >>> import pandas as pd
    >>> from milo_analytics.frames import InterviewData
    >>> cands = pd.DataFrame({"interview_id": ["i1"], "posting_id": "P", "name": ["Ada Lovelace"],
    ...                       "status": ["pending"]})
    >>> html_text = build_report(InterviewData(candidates=cands)).to_html()
    >>> "Lovelace" in html_text
    False
    """
    ctx = Context(
        data,
        outcomes=outcomes,
        demographics=demographics,
        suggestion=suggestion,
        redact_pii=redact_pii,
        strict=strict,
        min_known_share=min_known_share,
    )
    ctx.facts = header_facts(ctx)
    body = [s for s in (build(ctx) for build in SECTIONS) if s is not None]
    front = [s for s in (build(ctx) for build in SUMMARIES) if s is not None]
    sections = front + body
    for section in sections:
        section.intro = plain_words(section.intro)
        link = methods_link(section.id)
        if link is not None and not section.method:
            section.method = link
    headline(ctx, sections)
    return Report(
        title=ctx.redact.light(title) if title else ctx.default_title(),
        generated_at=_timestamp(generated_at),
        sections=sections,
        facts=ctx.facts,
        redact_pii=redact_pii,
        problems=ctx.problems,
        results=ctx.results,
        redactor=ctx.redact,
    )


def headline(ctx: Context, sections: list[Section]) -> None:
    """The audit's and the suggestion's conclusions in the page header (read first), with
    the counts of :mod:`.findings` (the same numbers as the summary and the sections)."""
    by_id = {s.id: s for s in sections}
    audit = by_id.get("adverse-impact")
    if audit is not None:
        if "flags" in audit.facts:
            flags, below = audit.facts["flags"], audit.facts["below_four_fifths"]
            ctx.facts["Adverse impact"] = [
                Link(f"{flags} flag{'' if flags == 1 else 's'}", "#flags"),
                " (evidence of adverse impact); ",
                Link(
                    f"{below:,} impact ratio{' is' if below == 1 else 's are'} below 0.8",
                    "#four-fifths",
                ),
                " across all measures — ",
                Link("summary", "#summary"),
            ]
        else:
            ctx.facts["Adverse impact"] = [
                "not computed — ",
                Link("see the Adverse impact section", "#adverse-impact"),
            ]
    sug = by_id.get("suggestion")
    if sug is not None and "recommendation" in sug.facts:
        pid = sug.facts.get("posting_id")
        where = f" for {ctx.posting_name(pid)}" if pid else ""
        ctx.facts["Suggested weights"] = [
            f"{sug.facts['recommendation']}{where} — ",
            Link("see the Suggested question weights section", "#suggestion"),
        ]


def header_facts(ctx: Context) -> dict[str, Any]:
    """The headline numbers of the page header (counts, postings, date range, scales)."""
    s = ctx.data.summary()
    facts: dict[str, Any] = {
        "Postings": ", ".join(ctx.posting_name(p) for p in ctx.postings) or "—",
        "Candidates": s["candidates"],
        "Completed interviews": s["interviews"],
        "Scored questions": int((~ctx.data.questions["not_scored"]).sum()),
        "Question score scale": _scales(ctx),
    }
    if s["first_created"] is not None:
        facts["Candidates created"] = (
            f"{s['first_created']:%Y-%m-%d} → {s['last_created']:%Y-%m-%d}"
        )
    facts["Load errors"] = s["errors"]
    if ctx.outcomes is not None:
        facts["Outcomes"] = f"{len(ctx.outcomes):,} rows"
    if ctx.demographics is not None:
        facts["Demographics"] = f"{len(ctx.demographics):,} rows"
    return facts


def _scales(ctx: Context) -> str:
    """ "1–5" when every posting uses it, else the scale of each posting."""
    t = ctx.posting_table
    if t is None or t.empty:
        s = ctx.data.score_scale
        return f"1–{s}" if s else "unknown"
    scales = {
        pid: (f"1–{int(v)}" if pd.notna(v) else "unknown")
        for pid, v in zip(t["posting_id"], t["score_scale"], strict=True)
    }
    if len(set(scales.values())) == 1:
        return next(iter(scales.values()))
    return "; ".join(f"{v} ({ctx.posting_name(p)})" for p, v in scales.items())
