"""The ``milo-analytics`` command line: a thin typer layer over the public functions.

Each command only wires public functions together. Errors a user can cause print as one
clear line on stderr with a non-zero exit; ``--debug`` shows the full traceback.

Commands are registered in the sections below, one block per area (sandbox, data, audit,
calibration, report/demo). Keep heavy imports inside the command functions so that
``milo-analytics --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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


@app.command("sandbox")
def sandbox_cmd(
    world: Annotated[
        str,
        typer.Option(help="'demo' (the packaged demo world) or a folder written by World.save()."),
    ] = "demo",
    api_key: Annotated[
        str | None,
        typer.Option(help="Key the server accepts (random when omitted; printed once on start)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    latency: Annotated[float, typer.Option(help="Seconds added to every response.")] = 0.0,
    rate_limit: Annotated[
        int | None, typer.Option(help="Requests per minute per key (429 past it).")
    ] = None,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 5xx.")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Share of connections dropped.")] = 0.0,
    malformed: Annotated[
        list[str] | None,
        typer.Option(help="Interview id whose /data is malformed; ID or ID:json / ID:schema."),
    ] = None,
    interview_delay: Annotated[
        float, typer.Option(help="Seconds per interview stage for ingested candidates.")
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
            help="Generate the demo world with --seed into this folder and exit (e.g. data/demo).",
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Serve a local HeyMilo-compatible API (v2 and v4) over a synthetic world, or write one.

    Examples: `milo-analytics sandbox --latency 0.05 --rate-limit 300`;
    `milo-analytics sandbox --write-demo data/demo --seed 7` (reproducible, byte for byte).
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

        raise ConfigError(str(exc)) from None
    with sb:
        typer.echo(f"HeyMilo sandbox serving {sb.world!r}")
        typer.echo(f"  HEYMILO_BASE_URL={sb.base_url}   (also {sb.base_url_v4})")
        typer.echo(f"  HEYMILO_API_KEY={sb.api_key}")
        typer.echo("Press Ctrl-C to stop.")
        t0 = time.monotonic()
        try:
            while duration is None or time.monotonic() - t0 < duration:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        typer.echo("sandbox stopped")


# === data (pull) ===


@app.command("pull")
def pull_cmd(
    postings: Annotated[list[str], typer.Argument(help="Posting (interviewer) ids to pull.")],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="SQLite store file (default: $MILO_ANALYTICS_STORE or the user data folder).",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No network: read what the store already has.")
    ] = False,
    parquet: Annotated[
        str | None, typer.Option("--parquet", help="Also write the frames as Parquet to DIR.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="API base URL with the version prefix (default: $HEYMILO_BASE_URL or HeyMilo's).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Requests in flight.")
    ] = 16,
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
    """
    from .load import load_postings
    from .store import Store

    with Store(store) as st:
        if offline:
            data = load_postings(postings, store=st, refresh=False, score_scale=score_scale)
        else:
            from .api import HeyMiloClient

            kwargs: dict[str, object] = {"max_connections": concurrency}
            if rate_limit is not None:
                kwargs["rate_limit"] = rate_limit
            with HeyMiloClient(base_url=base_url, **kwargs) as client:
                data = load_postings(
                    postings,
                    client=client,
                    store=st,
                    strict=strict,
                    progress=False if quiet else None,
                    concurrency=concurrency,
                    score_scale=score_scale,
                )
            for r in getattr(data, "pull_reports", []):
                typer.echo(
                    f"{r.posting_id}: {r.candidates:,} candidates, {r.with_results:,} with results, "
                    f"{r.fetched:,} fetched, {r.unchanged:,} unchanged, {r.failed:,} failed "
                    f"({r.seconds:.1f} s)"
                )
        typer.echo(repr(data))
        typer.echo(f"store: {st.path}")
    if len(data.errors):
        typer.echo(f"{len(data.errors):,} document(s) failed; they are retried on the next pull:")
        for row in data.errors.head(10).itertuples(index=False):
            typer.echo(f"  {row.interview_id} [{row.stage}] {row.error}")
    if parquet:
        out = data.to_parquet(parquet)
        typer.echo(f"parquet: {out}")


