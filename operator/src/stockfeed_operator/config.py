"""The operator's own settings, from OPERATOR_* environment variables (the Deployment or the Helm chart sets them).

Everything that depends on where the platform runs lives here, never in code or in the CRD: the producer and
consumer images, the default Kafka cluster, how to reach Kafka, the simulator's address and the S3 endpoint and
credentials Secret the consumer uses. See operator/README.md for the table.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_contracts import envs

ENV_PREFIX = "OPERATOR_"
DEFAULT_RESYNC_SECONDS = 60.0


class ConfigError(ValueError):
    """An OPERATOR_* variable is missing or unusable; the message names it."""


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # images of the children (skaffold/Helm pass the refs they built)
    producer_image: str = Field(min_length=1)
    consumer_image: str = Field(min_length=1)
    image_pull_policy: str = Field("IfNotPresent", pattern="^(Always|IfNotPresent|Never)$")

    # Kafka: the Strimzi cluster a feed uses when spec.kafka.cluster is absent, and its bootstrap address
    kafka_cluster: str = Field("stockfeed", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    kafka_bootstrap_template: str = "{cluster}-kafka-bootstrap:9092"  # Strimzi's bootstrap Service, same namespace

    # market data: where a feed with `source.type: simulator` and no url connects
    simulator_url: str | None = None

    # bronze sink: the S3 endpoint (MinIO) and the Secret in the feed's namespace holding the consumer's keys
    s3_endpoint_url: str | None = Field(
        None,  # OPERATOR_S3_ENDPOINT (deprecated) still works
        validation_alias=AliasChoices(
            f"{ENV_PREFIX}S3_ENDPOINT_URL",
            *envs.deprecated_names(f"{ENV_PREFIX}S3_ENDPOINT_URL"),
            "s3_endpoint_url",
            "s3_endpoint",
        ),
    )
    s3_region: str = "us-east-1"
    s3_credentials_secret: str | None = None
    s3_access_key_id_key: str = "access-key-id"
    s3_secret_access_key_key: str = "secret-access-key"  # noqa: S105 - a key name inside the Secret, not a secret

    # status: without a Strimzi topic operator no KafkaTopic ever turns Ready; false makes Ready ignore TopicReady
    require_topic_ready: bool = True

    # the level-based resync: every feed is re-applied and its status recomputed this often
    resync_seconds: float = Field(DEFAULT_RESYNC_SECONDS, gt=0)
    # watches: the API server ends a watch after server_timeout; the client gives up after client_timeout
    watch_server_timeout: int = Field(300, ge=1)
    watch_client_timeout: int = Field(330, ge=1)
    # Kubernetes Events the operator posts: this level and above
    posting_level: str = "WARNING"
    log_level: str = "INFO"
    log_format: str = Field("full", pattern="^(plain|full|json)$")
    # namespaces to watch (comma-separated); empty means the whole cluster
    namespaces: Annotated[tuple[str, ...], NoDecode] = ()
    # liveness endpoint served by kopf (the Deployment probes it); empty disables it
    liveness_endpoint: str = "http://0.0.0.0:8080/healthz"

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("posting_level", "log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("kafka_bootstrap_template")
    @classmethod
    def _template_names_cluster(cls, value: str) -> str:
        try:
            value.format(cluster="x")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"only {{cluster}} may be substituted ({error})") from None
        return value

    def kafka_bootstrap(self, cluster: str) -> str:
        return self.kafka_bootstrap_template.format(cluster=cluster)

    @property
    def posting_level_number(self) -> int:
        return int(logging.getLevelName(self.posting_level))


def load_settings(env: dict[str, str] | None = None) -> OperatorSettings:
    """Settings from the environment (or `env`); a ConfigError names the first bad variable."""
    try:
        if env is None:
            return OperatorSettings()  # type: ignore[call-arg]  # required fields come from the environment
        return _from_mapping(env)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def _from_mapping(env: dict[str, str]) -> OperatorSettings:
    # pydantic-settings reads os.environ; an explicit mapping (tests) goes through the same field names.
    values = {key[len(ENV_PREFIX) :].lower(): value for key, value in env.items() if key.upper().startswith(ENV_PREFIX)}
    return OperatorSettings.model_validate(values)


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        variable = f"{ENV_PREFIX}{field.upper()}"
        problem = "is required" if item["type"] == "missing" else item["msg"]
        problems.append(f"{variable} {problem}")
    return "; ".join(problems)


def resync_seconds_from_env(env: Mapping[str, str] | None = None) -> float:
    """The resync interval alone, for kopf's timer decorator (which is evaluated when the handlers are imported).

    The full settings are validated at startup (and by the CLI before kopf starts); a bad value here falls back
    to the default and is reported there.
    """
    raw = (os.environ if env is None else env).get(f"{ENV_PREFIX}RESYNC_SECONDS", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_RESYNC_SECONDS
    return value if value > 0 else DEFAULT_RESYNC_SECONDS
