"""A hypothesis state machine proves the fake's batch lifecycle holds under any sequence of operations.

Two tenants (one named by its `OpenAI-Organization` header, one by an API key bound to its organization:
`FakeBatchesAPI(api_keys=...)`) upload input files (some lines on the fake's `fake-error-NNN` models, some
files broken so validation fails), create batches (sometimes naming the other tenant's file), cancel any
batch (terminal ones too), expire batches, jump the clock by random amounts or into the middle of a running
batch's validation / processing / finalizing (then cancel or expire it there), and page through their lists
with random page sizes, all through the fake's HTTP handler; the bound key sent with the other organization's
header is refused (401) and changes nothing. After every step, for every batch, over HTTP (reference
sections 2.3, 2.4, 3.1, 4.3, 9):

* a `*_at` stamp once set never changes, is never in the future, and the set stamps are ordered
  (created <= in_progress <= finalizing <= completed, cancelling <= cancelled, all <= the terminal one);
  the stamps a status implies are set and the others are not; `expires_at` is `created_at` + 24 h;
* `completed + failed <= total`, never decreasing, equal to the input's lines once `completed`/`expired`;
  `usage` is null until processing starts and its token totals never decrease;
* a terminal batch never changes again; a status only moves forward along the lifecycle;
* cancel answers 409 with the API's envelope for completed/failed/expired, 200 otherwise;
* paging the list with `after` returns each of the tenant's batches exactly once, newest first, the same
  objects as GET, and none of the other tenant's (whose GET answers 404);
* when a batch ends, its output and error files hold each custom_id at most once, all from its input,
  as many lines as the counts say, every line that had finished before a cancel or expiry is still
  there, and each line is where its model sends it (fake-error-NNN lines in the error file with status NNN).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from batches_ext.jsonl import parse_result_line
from fake_server import FakeBatchesAPI, ManualClock
from fake_server.lifecycle import Timings
from tests.fake_server.calls import CHAT, call, upload
from tests.reliability.conftest import bounded_or_long

KEY_A, KEY_B = "sk-tenant-a", "sk-tenant-b-bound-to-org-b"
API_KEYS = {KEY_A: None, KEY_B: "org-b"}  # key A: any organization (sent as a header); key B: org-b only
TENANTS = {"a": (KEY_A, {"openai-organization": "org-a"}), "b": (KEY_B, {})}
OTHER = {"a": "b", "b": "a"}
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
STAMPS = ("created_at", "in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
          "cancelling_at", "cancelled_at")
TERMINAL_STAMP = {"completed": "completed_at", "failed": "failed_at", "expired": "expired_at",
                  "cancelled": "cancelled_at"}
# The stamps each status implies (set), beyond created_at; every other stamp must be null.
IMPLIED = {
    "validating": set(),
    "in_progress": {"in_progress_at"},
    "finalizing": {"in_progress_at", "finalizing_at"},
    "completed": {"in_progress_at", "finalizing_at", "completed_at"},
    "failed": {"failed_at"},
    "cancelling": {"cancelling_at"},
    "cancelled": {"cancelling_at", "cancelled_at"},
    "expired": {"expired_at"},
}
# Stamps a status may carry besides the implied ones (where it came from decides).
OPTIONAL = {
    "cancelling": {"in_progress_at", "finalizing_at"},
    "cancelled": {"in_progress_at", "finalizing_at"},
    "expired": {"in_progress_at", "finalizing_at"},
}
# One lifecycle step (reference 2.3; the fake also cancels `finalizing`, and a `cancelling` batch ends
# `cancelled`, README "Choices where the API is silent").
STEP = {
    "validating": {"in_progress", "failed", "cancelling", "expired"},
    "in_progress": {"finalizing", "cancelling", "expired"},
    "finalizing": {"completed", "cancelling", "expired"},
    "cancelling": {"cancelled"},
}


def _closure() -> dict[str, set[str]]:
    """Statuses reachable in one or more steps (observations are sparse: the clock jumps over states)."""
    reach: dict[str, set[str]] = {}
    for start in STEP:
        seen, todo = set(), list(STEP[start])
        while todo:
            status = todo.pop()
            if status not in seen:
                seen.add(status)
                todo.extend(STEP.get(status, ()))
        reach[start] = seen
    return reach


REACHABLE = _closure()
GOOD_MODEL = "gpt-4o-mini"
ERROR_MODELS = {"fake-error-400": 400, "fake-error-429": 429, "fake-error-500": 500, "fake-error-404": 404}
BROKEN = {  # a line that fails validation -> (raw line, errors.data code)
    "bad_json": (b'{"custom_id": "broken", "method": "POST",', "invalid_json_line"),
    "wrong_url": (json.dumps({"custom_id": "broken", "method": "POST", "url": "/v1/embeddings",
                              "body": {"model": GOOD_MODEL, "input": "x"}}).encode(), "invalid_url"),
    "duplicate": (json.dumps({"custom_id": "c-0", "method": "POST", "url": CHAT,
                              "body": {"model": GOOD_MODEL, "messages": []}}).encode(),
                  "duplicate_custom_id"),
    "stream": (json.dumps({"custom_id": "broken", "method": "POST", "url": CHAT,
                           "body": {"model": GOOD_MODEL, "messages": [], "stream": True}}).encode(),
               "streaming_unsupported"),
}

COUNTERS: Counter = Counter()


class Crash(AssertionError):
    """The handler raised instead of answering."""


class BatchLifecycleMachine(RuleBasedStateMachine):
    files = Bundle("files")
    batches = Bundle("batches")

    def __init__(self) -> None:
        super().__init__()
        # 60 s per line: a cancel or an expiry often lands while some lines are done and some are not
        self.fake = FakeBatchesAPI(clock=ManualClock(), seed=7, api_keys=API_KEYS,
                                   timings=Timings(validation=10, per_request=60))
        self.files_in: dict[str, dict[str, Any]] = {}    # file id -> tenant, models by custom_id, broken
        self.batch_in: dict[str, dict[str, Any]] = {}    # batch id -> tenant, models, expected validation
        self.order: dict[str, list[str]] = {"a": [], "b": []}  # batch ids per tenant, oldest first
        self.seen: dict[str, dict] = {}                  # batch id -> the last Batch object seen
        self.peak: dict[str, tuple[int, int]] = {}       # batch id -> most (completed, ran) seen running
        self.checks = 0

    # ------------------------------------------------------------------ HTTP

    def _call(self, tenant: str, method: str, path: str, body: Any = None, query: str = "") -> Any:
        key, headers = TENANTS[tenant]
        return self._send(key, headers, method, path, body, query)

    def _send(self, key: str, headers: dict, method: str, path: str, body: Any = None,
              query: str = "") -> Any:
        COUNTERS["requests"] += 1
        try:
            answer = call(self.fake, method, path, body, query=query, headers=headers, key=key)
        except Exception as exc:  # noqa: BLE001 - any exception out of the handler is the bug
            raise Crash(f"{method} {path} raised {exc!r}") from exc
        assert answer.status < 500, (method, path, answer.status, answer.read())
        assert "x-request-id" in answer.headers
        return answer

    def _get(self, tenant: str, batch_id: str) -> dict:
        answer = self._call(tenant, "GET", f"/batches/{batch_id}")
        assert answer.status == 200, answer.read()
        return answer.json()

    def _now(self) -> int:
        return int(self.fake.clock.now())

    # ------------------------------------------------------------------ rules

    @rule(target=files, tenant=st.sampled_from(sorted(TENANTS)),
          models=st.lists(st.sampled_from([GOOD_MODEL] * 6 + sorted(ERROR_MODELS)), min_size=1, max_size=8),
          broken=st.sampled_from([None] * 12 + sorted(BROKEN)), broken_at=st.integers(0, 7))
    def upload_input(self, tenant: str, models: list[str], broken: str | None, broken_at: int) -> str:
        lines = [json.dumps({"custom_id": f"c-{i}", "method": "POST", "url": CHAT,
                             "body": {"model": m, "messages": [{"role": "user", "content": f"say {i}"}]}})
                 .encode() for i, m in enumerate(models)]
        broken_line = None
        if broken is not None:
            broken_at = len(lines) if broken == "duplicate" else min(broken_at, len(lines))
            lines.insert(broken_at, BROKEN[broken][0])
            broken_line = broken_at + 1
        content = b"".join(line + b"\n" for line in lines)
        try:
            key, headers = TENANTS[tenant]
            answer = upload(self.fake, content, headers=headers, key=key)
        except Exception as exc:  # noqa: BLE001
            raise Crash(f"upload raised {exc!r}") from exc
        assert answer.status == 200, answer.read()
        file_id = answer.json()["id"]
        self.files_in[file_id] = {"tenant": tenant, "models": {f"c-{i}": m for i, m in enumerate(models)},
                                  "broken": None if broken is None else (broken_line, BROKEN[broken][1])}
        COUNTERS["steps"] += 1
        return file_id

    @rule(target=batches, file_id=files, foreign=st.sampled_from([False] * 9 + [True]))
    def create(self, file_id: str, foreign: bool) -> str:
        source = self.files_in[file_id]
        tenant = OTHER[source["tenant"]] if foreign else source["tenant"]
        answer = self._call(tenant, "POST", "/batches",
                            {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"})
        assert answer.status == 200, answer.read()
        batch = answer.json()
        assert batch["status"] == "validating" and batch["input_file_id"] == file_id
        assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        assert batch["created_at"] == self._now()
        expected = ("missing_file" if foreign else None) or source["broken"]
        self.batch_in[batch["id"]] = {"tenant": tenant, "models": source["models"], "invalid": expected}
        self.order[tenant].append(batch["id"])
        self._check(batch, None)
        self.seen[batch["id"]] = batch
        COUNTERS["steps"] += 1
        COUNTERS["batches created"] += 1
        return batch["id"]

    @rule(batch_id=batches, as_other=st.sampled_from([False] * 7 + [True]))
    def cancel(self, batch_id: str, as_other: bool) -> None:
        self._cancel(batch_id, as_other)
        COUNTERS["steps"] += 1

    def _cancel(self, batch_id: str, as_other: bool) -> None:
        owner = self.batch_in[batch_id]["tenant"]
        before = self._get(owner, batch_id)
        if as_other:  # another tenant cannot see, let alone cancel, the batch
            answer = self._call(OTHER[owner], "POST", f"/batches/{batch_id}/cancel")
            assert answer.status == 404, answer.read()
            assert self._get(owner, batch_id) == before
            COUNTERS["foreign cancels refused"] += 1
            return
        answer = self._call(owner, "POST", f"/batches/{batch_id}/cancel")
        status = before["status"]
        COUNTERS[f"cancel while {status}"] += 1
        if status in ("completed", "failed", "expired"):
            assert answer.status == 409, answer.read()
            assert answer.json() == {"error": {"message": f"Cannot cancel a batch with status '{status}'.",
                                               "type": "invalid_request_error", "param": None, "code": None}}
            COUNTERS["409 on cancel of a finished batch"] += 1
        else:
            assert answer.status == 200, answer.read()
            after = answer.json()
            if status in ("cancelling", "cancelled"):
                assert after == before, "a repeated cancel changed the batch"
            else:
                assert after["status"] == "cancelling" and after["cancelling_at"] == self._now(), after
                assert after["output_file_id"] is None and after["error_file_id"] is None
            self._check(after, before)
            self.seen[batch_id] = after
            COUNTERS["cancels accepted"] += 1

    @rule(batch_id=batches)
    def expire(self, batch_id: str) -> None:
        self._expire(batch_id)
        COUNTERS["steps"] += 1

    def _expire(self, batch_id: str) -> None:
        status = self._get(self.batch_in[batch_id]["tenant"], batch_id)["status"]
        COUNTERS[f"expire while {status}"] += 1
        if status in TERMINAL or status == "cancelling":
            with pytest.raises(ValueError):
                self.fake.expire(batch_id)
        else:
            batch = self.fake.expire(batch_id)
            assert batch["status"] == "expired" and batch["expired_at"] == self._now(), batch

    @rule(seconds=st.one_of(st.integers(0, 120), st.integers(0, 120), st.sampled_from([300, 3_600, 86_400])))
    def advance(self, seconds: int) -> None:
        self.fake.advance(seconds)
        COUNTERS["steps"] += 1
        COUNTERS["seconds advanced"] += seconds

    def _running(self) -> list[str]:
        return [batch_id for batch_id, b in self.seen.items() if b["status"] in ("validating", "in_progress")]

    @precondition(lambda self: bool(self._running()))
    @rule(pick=st.integers(0, 1_000),
          phase=st.sampled_from(["validating", "in_progress", "in_progress", "finalizing"]),
          fraction=st.floats(0.0, 1.0),
          then=st.sampled_from(["cancel", "cancel", "expire", "expire", "wait"]))
    def advance_partway(self, pick: int, phase: str, fraction: float, then: str) -> None:
        """Jump to a point inside a running batch's validation, processing or finalizing (as planned from its
        input), then cancel or expire it there (or not): where some lines have finished and some have not."""
        running = self._running()
        batch_id = running[pick % len(running)]
        timings = self.fake.timings
        processing = timings.per_request * len(self.batch_in[batch_id]["models"])
        start, length = {"validating": (0, timings.validation),
                         "in_progress": (timings.validation, processing),
                         "finalizing": (timings.validation + processing, timings.finalizing)}[phase]
        target = self.seen[batch_id]["created_at"] + int(start + fraction * length)
        self.fake.advance(max(0, target - self._now()))
        self.every_batch_keeps_its_invariants()
        if then == "cancel":
            self._cancel(batch_id, False)
        elif then == "expire":
            self._expire(batch_id)
        COUNTERS["steps"] += 1

    @rule(tenant=st.sampled_from(sorted(TENANTS)),
          limit=st.one_of(st.integers(1, 8), st.sampled_from([0, -3, 100, 250])),
          intrude=st.sampled_from([None] * 9 + ["list", "create", "cancel"]))
    def list_pages(self, tenant: str, limit: int, intrude: str | None) -> None:
        if intrude is not None:  # (a rarer step folded into this rule, so it does not crowd out the others)
            self._bound_key_with_another_organization(intrude)
        self._page_through(tenant, limit)
        COUNTERS["steps"] += 1

    def _bound_key_with_another_organization(self, action: str) -> None:
        """Key B is bound to org-b: sent with org-a's header it is refused, and nothing changes for anyone."""
        body = None
        before = None
        if action == "list":
            method, path = "GET", "/batches"
        elif action == "create":  # (a batch made anyway would break the exact-list invariant)
            file_id = next(iter(self.files_in), "file-none")
            method, path = "POST", "/batches"
            body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
        else:
            batch_id = next(iter(self.batch_in), None)
            if batch_id is not None:
                before = self._get(self.batch_in[batch_id]["tenant"], batch_id)
            method, path = "POST", f"/batches/{batch_id or 'batch_none'}/cancel"
        answer = self._send(KEY_B, {"openai-organization": "org-a"}, method, path, body)
        assert answer.status == 401, answer.read()
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        assert error["code"] == "mismatched_organization", error
        if before is not None:
            after = self._get(self.batch_in[before["id"]]["tenant"], before["id"])
            assert after == before, "a refused cancel acted"
        COUNTERS["mismatched-organization requests refused"] += 1

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_batch_keeps_its_invariants(self) -> None:
        for batch_id, info in self.batch_in.items():
            now = self._get(info["tenant"], batch_id)
            self._check(now, self.seen.get(batch_id))
            self.seen[batch_id] = now
            foreign = self._call(OTHER[info["tenant"]], "GET", f"/batches/{batch_id}")
            assert foreign.status == 404, "another tenant can read the batch"
            self.checks += 1
            COUNTERS["invariant checks"] += 1
        for tenant in TENANTS:  # and each tenant's list pages through them exactly once
            self._page_through(tenant, 1 + self.checks % 5)

    def _page_through(self, tenant: str, limit: int) -> None:
        page_size = max(1, min(100, limit))
        query_limit = f"limit={limit}"
        listed: list[dict] = []
        after = None
        for _ in range(len(self.order[tenant]) + 2):
            query = query_limit + (f"&after={after}" if after else "")
            answer = self._call(tenant, "GET", "/batches", query=query)
            assert answer.status == 200, answer.read()
            page = answer.json()
            data = page["data"]
            assert page["object"] == "list" and len(data) <= page_size
            assert page["first_id"] == (data[0]["id"] if data else None)
            assert page["last_id"] == (data[-1]["id"] if data else None)
            listed += data
            if not page["has_more"]:
                break
            assert len(data) == page_size, "has_more on a short page"
            after = data[-1]["id"]
        else:
            raise AssertionError("has_more never became false")
        ids = [b["id"] for b in listed]
        assert len(ids) == len(set(ids)), "a batch listed twice"
        assert ids == self.order[tenant][::-1], "the list is not every batch of the tenant, newest first"
        for batch in listed:  # the clock has not moved since the last GET: the list shows the same objects
            assert batch == self.seen[batch["id"]]
        COUNTERS["listings paged"] += 1

    # ------------------------------------------------------------------ checks

    def _check(self, now: dict, before: dict | None) -> None:
        info = self.batch_in[now["id"]]
        status, clock = now["status"], self._now()
        assert status in IMPLIED, status
        # stamps: implied ones set, others null, never in the future, ordered
        set_stamps = {k for k in STAMPS if now[k] is not None} - {"created_at"}
        missing = IMPLIED[status] - set_stamps
        extra = set_stamps - IMPLIED[status] - OPTIONAL.get(status, set())
        assert not missing and not extra, f"{status}: missing {missing}, unexpected {extra}: {now}"
        assert now["expires_at"] == now["created_at"] + 86_400
        for key in STAMPS:
            if now[key] is not None:
                assert isinstance(now[key], int) and now["created_at"] <= now[key] <= clock, (key, now, clock)
        chain = [now[k] for k in ("created_at", "in_progress_at", "finalizing_at", "completed_at") if now[k]]
        assert chain == sorted(chain), now
        if now["cancelled_at"] is not None:
            assert now["cancelling_at"] <= now["cancelled_at"]
        if status in TERMINAL:
            end = now[TERMINAL_STAMP[status]]
            assert all(now[k] <= end for k in STAMPS if now[k] is not None), now
        if now["cancelling_at"] is not None:
            assert all(now[k] <= now["cancelling_at"] for k in ("in_progress_at", "finalizing_at") if now[k])
        # errors, files, counts
        assert (now["errors"] is not None) == (status == "failed"), now
        if status not in TERMINAL or status == "failed":
            assert now["output_file_id"] is None and now["error_file_id"] is None, now
        c = now["request_counts"]
        assert 0 <= c["completed"] and 0 <= c["failed"] and c["completed"] + c["failed"] <= c["total"], c
        if now["in_progress_at"] is None:
            assert c == {"total": 0, "completed": 0, "failed": 0}, now
        else:
            assert c["total"] == len(info["models"]), now
        usage = now["usage"]
        assert (usage is None) == (c["total"] == 0), now
        if status in ("completed", "expired"):  # (an expiry during validation ran nothing: total 0)
            assert c["completed"] + c["failed"] == c["total"], now
        # what validation decides
        if info["invalid"] is not None:
            assert status in ("validating", "failed", "cancelling", "cancelled", "expired"), now
            assert now["in_progress_at"] is None
        else:
            assert status != "failed", now
        if status == "failed":
            self._check_validation_errors(now, info["invalid"])
        # against the previous observation
        if before is not None:
            for key in STAMPS + ("expires_at",):
                if before[key] is not None:
                    assert now[key] == before[key], f"{key} changed: {before[key]} -> {now[key]}"
            if before["status"] in TERMINAL:
                assert now == before, f"a {before['status']} batch changed"
            elif now["status"] != before["status"]:
                assert now["status"] in REACHABLE[before["status"]], f"{before['status']} -> {now['status']}"
            b = before["request_counts"]
            assert c["completed"] >= b["completed"] and c["failed"] >= b["failed"], (b, c)
            if before["usage"] is not None:
                for k in ("input_tokens", "output_tokens", "total_tokens"):
                    assert usage[k] >= before["usage"][k], (before["usage"], usage)
        if status not in TERMINAL:
            completed, ran = self.peak.get(now["id"], (0, 0))
            self.peak[now["id"]] = (max(completed, c["completed"]), max(ran, c["completed"] + c["failed"]))
        elif before is None or before["status"] not in TERMINAL:
            COUNTERS[f"ended {status}"] += 1
            self._check_results(now)

    def _check_validation_errors(self, batch: dict, expected: Any) -> None:
        data = batch["errors"]["data"]
        assert batch["errors"]["object"] == "list" and data, batch
        for error in data:
            assert set(error) == {"code", "message", "param", "line"}, error
        if expected == "missing_file":
            found = [(e["code"], e["param"], e["line"]) for e in data]
            assert found == [("invalid_request", "file_id", None)], data
        else:
            line, code = expected
            assert (line, code) in {(e["line"], e["code"]) for e in data}, (expected, data)

    def _content(self, tenant: str, file_id: str) -> list[bytes]:
        answer = self._call(tenant, "GET", f"/files/{file_id}/content")
        assert answer.status == 200, answer.read()
        assert self._call(OTHER[tenant], "GET", f"/files/{file_id}/content").status == 404
        meta = self._call(tenant, "GET", f"/files/{file_id}").json()
        body = answer.read()
        assert meta["purpose"] == "batch_output" and meta["bytes"] == len(body), meta
        return [line for line in body.split(b"\n") if line]

    def _check_results(self, batch: dict) -> None:
        """The files of a batch that just ended: every finished line kept, once, where its model sends it."""
        info, status, c = self.batch_in[batch["id"]], batch["status"], batch["request_counts"]
        models = info["models"]
        COUNTERS["result sets checked"] += 1
        if status == "failed":
            return
        out = [parse_result_line(raw) for raw in self._content(info["tenant"], batch["output_file_id"])] \
            if batch["output_file_id"] else []
        err = [parse_result_line(raw) for raw in self._content(info["tenant"], batch["error_file_id"])] \
            if batch["error_file_id"] else []
        found = [r.custom_id for r in out + err]
        duplicates = len(found) - len(set(found))
        strangers = set(found) - set(models)
        kept = len(out) + sum(1 for r in err if r.status == "error")  # lines that ran
        peak_completed, peak_ran = self.peak.get(batch["id"], (0, 0))  # seen finished before the end
        lost = max(0, peak_completed - len(out), peak_ran - kept)
        COUNTERS["results lost"] += duplicates + len(strangers) + lost
        if status in ("cancelled", "expired"):
            COUNTERS["results lost after cancel/expiry"] += duplicates + len(strangers) + lost
            COUNTERS["finished lines kept after cancel/expiry"] += kept
        assert not duplicates and not strangers, (found, models)
        assert not lost, f"{status}: {lost} finished lines missing from the files"
        assert (len(out), len(err)) == (c["completed"], c["failed"]), (status, c, len(out), len(err))
        for r in out:
            assert r.ok and models[r.custom_id] == GOOD_MODEL, r
        for r in err:
            if r.status == "expired":
                assert status == "expired" and r.status_code is None and r.body is None, r
            else:
                assert r.status == "error" and r.status_code == ERROR_MODELS[models[r.custom_id]], r
        if status == "completed" or (status == "expired" and batch["in_progress_at"] is not None):
            assert set(found) == set(models), "a line of the input has no result"
        if status == "completed":
            assert {r.custom_id for r in err} == {k for k, m in models.items() if m in ERROR_MODELS}


