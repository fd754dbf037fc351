"""The pieces every view is built from: escaping, UTC and relative times, status badges, the progress bar,
and the "offline fake" marker. Pure functions, no IPython, no widgets."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "OFFLINE_LABEL",
    "STATUS_COLOURS",
    "escape",
    "plural",
    "short_time",
    "utc_text",
    "iso_text",
    "progress_text",
    "grouped_errors",
    "errors_items_html",
    "lines_text",
    "repeat_text",
    "counts",
    "offline_marker_html",
    "badge",
    "badge_result",
    "progress_label",
    "progress_html",
    "header_html",
    "kv_table_html",
    "metadata_text",
    "metadata_html",
    "user_metadata",
    "clip",
    "ago",
    "duration",
    "eta_text",
    "span_text",
    "eta_seconds",
    "FONT",
    "MUTED",
    "CELL",
    "INTERNAL_METADATA_PREFIX",
    "spend_usd",
    "spend_text",
]

OFFLINE_LABEL = "offline fake"
_OFFLINE_TITLE = "in-process FakeBatchesAPI: no network, no cost, simulated results"

# status -> (background, text colour); the raw status string is always shown (`cancelling` included)
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "validating": ("#6c757d", "#fff"),
    "in_progress": ("#0b5ed7", "#fff"),  # 5.8:1; bootstrap's #0d6efd is 4.50:1
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
FONT = "font-family:var(--jp-ui-font-family,sans-serif);font-size:12px"
MUTED = "color:var(--jp-ui-font-color2,#6c757d)"
#: Metadata keys batches_ext sets on its own batches (job id, part, retry of): hidden from the table's metadata.
INTERNAL_METADATA_PREFIX = "batches_ext_"
CELL = "text-align:left;padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)"


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 batch`, `2 batches`, `1,000 lines`: the count with thousands separators and the right form."""
    if n == 1:
        return f"1 {word}"
    if many is None:
        many = word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{n:,} {many}"


def iso_text(ts: Any) -> str:
    """A Unix timestamp as ISO 8601 UTC to the second (`2026-01-05T10:00:00Z`); '' for None."""
    if ts is None:
        return ""
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


