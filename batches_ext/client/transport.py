"""One API call on the wire: attempts and retries within the call's deadline, error answers read with a cap,
and, for a create whose answer was lost, adopting what that attempt made instead of creating it again.

`Transport.request` is the client's only way to the network. Per call:

1. a `Budget` of `deadline` seconds (default `retry.deadline_for(timeout, max_retries)`) covers every attempt,
   every backoff and every lookup; each attempt's (connect, read) timeouts are cut to what is left, and a
   `Watch` cuts the socket when the budget is spent (a server trickling one byte a second is stopped there);
2. each attempt sends `Idempotency-Key` (POST: one key for all attempts of the call), authenticates through
   `BearerAuth`, and follows redirects only for GET (a redirect answering a POST or DELETE is an
   APIResponseError naming the Location: replaying the request elsewhere is not ours to decide); a transport
   failure after a followed redirect to another origin names that origin, not the base URL;
3. an error answer is read up to 64 KiB and becomes the `APIStatusError` of its status, every server-sent field
   redacted of the key; retried per `retry` (Retry-After up to 120 s; above that, or past the deadline, not
   retried and the error says how long the server asked to wait);
4. when an attempt's answer is lost after the request may have reached the server (a connection broken after
   sending, a read timeout, a 5xx or 408) and the call has a `lost` finder (creates: an intent), the next try
   first asks the finder, which looks for the intent among the newest objects; only when it is absent is the
   request sent again.

A 2xx answer is read whole (within the deadline) and decoded as JSON, or, for `stream=True`, handed back open
with its watch for the caller to read under the progress rule (see `deadline`).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from ..config import Settings, redact_url
from ..errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    BatchesError,
    redact,
    status_error,
)
from . import retry
from .connection import ERROR_BODY_LIMIT, JSON_BODY_LIMIT, BearerAuth, describe_failure, read_body
from .deadline import PROGRESS_BYTES, Budget, Watch, watching
from .uploads import UploadBody

__all__ = ["Answer", "LostAnswerFinder", "Transport", "USER_AGENT"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("batches-ext")
    except Exception:  # not installed (source checkout)
        return "0.1.0"


USER_AGENT = f"batches_ext/{_version()}"


@dataclass
class Answer:
    """A 2xx answer: the decoded `payload`, or (stream=True) the open `response` and its `watch`."""

    status: int
    headers: Mapping[str, str]
    request_id: str | None
    what: str  # "GET https://host/v1/batches/x", credentials redacted
    payload: Any = None
    response: requests.Response | None = None
    watch: Watch | None = None
    adopted: bool = False  # found by a `LostAnswerFinder`, not answered by the request itself


class LostAnswerFinder(Protocol):
    """Finds what an attempt whose answer was lost made (None: it made nothing; try again)."""

    @property
    def note(self) -> str: ...

    def find(self, transport: Transport, budget: Budget) -> Answer | None: ...


@dataclass
class _Failed:
    """One attempt that did not return a 2xx answer."""

    error: BatchesError
    retry: bool
    maybe_done: bool = False  # the request may have reached the server and done its work
    wait: float | None = None  # the delay the server asked for (Retry-After), seconds


class Transport:
    """The wire side of a `BatchesClient`: one `requests.Session`, the key as `BearerAuth`, the retry loop."""

    def __init__(self, session: requests.Session, settings: Settings, *, sleep: Callable[[float], Any],
                 rand: Callable[[], float] = random.random) -> None:
        self.session = session
        self.settings = settings
        self.base = settings.base_url
        self.shown_base = redact_url(settings.base_url)
        self.deadline = settings.deadline or retry.deadline_for(settings.timeout, settings.max_retries)
        self._auth = BearerAuth(settings.require_api_key())
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if settings.organization:
            self._headers["OpenAI-Organization"] = settings.organization
        if settings.project:
            self._headers["OpenAI-Project"] = settings.project
        self._sleep = sleep
        self._rand = rand

    def __repr__(self) -> str:
        return f"<Transport {self.shown_base}>"

    # ------------------------------------------------------------------ the call

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        upload: UploadBody | None = None,
        stream: bool = False,
        accept: str | None = None,
        lost: LostAnswerFinder | None = None,
        retries: int | None = None,
        budget: Budget | None = None,
    ) -> Answer:
        """One API call with retries: a 2xx `Answer`, or a BatchesError. `retries` and `budget` default to the
        settings' and a new deadline (a lookup inside another call passes 0 and that call's budget)."""
        url = self.base + path
        what = f"{method} {redact_url(url)}"
        budget = budget or Budget(self.deadline)
        max_retries = self.settings.max_retries if retries is None else retries
        headers = dict(self._headers)
        data: Any = None
        if accept:
            headers["Accept"] = accept
        if method == "POST":
            headers["Idempotency-Key"] = f"batches_ext-{uuid.uuid4()}"
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body, separators=(",", ":")).encode()
        taken, maybe_done = 0, False
        while True:
            outcome: Answer | _Failed | None = None
            if maybe_done and lost is not None:
                outcome = self._look(lost, budget)
            if outcome is None:
                outcome = self._attempt(method, url, what, params, headers, data, upload, stream, budget)
            if isinstance(outcome, Answer):
                return outcome
            maybe_done = maybe_done or outcome.maybe_done
            if method == "DELETE" and maybe_done and getattr(outcome.error, "status_code", None) == 404:
                return Answer(404, {}, getattr(outcome.error, "request_id", None), what, {"deleted": True})
            can_retry = outcome.retry and taken < max_retries and (upload is None or upload.rewindable)
            if can_retry:
                delay = outcome.wait if outcome.wait is not None else retry.backoff_delay(taken, rand=self._rand)
                if delay < budget.remaining():
                    budget.sleep(delay, self._sleep)
                    taken += 1
                    continue
                if outcome.wait is not None:  # the server's wait does not fit in the deadline: say so
                    outcome.error = _with_retry_after(outcome.error, outcome.wait)
            raise _final(outcome.error, lost.note if lost is not None and maybe_done else None)

    def _look(self, lost: LostAnswerFinder, budget: Budget) -> Answer | _Failed | None:
        """Ask `lost` for what an earlier attempt made; a failed lookup counts as a failed attempt."""
        try:
            return lost.find(self, budget)
        except APIStatusError as err:
            return _Failed(err, retry=err.status_code in (408, 429) or err.status_code >= 500, maybe_done=True)
        except (APIConnectionError, APIResponseError) as err:
            return _Failed(err, retry=isinstance(err, APIConnectionError), maybe_done=True)

    def _attempt(self, method: str, url: str, what: str, params: Any, headers: dict[str, str], data: Any,
                 upload: UploadBody | None, stream: bool, budget: Budget) -> Answer | _Failed:
        remaining = budget.remaining()
        if remaining <= 0:
            return _Failed(self._deadline_error(what), retry=False)
        watch = Watch()
        body = data
        if upload is not None:
            encoder = upload.encoder()
            headers["Content-Type"] = encoder.content_type
            body = _ProgressBody(encoder, watch, budget, self.settings.timeout)
        timeout = (min(self.settings.request_timeout[0], remaining), min(self.settings.timeout, remaining))
        watch.arm(remaining)
        try:
            with watching(watch):
                response = self.session.request(method, url, params=params, data=body, headers=headers,
                                                auth=self._auth, timeout=timeout, stream=True,
                                                allow_redirects=method == "GET")
        except requests.RequestException as exc:
            return self._transport_failure(exc, method, what, watch.finish(), budget)
        except BaseException:
            watch.finish()
            raise
        return self._answer(response, method, what, stream, watch, budget)

    def _answer(self, response: requests.Response, method: str, what: str, stream: bool, watch: Watch,
                budget: Budget) -> Answer | _Failed:
        status = response.status_code
        headers = response.headers
        request_id = self._request_id(headers)
        sent = method != "GET"
        if response.is_redirect and method != "GET":
            watch.finish()
            response.close()
            location = redact(redact_url(headers.get("location", "") or "?"), self.settings.api_key)[:300]
            return _Failed(APIResponseError(
                f"{what} was answered {status} redirecting to {location}: not followed (a {method} is not "
                "replayed to another address); point base_url there if it is right",
                status_code=status, request_id=request_id, method=method, url=what.split(" ", 1)[1]), retry=False)
        if 200 <= status < 300 and stream:
            watch.pause()
            return Answer(status, headers, request_id, what, response=response, watch=watch)
        limit = JSON_BODY_LIMIT + 1 if 200 <= status < 300 else ERROR_BODY_LIMIT
        try:
            raw = read_body(response, limit)
            broken: BaseException | None = None
        except requests.RequestException as exc:
            raw, broken = b"", exc
        finally:
            fired = watch.finish()
            response.close()
        framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
        if 200 <= status < 300:
            if broken is not None or (fired and not framed):  # done (2xx), but the answer did not arrive whole
                if broken is not None and not fired:
                    failed = self._transport_failure(broken, method, what, False, budget)
                    failed.maybe_done = sent
                    return failed
                return _Failed(self._deadline_error(what), retry=False, maybe_done=sent)
            return self._decoded(raw, status, headers, request_id, what)
        if status >= 400:
            wait = retry.retry_after_seconds(headers)
            too_long = retry.retry_after_too_long(headers)
            error = self._status_error(status, raw, headers, request_id, too_long)
            delay = wait if wait is not None and 0 < wait <= retry.RETRY_AFTER_CAP else None
            return _Failed(error, retry=retry.should_retry_status(status, headers), wait=delay,
                           maybe_done=sent and (status >= 500 or status == 408))
        return _Failed(APIResponseError(
            f"unexpected answer to {what}: status {status}" + (f" (request {request_id})" if request_id else ""),
            status_code=status, request_id=request_id), retry=False)

    # ------------------------------------------------------------------ building answers and errors

    def _request_id(self, headers: Mapping[str, str]) -> str | None:
        value = headers.get("x-request-id")
        if value is None:
            return None
        text = redact(" ".join(str(value).split()), self.settings.api_key)
        return text if len(text) <= 200 else text[:199] + "…"

    def _decoded(self, raw: bytes, status: int, headers: Mapping[str, str], request_id: str | None,
                 what: str) -> Answer | _Failed:
        try:
            if len(raw) > JSON_BODY_LIMIT:
                raise ValueError
            payload = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):
            payload = None
            bad = f"the body is over {JSON_BODY_LIMIT >> 20} MiB" if len(raw) > JSON_BODY_LIMIT else "the body is not JSON"
        else:
            bad = "the body is empty" if payload is None and not raw.strip() else ""
        if bad:
            rid = f", request {request_id}" if request_id else ""
            return _Failed(APIResponseError(f"malformed answer to {what} ({status}{rid}): {bad}",
                                            status_code=status, request_id=request_id), retry=False)
        return Answer(status, headers, request_id, what, payload=payload)

    def _status_error(self, status: int, raw: bytes, headers: Mapping[str, str], request_id: str | None,
                      too_long: float | None) -> APIStatusError:
        try:
            payload = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            payload = None
        fallback = raw[:500].decode("utf-8", "replace").strip() if payload is None else None
        return status_error(status, payload, request_id=request_id, fallback=fallback or None,
                            redact=self.settings.api_key, retry_after=too_long)

    def _transport_failure(self, exc: BaseException, method: str, what: str, fired: bool,
                           budget: Budget) -> _Failed:
        failure = describe_failure(exc)
        if fired or (failure.timeout and budget.remaining() <= 0.01):  # cut, or its timeout was what was left
            return _Failed(self._deadline_error(what), retry=False,
                           maybe_done=method != "GET" and (fired or failure.maybe_sent))
        redirected = _redirect_origin(exc, self.base)
        if failure.connecting and redirected:
            text = f"cannot connect to {redirected} (after a redirect from {self.shown_base}): {failure.reason}"
        elif failure.connecting:
            text = f"cannot connect to {self.shown_base}: {failure.reason}"
        else:
            text = f"{what}" + (f" (after a redirect to {redirected})" if redirected else "") + f": {failure.reason}"
        if failure.timeout and not failure.connecting:
            text += f" ({self.settings.timeout:g} s)"
        text = redact(redact_url(text), self.settings.api_key)
        cls = APITimeoutError if failure.timeout else APIConnectionError
        return _Failed(cls(text, method=method, url=redact_url(what.split(" ", 1)[1])), retry=not failure.final,
                       maybe_done=failure.maybe_sent and method != "GET")

    def _deadline_error(self, what: str) -> APITimeoutError:
        method, _, url = what.partition(" ")
        return APITimeoutError(
            f"{what}: no complete answer within the call's deadline ({self.deadline:g} s: timeout × "
            "(max_retries + 1) + backoff, or the deadline setting)", method=method, url=url)


class _ProgressBody:
    """An upload body that keeps the watch on the progress rule while it is read, and, once it is all sent,
    hands the watch back to the deadline without charging the budget for the sending."""

    def __init__(self, encoder: Any, watch: Watch, budget: Budget, stall: float) -> None:
        self._encoder = encoder
        self._watch = watch
        self._budget = budget
        self._stall = stall
        self._started: float | None = None
        self._ended = False

    def __len__(self) -> int:
        return int(self._encoder.len)

    def read(self, size: int = -1) -> bytes:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        chunk = self._encoder.read(size if size and size > 0 else PROGRESS_BYTES)
        if chunk:
            self._watch.arm(self._stall)
        elif not self._ended:
            self._ended = True
            self._budget.exclude(now - self._started)
            self._watch.arm(self._budget.remaining())
        return bytes(chunk)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _redirect_origin(exc: BaseException, base: str) -> str | None:
    """`scheme://host:port` of the request that failed when a followed redirect took it off the base URL's
    origin (credentials redacted), else None. Only the URL is read from the request (never its headers)."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str) or not url:
        return None
    try:
        origin = _origin(url)
        if origin == _origin(base):
            return None
    except ValueError:
        return None
    return redact_url(origin)


def _with_retry_after(error: BatchesError, seconds: float) -> BatchesError:
    if isinstance(error, APIStatusError) and error.retry_after is None:
        return type(error)(error.status_code, error.message, type=error.type, code=error.code, param=error.param,
                           request_id=error.request_id, retry_after=seconds)
    return error


def _final(error: BatchesError, note: str | None) -> BatchesError:
    """The error to raise; `note` (what a lost create may have made, and how to find it) added to its text."""
    if not note:
        return error
    if isinstance(error, APIStatusError):
        return type(error)(error.status_code, f"{error.message}; {note}", type=error.type, code=error.code,
                           param=error.param, request_id=error.request_id, retry_after=error.retry_after)
    if isinstance(error, APIConnectionError):
        return type(error)(f"{error.message}; {note}", method=error.method, url=error.url)
    if isinstance(error, APIResponseError):
        return APIResponseError(f"{error.message}; {note}", status_code=error.status_code,
                                request_id=error.request_id, method=error.method, url=error.url)
    return error
