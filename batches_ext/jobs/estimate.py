"""What a job will cost before it runs, and what it cost after: token estimates per line and part, and spend.

    est = plan_job("prompts.jsonl").estimate      # or job.estimate() after submit
    est.input_tokens, est.exact, est.output_cap   # 1,234 tokens (exact), output at most 5,000 tokens
    est.cost                                      # (low, high) dollars at the dated batch price table

Input tokens come from `batches_ext.tokens` (exact with the offline tokenizer bpe-openai, the `tokens` extra;
otherwise ~4 characters a token, and `exact` says so). The output cap is the sum of each line's cap
(`max_completion_tokens` / `max_tokens` / `max_output_tokens`, times `n`): a line with no cap leaves the upper
bound open. The price range runs from the input alone (no output) to the input plus every capped output token,
at `batches_ext.pricing`'s table (its date shown with every figure); a model the table does not know has no
price, and the views say so. Spend after a run is each batch's `usage` at that table (`spend_of`), summed per
job; a batch refused for `token_limit_exceeded` ran nothing and cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..jsonl import parse_json_line
from ..pricing import PRICES_AS_OF, Price, cost_range, price_for, spend
from ..tokens import TokenCounter, output_cap

__all__ = ["Estimate", "TokenTally", "spend_of", "total_spend", "ran_requests"]


@dataclass(frozen=True)
class Estimate:
    """A job's size and cost before it runs: `requests`, estimated `input_tokens` (`exact` when counted with the
    model's own tokenizer), the most output tokens its lines may produce (`output_cap`; None when `uncapped`
    lines set no cap), and the model whose batch price applies."""

    requests: int
    input_tokens: int
    exact: bool
    output_cap: int | None
    uncapped: int
    model: str | None
    endpoint: str | None = None
    parts: int = 1

    @property
    def price(self) -> Price | None:
        """The model's batch price per 1M tokens (None: the table does not know the model)."""
        return price_for(self.model)

    @property
    def cost(self) -> tuple[float, float | None] | None:
        """(lowest, highest) dollars: the input alone, and the input plus every capped output token (None:
        no cap, so no upper bound); None when the model has no price."""
        return cost_range(self.input_tokens, self.output_cap, self.model)

    @property
    def prices_as_of(self) -> str:
        """The date of the price table the cost comes from."""
        return PRICES_AS_OF

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate | None:
        try:
            return cls(**{k: data[k] for k in ("requests", "input_tokens", "exact", "output_cap", "uncapped",
                                               "model", "endpoint", "parts") if k in data})
        except TypeError:
            return None

    @classmethod
    def of_parts(cls, parts: Iterable[Any], *, exact: bool, model: str | None, endpoint: str | None) -> Estimate:
        """The estimate of a job from its parts' `lines`, `tokens`, `output_cap` (None: uncapped lines) and
        `uncapped` (how many of its lines set no cap; a part that does not know counts all its lines when its
        output is uncapped)."""
        parts = list(parts)
        caps = [p.output_cap for p in parts]
        uncapped = sum(_uncapped_lines(p) for p in parts)
        return cls(sum(p.lines for p in parts), sum(p.tokens for p in parts), exact,
                   None if any(c is None for c in caps) else sum(c for c in caps if c is not None), uncapped,
                   model, endpoint, len(parts))

    def __repr__(self) -> str:
        from ..render import estimate_repr

        return estimate_repr(self)

    def __str__(self) -> str:
        from ..render import estimate_text

        return estimate_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from ..render import pretty

        pretty(self, printer, cycle)

    def _repr_html_(self) -> str:
        from ..render import estimate_html

        return estimate_html(self)


def _uncapped_lines(part: Any) -> int:
    known = getattr(part, "uncapped", None)
    if isinstance(known, int):
        return known
    return part.lines if part.output_cap is None else 0


class TokenTally:
    """Counts request lines as they stream past: input tokens and output cap per line, for one model."""

    def __init__(self, model: str | None, endpoint: str) -> None:
        self.counter = TokenCounter(model)
        self.endpoint = endpoint

    @property
    def exact(self) -> bool:
        return self.counter.exact

    def line(self, raw: bytes | str | Mapping[str, Any]) -> tuple[int, int | None]:
        """(input tokens, output cap or None) of one request line (raw JSONL bytes or a parsed line)."""
        obj = raw if isinstance(raw, Mapping) else parse_json_line(raw)
        body = obj.get("body") if isinstance(obj, Mapping) else None
        if not isinstance(body, Mapping):
            return 0, 0
        return self.counter.input_tokens(body, self.endpoint), output_cap(body, self.endpoint)


def spend_of(usage: Mapping[str, Any] | None, model: str | None, *, ran: bool = False) -> float | None:
    """Dollars a batch's `usage` cost at `model`'s batch price; 0 for a batch that ran nothing; None when the
    price is unknown, or when requests ran (`ran`) but the API reported no usage (batches before 2025-09-07)."""
    if price_for(model) is None:
        return None
    if not usage:
        return None if ran else 0.0
    return spend(usage, model)


def total_spend(items: Iterable[tuple[Mapping[str, Any] | None, str | None, bool]]) -> float | None:
    """The sum of `spend_of(usage, model, ran=ran)` over `items` of (usage, model, ran); None when any is
    unknown."""
    total = 0.0
    for usage, model, ran in items:
        value = spend_of(usage, model, ran=ran)
        if value is None:
            return None
        total += value
    return total


def ran_requests(batch: Any) -> bool:
    """Whether a batch (or a part's last seen counts) has finished any request."""
    counts = getattr(batch, "request_counts", None)
    if counts is not None:
        return bool((counts.completed or 0) + (counts.failed or 0))
    return False
