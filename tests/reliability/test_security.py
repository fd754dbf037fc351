"""Security (issue 7): organizations and projects never see or touch each other's objects, every route answers
401 to a missing, malformed or wrong key without echoing it, the API key never shows (a full notebook run,
every exception the core raises, every repr and widget state), downloads never land outside their target, and
oversized, lying or cut uploads are refused without filling memory or disk and without hanging.

Everything runs against the loopback fake, so each request crosses a real socket as it would in production;
the tenant probes also go through the core (`BatchesClient(organization=..., project=...)`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pickle
import re
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
from batches_ext.errors import AuthenticationError, BadRequestError, BatchesError, NotFoundError
from fake_server import FakeBatchesAPI, ManualClock, SystemClock
from fake_server.fake import DEFAULT_ORGANIZATION
from tests.reliability.conftest import bounded_or_long

KEY = "sk-sec-" + uuid.uuid4().hex  # accepted for any tenant
ORG_KEY = "sk-org-" + uuid.uuid4().hex  # bound to org-a (any project of it)
PROJ_KEY = "sk-proj-" + uuid.uuid4().hex  # bound to org-b / proj-1
TENANTS = {"default": (None, None), "org-a": ("org-a", None), "org-a/proj-1": ("org-a", "proj-1"),
           "org-a/proj-2": ("org-a", "proj-2"), "org-b": ("org-b", None), "org-b/proj-1": ("org-b", "proj-1")}
LINE = {"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
CREATE = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}


def _headers(tenant: str, key: str = KEY) -> dict[str, str]:
    org, project = TENANTS[tenant]
    headers = {"Authorization": f"Bearer {key}"}
    if org:
        headers["OpenAI-Organization"] = org
    if project:
        headers["OpenAI-Project"] = project
    return headers


def _org(tenant: str) -> str:
    return TENANTS[tenant][0] or DEFAULT_ORGANIZATION


def _truth(fake: FakeBatchesAPI, tenant: str) -> tuple[set[str], set[str]]:
    """The ids of every batch and file the fake holds for `tenant` (ground truth, no HTTP)."""
    org, project = _org(tenant), TENANTS[tenant][1]
    return {b["id"] for b in fake.batches(org, project)}, {f["id"] for f in fake.files(org, project)}


@pytest.fixture(scope="module")
def world():
    """A loopback fake holding, per tenant, a running batch, a completed batch (output + error files) and a
    fine-tune file. The running batch has 800 lines, so it stays `in_progress` however far the probes move the
    clock: a cancel that got through would show."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={KEY: None, ORG_KEY: "org-a", PROJ_KEY: ("org-b", "proj-1")})
    owned: dict[str, dict] = {}
    for tenant, (org, project) in TENANTS.items():
        running = fake.seed_batch("in_progress", requests=800, organization=org, project=project)
        done = fake.seed_batch("completed", requests=4, failed=1, organization=org, project=project)
        notes = fake.upload(b'{"prompt": "p", "completion": "c"}\n', filename="notes.jsonl", purpose="fine-tune",
                            organization=org, project=project)
        owned[tenant] = {"batches": [running["id"], done["id"]],
                         "inputs": [running["input_file_id"], done["input_file_id"]],
                         "files": [running["input_file_id"], done["input_file_id"], done["output_file_id"],
                                   done["error_file_id"], notes["id"]]}
    with fake.serve() as server:
        yield fake, server, owned


def _state(fake: FakeBatchesAPI, owned: dict) -> str:
    """The seeded objects as the fake holds them, contents included (objects the probes made left out). A running
    batch's progress (request_counts, usage) moves with the clock and is left out; its status and stamps are not."""
    ids = {i for objects in owned.values() for i in objects["batches"] + objects["files"]}
    batches = [{k: v for k, v in b.items() if k not in ("request_counts", "usage")} for b in fake.batches()
               if b["id"] in ids]
    files = [{**f, "sha": hashlib.sha256(fake.file_content(f["id"])).hexdigest()} for f in fake.files()
             if f["id"] in ids]
    assert len(batches) + len(files) == len(ids)  # every seeded object is still there
    return json.dumps([batches, files], sort_keys=True)


def _shape(answer: requests.Response, object_id: str) -> tuple:
    """An answer with the probed id and the request id taken out: what a caller can learn from it."""
    body = answer.text.replace(object_id, "<ID>")
    return answer.status_code, body, answer.headers.get("openai-organization")


