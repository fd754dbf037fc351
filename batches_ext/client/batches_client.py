"""`BatchesClient`: the Batches + Files API over one `requests.Session`.

    client = BatchesClient()                      # key from OPENAI_API_KEY
    f = client.upload_file("requests.jsonl")
    b = client.create_batch(f.id, metadata={"run": "1"})
    for batch in client.iter_batches(): ...
    client = BatchesClient.offline()              # same API against an in-process FakeBatchesAPI

Every call is bounded by a deadline (connect, read, retries and backoff together; see `transport`); retries
follow `retry` (408/429/5xx/connection errors, never 409; Retry-After up to 120 s). Creates are safe without
server help: `create_batch` tags the batch's metadata with an intent and `upload_file` gives the file a unique
name, so a retry whose first answer was lost adopts what that attempt made (`intents`); every POST also
carries one `Idempotency-Key` reused by all of its retries. A redirect answering a POST or DELETE fails at once
naming the Location; a DELETE whose retry finds the object gone counts as done. Every 2xx answer is checked
(`shapes`) before it becomes a model: a malformed one is an `APIResponseError`. The key is only ever placed in
the Authorization header (by `connection.BearerAuth`) and is never shown by `repr()`, any exception or a
traceback's locals.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ..config import DEFAULT_BASE_URL, Settings, redact_url
from ..errors import APIResponseError, InputError, redact
from ..models import Batch, FileObject, Page
from . import shapes
from .connection import WatchedAdapter
from .intents import BatchIntent, FileIntent, tagged_filename, with_intent
from .streams import iter_chunks, iter_lines
from .transport import USER_AGENT, Answer, Transport
from .uploads import UploadBody, UploadSource

__all__ = ["BatchesClient", "OFFLINE_API_KEY", "USER_AGENT"]

OFFLINE_API_KEY = "sk-offline-fake"
_CHUNK = 64 * 1024


class BatchesClient:
    """A requests-based client for the OpenAI Batch API and the Files API pieces it needs.

    Settings resolve argument > environment > default (see `config.Settings`): timeout is the
    read timeout (default 60 s; connect 10 s), max_retries defaults to 2 (3 attempts), and `deadline` bounds
    each call as a whole: by default `timeout × (max_retries + 1)` plus the backoff between attempts
    (`0.5 + 1 + ...` s, at most 8 s each), 181.5 s at the defaults. A streamed download is not bound by the
    deadline but by progress: each 64 KiB chunk (or the end) must arrive within `timeout`.
    `session` lets the caller supply the `requests.Session` (e.g. one a fake is mounted on); the client
    never closes a session it did not create. The deadline is enforced mid-request only on sessions the
    client makes (elsewhere each attempt's timeouts are still cut to what is left of it).
    """

    fake: Any

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        session: requests.Session | None = None,
        *,
        connect_timeout: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            timeout=timeout,
            max_retries=max_retries,
            connect_timeout=connect_timeout,
            deadline=deadline,
        )
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = WatchedAdapter(pool_maxsize=32)  # one client may be shared by many threads
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        self._transport = Transport(session, self.settings, sleep=lambda s: self.sleep(s),
                                    rand=lambda: self._random())
        #: How this client waits (retry backoff, `wait()` and monitor polling): `time.sleep`, or for an
        #: offline client its fake's `sleep` (a ManualClock fake moves its clock instead of sleeping).
        self.sleep: Callable[[float], Any] = time.sleep
        self._random: Callable[[], float] = random.random
        self.fake = None

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def offline(cls, fake: Any = None, speed: float | None = None, *, manual: bool = False,
                **kwargs: Any) -> BatchesClient:
        """A client wired in-process to a `fake_server.FakeBatchesAPI` (a new one unless `fake` is given).

        A new fake runs on `SystemClock(speed or DEFAULT_SPEED)` (simulated seconds per real second), or with
        `manual=True` on a `ManualClock` starting now, which moves only when the client waits (`sleep`) or the
        fake is advanced; `speed` and `manual` are ignored when a fake is passed. The key defaults to a dummy;
        the environment's key and base URL are not used. Other keyword arguments go to `BatchesClient(...)`.
        """
        from fake_server import DEFAULT_SPEED, FakeBatchesAPI, ManualClock, SystemClock

        if fake is None:
            clock = ManualClock(time.time()) if manual else SystemClock(speed or DEFAULT_SPEED)
            fake = FakeBatchesAPI(clock=clock)
        kwargs.setdefault("api_key", OFFLINE_API_KEY)
        kwargs.setdefault("base_url", DEFAULT_BASE_URL)
        client = cls(**kwargs)
        fake.mount(client._session, client.settings.base_url)
        client.fake = fake
        client.sleep = fake.sleep
        return client

    @property
    def is_offline(self) -> bool:
        """True when this client talks to the in-process fake (its objects are marked `offline`)."""
        return self.fake is not None

    def now(self) -> float:
        """The time batch timestamps are compared with: the fake's clock when offline, else the wall clock."""
        return float(self.fake.clock.now()) if self.fake is not None else time.time()

    @property
    def session(self) -> requests.Session:
        return self._session

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> BatchesClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def deadline(self) -> float:
        """Seconds one call may take in all (see the class docstring)."""
        return self._transport.deadline

    def __repr__(self) -> str:
        s = self.settings
        extra = f", organization={s.organization!r}" if s.organization else ""
        extra += f", project={s.project!r}" if s.project else ""
        extra += ", offline=True" if self.is_offline else ""
        return f"<BatchesClient base_url={redact_url(s.base_url)!r}{extra}>"

    # ------------------------------------------------------------------ batches

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        completion_window: str = "24h",
        metadata: dict[str, str] | None = None,
        *,
        output_expires_after: dict[str, Any] | None = None,
    ) -> Batch:
        """`POST /batches`: a new batch (status `validating`) over an uploaded `purpose=batch` file.

        The batch's metadata also holds `batches_ext_intent=<unique tag>` (so `metadata` may have at most 15
        pairs): when an attempt's answer is lost, the retry finds the batch that attempt made by this tag and
        returns it instead of creating a second one.
        """
        intent = BatchIntent.new(self.now())
        body: dict[str, Any] = {
            "input_file_id": _require_id(input_file_id, "input_file_id"),
            "endpoint": endpoint,
            "completion_window": completion_window,
            "metadata": with_intent(metadata, intent.tag),
        }
        if output_expires_after is not None:
            body["output_expires_after"] = output_expires_after
        return self._batch(self._request("POST", "/batches", json_body=body, lost=intent))

    def retrieve_batch(self, batch_id: str) -> Batch:
        """`GET /batches/{id}`."""
        return self._batch(self._request("GET", f"/batches/{_path_id(batch_id, 'batch_id')}"))

    def cancel_batch(self, batch_id: str) -> Batch:
        """`POST /batches/{id}/cancel`: the batch in `cancelling` (or `cancelled`).

        Raises ConflictError (409, after exactly one request) for a completed or failed batch.
        """
        return self._batch(self._request("POST", f"/batches/{_path_id(batch_id, 'batch_id')}/cancel"))

    def list_batches(self, limit: int = 20, after: str | None = None) -> Page[Batch]:
        """`GET /batches`: one page (newest first), `limit` 1..100."""
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        answer = self._request("GET", "/batches", params=params)
        payload = self._checked(answer, lambda v: shapes.page(v, shapes.batch))
        return _page(payload, self._batch_from)

    def iter_batches(self, page_size: int = 100, after: str | None = None) -> Iterator[Batch]:
        """Every batch, fetching pages lazily (next `after` = last id; stop on has_more false or empty)."""
        while True:
            page = self.list_batches(limit=page_size, after=after)
            yield from page.data
            after = _next_cursor(page, after, self.settings.api_key)
            if after is None:
                return

    # ------------------------------------------------------------------ files

    def upload_file(
        self,
        file: UploadSource,
        purpose: str = "batch",
        filename: str | None = None,
        *,
        expires_after: dict[str, Any] | None = None,
    ) -> FileObject:
        """`POST /files` (multipart, streamed): a path (`~` expanded), bytes, or a binary file object.

        The filename defaults to the path's name, the file object's name, or "input.jsonl"; the server's copy
        is named with 8 random hex digits before the suffix (`prompts.jsonl` -> `prompts.1f0c9a3e.jsonl`), so
        a retry whose first answer was lost finds that upload by name instead of uploading twice.
        Retries re-open the path / rewind the file; a stream of unknown length (pipe) is spooled to a
        temporary file first, so it can be streamed with a Content-Length and retried too.
        """
        extra = [(f"expires_after[{k}]", str(v)) for k, v in (expires_after or {}).items()]
        body = UploadBody(file, purpose=purpose, filename=filename, extra_fields=extra)
        body.filename = tagged_filename(body.filename)
        intent = FileIntent(body.filename, purpose, self.now())
        try:
            answer = self._request("POST", "/files", upload=body, lost=intent)
        finally:
            body.dispose()
        return self._file(answer)

    def retrieve_file(self, file_id: str) -> FileObject:
        """`GET /files/{id}`."""
        return self._file(self._request("GET", f"/files/{_path_id(file_id, 'file_id')}"))

    def delete_file(self, file_id: str) -> bool:
        """`DELETE /files/{id}`: True when the API reports the file deleted (also when a retry finds it
        already gone: the first attempt deleted it and its answer was lost)."""
        answer = self._request("DELETE", f"/files/{_path_id(file_id, 'file_id')}")
        return bool(self._checked(answer, shapes.deleted)["deleted"])

    def list_files(
        self,
        purpose: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> Page[FileObject]:
        """`GET /files`: one page (server defaults: limit 10,000, newest first)."""
        params: dict[str, Any] = {}
        if purpose:
            params["purpose"] = purpose
        if limit is not None:
            params["limit"] = limit
        if after:
            params["after"] = after
        if order:
            params["order"] = order
        payload = self._checked(self._request("GET", "/files", params=params), lambda v: shapes.page(v, shapes.file_object))
        return _page(payload, FileObject.from_dict)

    def iter_files(
        self, purpose: str | None = None, page_size: int | None = None, order: str | None = None
    ) -> Iterator[FileObject]:
        """Every file, page by page (same rule as `iter_batches`)."""
        after: str | None = None
        while True:
            page = self.list_files(purpose=purpose, limit=page_size, after=after, order=order)
            yield from page.data
            after = _next_cursor(page, after, self.settings.api_key)
            if after is None:
                return

    def file_content(self, file_id: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """`GET /files/{id}/content`, streamed: an iterator of byte chunks.

        The request is made now (errors raise here, within the deadline); the body is read as you iterate,
        under the progress rule: each chunk (or the end) must arrive within `timeout` seconds, however long the
        whole download takes (time you spend between chunks does not count).
        """
        path = f"/files/{_path_id(file_id, 'file_id')}/content"
        answer = self._request("GET", path, stream=True, accept="application/binary")
        assert answer.response is not None
        return iter_chunks(answer.response, chunk_size, watch=answer.watch, stall=self.settings.timeout,
                           what=answer.what)

    def iter_file_lines(self, file_id: str, chunk_size: int = _CHUNK) -> Iterator[str]:
        """The file's lines, decoded as UTF-8, without their line endings, never the whole file at once.

        Content that is not UTF-8 raises InputError naming the line (a clean error, not a UnicodeDecodeError).
        """
        chunks = self.file_content(file_id, chunk_size)
        return iter_lines(chunks, file_id)

    def download_file(self, file_id: str) -> bytes:
        """The whole file content in memory (small files; prefer `file_content` for large ones)."""
        return b"".join(self.file_content(file_id))

    def save_file(self, file_id: str, dest: str | os.PathLike) -> Path:
        """Stream the file to `dest` (a path, or a directory: the server's filename made safe), atomically.

        A `dest` ending in `/` is a directory, created when missing. Never writes outside `dest`; see
        `batches_ext.client.saving`. Returns the path written.
        """
        from .saving import save_file

        return save_file(self, file_id, dest)

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One API call with retries and the call's deadline (`transport.Transport.request`)."""
        return self._transport.request(method, path, **kwargs)

    @staticmethod
    def _checked(answer: Answer, check: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        return shapes.checked(check, answer.payload, what=answer.what, status=answer.status,
                              request_id=answer.request_id)

    def _batch(self, answer: Answer) -> Batch:
        return self._batch_from(self._checked(answer, shapes.batch), answer.request_id)

    def _batch_from(self, payload: dict[str, Any], request_id: str | None = None) -> Batch:
        batch = Batch.from_dict(payload, request_id)
        batch.offline = self.is_offline
        return batch

    def _file(self, answer: Answer) -> FileObject:
        return FileObject.from_dict(self._checked(answer, shapes.file_object), answer.request_id)


def _require_id(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"Expected a non-empty value for `{name}` but received {value!r}")
    return value


def _path_id(value: str, name: str) -> str:
    return quote(_require_id(value, name), safe="")


def _page(payload: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> Page[Any]:
    return Page(
        [build(item) for item in payload.get("data") or ()],
        bool(payload.get("has_more")),
        payload.get("first_id"),
        payload.get("last_id"),
    )


def _next_cursor(page: Page[Any], after: str | None, key: str | None) -> str | None:
    """The next page's cursor; a server that answers the same page again would loop for ever: an error, which
    quotes the server-sent id redacted of the key (`key`) and cut to 80 characters."""
    cursor = page.next_after
    if cursor is not None and cursor == after:
        shown = redact(" ".join(str(after).split()), key)
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        raise APIResponseError(f"the server answered the page after {shown!r} with that same id as its last: "
                               "paging stopped (it would never end)")
    return cursor
