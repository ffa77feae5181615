"""The ``milo-analytics`` command line: a thin typer layer over the public functions.

Each command only wires public functions together. Errors a user can cause print as one
clear line on stderr with a non-zero exit; ``--debug`` shows the full traceback. The API key
comes from the ``HEYMILO_API_KEY`` environment variable only and is never printed.

The data commands (``pull``, ``audit``, ``suggest-weights``, ``report``) share one set of
options (:data:`StoreOption`, :data:`OfflineOption`, :data:`DocumentsOption`,
:data:`BaseUrlOption`), one loader (:func:`load_data`), one set of join options
(:data:`OutcomesKeyOption`, :data:`DemographicsKeyOption`, :data:`OnConflictOption`) and one
reader of the outcomes and demographics files (:func:`read_side_files`). Heavy imports stay
inside the functions so that ``milo-analytics --help`` is fast.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import re
import sys
import time
import typing
import warnings
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

# --------------------------------------------------------------------------- help text
# Help is click's plain layout (rich_markup_mode=None): paragraphs reflow to the terminal, up
# to 80 columns, and option help wraps in its own column. Rich's panels squeezed the help
# into a narrow column at 80 columns, broke `<email|interview_id|e xternal_id>` mid-word and
# showed `<bool>`/`<str>` beside every option. _HelpGroup tidies every command the app has,
# including commands added later: a metavar naming what a value is (FILE, DIR, TEXT, N,
# NUMBER, [a|b|c] for choices, POSTING for an argument) wherever a command sets none, and a
# formatter that never breaks a line at a hyphen (so `--sex-column` and `external_id` stay
# whole). `code` spans of docstrings keep their backticks, which read as code in a terminal.

_NO_BREAK_HYPHEN = "\u2011"  # wraps like a letter; turned back into "-" before printing
_NO_BREAK_SPACE = "\u00a0"  # the same for the spaces inside "[default: 0.5; 0.0<=x<=1.0]"
_EXTRAS = re.compile(r"\[(?:default|required|env var|\d|x)[^\[\]]*\]")


def _glue(text: str) -> str:
    text = _EXTRAS.sub(lambda m: m.group(0).replace(" ", _NO_BREAK_SPACE), text)
    return text.replace("-", _NO_BREAK_HYPHEN)


@functools.cache
def _help_context_class(base: type) -> type:
    """A click Context class whose help formatter does not break lines at hyphens."""

    class NoHyphenBreakFormatter(base.formatter_class):  # type: ignore[name-defined,misc]
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(_glue(prog), _glue(args), prefix)

        def write_text(self, text: str) -> None:
            super().write_text(_glue(text))

        def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
            rows = [tuple(_glue(cell) for cell in row) for row in rows]
            super().write_dl(rows, *args, **kwargs)

        def getvalue(self) -> str:
            text = super().getvalue()
            return text.replace(_NO_BREAK_HYPHEN, "-").replace(_NO_BREAK_SPACE, " ")

    return type(base.__name__, (base,), {"formatter_class": NoHyphenBreakFormatter})


_NUMBER_METAVARS = {int: "N", float: "NUMBER"}


def _metavar(param: Any) -> str | None:
    """What the value of an option without a metavar is: FILE, DIR, PATH, [a|b|c], N, NUMBER,
    TEXT (None for a flag). Works with typer's own parameters and with click's."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    desc = getattr(param, "type_descriptor", None)  # typer >= 0.2x (click vendored)
    if desc is not None:
        if desc.is_choice:
            return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
        if desc.is_path:
            return {"file": "FILE", "dir": "DIR", "directory": "DIR"}.get(
                str(desc.path_type), "PATH"
            )
        annotation = desc.annotation
        if desc.is_list and typing.get_args(annotation):
            annotation = typing.get_args(annotation)[0]
        return _NUMBER_METAVARS.get(annotation, "TEXT")
    kind = getattr(param, "type", None)  # click's parameter types
    if getattr(kind, "choices", None):
        return "[" + "|".join(str(getattr(c, "value", c)) for c in kind.choices) + "]"
    if hasattr(kind, "file_okay") and hasattr(kind, "dir_okay"):
        return "FILE" if not kind.dir_okay else "DIR" if not kind.file_okay else "PATH"
    name = str(getattr(kind, "name", ""))
    return "N" if "integer" in name else "NUMBER" if "float" in name else "TEXT"


@functools.cache
def _plain_argument_class(base: type) -> type:
    """An argument class whose help names it by its metavar alone (no `<str>` after it) and
    whose usage reads ``POSTING`` / ``[POSTING]`` / ``POSTING...`` as in click."""

    class PlainArgument(base):  # type: ignore[valid-type,misc]
        def display_type_rich(self, ctx: Any) -> None:
            return None

        def get_usage_pieces(self, ctx: Any) -> list[str]:
            name = self.metavar or self.name.upper()
            name += "..." if self.nargs != 1 else ""
            return [name if self.required else f"[{name}]"]

    return type(base.__name__, (PlainArgument,), {})


def _tidy_help(command: Any) -> None:
    """Give ``command`` the help layout of every milo-analytics command (see above)."""
    if not getattr(command.context_class, "_milo_help", False):
        command.context_class = _help_context_class(command.context_class)
        command.context_class._milo_help = True
    for param in command.params:
        if param.param_type_name == "argument":
            if param.metavar is None:
                param.metavar = str(param.name).upper()
            if hasattr(param, "display_type_rich") and not getattr(param, "_milo_help", False):
                param.__class__ = _plain_argument_class(type(param))
                param._milo_help = True
        elif param.metavar is None:
            param.metavar = _metavar(param)


class _HelpGroup(typer.core.TyperGroup):
    """The app's command group: every command (those added later too, and the commands of
    sub-groups such as `webhooks`) gets the same help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        todo: list[Any] = [self]
        while todo:
            command = todo.pop()
            _tidy_help(command)
            todo.extend(getattr(command, "commands", {}).values())


app = typer.Typer(
    name="milo-analytics",
    cls=_HelpGroup,
    help=(
        "Analytics for HeyMilo AI interviews: pull results, study weights and reliability, "
        "audit adverse impact, calibrate question weights and write HTML reports.\n\n"
        "Start with `milo-analytics demo`, which runs everything on the embedded demo world "
        "without an account; `milo-analytics postings` lists the postings of an account. The "
        "API key comes from HEYMILO_API_KEY only."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: see _HelpGroup
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"debug": False, "saved": None, "resumable": True}


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


def echo_err(message: str) -> None:
    """Print one line on stderr."""
    typer.echo(message, err=True)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """``"1 flag"``, ``"2 flags"``, ``"1,000 categories"`` (with ``plural=``)."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _counts(data: Any) -> str:
    """``"1,200 candidates, 1,133 completed interviews, 0 load errors"``."""
    return (
        f"{_plural(len(data.candidates), 'candidate')}, "
        f"{_plural(len(data.interviews), 'completed interview')}, "
        f"{_plural(len(data.errors), 'load error')}"
    )


# --------------------------------------------------------------------------- shared options
# JoinKey and OnConflict mirror milo_analytics.outcomes.KeyKind / OnConflict (a test checks
# that they agree), Target the outcome columns read_outcomes produces. Typer lists the choices
# in --help and rejects other values as a usage error (exit 2) before any work is done.


class JoinKey(StrEnum):
    """How rows of an outcomes or demographics file join to interviews."""

    email = "email"
    interview_id = "interview_id"
    external_id = "external_id"


class OnConflict(StrEnum):
    """What to do with people whose rows in a file disagree."""

    error = "error"
    unknown = "unknown"
    first = "first"
    last = "last"


class Target(StrEnum):
    """The outcome column weights are calibrated on."""

    hired = "hired"
    performance = "performance"
    retention = "retention"


class Ties(StrEnum):
    """Scores equal to the median in the audit's scoring rates (``bias_audit(ties=)``)."""

    strict = "strict"
    at_least = ">="


PostingArg = Annotated[
    str,
    typer.Argument(
        metavar="POSTING",
        help="Posting (interviewer) id, e.g. 13D77095 (`milo-analytics postings` lists them).",
    ),
]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="SQLite store file (default: $MILO_ANALYTICS_STORE or the user data folder).",
        dir_okay=False,
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option("--offline", help="No network: use only what the store already has."),
]
DocumentsOption = Annotated[
    Path | None,
    typer.Option(
        "--documents",
        help="Read exported API documents (a folder or JSON file) instead of the API and store.",
        exists=True,
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="API base URL with the version prefix (default: $HEYMILO_BASE_URL or HeyMilo's).",
    ),
]
OutcomesKeyOption = Annotated[
    JoinKey,
    typer.Option("--outcomes-key", help="How rows of the outcomes file join to interviews."),
]
DemographicsKeyOption = Annotated[
    JoinKey,
    typer.Option(
        "--demographics-key", help="How rows of the demographics file join to interviews."
    ),
]
OnConflictOption = Annotated[
    OnConflict,
    typer.Option(
        "--on-conflict",
        help="People whose rows disagree: stop (error), count them as unknown, or keep the "
        "first or last row.",
    ),
]
_outcomes_file = typer.Option(
    "--outcomes",
    help="ATS outcomes file (CSV or Excel; joined by --outcomes-key).",
    exists=True,
    dir_okay=False,
)
_demographics_file = typer.Option(
    "--demographics",
    "-d",
    help="Voluntary self-identification file (CSV or Excel; joined by --demographics-key).",
    exists=True,
    dir_okay=False,
)
SexColumnOption = Annotated[
    str | None,
    typer.Option(
        "--sex-column",
        metavar="COLUMN",
        help="Column of the demographics file with sex/gender (default: found by name, e.g. "
        "Gender). `none`: the file has no sex answers; only race/ethnicity is audited.",
    ),
]
RaceColumnOption = Annotated[
    str | None,
    typer.Option(
        "--race-column",
        metavar="COLUMN",
        help="Column of the demographics file with race/ethnicity (default: found by name, "
        "e.g. Race). `none`: the file has no race answers; only sex is audited.",
    ),
]
HiredColumnOption = Annotated[
    str | None,
    typer.Option(
        "--hired-column",
        metavar="COLUMN",
        help="Column of the outcomes file saying who was hired (default: found by name, "
        "e.g. Hired, Outcome, Hire Date).",
    ),
]
OutcomesSheetOption = Annotated[
    str | None,
    typer.Option(
        "--outcomes-sheet",
        metavar="SHEET",
        help="Excel outcomes file: the sheet to read, by name or 0-based number (default: every "
        "sheet, when they share one header).",
    ),
]
DemographicsSheetOption = Annotated[
    str | None,
    typer.Option(
        "--demographics-sheet",
        metavar="SHEET",
        help="Excel demographics file: the sheet to read, by name or 0-based number (default: "
        "every sheet, when they share one header).",
    ),
]
OutcomesEncodingOption = Annotated[
    str | None,
    typer.Option(
        "--outcomes-encoding",
        metavar="ENCODING",
        help="Text encoding of a CSV outcomes file, e.g. cp1252 (default: from its byte-order "
        "mark, else UTF-8).",
    ),
]
DemographicsEncodingOption = Annotated[
    str | None,
    typer.Option(
        "--demographics-encoding",
        metavar="ENCODING",
        help="Text encoding of a CSV demographics file, e.g. cp1252 (default: from its "
        "byte-order mark, else UTF-8).",
    ),
]


