"""The operator's own settings, from OPERATOR_* environment variables (the Deployment or the Helm chart sets them).

Everything that depends on where the platform runs lives here, never in code or in the CRD: the producer and
consumer images, the default Kafka cluster, how to reach Kafka, the simulator's address and the S3 endpoint and
credentials Secret the consumer uses. See operator/README.md for the table.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_contracts import envs, kafka_security

ENV_PREFIX = "OPERATOR_"
DEFAULT_RESYNC_SECONDS = 60.0
# Strimzi's bootstrap Service in the feed's namespace: the plain listener, or the TLS one when OPERATOR_KAFKA_TLS is on
PLAIN_BOOTSTRAP_TEMPLATE = "{cluster}-kafka-bootstrap:9092"
TLS_BOOTSTRAP_TEMPLATE = "{cluster}-kafka-bootstrap:9093"

TOLERATION_FIELDS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
# Kubernetes' label key ([DNS subdomain prefix/]name of at most 63) and label value, as its validation checks them
LABEL_KEY = re.compile(
    r"^((([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
)
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
TOLERATION_OPERATORS = frozenset({"", "Exists", "Equal"})  # "" is Equal
TAINT_EFFECTS = frozenset({"", "NoSchedule", "PreferNoSchedule", "NoExecute"})  # "" matches every effect

KafkaAuthentication = Literal["none", "scram-sha-512", "tls"]
# strimzi: KafkaTopic/KafkaUser children; external: any Kafka (MSK, Confluent Cloud, ...), topics via the Admin API
KafkaProvider = Literal["strimzi", "external"]
STRIMZI: KafkaProvider = "strimzi"
EXTERNAL: KafkaProvider = "external"


def toleration_problem(toleration: Mapping[str, Any]) -> str | None:
    """What the API server would refuse in a pod's toleration (its ValidateTolerations rules), or None."""
    unknown = sorted(set(toleration) - TOLERATION_FIELDS)
    if unknown:
        return f"unknown fields {unknown} (known: {sorted(TOLERATION_FIELDS)})"
    key, operator, value = toleration.get("key", ""), toleration.get("operator", ""), toleration.get("value", "")
    effect, seconds = toleration.get("effect", ""), toleration.get("tolerationSeconds")
    if not all(isinstance(text, str) for text in (key, operator, value, effect)):
        return "key, operator, value and effect are strings"
    if not LABEL_KEY.match(key) or len(key.split("/")[0]) > 253:
        return f"key {key!r} is not a label key ([prefix/]name, the name at most 63 characters)"
    if not LABEL_VALUE.match(value):
        return f"value {value!r} is not a label value (at most 63 characters)"
    if operator not in TOLERATION_OPERATORS:
        return "operator must be Exists or Equal"
    if effect not in TAINT_EFFECTS:
        return f"effect must be one of {sorted(TAINT_EFFECTS - {''})} (or empty for all)"
    if not key and operator != "Exists":
        return "an empty key tolerates every taint only with operator Exists"
    if operator == "Exists" and value:
        return "operator Exists takes no value"
    if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool) or effect != "NoExecute"):
        return "tolerationSeconds is a whole number of seconds, and only with effect NoExecute"
    return None


