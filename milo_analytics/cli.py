"""The ``milo-analytics`` command line: a thin typer layer over the public functions.

Each command only wires public functions together. Errors a user can cause print as one
clear line on stderr with a non-zero exit; ``--debug`` shows the full traceback.

Commands are registered in the sections below, one block per area (sandbox, data, audit,
calibration, report/demo). Keep heavy imports inside the command functions so that
``milo-analytics --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="milo-analytics",
    help=(
        "Analytics for HeyMilo AI interviews: pull results, study weights and reliability, "
        "audit adverse impact, calibrate question weights and write HTML reports.\n\n"
        "Start with `milo-analytics demo`, which runs everything on the embedded demo world "
        "without an account."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


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


# --------------------------------------------------------------------------- commands
# Each area registers its commands in its own section below.

# === sandbox ===

# === data (pull) ===

# === audit ===

# === calibration (suggest-weights, push-weights, rollback) ===

# === report and demo ===


# --------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (used by the console script).

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Usage: ...
    0
    """
    from .errors import MiloError

    args = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = "--debug" in args
    try:
        app(args=args, prog_name="milo-analytics", standalone_mode=False)
    except SystemExit as exc:  # typer/click exits
        return int(exc.code or 0)
    except KeyboardInterrupt:
        echo_err("milo-analytics: interrupted")
        return 130
    except MiloError as exc:
        if _state["debug"]:
            raise
        echo_err(f"milo-analytics: error: {exc}")
        return 1
    except Exception as exc:  # click usage errors and unexpected failures
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            echo_err("milo-analytics: aborted")
            return 1
        if _state["debug"]:
            raise
        echo_err(
            f"milo-analytics: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
