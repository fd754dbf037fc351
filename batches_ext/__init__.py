"""batches_ext: run OpenAI Batch API jobs from Jupyter.

    %load_ext batches_ext          # the %batches magics (see `%batches help`)

    from batches_ext import BatchesClient
    client = BatchesClient()                  # OPENAI_API_KEY from the environment
    client = BatchesClient.offline()          # or the bundled in-memory fake

Public names are imported on first use, so `%load_ext batches_ext` stays light: no
requests, ipywidgets or pandas import until something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> the module (a wing's door, or a root module) that defines it; imported on first use.
_EXPORTS = {
    "BatchesClient": "client",
    "BatchesAPI": "client",
    "create_batch": "client",
    "retrieve_batch": "client",
    "cancel_batch": "client",
    "list_batches": "client",
    "save_batch_files": "client",
    "Batch": "models",
    "BatchError": "models",
    "RequestCounts": "models",
    "FileObject": "models",
    "Page": "models",
    "Status": "models",
    "Settings": "config",
    "BatchesError": "errors",
    "build_requests": "jsonl",
    "preflight": "jsonl",
    "write_jsonl": "jsonl",
    "Job": "jobs",
    "Results": "jobs",
    "submit": "jobs",
    "wait": "jobs",
    "results": "jobs",
    "retry_failed": "jobs",
    "find_job": "jobs",
    "list_jobs": "jobs",
    "plan_job": "jobs",
    "BatchTable": "widgets",
    "BatchMonitor": "widgets",
}
__all__ = [*_EXPORTS, "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'batches_ext' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext batches_ext`: register the %batches magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext batches_ext`: stop every refresh thread and close every widget made."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
