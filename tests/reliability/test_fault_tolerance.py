"""Faults: under 429 storms, 5xx bursts, dropped connections and a server slower than the client's timeout,
the core still finishes every job, with exactly one input file and one batch per job part and every input
line's result joined back in order (also for `retry_failed`'s job of the failed lines); a delete whose
answer is lost is still reported as done; the widgets keep their last rows and say what went wrong, a
monitor's `wait()` outlasts storms longer than the client's retries, and both recover when the faults stop.

All faults come from the fake's own `FaultPlan`, on the in-process requests door and on the loopback
server (where a dropped response is a real closed socket). Retry sleeps are recorded, not slept, so a
storm of hundreds of 429s costs milliseconds.
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
from collections import Counter

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError
from batches_ext.jobs import JOB_KEY, PART_KEY, RETRY_KEY, find_job, results, retry_failed, submit, wait
from batches_ext.widgets import BatchMonitor, BatchTable
from fake_server import FakeBatchesAPI, ManualClock
from fake_server.responders import LineError
from fake_server.state import live_spills
from fake_server.wire import Request
from tests.concurrency import run_concurrently, until
from tests.reliability.conftest import bounded_or_long

KEY = "sk-faults"
RETRIES = 12  # a user expecting a flaky network raises max_retries


def _lines(n: int, tag: str) -> list[dict]:
    return [{"custom_id": f"{tag}-{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{tag} {i}"}]}}
            for i in range(n)]


def _client(fake: FakeBatchesAPI, door: str, server=None, retries: int = RETRIES, **kwargs) -> BatchesClient:
    if door == "loopback":
        client = BatchesClient(api_key=KEY, base_url=server.base_url, max_retries=retries, **kwargs)
    else:
        client = BatchesClient(api_key=KEY, session=fake.requests_session(), max_retries=retries, **kwargs)
    client.slept = []  # type: ignore[attr-defined]
    client.sleep = client.slept.append  # type: ignore[attr-defined]  # computed as usual, not slept
    return client


@pytest.fixture(params=["in-process", "loopback"])
def door(request):
    """(fake, client) on one door; the loopback server is stopped afterwards."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=3)  # Idempotency-Key ignored, like the real API
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
    """One input file and one batch per part, every line answered and joined to its input in order."""
    batches = _finish(fake, client, job)
    res = results(client, job)
    mine = [b for b in fake.batches() if (b.get("metadata") or {}).get(JOB_KEY) == job.id]
    inputs = [f for f in fake.files() if f["purpose"] == "batch"]
    duplicates = (len(mine) - len(job.batch_ids)) + (len(inputs) - len(job.batch_ids))
    lost = len(lines) - sum(1 for row in res if row.ok)
    report.loss("faults", f"{area}: duplicate batches or input files", max(duplicates, 0))
    report.loss("faults", f"{area}: result lines lost", lost)
    assert [b.status for b in batches] == ["completed"] * len(job.batch_ids)
    assert sorted(b["id"] for b in mine) == sorted(job.batch_ids) and duplicates == 0
    parts = sorted(b["metadata"][PART_KEY] for b in mine)
    assert parts == sorted(f"{i}/{len(job.batch_ids)}" for i in range(1, len(job.batch_ids) + 1))
    assert sorted(b["input_file_id"] for b in mine) == sorted(f["id"] for f in inputs)
    assert [row.custom_id for row in res] == [line["custom_id"] for line in lines]
    assert all(row.ok for row in res) and [row.input for row in res] == lines


# ---------------------------------------------------------------------------------------------- (a) 429 storms


