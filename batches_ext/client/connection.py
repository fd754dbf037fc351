"""The client's requests plumbing: the key as an auth object, the watched adapter, bodies read with a cap, and
transport failures told in one short line.

* `BearerAuth` adds `Authorization` to each prepared request. The client never builds a headers dict holding
  the key, and the header's value is a `str` whose `repr()` is `'Bearer sk-***'`: a traceback that shows every
  frame's locals (`%xmode Verbose`, `traceback.TracebackException(..., capture_locals=True)`, a debugger) shows
  the requests and urllib3 frames' header dicts without the key.
* `WatchedAdapter` is requests' `HTTPAdapter` whose connections attach to the calling thread's `deadline.Watch`
  when they connect and send, so the watchdog can cut a trickling or silent server at the call's deadline.
* `read_body` reads a response body up to a cap (error bodies: 64 KiB) and no further.
* `describe_failure` turns requests' and urllib3's nested exceptions into ``cannot connect to URL: connection
  refused`` and says whether the request may have reached the server (`maybe_sent`).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .deadline import current_watch

__all__ = ["BearerAuth", "WatchedAdapter", "Failure", "describe_failure", "read_body", "ERROR_BODY_LIMIT",
           "JSON_BODY_LIMIT"]

ERROR_BODY_LIMIT = 64 * 1024  # what is read of an error answer (its message is at most a few hundred bytes)
JSON_BODY_LIMIT = 64 * 1024 * 1024  # a 2xx JSON answer (10,000 files listed: ~3 MB); beyond it: malformed


class _HeaderSecret(str):
    """An Authorization value: sent as is, shown by `repr()` (which tracebacks and debuggers use) as redacted."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'Bearer sk-***'"


class BearerAuth(AuthBase):
    """`Authorization: Bearer <key>` on every request, held where no repr shows it."""

    def __init__(self, key: str) -> None:
        self._header = _HeaderSecret(f"Bearer {key}")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "<BearerAuth sk-***>"


def _attach(connection: Any) -> None:
    watch = current_watch()
    if watch is not None:
        watch.attach(connection)


class _Watched:
    """Hands the connection's socket to the current call's watch on connect and on every request."""

    def connect(self) -> None:
        _attach(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):  # type: ignore[misc]
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):  # type: ignore[misc]
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections the calling thread's `Watch` can cut (HTTP and HTTPS proxies
    included; a SOCKS proxy's connections are not watched)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def read_body(response: requests.Response, limit: int | None = None) -> bytes:
    """The (decoded) body, or its first `limit` bytes; the rest is never read."""
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        parts.append(chunk)
        size += len(chunk)
        if limit is not None and size >= limit:
            return b"".join(parts)[:limit]
    return b"".join(parts)


@dataclass(frozen=True)
class Failure:
    """A transport failure in words: `reason` is short ("connection refused"); `connecting` tells that it
    happened before the request was sent (the server cannot have acted on it)."""

    reason: str
    connecting: bool
    timeout: bool = False
    final: bool = False  # no retry can help (the request itself cannot be made)

    @property
    def maybe_sent(self) -> bool:
        return not self.connecting


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything nested in it: args, urllib3's `.reason`, `__cause__` / `__context__`."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 32:
        node = todo.pop(0)
        if any(node is s for s in seen):
            continue
        seen.append(node)
        nested = [a for a in getattr(node, "args", ()) if isinstance(a, BaseException)]
        for extra in (getattr(node, "reason", None), node.__cause__, node.__context__):
            if isinstance(extra, BaseException):
                nested.append(extra)
        todo.extend(nested)
    return seen


def describe_failure(exc: BaseException) -> Failure:
    """What went wrong, in a few words that hold no URL, header or key."""
    chain = _causes(exc)

    def has(*types: type) -> bool:
        return any(isinstance(c, types) for c in chain)

    if has(ConnectionRefusedError):
        return Failure("connection refused", connecting=True)
    if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return Failure("host name not found", connecting=True)
    if has(requests.exceptions.ConnectTimeout) or (  # urllib3's NewConnectionError is a ConnectTimeoutError too
            has(urllib3.exceptions.ConnectTimeoutError) and not has(urllib3.exceptions.NewConnectionError)):
        return Failure("connection timed out", connecting=True, timeout=True)
    if has(ssl.SSLCertVerificationError):
        return Failure("TLS certificate not trusted", connecting=True)
    if has(requests.exceptions.SSLError, ssl.SSLError):
        return Failure("TLS handshake failed", connecting=True)
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return Failure("cannot reach the proxy", connecting=True)
    if has(urllib3.exceptions.NewConnectionError):
        errno_text = next((c.strerror for c in chain if isinstance(c, OSError) and c.strerror), None)
        return Failure((errno_text or "cannot open a connection").lower(), connecting=True)
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError, socket.timeout):
        return Failure("no answer within the read timeout", connecting=False, timeout=True)
    if has(requests.exceptions.TooManyRedirects):
        return Failure("too many redirects", connecting=False)
    if has(http.client.RemoteDisconnected):
        return Failure("the server closed the connection without answering", connecting=False)
    if has(ConnectionResetError, BrokenPipeError):
        return Failure("connection reset by the server", connecting=False)
    if has(requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError, http.client.IncompleteRead):
        return Failure("the connection broke off mid-answer", connecting=False)
    if has(requests.exceptions.ContentDecodingError):
        return Failure("the answer could not be decompressed", connecting=False)
    if has(requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, requests.exceptions.MissingSchema):
        return Failure(f"invalid request ({type(exc).__name__})", connecting=True, final=True)
    text = " ".join(str(exc).split())[:120]  # an exception we do not know: its own words, short (redacted later)
    return Failure(text or type(exc).__name__, connecting=False)