class OnMixed(StrEnum):
    """What to do with a numeric outcome column that mixes forms ("87%" beside 1–5)."""

    error = "error"
    missing = "missing"


OnMixedOption = Annotated[
    OnMixed,
    typer.Option(
        "--on-mixed",
        help="A numeric outcomes column mixing forms (87% beside 1-5 ratings, 1e3, words): "
        "stop (error) or read the odd cells as missing.",
    ),
]
MinKnownShareOption = Annotated[
    float,
    typer.Option(
        "--min-known-share",
        min=0.0,
        max=1.0,
        help="Refuse to audit a posting where fewer of the people with a demographics row have "
        "a known sex (or race/ethnicity) than this share; 0 audits whatever is there.",
    ),
]
OutcomesFileOption = Annotated[Path | None, _outcomes_file]
DemographicsFileOption = Annotated[Path | None, _demographics_file]
RequiredOutcomesFile = Annotated[Path, _outcomes_file]
RequiredDemographicsFile = Annotated[Path, _demographics_file]


def load_data(
    postings: list[str],
    *,
    store: Path | None = None,
    offline: bool = False,
    documents: Path | None = None,
    base_url: str | None = None,
    client: Any = None,
    progress: bool | None = None,
    strict: bool = False,
    concurrency: int | None = None,
    rate_limit: int | None = None,
    score_scale: int | None = None,
) -> tuple[Any, str]:
    """Load postings for a command: exported documents, the offline store, or the API.

    Parameters
    ----------
    postings
        Posting ids.
    store, offline, documents, base_url
        The shared command options; ``documents`` excludes the other three.
    client
        An open :class:`~milo_analytics.api.HeyMiloClient` to pull with (``demo``); by default
        one is made from ``HEYMILO_API_KEY`` and ``base_url``.
    progress, strict, concurrency, rate_limit, score_scale
        Passed to :func:`~milo_analytics.load.load_postings` and the client (None: their
        defaults).

    Returns
    -------
    (InterviewData, str)
        The data and where it came from (``"store: PATH"`` or ``"documents: PATH"``).

    Examples
    --------
    >>> data, source = load_data(["13D77095"], offline=True)  # doctest: +SKIP
    """
    from .errors import ConfigError, DataError
    from .load import load_documents, load_postings
    from .store import Store

    if documents is not None:
        if offline or store is not None or base_url is not None:
            raise ConfigError(
                "--documents reads exported files, never the store or the API: "
                "drop --store, --offline and --base-url"
            )
        data = load_documents(documents, score_scale=score_scale, strict=strict)
        missing = [p for p in postings if p not in data.posting_ids]
        if missing:
            raise DataError(
                f"posting {', '.join(missing)} is not in the documents in {documents} "
                f"(they hold {', '.join(data.posting_ids) or 'no postings'})"
            )
        return data.filter(posting_id=postings), f"documents: {documents}"
    pull: dict[str, Any] = {"strict": strict, "score_scale": score_scale}
    if concurrency is not None:
        pull["concurrency"] = concurrency
    with Store(store) as st:
        source = f"store: {st.path}"
        if offline:
            return load_postings(postings, store=st, refresh=False, **pull), source
        with contextlib.ExitStack() as stack:
            if client is None:
                from .api import HeyMiloClient

                options: dict[str, Any] = {"base_url": base_url}
                if concurrency is not None:
                    options["max_connections"] = concurrency
                if rate_limit is not None:
                    options["rate_limit"] = rate_limit
                client = stack.enter_context(HeyMiloClient(**options))
            started = time.time()
            try:
                data = load_postings(postings, client=client, store=st, progress=progress, **pull)
            except KeyboardInterrupt:
                # main() prints the one "interrupted" line; it says what the pull kept
                with contextlib.suppress(Exception):
                    _state["saved"] = st.saved_since(started)
                raise
        return data, source


def _column_option(value: str | None) -> str | bool | None:
    """``--sex-column``/``--race-column``: ``none`` means the file has no such answers."""
    return False if value is not None and value.strip().lower() == "none" else value


def read_side_files(
    data: Any,
    *,
    outcomes: Path | None = None,
    demographics: Path | None = None,
    outcomes_key: JoinKey | str = JoinKey.email,
    demographics_key: JoinKey | str = JoinKey.email,
    on_conflict: OnConflict | str = OnConflict.error,
    sex_column: str | None = None,
    race_column: str | None = None,
    hired_column: str | None = None,
    outcomes_sheet: str | None = None,
    demographics_sheet: str | None = None,
    outcomes_encoding: str | None = None,
    demographics_encoding: str | None = None,
    on_mixed: OnMixed | str = OnMixed.error,
    say: Callable[[str], None] = typer.echo,
) -> tuple[Any, Any]:
    """Read the optional outcomes and demographics files joined to ``data``; print each join.

    The options are the CLI's file options (:data:`SexColumnOption` …), passed to
    :func:`~milo_analytics.read_outcomes` / :func:`~milo_analytics.read_demographics`; the
    readers' warnings (unrecognised spellings, concatenated sheets) are printed as ``note:``
    lines through ``say``.

    Returns
    -------
    (outcomes frame or None, demographics frame or None)

    Examples
    --------
    >>> oc, demo = read_side_files(data, demographics=Path("eeo.csv"))  # doctest: +SKIP
    """
    import warnings

    from .outcomes import read_demographics, read_outcomes
    from .table_files import ConcatenatedSheetsWarning

    common = {"data": data, "on_conflict": OnConflict(on_conflict).value}
    jobs = (
        (outcomes, read_outcomes, "outcomes", {
            "key": JoinKey(outcomes_key).value, "hired": hired_column,
            "sheet": outcomes_sheet, "encoding": outcomes_encoding,
            "on_mixed": OnMixed(on_mixed).value,
        }),
        (demographics, read_demographics, "demographics", {
            "key": JoinKey(demographics_key).value, "sex": _column_option(sex_column),
            "race_ethnicity": _column_option(race_column), "sheet": demographics_sheet,
            "encoding": demographics_encoding,
        }),
    )  # fmt: skip
    frames = []
    for path, reader, kind, options in jobs:
        frame = None
        if path is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = reader(path, **common, **options)
            report = frame.attrs.get("join_report")
            if report is not None and hasattr(report, "summary"):
                say(report.summary())
            for w in caught:
                sheets = issubclass(w.category, ConcatenatedSheetsWarning)
                say(
                    f"note: {w.message}"
                    + (f" (read one with --{kind}-sheet NAME)" if sheets else "")
                )
        frames.append(frame)
    return frames[0], frames[1]


_JOIN_OPTIONS = (
    "outcomes", "demographics", "outcomes_key", "demographics_key", "on_conflict", "sex_column",
    "race_column", "hired_column", "outcomes_sheet", "demographics_sheet", "outcomes_encoding",
    "demographics_encoding", "on_mixed",
)  # fmt: skip


def load_inputs(posting: str, **options: Any) -> tuple[Any, Any, Any]:
    """One posting's data and its optional outcomes and demographics, for a command.

    ``options`` are the shared data options of :func:`load_data` and the join and file options
    of :func:`read_side_files` (``outcomes``, ``demographics``, ``outcomes_key``,
    ``demographics_key``, ``on_conflict``, ``sex_column``, ``race_column``, ``hired_column``,
    ``outcomes_sheet``, ``demographics_sheet``, ``outcomes_encoding``,
    ``demographics_encoding``, ``on_mixed``).

    Returns
    -------
    (InterviewData, outcomes frame or None, demographics frame or None)

    Examples
    --------
    >>> data, oc, demo = load_inputs("13D77095", offline=True)  # doctest: +SKIP
    """
    join = {k: options.pop(k) for k in _JOIN_OPTIONS if k in options}
    data, _ = load_data([posting], **options)
    return (data, *read_side_files(data, **join))


def _flag_line(r: Any, *, posting: bool = False) -> str:
    """One flagged row of a bias audit, e.g. ``FLAG Speech score · race_ethnicity · …``."""
    where = f" (posting {r.posting_id})" if posting else ""
    return (
        f"FLAG {r.label} · {r.dimension} · {r.category}{where}: impact ratio "
        f"{r.impact_ratio:.3f} (n={r.n:,}, p={r.p_value:.2g}, Holm p={r.p_adjusted:.2g}, "
        f"shortfall {r.shortfall})"
    )


