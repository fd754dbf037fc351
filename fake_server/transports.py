"""In-process doors: a requests adapter, and handlers/transports for httpx, httpx2, respx and the openai SDK.

    session = mount(fake, requests.Session(), "https://api.openai.com/v1")   # requests
    client = openai_client(fake)                                            # the official SDK
    with mock_httpx(fake) as router: ...                                    # respx: any client

Each door turns its library's request into a `wire.Request`, calls `fake.handle`, and turns the
`wire.Response` back into its library's response. Downloads stay streams (chunk by chunk); a
`wire.DropConnection` becomes the library's own connection error. No sockets are opened.
The doors live in `_requests_door` and `_httpx_door`; this module is their public face.
"""

from __future__ import annotations

from ._door import DEFAULT_BASE_URL
from ._httpx_door import (
    FAKE_ROUTE,
    async_httpx_handler,
    async_httpx_transport,
    async_openai_client,
    httpx_handler,
    httpx_transport,
    mock_httpx,
    openai_client,
    sdk_http_module,
)
from ._requests_door import FakeAdapter, mount, requests_session

__all__ = [
    "DEFAULT_BASE_URL",
    "FAKE_ROUTE",
    "FakeAdapter",
    "mount",
    "requests_session",
    "httpx_handler",
    "async_httpx_handler",
    "httpx_transport",
    "async_httpx_transport",
    "sdk_http_module",
    "mock_httpx",
    "openai_client",
    "async_openai_client",
]

