"""With OPERATOR_REQUIRE_TOPIC_READY=true (the production default) Ready waits for Strimzi's topic operator.

There is no Strimzi operator in the test cluster, so the test writes the KafkaTopic's status the way the
topic operator would (kafka.strimzi.io/v1 status: conditions + observedGeneration).
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.k8s.operator_kit import (
    TOPICS,
    condition,
    create_feed,
    read_topic,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]


# the `operator` and `ns` fixtures (tests/k8s/conftest.py) run the operator with these
OPERATOR_SETTINGS = {"OPERATOR_REQUIRE_TOPIC_READY": "true"}


def set_topic_status(custom: client.CustomObjectsApi, namespace: str, name: str, ready: dict[str, Any]) -> None:
    """What Strimzi's topic operator writes once it has (or has not) created the topic in Kafka."""
    topic = read_topic(custom, namespace, name)
    status = {
        "observedGeneration": topic["metadata"]["generation"],
        "topicName": topic["spec"]["topicName"],
        "conditions": [{"type": "Ready", "lastTransitionTime": "2026-01-05T10:00:00Z", **ready}],
    }
    custom.patch_namespaced_custom_object_status(
        *TOPICS[:2], namespace, TOPICS[2], name, {"status": status}, _content_type="application/merge-patch+json"
    )


def test_ready_waits_for_the_topic_operator(ns: str, custom_objects: client.CustomObjectsApi) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    feed = wait_condition(custom_objects, ns, "tech", "ProducerReady", "True")
    feed = wait_condition(custom_objects, ns, "tech", "ConsumerReady", "True")
    assert condition(feed, "TopicReady")["status"] == "Unknown"
    assert condition(feed, "TopicReady")["reason"] == "WaitingForTopicOperator"
    assert (condition(feed, "Ready")["status"], condition(feed, "Ready")["reason"]) == ("False", "TopicNotReady")

    set_topic_status(custom_objects, ns, "tech-topic", {"status": "True"})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "True", reason="Streaming")
    assert condition(feed, "TopicReady")["status"] == "True"
    assert condition(feed, "Ready")["message"] == "topic, producer and consumer are ready"


def test_a_topic_strimzi_refuses_shows_its_reason(ns: str, custom_objects: client.CustomObjectsApi) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "ProducerReady", "True")
    refusal = {
        "status": "False",
        "reason": "KafkaError",
        "message": "org.apache.kafka.common.errors.PolicyViolationException: replicas exceed brokers",
    }
    set_topic_status(custom_objects, ns, "tech-topic", refusal)
    feed = wait_condition(custom_objects, ns, "tech", "TopicReady", "False", reason="KafkaError")
    ready = condition(feed, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "TopicNotReady")
    assert "replicas exceed brokers" in ready["message"]
