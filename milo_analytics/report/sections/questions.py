"""Questions and reliability: item statistics, correlations, Cronbach's α, examples."""

from __future__ import annotations

import html

import pandas as pd

from ..context import Context
from ..document import Block, Section


def build(ctx: Context) -> Section | None:
    """The section, or None when its inputs are absent."""
    if not (len(ctx.data.interviews) or len(ctx.data.scores)):
        return None
    sec = Section(
        "questions",
        "Questions and reliability",
        intro=(
            "Per-question score distributions, item statistics and Cronbach's α with the "
            "Feldt interval. Each posting's questions are on that posting's "
            "scale (1–5 or 1–10)."
        ),
    )
    res = ctx.keep(
        "items",
        ctx.run(sec, "Item statistics", lambda: ctx.compute("item_statistics", ctx.data)),
    )
    if res is None:
        return sec
    from ... import plots

    notes = [str(n) for n in res.notes]
    for pid in ctx.postings:
        rows = res.table[res.table["posting_id"] == pid]
        if rows.empty:
            continue
        name = ctx.posting_name(pid)
        fig = ctx.run(
            sec, f"Item figure ({pid})", lambda p=pid: res.plot("distribution", posting_id=p)
        )
        if fig is not None:  # a 1–10 legend does not fit beside the bars: put it on top
            fig.update_layout(
                legend=dict(
                    orientation="h",
                    yanchor="bottom",
                    y=1.0,
                    x=0,
                    traceorder="normal",
                    title_text=f"score (scale {ctx.scale_of(pid)})",
                ),
                height=(fig.layout.height or 300) + 40,
                margin=dict(t=100),
            )
            fig.update_xaxes(title="share of interviews")
        ctx.figure(sec, fig)
        ctx.table(
            sec,
            rows,
            title=f"Item statistics — {name} (scale {ctx.scale_of(pid)})",
            notes=[n for n in notes if pid in n],
        )
        corr = ctx.run(sec, f"Correlations ({pid})", lambda p=pid: res.correlations(p))
        if isinstance(corr, pd.DataFrame) and corr.shape[0] >= 2:
            ranks = ctx.ranks()
            corr = corr.copy()
            corr.index = [ctx.question_text.get(q, q) for q in corr.index]
            corr.columns = [f"Q{ranks[q]}" if q in ranks else q for q in corr.columns]
            ctx.figure(
                sec,
                ctx.run(
                    sec,
                    f"Correlation heatmap ({pid})",
                    lambda c=corr, n=name: plots.report_heatmap(
                        c, title=f"Inter-item correlations (pairwise r) — {n}"
                    ),
                ),
                collapsed=True,
            )
    rel = res.reliability
    if isinstance(rel, pd.DataFrame) and len(rel):
        sec.facts["alpha"] = {
            str(p): round(float(a), 3) for p, a in zip(rel["posting_id"], rel["alpha"], strict=True)
        }
        keep = {
            "posting_id": "posting_id", "n": "interviews", "n_feldt": "interviews behind the CI",
            "k": "questions",
            "scale_max": "question scale max", "alpha": "alpha", "ci_low": "ci_low",
            "ci_high": "ci_high", "mean_inter_item_r": "mean inter-item r",
            "sd_overall": "sd (overall, points)", "sem_overall": "SEM (overall, points)",
        }  # fmt: skip
        ctx.table(
            sec,
            rel[[c for c in keep if c in rel.columns]].rename(columns=keep),
            title="Reliability (Cronbach's α with Feldt 95% CI; SEM of the overall score)",
            notes=[n for n in notes if not any(p in n for p in ctx.postings)],
        )
    _examples(ctx, sec)
    return sec


def _examples(ctx: Context, sec: Section) -> None:
    """Up to two evaluation summaries per question (redacted, escaped), deterministic."""
    s = ctx.data.scores
    if s.empty or s["evaluation_summary"].isna().all():
        return
    s = s[s["evaluation_summary"].notna() & (s["evaluation_summary"].str.len() > 0)]
    s = s.sort_values(["posting_id", "rank", "interview_id"], kind="stable")
    parts = []
    for (pid, qid), grp in s.groupby(["posting_id", "question_id"], sort=False):
        quotes = "".join(
            f"<blockquote class='milo-quote'>{html.escape(ctx.redact(str(t))[:600])}</blockquote>"
            for t in grp["evaluation_summary"].head(2)
        )
        label = html.escape(ctx.question_text.get(qid, qid))
        if bool(grp["not_scored"].astype(bool).any()):
            label += " (not scored)"
        parts.append(
            f"<details><summary>{html.escape(ctx.posting_name(pid))} — {label}</summary>"
            f"{quotes}</details>"
        )
        if len(parts) >= 30:
            break
    section_html = "".join(parts)
    sec.blocks.append(
        Block(
            kind="html",
            title="How answers were evaluated (examples)",
            html=section_html,
            notes=["The first two evaluation summaries per question, by interview id."],
        )
    )
