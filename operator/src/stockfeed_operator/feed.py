"""A StockFeed's spec as typed values: parsed once from the resource body, with the CRD's defaults.

The API server already applies the CRD's defaults and validation; parsing repeats the defaults (a unit test keeps
them equal to the CRD's) so that a resource stored under an older CRD still reconciles, and turns anything the
schema let through but the operator cannot use into an InvalidSpecError with a message for the Ready condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stockfeed_contracts import lake

GROUP = "stockfeed.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "StockFeed"
PLURAL = "stockfeeds"

Mode = Literal["quotes", "trades"]
SourceType = Literal["simulator", "finnhub"]

DEFAULT_MODE: Mode = "quotes"
DEFAULT_POLL_INTERVAL = "6s"
DEFAULT_TOPIC = lake.QUOTES_TOPIC
DEFAULT_PARTITIONS = 3
DEFAULT_TOPIC_REPLICAS = 1
DEFAULT_BUCKET = lake.DEFAULT_BUCKET
DEFAULT_PREFIX = lake.DEFAULT_PREFIX.strip("/")  # the loader discovers <prefix>/topic=<topic>/ directories
DEFAULT_API_KEY_KEY = "api-key"
DEFAULT_CALLS_PER_MINUTE = 60  # Finnhub's free plan
DEFAULT_RESOURCES: Mapping[str, Mapping[str, str]] = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"memory": "256Mi"},
}

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class InvalidSpecError(ValueError):
    """The spec passed the schema but cannot be reconciled; `reason` is CamelCase for the Ready condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class Source:
    type: SourceType
    url: str | None  # the simulator's base URL; None: the operator's OPERATOR_SIMULATOR_URL
    api_key: SecretKeyRef | None  # Finnhub's key, always by reference
    calls_per_minute: int  # the API plan's limit; quotes polling never exceeds it


@dataclass(frozen=True)
class Kafka:
    cluster: str | None  # None: the operator's OPERATOR_KAFKA_CLUSTER
    topic: str
    partitions: int
    replicas: int


@dataclass(frozen=True)
class Sink:
    bucket: str
    prefix: str


@dataclass(frozen=True)
class Workload:
    replicas: int
    resources: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class FeedSpec:
    symbols: tuple[str, ...]
    mode: Mode
    poll_interval: str
    source: Source
    kafka: Kafka
    sink: Sink
    producer: Workload
    consumer: Workload
    suspend: bool

    @property
    def poll_interval_seconds(self) -> float:
        return parse_duration(self.poll_interval)


@dataclass(frozen=True)
class Feed:
    """One StockFeed: identity (for names and owner references) and its parsed spec."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: FeedSpec
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def owner_body(self) -> dict[str, Any]:
        """The fields kopf.adopt needs to build owner references and copy labels."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid, "labels": dict(self.labels)},
        }


# the CRD's rule for a keyed source.url: https, a finnhub.io host, no user:password
_FINNHUB_TLS_URL = re.compile(r"https://([a-z0-9-]+[.])*finnhub[.]io(:[0-9]+)?([/?#]\S*)?")


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration such as `6s`, `1m30s` or `500ms`."""
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise InvalidSpecError(
            "InvalidPollInterval", f"pollInterval {text!r} is not a duration like 6s, 1m30s or 500ms"
        )
    return total


def parse_feed(body: Mapping[str, Any]) -> Feed:
    metadata = body.get("metadata") or {}
    return Feed(
        name=str(metadata["name"]),
        namespace=str(metadata["namespace"]),
        uid=str(metadata["uid"]),
        generation=int(metadata.get("generation") or 0),
        spec=parse_spec(body.get("spec") or {}),
        labels=dict(metadata.get("labels") or {}),
    )


def parse_spec(spec: Mapping[str, Any]) -> FeedSpec:
    symbols = tuple(dict.fromkeys(str(symbol) for symbol in spec.get("symbols") or ()))
    if not symbols:
        raise InvalidSpecError("NoSymbols", "spec.symbols is empty: a feed needs at least one symbol")
    mode = spec.get("mode", DEFAULT_MODE)
    if mode not in ("quotes", "trades"):
        raise InvalidSpecError("InvalidMode", f"spec.mode {mode!r} is neither quotes nor trades")
    poll_interval = str(spec.get("pollInterval", DEFAULT_POLL_INTERVAL))
    parse_duration(poll_interval)
    return FeedSpec(
        symbols=symbols,
        mode=mode,
        poll_interval=poll_interval,
        source=_source(spec.get("source") or {}),
        kafka=_kafka(spec.get("kafka") or {}),
        sink=_sink(spec.get("sink") or {}),
        producer=_workload(spec.get("producer") or {}),
        consumer=_workload(spec.get("consumer") or {}),
        suspend=bool(spec.get("suspend", False)),
    )


def _source(source: Mapping[str, Any]) -> Source:
    kind = source.get("type", "simulator")
    if kind not in ("simulator", "finnhub"):
        raise InvalidSpecError("InvalidSource", f"spec.source.type {kind!r} is neither simulator nor finnhub")
    ref = source.get("apiKeySecretRef")
    api_key = None
    if ref:
        api_key = SecretKeyRef(name=str(ref["name"]), key=str(ref.get("key", DEFAULT_API_KEY_KEY)))
    if kind == "finnhub" and api_key is None:
        raise InvalidSpecError("MissingApiKey", "spec.source.type finnhub needs spec.source.apiKeySecretRef")
    url = source.get("url")
    # The CRD refuses both; checked again here so that an older CRD cannot route a Secret elsewhere.
    if api_key is not None and kind != "finnhub":
        raise InvalidSpecError(
            "ApiKeyNotForFinnhub",
            "spec.source.apiKeySecretRef is only for source.type finnhub: a key goes to Finnhub only",
        )
    if api_key is not None and url and not _FINNHUB_TLS_URL.fullmatch(str(url)):
        raise InvalidSpecError(
            "ApiKeyNotForFinnhub", "with apiKeySecretRef, spec.source.url must be an https:// URL on finnhub.io"
        )
    calls = int(source.get("callsPerMinute", DEFAULT_CALLS_PER_MINUTE))
    return Source(type=kind, url=str(url) if url else None, api_key=api_key, calls_per_minute=calls)


def _kafka(kafka: Mapping[str, Any]) -> Kafka:
    cluster = kafka.get("cluster")
    return Kafka(
        cluster=str(cluster) if cluster else None,
        topic=str(kafka.get("topic", DEFAULT_TOPIC)),
        partitions=int(kafka.get("partitions", DEFAULT_PARTITIONS)),
        replicas=int(kafka.get("replicas", DEFAULT_TOPIC_REPLICAS)),
    )


def _sink(sink: Mapping[str, Any]) -> Sink:
    return Sink(bucket=str(sink.get("bucket", DEFAULT_BUCKET)), prefix=str(sink.get("prefix", DEFAULT_PREFIX)))


def _workload(workload: Mapping[str, Any]) -> Workload:
    resources = workload.get("resources", DEFAULT_RESOURCES)
    return Workload(
        replicas=int(workload.get("replicas", 1)),
        resources={
            part: {name: str(amount) for name, amount in (resources.get(part) or {}).items()}
            for part in ("requests", "limits")
            if resources.get(part)
        },
    )
