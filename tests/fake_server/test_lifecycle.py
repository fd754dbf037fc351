"""The pure status function: every transition, stamps set once, counts that climb."""

from __future__ import annotations

import math
import random

import pytest

from fake_server.lifecycle import AffineOrder, Schedule, Timings, observe

T0 = 1_000_000


def schedule(n: int = 10, errors=None) -> Schedule:
    timings = Timings()
    s = Schedule(created_at=T0, validated_at=T0 + 30, expires_at=T0 + 86_400, n=n, errors=errors)
    s.plan_lines(s.validated_at, timings.processing_span(n), list(reversed(range(n))))
    return s


def test_happy_path_walks_every_status_in_order() -> None:
    s = schedule()
    seen = [observe(s, t).status for t in range(T0, T0 + 200)]
    order = list(dict.fromkeys(seen))
    assert order == ["validating", "in_progress", "finalizing", "completed"]
    final = observe(s, T0 + 10_000)
    assert final.stamps["in_progress_at"] == T0 + 30
    assert final.stamps["finalizing_at"] == T0 + 30 + 50
    assert final.stamps["completed_at"] == T0 + 30 + 50 + 30
    assert final.terminal_at == final.stamps["completed_at"]


def test_processing_order_is_not_input_order() -> None:
    s = schedule(n=5)
    assert s.done_indexes(T0 + 10_000) == [4, 3, 2, 1, 0]


def test_counts_climb_while_in_progress() -> None:
    s = schedule(n=10)
    done = [len(s.done_indexes(observe(s, t).processed_until)) for t in (T0, T0 + 35, T0 + 55, T0 + 80)]
    assert done == [0, 1, 5, 10]


def test_invalid_input_fails_at_end_of_validation_without_in_progress() -> None:
    s = schedule(errors=[{"code": "invalid_json_line", "message": "x", "param": None, "line": 1}])
    assert observe(s, T0 + 29).status == "validating"
    view = observe(s, T0 + 30)
    assert view.status == "failed"
    assert view.stamps["failed_at"] == T0 + 30
    assert view.stamps["in_progress_at"] is None
    assert view.counts_total == 0


def test_cancel_is_two_steps_and_keeps_finished_lines() -> None:
    s = schedule(n=10)
    s.cancelling_at = T0 + 55
    mid = observe(s, T0 + 60)
    assert mid.status == "cancelling"
    assert mid.stamps["cancelling_at"] == T0 + 55
    assert mid.stamps["cancelled_at"] is None
    end = observe(s, T0 + 55 + 30)
    assert end.status == "cancelled"
    assert end.stamps["in_progress_at"] == T0 + 30
    assert end.stamps["cancelled_at"] == T0 + 85
    assert len(s.done_indexes(end.processed_until)) == 5  # frozen at cancelling_at


def test_cancel_during_validation_never_reaches_in_progress_even_with_bad_input() -> None:
    s = schedule(errors=[{"code": "x", "message": "x", "param": None, "line": 1}])
    s.cancelling_at = T0 + 5
    view = observe(s, T0 + 1_000)
    assert view.status == "cancelled"
    assert view.stamps["in_progress_at"] is None
    assert view.stamps["failed_at"] is None


def test_expiry_cuts_processing_at_expires_at() -> None:
    s = Schedule(created_at=T0, validated_at=T0 + 30, expires_at=T0 + 100, n=10)
    s.plan_lines(s.validated_at, 1000, list(range(10)))
    view = observe(s, T0 + 5_000)
    assert view.status == "expired"
    assert view.stamps["expired_at"] == T0 + 100
    assert view.stamps["finalizing_at"] is None
    assert len(s.done_indexes(view.processed_until)) == 0


@pytest.mark.parametrize("t", [T0 + 31, T0 + 60, T0 + 79])
def test_forced_complete_finishes_everything_now(t: int) -> None:
    s = schedule()
    s.forced_complete_at = t  # every line not yet done finishes at t
    view = observe(s, t)
    assert view.status == "completed"
    assert view.stamps["finalizing_at"] == view.stamps["completed_at"] == t
    assert len(s.done_indexes(view.processed_until)) == 10


def test_stamps_never_change_once_seen() -> None:
    s = schedule(n=7)
    s.cancelling_at = T0 + 40
    seen: dict[str, int] = {}
    for t in range(T0, T0 + 500, 3):
        for name, value in observe(s, t).stamps.items():
            if value is not None:
                assert seen.setdefault(name, value) == value


def test_a_batch_cancelling_when_its_window_ends_still_ends_cancelled() -> None:
    s = schedule(n=10)
    s.plan_lines(s.validated_at, 86_400, list(range(10)))  # slow lines: still running at expiry
    s.cancelling_at = T0 + 86_400 - 10  # cancelled 10 s before the window ends; cancelling takes 30 s
    assert observe(s, T0 + 86_400 + 5).status == "cancelling"
    final = observe(s, T0 + 86_400 + 60)
    assert final.status == "cancelled" and final.stamps["expired_at"] is None


def test_expire_refuses_a_cancelling_batch() -> None:
    from fake_server import FakeBatchesAPI, ManualClock

    fake = FakeBatchesAPI(clock=ManualClock())
    batch = fake.seed_batch("in_progress", requests=4)
    fake.cancel(batch["id"])
    with pytest.raises(ValueError, match="can only end cancelled"):
        fake.expire(batch["id"])
    assert fake.advance_until(batch["id"], "cancelled")["status"] == "cancelled"


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 65, 1000])
def test_a_shuffled_order_is_a_permutation_other_than_the_input_order(n: int) -> None:
    order = AffineOrder.shuffled(n, random.Random(n))
    assert sorted(order) == list(range(n))
    assert n == 1 or list(order) != list(range(n))


def test_done_counts_are_arithmetic_and_agree_with_each_line_time() -> None:
    rng = random.Random(3)
    for _ in range(300):
        n, start, span = rng.randint(1, 400), rng.randint(0, 10**6), rng.choice([0, 1, 7.5, 333.3, 3600.0])
        s = Schedule(created_at=start - 30, validated_at=start, expires_at=start + 86_400, n=n)
        s.plan_lines(start, span, AffineOrder(n))
        if rng.random() < 0.3:
            s.finish_head(rng.randint(0, n), start - 1)
        if rng.random() < 0.3:
            s.forced_complete_at = start + rng.randint(0, math.ceil(span) + 1)
        times = [s.line_done_at(rank) for rank in range(n)]
        assert times == sorted(times)  # ranks finish in order
        for t in {start - 2, start - 1, start, *(rng.randint(start - 1, start + math.ceil(span) + 3) for _ in range(5))}:
            assert s.done_count(t) == sum(1 for at in times if at <= t)
