"""fake_server.structured: schema instances that satisfy the schema, the same for the same seed."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Literal, Optional
from uuid import UUID

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field

from fake_server.structured import instance, satisfying


class Colour(str, enum.Enum):
    red = "red"
    blue = "blue"


class Address(BaseModel):
    street: str
    zip: str = Field(pattern=r"^\d{5}(-\d{4})?$")


class Person(BaseModel):
    name: str = Field(min_length=2, max_length=20)
    age: int = Field(ge=0, le=130)
    score: float = Field(gt=0, lt=1)
    tags: list[str] = Field(min_length=1, max_length=4)
    colour: Colour
    kind: Literal["a", "b"]
    born: date
    seen: datetime
    id: UUID
    address: Optional[Address] = None  # noqa: UP045 - pydantic's anyOf-with-null shape on purpose
    friends: list[Person] = []


SCHEMAS = [
    Person.model_json_schema(),
    {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 5, "minimum": 7, "maximum": 40},
                                      "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
                                      "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
                                      "mail": {"type": "string", "format": "email"},
                                      "set": {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3,
                                              "uniqueItems": True},
                                      "pair": {"type": "array", "prefixItems": [{"type": "string"},
                                                                                {"type": "boolean"}]},
                                      "opt": {"type": ["string", "null"]}, "c": {"const": 42},
                                      "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}},
                                                          "required": ["a"]},
                                                         {"properties": {"b": {"type": "integer"}},
                                                          "required": ["b"]}]}},
     "required": ["n", "x", "code", "mail", "set", "pair", "opt", "c", "both"], "additionalProperties": False},
    {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 2,
     "$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                        "required": ["children"]}}},
    {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
    {},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["pydantic", "keywords", "recursive", "minProperties", "any"])
def test_instances_satisfy_their_schema_for_every_seed(schema: dict) -> None:
    valid = jsonschema_rs.validator_for(schema).is_valid
    assert all(valid(satisfying(schema, f"seed-{i}")) for i in range(200))
    assert sum(valid(instance(schema, f"seed-{i}")) for i in range(200)) >= 195  # the generator alone, too


def test_instances_are_deterministic_per_seed_and_vary_across_seeds() -> None:
    schema = Person.model_json_schema()
    assert instance(schema, "a") == instance(schema, "a")
    assert len({repr(instance(schema, f"s{i}")) for i in range(10)}) == 10
    Person.model_validate(satisfying(schema, "a"), strict=False)


def test_an_unsatisfiable_or_broken_schema_never_raises() -> None:
    assert satisfying({"type": "string", "pattern": "(?P<x>a)(?P=x)+b$"}, "s") is not None
    satisfying({"not": {}}, "s")
    satisfying({"$ref": "#/nowhere"}, "s")
    satisfying({"type": "integer", "minimum": 10, "maximum": 1}, "s")


_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@pytest.mark.parametrize(("schema", "shape"), [
    ({"type": "string", "pattern": "^\\d+$", "minLength": 5, "maxLength": 5}, r"\d{5}"),
    ({"type": "string", "pattern": "^[A-Z]+$", "minLength": 10}, r"[A-Z]{10,}"),
    ({"type": "string", "pattern": "^[a-z]{2}-\\d{3,}$", "minLength": 12, "maxLength": 12}, r"[a-z]{2}-\d{9}"),
    ({"type": "string", "format": "email", "maxLength": 6}, _EMAIL.pattern),
    ({"type": "string", "format": "email", "minLength": 90}, _EMAIL.pattern),
    ({"type": "string", "format": "uri", "maxLength": 14}, r"https://[a-z.]+(/\w*)?"),
    ({"type": "string", "format": "hostname", "maxLength": 6}, r"[a-z]+\.[a-z]+"),
])
def test_a_string_meets_its_pattern_or_format_and_its_length_bounds_together(schema: dict, shape: str) -> None:
    for seed in ("a", "b", "c", "d"):
        value = satisfying(schema, seed)
        assert re.fullmatch(shape, value), (schema, value)
        assert schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**6), (schema, value)


def test_when_no_string_meets_pattern_and_bounds_the_pattern_wins() -> None:
    assert satisfying({"type": "string", "pattern": "^\\d{3}$", "minLength": 5}, "a") == "777"
