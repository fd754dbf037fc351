"""`LiveView`: what the table and the monitor share — a `VBox` with a client, a lock, a refresher thread,
an error line, a message line, a text fallback, and a `close()` that closes the whole tree.

Threading: button handlers run on the kernel's shell thread and the refresher on its own thread; both
go through `self._lock` (re-entrant) for view state. Widgets are only ever given new values (and only
when the value differs); nothing here prints or displays.
"""

from __future__ import annotations

import html
import keyword
import threading
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets

from ..errors import BatchesError, InputError
from ..render import ago
from .lifecycle import close_tree, register, set_if_changed, unregister
from .refresh import Refresher

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["LiveView", "default_now", "user_namespace", "error_text", "check_variable_name", "describe_results",
           "show"]

_ERROR_STYLE = "color:#b02a37;font-size:12px;font-family:var(--jp-ui-font-family,sans-serif)"
_INFO_STYLE = "color:var(--jp-ui-font-color1,#212529);font-size:12px;font-family:var(--jp-ui-font-family,sans-serif)"
_OFFLINE = (
    "<span class='bx-offline' title='this client talks to the in-process fake, not api.openai.com' "
    "style='background:#ffe69c;color:#664d03;border:1px solid #ffda6a;border-radius:3px;padding:0 6px;"
    "font-size:11px;font-weight:600'>offline fake</span>"
)


def default_now(client: BatchesAPI) -> Callable[[], float]:
    """The clock batch timestamps are compared with: the client's (the fake's clock when offline)."""
    now = getattr(client, "now", None)
    return now if callable(now) else time.time


