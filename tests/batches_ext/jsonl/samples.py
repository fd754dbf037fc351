"""Sample lines for the jsonl and results tests: one chat request line, JSONL bytes of any objects, and one result
line of each outcome (answered, answered with an HTTP 400, expired before it ran)."""

from __future__ import annotations

import json

__all__ = ["line", "jsonl", "OK", "HTTP_400", "EXPIRED"]


def line(custom_id: str = "request-1", model: str = "gpt-4o-mini", **body: object) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": "hi"}], **body},
    }


def jsonl(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


OK = {
    "id": "batch_req_1",
    "custom_id": "request-1",
    "response": {
        "status_code": 200,
        "request_id": "req_1",
        "body": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}]},
    },
    "error": None,
}
HTTP_400 = {
    "id": "batch_req_2",
    "custom_id": "request-2",
    "response": {
        "status_code": 400,
        "request_id": "req_2",
        "body": {"error": {"message": "Bad model.", "type": "invalid_request_error", "param": None,
                           "code": "invalid_request"}},
    },
    "error": None,
}
EXPIRED = {
    "id": "batch_req_3",
    "custom_id": "request-3",
    "response": None,
    "error": {"code": "batch_expired",
              "message": "This request could not be executed before the completion window expired."},
}
