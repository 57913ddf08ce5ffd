"""One vocabulary for the settings the components share, and the one place that renders a component's environment.

Every service that reaches Kafka or S3 names those settings with the same suffixes after its own prefix:

    <PREFIX>_KAFKA_BOOTSTRAP
    <PREFIX>_KAFKA_SECURITY_PROTOCOL  <PREFIX>_KAFKA_SASL_MECHANISM  <PREFIX>_KAFKA_SASL_USERNAME
    <PREFIX>_KAFKA_SASL_PASSWORD[_FILE]
    <PREFIX>_KAFKA_SSL_CA_FILE  <PREFIX>_KAFKA_SSL_CERT_FILE  <PREFIX>_KAFKA_SSL_KEY_FILE
    <PREFIX>_S3_ENDPOINT_URL  <PREFIX>_S3_REGION
    <PREFIX>_S3_ACCESS_KEY_ID[_FILE]  <PREFIX>_S3_SECRET_ACCESS_KEY[_FILE]

`producer_env`, `consumer_env` and `loader_env` take plain values and return the plain (non-secret) variables of
that component; credentials are rendered by the caller under `s3_credential_variables(...)`'s names (the
operator as secretKeyRef entries, the demo as values, the chart in its Secret). The operator, `make demo` and
the chart use these names; tests/deploy/test_env_vocabulary.py shows the three agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from stockfeed_contracts.lake import DEFAULT_BUCKET, DEFAULT_PREFIX

PRODUCER = "PRODUCER"
CONSUMER = "CONSUMER"
LOADER = "LOADER"

KAFKA_BOOTSTRAP = "KAFKA_BOOTSTRAP"
# how a client authenticates to Kafka and checks the broker (stockfeed_contracts.kafka_security renders them)
KAFKA_SECURITY_PROTOCOL = "KAFKA_SECURITY_PROTOCOL"  # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
KAFKA_SASL_MECHANISM = "KAFKA_SASL_MECHANISM"  # SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN
KAFKA_SASL_USERNAME = "KAFKA_SASL_USERNAME"
KAFKA_SASL_PASSWORD = "KAFKA_SASL_PASSWORD"  # noqa: S105 - a variable's name; also readable from <name>_FILE
KAFKA_SSL_CA_FILE = "KAFKA_SSL_CA_FILE"  # PEM bundle the broker's certificate must chain to (unset: system CAs)
KAFKA_SSL_CERT_FILE = "KAFKA_SSL_CERT_FILE"  # mTLS: the client's certificate (PEM)
KAFKA_SSL_KEY_FILE = "KAFKA_SSL_KEY_FILE"  # mTLS: the client's private key (PEM)
S3_ENDPOINT_URL = "S3_ENDPOINT_URL"
S3_REGION = "S3_REGION"
S3_ACCESS_KEY_ID = "S3_ACCESS_KEY_ID"
S3_SECRET_ACCESS_KEY = "S3_SECRET_ACCESS_KEY"  # noqa: S105 - a variable's name, not a secret
FILE = "_FILE"  # `<NAME>_FILE`: the value is read from the mounted file it names
SHARED_KAFKA = (
    KAFKA_BOOTSTRAP,
    KAFKA_SECURITY_PROTOCOL,
    KAFKA_SASL_MECHANISM,
    KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD,
    KAFKA_SSL_CA_FILE,
    KAFKA_SSL_CERT_FILE,
    KAFKA_SSL_KEY_FILE,
)
SHARED_S3 = (S3_ENDPOINT_URL, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)

# the names these replaced; each service still reads them (deprecated) so running deployments keep working
DEPRECATED = {
    "CONSUMER_BOOTSTRAP_SERVERS": "CONSUMER_KAFKA_BOOTSTRAP",
    "CONSUMER_S3_ENDPOINT": "CONSUMER_S3_ENDPOINT_URL",
    "CONSUMER_S3_ACCESS_KEY": "CONSUMER_S3_ACCESS_KEY_ID",
    "CONSUMER_S3_ACCESS_KEY_FILE": "CONSUMER_S3_ACCESS_KEY_ID_FILE",
    "CONSUMER_S3_SECRET_KEY": "CONSUMER_S3_SECRET_ACCESS_KEY",
    "CONSUMER_S3_SECRET_KEY_FILE": "CONSUMER_S3_SECRET_ACCESS_KEY_FILE",
    "OPERATOR_S3_ENDPOINT": "OPERATOR_S3_ENDPOINT_URL",
}


def variable(component: str, suffix: str) -> str:
    """`CONSUMER` + `S3_REGION` -> `CONSUMER_S3_REGION`."""
    return f"{component}_{suffix}"


def deprecated_names(new_name: str) -> tuple[str, ...]:
    """The old names of `new_name` a service still accepts (for pydantic AliasChoices)."""
    return tuple(old for old, new in DEPRECATED.items() if new == new_name)


def kafka_env(component: str, bootstrap: str) -> dict[str, str]:
    return {variable(component, KAFKA_BOOTSTRAP): bootstrap}


def kafka_security_env(
    component: str,
    *,
    protocol: str,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    ssl_ca_file: str | None = None,
    ssl_cert_file: str | None = None,
    ssl_key_file: str | None = None,
) -> dict[str, str]:
    """How `component` authenticates to Kafka, without the password (the caller renders
    `<PREFIX>_KAFKA_SASL_PASSWORD` from a Secret, or `_FILE` naming a mounted one)."""
    env = {variable(component, KAFKA_SECURITY_PROTOCOL): protocol}
    optional = {
        KAFKA_SASL_MECHANISM: sasl_mechanism,
        KAFKA_SASL_USERNAME: sasl_username,
        KAFKA_SSL_CA_FILE: ssl_ca_file,
        KAFKA_SSL_CERT_FILE: ssl_cert_file,
        KAFKA_SSL_KEY_FILE: ssl_key_file,
    }
    env.update({variable(component, suffix): value for suffix, value in optional.items() if value})
    return env


def s3_env(component: str, endpoint_url: str | None, region: str) -> dict[str, str]:
    """Where S3 is; no endpoint means the AWS endpoint of `region` (the variable is then left out)."""
    env = {variable(component, S3_REGION): region}
    if endpoint_url:
        env[variable(component, S3_ENDPOINT_URL)] = endpoint_url
    return env


def s3_credential_variables(component: str) -> tuple[str, str]:
    """The names of the access key id and the secret access key (each also readable from `<name>_FILE`)."""
    return variable(component, S3_ACCESS_KEY_ID), variable(component, S3_SECRET_ACCESS_KEY)


def s3_credentials_env(component: str, access_key_id: str, secret_access_key: str) -> dict[str, str]:
    """The credentials as plain values: only for processes on this machine (`make demo`), never a ConfigMap."""
    key_id, secret = s3_credential_variables(component)
    return {key_id: access_key_id, secret: secret_access_key}


def metrics_env(component: str, host: str | None, port: int | None) -> dict[str, str]:
    env = {}
    if host is not None:
        env[variable(component, "METRICS_HOST")] = host
    if port is not None:
        env[variable(component, "METRICS_PORT")] = str(port)
    return env


def producer_env(
    *,
    mode: str,
    feed: str,
    symbols: Sequence[str],
    kafka_bootstrap: str,
    topic: str,
    source: str | None = None,
    api_url: str | None = None,
    plan_calls_per_minute: int | None = None,
    metrics_host: str | None = None,
    metrics_port: int | None = None,
) -> dict[str, str]:
    """A producer of one feed: quotes or trades of `symbols` into `topic`."""
    env = {
        variable(PRODUCER, "MODE"): mode,
        variable(PRODUCER, "FEED"): feed,
        variable(PRODUCER, "SYMBOLS"): ",".join(symbols),
        **kafka_env(PRODUCER, kafka_bootstrap),
        variable(PRODUCER, "QUOTES_TOPIC" if mode == "quotes" else "TRADES_TOPIC"): topic,
        **metrics_env(PRODUCER, metrics_host, metrics_port),
    }
    if source is not None:
        env[variable(PRODUCER, "SOURCE")] = source
    if api_url:
        env[variable(PRODUCER, "API_URL")] = api_url
    if plan_calls_per_minute is not None:
        env[variable(PRODUCER, "PLAN_CALLS_PER_MINUTE")] = str(plan_calls_per_minute)
    return env


def consumer_env(
    *,
    kafka_bootstrap: str,
    topics: Sequence[str],
    s3_endpoint_url: str | None,
    s3_region: str,
    bucket: str = DEFAULT_BUCKET,
    prefix: str = DEFAULT_PREFIX,
    group_id: str | None = None,
    expected_schema: str | None = None,
    metrics_host: str | None = None,
    metrics_port: int | None = None,
) -> dict[str, str]:
    """A bronze writer of `topics` into `bucket` under `prefix` (the loader discovers `<prefix>/topic=<t>/`)."""
    env = {
        **kafka_env(CONSUMER, kafka_bootstrap),
        variable(CONSUMER, "TOPICS"): ",".join(topics),
        variable(CONSUMER, "BUCKET"): bucket,
        variable(CONSUMER, "PREFIX"): prefix,
        **s3_env(CONSUMER, s3_endpoint_url, s3_region),
        **metrics_env(CONSUMER, metrics_host, metrics_port),
    }
    if group_id is not None:
        env[variable(CONSUMER, "GROUP_ID")] = group_id
    if expected_schema is not None:
        env[variable(CONSUMER, "EXPECTED_SCHEMA")] = expected_schema
    return env


def loader_env(
    *,
    s3_endpoint_url: str | None,
    s3_region: str,
    bucket: str = DEFAULT_BUCKET,
    prefix: str = DEFAULT_PREFIX,
    topics: Sequence[str] = (),
    duckdb_path: str | None = None,
) -> dict[str, str]:
    """A loader of every topic under `prefix` (or only `topics`), into DuckDB at `duckdb_path` when given."""
    env = {
        variable(LOADER, "BUCKET"): bucket,
        variable(LOADER, "PREFIX"): prefix,
        **s3_env(LOADER, s3_endpoint_url, s3_region),
    }
    if topics:
        env[variable(LOADER, "TOPICS")] = ",".join(topics)
    if duckdb_path is not None:
        env[variable(LOADER, "DUCKDB_PATH")] = duckdb_path
    return env
