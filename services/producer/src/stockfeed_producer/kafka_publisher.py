"""Kafka out: an idempotent confluent-kafka producer with a bounded local queue and counted deliveries.

- enable.idempotence + acks=all: retries inside librdkafka never duplicate or reorder a partition.
- key = symbol: one symbol's messages stay in order on one partition.
- The local queue is bounded (messages and KiB). When it is full (broker away), produce() raises BufferError and
  we wait, serving delivery callbacks, instead of growing memory: back-pressure reaches the API polling.
- Every delivery report is counted; a failed one is logged with its reason (never silently dropped).
- Refused access (see README "Kafka security"): an authorization failure (no ACL for the topic, or none at all
  for the idempotent producer id) stops the producer with exit code 1, since retrying cannot fix it and a pod
  that crash-loops shows it; an authentication failure (wrong password, unknown user, TLS verification) is
  logged as an error while librdkafka keeps retrying, as a new KafkaUser's credentials may reach the broker
  after we start. Nothing is reported delivered that the broker did not acknowledge.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import Denial, KafkaSecurity, authentication_hint, denial, librdkafka_properties
from stockfeed_producer.config import ProducerSettings
from stockfeed_producer.metrics import ProducerMetrics

log = logging.getLogger(__name__)

BACKPRESSURE_POLL_SECONDS = 0.1
ASYNC_BACKPRESSURE_POLL_SECONDS = 0.005
REPEAT_ERROR_LOG_SECONDS = 30.0  # a broker that is down reports every few 100 ms: log each kind twice a minute


def kafka_config(settings: ProducerSettings) -> dict[str, Any]:
    return {
        **librdkafka_properties(settings.kafka_security),
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


def refusal(security: KafkaSecurity, error_name: str, detail: str, topic: str | None) -> str:
    """The one line that says which access the broker refused, to whom, and what to grant (never a secret)."""
    who = security.principal()
    topics = f"{envs.variable(envs.PRODUCER, 'QUOTES_TOPIC')}/{envs.variable(envs.PRODUCER, 'TRADES_TOPIC')}"
    if topic is not None:
        return (
            f"Kafka refused {who} writing to topic {topic} ({error_name}: {detail}): its KafkaUser needs Write and "
            f"Describe on {topic}, or {topics} names a topic it was not given; stopping"
        )
    return (
        f"Kafka refused {who} ({error_name}: {detail}): its KafkaUser needs Write and Describe on the topic it "
        f"produces to ({topics}; Write also allows the idempotent producer id); stopping"
    )


class KafkaPublisher:
    def __init__(
        self,
        config: dict[str, Any],
        metrics: ProducerMetrics,
        on_fatal: Callable[[str], None] | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.metrics = metrics
        self.on_fatal = on_fatal
        self.security = security or KafkaSecurity()
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

    def _on_error(self, error: KafkaError, topic: str | None = None) -> None:
        """error_cb (the topic is known only when called from produce())."""
        self.metrics.kafka_errors.labels(error.name()).inc()
        kind = denial(error.name())
        detail = self.security.redact(error.str())  # librdkafka's text; no known one quotes the password
        if kind is Denial.AUTHORIZATION:
            self._stop(refusal(self.security, error.name(), detail, topic))
        elif error.fatal():
            self._stop(f"fatal Kafka error, stopping: {error.name()}: {detail}")
        elif kind is Denial.AUTHENTICATION:
            hint = authentication_hint(self.security, envs.PRODUCER, error.name())
            self._log_repeated(logging.ERROR, error.name(), f"Kafka authentication failed: {detail}; {hint}")
        else:
            self._log_repeated(logging.WARNING, error.name(), f"Kafka: {detail} ({error.name()})")

    def _log_repeated(self, level: int, name: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last_logged.get(name, float("-inf")) >= REPEAT_ERROR_LOG_SECONDS:
            self._last_logged[name] = now
            log.log(level, "%s (repeats are counted, logged every %.0f s)", text, REPEAT_ERROR_LOG_SECONDS)

    def _stop(self, reason: str) -> None:
        """The fatal path: remembered once, logged once, and the work loop told to stop."""
        if self.fatal_error is not None:
            return
        self.fatal_error = reason
        log.critical("%s", reason)
        if self.on_fatal is not None:
            self.on_fatal(reason)

    def _raised(self, exception: KafkaException, topic: str | None = None) -> None:
        """confluent-kafka raises some errors from poll()/produce() instead of passing them to error_cb: fatal ones
        (e.g. no idempotent producer id) and, from produce(), a topic known to be refused. Both take the same path
        as in error_cb; anything else is a bug and propagates."""
        error = exception.args[0] if exception.args else None
        if not isinstance(error, KafkaError) or not (error.fatal() or denial(error.name()) is Denial.AUTHORIZATION):
            raise exception
        self._on_error(error, topic)

    def _serve(self, timeout: float) -> None:
        try:
            self._producer.poll(timeout)
        except KafkaException as exception:
            self._raised(exception)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or "?"
        if error is None:
            self.delivered_by_topic[topic] += 1
            return
        self.failed += 1
        detail = self.security.redact(error.str())
        if denial(error.name()) is Denial.AUTHORIZATION:
            self._stop(refusal(self.security, error.name(), detail, topic))
        self.metrics.delivery_failures.labels(topic, error.name()).inc()
        key = message.key()
        log.error(
            "delivery failed: topic=%s key=%s reason=%s (%s) value=%s",
            topic,
            key.decode(errors="replace") if isinstance(key, bytes) else key,
            error.name(),
            detail,
            (message.value() or b"")[:300].decode(errors="replace"),
        )

    # --- producing -----------------------------------------------------------------------------------------------

    def try_publish_many(self, topic: str, records: Sequence[tuple[str, bytes]], start: int = 0) -> int:
        """Enqueue records[start:] (key, value) until the local queue is full; returns the index reached."""
        if self.fatal_error is not None:  # stopping: take nothing more that could only fail the same way
            return start
        index = start
        produce = self._producer.produce
        try:
            for key, value in records[start:] if start else records:
                produce(topic, value, key)
                index += 1
        except BufferError:
            self.metrics.backpressure_waits.inc()
        except KafkaException as exception:  # a refused topic, or after a fatal error: nothing more is taken
            self._raised(exception, topic)
        self.published_by_topic[topic] += index - start
        self._serve(0)  # serve delivery callbacks (and free queue space)
        return index

    def publish(self, topic: str, key: str, value: bytes, stop: threading.Event) -> bool:
        """Enqueue one record, waiting while the queue is full; False if stopped (or failed fatally) meanwhile."""
        records = [(key, value)]
        while self.try_publish_many(topic, records) == 0:
            if stop.is_set() or self.fatal_error:
                return False
            self._serve(BACKPRESSURE_POLL_SECONDS)
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
            self._serve(ASYNC_BACKPRESSURE_POLL_SECONDS)
            if self.on_wait is not None:
                self.on_wait()
            await asyncio.sleep(0)
            index = self.try_publish_many(topic, records, index)
        return index

    def poll(self, timeout: float = 0.0) -> None:
        self._serve(timeout)

    def in_queue(self) -> int:
        return len(self._producer)

    def close(self, timeout: float) -> int:
        """Flush (delivering what can be delivered in `timeout`); returns how many messages are still undelivered."""
        try:
            remaining = int(self._producer.flush(timeout))
        except KafkaException as exception:
            self._raised(exception)
            remaining = len(self._producer)
        if remaining:
            log.error("%d messages were not delivered within %.0f s of shutdown", remaining, timeout)
        return remaining
