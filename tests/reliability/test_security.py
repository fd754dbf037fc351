"""Security: organizations and projects never see each other, bad keys get 401, the API key never shows
(a full notebook run, every exception, every repr and widget state), downloads stay inside their target,
and an oversized upload is refused without filling memory or disk.

Everything runs against the loopback fake, so each request crosses a real socket as it would in production.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import tempfile
import time
import traceback
import tracemalloc
import uuid
from pathlib import Path

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError, NotFoundError
from fake_server import FakeBatchesAPI, ManualClock, SystemClock
from tests.reliability.conftest import bounded_or_long

KEY = "sk-sec-" + uuid.uuid4().hex
BOUND = "sk-bound-" + uuid.uuid4().hex  # a key that belongs to org-a only
TENANTS = {"default": (None, None), "org-a": ("org-a", None), "org-a/proj-1": ("org-a", "proj-1"),
           "org-b": ("org-b", None)}
ROUTES = [("GET", "/batches"), ("POST", "/batches"), ("GET", "/batches/batch_x"),
          ("POST", "/batches/batch_x/cancel"), ("GET", "/files"), ("POST", "/files"), ("GET", "/files/file-x"),
          ("DELETE", "/files/file-x"), ("GET", "/files/file-x/content")]
LINE = {"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}


def _headers(tenant: str, key: str = KEY) -> dict[str, str]:
    org, project = TENANTS[tenant]
    headers = {"Authorization": f"Bearer {key}"}
    if org:
        headers["OpenAI-Organization"] = org
    if project:
        headers["OpenAI-Project"] = project
    return headers


@pytest.fixture(scope="module")
def world():
    """A loopback fake holding, per tenant, a running batch, a completed batch and their files."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={KEY: None, BOUND: "org-a"})
    owned: dict[str, dict] = {}
    for tenant, (org, project) in TENANTS.items():
        running = fake.seed_batch("in_progress", requests=4, organization=org, project=project)
        done = fake.seed_batch("completed", requests=4, failed=1, organization=org, project=project)
        owned[tenant] = {"batches": [running["id"], done["id"]],
                         "files": [running["input_file_id"], done["input_file_id"], done["output_file_id"],
                                   done["error_file_id"]]}
    with fake.serve() as server:
        yield fake, server, owned


def _state(fake: FakeBatchesAPI, owned: dict) -> str:
    """The seeded objects as the fake holds them (batches created by the probes themselves left out)."""
    ids = {i for objects in owned.values() for kind in objects.values() for i in kind}
    return json.dumps([[b for b in fake.batches() if b["id"] in ids], [f for f in fake.files() if f["id"] in ids]],
                      sort_keys=True)


def test_no_tenant_reads_lists_cancels_or_deletes_another_s_objects(world, report) -> None:
    fake, server, owned = world
    before = _state(fake, owned)
    base, probes, stolen_ids = server.base_url, 0, []
    for intruder in TENANTS:
        session = requests.Session()
        session.headers.update(_headers(intruder))
        for owner, objects in owned.items():
            if owner == intruder:
                continue
            for batch_id in objects["batches"]:
                for method, path in (("GET", f"/batches/{batch_id}"), ("POST", f"/batches/{batch_id}/cancel")):
                    answer = session.request(method, base + path)
                    assert answer.status_code == 404, (intruder, owner, method, path, answer.text)
                    assert batch_id in answer.json()["error"]["message"]
                    probes += 1
                page = session.get(base + "/batches", params={"after": batch_id, "limit": 100})
                assert not {b["id"] for b in page.json().get("data", [])} & set(objects["batches"])
                probes += 1
            for file_id in objects["files"]:
                for method, path in (("GET", f"/files/{file_id}"), ("GET", f"/files/{file_id}/content"),
                                     ("DELETE", f"/files/{file_id}")):
                    assert session.request(method, base + path).status_code == 404, (intruder, owner, path)
                    probes += 1
                stolen = session.post(base + "/batches", json={"input_file_id": file_id, "completion_window": "24h",
                                                               "endpoint": "/v1/chat/completions"})
                # like the real API, create does not look the file up: the batch fails validation instead
                assert stolen.status_code == 200 and stolen.json()["status"] == "validating", stolen.text
                stolen_ids.append(stolen.json()["id"])
                probes += 1
        listed = {b["id"] for b in _paged(session, base + "/batches")}
        files = {f["id"] for f in _paged(session, base + "/files")}
        assert listed - set(stolen_ids) == set(owned[intruder]["batches"]), intruder
        assert files == set(owned[intruder]["files"]), intruder
        probes += 2
    changed = _state(fake, owned) != before  # nothing was cancelled or deleted by any of it
    fake.advance(600)
    for batch_id in stolen_ids:
        batch = fake.batch(batch_id)
        assert batch["status"] == "failed" and batch["output_file_id"] is None
        assert "does not have access" in batch["errors"]["data"][0]["message"]
    report.add("security", "cross-tenant probes refused (raw HTTP)", probes)
    report.loss("security", "cross-tenant reads, lists or changes", int(changed))
    assert not changed


