"""Parsing a StockFeed body: the CRD's defaults, durations, and specs the operator cannot use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stockfeed_operator import feed as feedspec
from stockfeed_operator.feed import InvalidSpecError, parse_duration, parse_feed, parse_spec

from .conftest import feed_body

pytestmark = pytest.mark.unit

OPERATOR_DIR = Path(__file__).resolve().parents[2]
CRD = OPERATOR_DIR / "crds" / "stockfeed.yaml"


def crd_spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def test_a_minimal_body_gets_the_crd_defaults() -> None:
    feed = parse_feed(feed_body())
    spec = feed.spec
    assert (feed.name, feed.namespace, feed.generation) == ("tech", "markets", 1)
    assert spec.symbols == ("AAPL", "MSFT")
    assert spec.mode == "quotes"
    assert spec.poll_interval_seconds == 6.0
    assert (spec.source.type, spec.source.url, spec.source.api_key) == ("simulator", None, None)
    assert spec.source.calls_per_minute == 60
    assert (spec.kafka.cluster, spec.kafka.topic, spec.kafka.partitions, spec.kafka.replicas) == (
        None,
        "stock-quotes",
        3,
        1,
    )
    assert (spec.sink.bucket, spec.sink.prefix) == ("bronze-transactions", "bronze")
    assert spec.producer.replicas == spec.consumer.replicas == 1
    assert spec.producer.resources == feedspec.DEFAULT_RESOURCES
    assert spec.suspend is False


def test_parser_defaults_equal_the_crd_defaults() -> None:
    """The CRD is the one definition; the parser repeats its defaults for resources stored before a default."""
    schema = crd_spec_schema()["properties"]
    assert schema["mode"]["default"] == feedspec.DEFAULT_MODE
    assert schema["pollInterval"]["default"] == feedspec.DEFAULT_POLL_INTERVAL
    assert schema["source"]["properties"]["type"]["default"] == "simulator"
    assert schema["source"]["properties"]["callsPerMinute"]["default"] == feedspec.DEFAULT_CALLS_PER_MINUTE
    assert schema["source"]["properties"]["apiKeySecretRef"]["properties"]["key"]["default"] == (
        feedspec.DEFAULT_API_KEY_KEY
    )
    kafka = schema["kafka"]["properties"]
    assert kafka["topic"]["default"] == feedspec.DEFAULT_TOPIC
    assert kafka["partitions"]["default"] == feedspec.DEFAULT_PARTITIONS
    assert kafka["replicas"]["default"] == feedspec.DEFAULT_TOPIC_REPLICAS
    assert schema["sink"]["properties"]["bucket"]["default"] == feedspec.DEFAULT_BUCKET
    assert schema["sink"]["properties"]["prefix"]["default"] == feedspec.DEFAULT_PREFIX
    for workload in ("producer", "consumer"):
        assert schema[workload]["properties"]["resources"]["default"] == feedspec.DEFAULT_RESOURCES
        assert schema[workload]["properties"]["replicas"]["default"] == 1
    assert schema["suspend"]["default"] is False


def test_the_crd_symbol_pattern_is_the_quote_contracts() -> None:
    from stockfeed_contracts import QUOTE_V1, load_schema

    pattern = crd_spec_schema()["properties"]["symbols"]["items"]["pattern"]
    assert pattern == load_schema(QUOTE_V1)["properties"]["symbol"]["pattern"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("6s", 6.0), ("1m30s", 90.0), ("500ms", 0.5), ("1.5s", 1.5), ("1h", 3600.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "6", "6x", "s", "1m 30s", "-1s"])
def test_bad_durations_are_invalid_specs(text: str) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_duration(text)
    assert caught.value.reason == "InvalidPollInterval"


def test_repeated_symbols_collapse_in_order() -> None:
    assert parse_spec({"symbols": ["MSFT", "AAPL", "MSFT"]}).symbols == ("MSFT", "AAPL")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"symbols": []}, "NoSymbols"),
        ({"symbols": ["AAPL"], "mode": "candles"}, "InvalidMode"),
        ({"symbols": ["AAPL"], "source": {"type": "finnhub"}}, "MissingApiKey"),
        ({"symbols": ["AAPL"], "source": {"type": "bloomberg"}}, "InvalidSource"),
    ],
)
def test_specs_the_operator_cannot_use(spec: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(spec)
    assert caught.value.reason == reason
    assert caught.value.message


def test_finnhub_key_reference_defaults_its_key() -> None:
    source = parse_spec({"symbols": ["AAPL"], "source": {"type": "finnhub", "apiKeySecretRef": {"name": "fh"}}}).source
    assert source.api_key == feedspec.SecretKeyRef(name="fh", key="api-key")


def test_object_defaults_repeat_their_fields_defaults() -> None:
    """An object's default must be complete: the API server checks it against the CEL rules as it stands."""
    schema = crd_spec_schema()["properties"]
    for name in ("source", "kafka", "sink", "producer", "consumer"):
        default = schema[name]["default"]
        for field, definition in schema[name]["properties"].items():
            if "default" in definition:
                assert default[field] == definition["default"], (name, field)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({"type": "simulator", "apiKeySecretRef": {"name": "db-password"}}, "ApiKeyNotForFinnhub"),
        (
            {"type": "finnhub", "apiKeySecretRef": {"name": "fh"}, "url": "http://finnhub.io/api/v1"},
            "ApiKeyNotForFinnhub",
        ),
        (
            {"type": "finnhub", "apiKeySecretRef": {"name": "fh"}, "url": "https://collector.example/api/v1"},
            "ApiKeyNotForFinnhub",
        ),
        (
            {"type": "finnhub", "apiKeySecretRef": {"name": "fh"}, "url": "https://x@finnhub.io/api/v1"},
            "ApiKeyNotForFinnhub",
        ),
    ],
)
def test_a_key_never_goes_anywhere_but_finnhub_over_tls(source: dict[str, Any], reason: str) -> None:
    """The CRD refuses these; an older CRD might not, so parsing refuses them too."""
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec({"symbols": ["AAPL"], "source": source})
    assert caught.value.reason == reason


def test_a_key_with_finnhubs_own_url_is_fine() -> None:
    spec = {"type": "finnhub", "apiKeySecretRef": {"name": "fh"}, "url": "https://finnhub.io/api/v1"}
    assert parse_spec({"symbols": ["AAPL"], "source": spec}).source.url == "https://finnhub.io/api/v1"
