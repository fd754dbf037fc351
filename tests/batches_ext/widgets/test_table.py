"""BatchTable, headless (no kernel, no browser): pagination over 300 batches in the fake, filters, details,
cancel by method and by Button.click(), the error line on a 500, bounded and flat model counts, no
messages for a refresh that changes nothing, and the plain-text fallback."""

from __future__ import annotations

import ipywidgets
import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import ConflictError
from batches_ext.widgets import BatchTable, model_count
from fake_server import FakeBatchesAPI, ManualClock

STATUSES = ("in_progress", "completed", "failed", "validating", "expired", "cancelled")


def _shown(w: ipywidgets.DOMWidget) -> bool:
    return w.layout.display != "none"


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def client(fake: FakeBatchesAPI) -> BatchesClient:
    return BatchesClient.offline(fake, max_retries=0)


@pytest.fixture
def seeded(fake: FakeBatchesAPI) -> list[dict]:
    """300 batches, statuses cycling through STATUSES, metadata run=<i> and team=<a|b>."""
    for i in range(300):
        fake.seed_batch(
            STATUSES[i % len(STATUSES)], requests=10, metadata={"run": f"r{i:03d}", "team": "ab"[i % 2]}
        )
    return fake.batches()  # newest first, as the API lists them


@pytest.fixture
def make_table(client: BatchesClient):
    made: list[BatchTable] = []

    def make(**kw) -> BatchTable:
        kw.setdefault("auto_refresh", False)
        kw.setdefault("namespace", {})
        kw.setdefault("wall", lambda: 1_000.0)
        table = BatchTable(client, **kw)
        made.append(table)
        return table

    yield make
    for table in made:
        table.close()


def test_first_page_is_the_newest_batches(seeded, make_table):
    table = make_table()
    assert table.batch_ids == [b["id"] for b in seeded[:25]]
    assert table.page == 1 and table.has_next and not table.has_previous
    html = table.parts["body"].value  # one HTML widget holding every row as one <table>
    assert html.count("<tr data-batch-id=") == 25
    assert "in_progress" in html and "r299" in html


def test_pagination_walks_all_300_batches_and_back(seeded, make_table):
    table = make_table(page_size=25)
    pages = [table.batch_ids]
    while table.next_page():
        pages.append(table.batch_ids)
    assert len(pages) == 12 and table.page == 12
    assert [i for page in pages for i in page] == [b["id"] for b in seeded]
    assert not table.has_next and table.next_page() is False
    assert table.controls["next"].disabled

    assert table.previous_page() and table.page == 11
    assert table.batch_ids == pages[10]
    table.controls["prev"].click()
    assert table.page == 10 and table.batch_ids == pages[9]
    table.controls["next"].click()
    assert table.page == 11 and table.batch_ids == pages[10]


def test_status_filter_shows_only_that_status_across_pages(seeded, make_table):
    table = make_table()
    table.set_filter(status="failed")
    seen = list(table.batch_ids)
    assert all(b.status == "failed" for b in table.batches)
    while table.next_page():
        assert all(b.status == "failed" for b in table.batches)
        seen += table.batch_ids
    assert seen == [b["id"] for b in seeded if b["status"] == "failed"]


def test_status_filter_widget_resets_to_first_page(seeded, make_table):
    table = make_table()
    table.next_page()
    table.controls["status"].value = "active"
    assert table.page == 1
    assert table.batches and all(not b.is_terminal for b in table.batches)


def test_text_filter_matches_id_and_metadata(seeded, make_table):
    table = make_table()
    table.set_filter(text="run=r00")  # r000..r009
    assert sorted(b.metadata["run"] for b in table.batches) == [f"r00{i}" for i in range(10)]
    table.controls["text"].value = "R299"  # case-insensitive, metadata value
    assert [b.metadata["run"] for b in table.batches] == ["r299"]
    some_id = seeded[40]["id"]
    table.set_filter(text=some_id[-12:])
    assert table.batch_ids == [some_id]
    table.set_filter(status="completed", text="team=b")
    assert table.batches and all(b.status == "completed" and b.metadata["team"] == "b" for b in table.batches)


def test_filter_with_no_match_says_so(seeded, make_table):
    table = make_table()
    table.set_filter(text="no-such-thing")
    assert table.batch_ids == [] and not table.has_next
    assert "No batches match the filter." in table.parts["body"].value


def test_filtered_scan_is_bounded_and_continues_on_next(seeded, make_table):
    table = make_table(scan_limit=100)
    table.set_filter(text="run=r000")  # the oldest batch: beyond the first 100 scanned
    assert table.batch_ids == [] and table.has_next
    assert "searched 100 batches" in table.parts["page"].value
    while not table.batch_ids and table.next_page():
        pass
    assert [b.metadata["run"] for b in table.batches] == ["r000"]


def test_select_shows_details_and_only_relevant_actions(fake, make_table):
    running = fake.seed_batch("in_progress", requests=10, metadata={"k": "v"})
    failed = fake.seed_batch("failed", requests=2)
    table = make_table()
    batch = table.select(running["id"])
    assert batch.id == running["id"] and table.selected == running["id"]
    details = table.parts["details"].value
    assert running["id"] in details and "timeline" in details and "created" in details
    assert running["input_file_id"] in details and "k=v" in details
    assert _shown(table.controls["cancel"]) and not _shown(table.controls["results"])
    assert table.controls["select"].value == running["id"]

    table.controls["select"].value = failed["id"]  # what the user's dropdown choice does
    assert table.selected == failed["id"]
    assert "Seeded failure." in table.parts["details"].value
    assert not _shown(table.controls["cancel"]) and _shown(table.controls["results"])

    table.select(None)
    assert table.selected is None and table.parts["details"].value == ""


