"""Answers of the other endpoints: embeddings, moderations, image generations and edits, videos."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
from typing import Any

from .. import tokens
from .shared import BuilderError

__all__ = ["embeddings", "moderations", "images", "videos"]

_DEFAULT_DIMENSIONS = 8
_MAX_DIMENSIONS = 4096
_MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
# A valid 1x1 transparent PNG.
_PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def _unit_vector(seed_text: str, dimensions: int) -> list[float]:
    rng = random.Random(hashlib.sha256(seed_text.encode("utf-8", "surrogatepass")).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 8) for v in values]


def embeddings(body: dict, digest: str, created: int) -> dict:
    dimensions = body.get("dimensions", _DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= _MAX_DIMENSIONS:
        raise BuilderError(f"Invalid value for 'dimensions': expected an integer between 1 and {_MAX_DIMENSIONS}.",
                           "dimensions", "invalid_value")
    as_base64 = body.get("encoding_format") == "base64"
    data, used = [], 0
    for index, item in enumerate(tokens.as_list(body.get("input"))):
        text = tokens.input_text(item)
        used += len(item) if isinstance(item, list) else max(1, tokens.count(text))
        vector: Any = _unit_vector(text, dimensions)
        if as_base64:
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {"object": "list", "data": data, "model": body.get("model"),
            "usage": {"prompt_tokens": used, "total_tokens": used}}


def _digest(*parts: Any) -> str:
    try:
        text = json.dumps(parts, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def moderations(body: dict, digest: str, created: int) -> dict:
    value = body.get("input")
    # A list of content-part objects (text + images) is one multimodal input; a list of strings is many.
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        inputs: list = [value]
    else:
        inputs = tokens.as_list(value)
    results = []
    for item in inputs:
        rng = random.Random(_digest("moderation", item))
        results.append({
            "flagged": False,
            "categories": dict.fromkeys(_MODERATION_CATEGORIES, False),
            "category_scores": {name: round(rng.uniform(0.0, 0.001), 8) for name in _MODERATION_CATEGORIES},
            "category_applied_input_types": {name: ["text"] for name in _MODERATION_CATEGORIES},
        })
    return {"id": f"modr-{digest[:32]}", "model": body.get("model") or "omni-moderation-latest", "results": results}


def images(body: dict, digest: str, created: int) -> dict:
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        raise BuilderError("Invalid value for 'n': expected an integer between 1 and 10.", "n", "invalid_value")
    prompt_tokens = max(1, tokens.count(tokens.input_text(body.get("prompt", ""))))
    return {
        "created": created,
        "data": [{"b64_json": _PNG_1X1} for _ in range(n)],
        "usage": {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
            "output_tokens": 16 * n,
            "total_tokens": prompt_tokens + 16 * n,
        },
    }


def videos(body: dict, digest: str, created: int) -> dict:
    """A finished video job (the spec's VideoResource); the fake renders no video."""
    prompt, size, seconds = body.get("prompt"), body.get("size"), body.get("seconds")
    return {
        "id": f"video_{digest[:32]}",
        "object": "video",
        "model": body.get("model") or "sora-2",
        "status": "completed",
        "progress": 100,
        "created_at": created,
        "completed_at": created,
        "expires_at": None,
        "prompt": prompt if isinstance(prompt, str) else None,
        "size": size if isinstance(size, str) else "720x1280",
        "seconds": seconds if isinstance(seconds, str) else "4",
        "remixed_from_video_id": None,
        "error": None,
    }
