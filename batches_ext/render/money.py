"""Money and estimates in words: dollars as a person reads them, a cost range with its price table's date, the
facts of an estimate, and the spend of a set of results. Pure functions of duck-typed values."""

from __future__ import annotations

import math
from typing import Any

from ..pricing import PRICES_AS_OF
from .parts import plural

__all__ = ["usd", "cost_text", "estimate_facts", "spend_line"]


def usd(value: float | None) -> str:
    """Dollars as a person reads them: `$1,234.56`, small amounts to two significant digits (`$0.0000047`),
    an em dash for unknown."""
    if value is None:
        return "—"
    if value == 0:
        return "$0.00"
    if abs(value) >= 0.01:
        return f"${value:,.2f}"
    digits = -math.floor(math.log10(abs(value))) + 1
    return f"${value:.{digits}f}"


def cost_text(est: Any) -> str:
    """`$0.12 to $0.40 (gpt-4o-mini batch prices of 2026-07-05)`; `from $0.12 ...` with no output cap; or why
    there is no figure."""
    cost = est.cost
    if cost is None:
        return (f"no batch price known for {est.model!r} (batches_ext.pricing.set_prices adds one)" if est.model
                else "no model, no price")
    low, high = cost
    span = f"{usd(low)} to {usd(high)}" if high is not None else f"from {usd(low)} (no upper bound without max_tokens)"
    return f"{span} ({est.model} batch prices of {PRICES_AS_OF})"


def estimate_facts(est: Any) -> list[tuple[str, str]]:
    """(label, text) rows: requests, input tokens (exact or estimated), output cap, cost."""
    tokens = f"{est.input_tokens:,}" + (" (exact)" if est.exact else
                                       " (estimated: ~4 characters a token; the tokens extra counts exactly)")
    if est.output_cap is None:
        cap = f"not capped ({plural(est.uncapped, 'line')} set no max_tokens)"
    else:
        cap = f"at most {est.output_cap:,} tokens"
    return [("requests", f"{est.requests:,}" + (f" in {plural(est.parts, 'batch')}" if est.parts > 1 else "")),
            ("input tokens", tokens), ("output", cap), ("cost", cost_text(est))]


def spend_line(res: Any) -> str:
    """`spend $0.0012 (gpt-4o-mini batch prices of 2026-07-05)` for results with a known price; why not for a
    model the price table does not know; '' when there are no batches or no model is named."""
    from ..pricing import price_for

    batches = list(getattr(res, "batches", None) or [])
    if not batches:
        return ""
    models = sorted({str(m) for m in (getattr(b, "model", None) for b in batches) if m})
    value = getattr(res, "spend", None)
    if value is None and not models:
        return ""
    if value is None:
        unpriced = [m for m in models if price_for(m) is None]
        if unpriced:
            return f"spend unknown: no batch price known for {', '.join(map(repr, unpriced))}"
        return "spend unknown: the API reported no usage for these batches"
    return f"spend {usd(value)} ({', '.join(models) or 'batch'} batch prices of {PRICES_AS_OF})"