def echo_audit_findings(audit: Any, *, indent: str = "") -> None:
    """Print the flagged findings and put the raw four-fifths results in context.

    The "why not flagged" counts come from ``audit.four_fifths_verdicts()`` (small n, not lower
    than the rest, not significant); then the audit's choices (ties, median sample, 2 % rule,
    reference) are printed.

    Examples
    --------
    >>> echo_audit_findings(bias_audit(data, demographics), indent="  ")  # doctest: +SKIP
    """
    from .analysis.fairness import FLAG_RULE

    flags = audit.flags
    if flags.empty:
        typer.echo(f"{indent}No evidence of adverse impact under the flag rule.")
    else:
        typer.echo(f"{indent}Evidence of adverse impact: {_plural(len(flags), 'flagged finding')}")
        several = len(audit.unknown) > 1  # one row per posting audited
        for r in flags.itertuples(index=False):
            typer.echo(f"{indent}  {_flag_line(r, posting=several)}")
    verdicts = audit.four_fifths_verdicts()  # why each ratio under 0.8 is or is not a flag
    unflagged = verdicts[verdicts["verdict"] != "flagged"]
    if len(unflagged):
        counts = unflagged["verdict"].value_counts()
        small = int(counts.get("small n", 0))
        higher = int(counts.get("not lower than the rest", 0))
        noise = int(counts.get("not significant", 0))
        alpha = audit.options.get("alpha", 0.05)
        parts = []
        if small:
            parts.append(f"{small:,} in groups under {audit.options.get('min_n', 30)} people")
        if higher + noise:
            detail = [f"{higher:,} of them not lower at all"] if higher else []
            detail += [f"{noise:,} with Holm p ≥ {alpha}"] if noise else []
            parts.append(
                f"{higher + noise:,} not significantly lower than everybody else "
                f"({'; '.join(detail)})"
            )
        verb = "falls" if len(verdicts) == 1 else "fall"
        not_flags = "is not a flag" if len(unflagged) == 1 else "are not flags"
        typer.echo(
            f"{indent}{_plural(len(verdicts), 'impact ratio')} {verb} below four-fifths (0.8); "
            f"{len(unflagged):,} of them {not_flags}: {' and '.join(parts)}."
        )
    for line in audit.choices():
        typer.echo(f"{indent}{line}")
    typer.echo(f"{indent}Flag rule: {FLAG_RULE}.")


# --------------------------------------------------------------------------- commands
# One section per area.

# === sandbox ===


@app.command("sandbox")
def sandbox_cmd(
    world: Annotated[
        str,
        typer.Option(
            metavar="WORLD",
            help="'demo' (the packaged demo world) or a folder written by --write-demo.",
        ),
    ] = "demo",
    api_key: Annotated[
        str | None,
        typer.Option(help="Key the server accepts (random when omitted; printed once on start)."),
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 0,
    latency: Annotated[float, typer.Option(min=0.0, help="Seconds added to every response.")] = 0.0,
    rate_limit: Annotated[
        int | None, typer.Option(min=1, help="Requests per minute per key (429 past it).")
    ] = None,
    error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests answered 5xx.")
    ] = 0.0,
    drop_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of connections dropped.")
    ] = 0.0,
    malformed: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ID", help="Interview id whose /data is malformed; ID or ID:json / ID:schema."
        ),
    ] = None,
    interview_delay: Annotated[
        float, typer.Option(min=0.0, help="Seconds per interview stage for ingested candidates.")
    ] = 0.0,
    seed: Annotated[
        int, typer.Option(help="Seed (faults and new ids; with --write-demo the world).")
    ] = 7,
    n_candidates: Annotated[
        int | None, typer.Option(help="With --write-demo: candidates of the CSR posting.")
    ] = None,
    write_demo: Annotated[
        str | None,
        typer.Option(
            "--write-demo",
            metavar="DIR",
            help="Generate the demo world with --seed into this folder and exit (e.g. data/demo).",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(min=0.0, help="Stop after this many seconds (default: until Ctrl-C)."),
    ] = None,
    simulate: Annotated[
        int,
        typer.Option(
            "--simulate",
            min=0,
            help="Once a webhook is registered, ingest this many candidates into its posting; "
            "they are interviewed (see --interview-delay) and the webhooks fire.",
        ),
    ] = 0,
    simulate_posting: Annotated[
        str | None,
        typer.Option(
            "--simulate-posting",
            help="With --simulate: the posting (default: the first one "
            "a webhook is registered for).",
        ),
    ] = None,
) -> None:
    """Serve a local HeyMilo-compatible API (v2 and v4) over a synthetic world, or write one.

    Examples: `milo-analytics sandbox --latency 0.05 --rate-limit 300`;
    `milo-analytics sandbox --write-demo data/demo --seed 7` (reproducible, byte for byte).
    The key printed on start is the sandbox's own, never a real account's. Ctrl-C stops the
    server: one line, "sandbox stopped", and exit status 130, as for every command.
    """
    import time

    from .sandbox import Sandbox, WorldConfig, generate_world

    if write_demo:
        overrides = {"seed": seed}
        if n_candidates is not None:
            overrides["n_candidates"] = n_candidates
        w = generate_world(WorldConfig(**overrides))
        folder = w.save(write_demo)
        n = sum(len(c) for c in w.candidates.values())
        typer.echo(f"wrote {n} candidates, {len(w.interview_data)} interview documents to {folder}")
        return
    try:
        sb = Sandbox(
            world,
            api_key=api_key,
            latency=latency,
            rate_limit=rate_limit,
            error_rate=error_rate,
            drop_rate=drop_rate,
            malformed=malformed or (),
            seed=seed,
            interview_delay=interview_delay,
            port=port,
        )
    except (FileNotFoundError, ValueError) as exc:
        from .errors import ConfigError

        folder = Path(world).expanduser()
        if world != "demo" and not (folder / "postings.json").is_file():
            what = "a sandbox world folder (no postings.json)" if folder.is_dir() else "a folder"
            raise ConfigError(
                f"--world {world!r} is neither 'demo' nor {what}; pass --world demo or a "
                "folder written by `milo-analytics sandbox --write-demo DIR`"
            ) from None
        raise ConfigError(str(exc)) from None
    with sb:
        typer.echo(f"HeyMilo sandbox serving {sb.world!r}")
        typer.echo(f"  HEYMILO_BASE_URL={sb.base_url}   (also {sb.base_url_v4})")
        typer.echo(f"  HEYMILO_API_KEY={sb.api_key}")
        if simulate:
            _simulate_when_registered(sb, simulate, simulate_posting)
        t0 = time.monotonic()
        try:
            typer.echo("Press Ctrl-C to stop.")
            while duration is None or time.monotonic() - t0 < duration:
                time.sleep(0.2)
        except KeyboardInterrupt:
            # Ctrl-C exits 130 as in every command, with one line saying the server is gone
            interrupted = True
        else:
            interrupted = False
    if interrupted:
        echo_err("milo-analytics: sandbox stopped")
        raise SystemExit(EXIT_INTERRUPTED)
    typer.echo("sandbox stopped")


# === postings ===


def _postings_table(table: Any, *, width: int) -> list[str]:
    """The lines of the `postings` table: id, title (cut to fit ``width``), status, counts, and
    when each was last pulled (only when a store was read)."""
    import pandas as pd

    def count(v: Any) -> str:
        return "-" if pd.isna(v) else f"{int(v):,}"

    rows = [
        {
            "posting": str(r.posting_id),
            "title": str(r.title) if isinstance(r.title, str) else "-",
            "status": str(r.status) if isinstance(r.status, str) else "-",
            "candidates": count(r.candidates),
            "completed": count(r.completed_interviews),
            "pulled": "-" if pd.isna(r.synced_at) else r.synced_at.strftime("%Y-%m-%d"),
        }
        for r in table.itertuples(index=False)
    ]
    columns = ["posting", "title", "status", "candidates", "completed"]
    if table["synced_at"].notna().any():
        columns.append("pulled")
    right = {"candidates", "completed"}
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    others = sum(w for c, w in widths.items() if c != "title") + 2 * (len(columns) - 1)
    widths["title"] = max(len("title"), min(widths["title"], width - others))

    def line(cells: dict[str, str]) -> str:
        out = []
        for c in columns:
            text = cells[c]
            if len(text) > widths[c]:
                text = text[: widths[c] - 1] + "…"
            out.append(text.rjust(widths[c]) if c in right else text.ljust(widths[c]))
        return "  ".join(out).rstrip()

    return [line({c: c for c in columns}), *(line(r) for r in rows)]


@app.command("postings")
def postings_cmd(
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="TEXT",
            help="Only postings whose title contains TEXT (any case).",
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print the postings as JSON (a list of objects)."),
    ] = False,
    store: StoreOption = None,
    offline: OfflineOption = False,
    base_url: BaseUrlOption = None,
) -> None:
    """List the postings (interviewers) of the account, with their candidate counts.

    One line per posting: its id (what pull, audit, suggest-weights and report take), title,
    status, candidates and completed interviews (those with results), as the API counts them,
    and when it was last pulled into the local store. With --offline: the postings the store
    holds, counted from what the last pull stored. The API key comes from HEYMILO_API_KEY only.

    Example: `milo-analytics postings --search support`.
    """
    import shutil

    from .load import list_postings
    from .store import Store, default_store_path

    if offline and base_url is not None:
        from .errors import ConfigError

        raise ConfigError("--offline reads only the store: drop --base-url")
    # online, the store (only when it exists) says when each posting was last pulled
    path = store if store is not None else default_store_path()
    use_store = offline or store is not None or Path(path).exists()
    with contextlib.ExitStack() as stack:
        st = stack.enter_context(Store(store)) if use_store else None
        client = None
        if not offline:
            from .api import HeyMiloClient

            client = stack.enter_context(HeyMiloClient(base_url=base_url))
        table = list_postings(client=client, store=st, refresh=not offline, search=search)
    if json_out:
        typer.echo(table.to_json(orient="records", date_format="iso", indent=2))
        return
    if table.empty:
        where = f"the store at {st.path} holds" if offline and st is not None else "the API lists"
        matching = f" whose title contains {search!r}" if search else ""
        typer.echo(f"No postings: {where} none{matching}.")
        if offline and not search:
            typer.echo("Pull one first: milo-analytics pull POSTING")
        return
    width = shutil.get_terminal_size((80, 24)).columns
    for row in _postings_table(table, width=max(width, 60)):
        typer.echo(row)


