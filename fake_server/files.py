"""Files API pieces: streaming multipart upload with the batch-input rules, and File views.

`parse_upload` reads the multipart body chunk by chunk (python-multipart's push parser)
straight into a `BlobWriter`, so a large upload never sits in memory; past the size limit
it keeps draining the body but stores nothing more. A body that is not multipart (no closing boundary
included) is a 400 "Invalid multipart/form-data body.".

A `purpose=batch` upload must be JSONL: a `.jsonl` name, or no extension at all (the official SDK names
in-memory bytes ``upload``) with content whose first line is a JSON object; any other extension
(``.txt``, ``.csv``) is refused with the API's "Invalid file format for Batch API. Must be .jsonl"
(`param: null`, as recorded from the real service). The rest of the lines are checked when a batch is
created from the file, as the real API does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from . import spec, strict_json
from .errors import ApiError
from .state import Blob, BlobWriter
from .wire import Request

__all__ = ["Upload", "parse_upload"]

MAX_FIELD_BYTES = 64 * 1024  # a text field (purpose, expires_after[...]) is tiny: never buffer more


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    blob: Blob | None = None
    size: int = 0
    lines: int = 0
    content_sha256: str = ""  # of the file part (what an Idempotency-Key's digest compares)


class _Collector:
    """python-multipart callbacks: text fields into `fields`, the `file` part into a BlobWriter."""

    def __init__(self, limit: int) -> None:
        self.upload = Upload()
        self.limit = limit
        self.too_large = False
        self.field_too_large: str | None = None
        self.ended = False  # the closing boundary was seen
        self._field_size = 0
        self._headers: dict[bytes, bytes] = {}
        self._name: bytes = b""
        self._value: list[bytes] = []
        self._writer: BlobWriter | None = None
        self._hash = hashlib.sha256()
        self._header_field = b""
        self._header_value = b""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: setattr(self, "_header_field", self._header_field + d[s:e]),
            "on_header_value": lambda d, s, e: setattr(self, "_header_value", self._header_value + d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": lambda: setattr(self, "ended", True),
        }

    def abort(self) -> None:
        """Drop what a broken or cut body left behind: the part being written and any finished file."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        _discard(self.upload)

    def part_begin(self) -> None:
        self._headers, self._value, self._writer = {}, [], None
        self._field_size = 0

    def header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"")
        if b"filename" in options or self._name == b"file":
            self.upload.filename = options.get(b"filename", b"").decode("utf-8", "replace")
            self._writer = BlobWriter()
            self._hash = hashlib.sha256()
            if self.upload.fields.get("purpose") == "batch":  # sent first: refuse early past 200 MB
                self.limit = min(self.limit, spec.MAX_BATCH_FILE_BYTES)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._writer is None:
            if self._field_size + len(chunk) > MAX_FIELD_BYTES:
                self.field_too_large = self._name.decode("utf-8", "replace")[:64]
                self._value = []
                return  # keep draining, buffer nothing more
            self._field_size += len(chunk)
            self._value.append(chunk)
            return
        if self.too_large:
            return  # keep draining, store nothing
        if self._writer.size + len(chunk) > self.limit:
            self.too_large = True
            self._writer.abort()
            return
        self._writer.write(chunk)
        self._hash.update(chunk)

    def part_end(self) -> None:
        if self._writer is not None:
            if not self.too_large:
                self.upload.size = self._writer.size
                self.upload.lines = self._writer.lines
                self.upload.blob = self._writer.finish()
                self.upload.content_sha256 = self._hash.hexdigest()
            self._writer = None
        else:
            self.upload.fields[self._name.decode("utf-8", "replace")] = b"".join(self._value).decode(
                "utf-8", "replace"
            )


def parse_upload(request: Request) -> Upload:
    """Parse and check `POST /files`; raises a 400 `ApiError` with the API's wording."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        for _ in request.iter_body():
            pass
        raise ApiError(400, "Invalid Content-Type header: expected multipart/form-data with a boundary.")
    collector = _Collector(limit=spec.MAX_FILE_BYTES)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    chunks = request.iter_body()
    try:
        for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        if not collector.ended:  # no closing boundary: its last part never ended (python-multipart says nothing)
            raise MultipartParseError("the body ends before its closing boundary")
    except MultipartParseError as exc:
        collector.abort()
        for _ in chunks:  # drain the rest, so a keep-alive connection stays in step
            pass
        raise ApiError(400, "Invalid multipart/form-data body.") from exc
    except BaseException:  # the body was cut off (client gone): nothing may stay on disk
        collector.abort()
        raise
    upload = collector.upload
    if collector.field_too_large is not None:
        _discard(upload)
        name = collector.field_too_large
        raise ApiError(400, f"Invalid '{name}': string too long.", param=name, code="string_above_max_length")
    purpose = upload.fields.get("purpose")
    if not purpose:
        _discard(upload)
        raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter")
    if purpose not in spec.PURPOSES:
        _discard(upload)
        allowed = ", ".join(f"'{p}'" for p in spec.PURPOSES)
        raise ApiError(
            400, f"Invalid value: '{purpose[:64]}'. Supported values are: {allowed}.", param="purpose",
            code="invalid_value",
        )
    if upload.filename is None:
        raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if collector.too_large or upload.blob is None:
        _discard(upload)
        raise ApiError(400, "File is too large.", param="file")
    if purpose == "batch":
        if not _looks_like_jsonl(upload):
            _discard(upload)
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl")
        if upload.size > spec.MAX_BATCH_FILE_BYTES:
            _discard(upload)
            raise ApiError(400, "File is too large.", param="file")
        if upload.lines > spec.MAX_REQUESTS:
            _discard(upload)
            raise ApiError(
                400,
                f"Batch input files may contain at most {spec.MAX_REQUESTS:,} requests; this file has "
                f"{upload.lines:,} lines.",
                param="file",
            )
    return upload


def _looks_like_jsonl(upload: Upload) -> bool:
    """A `.jsonl` name; or no extension and a first non-empty line that is a JSON object."""
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    extension = os.path.splitext(name)[1].lower()
    if extension == ".jsonl":
        return True
    if extension or upload.blob is None:
        return False
    for line in upload.blob.iter_lines():
        if line.strip():
            try:
                return isinstance(strict_json.loads(line, max_depth=None, finite=False), dict)
            except ValueError:
                return False
    return False


def _discard(upload: Upload) -> None:
    if upload.blob is not None:
        upload.blob.discard()
        upload.blob = None
