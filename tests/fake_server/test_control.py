"""fake_server.control: the /__fake__/ plane steers a served fake from any language, and refuses bad values."""

from __future__ import annotations

import pytest
import requests

from fake_server.control import MAX_ADVANCE_SECONDS
from fake_server.fake import FakeBatchesAPI
from fake_server.faults import Fault
from fake_server.server import ServerHandle, serve

AUTH = {"Authorization": "Bearer sk-control"}


def _post(session: requests.Session, server: ServerHandle, path: str, payload=None) -> requests.Response:
    return session.post(f"{server.url}/__fake__/{path}", json=payload, timeout=10)


@pytest.mark.parametrize("rule", [
    {"status": 429, "retry_after": -1}, {"status": 429, "retry_after": 1e12}, {"status": 429, "retry_after": 86_400},
    {"status": 429, "retry_after_ms": 1.5}, {"delay": 30}, {"delay": 30.5}, {"status": 500, "times": 1_000_000},
    {"status": 500, "times": 1_000_001}, {"status": 500, "rate": 1}, {"status": 500, "rate": 1.01},
])
def test_the_control_plane_and_the_python_api_accept_and_refuse_the_same_rules(
        server: ServerHandle, session: requests.Session, rule: dict) -> None:
    try:
        Fault(**rule)
        python_accepts = True
    except ValueError:
        python_accepts = False
    answer = _post(session, server, "faults", rule)
    assert answer.status_code == (200 if python_accepts else 400), answer.text
    _delete = session.delete(f"{server.url}/__fake__/faults", timeout=5)
    assert _delete.status_code == 200


def test_every_status_is_reachable_over_http(server: ServerHandle, session: requests.Session) -> None:
    """seed, complete, fail, expire, cancel: a client in another process reaches each outcome."""
    made = {status: _post(session, server, "seed", {"status": "in_progress", "requests": 4}).json()
            for status in ("completed", "failed", "expired", "cancelled")}
    assert {b["status"] for b in made.values()} == {"in_progress"}
    done = _post(session, server, f"batches/{made['completed']['id']}/complete").json()
    failed = _post(session, server, f"batches/{made['failed']['id']}/fail", {"errors": [
        {"code": "custom", "message": "Failed by the test.", "param": None, "line": 2}]}).json()
    expired = _post(session, server, f"batches/{made['expired']['id']}/expire").json()
    cancelling = _post(session, server, f"batches/{made['cancelled']['id']}/cancel").json()
    assert (done["status"], failed["status"], expired["status"], cancelling["status"]) == (
        "completed", "failed", "expired", "cancelling")
    assert failed["errors"]["data"] == [{"code": "custom", "message": "Failed by the test.", "param": None,
                                         "line": 2}]
    assert expired["error_file_id"] and expired["request_counts"] == {"total": 4, "completed": 0, "failed": 4}
    _post(session, server, "clock", {"advance": 30})
    seen = session.get(f"{server.base_url}/batches/{made['cancelled']['id']}", headers=AUTH, timeout=5).json()
    assert seen["status"] == "cancelled"
    again = _post(session, server, f"batches/{done['id']}/complete")  # a finished batch cannot be steered: 409
    assert again.status_code == 409 and "already 'completed'" in again.json()["error"]["message"]
    assert _post(session, server, "batches/batch_nope/expire").status_code == 404


def test_seed_takes_every_option_and_checks_each(server: ServerHandle, session: requests.Session) -> None:
    seeded = _post(session, server, "seed", {
        "status": "cancelled", "requests": 6, "failed": 1, "completed": 3, "endpoint": "/v1/embeddings",
        "metadata": {"run": "ci"}, "organization": "org-ctl", "project": "proj_1"}).json()
    assert (seeded["status"], seeded["endpoint"], seeded["metadata"]) == ("cancelled", "/v1/embeddings", {"run": "ci"})
    assert seeded["request_counts"] == {"total": 6, "completed": 3, "failed": 1}
    listed = session.get(f"{server.base_url}/batches", timeout=5,
                      headers={**AUTH, "OpenAI-Organization": "org-ctl", "OpenAI-Project": "proj_1"}).json()
    assert [b["id"] for b in listed["data"]] == [seeded["id"]]
    for bad in ({"status": "done"}, {"requests": 0}, {"requests": 50_001}, {"requests": 2.5}, {"requests": True},
                {"failed": 9, "requests": 3}, {"endpoint": "/v1/nope"}, {"metadata": {"k": 1}}, {"model": ""},
                {"errors": [{"code": 1}]}, {"colour": "red"}):
        refused = _post(session, server, "seed", bad)
        assert refused.status_code == 400, bad
        assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
    assert len(server.fake.batches()) == 1  # nothing made by a refused seed


