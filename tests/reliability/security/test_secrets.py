"""The API key never shows: not in a full notebook run, an exception the core raises, a widget's state, a
redirect to another origin, a log line or the process's output.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import AuthenticationError, BatchesError, NotFoundError
from fake_server import FakeBatchesAPI, ManualClock, SystemClock
from tests.reliability.security.probes import (
    BODY,
    KEY,
    LINE,
    chain_text,
    count_leaks,
    key_count,
    magic_output,
    redirecting,
)


def test_a_full_notebook_run_never_shows_the_key(monkeypatch, report) -> None:
    """quickstart.ipynb end to end on its "real API" branch, against a loopback fake that accepts only a canary
    key: the run completes, and the canary is nowhere in the saved notebook (outputs, widget state, metadata),
    the files it wrote, or the server's request log."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=SystemClock(speed=2000), api_keys=[canary])  # no other key gets in
    notebook = Path(__file__).resolve().parents[3] / "notebooks" / "quickstart.ipynb"
    with fake.serve() as server, tempfile.TemporaryDirectory() as workdir:
        monkeypatch.setenv("OPENAI_API_KEY", canary)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "BATCHES_FAKE_SPEED"):
            monkeypatch.delenv(var, raising=False)
        nb = nbformat.read(notebook, as_version=4)
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", store_widget_state=True,
                                resources={"metadata": {"path": workdir}}).execute()
        saved = Path(workdir) / "executed.ipynb"
        nbformat.write(nb, saved)
        text = saved.read_text(encoding="utf-8")
        written = "".join(p.read_text(errors="replace") for p in Path(workdir).rglob("*") if p.is_file())
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = json.dumps(outputs).lower()
    assert "using the real openai batch api" in shown and "offline fake" not in shown  # the key branch ran
    assert "'completed'" in text and "'cancelled'" in text
    assert "application/vnd.jupyter.widget-state+json" in text  # the widget state is part of what was searched
    calls = {(r.method, re.sub(r"(batch_|file-)\w+", "ID", r.path)) for r in fake.requests}
    assert {("POST", "/v1/files"), ("POST", "/v1/batches"), ("POST", "/v1/batches/ID/cancel")} <= calls
    assert all(r.status is not None and r.status < 400 for r in fake.requests)  # the canary was accepted
    recorded = json.dumps([r.__dict__ for r in fake.requests], default=str)
    leaks = count_leaks(canary, text, written, recorded)
    report.add("security", "notebook run: requests made with the canary key", len(fake.requests))
    report.loss("security", "key leaks", leaks)
    assert leaks == 0


