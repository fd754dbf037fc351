"""Filtered paging of batches: the API lists newest first with `after` cursors and has no status or text
filter, so a filtered page scans forward until it has `page_size` matches or has examined `scan_limit`
batches (the next page then continues the scan from `next_cursor`). The one such helper: the live table and
`%batches list --status` both use it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import Batch
from ..spec import LIST_BATCHES_MAX

if TYPE_CHECKING:
    from .protocol import BatchesAPI

__all__ = ["PageResult", "matches", "fetch_page", "ACTIVE"]

#: The status filter meaning "not terminal yet".
ACTIVE = "active"


@dataclass
class PageResult:
    rows: list[Batch]
    next_cursor: str | None  # where the next page starts (None: this is the last page)
    truncated: bool  # stopped after scan_limit batches without filling the page
    scanned: int


def matches(b: Batch, statuses: Collection[str] = (), text: str = "") -> bool:
    """`statuses`: empty (any), or the wanted statuses, where "active" means any non-terminal one; `text`:
    a case-insensitive substring of the id or of any `key=value` of the metadata."""
    if statuses and b.status not in statuses and not (ACTIVE in statuses and not b.is_terminal):
        return False
    needle = text.strip().lower()
    if not needle:
        return True
    haystack = [b.id, *(f"{k}={v}" for k, v in (b.metadata or {}).items())]
    return any(needle in h.lower() for h in haystack)


def fetch_page(
    client: BatchesAPI,
    after: str | None,
    page_size: int,
    statuses: Collection[str] = (),
    text: str = "",
    scan_limit: int | None = 2000,
) -> PageResult:
    """One page of matching batches starting after cursor `after` (`scan_limit` None: scan to the end)."""
    filtering = bool(statuses or text.strip())
    rows: list[Batch] = []
    scanned = 0
    cursor = after
    while True:
        limit = LIST_BATCHES_MAX if filtering else min(LIST_BATCHES_MAX, page_size - len(rows))
        page = client.list_batches(limit=limit, after=cursor)
        data = list(page.data)
        for i, b in enumerate(data):
            scanned += 1
            if matches(b, statuses, text):
                rows.append(b)
                if len(rows) == page_size:
                    more = i < len(data) - 1 or bool(page.has_more)
                    return PageResult(rows, b.id if more else None, False, scanned)
        if not page.has_more or not data:
            return PageResult(rows, None, False, scanned)
        cursor = data[-1].id
        if scan_limit is not None and scanned >= scan_limit:
            return PageResult(rows, cursor, True, scanned)
