"""The in-memory store: files and batches of one tenant (organization, project), and their indexes.

Plain objects, no HTTP. `backend.Backend` keeps one `Tenant` per (organization, project) and guards
their maps with its one lock; a batch's progress has its own small lock (`BatchRecord.lock`), held while its
lines are answered; readers that must not wait read its last published `Progress` instead.
File contents live in a `Blob`: bytes while small, past `Blob.SPILL_BYTES` an anonymous temporary
file that is unlinked from the moment it exists, so no exit (normal, SIGTERM, SIGKILL) leaves one behind.

Indexes keep every view O(page): a tenant's batches in creation order with an id → position map (a
list page at any cursor is a slice), its files in `(created_at, seq)` order with a bisectable key list
(output files are stamped with their batch's terminal time, which may be earlier than the newest upload),
a heap of files by expiry, a tombstone per deleted or expired file (its id → its place in that order, so a
list cursor naming it pages on from there: O(log n)), and a heap of batches by the time they end (so a file listing settles only the
batches that ended since, never walks every batch).
"""

from __future__ import annotations

import bisect
import heapq
import os
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from .lifecycle import Schedule

__all__ = ["Blob", "BlobWriter", "FileRecord", "BatchRecord", "Progress", "ParsedInput", "Tenant", "live_spills", "MAX_TOMBSTONES"]

MAX_TOMBSTONES = 100_000  # per tenant: the deleted/expired file ids a list cursor may still name

_SPILLS: weakref.WeakSet[Any] = weakref.WeakSet()  # open spill files of this process (diagnostics and tests)


def live_spills() -> int:
    """How many spilled blobs (anonymous temporary files) this process holds open right now."""
    return sum(1 for fh in list(_SPILLS) if not fh.closed)


def _spill_file() -> IO[bytes]:
    fh = tempfile.TemporaryFile(prefix="fake_server-", suffix=".blob")  # unlinked at once (O_TMPFILE on Linux)
    _SPILLS.add(fh)
    return fh