# === audit ===


@app.command("audit")
def audit_cmd(
    posting: Annotated[str, typer.Argument(help="Posting (interviewer) id to audit.")],
    demographics: Annotated[
        str,
        typer.Option(
            "--demographics", "-d", help="Voluntary self-identification file (CSV or Excel)."
        ),
    ],
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the audit as JSON (documented schema).")
    ] = None,
    outcomes: Annotated[
        str | None,
        typer.Option("--outcomes", help="ATS outcomes file: adds the hired selection rate."),
    ] = None,
    key: Annotated[
        str, typer.Option("--key", help="Join key: email, interview_id or external_id.")
    ] = "email",
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict",
            help="People whose rows disagree: error, unknown, first or last.",
        ),
    ] = "error",
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="SQLite store file (default: $MILO_ANALYTICS_STORE or the user data folder).",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No network: audit what the store already has.")
    ] = False,
    documents: Annotated[
        str | None,
        typer.Option(
            "--documents", help="Read exported API documents from DIR instead of the API/store."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="API base URL with the version prefix."),
    ] = None,
    exclude_below: Annotated[
        float,
        typer.Option("--exclude-below", help="Exclude categories under this share (0 = none)."),
    ] = 0.02,
    min_n: Annotated[int, typer.Option("--min-n", help="Smallest category n for a flag.")] = 30,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level for flags.")] = 0.05,
    fail_on_flag: Annotated[
        bool, typer.Option("--fail-on-flag", help="Exit with status 2 when anything is flagged.")
    ] = False,
) -> None:
    """Adverse-impact audit of one posting (NYC LL144 impact ratios, four-fifths rule).

    Scoring rates for the overall score, each question and the speech score, and selection
    rates (shortlisted vs dismissed/knocked out, hired with --outcomes), by sex, race/ethnicity
    and their intersection. The API key comes from HEYMILO_API_KEY only.
    """
    from .analysis.fairness import FLAG_RULE, bias_audit
    from .outcomes import read_demographics, read_outcomes

    if documents:
        from .load import load_documents

        data = load_documents(documents).filter(posting_id=posting)
    else:
        from .load import load_posting
        from .store import Store

        with Store(store) as st:
            if offline:
                data = load_posting(posting, store=st, refresh=False)
            else:
                from .api import HeyMiloClient

                with HeyMiloClient(base_url=base_url) as client:
                    data = load_posting(posting, client=client, store=st, progress=False)
    demo = read_demographics(demographics, key=key, data=data, on_conflict=on_conflict)
    typer.echo(demo.attrs["join_report"].summary())
    oc = None
    if outcomes:
        oc = read_outcomes(outcomes, key=key, data=data, on_conflict=on_conflict)
        typer.echo(oc.attrs["join_report"].summary())
    audit = bias_audit(
        data, demo, postings=posting, outcomes=oc, exclude_below=exclude_below, min_n=min_n,
        alpha=alpha,
    )  # fmt: skip
    u = audit.unknown.iloc[0]
    typer.echo(
        f"{posting}: {u['n_assessed']:,} assessed; unknown sex {u['sex']:,}, unknown "
        f"race/ethnicity {u['race_ethnicity']:,}, no demographics row {u['no_demographics']:,}"
    )
    typer.echo(f"{'measure':<44} {'dimension':<15} {'min ratio':>9}  {'<0.8':>4} {'flags':>5}")
    for r in audit.summary.itertuples(index=False):
        ratio = "—" if r.min_impact_ratio is None else f"{r.min_impact_ratio:.3f}"
        typer.echo(
            f"{r.label[:44]:<44} {r.dimension:<15} {ratio:>9}  {r.below_four_fifths:>4} "
            f"{r.flagged:>5}"
        )
    flags = audit.flags
    typer.echo(f"Flag rule: {FLAG_RULE}.")
    if flags.empty:
        typer.echo("No evidence of adverse impact under the flag rule.")
    for r in flags.itertuples(index=False):
        typer.echo(
            f"FLAG {r.label} · {r.dimension} · {r.category}: impact ratio {r.impact_ratio:.3f} "
            f"(n={r.n}, p={r.p_value:.2g}, Holm p={r.p_adjusted:.2g}, shortfall {r.shortfall})"
        )
    if json_out:
        audit.to_json(json_out)
        typer.echo(f"json: {json_out}")
    if fail_on_flag and not flags.empty:
        raise SystemExit(2)  # main() turns it into the exit status


