"""HTML and plain text for batches, lists of batches, results, jobs, dry runs and settings.

Pure functions of their arguments (no IPython, no widgets, no network), and the only producer of these
views: the values' own `_repr_html_` / `__repr__` call them, so a value looks the same whether or not the
extension is loaded. Every value that came from the API or the user is escaped. The "offline fake" marker
comes from the value itself (objects a client of the in-process fake returns carry `offline=True`) unless
`offline=` says otherwise: a view of the fake must never be mistaken for the real API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .parts import (
    CELL,
    FONT,
    MUTED,
    OFFLINE_LABEL,
    badge,
    badge_result,
    counts,
    escape,
    header_html,
    kv_table_html,
    metadata_html,
    progress_html,
    utc_text,
)

__all__ = [
    "batch_html",
    "batch_text",
    "batches_html",
    "batches_text",
    "results_html",
    "results_text",
    "job_html",
    "job_text",
    "preflight_html",
    "preflight_text",
    "settings_html",
    "settings_text",
]
_SNIPPET = 80


def _offline(value: Any, offline: bool | None) -> bool:
    """The caller's word, else what the value knows of itself (objects from the offline fake say so; a plain
    list of batches is offline when any of them is)."""
    if offline is not None:
        return offline
    if hasattr(value, "offline"):
        return bool(value.offline)
    return isinstance(value, (list, tuple)) and any(getattr(v, "offline", False) for v in value)


# ------------------------------------------------------------------------------------------ one batch


def batch_html(b: Any, *, offline: bool | None = None) -> str:
    """One batch: status, progress, timeline, files, metadata and validation errors."""
    offline = _offline(b, offline)
    done, failed, total = counts(b)
    finished = getattr(b, "finished_at", None)
    rows = [
        ("requests", f"{progress_html(b)}"),
        ("endpoint", escape(b.endpoint)),
        ("model", escape(getattr(b, "model", None))),
        ("created", escape(utc_text(b.created_at))),
        ("finished", escape(utc_text(finished))),
        ("expires", escape(utc_text(b.expires_at)) if not finished else ""),
        ("input file", f"<code>{escape(b.input_file_id)}</code>" if b.input_file_id else ""),
        ("output file", f"<code>{escape(b.output_file_id)}</code>" if b.output_file_id else ""),
        ("error file", f"<code>{escape(b.error_file_id)}</code>" if b.error_file_id else ""),
        ("metadata", metadata_html(b.metadata)),
    ]
    errors = getattr(b, "errors", None) or []
    if errors:
        items = "".join(
            f"<li>{'line ' + escape(err.line) + ': ' if getattr(err, 'line', None) else ''}"
            f"<code>{escape(err.code)}</code> {escape(err.message)}</li>" for err in errors[:10])
        more = f"<li>… {len(errors) - 10} more</li>" if len(errors) > 10 else ""
        rows.append(("errors", f"<ul style='margin:0;padding-left:16px'>{items}{more}</ul>"))
    title = f"Batch <code>{escape(b.id)}</code> {badge(b.status)}"
    return f"<div class='batches-ext-batch' style='{FONT}'>{header_html(title, offline)}{kv_table_html(rows)}</div>"


def batch_text(b: Any, *, offline: bool | None = None) -> str:
    offline = _offline(b, offline)
    done, failed, total = counts(b)
    head = f"[{OFFLINE_LABEL}] " if offline else ""
    return f"{head}{b.id}  {b.status}  {done + failed}/{total} done ({failed} failed)  {b.endpoint or ''}".rstrip()


# ------------------------------------------------------------------------------------------ many


def batches_html(batches: Sequence[Any], *, offline: bool | None = None, note: str = "") -> str:
    """A table of batches, newest first as given; `note` (e.g. the filter used) goes under the title."""
    offline = _offline(batches, offline)
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in ("id", "status", "progress", "endpoint", "created",
                                                             "metadata"))
    body = "".join(
        f"<tr><td style='{CELL}'><code>{escape(b.id)}</code></td><td style='{CELL}'>{badge(b.status)}</td>"
        f"<td style='{CELL}'>{progress_html(b, 90)}</td><td style='{CELL}'>{escape(b.endpoint)}</td>"
        f"<td style='{CELL}'>{escape(utc_text(b.created_at))}</td><td style='{CELL}'>{metadata_html(b.metadata)}</td></tr>"
        for b in batches)
    n = len(batches)
    title = f"{n:,} batch{'es' if n != 1 else ''}"
    extra = f" <span style='{MUTED}'>{escape(note)}</span>" if note else ""
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='batches-ext-list' style='{FONT}'>{header_html(title, offline, extra)}{table if n else ''}</div>"


def batches_text(batches: Sequence[Any], *, offline: bool | None = None, note: str = "") -> str:
    offline = _offline(batches, offline)
    lines = [batch_text(b, offline=False) for b in batches]
    n = len(batches)
    tail = f"{n} batch{'es' if n != 1 else ''}" + (f" ({note})" if note else "")
    head = [f"[{OFFLINE_LABEL}]"] if offline else []
    return "\n".join([*head, *lines, tail])


# ------------------------------------------------------------------------------------------ results


def _snippet(row: Any) -> str:
    if getattr(row, "status", None) == "ok":
        text = getattr(row, "text", None)
        if text is None:
            text = json.dumps(getattr(row, "body", None), ensure_ascii=False, default=str)
    else:
        text = " ".join(str(x) for x in (getattr(row, "error_code", None), getattr(row, "error_message", None)) if x)
    text = " ".join(str(text).split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def results_html(res: Any, *, offline: bool | None = None, max_rows: int = 50) -> str:
    """Results: counts per status, then the first `max_rows` rows (custom_id, status, code, text or error)."""
    offline = _offline(res, offline)
    rows = list(res)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = ", ".join(f"{badge_result(s)} {n:,}" for s, n in counts.items())
    batches = getattr(res, "batches", None) or []
    source = ""
    if batches:
        ids = ", ".join(escape(getattr(b, "id", b)) for b in batches[:3])
        source = f" <span style='{MUTED}'>from {ids}{' …' if len(batches) > 3 else ''}</span>"
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in ("custom_id", "status", "code", "result"))
    body = "".join(
        f"<tr><td style='{CELL}'><code>{escape(r.custom_id)}</code></td><td style='{CELL}'>{badge_result(r.status)}"
        f"</td><td style='{CELL}'>{escape(r.status_code)}</td><td style='{CELL}'>{escape(_snippet(r))}</td></tr>"
        for r in rows[:max_rows])
    if len(rows) > max_rows:
        body += f"<tr><td colspan='4' style='{CELL};{MUTED}'>… {len(rows) - max_rows:,} more rows</td></tr>"
    title = f"{len(rows):,} result{'s' if len(rows) != 1 else ''}"
    extra = f" {summary}{source}"
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='batches-ext-results' style='{FONT}'>{header_html(title, offline, extra)}{table}</div>"


def results_text(res: Any) -> str:
    """The one-line summary of Results: counts per status and the batches they came from."""
    batches = list(getattr(res, "batches", None) or [])
    ids = ", ".join(getattr(b, "id", str(b)) for b in batches[:3])
    more = f" +{len(batches) - 3}" if len(batches) > 3 else ""
    where = f" from {ids}{more}" if ids else ""
    return f"<Results {res.summary()}{where}>"


# ------------------------------------------------------------------------------------------ job


def job_html(job: Any, *, offline: bool | None = None, batches: Sequence[Any] | None = None) -> str:
    """A job (one or more batches submitted together); `batches` adds their current status."""
    offline = _offline(job, offline)
    by_id = {b.id: b for b in batches or []}
    parts = list(getattr(job, "parts", None) or [])
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in ("part", "batch", "status", "lines", "bytes"))
    rows = []
    ids = list(job.batch_ids)
    for n, batch_id in enumerate(ids, start=1):
        part = parts[n - 1] if n - 1 < len(parts) else None
        b = by_id.get(batch_id)
        rows.append(
            f"<tr><td style='{CELL}'>{n}/{len(ids)}</td><td style='{CELL}'><code>{escape(batch_id)}</code></td>"
            f"<td style='{CELL}'>{badge(b.status) if b is not None else ''}</td>"
            f"<td style='{CELL}'>{f'{part.lines:,}' if part else ''}</td>"
            f"<td style='{CELL}'>{f'{part.bytes:,}' if part else ''}</td></tr>")
    retry = getattr(job, "retry_of", None)
    extra = f" <span style='{MUTED}'>{len(ids)} batch{'es' if len(ids) != 1 else ''}"
    extra += f", {escape(job.endpoint)}" if getattr(job, "endpoint", None) else ""
    extra += f", retry of {escape(retry)}" if retry else ""
    extra += "</span>"
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>" \
            f"</table>"
    return f"<div class='batches-ext-job' style='{FONT}'>{header_html(f'Job <code>{escape(job.id)}</code>', offline, extra)}" \
           f"{table}</div>"


def job_text(job: Any) -> str:
    """`Job('job_…', 2 batches: batch_a, batch_b, 60,000 lines)`."""
    batch_ids = list(job.batch_ids)
    ids = ", ".join(batch_ids[:3]) + (f", +{len(batch_ids) - 3}" if len(batch_ids) > 3 else "")
    n = len(batch_ids)
    lines = f", {job.lines:,} lines" if getattr(job, "parts", None) else ""
    retry = f", retry_of={job.retry_of!r}" if getattr(job, "retry_of", None) else ""
    return f"Job({job.id!r}, {n} batch{'es' if n != 1 else ''}: {ids}{lines}{retry})"


# ------------------------------------------------------------------------------------------ dry run


def _split_text(report: Any) -> str:
    return "yes: it becomes several batches" if getattr(report, "needs_split", False) else "no"


def preflight_html(report: Any, *, offline: bool = False) -> str:
    """A `--dry-run`: what would be uploaded (lines, bytes, endpoint, model, split); nothing was created."""
    rows = [
        ("requests", f"{report.lines:,}"),
        ("bytes", f"{report.bytes:,}"),
        ("endpoint", escape(report.endpoint)),
        ("model", escape(report.model or "(mixed or none)")),
        ("split", escape(_split_text(report))),
    ]
    title = "Dry run: nothing created"
    return f"<div class='batches-ext-dry-run' style='{FONT}'>{header_html(title, offline)}{kv_table_html(rows)}</div>"


def preflight_text(report: Any, *, offline: bool = False) -> str:
    head = f"[{OFFLINE_LABEL}] " if offline else ""
    return (f"{head}dry run: {report.lines:,} lines, {report.bytes:,} bytes, endpoint {report.endpoint}, "
            f"model {report.model}, split: {_split_text(report)}; nothing created")


# ------------------------------------------------------------------------------------------ settings


def settings_html(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    """`(name, shown value, source)` rows; the caller never passes a key (only "set" / "not set")."""
    body = "".join(f"<tr><th style='{CELL};font-weight:normal'>{escape(n)}</th><td style='{CELL}'><code>{escape(v)}</code>"
                   f"</td><td style='{CELL};{MUTED}'>{escape(s)}</td></tr>" for n, v, s in rows)
    note = f" <span style='{MUTED}'>(the settings below apply when the fake is off)</span>" if offline else ""
    return (f"<div class='batches-ext-config' style='{FONT}'>{header_html('batches_ext settings', offline, note)}"
            f"<table style='border-collapse:collapse'>{body}</table></div>")


def settings_text(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    head = [f"[{OFFLINE_LABEL}] on: the settings below apply when it is off"] if offline else []
    return "\n".join([*head, *(f"{n:14} {v!s:40} ({s})" for n, v, s in rows)])
