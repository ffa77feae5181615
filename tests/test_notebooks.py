"""The notebooks run top to bottom against the sandbox (no account) and are committed clean."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01-explore.ipynb", "02-calibrate-weights.ipynb", "03-bias-audit.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name
    # the setup cell is the one place to switch to a real account
    setup = [c.source for c in nb.cells if c.cell_type == "code" and "HEYMILO_API_KEY" in c.source]
    assert setup and 'run_sandbox("demo")' in setup[0]


def test_notebooks_match_their_generator(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    for path in module.build(tmp_path):
        committed = json.loads((NOTEBOOKS / path.name).read_text(encoding="utf-8"))
        assert json.loads(path.read_text(encoding="utf-8")) == committed, (
            f"{path.name} is out of date: run python notebooks/build_notebooks.py"
        )


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_against_the_sandbox(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)  # the no-account path
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figures, "the notebook shows figures"
    for fig in figures:
        # JupyterLab draws the plotly mimetype; exported HTML uses the text/html twin
        assert "text/html" in fig["data"]
    # no candidate email reaches an output (reports redact; summaries show counts only)
    from milo_analytics.sandbox import load_demo_world

    text = json.dumps(outputs).lower()
    world = load_demo_world(copy_world=False)
    emails = [c["email"].lower() for cs in world.candidates.values() for c in cs]
    assert not [e for e in emails if e in text]
