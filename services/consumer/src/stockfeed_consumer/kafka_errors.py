"""What the consumer does with Kafka's errors: those of the client (librdkafka's error_cb) and those consume()
returns in place of a record. Both are served on the poll loop's thread, inside consume().

- Authorization refused (TOPIC_/GROUP_AUTHORIZATION_FAILED, ...): retrying cannot fix a missing ACL, so `denied`
  is set with one line naming the topic or group and the user; the loop stops, writes and commits what it holds,
  and the process exits 1 (a crash-looping pod is what shows it). Nothing was assigned from a refused topic or
  group, so nothing of it is committed.
- Authentication failed (wrong password, unknown user, TLS verification): logged as an error with the variables
  to check while librdkafka keeps retrying (a new KafkaUser's credentials can reach the broker after we start).
  No partition is assigned meanwhile, so nothing is read or committed.
- Anything else (a broker away, ...): a warning; repeats of one kind at most every REPEAT_LOG_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from stockfeed_consumer.metrics import ConsumerMetrics
from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import Denial, KafkaSecurity, authentication_hint, denial

log = logging.getLogger(__name__)

REPEAT_LOG_SECONDS = 30.0
PARTITION_EOF = "_PARTITION_EOF"


class KafkaErrorLike(Protocol):
    """The parts of confluent_kafka.KafkaError used here."""

    def name(self) -> str: ...
    def str(self) -> str: ...


def refusal(security: KafkaSecurity, error_name: str, detail: str, topic: str | None, group: str) -> str:
    """One line: what was refused, to whom, and the grant (or setting) that fixes it; never a secret."""
    who = security.principal()
    topics_var, group_var = envs.variable(envs.CONSUMER, "TOPICS"), envs.variable(envs.CONSUMER, "GROUP_ID")
    if error_name == "GROUP_AUTHORIZATION_FAILED":
        return (
            f"Kafka refused {who} the consumer group {group} ({error_name}: {detail}): its KafkaUser needs Read on "
            f"group {group}, or {group_var} names a group it was not given; stopping"
        )
    if error_name == "TOPIC_AUTHORIZATION_FAILED":
        what = f"topic {topic}" if topic else f"a topic of {topics_var}"
        return (
            f"Kafka refused {who} reading {what} ({error_name}: {detail}): its KafkaUser needs Read and Describe "
            f"on it, or {topics_var} names a topic it was not given; stopping"
        )
    return f"Kafka refused {who} ({error_name}: {detail}): check the KafkaUser's ACLs; stopping"


class KafkaErrors:
    def __init__(
        self,
        security: KafkaSecurity,
        group: str,
        topics: Sequence[str],
        metrics: ConsumerMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.security = security
        self.metrics = metrics
        self.group = group
        self.topics = tuple(topics)
        self.clock = clock
        self.denied: str | None = None  # set once: the loop stops and the process exits 1
        self._last_logged: dict[str, float] = {}

    def on_client_error(self, error: KafkaErrorLike) -> None:
        """librdkafka's error_cb."""
        self._handle(error, None)

    def on_record_error(self, error: KafkaErrorLike, topic: str | None) -> None:
        """An error consume() returned in place of a record (end-of-partition events are no errors)."""
        if error.name() != PARTITION_EOF:
            self._handle(error, topic)

    def _handle(self, error: KafkaErrorLike, topic: str | None) -> None:
        name = error.name()
        if self.metrics is not None:
            self.metrics.kafka_errors.labels(name).inc()
        detail = self.security.redact(error.str())
        kind = denial(name)
        if kind is Denial.AUTHORIZATION:
            if self.denied is None:
                self.denied = refusal(self.security, name, detail, topic, self.group)
                log.critical("%s", self.denied)
        elif kind is Denial.AUTHENTICATION:
            hint = authentication_hint(self.security, envs.CONSUMER, name)
            self._repeated(logging.ERROR, name, f"Kafka authentication failed: {detail}; {hint}")
        else:
            self._repeated(logging.WARNING, name, f"kafka: {detail} ({name})")

    def _repeated(self, level: int, name: str, text: str) -> None:
        now = self.clock()
        if now - self._last_logged.get(name, float("-inf")) >= REPEAT_LOG_SECONDS:
            self._last_logged[name] = now
            log.log(level, "%s (repeats within %.0f s are not logged)", text, REPEAT_LOG_SECONDS)
