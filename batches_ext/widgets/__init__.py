"""batches_ext.widgets: live views of batches — `BatchTable` (paginated, filterable, sortable, updated in place,
with details and actions) and `BatchMonitor` (progress of a few batches).

Each view returns at once and loads on its own worker thread; a daemon refresher thread keeps it current; no
HTTP call ever runs on the kernel's thread or under a view's lock, so `close()` (and `close_all()`, which the
extension calls on unload) returns in well under a second whatever the network does. A monitor of a `Job`
advances it on every refresh (`following`). Imported lazily by `batches_ext`, so `%load_ext batches_ext` does
not pay for ipywidgets. Modules: `table`, `monitor`, `following` (a monitor's Job), `view`
(what both share), `rows` (the table's rows: an anywidget), `notify` (the browser notification toggle),
`paged` (the table's loading, paging and counting), `pages` (its state), `listing` (counting, first failure reasons), `background` (the worker thread), `refresh` (the refresher
thread), `lifecycle` (closing widget trees, the live-view registry).
"""

from __future__ import annotations

from .background import Worker
from .lifecycle import close_all, close_tree, live_views, model_count
from .listing import COUNT_LIMIT
from .monitor import BatchMonitor
from .notify import Notifier
from .pages import SORT_KEYS
from .refresh import Refresher
from .rows import BatchRows
from .table import STATUS_FILTERS, BatchTable
from .view import DEFAULT_RESULTS_VAR

__all__ = [
    "COUNT_LIMIT",
    "DEFAULT_RESULTS_VAR",
    "SORT_KEYS",
    "STATUS_FILTERS",
    "BatchMonitor",
    "BatchRows",
    "BatchTable",
    "Notifier",
    "Refresher",
    "Worker",
    "close_all",
    "close_tree",
    "live_views",
    "model_count",
]
