"""Kafka authentication per feed component (issue 19), against the real API server with Strimzi's KafkaUser CRD.

The operator runs as the ServiceAccount of operator/deploy/rbac.yaml with SCRAM-SHA-512 over TLS: each feed gets a
KafkaUser for its producer and one for its consumer, owned by the feed, with only their ACLs; the Deployments read
the password from the Secret Strimzi's user operator makes for that user and mount the cluster CA. There is no
Strimzi operator here, so no Secret appears and the pods wait for it: what is checked is what the operator writes.
A KafkaUser of that name the feed does not own is a ChildConflict and is never touched.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client

from stockfeed_operator.kafka_users import kafka_user_acls
from tests.k8s.kube import wait_for
from tests.k8s.operator_kit import (
    USERS,
    absent,
    condition,
    create_feed,
    delete_feeds_and_wait,
    fingerprint,
    get_feed,
    read_configmap,
    read_deployment,
    read_user,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

# the `operator` and `ns` fixtures (tests/k8s/conftest.py) run the operator with these; resync every 3 s
OPERATOR_SETTINGS = {
    "OPERATOR_REQUIRE_TOPIC_READY": "false",
    "OPERATOR_KAFKA_AUTHENTICATION": "scram-sha-512",
    "OPERATOR_KAFKA_TLS": "true",
}
CLUSTER = "stockfeed"  # BASE_SETTINGS' OPERATOR_KAFKA_CLUSTER
SETTLE_SECONDS = 8.0  # a few resyncs: time for the operator to touch the object if it were going to


def users_of(custom: client.CustomObjectsApi, namespace: str, feed: str) -> dict[str, dict[str, Any]]:
    """The feed's two KafkaUsers once both exist."""

    def both() -> dict[str, dict[str, Any]] | None:
        found = {role: read_user(custom, namespace, f"{feed}-{role}-user") for role in ("producer", "consumer")}
        return found if all(found.values()) else None

    users = wait_for(both, timeout=60, what=f"the KafkaUsers of StockFeed {namespace}/{feed}")
    assert users is not None
    return users


def pod_spec(apps: client.AppsV1Api, namespace: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = wait_for(
        lambda: read_deployment(apps, namespace, name)["spec"]["template"]["spec"], timeout=60, what=f"{name}"
    )
    return spec


def test_each_component_gets_its_own_user_owned_by_the_feed_with_only_its_acls(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"], "kafka": {"topic": "tech-quotes"}})
    uid = get_feed(custom_objects, ns, "tech")["metadata"]["uid"]
    users = users_of(custom_objects, ns, "tech")
    groups = {"producer": None, "consumer": f"stockfeed.{ns}.tech"}
    for role, user in users.items():
        owners = [
            (ref["kind"], ref["name"], ref["uid"], ref.get("controller")) for ref in user["metadata"]["ownerReferences"]
        ]
        assert owners == [("StockFeed", "tech", uid, True)]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER
        # stored exactly as built: the API server pruned nothing, so Strimzi sees these ACLs
        assert user["spec"] == {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": kafka_user_acls(role, "tech-quotes", groups[role])},
        }

    data = wait_for(lambda: read_configmap(core_v1, ns, "tech-config")["data"], timeout=60, what="tech-config")
    assert not [key for key in data if "PASSWORD" in key]
    for role, prefix in (("producer", "PRODUCER"), ("consumer", "CONSUMER")):
        assert data[f"{prefix}_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert data[f"{prefix}_KAFKA_SASL_USERNAME"] == f"tech-{role}-user"
        assert data[f"{prefix}_KAFKA_BOOTSTRAP"] == f"{CLUSTER}-kafka-bootstrap:9093"
        spec = pod_spec(apps_v1, ns, f"tech-{role}")
        env = {item["name"]: item for item in spec["containers"][0]["env"]}
        assert env[f"{prefix}_KAFKA_SASL_PASSWORD"]["valueFrom"] == {
            "secretKeyRef": {"name": f"tech-{role}-user", "key": "password"}
        }
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == f"{CLUSTER}-cluster-ca-cert"
        assert [item["key"] for item in volumes["kafka-ca"]["secret"]["items"]] == ["ca.crt"]
        mount = next(item for item in spec["containers"][0]["volumeMounts"] if item["name"] == "kafka-ca")
        assert mount["readOnly"] is True
        assert data[f"{prefix}_KAFKA_SSL_CA_FILE"].startswith(mount["mountPath"] + "/")


def test_a_deleted_user_is_put_back_by_the_resync(ns: str, custom_objects: client.CustomObjectsApi) -> None:
    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    before = users_of(custom_objects, ns, "tech")["producer"]
    custom_objects.delete_namespaced_custom_object(*USERS[:2], ns, USERS[2], "tech-producer-user")

    def recreated() -> bool:
        uid = read_user(custom_objects, ns, "tech-producer-user")["metadata"]["uid"]
        return bool(uid != before["metadata"]["uid"])

    # No watch on KafkaUsers (the operator only gets, creates and patches them): the level-based resync puts it
    # back. Its interval is fixed when kopf first imports the handlers: 3 s here unless an earlier test module
    # imported them with the default.
    from stockfeed_operator.handlers import RESYNC_SECONDS

    wait_for(recreated, timeout=RESYNC_SECONDS + 30, what="tech-producer-user created again")


def test_a_foreign_user_with_a_childs_name_is_a_conflict_and_is_left_alone(
    ns: str, custom_objects: client.CustomObjectsApi, apps_v1: client.AppsV1Api
) -> None:
    foreign = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": "tech-consumer-user", "labels": {"strimzi.io/cluster": CLUSTER, "owner": "someone-else"}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {
                "type": "simple",
                "acls": [{"resource": {"type": "topic", "name": "*", "patternType": "literal"}, "operations": ["All"]}],
            },
        },
    }
    custom_objects.create_namespaced_custom_object(*USERS[:2], ns, USERS[2], foreign)
    before = fingerprint(read_user(custom_objects, ns, "tech-consumer-user"))

    create_feed(custom_objects, ns, "tech", {"symbols": ["AAPL"]})
    feed = wait_condition(custom_objects, ns, "tech", "Ready", "False", reason="ChildConflict")
    assert "KafkaUser tech-consumer-user already exists" in condition(feed, "Ready")["message"]
    time.sleep(SETTLE_SECONDS)

    assert fingerprint(read_user(custom_objects, ns, "tech-consumer-user")) == before  # never patched or adopted
    assert absent(lambda: read_user(custom_objects, ns, "tech-producer-user"))  # nothing applied meanwhile
    assert absent(lambda: apps_v1.read_namespaced_deployment("tech-consumer", ns))

    delete_feeds_and_wait(custom_objects, ns)
    time.sleep(2.0)  # the garbage collector would have acted by now if it could
    assert fingerprint(read_user(custom_objects, ns, "tech-consumer-user")) == before
