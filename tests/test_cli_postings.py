"""`milo-analytics postings` and `list_postings` (issue 12: "`milo-analytics postings` lists
postings (id, title, counts)") against the sandbox over HTTP. The command runs in this process
as a fresh shell process would run it (tests/_cli_inprocess.py; exit statuses as the shell sees
them are tests/test_cli_exit_codes.py's job).

The reference counts are the sandbox world's own records (known truth): every candidate of a
posting, and those with results (the statuses of ``RESULT_STATUSES``) for "completed".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import pytest
from _cli_inprocess import run_cli

from milo_analytics import list_postings, load_posting
from milo_analytics.api import HeyMiloClient
from milo_analytics.frames import RESULT_STATUSES
from milo_analytics.sandbox import Sandbox
from milo_analytics.store import Store


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`milo-analytics ARGS` in this process as a fresh process would run it
    (tests/_cli_inprocess.py): ``cli(*args, key=, columns=80, store_env=None)`` -> (exit code,
    stdout, stderr); ``store_env`` is $MILO_ANALYTICS_STORE."""

    def run(*args: str, key: str, columns: int = 80, store_env: Path | None = None) -> tuple:
        env = {} if store_env is None else {"MILO_ANALYTICS_STORE": str(store_env)}
        return run_cli(capsys, *args, key=key, env=env, columns=columns)

    return run


def truth(sb: Sandbox) -> dict[str, dict]:
    """Per posting: title, status, candidates, completed and average score, from the world."""
    out = {}
    for p in sb.world.postings:
        cands = sb.world.candidates.get(p["id"], [])
        done = [c for c in cands if c["status"] in RESULT_STATUSES]
        scores = [c["score"] for c in done if c.get("score") is not None]
        out[p["id"]] = {
            "title": p["title"],
            "status": p.get("status"),
            "candidates": len(cands),
            "completed_interviews": len(done),
            "average_score": round(sum(scores) / len(scores), 2) if scores else None,
        }
    return out