# === calibration (suggest-weights, push-weights, rollback) ===


@app.command("suggest-weights")
def suggest_weights_cmd(
    posting: Annotated[str, typer.Argument(help="Posting (interviewer) id.")],
    outcomes: Annotated[str, typer.Option("--outcomes", help="ATS outcomes file (CSV or Excel).")],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write the suggestion as JSON (for push-weights)."),
    ] = None,
    target: Annotated[
        str, typer.Option("--target", help="Outcome column: hired, performance or retention.")
    ] = "hired",
    key: Annotated[
        str, typer.Option("--key", help="Join key: email, interview_id or external_id.")
    ] = "email",
    demographics: Annotated[
        str | None,
        typer.Option("--demographics", "-d", help="Adds impact ratios for current vs suggested."),
    ] = None,
    demographics_key: Annotated[
        str | None,
        typer.Option("--demographics-key", help="Join key of the demographics (default: --key)."),
    ] = None,
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict", help="People whose rows disagree: error, unknown, first or last."
        ),
    ] = "error",
    cut: Annotated[
        float | None,
        typer.Option("--cut", help="Operating cut on the 0–100 score (default: median split)."),
    ] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap resamples.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="SQLite store file (default: $MILO_ANALYTICS_STORE or the user data folder).",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No network: use what the store already has.")
    ] = False,
    documents: Annotated[
        str | None,
        typer.Option(
            "--documents", help="Read exported API documents from DIR instead of the API/store."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL with the version prefix.")
    ] = None,
) -> None:
    """Suggest integer question weights for a posting from hire outcomes (dry: writes nothing).

    Prints old vs new weights, the held-out comparison and the keep/change recommendation.
    The API key comes from HEYMILO_API_KEY only.
    """
    from .calibrate import suggest_weights
    from .outcomes import read_outcomes

    if documents:
        from .load import load_documents

        data = load_documents(documents).filter(posting_id=posting)
    else:
        from .load import load_posting
        from .store import Store

        with Store(store) as st:
            if offline:
                data = load_posting(posting, store=st, refresh=False)
            else:
                from .api import HeyMiloClient

                with HeyMiloClient(base_url=base_url) as client:
                    data = load_posting(posting, client=client, store=st, progress=False)
    oc = read_outcomes(outcomes, key=key, data=data, on_conflict=on_conflict)
    report = oc.attrs.get("join_report")
    if report is not None and hasattr(report, "summary"):
        typer.echo(report.summary())
    demo = None
    if demographics:
        from .outcomes import read_demographics

        demo = read_demographics(
            demographics, key=demographics_key or key, data=data, on_conflict=on_conflict
        )
        typer.echo(demo.attrs["join_report"].summary())
    s = suggest_weights(
        data, oc, target=target, demographics=demo, posting_id=posting, cut=cut,
        key=key, n_boot=n_boot, random_state=seed,
    )  # fmt: skip
    typer.echo(
        f"{posting}: {s.n:,} interviews with a {target!r} outcome; recommendation: "
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


@app.command("push-weights")
def push_weights_cmd(
    suggestion: Annotated[str, typer.Argument(help="suggestion.json from suggest-weights.")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the weights (default: dry run, plan only).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite even if live weights changed since the suggestion."
        ),
    ] = False,
    audit_dir: Annotated[
        str | None,
        typer.Option("--audit-dir", help="Folder of the audit logs (default: user data folder)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL with the version prefix.")
    ] = None,
) -> None:
    """Show (default) or apply the push plan of a suggestion through the questions API.

    Every applied push writes an append-only audit log first; undo it with `rollback`.
    Past candidates keep their scores: only interviews scored afterwards use the new weights.
    """
    from .api import HeyMiloClient
    from .push import push_weights

    with HeyMiloClient(base_url=base_url) as client:
        result = push_weights(client, suggestion, apply=apply, force=force, audit_dir=audit_dir)
    typer.echo(result.summary())
    if result.audit_log:
        typer.echo(f"Undo: milo-analytics rollback {result.audit_log}")


