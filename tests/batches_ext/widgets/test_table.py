"""BatchTable, headless (no kernel, no browser): it loads in the background; paging over 300 batches with
"1–25 of 300"; filters; sort; a row click (what the browser sets on the rows widget) opens the details; a
two-step cancel; Results into `batch_results` with a preview; only changed rows change; the error line
disables the actions; short ids, hidden internal tags, first failure reasons, spend; bounded model counts."""

from __future__ import annotations

import ipywidgets
import pytest

from batches_ext import render
from batches_ext.client import BatchesClient
from batches_ext.errors import ConflictError
from batches_ext.widgets import BatchTable, model_count
from fake_server import FakeBatchesAPI

STATUSES = ("in_progress", "completed", "failed", "validating", "expired", "cancelled")


def _shown(w: ipywidgets.DOMWidget) -> bool:
    return w.layout.display != "none"


def _cells(table: BatchTable, batch_id: str) -> dict[str, str]:
    keys = [c["key"] for c in table.rows_view.columns]
    return dict(zip(keys, table.rows_view.cells(batch_id), strict=True))


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
        table = BatchTable(client, **kw)
        made.append(table)
        assert table.wait_idle(), "the first load (and the count) did not finish"
        return table

    yield make
    for table in made:
        table.close()


def test_first_page_is_the_newest_batches_with_the_total(seeded, make_table):
    table = make_table()
    assert table.batch_ids == [b["id"] for b in seeded[:25]]
    assert table.page == 1 and table.has_next and not table.has_previous
    assert table.rows_view.batch_ids == table.batch_ids  # one rows widget holds every row
    assert table.range_text == "1–25 of 300" and table.total == 300
    assert "1–25 of 300" in table.parts["header"].value and "1–25 of 300" in table.parts["page"].value


def test_pagination_walks_all_300_batches_and_back(seeded, make_table):
    table = make_table(page_size=25)
    pages = [table.batch_ids]
    while table.next_page():
        pages.append(table.batch_ids)
    assert len(pages) == 12 and table.page == 12 and table.range_text == "276–300 of 300"
    assert [i for page in pages for i in page] == [b["id"] for b in seeded]
    assert not table.has_next and table.next_page() is False
    assert table.controls["next"].disabled

    assert table.previous_page() and table.page == 11
    assert table.batch_ids == pages[10]
    table.controls["prev"].click()  # the button runs on the worker thread
    assert table.wait_idle()
    assert table.page == 10 and table.batch_ids == pages[9]
    table.controls["next"].click()
    assert table.wait_idle()
    assert table.page == 11 and table.batch_ids == pages[10]


def test_status_filter_shows_only_that_status_across_pages_and_counts_the_matches(seeded, make_table):
    table = make_table()
    table.set_filter(status="failed")
    assert table.wait_idle()
    assert table.range_text == "1–25 of 50 matching"
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
    assert table.wait_idle()
    assert table.page == 1
    assert table.batches and all(not b.is_terminal for b in table.batches)


def test_text_filter_matches_id_and_metadata(seeded, make_table):
    table = make_table()
    table.set_filter(text="run=r00")  # r000..r009
    assert sorted(b.metadata["run"] for b in table.batches) == [f"r00{i}" for i in range(10)]
    table.controls["text"].value = "R299"  # case-insensitive, metadata value
    assert table.wait_idle()
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
    assert "No batches match the filter." in table.rows_view.placeholder


def test_filtered_scan_is_bounded_and_continues_on_next(seeded, make_table):
    table = make_table(scan_limit=100)
    table.set_filter(text="run=r000")  # the oldest batch: beyond the first 100 scanned
    assert table.batch_ids == [] and table.has_next
    assert "searched 100 batches" in table.parts["page"].value
    while not table.batch_ids and table.next_page():
        pass
    assert [b.metadata["run"] for b in table.batches] == ["r000"]


