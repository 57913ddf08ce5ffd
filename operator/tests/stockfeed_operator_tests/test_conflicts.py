"""Two feeds may not share a topic on one Kafka cluster: the older keeps it, the newer reports why."""

from __future__ import annotations

import pytest

from stockfeed_operator.conflicts import child_conflict, foreign_topic, topic_conflict

pytestmark = pytest.mark.unit


def test_a_sole_claim_is_no_conflict() -> None:
    assert topic_conflict("a", "stock-quotes", "main", [("2026-01-01T00:00:00Z", "a")]) is None
    assert topic_conflict("a", "stock-quotes", "main", []) is None


def test_the_older_feed_keeps_the_topic() -> None:
    claims = [("2026-01-02T00:00:00Z", "late"), ("2026-01-01T00:00:00Z", "early")]
    assert topic_conflict("early", "stock-quotes", "main", claims) is None
    problem = topic_conflict("late", "stock-quotes", "main", claims)
    assert problem is not None
    assert problem.reason == "TopicConflict"
    assert "early" in problem.message
    assert "stock-quotes" in problem.message


def test_same_second_ties_break_by_name() -> None:
    claims = [("2026-01-01T00:00:00Z", "b"), ("2026-01-01T00:00:00Z", "a")]
    assert topic_conflict("a", "t", "main", claims) is None
    assert topic_conflict("b", "t", "main", claims) is not None


UID = "0b1f0c1e-1111-2222-3333-444455556666"


def owner(uid: str = UID, controller: bool = True, kind: str = "StockFeed", name: str = "tech") -> dict[str, object]:
    return {"apiVersion": "stockfeed.dev/v1alpha1", "kind": kind, "name": name, "uid": uid, "controller": controller}


def existing(kind: str = "ConfigMap", name: str = "tech-config", *owners: dict[str, object]) -> dict[str, object]:
    return {"kind": kind, "metadata": {"name": name, "ownerReferences": list(owners)}}


def test_our_own_child_is_no_conflict() -> None:
    assert child_conflict("tech", UID, existing("ConfigMap", "tech-config", owner())) is None


@pytest.mark.parametrize(
    "owners",
    [
        [],  # made by hand or by another chart
        [owner(uid="another-uid")],  # a feed of the same name that was deleted and made again, or another owner
        [owner(controller=False)],  # referenced, but not as its controller
        [owner(uid="x", kind="HelmRelease", name="platform")],
    ],
)
def test_an_object_we_do_not_control_is_a_conflict_naming_it(owners: list[dict[str, object]]) -> None:
    problem = child_conflict("tech", UID, existing("Deployment", "tech-producer", *owners))
    assert problem is not None
    assert problem.reason == "ChildConflict"
    assert "Deployment tech-producer" in problem.message
    assert "never takes over" in problem.message


def test_the_holder_is_named_when_there_is_one() -> None:
    problem = child_conflict("tech", UID, existing("ConfigMap", "tech-config", owner(uid="u2", kind="App", name="x")))
    assert problem is not None
    assert "controlled by App x (uid u2)" in problem.message


def topic_object(name: str, topic: str | None, cluster: str = "main", *owners: dict[str, object]) -> dict[str, object]:
    spec = {"topicName": topic} if topic else {}
    metadata = {"name": name, "labels": {"strimzi.io/cluster": cluster}, "ownerReferences": list(owners)}
    return {"kind": "KafkaTopic", "metadata": metadata, "spec": spec}


def test_a_foreign_kafkatopic_for_the_same_topic_is_a_conflict() -> None:
    topics = [topic_object("quotes", "stock-quotes"), topic_object("tech-topic", "stock-quotes", "main", owner())]
    problem = foreign_topic("tech", UID, "stock-quotes", "main", topics)
    assert problem is not None
    assert problem.reason == "ChildConflict"
    assert "KafkaTopic quotes" in problem.message
    assert "stock-quotes" in problem.message


def test_a_kafkatopic_named_after_the_topic_counts_too() -> None:
    assert foreign_topic("tech", UID, "stock-quotes", "main", [topic_object("stock-quotes", None)]) is not None


def test_our_own_topic_other_topics_and_other_clusters_are_fine() -> None:
    topics = [
        topic_object("tech-topic", "stock-quotes", "main", owner()),
        topic_object("trades", "stock-trades"),
        topic_object("elsewhere", "stock-quotes", "other-cluster"),
    ]
    assert foreign_topic("tech", UID, "stock-quotes", "main", topics) is None
