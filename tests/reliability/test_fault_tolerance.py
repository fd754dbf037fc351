"""Faults: under 429 storms, 5xx bursts and dropped connections the core still finishes every job, with
exactly one batch per job part and every input line's result joined back; the widgets keep their last
rows and say what went wrong, and recover when the faults stop.

All faults come from the fake's own `FaultPlan`, on the in-process requests door and on the loopback
server (where a dropped response is a real closed socket). Retry sleeps are recorded, not slept, so a
storm of hundreds of 429s costs milliseconds.
"""

from __future__ import annotations

import json
import random

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError
from batches_ext.jobs import results, submit, wait
from batches_ext.widgets import BatchMonitor, BatchTable
from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.conftest import bounded_or_long

KEY = "sk-faults"
RETRIES = 12  # a user expecting a flaky network raises max_retries


def _lines(n: int, tag: str) -> list[dict]:
    return [{"custom_id": f"{tag}-{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{tag} {i}"}]}}
            for i in range(n)]


def _client(fake: FakeBatchesAPI, door: str, server=None, retries: int = RETRIES) -> BatchesClient:
    if door == "loopback":
        client = BatchesClient(api_key=KEY, base_url=server.base_url, max_retries=retries)
    else:
        client = BatchesClient(api_key=KEY, session=fake.requests_session(), max_retries=retries)
    client._sleep = lambda _seconds: None  # the retry delays are computed as usual, just not slept
    return client


@pytest.fixture(params=["in-process", "loopback"])
def door(request):
    """(fake, client) on one door; the loopback server is stopped afterwards."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=3)
    if request.param == "loopback":
        with fake.serve() as server:
            yield fake, _client(fake, "loopback", server)
    else:
        yield fake, _client(fake, "in-process")


def _finish(fake: FakeBatchesAPI, client: BatchesClient, job) -> list:
    """Wait for the job with the fake's clock moving on every poll; the final batches."""
    final = wait(client, job, poll_interval=60, sleep=lambda s: fake.advance(s))
    return final if isinstance(final, list) else [final]


def _check_job(fake, client, job, lines, report, area: str) -> None:
    """One batch per part, every line answered and joined to its input in order."""
    batches = _finish(fake, client, job)
    res = results(client, job)
    tagged = [b for b in fake.batches() if (b.get("metadata") or {}).get("batches_ext_job") == job.id] \
        if len(job.batch_ids) > 1 else [b for b in fake.batches() if b["id"] in job.batch_ids]
    duplicates = len(fake.batches()) - len({b["input_file_id"] for b in fake.batches()})
    lost = len(lines) - sum(1 for row in res if row.ok)
    report.loss("faults", f"{area}: duplicate batches", max(duplicates, 0))
    report.loss("faults", f"{area}: result lines lost", lost)
    assert [b.status for b in batches] == ["completed"] * len(job.batch_ids)
    assert len(tagged) == len(job.batch_ids) and duplicates == 0
    assert [row.custom_id for row in res] == [line["custom_id"] for line in lines]
    assert all(row.ok for row in res) and [row.input for row in res] == lines


def test_429_storm_on_every_route(door, report) -> None:
    fake, client = door
    storms = [fake.faults.rate_limit(times=RETRIES - 1, retry_after=1, path=path)  # 11 429s in a row per route
              for path in ("/files$", "/batches$", "/batches/", "/content$")]
    lines = _lines(20, "storm")
    job = submit(client, lines)
    _check_job(fake, client, job, lines, report, "429 storm")
    assert [storm.hits for storm in storms] == [RETRIES - 1] * 4
    report.add("faults", "429s survived (storm)", fake.faults.fired)


def test_5xx_bursts(door, report) -> None:
    fake, client = door
    for status, path in ((500, "/files$"), (502, "/batches$"), (503, "/batches/")):
        fake.faults.fail_next(status, times=RETRIES - 1, path=path)
    fake.faults.fail_rate(0.3, status=503)
    lines = _lines(15, "burst")
    job = submit(client, lines)
    _check_job(fake, client, job, lines, report, "5xx burst")
    report.add("faults", "5xx survived (bursts + 30% rate)", fake.faults.fired)
    assert fake.faults.fired >= 3 * (RETRIES - 1)


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_dropped_responses_on_upload_and_create_make_one_batch(door, after_commit: bool, report) -> None:
    fake, client = door
    fake.faults.drop_next(times=3, method="POST", path="/files$", after_commit=after_commit)
    fake.faults.drop_next(times=3, method="POST", path="/batches$", after_commit=after_commit)
    lines = _lines(10, "drop")
    job = submit(client, lines)
    # the Idempotency-Key made each retried POST a replay: one input file, one batch
    assert len(fake.files()) == 1 and len(fake.batches()) == 1
    _check_job(fake, client, job, lines, report, f"drops {'after' if after_commit else 'before'} commit")
    report.add("faults", f"dropped connections survived ({'after' if after_commit else 'before'} commit)",
               fake.faults.fired)
    assert fake.faults.fired == 6


