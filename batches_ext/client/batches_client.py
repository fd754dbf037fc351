"""`BatchesClient`: the Batches + Files API over one `requests.Session`.

    client = BatchesClient()                      # key from OPENAI_API_KEY
    f = client.upload_file("requests.jsonl")
    b = client.create_batch(f.id, metadata={"run": "1"})
    for batch in client.iter_batches(): ...
    client = BatchesClient.offline()              # same API against an in-process FakeBatchesAPI

Every call has a (connect, read) timeout; retries follow `retry` (408/429/5xx/connection errors,
never 409); every POST carries one `Idempotency-Key` reused by all of its retries. An upload answered
with a redirect fails at once naming the Location (its streamed body cannot be replayed); a DELETE whose
retry finds the object gone counts as done (the first attempt's answer was lost). The key is only
ever placed in the Authorization header and is never shown by `repr()` or by any exception.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ..config import DEFAULT_BASE_URL, Settings
from ..errors import APIConnectionError, APITimeoutError, BatchesError, InputError, status_error
from ..models import Batch, FileObject, Page
from . import retry
from .streams import iter_chunks, iter_lines
from .uploads import UploadBody, UploadSource

__all__ = ["BatchesClient", "OFFLINE_API_KEY", "USER_AGENT"]

OFFLINE_API_KEY = "sk-offline-fake"
_CHUNK = 64 * 1024


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("batches-ext")
    except Exception:  # not installed (source checkout)
        return "0.1.0"


USER_AGENT = f"batches_ext/{_version()}"


class BatchesClient:
    """A requests-based client for the OpenAI Batch API and the Files API pieces it needs.

    Settings resolve argument > environment > default (see `config.Settings`): timeout is the
    read timeout (default 60 s; connect 10 s), max_retries defaults to 2 (3 attempts).
    `session` lets the caller supply the `requests.Session` (e.g. one a fake is mounted on);
    the client never closes a session it did not create.
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
    ) -> None:
        self.settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            timeout=timeout,
            max_retries=max_retries,
            connect_timeout=connect_timeout,
        )
        key = self.settings.require_api_key()
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._base = self.settings.base_url
        self._timeout = self.settings.request_timeout
        self._headers = {"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.settings.organization:
            self._headers["OpenAI-Organization"] = self.settings.organization
        if self.settings.project:
            self._headers["OpenAI-Project"] = self.settings.project
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

    def __repr__(self) -> str:
        s = self.settings
        extra = f", organization={s.organization!r}" if s.organization else ""
        extra += f", project={s.project!r}" if s.project else ""
        extra += ", offline=True" if self.is_offline else ""
        return f"<BatchesClient base_url={s.base_url!r}{extra}>"

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
        """`POST /batches`: a new batch (status `validating`) over an uploaded `purpose=batch` file."""
        body: dict[str, Any] = {
            "input_file_id": _require_id(input_file_id, "input_file_id"),
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata is not None:
            body["metadata"] = metadata
        if output_expires_after is not None:
            body["output_expires_after"] = output_expires_after
        return self._batch(self._request("POST", "/batches", json_body=body))

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
        payload = self._json(self._request("GET", "/batches", params=params))
        return _page(payload, self._batch_from)

    def iter_batches(self, page_size: int = 100, after: str | None = None) -> Iterator[Batch]:
        """Every batch, fetching pages lazily (next `after` = last id; stop on has_more false or empty)."""
        while True:
            page = self.list_batches(limit=page_size, after=after)
            yield from page.data
            after = page.next_after
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
        """`POST /files` (multipart, streamed): a path, bytes, or a binary file object.

        The filename defaults to the path's name, the file object's name, or "input.jsonl".
        Retries re-open the path / rewind the file; a stream of unknown length (pipe) is spooled to a
        temporary file first, so it can be streamed with a Content-Length and retried too.
        """
        extra = [(f"expires_after[{k}]", str(v)) for k, v in (expires_after or {}).items()]
        body = UploadBody(file, purpose=purpose, filename=filename, extra_fields=extra)
        try:
            response = self._request("POST", "/files", upload=body)
        finally:
            body.dispose()
        return self._file(response)

    def retrieve_file(self, file_id: str) -> FileObject:
        """`GET /files/{id}`."""
        return self._file(self._request("GET", f"/files/{_path_id(file_id, 'file_id')}"))

    def delete_file(self, file_id: str) -> bool:
        """`DELETE /files/{id}`: True when the API reports the file deleted (also when a retry finds it
        already gone: the first attempt deleted it and its answer was lost)."""
        response = self._request("DELETE", f"/files/{_path_id(file_id, 'file_id')}")
        if response.status_code == 404:
            response.close()
            return True
        return bool(self._json(response).get("deleted"))

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
        payload = self._json(self._request("GET", "/files", params=params))
        return _page(payload, FileObject.from_dict)

    def iter_files(
        self, purpose: str | None = None, page_size: int | None = None, order: str | None = None
    ) -> Iterator[FileObject]:
        """Every file, page by page (same rule as `iter_batches`)."""
        after: str | None = None
        while True:
            page = self.list_files(purpose=purpose, limit=page_size, after=after, order=order)
            yield from page.data
            after = page.next_after
            if after is None:
                return

    def file_content(self, file_id: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """`GET /files/{id}/content`, streamed: an iterator of byte chunks.

        The request is made now (errors raise here); the body is read as you iterate.
        """
        path = f"/files/{_path_id(file_id, 'file_id')}/content"
        response = self._request("GET", path, stream=True, accept="application/binary")
        return iter_chunks(response, chunk_size)

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

        Never writes outside `dest`; see `batches_ext.downloads`. Returns the path written.
        """
        from .saving import save_file

        return save_file(self, file_id, dest)

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        upload: UploadBody | None = None,
        stream: bool = False,
        accept: str | None = None,
    ) -> requests.Response:
        """One API call with retries; returns a 2xx response or raises a BatchesError."""
        url = self._base + path
        headers = self._headers
        data: Any = None
        if method == "POST" or accept or json_body is not None:
            headers = dict(headers)
            if method == "POST":
                headers["Idempotency-Key"] = f"batches_ext-{uuid.uuid4()}"
            if accept:
                headers["Accept"] = accept
            if json_body is not None:
                headers["Content-Type"] = "application/json"
                data = json.dumps(json_body, separators=(",", ":")).encode()
        max_retries = self.settings.max_retries
        retries, answer_lost = 0, False
        while True:
            if upload is not None:
                encoder = upload.encoder()
                data = encoder
                headers["Content-Type"] = encoder.content_type
            failure: BatchesError | None = None
            try:
                response = self._session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self._timeout, stream=stream,
                    allow_redirects=upload is None,  # a streamed upload cannot be replayed to a new location
                )
            except requests.Timeout as exc:
                failure = APITimeoutError(
                    f"Request timed out: {method} {url} ({type(exc).__name__})", method=method, url=url
                )
            except requests.RequestException as exc:
                failure = APIConnectionError(
                    f"Connection error: {method} {url} ({type(exc).__name__}: {self._safe(exc)})",
                    method=method,
                    url=url,
                )
            can_retry = retries < max_retries and (upload is None or upload.rewindable)
            if failure is not None:
                if not can_retry:
                    raise failure from None  # outside the except block: no chained requests exception
                self.sleep(retry.retry_delay(retries, None, rand=self._random))
                retries, answer_lost = retries + 1, True  # that attempt may have done its work
                continue
            status = response.status_code
            if upload is not None and response.is_redirect:
                raise self._redirect_error(response)
            if status < 400:
                return response
            if method == "DELETE" and status == 404 and answer_lost:
                return response  # an earlier attempt deleted it and its answer was lost: the caller sees a 404
            if can_retry and retry.should_retry_status(status, response.headers):
                delay = retry.retry_delay(retries, response.headers, rand=self._random)
                response.close()
                self.sleep(delay)
                retries += 1
                continue
            raise self._status_error(response)

    def _status_error(self, response: requests.Response) -> BatchesError:
        try:
            content = response.content
        except requests.RequestException:
            content = b""
        finally:
            response.close()
        try:
            payload = json.loads(content) if content else None
        except ValueError:
            payload = None
        fallback = content[:500].decode("utf-8", "replace").strip() if payload is None else None
        return status_error(
            response.status_code,
            payload,
            request_id=response.headers.get("x-request-id"),
            fallback=fallback or response.reason,
            redact=self.settings.api_key,
        )

    def _redirect_error(self, response: requests.Response) -> BatchesError:
        location = response.headers.get("location", "")
        response.close()
        return status_error(
            response.status_code, None, request_id=response.headers.get("x-request-id"),
            fallback=f"redirected to {location or 'another address'}; not followed: point base_url there",
            redact=self.settings.api_key,
        )

    def _safe(self, exc: BaseException) -> str:
        """An exception's text, one line, short, and with the key removed if it ever appears."""
        text = " ".join(str(exc).split())[:300]
        key = self.settings.api_key
        return text.replace(key, "sk-***") if key else text

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            return json.loads(response.content)
        except ValueError:
            raise APIConnectionError(
                f"Invalid JSON in the response to {response.request.method} {response.url}"
            ) from None

    def _batch(self, response: requests.Response) -> Batch:
        return self._batch_from(self._json(response), response.headers.get("x-request-id"))

    def _batch_from(self, payload: dict[str, Any], request_id: str | None = None) -> Batch:
        batch = Batch.from_dict(payload, request_id)
        batch.offline = self.is_offline
        return batch

    def _file(self, response: requests.Response) -> FileObject:
        return FileObject.from_dict(self._json(response), response.headers.get("x-request-id"))


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
