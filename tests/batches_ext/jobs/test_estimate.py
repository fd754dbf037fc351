"""Cost before and after: the estimate (requests, input tokens, exact or not, output cap, a price range with the
table's date) and the spend from each batch's usage, per batch and per job, equal to a hand computation from the
price table and the fake's usage; a model with no price says so."""

from __future__ import annotations

import sys

import pytest

from batches_ext import render, tokens
from batches_ext.client import BatchesClient
from batches_ext.jobs import Job, jobs, plan_job, results, submit, wait
from batches_ext.jsonl import build_requests
from batches_ext.pricing import BATCH_PRICES, PRICES_AS_OF
from fake_server import FakeBatchesAPI, ManualClock

MODEL = "gpt-4o-mini"
PROMPTS = ["Name a colour.", "Name a fruit.", "Name a planet.", "Name a river.", "Name a poet."]


def test_the_estimate_counts_exact_tokens_caps_output_and_prices_the_range() -> None:
    bpe = pytest.importorskip("bpe_openai")
    lines = build_requests(PROMPTS, model=MODEL, system="Answer in one word.", max_tokens=20)
    est = plan_job(lines, batch_size=2).estimate
    encode = bpe.encoding_for_model(MODEL).encode
    by_hand = sum(3 + len(encode("Answer in one word.")) + 3 + len(encode(p)) + 3 for p in PROMPTS)
    assert (est.requests, est.input_tokens, est.exact, est.output_cap, est.parts) == (5, by_hand, True, 100, 3)
    price = BATCH_PRICES[MODEL]
    low, high = est.cost
    assert low == pytest.approx(by_hand * price.input / 1e6)
    assert high == pytest.approx((by_hand * price.input + 100 * price.output) / 1e6)
    text = str(est)
    assert f"input tokens {by_hand} (exact)" in text and "at most 100 tokens" in text and PRICES_AS_OF in text
    assert f"{render.usd(low)} to {render.usd(high)}" in text


def test_without_a_tokenizer_or_a_cap_or_a_price_the_estimate_says_so(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "bpe_openai", None)
    tokens._encoder.cache_clear()
    try:
        est = plan_job(build_requests(["x" * 40], model=MODEL)).estimate
    finally:
        tokens._encoder.cache_clear()
    assert not est.exact and "estimated" in str(est) and "not capped (1 line set no max_tokens)" in str(est)
    assert "no upper bound" in str(est) and est.cost[1] is None
    unknown = plan_job(build_requests(["hi"], model="my-finetune")).estimate
    assert unknown.cost is None and "no batch price known for 'my-finetune'" in str(unknown)


def test_not_capped_counts_the_lines_without_a_cap_not_every_line_of_their_parts() -> None:
    lines = build_requests([f"Prompt {i}" for i in range(10)], model=MODEL)
    for line in lines[::3][:4]:  # lines 1, 4, 7, 10 set a cap: every part of 3 mixes capped and uncapped lines
        line["body"]["max_tokens"] = 5
    plan = plan_job(lines, batch_size=3)
    assert [p.uncapped for p in plan.parts] == [2, 2, 2, 0] and plan.estimate.uncapped == 6
    assert "not capped (6 lines set no max_tokens)" in str(plan.estimate)
    client = BatchesClient.offline(FakeBatchesAPI(clock=ManualClock()))
    job = submit(client, lines, batch_size=3, journal=False)
    assert "not capped (6 lines set no max_tokens)" in str(job.estimate())


def test_spend_per_batch_and_per_job_is_the_fakes_usage_at_the_table_price() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake)
    job = submit(client, build_requests(PROMPTS, model=MODEL, max_tokens=3), batch_size=2)
    wait(client, job)
    price = BATCH_PRICES[MODEL]
    by_batch = {}
    for b in fake.batches():
        usage = b["usage"]
        cached = usage["input_tokens_details"]["cached_tokens"]
        by_batch[b["id"]] = ((usage["input_tokens"] - cached) * price.input + cached * price.cached_input
                             + usage["output_tokens"] * price.output) / 1e6
    assert all(v > 0 for v in by_batch.values())
    for batch in job.batches.values():
        assert render.spend_usd(batch) == pytest.approx(by_batch[batch.id])
    assert job.spend == pytest.approx(sum(by_batch.values()))
    res = results(client, job)
    assert res.spend == pytest.approx(sum(by_batch.values()))
    assert f"spend {render.usd(res.spend)} ({MODEL} batch prices of {PRICES_AS_OF})" in str(res)
    assert render.usd(res.spend) in res._repr_html_()
    listed = jobs()  # what %batches jobs shows, from the journal alone
    assert listed[0].id == job.id and listed[0].spend == pytest.approx(job.spend)
    assert render.usd(job.spend) in repr(listed)
    assert Job.load(job.id).spend == pytest.approx(job.spend)


def test_usd_reads_small_amounts_to_two_significant_digits() -> None:
    assert [render.usd(x) for x in (0, 0.0000047, 0.00123, 0.0199, 12345.678, None)] == [
        "$0.00", "$0.0000047", "$0.0012", "$0.02", "$12,345.68", "—"]


def test_a_batch_that_ran_without_reporting_usage_has_no_spend_not_zero() -> None:
    from batches_ext.models import Batch

    old = Batch.from_dict({"id": "batch_old", "status": "completed", "model": MODEL, "usage": None,
                           "request_counts": {"total": 3, "completed": 3, "failed": 0}})
    waiting = Batch.from_dict({"id": "batch_new", "status": "validating", "model": MODEL, "usage": None,
                               "request_counts": {"total": 0, "completed": 0, "failed": 0}})
    assert render.spend_usd(old) is None and render.spend_text(old) == "—"  # created before usage was reported
    assert render.spend_usd(waiting) == 0.0 and render.spend_text(waiting) == "$0.00"
    from batches_ext.jobs import Results

    assert Results([], [old]).spend is None and Results([], [waiting]).spend == 0.0


def test_results_say_why_there_is_no_spend() -> None:
    from batches_ext.jobs import Results
    from batches_ext.models import Batch

    mine = Batch.from_dict({"id": "b", "status": "completed", "model": "my-finetune",
                            "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
                            "request_counts": {"total": 1, "completed": 1, "failed": 0}})
    assert "spend unknown: no batch price known for 'my-finetune'" in str(Results([], [mine]))