class ConfigError(ValueError):
    """An OPERATOR_* variable is missing or unusable; the message names it."""


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # images of the children (skaffold/Helm pass the refs they built)
    producer_image: str = Field(min_length=1)
    consumer_image: str = Field(min_length=1)
    image_pull_policy: str = Field("IfNotPresent", pattern="^(Always|IfNotPresent|Never)$")
    # where the children's pods may run (JSON): nodes with these labels, tolerating these taints
    pod_node_selector: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    pod_tolerations: Annotated[tuple[dict[str, Any], ...], NoDecode] = ()

    # Kafka: the Strimzi cluster a feed uses when spec.kafka.cluster is absent, and its bootstrap address
    kafka_cluster: str = Field("stockfeed", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    kafka_bootstrap_template: str | None = None  # unset: PLAIN_ or TLS_BOOTSTRAP_TEMPLATE, after kafka_tls
    # Kafka security: per feed one KafkaUser for the producer and one for the consumer (none: no users, no change)
    kafka_authentication: KafkaAuthentication = "none"
    kafka_tls: bool = Field(False, validate_default=True)  # TLS to the brokers, checked against the cluster CA
    # Strimzi's cluster CA certificate (key ca.crt): a Secret's name, not a secret
    kafka_ca_secret_template: str = "{cluster}-cluster-ca-cert"  # noqa: S105

    # Kafka without Strimzi (provider external): one bootstrap address for every feed, topics via the Admin API
    kafka_provider: KafkaProvider = STRIMZI
    external_bootstrap: str | None = Field(
        None, validation_alias=AliasChoices(f"{ENV_PREFIX}KAFKA_BOOTSTRAP")
    )  # OPERATOR_KAFKA_BOOTSTRAP (the method kafka_bootstrap() gives a feed its address)
    # the operator's own Admin API client, in the shared vocabulary (stockfeed_contracts.envs, prefix OPERATOR)
    kafka_security_protocol: str = kafka_security.DEFAULT_PROTOCOL
    kafka_sasl_mechanism: str = kafka_security.DEFAULT_MECHANISM
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: str | None = None
    kafka_ssl_ca_file: str | None = None
    kafka_ssl_cert_file: str | None = None
    kafka_ssl_key_file: str | None = None
    # the producer's and consumer's credentials: a Secret in each feed's namespace (keys: external_kafka.py)
    kafka_client_secret: str | None = None
    kafka_admin_timeout: float = Field(15.0, gt=0)  # seconds per Admin API request

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

    @field_validator("pod_node_selector", "pod_tolerations", mode="before")
    @classmethod
    def _json(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():  # an empty variable is an unset one
            return {} if info.field_name == "pod_node_selector" else ()
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not JSON ({error.msg} at character {error.pos})") from None

    @field_validator("pod_tolerations")
    @classmethod
    def _tolerations_are_kubernetes_tolerations(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for index, toleration in enumerate(value):
            problem = toleration_problem(toleration)
            if problem:
                raise ValueError(f"toleration {index}: {problem}")
        return value

    @field_validator("posting_level", "log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("kafka_bootstrap_template", "kafka_ca_secret_template")
    @classmethod
    def _template_names_cluster(cls, value: str | None) -> str | None:
        try:
            (value or "").format(cluster="x")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"only {{cluster}} may be substituted ({error})") from None
        return value

    @field_validator("kafka_tls")
    @classmethod
    def _mutual_tls_is_tls(cls, value: bool, info: ValidationInfo) -> bool:
        # fields validate in declaration order, so kafka_authentication is already in info.data
        if info.data.get("kafka_authentication") == "tls" and not value:
            raise ValueError(f"must be true when {ENV_PREFIX}KAFKA_AUTHENTICATION is tls (client certificates are TLS)")
        return value

    @model_validator(mode="after")
    def _external_is_complete(self) -> OperatorSettings:
        if self.kafka_provider != EXTERNAL:
            return self
        found = []
        if not self.external_bootstrap:
            found.append(f"{ENV_PREFIX}KAFKA_BOOTSTRAP is required with {ENV_PREFIX}KAFKA_PROVIDER=external")
        if self.kafka_authentication != "none":
            found.append(
                f"{ENV_PREFIX}KAFKA_AUTHENTICATION makes Strimzi KafkaUsers: with {ENV_PREFIX}KAFKA_PROVIDER=external "
                f"set {ENV_PREFIX}KAFKA_SECURITY_PROTOCOL and {ENV_PREFIX}KAFKA_CLIENT_SECRET instead"
            )
        if self.kafka_tls:
            found.append(
                f"{ENV_PREFIX}KAFKA_TLS is Strimzi's cluster CA: with {ENV_PREFIX}KAFKA_PROVIDER=external "
                f"set {ENV_PREFIX}KAFKA_SECURITY_PROTOCOL (SSL or SASL_SSL) and {ENV_PREFIX}KAFKA_SSL_CA_FILE"
            )
        if self.kafka_sasl_password and self.kafka_sasl_password_file:
            found.append(
                f"{ENV_PREFIX}KAFKA_SASL_PASSWORD and {ENV_PREFIX}KAFKA_SASL_PASSWORD_FILE are both set; use one"
            )
        security = self.admin_security()
        found += kafka_security.problems(security, ENV_PREFIX.rstrip("_"))
        if security.protocol != "PLAINTEXT" and not self.kafka_client_secret:
            found.append(
                f"{ENV_PREFIX}KAFKA_CLIENT_SECRET is required with {ENV_PREFIX}KAFKA_SECURITY_PROTOCOL="
                f"{security.protocol}: the Secret the producer and consumer take their Kafka credentials from"
            )
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def external(self) -> bool:
        return self.kafka_provider == EXTERNAL

    def admin_security(self) -> kafka_security.KafkaSecurity:
        """The operator's own Kafka client security (external provider); the password is read from its file."""
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        if password is None and self.kafka_sasl_password_file:
            password = _read_secret_file(self.kafka_sasl_password_file)
        return kafka_security.from_settings(self, password)

    def kafka_bootstrap(self, cluster: str) -> str:
        if self.external and self.external_bootstrap:
            return self.external_bootstrap  # one Kafka for every feed: spec.kafka.cluster only names it
        default = TLS_BOOTSTRAP_TEMPLATE if self.kafka_tls else PLAIN_BOOTSTRAP_TEMPLATE
        return (self.kafka_bootstrap_template or default).format(cluster=cluster)

    def kafka_ca_secret(self, cluster: str) -> str:
        return self.kafka_ca_secret_template.format(cluster=cluster)

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
    # pydantic-settings reads os.environ; an explicit mapping (tests) goes through the same field names
    # (and the full names, for fields known by an alias such as OPERATOR_KAFKA_BOOTSTRAP).
    ours = {key.upper(): value for key, value in env.items() if key.upper().startswith(ENV_PREFIX)}
    values = {key[len(ENV_PREFIX) :].lower(): value for key, value in ours.items()}
    return OperatorSettings.model_validate({**values, **ours})


def _read_secret_file(path: str) -> str | None:
    """An empty file is no password (kafka_security.problems then names the variable as missing)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as error:
        raise ValueError(f"{ENV_PREFIX}KAFKA_SASL_PASSWORD_FILE: cannot read {path}: {error.strerror}") from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        if not item["loc"]:  # a rule across fields: its message names the variables
            problems.append(str(item["msg"]).removeprefix("Value error, "))
            continue
        field = str(item["loc"][0])
        variable = field.upper() if field.upper().startswith(ENV_PREFIX) else f"{ENV_PREFIX}{field.upper()}"
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
