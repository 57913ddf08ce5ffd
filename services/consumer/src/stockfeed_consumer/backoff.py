"""How long to wait before retrying a failed upload: exponential, capped, with jitter (pure)."""

from __future__ import annotations

import random
from collections.abc import Callable


def retry_delay(
    failures: int, initial: float, maximum: float, jitter: float = 0.2, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before attempt `failures + 1`: initial * 2^(failures-1), at most `maximum`, spread by ±jitter."""
    if failures < 1:
        return 0.0
    base = min(maximum, initial * 2.0 ** min(failures - 1, 62))
    return float(min(maximum, base * (1 - jitter + 2 * jitter * rand())))
