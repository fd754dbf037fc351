"""Each batch line's body checked like the real endpoint checks it: the request schema of the OpenAPI description.

`check_body(endpoint, body)` raises `responders.LineError` (400, the API's envelope) for a body its endpoint
would refuse, and returns quietly otherwise. The schemas (CreateChatCompletionRequest, CreateResponse,
CreateEmbeddingRequest, CreateCompletionRequest, CreateModerationRequest, CreateImageRequest, the JSON variants
of the image-edit and video requests) are vendored in `fake_server/schemas/requests.json` by
`scripts/vendor_schemas.py`, so the fake needs no copy of the spec.

It runs when a line's answer is computed (lazily, as the clock passes the line), never at create, so a
50,000-line create stays fast; whole-batch rules (model, url, duplicates, ...) stay in fake_server.validation.

The validator is jsonschema-rs, chosen by measurement on this machine for one chat line: jsonschema 890 µs,
fastjsonschema 78 µs, jsonschema-rs 1.7 µs (a CreateResponse line: 2,050 / 186 / 1.7 µs); compiling every
endpoint's schema takes ~15 ms, done once per process on first use.

Messages follow the API's wording: ``Unrecognized request argument supplied: NAME`` (param and code null),
``Missing required parameter: 'messages[0].role'.`` (missing_required_parameter), ``Invalid type for 'X':
expected ..., but got ... instead.`` (invalid_type), ``Invalid value: 'v'. Supported values are: ...``
(invalid_value), ``Invalid 'X': ... above maximum value ...`` (decimal_above_max_value, ...). Where a value
fails a union (`oneOf` / `anyOf`), the branch it was meant for (its `role` / `type`, or its JSON type) is
checked to name the deepest problem.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib import resources
from typing import Any

from .errors import INVALID_REQUEST

__all__ = ["check_body", "BodyError", "known_parameters", "schema_document"]

_KINDS = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array",
          dict: "an object", type(None): "null"}
_JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,),
               "object": (dict,), "null": (type(None),)}
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
               "array": "an array", "object": "an object", "null": "null"}
_DISCRIMINATORS = ("type", "role")
_lock = threading.Lock()
_validators: dict[str, Any] = {}


class BodyError(Exception):
    """A body its endpoint refuses: the envelope fields of the 400."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.type = message, param, code, INVALID_REQUEST