def _paged(session: requests.Session, url: str) -> list[dict]:
    out, after = [], None
    while True:
        page = session.get(url, params={"limit": 2, **({"after": after} if after else {})}).json()
        out += page["data"]
        if not page.get("has_more"):
            return out
        after = page["data"][-1]["id"]


def test_the_core_sees_only_its_own_tenant(world, report) -> None:
    fake, server, owned = world
    before, probes = _state(fake, owned), 0
    for tenant, (org, project) in TENANTS.items():
        with BatchesClient(api_key=KEY, base_url=server.base_url, organization=org, project=project) as client:
            listed = {b.id for b in client.iter_batches(page_size=1)}
            others = {i for t, objects in owned.items() if t != tenant for i in objects["batches"]}
            assert set(owned[tenant]["batches"]) <= listed and not listed & others
            for owner, objects in owned.items():
                if owner == tenant:
                    continue
                batch_id, files = objects["batches"][0], objects["files"]
                for call, target in ((client.retrieve_batch, batch_id), (client.cancel_batch, batch_id),
                                     (client.retrieve_file, files[0]), (client.file_content, files[2]),
                                     (client.delete_file, files[1])):
                    with pytest.raises(NotFoundError):
                        call(target)
                    probes += 1
    assert _state(fake, owned) == before
    report.add("security", "cross-tenant probes refused (core)", probes)


def test_a_key_bound_to_an_organization_cannot_claim_another(world) -> None:
    _, server, owned = world
    own = requests.get(server.base_url + "/batches", params={"limit": 100}, headers={"Authorization": f"Bearer {BOUND}"})
    listed = {b["id"] for b in own.json()["data"]}
    others = {i for t, objects in owned.items() if t != "org-a" for i in objects["batches"]}
    assert set(owned["org-a"]["batches"]) <= listed and not listed & others
    for other in ("org-b", "org-fake"):
        answer = requests.get(server.base_url + "/batches",
                              headers={"Authorization": f"Bearer {BOUND}", "OpenAI-Organization": other})
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "mismatched_organization"
        assert BOUND not in answer.text


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token sk-x",
                                           "Bearer sk-wrong-CANARY0123456789"])
def test_missing_malformed_and_wrong_keys_get_401_on_every_route(world, authorization, report) -> None:
    _, server, _ = world
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in ROUTES:
        answer = requests.request(method, server.base_url + path, headers=headers)
        assert answer.status_code == 401, (method, path, answer.status_code)
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
        assert answer.headers["x-request-id"].startswith("req_")
        if authorization and len(authorization) > 8:
            secret = authorization.split(" ", 1)[-1]
            assert secret not in answer.text and secret not in str(answer.headers)
    report.add("security", "401 probes (routes x malformed keys)", len(ROUTES))


# ------------------------------------------------------------------------------------------ the key


def test_a_full_notebook_run_never_shows_the_key(monkeypatch, report) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=SystemClock(speed=2000), api_keys=[canary])  # no other key gets in
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
    with fake.serve() as server, tempfile.TemporaryDirectory() as workdir:
        monkeypatch.setenv("OPENAI_API_KEY", canary)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
            monkeypatch.delenv(var, raising=False)
        nb = nbformat.read(notebook, as_version=4)
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": workdir}}).execute()
        saved = Path(workdir) / "executed.ipynb"
        nbformat.write(nb, saved)
        text = saved.read_text()
        scratch = "".join(p.read_text(errors="replace") for p in Path(workdir).iterdir() if p.is_file())
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "using the real OpenAI Batch API" in text  # the key branch ran, against the fake
    assert "'completed'" in text and "'cancelled'" in text
    recorded = json.dumps([r.headers for r in fake.requests])
    assert len(fake.requests) > 10 and all(r.status != 401 for r in fake.requests)
    leaks = sum(blob.count(canary) + blob.count(canary[10:]) for blob in (text, recorded, scratch))
    report.add("security", "notebook run: requests made with the canary key", len(fake.requests))
    report.loss("security", "key leaks (notebook, widget state, files, server log)", leaks)
    assert leaks == 0


