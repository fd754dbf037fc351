"""The in-memory store: files and batches of one tenant (organization, project).

Plain objects, no HTTP. `backend.Backend` keeps one `Tenant` per (organization, project)
and guards them all with its one lock; nothing here locks on its own.
File contents live in a `Blob`: bytes while small, a temporary file on disk past
`Blob.SPILL_BYTES`, so a 200 MB upload does not become 200 MB of memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from .lifecycle import Schedule

__all__ = ["Blob", "BlobWriter", "FileRecord", "BatchRecord", "Tenant"]


class Blob:
    """Immutable file content: `bytes` in memory, or a path to a private temporary file."""

    SPILL_BYTES = 8 * 1024 * 1024

    def __init__(self, data: bytes | None = None, path: str | None = None, size: int = 0) -> None:
        self._data = data
        self._path = path
        self.size = len(data) if data is not None else size

    @classmethod
    def from_bytes(cls, data: bytes) -> Blob:
        if len(data) <= cls.SPILL_BYTES:
            return cls(data=data)
        writer = BlobWriter()
        writer.write(data)
        return writer.finish()

    def iter_chunks(self, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        if self._data is not None:
            for i in range(0, len(self._data), chunk_size):
                yield self._data[i : i + chunk_size]
            return
        assert self._path is not None
        with open(self._path, "rb") as fh:  # a handle per reader: concurrent downloads are safe
            while chunk := fh.read(chunk_size):
                yield chunk

    def iter_lines(self) -> Iterator[bytes]:
        """Lines without their b"\\n"; a final newline does not make an empty last line."""
        rest = b""
        for chunk in self.iter_chunks():
            rest += chunk
            *lines, rest = rest.split(b"\n")
            yield from lines
        if rest:
            yield rest

    def read(self) -> bytes:
        return self._data if self._data is not None else b"".join(self.iter_chunks())

    def discard(self) -> None:
        if self._path is not None:
            try:
                os.unlink(self._path)
            except OSError:
                pass
            self._path = None
            self._data = b""

    def __del__(self) -> None:  # pragma: no cover - best effort cleanup of spilled blobs
        self.discard()


class BlobWriter:
    """Collects streamed bytes; spills to a temporary file past `Blob.SPILL_BYTES`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._fh: IO[bytes] | None = None
        self._path: str | None = None
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
            fd, self._path = tempfile.mkstemp(prefix="fake_server-", suffix=".blob")
            self._fh = os.fdopen(fd, "wb")
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
            self._fh.close()
            return Blob(path=self._path, size=self.size)
        return Blob(data=b"".join(self._parts))

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            Blob(path=self._path).discard()
        self._parts = []


@dataclass
class FileRecord:
    id: str
    filename: str
    purpose: str
    created_at: int
    blob: Blob
    expires_at: int | None = None

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


@dataclass
class BatchRecord:
    id: str
    seq: int
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    schedule: Schedule
    model: str | None
    requests: list[dict]  # parsed input lines (empty when the batch fails validation)
    output_expires_seconds: int | None = None
    answers: list[tuple[int, dict]] | None = None  # (status_code, body) per input index, computed lazily
    output_file_id: str | None = None
    error_file_id: str | None = None
    settled: bool = False  # output/error files materialised


@dataclass
class Tenant:
    """Everything one (organization, project) owns."""

    organization: str
    project: str | None
    files: dict[str, FileRecord] = field(default_factory=dict)  # insertion order = creation order
    batches: dict[str, BatchRecord] = field(default_factory=dict)
    batch_ids: list[str] = field(default_factory=list)  # creation order, for cursor paging

    def discard(self) -> None:
        for record in self.files.values():
            record.blob.discard()
