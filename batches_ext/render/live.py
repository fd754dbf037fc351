"""HTML and plain text for the live views: the batch table, the details panel, monitor rows.

Pure functions of (batches, now): no widgets here, so rendering is easy to test and to diff (a view
assigns the new string only when it differs from what is on screen). Every value that came from the
API or the user is escaped. Colours read JupyterLab's CSS variables with light-theme fallbacks. The status
badge, the progress bar and the times are the same `parts` the static views use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .parts import (
    ago,
    badge,
    clip,
    counts,
    duration,
    escape,
    eta_seconds,
    metadata_text,
    progress_html,
    progress_label,
    utc_text,
)

__all__ = ["table_html", "details_html", "monitor_row_html", "batch_line"]

_BORDER = "var(--jp-border-color2, #e0e0e0)"
_MUTED_COLOUR = "var(--jp-ui-font-color2, #6c757d)"
_LIVE_FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;"
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


_TH = f"text-align:left;padding:3px 8px;border-bottom:1px solid {_BORDER};color:{_MUTED_COLOUR};font-weight:600"
_TD = f"padding:3px 8px;border-bottom:1px solid {_BORDER};vertical-align:middle"


def table_html(batches: Sequence[Any], now: float, selected: str | None = None, empty: str = "No batches.") -> str:
    """All rows as one `<table>` (one widget model however many rows)."""
    if not batches:
        return f"<div class='bx-empty' style='{_LIVE_FONT}color:{_MUTED_COLOUR};padding:8px'>{escape(empty)}</div>"
    head = "".join(
        f"<th style='{_TH}'>{h}</th>" for h in ("id", "status", "endpoint", "model", "created", "progress", "metadata")
    )
    rows = []
    for b in batches:
        meta = metadata_text(b.metadata)
        created = ago(now - b.created_at) if b.created_at else ""
        style = " style='background:var(--jp-layout-color2,#eef4ff)'" if b.id == selected else ""
        rows.append(
            f"<tr data-batch-id='{escape(b.id)}'{style}>"
            f"<td style='{_TD};{_MONO}'>{escape(b.id)}</td>"
            f"<td style='{_TD}'>{badge(b.status)}</td>"
            f"<td style='{_TD}'>{escape(b.endpoint)}</td>"
            f"<td style='{_TD}'>{escape(b.model or '—')}</td>"
            f"<td style='{_TD}' title='{escape(utc_text(b.created_at))}'>{escape(created)}</td>"
            f"<td style='{_TD}'>{progress_html(b)}</td>"
            f"<td style='{_TD}' title='{escape(meta)}'>{escape(clip(meta))}</td>"
            "</tr>"
        )
    return (
        f"<table class='bx-table' style='border-collapse:collapse;width:100%;{_LIVE_FONT}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _timeline(b: Any) -> list[tuple[str, int]]:
    points = [(label, getattr(b, attr, None)) for label, attr in _TIMELINE]
    return sorted(((label, ts) for label, ts in points if ts), key=lambda p: p[1])


def details_html(b: Any, now: float) -> str:
    """The selected batch: facts, files, every timestamp as a timeline, and its errors."""
    done, failed, total = counts(b)
    facts = [
        ("endpoint", escape(b.endpoint)),
        ("model", escape(b.model or "—")),
        ("window", escape(b.completion_window)),
        ("requests", f"{done} completed, {failed} failed, {total} total"),
        ("metadata", escape(metadata_text(b.metadata) or "—")),
        ("input file", f"<code>{escape(b.input_file_id or '—')}</code>"),
        ("output file", f"<code>{escape(b.output_file_id or '—')}</code>"),
        ("error file", f"<code>{escape(b.error_file_id or '—')}</code>"),
    ]
    fact_rows = "".join(
        f"<tr><th style='{_TH};border:0'>{k}</th><td style='padding:2px 8px'>{v}</td></tr>" for k, v in facts
    )
    start = b.created_at or 0
    tl = "".join(
        f"<tr><td style='padding:1px 8px'>{escape(label)}</td><td style='padding:1px 8px'>{escape(utc_text(ts))}</td>"
        f"<td style='padding:1px 8px;color:{_MUTED_COLOUR}'>+{escape(duration(ts - start))}</td></tr>"
        for label, ts in _timeline(b)
    )
    errors = "".join(
        f"<li><code>{escape(err.code)}</code> {escape(err.message)}"
        + (f" (line {escape(err.line)})" if getattr(err, "line", None) else "")
        + (f" [param {escape(err.param)}]" if getattr(err, "param", None) else "")
        + "</li>"
        for err in (b.errors or [])
    )
    errors_block = (
        f"<div style='margin-top:4px'><b>errors</b><ul style='margin:2px 0 0 16px;padding:0'>{errors}</ul></div>"
        if errors
        else ""
    )
    return (
        f"<div class='bx-details' style='{_LIVE_FONT}border:1px solid {_BORDER};border-radius:4px;padding:6px 8px'>"
        f"<div style='margin-bottom:4px'><code style='{_MONO}'>{escape(b.id)}</code> {badge(b.status)} "
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
            f"<div class='bx-row' style='{_LIVE_FONT}'><span style='{cell};width:300px;{_MONO}'>{escape(batch_id)}</span>"
            f"<span style='{cell};color:{_MUTED_COLOUR}'>loading…</span></div>"
        )
    end = b.finished_at if b.is_terminal else None
    elapsed = ((end or now) - b.created_at) if b.created_at else None
    eta = eta_seconds(b, now)
    eta_text = "done" if b.is_terminal else duration(eta)
    return (
        f"<div class='bx-row' data-batch-id='{escape(b.id)}' style='{_LIVE_FONT}'>"
        f"<span style='{cell};width:300px;{_MONO}'>{escape(b.id)}</span>"
        f"<span style='{cell};width:90px'>{badge(b.status)}</span>"
        f"<span style='{cell};width:260px'>{progress_html(b, 140)}</span>"
        f"<span style='{cell};width:110px;color:{_MUTED_COLOUR}'>elapsed {escape(duration(elapsed))}</span>"
        f"<span style='{cell};width:90px;color:{_MUTED_COLOUR}'>ETA {escape(eta_text)}</span></div>"
    )


def batch_line(b: Any, now: float, *, eta: bool = False) -> str:
    """One plain-text line for `__repr__` fallbacks."""
    parts = [b.id, b.status, progress_label(b)]
    if eta:
        parts.append("ETA " + ("done" if b.is_terminal else duration(eta_seconds(b, now))))
    else:
        parts += [b.endpoint or "", b.model or "", ago(now - b.created_at) if b.created_at else ""]
        if b.metadata:
            parts.append(clip(metadata_text(b.metadata), 40))
    return "  ".join(p for p in parts if p)
