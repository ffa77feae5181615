"""`milo-analytics pull` against the sandbox (key from the environment only)."""

from __future__ import annotations

from milo_analytics.cli import main
from milo_analytics.frames import InterviewData


def test_pull_then_offline_and_parquet(sandbox, tmp_path, monkeypatch, capsys):
    pid = sandbox.world.postings[0]["id"]
    store = tmp_path / "s.sqlite3"
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    code = main(["pull", pid, "--store", str(store), "--base-url", sandbox.base_url, "-q"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"{pid}: " in out.out and "fetched" in out.out
    assert sandbox.api_key not in out.out + out.err
    # offline: no network, no key needed
    monkeypatch.delenv("HEYMILO_API_KEY")
    sandbox.reset_counts()
    code = main(
        ["pull", pid, "--store", str(store), "--offline", "--parquet", str(tmp_path / "pq")]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert sum(sandbox.counts.values()) == 0
    data = InterviewData.from_parquet(tmp_path / "pq")
    n_docs = sum(
        1
        for c in sandbox.world.candidates[pid]
        if c["interview_id"] in sandbox.world.interview_data
    )
    assert len(data.interviews) == n_docs


def test_pull_errors_are_one_line(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)
    code = main(
        ["pull", "P1", "--store", str(tmp_path / "s.sqlite3"), "--base-url", sandbox.base_url]
    )
    err = capsys.readouterr().err
    assert code == 1 and "HEYMILO_API_KEY" in err
    monkeypatch.setenv("HEYMILO_API_KEY", sandbox.api_key)
    code = main(
        ["pull", "NOPE1234", "--store", str(tmp_path / "s.sqlite3"), "--base-url", sandbox.base_url]
    )
    err = capsys.readouterr().err
    assert code == 1 and "NOPE1234" in err and "not found" in err
    code = main(["pull", "NOPE1234", "--store", str(tmp_path / "s.sqlite3"), "--offline"])
    err = capsys.readouterr().err
    assert code == 1 and "not in the store" in err


def test_a_wrong_key_is_one_line_and_never_printed(sandbox, tmp_path, monkeypatch, capsys):
    pid = sandbox.world.postings[0]["id"]
    secret = "sk-live-not-the-sandbox-key-93f1"
    monkeypatch.setenv("HEYMILO_API_KEY", secret)
    store = str(tmp_path / "s.sqlite3")
    for command in (["pull", pid], ["report", pid, "-o", str(tmp_path / "r.html")]):
        code = main([*command, "--store", store, "--base-url", sandbox.base_url])
        out = capsys.readouterr()
        assert code == 1, out
        lines = out.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("milo-analytics: error:"), out.err
        assert secret not in out.out + out.err
        assert not (tmp_path / "r.html").exists()


def test_pull_from_exported_documents_writes_parquet(tmp_path, monkeypatch, capsys):
    from milo_analytics.sandbox import WorldConfig, generate_world

    monkeypatch.delenv("HEYMILO_API_KEY", raising=False)  # documents need no key
    world = generate_world(WorldConfig(seed=3, n_candidates=15, n_second=5))
    folder = world.save(tmp_path / "docs")
    ids = [p["id"] for p in world.postings]
    code = main(["pull", *ids, "--documents", str(folder), "--parquet", str(tmp_path / "pq")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"documents: {folder}" in out.out
    data = InterviewData.from_parquet(tmp_path / "pq")
    assert sorted(data.posting_ids) == sorted(ids)
    assert len(data.interviews) == len(world.interview_data)
    # one posting of the two: the other's rows are left out
    code = main(["pull", ids[0], "--documents", str(folder), "--parquet", str(tmp_path / "one")])
    assert code == 0, capsys.readouterr().err
    assert InterviewData.from_parquet(tmp_path / "one").posting_ids == [ids[0]]
