"""OPERATOR_KAFKA_PROVIDER=external against the local stack's real Kafka: the topic through the Admin API.

The operator (in-process, as the ServiceAccount of operator/deploy/rbac.yaml) manages each feed's topic on the
devstack broker: created with the spec's partitions and the KafkaTopic's config, grown when partitions grow,
TopicReady from describe, deleted with the feed that created it; a topic it did not create is a ChildConflict and
is never altered or deleted. No KafkaTopic child. Topic names are unique per run; the test deletes what it makes.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]
from confluent_kafka.cimpl import NewTopic
from kopf.testing import KopfRunner
from kubernetes import client

from tests.k8s.kube import Tool, wait_for
from tests.k8s.operator_kit import (
    TOPICS,
    absent,
    condition,
    create_feed,
    delete_feeds_and_wait,
    get_feed,
    install_crds,
    patch_feed_spec,
    read_configmap,
    running_operator,
    service_account_kubeconfig,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.integration, pytest.mark.timeout(300)]

CREATED_TOPIC = "createdTopic"  # the ownership record in the feed's status
SETTLE_SECONDS = 8.0  # a few resyncs (every 3 s): time for the operator to touch the topic if it were going to


@pytest.fixture(scope="module")
def admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture(scope="module")
def external_operator(
    kafka_bootstrap: str,
    kubectl: Tool,
    apiextensions_v1: client.ApiextensionsV1Api,
    core_v1: client.CoreV1Api,
    kubeconfig_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KopfRunner]:
    install_crds(kubectl, apiextensions_v1)
    kubeconfig = service_account_kubeconfig(
        kubectl, core_v1, kubeconfig_path, tmp_path_factory.mktemp("operator") / "kubeconfig"
    )
    settings = {"OPERATOR_KAFKA_PROVIDER": "external", "OPERATOR_KAFKA_BOOTSTRAP": kafka_bootstrap}
    with running_operator(kubeconfig, settings) as runner:
        yield runner


@pytest.fixture
def feeds_ns(namespace: str, custom_objects: client.CustomObjectsApi, external_operator: KopfRunner) -> Iterator[str]:
    yield namespace
    delete_feeds_and_wait(custom_objects, namespace)


@pytest.fixture
def topic_name(admin: AdminClient) -> Iterator[str]:
    """A unique topic name; whatever is left of it afterwards is deleted."""
    name = f"sf-ext-{uuid.uuid4().hex[:12]}"
    yield name
    for future in admin.delete_topics([name], request_timeout=30).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def partitions(admin: AdminClient, name: str) -> int | None:
    """The topic's partition count, None when it does not exist."""
    try:
        description = admin.describe_topics(TopicCollection([name]), request_timeout=15)[name].result(timeout=20)
    except Exception as error:
        if "UNKNOWN_TOPIC" in str(error):
            return None
        raise
    return len(description.partitions)


def topic_config(admin: AdminClient, name: str) -> dict[str, str]:
    resource = ConfigResource("TOPIC", name)
    entries: dict[str, Any] = admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=20)
    return {key: entry.value for key, entry in entries.items()}


def feed_spec(topic: str, count: int) -> dict[str, Any]:
    return {"symbols": ["AAPL"], "kafka": {"topic": topic, "partitions": count, "replicas": 1}}


def test_the_feed_creates_grows_and_deletes_its_topic(
    feeds_ns: str,
    topic_name: str,
    admin: AdminClient,
    kafka_bootstrap: str,
    custom_objects: client.CustomObjectsApi,
    core_v1: client.CoreV1Api,
) -> None:
    create_feed(custom_objects, feeds_ns, "tech", feed_spec(topic_name, 2))
    feed = wait_condition(custom_objects, feeds_ns, "tech", "TopicReady", "True", reason="TopicReady")
    assert partitions(admin, topic_name) == 2
    assert topic_config(admin, topic_name)["message.timestamp.type"] == "LogAppendTime"
    assert feed["status"][CREATED_TOPIC] == topic_name
    assert "2 partitions" in condition(feed, "TopicReady")["message"]
    # the pods get the external address; there is no Strimzi KafkaTopic child
    data = read_configmap(core_v1, feeds_ns, "tech-config")["data"]
    assert data["PRODUCER_KAFKA_BOOTSTRAP"] == data["CONSUMER_KAFKA_BOOTSTRAP"] == kafka_bootstrap
    assert absent(lambda: custom_objects.get_namespaced_custom_object(*TOPICS[:2], feeds_ns, TOPICS[2], "tech-topic"))

    patch_feed_spec(custom_objects, feeds_ns, "tech", {"kafka": {"topic": topic_name, "partitions": 4}})
    feed = wait_condition(custom_objects, feeds_ns, "tech", "TopicReady", "True", reason="TopicReady")
    assert partitions(admin, topic_name) == 4
    assert "4 partitions" in condition(feed, "TopicReady")["message"]

    delete_feeds_and_wait(custom_objects, feeds_ns)
    wait_for(lambda: partitions(admin, topic_name) is None, timeout=30, what=f"topic {topic_name} deleted")


def test_a_topic_the_feed_did_not_create_is_a_conflict_and_left_alone(
    feeds_ns: str, topic_name: str, admin: AdminClient, custom_objects: client.CustomObjectsApi
) -> None:
    theirs = NewTopic(topic_name, 1, 1, config={"retention.ms": "123456789"})
    admin.create_topics([theirs], request_timeout=15)[topic_name].result(timeout=30)

    create_feed(custom_objects, feeds_ns, "tech", feed_spec(topic_name, 3))
    feed = wait_condition(custom_objects, feeds_ns, "tech", "Ready", "False", reason="ChildConflict")
    assert topic_name in condition(feed, "Ready")["message"]
    assert CREATED_TOPIC not in feed["status"]
    time.sleep(SETTLE_SECONDS)
    assert partitions(admin, topic_name) == 1  # never grown to the feed's 3
    config = topic_config(admin, topic_name)
    assert config["retention.ms"] == "123456789"
    assert config["message.timestamp.type"] == "CreateTime"  # the broker's default, not the feed's config
    assert CREATED_TOPIC not in get_feed(custom_objects, feeds_ns, "tech")["status"]

    delete_feeds_and_wait(custom_objects, feeds_ns)
    time.sleep(SETTLE_SECONDS / 2)
    assert partitions(admin, topic_name) == 1  # not deleted with the feed
