"""batches_ext.render: the only producer of HTML and text for batches, lists, results, jobs, dry runs,
settings and the live views' parts.

Pure functions, no IPython, no widgets, no network. Values render themselves through these functions, so
a Batch, Results or Job looks the same whether or not the extension is loaded. Modules: `parts` (escaping,
times, badges, the progress bar, the offline marker), `values` (one value: batch, list, results, job, dry
run, settings), `live` (the table, details panel and monitor rows of the widgets).
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
    metadata_text,
    offline_marker_html,
    progress_html,
    progress_label,
    utc_text,
)
from .values import (
    batch_html,
    batch_text,
    batches_html,
    batches_text,
    job_html,
    job_text,
    preflight_html,
    preflight_text,
    results_html,
    results_text,
    settings_html,
    settings_text,
)

__all__ = [
    "OFFLINE_LABEL",
    "STATUS_COLOURS",
    "ago",
    "badge",
    "badge_result",
    "batch_html",
    "batch_line",
    "batch_text",
    "batches_html",
    "batches_text",
    "counts",
    "details_html",
    "duration",
    "eta_seconds",
    "job_html",
    "job_text",
    "metadata_text",
    "monitor_row_html",
    "offline_marker_html",
    "preflight_html",
    "preflight_text",
    "progress_html",
    "progress_label",
    "results_html",
    "results_text",
    "settings_html",
    "settings_text",
    "table_html",
    "utc_text",
]
