"""`%load_ext batches_ext` / `%unload_ext batches_ext`: register the magics and their completer; on unload,
close every widget made and unregister everything. Loading makes no network call and imports no widgets."""

from __future__ import annotations

import sys
from typing import Any

from .commands import BatchesMagics
from .completion import install_completer, remove_completer

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register `BatchesMagics` (once per shell) and its completer. No network, no widgets."""
    current = ipython.magics_manager.registry.get("BatchesMagics")
    if isinstance(current, BatchesMagics) and ipython.magics_manager.magics["line"].get("batches") is not None:
        return
    magics = BatchesMagics(shell=ipython)
    ipython.register_magics(magics)
    install_completer(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Close every widget the extension made (stopping its refresh thread), drop the fake, unregister all."""
    magics = ipython.magics_manager.registry.pop("BatchesMagics", None)
    if isinstance(magics, BatchesMagics):
        magics.session.close()
    widgets = sys.modules.get("batches_ext.widgets")
    if widgets is not None:  # only if a widget was ever made: unloading must not import ipywidgets
        widgets.close_all()
    for kind in ("line", "cell"):
        table = ipython.magics_manager.magics[kind]
        bound = table.get("batches")
        if bound is not None and getattr(bound, "__self__", None) is magics:
            del table["batches"]
    remove_completer(ipython)
