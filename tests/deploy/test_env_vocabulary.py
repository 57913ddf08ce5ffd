"""One vocabulary for shared settings: the operator, `make demo` and the chart render the components' environment
with the names of stockfeed_contracts.envs, and every name they render is one the component reads.

The operator and the demo call stockfeed_contracts.envs; the chart is YAML, so its rendering is compared here.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest

from stockfeed_consumer.config import ConsumerSettings
from stockfeed_contracts import envs, lake
from stockfeed_loader.config import LoaderSettings
from stockfeed_loader.config import env_name as loader_env_name
from stockfeed_operator.config import OperatorSettings, load_settings
from stockfeed_operator.envs import consumer_env, producer_env
from stockfeed_operator.feed import parse_feed
from stockfeed_producer.config import ProducerSettings
from tests.deploy.chart import REPO, Helm, by_kind, containers, env_of, parse

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

STACK = {
    "DEVSTACK_KAFKA_BOOTSTRAP": "127.0.0.1:19092", "DEVSTACK_S3_ENDPOINT": "http://127.0.0.1:19000",
    "DEVSTACK_S3_ACCESS_KEY": "demo-key", "DEVSTACK_S3_SECRET_KEY": "demo-secret",
    "DEVSTACK_PG_DSN": "postgresql://u:p@127.0.0.1:15432/stockfeed",
}  # fmt: skip
SAMPLE = {"s3_endpoint_url": "http://s3:9000", "s3_region": "us-east-1"}


def names_read_by(settings: type[Any], prefix: str) -> set[str]:
    """Every variable a settings class reads: `<PREFIX><FIELD>` and its aliases (deprecated names included)."""
    names = set()
    for field, info in settings.model_fields.items():
        names.add(f"{prefix}{field.upper()}")
        alias = info.validation_alias
        names.update(str(choice).upper() for choice in getattr(alias, "choices", [alias] if alias else []))
    return names


def shared_names(component: str) -> set[str]:
    return kafka_names(component) | s3_names(component)


def kafka_names(component: str) -> set[str]:
    return {envs.variable(component, suffix) for suffix in envs.SHARED_KAFKA}


def s3_names(component: str) -> set[str]:
    return {envs.variable(component, suffix) for suffix in envs.SHARED_S3}


def test_every_service_reads_the_shared_names() -> None:
    assert shared_names(envs.CONSUMER) <= names_read_by(ConsumerSettings, "CONSUMER_")
    loader = names_read_by(LoaderSettings, "LOADER_")
    assert s3_names(envs.LOADER) <= loader
    assert not kafka_names(envs.LOADER) & loader  # the loader reads the lake, never Kafka
    assert kafka_names(envs.PRODUCER) <= names_read_by(ProducerSettings, "PRODUCER_")
    assert "OPERATOR_S3_ENDPOINT_URL" in names_read_by(OperatorSettings, "OPERATOR_")
    for old, new in envs.DEPRECATED.items():  # old names keep working
        component = new.split("_", 1)[0]
        reader = {"CONSUMER": ConsumerSettings, "OPERATOR": OperatorSettings}[component]
        assert {old, new} <= names_read_by(reader, f"{component}_")


def test_the_operator_renders_the_contracts_environment() -> None:
    settings = load_settings({
        "OPERATOR_PRODUCER_IMAGE": "p:1", "OPERATOR_CONSUMER_IMAGE": "c:1", "OPERATOR_S3_ENDPOINT_URL": "http://s3:9000",
        "OPERATOR_S3_CREDENTIALS_SECRET": "s3", "OPERATOR_SIMULATOR_URL": "http://sim/api/v1",
    })  # fmt: skip
    body = {"apiVersion": "stockfeed.dev/v1alpha1", "kind": "StockFeed",
            "metadata": {"name": "tech", "namespace": "markets", "uid": "u"},
            "spec": {"symbols": ["AAPL"], "kafka": {"topic": "tech-quotes"}}}  # fmt: skip
    feed = parse_feed(body)
    consumer = consumer_env(feed, settings)
    expected = envs.consumer_env(kafka_bootstrap="b", topics=["t"], group_id="g", expected_schema="quote.v1",
                                 metrics_host="h", metrics_port=1, **SAMPLE)  # fmt: skip
    assert set(consumer.plain) == set(expected)
    assert {ref["name"] for ref in consumer.secret_refs} == set(envs.s3_credential_variables(envs.CONSUMER))
    assert consumer.plain["CONSUMER_TOPICS"] == "tech-quotes"
    producer = producer_env(feed, settings)
    expected = envs.producer_env(mode="quotes", feed="f", symbols=["A"], kafka_bootstrap="b", topic="t",
                                 source="simulator", api_url="u", plan_calls_per_minute=1, metrics_host="h",
                                 metrics_port=1)  # fmt: skip
    assert set(producer.plain) == set(expected)
    assert set(producer.plain) <= names_read_by(ProducerSettings, "PRODUCER_")
    assert set(consumer.plain) <= names_read_by(ConsumerSettings, "CONSUMER_")


def test_the_demo_renders_the_contracts_environment(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tools" / "demo"))
    try:
        import demo
    finally:
        sys.path.remove(str(REPO / "tools" / "demo"))
    components, _ = demo.plan(STACK, tmp_path, demo.demo_feeds("AAPL,MSFT", "AMD"))
    env = {component.name: component.env for component in components}
    consumer = {k for k in env["consumer"] if k.startswith("CONSUMER_")}
    loader = {k for k in env["airflow"] if k.startswith("LOADER_")}
    producers = [name for name in env if name.startswith("producer")]
    assert producers
    for name in producers:
        produced = {k for k in env[name] if k.startswith("PRODUCER_")}
        assert "PRODUCER_KAFKA_BOOTSTRAP" in produced
        assert produced <= names_read_by(ProducerSettings, "PRODUCER_")
    # the demo's Kafka is PLAINTEXT (the default): only the bootstrap of the Kafka names is rendered
    consumer_shared = s3_names(envs.CONSUMER) | {envs.variable(envs.CONSUMER, envs.KAFKA_BOOTSTRAP)}
    assert consumer_shared <= consumer <= names_read_by(ConsumerSettings, "CONSUMER_")
    assert s3_names(envs.LOADER) <= loader <= names_read_by(LoaderSettings, "LOADER_")
    assert "LOADER_PREFIXES" not in loader  # the loader discovers every topic the producers write


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}


def test_the_chart_renders_the_loader_and_operator_with_the_same_names(chart_helm: Helm) -> None:
    result = chart_helm.template()
    assert result.returncode == 0, result.stderr
    objects = parse(result.stdout)
    data = by_kind(objects, "ConfigMap")["stockfeed-pipeline"]["data"]
    secret = decoded(by_kind(objects, "Secret")["stockfeed-loader"])
    rendered = {k for k in {**data, **secret} if k.startswith("LOADER_")}
    contract = set(envs.loader_env(duckdb_path="/data/x", **SAMPLE)) | set(envs.s3_credential_variables(envs.LOADER))
    assert contract <= rendered, contract - rendered
    assert rendered <= {loader_env_name(field) for field in LoaderSettings.model_fields}
    # no allow-list by default: a new StockFeed's topic is loaded with no chart change
    assert "LOADER_PREFIXES" not in data
    assert "LOADER_TOPICS" not in data
    assert data["LOADER_PREFIX"] == lake.DEFAULT_PREFIX
    assert data["LOADER_BUCKET"] == lake.DEFAULT_BUCKET
    operator = env_of(next(containers(by_kind(objects, "Deployment")["stockfeed-operator"])))
    assert {k for k in operator if k.startswith("OPERATOR_")} <= names_read_by(OperatorSettings, "OPERATOR_")
    assert "OPERATOR_S3_ENDPOINT_URL" in operator
