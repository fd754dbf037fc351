"""wait(): polls until terminal, backs off while nothing changes, times out with the last state, and on an
offline ManualClock client moves the fake's clock instead of sleeping.
"""

from __future__ import annotations

import re

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import WaitTimeout
from batches_ext.jobs import submit, wait
from batches_ext.models import Batch
from fake_server import FakeBatchesAPI, ManualClock

from .conftest import prompts


@pytest.fixture
def fake() -> FakeBatchesAPI:
    """Every line answers (no failing lines): these tests are about polling, not outcomes."""
    return FakeBatchesAPI(clock=ManualClock())


def test_wait_on_an_offline_manual_clock_client_moves_the_fake_clock(fake: FakeBatchesAPI,
                                                                   client: BatchesClient) -> None:
    job = submit(client, prompts(3))
    started = fake.clock.now()
    [batch] = wait(client, job)  # no sleep=: the offline client's own wait jumps the ManualClock
    assert batch.status == "completed" and fake.clock.now() > started


class ScriptedClient:
    """retrieve_batch answers from a list of (status, completed) states, the last one repeating."""

    def __init__(self, states: list[tuple[str, int]]) -> None:
        self.states = states
        self.calls = 0

    def retrieve_batch(self, batch_id: str) -> Batch:
        status, done = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        return Batch.from_dict({"id": batch_id, "status": status,
                                "request_counts": {"total": 10, "completed": done, "failed": 0}})


def test_wait_backs_off_while_unchanged_and_resets_on_change() -> None:
    states = [("validating", 0)] * 4 + [("in_progress", 1), ("in_progress", 2)] + [("in_progress", 2)] * 6 + [
        ("completed", 10)]
    sleeps: list[float] = []
    updates: list[tuple[str, int]] = []
    batch = wait(ScriptedClient(states), "batch_x", poll_interval=4, max_interval=20, sleep=sleeps.append,
                 on_update=lambda b: updates.append((b.status, b.request_counts.completed)))
    assert batch.status == "completed"
    assert sleeps == [4, 6, 9, 13.5, 4, 6, 9, 13.5, 20, 20, 20, 20]
    assert updates == [("validating", 0), ("in_progress", 1), ("in_progress", 2), ("completed", 10)]


def test_wait_timeout_raises_with_the_last_state() -> None:
    sleeps: list[float] = []
    with pytest.raises(WaitTimeout, match="gave up after 10s: batch_x in_progress") as info:
        wait(ScriptedClient([("in_progress", 3)]), "batch_x", poll_interval=4, timeout=10, sleep=sleeps.append)
    assert sleeps == [4, 6]  # the last sleep is cut to the time left
    assert info.value.batch.status == "in_progress"


def test_wait_on_the_fake_never_sleeps_for_real(fake: FakeBatchesAPI, client: BatchesClient) -> None:
    job = submit(client, prompts(3))
    start = fake.clock.now()
    with pytest.raises(WaitTimeout):
        wait(client, job, poll_interval=1, timeout=5, sleep=fake.advance)
    assert fake.clock.now() - start == 5


def test_wait_shows_a_text_bar_on_the_client_s_clock_until_every_batch_is_terminal(
        fake: FakeBatchesAPI, client: BatchesClient) -> None:
    import io

    job = submit(client, prompts(4, model="gpt-4o-mini") + [
        {**prompts(5)[4], "body": {**prompts(5)[4]["body"], "model": "fake-error-500"}}])
    shown = io.StringIO()
    started = fake.clock.now()
    [batch] = wait(client, job, poll_interval=10, progress=True, progress_file=shown)
    frames = [f.strip() for f in shown.getvalue().replace("\n", "\r").split("\r") if f.strip()]
    bid = batch.id
    assert frames[:2] == [f"{bid}: loading…", f"{bid}: queued (validating, elapsed 0s)"]  # never "0/0"
    assert f"{bid}:  60%|" in shown.getvalue()
    # which line fails first is the fake's (seeded) shuffle: the words around it are what is tested
    assert re.search(r"\| 3/5 done(, 1 failed)? · in_progress · elapsed 48s · ETA 12s", frames[4]), frames[4]
    assert "ETA" not in frames[5] and "5/5 done, 1 failed · finalizing" in frames[5]  # no "ETA 0s" while finalizing
    took = batch.finished_at - batch.created_at  # simulated seconds, not the wall clock this test took
    assert frames[-1].startswith(f"{bid}: 100%|") and frames[-1].endswith(
        f"| 5/5 done, 1 failed · completed · took {took // 60}m {took % 60:02d}s")
    assert fake.clock.now() > started and batch.status == "completed"


def test_the_bar_of_a_throttled_job_counts_every_line_and_names_the_parts_still_to_create(
        fake: FakeBatchesAPI, client: BatchesClient) -> None:
    """The total used to be the created parts' requests: the bar read 100 % while parts were still pending."""
    import io

    from batches_ext.jobs import plan_job

    lines = prompts(8)
    budget = max(p.tokens for p in plan_job(lines, batch_size=2).parts) + 1  # one part at a time
    job = submit(client, lines, batch_size=2, max_enqueued_tokens=budget)
    assert [p.state for p in job.parts][1:] == ["pending"] * 3
    shown = io.StringIO()
    wait(client, job, poll_interval=10, progress=True, progress_file=shown)
    frames = [f.strip() for f in shown.getvalue().replace("\n", "\r").split("\r") if f.strip()]
    assert any("/8 done" in f and "parts 2, 3, 4 pending" in f for f in frames), frames
    assert any("part 4 pending" in f for f in frames), frames
    full = [f for f in frames if "100%|" in f]
    assert full and not any("pending" in f for f in full) and "8/8 done" in frames[-1] and "took" in frames[-1]
    assert not any(re.search(r"\| [0-9]/[0-7] done", f) for f in frames), frames  # never a created-parts total


def test_wait_shows_no_bar_unless_someone_watches(client: BatchesClient, monkeypatch, capsys) -> None:
    from batches_ext.jobs import PROGRESS_ENV, is_interactive

    job = submit(client, prompts(1))
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not is_interactive()
    wait(client, job)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert is_interactive()
    wait(client, job)
    assert f"{job.batch_ids[0]}: 100%|" in capsys.readouterr().err
    monkeypatch.delenv(PROGRESS_ENV)
    wait(client, job, progress=True)
    assert "1/1 done · completed" in capsys.readouterr().err


def test_results_of_an_unfinished_batch_says_how_far_it_is(client: BatchesClient) -> None:
    from batches_ext.errors import JobError
    from batches_ext.jobs import results

    job = submit(client, prompts(2))
    with pytest.raises(JobError) as info:
        results(client, job)
    assert str(info.value) == (f"batch {job.batch_ids[0]} is still validating (queued): "
                               f"wait(client, {job.batch_ids[0]!r}) follows it to the end")
    assert [b.id for b in info.value.unfinished] == job.batch_ids