def test_sort_by_status_then_back_to_created(fake, make_table):
    done = fake.seed_batch("completed", requests=2)
    running = fake.seed_batch("in_progress", requests=10)
    failed = fake.seed_batch("failed", requests=2)
    table = make_table()
    assert table.batch_ids == [failed["id"], running["id"], done["id"]]  # newest first
    table.rows_view.sort = "status"  # what a click on the `status` header does
    assert table.sort == "status" and table.batch_ids == [running["id"], failed["id"], done["id"]]
    assert table.rows_view.batch_ids == table.batch_ids
    table.sort_by("created")
    assert table.batch_ids == [failed["id"], running["id"], done["id"]]
    with pytest.raises(ValueError, match="sort must be one of"):
        table.sort_by("model")


def test_a_row_click_shows_details_and_only_relevant_actions(fake, make_table):
    running = fake.seed_batch("in_progress", requests=10, metadata={"k": "v"})
    failed = fake.seed_batch("failed", requests=2)
    table = make_table()
    assert not _shown(table.controls["cancel"]) and not _shown(table.controls["results"])  # nothing selected
    table.rows_view.selected = running["id"]  # what a click on its row does in the browser
    assert table.selected == running["id"] and table.selected_batch.id == running["id"]
    details = table.parts["details"].value
    assert running["id"] in details and "timeline" in details and "created" in details
    assert running["input_file_id"] in details and "k=v" in details
    assert _shown(table.controls["cancel"]) and not _shown(table.controls["results"])
    assert "platform.openai.com" not in details  # no dashboard link for the offline fake

    table.rows_view.selected = failed["id"]
    assert table.selected == failed["id"]
    assert "Seeded failure." in table.parts["details"].value
    assert not _shown(table.controls["cancel"]) and _shown(table.controls["results"])
    assert table.controls["var"].value == "batch_results"

    table.select(None)
    assert table.selected is None and table.parts["details"].value == ""
    assert table.rows_view.selected == ""


def test_cancel_from_the_table_asks_for_confirmation(fake, make_table):
    b = fake.seed_batch("in_progress", requests=10)
    table = make_table()
    table.rows_view.selected = b["id"]
    table.controls["cancel"].click()  # first click: asks, cancels nothing
    assert table.wait_idle()
    assert fake.batch(b["id"])["status"] == "in_progress"
    assert f"Cancel {b['id']}?" in table.message
    assert _shown(table.controls["confirm"]) and _shown(table.controls["keep"])
    assert not _shown(table.controls["cancel"])

    table.controls["keep"].click()  # "Keep running": nothing happens
    assert table.wait_idle() and fake.batch(b["id"])["status"] == "in_progress"
    assert not _shown(table.controls["confirm"]) and _shown(table.controls["cancel"])

    table.controls["cancel"].click()
    table.controls["confirm"].click()  # second step: cancels, on the worker thread
    assert table.wait_idle()
    assert fake.batch(b["id"])["status"] in ("cancelling", "cancelled")
    assert "Cancel requested" in table.message
    assert not _shown(table.controls["cancel"]) and not _shown(table.controls["confirm"])
    fake.advance(3600)
    table.controls["refresh"].click()
    assert table.wait_idle()
    assert table.selected_batch.status == "cancelled"
    assert table.message == f"{b['id']} is cancelled."  # no stale "Cancel requested" once it has ended


def test_selecting_another_batch_forgets_a_pending_confirmation(fake, make_table):
    a = fake.seed_batch("in_progress", requests=10)
    b = fake.seed_batch("in_progress", requests=10)
    table = make_table()
    table.rows_view.selected = a["id"]
    table.controls["cancel"].click()
    table.rows_view.selected = b["id"]
    assert not _shown(table.controls["confirm"]) and _shown(table.controls["cancel"])


def test_cancel_by_method_does_not_ask(fake, make_table):
    b = fake.seed_batch("in_progress", requests=10)
    table = make_table()
    result = table.cancel(b["id"])
    assert result.status in ("cancelling", "cancelled")
    assert table.batches[0].status == result.status


