"""Live ipywidgets views of batches: `BatchTable` (paginated, filterable, with details and actions) and
`BatchMonitor` (progress of a few batches), each refreshed by one daemon thread.

`close_all()` closes every live view and stops its thread (the extension calls it on unload).
Imported lazily by `batches_ext` so `%load_ext batches_ext` does not pay for ipywidgets.
"""

from __future__ import annotations

from ._lifecycle import close_all, close_tree, live_views, model_count
from ._refresh import Refresher, backoff_delay
from .monitor import BatchMonitor
from .table import STATUS_FILTERS, BatchTable

__all__ = [
    "BatchTable",
    "BatchMonitor",
    "STATUS_FILTERS",
    "close_all",
    "close_tree",
    "live_views",
    "model_count",
    "Refresher",
    "backoff_delay",
]
