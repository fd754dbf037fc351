"""submit: preflight before any upload, a path / bytes / prompts, one batch or a split into parts within the
limits; the whole round trip to joined results on the fake.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import InputError
from batches_ext.jobs import JOB_KEY, PART_KEY, Job, find_job, results, submit, wait
from batches_ext.jsonl import dumps_jsonl, write_jsonl
from batches_ext.models import Batch
from batches_ext.spec import INTENT_KEY
from fake_server import FakeBatchesAPI

from .conftest import ids, prompts


def test_build_submit_wait_results_in_input_order(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(20)
    job = submit(client, lines, metadata={"run": "7"})
    assert isinstance(job, Job) and len(job.batch_ids) == 1 and job.lines == 20
    [created] = fake.batches()
    intent = created["metadata"].pop(INTENT_KEY)
    assert created["metadata"] == {"run": "7", JOB_KEY: job.id, PART_KEY: "1/1"} and len(intent) == 32
    assert dumps_jsonl(lines) == fake.file_content(created["input_file_id"])

    updates: list[str] = []
    [batch] = wait(client, job, on_update=lambda b: updates.append(b.status), sleep=fake.advance)
    assert batch.status == "completed"
    assert updates[0] == "validating" and updates[-1] == "completed" and "in_progress" in updates

    output = [json.loads(x)["custom_id"] for x in fake.file_content(batch.output_file_id).splitlines()]
    assert output != sorted(output, key=lambda c: int(c.split("-")[1]))  # the fake shuffles its output
    res = results(client, job)
    assert ids(res) == [x["custom_id"] for x in lines]
    assert [r.input for r in res] == lines
    assert res[0].status == "ok" and res[0].text == "Echo: Prompt 1" and res[0].batch_id == batch.id
    assert res.batches[0].id == batch.id


def test_single_batch_targets_return_a_batch(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(3))
    batch = wait(client, job.batch_ids[0], sleep=fake.advance)
    assert isinstance(batch, Batch) and batch.status == "completed"
    assert wait(client, batch, sleep=fake.advance).id == batch.id
    assert ids(results(client, batch)) == ["request-1", "request-2", "request-3"]
    assert repr(job).startswith(f"<Job {job.id}: 1 batch (") and job.id in job._repr_html_()


def test_submit_takes_a_path_bytes_or_prompts(fake: FakeBatchesAPI, client: BatchesClient, tmp_path) -> None:
    lines = prompts(3)
    path = write_jsonl(lines, tmp_path / "mine.jsonl")
    for source in (path, str(path), dumps_jsonl(lines)):
        job = submit(client, source)
        assert fake.file_content(fake.batch(job.batch_ids[0])["input_file_id"]) == dumps_jsonl(lines)
    job = submit(client, ["a", "b"], model="gpt-4o-mini")
    assert fake.batch(job.batch_ids[0])["model"] == "gpt-4o-mini"
    names = {f["filename"] for f in fake.files()}
    assert len([n for n in names if re.fullmatch(r"mine\.[0-9a-f]{8}\.jsonl", n)]) == 2  # the path, twice


def test_preflight_blocks_bad_input_before_any_upload(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(3)
    lines[2]["custom_id"] = "request-1"
    with pytest.raises(InputError, match="line 3: duplicate custom_id 'request-1'"):
        submit(client, lines)
    with pytest.raises(InputError, match="model 'gpt-4o-mini', not 'other'"):
        submit(client, prompts(2), model="other")
    for reserved in (JOB_KEY, PART_KEY, INTENT_KEY):
        with pytest.raises(InputError, match="set by batches_ext"):
            submit(client, prompts(2), metadata={reserved: "x"})
    with pytest.raises(InputError, match="at most 13 keys"):  # 16 less the job, part and intent tags
        submit(client, prompts(2), metadata={f"k{i}": "v" for i in range(14)})
    assert fake.files() == [] and fake.batches() == []


def test_thirteen_user_pairs_fill_the_api_s_sixteen(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(2), metadata={f"k{i}": "v" for i in range(13)})
    meta = fake.batch(job.batch_ids[0])["metadata"]
    assert len(meta) == 16 and {JOB_KEY, PART_KEY, INTENT_KEY} <= set(meta)
    assert find_job(client, job.id).metadata == {f"k{i}": "v" for i in range(13)}  # our tags are not the user's


def test_split_by_lines_into_parts_each_within_the_limit(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(2500)
    job = submit(client, lines, max_lines=1000, metadata={"team": "a"})
    assert len(job.batch_ids) == 3
    assert [(p.index, p.lines, p.first_line) for p in job.parts] == [(1, 1000, 1), (2, 1000, 1001), (3, 500, 2001)]
    for part in job.parts:
        batch = fake.batch(part.batch_id)
        assert batch["metadata"].pop(INTENT_KEY)
        assert batch["metadata"] == {"team": "a", JOB_KEY: job.id, PART_KEY: f"{part.index}/3"}
        content = fake.file_content(batch["input_file_id"])
        assert content.count(b"\n") == part.lines and len(content) == part.bytes
    assert b"".join(fake.file_content(p.input_file_id) for p in job.parts) == dumps_jsonl(lines)

    final = wait(client, job, sleep=fake.advance, poll_interval=600)
    assert [b.status for b in final] == ["completed"] * 3
    res = results(client, job)
    assert ids(res) == [x["custom_id"] for x in lines]
    assert {r.batch_id for r in res[:1000]} == {job.batch_ids[0]} and res[2499].batch_id == job.batch_ids[2]
    assert [r.custom_id for r in res.errors] == ["request-2", "request-5"]
    # explicit inputs give the same table without re-reading the input files
    assert results(client, job, inputs=lines) == res
    assert find_job(client, job.id).batch_ids == job.batch_ids  # rebuilt from the batches' metadata


def test_split_by_bytes_streams_from_a_path(fake: FakeBatchesAPI, client: BatchesClient, tmp_path) -> None:
    lines = prompts(300)
    path = write_jsonl(lines, tmp_path / "in.jsonl")
    limit = 10_000
    job = submit(client, path, max_bytes=limit)
    assert len(job.batch_ids) > 1
    assert all(p.bytes <= limit for p in job.parts)
    assert sum(p.lines for p in job.parts) == 300
    assert b"".join(fake.file_content(p.input_file_id) for p in job.parts) == path.read_bytes()
    assert list(tmp_path.iterdir()) == [path]


def test_a_real_split_past_50000_lines(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    data = b"".join(
        b'{"custom_id":"%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini",'
        b'"messages":[{"role":"user","content":"Hi"}]}}\n' % i
        for i in range(50_001)
    )
    job = submit(client, data)
    assert [(p.lines, p.first_line) for p in job.parts] == [(50_000, 1), (1, 50_001)]
    assert [fake.batch(b)["metadata"][PART_KEY] for b in job.batch_ids] == ["1/2", "2/2"]
    final = wait(client, job, sleep=fake.advance, poll_interval=3600)
    assert [(b.status, b.request_counts.total) for b in final] == [("completed", 50_000), ("completed", 1)]


def test_offline_submit_lets_fake_error_models_fail_chosen_lines(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    lines = prompts(3)
    lines[1]["body"]["model"] = "fake-error-500"
    job = submit(client, lines)
    fake.advance_until(job.batch_ids[0], "completed")
    assert [row.status for row in results(client, job)] == ["ok", "error", "ok"]
    online = BatchesClient(api_key="sk-x", session=fake.requests_session())  # not offline: the real API's rule
    with pytest.raises(InputError, match="mismatched_model|one model per batch"):
        submit(online, lines)


def test_every_part_is_uploaded_at_submit_and_kept_in_the_journal(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    from batches_ext.jobs import Job, default_journal

    job = submit(client, prompts(6), batch_size=2, max_enqueued_tokens=20, expires_after=7 * 86400,
                 output_expires_after={"anchor": "created_at", "seconds": 3 * 86400})
    files = [f for f in fake.files() if f["purpose"] == "batch"]
    assert len(files) == 3 and len(fake.batches()) == 1  # every input uploaded; one batch fits the budget
    assert all(f["expires_at"] == f["created_at"] + 7 * 86400 for f in files)
    kept = default_journal().get(job.id)
    assert [p.input_file_id for p in kept.parts] == [p.input_file_id for p in job.parts]
    assert kept.options["output_expires_after"] == {"anchor": "created_at", "seconds": 3 * 86400}
    assert Job.load(job.id).lines == 6 and submit(client, prompts(1), journal=False).journal is None


def test_a_failed_upload_leaves_nothing_behind(fake: FakeBatchesAPI, client: BatchesClient, monkeypatch) -> None:
    from batches_ext.errors import APIConnectionError, JobError
    from batches_ext.jobs import jobs

    upload, calls = client.upload_file, []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the second part's upload fails after the client's own retries
            raise APIConnectionError("cannot connect to https://api.test/v1: connection refused")
        return upload(*args, **kwargs)

    monkeypatch.setattr(client, "upload_file", flaky)
    with pytest.raises(JobError, match=r"part 2/3 of job_\w+ could not be uploaded .*nothing was created \(the 1 "):
        submit(client, prompts(6), batch_size=2)
    assert fake.files() == [] and fake.batches() == [] and len(jobs()) == 0


@pytest.mark.parametrize("budget, expires, warned", [
    (None, None, False),
    (20, 3600, True),  # parts run in waves of up to 24 h; the inputs expire after an hour
    (20, 30 * 86400, False),
])
def test_a_warning_when_the_inputs_may_expire_before_the_last_part(client: BatchesClient, budget, expires,
                                                                   warned) -> None:
    from batches_ext.errors import BatchesWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        job = submit(client, prompts(6), batch_size=2, max_enqueued_tokens=budget, expires_after=expires)
    texts = [str(w.message) for w in seen if issubclass(w.category, BatchesWarning)]
    assert bool(texts) == warned and bool(job.warnings) == warned
    if warned:
        assert texts[0].startswith("the input files expire 1 hour after upload, but with max_enqueued_tokens 20 "
                                   "its 3 parts run in 3 waves of up to 24 h")
        assert "! the input files expire" in str(job)