def test_cancel_of_finished_batch_is_reported_not_raised_from_the_button(fake, make_table):
    b = fake.seed_batch("completed", requests=2)
    table = make_table()
    with pytest.raises(ConflictError):
        table.cancel(b["id"])
    assert "Cannot cancel" in table.message
    table.select(b["id"])
    table.controls["cancel"].click()  # hidden for a completed batch, but a stale click must not raise
    assert "Cannot cancel" in table.message


def test_failed_refresh_keeps_rows_shows_one_line_and_disables_the_actions(seeded, fake, make_table):
    table = make_table()
    table.select(table.batch_ids[0])  # in_progress: Cancel offered
    before = table.batch_ids
    fake.faults.fail_next(500, path="/batches$", times=1)
    assert table.refresh() is False
    assert table.batch_ids == before
    assert table.error is not None and "500" in table.error
    line = table.parts["error"].value
    assert "refresh failed" in line and "500" in line and "\n" not in line
    assert all(table.controls[name].disabled for name in ("prev", "next", "cancel", "confirm", "results"))
    assert "refresh failed: " in repr(table)
    assert table.refresh() is True
    assert table.error is None and table.parts["error"].value == ""
    assert not table.controls["next"].disabled and not table.controls["cancel"].disabled


def test_only_changed_rows_change_and_an_unchanged_refresh_sends_nothing(seeded, fake, make_table, monkeypatch):
    table = make_table()
    table.select(table.batch_ids[3])
    before = {row["id"]: row["cells"] for row in table.rows_view.rows}
    moving = {b.id for b in table.batches if not b.is_terminal}
    sent: list[tuple[str, list[str]]] = []  # every state update that would go to the frontend

    def record(self, msg, buffers=None):
        sent.append((type(self).__name__, sorted(msg.get("state", {}))))

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    assert table.refresh()
    assert table.refresh()
    assert sent == []
    fake.advance(90)  # in_progress batches move: their rows (and the details) change, nothing else
    assert table.refresh()
    assert sent and {name for name, _ in sent} <= {"BatchRows", "HTML"}
    assert all(keys in (["rows"], ["value"]) for _, keys in sent)
    after = {row["id"]: row["cells"] for row in table.rows_view.rows}
    changed = {bid for bid in before if before[bid] != after[bid]}
    assert changed and changed <= moving  # finished batches' rows are byte for byte the same


def test_cells_short_id_hidden_tags_spend_and_eta(fake, make_table, monkeypatch):
    running = fake.seed_batch("in_progress", requests=100,
                              metadata={"run": "a", "batches_ext_job": "job_x", "batches_ext_part": "1/2"})
    fake.advance(120)
    table = make_table()
    cells = _cells(table, running["id"])
    assert f"title='{running['id']}'" in cells["id"] and f"batch_…{running['id'][-8:]}" in cells["id"]
    assert f"data-copy='{running['id']}'" in cells["id"]  # the copy button copies the full id
    assert "run=a" in cells["metadata"] and "batches_ext" not in cells["metadata"]
    usage = fake.batch(running["id"])["usage"]  # the lines run so far, at gpt-4o-mini's batch price
    exact = (usage["input_tokens"] * 0.075 + usage["output_tokens"] * 0.30) / 1e6
    assert ">&lt;$0.01<" in cells["spend"] and "2026-07-05" in cells["spend"]
    assert f"title='{render.usd(exact)} at gpt-4o-mini" in cells["spend"]  # the exact figure on hover
    assert "—" not in cells["eta"]  # an estimate once lines finish
    table.select(running["id"])
    assert "batches_ext_job=job_x" in table.parts["details"].value  # kept in the details, apart

    monkeypatch.setattr(render.parts, "spend_usd", lambda b: 0.4217)  # the one hook a price table fills
    table.refresh()
    assert "$0.42" in _cells(table, running["id"])["spend"]


