"""retry_failed(): a new job from the failed and expired lines only, for one batch and for a split job.
"""

from __future__ import annotations

import json

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import JobError
from batches_ext.jobs import RETRY_KEY, results, retry_failed, submit, wait
from fake_server import FakeBatchesAPI

from .conftest import FAIL_IDS, ids, prompts


def test_retry_failed_resubmits_only_failed_and_expired_lines(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(10)
    job = submit(client, lines)
    batch_id = job.batch_ids[0]
    fake.advance_until(batch_id, "in_progress")
    fake.advance(25)
    fake.expire(batch_id)
    wait(client, job, sleep=fake.advance)
    first = results(client, job)
    wanted = [r.custom_id for r in first if r.status in ("error", "expired")]
    assert wanted and len(wanted) < 10

    retry = retry_failed(client, job)
    batch = fake.batch(retry.batch_ids[0])
    assert batch["metadata"][RETRY_KEY] == batch_id and retry.retry_of == batch_id
    sent = [json.loads(x) for x in fake.file_content(batch["input_file_id"]).splitlines()]
    by_id = {x["custom_id"]: x for x in lines}
    assert [x["custom_id"] for x in sent] == wanted
    assert sent == [by_id[c] for c in wanted]  # the original request lines, same custom_ids

    wait(client, retry, sleep=fake.advance)
    again = results(client, retry)
    assert ids(again) == wanted
    assert {r.custom_id for r in again.errors} == FAIL_IDS & set(wanted)


def test_retry_failed_of_a_split_job_and_nothing_to_retry(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(12), max_lines=5)
    wait(client, job, sleep=fake.advance)
    retry = retry_failed(client, job)
    assert fake.batch(retry.batch_ids[0])["metadata"][RETRY_KEY] == job.id
    wait(client, retry, sleep=fake.advance)
    fake.responder = None  # the service recovered
    again = retry_failed(client, retry)
    wait(client, again, sleep=fake.advance)
    assert [r.status for r in results(client, again)] == ["ok", "ok"]
    with pytest.raises(JobError, match="nothing to retry"):
        retry_failed(client, again)
