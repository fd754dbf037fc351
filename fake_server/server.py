"""The loopback door: `serve(fake)` runs the fake as a real HTTP/1.1 server in a daemon thread.

    with serve(fake) as server:
        OpenAI(api_key="sk-x", base_url=server.base_url).batches.list()

Built on `http.server.ThreadingHTTPServer` with keep-alive and TCP_NODELAY (without it every
request stalls ~40 ms on Nagle). Upload bodies are streamed to the fake chunk by chunk
(Content-Length or chunked), downloads go out chunked, and `wire.DropConnection` closes the
socket with no response. With `control=True`, `/__fake__/...` (fake_server.control) steers the fake
for loopback clients (for a fake in another process, driven from any language).

No client can hold up another: each connection has its own thread and a read timeout (`read_timeout`,
default 30 s): a client that stops sending in the middle of a body gets a 408 and its connection is
closed; an idle keep-alive connection is closed. No lock is held while a socket is read. A body larger
than its route allows (a declared `Content-Length: 10 GB` included) is refused with a 413 before it is
read, and the connection closed instead of drained.

Requests the standard library refuses before a route sees them are answered in the API's 4-key envelope with
an `x-request-id`, never its HTML error page: a garbage request line or bad version is a 400, a URL past
65,536 bytes a 414, a header line past 65,536 bytes or more than 100 headers a 431 (each closes the
connection). A method the API lacks (TRACE, FOO) goes to the routes like any other and is the 404 an unknown
route gets ("Invalid URL (TRACE /v1/batches)"): the API answers by path and method together.
"""

from __future__ import annotations

import io
import ipaddress
import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import control, spec
from .errors import SERVER_ERROR, ApiError, envelope
from .wire import CappedBody, DropConnection, Request, Response, json_response, too_large

__all__ = ["serve", "ServerHandle", "ServedFake", "DEFAULT_READ_TIMEOUT"]

_CHUNK = 64 * 1024
DEFAULT_READ_TIMEOUT = 30.0  # seconds a connection may stay silent (mid-body: 408; idle: closed)

ServedFake = control.Steerable  # the handler, plus the controls the /__fake__/ plane uses