@app.command("rollback")
def rollback_cmd(
    audit_log: Annotated[str, typer.Argument(help="Audit log written by push-weights --apply.")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even weights changed since the push.")
    ] = False,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL with the version prefix.")
    ] = None,
) -> None:
    """Restore the weights a push changed (conflict-checked; logged in the same audit log)."""
    from .api import HeyMiloClient
    from .push import rollback_weights

    with HeyMiloClient(base_url=base_url) as client:
        result = rollback_weights(client, audit_log, force=force)
    typer.echo(result.summary())


# === report and demo ===
# `demo` (the main job on the embedded demo world) and `report` (one real posting).

_DEMO_HELP = (
    "Run the whole toolkit on the embedded demo world, without an account.\n\n"
    "Starts the local HeyMilo-compatible sandbox from the packaged demo world, pulls every "
    "posting over HTTP into a fresh store in OUT, reads the demo ATS export (outcomes.csv) and "
    "voluntary self-identification file (demographics.csv), runs the analyses, the "
    "adverse-impact audit and the weight suggestion, and writes OUT/milo-report.html and "
    "OUT/suggestion.json.\n\n"
    "It prints a short summary, the paths and the dry-run push plan. Nothing is written to the "
    "sandbox unless --apply is given."
)
_REPORT_HELP = (
    "Write one self-contained HTML report for a posting of a real account.\n\n"
    "Pulls the posting incrementally into the local store (HEYMILO_API_KEY must be set unless "
    "--offline), joins the optional outcomes and demographics files, runs the analyses and "
    "writes the report. Candidate names, emails and phone numbers are redacted unless "
    "--no-redact is given.\n\n"
    "Example: milo-analytics report 13D77095 --outcomes ats.csv --demographics eeo.csv -o r.html"
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
    from . import (
        build_report,
        load_postings,
        push_weights,
        read_demographics,
        read_outcomes,
        suggest_weights,
    )
    from .sandbox import run_sandbox
    from .sandbox.world import demo_world_path
    from .store import Store

    def say(msg: str) -> None:
        if not quiet:
            echo_err(msg)

    out.mkdir(parents=True, exist_ok=True)
    store_path = out / "store.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    world_dir = demo_world_path()
    say("Starting the sandbox with the demo world …")
    with run_sandbox("demo") as sb, sb.client() as client:
        posting_ids = [str(p["id"]) for p in client.postings.list(raw=True)]
        say(f"Pulling {len(posting_ids)} postings over HTTP into {store_path} …")
        store = Store(store_path)
        try:
            data = load_postings(
                posting_ids, client=client, store=store, progress=False if quiet else None
            )
        finally:
            _close(store)
        # The demo ATS export is keyed by the ATS id HeyMilo keeps in candidate metadata
        # (`external_id`); about a tenth of its rows lack HeyMilo's interview id, as real
        # exports do. A few people have contradictory rows: they count as unknown rather
        # than stop the run.
        outcomes = read_outcomes(
            world_dir / "outcomes.csv", key="external_id", data=data, on_conflict="unknown"
        )
        demographics = read_demographics(
            world_dir / "demographics.csv", data=data, on_conflict="unknown"
        )
        target_posting = _main_posting(data)
        say(f"Suggesting weights for posting {target_posting} from hire outcomes …")
        suggestion = suggest_weights(
            data, outcomes, demographics=demographics, posting_id=target_posting
        )
        suggestion_path = out / "suggestion.json"
        suggestion_path.write_text(_suggestion_json(suggestion), encoding="utf-8")
        say("Writing the report …")
        report = build_report(
            data,
            outcomes=outcomes,
            demographics=demographics,
            suggestion=suggestion,
            title="HeyMilo demo world — interview analytics",
        )
        report_path = report.save_html(out / "milo-report.html")
        plan = push_weights(client, suggestion, apply=False)
        _print_summary(data, report, suggestion)
        typer.echo(f"Report:     {report_path}")
        typer.echo(f"Suggestion: {suggestion_path}")
        typer.echo("")
        typer.echo(_plan_text(plan, applied=False))
        if apply:
            result = push_weights(client, suggestion, apply=True, audit_dir=out)
            typer.echo("")
            typer.echo(_plan_text(result, applied=True))
            live = {
                str(q["id"]): q.get("score_weight")
                for q in client.questions.list(target_posting, raw=True)
            }
            mismatched = [
                r
                for r in _plan_rows(result)
                if r.get("action") not in (None, "keep", "unchanged")
                and live.get(str(r["question_id"])) != r.get("new")
            ]
            if mismatched:
                from .errors import PushError

                raise PushError(
                    f"verification failed: {len(mismatched)} weights differ on the sandbox after the "
                    f"push; see {getattr(result, 'audit_log', 'the audit log')}"
                )
            typer.echo(
                "Verified: the sandbox now serves the new weights. Candidates scored earlier keep "
                "their scores; interviews completed from now on use the new weights."
            )
            log = getattr(result, "audit_log", None)
            if log:
                typer.echo(f"Audit log:  {log}")
        else:
            typer.echo("Dry run: nothing was written. Re-run with --apply to push to the sandbox.")


@app.command("report", help=_REPORT_HELP)
def report_command(
    posting: Annotated[str, typer.Argument(help="The HeyMilo posting id (e.g. 13D77095).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML report.", dir_okay=False)
    ] = Path("report.html"),
    outcomes: Annotated[
        Path | None,
        typer.Option(
            "--outcomes",
            help="ATS export with hire outcomes (CSV or Excel; joined by --outcomes-key).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    demographics: Annotated[
        Path | None,
        typer.Option(
            "--demographics",
            help="Voluntary self-identification file (CSV/Excel; joined by --demographics-key).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    suggestion: Annotated[
        Path | None,
        typer.Option(
            "--suggestion",
            help="A suggestion.json from suggest-weights to include.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="SQLite store to use (default: the user data directory)."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Use only what the store already has; make no requests."),
    ] = False,
    outcomes_key: Annotated[
        str,
        typer.Option(
            "--outcomes-key",
            help="How outcomes rows join to interviews: email, interview_id or external_id.",
        ),
    ] = "email",
    demographics_key: Annotated[
        str,
        typer.Option(
            "--demographics-key",
            help="How demographics rows join to interviews: email, interview_id or external_id.",
        ),
    ] = "email",
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict",
            help="People with contradictory rows: error (stop), unknown, first or last.",
        ),
    ] = "error",
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep candidate names, emails and phone numbers (redacted by default).",
        ),
    ] = False,
) -> None:
    """Write an HTML report for one posting (see ``_REPORT_HELP``)."""
    from . import build_report, load_posting, read_demographics, read_outcomes
    from .errors import ConfigError
    from .store import Store

    for flag, value in (("--outcomes-key", outcomes_key), ("--demographics-key", demographics_key)):
        if value not in ("email", "interview_id", "external_id"):
            raise ConfigError(f"{flag} {value!r} is not one of email, interview_id, external_id")
    if on_conflict not in ("error", "unknown", "first", "last"):
        raise ConfigError(
            f"--on-conflict {on_conflict!r} is not one of error, unknown, first, last"
        )
    st = Store(store) if store is not None else None
    try:
        if offline:
            data = load_posting(posting, store=st, refresh=False)
        else:
            from . import HeyMiloClient

            with HeyMiloClient() as client:
                data = load_posting(posting, client=client, store=st)
    finally:
        if st is not None:
            _close(st)
    out_frame = (
        read_outcomes(outcomes, data=data, key=outcomes_key, on_conflict=on_conflict)  # type: ignore[arg-type]
        if outcomes
        else None
    )
    demo_frame = (
        read_demographics(demographics, data=data, key=demographics_key, on_conflict=on_conflict)  # type: ignore[arg-type]
        if demographics
        else None
    )
    sugg = None
    if suggestion is not None:
        from . import WeightSuggestion

        sugg = WeightSuggestion.from_json(suggestion.read_text(encoding="utf-8"))
    report = build_report(
        data,
        outcomes=out_frame,
        demographics=demo_frame,
        suggestion=sugg,
        redact_pii=not no_redact,
        title=title,
    )
    path = report.save_html(output)
    typer.echo(
        f"{len(data.candidates):,} candidates, {len(data.interviews):,} completed interviews, "
        f"{len(data.errors):,} load errors"
    )
    for problem in report.problems:
        typer.echo(f"note: {problem}")
    typer.echo(f"Report: {path}")


