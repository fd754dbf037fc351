"""`BatchTable`: a live, paginated, filterable table of batches with a details panel and Cancel/Results.

All rows are one HTML `<table>` in one `HTML` widget, so the number of widget models is fixed (about
60) whatever the number of batches; the few real controls are created once and reused. Pagination
follows the API's cursor (`after` = last id shown); filters (status, text on id/metadata) are applied
client-side, scanning at most `scan_limit` batches per page. Every button is also a public method.

    table = BatchTable(client)          # display(table) in a notebook
    table.next_page(); table.select(table.batch_ids[0]); table.cancel()
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets

from ..client import ACTIVE, fetch_page
from ..errors import ConflictError, InputError, NotFoundError
from ..render import batch_line, details_html, table_html
from ..spec import STATUSES
from .lifecycle import set_if_changed
from .view import LiveView, check_variable_name, describe_results, error_text, show

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["BatchTable", "STATUS_FILTERS"]

#: The status filter's choices: (label, value); "active" means not terminal.
STATUS_FILTERS: tuple[tuple[str, str], ...] = (("all statuses", ""), (ACTIVE, ACTIVE), *((s, s) for s in STATUSES))
_NO_SELECTION = ("— select a batch —", "")



class BatchTable(LiveView):
    """A live table of the client's batches, newest first.

    client: a `BatchesClient` (or anything with `list_batches(limit, after)`, `retrieve_batch(id)`,
        `cancel_batch(id)`, `is_offline`).
    page_size: rows per page. auto_refresh / interval: refresh on a background thread every `interval`
        seconds (backing off on errors). status / text: initial filters. namespace: where Results are
        stored (default: the IPython user namespace). scan_limit: most batches examined per filtered page.
    now / wall: injectable clocks (batch time, default the fake's clock when offline; wall time).
    """

    def __init__(
        self,
        client: BatchesAPI,
        page_size: int = 25,
        auto_refresh: bool = True,
        interval: float = 5.0,
        *,
        status: str = "",
        text: str = "",
        namespace: MutableMapping[str, Any] | None = None,
        scan_limit: int = 2000,
        now: Callable[[], float] | None = None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        if page_size < 1:
            raise InputError("page_size must be >= 1")
        if status not in {value for _, value in STATUS_FILTERS}:
            raise InputError(f"unknown status filter {status!r}")
        super().__init__(
            client, interval=interval, namespace=namespace, now=now, wall=wall, name="batches_ext-table"
        )
        self.page_size = page_size
        self.scan_limit = max(scan_limit, page_size)
        self._cursors: list[str | None] = [None]
        self._next_cursor: str | None = None
        self._truncated = False
        self._scanned = 0
        self._rows: list[Any] = []
        self._selected: str | None = None
        self._selected_batch: Any = None
        self._syncing = False

        self._header = ipywidgets.HTML("")
        self._status_filter = ipywidgets.Dropdown(
            options=STATUS_FILTERS, value=status, description="status", layout=ipywidgets.Layout(width="210px")
        )
        self._text_filter = ipywidgets.Text(
            value=text, placeholder="filter id / metadata", continuous_update=False,
            layout=ipywidgets.Layout(width="220px"),
        )
        self._refresh_button = ipywidgets.Button(description="Refresh", icon="refresh", tooltip="Refresh now")
        self._auto = ipywidgets.Checkbox(value=auto_refresh, description="auto-refresh", indent=False)
        self._body = ipywidgets.HTML("")
        self._prev = ipywidgets.Button(description="‹ Prev", tooltip="Newer batches")
        self._page_label = ipywidgets.HTML("")
        self._next = ipywidgets.Button(description="Next ›", tooltip="Older batches")
        self._select = ipywidgets.Dropdown(
            options=[_NO_SELECTION], value="", description="details", layout=ipywidgets.Layout(width="360px")
        )
        self._cancel_button = ipywidgets.Button(description="Cancel", button_style="danger", icon="ban")
        self._var = ipywidgets.Text(value="results", description="into", layout=ipywidgets.Layout(width="180px"))
        self._results_button = ipywidgets.Button(description="Results", icon="download")
        self._details = ipywidgets.HTML("")

        self._refresh_button.on_click(self._guard(lambda _b: self.refresh()))
        self._prev.on_click(self._guard(lambda _b: self.previous_page()))
        self._next.on_click(self._guard(lambda _b: self.next_page()))
        self._cancel_button.on_click(self._guard(lambda _b: self.cancel()))
        self._results_button.on_click(self._guard(lambda _b: self.load_results()))
        self._status_filter.observe(self._guard(self._filters_changed), names="value")
        self._text_filter.observe(self._guard(self._filters_changed), names="value")
        self._auto.observe(self._guard(self._auto_changed), names="value")
        self._select.observe(self._guard(self._select_changed), names="value")

        self.children = [
            self._header,
            ipywidgets.HBox([self._status_filter, self._text_filter, self._refresh_button, self._auto]),
            self._error_line,
            self._body,
            ipywidgets.HBox([self._prev, self._page_label, self._next]),
            ipywidgets.HBox([self._select, self._cancel_button, self._var, self._results_button]),
            self._details,
            self._message_line,
        ]
        self.refresh()
        if auto_refresh:
            self._start()

    # ------------------------------------------------------------------ state

    @property
    def batch_ids(self) -> list[str]:
        """The ids shown, in order (newest first)."""
        return [b.id for b in self._rows]

    @property
    def batches(self) -> list[Any]:
        """The `Batch` objects shown, in order."""
        return list(self._rows)

    @property
    def page(self) -> int:
        """1-based page number."""
        return len(self._cursors)

    @property
    def has_next(self) -> bool:
        return self._next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return len(self._cursors) > 1

    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def selected_batch(self) -> Any:
        return self._selected_batch

    @property
    def status_filter(self) -> str:
        return str(self._status_filter.value)

    @property
    def text_filter(self) -> str:
        return str(self._text_filter.value)

    @property
    def parts(self) -> dict[str, ipywidgets.HTML]:
        """The HTML parts by name: header, error, body (the table), page, details, message."""
        return {
            "header": self._header,
            "error": self._error_line,
            "body": self._body,
            "page": self._page_label,
            "details": self._details,
            "message": self._message_line,
        }

    @property
    def controls(self) -> dict[str, ipywidgets.Widget]:
        """The real controls by name (status, text, refresh, auto, prev, next, select, cancel, var,
        results): `table.controls["cancel"].click()` does what a user's click does."""
        return {
            "status": self._status_filter,
            "text": self._text_filter,
            "refresh": self._refresh_button,
            "auto": self._auto,
            "prev": self._prev,
            "next": self._next,
            "select": self._select,
            "cancel": self._cancel_button,
            "var": self._var,
            "results": self._results_button,
        }

    @property
    def auto_refresh(self) -> bool:
        return bool(self._auto.value)

    @auto_refresh.setter
    def auto_refresh(self, value: bool) -> None:
        self._auto.value = bool(value)

    # ------------------------------------------------------------------ actions (each button calls one)

    def refresh(self) -> bool:
        """Fetch the current page (and the selected batch). On failure keep the rows, show the error line,
        and return False."""
        with self._lock:
            if self._closed:
                return False
            try:
                statuses = (self.status_filter,) if self.status_filter else ()
                got = fetch_page(self.client, self._cursors[-1], self.page_size, statuses, self.text_filter,
                                 self.scan_limit)
                selected = self._find_selected(got.rows)
            except Exception as exc:
                self._record_error(exc)
                self._render_header()
                return False
            self._rows, self._next_cursor = got.rows, got.next_cursor
            self._truncated, self._scanned = got.truncated, got.scanned
            self._selected_batch = selected
            if selected is None:
                self._selected = None
            self._record_ok()
            self._settle_cancel_note([*self._rows, self._selected_batch])
            self._render()
            return True

    def next_page(self) -> bool:
        """Show older batches. Returns False (and stays) when there is no next page or the fetch fails."""
        with self._lock:
            if self._next_cursor is None:
                return False
            self._cursors.append(self._next_cursor)
            if self.refresh():
                return True
            self._cursors.pop()
            return False

    def previous_page(self) -> bool:
        """Show newer batches. Returns False when already on the first page or the fetch fails."""
        with self._lock:
            if len(self._cursors) < 2:
                return False
            cursor = self._cursors.pop()
            if self.refresh():
                return True
            self._cursors.append(cursor)
            return False

    def first_page(self) -> bool:
        with self._lock:
            self._cursors = [None]
            return self.refresh()

    def set_filter(self, status: str | None = None, text: str | None = None) -> bool:
        """Change the status and/or text filter, go back to page 1 and refresh."""
        with self._lock:
            if status is not None and status not in {v for _, v in STATUS_FILTERS}:
                raise InputError(f"unknown status filter {status!r}")
            self._syncing = True
            try:
                if status is not None:
                    self._status_filter.value = status
                if text is not None:
                    self._text_filter.value = text
            finally:
                self._syncing = False
            return self.first_page()

    def select(self, batch_id: str | None) -> Any:
        """Show `batch_id` in the details panel (None clears it). Returns its `Batch`."""
        with self._lock:
            if not batch_id:
                self._selected, self._selected_batch = None, None
                self._render()
                return None
            batch = next((b for b in self._rows if b.id == batch_id), None)
            if batch is None:
                batch = self.client.retrieve_batch(batch_id)
            self._selected, self._selected_batch = batch_id, batch
            self._render()
            return batch

    def cancel(self, batch_id: str | None = None) -> Any:
        """Cancel `batch_id` (default: the selected batch); returns the `Batch` (usually `cancelling`).

        Errors are shown on the message line and raised; a 409 (already finished) also refreshes.
        """
        batch_id = batch_id or self._selected
        if not batch_id:
            raise InputError("no batch selected")
        set_if_changed(self._cancel_button, "disabled", True)
        try:
            batch = self.client.cancel_batch(batch_id)
        except ConflictError as exc:
            self._message(f"Cannot cancel {batch_id}: {error_text(exc)}", error=True)
            self.refresh()
            raise
        except Exception as exc:
            self._message(f"Cancel {batch_id} failed: {error_text(exc)}", error=True)
            raise
        finally:
            set_if_changed(self._cancel_button, "disabled", False)
        with self._lock:
            self._rows = [batch if b.id == batch_id else b for b in self._rows]
            if self._selected == batch_id:
                self._selected_batch = batch
            self._cancel_requested(batch)
            self._render()
        return batch

    def load_results(self, batch_id: str | None = None, name: str | None = None) -> Any:
        """Load `jobs.results(client, batch_id)` (default: the selected batch) into `namespace[name]`
        (default: the name typed next to the Results button) and return it."""
        batch_id = batch_id or self._selected
        if not batch_id:
            raise InputError("no batch selected")
        name = check_variable_name(name if name is not None else self._var.value)
        from ..jobs import results

        res = results(self.client, batch_id)
        self.namespace[name] = res
        self._message(f"Loaded {describe_results(res)} of {batch_id} into `{name}`.")
        return res

    # ------------------------------------------------------------------ fetching

    def _find_selected(self, rows: list[Any]) -> Any:
        if not self._selected:
            return None
        for b in rows:
            if b.id == self._selected:
                return b
        try:
            return self.client.retrieve_batch(self._selected)
        except NotFoundError:
            return None

    # ------------------------------------------------------------------ rendering

    def _filtering(self) -> bool:
        return bool(self._status_filter.value or self._text_filter.value.strip())

    def _render_header(self) -> None:
        shown = f"{len(self._rows)} shown" if self._rows else "none shown"
        value = (
            "<div class='bx-header' style='font-family:var(--jp-ui-font-family,sans-serif);font-size:13px'>"
            f"<b>Batches</b> {self._offline_marker()} · page {self.page} · {shown} · "
            f"<span class='bx-updated'>{self._updated_text()}</span></div>"
        )
        set_if_changed(self._header, "value", value)

    def _render(self) -> None:
        now = self._now()
        self._render_header()
        empty = "No batches match the filter." if self._filtering() else "No batches yet."
        set_if_changed(self._body, "value", table_html(self._rows, now, self._selected, empty))
        label = f"page {self.page}"
        if self._truncated:
            label += f" · searched {self._scanned} batches; Next searches further"
        set_if_changed(self._page_label, "value", f"<span style='font-size:12px;padding:0 8px'>{label}</span>")
        set_if_changed(self._prev, "disabled", not self.has_previous)
        set_if_changed(self._next, "disabled", not self.has_next)
        self._render_selection(now)

    def _render_selection(self, now: float) -> None:
        options = [_NO_SELECTION, *((b.id, b.id) for b in self._rows)]
        if self._selected and self._selected not in self.batch_ids:
            options.append((self._selected, self._selected))
        self._syncing = True
        try:
            if tuple(self._select.options) != tuple(options):
                with self._select.hold_sync():  # options and value in one message
                    self._select.options = options
                    self._select.value = self._selected or ""
            else:
                set_if_changed(self._select, "value", self._selected or "")
        finally:
            self._syncing = False
        b = self._selected_batch
        set_if_changed(self._details, "value", details_html(b, now) if b is not None else "")
        show(self._cancel_button, b is not None and b.is_cancellable)
        show(self._results_button, b is not None and b.is_terminal)
        show(self._var, b is not None and b.is_terminal)

    # ------------------------------------------------------------------ observers and thread

    def _filters_changed(self, _change: Any = None) -> None:
        if not self._syncing:
            self.first_page()

    def _select_changed(self, change: Any) -> None:
        if not self._syncing:
            self.select(change["new"] or None)

    def _auto_changed(self, change: Any) -> None:
        if change["new"]:
            self._start()
        else:
            self._stop()
        with self._lock:
            self._render_header()

    def _tick(self) -> bool | None:
        if self._closed or not self._auto.value:
            return None
        return self.refresh()

    # ------------------------------------------------------------------ text fallback

    def __repr__(self) -> str:
        if self._closed:
            return "<BatchTable (closed)>"
        now = self._now()
        filters = []
        if self.status_filter:
            filters.append(f"status={self.status_filter}")
        if self.text_filter:
            filters.append(f"text={self.text_filter!r}")
        head = f"BatchTable page {self.page}: {len(self._rows)} batches shown"
        head += ", more on the next page" if self.has_next else ""
        head += f" (filter {' '.join(filters)})" if filters else ""
        head += " [offline fake]" if self.offline else ""
        lines = [head, *(f"  {batch_line(b, now)}" for b in self._rows)]
        if self._error:
            lines.append(f"  ! refresh failed: {self._error}")
        return "\n".join(lines)
