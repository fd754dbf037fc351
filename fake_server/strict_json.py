"""JSON the way the fake accepts it: strict UTF-8, finite numbers only, nested at most `spec.MAX_JSON_DEPTH`.

`loads(raw)` raises `ValueError` (never `RecursionError`) for anything else, so every caller turns bad
input into a 400 or an `invalid_json_line`, and the server keeps serving: ``NaN``, ``Infinity`` and
``1e400`` (which Python would read as infinity) are refused, and so is a 1,000-deep array.
"""

from __future__ import annotations

import json
import math
from typing import Any

from . import spec

__all__ = ["loads", "depth_exceeds"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def loads(raw: bytes | str, max_depth: int | None = spec.MAX_JSON_DEPTH, *, finite: bool = True) -> Any:
    """The JSON value of `raw`; ValueError when it is not strict JSON or is nested deeper than `max_depth`
    (None: as deep as the parser itself goes, which then refuses with ValueError instead of RecursionError).
    `finite=False` lets a number too large for a float (``1e999``, valid JSON text) through as infinity."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float if finite else float)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8: {err.reason}") from None
    if max_depth is not None and _brackets(text) > max_depth and depth_exceeds(value, max_depth):  # fewer brackets cannot nest deeper
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value


def _brackets(text: str) -> int:
    return text.count("[") + text.count("{")


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Is `value` nested deeper than `max_depth` containers? Iterative: safe on any depth."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False
