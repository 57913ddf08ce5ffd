"""What the simulator served, counted, so tests can compare a client's view with the server's."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class ServedStats:
    """Thread-safe counters (the admin endpoint reads them from another thread than the one serving)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._requests_by_symbol: Counter[str] = Counter()
        self._quotes_by_symbol: Counter[str] = Counter()
        self._websocket: Counter[str] = Counter()
        self._subscribes_by_symbol: Counter[str] = Counter()

    def rest(self, outcome: str, status: int | None, symbol: str | None) -> None:
        """One REST call: outcome is ok, unknown_symbol, rate_limited, throttled, hung, server_error, ...

        `status` is None for calls that were never answered (hung).
        """
        with self._lock:
            self._outcomes[outcome] += 1
            if status is not None:
                self._statuses[status] += 1
            if symbol:
                self._requests_by_symbol[symbol] += 1
                if outcome == "ok":
                    self._quotes_by_symbol[symbol] += 1

    def ws(self, event: str, count: int = 1) -> None:
        with self._lock:
            self._websocket[event] += count

    def subscribed(self, symbol: str) -> None:
        with self._lock:
            self._websocket["subscribes"] += 1
            self._subscribes_by_symbol[symbol] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rest": {
                    "requests": sum(self._outcomes.values()),
                    "outcomes": dict(self._outcomes),
                    "statuses": {str(code): n for code, n in self._statuses.items()},
                    "requests_by_symbol": dict(self._requests_by_symbol),
                    "quotes_by_symbol": dict(self._quotes_by_symbol),
                },
                "websocket": {**self._websocket, "subscribes_by_symbol": dict(self._subscribes_by_symbol)},
            }

    def reset(self) -> None:
        with self._lock:
            for counter in (
                self._outcomes,
                self._statuses,
                self._requests_by_symbol,
                self._quotes_by_symbol,
                self._websocket,
                self._subscribes_by_symbol,
            ):
                counter.clear()
