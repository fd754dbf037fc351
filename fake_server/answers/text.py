"""Answers of the text endpoints: chat completions, responses and completions (see fake_server.answers)."""

from __future__ import annotations

import hashlib
from typing import Any

from .. import tokens
from .shared import (
    REASONING_TOKENS,
    BuilderError,
    called_tool,
    cut,
    echo,
    int_or,
    is_reasoning,
    logprobs_of,
    structured_text,
    tool_arguments,
)

__all__ = ["chat", "responses", "completions"]


def chat(body: dict, digest: str, created: int) -> dict:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BuilderError("Invalid type for 'messages': expected an array.", "messages", "invalid_type")
    everything, last_user = tokens.messages_text(messages)
    model = body.get("model")
    n = max(1, int_or(body.get("n"), 1) or 1)
    limit = int_or(body.get("max_completion_tokens"), None)
    limit = int_or(body.get("max_tokens"), None) if limit is None else limit
    reasoning = REASONING_TOKENS if is_reasoning(model) else 0
    want_logprobs = body.get("logprobs") is True
    top = int_or(body.get("top_logprobs"), 0) or 0
    choices, completion, reasoning_total = [], 0, 0
    for index in range(n):
        seed = f"{digest}:{index}"
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        finish, logprobs = "stop", None
        tool = called_tool(body.get("tools"), body.get("tool_choice"), seed)
        if tool is not None:
            arguments = tool_arguments(tool, seed)
            call_id = f"call_{hashlib.sha256(seed.encode()).hexdigest()[:24]}"
            if tool["custom"]:
                message["tool_calls"] = [{"id": call_id, "type": "custom",
                                          "custom": {"name": tool["name"], "input": arguments}}]
            else:
                message["tool_calls"] = [{"id": call_id, "type": "function",
                                          "function": {"name": tool["name"], "arguments": arguments}}]
            visible, finish = tokens.count(arguments), "tool_calls"
        else:
            text = structured_text(body.get("response_format"), seed, echo(last_user))
            if text is None:
                room = None if limit is None else max(limit - reasoning, 0)
                text, was_cut = cut(echo(last_user), room)
                finish = "length" if was_cut else "stop"
            message["content"] = text
            visible = tokens.count(text)
            if want_logprobs:
                logprobs = logprobs_of(text, top)
        used = visible + reasoning
        if limit is not None:
            used = min(used, limit)
        completion += used
        reasoning_total += min(reasoning, used)
        choices.append({"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish})
    prompt = max(1, tokens.count(everything))
    return {
        "id": f"chatcmpl-{digest[:29]}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_total, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": f"fp_{digest[29:39]}",
    }


def _echoed_tools(tools: Any) -> list:
    """The request's tools as the Response echoes them (a function tool always has `strict` and `parameters`)."""
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("type") == "function":
            tool = {"strict": True, "parameters": None, "description": None, **tool}
        out.append(tool)
    return out


def responses(body: dict, digest: str, created: int) -> dict:
    _, last_user = tokens.messages_text(body.get("input"))
    model = body.get("model")
    limit = int_or(body.get("max_output_tokens"), None)
    reasoning = REASONING_TOKENS if is_reasoning(model) else 0
    text_config: dict[str, Any] = body["text"] if isinstance(body.get("text"), dict) else {}
    fmt = text_config.get("format")
    status, incomplete = "completed", None
    tool = called_tool(body.get("tools"), body.get("tool_choice"), digest)
    if tool is not None:
        arguments = tool_arguments(tool, digest)
        item: dict[str, Any] = {
            "type": "custom_tool_call" if tool["custom"] else "function_call",
            "id": f"fc_{digest[16:64]}",
            "call_id": f"call_{digest[:24]}",
            "name": tool["name"],
            ("input" if tool["custom"] else "arguments"): arguments,
            "status": "completed",
        }
        if tool["custom"]:
            item.pop("status")
        output = [item]
        visible = tokens.count(arguments)
    else:
        text = structured_text(fmt, digest, echo(last_user))
        if text is None:
            text, was_cut = cut(echo(last_user), None if limit is None else max(limit - reasoning, 0))
            if was_cut:
                status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        output = [{
            "type": "message",
            "id": f"msg_{digest[16:64]}",
            "status": status,
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }]
        visible = tokens.count(text)
    output_tokens = visible + reasoning if limit is None else min(visible + reasoning, limit)
    input_tokens = tokens.prompt_tokens("/v1/responses", body)
    return {
        "id": f"resp_{digest[:48]}",
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": body.get("instructions"),
        "max_output_tokens": limit,
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "temperature": body.get("temperature", 1.0),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _echoed_tools(body.get("tools")),
        "top_p": body.get("top_p", 1.0),
        "text": {"format": fmt if isinstance(fmt, dict) else {"type": "text"}},
        "metadata": body.get("metadata") or {},
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": min(reasoning, output_tokens)},
            "total_tokens": input_tokens + output_tokens,
        },
    }




def completions(body: dict, digest: str, created: int) -> dict:
    n = max(1, int_or(body.get("n"), 1) or 1)
    limit = int_or(body.get("max_tokens"), None)
    choices: list[dict] = []
    prompt_tokens = completion_tokens = 0
    for prompt in tokens.as_list(body.get("prompt")):
        prompt_tokens += len(prompt) if isinstance(prompt, list) else max(1, tokens.count(tokens.input_text(prompt)))
        for _ in range(n):
            text, was_cut = cut(echo(tokens.input_text(prompt)), limit)
            completion_tokens += tokens.count(text)
            choices.append({"text": text, "index": len(choices), "logprobs": None,
                            "finish_reason": "length" if was_cut else "stop"})
    return {
        "id": f"cmpl-{digest[:29]}",
        "object": "text_completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
        "system_fingerprint": f"fp_{digest[29:39]}",
    }
