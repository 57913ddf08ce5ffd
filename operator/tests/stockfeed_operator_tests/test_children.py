"""The children's manifests: names, owner references, labels, env wiring, config hash, suspend, images."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stockfeed_operator.children import config_hash, desired_children
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.envs import UnresolvableError, consumer_env, producer_env
from stockfeed_operator.feed import parse_feed
from stockfeed_operator.naming import CONFIG_HASH_ANNOTATION

from .conftest import feed_body, settings_with

pytestmark = pytest.mark.unit

FINNHUB = {"type": "finnhub", "apiKeySecretRef": {"name": "finnhub", "key": "token"}}


def children(settings: OperatorSettings, spec: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    built = desired_children(parse_feed(feed_body(spec)), settings)
    return {obj["kind"] + ":" + obj["metadata"]["name"]: obj for obj in built}


def pod_template(objs: dict[str, dict[str, Any]], role: str) -> dict[str, Any]:
    template: dict[str, Any] = objs[f"Deployment:tech-{role}"]["spec"]["template"]
    return template


def env_of(objs: dict[str, dict[str, Any]], role: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in pod_template(objs, role)["spec"]["containers"][0]["env"]}


def test_four_children_with_deterministic_names_in_apply_order(settings: OperatorSettings) -> None:
    built = desired_children(parse_feed(feed_body()), settings)
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in built] == [
        ("ConfigMap", "tech-config"),
        ("KafkaTopic", "tech-topic"),
        ("Deployment", "tech-producer"),
        ("Deployment", "tech-consumer"),
    ]
    assert all(obj["metadata"]["namespace"] == "markets" for obj in built)


def test_every_child_is_controlled_by_its_feed(settings: OperatorSettings) -> None:
    for obj in children(settings).values():
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "stockfeed.dev/v1alpha1",
                "kind": "StockFeed",
                "name": "tech",
                "uid": "0b1f0c1e-1111-2222-3333-444455556666",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "stockfeed-operator"
        assert labels["stockfeed.dev/feed"] == "tech"


def test_the_feeds_own_labels_are_copied_to_the_children(settings: OperatorSettings) -> None:
    built = desired_children(parse_feed(feed_body(labels={"team": "markets"})), settings)
    assert all(obj["metadata"]["labels"]["team"] == "markets" for obj in built)
    # ... but never into a Deployment selector, which cannot change later
    selectors = [obj["spec"]["selector"]["matchLabels"] for obj in built if obj["kind"] == "Deployment"]
    assert all("team" not in selector for selector in selectors)


def test_kafka_topic_follows_the_spec_and_names_its_strimzi_cluster(settings: OperatorSettings) -> None:
    spec = {"symbols": ["AAPL"], "kafka": {"cluster": "main", "topic": "tech-quotes", "partitions": 6, "replicas": 3}}
    topic = children(settings, spec)["KafkaTopic:tech-topic"]
    assert topic["apiVersion"] == "kafka.strimzi.io/v1"
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "main"
    assert topic["spec"] == {
        "topicName": "tech-quotes",
        "partitions": 6,
        "replicas": 3,
        "config": {"message.timestamp.type": "LogAppendTime"},  # the broker's clock names the bronze hour
    }


def test_kafka_cluster_defaults_to_the_operator_setting() -> None:
    objs = children(settings_with(kafka_cluster="platform", kafka_bootstrap_template="{cluster}-kafka-bootstrap:9093"))
    assert objs["KafkaTopic:tech-topic"]["metadata"]["labels"]["strimzi.io/cluster"] == "platform"
    data = objs["ConfigMap:tech-config"]["data"]
    assert data["PRODUCER_KAFKA_BOOTSTRAP"] == data["CONSUMER_KAFKA_BOOTSTRAP"] == "platform-kafka-bootstrap:9093"


def test_configmap_holds_the_plain_settings_of_both_components(settings: OperatorSettings) -> None:
    data = children(settings)["ConfigMap:tech-config"]["data"]
    assert data["PRODUCER_SYMBOLS"] == "AAPL,MSFT"
    assert data["PRODUCER_MODE"] == "quotes"
    assert data["PRODUCER_FEED"] == "tech"
    assert data["PRODUCER_QUOTES_TOPIC"] == data["CONSUMER_TOPICS"] == "stock-quotes"
    assert data["PRODUCER_API_URL"] == "http://stockfeed-simulator:8080/api/v1"
    assert data["CONSUMER_BUCKET"] == "bronze-transactions"
    assert data["CONSUMER_PREFIX"] == "bronze"
    assert data["CONSUMER_GROUP_ID"] == "stockfeed.markets.tech"
    assert data["CONSUMER_EXPECTED_SCHEMA"] == "quote.v1"
    assert data["CONSUMER_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert all(isinstance(value, str) for value in data.values())


def test_secrets_are_referenced_never_copied(settings: OperatorSettings) -> None:
    objs = children(settings, {"symbols": ["AAPL"], "source": FINNHUB})
    assert not any("KEY" in name and "KEY_" not in name for name in objs["ConfigMap:tech-config"]["data"])
    assert "PRODUCER_FINNHUB_API_KEY" not in objs["ConfigMap:tech-config"]["data"]
    producer = env_of(objs, "producer")
    assert producer["PRODUCER_FINNHUB_API_KEY"] == {
        "name": "PRODUCER_FINNHUB_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "finnhub", "key": "token"}},
    }
    consumer = env_of(objs, "consumer")
    assert consumer["CONSUMER_S3_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "minio-credentials",
        "key": "access-key-id",
    }
    assert consumer["CONSUMER_S3_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "secret-access-key"


def test_plain_env_comes_from_the_configmap_only_for_its_own_component(settings: OperatorSettings) -> None:
    objs = children(settings)
    producer, consumer = env_of(objs, "producer"), env_of(objs, "consumer")
    assert all(name.startswith("PRODUCER_") for name in producer)
    assert all(name.startswith("CONSUMER_") for name in consumer)
    assert producer["PRODUCER_SYMBOLS"]["valueFrom"] == {
        "configMapKeyRef": {"name": "tech-config", "key": "PRODUCER_SYMBOLS"}
    }
    data = objs["ConfigMap:tech-config"]["data"]
    referenced = {
        item["valueFrom"]["configMapKeyRef"]["key"]
        for env in (producer, consumer)
        for item in env.values()
        if "configMapKeyRef" in item["valueFrom"]
    }
    assert referenced == set(data)


def test_images_and_pull_policy_come_from_the_operator_settings() -> None:
    objs = children(settings_with(producer_image="p:2", consumer_image="c:3", image_pull_policy="Always"))
    producer = pod_template(objs, "producer")["spec"]["containers"][0]
    consumer = pod_template(objs, "consumer")["spec"]["containers"][0]
    assert (producer["image"], producer["imagePullPolicy"]) == ("p:2", "Always")
    assert (consumer["image"], consumer["imagePullPolicy"]) == ("c:3", "Always")


def test_pods_go_where_the_operator_settings_place_them(settings: OperatorSettings) -> None:
    unplaced = children(settings)
    assert all("nodeSelector" not in pod_template(unplaced, role)["spec"] for role in ("producer", "consumer"))
    placed = settings_with(
        pod_node_selector='{"pool": "feeds"}',
        pod_tolerations='[{"key": "pool", "operator": "Exists", "effect": "NoSchedule"}]',
    )
    for role in ("producer", "consumer"):
        spec = pod_template(children(placed), role)["spec"]
        assert spec["nodeSelector"] == {"pool": "feeds"}
        assert spec["tolerations"] == [{"key": "pool", "operator": "Exists", "effect": "NoSchedule"}]


def test_a_symbol_change_changes_the_producer_template_so_it_rolls(settings: OperatorSettings) -> None:
    before = pod_template(children(settings), "producer")
    after = pod_template(children(settings, {"symbols": ["AAPL", "MSFT", "NVDA"]}), "producer")
    assert (
        before["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
        != (after["metadata"]["annotations"][CONFIG_HASH_ANNOTATION])
    )
    # the consumer's configuration did not change, so it does not roll
    assert pod_template(children(settings), "consumer") == pod_template(
        children(settings, {"symbols": ["AAPL", "MSFT", "NVDA"]}), "consumer"
    )


def test_the_same_spec_builds_the_same_objects(settings: OperatorSettings) -> None:
    first = json.dumps(desired_children(parse_feed(feed_body()), settings), sort_keys=True)
    second = json.dumps(desired_children(parse_feed(feed_body()), settings), sort_keys=True)
    assert first == second


def test_suspend_scales_both_to_zero_without_rolling(settings: OperatorSettings) -> None:
    running, suspended = children(settings), children(settings, {"symbols": ["AAPL", "MSFT"], "suspend": True})
    for role in ("producer", "consumer"):
        assert running[f"Deployment:tech-{role}"]["spec"]["replicas"] == 1
        assert suspended[f"Deployment:tech-{role}"]["spec"]["replicas"] == 0
        assert pod_template(running, role) == pod_template(suspended, role)


def test_replicas_and_resources_follow_the_spec(settings: OperatorSettings) -> None:
    spec = {
        "symbols": ["AAPL"],
        "kafka": {"partitions": 4},
        "consumer": {"replicas": 3, "resources": {"requests": {"cpu": "200m"}, "limits": {"cpu": 1}}},
    }
    objs = children(settings, spec)
    consumer = objs["Deployment:tech-consumer"]
    assert consumer["spec"]["replicas"] == 3
    assert consumer["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "200m"},
        "limits": {"cpu": "1"},
    }


def test_the_producer_never_overlaps_itself(settings: OperatorSettings) -> None:
    objs = children(settings)
    assert objs["Deployment:tech-producer"]["spec"]["strategy"] == {"type": "Recreate"}
    assert objs["Deployment:tech-consumer"]["spec"]["strategy"] == {"type": "RollingUpdate"}


def test_pods_run_locked_down(settings: OperatorSettings) -> None:
    for role in ("producer", "consumer"):
        spec = pod_template(children(settings), role)["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_trades_mode_uses_the_trades_topic_variable_and_contract(settings: OperatorSettings) -> None:
    data = children(settings, {"symbols": ["AAPL"], "mode": "trades", "kafka": {"topic": "trades"}})[
        "ConfigMap:tech-config"
    ]["data"]
    assert data["PRODUCER_TRADES_TOPIC"] == "trades"
    assert "PRODUCER_QUOTES_TOPIC" not in data
    assert "PRODUCER_PLAN_CALLS_PER_MINUTE" not in data
    assert data["CONSUMER_EXPECTED_SCHEMA"] == "trade.v1"


def test_poll_interval_sets_the_quote_budget_under_the_plan(settings: OperatorSettings) -> None:
    def budget(spec: dict[str, Any]) -> str:
        return str(children(settings, spec)["ConfigMap:tech-config"]["data"]["PRODUCER_PLAN_CALLS_PER_MINUTE"])

    assert budget({"symbols": ["AAPL", "MSFT"], "pollInterval": "10s"}) == "12"  # 2 symbols every 10 s
    assert budget({"symbols": [f"S{i}" for i in range(28)], "pollInterval": "6s"}) == "60"  # the original: capped
    assert budget({"symbols": ["AAPL"], "pollInterval": "1s", "source": {"callsPerMinute": 30}}) == "30"


def test_simulator_source_needs_a_url_from_spec_or_operator() -> None:
    bare = settings_with(simulator_url="")
    with pytest.raises(UnresolvableError, match="OPERATOR_SIMULATOR_URL"):
        desired_children(parse_feed(feed_body()), bare)
    spec = {"symbols": ["AAPL"], "source": {"url": "http://sim:8080/api/v1"}}
    data = children(bare, spec)["ConfigMap:tech-config"]["data"]
    assert data["PRODUCER_API_URL"] == "http://sim:8080/api/v1"


def test_config_hash_covers_secret_references(settings: OperatorSettings) -> None:
    feed = parse_feed(feed_body({"symbols": ["AAPL"], "source": FINNHUB}))
    other = parse_feed(
        feed_body({"symbols": ["AAPL"], "source": {"type": "finnhub", "apiKeySecretRef": {"name": "other"}}})
    )
    assert config_hash(producer_env(feed, settings)) != config_hash(producer_env(other, settings))
    assert config_hash(consumer_env(feed, settings)) == config_hash(consumer_env(other, settings))
