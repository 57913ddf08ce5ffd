"""The objects a feed owns, built as plain dicts from its spec and the operator's settings (pure).

Each builder returns the full desired object for server-side apply: fields left out are fields we do not
manage. Owner references come from kopf.adopt (controller, blockOwnerDeletion), so the garbage collector
removes every child when its StockFeed is deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

import kopf

from stockfeed_operator import kafka_users
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.envs import (
    CONSUMER_METRICS_PORT,
    PRODUCER_METRICS_PORT,
    ComponentEnv,
    consumer_env,
    kafka_cluster,
    kafka_user_name,
    producer_env,
)
from stockfeed_operator.feed import Feed, Workload
from stockfeed_operator.naming import (
    CONFIG_HASH_ANNOTATION,
    Role,
    child_labels,
    child_name,
    consumer_group,
    selector_labels,
    user_role,
)

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
STRIMZI_CLUSTER_LABEL = "strimzi.io/cluster"
NON_ROOT_UID = 10001  # matches the USER of the producer and consumer images


def config_hash(env: ComponentEnv) -> str:
    """Changes whenever the component's configuration does, so the pod template changes and the pods roll."""
    material: dict[str, Any] = {"plain": env.plain, "secrets": env.secret_refs}
    if env.volumes or env.mounts:  # only when there are any: a feed without Kafka security keeps its hash
        material |= {"volumes": env.volumes, "mounts": env.mounts}
    canonical = json.dumps(material, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def desired_children(feed: Feed, settings: OperatorSettings) -> list[dict[str, Any]]:
    """ConfigMap, [KafkaTopic, [producer and consumer KafkaUser,]] producer and consumer Deployment, in apply order."""
    producer, consumer = producer_env(feed, settings), consumer_env(feed, settings)
    # With an external Kafka the topic is made through the Admin API (topic_admin.py): no Strimzi children.
    strimzi: list[dict[str, Any]] = [] if settings.external else [kafka_topic(feed, settings)]
    if strimzi and settings.kafka_authentication != kafka_users.NONE:
        strimzi += [kafka_user(feed, settings, Role.PRODUCER), kafka_user(feed, settings, Role.CONSUMER)]
    return [
        configmap(feed, {**producer.plain, **consumer.plain}),
        *strimzi,
        deployment(feed, settings, Role.PRODUCER, producer),
        deployment(feed, settings, Role.CONSUMER, consumer),
    ]


def configmap(feed: Feed, data: Mapping[str, str]) -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(feed, Role.CONFIG),
        "data": dict(sorted(data.items())),
    }
    return _adopted(obj, feed)


def kafka_topic(feed: Feed, settings: OperatorSettings) -> dict[str, Any]:
    kafka = feed.spec.kafka
    metadata = _metadata(feed, Role.TOPIC)
    metadata["labels"][STRIMZI_CLUSTER_LABEL] = kafka_cluster(feed, settings)
    obj = {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaTopic",
        "metadata": metadata,
        "spec": {
            "topicName": kafka.topic,
            "partitions": kafka.partitions,
            "replicas": kafka.replicas,
            # The broker stamps each record as it appends it: bronze keys are named by that hour, so a producer
            # with a wrong clock can neither put its objects in the future nor below the loader's listing window.
            "config": {"message.timestamp.type": "LogAppendTime"},
        },
    }
    return _adopted(obj, feed)


def kafka_user(feed: Feed, settings: OperatorSettings, component: Role) -> dict[str, Any]:
    """The producer's or consumer's own Kafka identity, allowed only what that component does."""
    name = kafka_user_name(feed, component)
    kafka_users.check_user_name(name, settings.kafka_authentication)
    group = consumer_group(feed.namespace, feed.name) if component is Role.CONSUMER else None
    metadata = _metadata(feed, user_role(component))
    metadata["labels"][STRIMZI_CLUSTER_LABEL] = kafka_cluster(feed, settings)  # which user operator manages it
    obj = {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaUser",
        "metadata": metadata,
        "spec": kafka_users.user_spec(
            settings.kafka_authentication, kafka_users.kafka_user_acls(component.value, feed.spec.kafka.topic, group)
        ),
    }
    return _adopted(obj, feed)


def deployment(feed: Feed, settings: OperatorSettings, role: Role, env: ComponentEnv) -> dict[str, Any]:
    workload = feed.spec.producer if role is Role.PRODUCER else feed.spec.consumer
    port = PRODUCER_METRICS_PORT if role is Role.PRODUCER else CONSUMER_METRICS_PORT
    image = settings.producer_image if role is Role.PRODUCER else settings.consumer_image
    pod_annotations = {
        CONFIG_HASH_ANNOTATION: config_hash(env),
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(feed, role),
        "spec": {
            "replicas": 0 if feed.spec.suspend else workload.replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector_labels(feed.name, role)},
            # A second producer during a rollout would poll twice against one API plan and open a second
            # WebSocket on one key; consumers share a group, so they can overlap.
            "strategy": {"type": "Recreate"} if role is Role.PRODUCER else {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": child_labels(feed.name, role), "annotations": pod_annotations},
                "spec": _placed(
                    _pod_spec(role, image, settings.image_pull_policy, env, port, workload, feed), settings
                ),
            },
        },
    }
    return _adopted(obj, feed)


def _pod_spec(
    role: Role, image: str, pull_policy: str, env: ComponentEnv, port: int, workload: Workload, feed: Feed
) -> dict[str, Any]:
    config_name = child_name(feed.name, Role.CONFIG)
    variables = [
        {"name": key, "valueFrom": {"configMapKeyRef": {"name": config_name, "key": key}}} for key in sorted(env.plain)
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10, "timeoutSeconds": 3}
    container: dict[str, Any] = {
        "name": role.value,
        "image": image,
        "imagePullPolicy": pull_policy,
        "env": variables + env.secret_refs,
        "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "failureThreshold": 3},
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 6},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *env.mounts],  # noqa: S108 - an emptyDir of its own
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if workload.resources:
        container["resources"] = {part: dict(amounts) for part, amounts in workload.resources.items()}
    return {
        "automountServiceAccountToken": False,  # neither talks to the Kubernetes API
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 45,  # the consumer flushes open batches, the producer its Kafka queue
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NON_ROOT_UID,
            "runAsGroup": NON_ROOT_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        # the root filesystem is read-only; Kafka's CA and client certificate come from Secrets
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, *env.volumes],
    }


def _placed(pod_spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    """The operator's node selector and tolerations (OPERATOR_POD_*), only when set: unset changes no pod."""
    if settings.pod_node_selector:
        pod_spec["nodeSelector"] = dict(settings.pod_node_selector)
    if settings.pod_tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in settings.pod_tolerations]
    return pod_spec


def _metadata(feed: Feed, role: Role) -> dict[str, Any]:
    return {"name": child_name(feed.name, role), "namespace": feed.namespace, "labels": child_labels(feed.name, role)}


def _adopted(obj: dict[str, Any], feed: Feed) -> dict[str, Any]:
    # kopf.adopt accepts any body-like mapping; it also copies the feed's own labels onto the child's metadata.
    kopf.adopt(obj, owner=cast(kopf.Body, feed.owner_body))
    return obj
