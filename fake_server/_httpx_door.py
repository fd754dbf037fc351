"""The httpx / httpx2 door: handlers and transports for any httpx-style client, respx, and the openai SDK.

The same code serves httpx (the openai 2.x SDK) and httpx2 (3.x): the library is taken from the
request's own module. Downloads stay streams; a dropped connection becomes the library's
`RemoteProtocolError`. No sockets are opened.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from ._door import DEFAULT_BASE_URL, DEFAULT_KEY, api_path, base_path_of, bodiless_if_head, close_body
from .wire import DropConnection, Handles, Request, Response

__all__ = ["FAKE_ROUTE", "httpx_handler", "async_httpx_handler", "httpx_transport", "async_httpx_transport",
           "sdk_http_module", "mock_httpx", "openai_client", "async_openai_client"]

#: Name of the catch-all respx route `mock_httpx` adds (`router["fake_server"].calls`).
FAKE_ROUTE = "fake_server"


_STREAMS: dict[str, type] = {}


def _library(request: Any) -> ModuleType:
    """httpx or httpx2: whichever library built `request`."""
    return importlib.import_module(type(request).__module__.split(".")[0])


def _stream_class(lib: ModuleType) -> type:
    """A byte stream of `lib` that is both sync and async, so one response serves Client and AsyncClient."""
    cls = _STREAMS.get(lib.__name__)
    if cls is None:

        class ChunkStream(lib.SyncByteStream, lib.AsyncByteStream):  # type: ignore[name-defined,misc]
            def __init__(self, chunks: Iterable[bytes]) -> None:
                self._chunks = chunks

            def __iter__(self) -> Iterator[bytes]:
                yield from self._chunks

            async def __aiter__(self) -> Any:
                for chunk in self._chunks:
                    yield chunk

            def close(self) -> None:
                close_body(self._chunks)

            async def aclose(self) -> None:
                close_body(self._chunks)

        cls = _STREAMS[lib.__name__] = ChunkStream
    return cls


def _wire_from_httpx(request: Any, base_path: str) -> Request:
    return Request(
        request.method,
        api_path(request.url.path, base_path),
        request.url.query.decode("ascii"),
        dict(request.headers),
        request.content,
    )


def _to_httpx(request: Any, started: float, answer: Response) -> Any:
    lib = _library(request)
    limit = (request.extensions.get("timeout") or {}).get("read")
    if limit is not None and time.monotonic() - started > limit:
        close_body(answer.body)
        raise lib.ReadTimeout(f"Read timed out (read timeout={limit})", request=request)
    answer = bodiless_if_head(request.method, answer)
    headers = list(answer.headers.items())
    if isinstance(answer.body, (bytes, bytearray)):
        return lib.Response(answer.status, headers=headers, content=bytes(answer.body), request=request)
    return lib.Response(
        answer.status, headers=headers, stream=_stream_class(lib)(answer.body), request=request
    )


def _dropped(request: Any, err: DropConnection) -> Exception:
    lib = _library(request)
    return lib.RemoteProtocolError(
        f"Server disconnected without sending a response. ({err})", request=request
    )


def httpx_handler(fake: Handles, base_path: str = "/v1") -> Callable[[Any], Any]:
    """`handler(request) -> response` for `httpx.MockTransport`, `httpx2.MockTransport` or a respx side effect.

    `base_path`: the path of the client's base URL (requests under it reach the fake's ``/v1`` routes)."""

    def handler(request: Any) -> Any:
        request.read()
        started = time.monotonic()
        try:
            answer = fake.handle(_wire_from_httpx(request, base_path))
        except DropConnection as err:
            raise _dropped(request, err) from None
        return _to_httpx(request, started, answer)

    return handler


def async_httpx_handler(fake: Handles, base_path: str = "/v1") -> Callable[[Any], Any]:
    """The async twin of `httpx_handler`; the (possibly blocking) fake runs in a worker thread."""

    async def handler(request: Any) -> Any:
        await request.aread()
        started = time.monotonic()
        try:
            answer = await _to_thread(fake.handle, _wire_from_httpx(request, base_path))
        except DropConnection as err:
            raise _dropped(request, err) from None
        return _to_httpx(request, started, answer)

    return handler


async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        import anyio.to_thread  # works under asyncio and trio; the openai SDK depends on it
    except ImportError:  # pragma: no cover - anyio comes with httpx
        import asyncio

        return await asyncio.to_thread(fn, *args)
    return await anyio.to_thread.run_sync(fn, *args)


def sdk_http_module() -> ModuleType:
    """The HTTP library the installed openai SDK is built on: httpx2 (openai 3.x) or httpx (2.x).

    Without openai: httpx if installed, else httpx2.
    """
    try:
        base = importlib.import_module("openai._base_client")
    except ImportError:
        base = None
    for name in ("httpx2", "httpx"):
        module = getattr(base, name, None)
        if isinstance(module, ModuleType) and module.__name__ == name:
            return module
    for name in ("httpx", "httpx2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("the httpx door needs httpx or httpx2: pip install httpx")


def _module(module: ModuleType | str | None) -> ModuleType:
    if module is None:
        return sdk_http_module()
    return importlib.import_module(module) if isinstance(module, str) else module


def httpx_transport(fake: Handles, module: ModuleType | str | None = None, base_path: str = "/v1") -> Any:
    """`<module>.MockTransport` serving `fake`; module defaults to the library the openai SDK uses."""
    return _module(module).MockTransport(httpx_handler(fake, base_path))


def async_httpx_transport(fake: Handles, module: ModuleType | str | None = None, base_path: str = "/v1") -> Any:
    """Like `httpx_transport`, for `AsyncClient` / `AsyncOpenAI`."""
    return _module(module).MockTransport(async_httpx_handler(fake, base_path))


def mock_httpx(fake: Handles, base_url: str = DEFAULT_BASE_URL, using: str | None = None) -> Any:
    """A respx router (use it as a context manager) that sends everything under `base_url` to `fake`.

    `using` defaults to "httpcore2" when the installed openai is on httpx2 (needs pytest-httpx2),
    else respx's own default (httpx). Add your own routes to the returned router as usual.
    """
    import respx

    if using is None and sdk_http_module().__name__ == "httpx2":
        using = "httpcore2"
    if using == "httpcore2":
        try:
            import pytest_httpx2  # noqa: F401 - registers respx's "httpcore2" mocker
        except ImportError as err:
            raise ImportError(
                "mocking httpx2 (openai>=3) with respx needs pytest-httpx2: pip install pytest-httpx2"
            ) from err
    options: dict[str, Any] = {"base_url": base_url, "assert_all_called": False}
    if using is not None:
        options["using"] = using
    router = respx.mock(**options)
    router.routes = _fake_route_last(router.routes)
    router.route(name=FAKE_ROUTE).mock(side_effect=httpx_handler(fake, base_path_of(base_url)))
    return router


def _fake_route_last(routes: Any) -> Any:
    """respx tries routes in order; keep the fake's catch-all last so routes users add later win."""

    class FakeLastRoutes(type(routes)):  # type: ignore[misc]
        def __iter__(self) -> Iterator[Any]:
            fallback = self._names.get(FAKE_ROUTE)
            ordered = [route for route in self._routes if route is not fallback]
            return iter(ordered + [fallback] if fallback is not None else ordered)

    return FakeLastRoutes(routes)


