"""`BatchTable`: a live, paginated, filterable, sortable table of batches that updates in place, with a details
panel, a two-step Cancel and a Results button.

The rows are one `BatchRows` anywidget (see `rows.py` for why): an unchanged row is never redrawn, a click on
a row opens its details, ⧉ copies its id, the `status` and `created` headers sort the page. Paging follows
the API's cursor (`after` = last id shown); filters (status, text on id/metadata) are applied client-side,
scanning at most `scan_limit` batches per page. The total ("1–25 of 307") is counted in the background one
list page at a time (see `listing.py`). Construction returns at once and loads on the view's worker thread;
every button runs there too, and every button is also a public method (which blocks when called from code):

    table = BatchTable(client)          # display(table) in a notebook
    table.wait_idle(); table.next_page(); table.select(table.batch_ids[0]); table.cancel()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets

from ..client import ACTIVE
from ..errors import ConflictError, InputError
from ..render import TABLE_COLUMNS, batch_line, details_html, table_row
from ..spec import STATUSES
from .lifecycle import set_if_changed
from .paged import PagedView
from .rows import BatchRows
from .view import danger_button, error_text, show

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["BatchTable", "STATUS_FILTERS"]

#: The status filter's choices: (label, value); "active" means not terminal.
STATUS_FILTERS: tuple[tuple[str, str], ...] = (("all statuses", ""), (ACTIVE, ACTIVE), *((s, s) for s in STATUSES))


def _wrap() -> ipywidgets.Layout:
    return ipywidgets.Layout(flex_flow="row wrap", align_items="center", width="100%")


class BatchTable(PagedView):
    """A live table of the client's batches, newest first.

    client: a `BatchesClient` (or anything with `list_batches(limit, after)`, `retrieve_batch(id)`,
        `cancel_batch(id)`, `iter_file_lines(id)`, `is_offline`, `now()`).
    page_size: rows per page. auto_refresh / interval: refresh on a background thread every `interval`
        seconds (backing off on errors). status / text: initial filters. sort: "created" or "status".
        namespace: where Results are stored (default: the IPython user namespace). scan_limit: most batches
        examined per filtered page. now: the view's clock (default the client's: the fake's when offline).
    """

    def __init__(self, client: BatchesAPI, page_size: int = 25, auto_refresh: bool = True, interval: float = 5.0, *,
                 status: str = "", text: str = "", sort: str = "created",
                 namespace: MutableMapping[str, Any] | None = None, scan_limit: int = 2000,
                 now: Callable[[], float] | None = None) -> None:
        if status not in {value for _, value in STATUS_FILTERS}:
            raise InputError(f"unknown status filter {status!r}")
        super().__init__(client, page_size=page_size, scan_limit=scan_limit, sort=sort, interval=interval,
                         namespace=namespace, now=now, name="batches_ext-table")
        self._armed: str | None = None  # the batch whose Cancel waits for its confirmation
        self._syncing: int | None = None  # the thread setting widget values (its own changes are not clicks)

        self._header = ipywidgets.HTML("")
        self._status_filter = ipywidgets.Dropdown(options=STATUS_FILTERS, value=status, description="status",
                                                  layout=ipywidgets.Layout(width="200px"))
        self._text_filter = ipywidgets.Text(value=text, placeholder="filter id / metadata", continuous_update=False,
                                            layout=ipywidgets.Layout(width="200px"))
        self._refresh_button = ipywidgets.Button(description="Refresh", icon="refresh", tooltip="Refresh now",
                                                 layout=ipywidgets.Layout(width="100px"))
        self._auto = ipywidgets.Checkbox(value=auto_refresh, description="auto-refresh", indent=False,
                                         layout=ipywidgets.Layout(width="120px"))
        self._rows_view = BatchRows(columns=list(TABLE_COLUMNS), sort=sort,
                                    placeholder="<span class='bx-loading'>Loading batches…</span>")
        self._prev = ipywidgets.Button(description="‹ Prev", tooltip="Newer batches", disabled=True,
                                       layout=ipywidgets.Layout(width="80px"))
        self._page_label = ipywidgets.HTML("")
        self._next = ipywidgets.Button(description="Next ›", tooltip="Older batches", disabled=True,
                                       layout=ipywidgets.Layout(width="80px"))
        self._cancel_button = danger_button("Cancel…", "Cancel the selected batch (asks to confirm)", icon="ban",
                                            disabled=True)
        self._confirm_button = danger_button("Confirm cancel", "Yes: cancel it", disabled=True)
        self._keep_button = ipywidgets.Button(description="Keep running", tooltip="No: leave it running")
        self._details = ipywidgets.HTML("")

        self._refresh_button.on_click(self._button(self.reload))
        self._prev.on_click(self._guard(lambda _b: self._page_click(self.previous_page)))
        self._next.on_click(self._guard(lambda _b: self._page_click(self.next_page)))
        self._cancel_button.on_click(self._guard(lambda _b: self.request_cancel()))
        self._confirm_button.on_click(self._guard(lambda _b: self._confirmed()))
        self._keep_button.on_click(self._guard(lambda _b: self.keep_running()))
        self._status_filter.observe(self._guard(self._filters_changed), names="value")
        self._text_filter.observe(self._guard(self._filters_changed), names="value")
        self._auto.observe(self._guard(self._auto_changed), names="value")
        self._rows_view.observe(self._guard(self._row_clicked), names="selected")
        self._rows_view.observe(self._guard(self._sort_clicked), names="sort")

        self._actions = ipywidgets.HBox([self._cancel_button, self._confirm_button, self._keep_button, self._var,
                                         self._results_button], layout=_wrap())
        self.children = [
            self._header,
            ipywidgets.HBox([self._status_filter, self._text_filter, self._refresh_button, self._auto], layout=_wrap()),
            self._error_line,
            self._rows_view,
            ipywidgets.HBox([self._prev, self._page_label, self._next], layout=_wrap()),
            self._actions,
            self._details,
            self._message_line,
            self._results_preview,
        ]
        with self._lock:
            self._render()
        self._background(self.refresh)
        if auto_refresh:
            self._start()

    # ------------------------------------------------------------------ state

    @property
    def status_filter(self) -> str:
        return str(self._status_filter.value)

    @property
    def text_filter(self) -> str:
        return str(self._text_filter.value)

    @property
    def rows_view(self) -> BatchRows:
        """The rows widget (what the browser updates in place); `rows_view.selected = id` is a row click."""
        return self._rows_view

    @property
    def parts(self) -> dict[str, ipywidgets.HTML]:
        """The HTML parts by name: header, error, page, details, message, preview."""
        return {"header": self._header, "error": self._error_line, "page": self._page_label,
                "details": self._details, "message": self._message_line, "preview": self._results_preview}

    @property
    def controls(self) -> dict[str, ipywidgets.Widget]:
        """The real controls by name (status, text, refresh, auto, prev, next, cancel, confirm, keep, var,
        results): `table.controls["cancel"].click()` does what a user's click does."""
        return {"status": self._status_filter, "text": self._text_filter, "refresh": self._refresh_button,
                "auto": self._auto, "prev": self._prev, "next": self._next, "cancel": self._cancel_button,
                "confirm": self._confirm_button, "keep": self._keep_button, "var": self._var,
                "results": self._results_button}

    @property
    def auto_refresh(self) -> bool:
        return bool(self._auto.value)

    @auto_refresh.setter
    def auto_refresh(self, value: bool) -> None:
        self._auto.value = bool(value)

    def set_filter(self, status: str | None = None, text: str | None = None) -> bool:
        """Change the status and/or text filter, go back to page 1, recount and refresh."""
        with self._lock:
            if status is not None and status not in {v for _, v in STATUS_FILTERS}:
                raise InputError(f"unknown status filter {status!r}")
            self._syncing = threading.get_ident()
            try:
                if status is not None:
                    self._status_filter.value = status
                if text is not None:
                    self._text_filter.value = text
            finally:
                self._syncing = None
            self._new_query()
        return self.refresh()

    def _new_query(self) -> None:
        self._pages.reset()
        self._pages.drop_count()
        self._render()

    def _query(self) -> tuple[tuple[str, ...], str]:
        return ((self.status_filter,) if self.status_filter else ()), self.text_filter

    # ------------------------------------------------------------------ selection and actions

    def select(self, batch_id: str | None) -> Any:
        """Show `batch_id` in the details panel (None clears it); what a click on its row does. Returns its
        `Batch` (fetched when it is not on the page)."""
        with self._lock:
            batch = next((b for b in self._pages.rows if b.id == batch_id), None) if batch_id else None
        if batch_id and batch is None:
            batch = self.client.retrieve_batch(batch_id)
        with self._lock:
            self._selected, self._selected_batch = (batch_id, batch) if batch_id else (None, None)
            if self._armed != self._selected:
                self._armed = None
            self._results_preview.value = ""
            self._render()
        return batch

    def request_cancel(self) -> None:
        """The Cancel button's first click: ask to confirm (nothing is cancelled yet)."""
        with self._lock:
            b = self._selected_batch
            if b is None:
                raise InputError("no batch selected")
            if not b.is_cancellable:
                self._message(f"Cannot cancel {b.id}: it is {b.status}.", error=True)
                return
            self._armed = b.id
            self._message(f"Cancel {b.id}? Requests not yet run will not run (finished ones are kept). "
                          "Click “Confirm cancel”, or “Keep running”.")
            self._render_actions()

    def keep_running(self) -> None:
        """Dismiss a pending cancel confirmation."""
        with self._lock:
            self._armed = None
            self._message("")
            self._render_actions()

    def _confirmed(self) -> None:
        with self._lock:
            batch_id, self._armed = self._armed, None
            self._render_actions()
        if batch_id:
            self._background(lambda: self.cancel(batch_id))

    def cancel(self, batch_id: str | None = None) -> Any:
        """Cancel `batch_id` (default: the selected batch) now, without asking; returns the `Batch` (usually
        `cancelling`). Errors are shown on the message line and raised; a 409 (already finished) also refreshes."""
        batch_id = batch_id or self._selected
        if not batch_id:
            raise InputError("no batch selected")
        try:
            batch = self.client.cancel_batch(batch_id)
        except ConflictError as exc:
            self._report(exc, f"Cannot cancel {batch_id}: {error_text(exc)}")
            self.refresh()
            raise
        except Exception as exc:
            self._report(exc, f"Cancel {batch_id} failed: {error_text(exc)}")
            raise
        with self._lock:
            self._pages.rows = [batch if b.id == batch_id else b for b in self._pages.rows]
            if self._selected == batch_id:
                self._selected_batch = batch
            self._cancel_requested(batch)
            self._render()
        return batch

    def load_results(self, batch_id: str | None = None, name: str | None = None) -> Any:
        """Load `jobs.results(client, batch_id)` (default: the selected batch) into `namespace[name]` (default: the
        name typed next to the Results button, `batch_results`), show a summary and the first rows, return it."""
        batch_id = batch_id or self._selected
        try:
            if not batch_id:
                raise InputError("no batch selected")
            name = self._results_name(name)
            with self._lock:
                self._message(f"Loading the results of {batch_id}…")
            from ..jobs import results

            res = results(self.client, batch_id)
        except Exception as exc:
            self._report(exc, f"Results of {batch_id or '—'}: {error_text(exc)}")
            raise
        self._store_results(name, res, {batch_id: res})
        return res

    # ------------------------------------------------------------------ rendering (under the lock)

    def _filtering(self) -> bool:
        return bool(self._status_filter.value or self._text_filter.value.strip())

    def _render(self) -> None:
        if self._closed:
            return
        now = self._now()
        pages = self._pages
        rows = [table_row(b, now, first_error=pages.reason(b)) for b in pages.ordered()]
        self._syncing = threading.get_ident()
        try:
            self._rows_view.set_rows(rows)
            set_if_changed(self._rows_view, "sort", pages.sort)
            set_if_changed(self._rows_view, "selected", self._selected or "")
        finally:
            self._syncing = None
        if self._loaded:
            empty = "No batches match the filter." if self._filtering() else "No batches yet."
        else:
            empty = "Loading batches…" if self._error is None else "Could not load the batches (see above)."
        set_if_changed(self._rows_view, "placeholder", f"<span class='bx-empty'>{empty}</span>")
        self._render_page()
        b = self._selected_batch
        set_if_changed(self._details, "value", details_html(b, now, dashboard=self.dashboard,
                                                            first_error=pages.reason(b)) if b is not None else "")
        self._render_actions()

    def _render_page(self) -> None:
        if self._closed:
            return
        shown = self.range_text if self._loaded else ""
        state = "loading…" if self._paging else self._updated_text()
        set_if_changed(self._header, "value", (
            "<div class='bx-header' style='font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
            "color:var(--jp-ui-font-color1,#212121)'>"
            f"<b>Batches</b> {self._offline_marker()}{' · ' + shown if shown else ''} · "
            f"<span class='bx-updated'>{state}</span></div>"))
        label = shown or "—"
        if self._pages.truncated:
            label += f" · searched {self._pages.scanned:,} batches; Next searches further"
        set_if_changed(self._page_label, "value",
                       f"<span class='bx-range' style='font-size:12px;padding:0 8px;"
                       f"color:var(--jp-ui-font-color1,#212121)'>{label}</span>")
        enabled = self._actions_enabled() and not self._paging
        set_if_changed(self._prev, "disabled", not (enabled and self.has_previous))
        set_if_changed(self._next, "disabled", not (enabled and self.has_next))

    def _render_actions(self) -> None:
        b = self._selected_batch
        enabled = self._actions_enabled()
        show(self._actions, b is not None)
        cancellable = b is not None and b.is_cancellable
        armed = cancellable and self._armed == b.id
        show(self._cancel_button, cancellable and not armed)
        show(self._confirm_button, armed)
        show(self._keep_button, armed)
        set_if_changed(self._cancel_button, "disabled", not enabled)
        set_if_changed(self._confirm_button, "disabled", not enabled)
        terminal = b is not None and b.is_terminal
        show(self._var, terminal)
        show(self._results_button, terminal)
        set_if_changed(self._results_button, "disabled", not enabled)

    # ------------------------------------------------------------------ observers and thread

    def _filters_changed(self, _change: Any = None) -> None:
        if self._syncing != threading.get_ident():
            with self._lock:
                self._new_query()
            self._background(self.refresh)

    def _row_clicked(self, change: Any) -> None:
        if self._syncing != threading.get_ident():
            wanted = change["new"] or None
            if wanted is None or wanted in {b.id for b in self._pages.rows}:
                self.select(wanted)
            else:
                self._background(lambda: self.select(wanted))

    def _sort_clicked(self, change: Any) -> None:
        if self._syncing != threading.get_ident():
            self.sort_by(change["new"])

    def _auto_changed(self, change: Any) -> None:
        if change["new"]:
            self._start()
        else:
            self._stop()
        with self._lock:
            self._render_page()

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
        if not self._loaded:
            head = "BatchTable: loading…" if self._error is None else "BatchTable: not loaded"
        else:
            head = f"BatchTable page {self.page}: {self.range_text}"
            head += ", more on the next page" if self.has_next else ""
        head += f" (filter {' '.join(filters)})" if filters else ""
        head += " [offline fake]" if self.offline else ""
        lines = [head, *(f"  {batch_line(b, now)}" for b in self._pages.ordered())]
        if self._error:
            lines.append(f"  ! refresh failed: {self._error}")
        return "\n".join(lines)
