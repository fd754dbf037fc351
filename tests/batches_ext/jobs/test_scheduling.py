"""Quota-aware jobs on the fake with its enqueued-token quota and hourly creation limit set: every part finishes
once with no manual step — within a token budget, or learning it from `token_limit_exceeded`; a 429 defers a
part to its retry-after; a lost create, or one left by a dead kernel, is found on the server, never made twice;
two processes advancing one job create each part once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from batches_ext.client import BatchesClient
from batches_ext.jobs import (
    CLAIM_LEASE,
    JOB_KEY,
    LEARNED_BUDGET,
    MAX_ATTEMPTS,
    PART_KEY,
    Job,
    default_journal,
    plan_job,
    results,
    retry_failed,
    submit,
    wait,
)
from batches_ext.jsonl import build_requests
from fake_server import FakeBatchesAPI, ManualClock

ROOT = Path(__file__).resolve().parents[3]
MODEL = "gpt-4o-mini"


def prompts(n: int) -> list[dict]:
    return build_requests([f"Write one word about topic number {i}" for i in range(1, n + 1)], model=MODEL)


def part_tokens(lines: list[dict], batch_size: int) -> int:
    """The estimated tokens of one part (every part of these prompts is the same size)."""
    return plan_job(lines, batch_size=batch_size).parts[0].tokens


def by_part(fake: FakeBatchesAPI, job_id: str) -> dict[str, list[dict]]:
    """The fake's batches of a job, per part tag, oldest first."""
    found: dict[str, list[dict]] = {}
    for b in sorted(fake.batches(), key=lambda b: b["created_at"]):
        if (b.get("metadata") or {}).get(JOB_KEY) == job_id:
            found.setdefault(b["metadata"][PART_KEY], []).append(b)
    return found


def most_enqueued(batches: list[dict], fake_tokens: dict[str, int]) -> int:
    """The most prompt tokens (the fake's count) enqueued at once by the batches that were admitted."""
    admitted = [b for b in batches if b["status"] == "completed"]
    ends = [(b["created_at"], fake_tokens[b["id"]]) for b in admitted]
    ends += [(b["completed_at"], -fake_tokens[b["id"]]) for b in admitted]
    level = peak = 0
    for _, delta in sorted(ends, key=lambda e: (e[0], e[1])):
        level += delta
        peak = max(peak, level)
    return peak


def test_a_job_over_the_quota_finishes_every_part_once_within_its_budget() -> None:
    """24 lines in parts of 4 (6 parts) under a budget of two parts' tokens and 3 creations an hour: submit makes
    two batches, wait() makes the rest as room appears and the hour passes; the quota never refuses one."""
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={MODEL: 80}, batch_create_limit_per_hour=3)
    client = BatchesClient.offline(fake)
    lines = prompts(24)  # 7 words a line: the fake counts 28 tokens a part, so its quota of 80 takes two
    job = submit(client, lines, batch_size=4, max_enqueued_tokens=2 * part_tokens(lines, 4))
    assert [p.state for p in job.parts] == ["validating"] * 2 + ["pending"] * 4 and len(fake.batches()) == 2
    assert "pending: waits for room in the token budget" in str(job)

    final = wait(client, job, poll_interval=30)
    assert [b.status for b in final] == ["completed"] * 6 and job.finished
    parts = by_part(fake, job.id)
    assert sorted(parts) == [f"{i}/6" for i in range(1, 7)] and all(len(b) == 1 for b in parts.values())
    assert not [b for b in fake.batches() if b["status"] == "failed"]  # the quota never had to refuse one
    tokens = {b["id"]: b["usage"]["input_tokens"] for b in fake.batches()}
    assert most_enqueued(fake.batches(), tokens) <= 80
    created = sorted(b["created_at"] for b in fake.batches())
    assert created[3] >= created[0] + 3600  # the 4th create waited out the hourly limit's 429
    deferred = [p for p in job.parts if p.attempts == 2]
    assert deferred and all(p.last_error.startswith("429") for p in deferred)  # counted, and why
    res = results(client, job)
    assert [r.custom_id for r in res] == [x["custom_id"] for x in lines] and all(r.ok for r in res)


def test_without_a_budget_parts_refused_for_the_quota_are_created_again_by_themselves() -> None:
    """No budget set: all six parts are created, the quota fails four (`token_limit_exceeded`); each is created
    again by itself once the batches ahead of it end, the job learns how much fits, and nothing runs twice."""
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={MODEL: 80})
    client = BatchesClient.offline(fake)
    lines = prompts(24)
    job = submit(client, lines, batch_size=4)
    assert len(fake.batches()) == 6
    final = wait(client, job, poll_interval=30)
    assert [b.status for b in final] == ["completed"] * 6
    parts = by_part(fake, job.id)
    refused = [b for tries in parts.values() for b in tries if b["status"] == "failed"]
    assert refused and all(b["errors"]["data"][0]["code"] == "token_limit_exceeded" for b in refused)
    for tag, tries in parts.items():
        assert [b["status"] for b in tries].count("completed") == 1, tag  # never two runs of one part
        part = job.parts[int(tag.split("/")[0]) - 1]
        assert part.earlier == [b["id"] for b in tries[:-1]] and part.attempts == len(tries)
    assert 0 < job.options[LEARNED_BUDGET] < 6 * part_tokens(lines, 4)
    res = results(client, job)
    assert [r.custom_id for r in res] == [x["custom_id"] for x in lines] and all(r.ok for r in res)


