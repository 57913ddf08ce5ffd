"""Token buckets sized from the API plan, so a steady run spreads its calls and never meets a 429.

Pure: every method takes `now` (monotonic seconds); the poller does the sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

EPSILON = 1e-9  # float refills land a hair under 1.0; that still counts as a whole token


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    capacity: float
    tokens: float
    updated_at: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and capacity >= 1")
        return cls(rate, capacity, capacity, now)

    def _refill(self, now: float) -> None:
        if now > self.updated_at:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated_at) * self.rate)
            self.updated_at = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is there (0 if now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 - EPSILON else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class CallPacer:
    """Every bucket of the plan must have a token; after a 429 all calls also wait for the server's reset."""

    def __init__(self, buckets: list[TokenBucket]) -> None:
        self.buckets = buckets
        self.paused_until = float("-inf")

    def wait_time(self, now: float) -> float:
        return max([self.paused_until - now, *(bucket.wait_time(now) for bucket in self.buckets)], default=0.0)

    def take(self, now: float) -> None:
        for bucket in self.buckets:
            bucket.take(now)

    def pause_until(self, when: float) -> None:
        self.paused_until = max(self.paused_until, when)

    @property
    def calls_per_second(self) -> float:
        return min(bucket.rate for bucket in self.buckets)


def plan_bucket(limit: int, window: float, *, headroom: float, burst: int, now: float) -> TokenBucket:
    """A bucket that never lets more than `limit` calls into any `window`-long span.

    A token bucket admits at most capacity + rate * window calls in a window, so the rate is
    (limit - capacity) / window; `headroom` (a share) is kept unused on top, against timing jitter between our
    clock and the server's. A limit of 1 is one call per window: a one-token bucket refilled once per window
    (stretched by the headroom), so two calls are always at least a whole window apart.
    """
    if limit < 1:
        raise ValueError("a plan limit must allow at least 1 call per window")
    if limit == 1:
        return TokenBucket.full((1.0 - headroom) / window, 1, now)
    capacity = max(1, min(burst, limit - 1))
    return TokenBucket.full((limit - capacity) / window * (1.0 - headroom), capacity, now)


def plan_pacer(per_minute: int, per_second: int, *, headroom: float, burst: int, now: float) -> CallPacer:
    """Both limits of a plan (e.g. free: 60/min and 30/s). With burst 1 the calls come evenly spaced:
    60/min at 3 % headroom -> one call every ~1.05 s."""
    return CallPacer(
        [
            plan_bucket(per_minute, 60.0, headroom=headroom, burst=burst, now=now),
            plan_bucket(per_second, 1.0, headroom=headroom, burst=burst, now=now),
        ]
    )
