"""Quotes mode: poll /quote for each symbol in turn, paced by the plan's token buckets, into Kafka."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from stockfeed_contracts import QUOTE_V1, reason_invalid
from stockfeed_producer.backoff import backoff_delay, rate_limit_wait
from stockfeed_producer.config import ProducerSettings
from stockfeed_producer.finnhub_rest import FetchResult, Outcome, QuoteClient
from stockfeed_producer.kafka_publisher import KafkaPublisher
from stockfeed_producer.messages import LastPublishedTimes, QuoteVerdict, classify_quote, encode, to_quote_message
from stockfeed_producer.metrics import ProducerMetrics
from stockfeed_producer.pacing import CallPacer
from stockfeed_producer.status_server import Health

log = logging.getLogger(__name__)

RATE_LIMIT_JITTER_SECONDS = 0.25
MAX_SLEEP_SLICE = 1.0  # waits are cut in slices so the health beat goes on and SIGTERM is seen at once


class QuotePoller:
    def __init__(
        self,
        settings: ProducerSettings,
        client: QuoteClient,
        publisher: KafkaPublisher,
        pacer: CallPacer,
        metrics: ProducerMetrics,
        health: Health,
        stop: threading.Event,
        *,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = client
        self.publisher = publisher
        self.pacer = pacer
        self.metrics = metrics
        self.health = health
        self.stop = stop
        self.rng = rng or random.Random()
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.last_published = LastPublishedTimes()

    def run(self) -> None:
        log.info(
            "polling %d symbols at %.2f calls/s (plan %d/min, %d/s) from %s into %s",
            len(self.settings.symbols),
            self.pacer.calls_per_second,
            self.settings.plan_calls_per_minute,
            self.settings.plan_calls_per_second,
            self.settings.rest_base_url,
            self.settings.quotes_topic,
        )
        while not self.stop.is_set():
            for symbol in self.settings.symbols:
                if self.stop.is_set():
                    return
                self.poll(symbol)

    # --- waiting -------------------------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep in slices (beating the health clock); False if asked to stop meanwhile."""
        deadline = self.monotonic() + seconds
        while (left := deadline - self.monotonic()) > 0:
            if self.stop.wait(min(left, MAX_SLEEP_SLICE)):
                return False
            self.publisher.poll()  # delivery reports keep flowing while we wait
            self.health.beat()
        return not self.stop.is_set()

    def _acquire_call(self) -> bool:
        while (wait := self.pacer.wait_time(self.monotonic())) > 0:
            if not self._sleep(min(wait, MAX_SLEEP_SLICE)):
                return False
        self.pacer.take(self.monotonic())
        return True

    # --- one symbol ----------------------------------------------------------------------------------------------

    def poll(self, symbol: str) -> str:
        """Fetch one quote (with retries) and publish it if it is new; returns what happened, for logs and tests."""
        attempts = self.settings.max_attempts
        for attempt in range(attempts):
            if not self._acquire_call():
                return "stopped"
            result = self.client.fetch(symbol)
            fetched_at = round(self.wall_clock(), 3)
            self.metrics.http_requests.labels(result.status).inc()
            self.health.beat()
            if result.outcome is Outcome.OK:
                return self._handle_quote(symbol, result.payload, fetched_at)
            if result.outcome is Outcome.MALFORMED:
                self.metrics.malformed.labels("quote_json").inc()
                log.warning("%s: answer is not JSON (%r); skipped", symbol, result.detail)
                return "malformed"
            if result.outcome is Outcome.CLIENT_ERROR:
                log.error(
                    "%s: HTTP %s %s; skipped (check the API key and symbol)", symbol, result.status, result.detail
                )
                return "client_error"
            last_attempt = attempt + 1 == attempts
            if not last_attempt:
                self.metrics.retries.inc()
            if result.outcome is Outcome.RATE_LIMITED:
                self._pause_for_rate_limit(symbol, result, attempt)
            elif not last_attempt:
                delay = self._backoff(attempt)
                log.warning("%s: %s; retrying in %.1f s", symbol, self._describe(result), delay)
                if not self._sleep(delay):
                    return "stopped"
        self.metrics.quote_failures.labels(symbol).inc()
        log.error("%s: gave up for this round after %d attempts", symbol, attempts)
        return "failed"

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return backoff_delay(attempt, base=s.backoff_base_seconds, cap=s.backoff_max_seconds, rng=self.rng)

    @staticmethod
    def _describe(result: FetchResult) -> str:
        if result.status in ("timeout", "connection_error"):
            return f"{result.status} ({result.detail})"
        return f"HTTP {result.status}"

    def _pause_for_rate_limit(self, symbol: str, result: FetchResult, attempt: int) -> None:
        """A 429 pauses every call (not just this symbol's) until the server's reset, or backs off without one."""
        self.metrics.rate_limited.inc()
        wait = rate_limit_wait(result.headers, self.wall_clock(), cap=self.settings.max_rate_limit_wait_seconds)
        if wait is None:
            wait = self._backoff(attempt)
        wait += self.rng.uniform(0, RATE_LIMIT_JITTER_SECONDS)
        self.metrics.rate_limit_wait_seconds.inc(wait)
        log.warning("%s: rate limited (429); pausing all calls for %.1f s", symbol, wait)
        self.pacer.pause_until(self.monotonic() + wait)

    def _handle_quote(self, symbol: str, payload: object, fetched_at: float) -> str:
        verdict = classify_quote(payload, now=fetched_at)
        if verdict is QuoteVerdict.AHEAD and isinstance(payload, dict):
            # never remembered: a t from the future would make every later real quote look unchanged
            self.metrics.malformed.labels("quote_time_ahead").inc()
            log.warning("%s: quote time t=%r is ahead of the clock (%.0f); skipped", symbol, payload["t"], fetched_at)
            return "malformed"
        if verdict is QuoteVerdict.EMPTY:
            self.metrics.zero_quotes.labels(symbol).inc()
            log.warning("%s: all-zero/null quote (unknown symbol or no data); not published", symbol)
            return "zero"
        if verdict is QuoteVerdict.MALFORMED or not isinstance(payload, dict):
            self.metrics.malformed.labels("quote_fields").inc()
            log.warning("%s: quote with missing or mistyped fields (%.200r); skipped", symbol, payload)
            return "malformed"
        t = int(payload["t"])
        if not self.settings.republish_unchanged and self.last_published.is_unchanged(symbol, t):
            self.metrics.unchanged_quotes.labels(symbol).inc()
            log.debug("%s: t=%d did not move; not published again", symbol, t)
            return "unchanged"
        message = to_quote_message(
            symbol, payload, fetched_at=fetched_at, source=self.settings.message_source, feed=self.settings.feed
        )
        if self.settings.validate_quotes:
            reason = reason_invalid(message, QUOTE_V1)
            if reason is not None:
                self.metrics.invalid_messages.labels(QUOTE_V1).inc()
                log.error("%s: quote breaks %s (%s); not published", symbol, QUOTE_V1, reason)
                return "invalid"
        if not self.publisher.publish(self.settings.quotes_topic, symbol, encode(message), self.stop):
            return "stopped"
        self.last_published.remember(symbol, t)
        return "published"
