"""Fault plans: ordered, count-based, filtered, seeded and thread-safe."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_server.faults import MAX_DELAY_SECONDS, Fault, FaultPlan
from tests.concurrency import run_concurrently


def fire(plan: FaultPlan, n: int, method: str = "GET", path: str = "/v1/batches") -> list[Fault | None]:
    return [plan.match(method, path) for _ in range(n)]


def test_count_based_rules_run_out_and_drop_out() -> None:
    plan = FaultPlan()
    fault = plan.fail_next(500, times=2)
    assert len(plan) == 1 and fault.remaining == 2
    assert fire(plan, 3) == [fault, fault, None]
    assert fault.remaining == 0 and fault.hits == 2
    assert len(plan) == 0 and plan.rules == [] and plan.fired == 2


def test_times_none_is_forever() -> None:
    plan = FaultPlan()
    fault = plan.fail_next(503, times=None)
    assert fire(plan, 50) == [fault] * 50
    assert len(plan) == 1 and fault.remaining is None


def test_times_zero_never_fires() -> None:
    plan = FaultPlan()
    plan.fail_next(500, times=0)
    assert len(plan) == 0 and plan.match("GET", "/v1/files") is None


def test_method_and_path_filters() -> None:
    plan = FaultPlan()
    fault = plan.fail_next(500, times=None, method="post", path=r"/batches$")
    assert plan.match("GET", "/v1/batches") is None
    assert plan.match("POST", "/v1/batches/batch_1/cancel") is None
    assert plan.match("POST", "/v1/files") is None
    assert plan.match("POST", "/v1/batches") is fault
    assert plan.match("post", "/batches") is fault
    assert plan.fired == 2


def test_first_matching_rule_wins_and_order_is_kept() -> None:
    plan = FaultPlan()
    files = plan.fail_next(404, path="/files")
    general = plan.fail_next(500, times=2)
    assert plan.rules == [files, general]
    assert plan.match("GET", "/v1/batches") is general  # the files rule does not match, is not consumed
    assert plan.match("GET", "/v1/files") is files
    assert plan.match("GET", "/v1/files") is general
    assert plan.match("GET", "/v1/files") is None


def test_rate_with_a_seed_is_reproducible() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(seed)
        plan.fail_rate(0.3, status=503)
        return [f is not None for f in fire(plan, 200)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 < sum(first) < 90


def test_rate_extremes_and_draws_only_on_matching_requests() -> None:
    plan = FaultPlan()
    plan.fail_rate(0.0)
    assert fire(plan, 20) == [None] * 20
    plan.clear()
    always = plan.fail_rate(1.0, path="/files")
    assert all(f is always for f in fire(plan, 10, path="/v1/files"))
    # Requests the rule does not match don't consume random draws, so the pattern on /files is unchanged.
    a, b = FaultPlan(3), FaultPlan(3)
    a.fail_rate(0.5, path="/files")
    b.fail_rate(0.5, path="/files")
    pattern_a = []
    for _ in range(30):
        pattern_a.append(a.match("GET", "/v1/files") is not None)
        a.match("GET", "/v1/batches")
    assert pattern_a == [f is not None for f in fire(b, 30, path="/v1/files")]


def test_rate_and_times_together() -> None:
    plan = FaultPlan(1)
    fault = plan.add(rate=0.5, times=3, status=500)
    fired = [f for f in fire(plan, 100) if f is not None]
    assert fired == [fault] * 3 and len(plan) == 0


def test_clear_forgets_rules_and_replays_the_same_draws() -> None:
    plan = FaultPlan(5)
    plan.fail_rate(0.5)
    before = [f is not None for f in fire(plan, 40)]
    plan.clear()
    assert len(plan) == 0 and plan.fired == 0
    plan.fail_rate(0.5)
    assert [f is not None for f in fire(plan, 40)] == before


def test_thread_safety_fires_exactly_times() -> None:
    plan = FaultPlan()
    fault = plan.fail_next(500, times=100)
    hits: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        mine = sum(1 for _ in range(50) if plan.match("GET", "/v1/batches") is not None)
        with lock:
            hits.append(mine)

    run_concurrently([worker] * 16)
    assert sum(hits) == 100 == plan.fired == fault.hits
    assert fault.remaining == 0 and len(plan) == 0


def test_conveniences_build_the_right_rules() -> None:
    plan = FaultPlan()
    rl = plan.rate_limit(times=2, retry_after=3, path="/batches")
    assert (rl.status, rl.times, rl.retry_after, rl.path) == (429, 2, 3, "/batches")
    drop = plan.drop_next(method="POST")
    assert (drop.drop, drop.times, drop.method, drop.status) == ("before", 1, "POST", None)
    assert plan.drop_next(after_commit=True).drop == "after"
    slow = plan.delay(0.25, path="/files")
    assert (slow.delay, slow.times, slow.status, slow.drop) == (0.25, None, None, None)
    assert plan.delay(1, times=2).times == 2
    fr = plan.fail_rate(0.1, status=502)
    assert (fr.rate, fr.status, fr.times) == (0.1, 502, None)
    fn = plan.fail_next(429, times=2, retry_after=1.5, retry_after_ms=1500)
    assert (fn.status, fn.times, fn.retry_after, fn.retry_after_ms) == (429, 2, 1.5, 1500)
    assert len(plan) == 7


@pytest.mark.parametrize(
    ("status", "message", "kind", "code"),
    [
        (429, "Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
        (500, "The server had an error while processing your request. Sorry about that!", "server_error", None),
        (502, "Bad gateway.", "server_error", None),
        (503, "The engine is currently overloaded, please try again later.", "server_error", None),
    ],
)
def test_error_bodies_are_the_real_envelopes(status: int, message: str, kind: str, code: str | None) -> None:
    assert Fault(status=status).error_body() == {"error": {"message": message, "type": kind, "param": None,
                                                           "code": code}}


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (404, "invalid_request_error"),
                                              (409, "invalid_request_error"), (504, "server_error")])
def test_other_statuses_get_a_generic_envelope(status: int, kind: str) -> None:
    error = Fault(status=status).error_body()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind and error["message"]


def test_custom_body_overrides_and_is_copied() -> None:
    custom = {"error": {"message": "custom", "type": "x", "param": None, "code": "y"}}
    fault = Fault(status=418, body=custom)
    body = fault.error_body()
    assert body == custom
    body["error"]["message"] = "changed"
    assert fault.error_body()["error"]["message"] == "custom"


def test_retry_headers() -> None:
    assert Fault(status=429).error_headers() == {}
    assert Fault(status=429, retry_after=2).error_headers() == {"retry-after": "2"}
    assert Fault(status=429, retry_after=2.0).error_headers() == {"retry-after": "2"}
    assert Fault(status=429, retry_after=0.5).error_headers() == {"retry-after": "0.5"}
    assert Fault(status=429, retry_after=1, retry_after_ms=250).error_headers() == {
        "retry-after": "1", "retry-after-ms": "250"}


@pytest.mark.parametrize(
    "fields",
    [{}, {"status": 500, "times": -1}, {"status": 500, "rate": 1.5}, {"status": 99}, {"drop": "during"},
     {"delay": -1}, {"body": {"a": 1}}, {"status": 500, "path": "("}],
)
def test_bad_rules_are_refused(fields: dict) -> None:
    with pytest.raises(ValueError):
        Fault(**fields)
    plan = FaultPlan()
    with pytest.raises(ValueError):
        plan.add(**fields)
    assert len(plan) == 0


@pytest.mark.parametrize("make", [
    lambda plan: plan.fail_next(429, retry_after=-1),
    lambda plan: plan.fail_next(429, retry_after=float("nan")),
    lambda plan: plan.fail_next(429, retry_after=float("inf")),
    lambda plan: plan.fail_next(429, retry_after=1e12),
    lambda plan: plan.rate_limit(retry_after=86_401),
    lambda plan: plan.fail_next(429, retry_after_ms=-1),
    lambda plan: plan.fail_next(429, retry_after_ms=1.5),
    lambda plan: plan.delay(float("nan")),
    lambda plan: plan.delay(float("inf")),
    lambda plan: plan.delay(31),
    lambda plan: plan.fail_rate(float("nan")),
    lambda plan: plan.fail_next(500, times=1_000_001),
])
def test_the_python_api_refuses_at_the_call_what_would_send_nonsense_or_break_the_sleep(make) -> None:
    """`retry-after: nan` reached clients, and a NaN delay raised from time.sleep on the next request."""
    plan = FaultPlan()
    with pytest.raises(ValueError, match=r"must be (a finite number|an integer) between"):
        make(plan)
    assert len(plan) == 0 and plan.match("GET", "/v1/batches") is None


def test_the_bounds_themselves_are_accepted() -> None:
    plan = FaultPlan()
    plan.fail_next(429, retry_after=86_400, retry_after_ms=86_400_000, times=1_000_000)
    plan.delay(MAX_DELAY_SECONDS)
    plan.fail_rate(0.0)
    assert len(plan) == 3 and plan.rules[0].error_headers()["retry-after"] == "86400"


@given(st.lists(st.tuples(st.sampled_from(["GET", "POST", "DELETE"]), st.sampled_from(["/v1/batches", "/v1/files"])),
                max_size=60),
       st.integers(min_value=0, max_value=10))
def test_a_times_rule_never_fires_more_than_times(requests: list[tuple[str, str]], times: int) -> None:
    plan = FaultPlan()
    fault = plan.fail_next(500, times=times, method="POST")
    fired = [plan.match(m, p) for m, p in requests]
    posts = sum(1 for m, _ in requests if m == "POST")
    assert sum(f is fault for f in fired) == min(times, posts) == plan.fired


@pytest.mark.parametrize("status", [100, 101, 199, 200, 204, 304, 399, 600, True])
def test_a_fault_status_is_an_error_status_only(status: int) -> None:
    """A 1xx is no final answer (the client hangs to its read timeout); 204/304 bodies break clients."""
    with pytest.raises(ValueError, match="400-599"):
        FaultPlan().fail_next(status)
    assert FaultPlan().fail_next(400).status == 400 and FaultPlan().fail_next(599).status == 599
