"""A hypothesis state machine over the fake: random uploads, creates, cancels, expiries, clock jumps and
listings by two tenants, with every batch's invariants checked over HTTP after every step.

Invariants (the reference's lifecycle, section 2.3): a `*_at` stamp once set never changes; the set
stamps are in lifecycle order; `completed + failed <= total`, equal once `completed`; a terminal status
never changes; a status only moves forward along the lifecycle; paging with `after` returns each of a
tenant's batches exactly once and none of another's; and the results a batch already finished survive
its cancel or expiry: the output and error files hold each custom_id at most once, every one from the
input, as many lines as the counts say.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.conftest import bounded_or_long

BASE = "https://fake.test/v1"
TENANTS = {"a": {"OpenAI-Organization": "org-a"}, "b": {"OpenAI-Organization": "org-b", "OpenAI-Project": "p1"}}
TERMINAL = {"completed", "failed", "expired", "cancelled"}
# status -> the statuses it may be seen in next (steps may skip states: the clock jumps)
NEXT = {
    "validating": {"validating", "in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled",
                   "expired"},
    "in_progress": {"in_progress", "finalizing", "completed", "cancelling", "cancelled", "expired", "failed"},
    "finalizing": {"finalizing", "completed", "cancelling", "cancelled", "expired", "failed"},
    "cancelling": {"cancelling", "cancelled"},
}
ORDER = ["created_at", "in_progress_at", "finalizing_at", "completed_at"]
STAMPS = ["created_at", "in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
          "cancelling_at", "cancelled_at"]
COUNTERS = Counter()


class FakeBatchesMachine(RuleBasedStateMachine):
    files = Bundle("files")
    batches = Bundle("batches")

    @initialize()
    def start(self) -> None:
        self.fake = FakeBatchesAPI(clock=ManualClock(), seed=1)
        self.http = self.fake.requests_session(BASE)
        self.http.headers["Authorization"] = "Bearer sk-machine"
        self.seen: dict[str, dict] = {}       # batch id -> the last state seen
        self.owner: dict[str, str] = {}       # batch id -> tenant
        self.inputs: dict[str, set[str]] = {}  # batch id -> custom_ids of its input
        self.file_inputs: dict[str, tuple[str, set[str]]] = {}

    def _call(self, tenant: str, method: str, path: str, **kw) -> requests.Response:
        COUNTERS["requests"] += 1
        answer = self.http.request(method, BASE + path, headers=TENANTS[tenant], **kw)
        assert answer.status_code < 500, answer.text
        return answer

    # ------------------------------------------------------------------ rules

    @rule(target=files, tenant=st.sampled_from(sorted(TENANTS)),
          models=st.lists(st.sampled_from(["gpt-4o-mini"] * 4 + ["fake-error-500", "fake-error-400"]),
                          min_size=1, max_size=8))
    def upload(self, tenant: str, models: list[str]) -> str:
        lines = [{"custom_id": f"c-{i}", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": m, "messages": [{"role": "user", "content": str(i)}]}}
                 for i, m in enumerate(models)]
        content = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        answer = self._call(tenant, "POST", "/files", files={"file": ("in.jsonl", content)}, data={"purpose": "batch"})
        assert answer.status_code == 200, answer.text
        file_id = answer.json()["id"]
        self.file_inputs[file_id] = (tenant, {line["custom_id"] for line in lines})
        COUNTERS["steps"] += 1
        return file_id

    @rule(target=batches, file_id=files)
    def create(self, file_id: str) -> str:
        tenant, custom_ids = self.file_inputs[file_id]
        answer = self._call(tenant, "POST", "/batches", json={"input_file_id": file_id, "completion_window": "24h",
                                                              "endpoint": "/v1/chat/completions"})
        assert answer.status_code == 200, answer.text
        batch = answer.json()
        assert batch["status"] == "validating" and batch["input_file_id"] == file_id
        self.owner[batch["id"]], self.inputs[batch["id"]] = tenant, custom_ids
        COUNTERS["steps"] += 1
        return batch["id"]

    @rule(batch_id=batches)
    def cancel(self, batch_id: str) -> None:
        before = self._get(batch_id)["status"]
        answer = self._call(self.owner[batch_id], "POST", f"/batches/{batch_id}/cancel")
        if before in ("completed", "failed", "expired"):
            assert answer.status_code == 409, answer.text
            assert f"status '{before}'" in answer.json()["error"]["message"]
        else:
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] in ("cancelling", "cancelled")
        COUNTERS["steps"] += 1

    @rule(batch_id=batches)
    def expire(self, batch_id: str) -> None:
        status = self._get(batch_id)["status"]
        if status == "cancelling":
            with pytest.raises(ValueError, match="can only end cancelled"):
                self.fake.expire(batch_id)
        elif status not in TERMINAL:
            self.fake.expire(batch_id)
        COUNTERS["steps"] += 1

    @rule(seconds=st.one_of(st.integers(0, 60), st.integers(0, 4000), st.just(90_000)))
    def advance(self, seconds: int) -> None:
        self.fake.advance(seconds)
        COUNTERS["steps"] += 1

    @rule(tenant=st.sampled_from(sorted(TENANTS)), limit=st.integers(1, 7))
    def list_pages(self, tenant: str, limit: int) -> None:
        ids, after = [], None
        while True:
            params = {"limit": limit, **({"after": after} if after else {})}
            page = self._call(tenant, "GET", "/batches", params=params).json()
            assert len(page["data"]) <= limit
            ids += [b["id"] for b in page["data"]]
            if not page["has_more"]:
                break
            after = page["last_id"]
        mine = {b for b, owner in self.owner.items() if owner == tenant}
        assert len(ids) == len(set(ids)), "a batch listed twice"
        assert set(ids) == mine, "a batch missing from, or foreign to, the tenant's list"
        COUNTERS["steps"] += 1
        COUNTERS["listings"] += 1

    # ------------------------------------------------------------------ invariants

    def _get(self, batch_id: str) -> dict:
        answer = self._call(self.owner[batch_id], "GET", f"/batches/{batch_id}")
        assert answer.status_code == 200
        return answer.json()

    @invariant()
    def every_batch_keeps_its_invariants(self) -> None:
        if not hasattr(self, "fake"):
            return
        for batch_id in self.owner:
            now = self._get(batch_id)
            before = self.seen.get(batch_id)
            self._check(now, before)
            self.seen[batch_id] = now
            COUNTERS["invariant checks"] += 1

    def _check(self, now: dict, before: dict | None) -> None:
        c = now["request_counts"]
        assert c["completed"] + c["failed"] <= c["total"]
        if now["status"] == "completed":
            assert c["completed"] + c["failed"] == c["total"] == len(self.inputs[now["id"]])
        stamps = [now[k] for k in ORDER if now[k] is not None]
        assert stamps == sorted(stamps), now
        if now["cancelled_at"] is not None:
            assert now["cancelling_at"] is not None and now["cancelling_at"] <= now["cancelled_at"]
        for key in STAMPS:
            if now[key] is not None:
                assert now[key] >= now["created_at"]
        if before is None:
            return
        for key in STAMPS:
            if before[key] is not None:
                assert now[key] == before[key], f"{key} changed: {before[key]} -> {now[key]}"
        if before["status"] in TERMINAL:
            assert now == before, "a terminal batch changed"
        else:
            assert now["status"] in NEXT[before["status"]], f"{before['status']} -> {now['status']}"
        assert c["completed"] >= before["request_counts"]["completed"]
        assert c["failed"] >= before["request_counts"]["failed"]
        if now["status"] in TERMINAL and before["status"] not in TERMINAL:
            self._check_results(now)

    def _check_results(self, batch: dict) -> None:
        """The finished lines are all there, once each, and belong to the input (cancel/expiry included)."""
        found: list[str] = []
        for key in ("output_file_id", "error_file_id"):
            if batch[key]:
                body = self._call(self.owner[batch["id"]], "GET", f"/files/{batch[key]}/content").content
                found += [json.loads(line)["custom_id"] for line in body.splitlines() if line.strip()]
        duplicates = len(found) - len(set(found))
        strangers = set(found) - self.inputs[batch["id"]]
        c = batch["request_counts"]
        missing = (c["completed"] + c["failed"]) - len(found) if batch["status"] != "failed" else 0
        COUNTERS["results checked"] += 1
        COUNTERS["results lost"] += max(missing, 0) + duplicates + len(strangers)
        assert not duplicates and not strangers, batch
        assert missing == 0, f"{batch['status']} batch: counts say {c}, files hold {len(found)} lines"


def _settings(examples: int, steps: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], database=None)


@pytest.mark.parametrize("size", bounded_or_long((150, 40), (2000, 60)))
def test_the_fake_keeps_its_invariants_under_random_operations(size: tuple[int, int], report) -> None:
    COUNTERS.clear()
    examples, steps = size
    run_state_machine_as_test(FakeBatchesMachine, settings=_settings(examples, steps))
    report.add("state machine", "runs x max steps", f"{examples} x {steps}")
    report.add("state machine", "steps run", COUNTERS["steps"])
    report.add("state machine", "invariant checks (one batch, one step)", COUNTERS["invariant checks"])
    report.add("state machine", "paged listings checked", COUNTERS["listings"])
    report.add("state machine", "finished batches' result files checked", COUNTERS["results checked"])
    report.loss("state machine", "result lines lost or duplicated", COUNTERS["results lost"])
    assert COUNTERS["invariant checks"] > examples and COUNTERS["results checked"] > 0


def test_the_machine_catches_a_broken_invariant(monkeypatch) -> None:
    """A stamp that moves is caught (the checks are not vacuous)."""
    machine = FakeBatchesMachine()
    machine.start()
    batch = machine.fake.seed_batch("in_progress", requests=2)
    machine.owner[batch["id"]], machine.inputs[batch["id"]] = "default", {"request-1", "request-2"}
    TENANTS["default"] = {}
    try:
        machine.every_batch_keeps_its_invariants()
        moved = {**machine.seen[batch["id"]], "created_at": batch["created_at"] - 1}
        machine.seen[batch["id"]] = moved
        with pytest.raises(AssertionError, match="created_at changed"):
            machine.every_batch_keeps_its_invariants()
    finally:
        del TENANTS["default"]
