"""Issue 19, Kafka: production values authenticate every client (SCRAM-SHA-512 over TLS, ACLs per KafkaUser), the
default values keep the plain dev listener exactly as before. Offline: helm template only; the objects' fit to
Strimzi's CRDs is in tests/deploy/test_strimzi_crds.py, the ACLs on a real broker in
tests/integration/test_kafka_security.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stockfeed_operator.config import load_settings
from tests.deploy.chart import Helm, Manifest, by_kind, containers, env_of, pod_spec, render

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

KAFDROP_READ_ONLY = {"Describe", "DescribeConfigs", "Read"}
# bucket events need a Kafka without client authentication: these renders run the pipeline every minute
MTLS = {"kafka.authentication": "tls", "kafka.tls": "true", "pipeline.schedule": "cron"}
PROVIDED = re.compile(r"\$\{user:([^:}]+):([^}]+)\}")  # ${user:<directory>:<file>}, Kafka's DirectoryConfigProvider


@pytest.fixture(scope="module")
def default_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=False)


@pytest.fixture(scope="module")
def production_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=True, sets={"kafdrop.enabled": "true"})


def kafka_spec(objects: list[Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = by_kind(objects, "Kafka")["stockfeed"]["spec"]
    return spec


def operator_env(objects: list[Manifest]) -> dict[str, Any]:
    return env_of(next(containers(by_kind(objects, "Deployment")["stockfeed-operator"])))


def kafdrop(objects: list[Manifest]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Kafdrop's pod spec and its container's env."""
    deployment = by_kind(objects, "Deployment")["stockfeed-kafdrop"]
    return pod_spec(deployment), env_of(next(containers(deployment)))


