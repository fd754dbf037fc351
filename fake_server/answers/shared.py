"""What the endpoints' answers share: echoed text cut to a token limit, structured-output text, forced tool
calls with schema-satisfying arguments, logprobs."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .. import structured
from ..errors import INVALID_REQUEST

__all__ = ["BuilderError", "ECHO_CHARS", "REASONING_TOKENS", "echo", "int_or", "cut", "is_reasoning", "json_text",
           "structured_text", "function_tools", "called_tool", "tool_arguments", "logprobs_of"]

ECHO_CHARS = 200
REASONING_TOKENS = 16  # per choice, for reasoning models
_REASONING_MODEL = re.compile(r"(o\d|gpt-5)")


class BuilderError(Exception):
    """A body the builder cannot answer (the dispatcher turns it into a 400 line)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.type = message, param, code, INVALID_REQUEST


def echo(text: str) -> str:
    return f"Echo: {text[:ECHO_CHARS]}"


def int_or(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def cut(text: str, limit: int | None) -> tuple[str, bool]:
    """`text` cut to `limit` tokens (words); True when it was cut."""
    if limit is None:
        return text, False
    words = text.split()
    if len(words) <= limit:
        return text, False
    return " ".join(words[: max(limit, 0)]), True


def is_reasoning(model: Any) -> bool:
    return isinstance(model, str) and _REASONING_MODEL.match(model) is not None


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def structured_text(fmt: Any, seed: str, echo: str) -> str | None:
    """The JSON text a structured-output format asks for (None: plain text)."""
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return json_text({"answer": echo})
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        if schema is None and isinstance(fmt.get("json_schema"), dict):
            schema = fmt["json_schema"].get("schema")
        return json_text(structured.satisfying(schema if schema is not None else {}, seed))
    return None


def function_tools(tools: Any) -> list[dict]:
    """Function tools as {"name", "parameters", "custom"} (chat's nested and responses' flat shapes)."""
    found = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        inner: dict[str, Any] = tool[kind] if isinstance(tool.get(kind), dict) else tool
        name = inner.get("name")
        if kind in ("function", "custom") and isinstance(name, str):
            found.append({"name": name, "parameters": inner.get("parameters"), "custom": kind == "custom"})
    return found


def called_tool(tools: Any, choice: Any, seed: str) -> dict | None:
    """The tool a `tool_choice` forces (required, a named function, allowed_tools in required mode), or None."""
    available = function_tools(tools)
    if not available:
        return None
    named = None
    if isinstance(choice, dict):
        kind = choice.get("type")
        inner: dict[str, Any] = choice[kind] if isinstance(choice.get(kind), dict) else choice
        if kind in ("function", "custom"):
            named = inner.get("name")
        elif kind == "allowed_tools":
            if inner.get("mode") != "required":
                return None
            allowed = {t.get("name") or (t.get("function") or {}).get("name") for t in inner.get("tools", [])
                       if isinstance(t, dict)}
            available = [t for t in available if t["name"] in allowed] or available
        else:
            return None
    elif choice != "required":
        return None
    if named is not None:
        return next((t for t in available if t["name"] == named), None)
    return available[int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(available)]


def tool_arguments(tool: dict, seed: str) -> str:
    if tool["custom"]:
        return f"input for {tool['name']}"
    parameters = tool["parameters"] if isinstance(tool["parameters"], dict) else {"type": "object",
                                                                                     "properties": {}}
    return json.dumps(structured.satisfying(parameters, seed))


def logprobs_of(text: str, top: int) -> dict:
    entries = []
    for word in text.split():
        token = {"token": word, "logprob": -0.01, "bytes": list(word.encode("utf-8"))}
        entries.append({**token, "top_logprobs": [dict(token) for _ in range(top)]})
    return {"content": entries, "refusal": None}
