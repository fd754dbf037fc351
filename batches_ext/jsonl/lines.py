"""Batch input JSONL on disk and in memory: dump lines, write atomically, read lines as the server splits them.

Lines are split on b"\\n" exactly as the server does (a final newline does not make an empty last line; a
blank line in the middle is an invalid line). `parse_json_line` is the one strict JSON reading of a line:
UTF-8 only, no BOM, no NaN/Infinity, never raising.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..errors import InputError, Problem

__all__ = ["INVALID", "dumps_line", "dumps_jsonl", "write_jsonl", "iter_raw_lines", "iter_jsonl", "parse_json_line"]

_CHUNK = 1024 * 1024


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


#: What `parse_json_line` returns for a line that is not strict UTF-8 JSON.
INVALID: Any = _Invalid()


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


def write_jsonl(lines: Iterable[Any], path: str | os.PathLike) -> Path:
    """Write `lines` as JSONL to `path` atomically (temporary file + os.replace); returns the path."""
    with atomic_open(path, "wb") as handle:
        for n, line in enumerate(lines, start=1):
            handle.write(dumps_line(line, n))
    return Path(path).expanduser()


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
        value = parse_json_line(raw)
        if value is INVALID:
            raise InputError(f"line {n}: not valid JSON", line=n,
                             problems=[Problem(n, "invalid_json_line", "not valid JSON")])
        yield value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse_json_line(raw: bytes | str) -> Any:
    """The JSON value of one line, or `INVALID` (strict UTF-8 JSON; NaN/Infinity and a BOM are rejected)."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):
        return INVALID
