"""HTML and plain text for the live views: the table's columns and rows, the details panel, monitor rows.

Pure functions of (batch, now): no widgets here. A table row is `{"id", "cells": [html, ...]}`; the rows widget
rewrites a cell in the browser only when its HTML differs, so every cell must be a function of the batch alone
(and `now` only while the batch runs): "created" is an absolute UTC time, not "3 min ago", so a finished row
stays byte-for-byte the same across refreshes. Every value that came from the API or the user is escaped.
"""

from __future__ import annotations

from typing import Any

from .money import usd
from .parts import (
    ago,
    badge,
    clip,
    counts,
    duration,
    errors_items_html,
    escape,
    eta_seconds,
    eta_text,
    metadata_text,
    progress_html,
    progress_label,
    short_time,
    spend_text,
    spend_usd,
    user_metadata,
    utc_text,
)

__all__ = [
    "DASHBOARD_URL",
    "TABLE_COLUMNS",
    "batch_line",
    "dashboard_url",
    "details_html",
    "failure_reason",
    "monitor_row_html",
    "page_range_text",
    "short_id",
    "table_row",
    "user_metadata",
]

DASHBOARD_URL = "https://platform.openai.com/batches/{id}"
_BORDER = "var(--jp-border-color2, #e0e0e0)"
_TEXT = "color: var(--jp-ui-font-color1, #212121);"
_LIVE_FONT = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;"
_MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 12px;"
_LINK = "color: var(--jp-content-link-color, #1565c0);"
_COPY_ICON = ("<svg width='11' height='11' viewBox='0 0 12 12' aria-hidden='true' style='vertical-align:-1px'>"
              "<rect x='3.5' y='0.5' width='8' height='8' rx='1' fill='none' stroke='currentColor'/>"
              "<rect x='0.5' y='3.5' width='8' height='8' rx='1' fill='currentColor' fill-opacity='.25' "
              "stroke='currentColor'/></svg>")

#: The table's columns: key, label, width (of a `table-layout: fixed` table that fills its output area), the
#: sort key a click on the header sets (None: not sortable) and the header's tooltip.
TABLE_COLUMNS: tuple[dict[str, Any], ...] = (
    {"key": "id", "label": "id", "width": "18%", "sort": None, "title": "batch id (hover: full id; ⧉ copies it)"},
    {"key": "status", "label": "status", "width": "11%", "sort": "status", "title": "sort by status"},
    {"key": "model", "label": "model", "width": "10%", "sort": None, "title": "model"},
    {"key": "created", "label": "created", "width": "11%", "sort": "created",
     "title": "created (UTC); sort newest first"},
    {"key": "progress", "label": "progress", "width": "15%", "sort": None,
     "title": "requests finished / total"},
    {"key": "eta", "label": "ETA", "width": "7%", "sort": None, "title": "estimated time left"},
    {"key": "spend", "label": "spend", "width": "7%", "sort": None, "title": "spend, when known"},
    {"key": "failure", "label": "first failure", "width": "11%", "sort": None,
     "title": "failed requests and the first reason"},
    {"key": "metadata", "label": "metadata", "width": "10%", "sort": None,
     "title": "metadata (batches_ext's own tags hidden)"},
)

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
_TH = f"text-align:left;padding:3px 8px;{_TEXT}font-weight:600"


def dashboard_url(batch_id: str) -> str:
    """The batch's page in the OpenAI dashboard (meaningful for the real API only)."""
    return DASHBOARD_URL.format(id=escape(batch_id))


def short_id(batch_id: str, keep: int = 8) -> str:
    """`batch_…eaf1679a`: the prefix and the last `keep` characters (ids share their leading, time-based digits)."""
    prefix, sep, rest = batch_id.partition("_")
    if not sep or len(rest) <= keep + 2:
        return batch_id
    return f"{prefix}_…{rest[-keep:]}"


def failure_reason(b: Any, first_error: str | None = None) -> str:
    """Why requests failed, in one line: the batch's first validation error, else `first_error` (the first
    line of its error file, when the view has read it); '' when nothing failed or nothing is known."""
    errors = list(getattr(b, "errors", None) or [])
    if errors:
        err = errors[0]
        where = f"line {err.line}: " if getattr(err, "line", None) else ""
        text = f"{where}{err.code or 'error'}: {err.message or ''}".rstrip(": ")
        return text + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
    return first_error or ""


