"""Batch prices: a dated table of what one million tokens cost through the Batch API, per model, and the spend
of a batch's `usage` (or a price range for an estimate) computed from it.

    price_for("gpt-4o-mini-2024-07-18")          # Price(input=0.075, cached_input=0.0375, output=0.3): a snapshot
    spend({"input_tokens": 1000, ...}, "gpt-4o-mini")   # dollars, from a Batch's usage
    set_prices({"my-finetune": Price(0.5, 0.25, 2.0)})  # your own prices (or corrections) win

The table is what OpenAI's pricing page showed for the Batch API on `PRICES_AS_OF` (the Batch API costs half
the synchronous price; cached input is half the synchronous cached price). Prices change: every view that shows
a cost shows that date, and `set_prices` (or `BATCHES_EXT_PRICES`, a JSON file of the same shape) overrides or
extends it. A model the table does not know has no price: the views say so instead of guessing.

A key names a model and its dated snapshots only (`model_matches`): "gpt-4o" prices `gpt-4o`,
`gpt-4o-2024-08-06` (`-YYYY-MM-DD`) and a `-MMDD` snapshot such as `gpt-3.5-turbo-0125`, never a sibling such as
`gpt-4o-mini`, `gpt-5-pro` or `gpt-3.5-turbo-16k` (those have their own entry, or no price).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = ["Price", "PRICES_AS_OF", "PRICES_SOURCE", "BATCH_PRICES", "price_for", "set_prices", "spend",
           "cost_range", "PRICES_ENV", "model_matches"]

PRICES_AS_OF = "2026-07-05"
PRICES_SOURCE = "openai.com/api/pricing (Batch API), as summarised publicly on that date; check before relying on it"
PRICES_ENV = "BATCHES_EXT_PRICES"


@dataclass(frozen=True)
class Price:
    """US dollars per 1M tokens through the Batch API: uncached input, cached input, output."""

    input: float
    cached_input: float
    output: float


#: Model -> batch price; a key also prices the model's dated snapshots (`model_matches`), so
#: "gpt-4o-mini-2024-07-18" is gpt-4o-mini, and "gpt-4o" does not price gpt-4o-mini.
BATCH_PRICES: dict[str, Price] = {
    "gpt-5": Price(0.625, 0.0625, 5.00),
    "gpt-5-mini": Price(0.125, 0.0125, 1.00),
    "gpt-5-nano": Price(0.025, 0.0025, 0.20),
    "gpt-4.1": Price(1.00, 0.25, 4.00),
    "gpt-4.1-mini": Price(0.20, 0.05, 0.80),
    "gpt-4.1-nano": Price(0.05, 0.0125, 0.20),
    "gpt-4o": Price(1.25, 0.625, 5.00),
    "gpt-4o-mini": Price(0.075, 0.0375, 0.30),
    "o3": Price(1.00, 0.25, 4.00),
    "o4-mini": Price(0.55, 0.1375, 2.20),
    "o3-mini": Price(0.55, 0.275, 2.20),
    "gpt-3.5-turbo": Price(0.25, 0.25, 0.75),
    "text-embedding-3-small": Price(0.01, 0.01, 0.0),
    "text-embedding-3-large": Price(0.065, 0.065, 0.0),
    "text-embedding-ada-002": Price(0.05, 0.05, 0.0),
    "omni-moderation": Price(0.0, 0.0, 0.0),
    "omni-moderation-latest": Price(0.0, 0.0, 0.0),
    "text-moderation-latest": Price(0.0, 0.0, 0.0),
    "text-moderation-stable": Price(0.0, 0.0, 0.0),
    "text-moderation-007": Price(0.0, 0.0, 0.0),
}

_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4})")


def model_matches(key: str, model: str) -> bool:
    """Whether a per-model table entry `key` applies to `model`: the model itself or one of its dated snapshots
    (`key-YYYY-MM-DD` as in `gpt-4o-2024-08-06`, or `key-MMDD` as in `gpt-4-0613`, `gpt-3.5-turbo-0125`). A
    sibling is not a snapshot: "gpt-4o" does not match `gpt-4o-mini`, "gpt-5" not `gpt-5-pro`, "gpt-3.5-turbo"
    not `gpt-3.5-turbo-16k`."""
    return model == key or (model.startswith(key) and _SNAPSHOT.fullmatch(model, len(key)) is not None)

_overrides: dict[str, Price] = {}
_lock = threading.Lock()
_env_loaded: str | None = None


def set_prices(prices: Mapping[str, Price | Mapping[str, float]] | None) -> None:
    """Add or correct prices (model -> Price, or {"input", "cached_input", "output"}; a key also prices the
    model's dated snapshots);
    None forgets every override. They win over the dated table."""
    with _lock:
        if prices is None:
            _overrides.clear()
            return
        _overrides.update({model: _price(model, value) for model, value in prices.items()})


def price_for(model: str | None) -> Price | None:
    """The batch price of `model` or of the model it is a dated snapshot of (`model_matches`; an override wins
    over the table), or None when no table knows it: `gpt-5-pro` has no price rather than gpt-5's."""
    if not model:
        return None
    _load_env()
    with _lock:
        for table in (_overrides, BATCH_PRICES):
            known = [name for name in table if model_matches(name, model)]
            if known:
                return table[max(known, key=len)]
    return None


def spend(usage: Mapping[str, Any] | None, model: str | None) -> float | None:
    """Dollars a batch's `usage` cost at `model`'s batch price (cached input at the cached rate); None when the
    usage or the price is unknown."""
    price = price_for(model)
    if price is None or not usage:
        return None
    input_tokens = _int(usage.get("input_tokens", usage.get("prompt_tokens")))
    output_tokens = _int(usage.get("output_tokens", usage.get("completion_tokens")))
    details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    cached = min(_int(details.get("cached_tokens") if isinstance(details, Mapping) else 0), input_tokens)
    return ((input_tokens - cached) * price.input + cached * price.cached_input + output_tokens * price.output) / 1e6


def cost_range(input_tokens: int, output_tokens_max: int | None, model: str | None,
               output_tokens_min: int = 0) -> tuple[float, float | None] | None:
    """(lowest, highest) dollars for a job before it runs: input at the uncached rate, output between
    `output_tokens_min` and the cap (`None` highest when no line caps its output); None when the price is unknown."""
    price = price_for(model)
    if price is None:
        return None
    base = input_tokens * price.input / 1e6
    low = base + output_tokens_min * price.output / 1e6
    high = None if output_tokens_max is None else base + output_tokens_max * price.output / 1e6
    return low, high


def _price(model: str, value: Price | Mapping[str, float]) -> Price:
    if isinstance(value, Price):
        return value
    try:
        return Price(float(value["input"]), float(value.get("cached_input", value["input"])), float(value["output"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"price of {model!r}: expected input, cached_input and output dollars per 1M tokens") from None


def _load_env() -> None:
    """Load `BATCHES_EXT_PRICES` (a JSON file: {model: {input, cached_input, output}}) once per path."""
    global _env_loaded
    path = os.environ.get(PRICES_ENV)
    if not path or path == _env_loaded:
        return
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            table = json.load(handle)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{PRICES_ENV}={path}: cannot read a JSON price table ({err})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{PRICES_ENV}={path}: expected an object of model -> prices")
    set_prices(table)
    _env_loaded = path


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
