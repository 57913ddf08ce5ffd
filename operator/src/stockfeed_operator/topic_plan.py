"""What to do with a feed's Kafka topic on an external Kafka, from what the Admin API described (pure).

The rules match a Strimzi KafkaTopic's: create with the spec's partitions, replicas and config; grow partitions;
never shrink (Kafka cannot); and, like the no-adoption rule for KafkaTopics, never touch a topic this feed did
not create. Whether the feed created it is recorded in the feed's status (CREATED_TOPIC_FIELD), written before the
create request: it survives an operator restart, goes away with the feed, and, being status (a subresource the
operator writes), cannot be set by a feed's author to claim someone else's topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from stockfeed_operator.conditions import Problem
from stockfeed_operator.observe import TopicState

# in the StockFeed's status: the Kafka topic this feed created (so may grow and delete); spec.kafka.topic is immutable
CREATED_TOPIC_FIELD = "createdTopic"
# the same config a Strimzi KafkaTopic child gets (children.kafka_topic): the broker stamps each record
TOPIC_CONFIG: Mapping[str, str] = {"message.timestamp.type": "LogAppendTime"}


@dataclass(frozen=True)
class WantedTopic:
    name: str
    partitions: int
    replicas: int
    config: Mapping[str, str] = field(default_factory=lambda: dict(TOPIC_CONFIG))


@dataclass(frozen=True)
class DescribedTopic:
    """What describe_topics says about a topic."""

    name: str
    partitions: int
    leaderless: int  # partitions without a leader (a broker down, or just created)


class Action(Enum):
    CREATE = "create"
    GROW = "grow"
    NOTHING = "nothing"
    CONFLICT = "conflict"  # exists, not created by this feed: never altered, never deleted
    REFUSE_SHRINK = "refuse-shrink"  # more partitions than the spec: Kafka cannot remove partitions


@dataclass(frozen=True)
class Plan:
    action: Action
    problem: Problem | None = None


def recorded_topic(status: Mapping[str, Any] | None, remembered: str | None) -> str | None:
    """The topic the feed created: what this process last recorded ("" for a removed record), which the watch may
    not have delivered yet, else what the feed's status says."""
    if remembered is not None:
        return remembered or None
    value = (status or {}).get(CREATED_TOPIC_FIELD)
    return str(value) if value else None


def created_by_feed(status: Mapping[str, Any] | None, remembered: str | None, topic: str) -> bool:
    return recorded_topic(status, remembered) == topic


def plan(wanted: WantedTopic, described: DescribedTopic | None, *, ours: bool, feed: str) -> Plan:
    if described is None:
        return Plan(Action.CREATE)
    if not ours:
        return Plan(
            Action.CONFLICT,
            Problem(
                "ChildConflict",
                f"Kafka topic {wanted.name} already exists and was not created by StockFeed {feed}; a feed never "
                "takes over, alters or deletes a topic it did not create: choose another spec.kafka.topic",
            ),
        )
    if described.partitions < wanted.partitions:
        return Plan(Action.GROW)
    if described.partitions > wanted.partitions:
        return Plan(Action.REFUSE_SHRINK)
    return Plan(Action.NOTHING)


def topic_state(wanted: WantedTopic, described: DescribedTopic | None) -> TopicState:
    """TopicReady's input, with the reasons a Strimzi topic operator would give (observe.TopicState)."""
    if described is None:
        return _state("False", "TopicMissing", f"Kafka topic {wanted.name} does not exist yet")
    if described.partitions > wanted.partitions:
        return _state(
            "False",
            "NotSupported",
            f"Kafka topic {wanted.name} has {described.partitions} partitions, more than spec.kafka.partitions "
            f"({wanted.partitions}): decreasing partitions is not supported",
        )
    if described.partitions < wanted.partitions:
        return _state(
            "False",
            "TopicNotReady",
            f"Kafka topic {wanted.name} has {described.partitions} of {wanted.partitions} partitions",
        )
    if described.leaderless:
        return _state(
            "False",
            "TopicNotReady",
            f"Kafka topic {wanted.name}: {described.leaderless} of {described.partitions} partitions have no leader",
        )
    return _state("True", "TopicReady", f"Kafka topic {wanted.name} has {described.partitions} partitions, each led")


def unreachable_state(wanted: WantedTopic, message: str) -> TopicState:
    return _state("False", "KafkaError", f"Kafka topic {wanted.name}: {message}")


def _state(ready: str, reason: str, message: str) -> TopicState:
    # not a Kubernetes object: no resourceVersion or generation (observe.fresher then keeps this one)
    return TopicState(
        resource_version=0, generation=0, observed_generation=0, ready=ready, reason=reason, message=message
    )
