"""What every in-process door shares: the default base URL, the chunk size, and two small helpers."""

from __future__ import annotations

import http
from typing import Any

__all__ = ["DEFAULT_BASE_URL", "CHUNK", "DEFAULT_KEY", "reason_phrase", "close_body"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CHUNK = 64 * 1024
DEFAULT_KEY = "sk-fake"


def reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def close_body(body: Any) -> None:
    close = getattr(body, "close", None)
    if callable(close) and not isinstance(body, (bytes, bytearray)):
        close()