def user_namespace() -> MutableMapping[str, Any]:
    """IPython's user namespace when running under IPython, else a fresh dict."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # pragma: no cover - IPython is a dependency, but be safe
        shell = None
    return shell.user_ns if shell is not None else {}


def error_text(exc: BaseException) -> str:
    """One line for an exception (our errors already format as one line without secrets)."""
    if isinstance(exc, BatchesError):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_variable_name(name: str) -> str:
    name = (name or "").strip()
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InputError(f"{name!r} is not a valid Python variable name")
    return name


def describe_results(res: Any) -> str:
    """`100 results (98 ok, 2 errors)` for a jobs.Results (duck-typed), or its type name."""
    try:
        n = len(res)
    except TypeError:
        return type(res).__name__
    extra = []
    for attr in ("ok", "errors"):
        value = getattr(res, attr, None)
        try:
            extra.append(f"{len(value)} {attr}")  # type: ignore[arg-type]
        except TypeError:
            pass
    return f"{n} results" + (f" ({', '.join(extra)})" if extra else "")


def wall_clock_label(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def show(w: ipywidgets.DOMWidget, visible: bool) -> None:
    """Show or hide a widget (only sending a message when that changes)."""
    set_if_changed(w.layout, "display", None if visible else "none")


class LiveView(ipywidgets.VBox):
    """Base of BatchTable and BatchMonitor: a client, a lock, a refresher thread, an error and a message line."""

    _closed = True  # until __init__ has run: `close()` (also called by `__del__`) has nothing to do
    _cancel_note: str | None = None  # the batch whose "Cancel requested" is on the message line

    def __init__(
        self,
        client: BatchesAPI,
        *,
        interval: float,
        namespace: MutableMapping[str, Any] | None,
        now: Callable[[], float] | None,
        wall: Callable[[], float] | None,
        name: str,
    ) -> None:
        super().__init__()
        self.client = client
        self.namespace: MutableMapping[str, Any] = namespace if namespace is not None else user_namespace()
        self._now = now or default_now(client)
        self._wall = wall or time.time
        self._lock = threading.RLock()
        self._closed = False
        self._last_ok: float | None = None
        self._error: str | None = None
        self._retry_in: float | None = None
        self._refresher = Refresher(self._tick, interval, on_backoff=self._on_backoff, name=name)
        self._error_line = ipywidgets.HTML("")
        self._message_line = ipywidgets.HTML("")
        register(self)

    # ------------------------------------------------------------------ public

    @property
    def offline(self) -> bool:
        """True when the client talks to the in-process fake (the view shows an "offline fake" marker)."""
        return bool(getattr(self.client, "is_offline", False))

    @property
    def interval(self) -> float:
        return self._refresher.interval

    @property
    def error(self) -> str | None:
        """The last refresh error (None once a refresh succeeds)."""
        return self._error

    @property
    def refreshing(self) -> bool:
        """True while the background refresher thread is running."""
        return self._refresher.alive

    @property
    def refresher_thread(self) -> threading.Thread | None:
        return self._refresher.thread

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the refresher thread and close every widget model of the view (children, layouts, styles)."""
        if self._closed:
            return
        self._closed = True
        self._refresher.stop()
        unregister(self)
        with self._lock:
            close_tree(self)

    # ------------------------------------------------------------------ text fallback

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)  # the base class clips it to 110 characters
        return bundle

    # ------------------------------------------------------------------ for subclasses

    def _start(self) -> None:
        if not self._closed:
            self._refresher.start()

    def _stop(self) -> None:
        self._refresher.stop()

    def _tick(self) -> bool | None:
        raise NotImplementedError

    def _on_backoff(self, delay: float, failures: int) -> None:
        with self._lock:
            self._retry_in = delay
            self._show_error()

    def _record_ok(self) -> None:
        self._last_ok = self._wall()
        self._error = None
        self._retry_in = None
        self._show_error()

    def _record_error(self, exc: BaseException) -> None:
        self._error = error_text(exc)
        self._show_error()

    def _show_error(self) -> None:
        if self._error is None:
            set_if_changed(self._error_line, "value", "")
            return
        kept = f" · showing data from {ago(self._wall() - self._last_ok)}" if self._last_ok is not None else ""
        retry = f" · retrying in {self._retry_in:.0f} s" if self._retry_in is not None else ""
        text = f"⚠ refresh failed: {html.escape(self._error)}{kept}{retry}"
        set_if_changed(self._error_line, "value", f"<div class='bx-error' style='{_ERROR_STYLE}'>{text}</div>")

    def _updated_text(self) -> str:
        """`updated just now` while a refresher keeps it current, else the wall time of the last update."""
        if self._last_ok is None:
            return "not loaded yet"
        if self._refresher.alive:
            return f"updated {ago(self._wall() - self._last_ok)}"
        return f"updated at {wall_clock_label(self._last_ok)}"

    def _offline_marker(self) -> str:
        return _OFFLINE if self.offline else ""

    def _cancel_requested(self, batch: Any) -> None:
        """Say the cancel was requested; once the batch is terminal, `_settle_cancel_note` says how it ended."""
        self._message(f"Cancel requested: {batch.id} is {batch.status}.")
        self._cancel_note = batch.id

    def _settle_cancel_note(self, batches: Iterable[Any]) -> None:
        if self._cancel_note is None:
            return
        batch = next((b for b in batches if b is not None and b.id == self._cancel_note), None)
        if batch is not None and batch.is_terminal:
            self._message(f"{batch.id} is {batch.status}.")

    def _message(self, text: str, error: bool = False) -> None:
        self._cancel_note = None  # a newer message replaces the cancel note
        style = _ERROR_STYLE if error else _INFO_STYLE
        value = f"<div class='bx-message' style='{style}'>{html.escape(text)}</div>" if text else ""
        set_if_changed(self._message_line, "value", value)

    @property
    def message(self) -> str:
        """The last action message (plain text), e.g. the outcome of a cancel or a results load."""
        value = self._message_line.value
        if not value:
            return ""
        inner = value.split(">", 1)[1].rsplit("<", 1)[0]
        return html.unescape(inner)

    def _guard(self, action: Callable[..., Any]) -> Callable[..., None]:
        """A button/observer handler: run `action(*args)`, show any exception on the message line (never
        raise: JupyterLab would swallow it)."""

        def handler(*args: Any) -> None:
            try:
                action(*args)
            except Exception as exc:  # shown, not raised
                self._message(error_text(exc), error=True)

        return handler
