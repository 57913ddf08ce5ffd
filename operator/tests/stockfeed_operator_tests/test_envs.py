"""The env the operator writes is exactly what the producer and consumer read: their own settings parse it."""

from __future__ import annotations

from typing import Any

import pytest

from stockfeed_consumer import config as consumer_config
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.envs import ComponentEnv, consumer_env, producer_env, quotes_budget_per_minute
from stockfeed_operator.feed import parse_feed
from stockfeed_producer import config as producer_config

from .conftest import feed_body

pytestmark = pytest.mark.unit

FINNHUB_SPEC = {
    "symbols": ["AAPL", "BRK.B"],
    "mode": "trades",
    "source": {"type": "finnhub", "apiKeySecretRef": {"name": "finnhub"}},
    "kafka": {"topic": "tech-trades"},
}


def as_process_env(env: ComponentEnv) -> dict[str, str]:
    """What the kubelet would hand the container: ConfigMap values plus made-up secret values."""
    secrets = {item["name"]: f"secret-for-{item['name'].lower()}" for item in env.secret_refs}
    return {**env.plain, **secrets}


def apply_env(monkeypatch: pytest.MonkeyPatch, prefix: str, env: dict[str, str]) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_every_producer_variable_is_a_producer_setting(settings: OperatorSettings) -> None:
    fields = {f"PRODUCER_{name.upper()}" for name in producer_config.ProducerSettings.model_fields}
    for spec in ({"symbols": ["AAPL"]}, FINNHUB_SPEC):
        env = producer_env(parse_feed(feed_body(spec)), settings)
        names = set(env.plain) | {item["name"] for item in env.secret_refs}
        assert names <= fields, names - fields


def test_every_consumer_variable_is_a_consumer_setting(settings: OperatorSettings) -> None:
    fields = {f"CONSUMER_{name.upper()}" for name in consumer_config.ConsumerSettings.model_fields}
    env = consumer_env(parse_feed(feed_body()), settings)
    names = set(env.plain) | {item["name"] for item in env.secret_refs}
    assert names <= fields, names - fields


def test_the_producer_accepts_a_simulator_quotes_feed(
    monkeypatch: pytest.MonkeyPatch, settings: OperatorSettings
) -> None:
    spec: dict[str, Any] = {"symbols": ["AAPL", "MSFT"], "pollInterval": "10s"}
    apply_env(monkeypatch, "PRODUCER_", as_process_env(producer_env(parse_feed(feed_body(spec)), settings)))
    loaded = producer_config.load_settings()
    assert loaded.mode == "quotes"
    assert loaded.symbols == ["AAPL", "MSFT"]
    assert loaded.feed == "tech"
    assert loaded.topic == "stock-quotes"
    assert loaded.rest_base_url == "http://stockfeed-simulator:8080/api/v1"
    assert loaded.message_source == "simulator"
    assert loaded.plan_calls_per_minute == 12
    assert loaded.metrics_host == "0.0.0.0"  # noqa: S104 - the pod serves its probes


def test_the_producer_accepts_a_finnhub_trades_feed(
    monkeypatch: pytest.MonkeyPatch, settings: OperatorSettings
) -> None:
    apply_env(monkeypatch, "PRODUCER_", as_process_env(producer_env(parse_feed(feed_body(FINNHUB_SPEC)), settings)))
    loaded = producer_config.load_settings()
    assert loaded.mode == "trades"
    assert loaded.topic == "tech-trades"
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == "secret-for-producer_finnhub_api_key"
    assert loaded.message_source == "finnhub"


def test_the_consumer_accepts_the_feed(monkeypatch: pytest.MonkeyPatch, settings: OperatorSettings) -> None:
    apply_env(monkeypatch, "CONSUMER_", as_process_env(consumer_env(parse_feed(feed_body()), settings)))
    loaded = consumer_config.load_settings([])
    assert loaded.topics == ("stock-quotes",)
    assert loaded.group_id == "stockfeed.markets.tech"
    assert (loaded.bucket, loaded.prefix) == ("bronze-transactions", "bronze")
    assert loaded.expected_schema == "quote.v1"
    assert loaded.s3_endpoint_url == "http://minio:9000"
    assert loaded.s3_access_key_id is not None
    assert loaded.metrics_port == 9102


@pytest.mark.parametrize(
    ("symbols", "interval", "plan", "budget"),
    [(2, 10.0, 60, 12), (28, 6.0, 60, 60), (1, 60.0, 60, 1), (5, 1.0, 150, 150), (3, 7.0, 60, 26)],
)
def test_quote_budget(symbols: int, interval: float, plan: int, budget: int) -> None:
    assert quotes_budget_per_minute(symbols, interval, plan) == budget
