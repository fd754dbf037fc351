"""Intents: how a create whose answer was lost is found again instead of being made twice.

The official SDK sends no `Idempotency-Key` and the real API is not known to honour one, so a retried create
could make a second (billed) batch. Every create therefore carries an intent the client can look for:

* a batch: a unique tag in its metadata under `spec.INTENT_KEY` (`batches_ext_intent`), one of the 16 pairs;
* an upload: a unique filename, `<stem>.<8 hex digits><suffix>` (`prompts.jsonl` -> `prompts.1f0c9a3e.jsonl`).

When an attempt's answer is lost after the request may have reached the server, the transport asks the intent
(`find`) before sending again: it lists the newest objects (batches: `GET /batches?limit=100`; files:
`GET /files?purpose=...&order=desc&limit=100`) and adopts the one carrying the intent. The scan stops at the
first object created more than `SKEW` seconds before the create began (the list is newest first), after
`LOOKUP_PAGES` pages, or at the end of the list; only then is the request sent again.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..spec import INTENT_KEY, METADATA_MAX_PAIRS
from . import shapes
from .transport import Answer

if TYPE_CHECKING:
    from .deadline import Budget
    from .transport import Transport

__all__ = ["BatchIntent", "FileIntent", "tagged_filename", "with_intent", "SKEW", "LOOKUP_PAGES"]

SKEW = 300.0  # seconds of clock difference between this machine and the server that the scan allows
LOOKUP_PAGES = 3  # of 100 objects
_PAGE = 100


def with_intent(metadata: dict[str, str] | None, tag: str) -> dict[str, str]:
    """The user's metadata plus the intent. A value the user gave for the intent key (copied from another
    batch's metadata, say) is replaced; more than 15 other pairs is an InputError (the API allows 16)."""
    meta = {k: v for k, v in (metadata or {}).items() if k != INTENT_KEY}
    if len(meta) >= METADATA_MAX_PAIRS:
        raise InputError(f"metadata: at most {METADATA_MAX_PAIRS - 1} pairs (batches_ext adds {INTENT_KEY}, "
                         "which lets a retried create find the batch its first attempt made)")
    meta[INTENT_KEY] = tag
    return meta


def tagged_filename(name: str) -> str:
    """`name` with 8 random hex digits before its suffix: `prompts.jsonl` -> `prompts.1f0c9a3e.jsonl`."""
    if name.lower().endswith(".jsonl"):
        stem, suffix = name[: -len(".jsonl")], name[-len(".jsonl"):]
    else:
        stem, suffix = os.path.splitext(name)
    return f"{stem or 'input'}.{secrets.token_hex(4)}{suffix}"


def _too_old(item: dict[str, Any], since: float) -> bool:
    created = item.get("created_at")
    return isinstance(created, (int, float)) and not isinstance(created, bool) and created < since - SKEW


@dataclass(frozen=True)
class BatchIntent:
    """A create_batch call's intent: `tag` in the metadata; `since` the time the call began (client clock)."""

    tag: str
    since: float

    @classmethod
    def new(cls, since: float) -> BatchIntent:
        return cls(uuid.uuid4().hex, since)

    @property
    def note(self) -> str:
        return f"the batch may have been created: look for metadata {INTENT_KEY}={self.tag}"

    def find(self, transport: Transport, budget: Budget) -> Answer | None:
        after: str | None = None
        for _ in range(LOOKUP_PAGES):
            params: dict[str, Any] = {"limit": _PAGE, **({"after": after} if after else {})}
            answer = transport.request("GET", "/batches", params=params, retries=0, budget=budget)
            page = shapes.checked(lambda v: shapes.page(v, shapes.batch), answer.payload, what=answer.what,
                                  status=answer.status, request_id=answer.request_id)
            data = page["data"]
            for item in data:
                if (item.get("metadata") or {}).get(INTENT_KEY) == self.tag:
                    return _adopted(answer, item)
            if not page["has_more"] or not data or any(_too_old(item, self.since) for item in data):
                return None
            after = data[-1]["id"]
        return None


@dataclass(frozen=True)
class FileIntent:
    """An upload's intent: its unique `filename` among the newest files of `purpose`."""

    filename: str
    purpose: str
    since: float

    @property
    def note(self) -> str:
        return f"the file may have been uploaded: look for filename {self.filename!r}"

    def find(self, transport: Transport, budget: Budget) -> Answer | None:
        after: str | None = None
        for _ in range(LOOKUP_PAGES):
            params: dict[str, Any] = {"purpose": self.purpose, "order": "desc", "limit": _PAGE,
                                      **({"after": after} if after else {})}
            answer = transport.request("GET", "/files", params=params, retries=0, budget=budget)
            page = shapes.checked(lambda v: shapes.page(v, shapes.file_object), answer.payload, what=answer.what,
                                  status=answer.status, request_id=answer.request_id)
            data = page["data"]
            for item in data:
                if item.get("filename") == self.filename:
                    return _adopted(answer, item)
            if not page["has_more"] or not data or any(_too_old(item, self.since) for item in data):
                return None
            after = data[-1]["id"]
        return None


def _adopted(answer: Answer, item: dict[str, Any]) -> Answer:
    return Answer(answer.status, answer.headers, answer.request_id, answer.what, payload=item, adopted=True)
