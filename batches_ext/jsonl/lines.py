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

__all__ = ["INVALID", "dumps_line", "dumps_jsonl", "write_jsonl", "iter_raw_lines", "iter_jsonl", "parse_json_line",
           "why_invalid"]

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
            why = why_invalid(raw)
            raise InputError(f"line {n}: {why}", line=n, problems=[Problem(n, "invalid_json_line", why)])
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


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def why_invalid(raw: bytes | str) -> str:
    """Why `parse_json_line` refused a line, as a person can act on it: a byte-order mark, an encoding that is
    not UTF-8 (Latin-1 / Windows-1252, UTF-16), or where the JSON breaks."""
    if isinstance(raw, str):
        text = raw
    else:
        if raw.startswith(_UTF8_BOM):
            return "starts with a UTF-8 byte-order mark (BOM): save the file as UTF-8 without a BOM"
        if raw.startswith(_UTF16_BOMS) or (len(raw) > 1 and b"\x00" in raw[:4]):
            return "is UTF-16, not UTF-8: save the file as UTF-8"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _not_utf8(raw, exc.start)
    if not text.strip():
        return "is blank: every line must be one JSON object (remove blank lines)"
    try:
        json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    except ValueError as exc:
        return f"not valid JSON ({exc} is not allowed)"
    return "not valid JSON"


def _not_utf8(raw: bytes, at: int) -> str:
    """The message for a line that is not UTF-8 at byte `at`: the byte, its column, and the word it is in as
    Latin-1 / Windows-1252 would read it (single-byte encodings, so the column is the same)."""
    text = raw.decode("cp1252", errors="replace")
    start, end = at, at + 1
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return (f"is not UTF-8: byte 0x{raw[at]:02X} at column {at + 1} ({text[start:end]!r} in Latin-1 / "
            f"Windows-1252?); the Batch API reads UTF-8 only: save the file as UTF-8")
