"""The null allowance (issue 2): OpenAI's spec types many nullable fields without `null` while the real API
sends `null`, so a schema checked against the fake admits a null wherever a type is expected, and nothing else."""

from __future__ import annotations

from typing import Any


def allow_null(node: Any) -> Any:
    """A copy of a JSON schema in which every `type` also admits null and every enum None."""
    if isinstance(node, dict):
        node = {k: allow_null(v) for k, v in node.items()}
        kind = node.get("type")
        if isinstance(kind, str) and kind != "null":
            node["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            node["type"] = [*kind, "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [allow_null(v) for v in node]
    return node
