"""The WeightSuggestion result: tables, notes, JSON round trip and HTML display."""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import Result, frame_to_html

#: The caveat printed whenever the target is "hired" (METHODS.md §5).
HIRED_CAVEAT = (
    "Target is 'hired': a model fitted on past hiring decisions learns to reproduce them, "
    "including any past bias. Prefer performance or retention outcomes when the ATS has them."
)
#: Said by every suggestion and push (DESIGN.md, API-NOTES.md).
PAST_SCORES_NOTE = (
    "Changing weights affects interviews scored after the change only: past candidates keep "
    "their scores (each scorecard item keeps the weight used when it was scored)."
)


# ============================================================================ result object
_FRAME_FIELDS = (
    "table",
    "comparison",
    "differences",
    "lambda_path",
    "cv_results",
    "fairness",
    "range_restriction",
)
#: The plain (JSON-able) fields, in the order to_json writes them.
_SCALAR_FIELDS = (
    "title",
    "notes",
    "recommendation",
    "baseline",
    "join_report",
    "target",
    "target_type",
    "metric",
    "lambda_",
    "rounding",
    "n",
    "n_events",
    "settings",
)


def _frame_to_obj(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    flat = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    index_cols = [c for c in flat.columns if c not in df.columns]
    data = []
    for row in flat.itertuples(index=False, name=None):
        data.append([_jsonable(v) for v in row])
    return {
        "columns": [str(c) for c in flat.columns],
        "index": index_cols,
        "dtypes": {str(c): str(flat[c].dtype) for c in flat.columns},
        "data": data,
    }


def _frame_from_obj(obj: dict[str, Any] | None) -> pd.DataFrame | None:
    if obj is None:
        return None
    df = pd.DataFrame(obj["data"], columns=obj["columns"])
    for col, dtype in obj["dtypes"].items():
        try:
            if dtype.startswith("datetime64"):
                df[col] = pd.to_datetime(df[col], utc=True)
            elif dtype in ("str", "string", "object"):
                df[col] = df[col].astype("str") if df[col].notna().all() else df[col]
            else:
                df[col] = df[col].astype(dtype)
        except (TypeError, ValueError):
            pass
    if obj.get("index"):
        df = df.set_index(obj["index"])
    return df


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    return v


def _dump_document(
    result: Any,
    fmt: str,
    frames: Sequence[str],
    scalars: Sequence[str],
    path: str | Path | None,
    indent: int | None,
) -> str:
    """A result's frames and scalars as one JSON document tagged ``fmt`` (written to ``path``).

    Shared by :meth:`WeightSuggestion.to_json` and ``WeightFrontier.to_json``: strict JSON
    (no NaN), UTF-8, a file ends with a newline.
    """
    obj: dict[str, Any] = {"format": fmt}
    for name in frames:
        obj[name] = _frame_to_obj(getattr(result, name))
    for name in scalars:
        obj[name] = _jsonable(getattr(result, name))
    text = json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False)
    if path is not None:
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text


def _load_document(source: str | Path, what: str) -> dict[str, Any]:
    """The JSON object in ``source`` (a JSON string or a file path); ``what`` names it in errors.

    >>> _load_document('{"format": "x"}', "suggestion")
    {'format': 'x'}
    """
    text = str(source)
    if not text.lstrip().startswith("{"):
        p = Path(source)
        if not p.exists():
            raise DataError(f"{source} is neither {what} JSON nor an existing file")
        text = p.read_text(encoding="utf-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not a {what} JSON file: {exc}") from None
    if not isinstance(obj, dict):
        raise DataError(f"not a {what} JSON document: expected an object, got {type(obj).__name__}")
    return obj


