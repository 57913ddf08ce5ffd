"""Deterministic names and labels of a feed's children: `<feed>-config`, `<feed>-topic`, `<feed>-producer`, ...

With Kafka authentication on, `<feed>-producer-user` and `<feed>-consumer-user` are the KafkaUsers (and the
Secrets Strimzi's user operator makes for them).
"""

from __future__ import annotations

from enum import StrEnum

MANAGED_BY = "stockfeed-operator"  # also the server-side-apply field manager
FEED_LABEL = "stockfeed.dev/feed"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
CONFIG_HASH_ANNOTATION = "stockfeed.dev/config-hash"


class Role(StrEnum):
    """What a child does for its feed; the suffix of its name and its component label."""

    CONFIG = "config"
    TOPIC = "topic"
    PRODUCER = "producer"
    CONSUMER = "consumer"
    PRODUCER_USER = "producer-user"
    CONSUMER_USER = "consumer-user"


def user_role(component: Role) -> Role:
    """The KafkaUser role of a workload role: the producer's or the consumer's own Kafka identity."""
    users = {Role.PRODUCER: Role.PRODUCER_USER, Role.CONSUMER: Role.CONSUMER_USER}
    return users[component]


def child_name(feed: str, role: Role) -> str:
    return f"{feed}-{role.value}"


def selector_labels(feed: str, role: Role) -> dict[str, str]:
    """The Deployment selector: immutable once created, so only labels that never change."""
    return {"app.kubernetes.io/instance": feed, COMPONENT_LABEL: role.value}


def child_labels(feed: str, role: Role) -> dict[str, str]:
    return {
        **selector_labels(feed, role),
        "app.kubernetes.io/name": "stockfeed",
        "app.kubernetes.io/part-of": "stockfeed",
        MANAGED_BY_LABEL: MANAGED_BY,
        FEED_LABEL: feed,
    }


def consumer_group(namespace: str, feed: str) -> str:
    """One consumer group per feed; the namespace keeps two feeds of the same name apart on a shared Kafka."""
    return f"stockfeed.{namespace}.{feed}"
