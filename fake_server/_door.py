"""What every in-process door shares: the default base URL, the chunk size, and small helpers."""

from __future__ import annotations

import http
from typing import Any
from urllib.parse import urlsplit

from .wire import Response

__all__ = ["DEFAULT_BASE_URL", "CHUNK", "DEFAULT_KEY", "reason_phrase", "close_body", "base_path_of", "api_path",
           "bodiless_if_head"]

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


def base_path_of(base_url: str) -> str:
    """The path part of a base URL without its trailing slash (``https://proxy/openai/v1`` -> ``/openai/v1``)."""
    return urlsplit(base_url).path.rstrip("/")


def api_path(path: str, base_path: str) -> str:
    """The API path of a request sent under `base_path`: a client configured with ``https://proxy/openai/v1``
    reaches the fake's ``/v1/...`` routes, since an in-process door *is* the API wherever it is mounted.

    A path outside a custom base path (``https://proxy/v1/batches`` there) matches no route: it is the 404 of
    an unknown route, "Invalid URL (GET /v1/batches (outside the base path /openai/v1))"."""
    if base_path in ("", "/v1"):
        return path
    if not (path == base_path or path.startswith(base_path + "/")):
        return f"{path} (outside the base path {base_path})"  # the base path has a "/": no route pattern spans it
    return "/v1" + path[len(base_path):]


def bodiless_if_head(method: str, answer: Response) -> Response:
    """A HEAD answer carries its status and headers (content-length included) but no body, as on the loopback
    server: the same on every door."""
    if method.upper() == "HEAD":
        close_body(answer.body)
        answer.body = b""
    return answer