def _paged(session: requests.Session, url: str, **params: str) -> list[dict]:
    out, after = [], None
    while True:
        answer = session.get(url, params={"limit": 2, **params, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        out += page["data"]
        if not page.get("has_more"):
            return out
        after = page["data"][-1]["id"]


# ------------------------------------------------------------------------------------------ tenants


def test_no_tenant_reads_lists_cancels_or_deletes_another_s_objects_over_http(world, report) -> None:
    """Every route, every ordered pair of tenants: a foreign id answers exactly like an id that never existed
    (404, or 400 for an `after` cursor: no existence or status oracle, a foreign completed batch is not a 409),
    lists hold exactly the caller's own objects, and the owner's objects are unchanged."""
    fake, server, owned = world
    before = _state(fake, owned)
    base, probes, stolen = server.base_url, 0, []
    for intruder in TENANTS:
        session = requests.Session()
        session.headers.update(_headers(intruder))
        ghost_batch, ghost_file = "batch_" + uuid.uuid4().hex, "file-" + uuid.uuid4().hex[:22]
        unknown = {
            "batch": [_shape(session.get(f"{base}/batches/{ghost_batch}"), ghost_batch),
                      _shape(session.post(f"{base}/batches/{ghost_batch}/cancel"), ghost_batch),
                      _shape(session.get(f"{base}/batches", params={"after": ghost_batch}), ghost_batch),
                      _shape(session.get(f"{base}/files", params={"after": ghost_batch}), ghost_batch)],
            "file": [_shape(session.get(f"{base}/files/{ghost_file}"), ghost_file),
                     _shape(session.get(f"{base}/files/{ghost_file}/content"), ghost_file),
                     _shape(session.delete(f"{base}/files/{ghost_file}"), ghost_file),
                     _shape(session.get(f"{base}/files", params={"after": ghost_file}), ghost_file),
                     _shape(session.get(f"{base}/batches", params={"after": ghost_file}), ghost_file)],
        }
        assert [s[0] for s in unknown["batch"] + unknown["file"]] == [404, 404, 400, 400, 404, 404, 404, 400, 400]
        assert all(s[2] == _org(intruder) for s in unknown["batch"] + unknown["file"])
        for owner, objects in owned.items():
            if owner == intruder:
                continue
            for batch_id in objects["batches"]:
                seen = [_shape(session.get(f"{base}/batches/{batch_id}"), batch_id),
                        _shape(session.post(f"{base}/batches/{batch_id}/cancel"), batch_id),
                        _shape(session.get(f"{base}/batches", params={"after": batch_id}), batch_id),
                        _shape(session.get(f"{base}/files", params={"after": batch_id}), batch_id)]
                assert seen == unknown["batch"], (intruder, owner, batch_id)
                probes += len(seen)
            for file_id in objects["files"]:
                seen = [_shape(session.get(f"{base}/files/{file_id}"), file_id),
                        _shape(session.get(f"{base}/files/{file_id}/content"), file_id),
                        _shape(session.delete(f"{base}/files/{file_id}"), file_id),
                        _shape(session.get(f"{base}/files", params={"after": file_id}), file_id),
                        _shape(session.get(f"{base}/batches", params={"after": file_id}), file_id)]
                assert seen == unknown["file"], (intruder, owner, file_id)
                probes += len(seen)
            for file_id in objects["inputs"] + objects["files"][4:]:
                answer = session.post(f"{base}/batches", json={**CREATE, "input_file_id": file_id})
                # like the real API, create does not look the file up: the batch fails validation instead
                assert answer.status_code == 200 and answer.json()["status"] == "validating", answer.text
                stolen.append((intruder, answer.json()["id"]))
                probes += 1
        batches, files = _truth(fake, intruder)
        assert {b["id"] for b in _paged(session, base + "/batches")} == batches, intruder
        assert {f["id"] for f in _paged(session, base + "/files")} == files, intruder
        for purpose in ("batch", "batch_output", "fine-tune"):
            listed = {f["id"] for f in _paged(session, base + "/files", purpose=purpose)}
            assert listed <= files and not listed & {i for o in owned.values() for i in o["files"]} - files
        probes += 5
        session.close()
    changed = _state(fake, owned) != before
    fake.advance(60)  # past validation: every batch made from a foreign file fails, without output
    for intruder, batch_id in stolen:
        batch = fake.batch(batch_id)
        assert batch["status"] == "failed" and batch["output_file_id"] is None and batch["error_file_id"] is None
        message = batch["errors"]["data"][0]["message"]
        assert f"organization {_org(intruder)} does not have access" in message, message
    assert _state(fake, owned) == before  # the failed batches did not read, move or delete the files
    report.add("security", "cross-tenant probes refused", probes)
    report.loss("security", "cross-tenant reads, lists or changes", int(changed))
    assert not changed


def test_the_core_sees_and_touches_only_its_own_tenant(world, report, tmp_path: Path) -> None:
    """The same through `BatchesClient(organization=..., project=...)`: pagination, every read and write,
    `save_file` and `results` of foreign objects all fail with 404 and change nothing, here or on disk."""
    from batches_ext.jobs import results

    fake, server, owned = world
    before, probes, stolen = _state(fake, owned), 0, []
    for tenant, (org, project) in TENANTS.items():
        with BatchesClient(api_key=KEY, base_url=server.base_url, organization=org, project=project,
                           max_retries=0) as client:
            batches, files = _truth(fake, tenant)
            assert {b.id for b in client.iter_batches(page_size=1)} == batches
            assert {f.id for f in client.iter_files(page_size=2)} == files
            for owner, objects in owned.items():
                if owner == tenant:
                    continue
                calls = [(m, b) for b in objects["batches"]
                         for m in (client.retrieve_batch, client.cancel_batch, lambda i: results(client, i))]
                calls += [(m, f) for f in objects["files"]
                          for m in (client.retrieve_file, client.file_content, client.delete_file,
                                    lambda i: client.save_file(i, tmp_path), client.download_file)]
                for call, target in calls:
                    with pytest.raises(NotFoundError) as caught:
                        call(target)
                    assert target in str(caught.value)
                    probes += 1
                for cursor in objects["batches"] + objects["files"]:
                    with pytest.raises(BadRequestError):
                        client.list_batches(after=cursor)
                    with pytest.raises(BadRequestError):
                        client.list_files(after=cursor)
                    probes += 2
                stolen.append(client.create_batch(objects["inputs"][1]).id)
                probes += 1
    assert _state(fake, owned) == before and list(tmp_path.iterdir()) == []
    fake.advance(60)
    assert {fake.batch(i)["status"] for i in stolen} == {"failed"}
    assert _state(fake, owned) == before
    report.add("security", "cross-tenant probes refused", probes)


def test_an_idempotency_key_never_replays_another_tenant_s_answer(world) -> None:
    """Tenant B reusing tenant A's Idempotency-Keys (same path, same body) gets its own new objects, never A's."""
    fake, server, owned = world
    keys = {"/batches": "idem-" + uuid.uuid4().hex, "/files": "idem-" + uuid.uuid4().hex}
    body = {**CREATE, "input_file_id": owned["org-a"]["inputs"][1]}
    upload = {"files": {"file": ("x.jsonl", json.dumps(LINE) + "\n")}, "data": {"purpose": "batch"}}

    def post(tenant: str, path: str) -> dict:
        extra = {"json": body} if path == "/batches" else upload
        answer = requests.post(server.base_url + path, headers={**_headers(tenant), "Idempotency-Key": keys[path]},
                               **extra)
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = {path: post("org-a", path) for path in keys}
    assert {path: post("org-a", path)["id"] for path in keys} == {p: o["id"] for p, o in first.items()}  # replays
    for tenant in ("org-b", "org-a/proj-1", "default"):
        batches, files = _truth(fake, tenant)
        made = {path: post(tenant, path) for path in keys}
        assert made["/batches"]["object"] == "batch" and made["/files"]["object"] == "file"
        assert made["/batches"]["id"] not in batches | {first["/batches"]["id"]}
        assert made["/files"]["id"] not in files | {first["/files"]["id"]}
        assert {made["/batches"]["id"]} == _truth(fake, tenant)[0] - batches
        assert {made["/files"]["id"]} == _truth(fake, tenant)[1] - files


def test_an_idempotency_key_reused_on_another_route_is_not_replayed(world) -> None:
    """Within one tenant, a key first used on POST /batches and then on POST /files must not answer the upload
    with the batch (fake_server.idempotency keeps each answer with its route and replays it only there)."""
    fake, server, owned = world
    headers = {**_headers("org-b"), "Idempotency-Key": "idem-" + uuid.uuid4().hex}
    requests.post(server.base_url + "/batches", headers=headers,
                  json={**CREATE, "input_file_id": owned["org-b"]["inputs"][1]})
    answer = requests.post(server.base_url + "/files", headers=headers, data={"purpose": "batch"},
                           files={"file": ("x.jsonl", json.dumps(LINE) + "\n")})
    assert answer.json()["object"] == "file", answer.json()


def test_a_key_bound_to_a_tenant_cannot_claim_another(world, report) -> None:
    """A key bound to org-a (or to org-b/proj-1) lands in its own tenant with no headers, and every route with
    another organization or project in the headers is a 401 that changes nothing, raw and through the core."""
    fake, server, owned = world
    before, probes = _state(fake, owned), 0
    for key, tenant in ((ORG_KEY, "org-a"), (ORG_KEY, "org-a/proj-2"), (PROJ_KEY, "org-b/proj-1")):
        org, project = TENANTS[tenant]
        headers = {"Authorization": f"Bearer {key}", **({"OpenAI-Project": project} if project else {})}
        if key is PROJ_KEY:
            headers = {"Authorization": f"Bearer {key}"}  # the binding alone picks org-b / proj-1
        listed = requests.get(server.base_url + "/batches", params={"limit": 100}, headers=headers)
        assert listed.status_code == 200 and listed.headers["openai-organization"] == org
        assert {b["id"] for b in listed.json()["data"]} == _truth(fake, tenant)[0]
    claims = [(ORG_KEY, {"OpenAI-Organization": "org-b"}, "mismatched_organization", "org-b"),
              (ORG_KEY, {"OpenAI-Organization": DEFAULT_ORGANIZATION}, "mismatched_organization", "default"),
              (ORG_KEY, {"OpenAI-Organization": "org-b", "OpenAI-Project": "proj-1"}, "mismatched_organization",
               "org-b/proj-1"),
              (PROJ_KEY, {"OpenAI-Project": "proj-2"}, "mismatched_project", "org-b"),
              (PROJ_KEY, {"OpenAI-Organization": "org-b"}, None, "org-b/proj-1"),  # its own org: allowed
              (PROJ_KEY, {"OpenAI-Organization": "org-a", "OpenAI-Project": "proj-1"}, "mismatched_organization",
               "org-a/proj-1")]
    for key, extra, code, victim in claims:
        running, done = owned[victim]["batches"]
        notes = owned[victim]["files"][4]
        routes = [("GET", "/batches", None), ("POST", "/batches", {**CREATE, "input_file_id": notes}),
                  ("GET", f"/batches/{running}", None), ("POST", f"/batches/{running}/cancel", None),
                  ("POST", f"/batches/{done}/cancel", None), ("GET", "/files", None), ("GET", f"/files/{notes}", None),
                  ("GET", f"/files/{notes}/content", None), ("DELETE", f"/files/{notes}", None)]
        if code is None:  # its own organization: served, in its own tenant
            answer = requests.get(server.base_url + "/batches", params={"limit": 100},
                                  headers={"Authorization": f"Bearer {key}", **extra})
            assert {b["id"] for b in answer.json()["data"]} == _truth(fake, victim)[0]
            continue
        for method, path, body in routes:
            answer = requests.request(method, server.base_url + path, json=body,
                                      headers={"Authorization": f"Bearer {key}", **extra})
            assert answer.status_code == 401, (key[:8], extra, method, path, answer.text)
            assert answer.json()["error"]["code"] == code and key not in answer.text + str(answer.headers)
            probes += 1
    for key, org, project in ((ORG_KEY, "org-b", None), (ORG_KEY, DEFAULT_ORGANIZATION, "proj-1"),
                              (PROJ_KEY, None, "proj-2"), (PROJ_KEY, "org-a", "proj-1")):
        victim = owned["org-b" if org == "org-b" or project == "proj-2" else "default"]
        with BatchesClient(api_key=key, base_url=server.base_url, organization=org, project=project) as client:
            for call, target in ((client.retrieve_batch, victim["batches"][0]),
                                 (client.cancel_batch, victim["batches"][0]),
                                 (client.delete_file, victim["files"][4]), (client.file_content, victim["files"][0]),
                                 (lambda _: client.list_batches(), None), (lambda _: client.list_files(), None),
                                 (lambda i: client.create_batch(i), victim["inputs"][0])):
                with pytest.raises(AuthenticationError) as caught:
                    call(target)
                assert caught.value.code in ("mismatched_organization", "mismatched_project")
                assert key not in str(caught.value)
                probes += 1
    assert _state(fake, owned) == before
    report.add("security", "cross-tenant probes refused", probes)


# ------------------------------------------------------------------------------------------ 401

BAD_AUTH = {
    "missing": None, "empty": "", "basic": "Basic dXNlcjpwYXNz", "bearer-alone": "Bearer", "bearer-space": "Bearer ",
    "bearer-blank": "Bearer \t  ", "token-scheme": f"Token {KEY}", "key-alone": KEY,
    "wrong": "Bearer sk-wrong-" + uuid.uuid4().hex, "key-prefix": f"Bearer {KEY[:-1]}",
    "key-suffix": f"Bearer {KEY}0", "key-and-junk": f"Bearer {KEY} {KEY}", "other-case": f"Bearer {KEY.upper()}",
}


def _secrets(authorization: str | None) -> list[str]:
    """Every 8-character window of each token in the header: not even part of a key may be echoed."""
    words = [w for w in (authorization or "").split() if len(w) >= 8 and w.lower() != "bearer"]
    return sorted({w[i:i + 8] for w in words for i in range(len(w) - 7)})


@pytest.mark.parametrize("authorization", list(BAD_AUTH.values()), ids=list(BAD_AUTH))
def test_missing_malformed_and_wrong_keys_get_401_on_every_route(world, authorization, report) -> None:
    """Routes aimed at real objects (a running batch, a completed one, a file) and real write bodies: the 401
    comes before any lookup or write, in OpenAI's envelope, and no part of the key is echoed or recorded."""
    fake, server, owned = world
    before, counts = _state(fake, owned), (len(fake.batches()), len(fake.files()))
    running, done = owned["default"]["batches"]
    file_id = owned["default"]["files"][4]
    upload = {"files": {"file": ("x.jsonl", json.dumps(LINE) + "\n")}, "data": {"purpose": "batch"}}
    routes = [("GET", "/batches", {}), ("POST", "/batches", {"json": {**CREATE, "input_file_id": file_id}}),
              ("GET", f"/batches/{running}", {}), ("POST", f"/batches/{running}/cancel", {}),
              ("POST", f"/batches/{done}/cancel", {}), ("GET", "/files", {}), ("POST", "/files", upload),
              ("GET", f"/files/{file_id}", {}), ("DELETE", f"/files/{file_id}", {}),
              ("GET", f"/files/{file_id}/content", {}), ("GET", "/batches/batch_nope", {})]
    headers = {} if authorization is None else {"Authorization": authorization}
    recorded_before = len(fake.requests)
    for method, path, extra in routes:
        answer = requests.request(method, server.base_url + path, headers=headers, **extra)
        assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert set(answer.json()) == {"error"} and set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error" and error["param"] is None
        assert error["message"].startswith(("You didn't provide an API key.", "Incorrect API key provided."))
        assert error["code"] in (None, "invalid_api_key")
        assert re.fullmatch(r"req_[0-9a-f]{32}", answer.headers["x-request-id"])
        shown = answer.text + json.dumps(dict(answer.headers))
        assert not [s for s in _secrets(authorization) if s in shown], (method, path)
    recorded = json.dumps([r.__dict__ for r in fake.requests[recorded_before:]], default=str)
    assert not [s for s in _secrets(authorization) if s in recorded]
    assert "authorization" not in recorded.lower()
    assert _state(fake, owned) == before and (len(fake.batches()), len(fake.files())) == counts
    report.add("security", "401 probes", len(routes))


def test_the_core_raises_one_authentication_error_per_call_for_a_wrong_key(world, report) -> None:
    """A wrong key: every core method fails with AuthenticationError after exactly one request (a 401 is never
    retried), and the error names neither the key nor any part of it."""
    fake, server, owned = world
    wrong = "sk-wrong-" + uuid.uuid4().hex
    client = BatchesClient(api_key=wrong, base_url=server.base_url, max_retries=3)
    client.sleep = lambda _: None
    batch_id, file_id = owned["default"]["batches"][0], owned["default"]["files"][0]
    calls = [lambda: client.list_batches(), lambda: client.retrieve_batch(batch_id),
             lambda: client.cancel_batch(batch_id), lambda: client.create_batch(file_id),
             lambda: client.list_files(), lambda: client.retrieve_file(file_id), lambda: client.file_content(file_id),
             lambda: client.delete_file(file_id), lambda: client.upload_file(json.dumps(LINE).encode() + b"\n")]
    for call in calls:
        sent = len(fake.requests)
        with pytest.raises(AuthenticationError) as caught:
            call()
        assert len(fake.requests) == sent + 1 and caught.value.code == "invalid_api_key"
        assert not [s for s in _secrets(wrong) if s in _chain(caught.value)]
    client.close()
    report.add("security", "401 probes", len(calls))


# ------------------------------------------------------------------------------------------ the key


def _chain(exc: BaseException) -> str:
    """Everything an exception can show: str, repr, args, attributes, pickle, cause/context chain, traceback."""
    seen, parts, node = set(), [], exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        parts += [str(node), repr(node), repr(node.args), repr(vars(node)), "".join(traceback.format_exception(node))]
        with contextlib.suppress(Exception):
            parts.append(pickle.dumps(node).decode("latin-1"))
        node = node.__cause__ or node.__context__
    return "\n".join(parts)


def _leaks(canary: str, *texts: str) -> int:
    """Occurrences of the key, its random part, or the Authorization header base64-encoded."""
    needles = (canary, canary.split("-")[-1], base64.b64encode(f"Bearer {canary}".encode()).decode())
    return sum(text.count(needle) for text in texts for needle in needles)


def test_a_full_notebook_run_never_shows_the_key(monkeypatch, report) -> None:
    """quickstart.ipynb end to end on its "real API" branch, against a loopback fake that accepts only a canary
    key: the run completes, and the canary is nowhere in the saved notebook (outputs, widget state, metadata),
    the files it wrote, or the server's request log."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=SystemClock(speed=2000), api_keys=[canary])  # no other key gets in
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
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
    leaks = _leaks(canary, text, written, recorded)
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
    texts = [_chain(exc) for exc in raised]
    assert "Incorrect API key provided" in texts[10]  # the echoed message is kept, with the key cut out
    from batches_ext.config import Settings

    settings = Settings.resolve(env={"OPENAI_API_KEY": canary})
    shown = [repr(client), str(client), repr(client.settings), str(client.settings), repr(settings),
             repr(dict(settings.sources)), repr(fake)]
    leaks = _leaks(canary, *texts, *shown)
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
        monitor = BatchMonitor(client, [batch["id"]], auto_refresh=False, namespace={})
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
            leaks = _leaks(canary, blob)
            report.add("security", "widget states checked for the key", len(states))
            report.loss("security", "key leaks", leaks)
            assert leaks == 0
        finally:
            table.close()
            monitor.close()
            client.close()


# ------------------------------------------------------------------------------------------ downloads

HOSTILE = ["../../evil.jsonl", "/etc/passwd", "..\\..\\win.jsonl", "a/../../b", ".", "..", "", "x\x00y.jsonl",
           "x\ny\rz.jsonl", "a" * 300 + ".jsonl", "é" * 150 + ".jsonl", "...", " ", "dir/", "~/.bashrc",
           "%2e%2e%2fenc.jsonl", "\u202eevil.jsonl", "CON", "aux.jsonl", "a:b|c?.jsonl", "../",
           "..\\", "/", "x/" + "../" * 30 + "deep.jsonl"]


def _tree(root: Path) -> dict[str, str]:
    """Every path under root: a file's digest, a symlink's target, or "dir"."""
    out: dict[str, str] = {}
    for path in root.rglob("*"):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


@pytest.fixture
def guarded(monkeypatch, tmp_path: Path):
    """os.replace refuses (and counts) any destination outside tmp_path: a regression cannot clobber the
    machine's files (e.g. /etc/passwd) while the test finds it."""
    refused: list[str] = []
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        where = os.path.abspath(os.fspath(dst))  # no symlink resolution: the name itself is what counts
        if os.path.commonpath([where, str(tmp_path)]) != str(tmp_path):
            refused.append(where)
            raise PermissionError(f"test guard: refusing to write {where}")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return refused


def test_save_file_never_writes_outside_the_target_directory(tmp_path: Path, guarded, report) -> None:
    """Hostile server filenames, saved over HTTP with `save_file(id, DIR)` into a directory three levels down
    (so a traversal would land inside the snapshot): each lands inside DIR, byte-exact, and is the only change."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    target = tmp_path / "a" / "b" / "target"
    target.mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("keep")
    system = {p: os.stat(p) for p in ("/etc/passwd", os.path.expanduser("~/.bashrc")) if os.path.exists(p)}
    escaped, saved = 0, set()
    with fake.serve() as server, BatchesClient(api_key=KEY, base_url=server.base_url) as client:
        for n, name in enumerate(HOSTILE):
            content = json.dumps({**LINE, "custom_id": f"r-{n}", "name": name}).encode() + b"\n" + os.urandom(64)
            file_id = fake.upload(content, filename=name)["id"]
            assert client.retrieve_file(file_id).filename == name  # the hostile name really came over HTTP
            before = _tree(tmp_path)
            path = client.save_file(file_id, target)
            changed = _changed(before, _tree(tmp_path))
            inside = os.path.commonpath([os.path.abspath(path), str(target)]) == str(target)
            escaped += sum(1 for k in changed if not (tmp_path / k).parent == target) + (not inside)
            assert path.parent == target and path.read_bytes() == content, (name, path)
            assert changed == {str(path.relative_to(tmp_path))}, (name, changed)
            assert "/" not in path.name and "\\" not in path.name and path.name not in ("", ".", "..")
            assert len(path.name.encode()) <= 255
            saved.add(path.name)
        # over the Files API's own upload path too (the names it accepts for purpose=batch)
        for name in ("../../up.jsonl", "..\\..\\up2.jsonl", "sub/../../../up3.jsonl"):
            before = _tree(tmp_path)
            path = client.save_file(client.upload_file(json.dumps(LINE).encode() + b"\n", filename=name).id, target)
            assert _changed(before, _tree(tmp_path)) == {str(path.relative_to(tmp_path))} and path.parent == target
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]
    assert {p: os.stat(p) for p in system} == system and (tmp_path / "outside.txt").read_text() == "keep"
    escaped += len(guarded)
    report.add("security", "hostile server filenames saved", len(HOSTILE) + 3)
    report.loss("security", "files written outside target", escaped)
    assert escaped == 0 and guarded == []


def test_a_symlink_or_a_failed_download_at_the_destination_changes_nothing_outside(tmp_path: Path, guarded) -> None:
    """A symlink at the destination name (to a file outside, dangling to a path outside, or the exact `dest`
    path) is replaced, never followed; a download that fails (404, dropped connection) leaves the old file
    and the rest of the tree untouched, with no temporary file behind."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    target, outside = tmp_path / "target", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep")
    with fake.serve() as server, BatchesClient(api_key=KEY, base_url=server.base_url, max_retries=0) as client:
        links = {"linked.jsonl": victim, "dangling.jsonl": outside / "created.jsonl", "dir-link.jsonl": outside}
        for name, points_to in links.items():
            (target / name).symlink_to(points_to)
            file_id = fake.upload(b'{"n": 1}\n', filename=name)["id"]
            before = _tree(outside)
            path = client.save_file(file_id, target)
            assert path == target / name and not path.is_symlink() and path.read_bytes() == b'{"n": 1}\n'
            assert _tree(outside) == before, name
        exact = target / "exact.jsonl"
        exact.symlink_to(victim)
        client.save_file(fake.upload(b'{"n": 2}\n')["id"], exact)
        assert not exact.is_symlink() and exact.read_bytes() == b'{"n": 2}\n' and victim.read_text() == "keep"
        before = _tree(tmp_path)
        with pytest.raises(NotFoundError):
            client.save_file("file-nope", exact)
        with pytest.raises(NotFoundError):
            client.save_file("file-nope", target)
        fake.faults.drop_next(path="/content$")
        with pytest.raises(BatchesError):
            client.save_file(fake.upload(b'{"n": 3}\n')["id"], exact)
        assert _tree(tmp_path) == before and exact.read_bytes() == b'{"n": 2}\n'
    assert not [p for p in tmp_path.rglob("*.tmp")] and guarded == []


@pytest.fixture
def http_shell(monkeypatch):
    """IPython's shell with the extension loaded, talking over HTTP to a loopback fake (the "real API" path)."""
    from IPython.core.interactiveshell import InteractiveShell  # a dependency of batches_ext: never skipped
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    with fake.serve() as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
            monkeypatch.delenv(var, raising=False)
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "batches_ext")
        before = set(sh.user_ns)
        try:
            yield sh, fake
        finally:
            sh.run_line_magic("unload_ext", "batches_ext")
            for name in set(sh.user_ns) - before:
                sh.user_ns.pop(name, None)