def test_429_storm_on_every_route(door, report) -> None:
    """RETRIES - 1 429s in a row on upload, create, retrieve, download and list: the job finishes, each
    wait is the server's retry-after, and the job can still be found again by listing."""
    fake, client = door
    routes = {"upload": ("POST", "/files$"), "create": ("POST", "/batches$"), "retrieve": ("GET", "/batches/"),
              "download": ("GET", "/content$"), "list": ("GET", "/batches$")}
    storms = {name: fake.faults.rate_limit(times=RETRIES - 1, retry_after=1, method=m, path=p)
              for name, (m, p) in routes.items()}
    lines = _lines(20, "storm")
    job = submit(client, lines, max_lines=8)  # three parts
    _check_job(fake, client, job, lines, report, "429 storm")
    found = find_job(client, job.id)
    assert found.batch_ids == job.batch_ids
    assert {name: storm.hits for name, storm in storms.items()} == dict.fromkeys(routes, RETRIES - 1)
    assert client.slept == [1.0] * fake.faults.fired  # the server's retry-after, every time
    report.add("faults", "faults survived (429 storm)", fake.faults.fired)


def test_a_storm_longer_than_the_retries_is_one_clear_error(door) -> None:
    fake, client = door
    fake.faults.rate_limit(times=RETRIES + 1, retry_after=1, path="/batches$", method="POST")
    file = client.upload_file(b"".join(json.dumps(x).encode() + b"\n" for x in _lines(2, "x")))
    with pytest.raises(BatchesError) as caught:
        client.create_batch(file.id, "/v1/chat/completions")
    assert "429" in str(caught.value) and "req_" in str(caught.value)
    assert len(client.slept) == RETRIES and fake.batches() == []  # gave up after max_retries; nothing half-made


# ---------------------------------------------------------------------------------------------- (b) 5xx bursts


def test_5xx_bursts(door, report, tmp_path) -> None:
    """500/502/503 bursts of RETRIES - 1 on upload, create and poll, plus 503 on 30 % of every call, while a
    job streams its input from a JSONL file on disk (each retried upload re-reads its part)."""
    fake, client = door
    bursts = {status: fake.faults.fail_next(status, times=RETRIES - 1, path=path)
              for status, path in ((500, "/files$"), (502, "/batches$"), (503, "/batches/"))}
    rate = fake.faults.fail_rate(0.3, status=503)
    lines = _lines(15, "burst")
    path = tmp_path / "burst.jsonl"
    path.write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
    job = submit(client, path, max_lines=6)
    _check_job(fake, client, job, lines, report, "5xx burst")
    for status, burst in bursts.items():
        assert burst.hits == RETRIES - 1
        report.add("faults", f"faults survived ({status} burst)", burst.hits)
    report.add("faults", "faults survived (503 at 30 %)", rate.hits)
    assert rate.hits > 0


# ---------------------------------------------------------------------------------------------- (c) drops


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_dropped_responses_make_one_file_and_one_batch_per_part(door, after_commit: bool, report) -> None:
    """Half the uploads and creates (seeded) lose their connection, before the work or after it was
    committed; downloads and polls lose some too. The retried POSTs carry the same Idempotency-Key, so each
    part still has exactly one input file and one batch, and every line comes back."""
    fake, client = door
    drop = "after" if after_commit else "before"
    posts = fake.faults.add(rate=0.5, drop=drop, method="POST", path="/(files|batches)$", times=None)
    gets = fake.faults.add(rate=0.2, drop=drop, method="GET", times=None)
    lines = _lines(25, "drop")
    job = submit(client, lines, max_lines=5)  # five parts
    assert len(fake.files()) == 5 and len(fake.batches()) == 5
    _check_job(fake, client, job, lines, report, f"drops {drop} commit")
    assert posts.hits >= 3 and gets.hits >= 1
    report.add("faults", f"faults survived (POST dropped {drop} commit)", posts.hits)
    report.add("faults", f"faults survived (GET dropped {drop} answering)", gets.hits)


