"""Kafka security per feed component: the KafkaUsers, their ACLs, and how the pods get the password and the CA."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest

from stockfeed_contracts import envs
from stockfeed_operator.children import config_hash, desired_children
from stockfeed_operator.config import ConfigError, OperatorSettings
from stockfeed_operator.envs import ComponentEnv, consumer_env, producer_env
from stockfeed_operator.feed import InvalidSpecError, parse_feed
from stockfeed_operator.kafka_users import kafka_user_acls
from stockfeed_operator.kube import ApiError, Kube
from stockfeed_operator.naming import CONFIG_HASH_ANNOTATION
from stockfeed_operator.reconcile import reconcile
from stockfeed_operator.state import OperatorState

from .conftest import feed_body, settings_with

pytestmark = pytest.mark.unit

SCRAM_TLS = {"kafka_authentication": "scram-sha-512", "kafka_tls": "true"}
MODES: dict[str, dict[str, str]] = {
    "plaintext": {},
    "tls-only": {"kafka_tls": "true"},
    "scram": {"kafka_authentication": "scram-sha-512"},
    "scram-tls": SCRAM_TLS,
    "mtls": {"kafka_authentication": "tls", "kafka_tls": "true"},
}
PASSWORD_VARIABLES = {"PRODUCER_KAFKA_SASL_PASSWORD", "CONSUMER_KAFKA_SASL_PASSWORD"}


def built(settings: OperatorSettings, spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, dict[str, Any]]:
    objs = desired_children(parse_feed(feed_body(spec, **metadata)), settings)
    return {obj["kind"] + ":" + obj["metadata"]["name"]: obj for obj in objs}


def pod(objs: Mapping[str, dict[str, Any]], role: str) -> dict[str, Any]:
    spec: dict[str, Any] = objs[f"Deployment:tech-{role}"]["spec"]["template"]["spec"]
    return spec


def env_sources(objs: Mapping[str, dict[str, Any]], role: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item["valueFrom"] for item in pod(objs, role)["containers"][0]["env"]}


def pod_hash(objs: Mapping[str, dict[str, Any]], role: str) -> str:
    annotations = objs[f"Deployment:tech-{role}"]["spec"]["template"]["metadata"]["annotations"]
    return str(annotations[CONFIG_HASH_ANNOTATION])


# -- ACLs ------------------------------------------------------------------------------------------------------------


def test_a_producer_may_write_and_describe_its_topic_and_nothing_else() -> None:
    assert kafka_user_acls("producer", "stock-quotes", None) == [
        {
            "resource": {"type": "topic", "name": "stock-quotes", "patternType": "literal"},
            "operations": ["Write", "Describe"],
        }
    ]


def test_a_consumer_may_read_its_topic_and_use_only_its_own_group() -> None:
    assert kafka_user_acls("consumer", "stock-quotes", "stockfeed.markets.tech") == [
        {
            "resource": {"type": "topic", "name": "stock-quotes", "patternType": "literal"},
            "operations": ["Read", "Describe"],
        },
        {
            "resource": {"type": "group", "name": "stockfeed.markets.tech", "patternType": "literal"},
            "operations": ["Read"],
        },
    ]


def test_acls_refuse_an_unknown_role_and_a_consumer_without_a_group() -> None:
    with pytest.raises(ValueError, match="unknown role 'loader'"):
        kafka_user_acls("loader", "stock-quotes", None)
    with pytest.raises(ValueError, match="consumer group"):
        kafka_user_acls("consumer", "stock-quotes", None)


# -- the KafkaUsers --------------------------------------------------------------------------------------------------


def test_no_kafka_users_and_no_security_settings_without_authentication(settings: OperatorSettings) -> None:
    objs = built(settings)
    assert [key for key in objs if key.startswith("KafkaUser:")] == []
    assert not [name for name in objs["ConfigMap:tech-config"]["data"] if "_KAFKA_S" in name]
    for role in ("producer", "consumer"):
        assert [volume["name"] for volume in pod(objs, role)["volumes"]] == ["tmp"]


def test_authentication_adds_one_user_per_component_applied_before_the_deployments() -> None:
    objs = desired_children(parse_feed(feed_body()), settings_with(**SCRAM_TLS))
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in objs] == [
        ("ConfigMap", "tech-config"),
        ("KafkaTopic", "tech-topic"),
        ("KafkaUser", "tech-producer-user"),
        ("KafkaUser", "tech-consumer-user"),
        ("Deployment", "tech-producer"),
        ("Deployment", "tech-consumer"),
    ]


def test_each_user_is_owned_by_the_feed_labelled_for_its_cluster_and_allowed_its_own_acls() -> None:
    spec = {"symbols": ["AAPL"], "kafka": {"cluster": "main", "topic": "tech-quotes"}}
    objs = built(settings_with(**SCRAM_TLS), spec)
    for role, group in (("producer", None), ("consumer", "stockfeed.markets.tech")):
        user = objs[f"KafkaUser:tech-{role}-user"]
        assert user["apiVersion"] == "kafka.strimzi.io/v1"
        labels = user["metadata"]["labels"]
        assert labels["strimzi.io/cluster"] == "main"
        assert labels["app.kubernetes.io/managed-by"] == "stockfeed-operator"
        assert labels["app.kubernetes.io/component"] == f"{role}-user"
        assert [(ref["kind"], ref["name"], ref["controller"]) for ref in user["metadata"]["ownerReferences"]] == [
            ("StockFeed", "tech", True)
        ]
        assert user["spec"] == {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": kafka_user_acls(role, "tech-quotes", group)},
        }


def test_mutual_tls_users_authenticate_by_certificate() -> None:
    objs = built(settings_with(**MODES["mtls"]))
    assert objs["KafkaUser:tech-producer-user"]["spec"]["authentication"] == {"type": "tls"}


def test_a_tls_user_name_too_long_for_a_certificate_is_a_spec_problem() -> None:
    name = "f" * 60  # <feed>-consumer-user: 74 characters, over the 64 of a certificate's common name
    with pytest.raises(InvalidSpecError) as caught:
        desired_children(parse_feed(feed_body(name=name)), settings_with(**MODES["mtls"]))
    assert caught.value.reason == "KafkaUserNameTooLong"
    assert f"{name}-producer-user" in caught.value.message
    # SCRAM user names have no such limit
    desired_children(parse_feed(feed_body(name=name)), settings_with(**SCRAM_TLS))


# -- what the pods get -----------------------------------------------------------------------------------------------


def test_scram_over_tls_gives_the_pods_their_user_the_password_by_reference_and_the_cluster_ca() -> None:
    objs = built(settings_with(**SCRAM_TLS))
    data = objs["ConfigMap:tech-config"]["data"]
    for prefix, role in (("PRODUCER", "producer"), ("CONSUMER", "consumer")):
        assert data[f"{prefix}_KAFKA_BOOTSTRAP"] == "stockfeed-kafka-bootstrap:9093"  # the TLS listener
        assert data[f"{prefix}_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert data[f"{prefix}_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert data[f"{prefix}_KAFKA_SASL_USERNAME"] == f"tech-{role}-user"
        assert data[f"{prefix}_KAFKA_SSL_CA_FILE"] == "/etc/stockfeed/kafka-ca/ca.crt"
        sources = env_sources(objs, role)
        assert sources[f"{prefix}_KAFKA_SASL_PASSWORD"] == {
            "secretKeyRef": {"name": f"tech-{role}-user", "key": "password"}
        }
        assert sources[f"{prefix}_KAFKA_SECURITY_PROTOCOL"] == {
            "configMapKeyRef": {"name": "tech-config", "key": f"{prefix}_KAFKA_SECURITY_PROTOCOL"}
        }
        spec = pod(objs, role)
        ca = {"secretName": "stockfeed-cluster-ca-cert", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        assert {"name": "kafka-ca", "secret": ca} in spec["volumes"]
        mounts = spec["containers"][0]["volumeMounts"]
        assert {"name": "kafka-ca", "mountPath": "/etc/stockfeed/kafka-ca", "readOnly": True} in mounts
        assert "kafka-user" not in {volume["name"] for volume in spec["volumes"]}  # no certificate with SCRAM


def test_the_password_is_never_in_the_configmap_or_a_plain_value() -> None:
    for mode in ("scram", "scram-tls"):
        objs = built(settings_with(**MODES[mode]))
        data = objs["ConfigMap:tech-config"]["data"]
        assert not [name for name in data if "PASSWORD" in name], mode
        for role in ("producer", "consumer"):
            passwords = [item for item in pod(objs, role)["containers"][0]["env"] if item["name"] in PASSWORD_VARIABLES]
            assert [item["name"] for item in passwords] == [f"{role.upper()}_KAFKA_SASL_PASSWORD"], mode
            assert set(passwords[0]) == {"name", "valueFrom"}  # no `value`
            assert set(passwords[0]["valueFrom"]) == {"secretKeyRef"}


def test_scram_without_tls_is_sasl_plaintext_on_the_plain_listener() -> None:
    objs = built(settings_with(**MODES["scram"]))
    data = objs["ConfigMap:tech-config"]["data"]
    assert data["PRODUCER_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert data["PRODUCER_KAFKA_BOOTSTRAP"] == "stockfeed-kafka-bootstrap:9092"
    assert "PRODUCER_KAFKA_SSL_CA_FILE" not in data
    assert [volume["name"] for volume in pod(objs, "producer")["volumes"]] == ["tmp"]


def test_mutual_tls_mounts_the_users_certificate_and_key_and_needs_no_password() -> None:
    objs = built(settings_with(**MODES["mtls"]))
    data = objs["ConfigMap:tech-config"]["data"]
    assert data["CONSUMER_KAFKA_SECURITY_PROTOCOL"] == "SSL"
    assert data["CONSUMER_KAFKA_SSL_CERT_FILE"] == "/etc/stockfeed/kafka-user/user.crt"
    assert data["CONSUMER_KAFKA_SSL_KEY_FILE"] == "/etc/stockfeed/kafka-user/user.key"
    assert "CONSUMER_KAFKA_SASL_USERNAME" not in data
    assert not PASSWORD_VARIABLES & set(env_sources(objs, "consumer"))
    spec = pod(objs, "consumer")
    user = next(volume for volume in spec["volumes"] if volume["name"] == "kafka-user")
    assert user["secret"] == {
        "secretName": "tech-consumer-user",
        "items": [{"key": "user.crt", "path": "user.crt"}, {"key": "user.key", "path": "user.key"}],
    }
    assert {"name": "kafka-user", "mountPath": "/etc/stockfeed/kafka-user", "readOnly": True} in spec["containers"][0][
        "volumeMounts"
    ]


def test_tls_without_authentication_checks_the_broker_but_makes_no_users() -> None:
    objs = built(settings_with(**MODES["tls-only"]))
    assert not [key for key in objs if key.startswith("KafkaUser:")]
    data = objs["ConfigMap:tech-config"]["data"]
    assert data["PRODUCER_KAFKA_SECURITY_PROTOCOL"] == "SSL"
    assert data["PRODUCER_KAFKA_SSL_CA_FILE"] == "/etc/stockfeed/kafka-ca/ca.crt"
    assert "PRODUCER_KAFKA_SASL_USERNAME" not in data


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_security_variable_is_the_contracts_name_and_every_file_is_mounted(mode: str) -> None:
    settings = settings_with(**MODES[mode])
    feed = parse_feed(feed_body())
    for component, env in (
        (envs.PRODUCER, producer_env(feed, settings)),
        (envs.CONSUMER, consumer_env(feed, settings)),
    ):
        names = set(env.plain) | {item["name"] for item in env.secret_refs}
        security = {name for name in names if "_KAFKA_" in name}
        assert security <= {envs.variable(component, suffix) for suffix in envs.SHARED_KAFKA}
        mounted = [mount["mountPath"] for mount in env.mounts]
        files = [value for name, value in env.plain.items() if name.endswith("_FILE")]
        assert all(any(path.startswith(f"{root}/") for root in mounted) for path in files), (files, mounted)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_producer_and_consumer_read_every_variable_they_are_given(mode: str) -> None:
    from stockfeed_consumer.config import ConsumerSettings
    from stockfeed_producer.config import ProducerSettings

    settings, feed = settings_with(**MODES[mode]), parse_feed(feed_body())
    for prefix, fields, env in (
        ("PRODUCER", ProducerSettings.model_fields, producer_env(feed, settings)),
        ("CONSUMER", ConsumerSettings.model_fields, consumer_env(feed, settings)),
    ):
        names = set(env.plain) | {item["name"] for item in env.secret_refs}
        known = {f"{prefix}_{name.upper()}" for name in fields}
        assert names <= known, names - known


def test_the_ca_secret_follows_the_template_and_the_feeds_cluster() -> None:
    spec = {"symbols": ["AAPL"], "kafka": {"cluster": "main"}}
    objs = built(settings_with(**SCRAM_TLS, kafka_ca_secret_template="{cluster}-ca"), spec)
    ca = next(volume for volume in pod(objs, "producer")["volumes"] if volume["name"] == "kafka-ca")
    assert ca["secret"]["secretName"] == "main-ca"


# -- rolling ---------------------------------------------------------------------------------------------------------


def test_every_change_of_kafka_security_rolls_the_pods() -> None:
    hashes = {mode: pod_hash(built(settings_with(**overrides)), "consumer") for mode, overrides in MODES.items()}
    assert len(set(hashes.values())) == len(MODES), hashes
    # the CA Secret's name is in no variable (the path stays), yet changing it rolls the pods too
    other_ca = built(settings_with(**SCRAM_TLS, kafka_ca_secret_template="{cluster}-other-ca"))
    assert pod_hash(other_ca, "consumer") != hashes["scram-tls"]


def test_without_kafka_security_the_hash_is_computed_as_before() -> None:
    """An operator upgrade with authentication none must not roll every pod: same material, same hash."""
    env = ComponentEnv({"CONSUMER_TOPICS": "stock-quotes"}, [])
    legacy = json.dumps({"plain": env.plain, "secrets": env.secret_refs}, sort_keys=True)
    assert config_hash(env) == hashlib.sha256(legacy.encode()).hexdigest()[:16]


# -- settings --------------------------------------------------------------------------------------------------------


def test_mutual_tls_without_tls_is_refused_naming_the_variable() -> None:
    with pytest.raises(
        ConfigError, match=r"OPERATOR_KAFKA_TLS .*must be true when OPERATOR_KAFKA_AUTHENTICATION is tls"
    ):
        settings_with(kafka_authentication="tls")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("kafka_authentication", "plain"), ("kafka_ca_secret_template", "{namespace}-ca"), ("kafka_tls", "maybe")],
)
def test_a_bad_security_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"OPERATOR_{variable.upper()}"):
        settings_with(**{variable: value})


def test_tls_moves_the_default_bootstrap_to_the_tls_listener_and_an_explicit_template_wins() -> None:
    assert settings_with(kafka_tls="true").kafka_bootstrap("main") == "main-kafka-bootstrap:9093"
    assert settings_with().kafka_bootstrap("main") == "main-kafka-bootstrap:9092"
    explicit = settings_with(kafka_tls="true", kafka_bootstrap_template="kafka.{cluster}.example:443")
    assert explicit.kafka_bootstrap("main") == "kafka.main.example:443"


# -- the apply path --------------------------------------------------------------------------------------------------


class FakeKube(Kube):
    """Answers like an API server: `existing` objects by name, a 404 on apply for kinds whose CRD is missing."""

    def __init__(self, existing: Mapping[str, dict[str, Any]] | None = None, missing: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.existing, self.missing_kinds = dict(existing or {}), missing
        self.applied: list[tuple[str, str]] = []

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.existing.get(name)

    async def list_items(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        return []

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        if obj["kind"] in self.missing_kinds:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.applied.append((obj["kind"], obj["metadata"]["name"]))
        return dict(obj)


def test_a_missing_kafkauser_crd_is_reported_and_retried() -> None:
    kube = FakeKube(missing=("KafkaUser",))
    state = OperatorState(settings=settings_with(**SCRAM_TLS), kube=kube)
    outcome = asyncio.run(reconcile(state, feed_body(), []))
    assert outcome.problem is not None
    assert outcome.problem.reason == "KafkaUserCRDMissing"
    assert "KafkaUser tech-producer-user" in outcome.problem.message
    assert outcome.retry


def test_a_foreign_kafkauser_with_a_childs_name_is_a_conflict_and_nothing_is_applied() -> None:
    foreign = {"kind": "KafkaUser", "metadata": {"name": "tech-consumer-user", "labels": {"owner": "someone-else"}}}
    kube = FakeKube(existing={"tech-consumer-user": foreign})
    state = OperatorState(settings=settings_with(**SCRAM_TLS), kube=kube)
    outcome = asyncio.run(reconcile(state, feed_body(), []))
    assert outcome.problem is not None
    assert outcome.problem.reason == "ChildConflict"
    assert "KafkaUser tech-consumer-user already exists" in outcome.problem.message
    assert kube.applied == []
