"""Widget benchmark: a BatchTable over 10,000 batches in the fake — the constructor (it loads in the background),
the first page, the total counted, refreshes — and the number of widget models alive (they must not depend on
the number of batches).

    python bench/bench_widgets.py [--batches 10000] [--page-size 25] [--refreshes 20]

Runs headless (no kernel: widgets have no frontend); times include the in-process HTTP round trips
through BatchesClient.offline(fake), so they are what a notebook user would wait for, minus the browser.
"""

from __future__ import annotations

import argparse
import statistics
import time

from batches_ext.client import BatchesClient
from batches_ext.widgets import BatchMonitor, BatchTable, model_count
from fake_server import FakeBatchesAPI, ManualClock

_STATUSES = ("completed", "in_progress", "failed", "validating", "expired", "cancelled", "finalizing")


def _row(label: str, value: str) -> None:
    print(f"{label:<48}{value}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=25)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args(argv)

    fake = FakeBatchesAPI(clock=ManualClock())
    started = time.perf_counter()
    for i in range(args.batches):
        fake.seed_batch(_STATUSES[i % len(_STATUSES)], requests=10, metadata={"run": f"r{i}"})
    _row(f"seeded {args.batches} batches in the fake", f"{_ms(time.perf_counter() - started)}")
    client = BatchesClient.offline(fake)

    baseline = model_count()
    started = time.perf_counter()
    table = BatchTable(client, page_size=args.page_size, auto_refresh=False, namespace={})
    returned = time.perf_counter() - started
    while not table.loaded:  # the first page loads on the view's worker thread
        time.sleep(0.0005)
    first = time.perf_counter() - started
    table.wait_idle(600)  # then the total is counted, one list page per worker job
    counted = time.perf_counter() - started
    total_text = table.range_text
    models = model_count() - baseline

    times = []
    for _ in range(args.refreshes):
        fake.advance(5)
        t = time.perf_counter()
        table.refresh()
        times.append(time.perf_counter() - t)
    unchanged = []
    for _ in range(args.refreshes):
        t = time.perf_counter()
        table.refresh()
        unchanged.append(time.perf_counter() - t)
    t = time.perf_counter()
    table.set_filter(text="r0")  # client-side filter: scans up to scan_limit batches
    filtered = time.perf_counter() - t
    t = time.perf_counter()
    while table.next_page():
        pass
    walk, pages = time.perf_counter() - t, table.page

    _row("BatchTable() returns (loads in the background)", f"{_ms(returned)}")
    _row(f"BatchTable first page shown (page of {args.page_size})", f"{_ms(first)}")
    _row(f"BatchTable total counted ({total_text})", f"{_ms(counted)}")
    _row(f"refresh, batches moving (median of {args.refreshes})", f"{_ms(statistics.median(times))}")
    _row("refresh, nothing changed (median)", f"{_ms(statistics.median(unchanged))}")
    _row("filtered page (text filter, first page)", f"{_ms(filtered)}")
    _row(f"walk every filtered page ({pages} pages)", f"{_ms(walk)}")
    _row("widget models alive for the table", f"{models:8d}  (same for any number of batches)")
    after_use = model_count() - baseline

    ids = [b["id"] for b in fake.batches()[:20]]
    t = time.perf_counter()
    monitor = BatchMonitor(client, ids, auto_refresh=False, namespace={})
    monitor.wait_idle(60)
    monitor_first = time.perf_counter() - t
    monitor_models = model_count() - baseline - after_use
    _row("BatchMonitor first render (20 batches)", f"{_ms(monitor_first)}")
    _row("widget models alive for the monitor", f"{monitor_models:8d}  (~8 per row + ~20)")
    table.close()
    monitor.close()
    _row("widget models alive after close()", f"{model_count() - baseline:8d}")


if __name__ == "__main__":
    main()