def _eta_text(b: Any, now: float) -> str:
    return "—" if b.is_terminal else eta_text(eta_seconds(b, now))


def _cell(text: str, title: str = "", extra: str = "") -> str:
    tip = f" title='{escape(title)}'" if title else ""
    return f"<span{tip}{extra}>{escape(text)}</span>"


def table_row(b: Any, now: float, *, first_error: str | None = None) -> dict[str, Any]:
    """One row of the live table: `{"id": b.id, "cells": [html per TABLE_COLUMNS]}`."""
    done, failed, total = counts(b)
    bid = escape(b.id)
    id_cell = (f"<span class='bx-id' title='{bid}'>{escape(short_id(b.id))}</span>"
               f"<button class='bx-copy' type='button' data-copy='{bid}' title='copy the full id' "
               f"aria-label='copy {bid}'>{_COPY_ICON}</button>")
    bar = progress_html(b, 40, label=f"{done + failed:,}/{total:,}" if total else None)  # else "queued", "none run"
    reason = failure_reason(b, first_error)
    failure = ""
    if failed or reason:
        head = f"{failed:,} failed" if failed else ""
        failure = " · ".join(p for p in (head, reason) if p)
    meta = metadata_text(user_metadata(b.metadata))
    return {
        "id": b.id,
        "cells": [
            id_cell,
            badge(b.status),
            _cell(b.model or "—", b.model or ""),
            _cell(short_time(b.created_at), utc_text(b.created_at)),
            f"<span title='{escape(progress_label(b))}'>{bar}</span>",
            _cell(_eta_text(b, now)),
            _cell(spend_text(b), _spend_title(b)),
            _cell(failure or "—", failure),
            _cell(meta or "—", meta),
        ],
    }


def _spend_title(b: Any) -> str:
    """The spend cell's tooltip: the exact figure and the price table's date, or why there is none."""
    from ..pricing import PRICES_AS_OF

    value = spend_usd(b)
    if value is None:
        return f"no batch price known for {b.model}" if getattr(b, "model", None) else "no model, no price"
    return f"{usd(value)} at {b.model} batch prices of {PRICES_AS_OF}"


def page_range_text(start: int, shown: int, total: int | None, complete: bool, matching: bool = False) -> str:
    """`1–25 of 307`; `of 300+` while still counting (or past the count limit); `1–25` when nothing is counted."""
    if not shown:
        span = "none"
    else:
        span = f"{start + 1:,}–{start + shown:,}" if shown > 1 else f"{start + 1:,}"
    if total is None:
        return span
    what = " matching" if matching else ""
    return f"{span} of {total:,}{'' if complete else '+'}{what}"


def _timeline(b: Any) -> list[tuple[str, int]]:
    points = [(label, getattr(b, attr, None)) for label, attr in _TIMELINE]
    return sorted(((label, ts) for label, ts in points if ts), key=lambda p: p[1])