def test_a_delete_whose_answer_is_lost_after_commit_reports_success(door) -> None:
    """The user deletes an input file; the server deletes it but the answer is lost. The client retries
    (as it must: it cannot know), and the retry finds nothing to delete: the user should be told the file
    was deleted, not that it does not exist."""
    fake, client = door
    file = client.upload_file(b"".join(json.dumps(x).encode() + b"\n" for x in _lines(2, "gone")))
    drop = fake.faults.drop_next(method="DELETE", after_commit=True)
    outcome: object
    try:
        outcome = client.delete_file(file.id)
    except BatchesError as err:
        outcome = f"{type(err).__name__}: {err}"
    assert drop.hits == 1 and fake.files() == []  # the first attempt did delete it
    assert outcome is True, outcome


def test_a_create_slower_than_the_timeout_is_retried_without_a_second_batch(report) -> None:
    """The server takes longer than the client's read timeout: the client gives up on the first attempt
    and retries with the same Idempotency-Key while the first is still running. When both have been
    handled, the upload made one file and the create one batch. This needs a server that replays the key
    (honour_idempotency_key=True): the client's intent lookup cannot see a create that is still running when the
    retry looks (README, "Limits and known gaps")."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=4, honour_idempotency_key=True)
    with fake.serve() as server:
        client = _client(fake, "loopback", server, timeout=0.15)
        slow = [fake.faults.delay(0.5, method="POST", path=p, times=1) for p in ("/files$", "/batches$")]
        lines = _lines(6, "slow")
        job = submit(client, lines)
        posts = lambda: [r for r in fake.requests if r.method == "POST"]  # noqa: E731
        assert until(lambda: len(posts()) == 4)  # both twins of both calls have been answered
        assert len(fake.files()) == 1 and len(fake.batches()) == 1
        _check_job(fake, client, job, lines, report, "timeouts")
    assert [s.hits for s in slow] == [1, 1] and len(client.slept) == 2
    report.add("faults", "faults survived (POST slower than the timeout)", sum(s.hits for s in slow))


def test_twin_uploads_racing_with_one_idempotency_key_keep_one_file_and_no_spill() -> None:
    """Two copies of one large upload with the same Idempotency-Key arrive at once (a client that gave up
    on the first and retried while it was still arriving): both get the same file, only one is stored, and
    the losing copy's spill to disk is closed (freed), not kept. (Replay needs honour_idempotency_key=True:
    the real API is not known to honour the header, so the fake ignores it by default.)"""
    spills = live_spills()
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], honour_idempotency_key=True)
    content = b"".join(json.dumps({**x, "pad": "y" * 900}).encode() + b"\n" for x in _lines(10_000, "big"))
    assert len(content) > 8 * 1024 * 1024  # large enough that the fake spills it to a temporary file
    boundary = "twinboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--{boundary}\r\n'
            'Content-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"authorization": f"Bearer {KEY}", "content-type": f"multipart/form-data; boundary={boundary}",
               "idempotency-key": "twin-1"}
    arriving, go = threading.Event(), threading.Event()

    def slow_body():
        yield head + content[:-10]
        arriving.set()
        go.wait(10)
        yield content[-10:] + tail

    first: list = []
    thread = threading.Thread(target=lambda: first.append(fake.handle(Request("POST", "/v1/files", "", headers,
                                                                              slow_body()))))
    thread.start()
    assert arriving.wait(10)
    second = fake.handle(Request("POST", "/v1/files", "", headers, head + content + tail))
    go.set()
    thread.join(10)
    answers = [json.loads(r.body) for r in (first[0], second)]
    assert [r.status for r in (first[0], second)] == [200, 200] and answers[0]["id"] == answers[1]["id"]
    assert [f["id"] for f in fake.files()] == [answers[0]["id"]]
    assert fake.file_content(answers[0]["id"]) == content
    assert live_spills() == spills + 1  # the stored file's spill only
    fake.reset()
    assert live_spills() == spills


# ---------------------------------------------------------------------------------------------- (d) mixed


@pytest.mark.parametrize("jobs", bounded_or_long(12, 120))
@pytest.mark.parametrize("door_name", ["in-process", "loopback"])
def test_mixed_faults_many_split_jobs_from_concurrent_clients(jobs: int, door_name: str, report) -> None:
    """K split jobs submitted, waited for and joined by K threads at once (each its own client) while
    calls fail at random with 500/502/503/429 and connections drop before and after commit."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=5)  # Idempotency-Key ignored, like the real API
    server = fake.serve() if door_name == "loopback" else None
    rules = {
        "500": fake.faults.fail_rate(0.08, status=500),
        "502": fake.faults.fail_rate(0.04, status=502),
        "503": fake.faults.fail_rate(0.04, status=503),
        "429": fake.faults.add(rate=0.08, status=429, retry_after=2, times=None),
        "drop after commit": fake.faults.add(rate=0.10, drop="after", method="POST", times=None),
        "drop before": fake.faults.add(rate=0.05, drop="before", times=None),
    }
    rng = random.Random(9)
    inputs = [_lines(rng.randint(5, 40), f"job{j}") for j in range(jobs)]
    outcomes: dict[int, tuple] = {}

    def run(j: int) -> None:
        client = _client(fake, door_name, server)
        job = submit(client, inputs[j], max_lines=12)  # parts of at most 12 lines
        final = _finish(fake, client, job)
        outcomes[j] = (job, final, results(client, job))

    try:
        run_concurrently([functools.partial(run, j) for j in range(jobs)], timeout=120)
        fired = {kind: rule.hits for kind, rule in rules.items()}
        fake.faults.clear()
        held = fake.batches()
        held_inputs = [f for f in fake.files() if f["purpose"] == "batch"]
    finally:
        if server is not None:
            server.stop()

    parts = sum(len(job.batch_ids) for job, _, _ in outcomes.values())
    per_job = Counter((b.get("metadata") or {}).get(JOB_KEY) for b in held)
    duplicates = (len(held) - parts) + (len(held_inputs) - parts)
    lost = sum(len(inputs[j]) - sum(1 for row in res if row.ok) for j, (_, _, res) in outcomes.items())
    misjoined = [j for j, (_, _, res) in outcomes.items()
                 if [row.input for row in res] != inputs[j] or [r.custom_id for r in res]
                 != [x["custom_id"] for x in inputs[j]]]
    label = "bounded" if jobs < 100 else "long"
    report.add("faults", f"mixed run {door_name}: jobs / batches / lines ({label})",
               f"{jobs} / {parts} / {sum(map(len, inputs))}")
    for kind, hits in fired.items():
        report.add("faults", f"faults survived (mixed run: {kind})", hits)
    report.loss("faults", "mixed run: duplicate batches or input files", duplicates)
    report.loss("faults", "mixed run: result lines lost", lost)
    report.loss("faults", "mixed run: results joined to the wrong input", len(misjoined))

    assert len(outcomes) == jobs
    assert all(b.status == "completed" for _, final, _ in outcomes.values() for b in final)
    assert {job.id: len(job.batch_ids) for job, _, _ in outcomes.values()} == dict(per_job)
    assert duplicates == 0 and lost == 0 and not misjoined
    assert all(hits > 0 for hits in fired.values()), fired


