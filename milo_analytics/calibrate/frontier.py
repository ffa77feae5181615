"""The validity / adverse-impact frontier of integer weights (docs/methods.md §8).

:func:`weight_frontier` traces, for one posting, which integer weights 1–10 trade validity
(AUC against a binary outcome, Pearson r against a continuous one) for adverse impact (the
lowest LL144 impact ratio over the included categories of sex, race/ethnicity and their
intersection, at the chosen selection rule), with both axes measured on held-out candidates.
:meth:`WeightFrontier.choose` turns one point into a :class:`WeightSuggestion` that
:func:`~milo_analytics.push.push_weights` accepts.

Examples
--------
>>> from milo_analytics import weight_frontier  # doctest: +SKIP
>>> fr = weight_frontier(data, outcomes, demographics)  # doctest: +SKIP
>>> fr.table[["point", "validity", "impact_ratio", "dominated"]]  # doctest: +SKIP
>>> suggestion = fr.choose(min_impact_ratio=0.9)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.resample import single_blas
from ..errors import DataError, InsufficientDataError
from ..results import Result, frame_to_html
from . import estimator as _est
from . import frontier_search as core
from . import result as _res
from . import suggest as _sug

__all__ = ["WeightFrontier", "weight_frontier"]

FORMAT = "milo_analytics.WeightFrontier/1"
NO_TRADE_OFF = (
    "No trade-off to make: on held-out candidates no frontier point has a lowest impact ratio "
    "higher than the most valid weights' beyond the noise, so the frontier collapses to one "
    "point — the most valid weights are already as fair as any integer weights here."
)
_FIXED = ("today", "unit", "suggestion")


# ============================================================================ inputs
def _families(
    demographics: Any, data: Any, key: str, ids: pd.Index, groups: tuple[str, ...]
) -> tuple[list[tuple[str, np.ndarray, list[str]]], dict[str, int], pd.DataFrame]:
    from ..outcomes import RACE_CATEGORIES, SEX_CATEGORIES, UNKNOWN

    if isinstance(demographics, pd.DataFrame) and "interview_id" in demographics.columns:
        demo = demographics
    else:
        from ..outcomes import read_demographics

        demo = read_demographics(demographics, key=key, data=data)
    groups = tuple(groups)
    bad = [d for d in groups if d not in ("sex", "race_ethnicity")]
    if bad or not groups:
        raise DataError(
            f"groups={groups!r}: use 'sex' and/or 'race_ethnicity' (the LL144 dimensions)"
        )
    missing = [d for d in groups if d not in demo.columns]
    if missing:
        raise DataError(
            f"the demographics have no {missing} column; columns found: "
            f"{[str(c) for c in demo.columns]}. Read them with read_demographics(...) or pass "
            "groups= naming the dimensions you have"
        )
    demo = demo.drop_duplicates("interview_id").set_index(demo["interview_id"].astype("str"))
    fams: list[tuple[str, np.ndarray, list[str]]] = []
    unknown: dict[str, int] = {}
    cols: dict[str, pd.Series] = {}
    for d in groups:
        vals = demo[d].reindex(ids).astype("str").where(demo[d].reindex(ids).notna(), UNKNOWN)
        known_order = list(SEX_CATEGORIES if d == "sex" else RACE_CATEGORIES)
        extra = sorted(set(vals) - set(known_order) - {UNKNOWN, "nan", "<NA>"})
        labels = known_order + extra
        codes = vals.map({lb: i for i, lb in enumerate(labels)}).fillna(-1).astype(int)
        fams.append((d, codes.to_numpy(), labels))
        unknown[d] = int((codes < 0).sum())
        cols[d] = vals.where(codes >= 0, UNKNOWN)
    if len(groups) == 2:
        (_, c1, l1), (_, c2, l2) = fams
        codes = np.where((c1 >= 0) & (c2 >= 0), c1 * len(l2) + c2, -1)
        labels = [f"{a} · {b}" for a in l1 for b in l2]
        fams.append(("intersection", codes, labels))
        unknown["intersection"] = int((codes < 0).sum())
    frame = pd.DataFrame(cols, index=ids)
    return fams, unknown, frame


def _selection(selection: Any, top_k: int | None, n: int, score_max: float) -> core.Selection:
    if isinstance(selection, str) and selection == "median":
        return core.Selection("median", math.nan, score_max)
    if isinstance(selection, str) and selection == "top_k":
        if top_k is None or not 1 <= int(top_k) <= n:
            raise DataError(
                f"selection='top_k' needs top_k= between 1 and the {n:,} candidates; got {top_k!r}"
            )
        return core.Selection("top_k", int(top_k) / n, score_max)
    if isinstance(selection, (int, float)) and not isinstance(selection, bool):
        if not 0 < float(selection) <= 100:
            raise DataError(
                f"selection={selection!r}: a cut is a composite score in (0, 100]; or use "
                "'median' (LL144 scoring rate) or 'top_k' with top_k="
            )
        return core.Selection("cut", float(selection), score_max)
    raise DataError(
        f"selection={selection!r}: use 'median' (LL144 scoring rate), a cut on the 0–100 "
        "composite (e.g. 70), or 'top_k' with top_k=N"
    )


# ============================================================================ per-fold work
def _fold_search(
    X: np.ndarray,
    y: np.ndarray,
    g: core.Groups,
    sel: core.Selection,
    train: np.ndarray,
    max_weight: int,
    extra: list[np.ndarray],
    method: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with single_blas():
        res = core.search(
            X[train], y[train], g.subset(train), sel, max_weight=max_weight, extra=extra,
            method=method,
        )  # fmt: skip
    f = res.frontier
    return res.W[f], res.V[f], res.F[f]


def _pick(W: np.ndarray, V: np.ndarray, F: np.ndarray, tau: float) -> np.ndarray:
    """The most valid point with lowest ratio ≥ tau; the fairest when none reaches it."""
    Fz = np.where(np.isnan(F), -np.inf, F)
    ok = np.flatnonzero(Fz >= tau - 1e-12)
    if len(ok):
        return W[ok[np.lexsort((-Fz[ok], -V[ok]))[0]]]
    return W[np.lexsort((-V, -Fz))[0]]


def _representatives(res: core.SearchResult, current: np.ndarray) -> pd.DataFrame:
    """One integer vector per distinct non-dominated (validity, ratio): the one changing the
    fewest of today's weights, then the smallest weights."""
    idx = np.flatnonzero(res.frontier)
    rows = []
    for i in idx:
        w = res.W[i]
        rows.append(
            {
                "i": int(i),
                "v": float(res.V[i]),
                "f": float(res.F[i]) if np.isfinite(res.F[i]) else -np.inf,
                "changes": int(np.sum(~np.isclose(w, current))),
                "size": int(w.sum()),
            }
        )
    df = pd.DataFrame(rows).sort_values(
        ["v", "f", "changes", "size"], ascending=[False] * 2 + [True] * 2
    )
    return df.drop_duplicates(["v", "f"]).reset_index(drop=True)