def test_cancel_by_method(fake, make_table):
    b = fake.seed_batch("in_progress", requests=10)
    table = make_table()
    result = table.cancel(b["id"])
    assert result.status in ("cancelling", "cancelled")
    assert table.batches[0].status == result.status
    assert "Cancel requested" in table.message
    fake.advance(3600)
    table.refresh()
    assert table.batches[0].status == "cancelled"
    assert "cancelled" in table.parts["body"].value
    assert table.message == f"{b['id']} is cancelled."  # no stale "Cancel requested" once it has ended


def test_cancel_by_button_click(fake, make_table):
    b = fake.seed_batch("in_progress", requests=10)
    table = make_table()
    table.select(b["id"])
    table.controls["cancel"].click()
    assert fake.batch(b["id"])["status"] in ("cancelling", "cancelled")
    assert not _shown(table.controls["cancel"])  # no longer cancellable
    fake.advance(3600)
    table.controls["refresh"].click()
    assert table.selected_batch.status == "cancelled"


def test_cancel_of_finished_batch_is_reported_not_raised_from_the_button(fake, make_table):
    b = fake.seed_batch("completed", requests=2)
    table = make_table()
    with pytest.raises(ConflictError):
        table.cancel(b["id"])
    assert "Cannot cancel" in table.message
    table.select(b["id"])
    table.controls["cancel"].click()  # hidden for a completed batch, but a stale click must not raise
    assert "Cannot cancel" in table.message


def test_failed_refresh_keeps_rows_and_shows_error_line(seeded, fake, make_table):
    table = make_table()
    before = table.batch_ids
    fake.faults.fail_next(500, path="/batches$", times=1)
    assert table.refresh() is False
    assert table.batch_ids == before
    assert table.error is not None and "500" in table.error
    assert "refresh failed" in table.parts["error"].value and "500" in table.parts["error"].value
    assert "refresh failed: " in repr(table)
    assert table.refresh() is True
    assert table.error is None and table.parts["error"].value == ""


def test_model_count_is_bounded_flat_and_returns_to_baseline(seeded, fake, client):
    baseline = model_count()
    small = BatchTable(client, page_size=5, auto_refresh=False, namespace={})
    per_view = model_count() - baseline
    big = BatchTable(client, page_size=100, auto_refresh=False, namespace={})
    assert model_count() - baseline == 2 * per_view  # 100 rows cost no more models than 5
    assert per_view < 80
    for _ in range(5):
        fake.advance(120)
        big.refresh()
        big.next_page()
        big.select(big.batch_ids[0])
        big.set_filter(status="completed", text="team")
        big.set_filter(status="", text="")
    assert model_count() - baseline == 2 * per_view
    small.close()
    big.close()
    assert model_count() == baseline


def test_refresh_that_changes_nothing_sends_no_update(seeded, fake, make_table, monkeypatch):
    table = make_table()
    table.select(table.batch_ids[3])
    sent: list[tuple[str, list[str]]] = []  # every state update that would go to the frontend

    def record(self, msg, buffers=None):
        sent.append((type(self).__name__, sorted(msg.get("state", {}))))

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    assert table.refresh()
    assert table.refresh()
    assert sent == []
    fake.advance(90)  # in_progress batches move: the body (and details) change, nothing else
    assert table.refresh()
    assert sent and {name for name, _ in sent} == {"HTML"} and all(keys == ["value"] for _, keys in sent)


def test_offline_marker_and_text_fallback(seeded, make_table):
    table = make_table()
    assert "offline fake" in table.parts["header"].value
    text = repr(table)
    assert text.startswith("BatchTable page 1: 25 batches shown, more on the next page [offline fake]")
    assert seeded[0]["id"] in text and seeded[0]["status"] in text
    bundle = table._repr_mimebundle_()
    assert bundle["text/plain"] == text and "application/vnd.jupyter.widget-view+json" in bundle
    table.close()
    assert repr(table) == "<BatchTable (closed)>"


def test_no_offline_marker_for_a_real_client(seeded, client):
    class Online:
        is_offline = False

        def __getattr__(self, name):
            return getattr(client, name)

    table = BatchTable(Online(), auto_refresh=False, namespace={})
    try:
        assert "offline fake" not in table.parts["header"].value
        assert len(table.batch_ids) == 25
    finally:
        table.close()


def test_results_button_loads_into_the_named_variable(fake, make_table):
    from batches_ext import jobs

    assert hasattr(jobs, "results")
    b = fake.seed_batch("completed", requests=3)
    ns: dict = {}
    table = make_table(namespace=ns)
    table.select(b["id"])
    table.controls["var"].value = "my_results"
    table.controls["results"].click()
    assert "my_results" in ns, table.message
    assert len(ns["my_results"]) == 3
    assert "into `my_results`" in table.message


def test_results_needs_a_valid_variable_name(fake, make_table):
    b = fake.seed_batch("completed", requests=1)
    table = make_table()
    with pytest.raises(ValueError, match="not a valid Python variable name"):
        table.load_results(b["id"], name="not valid")
    table.select(b["id"])
    table.controls["var"].value = "class"
    table.controls["results"].click()
    assert "not a valid Python variable name" in table.message