def test_retry_failed_under_faults_makes_one_retry_batch_and_completes_every_line(door, report) -> None:
    """A split job whose every third line fails once (a transient per-line 500), then `retry_failed`, all
    while POSTs drop after commit and calls get 429/503 at random: the retry is one job of exactly the
    failed lines (one input file, one batch), and the first run's ok lines plus the retry's cover every
    input line once."""
    fake, client = door
    answered: set[str] = set()
    lock = threading.Lock()

    def flaky_once(line) -> None:
        with lock:
            first_time = line.custom_id not in answered
            answered.add(line.custom_id)
        if first_time and int(line.custom_id.rsplit("-", 1)[1]) % 3 == 0:
            raise LineError("The server had an error.", status_code=500, type="server_error")

    fake.responder = flaky_once
    rules = {
        "drop after commit": fake.faults.add(rate=0.4, drop="after", method="POST", times=None),
        "429": fake.faults.add(rate=0.1, status=429, retry_after=1, times=None),
        "503": fake.faults.fail_rate(0.1, status=503),
    }
    lines = _lines(20, "again")
    job = submit(client, lines, max_lines=8)  # three parts
    _finish(fake, client, job)
    first = results(client, job)
    failed = [row.custom_id for row in first if not row.ok]
    assert failed == [f"again-{i}" for i in range(0, 20, 3)]  # the user sees exactly the transient failures

    retry = retry_failed(client, job)
    _finish(fake, client, retry)
    again = results(client, retry)
    fired = {kind: rule.hits for kind, rule in rules.items()}
    fake.faults.clear()

    retry_batches = [b for b in fake.batches() if (b.get("metadata") or {}).get(RETRY_KEY) == job.id]
    inputs = [f for f in fake.files() if f["purpose"] == "batch"]
    duplicates = (len(fake.batches()) - 4) + (len(inputs) - 4) + (len(retry_batches) - 1)
    ok = Counter([row.custom_id for row in first if row.ok] + [row.custom_id for row in again if row.ok])
    lost = sum(1 for line in lines if ok[line["custom_id"]] != 1)
    report.loss("faults", "retry under faults: duplicate batches or input files", max(duplicates, 0))
    report.loss("faults", "retry under faults: result lines lost", lost)
    for kind, hits in fired.items():
        report.add("faults", f"faults survived (retry_failed run: {kind})", hits)

    assert [b["id"] for b in retry_batches] == retry.batch_ids and duplicates == 0
    assert [row.custom_id for row in again] == failed and all(row.ok for row in again)
    assert [row.input for row in again] == [line for line in lines if line["custom_id"] in failed]
    assert lost == 0
    assert fired["drop after commit"] > 0


