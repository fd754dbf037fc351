"""Streaming multipart bodies for `POST /files`, re-creatable for retries.

`UploadBody(source, purpose, filename)` accepts a path, bytes, or a binary file object and
hands out a fresh `requests_toolbelt.MultipartEncoder` per attempt (`encoder()`), so a 200 MB
file is streamed from disk in chunks, never held in memory. Retrying needs the body again:
paths are re-opened, bytes re-wrapped, real files rewound to where the caller left them.
Other streams (pipes, sockets, custom readers: the encoder needs a known length) are first
copied chunk by chunk to an anonymous temporary file on disk, which is then rewound the same way.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from requests_toolbelt import MultipartEncoder

from ..errors import InputError

__all__ = ["UploadBody", "UploadSource", "DEFAULT_FILENAME"]

DEFAULT_FILENAME = "input.jsonl"
UploadSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]


class UploadBody:
    """The `purpose` + `file` multipart body of an upload, one encoder per attempt."""

    def __init__(
        self,
        source: UploadSource,
        purpose: str = "batch",
        filename: str | None = None,
        extra_fields: list[tuple[str, str]] | None = None,
    ) -> None:
        self.purpose = purpose
        self.extra_fields = list(extra_fields or [])
        self._path: Path | None = None
        self._bytes: bytes | memoryview | None = None
        self._fileobj: Any = None
        self._start: int | None = None
        self._opened: Any = None
        self._opened_spool: Any = None
        self._uses = 0
        if isinstance(source, (str, os.PathLike)):
            self._path = Path(source).expanduser()
            if not self._path.is_file():
                what = "is a folder, not a file" if self._path.is_dir() else "no such file"
                raise InputError(f"{what}: {str(self._path)!r}")
            default = self._path.name
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = bytes(source) if isinstance(source, bytearray) else source
            default = DEFAULT_FILENAME
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                raise InputError("upload_file needs a binary file object: open the file with mode 'rb'")
            name = getattr(source, "name", None)
            default = os.path.basename(name) if isinstance(name, str) and name else DEFAULT_FILENAME
            start = _tell_if_seekable(source)
            if hasattr(source, "getvalue") and start is not None:  # BytesIO: already in memory
                self._bytes = source.getvalue()[start:]
            elif start is not None and _has_fileno(source):  # a real file: rewind to `start`
                self._fileobj, self._start = source, start
            else:  # unknown length: spool to disk once
                self._fileobj = self._opened_spool = _spool(source)
                self._start = 0
        else:
            raise InputError(f"cannot upload a {type(source).__name__}: pass a path, bytes or a binary file object")
        self.filename = filename or default or DEFAULT_FILENAME

    @property
    def rewindable(self) -> bool:
        """True when the body can be produced again for a retry (always, given the spooling above)."""
        return self._fileobj is None or self._start is not None

    def encoder(self) -> MultipartEncoder:
        """A fresh encoder positioned at the start of the file (closes the previous attempt's file)."""
        if self._uses and not self.rewindable:
            raise InputError("this file object cannot be rewound, so the upload cannot be retried")
        self.close()
        self._uses += 1
        if self._path is not None:
            self._opened = open(self._path, "rb")  # noqa: SIM115 - closed in close()
            stream: Any = self._opened
        elif self._bytes is not None:
            stream = io.BytesIO(self._bytes)
        else:
            if self._start is not None and self._uses > 1:
                self._fileobj.seek(self._start)
            stream = self._fileobj
        ctype = "application/jsonl" if self.filename.lower().endswith(".jsonl") else "application/octet-stream"
        fields: list[tuple[str, Any]] = [("purpose", self.purpose), *self.extra_fields]
        fields.append(("file", (self.filename, stream, ctype)))
        return MultipartEncoder(fields=fields)

    def close(self) -> None:
        """Close the file opened for the last attempt (never the caller's file object)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def dispose(self) -> None:
        """Close everything, including a spool file; the body cannot be used afterwards."""
        self.close()
        if self._opened_spool is not None:
            self._opened_spool.close()
            self._opened_spool = None


def _has_fileno(fileobj: Any) -> bool:
    try:
        fileobj.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _spool(source: Any, chunk_size: int = 1024 * 1024) -> Any:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by UploadBody.dispose()
    while True:
        chunk = source.read(chunk_size)
        if not chunk:
            break
        spool.write(chunk)
    spool.flush()
    spool.seek(0)
    return spool


def _tell_if_seekable(fileobj: Any) -> int | None:
    try:
        if hasattr(fileobj, "seekable") and not fileobj.seekable():
            return None
        return int(fileobj.tell())
    except (OSError, ValueError, AttributeError):
        return None
