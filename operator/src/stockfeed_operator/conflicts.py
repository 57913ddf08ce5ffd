"""Problems no schema can see because they involve other objects (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stockfeed_operator.conditions import Problem

STRIMZI_CLUSTER_LABEL = "strimzi.io/cluster"

TopicClaim = tuple[str, str]  # (creationTimestamp, feed name): the oldest claim on a topic wins


def topic_conflict(feed: str, topic: str, cluster: str, claims: Iterable[TopicClaim]) -> Problem | None:
    """Two feeds on one topic would run two consumer groups writing every record twice: the older feed keeps it."""
    ordered = sorted(claims)
    if not ordered or ordered[0][1] == feed:
        return None
    holder = ordered[0][1]
    return Problem(
        "TopicConflict",
        f"topic {topic} on Kafka cluster {cluster} already belongs to StockFeed {holder} in this namespace; "
        "choose another spec.kafka.topic (it cannot be changed later, so recreate this feed)",
    )


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    """True if `obj` has a controller ownerReference to the object with this uid."""
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return bool(uid) and any(ref.get("uid") == uid and ref.get("controller") is True for ref in references)


def child_conflict(feed: str, uid: str, existing: Mapping[str, Any]) -> Problem | None:
    """A child's name is taken by an object this feed does not control: never patch or adopt it."""
    if owned_by(existing, uid):
        return None
    return Problem(
        "ChildConflict",
        f"{_describe(existing)} already exists and {_holder(existing)}; StockFeed {feed} "
        "never takes over an object it did not create: delete or rename that object, or rename this feed",
    )


def foreign_topic(
    feed: str, uid: str, topic: str, cluster: str, kafka_topics: Iterable[Mapping[str, Any]]
) -> Problem | None:
    """Another KafkaTopic (not this feed's) already manages the Kafka topic: using it would adopt it."""
    for item in kafka_topics:
        metadata = item.get("metadata") or {}
        labels = metadata.get("labels") or {}
        spec = item.get("spec") or {}
        if labels.get(STRIMZI_CLUSTER_LABEL) != cluster or owned_by(item, uid):
            continue
        if str(spec.get("topicName") or metadata.get("name")) == topic:
            return Problem(
                "ChildConflict",
                f"{_describe(item)} already manages topic {topic} on Kafka cluster {cluster} and {_holder(item)}; "
                f"StockFeed {feed} never takes over a topic it did not create: choose another spec.kafka.topic",
            )
    return None


def _describe(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind', 'object')} {(obj.get('metadata') or {}).get('name', '?')}"


def _holder(obj: Mapping[str, Any]) -> str:
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    controller = next((ref for ref in references if ref.get("controller") is True), None)
    if controller is None:
        return "is not owned by this feed"
    kind, name, uid = (controller.get(field, "?") for field in ("kind", "name", "uid"))
    return f"is controlled by {kind} {name} (uid {uid})"