def test_monitor_wait_outlasts_a_storm_longer_than_the_clients_retries(door, report) -> None:
    """`BatchMonitor.wait()` (no refresher thread) while three whole refreshes fail, each after the client
    spent all its retries: wait keeps polling, returns the final batches, and the Results button's loader
    then joins every line back to its input while downloads drop."""
    fake, client = door
    lines = _lines(9, "watch")
    job = submit(client, lines, max_lines=3)
    monitor = BatchMonitor(client, job.batch_ids, interval=0.001, auto_refresh=False, namespace={})
    try:
        storm = fake.faults.fail_next(503, times=3 * (RETRIES + 1), path="/batches/")
        fake.advance(3600)
        final = monitor.wait(timeout=30)
        assert [b.status for b in final] == ["completed"] * 3 and storm.hits == 3 * (RETRIES + 1)
        assert monitor.done and monitor.error is None and monitor.parts["error"].value == ""
        drops = fake.faults.add(rate=0.3, drop="before", method="GET", times=None)
        loaded = monitor.load_results("res")
    finally:
        monitor.close()
    rows = [row for bid in job.batch_ids for row in loaded[bid]]
    lost = len(lines) - sum(1 for row in rows if row.ok)
    report.add("faults", "faults survived (monitor wait: 503s past the retries)", storm.hits)
    report.add("faults", "faults survived (monitor results: GETs dropped)", drops.hits)
    report.loss("faults", "monitor: result lines lost", lost)
    assert monitor.namespace["res"] is loaded and drops.hits > 0
    assert lost == 0 and [row.input for row in rows] == lines


# ---------------------------------------------------------------------------------------------- (e) widgets

_ROW = re.compile(r"data-batch-id='([^']+)'.*?bx-badge bx-(\w+)", re.S)


def _shown(html: str) -> list[tuple[str, str]]:
    """(batch id, status) pairs as a user sees them in a view's HTML."""
    return _ROW.findall(html)


def _table_html(table) -> str:
    """The table's rows as the browser draws them (one <tr> per row of its rows widget)."""
    return "".join(f"<tr data-batch-id='{r['id']}'>{''.join(r['cells'])}</tr>" for r in table.rows_view.rows)


