"""The Batch API as data, as the client sees it: endpoints, limits, statuses, and the names batches_ext reserves.

Every other module takes these values from here. fake_server keeps its own table (`fake_server.spec`): the
core never imports the fake, and tests/test_spec_agreement.py holds the two tables to each other. To add an
endpoint, add it to `ENDPOINTS` here and in `fake_server.spec`, and give the fake one responder.
Sources: shared/reference/openai-batch-api.md (sections 2, 4, 6, 7).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Endpoint",
    "ENDPOINTS",
    "DEFAULT_ENDPOINT",
    "MESSAGE_ENDPOINTS",
    "MAX_LINES",
    "MAX_BYTES",
    "MAX_EMBEDDING_INPUTS",
    "METADATA_MAX_PAIRS",
    "METADATA_MAX_KEY_CHARS",
    "METADATA_MAX_VALUE_CHARS",
    "EXPIRY_MIN_SECONDS",
    "EXPIRY_MAX_SECONDS",
    "FILE_LIFETIME_SECONDS",
    "COMPLETION_WINDOWS",
    "LIST_BATCHES_MAX",
    "STATUSES",
    "TERMINAL",
    "CANCELLABLE",
    "FAKE_ERROR_PREFIX",
    "RESERVED_METADATA_PREFIX",
    "INTENT_KEY",
]


@dataclass(frozen=True)
class Endpoint:
    """One batch endpoint: its URL, the body key holding the prompt (required in every line), and whether
    each line's body must name a model."""

    url: str
    prompt_key: str
    model_required: bool = True


ENDPOINTS: dict[str, Endpoint] = {
    e.url: e
    for e in (
        Endpoint("/v1/responses", "input"),
        Endpoint("/v1/chat/completions", "messages"),
        Endpoint("/v1/embeddings", "input"),
        Endpoint("/v1/completions", "prompt"),
        Endpoint("/v1/moderations", "input", model_required=False),
        Endpoint("/v1/images/generations", "prompt", model_required=False),
        Endpoint("/v1/images/edits", "prompt", model_required=False),
        Endpoint("/v1/videos", "prompt", model_required=False),
    )
}
DEFAULT_ENDPOINT = "/v1/chat/completions"
#: Endpoints whose prompt may be a list of chat messages.
MESSAGE_ENDPOINTS = frozenset({"/v1/chat/completions", "/v1/responses"})

MAX_LINES = 50_000  # requests per batch
MAX_BYTES = 200 * 1024 * 1024  # one batch input file
MAX_EMBEDDING_INPUTS = 50_000  # inputs across all lines of an embeddings batch
METADATA_MAX_PAIRS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512
EXPIRY_MIN_SECONDS = 3_600  # expires_after / output_expires_after seconds
EXPIRY_MAX_SECONDS = 2_592_000
FILE_LIFETIME_SECONDS = 30 * 86_400  # batch input files, and output files by default
COMPLETION_WINDOWS = ("24h",)
LIST_BATCHES_MAX = 100  # the largest page of GET /batches

STATUSES = ("validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
CANCELLABLE = frozenset({"validating", "in_progress", "finalizing"})

#: Models the bundled fake reserves to fail chosen lines (`fake-error-429` answers 429); only the offline
#: client exempts them from the one-model-per-batch rule.
FAKE_ERROR_PREFIX = "fake-error-"

#: Metadata keys batches_ext sets itself start with this (views hide them; users may not set them).
RESERVED_METADATA_PREFIX = "batches_ext_"
#: The metadata key of a create's intent: a unique tag per `create_batch` call, so a retry whose first answer
#: was lost finds the batch that attempt made instead of creating a second one. One of the 16 pairs.
INTENT_KEY = "batches_ext_intent"
