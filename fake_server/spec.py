"""The Batch API as data: endpoints, limits, lifetimes, purposes, statuses and the fake's model names.

Every other module of fake_server reads these from here and nowhere else, so adding an endpoint means
one `Endpoint` in `ENDPOINTS` (plus one response builder in `responders`). Values follow
docs/reference/openai-batch-api.md (§2.1 create, §3 lists, §4.4 line errors, §6 files, §7 limits).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Endpoint",
    "ENDPOINTS",
    "MAX_REQUESTS",
    "MAX_BATCH_FILE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_EMBEDDING_INPUTS",
    "METADATA_MAX_PAIRS",
    "METADATA_MAX_KEY_CHARS",
    "METADATA_MAX_VALUE_CHARS",
    "EXPIRY_MIN_SECONDS",
    "EXPIRY_MAX_SECONDS",
    "BATCH_FILE_SECONDS",
    "OUTPUT_FILE_SECONDS",
    "WINDOW_SECONDS",
    "COMPLETION_WINDOWS",
    "PURPOSES",
    "UNDOWNLOADABLE_PURPOSES",
    "OUTPUT_PURPOSE",
    "ListLimit",
    "LIST_BATCHES_LIMIT",
    "LIST_FILES_LIMIT",
    "FILE_ORDERS",
    "STATUSES",
    "TERMINAL",
    "CANCELLABLE",
    "RESERVED_MODEL_PREFIX",
    "UNSUPPORTED_MODEL_PREFIX",
    "SNAPSHOT_SUFFIX",
    "MODEL_CATALOGUE",
    "BATCH_CREATES_PER_HOUR",
    "RATE_WINDOW_SECONDS",
    "MAX_JSON_BODY_BYTES",
    "MAX_UPLOAD_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "IDEMPOTENCY_SECONDS",
    "IDEMPOTENCY_MAX_KEYS",
]


@dataclass(frozen=True)
class Endpoint:
    """One URL a batch may target. `prompt_key` is the body key that carries the prompt: every line must carry it
    besides `model` unless `prompt_required` is False."""

    url: str
    label: str  # how the API names the endpoint in line errors, e.g. "Chat Completions: Streaming is ..."
    prompt_key: str  # "messages", "input" or "prompt"
    model_required: bool = True
    prompt_required: bool = True  # False: the spec's request schema does not require `prompt_key` (Responses)
    sample_model: str = "gpt-4o-mini"  # what `seed_batch` and `sample_body` use when no model is named
    sample_extra: str = "{}"  # JSON of what else a minimal valid body needs (an image edit: its images)

    @property
    def prompt_missing_message(self) -> str:
        """The line error when the body lacks `prompt_key`, e.g. ``Messages parameter is required.``"""
        return f"{self.prompt_key.capitalize()} parameter is required."

    def sample_body(self, model: str, text: str) -> dict[str, Any]:
        """A minimal valid request body for this endpoint (what `seed_batch` writes into its input file)."""
        prompt: Any = [{"role": "user", "content": text}] if self.prompt_key == "messages" else text
        return {"model": model, self.prompt_key: prompt, **json.loads(self.sample_extra)}


#: Every endpoint `POST /batches` accepts, in the order the API lists them in its 400 message.
ENDPOINTS: dict[str, Endpoint] = {
    endpoint.url: endpoint
    for endpoint in (
        # CreateResponse requires no `input`: a line may carry only a stored `prompt` or `instructions`
        Endpoint("/v1/responses", "Responses", "input", prompt_required=False),
        Endpoint("/v1/chat/completions", "Chat Completions", "messages"),
        Endpoint("/v1/embeddings", "Embeddings", "input", sample_model="text-embedding-3-small"),
        Endpoint("/v1/completions", "Completions", "prompt", sample_model="gpt-3.5-turbo-instruct"),
        Endpoint("/v1/moderations", "Moderations", "input", model_required=False, sample_model="omni-moderation-latest"),
        Endpoint("/v1/images/generations", "Images", "prompt", model_required=False, sample_model="gpt-image-1"),
        Endpoint("/v1/images/edits", "Images", "prompt", model_required=False, sample_model="gpt-image-1",
                 sample_extra='{"images": [{"image_url": "https://example.com/cat.png"}]}'),
        Endpoint("/v1/videos", "Videos", "prompt", model_required=False, sample_model="sora-2"),
    )
}

# ---------------------------------------------------------------- limits (reference §7)

MAX_REQUESTS = 50_000  # request lines per batch input file
MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024  # a `purpose=batch` upload
MAX_FILE_BYTES = 512 * 1024 * 1024  # any upload
MAX_EMBEDDING_INPUTS = 50_000  # embedding inputs across all lines of one /v1/embeddings batch
METADATA_MAX_PAIRS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512

# ---------------------------------------------------------------- lifetimes, in seconds

EXPIRY_MIN_SECONDS = 3_600  # output_expires_after.seconds: 1 hour ...
EXPIRY_MAX_SECONDS = 2_592_000  # ... to 30 days
BATCH_FILE_SECONDS = 30 * 86_400  # a `purpose=batch` upload expires after 30 days by default
OUTPUT_FILE_SECONDS = 30 * 86_400  # output and error files, unless output_expires_after says otherwise
WINDOW_SECONDS = 86_400  # expires_at = created_at + the 24 h completion window
COMPLETION_WINDOWS = ("24h",)

# ---------------------------------------------------------------- files

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")  # accepted on upload
UNDOWNLOADABLE_PURPOSES = ("assistants", "user_data")
OUTPUT_PURPOSE = "batch_output"  # the purpose of a batch's output and error files


@dataclass(frozen=True)
class ListLimit:
    """The `limit` query parameter of a list call: clamped to low..high, `default` when absent."""

    low: int
    high: int
    default: int


LIST_BATCHES_LIMIT = ListLimit(1, 100, 20)
LIST_FILES_LIMIT = ListLimit(1, 10_000, 10_000)
FILE_ORDERS = ("asc", "desc")  # GET /files?order=, default desc

# ---------------------------------------------------------------- statuses (reference §2.3)

STATUSES = (
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
)
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
CANCELLABLE = frozenset({"validating", "in_progress", "finalizing"})  # a cancel moves these to cancelling

# ---------------------------------------------------------------- the fake's own model names

#: ``fake-error-<status>`` models make a line fail with that status (see fake_server.responders).
RESERVED_MODEL_PREFIX = "fake-error-"
#: The default model predicate refuses names with this prefix (`model_not_found`).
UNSUPPORTED_MODEL_PREFIX = "unsupported-"

# ---------------------------------------------------------------- the model catalogue (FakeBatchesAPI(models=...))

#: A dated snapshot of a model: ``gpt-4o-mini-2024-07-18``, ``gpt-3.5-turbo-0125``.
SNAPSHOT_SUFFIX = r"(?:-\d{4}-\d{2}-\d{2}|-\d{4})?"

_CHAT_FAMILIES = (
    r"gpt-5(?:\.\d+)?(?:-mini|-nano|-pro|-chat-latest)?",
    r"gpt-4\.1(?:-mini|-nano)?",
    r"gpt-4o(?:-mini)?",
    r"gpt-4-turbo(?:-preview)?",
    r"gpt-4(?:-\d{4}-preview)?",
    r"gpt-3\.5-turbo(?:-16k)?",
    r"o1(?:-mini)?",
    r"o3(?:-mini)?",
    r"o4-mini",
)
_RESPONSES_ONLY = (
    r"o1-pro",
    r"o3-pro",
    r"gpt-5(?:\.\d+)?-codex(?:-mini|-max)?",
    r"codex-mini-latest",
)


def _catalogue(*families: str) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(families) + ")" + SNAPSHOT_SUFFIX)


#: endpoint -> the models the Batch API serves there (a full match, dated snapshots included). Chat models
#: from the spec's `ModelIdsShared` without the audio, search, realtime and computer-use previews (not
#: batchable); the other endpoints from each request schema's `model` enum (openapi.yaml). The reference
#: gives no authoritative list: anything else is refused with `model_not_found` (the stricter choice).
MODEL_CATALOGUE: dict[str, re.Pattern[str]] = {
    "/v1/chat/completions": _catalogue(*_CHAT_FAMILIES),
    "/v1/responses": _catalogue(*_CHAT_FAMILIES, *_RESPONSES_ONLY),
    "/v1/embeddings": _catalogue(r"text-embedding-3-(?:small|large)", r"text-embedding-ada-002"),
    "/v1/completions": _catalogue(r"gpt-3\.5-turbo-instruct", r"davinci-002", r"babbage-002"),
    "/v1/moderations": _catalogue(r"omni-moderation-latest", r"omni-moderation", r"text-moderation-(?:latest|stable)"),
    "/v1/images/generations": _catalogue(r"gpt-image-(?:1|1-mini|1\.5|2)", r"dall-e-[23]"),
    "/v1/images/edits": _catalogue(r"gpt-image-(?:1|1-mini|1\.5|2)", r"chatgpt-image-latest", r"dall-e-2"),
    "/v1/videos": _catalogue(r"sora-2(?:-pro)?"),
}

# ---------------------------------------------------------------- rate limits and quotas (reference §7, §9.17)

BATCH_CREATES_PER_HOUR = 2_000  # POST /batches per organization per hour of simulated time, then 429
RATE_WINDOW_SECONDS = 3_600

# ---------------------------------------------------------------- request bodies (unknown: stricter choices)

MAX_JSON_BODY_BYTES = 1024 * 1024  # a JSON request body (create, cancel, the control plane); past it: 413
# A multipart upload body: up to twice the largest file is read (past 512 MB the file is refused with the API's
# 400 "File is too large.", in constant memory); a body declared or streamed past this is a 413 at once.
MAX_UPLOAD_BODY_BYTES = 2 * MAX_FILE_BYTES
MAX_JSON_DEPTH = 64  # nesting of a JSON body or of one input line; deeper is a 400 (never a RecursionError)

# ---------------------------------------------------------------- Idempotency-Key (only with honour_idempotency_key)

IDEMPOTENCY_SECONDS = 86_400  # a kept answer is replayed for 24 h of simulated time
IDEMPOTENCY_MAX_KEYS = 10_000  # then the oldest answers are forgotten first
