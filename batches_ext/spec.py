"""The Batch API as data, as the client sees it: endpoints, limits, statuses, and the names batches_ext reserves.

Every other module takes these values from here. fake_server keeps its own table (`fake_server.spec`): the
core never imports the fake, and tests/test_spec_agreement.py holds the two tables to each other. To add an
endpoint, add it to `ENDPOINTS` here and in `fake_server.spec`, and give the fake one responder.
Sources: docs/reference/openai-batch-api.md (sections 2, 4, 6, 7).
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
    "BATCH_CREATES_PER_HOUR",
    "BODY_PARAMETERS",
    "STATUSES",
    "TERMINAL",
    "CANCELLABLE",
    "FAKE_ERROR_PREFIX",
    "RESERVED_METADATA_PREFIX",
    "INTENT_KEY",
]


@dataclass(frozen=True)
class Endpoint:
    """One batch endpoint: its URL, the body key holding the prompt, whether each line's body must name a model,
    and whether it must carry the prompt key (Responses need not: a stored `prompt` or `instructions` alone is a
    valid request)."""

    url: str
    prompt_key: str
    model_required: bool = True
    prompt_required: bool = True


ENDPOINTS: dict[str, Endpoint] = {
    e.url: e
    for e in (
        Endpoint("/v1/responses", "input", prompt_required=False),
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
BATCH_CREATES_PER_HOUR = 2_000  # POST /batches per organization per hour, then 429 (reference section 7)

#: The request-body parameters each endpoint takes: the top-level properties of its request schema in OpenAI's
#: OpenAPI description (openai/openai-openapi openapi.json, info.version 2.3.0: CreateChatCompletionRequest,
#: CreateResponse, CreateEmbeddingRequest, CreateCompletionRequest, CreateModerationRequest, CreateImageRequest,
#: and the JSON bodies of image edits and videos), through `allOf`. `build_requests` refuses any other keyword;
#: tests/test_spec_agreement.py holds this table to the fake's vendored request schemas.
BODY_PARAMETERS: dict[str, frozenset[str]] = {
    "/v1/responses": frozenset({
        "background", "context_management", "conversation", "include", "input", "instructions", "max_output_tokens",
        "max_tool_calls", "metadata", "model", "moderation", "parallel_tool_calls", "previous_response_id",
        "prompt", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning",
        "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature", "text",
        "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user"}),
    "/v1/chat/completions": frozenset({
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model", "moderation", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
        "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options"}),
    "/v1/embeddings": frozenset({"dimensions", "encoding_format", "input", "model", "user"}),
    "/v1/completions": frozenset({
        "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "model", "n",
        "presence_penalty", "prompt", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p",
        "user"}),
    "/v1/moderations": frozenset({"input", "model"}),
    "/v1/images/generations": frozenset({
        "background", "model", "moderation", "n", "output_compression", "output_format", "partial_images", "prompt",
        "quality", "response_format", "size", "stream", "style", "user"}),
    "/v1/images/edits": frozenset({
        "background", "images", "input_fidelity", "mask", "model", "moderation", "n", "output_compression",
        "output_format", "partial_images", "prompt", "quality", "size", "stream", "user"}),
    "/v1/videos": frozenset({"input_reference", "model", "prompt", "seconds", "size"}),
}

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