def test_the_download_and_results_magics_write_only_inside_their_target(http_shell, tmp_path: Path, guarded,
                                                                        report) -> None:
    """`%batches download FILE -o DIR` with hostile names, `%batches download BATCH -o DIR`, and `%batches
    results ID -o PATH` (PATH a symlink to a file outside, too): only DIR's entries / PATH change."""
    sh, fake = http_shell
    target = tmp_path / "x" / "y" / "out"
    target.mkdir(parents=True)
    escaped = 0
    for n, name in enumerate(HOSTILE[:12]):
        content = json.dumps({**LINE, "custom_id": f"m-{n}"}).encode() + b"\n"
        file_id = fake.upload(content, filename=name)["id"]
        before = _tree(tmp_path)
        paths = sh.run_line_magic("batches", f"download {file_id} -o {target}")
        changed = _changed(before, _tree(tmp_path))
        assert len(paths) == 1 and Path(paths[0]).parent == target and Path(paths[0]).read_bytes() == content
        escaped += len(changed - {str(Path(paths[0]).relative_to(tmp_path))})
    batch = fake.seed_batch("completed", requests=4, failed=1)
    before = _tree(tmp_path)
    paths = sh.run_line_magic("batches", f"download {batch['id']} -o {target}")
    assert sorted(Path(p).name for p in paths) == [f"{batch['id']}_error.jsonl", f"{batch['id']}_output.jsonl"]
    assert {Path(p).read_bytes() for p in paths} == {fake.file_content(batch["output_file_id"]),
                                                     fake.file_content(batch["error_file_id"])}
    escaped += len(_changed(before, _tree(tmp_path)) - {str(Path(p).relative_to(tmp_path)) for p in paths})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    for name in ("res.jsonl", "res.csv", "linked.jsonl"):
        dest = target / name
        if name == "linked.jsonl":
            dest.symlink_to(victim)
        before = _tree(tmp_path)
        res = sh.run_line_magic("batches", f"results {batch['id']} -o {dest}")
        changed = _changed(before, _tree(tmp_path))
        escaped += len(changed - {str(dest.relative_to(tmp_path))})
        assert changed == {str(dest.relative_to(tmp_path))} and not dest.is_symlink() and len(res) == 4
    assert victim.read_text() == "keep" and not list(tmp_path.rglob("*.tmp"))
    escaped += len(guarded)
    report.add("security", "magic downloads checked", 12 + 1 + 3)
    report.loss("security", "files written outside target", escaped)
    assert escaped == 0


