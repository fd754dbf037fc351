"""HTML and plain text for batches, lists of batches, results, jobs, dry runs and settings.

Pure functions of their arguments (no IPython, no widgets, no network): the `_repr_html_` of the
models and the `%batches` display hooks call them, so a value looks the same wherever it is shown.
Every value that came from the API or the user is escaped. `offline=True` adds the "offline fake"
marker: a view of the in-process fake must never be mistaken for the real API.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "OFFLINE_LABEL",
    "STATUS_COLOURS",
    "offline_marker_html",
    "badge",
    "progress_html",
    "progress_label",
    "batch_html",
    "batch_text",
    "counts",
    "batches_html",
    "batches_text",
    "results_html",
    "job_html",
    "preflight_html",
    "preflight_text",
    "settings_html",
    "settings_text",
]

OFFLINE_LABEL = "offline fake"
_OFFLINE_TITLE = "in-process FakeBatchesAPI: no network, no cost, simulated results"

# status -> (background, text colour); the raw status string is always shown (`cancelling` included)
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "validating": ("#6c757d", "#fff"),
    "in_progress": ("#0d6efd", "#fff"),
    "finalizing": ("#6f42c1", "#fff"),
    "cancelling": ("#ffc107", "#212529"),
    "completed": ("#198754", "#fff"),
    "failed": ("#dc3545", "#fff"),
    "expired": ("#fd7e14", "#212529"),
    "cancelled": ("#495057", "#fff"),
}
_RESULT_COLOURS = {"ok": "completed", "error": "failed", "expired": "expired", "cancelled": "cancelled",
                   "not_run": "validating"}
_UNKNOWN = ("#adb5bd", "#212529")
_FONT = "font-family:var(--jp-ui-font-family,sans-serif);font-size:12px"
_MUTED = "color:var(--jp-ui-font-color2,#6c757d)"
_CELL = "text-align:left;padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)"
_SNIPPET = 80


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _utc(ts: Any) -> str:
    if ts is None:
        return ""
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


def counts(b: Any) -> tuple[int, int, int]:
    c = getattr(b, "request_counts", None)
    if c is None:
        return 0, 0, 0
    return int(c.completed or 0), int(c.failed or 0), int(c.total or 0)


def offline_marker_html(offline: bool) -> str:
    """The "offline fake" badge ('' when not offline)."""
    if not offline:
        return ""
    return (f"<span class='bx-offline' title='{_e(_OFFLINE_TITLE)}' style='background:#ffc107;color:#212529;"
            f"padding:1px 7px;border-radius:3px;font-weight:bold;font-size:11px;margin-left:6px'>"
            f"{OFFLINE_LABEL.upper()}</span>")


def badge(status: Any) -> str:
    bg, fg = STATUS_COLOURS.get(str(status), _UNKNOWN)
    return (f"<span class='bx-badge bx-{_e(status)}' style='background:{bg};color:{fg};padding:1px 7px;"
            f"border-radius:9px;font-size:11px;white-space:nowrap'>{_e(status)}</span>")


def progress_label(b: Any) -> str:
    """`processed/total` (processed = completed + failed), plus `, N failed` when any failed."""
    done, failed, total = counts(b)
    return f"{done + failed:,}/{total:,}" + (f", {failed:,} failed" if failed else "")


def progress_html(b: Any, width: int = 140) -> str:
    """A two-colour bar (completed green, failed red) and its `progress_label` (class bx-counts).

    The one progress bar of the package: the static views and the live widgets both use it. The bar is
    an inline flex box of a fixed height whose fills are flex items, so no line-height, font baseline or
    `vertical-align` of the surrounding text (ipywidgets' HTML widget sets a 28 px line-height) can move a
    fill out of the bar; the real-browser test measures that each fill lies inside its bar.
    """
    done, failed, total = counts(b)
    ok = 100.0 * done / total if total else (100.0 if getattr(b, "status", "") == "completed" else 0.0)
    bad = 100.0 * failed / total if total else 0.0
    fill = "display:block;flex:none;height:100%"
    bar = (f"<span class='bx-bar' role='progressbar' aria-valuemin='0' aria-valuemax='100' "
           f"aria-valuenow='{ok + bad:.0f}' data-completed='{done}' data-failed='{failed}' data-total='{total}' "
           f"style='display:inline-flex;box-sizing:border-box;width:{width}px;height:8px;line-height:0;"
           f"vertical-align:middle;background:var(--jp-layout-color3,#e9ecef);border-radius:4px;overflow:hidden'>"
           f"<span class='bx-fill-ok' style='{fill};width:{ok:.1f}%;background:#198754'></span>"
           f"<span class='bx-fill-failed' style='{fill};width:{bad:.1f}%;background:#dc3545'></span></span>")
    return (f"<span style='white-space:nowrap'>{bar} <span class='bx-counts' style='{_MUTED};"
            f"font-variant-numeric:tabular-nums'>{progress_label(b)}</span></span>")


def _header(title: str, offline: bool, extra: str = "") -> str:
    return f"<div style='margin-bottom:4px'><b>{title}</b>{extra}{offline_marker_html(offline)}</div>"


def _kv_table(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th style='{_CELL};{_MUTED};font-weight:normal'>{_e(k)}</th><td style='{_CELL}'>{v}</td>"
                    f"</tr>" for k, v in rows if v)
    return f"<table style='border-collapse:collapse'>{cells}</table>"


def _metadata(meta: Any) -> str:
    if not meta:
        return ""
    return ", ".join(f"{_e(k)}={_e(v)}" for k, v in dict(meta).items())


# ------------------------------------------------------------------------------------------ one batch


def batch_html(b: Any, *, offline: bool = False) -> str:
    """One batch: status, progress, timeline, files, metadata and validation errors."""
    done, failed, total = counts(b)
    finished = getattr(b, "finished_at", None)
    rows = [
        ("requests", f"{progress_html(b)}"),
        ("endpoint", _e(b.endpoint)),
        ("model", _e(getattr(b, "model", None))),
        ("created", _e(_utc(b.created_at))),
        ("finished", _e(_utc(finished))),
        ("expires", _e(_utc(b.expires_at)) if not finished else ""),
        ("input file", f"<code>{_e(b.input_file_id)}</code>" if b.input_file_id else ""),
        ("output file", f"<code>{_e(b.output_file_id)}</code>" if b.output_file_id else ""),
        ("error file", f"<code>{_e(b.error_file_id)}</code>" if b.error_file_id else ""),
        ("metadata", _metadata(b.metadata)),
    ]
    errors = getattr(b, "errors", None) or []
    if errors:
        items = "".join(
            f"<li>{'line ' + _e(err.line) + ': ' if getattr(err, 'line', None) else ''}"
            f"<code>{_e(err.code)}</code> {_e(err.message)}</li>" for err in errors[:10])
        more = f"<li>… {len(errors) - 10} more</li>" if len(errors) > 10 else ""
        rows.append(("errors", f"<ul style='margin:0;padding-left:16px'>{items}{more}</ul>"))
    title = f"Batch <code>{_e(b.id)}</code> {badge(b.status)}"
    return f"<div class='batches-ext-batch' style='{_FONT}'>{_header(title, offline)}{_kv_table(rows)}</div>"


def batch_text(b: Any, *, offline: bool = False) -> str:
    done, failed, total = counts(b)
    head = f"[{OFFLINE_LABEL}] " if offline else ""
    return f"{head}{b.id}  {b.status}  {done + failed}/{total} done ({failed} failed)  {b.endpoint or ''}".rstrip()


# ------------------------------------------------------------------------------------------ many


def batches_html(batches: Sequence[Any], *, offline: bool = False, note: str = "") -> str:
    """A table of batches, newest first as given; `note` (e.g. the filter used) goes under the title."""
    head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("id", "status", "progress", "endpoint", "created",
                                                             "metadata"))
    body = "".join(
        f"<tr><td style='{_CELL}'><code>{_e(b.id)}</code></td><td style='{_CELL}'>{badge(b.status)}</td>"
        f"<td style='{_CELL}'>{progress_html(b, 90)}</td><td style='{_CELL}'>{_e(b.endpoint)}</td>"
        f"<td style='{_CELL}'>{_e(_utc(b.created_at))}</td><td style='{_CELL}'>{_metadata(b.metadata)}</td></tr>"
        for b in batches)
    n = len(batches)
    title = f"{n:,} batch{'es' if n != 1 else ''}"
    extra = f" <span style='{_MUTED}'>{_e(note)}</span>" if note else ""
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='batches-ext-list' style='{_FONT}'>{_header(title, offline, extra)}{table if n else ''}</div>"


def batches_text(batches: Sequence[Any], *, offline: bool = False, note: str = "") -> str:
    lines = [batch_text(b) for b in batches]
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


def results_html(res: Any, *, offline: bool = False, max_rows: int = 50) -> str:
    """Results: counts per status, then the first `max_rows` rows (custom_id, status, code, text or error)."""
    rows = list(res)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = ", ".join(f"{badge_result(s)} {n:,}" for s, n in counts.items())
    batches = getattr(res, "batches", None) or []
    source = ""
    if batches:
        ids = ", ".join(_e(getattr(b, "id", b)) for b in batches[:3])
        source = f" <span style='{_MUTED}'>from {ids}{' …' if len(batches) > 3 else ''}</span>"
    head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("custom_id", "status", "code", "result"))
    body = "".join(
        f"<tr><td style='{_CELL}'><code>{_e(r.custom_id)}</code></td><td style='{_CELL}'>{badge_result(r.status)}"
        f"</td><td style='{_CELL}'>{_e(r.status_code)}</td><td style='{_CELL}'>{_e(_snippet(r))}</td></tr>"
        for r in rows[:max_rows])
    if len(rows) > max_rows:
        body += f"<tr><td colspan='4' style='{_CELL};{_MUTED}'>… {len(rows) - max_rows:,} more rows</td></tr>"
    title = f"{len(rows):,} result{'s' if len(rows) != 1 else ''}"
    extra = f" {summary}{source}"
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='batches-ext-results' style='{_FONT}'>{_header(title, offline, extra)}{table}</div>"


def badge_result(status: str) -> str:
    """A result row's status ("ok", "error", ...) in the colour of the matching batch status."""
    bg, fg = STATUS_COLOURS.get(_RESULT_COLOURS.get(status, ""), _UNKNOWN)
    return (f"<span style='background:{bg};color:{fg};padding:0 6px;border-radius:9px;font-size:11px'>"
            f"{_e(status)}</span>")


# ------------------------------------------------------------------------------------------ job


def job_html(job: Any, *, offline: bool = False, batches: Sequence[Any] | None = None) -> str:
    """A job (one or more batches submitted together); `batches` adds their current status."""
    by_id = {b.id: b for b in batches or []}
    parts = list(getattr(job, "parts", None) or [])
    head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("part", "batch", "status", "lines", "bytes"))
    rows = []
    ids = list(job.batch_ids)
    for n, batch_id in enumerate(ids, start=1):
        part = parts[n - 1] if n - 1 < len(parts) else None
        b = by_id.get(batch_id)
        rows.append(
            f"<tr><td style='{_CELL}'>{n}/{len(ids)}</td><td style='{_CELL}'><code>{_e(batch_id)}</code></td>"
            f"<td style='{_CELL}'>{badge(b.status) if b is not None else ''}</td>"
            f"<td style='{_CELL}'>{f'{part.lines:,}' if part else ''}</td>"
            f"<td style='{_CELL}'>{f'{part.bytes:,}' if part else ''}</td></tr>")
    retry = getattr(job, "retry_of", None)
    extra = f" <span style='{_MUTED}'>{len(ids)} batch{'es' if len(ids) != 1 else ''}"
    extra += f", {_e(job.endpoint)}" if getattr(job, "endpoint", None) else ""
    extra += f", retry of {_e(retry)}" if retry else ""
    extra += "</span>"
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>" \
            f"</table>"
    return f"<div class='batches-ext-job' style='{_FONT}'>{_header(f'Job <code>{_e(job.id)}</code>', offline, extra)}" \
           f"{table}</div>"


