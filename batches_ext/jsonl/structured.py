"""Structured outputs: the strict `json_schema` response format from a pydantic model or a JSON Schema.

    response_format_body(Person, "/v1/chat/completions")
    # {"response_format": {"type": "json_schema", "json_schema": {"name": "Person", "schema": {...}, "strict": true}}}
    response_format_body(Person, "/v1/responses")
    # {"text": {"format": {"type": "json_schema", "name": "Person", "schema": {...}, "strict": true}}}

OpenAI's strict mode takes a subset of JSON Schema: every object lists all its properties in `required` and says
`additionalProperties: false` (an optional field is one that may be null: pydantic's `X | None` is an `anyOf`
with null), unions are `anyOf`, and a `$ref` stands alone. `strict_schema` rewrites a schema that way — at every
depth, in `$defs` too — and refuses what strict mode cannot say: a free-form object such as `dict`, `dict[str, int]` or a bare
`{"type": "object"}`,
a root that is not an object (`RootModel[list[int]]`, `{"type": "string"}`, an `anyOf` at the root), a value
with no type (pydantic's `Any`, `list[Any]`). Defaults are kept (a `None` default is dropped): OpenAI's reports
on `default` in strict mode disagree, so the API decides.
pydantic (the `pydantic` extra) is needed only for a model; a schema dict needs nothing.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import InputError

__all__ = ["response_format_body", "schema_of", "strict_schema", "STRUCTURED_ENDPOINTS"]

#: The endpoints whose bodies take a json_schema format, and where it goes.
STRUCTURED_ENDPOINTS = ("/v1/chat/completions", "/v1/responses")
_NAME = re.compile(r"[^a-zA-Z0-9_-]+")


def schema_of(spec: Any) -> tuple[str, dict[str, Any]]:
    """(name, JSON Schema) of a pydantic model class, a JSON Schema dict, or a format dict already built
    (`{"type": "json_schema", "json_schema": {"name", "schema"}}` or `{"name", "schema"}`)."""
    if isinstance(spec, type) and hasattr(spec, "model_json_schema"):
        return _name(spec.__name__), dict(spec.model_json_schema())
    if isinstance(spec, dict):
        inner = spec.get("json_schema") if spec.get("type") == "json_schema" else spec
        if isinstance(inner, dict) and isinstance(inner.get("schema"), dict):
            return _name(str(inner.get("name") or "response")), dict(inner["schema"])
        if spec.get("type") == "json_schema" and isinstance(spec.get("schema"), dict):  # the responses shape
            return _name(str(spec.get("name") or "response")), dict(spec["schema"])
        return _name(str(spec.get("title") or "response")), dict(spec)
    raise InputError(f"response_format: expected a pydantic model class or a JSON Schema dict, got "
                     f"{type(spec).__name__} (pip install 'batches-ext[pydantic]' for models)")


def _name(text: str) -> str:
    return _NAME.sub("_", text)[:64] or "response"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` as OpenAI's strict mode requires it (see the module docstring)."""
    root = copy.deepcopy(schema)
    strict = _strict(root, root, "")
    if strict.get("type") != "object" or "anyOf" in strict:
        kind = "an anyOf" if "anyOf" in strict else (repr(strict["type"]) if "type" in strict else "untyped")
        raise InputError(f"response_format: the schema's root is {kind}, not an object: OpenAI's strict mode "
                         f"needs an object at the root (wrap the value in a model with one field)")
    return strict


#: Keys that say what a value is; a value schema with none of them (pydantic's `Any`) is refused.
_TYPED = ("type", "$ref", "anyOf", "allOf", "enum", "const")


def _typed(node: Any, where: str) -> Any:
    if isinstance(node, dict) and not any(key in node for key in _TYPED):
        raise InputError(f"response_format: {where or 'the schema'} has no type (pydantic's Any?): OpenAI's "
                         f"strict mode needs a type for every value")
    return node


def _strict(node: Any, root: dict[str, Any], where: str) -> Any:
    if not isinstance(node, dict):
        return node
    for key in ("$defs", "definitions"):
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                node[key][name] = _strict(sub, root, f"{key}.{name}")
    if "$ref" in node and len(node) > 1:  # strict mode wants a $ref alone: inline it under its siblings
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**copy.deepcopy(_resolve(root, node["$ref"])), **siblings}
    if node.get("default", 0) is None:
        del node["default"]
    if "oneOf" in node:
        node["anyOf"] = [*node.get("anyOf", []), *node.pop("oneOf")]
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        del node["allOf"]
        node = {**_strict(all_of[0], root, where), **node}
    elif isinstance(all_of, list):
        node["allOf"] = [_strict(sub, root, where) for sub in all_of]
    if isinstance(node.get("anyOf"), list):
        node["anyOf"] = [_typed(_strict(sub, root, where), where) for sub in node["anyOf"]]
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        # any keys allowed (`dict[str, int]`, a bare `dict`: additionalProperties {...} or true), or no properties
        # named at all (`{"type": "object"}`): closing it would make every answer `{}`, so it is refused
        if (isinstance(extra, dict) and extra) or extra is True or "properties" not in node:
            raise InputError(f"response_format: {where or 'the schema'} is a free-form object (a dict of any "
                             f"keys): OpenAI's strict mode needs named properties (use a list of key/value models)")
        props = node.get("properties") or {}
        node["properties"] = {k: _typed(_strict(v, root, f"{where}.{k}".lstrip(".")), f"{where}.{k}".lstrip("."))
                              for k, v in props.items()}
        node["required"] = list(props)
        node["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        node["items"] = _typed(_strict(node["items"], root, f"{where}[]"), f"{where}[]")
    if isinstance(node.get("prefixItems"), list):
        node["prefixItems"] = [_typed(_strict(sub, root, f"{where}[]"), f"{where}[]") for sub in node["prefixItems"]]
    return node


def _resolve(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        raise InputError(f"response_format: only local $refs can be sent, not {ref!r}")
    node: Any = root
    for piece in filter(None, ref[1:].split("/")):
        node = node.get(piece.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise InputError(f"response_format: the schema's {ref!r} points nowhere")
    return node


def response_format_body(spec: Any, endpoint: str) -> dict[str, Any]:
    """The body keys that ask `endpoint` for JSON fitting `spec` (strict `json_schema`): `response_format` for
    chat completions, `text.format` for responses. InputError for any other endpoint."""
    if endpoint not in STRUCTURED_ENDPOINTS:
        raise InputError(f"response_format: structured outputs are for {' and '.join(STRUCTURED_ENDPOINTS)}, "
                         f"not {endpoint}")
    name, schema = schema_of(spec)
    strict = strict_schema(schema)
    if endpoint == "/v1/chat/completions":
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": name, "schema": strict, "strict": True}}}
    return {"text": {"format": {"type": "json_schema", "name": name, "schema": strict, "strict": True}}}