class ServerHandle:
    """A running loopback server: `.base_url` (``http://HOST:PORT/v1``), `.host`, `.port`, `.fake`, `.stop()`.

    `.fake` may be replaced while the server runs; the next request goes to the new fake.
    """

    def __init__(self, fake: ServedFake, server: _Server, thread: threading.Thread) -> None:
        self.fake = fake
        self._server = server
        self._thread = thread
        self._lock = threading.Lock()
        self._stopped = False
        self.host: str = str(server.server_address[0])
        self.port: int = int(server.server_address[1])
        netloc = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self.url = f"http://{netloc}"
        self.base_url = f"{self.url}/v1"

    @property
    def control(self) -> bool:
        return self._server.control

    def stop(self) -> None:
        """Stop serving and close open keep-alive connections (idempotent)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<ServerHandle {self.base_url} {state}>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    control = False
    read_timeout: float | None = DEFAULT_READ_TIMEOUT
    request_queue_size = socket.SOMAXCONN  # the default of 5 drops connections in a burst (1 s kernel retry)
    handle: ServerHandle

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_sockets, self._open = list(self._open), set()
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # type: ignore[misc]  # StreamRequestHandler.setup applies it
        super().setup()

    def version_string(self) -> str:
        return "fake_server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # no per-request lines on stderr

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        lengths = {v.strip() for v in self.headers.get_all("content-length") or ()}
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths):  # RFC 9112 6.3: unrecoverable framing
            self.close_connection = True
            self._send(_error(400, "Bad request: conflicting or invalid Content-Length."))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, url.path, url.query, headers, self._body(headers))
        try:
            if url.path.startswith(control.PREFIX):
                response = self._control(request)
            else:
                response = self.server.handle.fake.handle(request)
        except DropConnection:
            self._drain(request)
            self.close_connection = True
            return
        except _ClientGone:  # the body ended early: nobody is left to answer, and nothing was stored
            self.close_connection = True
            return
        except _BadFraming as err:
            self.close_connection = True
            self._send(_error(400, f"Bad request body: {err}"))
            return
        except ApiError as err:  # a read timeout or a body cap hit outside the handler's own parsing
            response = json_response(err.status, err.envelope(), err.headers)
            response.close = True
        except Exception as err:  # a bug in the fake: answer 500, and show it
            traceback.print_exc()
            response = json_response(500, envelope(f"fake_server internal error: {err!r}", type=SERVER_ERROR))
        if response.close:
            self.close_connection = True  # the rest of the body is never read (a 413, a 408)
        else:
            self._drain(request)
        self._send(response)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        """`do_TRACE`, `do_FOO`, ...: any other method goes to the routes too (a 404 in the envelope, not the
        standard library's 501 HTML page)."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (400 bad request line, 414, 431, ...) in the API's envelope.
        The request line is not echoed back (it may carry a key in its query)."""
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = self.protocol_version  # a garbage line: answer with a status line and headers
        self.close_connection = True
        self._send(_error(code, _REFUSALS.get(code) or _phrase(code, explain)))

    # ------------------------------------------------------------ bodies

    def _body(self, headers: dict[str, str]) -> Iterator[bytes]:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(headers.get("content-length") or 0)
        return _read_length(self.rfile, length)

    def _drain(self, request: Request) -> None:
        try:
            for _ in request.iter_body():
                pass
        except (OSError, ValueError, ApiError):
            self.close_connection = True

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        skip = {"content-length", "transfer-encoding", "connection", "server", "date"}
        for name, value in response.headers.items():
            if name.lower() not in skip:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        head_only = self.command == "HEAD"
        if isinstance(response.body, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = response.iter_body()
        try:
            if not head_only:
                for chunk in chunks:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
        finally:
            close = getattr(response.body, "close", None)
            if callable(close):
                close()

    # ------------------------------------------------------------ control plane

    def _control(self, request: Request) -> Response:
        if not self.server.control:
            return control.off(request)
        if not ipaddress.ip_address(self.client_address[0].split("%")[0]).is_loopback:
            return _error(403, "the control plane answers loopback clients only")
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > spec.MAX_JSON_BODY_BYTES:
            answer = json_response(413, too_large(f"{request.method} {request.path}", int(declared),
                                                  spec.MAX_JSON_BODY_BYTES).envelope())
            answer.close = True
            return answer
        request.body = body = CappedBody(request.body, spec.MAX_JSON_BODY_BYTES, f"{request.method} {request.path}")
        answer = control.ControlPlane(self.server.handle.fake).handle(request)
        answer.close = not body.finished and (declared not in (None, "0"))
        return answer


def _error(status: int, message: str) -> Response:
    """An error the door itself answers (no route saw the request), in the envelope with its own request id."""
    return json_response(status, envelope(message), {"x-request-id": f"req_{os.urandom(16).hex()}"})


def _phrase(code: int, explain: str | None) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    return f"{phrase}: {explain}." if explain else f"{phrase}."


_REFUSALS = {
    400: "Bad request: the request line is not valid HTTP/1.1.",
    414: "Request-URI Too Long: the request line is longer than 65,536 bytes.",
}


class _ClientGone(ConnectionError):
    """The client closed the connection before its request body ended (a lying length, a cut upload)."""


class _BadFraming(ValueError):
    """The request body's chunked framing is not valid HTTP."""


def _timed_out() -> ApiError:
    return ApiError(408, "The request body was not received in time: the client stopped sending.",
                    code="request_timeout")


def _read_length(rfile: io.BufferedIOBase, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        try:
            data = rfile.read1(min(remaining, _CHUNK))  # type: ignore[attr-defined]
        except TimeoutError:
            raise _timed_out() from None
        if not data:
            raise _ClientGone("client closed the connection mid-body")
        remaining -= len(data)
        yield data


def _read_chunked(rfile: io.BufferedIOBase) -> Iterator[bytes]:
    while True:
        try:
            line = rfile.readline(1024)
        except TimeoutError:
            raise _timed_out() from None
        if not line:
            raise _ClientGone("client closed the connection mid-body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadFraming(f"invalid chunk size line {line[:40]!r}") from None
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        yield from _read_length(rfile, size)
        rfile.readline(1024)  # the CRLF after each chunk


def serve(fake: ServedFake, host: str = "127.0.0.1", port: int = 0, *, control: bool = False,
          read_timeout: float | None = DEFAULT_READ_TIMEOUT) -> ServerHandle:
    """Serve `fake` on `host:port` (0: any free port) in a daemon thread; returns a running `ServerHandle`.

    control: answer `/__fake__/...` (fake_server.control) for loopback clients.
    read_timeout: seconds a connection may stay silent; mid-body that is a 408 and the connection closes.
    """
    if read_timeout is not None and not (isinstance(read_timeout, (int, float)) and 0 < read_timeout < 86_400):
        raise ValueError(f"read_timeout must be a positive number of seconds or None, not {read_timeout!r}")
    server_class = _Server6 if ":" in host else _Server
    server = server_class((host, port), _Handler)
    server.control = control
    server.read_timeout = read_timeout
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"fake_server:{server.server_address[1]}",
        daemon=True,
    )
    server.handle = ServerHandle(fake, server, thread)
    thread.start()
    return server.handle