def short_time(ts: Any) -> str:
    """`Dec 01 18:36` (UTC) for a table cell, "—" for none; `utc_text` is the exact time for its tooltip."""
    if not ts:
        return "—"
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc).strftime("%b %d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


def utc_text(ts: Any) -> str:
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
    return (f"<span class='bx-offline' title='{escape(_OFFLINE_TITLE)}' style='background:#ffc107;color:#212529;"
            f"padding:1px 7px;border-radius:3px;font-weight:bold;font-size:11px;margin-left:6px'>"
            f"{OFFLINE_LABEL.upper()}</span>")


def badge(status: Any) -> str:
    bg, fg = STATUS_COLOURS.get(str(status), _UNKNOWN)
    return (f"<span class='bx-badge bx-{escape(status)}' style='background:{bg};color:{fg};padding:1px 7px;"
            f"border-radius:9px;font-size:11px;white-space:nowrap'>{escape(status)}</span>")


def _no_counts(b: Any) -> str | None:
    """What to say instead of "0/0" when a batch has no request counts yet (None when it has some): "queued"
    before they are known (validating), "none run" for a batch that ended without running any."""
    _, _, total = counts(b)
    if total:
        return None
    status = str(getattr(b, "status", ""))
    if status in ("failed", "cancelled", "expired", "cancelling"):
        return "none run"
    return "queued" if status != "completed" else "0/0"


def progress_label(b: Any) -> str:
    """`processed/total` (processed = completed + failed), plus `, N failed` when any failed; "queued" while
    the counts are not known yet (validating), "none run" for a batch that ended before running any."""
    done, failed, total = counts(b)
    instead = _no_counts(b)
    if instead is not None:
        return instead
    return f"{done + failed:,}/{total:,}" + (f", {failed:,} failed" if failed else "")


def progress_text(b: Any) -> str:
    """`40/40 done, 3 failed` (or "queued" / "none run"): a batch's progress as a person says it."""
    done, failed, total = counts(b)
    instead = _no_counts(b)
    if instead is not None:
        return instead
    return f"{done + failed:,}/{total:,} done" + (f", {failed:,} failed" if failed else "")


def grouped_errors(errors: Iterable[Any]) -> list[tuple[str, str, int, list[int]]]:
    """A batch's validation errors with each (code, message) once: `(code, message, count, lines)` in order of
    first appearance, `lines` the 1-based input lines it names (a failed batch often repeats one message for
    every line, e.g. `model_not_found` 22 times)."""
    found: dict[tuple[str, str], tuple[int, list[int]]] = {}
    for err in errors:
        key = (str(getattr(err, "code", None) or ""), str(getattr(err, "message", None) or ""))
        n, lines = found.get(key, (0, []))
        line = getattr(err, "line", None)
        if isinstance(line, int):
            lines.append(line)
        found[key] = (n + 1, lines)
    return [(code, message, n, lines) for (code, message), (n, lines) in found.items()]


def errors_items_html(errors: Iterable[Any], limit: int = 10) -> str:
    """`<li>` items of a batch's validation errors, each (code, message) once with how often and where
    (`grouped_errors`, `repeat_text`), at most `limit` of them and then how many more; '' for none."""
    groups = grouped_errors(errors)
    items = "".join(
        f"<li><code>{escape(code)}</code> {escape(message)}"
        + (f" <span style='{MUTED}'>({escape(repeat_text(n, where))})</span>" if repeat_text(n, where) else "")
        + "</li>" for code, message, n, where in groups[:limit])
    more = f"<li>… {escape(plural(len(groups) - limit, 'more message'))}</li>" if len(groups) > limit else ""
    return items + more


def lines_text(lines: list[int], limit: int = 5) -> str:
    """The 1-based lines an error names, runs joined: `line 3`, `lines 1–22`, `lines 1–3, 7, 9–12 …`."""
    if not lines:
        return ""
    if len(lines) == 1:
        return f"line {lines[0]}"
    runs: list[list[int]] = []
    for n in sorted(set(lines)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    shown = ", ".join(f"{a}–{b}" if b > a else str(a) for a, b in runs[:limit])
    return f"lines {shown}" + (" …" if len(runs) > limit else "")


def repeat_text(n: int, lines: list[int]) -> str:
    """How often one error message occurred: `line 30`, `22 lines: 1–22`, `3 times` ('' for once, no line)."""
    if n == 1:
        return lines_text(lines)
    if lines:
        return f"{n:,} lines: {lines_text(lines)[6:]}" if len(lines) == n else f"{n:,} times, {lines_text(lines)}"
    return f"{n:,} times"


def progress_html(b: Any, width: int = 140, label: str | None = None) -> str:
    """A two-colour bar (completed green, failed red) and its `progress_label` (class bx-counts).

    The one progress bar of the package: the static views and the live widgets both use it. The bar is
    an inline flex box of a fixed height whose fills are flex items, so no line-height, font baseline or
    `vertical-align` of the surrounding text (ipywidgets' HTML widget sets a 28 px line-height) can move a
    fill out of the bar; the real-browser test measures that each fill lies inside its bar. `label` replaces
    the text after the bar (default `progress_label`).
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
    return (f"<span style='white-space:nowrap'>{bar} <span class='bx-counts' style='"
            f"font-variant-numeric:tabular-nums'>{escape(progress_label(b) if label is None else label)}</span></span>")


def header_html(title: str, offline: bool, extra: str = "") -> str:
    return f"<div style='margin-bottom:4px'><b>{title}</b>{extra}{offline_marker_html(offline)}</div>"


def kv_table_html(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th style='{CELL};{MUTED};font-weight:normal'>{escape(k)}</th><td style='{CELL}'>{v}</td>"
                    f"</tr>" for k, v in rows if v)
    return f"<table style='border-collapse:collapse'>{cells}</table>"


def metadata_html(meta: Any) -> str:
    if not meta:
        return ""
    return ", ".join(f"{escape(k)}={escape(v)}" for k, v in dict(meta).items())


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


def eta_text(seconds: float | None) -> str:
    """An estimate's precision: `1h 05m`, `35m`, `42s`; an em dash for unknown (seconds would be false precision
    past a minute, and the table's ETA cell is narrow)."""
    if seconds is None:
        return "—"
    s = max(0, int(round(seconds)))
    return duration(s) if s < 60 or s >= 3600 else f"{round(s / 60)}m"


def span_text(seconds: float) -> str:
    """A lifetime in words: `30 days`, `1 hour`, `90 minutes`."""
    s = int(seconds)
    if s >= 86_400 and s % 86_400 == 0:
        return plural(s // 86_400, "day")
    if s >= 3_600 and s % 3_600 == 0:
        return plural(s // 3_600, "hour")
    if s % 60 == 0:
        return plural(s // 60, "minute")
    return plural(s, "second")


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


def user_metadata(metadata: Any) -> dict[str, Any]:
    """The metadata the user set: every pair but the `batches_ext_*` tags this package adds itself (job id,
    part, retry of, the create's intent)."""
    return {k: v for k, v in dict(metadata or {}).items() if not str(k).startswith(INTERNAL_METADATA_PREFIX)}


def metadata_text(metadata: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (metadata or {}).items())


def clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def badge_result(status: str) -> str:
    """A result row's status ("ok", "error", ...) in the colour of the matching batch status."""
    bg, fg = STATUS_COLOURS.get(_RESULT_COLOURS.get(status, ""), _UNKNOWN)
    return (f"<span style='background:{bg};color:{fg};padding:0 6px;border-radius:9px;font-size:11px'>"
            f"{escape(status)}</span>")


def spend_usd(b: Any) -> float | None:
    """What a batch has cost so far in US dollars: its `usage` at its model's batch price
    (`batches_ext.pricing`, a dated table); 0 before any request ran; None when the model has no price, or when
    requests ran but the API reports no usage (batches created before 2025-09-07).

    The one hook for spend: every view of a batch shows `spend_text(b)` (the table's spend column, the monitor)."""
    from ..pricing import price_for, spend

    model = getattr(b, "model", None)
    if price_for(model) is None:
        return None
    usage = getattr(b, "usage", None)
    if usage:
        return spend(usage, model)
    done, failed, _ = counts(b)
    return None if done + failed else 0.0


def spend_text(b: Any) -> str:
    """`$1.23`, `<$0.01`, `$0.00` before any usage, or an em dash when the model has no price."""
    value = spend_usd(b)
    if value is None:
        return "—"
    return "<$0.01" if 0 < value < 0.01 else f"${value:,.2f}"

