"""HTML and plain-text rendering for the widget views: the batch table, the details panel, monitor rows.

Pure functions of (batches, now): no widgets here, so rendering is easy to test and to diff (a view
assigns the new string only when it differs from what is on screen). Every value that came from the
API or the user is escaped. Colours read JupyterLab's CSS variables with light-theme fallbacks. The status
badge, the progress bar and UTC stamps are batches_ext.render's, shared with the static views.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..render import STATUS_COLOURS, _utc, badge, counts, progress_html, progress_label

__all__ = [
    "STATUS_COLOURS",
    "badge",
    "ago",
    "duration",
    "eta_seconds",
    "table_html",
    "details_html",
    "monitor_row_html",
    "batch_text",
    "metadata_text",
]

_BORDER = "var(--jp-border-color2, #e0e0e0)"
_MUTED = "var(--jp-ui-font-color2, #6c757d)"
_FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;"
_MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 12px;"

_TIMELINE = (
    ("created", "created_at"),
    ("in progress", "in_progress_at"),
    ("finalizing", "finalizing_at"),
    ("completed", "completed_at"),
    ("failed", "failed_at"),
    ("cancelling", "cancelling_at"),
    ("cancelled", "cancelled_at"),
    ("expired", "expired_at"),
    ("expires", "expires_at"),
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def ago(seconds: float | None) -> str:
    """Coarse relative time ("just now", "40 s ago", "3 min ago", "2 h ago", "5 d ago")."""
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    if s < 10:
        return "just now"
    if s < 60:
        return f"{s // 10 * 10} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86_400:
        return f"{s // 3600} h ago"
    return f"{s // 86_400} d ago"


def duration(seconds: float | None) -> str:
    """`1h 02m`, `3m 05s`, `42s`; an em dash for unknown."""
    if seconds is None:
        return "—"
    s = max(0, int(round(seconds)))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def eta_seconds(b: Any, now: float) -> float | None:
    """Remaining time from the rate since `in_progress_at`; None when it cannot be estimated yet."""
    if b.is_terminal:
        return 0.0
    done, failed, total = counts(b)
    started = b.in_progress_at
    finished = done + failed
    if not started or not total or not finished or now <= started:
        return None
    rate = finished / (now - started)
    return max(0.0, (total - finished) / rate)


def metadata_text(metadata: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (metadata or {}).items())


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TH = f"text-align:left;padding:3px 8px;border-bottom:1px solid {_BORDER};color:{_MUTED};font-weight:600"
_TD = f"padding:3px 8px;border-bottom:1px solid {_BORDER};vertical-align:middle"


def table_html(batches: Sequence[Any], now: float, selected: str | None = None, empty: str = "No batches.") -> str:
    """All rows as one `<table>` (one widget model however many rows)."""
    if not batches:
        return f"<div class='bx-empty' style='{_FONT}color:{_MUTED};padding:8px'>{_e(empty)}</div>"
    head = "".join(
        f"<th style='{_TH}'>{h}</th>" for h in ("id", "status", "endpoint", "model", "created", "progress", "metadata")
    )
    rows = []
    for b in batches:
        meta = metadata_text(b.metadata)
        created = ago(now - b.created_at) if b.created_at else ""
        style = " style='background:var(--jp-layout-color2,#eef4ff)'" if b.id == selected else ""
        rows.append(
            f"<tr data-batch-id='{_e(b.id)}'{style}>"
            f"<td style='{_TD};{_MONO}'>{_e(b.id)}</td>"
            f"<td style='{_TD}'>{badge(b.status)}</td>"
            f"<td style='{_TD}'>{_e(b.endpoint)}</td>"
            f"<td style='{_TD}'>{_e(b.model or '—')}</td>"
            f"<td style='{_TD}' title='{_e(_utc(b.created_at))}'>{_e(created)}</td>"
            f"<td style='{_TD}'>{progress_html(b)}</td>"
            f"<td style='{_TD}' title='{_e(meta)}'>{_e(_clip(meta))}</td>"
            "</tr>"
        )
    return (
        f"<table class='bx-table' style='border-collapse:collapse;width:100%;{_FONT}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _timeline(b: Any) -> list[tuple[str, int]]:
    points = [(label, getattr(b, attr, None)) for label, attr in _TIMELINE]
    return sorted(((label, ts) for label, ts in points if ts), key=lambda p: p[1])


def details_html(b: Any, now: float) -> str:
    """The selected batch: facts, files, every timestamp as a timeline, and its errors."""
    done, failed, total = counts(b)
    facts = [
        ("endpoint", _e(b.endpoint)),
        ("model", _e(b.model or "—")),
        ("window", _e(b.completion_window)),
        ("requests", f"{done} completed, {failed} failed, {total} total"),
        ("metadata", _e(metadata_text(b.metadata) or "—")),
        ("input file", f"<code>{_e(b.input_file_id or '—')}</code>"),
        ("output file", f"<code>{_e(b.output_file_id or '—')}</code>"),
        ("error file", f"<code>{_e(b.error_file_id or '—')}</code>"),
    ]
    fact_rows = "".join(
        f"<tr><th style='{_TH};border:0'>{k}</th><td style='padding:2px 8px'>{v}</td></tr>" for k, v in facts
    )
    start = b.created_at or 0
    tl = "".join(
        f"<tr><td style='padding:1px 8px'>{_e(label)}</td><td style='padding:1px 8px'>{_e(_utc(ts))}</td>"
        f"<td style='padding:1px 8px;color:{_MUTED}'>+{_e(duration(ts - start))}</td></tr>"
        for label, ts in _timeline(b)
    )
    errors = "".join(
        f"<li><code>{_e(err.code)}</code> {_e(err.message)}"
        + (f" (line {_e(err.line)})" if getattr(err, "line", None) else "")
        + (f" [param {_e(err.param)}]" if getattr(err, "param", None) else "")
        + "</li>"
        for err in (b.errors or [])
    )
    errors_block = (
        f"<div style='margin-top:4px'><b>errors</b><ul style='margin:2px 0 0 16px;padding:0'>{errors}</ul></div>"
        if errors
        else ""
    )
    return (
        f"<div class='bx-details' style='{_FONT}border:1px solid {_BORDER};border-radius:4px;padding:6px 8px'>"
        f"<div style='margin-bottom:4px'><code style='{_MONO}'>{_e(b.id)}</code> {badge(b.status)} "
        f"{progress_html(b, 160)}</div>"
        f"<div style='display:flex;gap:24px;flex-wrap:wrap'>"
        f"<table>{fact_rows}</table>"
        f"<div><b>timeline</b><table class='bx-timeline'>{tl}</table></div></div>"
        f"{errors_block}</div>"
    )


def monitor_row_html(batch_id: str, b: Any | None, now: float) -> str:
    """One monitor line: id, status, bar, counts, elapsed and ETA, in fixed-width cells."""
    cell = "display:inline-block;vertical-align:middle;margin-right:10px"
    if b is None:
        return (
            f"<div class='bx-row' style='{_FONT}'><span style='{cell};width:300px;{_MONO}'>{_e(batch_id)}</span>"
            f"<span style='{cell};color:{_MUTED}'>loading…</span></div>"
        )
    end = b.finished_at if b.is_terminal else None
    elapsed = ((end or now) - b.created_at) if b.created_at else None
    eta = eta_seconds(b, now)
    eta_text = "done" if b.is_terminal else duration(eta)
    return (
        f"<div class='bx-row' data-batch-id='{_e(b.id)}' style='{_FONT}'>"
        f"<span style='{cell};width:300px;{_MONO}'>{_e(b.id)}</span>"
        f"<span style='{cell};width:90px'>{badge(b.status)}</span>"
        f"<span style='{cell};width:260px'>{progress_html(b, 140)}</span>"
        f"<span style='{cell};width:110px;color:{_MUTED}'>elapsed {_e(duration(elapsed))}</span>"
        f"<span style='{cell};width:90px;color:{_MUTED}'>ETA {_e(eta_text)}</span></div>"
    )


def batch_text(b: Any, now: float, *, eta: bool = False) -> str:
    """One plain-text line for `__repr__` fallbacks."""
    parts = [b.id, b.status, progress_label(b)]
    if eta:
        parts.append("ETA " + ("done" if b.is_terminal else duration(eta_seconds(b, now))))
    else:
        parts += [b.endpoint or "", b.model or "", ago(now - b.created_at) if b.created_at else ""]
        if b.metadata:
            parts.append(_clip(metadata_text(b.metadata), 40))
    return "  ".join(p for p in parts if p)