def _chain(exc: BaseException) -> str:
    seen, parts, node = set(), [], exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        parts += [str(node), repr(node), repr(node.args), "".join(traceback.format_exception(node))]
        node = node.__cause__ or node.__context__
    return "\n".join(parts)


def test_no_exception_carries_the_key(report) -> None:
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    raised: list[BaseException] = []
    with fake.serve() as server:
        client = BatchesClient(api_key=canary, base_url=server.base_url, max_retries=0, timeout=0.2)
        completed = fake.seed_batch("completed")
        echo = {"error": {"message": f"Incorrect API key provided: {canary}", "type": "invalid_request_error",
                          "param": None, "code": "invalid_api_key"}}
        scenarios = [
            lambda: client.create_batch("file-nope", "/v1/nope"),                          # 400
            lambda: BatchesClient(api_key="sk-other", base_url=server.base_url).list_batches(),  # 401
            lambda: client.retrieve_batch("batch_nope"),                                   # 404
            lambda: client.cancel_batch(completed["id"]),                                  # 409
            lambda: (fake.faults.rate_limit(), client.list_batches()),                     # 429
            lambda: (fake.faults.fail_next(500), client.list_batches()),                   # 500
            lambda: (fake.faults.add(status=401, body=echo), client.list_batches()),       # a server echoing the key
            lambda: (fake.faults.drop_next(), client.list_batches()),                      # connection dropped
            lambda: (fake.faults.delay(1.0, times=1), client.list_batches()),              # read timeout
        ]
        for scenario in scenarios:
            with pytest.raises(BatchesError) as caught:
                scenario()
            raised.append(caught.value)
        client.close()
    port = server.base_url.split(":")[2].split("/")[0]
    with pytest.raises(BatchesError) as refused:  # the server is gone: connection refused
        BatchesClient(api_key=canary, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0).list_batches()
    raised.append(refused.value)
    texts = [_chain(exc) for exc in raised]
    assert [getattr(exc, "status_code", None) for exc in raised[:7]] == [400, 401, 404, 409, 429, 500, 401]
    assert "Incorrect API key provided" in texts[6]  # the echoed message is kept, with the key cut out
    leaks = sum(text.count(canary) for text in texts) + repr(client).count(canary) + repr(client.settings).count(canary)
    report.add("security", "exceptions checked for the key (str, repr, args, chain, traceback)", len(raised))
    report.loss("security", "key leaks (exceptions, reprs)", leaks)
    assert leaks == 0


def test_widget_state_never_holds_the_key() -> None:
    ipywidgets = pytest.importorskip("ipywidgets")
    from batches_ext.widgets import BatchMonitor, BatchTable

    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    batch = fake.seed_batch("in_progress", requests=5)
    fake.faults.add(status=401, body={"error": {"message": f"bad key {canary}", "type": "invalid_request_error",
                                                "param": None, "code": "invalid_api_key"}})
    with fake.serve() as server:
        client = BatchesClient(api_key=canary, base_url=server.base_url, max_retries=0)
        table = BatchTable(client, auto_refresh=False, namespace={})
        monitor = BatchMonitor(client, [batch["id"]], auto_refresh=False, namespace={})
        try:
            states = []

            def walk(widget) -> None:
                states.append(widget.get_state())
                for child in getattr(widget, "children", ()):
                    walk(child)

            for view in (table, monitor):
                walk(view)
            blob = json.dumps(states, default=str) + repr(table) + repr(monitor)
            # the table's first refresh got the echoing 401 (its error line shows it), the monitor got the batch
            assert isinstance(table, ipywidgets.Widget) and batch["id"] in blob and "bad key" in table.error
            assert canary not in blob
        finally:
            table.close()
            monitor.close()


# ------------------------------------------------------------------------------------------ downloads