def _simulate_when_registered(sb: Any, n: int, posting: str | None) -> None:
    """In the background: wait for an active webhook (of ``posting``), then ingest ``n``
    candidates into its posting through the API, so that the sandbox interviews them and
    fires the webhooks (``sandbox --simulate``)."""
    import threading

    def run() -> None:
        while sb.running:
            hooks = [
                h
                for h in list(sb.world.webhooks)
                if h.get("is_active") and (posting is None or h["posting_id"] == posting)
            ]
            if hooks:
                break
            time.sleep(0.2)
        else:
            return
        pid = posting or hooks[0]["posting_id"]
        people = [
            {"name": f"Simulated Candidate {i + 1}", "email": f"simulated{i + 1}@example.org"}
            for i in range(n)
        ]
        with sb.client() as client:
            for start in range(0, n, 100):
                client.candidates.ingest_bulk(pid, people[start : start + 100])
        typer.echo(f"  simulated {n} interviews on posting {pid} (webhooks fire as they finish)")

    typer.echo(f"  --simulate {n}: waiting for a webhook to be registered")
    threading.Thread(target=run, name="milo-sandbox-simulate", daemon=True).start()


# === data (pull) ===


@app.command("pull")
def pull_cmd(
    postings: Annotated[list[str], typer.Argument(help="Posting (interviewer) ids to pull.")],
    store: StoreOption = None,
    offline: OfflineOption = False,
    documents: DocumentsOption = None,
    base_url: BaseUrlOption = None,
    parquet: Annotated[
        Path | None,
        typer.Option("--parquet", help="Also write the frames as Parquet to DIR.", file_okay=False),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, max=64, help="Requests in flight (default: the loader's)."
        ),
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", min=1, help="Pace at N requests/minute (default: auto)."),
    ] = None,
    score_scale: Annotated[
        int | None,
        typer.Option("--score-scale", help="Per-question scale: 5 or 10 (default: detect)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first document that fails.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Pull postings' interview results into the local store (incremental) and summarise.

    The API key comes from the HEYMILO_API_KEY environment variable only (never an argument).
    Example: `milo-analytics pull 13D77095 --parquet frames/`.
    """
    data, source = load_data(
        postings,
        store=store,
        offline=offline,
        documents=documents,
        base_url=base_url,
        progress=False if quiet else None,
        strict=strict,
        concurrency=concurrency,
        rate_limit=rate_limit,
        score_scale=score_scale,
    )
    for r in getattr(data, "pull_reports", []):
        typer.echo(
            f"{r.posting_id}: {r.candidates:,} candidates, {r.with_results:,} with results, "
            f"{r.fetched:,} fetched, {r.unchanged:,} unchanged, {r.failed:,} failed "
            f"({r.seconds:.1f} s)"
        )
    typer.echo(repr(data))
    typer.echo(source)
    errors = data.errors
    if len(errors):
        invalid = errors["stage"] == "validate"
        retried, left_out = errors[~invalid], errors[invalid]
        if len(retried):
            typer.echo(
                f"{_plural(len(retried), 'document')} failed; the next pull fetches them again:"
            )
            for row in retried.head(10).itertuples(index=False):
                typer.echo(f"  {row.interview_id or '-'} [{row.stage}] {row.error}")
        if len(left_out):
            typer.echo(
                f"{_plural(len(left_out), 'document')} break the API's schema and are left out "
                "(fetched again only when HeyMilo changes them):"
            )
            for row in left_out.head(10).itertuples(index=False):
                typer.echo(f"  {row.interview_id or '-'} [{row.stage}] {row.error}")
    if parquet:
        typer.echo(f"parquet: {data.to_parquet(parquet)}")


# === audit ===


@app.command("audit")
def audit_cmd(
    posting: PostingArg,
    demographics: RequiredDemographicsFile,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the audit as JSON (documented schema).", dir_okay=False),
    ] = None,
    summary_html: Annotated[
        Path | None,
        typer.Option(
            "--summary-html",
            help="Write the one-page LL144 bias-audit summary (HTML) to this file.",
            dir_okay=False,
        ),
    ] = None,
    outcomes: OutcomesFileOption = None,
    outcomes_key: OutcomesKeyOption = JoinKey.email,
    demographics_key: DemographicsKeyOption = JoinKey.email,
    on_conflict: OnConflictOption = OnConflict.error,
    store: StoreOption = None,
    offline: OfflineOption = False,
    documents: DocumentsOption = None,
    base_url: BaseUrlOption = None,
    exclude_below: Annotated[
        float,
        typer.Option(
            "--exclude-below",
            min=0.0,
            max=1.0,
            help="Exclude categories under this share (0 = none).",
        ),
    ] = 0.02,
    min_n: Annotated[
        int, typer.Option("--min-n", min=0, help="Smallest category n for a flag.")
    ] = 30,
    alpha: Annotated[
        float,
        typer.Option("--alpha", min=0.0, max=1.0, help="Significance level for flags."),
    ] = 0.05,
    fail_on_flag: Annotated[
        bool, typer.Option("--fail-on-flag", help="Exit with status 2 when anything is flagged.")
    ] = False,
    ties: Annotated[
        Ties,
        typer.Option(
            "--ties",
            help="Scores equal to the median: 'strict' (not above, the "
            "rule's text) or '>=' (counted as above).",
        ),
    ] = Ties.strict,
    median_known_only: Annotated[
        bool,
        typer.Option(
            "--median-known-only",
            help="Leave people with an unknown category out "
            "of the median's sample (default: the full sample).",
        ),
    ] = False,
    min_known_share: MinKnownShareOption = 0.5,
    sex_column: SexColumnOption = None,
    race_column: RaceColumnOption = None,
    hired_column: HiredColumnOption = None,
    demographics_sheet: DemographicsSheetOption = None,
    outcomes_sheet: OutcomesSheetOption = None,
    demographics_encoding: DemographicsEncodingOption = None,
    outcomes_encoding: OutcomesEncodingOption = None,
    on_mixed: OnMixedOption = OnMixed.error,
) -> None:
    """Adverse-impact audit of one posting (NYC LL144 impact ratios, four-fifths rule).

    Scoring rates for the overall score, each question and the speech score, and selection
    rates (shortlisted vs dismissed/knocked out, hired with --outcomes), by sex, race/ethnicity
    and their intersection. The API key comes from HEYMILO_API_KEY only.

    Unusable demographics stop the audit with an error (exit 1), never a clean result: a sex
    or race/ethnicity column that is not found (see --sex-column/--race-column), nobody
    assessed with a demographics row, or too few known answers (--min-known-share).
    Example: `milo-analytics audit 13D77095 -d eeo.csv --json audit.json --fail-on-flag`.
    """
    from .analysis.fairness import NOT_AUDITED, bias_audit

    data, oc, demo = load_inputs(
        posting, store=store, offline=offline, documents=documents, base_url=base_url,
        outcomes=outcomes, demographics=demographics, outcomes_key=outcomes_key,
        demographics_key=demographics_key, on_conflict=on_conflict, sex_column=sex_column,
        race_column=race_column, hired_column=hired_column, outcomes_sheet=outcomes_sheet,
        demographics_sheet=demographics_sheet, outcomes_encoding=outcomes_encoding,
        demographics_encoding=demographics_encoding, on_mixed=on_mixed,
    )  # fmt: skip
    audit = bias_audit(
        data, demo, postings=posting, outcomes=oc, exclude_below=exclude_below, min_n=min_n,
        alpha=alpha, ties=Ties(ties).value, unknowns_in_median=not median_known_only,
        min_known_share=min_known_share,
    )  # fmt: skip
    u = audit.unknown.iloc[0]
    typer.echo(
        f"{posting}: {u['n_assessed']:,} assessed; unknown sex {u['sex']:,}, unknown "
        f"race/ethnicity {u['race_ethnicity']:,}, no demographics row {u['no_demographics']:,}"
    )
    for note in audit.notes:  # a dimension or outcome left out must not read as a clean result
        if note.startswith(NOT_AUDITED):
            typer.echo(note)
    typer.echo(f"{'measure':<44} {'dimension':<15} {'min ratio':>9}  {'<0.8':>4} {'flags':>5}")
    for r in audit.summary.itertuples(index=False):
        ratio = "—" if r.min_impact_ratio is None else f"{r.min_impact_ratio:.3f}"
        typer.echo(
            f"{r.label[:44]:<44} {r.dimension:<15} {ratio:>9}  {r.below_four_fifths:>4} "
            f"{r.flagged:>5}"
        )
    echo_audit_findings(audit)
    if json_out:
        audit.to_json(json_out)
        typer.echo(f"json: {json_out}")
    if summary_html:
        titles = dict(zip(data.postings["posting_id"], data.postings["title"], strict=True))
        page = audit.to_html(summary_only=True, posting_titles=titles)
        summary_html.write_text(page, encoding="utf-8")
        typer.echo(f"LL144 summary: {summary_html}")
    if fail_on_flag and not audit.flags.empty:
        raise SystemExit(2)  # main() turns it into the exit status


# === calibration (suggest-weights, push-weights, rollback) ===


@app.command("suggest-weights")
def suggest_weights_cmd(
    posting: PostingArg,
    outcomes: RequiredOutcomesFile,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the suggestion as JSON (for push-weights).",
            dir_okay=False,
        ),
    ] = None,
    target: Annotated[
        Target, typer.Option("--target", help="The outcome column to calibrate on.")
    ] = Target.hired,
    demographics: DemographicsFileOption = None,
    outcomes_key: OutcomesKeyOption = JoinKey.email,
    demographics_key: DemographicsKeyOption = JoinKey.email,
    on_conflict: OnConflictOption = OnConflict.error,
    sex_column: SexColumnOption = None,
    race_column: RaceColumnOption = None,
    hired_column: HiredColumnOption = None,
    outcomes_sheet: OutcomesSheetOption = None,
    demographics_sheet: DemographicsSheetOption = None,
    outcomes_encoding: OutcomesEncodingOption = None,
    demographics_encoding: DemographicsEncodingOption = None,
    on_mixed: OnMixedOption = OnMixed.error,
    cut: Annotated[
        float | None,
        typer.Option("--cut", help="Operating cut on the 0–100 score (default: median split)."),
    ] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap resamples.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    store: StoreOption = None,
    offline: OfflineOption = False,
    documents: DocumentsOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Suggest integer question weights for a posting from hire outcomes (dry: writes nothing).

    Prints old vs new weights, the held-out comparison and the keep/change recommendation;
    with --demographics also the impact ratios of current vs suggested weights. The API key
    comes from HEYMILO_API_KEY only.
    Example: `milo-analytics suggest-weights 13D77095 --outcomes ats.csv -o suggestion.json`.
    """
    from .calibrate import suggest_weights

    data, oc, demo = load_inputs(
        posting, store=store, offline=offline, documents=documents, base_url=base_url,
        outcomes=outcomes, demographics=demographics, outcomes_key=outcomes_key,
        demographics_key=demographics_key, on_conflict=on_conflict, sex_column=sex_column,
        race_column=race_column, hired_column=hired_column, outcomes_sheet=outcomes_sheet,
        demographics_sheet=demographics_sheet, outcomes_encoding=outcomes_encoding,
        demographics_encoding=demographics_encoding, on_mixed=on_mixed,
    )  # fmt: skip
    s = suggest_weights(
        data, oc, target=target.value, demographics=demo, posting_id=posting, cut=cut,
        key=outcomes_key.value, n_boot=n_boot, random_state=seed,
    )  # fmt: skip
    typer.echo(
        f"{posting}: {s.n:,} interviews with a {target.value!r} outcome; recommendation: "
        f"{s.recommendation.upper()}"
    )
    typer.echo(f"{'question':<12} {'current':>8} {'suggested':>10} {'integer':>8}  text")
    for r in s.table.itertuples(index=False):
        mark = "*" if r.change != 0 else " "
        typer.echo(
            f"{r.question_id:<12} {r.current_weight:>8g} {r.suggested_weight:>10.2f} "
            f"{r.suggested_integer:>7d}{mark}  {str(r.text)[:60]}"
        )
    m = s.metric
    for name, r in s.comparison.iterrows():
        typer.echo(f"  {name:<18} {m} {r[m]:.3f}  [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
    for note in s.notes:
        typer.echo(f"- {note}")
    if output:
        s.to_json(output)
        typer.echo(f"suggestion: {output}")
        typer.echo(f"Next: milo-analytics push-weights {output}   (dry run; add --apply to write)")


@app.command("frontier")
def frontier_cmd(
    posting: PostingArg,
    outcomes: RequiredOutcomesFile,
    demographics: RequiredDemographicsFile,
    min_impact_ratio: Annotated[
        float | None,
        typer.Option(
            "--min-impact-ratio",
            min=0.0,
            help="Choose the most valid point whose held-out lowest impact ratio is at least "
            "this (e.g. 0.9).",
        ),
    ] = None,
    max_validity_loss: Annotated[
        float | None,
        typer.Option(
            "--max-validity-loss",
            min=0.0,
            help="Choose the fairest point whose held-out validity is within this of the most "
            "valid point's (e.g. 0.01 AUC).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the chosen point as a suggestion JSON (for push-weights); needs "
            "--min-impact-ratio or --max-validity-loss.",
            dir_okay=False,
        ),
    ] = None,
    frontier_json: Annotated[
        Path | None,
        typer.Option("--frontier-json", help="Write the whole frontier as JSON.", dir_okay=False),
    ] = None,
    target: Annotated[
        Target, typer.Option("--target", help="The outcome column validity is measured on.")
    ] = Target.hired,
    selection: Annotated[
        str,
        typer.Option(
            "--selection",
            help="Who counts as selected: 'median' (LL144 scoring rate), 'top_k' (with "
            "--top-k) or a cut on the 0–100 composite such as 70.",
        ),
    ] = "median",
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, help="Candidates selected for 'top_k'.")
    ] = None,
    outcomes_key: OutcomesKeyOption = JoinKey.email,
    demographics_key: DemographicsKeyOption = JoinKey.email,
    on_conflict: OnConflictOption = OnConflict.error,
    sex_column: SexColumnOption = None,
    race_column: RaceColumnOption = None,
    hired_column: HiredColumnOption = None,
    outcomes_sheet: OutcomesSheetOption = None,
    demographics_sheet: DemographicsSheetOption = None,
    outcomes_encoding: OutcomesEncodingOption = None,
    demographics_encoding: DemographicsEncodingOption = None,
    on_mixed: OnMixedOption = OnMixed.error,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap resamples.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    store: StoreOption = None,
    offline: OfflineOption = False,
    documents: DocumentsOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Trace validity vs adverse impact over integer weights 1–10 (dry: writes nothing live).

    Prints every frontier point with its held-out validity and lowest impact ratio (sex,
    race/ethnicity and their intersection), today's, unit and the plain suggestion on the same
    axes; with --min-impact-ratio or --max-validity-loss, the chosen point, written with -o
    as a suggestion for push-weights. Exit 1 when no point meets the constraint (the message
    names the best available). The API key comes from HEYMILO_API_KEY only.
    Example: `milo-analytics frontier 13D77095 --outcomes ats.csv --demographics eeo.csv
    --min-impact-ratio 0.9 -o suggestion.json`.
    """
    from .calibrate.frontier import weight_frontier
    from .errors import DataError

    if min_impact_ratio is not None and max_validity_loss is not None:
        raise DataError("pass one of --min-impact-ratio and --max-validity-loss, not both")
    if output is not None and min_impact_ratio is None and max_validity_loss is None:
        raise DataError(
            "-o writes the chosen point: pass --min-impact-ratio (e.g. 0.9) or "
            "--max-validity-loss (e.g. 0.01) to choose one"
        )
    sel: str | float = selection
    if selection not in ("median", "top_k"):
        try:
            sel = float(selection)
        except ValueError:
            raise DataError(
                f"--selection {selection!r}: use 'median', 'top_k' (with --top-k N) or a cut "
                "on the 0–100 composite such as 70"
            ) from None
    data, oc, demo = load_inputs(
        posting, store=store, offline=offline, documents=documents, base_url=base_url,
        outcomes=outcomes, demographics=demographics, outcomes_key=outcomes_key,
        demographics_key=demographics_key, on_conflict=on_conflict, sex_column=sex_column,
        race_column=race_column, hired_column=hired_column, outcomes_sheet=outcomes_sheet,
        demographics_sheet=demographics_sheet, outcomes_encoding=outcomes_encoding,
        demographics_encoding=demographics_encoding, on_mixed=on_mixed,
    )  # fmt: skip
    fr = weight_frontier(
        data, oc, demo, target=target.value, selection=sel, top_k=top_k, posting_id=posting,
        key=outcomes_key.value, n_boot=n_boot, random_state=seed,
    )  # fmt: skip
    m = fr.metric
    typer.echo(f"{posting}: {fr.n:,} interviews with a {target.value!r} outcome; {fr.selection}")
    typer.echo(f"questions: {' '.join(fr.questions['question_id'])}")
    typer.echo(
        f"{'point':<11} {'weights':<24} {m:>6} {'95% CI':>15} {'ratio':>6} {'95% CI':>15}  "
        "lowest group"
    )
    for r in fr.table.itertuples(index=False):
        mark = " (dominated)" if r.dominated else ""
        flag = " FLAGGED" if r.flagged else ""
        typer.echo(
            f"{r.point:<11} {r.weights:<24} {r.validity:>6.3f} "
            f"[{r.validity_ci_low:.3f}, {r.validity_ci_high:.3f}] {r.impact_ratio:>6.3f} "
            f"[{r.impact_ratio_ci_low:.3f}, {r.impact_ratio_ci_high:.3f}]  "
            f"{r.lowest_group}{flag}{mark}"
        )
    for note in fr.notes:
        typer.echo(f"- {note}")
    if frontier_json:
        fr.to_json(frontier_json)
        typer.echo(f"frontier: {frontier_json}")
    if min_impact_ratio is None and max_validity_loss is None:
        return
    s = fr.choose(min_impact_ratio=min_impact_ratio, max_validity_loss=max_validity_loss)
    typer.echo(f"chosen: {s.notes[0]}")
    if output:
        s.to_json(output)
        typer.echo(f"suggestion: {output}")
        typer.echo(f"Next: milo-analytics push-weights {output}   (dry run; add --apply to write)")


#: Exit codes of push-weights and rollback (also in their --help and the README).
EXIT_OK, EXIT_ERROR, EXIT_CONFLICT, EXIT_STOPPED, EXIT_INTERRUPTED = 0, 1, 3, 4, 130


@app.command("push-weights")
def push_weights_cmd(
    suggestion: Annotated[
        Path,
        typer.Argument(help="suggestion.json from suggest-weights.", exists=True, dir_okay=False),
    ],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the weights (default: dry run, plan only).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite even if live weights changed since the suggestion."
        ),
    ] = False,
    allow_keep: Annotated[
        bool,
        typer.Option(
            "--allow-keep",
            help="Apply even a suggestion whose recommendation is 'keep' (refused otherwise).",
        ),
    ] = False,
    audit_dir: Annotated[
        Path | None,
        typer.Option(
            "--audit-dir",
            help="Folder of the audit logs (default: the user data folder).",
            file_okay=False,
        ),
    ] = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Show (default) or apply the push plan of a suggestion through the questions API.

    The suggestion file is checked against its versioned schema before anything is sent.
    With --apply every write is logged before it is sent (an append-only audit log), each
    weight is re-read just before its write and read back after it; undo with `rollback`.
    A suggestion whose recommendation is 'keep' is not applied without --allow-keep.
    Past candidates keep their scores: only interviews scored afterwards use the new weights.
    The API key comes from HEYMILO_API_KEY only.

    Exit codes: 0 done (or dry run); 1 error, nothing written (bad file, API unreachable,
    'keep'); 2 usage error; 3 conflict: a live weight changed (nothing written over it; earlier
    writes stand, see the message); 4 stopped part-way: a write failed or its result is
    unknown (run `rollback LOG`); 130 interrupted (Ctrl-C; the message says what to run).
    """
    from .api import HeyMiloClient
    from .errors import PushError, WeightConflictError
    from .push import PushInterrupted, push_weights

    try:
        with HeyMiloClient(base_url=base_url) as client:
            result = push_weights(
                client, suggestion, apply=apply, force=force, audit_dir=audit_dir,
                allow_keep=allow_keep,
            )  # fmt: skip
    except PushInterrupted as exc:
        echo_err(f"milo-analytics: {exc.cli_message}")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        echo_err("milo-analytics: push-weights interrupted before any weight was written")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except (PushError, WeightConflictError) as exc:
        if _state["debug"]:
            raise
        echo_err(f"milo-analytics: error: {cli_text(exc)}")
        stopped = isinstance(exc, PushError) and not isinstance(exc, WeightConflictError)
        raise SystemExit(EXIT_STOPPED if stopped else EXIT_CONFLICT) from None
    typer.echo(result.summary(cli=True))
    if result.audit_log:
        typer.echo(f"Undo: milo-analytics rollback {result.audit_log}")


@app.command("rollback")
def rollback_cmd(
    audit_log: Annotated[
        Path,
        typer.Argument(
            help="Audit log written by push-weights --apply.", exists=True, dir_okay=False
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even weights changed since the push.")
    ] = False,
    base_url: BaseUrlOption = None,
) -> None:
    """Restore the weights a push changed (checked against the server; logged in the same log).

    Restores a weight only where the server still holds the value the push wrote, including
    writes the log shows as sent without a result (a crash or a lost answer). A torn last
    line of the log (a crash while it was written) is ignored, and said so. Every other case
    is left alone and listed, one line per question, with what to do.
    The API key comes from HEYMILO_API_KEY only.

    Exit codes: 0 every weight the push changed is back (or nothing to do); 1 error (the log
    is unreadable or not a push log, API unreachable); 2 usage error; 3 done, but questions are
    left for you (someone else's value, a deleted question, a weight like 1.5 the API cannot
    write: see the lines printed); 4 a restore failed or its result is unknown (run the same
    rollback again); 130 interrupted.
    """
    import warnings

    from .api import HeyMiloClient
    from .errors import PushError
    from .push import PushInterrupted, RollbackIncompleteWarning, rollback_weights

    try:
        with warnings.catch_warnings():
            # the same facts are printed below as one line per question
            warnings.simplefilter("ignore", RollbackIncompleteWarning)
            with HeyMiloClient(base_url=base_url) as client:
                result = rollback_weights(client, audit_log, force=force)
    except PushInterrupted as exc:
        echo_err(f"milo-analytics: {exc.cli_message}")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        echo_err(
            "milo-analytics: rollback interrupted before any weight was written; run the "
            f"same command again: milo-analytics rollback {audit_log}"
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    except PushError as exc:
        if _state["debug"]:
            raise
        echo_err(f"milo-analytics: error: {cli_text(exc)}")
        raise SystemExit(EXIT_STOPPED) from None
    typer.echo(result.summary(cli=True))
    if result.unresolved:
        echo_err(
            f"milo-analytics: rollback left {_plural(len(result.unresolved), 'question')} for "
            "you (listed above, one line each)"
        )
        raise SystemExit(EXIT_CONFLICT)


# === report and demo ===
# `demo` (the main job on the embedded demo world) and `report` (one real posting).

_DEMO_HELP = (
    "Run the whole toolkit on the embedded demo world, without an account.\n\n"
    "Starts the local HeyMilo-compatible sandbox from the packaged demo world, pulls every "
    "posting over HTTP into a fresh store in OUT, reads the demo ATS export (outcomes.csv) and "
    "voluntary self-identification file (demographics.csv), runs the analyses, the "
    "adverse-impact audit and the weight suggestion, and writes OUT/milo-report.html and "
    "OUT/suggestion.json.\n\n"
    "It prints a short summary (with the audit's flagged findings), the paths and the dry-run "
    "push plan. Nothing is written to the sandbox unless --apply is given."
)
_REPORT_HELP = (
    "Write one self-contained HTML report for one or more postings of a real account.\n\n"
    "Pulls the postings incrementally into the local store (HEYMILO_API_KEY must be set unless "
    "--offline or --documents), joins the optional outcomes and demographics files, runs the "
    "analyses and writes the report. Candidate names, emails and phone numbers are redacted "
    "unless --no-redact is given.\n\n"
    "Example: milo-analytics report 13D77095 8B4AE5F1 --outcomes ats.csv --demographics eeo.csv "
    "-o r.html --pdf r.pdf --xlsx r.xlsx"
)


@app.command("demo", help=_DEMO_HELP)
def demo_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for milo-report.html, suggestion.json and the store.",
            file_okay=False,
        ),
    ] = Path("milo-demo"),
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Push the suggested weights to the sandbox (not a real account) and verify them.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress messages on stderr.")
    ] = False,
) -> None:
    from . import build_report, push_weights, suggest_weights
    from .analysis.fairness import bias_audit
    from .errors import InsufficientDataError
    from .sandbox import run_sandbox
    from .sandbox.world import demo_world_path

    def say(msg: str) -> None:
        if not quiet:
            echo_err(msg)

    _state["resumable"] = False  # the demo's store starts afresh on every run
    out.mkdir(parents=True, exist_ok=True)
    store_path = out / "store.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    world_dir = demo_world_path()
    say("Starting the sandbox with the demo world …")
    with run_sandbox("demo") as sb, sb.client() as client:
        posting_ids = [str(p["id"]) for p in client.postings.list(raw=True)]
        say(f"Pulling {len(posting_ids)} postings over HTTP into {store_path} …")
        data, _ = load_data(
            posting_ids, store=store_path, client=client, progress=False if quiet else None
        )
        # The demo ATS export is keyed by the ATS id HeyMilo keeps in candidate metadata
        # (`external_id`); about a tenth of its rows lack HeyMilo's interview id, as real
        # exports do. A few people have contradictory rows: they count as unknown rather
        # than stop the run.
        outcomes, demographics = read_side_files(
            data,
            outcomes=world_dir / "outcomes.csv",
            demographics=world_dir / "demographics.csv",
            outcomes_key=JoinKey.external_id,
            on_conflict=OnConflict.unknown,
            say=say,
        )
        # calibrate the posting with the most interviews with results (the pull's own counts)
        largest = max(data.pull_reports, key=lambda r: r.with_results, default=None)
        if largest is None or largest.with_results == 0:
            raise InsufficientDataError("no completed interviews to calibrate weights on")
        target_posting = largest.posting_id
        say(f"Suggesting weights for posting {target_posting} from hire outcomes …")
        suggestion = suggest_weights(
            data, outcomes, demographics=demographics, posting_id=target_posting
        )
        suggestion_path = out / "suggestion.json"
        suggestion.to_json(suggestion_path)
        say("Writing the report …")
        report = build_report(
            data,
            outcomes=outcomes,
            demographics=demographics,
            suggestion=suggestion,
            title="HeyMilo demo world — interview analytics",
        )
        report_path = report.save_html(out / "milo-report.html")
        # the audit the report's adverse-impact section ran (computed again only if it failed
        # there, so that the summary shows the error)
        audit = report.results.get("audit")
        if audit is None:
            audit = bias_audit(data, demographics)
        _print_summary(data, report, suggestion, audit)
        typer.echo(f"Report:     {report_path}")
        typer.echo(f"Suggestion: {suggestion_path}")
        typer.echo("")
        typer.echo(push_weights(client, suggestion, apply=False).summary(cli=True))
        if not apply:
            return
        result = push_weights(client, suggestion, apply=True, audit_dir=out)
        typer.echo("")
        typer.echo(result.summary(cli=True))
        # push_weights re-reads every weight it writes and raises PushError on a mismatch
        written = _plural(len(result.applied), "weight")
        typer.echo(
            f"Verified: the sandbox now serves the new weights ({written} written, re-read)."
        )


