"""BatchMonitor, headless: it loads in the background; one row per batch with progress, elapsed and ETA; a
two-step Cancel per row (method and Button.click()); polling stops when every batch is terminal and Results
appear (into `batch_results`, with a preview); the optional notification; a missing id; wait(); the error line
on a 500; model counts back to baseline after close(); the plain-text fallback."""

from __future__ import annotations

import time

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import ConflictError, WaitTimeout
from batches_ext.widgets import BatchMonitor, model_count
from tests.batches_ext.widgets.gate import Gate


def _shown(w) -> bool:
    return w.layout.display != "none"


@pytest.fixture
def make_monitor(client: BatchesClient):
    made: list[BatchMonitor] = []

    def make(ids, **kw) -> BatchMonitor:
        kw.setdefault("auto_refresh", False)
        kw.setdefault("namespace", {})
        monitor = BatchMonitor(client, ids, **kw)
        made.append(monitor)
        assert monitor.wait_idle(), "the first load did not finish"
        return monitor

    yield make
    for monitor in made:
        monitor.close()


def test_one_row_per_batch_with_progress_elapsed_and_eta(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=100)
    b = fake.seed_batch("validating", requests=10)
    monitor = make_monitor([a["id"], b["id"]])
    assert monitor.batch_ids == [a["id"], b["id"]]
    assert [x.status for x in monitor.batches] == ["in_progress", "validating"]
    fake.advance(120)
    monitor.refresh()
    row = monitor.parts[f"row:{a['id']}"].value
    done = monitor.batches[0].request_counts.completed
    assert 0 < done < 100
    assert f"{done}/100" in row and "elapsed 2m 00s" in row
    assert "ETA —" not in row and "ETA" in row  # an estimate once lines finish
    assert "Monitoring 2 batches" in monitor.parts["header"].value
    assert "OFFLINE FAKE" in monitor.parts["header"].value


def test_cancel_by_method_and_by_button(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=50)
    b = fake.seed_batch("in_progress", requests=50)
    monitor = make_monitor([a["id"], b["id"]])
    buttons = monitor.cancel_buttons
    assert all(_shown(button) for button in buttons.values())

    assert monitor.cancel(a["id"]).status in ("cancelling", "cancelled")  # by method: no question asked
    buttons[b["id"]].click()  # the first click asks
    assert monitor.wait_idle() and fake.batch(b["id"])["status"] == "in_progress"
    assert buttons[b["id"]].description == "Confirm cancel" and f"Cancel {b['id']}?" in monitor.message
    buttons[b["id"]].click()  # the second cancels, on the worker thread
    assert monitor.wait_idle()
    assert fake.batch(b["id"])["status"] in ("cancelling", "cancelled")
    assert "Cancel requested" in monitor.message
    assert not any(_shown(button) for button in buttons.values())

    fake.advance(3600)
    monitor.refresh()
    assert [x.status for x in monitor.batches] == ["cancelled", "cancelled"]
    assert monitor.done and "cancelled" in monitor.parts[f"row:{a['id']}"].value
    assert monitor.message == f"{b['id']} is cancelled."  # the cancel note follows the batch to its end


def test_cancel_of_finished_batch_is_reported(fake, make_monitor):
    a = fake.seed_batch("completed", requests=2)
    monitor = make_monitor(a["id"])
    with pytest.raises(ConflictError):
        monitor.cancel(a["id"])
    assert "Cannot cancel" in monitor.message
    monitor.cancel_buttons[a["id"]].click()  # a stale click (two, with the confirmation) is reported, not raised
    monitor.cancel_buttons[a["id"]].click()
    assert monitor.wait_idle()
    assert "Cannot cancel" in monitor.message


