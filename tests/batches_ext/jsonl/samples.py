"""Sample request lines for the jsonl tests: one chat line, and JSONL bytes of any objects."""

from __future__ import annotations

import json

__all__ = ["line", "jsonl"]


def line(custom_id: str = "request-1", model: str = "gpt-4o-mini", **body: object) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": "hi"}], **body},
    }


def jsonl(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)