def _close(obj: object) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()


def _main_posting(data: object) -> str:
    """The posting with the most completed interviews (the one to calibrate)."""
    iv = data.interviews  # type: ignore[attr-defined]
    counts = iv.groupby("posting_id").size().sort_values(ascending=False, kind="stable")
    if counts.empty:
        from .errors import InsufficientDataError

        raise InsufficientDataError("no completed interviews to calibrate weights on")
    return str(counts.index[0])


def _suggestion_json(suggestion: object) -> str:
    text = suggestion.to_json()  # type: ignore[attr-defined]
    return text if text.endswith("\n") else text + "\n"


def _plan_rows(result: object) -> list[dict]:
    plan = getattr(result, "plan", None)
    if plan is None:
        return []
    if hasattr(plan, "to_dict"):
        return list(plan.to_dict("records"))
    return [dict(r) for r in plan]


def _plan_text(result: object, *, applied: bool) -> str:
    rows = _plan_rows(result)
    head = "Applied push:" if applied else "Dry-run push plan (nothing written):"
    if not rows:
        return f"{head} no questions."
    lines = [head, f"  {'question':<50} {'baseline':>8} {'live':>8} {'new':>8}  action"]
    for r in rows:
        text = r.get("text")
        label = str(r.get("question_id", ""))
        if isinstance(text, str) and text:
            label = f"{label} {text}"
        label = label if len(label) <= 50 else label[:49] + "…"
        lines.append(
            f"  {label:<50} {_num(r.get('baseline')):>8} "
            f"{_num(r.get('live')):>8} {_num(r.get('new')):>8}  {r.get('action', '')}"
        )
    return "\n".join(lines)