# ------------------------------------------------------------------------------------------ dry run


def _split_text(report: Any) -> str:
    return "yes: it becomes several batches" if getattr(report, "needs_split", False) else "no"


def preflight_html(report: Any, *, offline: bool = False) -> str:
    """A `--dry-run`: what would be uploaded (lines, bytes, endpoint, model, split); nothing was created."""
    rows = [
        ("requests", f"{report.lines:,}"),
        ("bytes", f"{report.bytes:,}"),
        ("endpoint", _e(report.endpoint)),
        ("model", _e(report.model or "(mixed or none)")),
        ("split", _e(_split_text(report))),
    ]
    title = "Dry run: nothing created"
    return f"<div class='batches-ext-dry-run' style='{_FONT}'>{_header(title, offline)}{_kv_table(rows)}</div>"


def preflight_text(report: Any, *, offline: bool = False) -> str:
    head = f"[{OFFLINE_LABEL}] " if offline else ""
    return (f"{head}dry run: {report.lines:,} lines, {report.bytes:,} bytes, endpoint {report.endpoint}, "
            f"model {report.model}, split: {_split_text(report)}; nothing created")


# ------------------------------------------------------------------------------------------ settings


def settings_html(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    """`(name, shown value, source)` rows; the caller never passes a key (only "set" / "not set")."""
    body = "".join(f"<tr><th style='{_CELL};font-weight:normal'>{_e(n)}</th><td style='{_CELL}'><code>{_e(v)}</code>"
                   f"</td><td style='{_CELL};{_MUTED}'>{_e(s)}</td></tr>" for n, v, s in rows)
    note = f" <span style='{_MUTED}'>(the settings below apply when the fake is off)</span>" if offline else ""
    return (f"<div class='batches-ext-config' style='{_FONT}'>{_header('batches_ext settings', offline, note)}"
            f"<table style='border-collapse:collapse'>{body}</table></div>")


def settings_text(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    head = [f"[{OFFLINE_LABEL}] on: the settings below apply when it is off"] if offline else []
    return "\n".join([*head, *(f"{n:14} {v!s:40} ({s})" for n, v, s in rows)])
