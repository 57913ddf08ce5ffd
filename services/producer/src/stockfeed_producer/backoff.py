"""How long to wait before trying again: exponential backoff with jitter, and the server's rate-limit reset."""

from __future__ import annotations

import random
from collections.abc import Mapping


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Equal jitter: half of the doubling step is fixed (so waits grow), half is random (so clients spread out)."""
    step = min(cap, base * 2.0 ** max(0, attempt))
    return step / 2 + rng.uniform(0, step / 2)


def rate_limit_wait(headers: Mapping[str, str], now: float, *, cap: float, floor: float = 0.5) -> float | None:
    """Seconds to wait after a 429 from Retry-After (seconds) or X-Ratelimit-Reset (UNIX seconds).

    None when neither header is usable (the caller backs off instead). Clamped to [floor, cap], so a skewed
    clock can neither make us hammer the server nor stall us for long.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    wait: float | None = None
    try:
        if "retry-after" in lowered:
            wait = float(lowered["retry-after"])
        elif "x-ratelimit-reset" in lowered:
            wait = float(lowered["x-ratelimit-reset"]) - now
    except ValueError:
        return None
    if wait is None:
        return None
    return min(cap, max(floor, wait))
