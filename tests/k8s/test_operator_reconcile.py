"""The StockFeed operator against the real control plane (kwok makes pods Ready; nothing runs in them).

The operator runs in this process (kopf.testing.KopfRunner) as the ServiceAccount of operator/deploy/rbac.yaml,
so every test here also shows that the RBAC manifest grants enough. OPERATOR_REQUIRE_TOPIC_READY is false:
there is no Strimzi topic operator here (test_operator_topic_ready.py covers the strict setting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client

from tests.k8s.kube import Tool, wait_for
from tests.k8s.operator_kit import (
    CONSUMER_IMAGE,
    OPERATOR_NAMESPACE,
    PRODUCER_IMAGE,
    SERVICE_ACCOUNT,
    condition,
    container_env,
    create_feed,
    eventually_absent,
    patch_feed_spec,
    read_configmap,
    read_deployment,
    read_topic,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

HASH = "stockfeed.dev/config-hash"


# the `operator` and `ns` fixtures (tests/k8s/conftest.py) run the operator with these
OPERATOR_SETTINGS = {"OPERATOR_REQUIRE_TOPIC_READY": "false"}


def owner_of(obj: dict[str, Any]) -> tuple[str, str, str, bool]:
    refs = obj["metadata"]["ownerReferences"]
    assert len(refs) == 1
    ref = refs[0]
    return ref["kind"], ref["name"], ref["uid"], bool(ref["controller"] and ref["blockOwnerDeletion"])


def template_hash(apps_v1: client.AppsV1Api, namespace: str, name: str) -> str:
    return str(read_deployment(apps_v1, namespace, name)["spec"]["template"]["metadata"]["annotations"][HASH])


def status_of(apps_v1: client.AppsV1Api, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = read_deployment(apps_v1, namespace, name).get("status") or {}
    return status


def exists(read: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return read()
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def test_a_feed_gets_its_topic_configmap_and_deployments(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    spec = {"symbols": ["AAPL", "MSFT"], "kafka": {"partitions": 2}, "consumer": {"replicas": 2}}
    uid = create_feed(custom_objects, ns, "tech", spec)["metadata"]["uid"]
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "True", reason="Streaming")

    assert condition(feed, "ProducerReady")["status"] == condition(feed, "ConsumerReady")["status"] == "True"
    assert condition(feed, "TopicReady")["reason"] == "WaitingForTopicOperator"  # no Strimzi here
    assert "stockfeed.dev/finalizer" in feed["metadata"]["finalizers"]

    topic = read_topic(custom_objects, ns, "tech-topic")
    assert topic["spec"] == {
        "topicName": "stock-quotes",
        "partitions": 2,
        "replicas": 1,
        "config": {"message.timestamp.type": "LogAppendTime"},
    }
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "stockfeed"
    assert owner_of(topic) == ("StockFeed", "tech", uid, True)

    data = read_configmap(core_v1, ns, "tech-config")["data"]
    assert data["PRODUCER_SYMBOLS"] == "AAPL,MSFT"
    assert data["CONSUMER_TOPICS"] == data["PRODUCER_QUOTES_TOPIC"] == "stock-quotes"
    assert data["PRODUCER_KAFKA_BOOTSTRAP"] == "stockfeed-kafka-bootstrap:9092"
    assert owner_of(read_configmap(core_v1, ns, "tech-config")) == ("StockFeed", "tech", uid, True)

    for name, image, replicas in (("tech-producer", PRODUCER_IMAGE, 1), ("tech-consumer", CONSUMER_IMAGE, 2)):
        deployment = read_deployment(apps_v1, ns, name)
        assert owner_of(deployment) == ("StockFeed", "tech", uid, True)
        assert deployment["spec"]["replicas"] == replicas
        assert deployment["status"]["readyReplicas"] == replicas  # kwok's pods
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
        prefix = "PRODUCER_" if "producer" in name else "CONSUMER_"
        assert all(variable.startswith(prefix) for variable in container_env(deployment))
    producer_env = container_env(read_deployment(apps_v1, ns, "tech-producer"))
    assert producer_env["PRODUCER_SYMBOLS"] == {"configMapKeyRef": {"name": "tech-config", "key": "PRODUCER_SYMBOLS"}}
    consumer_env = container_env(read_deployment(apps_v1, ns, "tech-consumer"))
    assert consumer_env["CONSUMER_S3_SECRET_ACCESS_KEY"]["secretKeyRef"] == {
        "name": "minio-credentials",
        "key": "secret-access-key",
    }


def test_kubectl_get_stockfeeds_shows_the_columns(
    ns: str, custom_objects: client.CustomObjectsApi, kubectl: Tool
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL", "MSFT"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")
    lines = kubectl.run(["get", "stockfeeds", "-n", ns]).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SYMBOLS", "MODE", "READY", "AGE"]
    row = lines[1].split()
    assert row[:4] == ["tech", '["AAPL","MSFT"]', "quotes", "True"]
    wide = kubectl.run(["get", "sf", "-n", ns, "-o", "wide"]).stdout.splitlines()
    assert wide[0].split() == ["NAME", "SYMBOLS", "MODE", "READY", "REASON", "TOPIC", "AGE"]
    assert wide[1].split()[3:6] == ["True", "Streaming", "stock-quotes"]
    assert "tech" in kubectl.run(["get", "stockfeed", "-n", ns, "-o", "name"]).stdout  # the category


def test_changing_symbols_rolls_the_producer(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL", "MSFT"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")
    producer_before = template_hash(apps_v1, ns, "tech-producer")
    consumer_generation = read_deployment(apps_v1, ns, "tech-consumer")["metadata"]["generation"]

    patch_feed_spec(custom_objects, ns, "tech", {"symbols": ["AAPL", "MSFT", "NVDA"]})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "True")
    assert feed["status"]["observedGeneration"] == 2

    assert read_configmap(core_v1, ns, "tech-config")["data"]["PRODUCER_SYMBOLS"] == "AAPL,MSFT,NVDA"
    assert template_hash(apps_v1, ns, "tech-producer") != producer_before
    producer = read_deployment(apps_v1, ns, "tech-producer")
    assert producer["status"]["observedGeneration"] == producer["metadata"]["generation"] == 2
    assert producer["status"]["updatedReplicas"] == producer["status"]["readyReplicas"] == 1
    replica_sets = apps_v1.list_namespaced_replica_set(ns, label_selector="app.kubernetes.io/component=producer")
    assert len(replica_sets.items) == 2  # the old template's and the new one's: a rollout happened
    # the consumer's configuration did not change: no rollout there
    assert read_deployment(apps_v1, ns, "tech-consumer")["metadata"]["generation"] == consumer_generation


def test_suspend_scales_to_zero_and_resume_brings_it_back(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")

    patch_feed_spec(custom_objects, ns, "tech", {"suspend": True})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="Suspended")
    assert condition(feed, "ProducerReady")["reason"] == "Suspended"
    for name in ("tech-producer", "tech-consumer"):
        assert read_deployment(apps_v1, ns, name)["spec"]["replicas"] == 0

    def no_pods() -> bool:
        return all(not status_of(apps_v1, ns, name).get("replicas") for name in ("tech-producer", "tech-consumer"))

    wait_for(no_pods, timeout=60, what="the feed's pods to be gone")

    patch_feed_spec(custom_objects, ns, "tech", {"suspend": False})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")
    assert status_of(apps_v1, ns, "tech-producer")["readyReplicas"] == 1


def test_deleting_a_feed_removes_its_children(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")
    custom_objects.delete_namespaced_custom_object("stockfeed.dev", "v1alpha1", ns, "stockfeeds", "tech")
    # kopf drops its finalizer, then the garbage collector in kube-controller-manager removes the children
    reads: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("Deployment tech-producer", lambda: read_deployment(apps_v1, ns, "tech-producer")),
        ("Deployment tech-consumer", lambda: read_deployment(apps_v1, ns, "tech-consumer")),
        ("ConfigMap tech-config", lambda: read_configmap(core_v1, ns, "tech-config")),
        ("KafkaTopic tech-topic", lambda: read_topic(custom_objects, ns, "tech-topic")),
    ]
    for name, read in reads:
        eventually_absent(read, timeout=60, what=f"{name} garbage-collected")


def test_a_child_deleted_by_hand_comes_back(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")

    def replaced(read: Callable[[], dict[str, Any]], old_uid: str) -> Callable[[], bool]:
        def check() -> bool:
            current = exists(read)
            return current is not None and current["metadata"]["uid"] != old_uid

        return check

    def producer() -> dict[str, Any]:
        return read_deployment(apps_v1, ns, "tech-producer")

    old = producer()["metadata"]["uid"]
    apps_v1.delete_namespaced_deployment("tech-producer", ns)
    wait_for(replaced(producer, old), timeout=30, what="Deployment tech-producer recreated")
    wait_for(lambda: status_of(apps_v1, ns, "tech-producer").get("readyReplicas") == 1, 60, "the new producer ready")
    wait_condition(custom_objects, ns, "tech", "Ready", "True")

    def config() -> dict[str, Any]:
        return read_configmap(core_v1, ns, "tech-config")

    old = config()["metadata"]["uid"]
    core_v1.delete_namespaced_config_map("tech-config", ns)
    wait_for(replaced(config, old), timeout=30, what="ConfigMap tech-config recreated")

    def topic() -> dict[str, Any]:
        return read_topic(custom_objects, ns, "tech-topic")

    old = topic()["metadata"]["uid"]
    custom_objects.delete_namespaced_custom_object("kafka.strimzi.io", "v1", ns, "kafkatopics", "tech-topic")
    wait_for(replaced(topic, old), timeout=30, what="KafkaTopic tech-topic recreated")


def test_drift_is_corrected(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")

    apps_v1.patch_namespaced_deployment_scale("tech-consumer", ns, {"spec": {"replicas": 3}})
    wait_for(
        lambda: read_deployment(apps_v1, ns, "tech-consumer")["spec"]["replicas"] == 1,
        timeout=30,
        what="the consumer scaled back to the feed's 1 replica",
    )
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "producer", "image": "evil:latest"}]}}}}
    apps_v1.patch_namespaced_deployment("tech-producer", ns, patch)

    def image() -> str:
        return str(read_deployment(apps_v1, ns, "tech-producer")["spec"]["template"]["spec"]["containers"][0]["image"])

    wait_for(lambda: image() == PRODUCER_IMAGE, timeout=30, what="the producer image restored")
    core_v1.patch_namespaced_config_map("tech-config", ns, {"data": {"PRODUCER_SYMBOLS": "GME"}})
    wait_for(
        lambda: read_configmap(core_v1, ns, "tech-config")["data"]["PRODUCER_SYMBOLS"] == "AAPL",
        timeout=30,
        what="the ConfigMap restored",
    )
    wait_condition(custom_objects, ns, "tech", "Ready", "True")


def test_a_second_feed_on_a_taken_topic_waits_for_it(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api
) -> None:
    create_feed(custom_objects, ns, "first", {"symbols": ["AAPL"]})
    wait_condition(custom_objects, ns, "first", "Ready", "True")
    create_feed(custom_objects, ns, "second", {"symbols": ["MSFT"]})
    feed = wait_condition(custom_objects, ns, "second", "Ready", "False", reason="TopicConflict")
    assert "belongs to StockFeed first" in condition(feed, "Ready")["message"]
    assert exists(lambda: read_deployment(apps_v1, ns, "second-producer")) is None  # nothing created for it

    custom_objects.delete_namespaced_custom_object("stockfeed.dev", "v1alpha1", ns, "stockfeeds", "first")
    wait_condition(custom_objects, ns, "second", "Ready", "True", timeout=60)  # the resync notices the free topic


def test_a_child_the_api_server_refuses_makes_the_feed_not_ready(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api
) -> None:
    # The CRD admits any resource name (extended resources are domain-qualified names it cannot list); Pod
    # validation refuses `storage`, which is not a container resource. (Requests above limits, the old example,
    # are refused by the CRD itself now: tests/k8s/test_operator_crd_hardening.py.)
    resources = {"requests": {"cpu": "100m", "storage": "1Gi"}, "limits": {"cpu": "1"}}
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"], "consumer": {"resources": resources}})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="ChildRejected")
    message = condition(feed, "Ready")["message"]
    assert "Deployment tech-consumer" in message
    assert "storage" in message
    assert read_deployment(apps_v1, ns, "tech-producer")["spec"]["replicas"] == 1  # the rest was applied

    patch_feed_spec(custom_objects, ns, "tech", {"consumer": {"resources": {"requests": {"storage": None}}}})
    wait_condition(custom_objects, ns, "tech", "Ready", "True")


def test_the_operator_may_do_no_more_than_its_role(kubectl: Tool, operator: KopfRunner) -> None:
    subject = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{SERVICE_ACCOUNT}"

    def can(*args: str) -> bool:
        result = kubectl.run(["auth", "can-i", *args, f"--as={subject}"], check=False)
        return result.stdout.strip() == "yes"

    assert can("patch", "deployments.apps", "-A")
    assert can("patch", "stockfeeds.stockfeed.dev/status", "-A")
    for forbidden in (
        ("get", "secrets", "-A"),
        ("list", "pods", "-A"),
        ("delete", "deployments.apps", "-A"),
        ("update", "deployments.apps", "-A"),
        ("delete", "stockfeeds.stockfeed.dev", "-A"),
        ("patch", "services", "-A"),
    ):
        assert not can(*forbidden), forbidden
