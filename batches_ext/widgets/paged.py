"""`PagedView`: the table's data side — the page it shows, loading it, paging, counting the total and reading
failure reasons — with every HTTP call made outside the view's lock. `BatchTable` adds the widgets.

A load reads its query (cursor, filters, `gen`) under the lock, fetches without it, and applies the answer
under it only if `gen` is unchanged and the view is open: a slow refresh never overwrites the page the user
moved to, and a view closed meanwhile is left alone. The total is counted one list page per worker job
(`listing.count_step`), so a click is never queued behind a whole count.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ..client import fetch_page
from ..errors import InputError, NotFoundError
from .listing import COUNT_LIMIT, count_step, first_error_line
from .pages import SORT_KEYS, TablePages
from .view import LiveView

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["PagedView"]


class PagedView(LiveView):
    """A LiveView over pages of the client's batch list (see BatchTable for the arguments)."""

    def __init__(self, client: BatchesAPI, *, page_size: int, scan_limit: int, sort: str, interval: float,
                 namespace: MutableMapping[str, Any] | None, now: Callable[[], float] | None, name: str) -> None:
        if page_size < 1:
            raise InputError("page_size must be >= 1")
        if sort not in SORT_KEYS:
            raise InputError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
        super().__init__(client, interval=interval, namespace=namespace, now=now, name=name)
        self.page_size = page_size
        self.scan_limit = max(scan_limit, page_size)
        self._pages = TablePages(sort=sort)
        self._selected: str | None = None
        self._selected_batch: Any = None
        self._paging = False

    # for the widget side
    def _query(self) -> tuple[tuple[str, ...], str]:
        raise NotImplementedError

    def _filtering(self) -> bool:
        raise NotImplementedError

    def _render_page(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ state

    @property
    def batch_ids(self) -> list[str]:
        """The ids shown, in the order shown."""
        return [b.id for b in self._pages.ordered()]

    @property
    def batches(self) -> list[Any]:
        """The `Batch` objects shown, in the order shown."""
        return self._pages.ordered()

    @property
    def page(self) -> int:
        """1-based page number."""
        return self._pages.page

    @property
    def has_next(self) -> bool:
        return self._pages.has_next

    @property
    def has_previous(self) -> bool:
        return self._pages.has_previous

    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def selected_batch(self) -> Any:
        return self._selected_batch

    @property
    def sort(self) -> str:
        return self._pages.sort

    @property
    def total(self) -> int | None:
        """Batches matching the filters, once counted (None while counting; a capped count is a lower bound)."""
        return self._pages.total

    @property
    def total_complete(self) -> bool:
        return self._pages.count is not None and self._pages.count.complete

    @property
    def range_text(self) -> str:
        """`1–25 of 307` (what the pager shows; "of 300+" while counting)."""
        return self._pages.range_text(matching=self._filtering())

    # ------------------------------------------------------------------ loading (HTTP, never under the lock)

    def refresh(self) -> bool:
        """Fetch the current page (and the selected batch when it is not on it). On failure keep the rows, show
        the error line, disable the actions, and return False."""
        return self._load() != "failed"

    def reload(self) -> bool:
        """What the Refresh button does: recount the total, then refresh."""
        with self._lock:
            self._pages.drop_count()
        return self.refresh()

    def _load(self) -> str:
        with self._lock:
            if self._closed:
                return "stale"
            gen, cursor, selected = self._pages.gen, self._pages.cursors[-1], self._selected
            statuses, text = self._query()
        try:
            got = fetch_page(self.client, cursor, self.page_size, statuses, text, self.scan_limit)
            chosen = next((b for b in got.rows if b.id == selected), None)
            if selected and chosen is None:
                try:
                    chosen = self.client.retrieve_batch(selected)
                except NotFoundError:
                    chosen = None
        except Exception as exc:
            with self._lock:
                if self._closed or gen != self._pages.gen:
                    return "stale"
                self._record_error(exc)
                self._render()
            return "failed"
        with self._lock:
            if self._closed or gen != self._pages.gen:
                return "stale"
            previous = self._pages.apply(got)
            self._selected_batch = chosen
            if chosen is None:
                self._selected = None
            self._record_ok()
            self._settle_cancel_note([*self._pages.rows, self._selected_batch])
            recount = self._pages.count_is_stale(previous)
            self._render()
        if recount:
            self._start_count()
        self._read_reasons(gen)
        return "ok"

    def _start_count(self) -> None:
        with self._lock:
            token = self._pages.new_count(*self._query()).token
        self._background(lambda: self._count_next(token))

    def _count_next(self, token: int) -> None:
        with self._lock:
            count = self._pages.count
            if self._closed or count is None or count.token != token:
                return
        try:
            counted = count_step(self.client, count)
        except Exception:
            with self._lock:  # no total rather than a wrong one; the next Refresh counts again
                if self._pages.count is count:
                    self._pages.drop_count()
                    self._render_page()
            return
        with self._lock:
            if self._closed or self._pages.count is not count:
                return
            self._pages.count = counted
            self._render_page()
            more = not counted.complete and counted.scanned < COUNT_LIMIT
        if more:
            self._background(lambda: self._count_next(token))

    def _read_reasons(self, gen: int) -> None:
        """Read the first line of the error file of each shown batch with failed requests (once per file)."""
        with self._lock:
            wanted = self._pages.reasons_wanted(self._selected_batch)
        found = {}
        for file_id in sorted(wanted):
            try:
                found[file_id] = first_error_line(self.client, file_id)
            except Exception:
                found[file_id] = ""
        if found:
            with self._lock:
                self._pages.reasons.update(found)
                if not self._closed and gen == self._pages.gen:
                    self._render()

    # ------------------------------------------------------------------ paging and filters

    def next_page(self) -> bool:
        """Show older batches. Returns False (and stays) when there is no next page or the fetch fails."""
        return self._turn(+1)

    def previous_page(self) -> bool:
        """Show newer batches. Returns False when already on the first page or the fetch fails."""
        return self._turn(-1)

    def _turn(self, step: int) -> bool:
        with self._lock:
            saved = self._pages.turn(step)
            if saved is None:
                return False
        outcome = self._load()
        if outcome == "failed":
            with self._lock:
                self._pages.restore(saved)
                self._render()
        return outcome == "ok"

    def _page_click(self, turn: Callable[[], bool]) -> None:
        with self._lock:
            self._paging = True
            self._render_page()

        def job() -> None:
            try:
                turn()
            finally:
                with self._lock:
                    self._paging = False
                    if not self._closed:
                        self._render_page()

        self._background(job)

    def first_page(self) -> bool:
        with self._lock:
            self._pages.reset()
        return self.refresh()

    def sort_by(self, key: str) -> None:
        """Sort the page shown: "created" (newest first) or "status" (running first, then failed, ..., completed).
        The API lists newest first only, so the sort applies to the page, not across pages."""
        if key not in SORT_KEYS:
            raise InputError(f"sort must be one of {', '.join(SORT_KEYS)}, not {key!r}")
        with self._lock:
            self._pages.sort = key
            self._render()
