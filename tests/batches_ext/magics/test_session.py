"""What the `%batches` session remembers: the latest batch or job (what a bare `watch` follows), and ids per
backend (a discarded fake's ids are forgotten, so no 404 for a batch of a fake that is gone)."""

from __future__ import annotations

from batches_ext.jobs import submit
from batches_ext.jsonl import build_requests
from batches_ext.models import Batch

from .conftest import magics, run


def test_a_bare_watch_follows_the_latest_batch_not_every_unfinished_one(shell) -> None:
    sh, fake = shell
    first = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "one")
    second = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "two")
    watched = sh.run_line_magic("batches", "watch")
    assert isinstance(watched, Batch) and watched.id == second.id and watched.status == "completed"
    sh.run_line_magic("batches", f"get {first.id}")
    assert sh.run_line_magic("batches", "watch").id == first.id  # `get` makes it the latest
    listed = sh.run_line_magic("batches", "list")
    assert len(listed) == 2 and sh.run_line_magic("batches", "watch").id == first.id  # `list` does not


def test_a_bare_watch_follows_the_latest_job_whole(shell) -> None:
    sh, _ = shell
    client = magics(sh).session.client()
    job = submit(client, build_requests(["a", "b", "c"], model="gpt-4o-mini"), max_lines=2)
    assert len(job.batch_ids) == 2
    first = sh.run_line_magic("batches", f"watch {job.id}")  # a job id: all its batches, in part order
    assert [b.id for b in first] == job.batch_ids and {b.status for b in first} == {"completed"}
    sh.run_cell_magic("batches", "create --model gpt-4o-mini", "later")
    sh.run_line_magic("batches", f"results {job.id}")  # results of the job make it the latest again
    assert [b.id for b in sh.run_line_magic("batches", "watch")] == job.batch_ids


def test_a_bare_watch_after_cancelling_a_job_follows_the_whole_job(shell) -> None:
    sh, _ = shell
    job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 1", "a\nb\nc")
    sh.run_cell_magic("batches", "create --model gpt-4o-mini", "later")
    sh.run_line_magic("batches", f"cancel {job.id}")
    assert [b.id for b in sh.run_line_magic("batches", "watch")] == job.batch_ids  # every part, not the last


def test_switching_the_fake_forgets_its_ids(shell, monkeypatch) -> None:
    sh, fake = shell
    gone = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "hi")
    _, text, _ = run(sh, "%batches fake on --manual")
    result, text, _ = run(sh, "%batches watch")  # not a 404 for a batch of the discarded fake
    assert not result.success and "name a batch id (this session has seen no batch on this offline fake yet" in text
    assert "404" not in text and gone.id not in text
    kept = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "hello")
    assert sh.run_line_magic("batches", "watch").id == kept.id
    sh.run_line_magic("batches", "fake off")
    assert magics(sh).session.recent == [] and magics(sh).session.latest() is None
    sh.run_line_magic("batches", "fake on --manual")
    assert magics(sh).session.latest() is None


def test_the_real_api_s_ids_survive_a_round_trip_through_the_fake(shell, monkeypatch) -> None:
    sh, _ = shell
    session = magics(sh).session
    session.fake_off()
    session.follow("batch_real_1")  # as `get` against the real API would
    session.fake_on(manual=True)
    assert session.latest() is None and session.recent == []
    session.fake_off()
    assert session.latest() == ("batch_real_1", ["batch_real_1"]) and session.recent == ["batch_real_1"]
