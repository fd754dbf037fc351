"""Test doubles for the network a view talks to: `Gate` (a client whose calls wait until the test opens it, so
"the view returned before loading" is decided, not raced) and `silent_server` (a socket that accepts and never
answers, the worst network there is)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Gate", "silent_server"]

_CALLS = ("list_batches", "retrieve_batch", "cancel_batch", "iter_file_lines", "file_content")


class Gate:
    """Wraps a client: its API calls block until `open` is set (everything else passes through)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.open = threading.Event()
        self.waiting = 0

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if name not in _CALLS:
            return value

        def gated(*args: Any, **kwargs: Any) -> Any:
            self.waiting += 1
            self.open.wait(30)
            return value(*args, **kwargs)

        return gated


@contextmanager
def silent_server() -> Iterator[str]:
    """A base URL whose server accepts connections and never sends a byte back."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)  # held open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()
