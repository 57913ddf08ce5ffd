import itertools

import pytest

from stockfeed_producer.pacing import CallPacer, TokenBucket, plan_pacer

pytestmark = pytest.mark.unit


def test_bucket_refills_at_its_rate_up_to_capacity():
    bucket = TokenBucket.full(rate=2.0, capacity=3, now=0.0)
    for _ in range(3):
        assert bucket.wait_time(0.0) == 0
        bucket.take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(0.5)
    assert bucket.wait_time(0.25) == pytest.approx(0.25)
    assert bucket.wait_time(100.0) == 0
    assert bucket.tokens == 3  # never more than the capacity


def test_bucket_rejects_nonsense():
    with pytest.raises(ValueError, match="rate"):
        TokenBucket.full(rate=0, capacity=1, now=0)


def greedy_calls(pacer: CallPacer, seconds: float) -> list[float]:
    """Call as soon as the pacer allows, for `seconds` of simulated time."""
    now, calls = 0.0, []
    while now < seconds:
        wait = pacer.wait_time(now)
        if wait > 0:
            now += wait
            continue
        pacer.take(now)
        calls.append(now)
    return calls


def max_in_window(calls: list[float], window: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(calls):
        while calls[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_free_plan_is_spread_evenly_and_leaves_room_for_jitter():
    calls = greedy_calls(plan_pacer(60, 30, headroom=0.03, burst=1, now=0.0), 600)
    spacing = 60 / (59 * 0.97)  # ~1.05 s: (limit - burst) per window, less the headroom
    assert len(calls) == pytest.approx(600 / spacing, abs=1)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(calls)}
    assert gaps == {round(spacing, 6)}
    # Even if calls reached the server up to a second early or late, no 60 s window would hold 61 of them.
    assert max_in_window(calls, 60 + 1.0) <= 60


@pytest.mark.parametrize("burst", [1, 5, 30])
def test_no_window_ever_sees_more_than_the_limit(burst):
    calls = greedy_calls(plan_pacer(6000, 30, headroom=0.0, burst=burst, now=0.0), 20)
    assert max_in_window(calls, 1.0) <= 30
    capacity = min(burst, 29)
    assert len(calls) == pytest.approx(capacity + (30 - capacity) * 20, abs=2)  # bigger bursts cost steady rate


def test_burst_allows_back_to_back_calls_then_paces():
    calls = greedy_calls(plan_pacer(60, 30, headroom=0.0, burst=5, now=0.0), 30)
    assert calls[:5] == [0.0] * 5
    assert calls[5] == pytest.approx(60 / 55)
    assert max_in_window(calls, 60.0) <= 60


def test_plan_limits_must_allow_a_call():
    with pytest.raises(ValueError, match="at least 1"):
        plan_pacer(0, 30, headroom=0.0, burst=1, now=0.0)


@pytest.mark.parametrize("headroom", [0.0, 0.03])
def test_a_plan_of_one_call_per_minute_spaces_calls_a_minute_apart(headroom):
    # A StockFeed with callsPerMinute 1 (or one symbol every minute) gets this plan from the operator.
    calls = greedy_calls(plan_pacer(1, 30, headroom=headroom, burst=5, now=0.0), 600)
    assert len(calls) == pytest.approx(600 * (1 - headroom) / 60, abs=1)
    assert max_in_window(calls, 60.0) == 1
    if headroom:
        assert max_in_window(calls, 60 + 1.0) == 1  # a second of jitter either way still fits


def test_a_per_second_cap_of_one_still_paces():
    calls = greedy_calls(plan_pacer(6000, 1, headroom=0.0, burst=1, now=0.0), 10)
    assert max_in_window(calls, 1.0) == 1


def test_pause_holds_every_call_until_the_reset():
    pacer = plan_pacer(60, 30, headroom=0.0, burst=1, now=0.0)
    pacer.take(0.0)
    pacer.pause_until(10.0)
    assert pacer.wait_time(2.0) == pytest.approx(8.0)
    assert pacer.wait_time(10.0) == 0
    pacer.pause_until(5.0)  # an earlier pause never shortens a later one
    assert pacer.paused_until == 10.0