HOSTILE = ["../../evil.jsonl", "..\\..\\win.jsonl", "/tmp/abs.jsonl", "....jsonl", ".jsonl", "x\x00y\nz.jsonl",
           "a/b/../../../c.jsonl", "%2e%2e%2fenc.jsonl", "CON.jsonl", "é" * 120 + ".jsonl"]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
            for p in root.rglob("*")}


def test_downloads_never_land_outside_the_target(tmp_path: Path, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    target = tmp_path / "downloads"
    target.mkdir()
    escaped = 0
    with fake.serve() as server, BatchesClient(api_key=KEY, base_url=server.base_url) as client:
        for n, name in enumerate(HOSTILE):
            content = json.dumps({**LINE, "custom_id": f"r-{n}"}).encode() + b"\n"
            file = client.upload_file(content, filename=name)
            before = _tree(tmp_path)
            path = client.save_file(file.id, target)
            after = _tree(tmp_path)
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            escaped += sum(1 for k in changed if not k.startswith("downloads" + os.sep))
            assert path.parent == target and path.read_bytes() == content, (name, path)
            assert changed == {str(path.relative_to(tmp_path))}, (name, changed)
        link = target / "linked.jsonl"
        link.symlink_to(outside)
        file = client.upload_file(b'{"x": 1}\n', filename="linked.jsonl")
        assert client.save_file(file.id, target) == link
        assert not link.is_symlink() and outside.read_text() == "keep"
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]
    report.add("security", "hostile server filenames saved", len(HOSTILE) + 1)
    report.loss("security", "files written outside the target", escaped)
    assert escaped == 0


def test_results_save_writes_only_its_path(tmp_path: Path) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    batch = fake.seed_batch("completed", requests=3, failed=1)
    from batches_ext.jobs import results

    res = results(BatchesClient.offline(fake=fake), batch["id"])
    for name in ("r.jsonl", "r.csv"):
        res.save(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.jsonl"]


# ------------------------------------------------------------------------------------------ uploads

_HEAD = (b'--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--bnd\r\n'
         b'Content-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
         b"Content-Type: application/octet-stream\r\n\r\n")


def _blobs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "fake_server-*")))


@pytest.mark.parametrize("megabytes", bounded_or_long(210, 600))
def test_an_oversized_upload_is_refused_in_constant_memory(megabytes: int, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    chunk = (json.dumps(LINE).encode() + b"\n") * (1024 * 1024 // 120)

    def body():
        yield _HEAD
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            yield chunk
        yield b"\r\n--bnd--\r\n"

    blobs = _blobs()
    with fake.serve() as server:
        tracemalloc.start()
        started = time.perf_counter()
        answer = requests.post(server.base_url + "/files", data=body(),
                               headers={"Authorization": f"Bearer {KEY}",
                                        "Content-Type": "multipart/form-data; boundary=bnd"})
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert answer.status_code == 400 and answer.json()["error"]["message"] == "File is too large."
    assert fake.files() == [] and _blobs() == blobs  # nothing stored, no spill file left behind
    report.add("security", f"oversized upload refused: {megabytes} MB streamed in", elapsed, "s")
    report.add("security", "oversized upload: peak Python memory", peak, "MB")
    assert peak < 32


def test_lying_and_truncated_uploads_store_nothing_and_block_no_one(report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    blobs = _blobs()
    with fake.serve() as server:
        host, port = server.base_url.split("//")[1].split("/")[0].split(":")
        partial = _HEAD + json.dumps(LINE).encode()
        liar = socket.create_connection((host, int(port)), timeout=5)
        liar.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                     b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\n"
                     b"Content-Length: 100000\r\n\r\n" + partial)
        # while the liar holds its connection open, everyone else is still served
        assert requests.get(server.base_url + "/batches", headers={"Authorization": f"Bearer {KEY}"},
                            timeout=5).status_code == 200
        liar.close()
        truncated = socket.create_connection((host, int(port)), timeout=5)
        truncated.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                          b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(partial) + 500:x}\r\n".encode() + partial)
        truncated.shutdown(socket.SHUT_WR)  # the body ends mid-chunk
        try:
            reply = truncated.recv(65536)  # an error answer or a closed connection, within the timeout
        except (ConnectionError, TimeoutError):
            reply = b""
        truncated.close()
        assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert fake.files() == [] and _blobs() == blobs
    report.add("security", "truncated / lying uploads refused", 2)
