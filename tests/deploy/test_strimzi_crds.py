"""The Strimzi CRDs `devstack up cluster` generates from Maven Central have every field the chart and the operator use.

Every Kafka, KafkaNodePool, KafkaTopic and KafkaUser the chart renders (default and production values, ephemeral
and persistent storage, extra topics, Kafka authentication with Kafdrop's user) and the KafkaTopic and KafkaUsers
the operator builds are walked against the CRD's openAPIV3Schema of the version they name: each field must be
declared (or fall under a map or a preserve-unknown-fields object), each enum value allowed, each scalar of the
declared type. The status fields the operator reads must be declared too. Offline: the API server's own check is
in tests/deploy/test_chart_cluster.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from stockfeed_operator.children import STRIMZI_API_VERSION, desired_children, kafka_topic
from stockfeed_operator.config import OperatorSettings, load_settings
from stockfeed_operator.feed import parse_feed
from stockfeed_operator.handlers import KAFKA_TOPICS
from tests.deploy.chart import PRODUCTION_VALUES, STRIMZI_CRDS, Helm, Manifest, parse

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(300)]

CRD_FILES = {
    "Kafka": "040-Crd-kafka.yaml",
    "KafkaTopic": "043-Crd-kafkatopic.yaml",
    "KafkaUser": "044-Crd-kafkauser.yaml",
    "KafkaNodePool": "045-Crd-kafkanodepool.yaml",
}
TOPIC_SETS = {
    "kafka.topics[0].name": "stock-trades",
    "kafka.topics[0].partitions": "6",
    "kafka.topics[0].replicas": "1",
    "kafka.topics[0].config.retention\\.ms": "604800000",
    "kafka.topics[0].config.cleanup\\.policy": "delete",
    "kafka.version": "4.1.1",
}
RENDERINGS: dict[str, tuple[Sequence[Path], Mapping[str, str]]] = {
    "default": ((), {}),
    "production": ((PRODUCTION_VALUES,), {}),
    "ephemeral-with-topics": ((), {"kafka.storage.type": "ephemeral", **TOPIC_SETS}),
    "storage-class-with-topics": ((), {"kafka.storage.storageClass": "fast", **TOPIC_SETS}),
    "production-with-kafdrop": ((PRODUCTION_VALUES,), {"kafdrop.enabled": "true"}),
    # Kafka clients that authenticate: bucket events are not offered, the pipeline runs every minute
    "mutual-tls": ((), {"kafka.authentication": "tls", "kafka.tls": "true", "pipeline.schedule": "cron"}),
    "scram-without-tls": ((), {"kafka.authentication": "scram-sha-512", "pipeline.schedule": "cron"}),
}
# Kafka authentication with Kafdrop on: the chart renders Kafdrop's KafkaUser
WITH_KAFDROP_USER = ("production-with-kafdrop", "mutual-tls", "scram-without-tls")
# Kafka security as the operator may be configured (production: SCRAM-SHA-512 over TLS)
OPERATOR_SECURITY = {
    "scram-tls": {"OPERATOR_KAFKA_AUTHENTICATION": "scram-sha-512", "OPERATOR_KAFKA_TLS": "true"},
    "mutual-tls": {"OPERATOR_KAFKA_AUTHENTICATION": "tls", "OPERATOR_KAFKA_TLS": "true"},
}
# What the operator reads from a KafkaTopic's status (stockfeed_operator.observe.topic_state)
TOPIC_STATUS_READ = (
    ("status", "observedGeneration"),
    ("status", "conditions", "[]", "type"),
    ("status", "conditions", "[]", "status"),
    ("status", "conditions", "[]", "reason"),
    ("status", "conditions", "[]", "message"),
)
SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def schema_problems(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[str]:
    """Every field of `value` the structural schema does not declare, or declares with another type or enum."""
    if "enum" in schema and value not in schema["enum"]:
        yield f"{path}: {value!r} is not one of {schema['enum']}"
    if isinstance(value, dict):
        if schema.get("type") not in (None, "object"):
            yield f"{path}: an object where the schema has type {schema.get('type')}"
            return
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                yield from schema_problems(item, properties[key], f"{path}.{key}")
            elif isinstance(additional, dict):
                yield from schema_problems(item, additional, f"{path}.{key}")
            elif not (schema.get("x-kubernetes-preserve-unknown-fields") or additional is True):
                yield f"{path}.{key}: not in the schema (known: {sorted(properties or {})})"
    elif isinstance(value, list):
        if schema.get("type") != "array":
            yield f"{path}: a list where the schema has type {schema.get('type')}"
            return
        for index, item in enumerate(value):
            yield from schema_problems(item, schema.get("items") or {}, f"{path}[{index}]")
    elif schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            yield f"{path}: {value!r} is neither an integer nor a string"
    elif schema.get("type") in SCALAR_TYPES:
        expected = SCALAR_TYPES[schema["type"]]
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            yield f"{path}: {value!r} is not of type {schema['type']}"


def version_schema(crd: Manifest, api_version: str) -> Mapping[str, Any]:
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group
    served = {entry["name"]: entry for entry in crd["spec"]["versions"] if entry.get("served")}
    assert version in served, f"{crd['metadata']['name']} serves {sorted(served)}, not {version}"
    schema: Mapping[str, Any] = served[version]["schema"]["openAPIV3Schema"]
    return schema


def object_problems(obj: Manifest, crds: Mapping[str, Manifest]) -> list[str]:
    crd = crds[obj["kind"]]
    assert crd["spec"]["names"]["kind"] == obj["kind"]
    schema = version_schema(crd, obj["apiVersion"])
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    return list(schema_problems(obj["spec"], schema["properties"]["spec"], f"{where}: spec"))


def declares(schema: Mapping[str, Any], path: Sequence[str]) -> bool:
    for step in path:
        if step == "[]":
            if schema.get("type") != "array":
                return False
            schema = schema.get("items") or {}
        else:
            properties = schema.get("properties") or {}
            if step not in properties:
                return False
            schema = properties[step]
    return True


@pytest.fixture(scope="module")
def crds() -> dict[str, Manifest]:
    missing = [name for name in CRD_FILES.values() if not (STRIMZI_CRDS / name).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not in {STRIMZI_CRDS}: run `make cluster-up` (devstack generates them)")
    return {kind: yaml.safe_load((STRIMZI_CRDS / name).read_text()) for kind, name in CRD_FILES.items()}


def operator_settings(extra: Mapping[str, str] | None = None) -> OperatorSettings:
    return load_settings(
        {
            "OPERATOR_PRODUCER_IMAGE": "registry.test/stockfeed-producer:1.0",
            "OPERATOR_CONSUMER_IMAGE": "registry.test/stockfeed-consumer:1.0",
            "OPERATOR_SIMULATOR_URL": "http://stockfeed-simulator:8080/api/v1",
            "OPERATOR_KAFKA_CLUSTER": "stockfeed",
            **(extra or {}),
        }
    )


SAMPLE_FEED = {
    "metadata": {"name": "quotes", "namespace": "stockfeed", "uid": "0b7a5c1e-1d2f-4e07-9a1c-2f6f0e9d3b11"},
    "spec": {"symbols": ["AAPL", "MSFT"], "kafka": {"topic": "stock-quotes", "partitions": 6, "replicas": 1}},
}


@pytest.fixture(scope="module")
def operator_topic() -> Manifest:
    topic = kafka_topic(parse_feed(SAMPLE_FEED), operator_settings())
    assert topic["kind"] == "KafkaTopic"
    return topic


def test_the_generated_crds_are_the_strimzi_kinds_the_tests_install(crds: dict[str, Manifest]) -> None:
    assert sorted(path.name for path in STRIMZI_CRDS.glob("*.yaml")) == sorted(CRD_FILES.values())
    for kind, crd in crds.items():
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["metadata"]["labels"] == {"app": "strimzi", "strimzi.io/crd-install": "true"}
        assert crd["spec"]["names"]["kind"] == kind
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.kafka.strimzi.io"


@pytest.mark.parametrize("rendering", sorted(RENDERINGS))
def test_every_strimzi_object_the_chart_renders_fits_the_generated_schema(
    chart_helm: Helm, crds: dict[str, Manifest], rendering: str
) -> None:
    values, sets = RENDERINGS[rendering]
    result = chart_helm.template(values, sets)
    assert result.returncode == 0, result.stderr
    objects = [obj for obj in parse(result.stdout) if obj["apiVersion"].startswith("kafka.strimzi.io/")]
    kinds = {obj["kind"] for obj in objects}
    assert {"Kafka", "KafkaNodePool"} <= kinds
    if "kafka.topics[0].name" in sets:
        assert "KafkaTopic" in kinds
    if rendering in WITH_KAFDROP_USER:
        assert "KafkaUser" in kinds
    problems = [problem for obj in objects for problem in object_problems(obj, crds)]
    assert problems == []


def test_the_kafka_topic_the_operator_builds_fits_the_generated_schema(
    crds: dict[str, Manifest], operator_topic: Manifest
) -> None:
    assert operator_topic["apiVersion"] == STRIMZI_API_VERSION
    assert set(operator_topic["spec"]) == {"topicName", "partitions", "replicas", "config"}
    assert object_problems(operator_topic, crds) == []


@pytest.mark.parametrize("security", sorted(OPERATOR_SECURITY))
def test_the_kafka_users_the_operator_builds_fit_the_generated_schema(crds: dict[str, Manifest], security: str) -> None:
    children = desired_children(parse_feed(SAMPLE_FEED), operator_settings(OPERATOR_SECURITY[security]))
    users = [child for child in children if child["kind"] == "KafkaUser"]
    assert [user["metadata"]["name"] for user in users] == ["quotes-producer-user", "quotes-consumer-user"]
    assert all(user["apiVersion"] == STRIMZI_API_VERSION for user in users)
    assert [problem for user in users for problem in object_problems(user, crds)] == []


def test_the_operator_reads_status_fields_the_kafka_topic_crd_declares(crds: dict[str, Manifest]) -> None:
    crd = crds["KafkaTopic"]
    group, version, plural = KAFKA_TOPICS
    assert (crd["spec"]["group"], crd["spec"]["names"]["plural"]) == (group, plural)
    entry = next(entry for entry in crd["spec"]["versions"] if entry["name"] == version)
    assert entry["served"]
    assert entry["storage"]
    assert "status" in entry["subresources"]  # the topic operator writes status through the subresource
    schema = entry["schema"]["openAPIV3Schema"]
    assert [path for path in TOPIC_STATUS_READ if not declares(schema, path)] == []


def test_the_schema_walk_catches_what_the_api_server_would_refuse(
    crds: dict[str, Manifest], operator_topic: Manifest
) -> None:
    wrong = {
        **operator_topic,
        "spec": {**operator_topic["spec"], "partitionz": 3, "replicas": "one", "config": {"retention.ms": 1}},
    }
    problems = object_problems(wrong, crds)
    assert any("spec.partitionz: not in the schema" in problem for problem in problems), problems
    assert any("spec.replicas: 'one' is not of type integer" in problem for problem in problems), problems
    assert not any(".config" in problem for problem in problems), problems  # config is free-form
    pool = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaNodePool",
        "metadata": {"name": "bad"},
        "spec": {"replicas": 1, "roles": ["broker", "router"], "storage": {"type": "jbod", "volumes": []}},
    }
    problems = object_problems(pool, crds)
    assert any("spec.roles[1]: 'router' is not one of" in problem for problem in problems), problems
    user = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": "bad"},
        "spec": {
            "authentication": {"type": "plain"},
            "authorization": {
                "type": "simple",
                "acls": [{"resource": {"type": "topic", "name": "t"}, "operation": "Read", "operations": ["Peek"]}],
            },
        },
    }
    problems = object_problems(user, crds)
    assert any("spec.authentication.type: 'plain' is not one of" in problem for problem in problems), problems
    # Strimzi v1 dropped the singular `operation` of v1beta2
    assert any("acls[0].operation: not in the schema" in problem for problem in problems), problems
    assert any("acls[0].operations[0]: 'Peek' is not one of" in problem for problem in problems), problems
