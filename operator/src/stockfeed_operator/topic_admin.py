"""The Kafka Admin API calls behind an external provider's topics (the I/O edge of topic_plan.py).

confluent-kafka's AdminClient blocks, so each call runs in a worker thread with a timeout of its own
(OPERATOR_KAFKA_ADMIN_TIMEOUT) and an outer asyncio timeout, so an unreachable Kafka never holds a reconcile.
Errors become TopicAdminError with the client's message, the password removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewPartitions, NewTopic

from stockfeed_contracts import kafka_security
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.naming import MANAGED_BY
from stockfeed_operator.topic_plan import DescribedTopic, WantedTopic

log = logging.getLogger(__name__)
T = TypeVar("T")
LEADER_WAIT_ATTEMPTS = 10  # after a create or grow, describe again until every partition has a leader
LEADER_WAIT_SECONDS = 0.5


class TopicAdminError(Exception):
    """Kafka could not be asked or refused; the message is the client's (without the password)."""


class TopicAdmin:
    def __init__(self, settings: OperatorSettings) -> None:
        security = settings.admin_security()
        self._redact = security.redact
        self._timeout = settings.kafka_admin_timeout
        self._config: dict[str, Any] = {
            "bootstrap.servers": settings.external_bootstrap or "",
            "client.id": MANAGED_BY,
            "logger": logging.getLogger("stockfeed_operator.kafka"),
            **kafka_security.librdkafka_properties(security),
        }
        self._client: AdminClient | None = None

    async def describe(self, name: str) -> DescribedTopic | None:
        """The topic's partitions and how many have no leader; None when there is no such topic."""

        def call() -> DescribedTopic | None:
            futures = self._admin().describe_topics(TopicCollection([name]), request_timeout=self._timeout)
            try:
                description = futures[name].result(timeout=self._timeout)
            except KafkaException as error:
                if _code(error) == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    return None
                raise
            partitions = description.partitions
            leaderless = sum(1 for partition in partitions if partition.leader is None)
            return DescribedTopic(name=name, partitions=len(partitions), leaderless=leaderless)

        return await self._run(call, f"describing topic {name}")

    async def create(self, wanted: WantedTopic) -> bool:
        """Create the topic; False when it already exists (someone else's, or created meanwhile)."""

        def call() -> bool:
            topic = NewTopic(wanted.name, wanted.partitions, wanted.replicas, config=dict(wanted.config))
            futures = self._admin().create_topics([topic], request_timeout=self._timeout)
            try:
                futures[wanted.name].result(timeout=self._timeout)
            except KafkaException as error:
                if _code(error) == KafkaError.TOPIC_ALREADY_EXISTS:
                    return False
                raise
            return True

        return await self._run(call, f"creating topic {wanted.name}")

    async def grow(self, name: str, partitions: int) -> None:
        def call() -> None:
            futures = self._admin().create_partitions([NewPartitions(name, partitions)], request_timeout=self._timeout)
            futures[name].result(timeout=self._timeout)

        await self._run(call, f"growing topic {name} to {partitions} partitions")

    async def delete(self, name: str) -> None:
        """Delete the topic; a topic already gone is fine."""

        def call() -> None:
            futures = self._admin().delete_topics([name], request_timeout=self._timeout)
            try:
                futures[name].result(timeout=self._timeout)
            except KafkaException as error:
                if _code(error) != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise

        await self._run(call, f"deleting topic {name}")

    async def describe_when_led(self, name: str) -> DescribedTopic | None:
        """Right after a create or grow the new partitions elect leaders: wait a little for them."""
        described = await self.describe(name)
        for _ in range(LEADER_WAIT_ATTEMPTS):
            if described is not None and not described.leaderless:
                break
            await asyncio.sleep(LEADER_WAIT_SECONDS)
            described = await self.describe(name)
        return described

    def _admin(self) -> AdminClient:
        if self._client is None:  # lazily, so a bad address fails a reconcile (reported), not the start
            self._client = AdminClient(self._config)
        return self._client

    async def _run(self, call: Callable[[], T], what: str) -> T:
        try:
            # the client's own timeouts end the call; the outer one only guards against a stuck thread
            return await asyncio.wait_for(asyncio.to_thread(call), timeout=2 * self._timeout + 5)
        except (KafkaException, TimeoutError, ValueError) as error:
            message = self._redact(str(error.args[0] if isinstance(error, KafkaException) and error.args else error))
            raise TopicAdminError(f"{what} failed: {message or type(error).__name__}") from None


def _code(error: KafkaException) -> int | None:
    first = error.args[0] if error.args else None
    return first.code() if isinstance(first, KafkaError) else None
