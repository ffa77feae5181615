"""One self-contained HTML report of everything the toolkit knows about a set of interviews.

:func:`build_report` runs the analyses on an :class:`~milo_analytics.frames.InterviewData`
(plus, when given, hire outcomes, voluntary demographics and a weight suggestion) and returns a
:class:`Report`. The HTML file works offline (plotly.js is embedded once), has a table of
contents and a print layout, is byte-identical for identical inputs (pass ``generated_at``),
and its size does not grow with the number of interviews (figures aggregate first, tables are
capped).

Safety: every candidate-derived string is escaped, in HTML and in the JSON embedded in the page
(``<`` is written as ``\\u003c``). With ``redact_pii=True`` (the default) candidate names, emails
and phone numbers are removed from every piece of free text and name/email/phone columns are
never shown. The report never calls the API, and the value of ``HEYMILO_API_KEY`` is scrubbed
from anything it shows.

Examples
--------
>>> from milo_analytics.frames import InterviewData
>>> report = build_report(InterviewData(), title="Empty", generated_at="2026-01-01T00:00:00Z")
>>> [s["id"] for s in report.to_dict()["sections"]]
['overview', 'data-quality', 'methods']
>>> "<h1>Empty</h1>" in report.to_html()
True
"""

from __future__ import annotations

from .build import SECTIONS, build_report
from .context import Context
from .document import Block, Report, Section
from .redact import Redactor

__all__ = ["SECTIONS", "Block", "Context", "Redactor", "Report", "Section", "build_report"]
