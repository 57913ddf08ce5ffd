"""Finnhub-style per-key rate limits: sliding windows (60/min and 30/s by default), answered with X-Ratelimit-*."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateVerdict:
    allowed: bool
    limit: int  # the per-minute limit, as Finnhub's X-Ratelimit-Limit reports it
    remaining: int
    reset: int  # UNIX seconds when the window that decided frees a slot

    def headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-Ratelimit-Reset": str(self.reset),
        }


class SlidingWindowLimiter:
    """Counts accepted calls per key in the last minute and the last second; rejected calls do not count."""

    MINUTE = 60.0
    SECOND = 1.0

    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = {}

    def check(self, key: str, now: float, per_minute: int, per_second: int) -> RateVerdict:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.MINUTE:
            calls.popleft()
        in_last_second = _count_since(calls, now - self.SECOND) if per_second else 0
        if per_minute and len(calls) >= per_minute:
            return RateVerdict(False, per_minute, 0, math.ceil(calls[0] + self.MINUTE))
        if per_second and in_last_second >= per_second:
            oldest_in_second = calls[len(calls) - in_last_second]
            remaining = per_minute - len(calls) if per_minute else 0
            return RateVerdict(False, per_minute, remaining, math.ceil(oldest_in_second + self.SECOND))
        calls.append(now)
        remaining = per_minute - len(calls) if per_minute else 0
        reset = math.ceil(calls[0] + self.MINUTE)
        return RateVerdict(True, per_minute, remaining, reset)


def _count_since(calls: deque[float], since: float) -> int:
    """Calls after `since`, counted from the newest end (the deque is in time order)."""
    count = 0
    for at in reversed(calls):
        if at <= since:
            break
        count += 1
    return count
