"""The producer's and consumer's environment for one feed, in their own variables (PRODUCER_*, CONSUMER_*).

The names and their rendering come from stockfeed_contracts.envs, which `make demo` uses too and the chart matches.

Plain values go into the feed's ConfigMap; secrets (the Finnhub key, the S3 keys, the Kafka password) only ever
appear as secretKeyRef entries pointing at Secrets, so no key is copied into a ConfigMap, an annotation or a log.
With Kafka security on (kafka_users.py) the pods also mount the cluster CA and, for mutual TLS, their certificate.
The names match services/producer/src/stockfeed_producer/config.py and services/consumer/.../config.py
(a unit test checks them against those settings classes when they are installed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stockfeed_contracts import envs
from stockfeed_operator import external_kafka, kafka_users
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.feed import Feed
from stockfeed_operator.naming import Role, child_name, consumer_group, user_role
from stockfeed_operator.secret_refs import secret_env

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
    volumes: list[dict[str, Any]] = field(default_factory=list)  # Secret volumes the variables name files in
    mounts: list[dict[str, Any]] = field(default_factory=list)


def kafka_cluster(feed: Feed, settings: OperatorSettings) -> str:
    return feed.spec.kafka.cluster or settings.kafka_cluster


def kafka_user_name(feed: Feed, component: Role) -> str:
    """The KafkaUser (and Strimzi Secret) of the feed's producer or consumer; also its SCRAM user name."""
    return child_name(feed.name, user_role(component))


def quotes_budget_per_minute(symbols: int, poll_interval_seconds: float, plan_calls_per_minute: int) -> int:
    """Calls per minute that refresh every symbol once per poll interval, capped by the API plan.

    The producer polls symbols in turn at an even pace, so this budget is what sets the refresh interval.
    """
    wanted = math.ceil(symbols * 60.0 / max(poll_interval_seconds, 0.001))
    return max(1, min(plan_calls_per_minute, wanted))


def producer_env(feed: Feed, settings: OperatorSettings) -> ComponentEnv:
    spec = feed.spec
    url = spec.source.url
    if spec.source.type == "simulator" and not url:
        url = settings.simulator_url
        if not url:
            raise UnresolvableError(
                "spec.source.url is not set and the operator has no OPERATOR_SIMULATOR_URL to fall back on"
            )
    plain = envs.producer_env(
        mode=spec.mode,
        feed=feed.name,
        symbols=spec.symbols,
        kafka_bootstrap=settings.kafka_bootstrap(kafka_cluster(feed, settings)),
        topic=spec.kafka.topic,
        source=spec.source.type,
        api_url=url,
        plan_calls_per_minute=quotes_budget_per_minute(
            len(spec.symbols), spec.poll_interval_seconds, spec.source.calls_per_minute
        )
        if spec.mode == "quotes"
        else None,
        metrics_host=ALL_INTERFACES,
        metrics_port=PRODUCER_METRICS_PORT,
    )
    secret_refs: list[dict[str, Any]] = []
    if spec.source.api_key is not None:
        secret_refs.append(secret_env("PRODUCER_FINNHUB_API_KEY", spec.source.api_key.name, spec.source.api_key.key))
    return _with_kafka_access(ComponentEnv(plain, secret_refs), feed, settings, Role.PRODUCER)


def consumer_env(feed: Feed, settings: OperatorSettings) -> ComponentEnv:
    spec = feed.spec
    plain = envs.consumer_env(
        kafka_bootstrap=settings.kafka_bootstrap(kafka_cluster(feed, settings)),
        topics=[spec.kafka.topic],
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        bucket=spec.sink.bucket,
        prefix=spec.sink.prefix,
        group_id=consumer_group(feed.namespace, feed.name),
        expected_schema=CONTRACT_BY_MODE[spec.mode],
        metrics_host=ALL_INTERFACES,
        metrics_port=CONSUMER_METRICS_PORT,
    )
    secret_refs = []
    if settings.s3_credentials_secret:
        secret = settings.s3_credentials_secret
        key_id, secret_key = envs.s3_credential_variables(envs.CONSUMER)
        secret_refs = [
            secret_env(key_id, secret, settings.s3_access_key_id_key),
            secret_env(secret_key, secret, settings.s3_secret_access_key_key),
        ]
    return _with_kafka_access(ComponentEnv(plain, secret_refs), feed, settings, Role.CONSUMER)


def _with_kafka_access(env: ComponentEnv, feed: Feed, settings: OperatorSettings, component: Role) -> ComponentEnv:
    prefix = envs.PRODUCER if component is Role.PRODUCER else envs.CONSUMER
    if settings.external:  # credentials from OPERATOR_KAFKA_CLIENT_SECRET, no KafkaUsers
        access = external_kafka.client_access(prefix, settings)
    else:
        access = kafka_users.client_access(
            prefix,
            authentication=settings.kafka_authentication,
            tls=settings.kafka_tls,
            user=kafka_user_name(feed, component),
            ca_secret=settings.kafka_ca_secret(kafka_cluster(feed, settings)),
        )
    return ComponentEnv(
        {**env.plain, **access.plain}, env.secret_refs + access.secret_refs, access.volumes, access.mounts
    )
