"""plan_job: parts of at most `batch_size` lines, within the API's limits and the token budget per part, each with
its token estimate and output cap; a line larger than the budget alone is refused before anything is sent."""

from __future__ import annotations

import pytest

from batches_ext.errors import InputError
from batches_ext.jobs import plan_job, token_limit_for
from batches_ext.jsonl import build_requests, dumps_jsonl


def lines(n: int, **body) -> list[dict]:
    return build_requests([f"Prompt number {i}" for i in range(1, n + 1)], model="gpt-4o-mini", **body)


def test_batch_size_splits_into_consecutive_parts_with_their_estimates() -> None:
    plan = plan_job(lines(7, max_tokens=10), batch_size=3)
    assert [(p.index, p.lines, p.first_line) for p in plan.parts] == [(1, 3, 1), (2, 3, 4), (3, 1, 7)]
    assert [p.output_cap for p in plan.parts] == [30, 30, 10]
    data = dumps_jsonl(lines(7, max_tokens=10))
    assert b"".join(data[p.start:p.end] for p in plan.parts) == data and sum(p.bytes for p in plan.parts) == len(data)
    assert plan.estimate.input_tokens == sum(p.tokens for p in plan.parts) and plan.estimate.parts == 3


def test_a_part_never_holds_more_tokens_than_the_budget() -> None:
    one = plan_job(lines(1)).parts[0].tokens
    plan = plan_job(lines(10), max_enqueued_tokens={"gpt-4o-mini": 3 * one})
    assert [p.lines for p in plan.parts] == [3, 3, 3, 1] and all(p.tokens <= 3 * one for p in plan.parts)
    with pytest.raises(InputError, match=r"line 1: about \d+ input tokens, more than max_enqueued_tokens \(5\)"):
        plan_job(lines(2), max_enqueued_tokens=5)
    with pytest.raises(InputError, match="batch_size: expected a whole number of lines of at least 1, got 0"):
        plan_job(lines(2), batch_size=0)


def test_the_budget_of_a_model_by_name_prefix_or_star() -> None:
    budget = {"gpt-4o": 10, "gpt-4o-mini": 20, "*": 5}
    assert token_limit_for(budget, "gpt-4o-mini-2024-07-18") == 20 and token_limit_for(budget, "gpt-4o") == 10
    assert token_limit_for(budget, "o3") == 5 and token_limit_for({"gpt-4o": 1}, "o3") is None
    assert token_limit_for(7, None) == 7 and token_limit_for(None, "x") is None


def test_a_budget_for_a_model_covers_its_snapshots_not_its_siblings() -> None:
    assert token_limit_for({"gpt-4o": 100}, "gpt-4o-mini") is None
    assert token_limit_for({"gpt-4o": 100, "*": 7}, "gpt-4o-mini") == 7
    assert token_limit_for({"gpt-4o": 100}, "gpt-4o-2024-08-06") == 100
    assert token_limit_for({"gpt-4": 100}, "gpt-4-0613") == 100 and token_limit_for({"gpt-4": 100}, "gpt-4o") is None
    assert token_limit_for({"gpt-3.5-turbo": 9}, "gpt-3.5-turbo-16k") is None
    assert token_limit_for({"gpt-5": 9}, "gpt-5-pro") is None and token_limit_for({"o3": 9}, "o3-pro") is None
    with pytest.raises(InputError, match="max_enqueued_tokens"):
        token_limit_for({"x": -1}, "x")
