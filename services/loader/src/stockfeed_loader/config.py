"""Settings from LOADER_* environment variables (and CLI flags); secrets also from `LOADER_*_FILE` files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_contracts.lake import DEFAULT_BUCKET, DEFAULT_PREFIX, OBJECT_SUFFIX, is_topic_name
from stockfeed_loader.errors import ConfigError

ENV_PREFIX = "LOADER_"
# checked with fullmatch: `$` would also accept a trailing newline
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
# fields that hold secrets: their values never appear in messages
_SECRET_FIELDS = frozenset({"s3_secret_access_key", "snowflake_password", "snowflake_private_key_passphrase"})


class TargetKind(StrEnum):
    AUTO = "auto"  # Snowflake when an account is configured, else DuckDB
    DUCKDB = "duckdb"
    SNOWFLAKE = "snowflake"


class LoaderSettings(BaseSettings):
    """Everything a run needs; see services/loader/README.md for each variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # source
    bucket: str = DEFAULT_BUCKET
    prefix: str = DEFAULT_PREFIX  # every `topic=<name>/` directory below it is discovered and loaded
    topics: Annotated[tuple[str, ...], NoDecode] = ()  # allow-list of topics; empty: every discovered topic
    prefixes: Annotated[tuple[str, ...], NoDecode] = ()  # explicit topic directories instead of discovery
    key_suffix: str = OBJECT_SUFFIX
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_access_key_id_file: Path | None = None  # the shared S3 vocabulary: each key also from a mounted file
    s3_secret_access_key: SecretStr | None = None
    s3_secret_access_key_file: Path | None = None

    # what a run does
    recheck_hours: int = Field(default=1, ge=0, le=24 * 31)
    full_rescan: bool = False
    max_objects: int = Field(default=10_000, ge=0)  # per run; 0 = no limit
    batch_objects: int = Field(default=200, ge=1, le=10_000)
    batch_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    fetch_concurrency: int = Field(default=8, ge=1, le=64)
    validate_contract: bool = True
    # caps that keep one object from exhausting memory, disk or time: an object past one is quarantined
    max_object_bytes: int = Field(default=512 * 1024 * 1024, ge=1)  # compressed, as stored
    max_decompressed_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1)
    max_line_bytes: int = Field(default=1024 * 1024, ge=64)
    # an object whose dt=/hour= is more than this ahead of the clock is quarantined and never the watermark
    max_future_hours: int = Field(default=2, ge=0, le=24 * 366)
    dry_run: bool = False
    # after a finished run (not a dry run), its counts as JSON for the DAG; the directory must exist
    report_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # warehouse (names shared by both targets; DuckDB's database is its file)
    target: TargetKind = TargetKind.AUTO
    duckdb_path: Path = Path("stocks_mds.duckdb")
    database: str = "STOCKS_MDS"
    schema_name: str = Field(default="COMMON", validation_alias=AliasChoices(f"{ENV_PREFIX}SCHEMA", "schema_name"))
    table: str = "BRONZE_STOCK_QUOTES_RAW"
    ledger_table: str = "BRONZE_LOAD_LEDGER"

    # Snowflake
    snowflake_account: str | None = None
    snowflake_user: str | None = None
    snowflake_password: SecretStr | None = None
    snowflake_password_file: Path | None = None
    snowflake_private_key_file: Path | None = None
    snowflake_private_key_passphrase: SecretStr | None = None
    snowflake_private_key_passphrase_file: Path | None = None
    snowflake_role: str | None = None
    snowflake_warehouse: str | None = None
    snowflake_host: str | None = None  # only for a non-default endpoint (e.g. the fakesnow stand-in)
    snowflake_port: int | None = Field(default=None, ge=1, le=65535)
    snowflake_protocol: str = Field(default="https", pattern="^https?$")
    snowflake_network_timeout: int = Field(default=60, ge=1)
    snowflake_login_timeout: int = Field(default=60, ge=1)
    snowflake_stage: str = "STOCKFEED_LOADER_STAGE"
    snowflake_landing_table: str = "STOCKFEED_LOADER_LANDING"

    # test-only: SIGKILL the process at a point of a batch: "after-copy" (first batch) or "after-copy:2"
    test_kill_at: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("report_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # a chart renders an unset value as "": that means no report, not a report at "."
        return None if value == "" else value

    @field_validator("prefixes", "topics", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for topic in value:
            if not is_topic_name(topic):
                raise ValueError(f"{topic!r} is not a Kafka topic name")
        return value

    @field_validator("prefixes")
    @classmethod
    def _directory_prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix.endswith("/"):
                raise ValueError(f"{prefix!r} must end with '/' (one topic directory per prefix)")
        return value

    @field_validator("database", "schema_name", "table", "ledger_table", "snowflake_stage", "snowflake_landing_table")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain SQL identifier (letters, digits, _ and $)")
        return value.upper()

    @field_validator("test_kill_at")
    @classmethod
    def _known_kill_point(cls, value: str | None) -> str | None:
        if not value:
            return None
        point, separator, nth = value.partition(":")
        if point not in KILL_POINTS or (separator and not (nth.isdigit() and int(nth) >= 1)):
            raise ValueError(f"{value!r} is not one of {', '.join(KILL_POINTS)}, optionally with :N (N >= 1)")
        return value

    @property
    def resolved_target(self) -> TargetKind:
        if self.target is TargetKind.AUTO:
            return TargetKind.SNOWFLAKE if self.snowflake_account else TargetKind.DUCKDB
        return self.target


KILL_POINTS = ("after-stage", "after-copy", "before-commit")


@dataclass(frozen=True)
class SnowflakeCredentials:
    """Exactly one of a password or a private key (PEM bytes, with its passphrase if encrypted)."""

    password: str | None
    private_key_pem: bytes | None
    private_key_passphrase: str | None


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return f"{ENV_PREFIX}SCHEMA" if field == "schema_name" else f"{ENV_PREFIX}{field.upper()}"


def load_settings(**overrides: Any) -> LoaderSettings:
    """Settings from the environment, `overrides` (CLI flags) winning; ConfigError names the bad variable."""
    try:
        settings = LoaderSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    check_target(settings)
    return settings


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        shown = "" if field in _SECRET_FIELDS or "input" not in item else f" (got {item['input']!r})"
        problems.append(f"{env_name(field)}: {item['msg']}{shown}")
    return "; ".join(problems)


def check_target(settings: LoaderSettings) -> None:
    """The target's own required settings are present and consistent."""
    if settings.resolved_target is TargetKind.SNOWFLAKE:
        for field in ("snowflake_account", "snowflake_user"):
            if not getattr(settings, field):
                raise ConfigError(f"{env_name(field)} is required for the Snowflake target")
        snowflake_credentials(settings)


def read_secret(settings: LoaderSettings, field: str) -> str | None:
    """A secret from `LOADER_X` or the file named by `LOADER_X_FILE` (not both); trailing newline dropped."""
    value: SecretStr | None = getattr(settings, field)
    path: Path | None = getattr(settings, f"{field}_file")
    if value is not None and path is not None:
        raise ConfigError(f"set {env_name(field)} or {env_name(field + '_file')}, not both")
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise ConfigError(f"{env_name(field + '_file')}: cannot read {path}: {error.strerror}") from None
    return value.get_secret_value() if value is not None else None


def s3_secret(settings: LoaderSettings) -> str | None:
    return read_secret(settings, "s3_secret_access_key")


def s3_access_key_id(settings: LoaderSettings) -> str | None:
    """`LOADER_S3_ACCESS_KEY_ID`, or the file `LOADER_S3_ACCESS_KEY_ID_FILE` names (not both)."""
    path = settings.s3_access_key_id_file
    if path is None:
        return settings.s3_access_key_id
    if settings.s3_access_key_id is not None:
        raise ConfigError(f"set {env_name('s3_access_key_id')} or {env_name('s3_access_key_id_file')}, not both")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{env_name('s3_access_key_id_file')}: cannot read {path}: {error.strerror}") from None


def snowflake_credentials(settings: LoaderSettings) -> SnowflakeCredentials:
    password = read_secret(settings, "snowflake_password")
    key_path = settings.snowflake_private_key_file
    if password and key_path:
        raise ConfigError(f"set {env_name('snowflake_password')} or {env_name('snowflake_private_key_file')}, not both")
    if not password and not key_path:
        raise ConfigError(
            f"the Snowflake target needs {env_name('snowflake_password')} (or _FILE) "
            f"or {env_name('snowflake_private_key_file')}"
        )
    pem = None
    if key_path is not None:
        try:
            pem = key_path.read_bytes()
        except OSError as error:
            raise ConfigError(
                f"{env_name('snowflake_private_key_file')}: cannot read {key_path}: {error.strerror}"
            ) from None
    return SnowflakeCredentials(
        password=password,
        private_key_pem=pem,
        private_key_passphrase=read_secret(settings, "snowflake_private_key_passphrase"),
    )
