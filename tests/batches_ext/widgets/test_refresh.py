"""The refresher: one daemon thread per view, backoff on errors, never prints, stops on close(),
on close_all() (extension unload), when the tick says it is done, and when its view is gone."""

from __future__ import annotations

import gc
import random
import threading
import time

import pytest

from batches_ext.client import backoff_delay
from batches_ext.widgets import BatchMonitor, BatchTable, Refresher, close_all, live_views
from tests.concurrency import until


def test_the_refreshers_backoff_doubles_from_its_interval_and_caps_with_jitter_below():
    r = Refresher(lambda: True, interval=5, max_interval=60, jitter=0.1, rng=random.Random(7))
    delays = []
    for failures in range(6):
        r.failures = failures
        delays.append(r.next_delay())
    assert delays[0] == 5  # no failure: the interval, no jitter
    for got, base in zip(delays[1:], [10, 20, 40, 60, 60], strict=True):
        assert base * 0.9 < got <= base  # the client's one backoff, spread downwards by at most 10 %
    assert backoff_delay(2, initial=5, maximum=60, jitter=0.1, rand=lambda: 1.0) == pytest.approx(18.0)


def test_refresher_ticks_until_stopped_on_a_daemon_thread():
    calls: list[str] = []
    r = Refresher(lambda: calls.append(threading.current_thread().name) or True, interval=0.005)
    r.start()
    r.start()  # idempotent: still one thread
    assert until(lambda: len(calls) >= 3)
    assert r.thread.daemon and set(calls) == {r.name}
    r.stop()
    assert not r.alive
    n = len(calls)
    time.sleep(0.03)
    assert len(calls) == n


def test_refresher_ends_when_tick_returns_none():
    r = Refresher(lambda: None, interval=0.005)
    r.start()
    r.thread.join(2)
    assert not r.alive and r.ticks == 1


def test_refresher_backs_off_and_survives_exceptions():
    delays: list[tuple[float, int]] = []
    outcomes = iter([False, False, RuntimeError("boom"), True])

    def tick():
        item = next(outcomes, None)
        if isinstance(item, Exception):
            raise item
        return item

    r = Refresher(tick, interval=0.001, max_interval=0.004, jitter=0.0, on_backoff=lambda d, n: delays.append((d, n)))
    r.start()
    r.thread.join(2)
    assert delays == [(0.002, 1), (0.004, 2), (0.004, 3)]
    assert r.failures == 0 and r.ticks == 5


def test_refresher_stops_when_its_owner_is_collected():
    class Owner:
        def tick(self):
            return True

    owner = Owner()
    r = Refresher(owner.tick, interval=0.005)
    r.start()
    assert until(lambda: r.ticks >= 1)
    del owner
    gc.collect()
    assert until(lambda: not r.alive)


def test_table_thread_refreshes_quietly_and_stops_on_close(fake, client, capsys):
    fake.seed_batch("in_progress", requests=100)
    table = BatchTable(client, interval=0.01, namespace={})
    try:
        assert table.refreshing and table.wait_idle()
        first = table.rows_view.rows
        fake.advance(60)
        assert until(lambda: table.rows_view.rows != first)
        assert "updated just now" in table.parts["header"].value
    finally:
        table.close()
    assert not table.refreshing and not table.refresher_thread.is_alive()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_auto_refresh_toggle_starts_and_stops_the_thread(fake, client):
    fake.seed_batch("in_progress", requests=10)
    table = BatchTable(client, auto_refresh=False, interval=0.01, namespace={})
    try:
        assert table.wait_idle()
        assert not table.refreshing and "updated 22:13:20 UTC" in table.parts["header"].value  # the fake's clock
        table.controls["auto"].value = True
        assert table.refreshing
        assert until(lambda: "updated just now" in table.parts["header"].value)
        table.auto_refresh = False
        assert until(lambda: not table.refreshing)
    finally:
        table.close()


def test_thread_backs_off_and_shows_retry_on_errors(fake, client):
    fake.seed_batch("in_progress", requests=10)
    table = BatchTable(client, interval=0.01, namespace={})
    try:
        assert table.wait_idle()
        rows = table.batch_ids
        fake.faults.fail_next(500, path="/batches$", times=None)
        assert until(lambda: "retrying in" in table.parts["error"].value)
        assert table._refresher.failures >= 1 and table.batch_ids == rows
        fake.faults.clear()
        assert until(lambda: table.parts["error"].value == "", timeout=10)
    finally:
        table.close()


def test_close_all_stops_every_view(fake, client):
    a = fake.seed_batch("in_progress", requests=10)
    table = BatchTable(client, interval=0.01, namespace={})
    monitor = BatchMonitor(client, [a["id"]], interval=0.01, namespace={})
    threads = [table.refresher_thread, monitor.refresher_thread]
    assert all(t.is_alive() for t in threads)
    assert {table, monitor} <= set(live_views())
    assert close_all() >= 2
    assert not any(t.is_alive() for t in threads)
    assert table.closed and monitor.closed and not live_views()
