"""Batch prices: the dated table by longest model prefix, overrides that win, spend from a batch's usage equal
to a hand computation, and price ranges for an estimate."""

from __future__ import annotations

import json

import pytest

from batches_ext import pricing
from batches_ext.errors import ConfigError
from batches_ext.pricing import Price, cost_range, price_for, set_prices, spend


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.delenv(pricing.PRICES_ENV, raising=False)
    set_prices(None)
    yield
    set_prices(None)


def test_dated_snapshots_take_their_family_price_by_the_longest_prefix() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini") == Price(0.075, 0.0375, 0.30)
    assert price_for("gpt-4o-2024-08-06") == Price(1.25, 0.625, 5.00)
    assert price_for("o3-mini-2025-01-31") == pricing.BATCH_PRICES["o3-mini"]
    assert price_for("gpt-4omni") is None and price_for("my-model") is None and price_for(None) is None


def test_a_key_prices_its_model_and_dated_snapshots_never_a_sibling() -> None:
    assert price_for("gpt-4o-mini") == pricing.BATCH_PRICES["gpt-4o-mini"] != pricing.BATCH_PRICES["gpt-4o"]
    for sibling in ("gpt-5-pro", "o3-pro", "gpt-3.5-turbo-16k", "gpt-4o-audio-preview", "gpt-5-chat-latest"):
        assert price_for(sibling) is None, sibling
    assert price_for("gpt-3.5-turbo-0125") == pricing.BATCH_PRICES["gpt-3.5-turbo"]  # a -MMDD snapshot
    assert price_for("gpt-5-2025-08-07") == pricing.BATCH_PRICES["gpt-5"]
    assert price_for("gpt-4o-2024-05-13") == pricing.BATCH_PRICES["gpt-4o"]  # the table has no entry of its own
    set_prices({"gpt-4": Price(15, 15, 30)})
    assert price_for("gpt-4-0613") == Price(15, 15, 30) and price_for("gpt-4o") == pricing.BATCH_PRICES["gpt-4o"]
    assert price_for("gpt-4-turbo") is None


def test_every_entry_of_the_table_and_its_snapshots_resolve_to_itself() -> None:
    for model, price in pricing.BATCH_PRICES.items():
        assert price_for(model) == price, model
        assert price_for(model + "-2025-01-31") == price and price_for(model + "-0613") == price, model
    assert price_for("omni-moderation-latest") == price_for("text-moderation-stable") == Price(0, 0, 0)


def test_an_estimate_of_a_sibling_model_says_no_price_instead_of_its_siblings() -> None:
    from batches_ext.jobs import plan_job
    from batches_ext.jsonl import build_requests

    est = plan_job(build_requests(["hi"], model="gpt-5-pro", max_tokens=5)).estimate
    assert est is not None and est.cost is None and "no batch price known for 'gpt-5-pro'" in str(est)


def test_spend_is_the_hand_computation_with_cached_tokens_at_the_cached_rate() -> None:
    usage = {"input_tokens": 1_000_000, "input_tokens_details": {"cached_tokens": 200_000},
             "output_tokens": 500_000, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 1_500_000}
    assert spend(usage, "gpt-4o-mini") == pytest.approx(0.8 * 0.075 + 0.2 * 0.0375 + 0.5 * 0.30)
    chat_style = {"prompt_tokens": 2_000_000, "completion_tokens": 0, "prompt_tokens_details": {"cached_tokens": 0}}
    assert spend(chat_style, "gpt-4o") == pytest.approx(2.5)
    assert spend(usage, "unknown-model") is None and spend(None, "gpt-4o") is None


def test_a_range_runs_from_no_output_to_the_cap_and_is_open_without_a_cap() -> None:
    assert cost_range(2_000_000, 1_000_000, "gpt-4o-mini") == pytest.approx((0.15, 0.45))
    low, high = cost_range(2_000_000, None, "gpt-4o-mini")
    assert low == pytest.approx(0.15) and high is None
    assert cost_range(10, 10, "nobody-knows") is None


def test_overrides_win_and_a_json_file_can_hold_them(tmp_path, monkeypatch) -> None:
    set_prices({"gpt-4o-mini": {"input": 1, "output": 2}, "my-finetune": Price(0.5, 0.25, 2.0)})
    assert price_for("gpt-4o-mini-2024-07-18") == Price(1.0, 1.0, 2.0)
    assert price_for("my-finetune") == Price(0.5, 0.25, 2.0)
    set_prices(None)
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"house-model": {"input": 3, "cached_input": 1, "output": 9}}))
    monkeypatch.setenv(pricing.PRICES_ENV, str(table))
    assert price_for("house-model") == Price(3.0, 1.0, 9.0)
    with pytest.raises(ConfigError, match="expected input, cached_input and output"):
        set_prices({"broken": {"input": "x"}})