@cache
def schema_document() -> dict:
    """The vendored request schemas: {"endpoints": {url: {"$ref"}}, "$defs": {...}}."""
    text = resources.files("fake_server").joinpath("schemas/requests.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _validator(key: str, schema: dict) -> Any:
    found = _validators.get(key)
    if found is None:
        import jsonschema_rs

        with _lock:
            found = _validators.get(key)
            if found is None:
                document = {"$defs": schema_document()["$defs"], **schema}
                found = _validators[key] = jsonschema_rs.validator_for(document)
    return found


def _resolve(schema: Any) -> Any:
    """`schema` with a top-level `$ref` into the vendored `$defs` followed."""
    defs = schema_document()["$defs"]
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
        seen += 1
    return schema


@cache
def known_parameters(endpoint: str) -> frozenset[str] | None:
    """The top-level parameters `endpoint` takes (its properties, through allOf), or None if it is not vendored."""
    root = schema_document()["endpoints"].get(endpoint)
    if root is None:
        return None
    names: set[str] = set()
    stack = [root]
    while stack:
        node = _resolve(stack.pop())
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            stack.extend(node.get("allOf", []))
    return frozenset(names)


def check_body(endpoint: str, body: Any) -> None:
    """Raise `BodyError` when `endpoint` would refuse `body` (nothing for endpoints the spec lacks)."""
    known = known_parameters(endpoint)
    if known is None:
        return
    if not isinstance(body, dict):
        raise BodyError(f"Invalid type for 'body': expected an object, but got {_kind(body)} instead.", "body",
                        "invalid_type")
    for name in body:
        if name not in known:
            raise BodyError(f"Unrecognized request argument supplied: {str(name)[:100]}")
    root = schema_document()["endpoints"][endpoint]
    validator = _validator(endpoint, root)
    if validator.is_valid(body):
        return
    raise _explain(root, body, [])


# ---------------------------------------------------------------- naming the problem the way the API does


def _param(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "a value")


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return f"'{text[:100]}'"


def _one_of_values(values: list[Any]) -> str:
    shown = [f"'{v}'" if isinstance(v, str) else json.dumps(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f", and {shown[-1]}"


def _document(schema: Any) -> dict:
    """The document a validator of `schema` sees: the schema with the vendored `$defs` beside it."""
    return {"$defs": schema_document()["$defs"], **(schema if isinstance(schema, dict) else {"allOf": [schema]})}


def _first_error(schema: Any, value: Any) -> Any:
    key = json.dumps(schema, sort_keys=True)
    return next(iter(_validator(key, schema if isinstance(schema, dict) else {"allOf": [schema]})
                     .iter_errors(value)), None)


def _explain(schema: Any, value: Any, base: list[Any]) -> BodyError:
    """The API-shaped error for `value` (at `base`) that `schema` refuses."""
    error = _first_error(schema, value)
    document = _document(schema)
    if error is None:  # pragma: no cover - only called on invalid values
        return BodyError(f"Invalid value for '{_param(base) or 'body'}'.", _param(base) or None, "invalid_value")
    path = base + list(error.instance_path)
    name = _param(path) or "body"
    kind = type(error.kind).__name__
    instance = error.instance
    if kind == "Required":
        missing = _missing(_schema_at(document, error.schema_path), instance)
        full = _param(path + [missing]) if missing else name
        return BodyError(f"Missing required parameter: '{full}'.", full, "missing_required_parameter")
    if kind in ("OneOfNotValid", "AnyOf", "OneOfMultipleValid"):
        return _explain_union(_schema_at(document, list(error.schema_path)[:-1]), instance, path)
    if kind == "Type":
        expected = _expected_types(_schema_at(document, list(error.schema_path)[:-1]))
        return BodyError(f"Invalid type for '{name}': expected {expected}, but got {_kind(instance)} instead.", name,
                         "invalid_type")
    if kind in ("Enum", "Constant"):
        node = _schema_at(document, list(error.schema_path)[:-1])
        allowed = node.get("enum", [node.get("const")]) if isinstance(node, dict) else []
        return BodyError(f"Invalid value: {_show(instance)}. Supported values are: {_one_of_values(allowed)}.",
                         name, "invalid_value")
    return _bound_error(kind, name, instance, _schema_at(document, list(error.schema_path)[:-1]))


# The length bounds and how the API words them: (what, side, schema keyword, error code).
_LENGTH_BOUNDS = {
    "MinItems": ("array", "minimum", "minItems", "array_below_min_length"),
    "MaxItems": ("array", "maximum", "maxItems", "array_above_max_length"),
    "MinLength": ("string", "minimum", "minLength", "string_below_min_length"),
    "MaxLength": ("string", "maximum", "maxLength", "string_above_max_length"),
}


def _bound_error(kind: str, name: str, instance: Any, node: Any) -> BodyError:
    node = node if isinstance(node, dict) else {}
    number = "integer" if node.get("type") == "integer" or (node.get("type") is None and isinstance(instance, int)) \
        else "decimal"
    if kind in ("Maximum", "ExclusiveMaximum"):
        return BodyError(f"Invalid '{name}': {number} above maximum value. Expected a value <= "
                         f"{node.get('maximum', node.get('exclusiveMaximum'))}, but got {instance} instead.", name,
                         f"{number}_above_max_value")
    if kind in ("Minimum", "ExclusiveMinimum"):
        return BodyError(f"Invalid '{name}': {number} below minimum value. Expected a value >= "
                         f"{node.get('minimum', node.get('exclusiveMinimum'))}, but got {instance} instead.", name,
                         f"{number}_below_min_value")
    if kind == "MinItems" and isinstance(instance, list) and not instance:
        return BodyError(f"Invalid '{name}': empty array. Expected an array with minimum length "
                         f"{node.get('minItems')}, but got an empty array instead.", name, "empty_array")
    if kind in _LENGTH_BOUNDS:
        what, side, limit, code = _LENGTH_BOUNDS[kind]
        article = "an" if what == "array" else "a"
        short = "too short" if side == "minimum" else "too long"
        return BodyError(f"Invalid '{name}': {what} {short}. Expected {article} {what} with {side} length "
                         f"{node.get(limit)}, but got {article} {what} with length {len(instance)} instead.", name,
                         code)
    if kind == "AdditionalProperties":
        extra = next((k for k in instance if k not in node.get("properties", {})), None) if isinstance(
            instance, dict) else None
        return BodyError(f"Unrecognized request argument supplied: {_param([*name.split('.'), extra]) if extra else name}",
                         None, None)
    return BodyError(f"Invalid value for '{name}'.", name, "invalid_value")


def _explain_union(node: Any, instance: Any, path: list[Any]) -> BodyError:
    """A value that fits no branch of a union: find the branch it meant, and say what is wrong with it."""
    name = _param(path) or "body"
    branches = [_resolve(b) for b in (node.get("oneOf") or node.get("anyOf") or [])] if isinstance(node, dict) else []
    branches = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")] or branches
    typed = [b for b in branches if _accepts_type(b, instance)]
    if isinstance(instance, dict):
        for key in _DISCRIMINATORS:
            tagged = [(b, values) for b in typed if (values := _tag_values(b, key)) is not None]
            if not tagged:
                continue
            if key not in instance:
                if all(key in (b.get("required") or []) for b, _ in tagged):
                    full = _param(path + [key])
                    return BodyError(f"Missing required parameter: '{full}'.", full, "missing_required_parameter")
                continue
            meant = [b for b, values in tagged if instance[key] in values]
            if not meant:
                allowed = [v for _, values in tagged for v in values]
                full = _param(path + [key])
                return BodyError(f"Invalid value: {_show(instance[key])}. Supported values are: "
                                 f"{_one_of_values(list(dict.fromkeys(allowed)))}.", full, "invalid_value")
            typed = meant
            break
    if len(typed) == 1 or (typed and len({json.dumps(b, sort_keys=True) for b in typed}) == 1):
        return _explain(typed[0], instance, path)
    if not typed:
        expected = " or ".join(dict.fromkeys(_expected_types(b) for b in branches)) or "another value"
        return BodyError(f"Invalid type for '{name}': expected {expected}, but got {_kind(instance)} instead.", name,
                         "invalid_type")
    for branch in typed:  # several branches of the right type: the first one's deepest complaint
        return _explain(branch, instance, path)
    return BodyError(f"Invalid value for '{name}'.", name, "invalid_value")  # pragma: no cover


def _schema_at(document: dict, schema_path: Any) -> Any:
    """The schema node at `schema_path`: a location in `document` (after a `$ref` the path restarts at its
    target, e.g. ``$defs/ChatCompletionRequestMessage/oneOf``)."""
    node: Any = document
    for part in schema_path:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return {}
    return _resolve(node)


def _missing(node: Any, instance: Any) -> str | None:
    if isinstance(node, dict) and isinstance(instance, dict):
        for key in node.get("required", []):
            if key not in instance:
                return str(key)
    if isinstance(node, list) and isinstance(instance, dict):  # schema_path ended at "required" itself
        return next((str(k) for k in node if k not in instance), None)
    return None


def _accepts_type(branch: Any, value: Any) -> bool:
    branch = _resolve(branch)
    if not isinstance(branch, dict):
        return True
    kind = branch.get("type")
    if kind is None:
        inner = branch.get("anyOf") or branch.get("oneOf") or branch.get("allOf")
        return any(_accepts_type(b, value) for b in inner) if inner else True
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(value, _JSON_TYPES.get(k, ())) and not (isinstance(value, bool) and k in ("integer",
               "number")) for k in kinds)


def _tag_values(branch: Any, key: str) -> list[Any] | None:
    """The values a branch allows for its discriminating property `key` (None: it does not pin them)."""
    branch = _resolve(branch)
    prop = _resolve(branch.get("properties", {}).get(key)) if isinstance(branch, dict) else None
    if not isinstance(prop, dict):
        return None
    if "enum" in prop:
        return list(prop["enum"])
    if "const" in prop:
        return [prop["const"]]
    return None


def _expected_types(node: Any) -> str:
    node = _resolve(node)
    if not isinstance(node, dict):
        return "a valid value"
    kind = node.get("type")
    if kind is None:
        inner = node.get("anyOf") or node.get("oneOf")
        if inner:
            return " or ".join(dict.fromkeys(_expected_types(b) for b in inner))
        return "a valid value"
    kinds = kind if isinstance(kind, list) else [kind]
    return " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)
