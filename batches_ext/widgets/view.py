"""`LiveView`: what the table and the monitor share — a `VBox` with a client, one clock, a lock, a worker thread
for the buttons, a refresher thread, an error line, a message line, the Results controls and a `close()` that
returns at once.

Threading (the rules the views follow):
* the kernel's thread never waits on HTTP: construction posts the first load to the view's `Worker`, and every
  button posts its method there; called from code, the same methods block and return their outcome;
* `self._lock` (re-entrant) guards the view's state and widget values and is never held across an HTTP call:
  a load reads its query under the lock, fetches without it, and applies under it only if the query is still
  current and the view is open;
* `close()` signals both threads and returns after a short bounded join: a thread stuck in a network call is
  a daemon and its answer is dropped.
Time: one clock per view, the client's `now()` (the fake's clock when offline), for "updated", created,
elapsed and ETA alike. Nothing here prints or displays.
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
from ..render import ago, plural, results_html
from .background import Worker
from .lifecycle import close_tree, register, set_if_changed, unregister
from .refresh import Refresher

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["LiveView", "DEFAULT_RESULTS_VAR", "danger_button", "default_now", "user_namespace", "error_text", "check_variable_name",
           "describe_results", "show", "CLOSE_JOIN"]

#: The Results button's default variable: shadows no public name (not `results`, which the README imports).
DEFAULT_RESULTS_VAR = "batch_results"
#: The most `close()` waits for a view's threads, in seconds (a thread stuck in HTTP is left to finish alone).
CLOSE_JOIN = 0.1
_LINE = "font-size:12px;font-family:var(--jp-ui-font-family,sans-serif);white-space:nowrap;overflow:hidden;" \
        "text-overflow:ellipsis;max-width:100%"
_ERROR_STYLE = f"color:var(--jp-error-color1,#b02a37);{_LINE}"
_INFO_STYLE = f"color:var(--jp-ui-font-color1,#212529);{_LINE}"
_ERROR_MAX = 160  # characters of an error shown on its one line (the whole text is its tooltip)


def default_now(client: BatchesAPI) -> Callable[[], float]:
    """The view's one clock: the client's (the fake's clock when offline), else the wall clock."""
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
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
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
    for attr, word in (("ok", "ok"), ("errors", "error")):
        value = getattr(res, attr, None)
        try:
            extra.append(plural(len(value), word, many=word if word == "ok" else None))  # type: ignore[arg-type]
        except TypeError:
            pass
    return plural(n, "result") + (f" ({', '.join(extra)})" if extra else "")


def danger_button(description: str, tooltip: str, **kwargs: Any) -> ipywidgets.Button:
    """A red button whose white text keeps a 6.5:1 contrast in every theme (ipywidgets' "danger" style takes
    JupyterLab's error colour, 3.7:1 under white text in the dark theme)."""
    return ipywidgets.Button(description=description, tooltip=tooltip,
                             style={"button_color": "#b02a37", "text_color": "#ffffff"}, **kwargs)


def show(w: ipywidgets.DOMWidget, visible: bool) -> None:
    """Show or hide a widget (only sending a message when that changes)."""
    set_if_changed(w.layout, "display", None if visible else "none")


def _is_results(value: Any) -> bool:
    from ..jobs import Results

    if isinstance(value, Results):
        return True
    return isinstance(value, dict) and bool(value) and all(isinstance(v, Results) for v in value.values())


class LiveView(ipywidgets.VBox):
    """Base of BatchTable and BatchMonitor."""

    _closed = True  # until __init__ has run: `close()` (also called by `__del__`) has nothing to do
    _cancel_note: str | None = None  # the batch whose "Cancel requested" is on the message line

    def __init__(self, client: BatchesAPI, *, interval: float, namespace: MutableMapping[str, Any] | None,
                 now: Callable[[], float] | None, name: str) -> None:
        super().__init__()
        self.client = client
        self.namespace: MutableMapping[str, Any] = namespace if namespace is not None else user_namespace()
        self._now = now or default_now(client)
        self._lock = threading.RLock()
        self._closed = False
        self._loaded = False
        self._last_ok: float | None = None
        self._error: str | None = None
        self._retry_in: float | None = None
        self._reported: BaseException | None = None
        self._worker = Worker(name=f"{name}-worker", on_error=self._background_failed)
        self._refresher = Refresher(self._tick, interval, on_backoff=self._on_backoff, name=name)
        self._error_line = ipywidgets.HTML("")
        self._message_line = ipywidgets.HTML("")
        self._var = ipywidgets.Text(value=DEFAULT_RESULTS_VAR, description="into",
                                    tooltip="the variable the Results button stores into",
                                    layout=ipywidgets.Layout(width="200px"))
        self._results_button = ipywidgets.Button(description="Results", icon="download", disabled=True,
                                                 tooltip="download the results into the variable named left")
        self._results_button.on_click(self._button(lambda: self.load_results()))
        self._results_preview = ipywidgets.HTML("")
        register(self)

    # ------------------------------------------------------------------ public

    @property
    def offline(self) -> bool:
        """True when the client talks to the in-process fake (the view shows an "offline fake" marker)."""
        return bool(getattr(self.client, "is_offline", False))

    @property
    def dashboard(self) -> bool:
        """True when links to the OpenAI dashboard make sense: the real API (not the fake, not another host)."""
        if self.offline:
            return False
        base = str(getattr(getattr(self.client, "settings", None), "base_url", "") or "")
        return base.startswith("https://api.openai.com/")

    @property
    def interval(self) -> float:
        return self._refresher.interval

    @property
    def loaded(self) -> bool:
        """True once a load has succeeded (until then the view shows "loading…" and no enabled action)."""
        return self._loaded

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
    def worker(self) -> Worker:
        """The view's worker thread: what the buttons run on (`wait_idle()` waits for it)."""
        return self._worker

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def preview(self) -> str:
        """The Results preview (HTML): the summary line and the first rows of what the Results button loaded."""
        return str(self._results_preview.value)

    def wait_idle(self, timeout: float | None = 10.0) -> bool:
        """Block until every button action and background load posted so far has finished (False on timeout).
        For tests and scripts: in a notebook the view updates itself."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop both threads and close every widget model of the view; returns within ~0.2 s whatever the
        network does (a thread stuck in HTTP finishes alone, and its answer is dropped)."""
        self.close_begin()
        self.close_finish(time.monotonic() + CLOSE_JOIN)

    def close_begin(self) -> None:
        """Signal both threads to stop (returns at once); `close_finish` joins and closes the widgets."""
        if self._closed:  # also before __init__ ran (the class says closed): nothing to stop
            return
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._worker.stop()
        self._refresher.stop(join=0)
        unregister(self)

    def close_finish(self, deadline: float) -> None:
        if "_worker" not in self.__dict__:  # __init__ never ran (or failed): nothing to join or close
            return
        for thread in (self._refresher.thread, self._worker.thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            if self.comm is not None or self.children:
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
        self._refresher.stop(join=0)

    def _tick(self) -> bool | None:
        raise NotImplementedError

    def _render(self) -> None:
        raise NotImplementedError

    def _background(self, action: Callable[[], Any]) -> bool:
        """Run `action` on the worker thread (never on the kernel's)."""
        return self._worker.post(action)

    def _button(self, action: Callable[[], Any]) -> Callable[..., None]:
        """A click or observe handler: run `action` on the worker thread; an error it did not report itself goes
        on the message line (never raised: JupyterLab would swallow it)."""

        def handler(*_args: Any) -> None:
            if not self._closed:
                self._background(action)

        return handler

    def _guard(self, action: Callable[..., Any]) -> Callable[..., None]:
        """A handler that runs on the kernel's thread (no HTTP in `action`); errors go on the message line."""

        def handler(*args: Any) -> None:
            try:
                action(*args)
            except Exception as exc:  # shown, not raised
                with self._lock:
                    self._message(error_text(exc), error=True)

        return handler

    def _background_failed(self, exc: BaseException) -> None:
        if exc is not self._reported and not self._closed:
            with self._lock:
                self._message(error_text(exc), error=True)

    def _report(self, exc: BaseException, text: str) -> None:
        """Show `text` for `exc` on the message line (the exception is then raised to the caller, if any)."""
        self._reported = exc
        with self._lock:
            self._message(text, error=True)

    def _on_backoff(self, delay: float, failures: int) -> None:
        with self._lock:
            if not self._closed:
                self._retry_in = delay
                self._show_error()

    def _record_ok(self) -> None:
        self._loaded = True
        self._last_ok = self._now()
        self._error = None
        self._retry_in = None
        self._show_error()

    def _record_error(self, exc: BaseException) -> None:
        self._error = error_text(exc)
        self._show_error()

    def _actions_enabled(self) -> bool:
        """Actions (Cancel, Results, paging) are enabled only on data that loaded and is not in error."""
        return self._loaded and self._error is None

    def _show_error(self) -> None:
        if self._error is None:
            set_if_changed(self._error_line, "value", "")
            return
        kept = f" · data from {ago(self._now() - self._last_ok)}" if self._last_ok is not None else ""
        retry = f" · retrying in {self._retry_in:.0f} s" if self._retry_in is not None else ""
        short = self._error if len(self._error) <= _ERROR_MAX else self._error[: _ERROR_MAX - 1] + "…"
        what = "refresh failed" if self._loaded else "could not load"
        text = html.escape(f"⚠ {what}: {short}{kept}{retry}")
        set_if_changed(self._error_line, "value", f"<div class='bx-error' title='{html.escape(self._error)}' "
                                                  f"style='{_ERROR_STYLE}'>{text}</div>")

    def _updated_text(self) -> str:
        """`loading…` until the first load; `updated just now` while a refresher keeps it current, else the
        time (on the view's clock, UTC) of the last update."""
        if self._last_ok is None:
            return "loading…" if self._error is None else "not loaded"
        if self._refresher.alive:
            return f"updated {ago(self._now() - self._last_ok)}"
        return "updated " + time.strftime("%H:%M:%S UTC", time.gmtime(self._last_ok))

    def _offline_marker(self) -> str:
        from ..render import offline_marker_html

        return offline_marker_html(True) if self.offline else ""

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
        value = (f"<div class='bx-message' title='{html.escape(text)}' style='{style}'>{html.escape(text)}</div>"
                 if text else "")
        set_if_changed(self._message_line, "value", value)

    @property
    def message(self) -> str:
        """The last action message (plain text), e.g. the outcome of a cancel or a results load."""
        value = self._message_line.value
        if not value:
            return ""
        inner = value.split(">", 1)[1].rsplit("<", 1)[0]
        return html.unescape(inner)

    # ------------------------------------------------------------------ results

    def _results_name(self, name: str | None) -> str:
        """The variable to store into: a valid identifier that holds nothing yet, or an earlier Results (so a
        public name such as the imported `results` function is never overwritten)."""
        name = check_variable_name(name if name is not None else self._var.value)
        if name in self.namespace and not _is_results(self.namespace[name]):
            held = type(self.namespace[name]).__name__
            raise InputError(f"`{name}` already holds a {held}; type another name next to Results")
        return name

    def _store_results(self, name: str, value: Any, loaded: dict[str, Any]) -> None:
        """Store, then show what was stored: one summary line and the first rows of each batch's results."""
        self.namespace[name] = value
        what = "; ".join(f"{bid}: {describe_results(r)}" for bid, r in loaded.items())
        previews = "".join(results_html(r, max_rows=5) for r in list(loaded.values())[:2])
        with self._lock:
            self._message(f"Loaded into `{name}`: {what}.")
            set_if_changed(self._results_preview, "value", previews)

    def load_results(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
