"""The LL144 bias-audit summary: one printed page per posting with what the rule asks a
summary to show (from the audit the adverse-impact section ran)."""

from __future__ import annotations

from ..context import Context
from ..document import Block, Section
from ..ll144 import summary_html


def build(ctx: Context) -> Section | None:
    """The section, or None without an audit."""
    audit = ctx.results.get("audit")
    if audit is None or not hasattr(audit, "unknown"):
        return None
    sec = Section(
        "ll144-summary",
        "LL144 bias-audit summary",
        intro=(
            "The overall score's impact ratios in the shape NYC Local Law 144 asks a published "
            "summary to have. Also written alone by milo-analytics audit --summary-html."
        ),
    )
    titles = {p: ctx.redact.light(t) for p, t in ctx.posting_titles.items() if t}
    sec.blocks.append(
        Block(
            kind="html",
            html=ctx.redact.light(summary_html(audit, posting_titles=titles)),
            anchor="ll144",
            data={"postings": [str(p) for p in audit.unknown["posting_id"]]},
        )
    )
    return sec
