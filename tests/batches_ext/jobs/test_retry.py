"""retry_failed(): a new job from the failed and expired lines only, for one batch and for a split job; the lines
of parts whose input never reached the server (a submit killed mid-upload) or whose input files expired: results()
says how many are missing and why (or gives them as not_run rows from inputs=), and retry_failed(..., inputs=) runs
them.
"""

from __future__ import annotations

import json

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesWarning, JobError
from batches_ext.jobs import RETRY_KEY, Job, list_jobs, results, retry_failed, submit, wait
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


def killed_at_part(client: BatchesClient, lines: list[dict], part: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """Submit `lines` in parts of 2, with a Ctrl-C during the upload of `part`; the job's id."""
    real = client.upload_file
    calls = {"n": 0}

    def upload(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == part:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "upload_file", upload)
    with pytest.raises(KeyboardInterrupt):
        submit(client, lines, batch_size=2)
    monkeypatch.setattr(client, "upload_file", real)
    [record] = list_jobs()
    return record.id


def sent_ids(fake: FakeBatchesAPI, job: Job) -> list[str]:
    out = []
    for batch_id in job.batch_ids:
        content = fake.file_content(fake.batch(batch_id)["input_file_id"])
        out.extend(json.loads(x)["custom_id"] for x in content.splitlines())
    return out


def test_a_job_killed_mid_submit_says_what_is_missing_and_retry_runs_it(
        fake: FakeBatchesAPI, client: BatchesClient, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = prompts(10)
    job_id = killed_at_part(client, lines, 5, monkeypatch)
    job = Job.load(job_id, client)  # a fresh load, as after a restart
    with pytest.warns(BatchesWarning, match=r"2 lines \(part 5/5\) are missing"):  # the wait ends saying so
        wait(client, job, sleep=fake.advance)
    with pytest.warns(BatchesWarning, match=r"2 lines \(part 5/5\) are missing: their input was never uploaded.*"
                                            r"results\(client, job, inputs=") as caught:
        res = results(client, job)
    assert len(res) == 8 and len(caught) == 1
    with pytest.raises(JobError, match=r"2 lines \(part 5/5\).*never uploaded.*retry_failed\(client, job, inputs="):
        retry_failed(client, job, statuses=())

    full = results(client, job, inputs=lines)
    assert ids(full) == [x["custom_id"] for x in lines]
    assert [(r.status, r.error_message) for r in full[8:]] == [("not_run", "its input was never uploaded")] * 2

    retry = retry_failed(client, job, statuses=(), inputs=lines)
    assert sent_ids(fake, retry) == ["request-9", "request-10"]
    wait(client, retry, sleep=fake.advance)
    assert [r.status for r in results(client, retry)] == ["ok", "ok"]


def test_retry_of_a_job_whose_inputs_expired_takes_the_lines(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(6)
    job = submit(client, lines, batch_size=3, expires_after=3600)
    wait(client, job, sleep=fake.advance)
    fake.advance(2 * 3600)
    with pytest.raises(JobError, match=r"retry_failed\(client, job, inputs=\.\.\.\)"):
        retry_failed(client, job)
    retry = retry_failed(client, job, inputs=lines)
    assert sent_ids(fake, retry) == ["request-2", "request-5"]  # the lines the fake fails
    res = results(client, job, inputs=lines)
    with pytest.raises(JobError, match=rf"{job.id} was already retried by {retry.id} \(2 lines.*again=True"):
        retry_failed(client, res)  # a notebook cell run twice does not pay twice
    again = retry_failed(client, res, again=True)  # a Results is a target too
    assert sent_ids(fake, again) == ["request-2", "request-5"] and again.retry_of == job.id
