"""Shared builders for the operator's unit tests: a StockFeed body and operator settings, no cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stockfeed_operator.config import OperatorSettings, load_settings

BASE_ENV = {
    "OPERATOR_PRODUCER_IMAGE": "registry.example/stockfeed-producer:1.0",
    "OPERATOR_CONSUMER_IMAGE": "registry.example/stockfeed-consumer:1.0",
    "OPERATOR_SIMULATOR_URL": "http://stockfeed-simulator:8080/api/v1",
    "OPERATOR_S3_ENDPOINT_URL": "http://minio:9000",
    "OPERATOR_S3_CREDENTIALS_SECRET": "minio-credentials",
}


def feed_body(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "stockfeed.dev/v1alpha1",
        "kind": "StockFeed",
        "metadata": {
            "name": "tech",
            "namespace": "markets",
            "uid": "0b1f0c1e-1111-2222-3333-444455556666",
            "generation": 1,
            "creationTimestamp": "2026-01-05T10:00:00Z",
            **metadata,
        },
        "spec": copy.deepcopy(spec) if spec is not None else {"symbols": ["AAPL", "MSFT"]},
    }


@pytest.fixture
def settings() -> OperatorSettings:
    return load_settings(dict(BASE_ENV))


def settings_with(**overrides: str) -> OperatorSettings:
    env = dict(BASE_ENV)
    env.update({f"OPERATOR_{key.upper()}": value for key, value in overrides.items()})
    return load_settings(env)