def test_first_failure_reason_from_the_error_file_or_the_validation_errors(fake, make_table):
    partly = fake.seed_batch("completed", requests=10, failed=3)
    invalid = fake.seed_batch("failed", requests=2, errors=[
        {"code": "model_not_found", "message": "no such model", "line": n} for n in (1, 2, 3)])
    table = make_table()
    assert table.wait_idle()
    failure = _cells(table, partly["id"])["failure"]
    assert "3 failed" in failure and "fake-error" not in failure and ":" in failure
    invalid_failure = _cells(table, invalid["id"])["failure"]
    assert "line 1: model_not_found: no such model (+2 more)" in invalid_failure
    table.select(invalid["id"])
    details = table.parts["details"].value
    assert details.count("no such model") == 1 and "(3 lines: 1–3)" in details  # once, with how often and where


def test_results_button_loads_into_batch_results_and_shows_it(fake, make_table):
    b = fake.seed_batch("completed", requests=3)
    ns: dict = {"results": print}  # e.g. `from batches_ext import results`: never overwritten
    table = make_table(namespace=ns)
    table.rows_view.selected = b["id"]
    table.controls["results"].click()
    assert table.wait_idle()
    assert ns["results"] is print and len(ns["batch_results"]) == 3, table.message
    assert "into `batch_results`" in table.message and "3 results" in table.message
    preview = table.parts["preview"].value
    assert "3 results" in preview and "request-1" in preview  # the summary line and the first rows

    table.controls["var"].value = "results"
    table.controls["results"].click()
    assert table.wait_idle()
    assert ns["results"] is print and "`results` already holds a" in table.message
    table.controls["var"].value = "batch_results"  # an earlier Results may be replaced
    table.controls["results"].click()
    assert table.wait_idle() and "into `batch_results`" in table.message


def test_results_needs_a_valid_variable_name(fake, make_table):
    b = fake.seed_batch("completed", requests=1)
    table = make_table()
    with pytest.raises(ValueError, match="not a valid Python variable name"):
        table.load_results(b["id"], name="not valid")
    table.select(b["id"])
    table.controls["var"].value = "class"
    table.controls["results"].click()
    assert table.wait_idle()
    assert "not a valid Python variable name" in table.message


def test_model_count_is_bounded_flat_and_returns_to_baseline(seeded, fake, client):
    baseline = model_count()
    small = BatchTable(client, page_size=5, auto_refresh=False, namespace={})
    per_view = model_count() - baseline
    big = BatchTable(client, page_size=100, auto_refresh=False, namespace={})
    assert small.wait_idle() and big.wait_idle()
    assert model_count() - baseline == 2 * per_view  # 100 rows cost no more models than 5
    assert per_view < 80
    for _ in range(5):
        fake.advance(120)
        big.refresh()
        big.next_page()
        big.select(big.batch_ids[0])
        big.set_filter(status="completed", text="team")
        big.set_filter(status="", text="")
    assert big.wait_idle()
    assert model_count() - baseline == 2 * per_view
    small.close()
    big.close()
    assert model_count() == baseline


def test_offline_marker_and_text_fallback(seeded, make_table):
    table = make_table()
    assert "OFFLINE FAKE" in table.parts["header"].value
    text = repr(table)
    assert text.startswith("BatchTable page 1: 1–25 of 300, more on the next page [offline fake]")
    assert seeded[0]["id"] in text and seeded[0]["status"] in text
    bundle = table._repr_mimebundle_()
    assert bundle["text/plain"] == text and "application/vnd.jupyter.widget-view+json" in bundle
    table.close()
    assert repr(table) == "<BatchTable (closed)>"


class _Online:
    """The offline client, dressed as a client of the real API (no fake marker, api.openai.com)."""

    is_offline = False

    def __init__(self, client):
        self._client = client
        self.settings = type("S", (), {"base_url": "https://api.openai.com/v1"})()

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_real_api_has_no_offline_marker_and_links_the_dashboard(seeded, client):
    table = BatchTable(_Online(client), auto_refresh=False, namespace={})
    try:
        assert table.wait_idle()
        assert "OFFLINE" not in table.parts["header"].value
        assert len(table.batch_ids) == 25
        table.select(table.batch_ids[0])
        assert f"https://platform.openai.com/batches/{table.batch_ids[0]}" in table.parts["details"].value
    finally:
        table.close()