def mounted_items(spec: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """mountPath -> (what is mounted: configMap/secret name, the keys or items it exposes)."""
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    out = {}
    for mount in spec["containers"][0]["volumeMounts"]:
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap") or {}
        name = source.get("secretName") or source.get("name") or mount["name"]
        out[mount["mountPath"]] = (name, [item["path"] for item in source.get("items", [])])
    return out


# -- the default (dev) values: as before --------------------------------------------------------------------------


def test_default_values_keep_the_plain_listener_without_users_or_acls(default_objects: list[Manifest]) -> None:
    kafka = kafka_spec(default_objects)["kafka"]
    assert kafka["listeners"] == [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]
    assert "authorization" not in kafka
    assert set(kafka_spec(default_objects)["entityOperator"]) == {"topicOperator"}
    assert by_kind(default_objects, "KafkaUser") == {}
    env = operator_env(default_objects)
    assert (env["OPERATOR_KAFKA_AUTHENTICATION"], env["OPERATOR_KAFKA_TLS"]) == ("none", "false")
    assert env["OPERATOR_KAFKA_BOOTSTRAP_TEMPLATE"] == "{cluster}-kafka-bootstrap:9092"
    spec, kafdrop_env = kafdrop(default_objects)
    assert kafdrop_env["KAFKA_BROKERCONNECT"] == "stockfeed-kafka-bootstrap:9092"
    assert "KAFKA_PROPERTIES_FILE" not in kafdrop_env
    assert [volume["name"] for volume in spec["volumes"]] == ["tmp"]


def test_default_operator_may_not_touch_kafka_users(default_objects: list[Manifest]) -> None:
    rules = by_kind(default_objects, "Role")["stockfeed-operator"]["rules"]
    assert not [rule for rule in rules if "kafkausers" in rule["resources"]]


# -- production ----------------------------------------------------------------------------------------------------


def test_production_kafka_has_only_authenticated_tls_listeners_and_acls(production_objects: list[Manifest]) -> None:
    spec = kafka_spec(production_objects)
    listeners = spec["kafka"]["listeners"]
    assert listeners, "no listener"
    for listener in listeners:
        assert listener["tls"] is True, listener
        assert listener["authentication"] == {"type": "scram-sha-512"}, listener
        assert listener["port"] != 9092
    assert [listener["port"] for listener in listeners] == [9093]
    assert spec["kafka"]["authorization"] == {"type": "simple"}
    assert spec["entityOperator"]["userOperator"]["resources"]["requests"]  # Strimzi makes the users' Secrets


def test_production_operator_makes_scram_users_over_tls(production_objects: list[Manifest]) -> None:
    env = operator_env(production_objects)
    assert env["OPERATOR_KAFKA_AUTHENTICATION"] == "scram-sha-512"
    assert env["OPERATOR_KAFKA_TLS"] == "true"
    assert env["OPERATOR_KAFKA_BOOTSTRAP_TEMPLATE"] == "{cluster}-kafka-bootstrap:9093"
    settings = load_settings({key: value for key, value in env.items() if isinstance(value, str)})
    assert settings.kafka_bootstrap("stockfeed") == "stockfeed-kafka-bootstrap:9093"
    assert settings.kafka_ca_secret("stockfeed") == "stockfeed-cluster-ca-cert"  # Strimzi's cluster CA Secret


def test_production_operator_may_apply_kafka_users_and_nothing_more(production_objects: list[Manifest]) -> None:
    rules = by_kind(production_objects, "Role")["stockfeed-operator"]["rules"]
    users = [rule for rule in rules if "kafkausers" in rule["resources"]]
    assert users == [
        {"apiGroups": ["kafka.strimzi.io"], "resources": ["kafkausers"], "verbs": ["get", "create", "patch"]}
    ]


def test_kafdrop_has_a_read_only_user_of_its_own(production_objects: list[Manifest]) -> None:
    user = by_kind(production_objects, "KafkaUser")["stockfeed-kafdrop-user"]
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "stockfeed"
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
    acls = user["spec"]["authorization"]["acls"]
    by_resource = {acl["resource"]["type"]: set(acl["operations"]) for acl in acls}
    assert by_resource == {"topic": KAFDROP_READ_ONLY, "group": {"Describe"}}  # never Read on a group: no commits
    assert all(acl.get("type", "allow") == "allow" for acl in acls)


def test_kafdrop_reads_its_password_from_the_users_secret_never_from_a_configmap(
    production_objects: list[Manifest],
) -> None:
    spec, env = kafdrop(production_objects)
    assert env["KAFKA_BROKERCONNECT"] == "stockfeed-kafka-bootstrap:9093"
    properties = by_kind(production_objects, "ConfigMap")["stockfeed-kafdrop"]["data"]["kafka.properties"]
    settings = dict(line.split("=", 1) for line in properties.splitlines() if line and not line.startswith("#"))
    assert settings["security.protocol"] == "SASL_SSL"
    assert settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert "password=" not in settings["sasl.jaas.config"]  # the whole login line comes from the Secret
    mounts = mounted_items(spec)
    # the properties file is the mounted ConfigMap's one key
    directory, _, filename = env["KAFKA_PROPERTIES_FILE"].rpartition("/")
    assert mounts[directory][0] == "stockfeed-kafdrop"
    assert list(by_kind(production_objects, "ConfigMap")["stockfeed-kafdrop"]["data"]) == [filename]
    # every ${user:dir:file} names a file of the KafkaUser's Secret (Strimzi writes sasl.jaas.config), mounted there
    provided = PROVIDED.findall(properties)
    assert provided == [("/etc/kafdrop/user", "sasl.jaas.config")]
    for path, key in provided:
        assert mounts[path] == ("stockfeed-kafdrop-user", [key])
    assert settings["config.providers.user.param.allowed.paths"] == "/etc/kafdrop/user"
    # the brokers are checked against Strimzi's cluster CA, as a PEM truststore
    assert settings["ssl.truststore.type"] == "PEM"
    ca_dir, _, ca_file = settings["ssl.truststore.location"].rpartition("/")
    assert mounts[ca_dir] == ("stockfeed-cluster-ca-cert", [ca_file])


def test_kafdrop_with_mutual_tls_uses_the_users_keystore(chart_helm: Helm) -> None:
    objects = render(chart_helm, production=False, sets=MTLS)
    user = by_kind(objects, "KafkaUser")["stockfeed-kafdrop-user"]
    assert user["spec"]["authentication"] == {"type": "tls"}
    properties = by_kind(objects, "ConfigMap")["stockfeed-kafdrop"]["data"]["kafka.properties"]
    assert "security.protocol=SSL\n" in properties
    assert "ssl.keystore.location=/etc/kafdrop/user/user.p12\n" in properties
    assert PROVIDED.findall(properties) == [("/etc/kafdrop/user", "user.password")]
    spec, _ = kafdrop(objects)
    assert mounted_items(spec)["/etc/kafdrop/user"] == ("stockfeed-kafdrop-user", ["user.p12", "user.password"])
    listener = kafka_spec(objects)["kafka"]["listeners"][0]
    assert (listener["port"], listener["tls"], listener["authentication"]) == (9093, True, {"type": "tls"})


def test_scram_without_tls_authenticates_on_the_plain_port(chart_helm: Helm) -> None:
    objects = render(
        chart_helm, production=False, sets={"kafka.authentication": "scram-sha-512", "pipeline.schedule": "cron"}
    )
    listener = kafka_spec(objects)["kafka"]["listeners"][0]
    assert (listener["port"], listener["tls"], listener["authentication"]) == (9092, False, {"type": "scram-sha-512"})
    properties = by_kind(objects, "ConfigMap")["stockfeed-kafdrop"]["data"]["kafka.properties"]
    assert "security.protocol=SASL_PLAINTEXT\n" in properties
    assert "ssl.truststore" not in properties
    spec, _ = kafdrop(objects)
    assert "kafka-ca" not in {volume["name"] for volume in spec["volumes"]}


def test_mutual_tls_needs_a_tls_listener(chart_helm: Helm) -> None:
    result = chart_helm.template(sets={"kafka.authentication": "tls"})
    assert result.returncode != 0
    assert "set kafka.tls to true too" in result.stderr


def test_an_unknown_authentication_is_refused_by_the_schema(chart_helm: Helm) -> None:
    result = chart_helm.template(sets={"kafka.authentication": "plain"})
    assert result.returncode != 0
    assert "/kafka/authentication" in result.stderr
    assert "'none', 'scram-sha-512', 'tls'" in result.stderr


@pytest.mark.parametrize(("production", "port"), [(False, "9092"), (True, "9093")])
def test_the_helm_test_checks_the_client_listeners_port(chart_helm: Helm, production: bool, port: str) -> None:
    pod = by_kind(render(chart_helm, production=production), "Pod")["stockfeed-test-connectivity"]
    check = next(container for container in pod["spec"]["containers"] if container["name"] == "kafka-bootstrap")
    assert check["command"][-2:] == ["stockfeed-kafka-bootstrap", port]