@pytest.mark.parametrize("jobs", bounded_or_long(6, 60))
def test_mixed_faults_many_split_jobs(jobs: int, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=5)
    with fake.serve() as server:
        client = _client(fake, "loopback", server, retries=RETRIES)
        fake.faults.fail_rate(0.15, status=500)
        fake.faults.fail_rate(0.10, status=429)
        fake.faults.add(rate=0.10, drop="after", method="POST", times=None)
        fake.faults.add(rate=0.05, drop="before", times=None)
        rng = random.Random(9)
        submitted, lost, parts = [], 0, 0
        for j in range(jobs):
            lines = _lines(rng.randint(5, 40), f"job{j}")
            job = submit(client, lines, max_lines=12)  # split into parts of at most 12 lines
            submitted.append((job, lines))
        for job, lines in submitted:
            parts += len(job.batch_ids)
            assert all(b.status == "completed" for b in _finish(fake, client, job))
            res = results(client, job)
            assert [row.custom_id for row in res] == [line["custom_id"] for line in lines]
            lost += sum(1 for row in res if not row.ok)
        fired = fake.faults.fired
        fake.faults.clear()
        held = fake.batches()
    duplicates = len(held) - parts
    report.add("faults", f"mixed run: jobs / batches / lines ({'bounded' if jobs < 10 else 'long'})",
               f"{jobs} / {parts} / {sum(len(lines) for _, lines in submitted)}")
    report.add("faults", "mixed run: faults survived (500, 429, drops)", fired)
    report.loss("faults", "mixed run: duplicate batches", duplicates)
    report.loss("faults", "mixed run: result lines lost", lost)
    assert fired > jobs and duplicates == 0 and lost == 0


def test_widgets_keep_their_rows_through_faults_and_recover(report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    seeded = [fake.seed_batch("in_progress", requests=10) for _ in range(5)]
    server = fake.serve()
    client = _client(fake, "loopback", server, retries=0)
    table = BatchTable(client, auto_refresh=False, namespace={})
    monitor = BatchMonitor(client, [b["id"] for b in seeded[:2]], auto_refresh=False, namespace={})
    try:
        rows_before, body_before = table.batch_ids, table.parts["body"].value
        monitor_before = [b.id for b in monitor.batches]
        survived = 0
        for fault in (lambda: fake.faults.fail_next(500), lambda: fake.faults.rate_limit(retry_after=1),
                      lambda: fake.faults.fail_next(503), lambda: fake.faults.drop_next()):
            for view in (table, monitor):
                fault()
                assert view.refresh() is False
                assert view.error and "refresh failed" in view.parts["error"].value
                survived += 1
            assert table.batch_ids == rows_before and table.parts["body"].value == body_before
            assert [b.id for b in monitor.batches] == monitor_before
        server.stop()  # the server is gone: connection refused
        for view in (table, monitor):
            assert view.refresh() is False and "Connection error" in view.error
            survived += 1
        assert table.batch_ids == rows_before and [b.id for b in monitor.batches] == monitor_before

        server = fake.serve()  # back (a new port): the views recover once the client points there
        fake.advance(86_400)
        for view in (table, monitor):
            view.client = _client(fake, "loopback", server, retries=0)
            assert view.refresh() is True and view.error is None
            assert view.parts["error"].value == ""
        assert {b.status for b in monitor.batches} == {"completed"} and monitor.done
        assert table.batch_ids == rows_before and "completed" in table.parts["body"].value
    finally:
        table.close()
        monitor.close()
        server.stop()
    report.add("faults", "widget refresh failures survived with rows kept", survived)
    report.loss("faults", "widget rows lost during faults", 0 if table.batch_ids == rows_before else 1)


def test_a_storm_longer_than_the_retries_is_one_clear_error(door) -> None:
    fake, client = door
    fake.faults.rate_limit(times=RETRIES + 1, retry_after=1, path="/batches$", method="POST")
    file = client.upload_file(b"".join(json.dumps(x).encode() + b"\n" for x in _lines(2, "x")))
    with pytest.raises(BatchesError) as caught:
        client.create_batch(file.id, "/v1/chat/completions")
    assert "429" in str(caught.value) and "req_" in str(caught.value)
    assert fake.batches() == []  # nothing half-made