def test_a_part_the_quota_never_admits_is_given_up_and_retry_takes_it() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), enqueued_token_limits={MODEL: 5})
    client = BatchesClient.offline(fake)
    job = submit(client, prompts(2), batch_size=1)
    wait(client, job, poll_interval=30)
    assert [p.state for p in job.parts] == ["failed", "failed"]
    assert all(p.attempts == MAX_ATTEMPTS for p in job.parts)
    assert "token_limit_exceeded" in job.parts[0].last_error
    res = results(client, job)
    assert [(r.status, r.error_code) for r in res] == [("not_run", "token_limit_exceeded")] * 2
    fake.backend.quota.limits[MODEL] = 1_000  # the organization's limit was raised
    again = retry_failed(client, job)  # the job's batch_size (1) carries over
    assert again.lines == 2 and [b.status for b in wait(client, again)] == ["completed"] * 2


def test_a_lost_create_is_found_on_the_server_not_made_again() -> None:
    """The create of part 2 reaches the server but its answer is lost and the client does not retry: the part is
    uncertain, and the next step finds its batch by the job and part tags instead of creating a second."""
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake, max_retries=0)
    fake.faults.drop_next(method="POST", path="/batches$", after_commit=True, times=1)
    job = submit(client, prompts(4), batch_size=2)
    assert len(fake.batches()) == 1  # made, but its answer never arrived; the step stops there
    lost = job.parts[0]
    assert lost.batch_id is None and lost.uncertain and "may have been created" in lost.last_error
    assert "its last create got no answer" in str(job)
    final = wait(client, job, poll_interval=30)
    assert len(fake.batches()) == 2 and [b.status for b in final] == ["completed"] * 2
    assert job.parts[0].batch_id == by_part(fake, job.id)["1/2"][0]["id"]


def test_a_create_left_by_a_dead_kernel_is_adopted_after_its_lease() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake)
    lines = prompts(4)
    job = submit(client, lines, batch_size=2, max_enqueued_tokens=part_tokens(lines, 2))
    first, second = job.parts
    assert second.state == "pending"
    journal = default_journal()
    made = client.create_batch(second.input_file_id, metadata={JOB_KEY: job.id, PART_KEY: "2/2"})  # it got this far
    now = client.now()
    dead = type(second)(**{**second.__dict__, "state": "submitting", "claimed_by": "host:1:dead",
                           "claimed_at": now - 2 * CLAIM_LEASE})
    assert journal.save_part(job.id, dead, expect=second)
    resumed = Job.load(job.id, client)  # another kernel picks the job up
    wait(client, resumed, poll_interval=30)
    assert [p.batch_id for p in resumed.parts] == [first.batch_id, made.id]
    assert len(fake.batches()) == 2  # adopted, not created again


ADVANCER = textwrap.dedent("""
    import json, sys
    from batches_ext.client import BatchesClient
    from batches_ext.jobs import Job
    client = BatchesClient(api_key="sk-test", base_url=sys.argv[1])
    job = Job.load(sys.argv[2])
    for _ in range(3):
        job.advance(client)
    print(json.dumps([p.batch_id for p in job.parts]))
""")


def test_two_processes_advancing_one_job_create_each_part_once() -> None:
    """Two kernels resume the same job from the journal and advance it at the same moment, against one loopback
    fake: each pending part is created once, by one of them, and both end up knowing the same batches."""
    fake = FakeBatchesAPI(clock=ManualClock())
    with fake.serve() as server:
        client = BatchesClient(api_key="sk-test", base_url=server.base_url)
        lines = prompts(16)
        job = submit(client, lines, batch_size=2, max_enqueued_tokens=part_tokens(lines, 2))  # 8 parts, 1 created
        assert len(fake.batches()) == 1
        default_journal().update_job(job.id, options={**job.options, "max_enqueued_tokens": None})
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [subprocess.Popen([sys.executable, "-c", ADVANCER, server.base_url, job.id], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1].decode()[-2000:] for o in outs]
        seen = [json.loads(out) for out, _ in outs]
        parts = by_part(fake, job.id)
        assert sorted(parts) == sorted(f"{i}/8" for i in range(1, 9)) and all(len(b) == 1 for b in parts.values())
        assert seen[0] == seen[1] == [parts[f"{i}/8"][0]["id"] for i in range(1, 9)]


def test_a_create_interrupted_by_ctrl_c_is_looked_for_at_once_not_made_twice(monkeypatch) -> None:
    """Ctrl-C lands while a create is on the wire (it reached the server): the part stays claimed by this process;
    the next wait (on the job loaded again) takes the claim back at once (no 15-minute lease), finds the batch and
    adopts it."""
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake)
    create, calls = client.create_batch, []

    def interrupted(*args, **kwargs):
        batch = create(*args, **kwargs)
        calls.append(batch.id)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return batch

    monkeypatch.setattr(client, "create_batch", interrupted)
    try:
        submit(client, prompts(4), batch_size=2)
    except KeyboardInterrupt:
        pass
    [job] = [Job.load(r.id) for r in default_journal().records()]
    assert [p.state for p in job.parts] == ["submitting", "pending"]
    resumed = Job.load(job.id, client)
    wait(client, resumed, poll_interval=30)
    assert len(fake.batches()) == 2 and resumed.parts[0].batch_id == calls[0]
