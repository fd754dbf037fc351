"""Jobs, lists of jobs and cost estimates, as text and HTML.

A job shows one row per part: its batch (or none yet), its state in words ("waiting for room in the token budget",
"waits until 12:00:00 UTC after a 429", "created again after token_limit_exceeded"), lines, estimated tokens
and spend; then the estimate, the spend so far and any warning. An estimate shows requests, input tokens (and
whether they were counted exactly), the output cap, and the price range with the price table's date; a model
without a price says so. Pure functions of duck-typed values (a `Job`, `JobPart`, `Estimate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..pricing import PRICES_AS_OF
from .money import cost_text, estimate_facts, usd
from .parts import (
    CELL,
    FONT,
    MUTED,
    OFFLINE_LABEL,
    badge,
    escape,
    header_html,
    kv_table_html,
    plural,
    utc_text,
)
from .text import text_table

__all__ = [
    "estimate_repr",
    "estimate_text",
    "estimate_html",
    "part_state",
    "job_repr",
    "job_text",
    "job_html",
    "jobs_text",
    "jobs_html",
    "job_progress",
]

_PENDING_STATES = ("pending", "submitting", "refused", "withdrawn")


# ------------------------------------------------------------------------------------------ estimate


def estimate_repr(est: Any) -> str:
    cost = est.cost
    money = "" if cost is None else f", {usd(cost[0])}–{usd(cost[1]) if cost[1] is not None else '?'}"
    exact = "exact" if est.exact else "estimated"
    cap = f"output ≤ {est.output_cap:,}" if est.output_cap is not None else "output uncapped"
    return f"<Estimate {plural(est.requests, 'request')}, {est.input_tokens:,} input tokens ({exact}), {cap}{money}>"


def estimate_text(est: Any) -> str:
    return "\n".join(["Estimate" + (f" for {est.model}" if est.model else ""),
                      *(f"  {k:<13}{v}" for k, v in estimate_facts(est))])


def estimate_html(est: Any) -> str:
    rows = [(k, escape(v)) for k, v in estimate_facts(est)]
    title = "Estimate" + (f" for <code>{escape(est.model)}</code>" if est.model else "")
    return f"<div class='batches-ext-estimate' style='{FONT}'>{header_html(title, False)}{kv_table_html(rows)}</div>"


# ------------------------------------------------------------------------------------------ one job


def part_state(part: Any, job: Any = None) -> str:
    """Where a part stands, in words (`job`, when given, tells whether a token budget holds it back)."""
    state = part.state
    if state == "pending":
        if part.not_before is not None and str(part.last_error or "").startswith("429"):
            return f"pending: waits until {utc_text(part.not_before)} (429: batches per hour)"
        if part.uncertain:
            return "pending: its last create got no answer (looked for before creating again)"
        if part.earlier:
            again = f"pending: to be created again after token_limit_exceeded (attempt {part.attempts + 1})"
            return again + (f", not before {utc_text(part.not_before)}" if part.not_before is not None else "")
        options = getattr(job, "options", None) or {}
        if job is None or options.get("max_enqueued_tokens") or options.get("learned_budget"):
            return "pending: waits for room in the token budget"
        return "pending: waits for the parts ahead of it"
    if state == "submitting":
        return "creating…"
    if state == "refused":
        return f"refused: {part.last_error or 'the API refused to create it'}"
    if state == "withdrawn":
        return "withdrawn (cancelled before it was created)"
    if state == "failed" and part.last_error:
        return f"failed: {part.last_error}"
    return str(state)


def job_progress(job: Any) -> str:
    """`3/5 parts done, 2 pending`; parts that ended otherwise are named (`1/1 parts over: 1 cancelled`); a job
    whose offline fake is gone says so rather than count parts as running."""
    parts = list(getattr(job, "parts", None) or [])
    if not parts:
        return plural(len(job.batch_ids), "batch")
    if getattr(job, "gone", False):
        return f"{plural(len(parts), 'part')}, state unknown (its offline fake is gone)"
    whole = len(parts)
    unsent = [p for p in parts if p.never_uploaded and p.state in ("pending", "refused")]
    if unsent:  # a submit interrupted during its uploads: those parts can never be created, only retried
        parts = [p for p in parts if p not in unsent]
    over = [p for p in parts if p.final]
    pending = sum(1 for p in parts if p.state == "pending")
    running = len(parts) - len(over) - pending
    others: dict[str, int] = {}
    for p in over:
        if p.state != "completed":
            others[str(p.state)] = others.get(str(p.state), 0) + 1
    if others:
        out = f"{len(over)}/{whole} parts over: " + ", ".join(f"{n} {state}" for state, n in others.items())
        done = len(over) - sum(others.values())
        out += f", {done} completed" if done else ""
    else:
        out = f"{len(over)}/{whole} parts done"
    out += f", {running} running" if running else ""
    out += f", {pending} pending" if pending else ""
    if unsent:
        lines = sum(p.lines for p in unsent)
        out += (f", {plural(len(unsent), 'part')} never uploaded (submit interrupted; {plural(lines, 'line')}: "
                f"retry with inputs=)")
    return out


def _spend(job: Any) -> str:
    value = getattr(job, "spend", None)
    return usd(value) if value is not None else "—"


def job_repr(job: Any) -> str:
    """One line for logs: `<Job job_abc: 2 batches (batch_a, batch_b), 60,000 lines>`."""
    ids = list(job.batch_ids)
    shown = ", ".join(ids[:3]) + (f", +{len(ids) - 3}" if len(ids) > 3 else "")
    lines = f", {plural(job.lines, 'line')}" if getattr(job, "parts", None) else ""
    pending = [p for p in getattr(job, "parts", None) or [] if p.batch_id is None and p.state in _PENDING_STATES[:2]]
    waiting = f", {plural(len(pending), 'part')} pending" if pending else ""
    retry = f", retry of {job.retry_of}" if getattr(job, "retry_of", None) else ""
    fake = f" [{OFFLINE_LABEL}]" if getattr(job, "offline", False) else ""
    return f"<Job {job.id}: {plural(len(ids), 'batch')} ({shown}){lines}{waiting}{retry}{fake}>"


def _facts(job: Any) -> list[str]:
    parts = list(getattr(job, "parts", None) or [])
    facts = [plural(len(parts), "part") if parts else plural(len(job.batch_ids), "batch")]
    if getattr(job, "endpoint", None):
        facts.append(job.endpoint)
    if getattr(job, "model", None):
        facts.append(job.model)
    if parts:
        facts.append(plural(job.lines, "line"))
    return facts


def job_text(job: Any, *, offline: bool | None = None) -> str:
    """A job: one line per part (batch, state, lines, tokens, spend), the estimate, the spend so far, warnings."""
    offline = bool(getattr(job, "offline", False)) if offline is None else offline
    head = f"Job {job.id}  " + ", ".join(_facts(job)) + (f"  [{OFFLINE_LABEL}]" if offline else "")
    if getattr(job, "gone", False):
        head += "  (its offline fake is gone)"
    lines = [head]
    parts = list(getattr(job, "parts", None) or [])
    n = len(parts)
    for part in parts:
        size = f"{plural(part.lines, 'line')}" + (f", {part.bytes:,} bytes" if part.bytes else "")
        size += f", ~{part.tokens:,} tokens" if part.tokens else ""
        lines.append(f"  part {part.index}/{n}  {part.batch_id or '(no batch yet)'}  {part_state(part, job)}  {size}")
    if not parts:
        ids = list(job.batch_ids)
        lines += [f"  part {i}/{len(ids)}  {b}" for i, b in enumerate(ids, start=1)]
    if parts and getattr(job, "estimate", None) and job.estimate_data:
        lines.append(f"  estimate     {cost_text(job.estimate())}")
    if parts and getattr(job, "spend", None) is not None:
        lines.append(f"  spend        {_spend(job)} so far ({job.model} batch prices of {PRICES_AS_OF})")
    if getattr(job, "retry_of", None):
        lines.append(f"  retry of {job.retry_of}")
    lines += [f"  ! {w}" for w in getattr(job, "warnings", None) or []]
    return "\n".join(lines)


def job_html(job: Any, *, offline: bool | None = None, batches: Sequence[Any] | None = None) -> str:
    """A job (one or more batches submitted together); `batches` adds their current status."""
    offline = bool(getattr(job, "offline", False)) if offline is None else offline
    by_id = {b.id: b for b in [*(getattr(job, "batches", {}) or {}).values(), *(batches or [])]}
    parts = list(getattr(job, "parts", None) or [])
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in ("part", "batch", "status", "lines", "bytes", "tokens"))
    rows = []
    if parts:
        for part in parts:
            b = by_id.get(part.batch_id) if part.batch_id else None
            status = badge(b.status) if b is not None else (badge(part.state) if part.state not in _PENDING_STATES
                                                             else escape(part_state(part, job)))
            rows.append(f"<tr><td style='{CELL}'>{part.index}/{len(parts)}</td>"
                        f"<td style='{CELL}'><code>{escape(part.batch_id or '—')}</code></td>"
                        f"<td style='{CELL}'>{status}</td><td style='{CELL}'>{part.lines:,}</td>"
                        f"<td style='{CELL}'>{f'{part.bytes:,}' if part.bytes else ''}</td>"
                        f"<td style='{CELL}'>{f'{part.tokens:,}' if part.tokens else ''}</td></tr>")
    else:
        ids = list(job.batch_ids)
        for n, batch_id in enumerate(ids, start=1):
            b = by_id.get(batch_id)
            rows.append(f"<tr><td style='{CELL}'>{n}/{len(ids)}</td><td style='{CELL}'><code>{escape(batch_id)}</code>"
                        f"</td><td style='{CELL}'>{badge(b.status) if b is not None else ''}</td>"
                        f"<td style='{CELL}'></td><td style='{CELL}'></td><td style='{CELL}'></td></tr>")
    retry = getattr(job, "retry_of", None)
    extra = f" <span style='{MUTED}'>{escape(', '.join(_facts(job)))}"
    extra += f", {escape(job_progress(job))}" if parts else ""
    extra += f", retry of {escape(retry)}" if retry else ""
    extra += ", its offline fake is gone" if getattr(job, "gone", False) else ""
    extra += "</span>"
    facts = []
    if parts and getattr(job, "estimate_data", None):
        facts.append(("estimate", escape(cost_text(job.estimate()))))
    if parts and getattr(job, "spend", None) is not None:
        facts.append(("spend", escape(f"{_spend(job)} so far ({job.model} batch prices of {PRICES_AS_OF})")))
    facts += [("warning", escape(w)) for w in getattr(job, "warnings", None) or []]
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>" \
            f"</table>"
    title = f"Job <code>{escape(job.id)}</code>"
    return (f"<div class='batches-ext-job' style='{FONT}'>{header_html(title, offline, extra)}{table}"
            f"{kv_table_html(facts) if facts else ''}</div>")


# ------------------------------------------------------------------------------------------ many jobs


def _job_row(job: Any) -> tuple[str, ...]:
    backend = getattr(job, "backend", None)
    where = "offline fake" if getattr(job, "offline", False) else (backend.label if backend is not None else "")
    if getattr(job, "gone", False):
        where += " (gone)"
    if getattr(job, "source", "") == "server":
        where += " (from the server)"
    created = utc_text(job.created_at) if getattr(job, "created_at", None) else ""
    saved = str(getattr(job, "results_path", None) or "")
    saved = saved if len(saved) <= 40 else "…" + saved[-39:]  # the file's name matters most
    return (job.id, created, where, str(getattr(job, "model", None) or ""), job_progress(job),
            f"{job.lines:,}" if getattr(job, "parts", None) else "", _spend(job), saved)


_JOB_HEADERS = ("job", "created", "where", "model", "parts", "requests", "spend", "results saved to")


def jobs_text(jobs: Sequence[Any], *, note: str = "") -> str:
    """`%batches jobs`: one line per job, newest first."""
    lines = text_table(_JOB_HEADERS, [_job_row(j) for j in jobs], (28, 23, 40, 20, 100, 10, 10, 40)) if jobs else []
    lines.append(plural(len(jobs), "job") + (f" ({note})" if note else ""))
    return "\n".join(lines)


def jobs_html(jobs: Sequence[Any], *, note: str = "") -> str:
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in _JOB_HEADERS)
    body = "".join("<tr>" + "".join(f"<td style='{CELL}'>{escape(c)}</td>" for c in _job_row(j)) + "</tr>"
                   for j in jobs)
    extra = f" <span style='{MUTED}'>{escape(note)}</span>" if note else ""
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    offline = any(getattr(j, "offline", False) for j in jobs) and all(getattr(j, "offline", False) for j in jobs)
    return (f"<div class='batches-ext-jobs' style='{FONT}'>{header_html(plural(len(jobs), 'job'), offline, extra)}"
            f"{table if jobs else ''}</div>")
