"""Tenants: organizations and projects never see or touch each other's objects, over HTTP and through the core;
an Idempotency-Key never replays another tenant's or another route's answer; a bound key cannot claim another
tenant.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.errors import AuthenticationError, BadRequestError, NotFoundError
from fake_server.fake import DEFAULT_ORGANIZATION
from tests.reliability.security.probes import (
    CREATE,
    KEY,
    LINE,
    ORG_KEY,
    PROJ_KEY,
    TENANTS,
    headers_for,
    organization_of,
    paged,
    shape_of,
    state_of,
    truth,
)


def test_no_tenant_reads_lists_cancels_or_deletes_another_s_objects_over_http(world, report) -> None:
    """Every route, every ordered pair of tenants: a foreign id answers exactly like an id that never existed
    (404, or 400 for an `after` cursor: no existence or status oracle, a foreign completed batch is not a 409),
    lists hold exactly the caller's own objects, and the owner's objects are unchanged."""
    fake, server, owned = world
    before = state_of(fake, owned)
    base, probes, stolen = server.base_url, 0, []
    for intruder in TENANTS:
        session = requests.Session()
        session.headers.update(headers_for(intruder))
        ghost_batch, ghost_file = "batch_" + uuid.uuid4().hex, "file-" + uuid.uuid4().hex[:22]
        unknown = {
            "batch": [shape_of(session.get(f"{base}/batches/{ghost_batch}"), ghost_batch),
                      shape_of(session.post(f"{base}/batches/{ghost_batch}/cancel"), ghost_batch),
                      shape_of(session.get(f"{base}/batches", params={"after": ghost_batch}), ghost_batch),
                      shape_of(session.get(f"{base}/files", params={"after": ghost_batch}), ghost_batch)],
            "file": [shape_of(session.get(f"{base}/files/{ghost_file}"), ghost_file),
                     shape_of(session.get(f"{base}/files/{ghost_file}/content"), ghost_file),
                     shape_of(session.delete(f"{base}/files/{ghost_file}"), ghost_file),
                     shape_of(session.get(f"{base}/files", params={"after": ghost_file}), ghost_file),
                     shape_of(session.get(f"{base}/batches", params={"after": ghost_file}), ghost_file)],
        }
        assert [s[0] for s in unknown["batch"] + unknown["file"]] == [404, 404, 400, 400, 404, 404, 404, 400, 400]
        assert all(s[2] == organization_of(intruder) for s in unknown["batch"] + unknown["file"])
        for owner, objects in owned.items():
            if owner == intruder:
                continue
            for batch_id in objects["batches"]:
                seen = [shape_of(session.get(f"{base}/batches/{batch_id}"), batch_id),
                        shape_of(session.post(f"{base}/batches/{batch_id}/cancel"), batch_id),
                        shape_of(session.get(f"{base}/batches", params={"after": batch_id}), batch_id),
                        shape_of(session.get(f"{base}/files", params={"after": batch_id}), batch_id)]
                assert seen == unknown["batch"], (intruder, owner, batch_id)
                probes += len(seen)
            for file_id in objects["files"]:
                seen = [shape_of(session.get(f"{base}/files/{file_id}"), file_id),
                        shape_of(session.get(f"{base}/files/{file_id}/content"), file_id),
                        shape_of(session.delete(f"{base}/files/{file_id}"), file_id),
                        shape_of(session.get(f"{base}/files", params={"after": file_id}), file_id),
                        shape_of(session.get(f"{base}/batches", params={"after": file_id}), file_id)]
                assert seen == unknown["file"], (intruder, owner, file_id)
                probes += len(seen)
            for file_id in objects["inputs"] + objects["files"][4:]:
                answer = session.post(f"{base}/batches", json={**CREATE, "input_file_id": file_id})
                # like the real API, create does not look the file up: the batch fails validation instead
                assert answer.status_code == 200 and answer.json()["status"] == "validating", answer.text
                stolen.append((intruder, answer.json()["id"]))
                probes += 1
        batches, files = truth(fake, intruder)
        assert {b["id"] for b in paged(session, base + "/batches")} == batches, intruder
        assert {f["id"] for f in paged(session, base + "/files")} == files, intruder
        for purpose in ("batch", "batch_output", "fine-tune"):
            listed = {f["id"] for f in paged(session, base + "/files", purpose=purpose)}
            assert listed <= files and not listed & {i for o in owned.values() for i in o["files"]} - files
        probes += 5
        session.close()
    changed = state_of(fake, owned) != before
    fake.advance(60)  # past validation: every batch made from a foreign file fails, without output
    for intruder, batch_id in stolen:
        batch = fake.batch(batch_id)
        assert batch["status"] == "failed" and batch["output_file_id"] is None and batch["error_file_id"] is None
        message = batch["errors"]["data"][0]["message"]
        assert f"organization {organization_of(intruder)} does not have access" in message, message
    assert state_of(fake, owned) == before  # the failed batches did not read, move or delete the files
    report.add("security", "cross-tenant probes refused", probes)
    report.loss("security", "cross-tenant reads, lists or changes", int(changed))
    assert not changed


def test_the_core_sees_and_touches_only_its_own_tenant(world, report, tmp_path: Path) -> None:
    """The same through `BatchesClient(organization=..., project=...)`: pagination, every read and write,
    `save_file` and `results` of foreign objects all fail with 404 and change nothing, here or on disk."""
    from batches_ext.jobs import results

    fake, server, owned = world
    before, probes, stolen = state_of(fake, owned), 0, []
    for tenant, (org, project) in TENANTS.items():
        with BatchesClient(api_key=KEY, base_url=server.base_url, organization=org, project=project,
                           max_retries=0) as client:
            batches, files = truth(fake, tenant)
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
    assert state_of(fake, owned) == before and list(tmp_path.iterdir()) == []
    fake.advance(60)
    assert {fake.batch(i)["status"] for i in stolen} == {"failed"}
    assert state_of(fake, owned) == before
    report.add("security", "cross-tenant probes refused", probes)


def test_an_idempotency_key_never_replays_another_tenant_s_answer(world) -> None:
    """Tenant B reusing tenant A's Idempotency-Keys (same path, same body) gets its own new objects, never A's."""
    fake, server, owned = world
    keys = {"/batches": "idem-" + uuid.uuid4().hex, "/files": "idem-" + uuid.uuid4().hex}
    body = {**CREATE, "input_file_id": owned["org-a"]["inputs"][1]}
    upload = {"files": {"file": ("x.jsonl", json.dumps(LINE) + "\n")}, "data": {"purpose": "batch"}}

    def post(tenant: str, path: str) -> dict:
        extra = {"json": body} if path == "/batches" else upload
        answer = requests.post(server.base_url + path, headers={**headers_for(tenant), "Idempotency-Key": keys[path]},
                               **extra)
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = {path: post("org-a", path) for path in keys}
    assert {path: post("org-a", path)["id"] for path in keys} == {p: o["id"] for p, o in first.items()}  # replays
    for tenant in ("org-b", "org-a/proj-1", "default"):
        batches, files = truth(fake, tenant)
        made = {path: post(tenant, path) for path in keys}
        assert made["/batches"]["object"] == "batch" and made["/files"]["object"] == "file"
        assert made["/batches"]["id"] not in batches | {first["/batches"]["id"]}
        assert made["/files"]["id"] not in files | {first["/files"]["id"]}
        assert {made["/batches"]["id"]} == truth(fake, tenant)[0] - batches
        assert {made["/files"]["id"]} == truth(fake, tenant)[1] - files


def test_an_idempotency_key_reused_on_another_route_is_not_replayed(world) -> None:
    """Within one tenant, a key first used on POST /batches and then on POST /files must not answer the upload
    with the batch (fake_server.idempotency keeps each answer with a digest of its request, route included: the
    key on another request is a 422)."""
    fake, server, owned = world
    headers = {**headers_for("org-b"), "Idempotency-Key": "idem-" + uuid.uuid4().hex}
    requests.post(server.base_url + "/batches", headers=headers,
                  json={**CREATE, "input_file_id": owned["org-b"]["inputs"][1]})
    answer = requests.post(server.base_url + "/files", headers=headers, data={"purpose": "batch"},
                           files={"file": ("x.jsonl", json.dumps(LINE) + "\n")})
    assert answer.status_code == 422 and "batch" not in json.dumps(answer.json()), answer.json()


def test_a_key_bound_to_a_tenant_cannot_claim_another(world, report) -> None:
    """A key bound to org-a (or to org-b/proj-1) lands in its own tenant with no headers, and every route with
    another organization or project in the headers is a 401 that changes nothing, raw and through the core."""
    fake, server, owned = world
    before, probes = state_of(fake, owned), 0
    for key, tenant in ((ORG_KEY, "org-a"), (ORG_KEY, "org-a/proj-2"), (PROJ_KEY, "org-b/proj-1")):
        org, project = TENANTS[tenant]
        headers = {"Authorization": f"Bearer {key}", **({"OpenAI-Project": project} if project else {})}
        if key is PROJ_KEY:
            headers = {"Authorization": f"Bearer {key}"}  # the binding alone picks org-b / proj-1
        listed = requests.get(server.base_url + "/batches", params={"limit": 100}, headers=headers)
        assert listed.status_code == 200 and listed.headers["openai-organization"] == org
        assert {b["id"] for b in listed.json()["data"]} == truth(fake, tenant)[0]
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
            assert {b["id"] for b in answer.json()["data"]} == truth(fake, victim)[0]
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
    assert state_of(fake, owned) == before
    report.add("security", "cross-tenant probes refused", probes)
