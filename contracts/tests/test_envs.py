"""The shared settings vocabulary and the component environments rendered from plain values."""

from __future__ import annotations

import pytest

from stockfeed_contracts import envs

pytestmark = pytest.mark.unit


def test_shared_names_are_the_component_prefix_and_one_suffix() -> None:
    assert envs.variable(envs.CONSUMER, envs.KAFKA_BOOTSTRAP) == "CONSUMER_KAFKA_BOOTSTRAP"
    assert envs.s3_credential_variables(envs.LOADER) == ("LOADER_S3_ACCESS_KEY_ID", "LOADER_S3_SECRET_ACCESS_KEY")
    assert envs.deprecated_names("CONSUMER_KAFKA_BOOTSTRAP") == ("CONSUMER_BOOTSTRAP_SERVERS",)
    assert envs.deprecated_names("LOADER_S3_REGION") == ()


def test_consumer_env() -> None:
    rendered = envs.consumer_env(kafka_bootstrap="k:9092", topics=["a", "b"], s3_endpoint_url=None, s3_region="r")
    assert rendered == {
        "CONSUMER_KAFKA_BOOTSTRAP": "k:9092", "CONSUMER_TOPICS": "a,b", "CONSUMER_BUCKET": "bronze-transactions",
        "CONSUMER_PREFIX": "bronze/", "CONSUMER_S3_REGION": "r",
    }  # fmt: skip


def test_producer_env_names_the_topic_by_mode() -> None:
    quotes = envs.producer_env(mode="quotes", feed="f", symbols=["A", "B"], kafka_bootstrap="k", topic="q")
    trades = envs.producer_env(mode="trades", feed="f", symbols=["A"], kafka_bootstrap="k", topic="t", metrics_port=1)
    assert (quotes["PRODUCER_QUOTES_TOPIC"], quotes["PRODUCER_SYMBOLS"]) == ("q", "A,B")
    assert (trades["PRODUCER_TRADES_TOPIC"], trades["PRODUCER_METRICS_PORT"]) == ("t", "1")
    assert "PRODUCER_TRADES_TOPIC" not in quotes


def test_loader_env_discovers_unless_given_topics() -> None:
    every = envs.loader_env(s3_endpoint_url="http://s3", s3_region="r")
    assert every == {"LOADER_BUCKET": "bronze-transactions", "LOADER_PREFIX": "bronze/", "LOADER_S3_REGION": "r",
                     "LOADER_S3_ENDPOINT_URL": "http://s3"}  # fmt: skip
    assert envs.loader_env(s3_endpoint_url=None, s3_region="r", topics=["a", "b"])["LOADER_TOPICS"] == "a,b"
