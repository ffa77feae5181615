"""Help text that reads cleanly at 80 columns (issue 12: "Help text shows `<bool>`/`<str>`
beside every option and breaks `<email|interview_id|e xternal_id>` mid-word at 80 columns").

Every command the app has — including commands added after this test was written — is checked:
its `--help` at COLUMNS=80 has no `<bool>`/`<str>`-style type labels, no line over 80
characters, and no word broken across lines: every word of the command's help and of each
option's help, every option name and every choice of every choice option is printed whole, on
one line, at least as often as it is written.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import re
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from milo_analytics import cli

ROOT = Path(__file__).resolve().parents[1]
TYPE_LABEL = re.compile(r"<(?:bool|str|int|float|file|path|dir|text|[\w|]+\|[\w|]+)[^<>]*>")


def command_names() -> list[str]:
    """Every command of the app as typed after `milo-analytics`, sub-commands included
    (``"webhooks register"``)."""
    names = []
    todo = [("", get_command(cli.app))]
    while todo:
        prefix, group = todo.pop()
        for name, command in getattr(group, "commands", {}).items():
            names.append(f"{prefix}{name}")
            todo.append((f"{prefix}{name} ", command))
    return sorted(names)


def lookup(name: str) -> Any:
    command = get_command(cli.app)
    for part in name.split():
        command = command.commands[part]  # type: ignore[attr-defined]
    return command


def help_text(*args: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main([*args, "--help"]) == 0
    return out.getvalue()


def words_written(command: Any) -> collections.Counter[str]:
    """Every word the help of ``command`` must print whole: its help, each parameter's help,
    option names, metavars and choices."""
    words: collections.Counter[str] = collections.Counter()
    texts = [command.help or ""]
    for param in command.params:
        texts.append(getattr(param, "help", None) or "")
        if param.param_type_name == "option":  # an argument's "opts" is its name
            texts.extend(param.opts)
        texts.append(param.metavar or "")
    for text in texts:
        words.update(text.split())
    return words


def test_every_command_is_checked() -> None:
    names = set(command_names())
    assert {"postings", "pull", "audit", "report", "demo", "sandbox"} <= names
    assert "webhooks" not in names or "webhooks list" in names  # sub-commands too


@pytest.mark.parametrize("name", ["", *command_names()])
def test_help_at_80_columns_is_clean(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = help_text(*name.split(), monkeypatch=monkeypatch)
    assert text.startswith("Usage: milo-analytics")
    assert not TYPE_LABEL.search(text), TYPE_LABEL.search(text)
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long
    tokens = text.split()
    # "-d, --demographics FILE": the short option is printed with a comma after it
    printed = collections.Counter(t[:2] if re.fullmatch(r"-\w,", t) else t for t in tokens)
    command = lookup(name)
    missing = {w: n for w, n in words_written(command).items() if printed[w] < n}
    assert not missing, (missing, text)
    # no line ends in the middle of a hyphenated word (`--sex-` / `column`)
    assert not re.search(r"\w-\n", text), text
    for param in command.params:
        metavar = param.metavar or ""
        if metavar.startswith("["):  # a choice option: [a|b|c], every choice whole
            assert any(f"{opt} {metavar}" in line for opt in param.opts for line in
                       text.splitlines()), (param.name, text)  # fmt: skip


def test_choices_flags_and_defaults_read_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    text = help_text("audit", monkeypatch=monkeypatch)
    assert "--outcomes-key [email|interview_id|external_id]" in text
    assert "--ties [strict|>=]" in text
    assert "\n  --offline " in text  # a flag takes no value: nothing after it
    assert "  -d, --demographics FILE " in text and "--base-url URL " in text
    assert "Usage: milo-analytics audit [OPTIONS] POSTING\n" in text
    usage = help_text("report", monkeypatch=monkeypatch).splitlines()[0]
    assert usage == "Usage: milo-analytics report [OPTIONS] POSTINGS..."
    # "[default: 30; x>=0]" is never split over two lines
    assert re.search(r"--min-n N .*\n?.*\[default: 30; x>=0\]", text)


def test_help_of_a_real_process_at_80_columns() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "milo_analytics.cli", "suggest-weights", "--help"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert "--outcomes-key [email|interview_id|external_id]" in out
    assert "--target [hired|performance|retention]" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert not TYPE_LABEL.search(out)


class Colour(StrEnum):
    red = "red"
    infrared_and_ultraviolet = "infrared_and_ultraviolet"


def test_a_command_added_later_gets_the_same_help(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout comes from the app's group class, not from each command's options."""
    app = typer.Typer(cls=cli._HelpGroup, rich_markup_mode=None, add_completion=False)

    @app.command("paint")
    def paint(
        wall: Annotated[str, typer.Argument(help="The wall.")],
        colour: Annotated[Colour, typer.Option(help="A colour.")] = Colour.red,
        coats: Annotated[int, typer.Option(help="How many.")] = 1,
        dry: Annotated[bool, typer.Option("--dry", help="Only say what would happen.")] = False,
        log: Annotated[Path | None, typer.Option(help="Log file.", dir_okay=False)] = None,
    ) -> None:
        """Paint a wall with a self-explaining-hyphenated-very-long-word-in-the-text word."""

    @app.command("other")
    def other() -> None:
        """Another command, so that the group lists commands."""

    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["paint", "--help"], env={"COLUMNS": "80"})
    text = result.output
    assert result.exit_code == 0, text
    assert "Usage: root paint [OPTIONS] WALL" in text or "paint [OPTIONS] WALL" in text
    assert "--colour [red|infrared_and_ultraviolet]" in text
    assert "--coats N" in text and "--log FILE" in text and "\n  --dry " in text
    assert not TYPE_LABEL.search(text) and max(map(len, text.splitlines())) <= 80
    assert "self-explaining-hyphenated-very-long-word-in-the-text" in text


def test_main_builds_the_command_tree_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """typer rebuilds every option of every command on each `app(...)` (~25 ms); `main` builds
    the click command once, and a later call still runs with helpers patched after it."""
    built: list[int] = []
    real = typer.main.get_command

    def counting(app: Any) -> Any:
        built.append(1)
        return real(app)

    cli._click_command.cache_clear()
    monkeypatch.setattr(typer.main, "get_command", counting)
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--help"]) == 0
        assert cli.main(["report", "--help"]) == 0
    assert built == [1]
    monkeypatch.setattr(cli, "load_data", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert cli.main(["report", "P1", "--offline"]) == 1
    assert "RuntimeError: x" in err.getvalue()
    cli._click_command.cache_clear()  # the next test builds it with the real typer
