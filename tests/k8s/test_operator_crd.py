"""The StockFeed CRD on a real API server: defaults, OpenAPI validation and CEL rules refuse bad feeds with our
messages, before any operator sees them. No operator runs in this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes import client

from tests.k8s.kube import Tool
from tests.k8s.operator_kit import FEEDS, create_feed, feed_manifest, get_feed, install_crds, refusal_message

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(120)]

SYMBOLS = [f"S{i:03d}" for i in range(60)]


@pytest.fixture(scope="module", autouse=True)
def crds(kubectl: Tool, apiextensions_v1: client.ApiextensionsV1Api) -> None:
    install_crds(kubectl, apiextensions_v1)


def refused(custom: client.CustomObjectsApi, namespace: str, spec: Mapping[str, Any], name: str = "bad") -> str:
    status, message = refusal_message(lambda: create_feed(custom, namespace, name, spec))
    assert status == 422, message
    return message


def test_defaults_are_filled_in(namespace: str, custom_objects: client.CustomObjectsApi) -> None:
    create_feed(custom_objects, namespace, "tech", {"symbols": ["AAPL", "MSFT"]})
    spec = get_feed(custom_objects, namespace, "tech")["spec"]
    assert spec["mode"] == "quotes"
    assert spec["pollInterval"] == "6s"
    assert spec["source"] == {"type": "simulator", "callsPerMinute": 60}
    assert spec["kafka"] == {"topic": "stock-quotes", "partitions": 3, "replicas": 1}
    assert spec["sink"] == {"bucket": "bronze-transactions", "prefix": "bronze"}
    assert spec["producer"]["replicas"] == spec["consumer"]["replicas"] == 1
    assert spec["consumer"]["resources"]["limits"] == {"memory": "256Mi"}
    assert spec["suspend"] is False


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"symbols": SYMBOLS, "mode": "trades"},
            "trades mode streams at most 50 symbols: Finnhub allows 50 per WebSocket",
        ),
        (
            {"symbols": ["AAPL"], "kafka": {"partitions": 2}, "consumer": {"replicas": 3}},
            "consumer.replicas must not exceed kafka.partitions",
        ),
        (
            {"symbols": ["AAPL"], "source": {"type": "finnhub"}},
            "source.type finnhub needs apiKeySecretRef",
        ),
        ({"symbols": ["AAPL"], "pollInterval": "500ms"}, "pollInterval must be between 1s and 1h"),
        ({"symbols": ["AAPL"], "producer": {"replicas": 2}}, "producer.replicas is 0 or 1"),
    ],
)
def test_cel_rules_refuse_with_their_message(
    namespace: str, custom_objects: client.CustomObjectsApi, spec: Mapping[str, Any], message: str
) -> None:
    assert message in refused(custom_objects, namespace, spec)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"symbols": ["aapl"]}, "spec.symbols[0]"),
        ({"symbols": ["AAPL", "AAPL"]}, "spec.symbols[1]"),  # a set: duplicates refused
        ({"symbols": []}, "spec.symbols"),
        ({"symbols": ["AAPL"], "mode": "candles"}, "spec.mode"),
        ({"symbols": ["AAPL"], "kafka": {"topic": "has space"}}, "spec.kafka.topic"),
        ({"symbols": ["AAPL"], "sink": {"bucket": "Bronze_Bucket"}}, "spec.sink.bucket"),
        ({"symbols": ["AAPL"], "consumer": {"resources": {"limits": {"cpu": "lots"}}}}, "spec.consumer.resources"),
        ({"mode": "quotes"}, "spec.symbols"),
    ],
)
def test_openapi_schema_refuses(
    namespace: str, custom_objects: client.CustomObjectsApi, spec: Mapping[str, Any], field: str
) -> None:
    assert field in refused(custom_objects, namespace, spec)


def test_long_names_are_refused(namespace: str, custom_objects: client.CustomObjectsApi) -> None:
    message = refused(custom_objects, namespace, {"symbols": ["AAPL"]}, name="f" * 64)
    assert "metadata.name must be at most 63 characters" in message


def test_transition_rules_guard_the_topic(namespace: str, custom_objects: client.CustomObjectsApi) -> None:
    create_feed(custom_objects, namespace, "tech", {"symbols": ["AAPL"], "kafka": {"partitions": 4}})

    def patch(kafka: dict[str, Any]) -> None:
        custom_objects.patch_namespaced_custom_object(
            *FEEDS[:2],
            namespace,
            FEEDS[2],
            "tech",
            {"spec": {"kafka": kafka}},
            _content_type="application/merge-patch+json",
        )

    status, message = refusal_message(lambda: patch({"topic": "other"}))
    assert status == 422
    assert "kafka.topic is immutable" in message
    status, message = refusal_message(lambda: patch({"partitions": 2}))
    assert status == 422
    assert "kafka.partitions cannot decrease" in message
    status, message = refusal_message(lambda: patch({"cluster": "another"}))
    assert "kafka.cluster is immutable" in message
    patch({"partitions": 8})  # growing is fine
    assert get_feed(custom_objects, namespace, "tech")["spec"]["kafka"]["partitions"] == 8


def test_a_valid_finnhub_trades_feed_is_accepted(namespace: str, custom_objects: client.CustomObjectsApi) -> None:
    spec = {
        "symbols": SYMBOLS[:50],
        "mode": "trades",
        "source": {"type": "finnhub", "apiKeySecretRef": {"name": "finnhub"}},
        "kafka": {"topic": "trades", "partitions": 6},
        "consumer": {"replicas": 6},
    }
    created = create_feed(custom_objects, namespace, "trades", spec)
    assert created["spec"]["source"]["apiKeySecretRef"] == {"name": "finnhub", "key": "api-key"}


def test_status_is_a_subresource(namespace: str, custom_objects: client.CustomObjectsApi) -> None:
    """Writes to the main resource cannot touch status: only the operator's status patches can."""
    manifest = feed_manifest("tech", {"symbols": ["AAPL"]})
    manifest["status"] = {"observedGeneration": 99}
    custom_objects.create_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2], manifest)
    assert "status" not in get_feed(custom_objects, namespace, "tech")
