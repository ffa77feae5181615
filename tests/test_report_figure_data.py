"""Figures' numeric arrays pass the report's redaction untouched, and their labels do not.

plotly 6 writes numeric arrays as typed arrays (``{"dtype": "f8", "bdata": "<base64>"}``). The
report redacts every string of a figure; base64 is not text: a run of digits in it looked like
a phone number (the numbers were corrupted), and one long array of the demo report took 0.3 s
to redact. Only the ``bdata`` of a typed array is exempt.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go

from milo_analytics.report.context import _redact_tree
from milo_analytics.report.redact import REDACTED, Redactor


def test_typed_array_numbers_survive_redaction_and_labels_do_not() -> None:
    # three float64 values whose base64 holds "/5558675309/", a US phone number to the redactor
    payload = "AAAA/5558675309/AAAAAAAAAAAAAAAA"
    values = np.frombuffer(base64.b64decode(payload), dtype="<f8")
    fig = go.Figure(go.Scatter(x=values, y=[1.0, 2.0, 3.0], name="call 555-867-5309"))
    spec = fig.to_plotly_json()
    assert spec["data"][0]["x"] == {"dtype": "f8", "bdata": payload}  # plotly's encoding

    redactor = Redactor(names=["Zebedee Quackenbush"])
    assert REDACTED in redactor.light(payload)  # what happened to the numbers before
    out = _redact_tree(spec, redactor.light)

    x = out["data"][0]["x"]
    assert x["bdata"] == payload
    assert np.array_equal(np.frombuffer(base64.b64decode(x["bdata"]), dtype="<f8"), values)
    assert out["data"][0]["name"] == f"call {REDACTED}"


def test_a_bdata_field_that_is_not_a_typed_array_is_still_redacted() -> None:
    spec = {"data": [{"customdata": {"bdata": "mail zq@example.org"}}]}
    out = _redact_tree(spec, Redactor().light)
    assert out["data"][0]["customdata"]["bdata"] == f"mail {REDACTED}"
