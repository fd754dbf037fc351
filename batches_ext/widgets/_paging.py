"""Cursor pagination with client-side filters, for the table: the API lists newest first with `after`
cursors and has no status or text filter, so a filtered page scans forward until it has `page_size`
matches or has examined `scan_limit` batches (then the next page continues the scan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PageResult", "matches", "fetch_page", "MAX_LIMIT"]

MAX_LIMIT = 100  # the API's largest page


@dataclass
class PageResult:
    rows: list[Any]
    next_cursor: str | None  # where the next page starts (None: this is the last page)
    truncated: bool  # stopped after scan_limit batches without filling the page
    scanned: int


def matches(b: Any, status: str, text: str) -> bool:
    """`status`: "" (any), "active" (not terminal) or one status; `text`: case-insensitive substring of
    the id or of any `key=value` of the metadata."""
    if status == "active":
        if b.is_terminal:
            return False
    elif status and b.status != status:
        return False
    needle = text.strip().lower()
    if not needle:
        return True
    haystack = [b.id, *(f"{k}={v}" for k, v in (b.metadata or {}).items())]
    return any(needle in h.lower() for h in haystack)


def fetch_page(
    client: Any, after: str | None, page_size: int, status: str = "", text: str = "", scan_limit: int = 2000
) -> PageResult:
    """One page of matching batches starting after cursor `after`."""
    filtering = bool(status or text.strip())
    rows: list[Any] = []
    scanned = 0
    cursor = after
    while True:
        limit = MAX_LIMIT if filtering else min(MAX_LIMIT, page_size - len(rows))
        page = client.list_batches(limit=limit, after=cursor)
        data = list(page.data)
        for i, b in enumerate(data):
            scanned += 1
            if matches(b, status, text):
                rows.append(b)
                if len(rows) == page_size:
                    more = i < len(data) - 1 or bool(page.has_more)
                    return PageResult(rows, b.id if more else None, False, scanned)
        if not page.has_more or not data:
            return PageResult(rows, None, False, scanned)
        cursor = data[-1].id
        if scanned >= scan_limit:
            return PageResult(rows, cursor, True, scanned)
