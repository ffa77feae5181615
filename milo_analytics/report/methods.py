"""The user-facing methods document (``docs/methods.md``), shipped inside the package and
rendered into the report's appendix so that sections can link to it.

The wheel carries it as ``milo_analytics/_docs/methods.md`` (pyproject ``force-include``); a
source checkout reads ``docs/methods.md``. Headings get GitHub-style anchors
(``## 5. Suggesting weights…`` → ``5-suggesting-weights…``), prefixed ``methods-`` in the page.

Examples
--------
>>> html_text, toc = methods_html()
>>> toc[0][0]
'methods-1-the-score-model'
>>> 'id="methods-6-adverse-impact-nyc-local-law-144-and-the-eeoc-four-fifths-rule"' in html_text
True
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

__all__ = ["SECTION_METHODS", "methods_html", "methods_path", "slug"]

#: Report section id → the methods section (number) that explains it.
SECTION_METHODS: dict[str, int] = {
    "weights": 2,
    "questions": 3,
    "validity": 4,
    "suggestion": 5,
    "adverse-impact": 6,
    "ll144-summary": 6,
    "speech": 7,
    "frontier": 8,
}


def methods_path() -> Path:
    """Where the methods document is: inside the installed package, else the checkout's docs/."""
    package = Path(__file__).resolve().parent.parent
    shipped = package / "_docs" / "methods.md"
    if shipped.is_file():
        return shipped
    return package.parent / "docs" / "methods.md"


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.

    Examples
    --------
    >>> slug("5. Suggesting weights from outcomes")
    '5-suggesting-weights-from-outcomes'
    """
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@functools.cache
def methods_html(prefix: str = "methods-") -> tuple[str, list[tuple[str, str]]]:
    """The methods document as HTML (raw HTML in it escaped) and its ``(anchor, heading)``
    list of level-2 sections. Empty when the document is missing."""
    from markdown_it import MarkdownIt

    path = methods_path()
    if not path.is_file():
        return "", []
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text(encoding="utf-8"))
    toc: list[tuple[str, str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = tokens[i + 1].content
            anchor = prefix + slug(text)
            tok.attrSet("id", anchor)
            if tok.tag == "h2":
                toc.append((anchor, text))
            tok.tag = {"h1": "h3", "h2": "h3", "h3": "h4"}.get(tok.tag, "h5")
        elif tok.type == "heading_close":
            tok.tag = {"h1": "h3", "h2": "h3", "h3": "h4"}.get(tok.tag, "h5")
    return md.renderer.render(tokens, md.options, {}), toc


def methods_link(section_id: str) -> tuple[str, str] | None:
    """``(anchor, heading)`` of the methods section explaining a report section, if any."""
    number = SECTION_METHODS.get(section_id)
    if number is None:
        return None
    for anchor, heading in methods_html()[1]:
        if heading.startswith(f"{number}."):
            return anchor, heading
    return None
