"""Problems no schema can see because they involve other objects (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from stockfeed_operator.conditions import Problem

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
