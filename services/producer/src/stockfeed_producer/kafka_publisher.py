"""Kafka out: an idempotent confluent-kafka producer with a bounded local queue and counted deliveries.

- enable.idempotence + acks=all: retries inside librdkafka never duplicate or reorder a partition.
- key = symbol: one symbol's messages stay in order on one partition.
- The local queue is bounded (messages and KiB). When it is full (broker away), produce() raises BufferError and
  we wait, serving delivery callbacks, instead of growing memory: back-pressure reaches the API polling.
- Every delivery report is counted; a failed one is logged with its reason (never silently dropped).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from stockfeed_producer.config import ProducerSettings
from stockfeed_producer.metrics import ProducerMetrics

log = logging.getLogger(__name__)

BACKPRESSURE_POLL_SECONDS = 0.1
ASYNC_BACKPRESSURE_POLL_SECONDS = 0.005
REPEAT_ERROR_LOG_SECONDS = 30.0  # a broker that is down reports every few 100 ms: log each kind twice a minute


def kafka_config(settings: ProducerSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": f"stockfeed-producer-{settings.feed}",
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": settings.kafka_compression,
        "linger.ms": settings.kafka_linger_ms,
        "queue.buffering.max.messages": settings.kafka_queue_max_messages,
        "queue.buffering.max.kbytes": settings.kafka_queue_max_kbytes,
        "message.timeout.ms": settings.kafka_message_timeout_ms,
        # librdkafka's own log repeats every connect failure several times a second; the same errors reach
        # error_cb (counted, logged twice a minute), so only its critical lines are kept, in our log format.
        "log_level": 2,
        "logger": logging.getLogger("stockfeed_producer.librdkafka"),
    }


class KafkaPublisher:
    def __init__(
        self,
        config: dict[str, Any],
        metrics: ProducerMetrics,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.metrics = metrics
        self.on_fatal = on_fatal
        self.on_wait: Callable[[], None] | None = None  # called while back-pressure holds us (health beats)
        self.fatal_error: str | None = None
        self.published_by_topic: defaultdict[str, int] = defaultdict(int)
        self.delivered_by_topic: defaultdict[str, int] = defaultdict(int)
        self.failed = 0
        self._last_logged: dict[str, float] = {}
        # One delivery callback for the producer (not one bound per message): less work per produce() call.
        self._producer = Producer({**config, "error_cb": self._on_error, "on_delivery": self._on_delivery})
        metrics.queue_depth.set_function(lambda: len(self._producer))
        metrics.watch_deliveries(lambda: self.published_by_topic, lambda: self.delivered_by_topic)

    @property
    def published(self) -> int:
        return sum(self.published_by_topic.values())

    @property
    def delivered(self) -> int:
        return sum(self.delivered_by_topic.values())

    # --- callbacks (run inside poll()/flush(), on the caller's thread) -------------------------------------------

    def _on_error(self, error: KafkaError) -> None:
        self.metrics.kafka_errors.labels(error.name()).inc()
        if error.fatal():
            self.fatal_error = f"{error.name()}: {error.str()}"
            log.critical("fatal Kafka error, stopping: %s", self.fatal_error)
            if self.on_fatal is not None:
                self.on_fatal(self.fatal_error)
            return
        now = time.monotonic()
        if now - self._last_logged.get(error.name(), float("-inf")) >= REPEAT_ERROR_LOG_SECONDS:
            self._last_logged[error.name()] = now
            log.warning("Kafka: %s (%s; repeats are counted, logged every %.0f s)", error.str(), error.name(),
                        REPEAT_ERROR_LOG_SECONDS)  # fmt: skip

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or "?"
        if error is None:
            self.delivered_by_topic[topic] += 1
            return
        self.failed += 1
        self.metrics.delivery_failures.labels(topic, error.name()).inc()
        key = message.key()
        log.error(
            "delivery failed: topic=%s key=%s reason=%s (%s) value=%s",
            topic,
            key.decode(errors="replace") if isinstance(key, bytes) else key,
            error.name(),
            error.str(),
            (message.value() or b"")[:300].decode(errors="replace"),
        )

    # --- producing -----------------------------------------------------------------------------------------------

    def try_publish_many(self, topic: str, records: Sequence[tuple[str, bytes]], start: int = 0) -> int:
        """Enqueue records[start:] (key, value) until the local queue is full; returns the index reached."""
        index = start
        produce = self._producer.produce
        try:
            for key, value in records[start:] if start else records:
                produce(topic, value, key)
                index += 1
        except BufferError:
            self.metrics.backpressure_waits.inc()
        self.published_by_topic[topic] += index - start
        self._producer.poll(0)  # serve delivery callbacks (and free queue space)
        return index

    def publish(self, topic: str, key: str, value: bytes, stop: threading.Event) -> bool:
        """Enqueue one record, waiting while the queue is full; False if stopped (or failed fatally) meanwhile."""
        records = [(key, value)]
        while self.try_publish_many(topic, records) == 0:
            if stop.is_set() or self.fatal_error:
                return False
            self._producer.poll(BACKPRESSURE_POLL_SECONDS)
            if self.on_wait is not None:
                self.on_wait()  # waiting for the broker is not being stuck: keep /healthz green
        return True

    async def publish_many_async(self, topic: str, records: Sequence[tuple[str, bytes]], stop: asyncio.Event) -> int:
        """Enqueue all records, yielding to the event loop while the queue is full; returns how many went in."""
        index = self.try_publish_many(topic, records)
        while index < len(records):
            if stop.is_set() or self.fatal_error:
                break
            # Wait for delivery reports (they free queue space) rather than for a fixed time: poll() returns as
            # soon as there are some. Blocking the loop this briefly is fine: reading more trades must wait anyway.
            self._producer.poll(ASYNC_BACKPRESSURE_POLL_SECONDS)
            if self.on_wait is not None:
                self.on_wait()
            await asyncio.sleep(0)
            index = self.try_publish_many(topic, records, index)
        return index

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(timeout)

    def in_queue(self) -> int:
        return len(self._producer)

    def close(self, timeout: float) -> int:
        """Flush (delivering what can be delivered in `timeout`); returns how many messages are still undelivered."""
        remaining = int(self._producer.flush(timeout))
        if remaining:
            log.error("%d messages were not delivered within %.0f s of shutdown", remaining, timeout)
        return remaining
