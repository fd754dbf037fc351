"""What both views share (LiveView): they return at once and load on their worker; the lock is never held
across HTTP; `close()`, `close_all()` and `%unload_ext` return in under a second against a server that never
answers; a view that never loaded offers no enabled action; one clock per view (the fake's)."""

from __future__ import annotations

import time

import pytest
from IPython.core.interactiveshell import InteractiveShell

from batches_ext.client import BatchesClient
from batches_ext.widgets import BatchMonitor, BatchTable, close_all, live_views
from tests.batches_ext.widgets.gate import Gate, silent_server

ACTIONS = ("prev", "next", "cancel", "confirm", "results")


@pytest.fixture
def silent_client():
    with silent_server() as base_url:
        client = BatchesClient(api_key="sk-test-silent", base_url=base_url, timeout=30, max_retries=0)
        yield client
        client.close()


def test_a_view_returns_before_loading_and_the_lock_is_free_during_http(fake, client):
    fake.seed_batch("in_progress", requests=10)
    gate = Gate(client)
    table = BatchTable(gate, auto_refresh=False, namespace={})
    try:
        assert not table.loaded and "Loading batches" in table.rows_view.placeholder
        assert "loading…" in table.parts["header"].value and repr(table).startswith("BatchTable: loading…")
        assert all(table.controls[name].disabled for name in ACTIONS)
        # the worker is now inside an API call: the kernel's thread can still take the view's lock at once
        assert table._lock.acquire(timeout=1)
        table._lock.release()
        gate.open.set()
        assert table.wait_idle() and table.loaded and len(table.batch_ids) == 1
    finally:
        gate.open.set()
        table.close()


def test_close_returns_at_once_while_a_load_hangs_on_a_silent_server(silent_client):
    started = time.monotonic()
    table = BatchTable(silent_client, interval=0.05, namespace={})
    monitor = BatchMonitor(silent_client, ["batch_abc"], interval=0.05, namespace={})
    built = time.monotonic() - started
    assert built < 1.0  # construction never waits on the network
    assert table.worker.busy and monitor.worker.busy  # both stuck in a call the server never answers
    assert not table.loaded and all(table.controls[name].disabled for name in ACTIONS)
    started = time.monotonic()
    table.close()
    monitor.close()
    assert time.monotonic() - started < 1.0
    assert table.closed and monitor.closed and table not in live_views()


def test_close_all_and_unload_ext_return_at_once_with_views_stuck_in_http(silent_client):
    views = [BatchTable(silent_client, namespace={}) for _ in range(3)]
    started = time.monotonic()
    assert close_all() >= 3
    assert time.monotonic() - started < 1.0
    assert all(v.closed for v in views)

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "batches_ext")
    magics = ip.magics_manager.registry["BatchesMagics"]
    for _ in range(3):
        magics.session.track(BatchTable(silent_client, namespace={}))
    started = time.monotonic()
    ip.run_line_magic("unload_ext", "batches_ext")
    assert time.monotonic() - started < 1.0
    assert not live_views()


def test_the_magics_views_return_at_once_on_a_silent_server(monkeypatch):
    with silent_server() as base_url:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-silent")
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "batches_ext")
        try:
            started = time.monotonic()
            monitor = ip.run_line_magic("batches", "watch --widget batch_abc")
            table = ip.run_line_magic("batches", "table")
            assert time.monotonic() - started < 1.0  # neither waited for the server
            assert not monitor.loaded and not table.loaded
            assert "loading…" in repr(monitor) and "loading…" in repr(table)
        finally:
            started = time.monotonic()
            ip.run_line_magic("unload_ext", "batches_ext")
            assert time.monotonic() - started < 1.0


def test_an_id_the_server_does_not_know_shows_in_its_row(fake, client):
    monitor = BatchMonitor(client, ["batch_nope"], auto_refresh=False, namespace={})
    try:
        assert monitor.wait_idle()
        assert "batch_nope" in repr(monitor) and "not found" in repr(monitor)
    finally:
        monitor.close()


def test_a_table_that_never_loaded_offers_no_action(fake, client):
    fake.faults.fail_next(500, path="/batches$", times=None)
    table = BatchTable(client, auto_refresh=False, namespace={})
    try:
        assert table.wait_idle()
        assert not table.loaded and table.batch_ids == []
        assert all(table.controls[name].disabled for name in ACTIONS)
        line = table.parts["error"].value
        assert "could not load" in line and "500" in line
        assert "Could not load the batches" in table.rows_view.placeholder
        table.controls["cancel"].click()  # even a stale click says something sensible, not a traceback
        assert table.message == "no batch selected"
    finally:
        table.close()


def test_one_clock_per_view_the_fakes(fake, client):
    """Created, elapsed, ETA and "updated" all read the fake's clock, not the wall clock."""
    b = fake.seed_batch("in_progress", requests=100)
    fake.advance(200)
    monitor = BatchMonitor(client, [b["id"]], auto_refresh=False, namespace={})
    try:
        assert monitor.wait_idle()
        row = monitor.parts[f"row:{b['id']}"].value
        assert "elapsed 3m 20s" in row
        stamp = time.strftime("%H:%M:%S UTC", time.gmtime(fake.clock.now()))
        assert f"updated {stamp}" in monitor.parts["header"].value
    finally:
        monitor.close()
