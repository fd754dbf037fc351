"""Batch input JSONL on disk and in memory: dump lines, write atomically, read lines as the server splits them."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError

__all__ = ["dumps_line", "dumps_jsonl", "atomic_open", "write_jsonl", "iter_raw_lines", "iter_jsonl"]

_CHUNK = 1024 * 1024


# ---------------------------------------------------------------------------------------------- write / read


def dumps_line(line: Any, n: int | None = None) -> bytes:
    """One compact JSON line (UTF-8, with its b"\\n"); InputError if it is not JSON-serialisable."""
    try:
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    except (TypeError, ValueError) as exc:
        where = f"line {n}: " if n is not None else ""
        raise InputError(f"{where}cannot be written as JSON ({exc})", line=n) from None


def dumps_jsonl(lines: Iterable[Any]) -> bytes:
    """The JSONL bytes of `lines` (one compact JSON object per line, each ending in b"\\n")."""
    return b"".join(dumps_line(line, n) for n, line in enumerate(lines, start=1))


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on success it replaces `path` (os.replace), on error it is removed.

    Readers never see a half-written file, and a failed write leaves the old file untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_jsonl(lines: Iterable[Any], path: str | os.PathLike) -> Path:
    """Write `lines` as JSONL to `path` atomically (temporary file + os.replace); returns the path."""
    with atomic_open(path, "wb") as handle:
        for n, line in enumerate(lines, start=1):
            handle.write(dumps_line(line, n))
    return Path(path)


def iter_raw_lines(source: str | os.PathLike | bytes | bytearray | memoryview) -> Iterator[bytes]:
    """The raw lines of a path or bytes, without their b"\\n", read in chunks (server line rules)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source) if not isinstance(source, bytes) else source
        start, size = 0, len(data)
        while start < size:
            end = data.find(b"\n", start)
            if end < 0:
                yield data[start:]
                return
            yield data[start:end]
            start = end + 1
        return
    with open(source, "rb", buffering=_CHUNK) as handle:
        for raw in handle:  # binary files split on b"\n" only, one line in memory at a time
            yield raw[:-1] if raw.endswith(b"\n") else raw


def iter_jsonl(source: str | os.PathLike | bytes | bytearray | memoryview) -> Iterator[Any]:
    """Decoded JSON values of a JSONL path or bytes, streamed; InputError names the first bad line."""
    for n, raw in enumerate(iter_raw_lines(source), start=1):
        value = _parse(raw)
        if value is _BAD:
            from ._preflight import Problem  # imported here: _preflight imports this module

            raise InputError(f"line {n}: not valid JSON", line=n, problems=[Problem(n, "invalid_json_line",
                                                                                   "not valid JSON")])
        yield value


_BAD = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _parse(raw: bytes | str) -> Any:
    """The JSON value of one line, or `_BAD` (strict UTF-8 JSON; NaN/Infinity and a BOM are rejected)."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):
        return _BAD
