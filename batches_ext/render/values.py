"""HTML for batches, lists of batches, results, jobs, dry runs and settings (their plain text is in `text`).

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

from .money import estimate_facts, spend_line
from .parts import (
    CELL,
    FONT,
    MUTED,
    badge,
    badge_result,
    counts,
    errors_items_html,
    escape,
    header_html,
    kv_table_html,
    metadata_html,
    metadata_text,
    plural,
    progress_html,
    progress_label,
    short_time,
    user_metadata,
    utc_text,
)
from .text import split_text

__all__ = [
    "batch_html",
    "batches_html",
    "results_html",
    "preflight_html",
    "settings_html",
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
    """One batch: status, progress, timeline, files, metadata and validation errors (each message once, with
    how many lines it names)."""
    offline = _offline(b, offline)
    finished = getattr(b, "finished_at", None)
    meta = dict(b.metadata or {})
    job = meta.get("batches_ext_job") if meta.get("batches_ext_part") != "1/1" else None  # one part: just a batch
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
        ("job", f"<code>{escape(job)}</code> part {escape(meta.get('batches_ext_part'))}" if job else ""),
        ("retry of", f"<code>{escape(meta['batches_ext_retry_of'])}</code>" if meta.get("batches_ext_retry_of")
         else ""),
        ("metadata", metadata_html(user_metadata(meta))),
    ]
    errors = errors_items_html(getattr(b, "errors", None) or [])
    if errors:
        rows.append(("errors", f"<ul style='margin:0;padding-left:16px'>{errors}</ul>"))
    title = f"Batch <code>{escape(b.id)}</code> {badge(b.status)}"
    return f"<div class='batches-ext-batch' style='{FONT}'>{header_html(title, offline)}{kv_table_html(rows)}</div>"


# ------------------------------------------------------------------------------------------ many


#: The static list's columns: (label, width of a `table-layout:fixed` table that fills its output area). The
#: id column holds a whole 38-character id at 12 px in an 848 px area (JupyterLab at 1280×800 with the file
#: browser open); narrower, every cell ends in "…" instead of overflowing, and selecting a cell still copies all
#: of it. Endpoint and exact times are in each cell's tooltip, and in `%batches get ID`.
LIST_COLUMNS = (("id", "36%"), ("status", "12%"), ("model", "12%"), ("progress", "16%"), ("created", "12%"),
                ("metadata", "12%"))
_LIST_CELL = ("text-align:left;padding:2px 6px;border-bottom:1px solid var(--jp-border-color2,#e0e0e0);"
              "font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap")
_ID = "font-size:12px;padding:0;background:none"  # JupyterLab's `code` is 13 px with padding: 40 px wider


def batches_html(batches: Sequence[Any], *, offline: bool | None = None, note: str = "") -> str:
    """A table of batches, newest first as given; `note` (e.g. the filter used) goes under the title.

    It fits the width it is given (see `LIST_COLUMNS`) and shows the metadata the user set, not the
    `batches_ext_*` tags of jobs and intents."""
    offline = _offline(batches, offline)
    cols = "".join(f"<col style='width:{width}'>" for _, width in LIST_COLUMNS)
    head = "".join(f"<th style='{_LIST_CELL}'>{label}</th>" for label, _ in LIST_COLUMNS)
    body = "".join(_list_row(b) for b in batches)
    n = len(batches)
    title = plural(n, "batch")
    extra = f" <span style='{MUTED}'>{escape(note)}</span>" if note else ""
    table = (f"<table style='border-collapse:collapse;table-layout:fixed;width:100%'><colgroup>{cols}</colgroup>"
             f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return f"<div class='batches-ext-list' style='{FONT}'>{header_html(title, offline, extra)}{table if n else ''}</div>"


def _list_row(b: Any) -> str:
    done, failed, total = counts(b)
    meta = metadata_text(user_metadata(b.metadata))
    model = getattr(b, "model", None) or "—"
    cells = (
        (f"<code style='{_ID}'>{escape(b.id)}</code>", b.id),
        (badge(b.status), str(b.status)),
        (escape(model), f"{model} · {b.endpoint}"),
        (progress_html(b, 40, label=f"{done + failed:,}/{total:,}" if total else None), progress_label(b)),
        (escape(short_time(b.created_at)), utc_text(b.created_at)),
        (escape(meta or "—"), meta),
    )
    tds = "".join(f"<td style='{_LIST_CELL}' title='{escape(tip)}'>{html}</td>" for html, tip in cells)
    return f"<tr data-batch-id='{escape(b.id)}'>{tds}</tr>"


# ------------------------------------------------------------------------------------------ results


def _clip(text: Any) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _answer(row: Any) -> str:
    if getattr(row, "status", None) == "ok":
        text = getattr(row, "answer", None)
        if text is None:
            text = json.dumps(getattr(row, "body", None), ensure_ascii=False, default=str)
        return _clip(text)
    return _clip(": ".join(str(x) for x in (getattr(row, "error_code", None), getattr(row, "error_message", None))
                           if x))


def results_html(res: Any, *, offline: bool | None = None, max_rows: int = 50) -> str:
    """Results: counts per status, then the first `max_rows` rows, leading with what a person looks for:
    custom_id, prompt, answer (or the error), status and tokens."""
    offline = _offline(res, offline)
    rows = list(res)
    found: dict[str, int] = {}
    for row in rows:
        found[row.status] = found.get(row.status, 0) + 1
    summary = ", ".join(f"{badge_result(s)} {n:,}" for s, n in found.items())
    batches = getattr(res, "batches", None) or []
    source = ""
    if batches:
        ids = ", ".join(escape(getattr(b, "id", b)) for b in batches[:3])
        source = f" <span style='{MUTED}'>from {ids}{' …' if len(batches) > 3 else ''}</span>"
    head = "".join(f"<th style='{CELL}'>{h}</th>" for h in ("custom_id", "prompt", "answer", "status", "tokens"))
    body = "".join(
        f"<tr><td style='{CELL}'><code>{escape(r.custom_id)}</code></td>"
        f"<td style='{CELL}'>{escape(_clip(getattr(r, 'prompt', None) or ''))}</td>"
        f"<td style='{CELL}'>{escape(_answer(r))}</td><td style='{CELL}'>{badge_result(r.status)}</td>"
        f"<td style='{CELL};font-variant-numeric:tabular-nums'>{escape(_tokens(r))}</td></tr>"
        for r in rows[:max_rows])
    if len(rows) > max_rows:
        body += f"<tr><td colspan='5' style='{CELL};{MUTED}'>… {escape(plural(len(rows) - max_rows, 'more row'))}</td></tr>"
    title = plural(len(rows), "result")
    spent = spend_line(res)
    extra = f" {summary}{source}" + (f" <span class='bx-spend' style='{MUTED}'>· {escape(spent)}</span>" if spent else "")
    table = f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='batches-ext-results' style='{FONT}'>{header_html(title, offline, extra)}{table}</div>"


def _tokens(row: Any) -> str:
    tokens = getattr(row, "tokens", None)
    return f"{tokens:,}" if isinstance(tokens, int) else ""


# ------------------------------------------------------------------------------------------ dry run


def preflight_html(report: Any, *, offline: bool = False, plan: Sequence[Any] | None = None,
                   estimate: Any = None) -> str:
    """A `--dry-run`: what would be uploaded (lines, bytes, endpoint, model), how it would be split
    ("2 batches: 50,000 + 10,000 lines" from `plan`, the parts `submit` would make) and, with `estimate`, its
    input tokens, output cap and cost range; nothing was created."""
    rows = [
        ("requests", f"{report.lines:,}"),
        ("bytes", f"{report.bytes:,}"),
        ("endpoint", escape(report.endpoint)),
        ("model", escape(report.model or "(mixed or none)")),
        ("submitted as", escape(split_text(report, plan))),
    ]
    if estimate is not None:
        rows += [(k, escape(v)) for k, v in estimate_facts(estimate)[1:]]
    title = "Dry run: nothing created"
    return f"<div class='batches-ext-dry-run' style='{FONT}'>{header_html(title, offline)}{kv_table_html(rows)}</div>"


# ------------------------------------------------------------------------------------------ settings


def settings_html(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    """`(name, shown value, source)` rows; the caller never passes a key (only "set" / "not set")."""
    body = "".join(f"<tr><th style='{CELL};font-weight:normal'>{escape(n)}</th><td style='{CELL}'><code>{escape(v)}</code>"
                   f"</td><td style='{CELL};{MUTED}'>{escape(s)}</td></tr>" for n, v, s in rows)
    note = f" <span style='{MUTED}'>(the settings below apply when the fake is off)</span>" if offline else ""
    return (f"<div class='batches-ext-config' style='{FONT}'>{header_html('batches_ext settings', offline, note)}"
            f"<table style='border-collapse:collapse'>{body}</table></div>")