@dataclass(repr=False)
class WeightSuggestion(Result):
    """Suggested question weights for one posting, with the evidence behind them.

    Attributes
    ----------
    table : DataFrame
        One row per scored question: ``question_id``, ``text``, ``rank`` (its place in the
        interview), ``current_weight``,
        ``suggested_weight`` (continuous, on the scale of ``suggested_integer``),
        ``suggested_integer`` (what a push writes), ``importance`` (Johnson's relative weight,
        % of R²), ``ci_low``/``ci_high`` (bootstrap CI of ``suggested_weight``), ``change``
        (``suggested_integer − current_weight``), ``mle_weight`` (the unshrunk fit, same scale).
    comparison : DataFrame
        Index ``current``, ``unit``, ``suggested``, ``suggested_integer``; the metric column
        (``auc`` for a binary target, ``r`` for a continuous one), ``ci_low``, ``ci_high``.
    differences : DataFrame
        Paired differences (e.g. ``suggested_integer - current``) with bootstrap CIs.
    recommendation : str
        ``"change"`` or ``"keep"``.
    baseline : dict
        What the suggestion was computed against: ``posting_id``, ``question_ids`` (every scored
        question), ``weights``, ``updated_at``, ``data_hash``, ``score_scale``, ``created_at``.
    join_report : dict
        How the outcomes joined to the interviews.
    lambda_, lambda_path, cv_results
        The chosen penalty, the weights along the λ path (long: ``lambda``, ``question_id``,
        ``weight``, on the ``suggested_weight`` scale) and the CV curve.
    rounding : dict
        The integer search: ``rule``, ``rounding_loss`` (1 − corr of composites), ``share_error``,
        ``lr_statistic``, ``lr_threshold``, ``consistent``.
    fairness : DataFrame or None
        Impact ratios for current vs suggested weights at the operating cut, with ``flag``.
    range_restriction : DataFrame or None
        Thorndike Case II sensitivity for a performance-type target.

    Examples
    --------
    >>> s = WeightSuggestion.from_json(WeightSuggestion(table=pd.DataFrame({"a": [1]})).to_json())
    >>> s.recommendation
    'keep'
    """

    title: str = "Suggested question weights"
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendation: str = "keep"
    baseline: dict[str, Any] = field(default_factory=dict)
    join_report: dict[str, Any] = field(default_factory=dict)
    target: str = "hired"
    target_type: str = "binary"
    metric: str = "auc"
    lambda_: float = math.nan
    lambda_path: pd.DataFrame = field(default_factory=pd.DataFrame)
    cv_results: pd.DataFrame = field(default_factory=pd.DataFrame)
    rounding: dict[str, Any] = field(default_factory=dict)
    fairness: pd.DataFrame | None = None
    range_restriction: pd.DataFrame | None = None
    n: int = 0
    n_events: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    @property
    def posting_id(self) -> str | None:
        """The posting the suggestion is for."""
        return self.baseline.get("posting_id")

    @property
    def changes(self) -> pd.DataFrame:
        """Rows of :attr:`table` whose integer weight differs from today's weight."""
        t = self.table
        if t.empty or "change" not in t:
            return t
        return t[t["change"].fillna(1) != 0].reset_index(drop=True)

    def plot(self) -> Any:
        """Old vs new weights with CIs, the λ path and the CV comparison (plotly Figure)."""
        from ..plots import weight_suggestion_figure

        return weight_suggestion_figure(self)

    # ------------------------------------------------------------------ JSON
    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """Serialise to JSON (and write it to ``path`` when given); see :meth:`from_json`."""
        return _dump_document(
            self, "milo_analytics.WeightSuggestion/1", _FRAME_FIELDS, _SCALAR_FIELDS, path, indent
        )

    @classmethod
    def from_json(cls, source: str | Path) -> WeightSuggestion:
        """Read what :meth:`to_json` wrote (a JSON string or a file path)."""
        obj = _load_document(source, "suggestion")
        if not str(obj.get("format", "")).startswith("milo_analytics.WeightSuggestion/"):
            raise DataError(
                "not a WeightSuggestion JSON document (missing 'format'); write one with "
                "suggest_weights(...).to_json(path) or `milo-analytics suggest-weights -o`"
            )
        kw: dict[str, Any] = {}
        for name in _FRAME_FIELDS:
            kw[name] = _frame_from_obj(obj.get(name))
            if kw[name] is None and name not in ("fairness", "range_restriction"):
                kw[name] = pd.DataFrame()
        for name in _SCALAR_FIELDS:
            if name in obj:
                kw[name] = obj[name]
        kw["lambda_"] = math.nan if obj.get("lambda_") is None else float(obj["lambda_"])
        return cls(**kw)

    # ------------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#D55E00" if self.recommendation == "change" else "#009E73"
        head = (
            f"<div class='milo-result'><h4>{esc(self.title)} — posting "
            f"{esc(str(self.posting_id))}</h4><p><strong style='color:{colour}'>"
            f"Recommendation: {esc(self.recommendation)}</strong> (target "
            f"{esc(self.target)}, n={self.n:,}, λ={self.lambda_:.3g})</p>"
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        parts = [head, f"<ul>{notes}</ul>" if notes else "", frame_to_html(self.table)]
        parts.append("<h5>Out-of-sample comparison (same folds)</h5>")
        parts.append(frame_to_html(self.comparison))
        if not self.differences.empty:
            parts.append(frame_to_html(self.differences))
        if self.fairness is not None and not self.fairness.empty:
            parts.append("<h5>Impact ratios: current vs suggested weights</h5>")
            parts.append(frame_to_html(self.fairness))
        if self.range_restriction is not None and not self.range_restriction.empty:
            parts.append("<h5>Range restriction (Thorndike Case II, sensitivity only)</h5>")
            parts.append(frame_to_html(self.range_restriction))
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        return (
            f"WeightSuggestion(posting={self.posting_id!r}, target={self.target!r}, "
            f"recommendation={self.recommendation!r}, questions={len(self.table)}, n={self.n})"
        )
