"""Small helpers for calling `FakeBatchesAPI.handle` directly in tests (no door in between)."""

from __future__ import annotations

import json
from typing import Any

from fake_server.wire import Request, Response

KEY = "sk-test-key"
CHAT = "/v1/chat/completions"


def call(fake: Any, method: str, path: str, body: Any = None, *, query: str = "", headers: dict | None = None,
         key: str | None = KEY) -> Response:
    all_headers = {"authorization": f"Bearer {key}"} if key else {}
    all_headers.update(headers or {})
    raw = b""
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif body is not None:
        raw = json.dumps(body).encode()
        all_headers.setdefault("content-type", "application/json")
    return fake.handle(Request(method, "/v1" + path, query, all_headers, raw))


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "testboundary7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(fake: Any, content: bytes, *, filename: str = "input.jsonl", purpose: str = "batch",
           headers: dict | None = None, key: str | None = KEY) -> Response:
    body, ctype = multipart({"purpose": purpose}, filename, content)
    return call(fake, "POST", "/files", body, headers={"content-type": ctype, **(headers or {})}, key=key)


def chat_lines(n: int, model: str = "gpt-4o-mini", start: int = 1) -> list[dict]:
    return [
        {"custom_id": f"request-{i}", "method": "POST", "url": CHAT,
         "body": {"model": model, "messages": [{"role": "user", "content": f"Say {i}"}]}}
        for i in range(start, start + n)
    ]


def jsonl(lines: list[Any]) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


def create(fake: Any, lines: list[Any], *, endpoint: str = CHAT, headers: dict | None = None, **extra: Any) -> dict:
    file_id = upload(fake, jsonl(lines), headers=headers).json()["id"]
    response = call(fake, "POST", "/batches", {"input_file_id": file_id, "endpoint": endpoint,
                                               "completion_window": "24h", **extra}, headers=headers)
    assert response.status == 200, response.read()
    return response.json()


def get(fake: Any, batch_id: str, headers: dict | None = None) -> dict:
    response = call(fake, "GET", f"/batches/{batch_id}", headers=headers)
    assert response.status == 200, response.read()
    return response.json()


def content_lines(fake: Any, file_id: str) -> list[dict]:
    response = call(fake, "GET", f"/files/{file_id}/content")
    assert response.status == 200
    return [json.loads(line) for line in response.read().splitlines() if line]
