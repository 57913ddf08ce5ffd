"""The REST side: decide the answer to one `GET /api/v1/quote` (auth, rate limits, injected faults, the quote).

No sockets here: the server turns an HttpAnswer into bytes, waits `delay_seconds`, or hangs.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Collection
from dataclasses import dataclass, field

from stockfeed_simulator.faults import FaultKnobs
from stockfeed_simulator.market import Market
from stockfeed_simulator.ratelimit import SlidingWindowLimiter
from stockfeed_simulator.stats import ServedStats

JSON_TYPE = "application/json; charset=utf-8"
RATE_LIMIT_BODY = "API limit reached. Please try again later. Remaining Limit: 0"
SERVER_ERRORS = (500, 502, 503)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    hang: bool = False  # wait `delay_seconds`, then drop the connection without answering


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _malformed_body(quote_body: str, rng: random.Random) -> str:
    """Bodies a flaky proxy or a half-written answer produce: none of them parse as JSON."""
    variants = (
        quote_body[: max(1, len(quote_body) // 2)],
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "",
        quote_body.replace(":", "=", 1),
    )
    return rng.choice(variants)


class QuoteService:
    def __init__(
        self,
        market: Market,
        stats: ServedStats,
        api_keys: Collection[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.market = market
        self.stats = stats
        self.api_keys = frozenset(api_keys)
        self.limiter = SlidingWindowLimiter()
        self.rng = rng or random.Random()

    def answer(self, query: dict[str, str], header_token: str | None, knobs: FaultKnobs, now: float) -> HttpAnswer:
        delay = knobs.latency_ms / 1000.0
        token = query.get("token") or header_token or ""
        symbol = query.get("symbol", "").strip()
        if self.api_keys and token not in self.api_keys:
            message = "Invalid API key" if token else "Please use an API key."
            self.stats.rest("unauthorized", 401, symbol or None)
            return HttpAnswer(401, _json({"error": message}), {"Content-Type": JSON_TYPE}, delay)
        if not symbol:
            self.stats.rest("bad_request", 422, None)
            return HttpAnswer(422, _json({"error": "Symbol required"}), {"Content-Type": JSON_TYPE}, delay)

        key = token or "anonymous"
        verdict = self.limiter.check(key, now, knobs.rate_limit_per_minute, knobs.rate_limit_per_second)
        if not verdict.allowed:
            self.stats.rest("rate_limited", 429, symbol)
            return HttpAnswer(429, RATE_LIMIT_BODY, {"Content-Type": "text/plain", **verdict.headers()}, delay)
        limit_headers = verdict.headers()

        draw = self.rng.random()
        if draw < knobs.rate_limited_share:
            self.stats.rest("throttled", 429, symbol)
            headers = {
                "Content-Type": "text/plain",
                "X-Ratelimit-Limit": str(knobs.rate_limit_per_minute),
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": str(math.ceil(now + knobs.rate_limited_reset_seconds)),
            }
            return HttpAnswer(429, RATE_LIMIT_BODY, headers, delay)
        draw -= knobs.rate_limited_share
        if draw < knobs.hang_share:
            self.stats.rest("hung", None, symbol)
            return HttpAnswer(0, "", {}, delay + knobs.hang_seconds, hang=True)
        draw -= knobs.hang_share
        if draw < knobs.server_error_share:
            status = self.rng.choice(SERVER_ERRORS)
            self.stats.rest("server_error", status, symbol)
            body = _json({"error": "Internal server error (simulated)"})
            return HttpAnswer(status, body, {"Content-Type": JSON_TYPE, **limit_headers}, delay)
        draw -= knobs.server_error_share

        quote = self.market.quote(symbol, now)
        quote_body = _json(quote)
        if draw < knobs.malformed_share:
            self.stats.rest("malformed", 200, symbol)
            body = _malformed_body(quote_body, self.rng)
            return HttpAnswer(200, body, {"Content-Type": JSON_TYPE, **limit_headers}, delay)
        draw -= knobs.malformed_share
        if draw < knobs.future_t_share and quote["t"]:
            self.stats.rest("future_t", 200, symbol)
            body = _json({**quote, "t": quote["t"] * 1000})  # milliseconds where Finnhub sends seconds
            return HttpAnswer(200, body, {"Content-Type": JSON_TYPE, **limit_headers}, delay)
        outcome = "ok" if self.market.universe.known(symbol) else "unknown_symbol"
        self.stats.rest(outcome, 200, symbol)
        return HttpAnswer(200, quote_body, {"Content-Type": JSON_TYPE, **limit_headers}, delay)
