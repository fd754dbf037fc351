"""Vendor the request schemas of the Batch API's endpoints (and, for tests, their response schemas) from
OpenAI's OpenAPI description into self-contained JSON Schema files.

    python scripts/vendor_schemas.py ../shared/spec/openapi.json

writes `fake_server/schemas/requests.json` (package data: the fake checks each batch line's body against it,
so it works without the spec) and `tests/fake_server/schemas/responses.json` (what the tests hold every answer
to). Each file is ``{"source": ..., "endpoints": {url: {"$ref": "#/$defs/Name"}}, "$defs": {...}}`` with every
component the endpoints reach. The spec is OpenAPI 3.1 with some 3.0 habits, so three rewrites make it plain
JSON Schema that jsonschema-rs (or any draft 7+ validator) takes: ``nullable: true`` becomes
``anyOf [..., null]``, ``$recursiveRef`` becomes a ``$ref`` to the schema that holds the ``$recursiveAnchor``,
and documentation keys (description, title, examples, defaults, x-*) are dropped. In the request schemas only,
``oneOf`` is checked as ``anyOf``: the spec's branches overlap (a user message is both an EasyInputMessage and an
InputMessage of CreateResponse's InputItem), so a strict oneOf would refuse bodies the real API takes.
Nothing else is changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = {
    "/v1/chat/completions": "CreateChatCompletionRequest",
    "/v1/responses": "CreateResponse",
    "/v1/embeddings": "CreateEmbeddingRequest",
    "/v1/completions": "CreateCompletionRequest",
    "/v1/moderations": "CreateModerationRequest",
    "/v1/images/generations": "CreateImageRequest",
    "/v1/images/edits": "EditImageBodyJsonParam",  # batch lines are JSON: the application/json variant
    "/v1/videos": "CreateVideoJsonBody",  # likewise
}
RESPONSES = {
    "/v1/chat/completions": "CreateChatCompletionResponse",
    "/v1/responses": "Response",
    "/v1/embeddings": "CreateEmbeddingResponse",
    "/v1/completions": "CreateCompletionResponse",
    "/v1/moderations": "CreateModerationResponse",
    "/v1/images/generations": "ImagesResponse",
    "/v1/images/edits": "ImagesResponse",
    "/v1/videos": "VideoResource",
}
_DOC_KEYS = {"description", "title", "example", "examples", "default", "discriminator", "deprecated",
             "externalDocs", "readOnly", "writeOnly", "beta"}
_SCHEMA_MAPS = {"properties", "$defs", "definitions", "patternProperties"}
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
_SCHEMA_ONE = {"items", "additionalProperties", "not", "propertyNames", "contains", "if", "then", "else"}
_REF = re.compile(r"#/components/schemas/([A-Za-z0-9_.-]+)")


def _closure(schemas: dict, roots: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        stack.extend(_REF.findall(json.dumps(schemas[name])))
    return sorted(seen)


def _clean(node: Any, anchor: str, one_of: str = "oneOf") -> Any:
    """One schema node as plain JSON Schema (see the module docstring); `one_of` is what oneOf becomes."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DOC_KEYS or key.startswith("x-") or key in ("$recursiveAnchor", "nullable"):
            continue
        if key == "$ref":
            out["$ref"] = "#/$defs/" + _REF.fullmatch(value).group(1)  # type: ignore[union-attr]
        elif key == "$recursiveRef":
            out["$ref"] = f"#/$defs/{anchor}"
        elif key in _SCHEMA_MAPS:
            out[key] = {name: _clean(sub, anchor, one_of) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            cleaned = [_clean(sub, anchor, one_of) for sub in value]
            target = one_of if key == "oneOf" else key
            if target in out:  # both anyOf and oneOf on one node: each must still hold
                out.setdefault("allOf", []).append({target: cleaned})
            else:
                out[target] = cleaned
        elif key in _SCHEMA_ONE:
            out[key] = _clean(value, anchor, one_of)
        else:
            out[key] = value
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def vendor(spec: dict, roots: dict[str, str], one_of: str = "oneOf") -> dict:
    schemas = spec["components"]["schemas"]
    names = _closure(schemas, list(roots.values()))
    defs = {name: _clean(schemas[name], name, one_of) for name in names}
    return {"endpoints": {url: {"$ref": f"#/$defs/{name}"} for url, name in roots.items()}, "$defs": defs}


def main(argv: list[str]) -> int:
    source = Path(argv[1] if len(argv) > 1 else ROOT.parent / "shared" / "spec" / "openapi.json")
    raw = source.read_bytes()
    spec = json.loads(raw)
    stamp = {"file": "openai/openai-openapi openapi.json", "version": spec["info"]["version"],
             "sha256": hashlib.sha256(raw).hexdigest()}
    for roots, target, one_of in (
        (REQUESTS, ROOT / "fake_server" / "schemas" / "requests.json", "anyOf"),
        (RESPONSES, ROOT / "tests" / "fake_server" / "schemas" / "responses.json", "oneOf"),
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"source": stamp, **vendor(spec, roots, one_of)}
        target.write_text(json.dumps(document, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
        print(f"{target.relative_to(ROOT)}: {len(document['$defs'])} schemas, {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
