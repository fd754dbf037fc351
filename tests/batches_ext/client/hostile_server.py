"""A deliberately hostile loopback server for the client's tests: one bad behaviour per route.

    with hostile_server() as server:
        client = BatchesClient(api_key=KEY, base_url=server.url("trickle"))

The first path segment picks the behaviour (the rest, `/v1/batches/...`, is ignored unless it says otherwise):

    trickle            200 and a valid batch, its body one byte every 0.2 s (about 80 s in all)
    trickle-headers    the status line and headers themselves one byte every 0.2 s
    drip/<n>           200 and n blocks of 64 KiB of JSONL, one every 0.1 s (slow, but always progressing)
    silence            reads the request and never answers
    huge-error         500 whose body is 300 MB of text, made on the fly; `sent` counts what left
    shape/<name>       200 whose body is `SHAPES[name]` (`[]`, `null`, wrong types, not JSON ...)
    redirect/<code>    <code> with `Location: http://127.0.0.1:9/elsewhere/v1/...`
    redirect-tls       302 to `https://` on this same (plain HTTP) port: the TLS handshake there fails
    echo-key           401 echoing the Authorization header in the message, type, code, param and x-request-id
    retry-after/<s>    429 with `Retry-After: <s>`, then (second call on) a valid batch
    forgetful          a tiny Batches + Files store that ignores Idempotency-Key and closes the connection
                       without answering after making the first `drops` POSTs (the answer is lost, the work done)

Every request is recorded in `server.seen` (method, path, headers). Nothing here imports batches_ext.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["hostile_server", "HostileServer", "Seen", "SHAPES", "BATCH"]

BATCH = {"id": "batch_hostile", "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
         "input_file_id": "file-in", "completion_window": "24h", "status": "validating", "output_file_id": None,
         "error_file_id": None, "created_at": 1_700_000_000, "in_progress_at": None, "expires_at": 1_700_086_400,
         "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None,
         "cancelled_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": None}

SHAPES: dict[str, bytes] = {
    "list": b"[]",
    "null": b"null",
    "string": b'"batch_1"',
    "not-json": b"<html>hello</html>",
    "empty": b"",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "id-number": json.dumps({**BATCH, "id": 5}).encode(),
    "no-id": json.dumps({k: v for k, v in BATCH.items() if k != "id"}).encode(),
    "counts-list": json.dumps({**BATCH, "request_counts": [1, 2, 3]}).encode(),
    "count-text": json.dumps({**BATCH, "request_counts": {"total": "3"}}).encode(),
    "created-text": json.dumps({**BATCH, "created_at": "yesterday"}).encode(),
    "created-huge": json.dumps({**BATCH, "created_at": 10**30}).encode(),
    "metadata-list": json.dumps({**BATCH, "metadata": ["a"]}).encode(),
    "errors-text": json.dumps({**BATCH, "errors": "bad"}).encode(),
    "status-number": json.dumps({**BATCH, "status": 3}).encode(),
    "page-data-object": json.dumps({"object": "list", "data": {}, "has_more": False}).encode(),
    "page-item-null": json.dumps({"object": "list", "data": [None], "has_more": False}).encode(),
    "page-has-more-text": json.dumps({"object": "list", "data": [], "has_more": "yes"}).encode(),
}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    port: int = 0
    seen: list[Seen] = field(default_factory=list, repr=False)  # holds the Authorization headers received
    sent: int = 0  # bytes of the huge error body written
    drops: int = 1  # forgetful: POSTs whose answer is lost after the work is done
    batches: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/v1"


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _wait_for_hangup(self, seconds: float = 120.0) -> None:
            """Until the client closes the connection (or the server stops)."""
            end = time.monotonic() + seconds
            while not server.stopping.is_set() and time.monotonic() < end:
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and not self.connection.recv(1, 0):
                    return

        def _trickle(self, data: bytes, interval: float = 0.2) -> None:
            for i in range(len(data)):
                if server.stopping.wait(interval):
                    return
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()

        def handle_one(self) -> None:
            body = self._body()
            with server.lock:
                server.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            behaviour = parts[0]
            if behaviour == "trickle":
                payload = json.dumps(BATCH).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.flush()
                self._trickle(payload)
            elif behaviour == "trickle-headers":
                payload = json.dumps(BATCH).encode()
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: {'x' * 400}\r\n"
                        f"Content-Length: {len(payload)}\r\n\r\n").encode()
                self._trickle(head + payload)
            elif behaviour == "drip":
                blocks = int(parts[1])
                line = b'{"custom_id":"x"}' + b" " * (64 * 1024 - 18) + b"\n"
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(blocks * len(line)))
                self.end_headers()
                for _ in range(blocks):
                    if server.stopping.wait(0.1):
                        return
                    self.wfile.write(line)
                    self.wfile.flush()
            elif behaviour == "silence":
                self._wait_for_hangup()
            elif behaviour == "huge-error":
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(300 * 1024 * 1024))
                self.end_headers()
                block = b"overload " * 7282  # ~64 KiB
                try:
                    while server.sent < 300 * 1024 * 1024 and not server.stopping.is_set():
                        self.wfile.write(block)
                        server.sent += len(block)
                except OSError:
                    pass
            elif behaviour == "shape":
                self._send(200, SHAPES[parts[1]])
            elif behaviour == "redirect":
                rest = "/".join(parts[2:])
                self._send(int(parts[1]), b"", {"Location": f"http://127.0.0.1:9/elsewhere/{rest}"})
            elif behaviour == "redirect-tls":
                port = self.server.server_address[1]
                self._send(302, b"", {"Location": f"https://127.0.0.1:{port}/v1/batches/b"})
            elif behaviour == "echo-key":
                key = self.headers.get("Authorization", "")
                envelope = {"error": {"message": f"Incorrect API key provided: {key}", "type": key, "code": key,
                                      "param": key}}
                self._send(401, json.dumps(envelope).encode(), {"x-request-id": f"req_{key}"})
            elif behaviour == "retry-after":
                with server.lock:
                    n = server.calls["retry-after"] = server.calls.get("retry-after", 0) + 1
                if n == 1:
                    self._send(429, b'{"error": {"message": "slow down", "type": "requests", "param": null, '
                                    b'"code": "rate_limit_exceeded"}}', {"Retry-After": parts[1]})
                else:
                    self._send(200, json.dumps(BATCH).encode())
            elif behaviour == "forgetful":
                self._forgetful(parts[2:], body)
            else:
                self._send(404, b'{"error": {"message": "no such behaviour", "type": "x", "param": null, '
                                b'"code": null}}')

        def _forgetful(self, route: list[str], body: bytes) -> None:
            """POST /batches, POST /files: do the work, then lose the answer (`drops` times); GET lists."""
            now = int(time.time())
            if self.command == "POST" and route == ["batches"]:
                request = json.loads(body)
                with server.lock:
                    made = {**BATCH, "id": f"batch_{len(server.batches) + 1}", "created_at": now,
                            "input_file_id": request["input_file_id"], "metadata": request.get("metadata")}
                    server.batches.append(made)
                self._answer_or_drop(made)
            elif self.command == "POST" and route == ["files"]:
                name = re.search(rb'filename="([^"]*)"', body)
                with server.lock:
                    made = {"id": f"file-{len(server.files) + 1}", "object": "file", "bytes": len(body),
                            "created_at": now, "filename": name.group(1).decode() if name else "?",
                            "purpose": "batch", "status": "processed"}
                    server.files.append(made)
                self._answer_or_drop(made)
            elif self.command == "GET" and route[:1] in (["batches"], ["files"]):
                with server.lock:
                    data = list(reversed(server.batches if route == ["batches"] else server.files))
                page = {"object": "list", "data": data, "has_more": False,
                        "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}
                self._send(200, json.dumps(page).encode())
            else:
                self._send(404, b'{"error": {"message": "no route", "type": "x", "param": null, "code": null}}')

        def _answer_or_drop(self, made: dict[str, Any]) -> None:
            with server.lock:
                drop = server.drops > 0
                server.drops -= 1 if drop else 0
            if drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            self._send(200, json.dumps(made).encode())

        do_GET = do_POST = do_DELETE = handle_one

    return Handler


@contextlib.contextmanager
def hostile_server() -> Iterator[HostileServer]:
    state = HostileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