# ---------------------------------------------------------------- the openai SDK


def _client_kwargs(fake: Handles, kw: dict[str, Any]) -> dict[str, Any]:
    keys = getattr(fake, "api_keys", None)  # a FakeBatchesAPI's accepted keys; another handler may have none
    default_key = next(iter(keys)) if keys else DEFAULT_KEY
    kw["api_key"] = kw.pop("api_key", None) or default_key
    kw["base_url"] = kw.pop("base_url", None) or DEFAULT_BASE_URL
    return kw


def openai_client(fake: Handles, **kw: Any) -> Any:
    """`openai.OpenAI` wired in-process to `fake` (openai 2.x on httpx, 3.x on httpx2). Extra kwargs pass through.

    Strict by default (`_strict_response_validation=True`): a body the SDK's models reject raises
    `openai.APIResponseValidationError`, so any drift of the fake from the SDK shows at once."""
    import openai

    lib = sdk_http_module()
    kw = _client_kwargs(fake, kw)
    kw.setdefault("_strict_response_validation", True)
    kw.setdefault("http_client", lib.Client(transport=httpx_transport(fake, lib, base_path_of(kw["base_url"]))))
    return openai.OpenAI(**kw)


def async_openai_client(fake: Handles, **kw: Any) -> Any:
    """`openai.AsyncOpenAI` wired in-process to `fake` (strict by default, like `openai_client`)."""
    import openai

    lib = sdk_http_module()
    kw = _client_kwargs(fake, kw)
    kw.setdefault("_strict_response_validation", True)
    kw.setdefault("http_client", lib.AsyncClient(
        transport=async_httpx_transport(fake, lib, base_path_of(kw["base_url"]))))
    return openai.AsyncOpenAI(**kw)