def _thin(front: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most ``max_points`` front points, evenly spread over the impact-ratio axis."""
    front = front.sort_values("v", ascending=False).reset_index(drop=True)
    if len(front) <= max_points:
        return front
    fmin, fmax = front["f"].min(), front["f"].max()
    keep = {0, len(front) - 1}
    for tau in np.linspace(fmin, fmax, max_points):
        ok = front.index[front["f"] >= tau - 1e-12]
        keep.add(int(ok.min()))
    return front.loc[sorted(keep)].reset_index(drop=True)


def _multiplicities(y: np.ndarray, binary: bool, B: int, rng: np.random.Generator) -> np.ndarray:
    n = len(y)
    out = np.zeros((B, n))
    groups = [np.flatnonzero(y == c) for c in (0.0, 1.0)] if binary else [np.arange(n)]
    for idx in groups:
        if len(idx):
            out[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1 / len(idx)), size=B)
    return out


# ============================================================================ result
_FRAMES = ("table", "weights", "questions", "groups", "group_ratios")
_SCALARS = (
    "title", "notes", "target", "metric", "selection", "trade_off", "baseline", "settings",
    "unknown", "join_report", "n", "in_sample_points",
)  # fmt: skip


@dataclass(repr=False)
class WeightFrontier(Result):
    """Integer weights on the validity / adverse-impact frontier, measured out of sample.

    Attributes
    ----------
    table : DataFrame
        One row per point: ``point`` (``A`` = most valid, then less valid and fairer, ``today``,
        ``unit``, ``suggestion``), ``kind`` (``frontier`` or the fixed weights), ``weights``
        (``"3-1-…"`` in question order), ``validity`` with ``validity_ci_low/high`` and
        ``impact_ratio`` (the lowest over included categories) with ``impact_ratio_ci_low/high``
        — both on held-out candidates —, ``lowest_group``, ``d_min`` (the most negative
        standardised difference of the composite, category vs everybody else), ``flagged``
        (the audit's flag rule on some category), ``dominated`` (on the held-out axes, among
        all rows), ``validity_in_sample`` / ``impact_ratio_in_sample`` (all candidates, where
        the point was found), ``changes`` (weights that differ from today's) and
        ``fold_similarity`` (mean correlation, on the held-out candidates of each outer fold,
        between the composite of the weights the fold's rule picked and this point's: near 1
        when the held-out numbers describe weights like the ones shown).
    weights : DataFrame
        Index ``point``, one column per question id: the integer weights.
    questions : DataFrame
        ``question_id``, ``text``, ``rank``, ``current_weight``.
    groups : DataFrame
        ``family``, ``category``, ``n``, ``included`` and ``reason`` (why a category is left
        out of the lowest ratio: under the 2 % share or the sample-size gate).
    group_ratios : DataFrame
        The audit module's table per point: ``point``, ``dimension``, ``category``, ``n``,
        ``rate``, ``impact_ratio``, ``excluded``, ``p_adjusted``, ``flag``.
    trade_off : bool
        False when the frontier collapses to one point (see :data:`NO_TRADE_OFF`).
    """

    title: str = "Validity / adverse-impact frontier"
    weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    questions: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    target: str = "hired"
    metric: str = "auc"
    selection: str = ""
    trade_off: bool = True
    baseline: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)
    join_report: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    in_sample_points: int = 0

    @property
    def posting_id(self) -> str | None:
        """The posting the frontier is for."""
        return self.baseline.get("posting_id")

    @property
    def frontier(self) -> pd.DataFrame:
        """The frontier rows of :attr:`table` (kind ``frontier``)."""
        return self.table[self.table["kind"] == "frontier"].reset_index(drop=True)

    # ------------------------------------------------------------------ choose
    def choose(
        self,
        min_impact_ratio: float | None = None,
        max_validity_loss: float | None = None,
        *,
        point: str | None = None,
    ) -> _res.WeightSuggestion:
        """One frontier point as a :class:`WeightSuggestion` that ``push_weights`` accepts.

        Parameters
        ----------
        min_impact_ratio
            The most valid frontier point whose held-out lowest impact ratio is at least this.
        max_validity_loss
            The fairest frontier point whose held-out validity is at most this much below the
            most valid point's.
        point
            A point label of :attr:`table` (e.g. ``"B"``), chosen by hand.

        Raises
        ------
        DataError
            None or several criteria, or a constraint no point meets (the message names the
            best available).

        Examples
        --------
        >>> s = frontier.choose(min_impact_ratio=0.9)  # doctest: +SKIP
        >>> push_weights(client, s)  # dry run  # doctest: +SKIP
        """
        given = [x is not None for x in (min_impact_ratio, max_validity_loss, point)]
        if sum(given) != 1:
            raise DataError(
                "choose needs exactly one of min_impact_ratio= (e.g. 0.9), "
                "max_validity_loss= (e.g. 0.01) or point= (a label of .table)"
            )
        fr = self.frontier.sort_values("validity", ascending=False).reset_index(drop=True)
        if fr.empty:
            raise DataError("this frontier has no points to choose from")
        best_v = float(fr["validity"].max())
        m = self.metric
        if point is not None:
            rows = self.table[self.table["point"] == str(point)]
            if rows.empty:
                raise DataError(
                    f"point={point!r} is not in the table; points: {self.table['point'].tolist()}"
                )
            row = rows.iloc[0]
            why = f"chosen by hand (point {point})"
            constraint: dict[str, Any] = {"point": str(point)}
        elif min_impact_ratio is not None:
            x = float(min_impact_ratio)
            ok = fr[fr["impact_ratio"] >= x - 1e-12]
            if ok.empty:
                top = fr.loc[fr["impact_ratio"].idxmax()]
                raise DataError(
                    f"no frontier point has a lowest impact ratio ≥ {x:g} on held-out "
                    f"candidates; the best available is point {top['point']} with "
                    f"{top['impact_ratio']:.3f} ({m} {top['validity']:.3f})",
                    python_hint=(
                        f"lower min_impact_ratio, or choose that point with point={top['point']!r}"
                    ),
                    cli_hint=(
                        f"lower --min-impact-ratio to {math.floor(top['impact_ratio'] * 100) / 100:g}"
                        " or less to get it"
                    ),
                )
            row = ok.iloc[0]
            why = (
                f"the most valid frontier point whose lowest impact ratio on held-out "
                f"candidates is ≥ {x:g}: {row['impact_ratio']:.3f} ({row['lowest_group']}), "
                f"{m} {row['validity']:.3f} vs {best_v:.3f} for the most valid point"
            )
            constraint = {"min_impact_ratio": x}
        else:
            x = float(max_validity_loss)
            if x < 0:
                raise DataError(
                    f"a validity loss of {x:g} is below 0",
                    python_hint="pass max_validity_loss ≥ 0 (e.g. 0.01)",
                    cli_hint="pass --max-validity-loss ≥ 0 (e.g. 0.01)",
                )
            ok = fr[fr["validity"] >= best_v - x - 1e-12]
            row = ok.loc[ok["impact_ratio"].fillna(-1).idxmax()]
            why = (
                f"the fairest frontier point whose held-out {m} is within {x:g} of the most "
                f"valid point's ({row['validity']:.3f} vs {best_v:.3f}); lowest impact ratio "
                f"{row['impact_ratio']:.3f} ({row['lowest_group']})"
            )
            constraint = {"max_validity_loss": x}
        return self._suggestion(row, why, constraint)

    def _suggestion(self, row: pd.Series, why: str, constraint: dict[str, Any]):
        label = str(row["point"])
        w = self.weights.loc[label].to_numpy(dtype=float)
        q = self.questions
        current = q["current_weight"].to_numpy(dtype=float)
        n_changes = int(np.sum(~np.isclose(w, current)))
        table = pd.DataFrame(
            {
                "question_id": q["question_id"].astype("str").to_numpy(),
                "text": q["text"].astype("str").to_numpy(),
                "rank": q["rank"].to_numpy(dtype=float),
                "current_weight": current,
                "suggested_weight": w,
                "suggested_integer": w.astype("int64"),
                "change": w - current,
            }
        )
        t = self.table.set_index("point")
        cols = ["validity", "validity_ci_low", "validity_ci_high"]
        comp_rows = [p for p in ("today", "unit") if p in t.index] + [label]
        comparison = t.loc[comp_rows, cols].rename(
            columns={
                "validity": self.metric,
                "validity_ci_low": "ci_low",
                "validity_ci_high": "ci_high",
            }
        )
        comparison.index = pd.Index(
            ["current" if p == "today" else ("suggested_integer" if p == label else p)
             for p in comp_rows], name="weights",
        )  # fmt: skip
        fairness = None
        gr = self.group_ratios
        if not gr.empty and "today" in set(gr["point"]):
            cur = gr[gr["point"] == "today"].set_index(["dimension", "category"])
            new = gr[gr["point"] == label].set_index(["dimension", "category"])
            fairness = pd.DataFrame(
                {
                    "n": cur["n"],
                    "ratio_current": cur["impact_ratio"],
                    "ratio_suggested": new["impact_ratio"].reindex(cur.index),
                    "flagged_current": cur["flag"].astype(bool),
                    "flagged_suggested": new["flag"].reindex(cur.index).fillna(False).astype(bool),
                }
            ).reset_index()
            fairness["change"] = fairness["ratio_suggested"] - fairness["ratio_current"]
            fairness.insert(0, "group", fairness["dimension"] + "=" + fairness["category"])
            first = ["group", "n", "ratio_current", "ratio_suggested", "change",
                     "flagged_current", "flagged_suggested"]  # fmt: skip
            fairness = fairness[[*first, "dimension", "category"]]
        recommendation = "change" if n_changes else "keep"
        info = {
            "point": label,
            "why": why,
            "constraint": constraint,
            "validity": _res._jsonable(row["validity"]),
            "impact_ratio": _res._jsonable(row["impact_ratio"]),
            "lowest_group": str(row["lowest_group"]),
            "selection": self.selection,
            "trade_off": self.trade_off,
        }
        notes = [
            f"Recommendation: {recommendation} — frontier point {label}: {why}.",
            "Chosen on the validity / adverse-impact frontier (weight_frontier): a policy "
            "choice between validity and impact ratio, not a claim that these weights beat "
            "today's on validity.",
        ]
        if not self.trade_off:
            notes.append(NO_TRADE_OFF)
        if self.target == "hired":
            notes.append(_res.HIRED_CAVEAT)
        notes.append(_res.PAST_SCORES_NOTE)
        baseline = dict(self.baseline)
        baseline["created_at"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        return _res.WeightSuggestion(
            table=table,
            title=f"Frontier point {label}",
            notes=notes,
            comparison=comparison,
            recommendation=recommendation,
            baseline=baseline,
            join_report=self.join_report,
            target=self.target,
            target_type="binary" if self.metric == "auc" else "continuous",
            metric=self.metric,
            fairness=fairness,
            n=self.n,
            settings={**self.settings, "frontier": info},
        )

    # ------------------------------------------------------------------ display
    def plot(self) -> Any:
        """Validity vs lowest impact ratio (held out), points labelled (plotly Figure)."""
        from ..plots import weight_frontier_figure

        return weight_frontier_figure(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            f"<div class='milo-result'><h4>{esc(self.title)} — posting "
            f"{esc(str(self.posting_id))}</h4><p>{esc(self.selection)}; target "
            f"{esc(self.target)}, n={self.n:,}</p>"
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        q = self.questions[["question_id", "text", "current_weight"]]
        return (
            head
            + (f"<ul>{notes}</ul>" if notes else "")
            + frame_to_html(self.table)
            + "<h5>Weights per point</h5>"
            + frame_to_html(self.weights)
            + "<h5>Questions</h5>"
            + frame_to_html(q)
            + "</div>"
        )

    def __repr__(self) -> str:
        return (
            f"WeightFrontier(posting={self.posting_id!r}, points={len(self.frontier)}, "
            f"trade_off={self.trade_off}, n={self.n})"
        )

    # ------------------------------------------------------------------ JSON
    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """Serialise to JSON (and write it to ``path``); see :meth:`from_json`."""
        return _res._dump_document(self, FORMAT, _FRAMES, _SCALARS, path, indent)

    @classmethod
    def from_json(cls, source: str | Path) -> WeightFrontier:
        """Read what :meth:`to_json` wrote (a JSON string or a file path)."""
        obj = _res._load_document(source, "frontier")
        if obj.get("format") != FORMAT:
            raise DataError(
                f"not a WeightFrontier JSON document (format {obj.get('format')!r}); write one "
                "with weight_frontier(...).to_json(path)"
            )
        kw: dict[str, Any] = {}
        for name in _FRAMES:
            kw[name] = _res._frame_from_obj(obj.get(name))
            if kw[name] is None:
                kw[name] = pd.DataFrame()
        for name in _SCALARS:
            if name in obj:
                kw[name] = obj[name]
        return cls(**kw)


# ============================================================================ weight_frontier
def weight_frontier(
    data: Any,
    outcomes: pd.DataFrame | str | Path,
    demographics: pd.DataFrame | str | Path,
    *,
    target: str = "hired",
    groups: tuple[str, ...] = ("sex", "race_ethnicity"),
    selection: str | float = "median",
    top_k: int | None = None,
    posting_id: str | None = None,
    key: str = "email",
    suggestion: Any = None,
    max_weight: int = 10,
    max_points: int = 12,
    min_group_n: int = 30,
    exclude_below: float = 0.02,
    cv_folds: int = 5,
    cv_repeats: int = 1,
    n_boot: int = 200,
    level: float = 0.95,
    events_per_question: int = 10,
    min_n: int = 100,
    method: str = "auto",
    random_state: int = 0,
    n_jobs: int | None = None,
) -> WeightFrontier:
    """The validity / adverse-impact frontier of integer weights for one posting (§8).

    Parameters
    ----------
    data : InterviewData
    outcomes, demographics
        Frames with ``interview_id`` (as :func:`read_outcomes` / :func:`read_demographics`
        return) or files they read, joined by ``key``.
    target
        ``"hired"`` (AUC) or a continuous outcome such as ``"performance"`` (Pearson r).
    groups
        The LL144 dimensions; with both, their intersection is a third family.
    selection
        ``"median"`` (LL144 scoring rate), a cut on the 0–100 composite, or ``"top_k"`` with
        ``top_k=`` (the top-k share of candidates).
    suggestion
        The plain :func:`suggest_weights` result to show on the same axes; ``None`` computes
        it (``n_boot=0``, same folds), ``False`` leaves it out.
    max_weight
        Integer weights run from 1 to this (the API: 10).
    max_points
        Frontier points shown (spread evenly over the impact-ratio axis).
    min_group_n, exclude_below
        Categories with fewer people, or under this share of the candidates, are left out of
        the lowest impact ratio (listed in ``.groups`` with the reason).
    cv_folds, cv_repeats, random_state
        The outer folds (the fold function of :func:`suggest_weights`; its first repeat).
    n_boot, level
        Bootstrap resamples of held-out candidates for the intervals, and their level.
    events_per_question, min_n
        The outcome sample-size gate of :func:`suggest_weights`.
    method
        ``"auto"`` (exhaustive lattice when small, else Pareto local search), ``"exhaustive"``
        or ``"local"``.
    n_jobs
        joblib workers for the outer folds.

    Returns
    -------
    WeightFrontier

    Raises
    ------
    InsufficientDataError
        Too few outcomes, or no dimension with two categories of ``min_group_n`` people.
    DataError
        Bad options, outcomes or demographics that do not join.

    Examples
    --------
    >>> fr = weight_frontier(data, outcomes, demographics)  # doctest: +SKIP
    >>> fr.choose(min_impact_ratio=0.9).table  # doctest: +SKIP
    """
    if not isinstance(max_weight, int) or not 2 <= max_weight <= 10:
        raise DataError(f"max_weight={max_weight!r}: the API takes integer weights 1–10; use 2–10")
    pid = _sug._pick_posting(data, posting_id)
    notes: list[str] = []
    q_frame = data.questions
    q_frame = q_frame[(q_frame["posting_id"] == pid) & ~q_frame["not_scored"].astype(bool)]
    q_frame = q_frame[q_frame["score_weight"].notna()].sort_values("rank", kind="stable")
    wide = data.score_matrix(pid)
    qids = [q for q in q_frame["question_id"].tolist() if q in wide.columns]
    if len(qids) < 2:
        raise DataError(
            f"posting {pid!r} has {len(qids)} scored question(s) with scores; weights need ≥ 2"
        )
    q_frame = q_frame.set_index("question_id").loc[qids]
    current = q_frame["score_weight"].astype("float64").to_numpy()
    X_all = wide[qids]
    X_all = X_all[X_all.notna().all(axis=1)]
    out_frame, join_report = _sug._outcome_frame(outcomes, data, key)
    yser = _sug._target_vector(out_frame, target)
    yser = yser[~yser.index.duplicated(keep="first")].dropna()
    ids = X_all.index.intersection(yser.index)
    if len(ids) == 0:
        raise DataError(
            f"no outcome row with a {target!r} value matched a scored interview of posting "
            f"{pid!r}; check the join key (key=, now {key!r})"
        )
    X = X_all.loc[ids].to_numpy(dtype=float)
    y = yser.loc[ids].to_numpy(dtype=float)
    binary = _est._is_binary(y, "auto")
    q = len(qids)
    events = int(min(y.sum(), len(y) - y.sum())) if binary else len(y)
    need = events_per_question * q
    if events < need or len(y) < min_n:
        raise InsufficientDataError(
            f"too few outcomes for a frontier of posting {pid!r} ({q} questions, {len(y):,} "
            f"interviews with a {target!r} outcome): {events:,} "
            f"{'events (the rarer class)' if binary else 'observations'}, need {need:,}; "
            f"{len(y):,} in total, need {min_n:,}. Collect more outcomes.",
            shortfalls={"events": (events, need), "n": (len(y), min_n)},
        )
    score_max = float(data.score_scale or 5)
    sel = _selection(selection, top_k, len(y), score_max)
    fams, unknown, demo_cols = _families(demographics, data, key, ids, groups)
    g = core.Groups.build(y, binary, fams, min_n=min_group_n, exclude_below=exclude_below)
    grp_rows = []
    for f, (name, _, labels) in enumerate(fams):
        for k, lb in enumerate(labels):
            nk = int(g.n_cat[f][k])
            reason = ""
            if nk == 0:
                reason = "no individuals"
            elif nk < exclude_below * len(y):
                reason = f"under {exclude_below:.0%} of the candidates"
            elif nk < min_group_n:
                reason = f"fewer than {min_group_n} people (sample-size gate)"
            if nk or name != "intersection":
                grp_rows.append(
                    {
                        "family": name,
                        "category": lb,
                        "n": nk,
                        "included": bool(g.included[f][k]),
                        "reason": reason,
                    }
                )
    groups_df = pd.DataFrame(grp_rows)
    usable = [fams[f][0] for f in range(len(fams)) if g.included[f].sum() >= 2]
    if not usable:
        raise InsufficientDataError(
            f"no dimension has two categories with at least {min_group_n} people and "
            f"{exclude_below:.0%} of the {len(y):,} candidates; adverse impact cannot be judged "
            f"(categories: {groups_df[['family', 'category', 'n']].values.tolist()}). Collect "
            "more voluntary demographics, or lower min_group_n (not below 30 for a decision).",
            shortfalls={"groups": (0, 2)},
        )
    left_out = groups_df[(groups_df["n"] > 0) & ~groups_df["included"]]
    if len(left_out):
        notes.append(
            "Left out of the lowest impact ratio: "
            + "; ".join(
                f"{r.family}={r.category} (n={r.n}: {r.reason})" for r in left_out.itertuples()
            )
            + "."
        )
    notes.append(
        "Unknown demographics (in the median's sample, in no category): "
        + ", ".join(f"{k} {v:,}" for k, v in unknown.items())
        + f" of {len(y):,}."
    )
    y_fit = y if binary else (y - y.mean()) / (y.std() or 1.0)

    # ---- the plain suggestion, on the same axes
    sugg_w = None
    if suggestion is None:
        try:
            suggestion = _sug.suggest_weights(
                data, out_frame, target=target, posting_id=pid, key=key, n_boot=0,
                cv_folds=cv_folds, cv_repeats=1, random_state=random_state, n_jobs=n_jobs,
                events_per_question=events_per_question, min_n=min_n,
            )  # fmt: skip
        except Exception as exc:  # context only, never a reason to fail
            notes.append(f"The plain suggest_weights suggestion is not shown: {exc}")
            suggestion = False
    if suggestion is not False and suggestion is not None:
        st = suggestion.table.set_index("question_id")
        if set(qids) <= set(st.index):
            sugg_w = st.loc[qids, "suggested_integer"].to_numpy(dtype=float)
        else:
            notes.append("The given suggestion is for other questions; it is not shown.")
    extra = [current] + ([sugg_w] if sugg_w is not None else [])

    # ---- the frontier on all candidates
    with single_blas():
        full = core.search(X, y_fit, g, sel, max_weight=max_weight, extra=extra, method=method)
    reps = _representatives(full, current)
    shown = _thin(reps, max_points)
    labels = [chr(ord("A") + i) if i < 26 else f"P{i + 1}" for i in range(len(shown))]
    front_W = full.W[shown["i"].to_numpy()].astype(float)
    taus = shown["f"].to_numpy()

    # ---- outer folds: the rule "most valid point with training ratio ≥ tau", held out
    folds = _est._folds(y_fit, binary, cv_folds, cv_repeats, random_state)
    jobs = [(X, y_fit, g, sel, tr, max_weight, extra, method) for tr, _ in folds]
    fold_fronts = _est._run_parallel(_fold_search, jobs, n_jobs)
    fixed = {"today": current, "unit": np.ones(q)}
    if sugg_w is not None:
        fixed["suggestion"] = sugg_w
    names = labels + list(fixed)
    m = len(names)
    oof = np.empty((cv_repeats, len(y), m))
    agree = np.zeros(len(labels))
    for f_i, ((_, te), (Wf, Vf, Ff)) in enumerate(zip(folds, fold_fronts, strict=True)):
        r = f_i // cv_folds
        cols = [_pick(Wf, Vf, Ff, t) for t in taus] + list(fixed.values())
        for j, w in enumerate(cols):
            w = np.asarray(w, float)
            oof[r, te, j] = 100.0 * (X[te] @ w) / (w.sum() * score_max)
            if j < len(labels):
                a, b = X[te] @ w, X[te] @ front_W[j]
                agree[j] += float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else 1.0
    agree /= len(folds)

    wsum = np.full(m, 100.0 / score_max)
    rng = np.random.default_rng(random_state)
    mult = _multiplicities(y, binary, n_boot, rng) if n_boot > 0 else np.zeros((0, len(y)))
    V = np.zeros(m)
    Fv = np.zeros(m)
    dmin = np.zeros(m)
    Vb = np.zeros((len(mult), m))
    Fb = np.zeros((len(mult), m))
    lowest: list[str] = [""] * m
    with single_blas():
        for r in range(cv_repeats):
            S = oof[r]
            lev = core._levels(S)
            v, fv, ex = core.evaluate_scores(S, g, sel, wsum, levels=lev, detail=True)
            V += v / cv_repeats
            Fv += fv / cv_repeats
            dmin += np.asarray(ex["d_min"]) / cv_repeats
            if r == 0:
                lowest = [_lowest_label(det, g) for det in ex["detail"]]
            for b in range(len(mult)):
                vb, fb, _ = core.evaluate_scores(S, g, sel, wsum, weights=mult[b], levels=lev)
                Vb[b] += vb / cv_repeats
                Fb[b] += fb / cv_repeats
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2

    def ci(a: np.ndarray, j: int) -> tuple[float, float]:
        if not len(a):
            return math.nan, math.nan
        col = a[:, j]
        col = col[np.isfinite(col)]
        if not len(col):
            return math.nan, math.nan
        return float(np.quantile(col, lo_q)), float(np.quantile(col, hi_q))

    # ---- the audit's flag rule on every point (held-out composites of the first repeat)
    group_ratios, flagged = _audit_points(oof[0], names, demo_cols, sel, min_group_n, exclude_below)

    in_v = np.concatenate([shown["v"].to_numpy(), np.full(len(fixed), np.nan)])
    in_f = np.concatenate([taus, np.full(len(fixed), np.nan)])
    if len(fixed):
        fv_, ff_, _ = core.evaluate(X, np.array(list(fixed.values())), g, sel)
        in_v[len(labels) :], in_f[len(labels) :] = fv_, ff_
    all_W = np.vstack([front_W, np.array(list(fixed.values()))])
    rows = []
    for j, name in enumerate(names):
        vlo, vhi = ci(Vb, j)
        flo, fhi = ci(Fb, j)
        rows.append(
            {
                "point": name,
                "kind": "frontier" if j < len(labels) else name,
                "weights": "-".join(f"{x:g}" for x in all_W[j]),
                "validity": float(V[j]),
                "validity_ci_low": vlo,
                "validity_ci_high": vhi,
                "impact_ratio": float(Fv[j]),
                "impact_ratio_ci_low": flo,
                "impact_ratio_ci_high": fhi,
                "lowest_group": lowest[j],
                "d_min": float(dmin[j]),
                "flagged": bool(flagged.get(name, False)),
                "validity_in_sample": float(in_v[j]),
                "impact_ratio_in_sample": float(in_f[j]) if np.isfinite(in_f[j]) else math.nan,
                "changes": int(np.sum(~np.isclose(all_W[j], current))),
                "fold_similarity": float(agree[j]) if j < len(labels) else math.nan,
            }
        )
    table = pd.DataFrame(rows)
    table["dominated"] = ~core.non_dominated(
        table["validity"].to_numpy(), table["impact_ratio"].to_numpy()
    )
    for c in ("point", "kind", "weights", "lowest_group"):
        table[c] = table[c].astype("str")

    # ---- is there a trade-off to make? (paired: fairest frontier point vs the most valid)
    trade_off = True
    if len(labels) >= 2 and len(mult):
        fair_j = int(np.nanargmax(Fv[: len(labels)]))
        diff = Fb[:, fair_j] - Fb[:, 0]
        diff = diff[np.isfinite(diff)]
        gain_low = float(np.quantile(diff, lo_q)) if len(diff) else math.nan
        trade_off = fair_j != 0 and bool(gain_low > 0)
    elif len(labels) < 2:
        trade_off = False
    if not trade_off:
        notes.insert(0, NO_TRADE_OFF)
        keep = (table["kind"] != "frontier") | (table["point"] == labels[0])
        table = table[keep].reset_index(drop=True)
        table["dominated"] = ~core.non_dominated(
            table["validity"].to_numpy(), table["impact_ratio"].to_numpy()
        )
        front_W = front_W[:1]
        labels = labels[:1]
        group_ratios = group_ratios[group_ratios["point"].isin(table["point"])].reset_index(
            drop=True
        )
    else:
        a = table.iloc[0]
        notes.insert(
            0,
            f"Trade-off: the most valid integer weights (point A, {a['weights']}) have a lowest "
            f"impact ratio of {a['impact_ratio']:.3f} ({a['lowest_group']}) on held-out "
            f"candidates; fairer points cost validity as the table shows.",
        )
    weights = pd.DataFrame(
        np.vstack([front_W, np.array(list(fixed.values()))]),
        index=pd.Index(labels + list(fixed), name="point"),
        columns=qids,
    )
    notes.append(
        f"Both axes on held-out candidates: {cv_folds} outer folds ({cv_repeats} repeat(s); the "
        "fold function of suggest_weights). Each frontier point's held-out numbers are those "
        "of the rule 'the most valid integer weights whose impact ratio on the training "
        "candidates is at least this point's', rerun in every training fold; the weights shown "
        "(and pushed) are the rule's answer on all candidates. today/unit are fixed weights; "
        "the suggestion's weights were fitted on all candidates (slightly optimistic). "
        f"Intervals: {level:.0%} bootstrap over held-out candidates"
        f"{' (stratified by outcome)' if binary else ''}, out-of-fold scores fixed."
    )
    notes.append(
        f"Search: {full.evaluated:,} integer weight vectors 1–{max_weight} evaluated on all "
        f"candidates ({'every one' if full.rounds == 0 and method != 'local' else 'Pareto local search from the scalarised continuous trace'}); "
        f"{int(full.frontier.sum()):,} non-dominated, {len(reps):,} distinct, {len(shown)} shown."
    )
    notes.append(f"Flags use the audit's rule: {_flag_rule()}.")
    if target == "hired":
        notes.append(_res.HIRED_CAVEAT)
    texts = q_frame["text"].astype("str").to_numpy() if "text" in q_frame else np.array([""] * q)
    questions = pd.DataFrame(
        {
            "question_id": pd.array(qids, dtype="str"),
            "text": pd.array(texts, dtype="str"),
            "rank": pd.to_numeric(q_frame["rank"], errors="coerce").to_numpy(dtype="float64"),
            "current_weight": current,
        }
    )
    upd = q_frame["updated_at"] if "updated_at" in q_frame else pd.Series(pd.NaT, index=qids)
    baseline = {
        "posting_id": pid,
        "question_ids": qids,
        "weights": {qid: float(w) for qid, w in zip(qids, current, strict=True)},
        "updated_at": {
            qid: (None if pd.isna(t) else pd.Timestamp(t).isoformat()) for qid, t in upd.items()
        },
        "data_hash": _sug._data_hash(ids.to_numpy(), X, y, qids),
        "score_scale": int(score_max),
        "n": len(y),
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return WeightFrontier(
        table=table,
        title=f"Validity / adverse-impact frontier — posting {pid}",
        notes=notes,
        weights=weights,
        questions=questions,
        groups=groups_df,
        group_ratios=group_ratios,
        target=target,
        metric="auc" if binary else "r",
        selection=sel.describe(),
        trade_off=trade_off,
        baseline=baseline,
        settings={
            "selection": selection if not isinstance(selection, float) else float(selection),
            "top_k": top_k,
            "groups": list(groups),
            "max_weight": max_weight,
            "min_group_n": min_group_n,
            "exclude_below": exclude_below,
            "cv_folds": cv_folds,
            "cv_repeats": cv_repeats,
            "n_boot": n_boot,
            "level": level,
            "method": method,
            "random_state": random_state,
            "key": key,
        },
        unknown=unknown,
        join_report=_res._jsonable(join_report),
        n=len(y),
        in_sample_points=len(reps),
    )


def _flag_rule() -> str:
    from ..analysis.fairness import FLAG_RULE

    return FLAG_RULE


def _lowest_label(det: list[dict[str, Any]], g: core.Groups) -> str:
    best, lab = math.inf, ""
    for f, fam in enumerate(det):
        ratio = np.where(fam["included"], fam["ratio"], np.inf)
        k = int(np.argmin(ratio))
        if np.isfinite(ratio[k]) and ratio[k] < best:
            best, lab = float(ratio[k]), f"{g.families[f]}={g.labels[f][k]}"
    return lab


def _audit_points(
    S: np.ndarray,
    names: list[str],
    demo: pd.DataFrame,
    sel: core.Selection,
    min_n: int,
    exclude_below: float,
) -> tuple[pd.DataFrame, dict[str, bool]]:
    """The audit module's impact_ratios (and flag rule) per point on held-out composites."""
    from ..analysis.fairness import impact_ratios

    dims: list[Any] = [d for d in ("sex", "race_ethnicity") if d in demo.columns]
    if len(dims) == 2:
        dims.append(["sex", "race_ethnicity"])
    base = demo.reset_index(drop=True)
    rows = []
    flagged: dict[str, bool] = {}
    for j, name in enumerate(names):
        frame = base.copy()
        s = S[:, j]
        frame["score"] = s
        if sel.kind == "cut":
            frame["sel"] = s >= sel.value - 1e-9
        elif sel.kind == "top_k":
            k = max(1, round(sel.value * len(s)))
            frame["sel"] = s >= np.sort(s)[::-1][k - 1]
        kw = {"score": "score"} if sel.kind == "median" else {"selected": "sel"}
        any_flag = False
        for d in dims:
            t = impact_ratios(frame, by=d, exclude_below=exclude_below, min_n=min_n, **kw)
            cat = t[d].astype("str") if isinstance(d, str) else (
                t["sex"].astype("str") + " · " + t["race_ethnicity"].astype("str")
            )  # fmt: skip
            any_flag |= bool(t["flag"].any())
            for c, r in zip(cat, t.itertuples(), strict=True):
                if r.n == 0:
                    continue
                rows.append(
                    {
                        "point": name,
                        "dimension": d if isinstance(d, str) else "intersection",
                        "category": c,
                        "n": int(r.n),
                        "rate": float(r.rate),
                        "impact_ratio": float(r.impact_ratio)
                        if pd.notna(r.impact_ratio)
                        else math.nan,
                        "excluded": bool(r.excluded),
                        "p_adjusted": float(r.p_adjusted) if pd.notna(r.p_adjusted) else math.nan,
                        "flag": bool(r.flag),
                    }
                )
        flagged[name] = any_flag
    out = pd.DataFrame(rows)
    for c in ("point", "dimension", "category"):
        if c in out:
            out[c] = out[c].astype("str")
    return out, flagged