@pytest.fixture(scope="module")
def pulled(demo_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store holding the smaller demo posting only (pulled in Python, over HTTP)."""
    store = tmp_path_factory.mktemp("postings") / "store.sqlite3"
    pid = min(demo_sandbox.world.candidates, key=lambda p: len(demo_sandbox.world.candidates[p]))
    with demo_sandbox.client() as client:
        load_posting(pid, client=client, store=store, progress=False)
    return store, pid


# --------------------------------------------------------------------------- the command
def test_postings_prints_each_postings_id_title_status_and_counts(cli, demo_sandbox, tmp_path):
    missing = tmp_path / "never" / "store.sqlite3"  # the default store, not created by a listing
    code, out, err = cli(
        "postings", "--base-url", demo_sandbox.base_url, key=demo_sandbox.api_key,
        store_env=missing,
    )  # fmt: skip
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].split() == ["posting", "title", "status", "candidates", "completed"]
    assert len(lines) == 1 + len(demo_sandbox.world.postings)
    for pid, t in truth(demo_sandbox).items():
        (line,) = [ln for ln in lines if ln.startswith(pid)]
        assert t["title"] in line and f"  {t['status']}  " in line
        assert line.split()[-2:] == [f"{t['candidates']:,}", f"{t['completed_interviews']:,}"]
    assert all(len(ln) <= 80 for ln in lines)
    assert not missing.exists() and not missing.parent.exists()


def test_postings_json_holds_the_servers_counts(cli, demo_sandbox, tmp_path):
    code, out, err = cli(
        "postings", "--json", "--base-url", demo_sandbox.base_url, key=demo_sandbox.api_key,
        store_env=tmp_path / "none.sqlite3",
    )  # fmt: skip
    assert code == 0 and err == "", err
    rows = {r["posting_id"]: r for r in json.loads(out)}
    expected = truth(demo_sandbox)
    assert set(rows) == set(expected)
    for pid, t in expected.items():
        assert {k: rows[pid][k] for k in t} == t
        assert rows[pid]["synced_at"] is None  # no store: never pulled as far as it knows


def test_postings_search_keeps_matching_titles(cli, demo_sandbox, tmp_path):
    retail = next(p for p in demo_sandbox.world.postings if "Retail" in p["title"])
    code, out, _ = cli(
        "postings", "--search", "retail", "--base-url", demo_sandbox.base_url,
        key=demo_sandbox.api_key, store_env=tmp_path / "none.sqlite3",
    )  # fmt: skip
    assert code == 0
    assert [ln.split()[0] for ln in out.splitlines()[1:]] == [retail["id"]]
    code, out, _ = cli(
        "postings", "--search", "no such title", "--base-url", demo_sandbox.base_url,
        key=demo_sandbox.api_key, store_env=tmp_path / "none.sqlite3",
    )  # fmt: skip
    assert code == 0 and out.strip() == (
        "No postings: the API lists none whose title contains 'no such title'."
    )


def test_postings_says_which_postings_the_store_holds(cli, demo_sandbox, pulled):
    store, pid = pulled
    code, out, err = cli(
        "postings", "--store", str(store), "--base-url", demo_sandbox.base_url,
        key=demo_sandbox.api_key,
    )  # fmt: skip
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].split()[-1] == "pulled"
    with Store(store) as st:
        synced = pd.Timestamp(st.posting_info(pid)["synced_at"], unit="s", tz="UTC")
    for line in lines[1:]:
        pulled_on = line.split()[-1]
        assert pulled_on == (synced.strftime("%Y-%m-%d") if line.startswith(pid) else "-")


def test_postings_offline_lists_the_store_with_the_counts_of_the_last_pull(
    cli, demo_sandbox, pulled
):
    store, pid = pulled
    # no API key and an unreachable base URL: --offline never touches the network
    code, out, err = cli("postings", "--offline", "--store", str(store), "--json", key="")
    assert code == 0 and err == "", err
    (row,) = json.loads(out)
    t = truth(demo_sandbox)[pid]
    assert row["posting_id"] == pid and {k: row[k] for k in t} == t
    assert row["synced_at"] is not None
    code, out, _ = cli("postings", "--offline", "--store", str(store), key="")
    assert code == 0 and out.splitlines()[1].startswith(pid)


def test_postings_offline_on_an_empty_store_says_to_pull_first(cli, tmp_path):
    store = tmp_path / "empty.sqlite3"
    code, out, err = cli("postings", "--offline", "--store", str(store), key="")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        f"No postings: the store at {store} holds none.",
        "Pull one first: milo-analytics pull POSTING",
    ]


def test_postings_table_fits_a_narrow_terminal(cli, demo_sandbox, tmp_path):
    code, out, _ = cli(
        "postings", "--base-url", demo_sandbox.base_url, key=demo_sandbox.api_key, columns=60,
        store_env=tmp_path / "none.sqlite3",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert all(len(ln) <= 60 for ln in lines), out
    assert "…" in out  # "Customer Service Representative" is cut, the counts are not
    for pid, t in truth(demo_sandbox).items():
        line = next(ln for ln in lines if ln.startswith(pid))
        assert line.endswith(f"{t['completed_interviews']:,}")


def test_postings_with_a_rejected_key_is_one_cli_worded_line(cli, demo_sandbox, tmp_path):
    code, out, err = cli(
        "postings", "--base-url", demo_sandbox.base_url, key="wrong-key-123456",
        store_env=tmp_path / "none.sqlite3",
    )  # fmt: skip
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("milo-analytics: error: [401]")
    assert "check HEYMILO_API_KEY: the key was rejected" in line and "api_key=" not in line


# --------------------------------------------------------------------------- Python
def test_list_postings_from_the_api_matches_the_world(demo_sandbox):
    with demo_sandbox.client() as client:
        table = list_postings(client=client)
    assert list(table.columns) == [
        "posting_id", "title", "status", "candidates", "completed_interviews", "average_score",
        "synced_at",
    ]  # fmt: skip
    assert table["title"].tolist() == sorted(table["title"], key=str.casefold)
    expected = truth(demo_sandbox)
    for row in table.to_dict("records"):
        t = expected[row["posting_id"]]
        assert {k: row[k] for k in t} == t
    assert table["synced_at"].isna().all()
    assert str(table["candidates"].dtype) == "Int64" and str(table["title"].dtype) == "str"


def test_list_postings_offline_and_with_a_store(demo_sandbox, pulled):
    store, pid = pulled
    offline = list_postings(store=store, refresh=False)
    assert offline["posting_id"].tolist() == [pid]
    t = truth(demo_sandbox)[pid]
    assert {k: offline.iloc[0][k] for k in t} == t
    with demo_sandbox.client() as client:
        online = list_postings(client=client, store=store, search="  ASSOC  ")
    assert online["posting_id"].tolist() == [pid]  # "Retail Sales Associate", any case
    assert online["synced_at"].iloc[0] == offline["synced_at"].iloc[0]
    assert list_postings(store=store, refresh=False, search="nothing like it").empty


def test_a_posting_removed_between_listing_and_stats_keeps_its_row_without_counts():
    """Narrow edge (MockTransport): the stats request of one posting answers 404."""

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/P2/stats"):
            return httpx.Response(404, json={"error": {"message": "Posting not found"}})
        if request.url.path.endswith("/stats"):
            return httpx.Response(200, json={"data": {"posting_id": "P1", "total_candidates": 3,
                                                      "completed_interviews": 2}})  # fmt: skip
        docs = [{"id": "P1", "title": "B", "status": "active"},
                {"id": "P2", "title": "a", "archived": True}]  # fmt: skip
        return httpx.Response(200, json={"data": docs, "pagination": {"has_more": False}})

    with HeyMiloClient(api_key="k-123456", transport=httpx.MockTransport(api)) as client:
        table = list_postings(client=client)
    assert table["posting_id"].tolist() == ["P2", "P1"]  # by title, any case
    p2 = table.iloc[0]
    assert p2["status"] == "archived" and pd.isna(p2["candidates"])
    assert table.iloc[1]["candidates"] == 3
