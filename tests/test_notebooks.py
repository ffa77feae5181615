"""The notebooks run top to bottom against the sandbox (no account) and are committed clean."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# One kernel per module (per xdist worker) runs every execution below: a kernel start, the
# imports and plotly's renderer set-up cost ~3 s each time, and the six executions need no
# more than a clean namespace, their own environment and a fresh warning registry.
_PRELUDE = """\
%reset -f
import os as _os, warnings as _warnings
from tqdm import TqdmWarning as _TqdmWarning
for _k in {drop!r}:
    _os.environ.pop(_k, None)
_os.environ.update({env!r})
_os.chdir({cwd!r})
_warnings.simplefilter("always", _TqdmWarning)  # shown every time, not once per kernel
del _os, _warnings, _TqdmWarning, _k
"""


#: as nbclient starts its own kernels: IPython's history in memory, not in ~/.ipython (shared
#: by the xdist workers' kernels)
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    """A started python3 kernel shared by this module's executions (stopped at the end)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=KERNEL_ARGS)
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def execute(nb: Any, km: Any, cwd: Path, env: dict[str, str]) -> None:
    """Run ``nb`` top to bottom in ``km``'s kernel after a clean slate: an empty namespace
    (``%reset -f``: a name a notebook does not define itself is a NameError, as in a fresh
    kernel), exactly ``env`` among the variables the notebooks read, and ``cwd``."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    if not km.is_alive():  # an earlier execution killed it: start afresh, not fail here
        km.start_kernel(extra_arguments=KERNEL_ARGS)
    drop = ("HEYMILO_API_KEY", "HEYMILO_BASE_URL", "MILO_ANALYTICS_STORE")
    prelude = new_notebook(cells=[new_code_cell(_PRELUDE.format(drop=drop, env=env, cwd=str(cwd)))])
    for book in (prelude, nb):
        client = NotebookClient(book, km=km, timeout=180, kernel_name="python3")
        try:
            client.execute()
        finally:
            if client.kc is not None:
                client.kc.stop_channels()


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_against_the_sandbox(name: str, tmp_path: Path, kernel) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    execute(nb, kernel, tmp_path, {})  # no HEYMILO_API_KEY: the no-account path
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    # progress bars render as widgets (ipywidgets in the extras): no tqdm fallback warning
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "TqdmWarning" not in streams and "IProgress not found" not in streams
    # plotly.js once per notebook: the executed file stays small (a report's notebook view
    # does not embed a second copy)
    size = len(nbformat.writes(nb).encode("utf-8"))
    assert size < 6_000_000, f"{name} executed is {size / 1e6:.1f} MB"
    from plotly.offline import get_plotlyjs

    text_all = json.dumps(outputs)
    assert text_all.count(json.dumps(get_plotlyjs()[1000:1300])[1:-1]) <= 1
    if name.startswith("03"):  # the flagged result is plotted (the demo's speech-score flag)
        titles = [
            (o["data"]["application/vnd.plotly.v1+json"].get("layout", {}).get("title") or {}).get(
                "text", ""
            )
            for o in outputs
            if "application/vnd.plotly.v1+json" in o.get("data", {})
        ]
        assert any(t.startswith("Impact ratios — Speech score") for t in titles), titles
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figures, "the notebook shows figures"
    for fig in figures:
        # JupyterLab draws the plotly mimetype; exported HTML uses the text/html twin
        assert "text/html" in fig["data"]
    # ... which draws with the plotly.js the notebook renderer embeds once, before the first
    # figure (offline: no CDN), as `jupyter nbconvert --to html` keeps it
    from plotly.offline import get_plotlyjs_version

    banner = f"plotly.js v{get_plotlyjs_version()}"
    bundles = [i for i, o in enumerate(outputs) if banner in o.get("data", {}).get("text/html", "")]
    assert bundles and bundles[0] < outputs.index(figures[0])
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    loads_plotly = re.findall(r"<script[^>]*src=[\"'][^\"']*plotly[^\"']*", html)
    assert loads_plotly == []  # (a bool/list, not the 10 MB text, in the assertion)
    # no candidate email reaches an output (reports redact; summaries show counts only)
    from milo_analytics.sandbox import load_demo_world

    world = load_demo_world(copy_world=False)
    emails = [c["email"].lower() for cs in world.candidates.values() for c in cs]
    near = around_at_signs(json.dumps(outputs).lower(), emails)
    assert not [e for e in emails if e in near]


def around_at_signs(text: str, emails: list[str]) -> str:
    """The parts of ``text`` within reach of an ``@``: every email of ``emails`` that occurs in
    ``text`` occurs in the result (a substring scan of 1,600 emails over the ~10 MB of a
    notebook's outputs took ~4 s; this cuts it to the few hundred ``@`` in plotly.js)."""
    before = max(e.index("@") for e in emails)
    after = max(len(e) - e.index("@") for e in emails)
    spans = [text[max(m.start() - before, 0) : m.start() + after] for m in re.finditer("@", text)]
    return "\x00".join(spans)


@pytest.fixture(scope="module")
def account_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("account") / "store.sqlite3"


#: The edits a user makes to the setup cell for a real account (posting id and file paths).
REAL_ACCOUNT_EDITS = {
    '"ats_export.csv", "email"': '"{data}/outcomes.csv", "external_id"',
    '"eeo_self_id.csv"': '"{data}/demographics.csv"',
}


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_switches_to_a_real_account_by_editing_the_setup_cell(
    name: str, tmp_path: Path, kernel, account_store: Path, demo_sandbox
) -> None:
    """With HEYMILO_API_KEY set, only the setup cell changes: it talks to the API it names."""
    from milo_analytics import Store
    from milo_analytics.sandbox.world import demo_world_path

    # "a real account": an API at HEYMILO_BASE_URL with a key, not the notebook's own sandbox,
    # and the user's one local store (shared by the three notebooks, as the default store is:
    # the second and third pulls are incremental)
    env = {
        "HEYMILO_API_KEY": demo_sandbox.api_key,
        "HEYMILO_BASE_URL": demo_sandbox.base_url,
        "MILO_ANALYTICS_STORE": str(account_store),
    }
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0]
    assert "HEYMILO_API_KEY" in setup.source and '"13D77095"' in setup.source
    posting = demo_sandbox.world.postings[0]["id"]
    setup.source = setup.source.replace('"13D77095"', f'"{posting}"')
    for old, new in REAL_ACCOUNT_EDITS.items():
        setup.source = setup.source.replace(old, new.format(data=demo_world_path().as_posix()))
    untouched = [c.source for c in code[1:]]
    started = time.time()
    execute(nb, kernel, tmp_path, env)
    assert [c.source for c in code[1:]] == untouched
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    text = json.dumps(outputs)
    assert f"posting {posting}" in text  # the setup cell's print
    assert demo_sandbox.api_key not in text
    # the pull went to the API named in the environment, into the store it names
    with Store(account_store) as st:  # (this run's pull, not an earlier notebook's)
        assert st.posting_info(posting)["synced_at"] >= started
    if name.startswith("02"):
        assert "applied:" not in text  # a real account is never pushed to by the notebook
