"""A feed never takes over an object it did not create (issue 19: no adoption).

Each child has a fixed name (`<feed>-config`, `<feed>-topic`, `<feed>-producer`, ...). When an object of that name
already exists without this feed's controller ownerReference, or another KafkaTopic already manages the feed's
Kafka topic, the feed reports Ready=False (ChildConflict, naming the object), nothing is applied, and deleting
the feed leaves the object as it was (the garbage collector only deletes what the feed owns).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from tests.k8s.kube import wait_for
from tests.k8s.operator_kit import (
    TOPICS,
    absent,
    create_feed,
    delete_feeds_and_wait,
    fingerprint,
    read_configmap,
    read_deployment,
    read_topic,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

# the `operator` and `ns` fixtures (tests/k8s/conftest.py) run the operator with these; resync every 3 s
OPERATOR_SETTINGS = {"OPERATOR_REQUIRE_TOPIC_READY": "false"}
CLUSTER = "stockfeed"  # BASE_SETTINGS' OPERATOR_KAFKA_CLUSTER
SETTLE_SECONDS = 8.0  # a few resyncs: time for the operator to touch the object if it were going to


def foreign_configmap(core_v1: client.CoreV1Api, namespace: str, name: str) -> None:
    body = {"metadata": {"name": name, "labels": {"owner": "someone-else"}}, "data": {"theirs": "yes"}}
    core_v1.create_namespaced_config_map(namespace, body)


def foreign_deployment(apps_v1: client.AppsV1Api, namespace: str, name: str) -> None:
    labels = {"app": name}
    body = {
        "metadata": {"name": name, "labels": {"owner": "someone-else"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "theirs", "image": "registry.test/theirs:1"}]},
            },
        },
    }
    apps_v1.create_namespaced_deployment(namespace, body)


def foreign_topic(custom: client.CustomObjectsApi, namespace: str, name: str, topic: str | None = None) -> None:
    spec: dict[str, Any] = {"partitions": 1, "replicas": 1}
    if topic:
        spec["topicName"] = topic
    body = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": CLUSTER, "owner": "someone-else"}},
        "spec": spec,
    }
    custom.create_namespaced_custom_object(*TOPICS[:2], namespace, TOPICS[2], body)


@pytest.mark.parametrize("kind", ["ConfigMap", "Deployment", "KafkaTopic"])
def test_a_child_name_taken_by_a_foreign_object_is_a_conflict_and_the_object_is_left_alone(
    kind: str,
    ns: str,
    custom_objects: client.CustomObjectsApi,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
) -> None:
    readers: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
        "ConfigMap": ("tech-config", lambda: read_configmap(core_v1, ns, "tech-config")),
        "Deployment": ("tech-producer", lambda: read_deployment(apps_v1, ns, "tech-producer")),
        "KafkaTopic": ("tech-topic", lambda: read_topic(custom_objects, ns, "tech-topic")),
    }
    name, read = readers[kind]
    if kind == "ConfigMap":
        foreign_configmap(core_v1, ns, name)
    elif kind == "Deployment":
        foreign_deployment(apps_v1, ns, name)
    else:
        foreign_topic(custom_objects, ns, name, topic="someone-elses-topic")
    before = fingerprint(read())

    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="ChildConflict")
    ready = next(item for item in feed["status"]["conditions"] if item["type"] == "Ready")
    assert f"{kind} {name} already exists" in ready["message"]
    time.sleep(SETTLE_SECONDS)

    assert fingerprint(read()) == before  # never patched, never given an owner
    # nothing of the feed was applied while the conflict stands
    for other, (other_name, other_read) in readers.items():
        if other != kind:
            assert absent(other_read), f"{other} {other_name} was created despite the conflict"

    delete_feeds_and_wait(custom_objects, ns)
    time.sleep(2.0)  # the garbage collector would have acted by now if it could
    assert fingerprint(read()) == before


def test_the_feed_recovers_once_the_foreign_object_is_gone(
    ns: str, custom_objects: client.CustomObjectsApi, core_v1: client.CoreV1Api
) -> None:
    foreign_configmap(core_v1, ns, "tech-config")
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="ChildConflict")
    core_v1.delete_namespaced_config_map("tech-config", ns)
    wait_condition(custom_objects, ns, "tech", "Ready", "True", timeout=60)
    refs = read_configmap(core_v1, ns, "tech-config")["metadata"]["ownerReferences"]
    assert [ref["name"] for ref in refs] == ["tech"]


@pytest.mark.parametrize("by", ["topicName", "name"])
def test_a_kafkatopic_of_someone_else_for_the_same_topic_is_never_adopted_or_deleted(
    by: str, ns: str, custom_objects: client.CustomObjectsApi
) -> None:
    # the chart's own KafkaTopics, or one made by hand: named after the topic, or naming it in spec.topicName
    name = "shared-quotes" if by == "topicName" else "stock-quotes"
    foreign_topic(custom_objects, ns, name, topic="stock-quotes" if by == "topicName" else None)
    before = fingerprint(read_topic(custom_objects, ns, name))

    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"], "kafka": {"topic": "stock-quotes"}})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="ChildConflict")
    ready = next(item for item in feed["status"]["conditions"] if item["type"] == "Ready")
    assert f"KafkaTopic {name} already manages topic stock-quotes" in ready["message"]
    assert absent(lambda: read_topic(custom_objects, ns, "tech-topic"))

    delete_feeds_and_wait(custom_objects, ns)
    time.sleep(2.0)
    assert fingerprint(read_topic(custom_objects, ns, name)) == before


def test_a_feed_owned_child_is_still_updated(
    ns: str, custom_objects: client.CustomObjectsApi, core_v1: client.CoreV1Api
) -> None:
    """The check does not get in the way of the feed's own children (drift is still corrected)."""
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")
    core_v1.patch_namespaced_config_map("tech-config", ns, {"data": {"PRODUCER_SYMBOLS": "EVIL"}})

    def corrected() -> bool:
        return read_configmap(core_v1, ns, "tech-config")["data"]["PRODUCER_SYMBOLS"] == "AAPL"

    wait_for(corrected, timeout=30, what="the edited ConfigMap put back")
