"""Retry delays: exponential from the initial delay, capped, jittered within ±20%."""

from __future__ import annotations

import pytest

from stockfeed_consumer.backoff import retry_delay

pytestmark = pytest.mark.unit


def test_doubles_per_failure_without_jitter() -> None:
    delays = [retry_delay(n, 0.5, 30.0, rand=lambda: 0.5) for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_never_above_the_cap_even_with_jitter_or_many_failures() -> None:
    assert retry_delay(10_000, 0.5, 30.0, rand=lambda: 1.0) == 30.0


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.999])
def test_jitter_stays_within_twenty_percent(rand: float) -> None:
    assert 0.8 * 2.0 <= retry_delay(3, 0.5, 30.0, rand=lambda: rand) <= 1.2 * 2.0


def test_no_failure_no_delay() -> None:
    assert retry_delay(0, 0.5, 30.0) == 0.0