def test_no_exception_the_core_raises_carries_the_key(report) -> None:
    """Status errors 400/401/404/409/429/500/502/503 (one from a server that echoes the key in its message),
    a dropped connection, a read timeout and a refused connection, from every kind of call: the key is in
    none of their str, repr, args, attributes, pickle, chain or traceback; nor in repr() of client or settings."""
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    raised: list[BaseException] = []
    echo = {"error": {"message": f"Incorrect API key provided: {canary}. Bearer {canary}",
                      "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    with fake.serve() as server:
        client = BatchesClient(api_key=canary, base_url=server.base_url, max_retries=0, timeout=0.3)
        completed = fake.seed_batch("completed")
        scenarios = [
            (400, lambda: client.create_batch("file-nope", "/v1/nope")),
            (400, lambda: client.upload_file(b"not json\n", filename="x.txt")),
            (401, lambda: BatchesClient(api_key="sk-other", base_url=server.base_url).list_batches()),
            (404, lambda: client.retrieve_batch("batch_nope")),
            (404, lambda: client.file_content("file-nope")),
            (409, lambda: client.cancel_batch(completed["id"])),
            (429, lambda: (fake.faults.rate_limit(), client.list_batches())),
            (500, lambda: (fake.faults.fail_next(500), client.retrieve_batch(completed["id"]))),
            (502, lambda: (fake.faults.fail_next(502), client.upload_file(json.dumps(LINE).encode() + b"\n"))),
            (503, lambda: (fake.faults.fail_next(503), client.list_files())),
            (401, lambda: (fake.faults.add(status=401, body=echo), client.list_batches())),
            (500, lambda: (fake.faults.add(status=500, body=echo), client.retrieve_file("file-x"))),
            (None, lambda: (fake.faults.drop_next(), client.list_batches())),
            (None, lambda: (fake.faults.drop_next(method="POST"), client.cancel_batch(completed["id"]))),
            (None, lambda: (fake.faults.delay(1.0, times=1), client.list_batches())),
        ]
        for status, scenario in scenarios:
            with pytest.raises(BatchesError) as caught:
                scenario()
            assert getattr(caught.value, "status_code", None) == status, caught.value
            raised.append(caught.value)
        client.close()
    with pytest.raises(BatchesError) as refused:  # the server is gone: connection refused
        BatchesClient(api_key=canary, base_url=server.base_url, max_retries=0).list_batches()
    raised.append(refused.value)
    texts = [chain_text(exc) for exc in raised]
    assert "Incorrect API key provided" in texts[10]  # the echoed message is kept, with the key cut out
    from batches_ext.config import Settings

    settings = Settings.resolve(env={"OPENAI_API_KEY": canary})
    shown = [repr(client), str(client), repr(client.settings), str(client.settings), repr(settings),
             repr(dict(settings.sources)), repr(fake)]
    leaks = count_leaks(canary, *texts, *shown)
    report.add("security", "exceptions checked for the key", len(raised))
    report.loss("security", "key leaks", leaks)
    assert leaks == 0


def test_widget_state_never_holds_the_key(report) -> None:
    """The table and monitor, refreshed against a server that echoes the key in a 401 and then answers: the
    state of every widget in their trees (and of every widget alive) never holds it."""
    ipywidgets = pytest.importorskip("ipywidgets")
    from batches_ext.widgets import BatchMonitor, BatchTable

    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    batch = fake.seed_batch("in_progress", requests=5)
    fake.seed_batch("failed")
    fake.faults.add(status=401, times=1, body={"error": {"message": f"bad key {canary}", "type":
                                                         "invalid_request_error", "param": None, "code": None}})
    with fake.serve() as server:
        client = BatchesClient(api_key=canary, base_url=server.base_url, max_retries=0)
        table = BatchTable(client, auto_refresh=False, namespace={})
        assert table.wait_idle()  # the first load runs on the view's worker thread
        monitor = BatchMonitor(client, [batch["id"]], auto_refresh=False, namespace={})
        assert monitor.wait_idle()
        try:
            assert "bad key" in table.error  # the table's first refresh got the echoing 401
            states: list[dict] = []

            def walk(widget) -> None:
                states.append(widget.get_state())
                for value in widget.get_state().values():
                    for item in value if isinstance(value, (list, tuple)) else [value]:
                        if isinstance(item, ipywidgets.Widget):
                            walk(item)
                for child in getattr(widget, "children", ()):
                    walk(child)

            for view in (table, monitor):
                walk(view)
            table.refresh()  # now answered: the rows are in the state too
            walk(table)
            everything = ipywidgets.Widget.get_manager_state(drop_defaults=False)
            blob = json.dumps([states, everything], default=str) + repr(table) + repr(monitor)
            assert batch["id"] in blob and len(states) > 10
            leaks = count_leaks(canary, blob)
            report.add("security", "widget states checked for the key", len(states))
            report.loss("security", "key leaks", leaks)
            assert leaks == 0
        finally:
            table.close()
            monitor.close()
            client.close()


def test_a_redirect_to_another_origin_never_carries_the_key(tmp_path: Path, report) -> None:
    """A base URL that answers every call with a 307 or 308 to another origin (the fake on another port, which
    accepts only the canary key): the key reaches the redirecting server on every call, yet every redirected GET
    reaches the fake without it (401 "You didn't provide an API key"), and every POST or DELETE is not followed at
    all (an APIResponseError naming the Location), so nothing is read or changed."""
    from batches_ext.errors import APIResponseError

    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    done = fake.seed_batch("completed", requests=2)
    running = fake.seed_batch("in_progress", requests=50)
    before = json.dumps([fake.batches(), fake.files()], sort_keys=True)
    received: list[str | None] = []
    with fake.serve() as server, redirecting(server.base_url, received) as base_url:
        with BatchesClient(api_key=canary, base_url=base_url, max_retries=0) as client:
            reads = {
                "list batches": lambda: client.list_batches(),
                "retrieve batch": lambda: client.retrieve_batch(done["id"]),
                "list files": lambda: client.list_files(),
                "retrieve file": lambda: client.retrieve_file(done["output_file_id"]),
                "file content": lambda: client.file_content(done["output_file_id"]),
                "save file": lambda: client.save_file(done["output_file_id"], tmp_path),
            }
            writes = {
                "cancel batch": lambda: client.cancel_batch(running["id"]),
                "create batch": lambda: client.create_batch(done["input_file_id"]),
                "delete file": lambda: client.delete_file(done["input_file_id"]),
                "upload": lambda: client.upload_file(BODY),
            }
            for name, call in reads.items():
                with pytest.raises(AuthenticationError) as caught:
                    call()
                assert caught.value.code is None and "didn't provide an API key" in str(caught.value), name
            for name, call in writes.items():
                with pytest.raises(APIResponseError, match=f"redirecting to {server.base_url}") as refused:
                    call()
                assert canary not in chain_text(refused.value), name
        followed = [r for r in fake.requests if r.path.startswith("/v1/")]
    assert received == [f"Bearer {canary}"] * (len(reads) + len(writes))  # the key was really sent, to the first origin
    assert len(followed) == len(reads) and {r.status for r in followed} == {401} and {r.method for r in followed} == {"GET"}
    assert json.dumps([fake.batches(), fake.files()], sort_keys=True) == before and list(tmp_path.iterdir()) == []
    report.add("security", "redirects to another origin checked", len(reads) + len(writes))


def test_a_redirected_upload_fails_fast_and_says_why() -> None:
    """An upload answered with a 308 (e.g. a proxy moving http to https) ends at once, with an error that is not
    a timeout (one naming the redirect, or the redirected server's own answer), not after the read timeout."""
    from batches_ext.errors import APITimeoutError

    fake = FakeBatchesAPI(clock=ManualClock())
    received: list[str | None] = []
    with fake.serve() as server, redirecting(server.base_url, received, statuses=(308,)) as base_url:
        with BatchesClient(api_key=KEY, base_url=base_url, max_retries=0, timeout=1.5) as client:
            started = time.perf_counter()
            with pytest.raises(BatchesError) as caught:
                client.upload_file(BODY)
            elapsed = time.perf_counter() - started
    assert received == [f"Bearer {KEY}"] and not isinstance(caught.value, APITimeoutError), repr(caught.value)
    assert elapsed < 1.0, f"the upload hung for {elapsed:.1f} s (the read timeout)"


def test_logs_and_process_output_never_show_the_key(caplog, capfd, report) -> None:
    """Every logger at DEBUG (requests, urllib3, batches_ext, fake_server) and the process's stdout/stderr over a
    whole workflow (upload, create, list, cancel, a retried 503, download, a 404, a 401): the key is never shown."""
    import logging

    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    caplog.set_level(logging.DEBUG)
    with fake.serve() as server, BatchesClient(api_key=canary, base_url=server.base_url, max_retries=2) as client:
        client.sleep = lambda _: None
        uploaded = client.upload_file(BODY)
        batch = client.create_batch(uploaded.id)
        assert [b.id for b in client.list_batches().data] == [batch.id]
        client.cancel_batch(batch.id)
        fake.faults.fail_next(503)
        client.retrieve_batch(batch.id)
        assert b"".join(client.file_content(uploaded.id)) == BODY
        with pytest.raises(NotFoundError):
            client.retrieve_file("file-nope")
        with pytest.raises(AuthenticationError):
            BatchesClient(api_key=canary + "x", base_url=server.base_url).list_batches()
    out, err = capfd.readouterr()
    records = [record.getMessage() + repr(record.args) + repr(vars(record)) for record in caplog.records]
    assert any("127.0.0.1" in record for record in records)  # urllib3 logged at DEBUG: the capture is live
    leaks = key_count(canary, out, err, *records)
    report.add("security", "log records checked for the key", len(records))
    report.loss("security", "key leaks", leaks)
    assert leaks == 0


def test_a_canary_key_never_shows_on_any_error_path_of_a_hostile_server(report) -> None:
    """A key read with its trailing newline (`open(keyfile).read()`) is sent stripped; then every error path of
    the hostile loopback server (the key echoed in the message, type, code, param and request id; a trickle cut
    at the deadline; silence; a huge error body; malformed answers; redirects; a Retry-After above 120 s; a lost
    create; a refused connection; URL credentials; a key with a space inside): the canary is in none of the
    exceptions (str, repr, attributes, pickle, chain, traceback), nor in what the magics print."""

    from batches_ext.errors import ConfigError
    from tests.batches_ext.client.hostile_server import hostile_server

    canary = "sk-canary-" + uuid.uuid4().hex
    raised: list[BaseException] = []
    with hostile_server() as server:
        def client(behaviour: str, **settings) -> BatchesClient:
            made = BatchesClient(api_key=canary + "\n", base_url=server.url(behaviour), **settings)
            made.sleep = lambda _: None
            return made

        calls = [
            lambda: client("echo-key").retrieve_batch("b"),
            lambda: client("echo-key").create_batch("file-in"),
            lambda: client("echo-key").upload_file(BODY),
            lambda: client("trickle", timeout=0.5, max_retries=0).retrieve_batch("b"),
            lambda: client("silence", timeout=0.3, max_retries=1).list_batches(),
            lambda: client("huge-error", max_retries=0).list_files(),
            lambda: client("shape/id-number").retrieve_batch("b"),
            lambda: client("shape/not-json").cancel_batch("b"),
            lambda: client("redirect/307").create_batch("file-in"),
            lambda: client("retry-after/121").retrieve_batch("b"),
            lambda: BatchesClient(api_key=canary, base_url=f"http://u:{canary}@127.0.0.1:9/v1",
                                  max_retries=0).list_batches(),
            lambda: BatchesClient(api_key=canary[:12] + " " + canary[12:]),
            lambda: BatchesClient(api_key=canary[:12] + "\n" + canary[12:]),
        ]
        for call in calls:
            with pytest.raises(BatchesError) as caught:
                call()
            raised.append(caught.value)
        assert isinstance(raised[-1], ConfigError) and "whitespace inside it" in str(raised[-1])
        sent = {s.headers.get("Authorization") for s in server.seen}
        assert sent == {f"Bearer {canary}"}  # stripped of its newline, and really sent on every call

        with pytest.MonkeyPatch.context() as env:
            env.setenv("OPENAI_API_KEY", canary + "\n")
            env.setenv("OPENAI_BASE_URL", server.url("echo-key"))
            printed = magic_output("%batches get batch_1", "%batches config")
    assert "401 Unauthorized: Incorrect API key provided: Bearer sk-***" in printed and "Traceback" not in printed
    leaks = count_leaks(canary, printed, *[chain_text(exc) for exc in raised])
    report.add("security", "hostile-server error paths checked for the key", len(raised) + 2)
    report.loss("security", "key leaks", leaks)
    assert leaks == 0


def test_a_hung_call_interrupted_under_verbose_tracebacks_shows_no_key(report) -> None:
    """`%xmode Verbose` prints every frame's locals. A call hung on a silent server and interrupted (the user's
    Ctrl-C, here a signal to the main thread) shows the requests and urllib3 frames down to the socket, their
    header dicts included, with the Authorization value as `'Bearer sk-***'`; so does
    `traceback.TracebackException(..., capture_locals=True)`."""
    import signal
    import threading
    import traceback as tb

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from tests.batches_ext.client.hostile_server import hostile_server

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    sealed = _Sealed("sk-canary-" + uuid.uuid4().hex)  # this frame is in the traceback too: no plain local

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, interrupt)
    shell = InteractiveShell.instance()
    try:
        with hostile_server() as server:
            def interrupt_once_hung(count: int) -> threading.Thread:
                def run() -> None:
                    while len(server.seen) < count:
                        time.sleep(0.01)
                    time.sleep(0.2)  # in recv by now (if not, the interrupt lands a little higher: still fine)
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)

                thread = threading.Thread(target=run, daemon=True)
                thread.start()
                return thread

            client = BatchesClient(api_key=sealed.value, base_url=server.url("silence"), timeout=30, max_retries=0)
            interrupt_once_hung(1)
            with pytest.raises(KeyboardInterrupt) as caught:
                client.retrieve_batch("batch_1")
            with_locals = "".join(tb.TracebackException.from_exception(caught.value, capture_locals=True).format())

            shell.user_ns["client"] = client
            shell.run_line_magic("xmode", "Verbose")
            interrupt_once_hung(2)
            with capture_output() as shown:
                shell.run_cell("client.retrieve_batch('batch_1')", store_history=False)
    finally:
        signal.signal(signal.SIGUSR1, previous)
        shell.run_line_magic("xmode", "Context")
        shell.user_ns.pop("client", None)
    verbose = shown.stdout + shown.stderr
    for text in (with_locals, verbose):
        assert "KeyboardInterrupt" in text and "urllib3" in text  # the frames down to the socket are there
        assert "'Bearer sk-***'" in text  # a header dict was shown, its Authorization value redacted
    leaks = count_leaks(sealed.value, with_locals, verbose)
    report.add("security", "verbose tracebacks of a hung call checked for the key", 2)
    report.loss("security", "key leaks", leaks)
    assert leaks == 0


class _Sealed:
    """A value a traceback's locals do not show."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<sealed>"
