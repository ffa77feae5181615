"""Monitoring checks for cron and CI: ``milo-analytics check`` and :func:`run_checks`.

Each check runs per posting on the store (optionally after a ``refresh="auto"`` load) and
ends ``pass``, ``warn``, ``fail``, ``skip`` (nothing to judge) or ``error`` (it could not
run: a blind spot, which alerts like a failure):

``adverse_impact``
    The bias audit's flag rule (:func:`~milo_analytics.analysis.bias_audit`, docs/methods.md
    §6) on the overall score and the selection outcomes (``fail_measures``) and on the
    component scores (``warn_measures``: speech score, each question). Needs demographics.
``drift:<variable>``
    The last ``window_days`` of interviews against the ``baseline_days`` before them
    (:func:`~milo_analytics.analysis.drift`): fails when |Cohen's d| ≥ ``min_effect`` and the
    Mann–Whitney p < ``alpha``, with at least ``min_n`` interviews on each side.
``load_errors``
    Documents that failed to load (``data.errors``): fails above ``max_error_share``.
``unfinished_sync``
    The last pull of the posting did not finish.
``freshness``
    How old the store's newest complete view of the posting is: the end of the last complete
    listing, or now while a webhook receiver has kept it up to date since (the rule of
    :func:`milo_analytics.load.refresh_plan`). Fails beyond ``max_age_hours``.
``event_queue``
    Webhook events waiting longer than ``max_queue_minutes`` (fail), or that failed since the
    last complete listing (warn: the next full listing fetches their interviews).

Thresholds come from a small TOML file (:data:`DEFAULT_CHECKS_TOML` shows every key with
its default; docs/methods.md §10 says why each). Every problem a check finds has a key (a
flagged group, a drifting variable, a failed document...). With ``since``, the keys are
compared with the previous run's snapshot (kept in the store): a check *alerts* only for new
keys, so a cron job reports a problem once, not every hour.

Exit codes of ``milo-analytics check``: 0 nothing alerts (warnings may be printed), 1 a check
alerts (fail or error; with ``--since``, a new one), 2 a usage error, 3 the checks could not
run (no store, an unreadable config, the API failed during ``--pull``).

Examples
--------
>>> cfg = load_check_config(text="[drift]\\nmin_effect = 0.5\\n")
>>> cfg.drift.min_effect, cfg.drift.alpha
(0.5, 0.01)
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import time
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, InsufficientDataError, MiloError, UnfinishedSyncWarning
from ..results import Result, frame_to_html
from ..store import Store

__all__ = [
    "DEFAULT_CHECKS_TOML",
    "CheckConfig",
    "CheckReport",
    "drift_verdict",
    "load_check_config",
    "run_checks",
]

#: Every key with its default (``milo-analytics check --config FILE`` reads a file like it).
DEFAULT_CHECKS_TOML = """\
# milo-analytics check: thresholds. These are the defaults; leave out any key to keep its
# default. Why each value: docs/methods.md section 10.

[adverse_impact]
# the bias audit's flag rule: impact ratio < 0.8 AND the group's rate significantly lower
# than everybody else's (Holm-adjusted p < alpha) AND at least min_n people in the group
fail_measures = ["score", "status", "hired"]   # a flag on these fails the check
warn_measures = ["speech_score", "questions"]  # a flag on these is a warning
alpha = 0.05
min_n = 30
exclude_below = 0.02
min_known_share = 0.5

[drift]
variables = ["score", "speech_score"]  # also "questions" (each question's score)
window_days = 28     # the recent window: the last 28 days with interviews
baseline_days = 182  # compared with the 182 days before that window
min_n = 30           # interviews needed on each side
min_effect = 0.3     # |Cohen's d| a shift must reach ...
alpha = 0.01         # ... and be significant at (Mann-Whitney) to fail

[data_quality]
max_error_share = 0.01     # failed documents / documents (any at all is a warning)
unfinished_sync = "fail"   # the last pull did not finish: "fail", "warn" or "ignore"
max_age_hours = 48         # the store's complete view of the posting may be this old
max_queue_minutes = 30     # webhook events may wait this long to be processed