def test_widgets_keep_their_rows_through_faults_and_recover(report) -> None:
    """A table (paged) and a monitor on the loopback fake: every refresh that fails (500, 503, 429, a
    dropped connection, then connection refused once the server stops) leaves the same ids and statuses
    on screen and shows the error line; the first refresh after the fault clears it, and when the server
    comes back on the same address the same views and client pick up the batches' new statuses."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY], seed=8)
    seeded = [fake.seed_batch("in_progress", requests=10) for _ in range(5)]
    watched = [b["id"] for b in seeded[:2]]
    newest = [b["id"] for b in reversed(seeded)]
    server = fake.serve()
    port = server.port
    client = _client(fake, "loopback", server, retries=0)
    table = BatchTable(client, page_size=2, auto_refresh=False, namespace={})
    monitor = BatchMonitor(client, watched, auto_refresh=False, namespace={})
    assert table.wait_idle() and monitor.wait_idle()  # both load on their worker threads

    def monitor_rows() -> list[tuple[str, str]]:
        return [p for bid in watched for p in _shown(monitor.parts[f"row:{bid}"].value)]

    failed = rows_lost = 0

    def failing(view, act, shows: str) -> None:
        nonlocal failed, rows_lost
        assert act() is False
        assert shows in view.error and "refresh failed" in view.parts["error"].value
        failed += 1
        rows_lost += (_shown(_table_html(table)) != table_before) + (monitor_rows() != monitor_before)
        rows_lost += table.page != 1

    try:
        assert table.batch_ids == newest[:2] and table.has_next
        table_before, monitor_before = _shown(_table_html(table)), monitor_rows()
        assert table_before == [(b, "in_progress") for b in newest[:2]]
        assert monitor_before == [(b, "in_progress") for b in watched]

        faults = [(lambda: fake.faults.fail_next(500), "500"), (lambda: fake.faults.fail_next(503), "503"),
                  (lambda: fake.faults.rate_limit(retry_after=1), "429"),
                  (lambda: fake.faults.drop_next(), "the server closed the connection without answering")]
        for inject, shows in faults:
            for view, act in ((table, table.refresh), (monitor, monitor.refresh), (table, table.next_page)):
                inject()
                failing(view, act, shows)
            for view in (table, monitor):  # the fault has passed: the next refresh clears the error line
                assert view.refresh() is True and view.error is None and view.parts["error"].value == ""

        # a storm: half the calls fail one way or another; after every refresh the same rows are shown
        storm = [fake.faults.fail_rate(0.15, status=500), fake.faults.add(rate=0.15, status=429, times=None),
                 fake.faults.add(rate=0.2, drop="before", times=None)]
        for _ in range(40):
            for view in (table, monitor):
                if not view.refresh():
                    failed += 1
                    assert "refresh failed" in view.parts["error"].value
                else:
                    assert view.parts["error"].value == ""
                rows_lost += (_shown(_table_html(table)) != table_before) + (monitor_rows() != monitor_before)
        assert sum(rule.hits for rule in storm) > 10
        fake.faults.clear()

        server.stop()  # the server is gone: connection refused
        for view in (table, monitor):
            failing(view, view.refresh, "cannot connect to http://127.0.0.1")

        fake.advance(86_400)
        server = fake.serve(port=port)  # back on the same address: the same views and client recover
        for view in (table, monitor):
            assert view.refresh() is True and view.error is None and view.parts["error"].value == ""
        assert monitor_rows() == [(b, "completed") for b in watched] and monitor.done
        assert _shown(_table_html(table)) == [(b, "completed") for b in newest[:2]]
        assert table.next_page() is True and table.batch_ids == newest[2:4]
    finally:
        table.close()
        monitor.close()
        server.stop()
    report.add("faults", "faults survived (widget refreshes failed)", failed)
    report.loss("faults", "widget rows lost or changed during faults", rows_lost)
    assert rows_lost == 0
