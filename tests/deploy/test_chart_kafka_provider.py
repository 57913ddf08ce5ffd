"""Issue 17: `kafka.provider: strimzi | external`. strimzi (the default) renders what it always did; external renders
no Strimzi object, points the operator, Kafdrop, the egress NetworkPolicies and the helm test at the external
bootstrap address, and gives the operator its client credentials from kafka.external.existingSecret by reference.
Offline: helm template only (the operator against a real Kafka is tests/k8s/test_operator_external_kafka.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stockfeed_operator.config import load_settings
from tests.deploy.chart import Helm, Manifest, by_kind, containers, env_of, parse, pod_spec

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

BOOTSTRAP = "b-1.kafka.example.com:9096,b-2.kafka.example.com:9096"
SECURED: dict[str, Any] = {
    "kafka": {
        "provider": "external",
        "external": {
            "bootstrap": BOOTSTRAP,
            "securityProtocol": "SASL_SSL",
            "saslMechanism": "SCRAM-SHA-512",
            "existingSecret": "kafka-client",
            "caCert": True,
            "ports": [9096],
        },
    },
    "kafdrop": {"enabled": True},
    "pipeline": {"schedule": "cron"},  # bucket events need a Kafka without client authentication
    "networkPolicies": {"egress": {"enabled": True, "kafka": [{"cidr": "10.20.0.0/16"}]}},
}


def render(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> tuple[int, str, list[Manifest]]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.template((path,))
    return result.returncode, result.stderr, parse(result.stdout) if result.returncode == 0 else []


def rendered(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> list[Manifest]:
    code, stderr, objects = render(helm, tmp_path, values)
    assert code == 0, stderr
    return objects


def operator_pod(objects: list[Manifest]) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = by_kind(objects, "Deployment")["stockfeed-operator"]
    return pod_spec(deployment), env_of(next(containers(deployment)))


def strimzi_objects(objects: list[Manifest]) -> list[str]:
    return [f"{obj['kind']} {obj['metadata']['name']}" for obj in objects if "strimzi.io" in obj["apiVersion"]]


def test_strimzi_stays_the_default(chart_helm: Helm, tmp_path: Path) -> None:
    objects = rendered(chart_helm, tmp_path, {})
    assert {"Kafka stockfeed", "KafkaNodePool stockfeed-dual"} <= set(strimzi_objects(objects))
    _, env = operator_pod(objects)
    assert env["OPERATOR_KAFKA_PROVIDER"] == "strimzi"
    assert "OPERATOR_KAFKA_BOOTSTRAP" not in env
    assert env["OPERATOR_KAFKA_BOOTSTRAP_TEMPLATE"] == "{cluster}-kafka-bootstrap:9092"


def test_kafka_enabled_false_still_renders_no_cluster(chart_helm: Helm, tmp_path: Path) -> None:
    objects = rendered(chart_helm, tmp_path, {"kafka": {"enabled": False}})
    assert strimzi_objects(objects) == []
    assert operator_pod(objects)[1]["OPERATOR_KAFKA_PROVIDER"] == "strimzi"


def test_external_renders_no_strimzi_object(chart_helm: Helm, tmp_path: Path) -> None:
    objects = rendered(chart_helm, tmp_path, SECURED)
    assert strimzi_objects(objects) == []


def test_the_operator_gets_the_external_kafka_and_its_credentials_by_reference(
    chart_helm: Helm, tmp_path: Path
) -> None:
    spec, env = operator_pod(rendered(chart_helm, tmp_path, SECURED))
    assert env["OPERATOR_KAFKA_PROVIDER"] == "external"
    assert env["OPERATOR_KAFKA_BOOTSTRAP"] == BOOTSTRAP
    assert env["OPERATOR_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["OPERATOR_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["OPERATOR_KAFKA_CLIENT_SECRET"] == "kafka-client"
    assert env["OPERATOR_KAFKA_SASL_USERNAME"] == {"secretKeyRef": {"name": "kafka-client", "key": "sasl-username"}}
    assert "OPERATOR_KAFKA_SASL_PASSWORD" not in env  # a file, not in the process environment
    volumes = {volume["name"]: volume["secret"] for volume in spec["volumes"] if "secret" in volume}
    mounts = {mount["name"]: mount["mountPath"] for mount in spec["containers"][0]["volumeMounts"]}
    password_dir, ca_dir = mounts["kafka-password"], mounts["kafka-ca"]
    assert env["OPERATOR_KAFKA_SASL_PASSWORD_FILE"] == f"{password_dir}/sasl-password"
    assert env["OPERATOR_KAFKA_SSL_CA_FILE"] == f"{ca_dir}/ca.crt"
    assert volumes["kafka-password"] == {
        "secretName": "kafka-client",
        "items": [{"key": "sasl-password", "path": "sasl-password"}],
    }
    assert volumes["kafka-ca"] == {"secretName": "kafka-client", "items": [{"key": "ca.crt", "path": "ca.crt"}]}


def test_plaintext_external_settings_load_in_the_operator(chart_helm: Helm, tmp_path: Path) -> None:
    values = {"kafka": {"provider": "external", "external": {"bootstrap": "kafka.example:9092"}}}
    _, env = operator_pod(rendered(chart_helm, tmp_path, values))
    settings = load_settings({name: value for name, value in env.items() if isinstance(value, str)})
    assert settings.external
    assert settings.kafka_bootstrap("stockfeed") == "kafka.example:9092"
    assert "OPERATOR_KAFKA_CLIENT_SECRET" not in env


def test_kafdrop_reads_the_external_kafka_without_a_password_in_its_config(chart_helm: Helm, tmp_path: Path) -> None:
    objects = rendered(chart_helm, tmp_path, SECURED)
    kafdrop = by_kind(objects, "Deployment")["stockfeed-kafdrop"]
    assert env_of(next(containers(kafdrop)))["KAFKA_BROKERCONNECT"] == BOOTSTRAP
    properties = by_kind(objects, "ConfigMap")["stockfeed-kafdrop"]["data"]["kafka.properties"]
    assert "security.protocol=SASL_SSL" in properties
    assert 'password="${user:/etc/kafdrop/user:sasl-password}"' in properties
    assert "ssl.truststore.location=/etc/kafdrop/ca/ca.crt" in properties
    secrets = {
        volume["name"]: volume["secret"]["secretName"] for volume in pod_spec(kafdrop)["volumes"] if "secret" in volume
    }
    assert secrets == {"kafka-ca": "kafka-client", "kafka-user": "kafka-client"}


def test_egress_to_kafka_is_the_users_ip_blocks(chart_helm: Helm, tmp_path: Path) -> None:
    policies = by_kind(rendered(chart_helm, tmp_path, SECURED), "NetworkPolicy")
    for name in ("stockfeed-producer-egress", "stockfeed-consumer-egress"):
        rules = policies[name]["spec"]["egress"]
        kafka = [rule for rule in rules if rule.get("ports") == [{"port": 9096, "protocol": "TCP"}]]
        assert kafka == [{"ports": [{"port": 9096, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]}]
        assert not any("strimzi.io/cluster" in str(rule) for rule in rules)


def test_the_helm_test_checks_the_external_bootstrap(chart_helm: Helm, tmp_path: Path) -> None:
    pods = by_kind(rendered(chart_helm, tmp_path, SECURED), "Pod")
    checks = [
        container for pod in pods.values() for container in containers(pod) if container["name"] == "kafka-bootstrap"
    ]
    assert [check["command"][-2:] for check in checks] == [["b-1.kafka.example.com", "9096"]]
    # a TCP connect in Python from the producer's image: no busybox build's nc options to depend on
    assert checks[0]["command"][:2] == ["python", "-c"]
    assert "create_connection" in checks[0]["command"][2]
    assert checks[0]["image"] == "stockfeed-producer:0.1.0"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kafka": {"provider": "external"}}, "kafka.external.bootstrap"),
        ({"kafka": {**SECURED["kafka"], "authentication": "scram-sha-512"}}, "kafka.authentication"),
        (
            {"kafka": {"provider": "external", "external": {"bootstrap": "k:9092", "securityProtocol": "SASL_SSL"}}},
            "kafka.external.existingSecret",
        ),
        ({**SECURED, "networkPolicies": {"egress": {"enabled": True}}}, "networkPolicies.egress.kafka"),
        ({"kafka": {"provider": "confluent"}}, "provider"),
    ],
)
def test_an_incomplete_external_setup_fails_naming_the_value(
    chart_helm: Helm, tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    code, stderr, _ = render(chart_helm, tmp_path, change)
    assert code != 0
    assert named in stderr