@app.command("report", help=_REPORT_HELP)
def report_command(
    postings: Annotated[
        list[str], typer.Argument(help="Posting (interviewer) ids, e.g. 13D77095 (one or more).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML report.", dir_okay=False)
    ] = Path("report.html"),
    pdf: Annotated[
        Path | None,
        typer.Option(
            "--pdf",
            help="Also print it to this PDF file (needs Debian's chromium).",
            dir_okay=False,
        ),
    ] = None,
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", help="Also write every table to this Excel file.", dir_okay=False),
    ] = None,
    outcomes: OutcomesFileOption = None,
    demographics: DemographicsFileOption = None,
    suggestion: Annotated[
        Path | None,
        typer.Option(
            "--suggestion",
            help="A suggestion.json from suggest-weights to include.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    outcomes_key: OutcomesKeyOption = JoinKey.email,
    demographics_key: DemographicsKeyOption = JoinKey.email,
    on_conflict: OnConflictOption = OnConflict.error,
    sex_column: SexColumnOption = None,
    race_column: RaceColumnOption = None,
    hired_column: HiredColumnOption = None,
    outcomes_sheet: OutcomesSheetOption = None,
    demographics_sheet: DemographicsSheetOption = None,
    outcomes_encoding: OutcomesEncodingOption = None,
    demographics_encoding: DemographicsEncodingOption = None,
    on_mixed: OnMixedOption = OnMixed.error,
    min_known_share: MinKnownShareOption = 0.5,
    store: StoreOption = None,
    offline: OfflineOption = False,
    documents: DocumentsOption = None,
    base_url: BaseUrlOption = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep candidate names, emails and phone numbers (redacted by default).",
        ),
    ] = False,
) -> None:
    """Write an HTML report for one or more postings (see ``_REPORT_HELP``)."""
    from . import WeightSuggestion, build_report

    data, _ = load_data(
        postings, store=store, offline=offline, documents=documents, base_url=base_url
    )
    oc, demo = read_side_files(
        data, outcomes=outcomes, demographics=demographics, outcomes_key=outcomes_key,
        demographics_key=demographics_key, on_conflict=on_conflict, sex_column=sex_column,
        race_column=race_column, hired_column=hired_column, outcomes_sheet=outcomes_sheet,
        demographics_sheet=demographics_sheet, outcomes_encoding=outcomes_encoding,
        demographics_encoding=demographics_encoding, on_mixed=on_mixed,
    )  # fmt: skip
    sugg = None
    if suggestion is not None:
        sugg = WeightSuggestion.from_json(suggestion.read_text(encoding="utf-8"))
    report = build_report(
        data,
        outcomes=oc,
        demographics=demo,
        suggestion=sugg,
        redact_pii=not no_redact,
        title=title,
        min_known_share=min_known_share,
    )
    path = report.save_html(output)
    typer.echo(_counts(data))
    for problem in report.problems:
        typer.echo(f"note: {cli_text(problem)}")
    typer.echo(f"Report: {path}")
    if xlsx is not None:
        typer.echo(f"Excel:  {report.to_excel(xlsx)}")
    if pdf is not None:
        typer.echo(f"PDF:    {report.save_pdf(pdf)}")