[pull]
full_listing_hours = 24    # with --pull: list every candidate page at least this often
"""

STATUSES = ("pass", "warn", "fail", "skip", "error")
_ALERTING = ("fail", "error")


@dataclass
class AdverseImpactConfig:
    """``[adverse_impact]`` (see :data:`DEFAULT_CHECKS_TOML`)."""

    fail_measures: list[str] = field(default_factory=lambda: ["score", "status", "hired"])
    warn_measures: list[str] = field(default_factory=lambda: ["speech_score", "questions"])
    alpha: float = 0.05
    min_n: int = 30
    exclude_below: float = 0.02
    min_known_share: float = 0.5


@dataclass
class DriftConfig:
    """``[drift]`` (see :data:`DEFAULT_CHECKS_TOML`)."""

    variables: list[str] = field(default_factory=lambda: ["score", "speech_score"])
    window_days: float = 28.0
    baseline_days: float = 182.0
    min_n: int = 30
    min_effect: float = 0.3
    alpha: float = 0.01


@dataclass
class DataQualityConfig:
    """``[data_quality]`` (see :data:`DEFAULT_CHECKS_TOML`)."""

    max_error_share: float = 0.01
    unfinished_sync: str = "fail"
    max_age_hours: float = 48.0
    max_queue_minutes: float = 30.0


@dataclass
class PullConfig:
    """``[pull]`` (see :data:`DEFAULT_CHECKS_TOML`)."""

    full_listing_hours: float = 24.0


@dataclass
class CheckConfig:
    """The thresholds of :func:`run_checks` (:func:`load_check_config` reads them from TOML).

    Examples
    --------
    >>> CheckConfig().adverse_impact.fail_measures
    ['score', 'status', 'hired']
    """

    adverse_impact: AdverseImpactConfig = field(default_factory=AdverseImpactConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    data_quality: DataQualityConfig = field(default_factory=DataQualityConfig)
    pull: PullConfig = field(default_factory=PullConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS: dict[str, type] = {
    "adverse_impact": AdverseImpactConfig,
    "drift": DriftConfig,
    "data_quality": DataQualityConfig,
    "pull": PullConfig,
}
_CHOICES = {("data_quality", "unfinished_sync"): ("fail", "warn", "ignore")}
#: Keys that must lie in [0, 1], and keys that must be > 0.
_SHARES = {"alpha", "exclude_below", "min_known_share", "max_error_share"}
_POSITIVE = {
    "window_days",
    "baseline_days",
    "min_effect",
    "max_age_hours",
    "max_queue_minutes",
    "full_listing_hours",
    "min_n",
}


def load_check_config(path: str | Path | None = None, *, text: str | None = None) -> CheckConfig:
    """Read check thresholds from a TOML file (or ``text``); missing keys keep their defaults.

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a key is unknown or has a wrong value; the
        message names the file, the key and what is allowed.

    Examples
    --------
    >>> load_check_config(text="[data_quality]\\nmax_age_hours = 6\\n").data_quality.max_age_hours
    6.0
    """
    where = "the check config" if path is None else f"the check config {path}"
    hint = {
        "python_hint": "fix the file or pass config=None for the defaults",
        "cli_hint": "fix the file, or drop --config for the defaults",
    }
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {where}: {exc}", **hint) from None
    try:
        raw = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}", **hint) from None
    cfg = CheckConfig()
    for section, values in raw.items():
        if section not in _SECTIONS or not isinstance(values, dict):
            raise ConfigError(
                f"{where}: unknown section [{section}]; the sections are "
                f"{', '.join(f'[{s}]' for s in _SECTIONS)}",
                **hint,
            )
        target = getattr(cfg, section)
        known = {f.name: f for f in fields(target)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown key {key!r} in [{section}]; the keys are {', '.join(known)}",
                    **hint,
                )
            setattr(target, key, _coerce(where, section, key, value, getattr(target, key), hint))
    return cfg


def _coerce(where: str, section: str, key: str, value: Any, default: Any, hint: dict) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: [{section}] {key} = {value!r} must be {expected}", **hint)

    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return list(value)
    if isinstance(default, str):
        choices = _CHOICES.get((section, key))
        if not isinstance(value, str) or (choices and value not in choices):
            raise bad(" or ".join(repr(c) for c in choices) if choices else "a string")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad("a number")
    if isinstance(default, int) and not float(value).is_integer():
        raise bad("a whole number")
    if key in _SHARES and not 0 <= value <= 1:
        raise bad("between 0 and 1")
    if key in _POSITIVE and not value > 0:
        raise bad("greater than 0")
    return int(value) if isinstance(default, int) else float(value)


# --------------------------------------------------------------------------- results
@dataclass
class Problem:
    """One thing a check found; ``key`` identifies it across runs (for ``since``)."""

    key: str
    level: str  # "fail" or "warn" (or "error")
    text: str
    new: bool | None = None


@dataclass
class CheckResult:
    """One check of one posting."""

    posting_id: str
    check: str
    status: str
    value: float | None
    threshold: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def alerting(self, since: bool) -> bool:
        """Whether this result alerts: it fails (or errs); with ``since`` only for new keys."""
        if self.status not in _ALERTING:
            return False
        if not since:
            return True
        return any(p.new for p in self.problems if p.level in _ALERTING)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["value"] = None if self.value is None or not math.isfinite(self.value) else self.value
        out["details"] = _jsonable(self.details)
        return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, pd.Timestamp | _dt.datetime):
        return None if pd.isna(v) else v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, str):
        return _jsonable(v.item())
    if v is pd.NA or v is pd.NaT:
        return None
    return v


@dataclass(repr=False)
class CheckReport(Result):
    """What :func:`run_checks` found.

    Attributes
    ----------
    table : DataFrame
        One row per posting × check: ``posting_id``, ``check``, ``status`` (pass, warn, fail,
        skip, error), ``alert`` (whether it makes the run fail), ``new`` (with ``since``:
        whether a problem is new since the previous snapshot), ``value``, ``threshold``,
        ``message``.
    results : list of CheckResult
        The same with each check's problems (keys, levels, texts) and details.
    exit_code : int
        0 when nothing alerts, 1 otherwise (``milo-analytics check`` exits with it).
    """

    results: list[CheckResult] = field(default_factory=list)
    since: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    generated_at: str = ""
    snapshot_id: int | None = None

    @property
    def exit_code(self) -> int:
        return 1 if bool(self.table["alert"].any()) else 0

    @property
    def alerts(self) -> pd.DataFrame:
        """The rows that alert."""
        return self.table[self.table["alert"]].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``--json`` (schema ``milo_analytics.check/1``)."""
        from .. import __version__

        return {
            "schema": "milo_analytics.check/1",
            "milo_analytics_version": __version__,
            "generated_at": self.generated_at,
            "exit_code": self.exit_code,
            "since": self.since,
            "snapshot_id": self.snapshot_id,
            "config": self.config,
            "checks": [
                {**r.to_dict(), "alert": r.alerting(self.since is not None)} for r in self.results
            ],
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def plot(self) -> Any:
        """A grid of postings × checks coloured by status."""
        from ..plots import check_status_figure

        return check_status_figure(self.table, title=self.title)

    def _repr_html_(self) -> str:
        rows = self.table.copy()
        rows["status"] = rows["status"].str.upper()
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        verdict = (
            "Nothing alerts."
            if self.exit_code == 0
            else f"{int(self.table['alert'].sum())} alert(s)."
        )
        return (
            f"<div class='milo-result'><h4>{html.escape(self.title)}</h4>"
            f"<p>{html.escape(verdict)}</p><ul>{notes}</ul>{frame_to_html(rows, max_rows=200)}</div>"
        )

    def __repr__(self) -> str:
        counts = self.table["status"].value_counts().to_dict() if len(self.table) else {}
        return f"CheckReport(exit_code={self.exit_code}, {counts})"


# --------------------------------------------------------------------------- the checks
def _adverse_impact(
    data: Any, pid: str, demographics: Any, outcomes: Any, cfg: AdverseImpactConfig
) -> CheckResult:
    from ..analysis.fairness import FLAG_RULE, bias_audit

    threshold = f"flag rule (alpha {cfg.alpha:g}, min_n {cfg.min_n})"
    if demographics is None:
        return CheckResult(
            pid, "adverse_impact", "skip", None, threshold, "no demographics given (--demographics)"
        )
    try:
        audit = bias_audit(
            data,
            demographics,
            postings=pid,
            outcomes=outcomes,
            alpha=cfg.alpha,
            min_n=cfg.min_n,
            exclude_below=cfg.exclude_below,
            min_known_share=cfg.min_known_share,
        )
    except InsufficientDataError as exc:
        return CheckResult(
            pid,
            "adverse_impact",
            "error",
            None,
            threshold,
            str(exc),
            [Problem("cannot-audit", "error", str(exc))],
        )

    def level(measure: str) -> str | None:
        for lv, wanted in (("fail", cfg.fail_measures), ("warn", cfg.warn_measures)):
            if (
                measure in wanted
                or "all" in wanted
                or (measure.startswith("question:") and "questions" in wanted)
            ):
                return lv
        return None

    problems = []
    for r in audit.flags.itertuples(index=False):
        lv = level(str(r.measure))
        if lv is None:
            continue
        problems.append(
            Problem(
                f"{r.measure}|{r.dimension}|{r.category}",
                lv,
                f"{r.label} · {r.dimension} · {r.category}: impact ratio {r.impact_ratio:.3f} "
                f"(n={r.n:,}, Holm p={r.p_adjusted:.2g})",
            )
        )
    status = _worst(problems)
    ratios = audit.table["impact_ratio"].dropna()
    lowest = float(ratios.min()) if len(ratios) else None
    n_fail = sum(p.level == "fail" for p in problems)
    problems.sort(key=lambda p: p.level != "fail")  # the failing flags first
    message = "no flag under the rule" if not problems else _first(problems)
    return CheckResult(
        pid,
        "adverse_impact",
        status,
        float(len(problems)),
        threshold,
        message,
        problems,
        {"flag_rule": FLAG_RULE, "failing_flags": n_fail, "lowest_impact_ratio": lowest},
    )


def _first(problems: list[Problem], shown: int = 1) -> str:
    """The first problems' texts, and how many more there are."""
    more = len(problems) - shown
    return "; ".join(p.text for p in problems[:shown]) + (f" (+{more} more)" if more > 0 else "")


def _worst(problems: Iterable[Problem]) -> str:
    levels = {p.level for p in problems}
    for lv in ("error", "fail", "warn"):
        if lv in levels:
            return lv
    return "pass"


def drift_verdict(n_before: int, n_after: int, d: float, p: float, cfg: DriftConfig) -> str:
    """The drift rule on one variable: ``"skip"`` (fewer than ``min_n`` interviews on a side),
    ``"fail"`` (|d| ≥ ``min_effect`` and Mann–Whitney p < ``alpha``), ``"warn"`` (a shift that
    large, not significant) or ``"pass"``. Its false-positive rate and power are measured in
    ``benchmarks/bench_checks.py`` (docs/methods.md §10).

    Examples
    --------
    >>> cfg = DriftConfig()
    >>> drift_verdict(300, 100, 0.45, 1e-4, cfg), drift_verdict(300, 100, 0.1, 1e-4, cfg)
    ('fail', 'pass')
    >>> drift_verdict(300, 20, 0.9, 1e-4, cfg), drift_verdict(300, 100, 0.4, 0.2, cfg)
    ('skip', 'warn')
    """
    if min(n_before, n_after) < cfg.min_n:
        return "skip"
    shifted = math.isfinite(d) and abs(d) >= cfg.min_effect
    if not shifted:
        return "pass"
    return "fail" if math.isfinite(p) and p < cfg.alpha else "warn"


def _drift_checks(data: Any, pid: str, cfg: DriftConfig) -> list[CheckResult]:
    from ..analysis._common import interview_times
    from ..analysis.temporal import drift

    threshold = f"|d| ≥ {cfg.min_effect:g} and p < {cfg.alpha:g}, n ≥ {cfg.min_n} per side"
    one = data.filter(posting_id=pid)
    variables = [v for v in cfg.variables if v != "questions"]
    if "questions" in cfg.variables and len(one.scores):
        variables += [str(c) for c in one.score_matrix(pid).columns]
    times = interview_times(one)
    times = times[times.index.isin(one.interviews["interview_id"])].dropna()
    if times.empty:
        return [
            CheckResult(pid, f"drift:{v}", "skip", None, threshold, "no timed interviews")
            for v in variables
        ]
    end = times.max()
    split = end - pd.Timedelta(days=cfg.window_days)
    start = split - pd.Timedelta(days=cfg.baseline_days)
    window = f"{split:%Y-%m-%d}–{end:%Y-%m-%d} vs {start:%Y-%m-%d}–{split:%Y-%m-%d}"
    try:
        result = drift(one.filter(start=start, on="interviewed_at"), split=split)
        comparison = result.comparison.set_index("variable")
    except MiloError:  # e.g. no completed interview in the window
        comparison = pd.DataFrame()
    out = []
    for v in variables:
        name = f"drift:{v}"
        if v not in comparison.index:
            out.append(CheckResult(pid, name, "skip", None, threshold, f"no {v} values ({window})"))
            continue
        row = comparison.loc[v]
        nb, na = int(row["n_before"]), int(row["n_after"])
        d = float(row["d"]) if pd.notna(row["d"]) else math.nan
        p = float(row["mw_p"]) if pd.notna(row["mw_p"]) else math.nan
        details = {"window": window, "split": split, "n_before": nb, "n_after": na, "d": d, "mw_p": p,
                   "mean_before": row["mean_before"], "mean_after": row["mean_after"]}  # fmt: skip
        status = drift_verdict(nb, na, d, p, cfg)
        direction = "up" if d > 0 else "down"
        text = (
            f"mean {row['mean_before']:.3g} → {row['mean_after']:.3g} (d={d:+.2f}, "
            f"Mann-Whitney p={p:.2g}; {window})"
        )
        problems = (
            [Problem(f"{v}|{direction}", status, text)] if status in (*_ALERTING, "warn") else []
        )
        message = {
            "skip": f"too few interviews to judge: {na} recent, {nb} before (need {cfg.min_n} "
            f"each; {window})",
            "fail": f"{v} shifted {direction}: {text}",
            "warn": f"a shift this large, not significant: {text}",
        }.get(status, text)
        out.append(CheckResult(pid, name, status, d, threshold, message, problems, details))
    return out


def _data_quality(
    data: Any, store: Store, pid: str, cfg: DataQualityConfig, now: float
) -> list[CheckResult]:
    return [
        _load_errors(data, pid, cfg),
        _unfinished_sync(store, pid, cfg),
        _freshness(store, pid, cfg, now),
        _event_queue(store, pid, cfg, now),
    ]


def _load_errors(data: Any, pid: str, cfg: DataQualityConfig) -> CheckResult:
    ids = data.candidates.loc[data.candidates["posting_id"] == pid, "interview_id"]
    errs = data.errors[data.errors["interview_id"].isin(ids)]
    n_docs = int((data.interviews["posting_id"] == pid).sum())
    n_err = len(errs)
    share = n_err / max(1, n_docs + n_err)
    status = "fail" if share > cfg.max_error_share else ("warn" if n_err else "pass")
    problems = [
        Problem(f"{r.interview_id}|{r.stage}", status, f"{r.interview_id} [{r.stage}] {r.error}")
        for r in errs.itertuples(index=False)
    ]
    message = f"{n_err:,} of {n_docs + n_err:,} documents failed to load ({share:.1%})"
    if problems:
        message += f": {_first(problems)}"
    threshold = f"≤ {cfg.max_error_share:.1%} of documents"
    return CheckResult(pid, "load_errors", status, share, threshold, message, problems)


def _unfinished_sync(store: Store, pid: str, cfg: DataQualityConfig) -> CheckResult:
    sync = store.unfinished_sync(pid)
    if sync is None or cfg.unfinished_sync == "ignore":
        message = "the last pull finished" if sync is None else "ignored"
        return CheckResult(pid, "unfinished_sync", "pass", 0.0, cfg.unfinished_sync, message)
    level, message = cfg.unfinished_sync, sync.cli_message()
    return CheckResult(pid, "unfinished_sync", level, 1.0, cfg.unfinished_sync, message,
                       [Problem("unfinished", level, message)])  # fmt: skip


def _freshness(store: Store, pid: str, cfg: DataQualityConfig, now: float) -> CheckResult:
    from ..load import refresh_plan

    synced = (store.posting_info(pid) or {}).get("synced_at")
    if synced is None:
        age, how = math.inf, "never listed completely"
    elif refresh_plan(store, pid, full_listing_hours=math.inf, now=now).path == "events":
        age, how = 0.0, "kept up to date by the webhook receiver since the last complete listing"
    else:
        age = (now - synced) / 3600
        how = f"last complete listing {age:.1f} h ago"
    status = "fail" if age > cfg.max_age_hours else "pass"
    problems = [Problem("stale", "fail", how)] if status == "fail" else []
    value = None if math.isinf(age) else age
    return CheckResult(pid, "freshness", status, value, f"≤ {cfg.max_age_hours:g} h", how, problems)


def _event_queue(store: Store, pid: str, cfg: DataQualityConfig, now: float) -> CheckResult:
    pending = store.events(posting_id=pid, states=["pending"]) + [
        e for e in store.events(states=["pending"]) if e["posting_id"] is None
    ]
    listed = (store.posting_info(pid) or {}).get("sync_started_at") or 0.0
    failed = store.events(posting_id=pid, states=["failed"], since=listed)
    problems = [
        Problem(f"late|{e['event_id']}", "fail",
                f"event {e['event_type']} for {e['interview_id']} waiting since "
                f"{(now - e['received_at']) / 60:.0f} min ({e['error'] or 'not processed'})")
        for e in pending
        if now - e["received_at"] > cfg.max_queue_minutes * 60
    ]  # fmt: skip
    problems += [
        Problem(f"failed|{e['event_id']}", "warn",
                f"event {e['event_type']} for {e['interview_id']} failed: {e['error']}")
        for e in failed
    ]  # fmt: skip
    oldest = max((now - e["received_at"]) / 60 for e in pending) if pending else 0.0
    message = (
        f"{len(pending):,} waiting (oldest {oldest:.0f} min), {len(failed):,} failed since the "
        "last complete listing"
    )
    threshold = f"≤ {cfg.max_queue_minutes:g} min waiting"
    return CheckResult(pid, "event_queue", _worst(problems), oldest, threshold, message, problems)


# --------------------------------------------------------------------------- run_checks
def run_checks(
    posting_ids: str | Iterable[str],
    *,
    store: Store | str | Path | None = None,
    config: CheckConfig | str | Path | None = None,
    demographics: Any = None,
    outcomes: Any = None,
    pull: bool = False,
    client: Any = None,
    since: bool | int = False,
    save: bool = True,
    now: float | None = None,
) -> CheckReport:
    """Run the monitoring checks on postings in the store (see the module docstring).

    Parameters
    ----------
    posting_ids
        One posting id or several.
    store
        A :class:`~milo_analytics.store.Store` or its path (default: the user's store).
    config
        A :class:`CheckConfig`, the path of a TOML file (:func:`load_check_config`), or None
        for the defaults (:data:`DEFAULT_CHECKS_TOML`).
    demographics
        For ``adverse_impact``: what :func:`~milo_analytics.analysis.bias_audit` takes (a path,
        a frame from :func:`~milo_analytics.read_demographics`), or a function of the loaded
        :class:`~milo_analytics.InterviewData` returning one. None skips the check.
    outcomes
        Optional hire outcomes (:func:`~milo_analytics.read_outcomes` output, or a function of
        the data returning it): adds the ``hired`` selection measure.
    pull
        First bring the store up to date with ``load_postings(..., refresh="auto")``
        (``[pull] full_listing_hours``); otherwise only the store is read.
    client
        The client for ``pull`` (default: one from ``HEYMILO_API_KEY``).
    since
        True: compare with the previous snapshot of each posting (or the snapshot id given):
        only problems that are new alert. False: every failing check alerts.
    save
        Keep this run as a snapshot in the store (for the next ``since``).
    now
        Epoch seconds taken as "now" (tests).

    Returns
    -------
    CheckReport

    Raises
    ------
    ConfigError, DataError, APIError
        The checks could not run (``milo-analytics check`` exits 3).

    Examples
    --------
    >>> report = run_checks("8B4AE5F1", store="store.sqlite3",  # doctest: +SKIP
    ...                     demographics="self_id.csv", since=True)
    >>> report.exit_code, report.alerts  # doctest: +SKIP
    """
    from ..load import _check_ids, load_postings

    ids = _check_ids(posting_ids)
    cfg = (
        config
        if isinstance(config, CheckConfig)
        else (load_check_config(config) if config is not None else CheckConfig())
    )
    own_store = not isinstance(store, Store)
    st = store if isinstance(store, Store) else Store(store)
    try:
        with warnings.catch_warnings():
            # the unfinished_sync check reports it (as a check, not a warning line)
            warnings.simplefilter("ignore", UnfinishedSyncWarning)
            if pull:
                data = load_postings(
                    ids,
                    client=client,
                    store=st,
                    refresh="auto",
                    progress=False,
                    full_listing_hours=cfg.pull.full_listing_hours,
                )
            else:
                data = load_postings(ids, store=st, refresh=False)
        now = time.time() if now is None else now  # after the pull: it is part of the past
        demo = demographics(data) if callable(demographics) else demographics
        oc = outcomes(data) if callable(outcomes) else outcomes
        results: list[CheckResult] = []
        for pid in ids:
            results.append(_adverse_impact(data, pid, demo, oc, cfg.adverse_impact))
            results.extend(_drift_checks(data, pid, cfg.drift))
            results.extend(_data_quality(data, st, pid, cfg.data_quality, now))
        since_info = _compare(st, ids, results, since) if since is not False else None
        report = _report(results, cfg, since_info, now)
        if save:
            report.snapshot_id = st.save_check_snapshot(ids, report.to_dict(), when=now)
        return report
    finally:
        if own_store:
            st.close()


def _compare(
    store: Store, ids: list[str], results: list[CheckResult], since: bool | int
) -> dict[str, Any]:
    """Mark each problem new or known against the previous snapshot of its posting."""
    snapshot_id = None if since is True else int(since)
    info: dict[str, Any] = {"snapshots": {}}
    previous: dict[tuple[str, str], set[str]] = {}
    for pid in ids:
        snap = store.check_snapshot(pid, snapshot_id=snapshot_id)
        if snap is None:
            info["snapshots"][pid] = None
            continue
        sid, created, doc = snap
        info["snapshots"][pid] = {
            "snapshot_id": sid,
            "created_at": _dt.datetime.fromtimestamp(created, _dt.UTC).isoformat(
                timespec="seconds"
            ),
        }
        for c in doc.get("checks", []):
            if c.get("posting_id") == pid:
                previous[(pid, c["check"])] = {p["key"] for p in c.get("problems", [])}
    for r in results:
        known = previous.get((r.posting_id, r.check), set())
        for p in r.problems:
            p.new = p.key not in known
    return info


def _report(
    results: list[CheckResult], cfg: CheckConfig, since: dict[str, Any] | None, now: float
) -> CheckReport:
    with_since = since is not None
    rows = []
    for r in results:
        new = [p for p in r.problems if p.new]
        rows.append(
            {
                "posting_id": r.posting_id,
                "check": r.check,
                "status": r.status,
                "alert": r.alerting(with_since),
                "new": (len(new) if with_since else None),
                "value": r.value,
                "threshold": r.threshold,
                "message": r.message,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["posting_id", "check", "status", "alert", "new", "value", "threshold", "message"],
    )
    table = table.astype(
        {
            "posting_id": "str",
            "check": "str",
            "status": "str",
            "alert": "bool",
            "new": "Int64",
            "value": "float64",
            "threshold": "str",
            "message": "str",
        }
    )
    notes = []
    if with_since:
        missing = [p for p, s in since["snapshots"].items() if s is None]
        notes.append(
            "Only problems new since the previous check alert"
            + (
                f" (no earlier snapshot of {', '.join(missing)}: everything is new)."
                if missing
                else "."
            )
        )
    return CheckReport(
        table=table,
        title="Monitoring checks",
        notes=notes,
        results=results,
        since=since,
        config=cfg.to_dict(),
        generated_at=_dt.datetime.fromtimestamp(now, _dt.UTC).isoformat(timespec="seconds"),
    )
