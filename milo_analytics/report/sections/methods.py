"""The methods appendix: docs/methods.md rendered into the page (folded), so that every
section's "how this is computed" link has a target in the self-contained file."""

from __future__ import annotations

from ..context import Context
from ..document import Block, Section
from ..methods import methods_html, methods_path


def build(ctx: Context) -> Section | None:
    """The appendix, or None when the methods document is missing from the installation."""
    body, toc = methods_html()
    if not body:
        return None
    sec = Section(
        "methods",
        "Methods",
        intro=(
            "How every number in this report is computed, with references and the decision "
            "rules (the package's methods document, " + methods_path().name + ")."
        ),
    )
    sec.blocks.append(
        Block(
            kind="html",
            html=f"<div class='milo-methods'>{body}</div>",
            collapsed=True,
            summary=f"The methods document ({len(toc)} sections): open to read",
            anchor="methods-document",
            data={"sections": [h for _, h in toc]},
        )
    )
    sec.facts["sections"] = [a for a, _ in toc]
    return sec
