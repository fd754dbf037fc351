"""Typed answers: each result's answer validated into a pydantic model (or against a JSON Schema).

    people = res.parsed(Person)       # one value per row: a Person, or a ParseFailure saying why not
    ok = [p for p in people if p]     # a ParseFailure is falsy
    res.to_pandas(parsed=Person)      # adds a `parsed` column (and `parse_error`)

The answer is the row's text (chat `message.content`, responses `output_text`), read as JSON. A row that did not
succeed, a refusal, text that is not JSON, or JSON that does not fit is a `ParseFailure` for that row with the
reason (the validator's first message), never an exception for the whole set. A JSON Schema dict is checked with
jsonschema-rs (a dependency); a model needs pydantic 2 (the `pydantic` extra).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import InputError
from ..jsonl import schema_of

__all__ = ["ParseFailure", "parse_answer", "parse_rows", "answer_json"]


class ParseFailure:
    """A row whose answer does not fit: `custom_id`, the row's `status` and `reason`. Falsy, so
    `[p for p in res.parsed(Model) if p]` keeps the values that fit."""

    __slots__ = ("custom_id", "status", "reason")

    def __init__(self, custom_id: str, status: str, reason: str) -> None:
        self.custom_id, self.status, self.reason = custom_id, status, reason

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParseFailure) and (self.custom_id, self.status, self.reason) == (
            other.custom_id, other.status, other.reason)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<ParseFailure {self.custom_id}: {self.reason}>"


def answer_json(row: Any) -> Any:
    """The row's answer read as JSON; InputError saying why there is none."""
    if not row.ok:
        why = ": ".join(str(x) for x in (row.error_code, row.error_message) if x) or row.status
        raise InputError(f"no answer ({row.status}: {why})")
    refusal = _refusal(row.body)
    if refusal:
        raise InputError(f"the model refused: {refusal}")
    text = row.answer
    if text is None:
        raise InputError("the answer has no text")
    try:
        return json.loads(text)
    except ValueError as err:
        raise InputError(f"the answer is not JSON ({err.args[0] if err.args else err})") from None


def _refusal(body: Any) -> str | None:
    choices = body.get("choices") if isinstance(body, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("refusal"), str) and message["refusal"]:
            return str(message["refusal"])
    output = body.get("output") if isinstance(body, dict) else None
    for item in output if isinstance(output, list) else []:
        for part in item.get("content") or [] if isinstance(item, dict) else []:
            if isinstance(part, dict) and part.get("type") == "refusal":
                return str(part.get("refusal") or "refused")
    return None


class _Checker:
    """Validates a JSON value into `spec`: a pydantic model (its instance) or a JSON Schema (the value)."""

    def __init__(self, spec: Any) -> None:
        self.model = spec if isinstance(spec, type) and hasattr(spec, "model_validate") else None
        self.validator = None
        if self.model is None:
            _, schema = schema_of(spec)
            import jsonschema_rs

            self.validator = jsonschema_rs.validator_for(schema)

    def __call__(self, value: Any) -> Any:
        if self.model is not None:
            try:
                return self.model.model_validate(value)
            except Exception as err:  # pydantic.ValidationError, without importing pydantic here
                raise InputError(f"does not fit {self.model.__name__}: {_first_error(err)}") from None
        assert self.validator is not None
        for problem in self.validator.iter_errors(value):
            where = "/".join(str(p) for p in getattr(problem, "instance_path", []) or [])
            raise InputError(f"does not fit the schema: {where + ': ' if where else ''}{problem.message}")
        return value


def _first_error(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        except Exception:  # pragma: no cover - an unusual ValidationError
            pass
    return str(err).splitlines()[0]


def parse_answer(row: Any, spec: Any) -> Any:
    """The row's answer validated into `spec` (a pydantic model class or a JSON Schema dict); InputError why not."""
    return _Checker(spec)(answer_json(row))


def parse_rows(rows: Iterable[Any], spec: Any) -> list[Any]:
    """One value per row: the answer validated into `spec`, or a `ParseFailure` with the reason."""
    check = _Checker(spec)
    out: list[Any] = []
    for row in rows:
        try:
            out.append(check(answer_json(row)))
        except InputError as err:
            out.append(ParseFailure(row.custom_id, row.status, str(err)))
    return out

