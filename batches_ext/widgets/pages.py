"""`TablePages`: what the live table shows, without widgets or HTTP — the page cursors, the rows, the sort, the
count of the total and the failure reasons read so far. The table changes it only under its lock.

Every change of query (page, filters) bumps `gen`; an answer fetched for an older `gen` is dropped, so a slow
refresh can never overwrite the page the user moved to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..client import PageResult
from ..render import page_range_text
from .listing import Count

__all__ = ["TablePages", "SORT_KEYS", "STATUS_ORDER"]

#: How the page can be sorted: newest first, or by status (what needs attention first), then newest first.
SORT_KEYS = ("created", "status")
#: The "status" sort: running batches first, then the ones that failed, then the rest.
STATUS_ORDER = {s: i for i, s in enumerate(("in_progress", "finalizing", "validating", "cancelling", "failed",
                                            "expired", "cancelled", "completed"))}


@dataclass
class TablePages:
    sort: str = "created"
    cursors: list[str | None] = field(default_factory=lambda: [None])
    offsets: list[int] = field(default_factory=lambda: [0])  # the index of each page's first row
    gen: int = 0
    rows: list[Any] = field(default_factory=list)
    next_cursor: str | None = None
    truncated: bool = False
    scanned: int = 0
    count: Count | None = None
    count_token: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # error file id -> its first line's reason

    # ------------------------------------------------------------------ reading

    @property
    def page(self) -> int:
        return len(self.cursors)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return len(self.cursors) > 1

    def ordered(self) -> list[Any]:
        if self.sort == "status":
            return sorted(self.rows, key=lambda b: (STATUS_ORDER.get(b.status, 99), -(b.created_at or 0)))
        return list(self.rows)

    @property
    def total(self) -> int | None:
        count = self.count
        return count.counted if count is not None and (count.complete or count.capped) else None

    def range_text(self, matching: bool) -> str:
        count = self.count
        total = count.counted if count is not None and count.scanned else None
        return page_range_text(self.offsets[-1], len(self.rows), total, bool(count and count.complete), matching)

    def reason(self, b: Any) -> str | None:
        return self.reasons.get(b.error_file_id or "") if b is not None else None

    def reasons_wanted(self, *extra: Any) -> set[str]:
        """Error files still to read: of shown batches with failed requests and no batch-level errors."""
        return {b.error_file_id for b in [*self.rows, *extra]
                if b is not None and b.error_file_id and b.request_counts.failed and not b.errors
                and b.error_file_id not in self.reasons}

    # ------------------------------------------------------------------ changing

    def apply(self, got: PageResult) -> dict[str, str]:
        """Take a fetched page; returns the previous rows' statuses (to tell whether the count went stale)."""
        previous = {b.id: b.status for b in self.rows}
        self.rows, self.next_cursor = got.rows, got.next_cursor
        self.truncated, self.scanned = got.truncated, got.scanned
        return previous

    def turn(self, step: int) -> tuple[list[str | None], list[int]] | None:
        """Move one page forward (+1) or back (-1); returns what `restore` needs, or None when there is no page."""
        if (step > 0 and self.next_cursor is None) or (step < 0 and len(self.cursors) < 2):
            return None
        saved = (list(self.cursors), list(self.offsets))
        if step > 0:
            self.cursors.append(self.next_cursor)
            self.offsets.append(self.offsets[-1] + len(self.rows))
        else:
            self.cursors.pop()
            self.offsets.pop()
        self.gen += 1
        return saved

    def restore(self, saved: tuple[list[str | None], list[int]]) -> None:
        self.cursors, self.offsets = saved
        self.gen += 1

    def reset(self) -> None:
        """Back to page 1 (a new query)."""
        self.cursors, self.offsets = [None], [0]
        self.next_cursor = None
        self.gen += 1

    def drop_count(self) -> None:
        self.count, self.count_token = None, self.count_token + 1

    def new_count(self, statuses: tuple[str, ...], text: str) -> Count:
        self.count_token += 1
        self.count = Count(self.count_token, statuses, text)
        return self.count

    def count_is_stale(self, previous: dict[str, str]) -> bool:
        """True when the total must be counted (again): never counted, a batch newer than the count is shown, or
        (with a status filter) a shown batch changed status."""
        count = self.count
        if count is None:
            return True
        if not count.complete:
            return False
        if any((b.created_at or 0) > count.newest for b in self.rows):
            return True
        return bool(count.statuses) and any(previous.get(b.id, b.status) != b.status for b in self.rows)
