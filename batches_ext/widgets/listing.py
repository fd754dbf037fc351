"""What the table learns beyond one page: how many batches there are (the list API gives no count) and the first
failure reason of a batch whose requests failed (the API says how many, not why). Both make HTTP calls and
are run by the table's threads, never under its lock.

The total: `count_step` reads one page of 100 batches (the API's largest) from a cursor and counts those that
match the table's filters; the table posts one step at a time to its worker, so a click is never queued behind
a whole count, and stops at `COUNT_LIMIT` batches (then the total reads "10,000+").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..client import matches
from ..jsonl import parse_result_line
from ..spec import LIST_BATCHES_MAX

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["COUNT_LIMIT", "Count", "count_step", "first_error_line"]

#: The most batches a count reads (100 list calls); past it the total is shown as "N+".
COUNT_LIMIT = 10_000


@dataclass
class Count:
    """A count in progress (or done): `counted` matches among `scanned` batches, `cursor` where to go on."""

    token: int
    statuses: tuple[str, ...]
    text: str
    counted: int = 0
    scanned: int = 0
    cursor: str | None = None
    complete: bool = False
    newest: int = 0  # created_at of the newest batch seen (a newer one on screen means the count is stale)
    seen: set[str] = field(default_factory=set, repr=False)

    @property
    def capped(self) -> bool:
        return not self.complete and self.scanned >= COUNT_LIMIT


def count_step(client: BatchesAPI, count: Count) -> Count:
    """Read the next page of the list into a copy of `count` (no lock held: the caller applies it if the count
    is still the current one)."""
    page = client.list_batches(limit=LIST_BATCHES_MAX, after=count.cursor)
    data = list(page.data)
    nxt = Count(count.token, count.statuses, count.text, count.counted, count.scanned, count.cursor,
                count.complete, count.newest, set(count.seen))
    for b in data:
        if b.id in nxt.seen:  # a batch created while counting shifts the pages: never count one twice
            continue
        nxt.seen.add(b.id)
        nxt.scanned += 1
        nxt.newest = max(nxt.newest, b.created_at or 0)
        if matches(b, count.statuses, count.text):
            nxt.counted += 1
    nxt.cursor = data[-1].id if data else count.cursor
    nxt.complete = not page.has_more or not data
    return nxt


def first_error_line(client: BatchesAPI, file_id: str) -> str:
    """`code: message` of the first line of a batch's error file ('' when it has none or cannot be read)."""
    lines: Any = client.iter_file_lines(file_id)
    try:
        for text in lines:
            if not text.strip():
                continue
            line = parse_result_line(text)
            code = line.error_code or ""
            if code.startswith("http_") and line.status_code is not None:  # the endpoint answered non-2xx
                code = f"HTTP {line.status_code}"
            return ": ".join(p for p in (code, line.error_message) if p)
        return ""
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()  # stop the download after the first line

