"""Every feed the CRD admits must run: its producer and consumer accept the environment the operator renders.

The configurations come from the CRD itself (each numeric field at its minimum and maximum, each enum value, one
and the most symbols, the longest names), so widening a bound in the CRD without teaching the producer or the
consumer makes this test fail instead of a pod crash-looping. tests/integration/test_admitted_feeds_run.py starts
the real producer with a few of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stockfeed_consumer import config as consumer_config
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.envs import ComponentEnv, consumer_env, producer_env
from stockfeed_operator.feed import parse_duration, parse_feed
from stockfeed_producer import config as producer_config

from .conftest import feed_body

pytestmark = pytest.mark.unit

CRD = Path(__file__).resolve().parents[2] / "crds" / "stockfeed.yaml"
KEY_REF = {"name": "finnhub"}


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    root: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return root


def spec_properties() -> dict[str, Any]:
    props: dict[str, Any] = crd_schema()["properties"]["spec"]["properties"]
    return props


def poll_interval_bounds() -> tuple[str, str]:
    """The two durations of pollInterval's CEL rule (duration('1s') ... duration('1h'))."""
    rule = spec_properties()["pollInterval"]["x-kubernetes-validations"][0]["rule"]
    low, high = re.findall(r"duration\('([^']+)'\)", rule)
    return low, high


def symbols(count: int, length: int = 4) -> list[str]:
    """`count` distinct symbols of `length` characters that match the CRD's item pattern."""
    return [f"S{index:0{length - 1}d}" for index in range(count)]


def boundary_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    props = spec_properties()
    source, kafka, sink = (props[name]["properties"] for name in ("source", "kafka", "sink"))
    max_symbols = props["symbols"]["maxItems"]
    longest_symbol = props["symbols"]["items"]["maxLength"]
    low, high = poll_interval_bounds()
    cpm = source["callsPerMinute"]
    partitions, replicas = kafka["partitions"], kafka["replicas"]
    base: dict[str, Any] = {"symbols": ["AAPL"]}

    # the issue's two crash-loops
    yield "one symbol a minute", {"symbols": ["AAPL"], "pollInterval": "1m"}
    yield "callsPerMinute 1", {"symbols": ["AAPL"], "source": {"callsPerMinute": 1}}

    for mode in props["mode"]["enum"]:
        count = max_symbols if mode == "quotes" else 50  # the CEL rule caps trades at 50
        for n in (1, count):
            for interval in (low, high, props["pollInterval"]["default"]):
                for calls in (cpm["minimum"], cpm["default"], cpm["maximum"]):
                    yield (
                        f"{mode} {n} symbols every {interval} at {calls}/min",
                        {"symbols": symbols(n), "mode": mode, "pollInterval": interval,
                         "source": {"callsPerMinute": calls}},
                    )  # fmt: skip
    for kind in source["type"]["enum"]:
        for mode in props["mode"]["enum"]:
            spec_source: dict[str, Any] = {"type": kind}
            if kind == "finnhub":
                spec_source["apiKeySecretRef"] = KEY_REF
            yield f"{kind} {mode}", {**base, "mode": mode, "source": spec_source}
    yield (
        "finnhub with its own https url",
        {
            **base,
            "source": {"type": "finnhub", "apiKeySecretRef": KEY_REF, "url": "https://finnhub.io/api/v1"},
        },
    )
    yield "simulator with a url", {**base, "source": {"url": "http://sim.other-namespace:8080/api/v1"}}
    yield "longest symbols", {**base, "symbols": ["A" * longest_symbol, "BINANCE:BTCUSDT", "BRK.B", "X-1"]}
    for value in (partitions["minimum"], partitions["maximum"]):
        yield f"partitions {value}", {**base, "kafka": {"partitions": value, "replicas": 1}}
    for value in (replicas["minimum"], replicas["maximum"]):
        yield f"replicas {value}", {**base, "kafka": {"replicas": value}}
    yield "shortest topic", {**base, "kafka": {"topic": "t"}}
    yield "longest topic", {**base, "kafka": {"topic": "t" * kafka["topic"]["maxLength"]}}
    yield "cluster", {**base, "kafka": {"cluster": "c" * kafka["cluster"]["maxLength"]}}
    yield "shortest bucket", {**base, "sink": {"bucket": "b" * sink["bucket"]["minLength"]}}
    yield "longest bucket", {**base, "sink": {"bucket": "b" * sink["bucket"]["maxLength"]}}
    yield "empty prefix", {**base, "sink": {"prefix": ""}}
    yield "deep prefix", {**base, "sink": {"prefix": "a/b-c/d_e.f"}}
    yield "suspended", {**base, "suspend": True}
    yield "no producer", {**base, "producer": {"replicas": 0}}
    consumers = props["consumer"]["properties"]["replicas"]["maximum"]
    yield "most consumers", {**base, "kafka": {"partitions": consumers}, "consumer": {"replicas": consumers}}


def as_process_env(env: ComponentEnv) -> dict[str, str]:
    secrets = {item["name"]: f"secret-for-{item['name'].lower()}" for item in env.secret_refs}
    return {**env.plain, **secrets}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("PRODUCER_", "CONSUMER_")):
            monkeypatch.delenv(name)
    return monkeypatch


def load_components(
    monkeypatch: pytest.MonkeyPatch, settings: OperatorSettings, spec: dict[str, Any], name: str = "tech"
) -> tuple[producer_config.ProducerSettings, consumer_config.ConsumerSettings]:
    feed = parse_feed(feed_body(spec, name=name))
    with monkeypatch.context() as scoped:
        for variable, value in as_process_env(producer_env(feed, settings)).items():
            scoped.setenv(variable, value)
        for variable, value in as_process_env(consumer_env(feed, settings)).items():
            scoped.setenv(variable, value)
        return producer_config.load_settings(), consumer_config.load_settings([])


BOUNDARIES = list(boundary_specs())


@pytest.mark.parametrize(("label", "spec"), BOUNDARIES, ids=[label for label, _ in BOUNDARIES])
def test_the_components_accept_every_admitted_feed(
    label: str, spec: dict[str, Any], clean_env: pytest.MonkeyPatch, settings: OperatorSettings
) -> None:
    producer, consumer = load_components(clean_env, settings, spec)
    feed = parse_feed(feed_body(spec))
    assert producer.symbols == list(feed.spec.symbols)
    assert producer.mode == feed.spec.mode
    assert consumer.bucket == feed.spec.sink.bucket
    if feed.spec.mode == "quotes":
        # the plan the producer paces by never exceeds the feed's API plan
        assert 1 <= producer.plan_calls_per_minute <= feed.spec.source.calls_per_minute


@pytest.mark.parametrize("name", ["a", "f" * 63, "my.feed-1"])
def test_every_admitted_feed_name_runs(name: str, clean_env: pytest.MonkeyPatch, settings: OperatorSettings) -> None:
    producer, _consumer = load_components(clean_env, settings, {"symbols": ["AAPL"]}, name=name)
    assert producer.feed == name


def test_the_walk_covers_the_crash_loops_of_the_issue() -> None:
    labels = [label for label, _ in BOUNDARIES]
    assert "one symbol a minute" in labels
    assert "callsPerMinute 1" in labels
    assert poll_interval_bounds() == ("1s", "1h")
    assert parse_duration(poll_interval_bounds()[1]) == 3600
    assert len(BOUNDARIES) > 40