def _print_summary(data: Any, report: Any, suggestion: Any, audit: Any) -> None:
    facts = {s.id: s.facts for s in report.sections}
    typer.echo("milo-analytics demo")
    typer.echo(f"  {_plural(len(data.posting_ids), 'posting')}, {_counts(data)}")
    titles = dict(zip(data.postings["posting_id"], data.postings["title"], strict=True))
    for pid, alpha in facts.get("questions", {}).get("alpha", {}).items():
        name = f"{pid} ({titles[pid]})" if isinstance(titles.get(pid), str) else pid
        typer.echo(f"  reliability {name}: Cronbach's alpha = {alpha:.2f}")
    typer.echo("  adverse impact (sex, race/ethnicity):")
    echo_audit_findings(audit, indent="    ")
    notes = [str(n) for n in getattr(suggestion, "notes", []) or []]
    if notes and notes[0].lower().startswith("recommendation"):
        typer.echo(f"  {notes[0]}")
    else:
        typer.echo(f"  weight suggestion: {suggestion.recommendation}")
    for problem in report.problems:
        typer.echo(f"  note: {cli_text(problem)}")


# === live: listen, webhooks, check (issue 16) ===


def _client_for(base_url: str | None, **options: Any) -> Any:
    """A HeyMiloClient from HEYMILO_API_KEY and --base-url."""
    from .api import HeyMiloClient

    return HeyMiloClient(base_url=base_url, **options)