class Blob:
    """Immutable file content: `bytes` in memory, or an unlinked temporary file read with `os.pread`."""

    SPILL_BYTES = 8 * 1024 * 1024
    __slots__ = ("_data", "_file", "_lock", "size", "__weakref__")

    def __init__(self, data: bytes | None = None, file: IO[bytes] | None = None, size: int = 0) -> None:
        self._data = data
        self._file = file
        self._lock = threading.Lock() if file is not None and not hasattr(os, "pread") else None
        self.size = len(data) if data is not None else size

    @classmethod
    def from_bytes(cls, data: bytes) -> Blob:
        if len(data) <= cls.SPILL_BYTES:
            return cls(data=data)
        writer = BlobWriter()
        writer.write(data)
        return writer.finish()

    def iter_chunks(self, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        data, file, size = self._data, self._file, self.size
        if data is not None:
            view = memoryview(data)
            for i in range(0, len(data), chunk_size):
                yield bytes(view[i : i + chunk_size])
            return
        if file is None or file.closed:
            return  # discarded
        if self._lock is not None:  # pragma: no cover - platforms without os.pread
            yield from self._iter_locked(chunk_size)
            return
        try:
            fd = os.dup(file.fileno())  # a reader's own handle: a concurrent discard cannot cut it
        except (OSError, ValueError):
            return  # discarded meanwhile
        try:
            offset = 0
            while offset < size:
                chunk = os.pread(fd, min(chunk_size, size - offset), offset)
                if not chunk:
                    return
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    def _iter_locked(self, chunk_size: int) -> Iterator[bytes]:  # pragma: no cover - no os.pread
        offset = 0
        assert self._file is not None and self._lock is not None
        while offset < self.size:
            with self._lock:
                self._file.seek(offset)
                chunk = self._file.read(min(chunk_size, self.size - offset))
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def iter_lines(self) -> Iterator[bytes]:
        """Lines without their b"\\n"; a final newline does not make an empty last line.

        Linear in the size: each chunk is scanned once, and a line spanning chunks is joined once.
        """
        pending: list[bytes] = []
        for chunk in self.iter_chunks():
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                if pending:
                    pending.append(chunk[start:newline])
                    yield b"".join(pending)
                    pending = []
                else:
                    yield chunk[start:newline]
                start = newline + 1
            if start < len(chunk):
                pending.append(chunk[start:])
        if pending:
            yield b"".join(pending)

    def read(self) -> bytes:
        return self._data if self._data is not None else b"".join(self.iter_chunks())

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def discard(self) -> None:
        """Free the content (close the temporary file); readers already streaming keep their own handle."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:  # pragma: no cover
                pass
        self._file = None
        self._data = b""


class BlobWriter:
    """Collects streamed bytes; spills to an anonymous temporary file past `Blob.SPILL_BYTES`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._fh: IO[bytes] | None = None
        self.size = 0
        self.newlines = 0
        self.last_byte = b""

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        self.newlines += data.count(b"\n")
        self.last_byte = data[-1:]
        if self._fh is None and self.size > Blob.SPILL_BYTES:
            self._fh = _spill_file()
            for part in self._parts:
                self._fh.write(part)
            self._parts = []
        if self._fh is not None:
            self._fh.write(data)
        else:
            self._parts.append(bytes(data))

    @property
    def lines(self) -> int:
        """Number of JSONL lines written so far (a last line without a newline counts)."""
        return self.newlines + (1 if self.size and self.last_byte != b"\n" else 0)

    def finish(self) -> Blob:
        if self._fh is not None:
            self._fh.flush()
            fh, self._fh = self._fh, None
            return Blob(file=fh, size=self.size)
        data, self._parts = b"".join(self._parts), []
        return Blob(data=data)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._parts = []


@dataclass(slots=True)
class ParsedInput:
    """A batch input file checked against one endpoint: shared by every batch made from that file.

    `requests` holds the parsed lines (empty when `errors` is not); `prompt_tokens` is what the lines
    would enqueue against the model's token quota (the fake's tokenizer: words).
    """

    errors: list[dict]
    requests: list[dict]
    model: str | None
    prompt_tokens: int


@dataclass(slots=True, eq=False)
class FileRecord:
    id: str
    filename: str
    purpose: str
    created_at: int
    blob: Blob
    expires_at: int | None = None
    seq: int = 0
    parsed: dict[Any, ParsedInput] = field(default_factory=dict)  # (endpoint, model rule) -> checked lines
    parse_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> tuple[int, int]:
        return (self.created_at, self.seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.blob.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass(slots=True)
class Progress:
    """How far a batch's counters and result files have been carried: ranks 0 .. `rank`-1 are accounted.

    Advanced as the clock moves (each line once), so a view reads counts and usage in O(1). A published
    progress (`BatchRecord.progress_`, `BatchRecord.shown`) is never changed while lines are answered: the work
    is done on a copy that replaces it when done, so a reader that does not wait sees a consistent earlier state.
    """

    rank: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    output: BlobWriter | None = None
    errors: BlobWriter | None = None

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass(slots=True, eq=False)
class BatchRecord:
    id: str
    seq: int
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    schedule: Schedule
    model: str | None
    parsed: ParsedInput | None  # the shared checked input (None: the input file was missing)
    prompt_tokens: int = 0  # enqueued against the model's token quota until the batch ends
    output_expires_seconds: int | None = None
    seeded_failures: int = 0  # the first k lines to finish answer with a seeded 400 (seed_batch(failed=k))
    progress_: Progress | None = None  # made when the first line finishes (a batch not yet run costs less)
    output_file_id: str | None = None
    error_file_id: str | None = None
    settled: bool = False  # output/error files materialised
    # the newest view returned, as (instant, schedule, progress): what a reader that does not wait shows again.
    # A schedule is never changed once seen (changes replace `schedule` with a copy), so it replays exactly.
    shown: tuple[float, Schedule, Progress | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while the batch's lines are answered

    @property
    def requests(self) -> list[dict]:
        return self.parsed.requests if self.parsed is not None and not self.schedule.errors else []



@dataclass(eq=False)
class Tenant:
    """Everything one (organization, project) owns, with the indexes that keep its views O(page)."""

    organization: str
    project: str | None
    files: dict[str, FileRecord] = field(default_factory=dict)
    file_keys: list[tuple[int, int]] = field(default_factory=list)  # sorted (created_at, seq)
    file_ids: list[str] = field(default_factory=list)  # the ids in `file_keys` order
    file_expiry: list[tuple[int, int, str]] = field(default_factory=list)  # heap (expires_at, seq, id)
    # deleted or expired files: id -> (created_at, seq), oldest first, at most MAX_TOMBSTONES
    file_tombstones: OrderedDict[str, tuple[int, int]] = field(default_factory=OrderedDict)
    batches: dict[str, BatchRecord] = field(default_factory=dict)
    batch_ids: list[str] = field(default_factory=list)  # creation order, for cursor paging
    batch_pos: dict[str, int] = field(default_factory=dict)  # id -> index in batch_ids
    ending: list[tuple[int, int, str]] = field(default_factory=list)  # heap (terminal at, seq, id): unsettled

    # ------------------------------------------------------------ files

    def add_file(self, record: FileRecord) -> None:
        self.files[record.id] = record
        at = bisect.bisect_right(self.file_keys, record.key)
        self.file_keys.insert(at, record.key)
        self.file_ids.insert(at, record.id)
        if record.expires_at is not None:
            heapq.heappush(self.file_expiry, (record.expires_at, record.seq, record.id))

    def remove_file(self, file_id: str) -> FileRecord | None:
        record = self.files.pop(file_id, None)
        if record is None:
            return None
        at = bisect.bisect_left(self.file_keys, record.key)
        if at < len(self.file_ids) and self.file_ids[at] == file_id:
            del self.file_keys[at]
            del self.file_ids[at]
        self.file_tombstones[file_id] = record.key
        while len(self.file_tombstones) > MAX_TOMBSTONES:
            self.file_tombstones.popitem(last=False)
        record.blob.discard()
        return record

    def file_page_start(self, after: str, step: int) -> int | None:
        """Where a page after the file `after` starts in `file_ids` (step -1: newest first, 1: oldest first).

        A file this tenant deleted or that expired (a tombstone) keeps its place in the order, so a listing that
        deletes as it goes pages on; None for an id the tenant never had. O(log n)."""
        record = self.files.get(after)
        key = record.key if record is not None else self.file_tombstones.get(after)
        if key is None:
            return None
        at = bisect.bisect_left(self.file_keys, key)  # a live file sits at `at`; a tombstone just before it
        if record is not None:
            return at + step
        return at - 1 if step < 0 else at

    def expire_files(self, now: float) -> None:
        """Remove every file whose `expires_at` has come (O(expired · log n))."""
        while self.file_expiry and self.file_expiry[0][0] <= now:
            _, _, file_id = heapq.heappop(self.file_expiry)
            record = self.files.get(file_id)
            if record is not None and record.expires_at is not None and record.expires_at <= now:
                self.remove_file(file_id)

    # ------------------------------------------------------------ batches

    def add_batch(self, record: BatchRecord) -> None:
        self.batches[record.id] = record
        self.batch_pos[record.id] = len(self.batch_ids)
        self.batch_ids.append(record.id)
        self.watch_end(record)

    def watch_end(self, record: BatchRecord) -> None:
        """(Re)note when `record` ends; called at create and whenever its schedule changes."""
        heapq.heappush(self.ending, (record.schedule.terminal()[1], record.seq, record.id))

    def due_batches(self, now: float) -> list[BatchRecord]:
        """The unsettled batches that have ended by `now` (stale heap entries are dropped or re-noted)."""
        due: list[BatchRecord] = []
        later: list[BatchRecord] = []
        while self.ending and self.ending[0][0] <= now:
            _, _, batch_id = heapq.heappop(self.ending)
            record = self.batches.get(batch_id)
            if record is None or record.settled or record in due:
                continue
            if record.schedule.terminal()[1] <= now:
                due.append(record)
            else:
                later.append(record)
        for record in later:
            self.watch_end(record)
        return due

    def discard(self) -> None:
        for record in self.files.values():
            record.blob.discard()
        for batch in self.batches.values():
            progress = batch.progress_
            for writer in (progress.output, progress.errors) if progress is not None else ():
                if writer is not None:
                    writer.abort()
