"""batches_ext.widgets: live ipywidgets views of batches — `BatchTable` (paginated, filterable, with details and
actions) and `BatchMonitor` (progress of a few batches), each refreshed by one daemon thread.

`close_all()` closes every live view and stops its thread (the extension calls it on unload). Imported lazily
by `batches_ext`, so `%load_ext batches_ext` does not pay for ipywidgets. Modules: `table`, `monitor`, `view`
(what both share), `refresh` (the refresher thread), `lifecycle` (closing widget trees, the live-view registry).
"""

from __future__ import annotations

from .lifecycle import close_all, close_tree, live_views, model_count
from .monitor import BatchMonitor
from .refresh import Refresher
from .table import STATUS_FILTERS, BatchTable

__all__ = [
    "BatchMonitor",
    "BatchTable",
    "Refresher",
    "STATUS_FILTERS",
    "close_all",
    "close_tree",
    "live_views",
    "model_count",
]