@contextlib.contextmanager
def _stop_on_sigterm() -> Any:
    """SIGTERM (systemd, docker stop) stops like Ctrl-C: cleanly, recorded in the store.
    The previous handler is restored afterwards."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _log_to_stderr(level: int) -> Any:
    """Log records of ``level`` and above to stderr while a command runs (then as before)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    if level > logging.DEBUG:  # one line per HTTP request is for --log-level debug

        def quiet_http(record: logging.LogRecord) -> bool:
            return record.levelno >= logging.WARNING or not record.name.startswith("http")

        handler.addFilter(quiet_http)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(level, previous) if previous else level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


EventsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--events",
        help="Webhook event to register (repeat it; default: report_available, one fetch "
        "per interview).",
    ),
]


@app.command("listen")
def listen_cmd(
    store: StoreOption = None,
    base_url: BaseUrlOption = None,
    host: Annotated[
        str,
        typer.Option(help="Address to bind. The default is reachable from this machine only."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0 picks a free one).")] = 8765,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="URL HeyMilo reaches the receiver at, without the token (e.g. your TLS "
            "proxy's https://hooks.example.org); used by --register.",
        ),
    ] = None,
    register: Annotated[
        list[str] | None,
        typer.Option(
            "--register",
            help="Posting to register the receiver's URL for (repeat it); a posting the "
            "store never listed completely is pulled once after registering.",
        ),
    ] = None,
    events: EventsOption = None,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1, help="Largest request body (413 past it).")
    ] = 1024 * 1024,
    rate_cap: Annotated[
        int,
        typer.Option(
            "--rate-cap", min=0, help="Requests per minute per source address (0: no cap)."
        ),
    ] = 1200,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Documents fetched at once.")
    ] = 4,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: until Ctrl-C or SIGTERM)."),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
) -> None:
    """Receive HeyMilo webhooks into the store and fetch each event's interview.

    Every delivery is recorded in the store before it is acknowledged; a worker fetches the
    interview through the same client and store path as `pull`. The URL carries a secret
    token kept in the store (printed masked): register it with `--register POSTING` or
    `milo-analytics webhooks register`. To receive from the internet, put a TLS reverse proxy
    in front (see the README). Ctrl-C or SIGTERM stops cleanly (exit 0).
    Example: `milo-analytics listen --register 13D77095 --public-url https://hooks.example.org`.
    """
    from .errors import ConfigError
    from .live import WebhookReceiver, register_webhooks
    from .live.webhooks import DEFAULT_EVENTS
    from .load import load_postings
    from .store import Store

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise ConfigError(
            f"--log-level {log_level!r} is not a level; use debug, info, warning or error"
        )
    with contextlib.ExitStack() as stack:
        stack.enter_context(_log_to_stderr(level))
        stack.enter_context(_stop_on_sigterm())
        st = stack.enter_context(Store(store))
        client = stack.enter_context(_client_for(base_url, max_connections=concurrency))
        receiver = WebhookReceiver(
            st,
            client,
            host=host,
            port=port,
            public_url=public_url,
            max_body_bytes=max_body_bytes,
            rate_cap=rate_cap or None,
            concurrency=concurrency,
        )
        stack.enter_context(receiver)
        bound = f"http://{host}:{receiver.port}/hooks/****"
        typer.echo(f"listening on {bound} (store: {st.path})")
        if public_url:
            typer.echo(f"  HeyMilo delivers to {receiver.masked_url}")
        typer.echo("  the token (****) is kept in the store; it is never printed")
        for posting in register or []:
            rows = register_webhooks(client, posting, receiver.url, events=events or DEFAULT_EVENTS)
            for r in rows:
                what = "registered" if r["created"] else "already registered"
                typer.echo(f"  {posting}: {r['event_type']} {what} ({r['webhook_id']})")
            info = st.posting_info(posting)
            if info is None or info["synced_at"] is None:
                data = load_postings([posting], client=client, store=st, progress=False)
                typer.echo(f"  {posting}: pulled once: {_counts(data)}")
        t0 = time.monotonic()
        interrupted = False
        try:
            typer.echo("Press Ctrl-C to stop.")
            while receiver.running and (duration is None or time.monotonic() - t0 < duration):
                time.sleep(0.2)
        except KeyboardInterrupt:
            # Ctrl-C exits 130 as in every command; every acknowledged event is already stored
            interrupted = True
        stats = receiver.stats
    summary = (
        f"receiver stopped: {stats.get('recorded', 0):,} events recorded, "
        f"{stats.get('duplicates', 0):,} duplicates, "
        f"{stats.get('stored', 0) + stats.get('unfinished', 0):,} processed with a fetch"
    )
    if interrupted:
        echo_err(f"milo-analytics: {summary}; events not yet fetched resume on the next listen")
        raise SystemExit(EXIT_INTERRUPTED)
    typer.echo(summary)


webhooks_app = typer.Typer(
    help="Register, list and delete HeyMilo webhooks (one per posting and event type).",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")


def _store_token(store: Path | None, *, create: bool) -> tuple[str | None, Path]:
    from .store import Store

    with Store(store) as st:
        return st.webhook_token(create=create), st.path


@webhooks_app.command("register")
def webhooks_register_cmd(
    posting: PostingArg,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="The receiver's public URL (e.g. https://hooks.example.org); /hooks/<token> "
            "is added with the token from --store unless the URL already holds it.",
        ),
    ],
    events: EventsOption = None,
    store: StoreOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Register the receiver's URL for a posting's events, idempotently.

    HeyMilo registers one event type per webhook; a (posting, event, URL) already registered
    is kept, never duplicated. Example: `milo-analytics webhooks register 13D77095 --url
    https://hooks.example.org`.
    """
    from .live import register_webhooks
    from .live.webhooks import DEFAULT_EVENTS, hook_url, mask_token

    token = str(_store_token(store, create=True)[0])
    full = url if token in url else hook_url(url, token)
    if full.startswith("http://") and not any(h in full for h in ("127.0.0.1", "localhost")):
        echo_err(
            "milo-analytics: warning: the URL is plain http: the token travels in clear text; "
            "use an https:// URL (a TLS reverse proxy)"
        )
    with _client_for(base_url) as client:
        rows = register_webhooks(client, posting, full, events=events or DEFAULT_EVENTS)
    for r in rows:
        what = "registered" if r["created"] else "already registered"
        typer.echo(
            f"{posting}: {r['event_type']} {what} ({r['webhook_id']}) -> "
            f"{mask_token(r['webhook_url'], token)}"
        )


@webhooks_app.command("list")
def webhooks_list_cmd(
    posting: Annotated[
        str | None, typer.Option("--posting", help="Only this posting's webhooks.")
    ] = None,
    store: StoreOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """List the account's active webhooks (this store's token is masked)."""
    from .live import list_webhooks
    from .live.webhooks import mask_token

    token, _ = _store_token(store, create=False)
    with _client_for(base_url) as client:
        rows = list_webhooks(client, posting)
    if not rows:
        typer.echo("no active webhooks" + (f" for posting {posting}" if posting else ""))
    for r in rows:
        typer.echo(
            f"{r['webhook_id']}  {r['posting_id']}  {r['event_type']:<20} "
            f"{mask_token(r['webhook_url'], token)}"
        )


@webhooks_app.command("delete")
def webhooks_delete_cmd(
    webhook_ids: Annotated[
        list[str] | None, typer.Argument(help="Webhook ids to delete (see `webhooks list`).")
    ] = None,
    posting: Annotated[
        str | None,
        typer.Option("--posting", help="Delete every active webhook of this posting."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="With --posting: only those pointing at this URL."),
    ] = None,
    store: StoreOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Deactivate webhooks, idempotently (one already gone is reported, not an error)."""
    from .live import delete_webhooks
    from .live.webhooks import mask_token

    token, _ = _store_token(store, create=False)
    with _client_for(base_url) as client:
        rows = delete_webhooks(client, webhook_ids=webhook_ids or (), posting_id=posting, url=url)
    if not rows:
        typer.echo("nothing to delete")
    for r in rows:
        if r["deleted"]:
            typer.echo(
                f"deleted {r['webhook_id']} ({r.get('posting_id')} {r.get('event_type')} -> "
                f"{mask_token(str(r.get('webhook_url')), token)})"
            )
        else:
            typer.echo(f"{r['webhook_id']}: not active (already deleted, or unknown)")


