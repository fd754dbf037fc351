"""batches_ext.render: the only producer of HTML and text for batches, lists, results, jobs, dry runs,
settings and the live views' parts.

Pure functions, no IPython, no widgets, no network. Values render themselves through these functions, so
a Batch, Results or Job looks the same whether or not the extension is loaded. Modules: `parts` (escaping,
times, plurals, badges, the progress bar, grouped errors, the offline marker), `values` (the HTML of one value:
batch, list, results, job, dry run, settings), `text` (their plain text: a one-line repr for logs and a readable
card or table for terminals, and the text progress bar's caption), `live` (the table, details panel and monitor
rows of the widgets).
"""

from __future__ import annotations

from .live import batch_line, details_html, monitor_row_html, table_html
from .parts import (
    OFFLINE_LABEL,
    STATUS_COLOURS,
    ago,
    badge,
    badge_result,
    counts,
    duration,
    eta_seconds,
    grouped_errors,
    iso_text,
    lines_text,
    metadata_text,
    offline_marker_html,
    plural,
    progress_html,
    progress_label,
    progress_text,
    repeat_text,
    utc_text,
)
from .text import (
    batch_repr,
    batch_text,
    batches_text,
    job_repr,
    job_text,
    preflight_text,
    pretty,
    progress_caption,
    results_repr,
    results_text,
    settings_text,
    split_text,
    text_table,
    visible_metadata,
)
from .values import batch_html, batches_html, job_html, preflight_html, results_html, settings_html

__all__ = [
    "OFFLINE_LABEL",
    "STATUS_COLOURS",
    "ago",
    "badge",
    "badge_result",
    "batch_html",
    "batch_line",
    "batch_repr",
    "batch_text",
    "batches_html",
    "batches_text",
    "counts",
    "details_html",
    "duration",
    "eta_seconds",
    "grouped_errors",
    "iso_text",
    "job_html",
    "job_repr",
    "job_text",
    "lines_text",
    "metadata_text",
    "monitor_row_html",
    "offline_marker_html",
    "plural",
    "preflight_html",
    "pretty",
    "preflight_text",
    "progress_caption",
    "progress_html",
    "progress_label",
    "progress_text",
    "repeat_text",
    "results_html",
    "results_repr",
    "results_text",
    "settings_html",
    "settings_text",
    "split_text",
    "table_html",
    "text_table",
    "utc_text",
    "visible_metadata",
]