# ------------------------------------------------------------------------------------------ uploads

_HEAD = (b'--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--bnd\r\n'
         b'Content-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
         b"Content-Type: application/octet-stream\r\n\r\n")
_FILE_FIRST = b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'
_PURPOSE_LAST = b'\r\n--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--bnd--\r\n'
_MULTIPART = {"Authorization": f"Bearer {KEY}", "Content-Type": "multipart/form-data; boundary=bnd"}


@pytest.fixture
def spill(monkeypatch, tmp_path: Path) -> dict:
    """The fake's spill files go to a private directory (so other processes' files cannot confuse the count);
    `made` counts the spill files created, `left()` lists those still on disk."""
    folder = tmp_path / "spill"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    made = {"made": 0}
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if kwargs.get("prefix") == "fake_server-":
            made["made"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    made["left"] = lambda: sorted(os.listdir(folder))  # type: ignore[assignment]
    return made


def _stream_upload(server, body) -> tuple[requests.Response, float, float]:
    """POST /files with a generator body (chunked, never whole in memory); (answer, seconds, peak MB)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        answer = requests.post(server.base_url + "/files", data=body, headers=_MULTIPART, timeout=60)
        return answer, time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("megabytes", bounded_or_long(210, 600))
@pytest.mark.parametrize("order", ["purpose-first", "purpose-last"])
def test_an_oversized_upload_is_refused_in_constant_memory(megabytes: int, order: str, spill, report) -> None:
    """A body over the real 200 MB batch limit, streamed from a generator: a 400 "File is too large." in the
    envelope, nothing stored, no spill file left, and a small peak of Python memory (client + fake, in-process).
    With purpose sent last the fake cannot know the limit until the end: it spills to disk, then refuses."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    chunk = (json.dumps(LINE).encode() + b"\n") * (1024 * 1024 // 120)

    def body():
        yield _HEAD if order == "purpose-first" else _FILE_FIRST
        for _ in range(megabytes * 1024 * 1024 // len(chunk) + 1):
            yield chunk
        yield b"\r\n--bnd--\r\n" if order == "purpose-first" else _PURPOSE_LAST

    with fake.serve() as server:
        answer, elapsed, peak = _stream_upload(server, body())
        after = requests.get(server.base_url + "/files", headers=_MULTIPART)  # still serving, nothing listed
    assert answer.status_code == 400 and answer.json() == {"error": {
        "message": "File is too large.", "type": "invalid_request_error", "param": "file", "code": None}}
    assert after.json()["data"] == [] and fake.files() == [] and spill["left"]() == []
    # purpose first: refused at 200 MB, after spilling the first 8 MB; purpose last: all of it spilled, then refused
    assert spill["made"] == 1
    report.add("security", f"oversized upload ({order}, {megabytes} MB) refused in", elapsed, "s")
    report.add("security", f"oversized upload peak memory ({order})", peak, "MB")
    assert peak < 32


def test_an_oversized_text_field_is_refused_in_constant_memory(report) -> None:
    """A 24 MB `purpose` field (a text part, no filename): refused with a small 400, in small memory."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])

    def body():
        yield b'--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
        for _ in range(24):
            yield b"b" * (1 << 20)
        yield b"\r\n--bnd--\r\n"

    with fake.serve() as server:
        answer, _, peak = _stream_upload(server, body())
    report.add("security", "oversized text field peak memory", peak, "MB")
    assert answer.status_code == 400 and fake.files() == []
    assert peak < 32, peak
    assert len(answer.content) < 64 * 1024, len(answer.content)  # and the field is not echoed back whole


def _raw(server, head: bytes, body: bytes, *, half_close: bool = True) -> bytes:
    """Send one raw request; the answer (b"" when the server just closed), within a 5 s socket timeout."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                     b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\n" + head + b"\r\n" + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):  # TimeoutError here is a hang: the test fails
                reply += chunk
                if half_close is False and b"\r\n\r\n" in reply:
                    break
        return reply


def test_lying_and_truncated_uploads_store_nothing_and_hang_no_one(spill, report) -> None:
    """A Content-Length larger than the body, a huge declared length, a chunk cut short, a missing last chunk,
    a bad chunk size, a Content-Length shorter than the body, a negative one: each is answered with a 4xx or a
    closed connection well within the socket timeout, stores nothing and leaves no spill file; a client that
    sends half a body and then stalls blocks no one else."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    partial = _HEAD + json.dumps(LINE).encode()
    whole = _HEAD + json.dumps(LINE).encode() + b"\n\r\n--bnd--\r\n"
    cases = {
        "length larger than body": (b"Content-Length: 100000\r\n", partial),
        "length of 10 GB": (b"Content-Length: 10000000000\r\n", partial),
        "chunk cut short": (b"Transfer-Encoding: chunked\r\n", f"{len(partial) + 500:x}\r\n".encode() + partial),
        "no last chunk": (b"Transfer-Encoding: chunked\r\n", f"{len(whole):x}\r\n".encode() + whole + b"\r\n"),
        "bad chunk size": (b"Transfer-Encoding: chunked\r\n", b"zz\r\n" + whole),
        "length shorter than body": (f"Content-Length: {len(whole) - 20}\r\n".encode(), whole),
        "negative length": (b"Content-Length: -5\r\n", whole),
    }
    with fake.serve() as server:
        stalled = socket.create_connection((server.host, server.port), timeout=5)
        stalled.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                        b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\nContent-Length: 100000\r\n\r\n" +
                        partial)
        for name, (head, body) in cases.items():
            started = time.perf_counter()
            reply = _raw(server, head, body)
            assert time.perf_counter() - started < 3, name
            assert reply == b"" or re.match(rb"HTTP/1\.1 4\d\d ", reply), (name, reply[:200])
            if reply:
                assert b'"error"' in reply, name
        # the stalled client still holds its connection: everyone else is served
        listed = requests.get(server.base_url + "/files", headers=_MULTIPART, timeout=5)
        assert listed.status_code == 200 and listed.json()["data"] == []
        stalled.close()
    assert fake.files() == [] and spill["left"]() == []
    report.add("security", "truncated / lying uploads refused", len(cases) + 1)


def test_conflicting_content_lengths_are_refused() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    whole = _HEAD + json.dumps(LINE).encode() + b"\n\r\n--bnd--\r\n"
    with fake.serve() as server:
        reply = _raw(server, f"Content-Length: 5\r\nContent-Length: {len(whole)}\r\n".encode(), whole)
    assert reply.startswith(b"HTTP/1.1 400 ") and fake.files() == []


# ------------------------------------------------------------------------------------------ redirects and logs

_BODY = json.dumps({"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}).encode() + b"\n"


def _key_count(canary: str, *texts: str) -> int:
    return sum(text.count(canary) + text.count(canary.split("-")[-1]) for text in texts)


@contextlib.contextmanager
def _redirecting(target: str, received: list, statuses=(307, 308)):
    """A loopback server answering every request with a redirect (alternating `statuses`) to the same path under
    `target`, another origin; yields its base URL and appends each request's Authorization to `received`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append(self.headers.get("authorization"))
            self.send_response(statuses[len(received) % len(statuses)])
            self.send_header("Location", target + self.path.removeprefix("/v1"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_to_another_origin_never_carries_the_key(tmp_path: Path, report) -> None:
    """A base URL that answers every call with a 307 or 308 to another origin (the fake on another port, which
    accepts only the canary key): the key reaches the redirecting server on every call, yet every redirected
    request reaches the fake without it (401 "You didn't provide an API key"), so nothing is read or changed."""
    canary = "sk-canary-" + uuid.uuid4().hex
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[canary])
    done = fake.seed_batch("completed", requests=2)
    running = fake.seed_batch("in_progress", requests=50)
    before = json.dumps([fake.batches(), fake.files()], sort_keys=True)
    received: list[str | None] = []
    with fake.serve() as server, _redirecting(server.base_url, received) as base_url:
        with BatchesClient(api_key=canary, base_url=base_url, max_retries=0) as client:
            calls = {
                "list batches": lambda: client.list_batches(),
                "retrieve batch": lambda: client.retrieve_batch(done["id"]),
                "cancel batch": lambda: client.cancel_batch(running["id"]),
                "create batch": lambda: client.create_batch(done["input_file_id"]),
                "list files": lambda: client.list_files(),
                "retrieve file": lambda: client.retrieve_file(done["output_file_id"]),
                "file content": lambda: client.file_content(done["output_file_id"]),
                "save file": lambda: client.save_file(done["output_file_id"], tmp_path),
                "delete file": lambda: client.delete_file(done["input_file_id"]),
            }
            for name, call in calls.items():
                with pytest.raises(AuthenticationError) as caught:
                    call()
                assert caught.value.code is None and "didn't provide an API key" in str(caught.value), name
        # a streamed upload is not replayed after a redirect (test_a_redirected_upload_fails_fast_and_says_why):
        # the key does not travel with it
        with BatchesClient(api_key=canary, base_url=base_url, max_retries=0, timeout=0.3) as client:
            with pytest.raises(BatchesError):
                client.upload_file(_BODY)
        followed = [r for r in fake.requests if r.path.startswith("/v1/")]
    assert received == [f"Bearer {canary}"] * (len(calls) + 1)  # the key was really sent, to the first origin
    # every call was followed to the fake without the key (the upload may or may not be followed: either is safe)
    assert len(calls) <= len(followed) <= len(calls) + 1 and {r.status for r in followed} == {401}
    assert json.dumps([fake.batches(), fake.files()], sort_keys=True) == before and list(tmp_path.iterdir()) == []
    report.add("security", "redirects to another origin checked", len(calls) + 1)


def test_a_redirected_upload_fails_fast_and_says_why() -> None:
    """An upload answered with a 308 (e.g. a proxy moving http to https) ends at once, with an error that is not
    a timeout (one naming the redirect, or the redirected server's own answer), not after the read timeout."""
    from batches_ext.errors import APITimeoutError

    fake = FakeBatchesAPI(clock=ManualClock())
    received: list[str | None] = []
    with fake.serve() as server, _redirecting(server.base_url, received, statuses=(308,)) as base_url:
        with BatchesClient(api_key=KEY, base_url=base_url, max_retries=0, timeout=1.5) as client:
            started = time.perf_counter()
            with pytest.raises(BatchesError) as caught:
                client.upload_file(_BODY)
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
        uploaded = client.upload_file(_BODY)
        batch = client.create_batch(uploaded.id)
        assert [b.id for b in client.list_batches().data] == [batch.id]
        client.cancel_batch(batch.id)
        fake.faults.fail_next(503)
        client.retrieve_batch(batch.id)
        assert b"".join(client.file_content(uploaded.id)) == _BODY
        with pytest.raises(NotFoundError):
            client.retrieve_file("file-nope")
        with pytest.raises(AuthenticationError):
            BatchesClient(api_key=canary + "x", base_url=server.base_url).list_batches()
    out, err = capfd.readouterr()
    records = [record.getMessage() + repr(record.args) + repr(vars(record)) for record in caplog.records]
    assert any("127.0.0.1" in record for record in records)  # urllib3 logged at DEBUG: the capture is live
    leaks = _key_count(canary, out, err, *records)
    report.add("security", "log records checked for the key", len(records))
    report.loss("security", "key leaks", leaks)
    assert leaks == 0