@pytest.mark.parametrize(("body", "param"), [
    ({"status": "completed", "requests": 3, "completed": 3, "failed": 3}, "completed"),
    ({"status": "completed", "requests": 3, "completed": 1}, "completed"),  # every line of a completed batch ran
    ({"status": "expired", "requests": 3, "completed": 2, "failed": 2}, "completed"),
    ({"status": "in_progress", "requests": 3, "completed": 1}, "completed"),  # nothing has finished yet
    ({"status": "validating", "requests": 3, "completed": 0}, "completed"),
    ({"status": "validating", "requests": 3, "failed": 1}, "failed"),
    ({"status": "failed", "requests": 3, "failed": 2}, "failed"),
    ({"status": "completed", "errors": [{"code": "x", "message": "y"}]}, "errors"),
])
def test_seed_refuses_contradictory_or_inapplicable_counts_naming_the_field(
        server: ServerHandle, session: requests.Session, body: dict, param: str) -> None:
    refused = _post(session, server, "seed", body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["param"], error["code"]) == (param, "invalid_value") and f"'{param}'" in error["message"]
    assert server.fake.batches() == []


@pytest.mark.parametrize(("body", "counts"), [
    ({"status": "completed", "requests": 3, "completed": 2, "failed": 1}, (2, 1)),
    ({"status": "completed", "requests": 3, "completed": 3}, (3, 0)),
    ({"status": "finalizing", "requests": 4, "failed": 1}, (3, 1)),
    ({"status": "expired", "requests": 6, "completed": 2, "failed": 1}, (2, 4)),  # the 3 unfinished lines expired
    ({"status": "cancelled", "requests": 6, "completed": 0, "failed": 2}, (0, 2)),
])
def test_seed_counts_mean_what_request_counts_say(server: ServerHandle, session: requests.Session, body: dict,
                                                  counts: tuple[int, int]) -> None:
    seeded = _post(session, server, "seed", body).json()
    assert (seeded["request_counts"]["completed"], seeded["request_counts"]["failed"]) == counts


@pytest.mark.parametrize("status", [101, 204, 304])
def test_a_fault_with_a_non_error_status_is_refused_and_the_server_keeps_answering(
        server: ServerHandle, session: requests.Session, status: int) -> None:
    refused = _post(session, server, "faults", {"status": status})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "status"
    assert session.get(f"{server.url}/__fake__/faults", timeout=5).json() == {"rules": []}
    assert session.get(f"{server.base_url}/batches", headers=AUTH, timeout=5).status_code == 200


def test_faults_are_added_listed_and_cleared_and_bad_rules_refused(server: ServerHandle,
                                                                   session: requests.Session) -> None:
    rules = _post(session, server, "faults", {"rules": [{"status": 503, "times": 2, "path": "/batches$"},
                                                     {"status": 429, "retry_after": 2, "method": "POST"}]}).json()
    assert [(r["status"], r["remaining"]) for r in rules["rules"]] == [(503, 2), (429, 1)]
    assert session.get(f"{server.base_url}/batches", headers=AUTH, timeout=5).status_code == 503
    assert session.get(f"{server.url}/__fake__/faults", timeout=5).json()["rules"][0]["remaining"] == 1
    for bad in ({"status": 99}, {"delay": -1}, {"delay": 3600}, {"rate": 2}, {"times": -1}, {"times": 1.5},
                {"path": "("}, {"drop": "sideways"}, {"retry_after": "soon"}, {"body": [1]}, {"status": 500, "x": 1},
                {"rules": [{"status": 500}, {"status": "500"}]}, {"rules": "all"}):
        assert _post(session, server, "faults", bad).status_code == 400, bad
    assert len(session.get(f"{server.url}/__fake__/faults", timeout=5).json()["rules"]) == 2  # none half-added
    assert session.delete(f"{server.url}/__fake__/faults", timeout=5).json() == {"rules": []}
    assert session.get(f"{server.base_url}/batches", headers=AUTH, timeout=5).status_code == 200


def test_the_clock_moves_and_sets_within_bounds(server: ServerHandle, session: requests.Session,
                                                fake: FakeBatchesAPI) -> None:
    now = fake.clock.now()
    assert _post(session, server, "clock", {"advance": 60}).json() == {"now": now + 60}
    assert _post(session, server, "clock", {"set": now + 120}).json() == {"now": now + 120}
    assert _post(session, server, "clock", {"advance": MAX_ADVANCE_SECONDS + 1}).status_code == 400
    assert _post(session, server, "clock", {"set": now}).status_code == 400  # never backwards
    assert fake.clock.now() == now + 120


def test_a_system_clock_can_advance_but_not_be_set(session: requests.Session) -> None:
    with serve(FakeBatchesAPI(), control=True) as server:
        assert _post(session, server, "clock", {"advance": 5}).status_code == 200
        refused = _post(session, server, "clock", {"set": 2_000_000_000})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "set"


def test_the_plane_answers_only_its_routes(server: ServerHandle, session: requests.Session) -> None:
    assert session.get(f"{server.url}/__fake__/seed", timeout=5).status_code == 404
    assert _post(session, server, "batches/x/explode").status_code == 404
    assert session.post(f"{server.url}/__fake__/reset", timeout=5).json() == {"ok": True}