#: Exit status of `check` when the checks could not run.
EXIT_CHECKS_NOT_RUN = 3


@app.command("check")
def check_cmd(
    postings: Annotated[list[str], typer.Argument(help="Posting (interviewer) ids to check.")],
    store: StoreOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of thresholds (default: the documented defaults).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    demographics: DemographicsFileOption = None,
    demographics_key: DemographicsKeyOption = JoinKey.email,
    outcomes: OutcomesFileOption = None,
    outcomes_key: OutcomesKeyOption = JoinKey.email,
    on_conflict: OnConflictOption = OnConflict.error,
    pull: Annotated[
        bool,
        typer.Option(
            "--pull",
            help="First bring the store up to date (webhook events while a receiver ran, "
            "else the candidate listing).",
        ),
    ] = False,
    base_url: BaseUrlOption = None,
    since: Annotated[
        bool,
        typer.Option(
            "--since", help="Alert only for problems new since the previous check's snapshot."
        ),
    ] = False,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the results as JSON.", dir_okay=False),
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not keep this run as a snapshot.")
    ] = False,
) -> None:
    """Monitoring for cron and CI: adverse impact, drift and data quality, with thresholds.

    Checks per posting: adverse_impact (the audit's flag rule; needs --demographics),
    drift:score and drift:speech_score (the last 28 days against the half year before),
    load_errors, unfinished_sync, freshness, event_queue. Exit status: 0 nothing alerts
    (warnings may print), 1 a check failed (with --since: a new problem), 2 usage error,
    3 the checks could not run. Example (cron): `milo-analytics check 13D77095 -d eeo.csv
    --pull --since --json check.json`. Thresholds: `--config checks.toml`, keys in
    docs/methods.md section 10.
    """
    from .errors import MiloError
    from .live import run_checks

    def side(data: Any, which: str) -> Any:
        oc, demo = read_side_files(
            data,
            outcomes=outcomes if which == "outcomes" else None,
            demographics=demographics if which == "demographics" else None,
            outcomes_key=outcomes_key,
            demographics_key=demographics_key,
            on_conflict=on_conflict,
            say=lambda line: None,
        )
        return oc if which == "outcomes" else demo

    try:
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(_client_for(base_url)) if pull else None
            report = run_checks(
                postings,
                store=store,
                config=config,
                demographics=(lambda d: side(d, "demographics")) if demographics else None,
                outcomes=(lambda d: side(d, "outcomes")) if outcomes else None,
                pull=pull,
                client=client,
                since=since,
                save=not no_save,
            )
    except MiloError as exc:
        echo_err(f"milo-analytics: error: the checks could not run: {cli_text(exc)}")
        raise SystemExit(EXIT_CHECKS_NOT_RUN) from None
    typer.echo(f"{'posting':<10} {'check':<20} {'status':<6} {'new':>3}  message")
    for r in report.table.itertuples(index=False):
        new = "" if pd_isna(r.new) else str(int(r.new))
        mark = "!" if r.alert else " "
        typer.echo(f"{r.posting_id:<10} {r.check:<20} {r.status:<6}{mark}{new:>3}  {r.message}")
    for note in report.notes:
        typer.echo(note)
    if json_out:
        report.to_json(json_out)
        typer.echo(f"json: {json_out}")
    alerts = report.alerts
    if len(alerts):
        names = ", ".join(f"{r.check} ({r.posting_id})" for r in alerts.itertuples(index=False))
        typer.echo(f"ALERT: {names}")
        raise SystemExit(report.exit_code)
    warned = int((report.table["status"] == "warn").sum())
    typer.echo("nothing alerts" + (f" ({_plural(warned, 'warning')})" if warned else ""))


def pd_isna(value: Any) -> bool:
    """``pandas.isna`` for one value, without importing pandas for ``--help``."""
    import pandas as pd

    return bool(pd.isna(value))


# --------------------------------------------------------------------------- entry point
def _interrupted_line() -> str:
    """The one line printed when Ctrl-C stops a command."""
    saved = _state.get("saved")
    if saved is None or not _state.get("resumable", True):
        return "milo-analytics: interrupted"
    return (
        f"milo-analytics: interrupted; {_plural(saved, 'document')} saved, run the same command "
        "to resume"
    )


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print a milo_analytics warning as one line in the CLI's words (not Python's)."""
    echo_err(f"milo-analytics: warning: {cli_text(message)}")


def cli_text(problem: BaseException | Warning | str) -> str:
    """An error's or warning's message as the command line words it.

    ``cli_message`` is a method of :class:`~milo_analytics.errors.MiloError` and
    :class:`~milo_analytics.errors.MiloWarning`, and a plain attribute on a few exceptions
    (``PushInterrupted``, or set on an instance); without either, ``str(problem)``.

    Examples
    --------
    >>> from milo_analytics.errors import DataError
    >>> cli_text(DataError("bad file", python_hint="pass key='email'", cli_hint="pass --key email"))
    'bad file; pass --key email'
    >>> cli_text(ValueError("plain"))
    'plain'
    """
    text = getattr(problem, "cli_message", None)
    if callable(text):
        text = text()
    return str(text) if text else str(problem)


class _DropInterruptRecords(logging.Filter):
    """The loader logs an interrupted pull in Python's words; the CLI prints its own line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "milo_interrupted", False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (used by the console script).

    0 on success, 1 for an error (one line on stderr), 2 for a usage error (and for
    ``audit --fail-on-flag`` with a flag), 130 when Ctrl-C stopped the command (one line:
    ``interrupted; N documents saved, run the same command to resume`` when a pull was
    running). Warnings of milo_analytics print as one line each (``milo-analytics: warning:``
    and, for a :class:`~milo_analytics.errors.MiloWarning`, its CLI wording).

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()) as help_text:
    ...     code = main(["--help"])
    >>> code, "Usage: milo-analytics" in help_text.getvalue()
    (0, True)
    """
    from .errors import MiloError, MiloWarning

    args = list(sys.argv[1:] if argv is None else argv)
    _state.update(debug="--debug" in args, saved=None, resumable=True)
    drop = _DropInterruptRecords()
    handlers = [h for h in [*logging.getLogger().handlers, logging.lastResort] if h is not None]
    for handler in handlers:
        handler.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", MiloWarning)
            previous = warnings.showwarning

            def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
                # milo_analytics' own warnings: one line in the CLI's words, no file:line
                if isinstance(message, MiloWarning) or str(category.__module__).startswith(
                    "milo_analytics"
                ):
                    _show_warning(message, category, *rest, **kw)
                else:
                    previous(message, category, *rest, **kw)

            warnings.showwarning = show
            return _run(args, MiloError)
    finally:
        for handler in handlers:
            handler.removeFilter(drop)


@functools.cache
def _click_command() -> Any:
    """The click command typer builds from :data:`app`, built once per process.

    ``app(...)`` rebuilds it on every call (~25 ms: every option of every command), which a
    notebook or script calling :func:`main` repeatedly would pay each time. The commands
    look their helpers up when they run, so the cached command behaves as a fresh one
    (``pretty_exceptions_enable=False``: typer's exception hook would change nothing).
    """
    return typer.main.get_command(app)


def _run(args: list[str], milo_error: type[Exception]) -> int:
    """Invoke the typer app and turn every outcome into an exit status (see :func:`main`)."""
    try:
        # standalone_mode=False: typer returns a command's exit status (e.g. 130 after
        # Ctrl-C, which it catches itself) instead of calling sys.exit
        status = _click_command().main(args=args, prog_name="milo-analytics", standalone_mode=False)
    except SystemExit as exc:  # typer/click exits, `raise SystemExit(2)` in a command
        # a command that exits on purpose has said why (push-weights' own Ctrl-C line too)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except milo_error as exc:
        if _state["debug"]:
            raise
        echo_err(f"milo-analytics: error: {cli_text(exc)}")  # the CLI's wording of the fix
        return 1
    except Exception as exc:  # click usage errors and unexpected failures
        import click

        # typer >= 0.20 vendors click (typer._click): match both by duck typing.
        if isinstance(exc, click.exceptions.ClickException) or (
            callable(getattr(exc, "show", None))
            and isinstance(getattr(exc, "exit_code", None), int)
        ):
            exc.show()  # type: ignore[union-attr]
            return exc.exit_code  # type: ignore[union-attr]
        if isinstance(exc, click.exceptions.Abort) or type(exc).__name__ == "Abort":
            echo_err("milo-analytics: aborted")
            return 1
        if _state["debug"]:
            raise
        echo_err(
            f"milo-analytics: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"
        )
        return 1
    if not isinstance(status, int) or isinstance(status, bool):
        status = 0  # a command returned None (or something that is not a status)
    if status == EXIT_INTERRUPTED:
        echo_err(_interrupted_line())
    return status


def console_main() -> None:
    """The ``milo-analytics`` console script: run :func:`main` and exit with its status.

    After Ctrl-C (status 130) the process ends at once, its line printed: requests still in
    flight on the loader's worker threads are abandoned rather than waited for at exit
    (nothing of them would be stored: documents are committed on the main thread, and a
    PATCH in flight is already logged as ``unknown`` for rollback).

    Examples
    --------
    >>> console_main  # doctest: +ELLIPSIS
    <function console_main at ...>
    """
    # A command's process keeps almost everything it allocates for the whole run (imported
    # libraries, documents, frames): the cycle collector's default of a collection every 700
    # allocations re-walks them for nothing (`milo-analytics demo`: 0.55 s of 8.5 s in GC,
    # 0.2 s this way). Cycles are still collected, less often; the library leaves the
    # interpreter's settings alone, only the console script sets this.
    gc.set_threshold(10_000, 10, 10)
    status = main()
    if status == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(status)
    raise SystemExit(status)


if __name__ == "__main__":  # pragma: no cover
    console_main()
