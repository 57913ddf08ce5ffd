"""The producer's Prometheus metrics, in their own registry (so tests can make as many producers as they like)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

PREFIX = "stockfeed_producer"


class ProducerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, labels, registry=self.registry)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", doc, registry=self.registry)

        # REST quotes
        self.http_requests = counter(
            "http_requests", "REST calls by result: HTTP status, timeout or connection_error.", ("status",)
        )
        self.rate_limited = counter("rate_limited", "429 answers (each one pauses every call until the reset).")
        self.rate_limit_wait_seconds = counter("rate_limit_wait_seconds", "Time paused after 429 answers.")
        self.retries = counter("retries", "REST calls repeated after a 429, 5xx, timeout or connection error.")
        self.quote_failures = counter(
            "quote_failures", "Symbols skipped for a round after every attempt failed.", ("symbol",)
        )
        self.zero_quotes = counter(
            "zero_quotes", "All-zero/null quotes (unknown symbol or no data): flagged, not published.", ("symbol",)
        )
        self.unchanged_quotes = counter(
            "unchanged_quotes", "Quotes whose t did not move since the last publish: not published again.", ("symbol",)
        )
        self.malformed = counter(
            "malformed_responses",
            "Unusable answers: quote_json, quote_fields, quote_time_ahead, ws_message, trade.",
            ("kind",),
        )
        self.invalid_messages = counter(
            "invalid_messages", "Messages that broke their contract and were not produced.", ("schema",)
        )
        # Kafka
        # messages_published / messages_delivered: counted by the publisher itself (see watch_deliveries).
        self.delivery_failures = counter(
            "delivery_failures", "Messages Kafka did not take, by reason (each one logged).", ("topic", "reason")
        )
        self.backpressure_waits = counter("backpressure_waits", "Produce calls that found the local queue full.")
        self.kafka_errors = counter("kafka_errors", "Client-level Kafka errors (e.g. all brokers down).", ("reason",))
        self.queue_depth = gauge("queue_depth", "Messages in the local queue, not yet acknowledged by Kafka.")
        # WebSocket trades
        self.ws_connections = counter("ws_connections", "WebSocket connections opened.")
        self.ws_reconnects = counter("ws_reconnects", "WebSocket connections opened again after a drop or failure.")
        self.ws_connect_failures = counter("ws_connect_failures", "WebSocket connection attempts that failed.")
        self.ws_subscribe_messages = counter("ws_subscribe_messages", "subscribe messages sent.")
        self.ws_pings = counter("ws_pings", "ping messages received.")
        self.ws_server_errors = counter("ws_server_errors", "error messages received from the server.")
        self.trades_received = counter("trades_received", "Trades received on the WebSocket.")
        self.ws_connected = gauge("ws_connected", "1 while the WebSocket is open.")

    def watch_deliveries(
        self, published: Callable[[], Mapping[str, int]], delivered: Callable[[], Mapping[str, int]]
    ) -> None:
        """Expose the publisher's own per-topic counts: plain integers bumped in the hot path and read at scrape
        time (a prometheus Counter per message costs a lock, which at thousands of trades/s shows)."""
        self.registry.register(_DeliveryCounts(published, delivered))


class _DeliveryCounts(Collector):
    def __init__(self, published: Callable[[], Mapping[str, int]], delivered: Callable[[], Mapping[str, int]]) -> None:
        self._published = published
        self._delivered = delivered

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, doc, source in (
            ("messages_published", "Messages accepted into the local Kafka queue.", self._published),
            ("messages_delivered", "Messages acknowledged by Kafka (acks=all).", self._delivered),
        ):
            family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["topic"])
            for topic, count in dict(source()).items():
                family.add_metric([topic], count)
            yield family
