"""Fixtures for the core's tests: a scripted requests adapter, and clients wired to it or to the fake.

`ScriptedAdapter` answers queued responses (or raises queued exceptions) and records every
request it sees, so retry and error tests can script exact wire behaviour without a server.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from batches_ext.client import BatchesClient

CANARY = "sk-CANARY-7f3a9c1e5b2d4f60"
BASE_URL = "https://api.test/v1"


@dataclass
class Seen:
    """One request the adapter received (headers as sent, body fully read)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: Any


@dataclass
class ScriptedAdapter(BaseAdapter):
    """Answers from a queue: (status, json_or_bytes, headers) tuples or exception instances."""

    script: list[Any] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def queue(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> ScriptedAdapter:
        self.script.append((status, body, headers or {}))
        return self

    def queue_error(self, exc: BaseException) -> ScriptedAdapter:
        self.script.append(exc)
        return self

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kw: Any):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        elif isinstance(body, str):
            body = body.encode()
        self.seen.append(Seen(request.method or "", request.url or "", dict(request.headers), body or b"", timeout))
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            if isinstance(item, requests.RequestException) and item.request is None:
                item.request = request  # like requests: the error carries the PreparedRequest (and its headers)
            raise item
        status, payload, headers = item
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode() if payload is not None else b""
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"x-request-id": f"req_{len(self.seen)}", **headers})
        response.raw = io.BytesIO(raw)
        response.url = request.url or ""
        response.request = request
        response.reason = {200: "OK"}.get(status, "")
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def adapter() -> ScriptedAdapter:
    return ScriptedAdapter()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def scripted(adapter: ScriptedAdapter, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> BatchesClient:
    """A client with the canary key, talking to `adapter`, recording sleeps instead of sleeping."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    session = requests.Session()
    session.mount("https://api.test/", adapter)
    client = BatchesClient(api_key=CANARY, base_url=BASE_URL, session=session)
    client.sleep = sleeps.append
    client._random = lambda: 0.0  # jitter factor 1.0: delays are exact
    return client


def batch_payload(batch_id: str = "batch_1", status: str = "validating", **extra: Any) -> dict[str, Any]:
    payload = {
        "id": batch_id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": status,
        "output_file_id": None,
        "error_file_id": None,
        "created_at": 1_700_000_000,
        "in_progress_at": None,
        "expires_at": 1_700_086_400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": None,
    }
    payload.update(extra)
    return payload


def error_payload(message: str, type: str = "invalid_request_error", code: str | None = None,
                  param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
