"""Settings from CONSUMER_* environment variables and CLI flags; secrets also from `CONSUMER_*_FILE` files.

Every field `name` is the variable CONSUMER_<NAME> and the flag --<name-with-dashes>; flags win over env. Kafka
and S3 settings use the names every service shares (stockfeed_contracts.envs); their old names still work.
This module is the bottom of the package: it imports none of the consumer's other modules but its errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_consumer.errors import ConfigError
from stockfeed_contracts import envs, lake
from stockfeed_contracts.kafka_security import (
    DEFAULT_MECHANISM,
    DEFAULT_PROTOCOL,
    KafkaSecurity,
    from_settings,
    problems,
)

ENV_PREFIX = "CONSUMER_"
MIB = 1024 * 1024
# env or _FILE only, never a flag
SECRET_FIELDS = ("s3_access_key_id", "s3_secret_access_key", "kafka_sasl_password")


def _shared(field: str) -> Any:
    """A shared setting's variable, then its deprecated names (e.g. CONSUMER_BOOTSTRAP_SERVERS), then the field."""
    name = f"{ENV_PREFIX}{field.upper()}"
    return AliasChoices(name, *envs.deprecated_names(name), field)


class ConsumerSettings(BaseSettings):
    """See services/consumer/README.md ("Configuration") for each variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Kafka
    kafka_bootstrap: str = Field("localhost:9092", validation_alias=_shared("kafka_bootstrap"))
    # how it authenticates (stockfeed_contracts.kafka_security); the password from env or _FILE only
    kafka_security_protocol: str = Field(DEFAULT_PROTOCOL, validation_alias=_shared("kafka_security_protocol"))
    kafka_sasl_mechanism: str = Field(DEFAULT_MECHANISM, validation_alias=_shared("kafka_sasl_mechanism"))
    kafka_sasl_username: str | None = Field(None, validation_alias=_shared("kafka_sasl_username"))
    kafka_sasl_password: SecretStr | None = Field(None, validation_alias=_shared("kafka_sasl_password"))
    kafka_sasl_password_file: Path | None = Field(None, validation_alias=_shared("kafka_sasl_password_file"))
    kafka_ssl_ca_file: str | None = Field(None, validation_alias=_shared("kafka_ssl_ca_file"))
    kafka_ssl_cert_file: str | None = Field(None, validation_alias=_shared("kafka_ssl_cert_file"))
    kafka_ssl_key_file: str | None = Field(None, validation_alias=_shared("kafka_ssl_key_file"))
    topics: Annotated[tuple[str, ...], NoDecode] = (lake.QUOTES_TOPIC,)
    group_id: str = "stockfeed-bronze"
    group_instance_id: str | None = None  # static membership (e.g. the pod name): restarts without a rebalance
    assignment_strategy: str = "cooperative-sticky"
    session_timeout_ms: int = Field(default=45_000, ge=1_000)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    kafka_properties_file: Path | None = None  # extra librdkafka properties (SASL/TLS), `key=value` lines
    poll_max_records: int = Field(default=10_000, ge=1)
    queued_max_kbytes: int = Field(default=32_768, ge=1024)  # librdkafka's prefetch queue, bounds memory too

    # S3 / MinIO
    # empty endpoint: the AWS endpoint of s3_region
    s3_endpoint_url: str | None = Field("http://minio:9000", validation_alias=_shared("s3_endpoint_url"))
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = Field(None, validation_alias=_shared("s3_access_key_id"))
    s3_access_key_id_file: Path | None = Field(None, validation_alias=_shared("s3_access_key_id_file"))
    s3_secret_access_key: SecretStr | None = Field(None, validation_alias=_shared("s3_secret_access_key"))
    s3_secret_access_key_file: Path | None = Field(None, validation_alias=_shared("s3_secret_access_key_file"))
    s3_timeout_seconds: float = Field(default=30.0, gt=0)
    bucket: str = lake.DEFAULT_BUCKET
    create_bucket: bool = True
    prefix: str = lake.DEFAULT_PREFIX.strip("/")
    dead_letter_prefix: str = lake.DEFAULT_DEAD_LETTER_PREFIX.strip("/")
    expected_schema: str | None = None  # e.g. quote.v1 to reject every other contract

    # batching and memory
    max_records: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=8 * MIB, ge=1024)
    max_age_seconds: float = Field(default=30.0, gt=0)
    max_buffered_bytes: int = Field(default=128 * MIB, ge=MIB)
    gzip_level: int = Field(default=6, ge=1, le=9)
    encode_processes: int = Field(default=1, ge=0, le=64)  # 0: encode on a thread of the main process
    upload_workers: int = Field(default=4, ge=1, le=64)
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    revoke_timeout_seconds: float = Field(default=20.0, gt=0)
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0)

    # operations
    metrics_host: str = "0.0.0.0"  # noqa: S104 - a pod serves its metrics to the cluster
    metrics_port: int = Field(default=9102, ge=0, le=65535)  # 0: no HTTP server
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("topics", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("topics")
    @classmethod
    def _some_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one topic is needed")
        return value

    @field_validator("group_instance_id", "s3_endpoint_url", "expected_schema", "kafka_properties_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _credentials_from_files(self) -> ConsumerSettings:
        for name in SECRET_FIELDS:
            path: Path | None = getattr(self, f"{name}_file")
            if path is None:
                continue
            if getattr(self, name) is not None:
                raise ValueError(f"{_env(name)} and {_env(name + '_file')} are both set; use one")
            try:
                secret = path.read_text().strip()
            except OSError as error:
                raise ValueError(f"{_env(name + '_file')}: cannot read {path}: {error.strerror}") from None
            object.__setattr__(self, name, SecretStr(secret))  # frozen model: set once while validating
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            both = f"{_env('s3_access_key_id')} and {_env('s3_secret_access_key')}"
            raise ValueError(f"set both {both} (or their _FILE variables), or neither")
        return self

    @property
    def kafka_security(self) -> KafkaSecurity:
        password = self.kafka_sasl_password
        return from_settings(self, password.get_secret_value() if password is not None else None)


def _env(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockfeed-consumer",
        description="Kafka to S3/MinIO bronze writer. Every flag also reads from CONSUMER_<NAME>.",
    )
    for name, field in ConsumerSettings.model_fields.items():
        if name in SECRET_FIELDS:
            continue  # secrets never on a command line (visible in ps); env or _FILE only
        parser.add_argument(_flag(name), dest=name, default=None, metavar=_env(name), help=field.description)
    return parser


def _message(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        where = f"{_env(field)} ({_flag(field)})" if field else "settings"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def load_settings(argv: list[str] | None = None) -> ConsumerSettings:
    """Settings from flags over env over defaults; ConfigError names the variable on a bad value."""
    args = _parser().parse_args(argv or [])
    overrides = {name: value for name, value in vars(args).items() if value is not None}
    try:
        settings = ConsumerSettings(**overrides)
    except ValidationError as error:
        raise ConfigError(_message(error)) from None
    found = problems(settings.kafka_security, envs.CONSUMER)
    if found:
        raise ConfigError("; ".join(found))
    return settings
