"""Structured outputs: a pydantic model or a JSON Schema becomes the strict json_schema format OpenAI's strict mode
takes (every object closed and every property required, at every depth and in $defs), in `response_format` for
chat and `text.format` for responses; what strict mode cannot say is refused."""

from __future__ import annotations

from typing import Any

import pytest

from batches_ext.errors import InputError
from batches_ext.jsonl import build_requests, response_format_body, schema_of, strict_schema

pydantic = pytest.importorskip("pydantic")


class Address(pydantic.BaseModel):
    city: str
    zip_code: str | None = None


class Person(pydantic.BaseModel):
    """A person."""

    name: str
    age: int = 0
    home: Address
    tags: list[str] = []


def _objects(node, found=None):
    """Every object schema in `node`."""
    found = [] if found is None else found
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append(node)
        for value in node.values():
            _objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _objects(value, found)
    return found


def test_a_pydantic_model_becomes_a_strict_schema_at_every_depth() -> None:
    name, schema = schema_of(Person)
    strict = strict_schema(schema)
    assert name == "Person"
    objects = _objects(strict)
    assert len(objects) >= 2  # Person and Address (in $defs)
    for obj in objects:
        assert obj["additionalProperties"] is False and obj["required"] == list(obj["properties"])
    assert set(strict["required"]) == {"name", "age", "home", "tags"}  # defaults do not make a field optional
    assert "default" not in str(strict["$defs"]["Address"]["properties"]["zip_code"])  # a None default dropped
    assert schema.get("additionalProperties") is None  # the model's own schema is not changed


def test_a_ref_with_siblings_is_inlined_and_one_of_becomes_any_of() -> None:
    schema = {"type": "object", "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}}},
              "properties": {"p": {"$ref": "#/$defs/P", "description": "the point"},
                             "v": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                             "w": {"allOf": [{"type": "object", "properties": {"k": {"type": "string"}}}]}}}
    strict = strict_schema(schema)
    p = strict["properties"]["p"]
    assert "$ref" not in p and p["description"] == "the point" and p["required"] == ["x"]
    assert p["additionalProperties"] is False
    assert "oneOf" not in strict["properties"]["v"] and len(strict["properties"]["v"]["anyOf"]) == 2
    assert strict["properties"]["w"]["required"] == ["k"] and "allOf" not in strict["properties"]["w"]


def test_what_strict_mode_cannot_say_is_refused() -> None:
    with pytest.raises(InputError, match="counts is a free-form object"):
        strict_schema({"type": "object", "properties": {"counts": {"type": "object",
                                                                   "additionalProperties": {"type": "integer"}}}})
    for free in ({"type": "object", "additionalProperties": True}, {"type": "object"}):  # pydantic `dict`, bare
        with pytest.raises(InputError, match="meta is a free-form object"):  # not closed into an always-{} object
            strict_schema({"type": "object", "properties": {"meta": free}})
    assert strict_schema({"type": "object", "properties": {}})["required"] == []  # a model with no field is fine
    with pytest.raises(InputError, match="structured outputs are for /v1/chat/completions and /v1/responses"):
        response_format_body(Person, "/v1/embeddings")
    with pytest.raises(InputError, match="expected a pydantic model class or a JSON Schema dict"):
        response_format_body("Person", "/v1/chat/completions")


class Loose(pydantic.BaseModel):
    name: str
    extra: Any


class LooseList(pydantic.BaseModel):
    values: list[Any]


@pytest.mark.parametrize("spec, reason", [
    (pydantic.RootModel[list[int]], "the schema's root is 'array', not an object"),
    ({"type": "string"}, "the schema's root is 'string', not an object"),
    ({"anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "null"}]},
     "the schema's root is an anyOf, not an object"),
    (Loose, "extra has no type"),
    (LooseList, r"values\[\] has no type"),
])
def test_a_schema_strict_mode_rejects_is_refused_before_anything_is_sent(spec, reason) -> None:
    with pytest.raises(InputError, match=reason):
        build_requests(["Who?"], model="gpt-4o-mini", response_format=spec)


def test_build_requests_puts_the_format_where_each_endpoint_reads_it() -> None:
    [chat] = build_requests(["Who?"], model="gpt-4o-mini", response_format=Person)
    fmt = chat["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True and fmt["json_schema"]["schema"]["additionalProperties"] is False
    [resp] = build_requests(["Who?"], model="gpt-4o-mini", endpoint="/v1/responses", response_format=Person,
                            text={"verbosity": "low"})
    assert resp["body"]["text"]["format"]["type"] == "json_schema" and resp["body"]["text"]["verbosity"] == "low"
    assert resp["body"]["text"]["format"]["schema"]["required"] == ["name", "age", "home", "tags"]
    plain = {"title": "Colour", "type": "object", "properties": {"name": {"type": "string"}}}
    [line] = build_requests(["?"], model="gpt-4o-mini", response_format=plain)
    assert line["body"]["response_format"]["json_schema"]["name"] == "Colour"