def details_html(b: Any, now: float, *, dashboard: bool = False, first_error: str | None = None) -> str:
    """The selected batch: facts, files, every timestamp as a timeline, its errors (each once, with its count),
    and with `dashboard` (the real API) a link to the batch in the OpenAI dashboard."""
    done, failed, total = counts(b)
    tags = {k: v for k, v in (b.metadata or {}).items() if k not in user_metadata(b.metadata)}
    facts = [
        ("endpoint", escape(b.endpoint)),
        ("model", escape(b.model or "—")),
        ("window", escape(b.completion_window)),
        ("requests", f"{done:,} completed, {failed:,} failed, {total:,} total" if total else progress_label(b)),
        ("ETA", escape(_eta_text(b, now))),
        ("spend", escape(_spend_title(b))),
        ("metadata", escape(metadata_text(user_metadata(b.metadata)) or "—")),
        ("batches_ext tags", escape(metadata_text(tags))),
        ("input file", f"<code>{escape(b.input_file_id or '—')}</code>"),
        ("output file", f"<code>{escape(b.output_file_id or '—')}</code>"),
        ("error file", f"<code>{escape(b.error_file_id or '—')}</code>"),
        ("first failure", escape(failure_reason(b, first_error)) if not b.errors else ""),
    ]
    fact_rows = "".join(
        f"<tr><th style='{_TH}'>{k}</th><td style='padding:2px 8px'>{v}</td></tr>" for k, v in facts if v
    )
    start = b.created_at or 0
    tl = "".join(
        f"<tr><td style='padding:1px 8px'>{escape(label)}</td><td style='padding:1px 8px'>{escape(utc_text(ts))}</td>"
        f"<td style='padding:1px 8px'>+{escape(duration(ts - start))}</td></tr>"
        for label, ts in _timeline(b)
    )
    errors = errors_items_html(b.errors or [])
    errors_block = (
        f"<div style='margin-top:4px'><b>errors</b><ul style='margin:2px 0 0 16px;padding:0'>{errors}</ul></div>"
        if errors else ""
    )
    link = (f" · <a class='bx-dashboard' href='{dashboard_url(b.id)}' target='_blank' rel='noopener noreferrer' "
            f"style='{_LINK}'>open in the OpenAI dashboard ↗</a>" if dashboard else "")
    return (
        f"<div class='bx-details' style='{_LIVE_FONT}{_TEXT}line-height:18px;border:1px solid {_BORDER};"
        f"border-radius:4px;padding:6px 8px'><div style='margin-bottom:4px'><code style='{_MONO}'>{escape(b.id)}</code> "
        f"{badge(b.status)} {progress_html(b, 160)}{link}</div>"
        f"<div style='display:flex;gap:24px;flex-wrap:wrap'>"
        f"<table>{fact_rows}</table>"
        f"<div><b>timeline</b><table class='bx-timeline'>{tl}</table></div></div>"
        f"{errors_block}</div>"
    )


def monitor_row_html(batch_id: str, b: Any | None, now: float, *, dashboard: bool = False,
                     problem: str = "") -> str:
    """One monitor line: id, status, bar, counts, elapsed and ETA (once the batch has ended: what it cost), in
    cells that wrap on a narrow screen. `problem` replaces the data of a batch that cannot be shown (e.g. "not
    found", or a job's part not created yet: what it waits for)."""
    cell = "display:inline-block;vertical-align:middle;margin-right:10px;white-space:nowrap"
    short, full = escape(short_id(batch_id)), escape(batch_id)
    linked = dashboard and b is not None
    name = (f"<a href='{dashboard_url(batch_id)}' target='_blank' rel='noopener noreferrer' style='{_LINK}' "
            f"title='{full}: open in the OpenAI dashboard'>{short}</a>" if linked
            else f"<span title='{full}'>{short}</span>")
    head = f"<span style='{cell};width:130px;{_MONO}'>{name}</span>"
    if b is None:
        what = escape(problem) if problem else "loading…"
        return (f"<div class='bx-row' data-batch-id='{escape(batch_id)}' style='{_LIVE_FONT}{_TEXT}'>{head}"
                f"<span style='{cell}'>{what}</span></div>")
    end = b.finished_at if b.is_terminal else None
    elapsed = ((end or now) - b.created_at) if b.created_at else None
    last = (f"<span class='bx-spend' title='spent: {escape(_spend_title(b))}'>{escape(spend_text(b))}</span>"
            if b.is_terminal else f"ETA {escape(eta_text(eta_seconds(b, now)))}")
    return (
        f"<div class='bx-row' data-batch-id='{escape(b.id)}' style='{_LIVE_FONT}{_TEXT}'>{head}"
        f"<span style='{cell};width:84px'>{badge(b.status)}</span>"
        f"<span style='{cell};width:250px'>{progress_html(b, 110)}</span>"
        f"<span style='{cell};width:120px'>elapsed {escape(duration(elapsed))}</span>"
        f"<span style='{cell};width:80px'>{last}</span></div>"
    )


def batch_line(b: Any, now: float, *, eta: bool = False) -> str:
    """One plain-text line for `__repr__` fallbacks."""
    parts = [b.id, b.status, progress_label(b)]
    if eta:
        parts.append("ETA " + ("done" if b.is_terminal else eta_text(eta_seconds(b, now))))
    else:
        parts += [b.endpoint or "", b.model or "", ago(now - b.created_at) if b.created_at else ""]
        meta = metadata_text(user_metadata(b.metadata))
        if meta:
            parts.append(clip(meta, 40))
    return "  ".join(p for p in parts if p)

