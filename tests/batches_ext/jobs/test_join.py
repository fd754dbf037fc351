"""results(): every input's outcome joined by custom_id, over both error shapes, partial results of expired and
cancelled batches, and lines a failed batch never ran.
"""

from __future__ import annotations

import pytest

from batches_ext import render
from batches_ext.client import BatchesClient
from batches_ext.errors import JobError
from batches_ext.jobs import results, retry_failed, submit, wait
from fake_server import FakeBatchesAPI

from .conftest import ids, prompts


def test_response_filled_error_lines(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(6))
    wait(client, job, sleep=fake.advance)
    res = results(client, job)
    assert ids(res) == [f"request-{i}" for i in range(1, 7)]
    assert [r.custom_id for r in res.errors] == ["request-2", "request-5"]
    bad = res[1]
    assert (bad.status, bad.status_code, bad.error_code, bad.error_message) == (
        "error", 400, "invalid_request", "This request is bad.")
    assert bad.body["error"]["param"] == "messages"


def test_reserved_error_model_fails_every_line(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    # One model per batch: the reserved model "fake-error-400" has to be the whole file's model.
    job = submit(client, [{"model": "fake-error-400", "messages": [{"role": "user", "content": "x"}]}] * 3)
    [batch] = wait(client, job, sleep=fake.advance)
    assert batch.status == "completed" and batch.request_counts.failed == 3 and batch.output_file_id is None
    res = results(client, job)
    assert [(r.status, r.status_code, r.error_code) for r in res] == [("error", 400, "invalid_request")] * 3


def test_expired_batch_gives_partial_results(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(10))
    batch_id = job.batch_ids[0]
    fake.advance_until(batch_id, "in_progress")
    fake.advance(20)  # a few lines done (5 s each)
    fake.expire(batch_id)
    [batch] = wait(client, job, sleep=fake.advance)
    assert batch.status == "expired"
    res = results(client, job)
    assert ids(res) == [f"request-{i}" for i in range(1, 11)]
    statuses = {r.status for r in res}
    assert "expired" in statuses and "ok" in statuses
    expired = res.where("expired")
    assert all(r.error_code == "batch_expired" and r.status_code is None and r.body is None for r in expired)
    assert len(res.ok) + len(res.where("error")) + len(expired) == 10


def test_cancelled_batch_gives_partial_results(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(10))
    batch_id = job.batch_ids[0]
    fake.advance_until(batch_id, "in_progress")
    fake.advance(20)
    client.cancel_batch(batch_id)
    with pytest.raises(JobError, match="still cancelling"):
        results(client, job)
    assert wait(client, batch_id, sleep=fake.advance).status == "cancelled"
    res = results(client, job)
    assert ids(res) == [f"request-{i}" for i in range(1, 11)]
    done = [r for r in res if r.status in ("ok", "error")]
    assert 0 < len(done) < 10
    assert all(r.status == "cancelled" and r.input is not None for r in res if r not in done)


def test_failed_validation_marks_lines_not_run(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(3)
    lines[1]["body"]["stream"] = True
    file_id = fake.upload(lines)["id"]
    batch = fake.create_batch(file_id)
    assert wait(client, batch["id"], sleep=fake.advance).status == "failed"
    res = results(client, batch["id"])
    assert [r.status for r in res] == ["not_run"] * 3
    assert res[1].error_code == "streaming_unsupported"
    with pytest.raises(JobError, match="failed validation"):
        retry_failed(client, batch["id"])


def test_an_expired_output_file_is_said_to_have_expired_and_when(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(3), output_expires_after=3600)
    [batch] = wait(client, job)
    fake.advance(2 * 3600)
    with pytest.raises(JobError) as caught:
        results(client, job)
    expires = render.utc_text(batch.finished_at + 3600)
    assert str(caught.value) == (f"the output file {batch.output_file_id} of {batch.id} has expired: output files "
                                 f"are kept 1 hour after the batch ends, so it expired at {expires} (or was "
                                 f"deleted); its results are gone with it")


def test_a_jobs_batch_by_id_says_when_its_output_expired_from_the_journal(fake: FakeBatchesAPI,
                                                                          client: BatchesClient) -> None:
    """results(client, batch_id) used to assume 30 days ("expired at <a month later>") for a 1-hour output."""
    job = submit(client, prompts(3), output_expires_after=3600)
    [batch] = wait(client, job)
    fake.advance(2 * 3600)
    with pytest.raises(JobError) as caught:
        results(client, batch.id)
    expires = render.utc_text(batch.finished_at + 3600)
    assert f"output files are kept 1 hour after the batch ends, so it expired at {expires}" in str(caught.value)


def test_an_expired_output_of_a_batch_nobody_recorded_is_gone_without_a_date(fake: FakeBatchesAPI,
                                                                             client: BatchesClient) -> None:
    job = submit(client, prompts(3), output_expires_after=3600, journal=False)
    [batch] = wait(client, job)
    fake.advance(2 * 3600)
    with pytest.raises(JobError) as caught:
        results(client, batch.id)
    assert str(caught.value) == (f"the output file {batch.output_file_id} of {batch.id} is gone (expired or "
                                 f"deleted); its results are gone with it")


def test_an_expired_input_file_says_when_and_what_to_pass(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(2)
    job = submit(client, lines, expires_after=3600)
    wait(client, job)
    fake.advance(2 * 3600)
    with pytest.raises(JobError, match=r"input files are kept 1 hour: it expired at .*\); pass the request lines .*"
                                      r"results\(client, job, inputs=\.\.\.\)"):
        results(client, job)
    assert [r.custom_id for r in results(client, job, inputs=lines)] == ["request-1", "request-2"]


def test_a_job_with_parts_still_to_create_is_not_finished(client: BatchesClient) -> None:
    job = submit(client, prompts(4), batch_size=2, max_enqueued_tokens=20)
    with pytest.raises(JobError, match=r"is not finished \(2 parts of 2: 1 validating, 1 pending\): wait\(client, job\)"):
        results(client, job)
