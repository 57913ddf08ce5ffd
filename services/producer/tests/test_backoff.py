import random

import pytest

from stockfeed_producer.backoff import backoff_delay, rate_limit_wait

pytestmark = pytest.mark.unit


def test_backoff_grows_then_caps_with_jitter_in_bounds():
    rng = random.Random(1)
    for attempt, step in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 30.0), (50, 30.0)]:
        delays = [backoff_delay(attempt, base=0.5, cap=30.0, rng=rng) for _ in range(200)]
        assert all(step / 2 <= delay <= step for delay in delays)
        assert max(delays) - min(delays) > step / 4  # there is jitter


def test_backoff_is_reproducible_with_a_seed():
    first = [backoff_delay(a, base=1, cap=60, rng=random.Random(5)) for a in range(6)]
    assert first == [backoff_delay(a, base=1, cap=60, rng=random.Random(5)) for a in range(6)]


def test_rate_limit_wait_from_reset_header():
    assert rate_limit_wait({"X-Ratelimit-Reset": "1012"}, 1000.0, cap=65) == 12.0
    assert rate_limit_wait({"x-ratelimit-reset": "1012"}, 1000.0, cap=65) == 12.0  # any case


def test_retry_after_wins_over_reset():
    headers = {"Retry-After": "3", "X-Ratelimit-Reset": "1050"}
    assert rate_limit_wait(headers, 1000.0, cap=65) == 3.0


def test_rate_limit_wait_is_clamped():
    assert rate_limit_wait({"X-Ratelimit-Reset": "990"}, 1000.0, cap=65) == 0.5  # reset in the past: clock skew
    assert rate_limit_wait({"X-Ratelimit-Reset": "99999"}, 1000.0, cap=65) == 65


def test_rate_limit_wait_without_usable_headers():
    assert rate_limit_wait({}, 1000.0, cap=65) is None
    assert rate_limit_wait({"X-Ratelimit-Reset": "soon"}, 1000.0, cap=65) is None
