"""Issue 19 on a real API server: the StockFeed CRD refuses, with its own message, what would leak a Secret or
fail later (a key for a non-Finnhub source, a key over plain http, credentials in a URL, zero or negative
resources, requests above limits, Kafka's reserved topic names, IP-like bucket names). No operator runs here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes import client

from tests.k8s.kube import Tool
from tests.k8s.operator_kit import create_feed, get_feed, install_crds, refusal_message

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(120)]

KEY = {"name": "finnhub"}


@pytest.fixture(scope="module", autouse=True)
def crds(kubectl: Tool, apiextensions_v1: client.ApiextensionsV1Api) -> None:
    install_crds(kubectl, apiextensions_v1)


def refused(custom: client.CustomObjectsApi, namespace: str, spec: Mapping[str, Any]) -> str:
    status, message = refusal_message(lambda: create_feed(custom, namespace, "bad", {"symbols": ["AAPL"], **spec}))
    assert status == 422, message
    return message


def resources(requests: dict[str, Any] | None = None, limits: dict[str, Any] | None = None) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if requests is not None:
        parts["requests"] = requests
    if limits is not None:
        parts["limits"] = limits
    return {"resources": parts}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # secrets go to Finnhub only, over TLS
        (
            {"source": {"type": "simulator", "apiKeySecretRef": KEY}},
            "source.apiKeySecretRef is only for source.type finnhub",
        ),
        (
            {"source": {"type": "simulator", "url": "https://finnhub.io/api/v1", "apiKeySecretRef": KEY}},
            "source.apiKeySecretRef is only for source.type finnhub",
        ),
        (
            {"source": {"type": "finnhub", "url": "http://finnhub.io/api/v1", "apiKeySecretRef": KEY}},
            "source.url must be an https:// URL on finnhub.io",
        ),
        (
            {"source": {"type": "finnhub", "url": "https://collector.example/api/v1", "apiKeySecretRef": KEY}},
            "source.url must be an https:// URL on finnhub.io",
        ),
        (
            {"source": {"type": "finnhub", "url": "https://finnhub.io.evil.example/", "apiKeySecretRef": KEY}},
            "source.url must be an https:// URL on finnhub.io",
        ),
        (
            {"source": {"url": "http://user:password@stockfeed-simulator:8080/api/v1"}},
            "source.url must not carry a user or password",
        ),
        # resources
        ({"producer": resources({"cpu": "0"})}, "a resource quantity must be a positive quantity"),
        ({"consumer": resources(limits={"memory": "-64Mi"})}, "a resource quantity must be a positive quantity"),
        ({"consumer": resources({"cpu": 0})}, "a resource quantity must be a positive quantity"),
        (
            {"producer": resources({"memory": "512Mi"}, {"memory": "256Mi"})},
            "resources.requests must not exceed resources.limits",
        ),
        (
            {"consumer": resources({"cpu": "2"}, {"cpu": "1500m"})},
            "resources.requests must not exceed resources.limits",
        ),
        # topics Kafka refuses or keeps for itself
        ({"kafka": {"topic": "."}}, "kafka.topic cannot be '.' or '..'"),
        ({"kafka": {"topic": ".."}}, "kafka.topic cannot be '.' or '..'"),
        ({"kafka": {"topic": "__consumer_offsets"}}, "kafka.topic cannot start with '__'"),
        ({"kafka": {"topic": "__mine"}}, "kafka.topic cannot start with '__'"),
        # S3 bucket names
        ({"sink": {"bucket": "192.168.1.10"}}, "sink.bucket must not look like an IP address"),
        ({"sink": {"bucket": "my..bucket"}}, "sink.bucket must not contain '..'"),
    ],
)
def test_hardening_rules_refuse_with_their_message(
    namespace: str, custom_objects: client.CustomObjectsApi, spec: Mapping[str, Any], message: str
) -> None:
    assert message in refused(custom_objects, namespace, spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"source": {"type": "finnhub", "apiKeySecretRef": KEY}},
        {"source": {"type": "finnhub", "url": "https://finnhub.io/api/v1", "apiKeySecretRef": KEY}},
        {"source": {"url": "http://stockfeed-simulator.markets:8080/api/v1"}},
        {"kafka": {"topic": "a.b_c-d"}},
        {"kafka": {"topic": "_single-underscore"}},
        {"sink": {"bucket": "bronze.transactions-2"}},
        {"producer": resources({"cpu": "100m", "memory": "64Mi"}, {"cpu": "100m", "memory": "1Gi"})},
        {"consumer": resources({"cpu": 1}, {"memory": "256Mi"})},  # an integer, and limits for another resource
        {"consumer": resources(limits={"memory": "128Mi"})},
    ],
)
def test_valid_edges_are_still_admitted(
    namespace: str, custom_objects: client.CustomObjectsApi, spec: Mapping[str, Any]
) -> None:
    create_feed(custom_objects, namespace, "ok", {"symbols": ["AAPL"], **spec})
    assert get_feed(custom_objects, namespace, "ok")["spec"]["symbols"] == ["AAPL"]
