"""The wheel carries what `milo-analytics demo` needs, and the demo runs from another folder.

README promise: after a plain `pip install .`, run from any folder, the main job works —
so the demo world (data/demo, mapped to milo_analytics/_demo by pyproject's force-include)
and the report templates must ship inside the installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out), str(REPO)],
        check=True,
    )  # fmt: skip
    (whl,) = out.glob("milo_analytics-*.whl")
    return whl


def test_wheel_ships_demo_world_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    demo_files = {p.name for p in (REPO / "data" / "demo").iterdir() if p.is_file()}
    assert demo_files, "data/demo is empty"
    for name in demo_files:
        assert f"milo_analytics/_demo/{name}" in names
    templates = {p.name for p in (REPO / "milo_analytics" / "templates").iterdir() if p.is_file()}
    assert templates
    for name in templates:
        assert f"milo_analytics/templates/{name}" in names
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/")) for n in names)


def _parent_site_dirs() -> list[str]:
    """The running interpreter's site-packages folders (a venv's own when run in a venv)."""
    import site
    import sysconfig

    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    dirs.update(site.getsitepackages())
    return sorted(d for d in dirs if Path(d).is_dir())


def _clean_env() -> dict[str, str]:
    """The environment without anything that would point Python back at the checkout."""
    drop = ("HEYMILO_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_from_another_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    # A child venv that sees the dependencies of the interpreter running the tests — the
    # newcomer's own venv, or the system Python — and nothing else: system_site_packages would
    # borrow the *base* interpreter's packages, which a venv user does not have. A .pth line adds
    # the parent's site-packages as plain paths, so its .pth files (the editable install that
    # points at this checkout) are not processed: the wheel's copy is what runs.
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    child_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env=_clean_env(),
    ).stdout.strip()  # fmt: skip
    Path(child_site, "_parent_env.pth").write_text(
        "\n".join(_parent_site_dirs()) + "\n", encoding="utf-8"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, env=_clean_env(),
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(py), "-c", "import milo_analytics, typer; print(milo_analytics.__file__)"],
        cwd=elsewhere, capture_output=True, text=True, check=True, env=_clean_env(),
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(env_dir), where
    # The console script, run as the shell runs it: the one real-process `milo-analytics demo`
    # run to success in the suite (exit status 0 as the shell sees it, nothing on stderr with
    # -q: no warning, no traceback, no progress line)
    run = subprocess.run(
        [str(bindir / "milo-analytics"), "demo", "--out", "out", "-q"],
        cwd=elsewhere, capture_output=True, text=True, env=_clean_env(), timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr == "", run.stderr[-2000:]
    report = elsewhere / "out" / "milo-report.html"
    suggestion = elsewhere / "out" / "suggestion.json"
    assert report.stat().st_size > 100_000
    assert "</html>" in report.read_text(encoding="utf-8")[-200:]
    assert '"recommendation"' in suggestion.read_text(encoding="utf-8")
    assert "Report:" in run.stdout and "Suggestion:" in run.stdout
    assert "Dry run for posting" in run.stdout  # the dry-run push plan
