"""Widget lifecycle helpers: close whole widget trees, count live models, and the registry of live views.

`ipywidgets.Widget.close()` closes one model only (children, `layout` and `style` stay registered),
so `close_tree` walks every synced trait holding widgets. The registry lets the extension's unload
(`batches_ext.widgets.close_all()`) stop every refresher thread and close every view it created.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Protocol

import ipywidgets
from ipywidgets.widgets import widget as _widget_module

__all__ = ["close_tree", "model_count", "set_if_changed", "register", "live_views", "close_all"]


class _Closable(Protocol):
    def close(self) -> None: ...


_views: weakref.WeakSet[Any] = weakref.WeakSet()
_views_lock = threading.Lock()


def model_count() -> int:
    """Number of widget models alive in this process (ipywidgets 8.1 keeps them in `widget._instances`)."""
    instances = getattr(_widget_module, "_instances", None)
    if instances is None:  # ipywidgets 7: the deprecated class attribute
        instances = ipywidgets.Widget.widgets
    return len(instances)


def _children_of(w: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found: list[ipywidgets.Widget] = []
    for name in w.keys:
        if name in ("comm", "keys"):
            continue
        value = getattr(w, name, None)
        if isinstance(value, ipywidgets.Widget):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, ipywidgets.Widget))
    return found


def close_tree(root: ipywidgets.Widget) -> int:
    """Close `root` and every widget reachable through its synced traits (children, layout, style).

    Uses the base `Widget.close` on every node, so an overridden `close()` (our views) is not re-entered.
    Returns the number of models closed.
    """
    seen: set[int] = set()
    stack = [root]
    order: list[ipywidgets.Widget] = []
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        order.append(w)
        stack.extend(_children_of(w))
    closed = 0
    for w in reversed(order):  # leaves first, the root last
        if w.comm is not None:
            closed += 1
        ipywidgets.Widget.close(w)
    return closed


def set_if_changed(w: ipywidgets.Widget, name: str, value: Any) -> bool:
    """Assign `w.<name> = value` only when it differs, so an unchanged refresh sends no message."""
    if getattr(w, name) == value:
        return False
    setattr(w, name, value)
    return True


def register(view: _Closable) -> None:
    """Track a live view so `close_all()` can reach it (weakly: a dropped view is not kept alive)."""
    with _views_lock:
        _views.add(view)


def unregister(view: _Closable) -> None:
    with _views_lock:
        _views.discard(view)


def live_views() -> list[Any]:
    """The views created in this process and not yet closed."""
    with _views_lock:
        return list(_views)


def close_all(join: float = 0.2) -> int:
    """Close every live view: signal all their threads first, then join them against one shared deadline of
    `join` seconds (a thread stuck in HTTP is left to finish alone), then close the widgets. Returns how many
    views were closed; returns within about `join` seconds whatever the network does."""
    views = live_views()
    deadline = time.monotonic() + join
    for view in views:
        begin = getattr(view, "close_begin", None)
        if begin is not None:
            begin()
    for view in views:
        finish = getattr(view, "close_finish", None)
        if finish is not None:
            finish(deadline)
        else:
            view.close()
    return len(views)