def _settings(examples: int, steps: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("size", bounded_or_long((250, 40), (2500, 50)))
def test_the_batch_lifecycle_holds_under_random_operations(size: tuple[int, int], report) -> None:
    COUNTERS.clear()
    examples, steps = size
    run_state_machine_as_test(BatchLifecycleMachine, settings=_settings(examples, steps))
    outcomes = ", ".join(f"{COUNTERS['ended ' + s]} {s}"
                         for s in ("completed", "failed", "expired", "cancelled"))
    report.add("state machine", "runs x max steps", f"{examples} x {steps}")
    report.add("state machine", "steps checked", COUNTERS["steps"])
    report.add("state machine", "invariant checks", COUNTERS["invariant checks"])
    report.add("state machine", "HTTP requests", COUNTERS["requests"])
    report.add("state machine", "batches created", COUNTERS["batches created"])
    report.add("state machine", "batches ended", outcomes)
    report.add("state machine", "listings paged through", COUNTERS["listings paged"])
    report.add("state machine", "409s on cancel of a finished batch",
               COUNTERS["409 on cancel of a finished batch"])
    report.add("state machine", "bound key + other organization refused (401)",
               COUNTERS["mismatched-organization requests refused"])
    mid_run = sum(COUNTERS[f"{action} while {status}"] for action in ("cancel", "expire")
                  for status in ("in_progress", "finalizing"))
    report.add("state machine", "cancels and expiries while in_progress/finalizing", mid_run)
    report.add("state machine", "finished lines kept after cancel/expiry",
               COUNTERS["finished lines kept after cancel/expiry"])
    report.loss("state machine", "results lost after cancel/expiry",
                COUNTERS["results lost after cancel/expiry"])
    report.loss("state machine", "result lines lost, duplicated or foreign", COUNTERS["results lost"])
    # the run reached every terminal outcome, so every check above was exercised
    for status in ("completed", "failed", "expired", "cancelled"):
        assert COUNTERS[f"ended {status}"] > 0, f"no batch ended {status}: the run is too small"
    for reached in ("409 on cancel of a finished batch", "finished lines kept after cancel/expiry",
                    "mismatched-organization requests refused", "foreign cancels refused",
                    "cancel while in_progress", "expire while in_progress"):
        assert COUNTERS[reached] > 0, f"the run never reached: {reached}"
    assert COUNTERS["cancel while finalizing"] + COUNTERS["expire while finalizing"] > 0


def test_the_machine_catches_a_stamp_that_moves() -> None:
    """The checks are not vacuous: a previous observation with a different stamp is reported."""
    machine = BatchLifecycleMachine()
    file_id = machine.upload_input("a", [GOOD_MODEL, "fake-error-500"], None, 0)
    batch_id = machine.create(file_id, False)
    machine.fake.advance(31)
    machine.every_batch_keeps_its_invariants()
    assert machine.seen[batch_id]["status"] == "in_progress"
    seen = machine.seen[batch_id]
    machine.seen[batch_id] = {**seen, "in_progress_at": seen["in_progress_at"] - 1}
    with pytest.raises(AssertionError, match="in_progress_at changed"):
        machine.every_batch_keeps_its_invariants()


def test_the_machine_catches_a_lost_result() -> None:
    """A batch whose counts once showed more finished lines than its files hold is reported as a loss."""
    machine = BatchLifecycleMachine()
    file_id = machine.upload_input("b", [GOOD_MODEL] * 4, None, 0)
    batch_id = machine.create(file_id, False)
    machine.fake.advance(40)
    machine.every_batch_keeps_its_invariants()
    machine.peak[batch_id] = (5, 5)  # pretend 5 lines had been seen finished before the cancel
    machine._cancel(batch_id, False)
    machine.fake.advance(60)
    with pytest.raises(AssertionError, match="finished lines missing"):
        machine.every_batch_keeps_its_invariants()