def test_results_offered_only_when_all_terminal(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    b = fake.seed_batch("completed", requests=10)
    monitor = make_monitor([a["id"], b["id"]])
    assert not monitor.done and not monitor.results_offered
    fake.advance(24 * 3600)
    monitor.refresh()
    assert monitor.done
    assert monitor.results_offered
    assert "All 2 batches finished" in monitor.parts["header"].value


def test_results_load_into_the_named_variable(fake, make_monitor):
    a = fake.seed_batch("completed", requests=3)
    b = fake.seed_batch("completed", requests=2)
    ns: dict = {}
    monitor = make_monitor([a["id"], b["id"]], namespace=ns)
    assert monitor.controls["var"].value == "batch_results"
    monitor.controls["var"].value = "res"
    monitor.controls["results"].click()
    assert monitor.wait_idle()
    assert set(ns["res"]) == {a["id"], b["id"]}, monitor.message
    assert "3 results" in monitor.parts["preview"].value and "2 results" in monitor.parts["preview"].value
    assert len(ns["res"][a["id"]]) == 3
    single = make_monitor(a["id"], namespace=ns)
    assert len(single.load_results("one")) == 3 and "one" in ns


def test_polling_thread_stops_when_all_terminal(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    monitor = make_monitor([a["id"]], auto_refresh=True, interval=0.01)
    assert monitor.refreshing
    fake.advance(24 * 3600)
    monitor.refresher_thread.join(5)
    assert not monitor.refreshing and monitor.done
    assert monitor.batches[0].status == "completed"


def test_wait_on_a_manual_clock_fake_moves_its_clock_step_by_step(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    monitor = make_monitor([a["id"]], auto_refresh=True, interval=5)
    started = fake.clock.now()
    batches = monitor.wait(timeout=3600)
    assert [b.status for b in batches] == ["completed"]
    assert 0 < fake.clock.now() - started <= 120  # the batch's own span plus one step, not a jump to the end
    assert "10/10" in monitor.parts[f"row:{a['id']}"].value and monitor.results_offered


def test_wait_waits_through_the_client(fake, client, make_monitor):
    """Against a real API the client sleeps for real; the monitor never sleeps on its own."""
    a = fake.seed_batch("in_progress", requests=10)
    waited: list[float] = []
    client.sleep = lambda s: (waited.append(s), fake.advance(s))
    monitor = make_monitor([a["id"]], interval=7)
    assert monitor.wait()[0].status == "completed"
    assert waited and set(waited) == {7}


def test_wait_without_thread_polls_and_times_out(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    monitor = make_monitor([a["id"]], interval=0.01)
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="1 of 1 batch still running"):
        monitor.wait(timeout=0.1)
    assert time.monotonic() - started < 2
    fake.advance(24 * 3600)
    assert monitor.wait(timeout=1)[0].status == "completed"


def test_failed_refresh_keeps_rows_and_shows_error_line(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    monitor = make_monitor([a["id"]])
    row = monitor.parts[f"row:{a['id']}"].value
    fake.faults.fail_next(500, path="/batches/", times=1)
    assert monitor.refresh() is False
    assert monitor.parts[f"row:{a['id']}"].value == row
    assert monitor.batches[0].status == "in_progress"
    assert "refresh failed" in monitor.parts["error"].value and "500" in monitor.error
    assert monitor.refresh() and monitor.parts["error"].value == ""


def test_model_count_back_to_baseline_after_close(fake, client):
    baseline = model_count()
    ids = [fake.seed_batch("in_progress", requests=10)["id"] for _ in range(3)]
    monitor = BatchMonitor(client, ids, auto_refresh=False, namespace={})
    alive = model_count()
    for _ in range(5):
        fake.advance(30)
        monitor.refresh()
    assert model_count() == alive
    monitor.close()
    assert model_count() == baseline


def test_accepts_batches_and_job_like_objects(fake, client, make_monitor):
    a = fake.seed_batch("completed", requests=1)
    b = fake.seed_batch("completed", requests=1)
    batch = client.retrieve_batch(a["id"])

    class JobLike:
        batch_ids = [a["id"], b["id"], a["id"]]

    assert make_monitor(batch).batch_ids == [a["id"]]
    assert make_monitor(JobLike()).batch_ids == [a["id"], b["id"]]
    with pytest.raises(ValueError):
        make_monitor([])


def test_text_fallback(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    monitor = make_monitor([a["id"]])
    text = repr(monitor)
    assert text.splitlines()[0] == "BatchMonitor: 1 batch, 1 running [offline fake]"
    assert a["id"] in text and "in_progress" in text and "0/10" in text
    assert monitor._repr_mimebundle_()["text/plain"] == text


def test_it_returns_at_once_and_shows_loading_until_the_first_load(fake, client):
    a = fake.seed_batch("in_progress", requests=10)
    gate = Gate(client)  # every API call waits until the test opens the gate
    monitor = BatchMonitor(gate, [a["id"]], auto_refresh=False, namespace={})
    try:
        assert not monitor.loaded and "loading" in monitor.parts[f"row:{a['id']}"].value
        assert "loading" in monitor.parts["header"].value
        assert not monitor.results_offered and all(b.disabled for b in monitor.cancel_buttons.values())
        gate.open.set()
        assert monitor.wait_idle() and monitor.loaded
        assert "in_progress" in monitor.parts[f"row:{a['id']}"].value
        assert not any(b.disabled for b in monitor.cancel_buttons.values())
    finally:
        gate.open.set()
        monitor.close()


def test_a_missing_batch_says_so_and_does_not_keep_the_monitor_running(fake, make_monitor):
    a = fake.seed_batch("completed", requests=1)
    monitor = make_monitor([a["id"], "batch_nope"])
    assert "not found" in monitor.parts["row:batch_nope"].value
    assert monitor.done and monitor.results_offered


def test_the_notification_is_off_by_default_and_sent_once_when_all_finish(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=10)
    quiet = make_monitor([a["id"]])
    loud = make_monitor([a["id"]])
    assert not quiet.notifier.enabled
    loud.notifier.enabled = True  # what the toggle in the browser sets, once permission is granted
    fake.advance(24 * 3600)
    for monitor in (quiet, loud):
        monitor.refresh()
        monitor.refresh()
    assert quiet.notifier.sent == []
    assert [m["title"] for m in loud.notifier.sent] == ["1 batch finished"]
    assert loud.notifier.sent[0]["body"] == "1 completed"


def test_one_batch_reads_as_one(fake, make_monitor):
    a = fake.seed_batch("in_progress", requests=1)
    monitor = make_monitor([a["id"]])
    monitor.wait(timeout=3600)
    header = monitor.parts["header"].value
    assert "The batch finished" in header and "1 batches" not in header
    monitor.load_results()
    assert "1 result (" in monitor.message and "1 results" not in monitor.message


def test_a_jobs_monitor_advances_it_part_by_part_and_shows_what_each_waits_for_and_cost(fake, client, make_monitor):
    """Given a Job over its token budget, the monitor has a row per part; a part not created yet says it waits
    for room; each refresh advances the job, so the monitor's wait() alone finishes it; each finished row shows
    what its batch cost, the header the job's total, and Results loads the whole job joined in input order."""
    from batches_ext import render
    from batches_ext.jobs import submit
    from batches_ext.jsonl import build_requests

    lines = build_requests([f"Name thing number {i}." for i in range(1, 7)], model="gpt-4o-mini")
    job = submit(client, lines, batch_size=2, max_enqueued_tokens=24)  # one part (24 tokens) at a time
    monitor = make_monitor(job)
    assert monitor.job is job and monitor.batch_ids == job.batch_ids and len(monitor.batches) == 3
    assert "pending: waits for room in the token budget" in monitor.parts["row:part 3/3"].value
    assert f"Job {job.id}: 3 parts, 1 running, 2 pending" in monitor.parts["header"].value
    assert repr(monitor).startswith("BatchMonitor: 3 parts, 1 running, 2 pending")  # parts, not "3 batches"
    monitor.wait()
    assert monitor.done and job.finished and len(fake.batches()) == 3 and monitor.results_offered
    row = monitor.parts["row:part 3/3"].value
    assert ">completed<" in row and ">&lt;$0.01<" in row
    assert f"spent: {render.usd(render.spend_usd(monitor.batches[2]))} at gpt-4o-mini" in row
    assert monitor.parts[f"row:{job.batch_ids[2]}"] is monitor.parts["row:part 3/3"]
    header = monitor.parts["header"].value
    assert f"Job {job.id} finished" in header and f"spent {render.usd(job.spend)}" in header
    loaded = monitor.load_results("res")
    assert [r.custom_id for r in loaded] == [x["custom_id"] for x in lines] and all(r.ok for r in loaded)


def test_the_header_adds_up_the_known_spend_and_counts_the_unpriced(fake, client, make_monitor):
    """One batch on a model with no known price does not hide what the others cost."""
    from batches_ext import render

    priced = fake.seed_batch("completed", requests=4)
    unpriced = fake.seed_batch("failed", requests=0, model="gpt-nope",
                               errors=[{"code": "model_not_found", "message": "no such model", "line": 1}])
    monitor = make_monitor([priced["id"], unpriced["id"]])
    header = monitor.parts["header"].value
    known = render.spend_usd(monitor.batches[0])
    assert known is not None and f"spent {render.usd(known)} + 1 without a known price" in header
    validating = fake.seed_batch("validating")
    details = render.details_html(client.retrieve_batch(validating["id"]), fake.clock.now())
    assert "queued" in details and "0 total" not in details  # never "0 completed, 0 failed, 0 total"
