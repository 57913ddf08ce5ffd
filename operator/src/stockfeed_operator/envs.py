"""The producer's and consumer's environment for one feed, in their own variables (PRODUCER_*, CONSUMER_*).

Plain values go into the feed's ConfigMap; secrets (the Finnhub key, the S3 keys) only ever appear as
secretKeyRef entries pointing at Secrets, so no key is copied into a ConfigMap, an annotation or a log.
The names match services/producer/src/stockfeed_producer/config.py and services/consumer/.../config.py
(a unit test checks them against those settings classes when they are installed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from stockfeed_operator.feed import Feed
from stockfeed_operator.naming import consumer_group
from stockfeed_operator.settings import OperatorSettings

PRODUCER_METRICS_PORT = 8000
CONSUMER_METRICS_PORT = 9102
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - a pod serves /metrics and /healthz to the cluster (probes, Prometheus)
CONTRACT_BY_MODE = {"quotes": "quote.v1", "trades": "trade.v1"}


class UnresolvableError(ValueError):
    """The feed needs an operator setting that is not configured; the message names it."""


@dataclass(frozen=True)
class ComponentEnv:
    plain: dict[str, str]  # into the ConfigMap, referenced by configMapKeyRef
    secret_refs: list[dict[str, Any]]  # env entries with valueFrom.secretKeyRef


def kafka_cluster(feed: Feed, settings: OperatorSettings) -> str:
    return feed.spec.kafka.cluster or settings.kafka_cluster


def quotes_budget_per_minute(symbols: int, poll_interval_seconds: float, plan_calls_per_minute: int) -> int:
    """Calls per minute that refresh every symbol once per poll interval, capped by the API plan.

    The producer polls symbols in turn at an even pace, so this budget is what sets the refresh interval.
    """
    wanted = math.ceil(symbols * 60.0 / max(poll_interval_seconds, 0.001))
    return max(1, min(plan_calls_per_minute, wanted))


def producer_env(feed: Feed, settings: OperatorSettings) -> ComponentEnv:
    spec = feed.spec
    plain = {
        "PRODUCER_MODE": spec.mode,
        "PRODUCER_SYMBOLS": ",".join(spec.symbols),
        "PRODUCER_FEED": feed.name,
        "PRODUCER_SOURCE": spec.source.type,
        "PRODUCER_KAFKA_BOOTSTRAP": settings.kafka_bootstrap(kafka_cluster(feed, settings)),
        "PRODUCER_METRICS_HOST": ALL_INTERFACES,
        "PRODUCER_METRICS_PORT": str(PRODUCER_METRICS_PORT),
    }
    if spec.mode == "quotes":
        plain["PRODUCER_QUOTES_TOPIC"] = spec.kafka.topic
        plain["PRODUCER_PLAN_CALLS_PER_MINUTE"] = str(
            quotes_budget_per_minute(len(spec.symbols), spec.poll_interval_seconds, spec.source.calls_per_minute)
        )
    else:
        plain["PRODUCER_TRADES_TOPIC"] = spec.kafka.topic
    secret_refs: list[dict[str, Any]] = []
    if spec.source.type == "simulator":
        url = spec.source.url or settings.simulator_url
        if not url:
            raise UnresolvableError(
                "spec.source.url is not set and the operator has no OPERATOR_SIMULATOR_URL to fall back on"
            )
        plain["PRODUCER_API_URL"] = url
    elif spec.source.url:
        plain["PRODUCER_API_URL"] = spec.source.url
    if spec.source.api_key is not None:
        secret_refs.append(_secret_env("PRODUCER_FINNHUB_API_KEY", spec.source.api_key.name, spec.source.api_key.key))
    return ComponentEnv(plain, secret_refs)


def consumer_env(feed: Feed, settings: OperatorSettings) -> ComponentEnv:
    spec = feed.spec
    plain = {
        "CONSUMER_BOOTSTRAP_SERVERS": settings.kafka_bootstrap(kafka_cluster(feed, settings)),
        "CONSUMER_TOPICS": spec.kafka.topic,
        "CONSUMER_GROUP_ID": consumer_group(feed.namespace, feed.name),
        "CONSUMER_BUCKET": spec.sink.bucket,
        "CONSUMER_PREFIX": spec.sink.prefix,
        "CONSUMER_EXPECTED_SCHEMA": CONTRACT_BY_MODE[spec.mode],
        "CONSUMER_S3_REGION": settings.s3_region,
        "CONSUMER_METRICS_HOST": ALL_INTERFACES,
        "CONSUMER_METRICS_PORT": str(CONSUMER_METRICS_PORT),
    }
    if settings.s3_endpoint:
        plain["CONSUMER_S3_ENDPOINT"] = settings.s3_endpoint
    secret_refs = []
    if settings.s3_credentials_secret:
        secret = settings.s3_credentials_secret
        secret_refs = [
            _secret_env("CONSUMER_S3_ACCESS_KEY", secret, settings.s3_access_key_id_key),
            _secret_env("CONSUMER_S3_SECRET_KEY", secret, settings.s3_secret_access_key_key),
        ]
    return ComponentEnv(plain, secret_refs)


def _secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
