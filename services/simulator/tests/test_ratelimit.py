import pytest

from stockfeed_simulator.ratelimit import SlidingWindowLimiter

pytestmark = pytest.mark.unit


def test_per_minute_limit_and_headers():
    limiter = SlidingWindowLimiter()
    verdicts = [limiter.check("k", 1000.0 + i * 0.5, per_minute=60, per_second=30) for i in range(61)]
    assert all(v.allowed for v in verdicts[:60])
    assert verdicts[0].remaining == 59
    assert verdicts[59].remaining == 0
    last = verdicts[60]
    assert not last.allowed
    assert last.headers() == {"X-Ratelimit-Limit": "60", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1060"}


def test_window_slides():
    limiter = SlidingWindowLimiter()
    for i in range(60):
        assert limiter.check("k", 1000.0 + i, 60, 30).allowed
    assert not limiter.check("k", 1059.5, 60, 30).allowed
    assert limiter.check("k", 1060.01, 60, 30).allowed  # the call at 1000 left the window


def test_per_second_limit():
    limiter = SlidingWindowLimiter()
    verdicts = [limiter.check("k", 1000.0 + i * 0.01, 600, 30) for i in range(31)]
    assert all(v.allowed for v in verdicts[:30])
    assert not verdicts[30].allowed
    assert verdicts[30].reset == 1001
    assert limiter.check("k", 1001.01, 600, 30).allowed


def test_keys_are_separate_and_zero_means_unlimited():
    limiter = SlidingWindowLimiter()
    for i in range(5):
        assert limiter.check("a", 1000.0 + i, 5, 0).allowed
    assert not limiter.check("a", 1004.5, 5, 0).allowed
    assert limiter.check("b", 1004.5, 5, 0).allowed
    assert all(limiter.check("c", 1000.0, 0, 0).allowed for _ in range(1000))


def test_rejected_calls_do_not_count():
    limiter = SlidingWindowLimiter()
    for i in range(2):
        assert limiter.check("k", 1000.0 + i, 2, 0).allowed
    for i in range(50):
        assert not limiter.check("k", 1002.0 + i, 2, 0).allowed
    assert limiter.check("k", 1060.5, 2, 0).allowed