def _num(v: object) -> str:
    if v is None:
        return "—"
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return "—"
    return f"{f:g}"


def _print_summary(data: Any, report: Any, suggestion: Any) -> None:
    facts = {s.id: s.facts for s in report.sections}
    typer.echo("milo-analytics demo")
    typer.echo(
        f"  {len(data.posting_ids)} postings, {len(data.candidates):,} candidates, "
        f"{len(data.interviews):,} completed interviews, {len(data.errors):,} load errors"
    )
    for pid, alpha in facts.get("questions", {}).get("alpha", {}).items():
        typer.echo(f"  reliability {pid}: Cronbach's alpha = {alpha:.2f}")
    audit = facts.get("adverse-impact", {})
    if "flags" in audit:
        typer.echo(
            f"  adverse impact: {audit['flags']} flagged categories, "
            f"{audit.get('below_four_fifths', 0)} below four-fifths (see the report)"
        )
    notes = [str(n) for n in getattr(suggestion, "notes", []) or []]
    rec = getattr(suggestion, "recommendation", None)
    if notes and notes[0].lower().startswith("recommendation"):
        typer.echo(f"  {notes[0]}")
    elif rec is not None:
        typer.echo(f"  weight suggestion: {rec}")
    for problem in report.problems:
        typer.echo(f"  note: {problem}")


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
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
