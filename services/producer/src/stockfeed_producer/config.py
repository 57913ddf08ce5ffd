"""Producer settings: PRODUCER_* environment variables, overridden by flags; secrets (the API key, the Kafka
password) from env or a file only.

`load_settings` raises ConfigError naming the variable to fix; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import (
    DEFAULT_MECHANISM,
    DEFAULT_PROTOCOL,
    KafkaSecurity,
    from_settings,
    problems,
)
from stockfeed_contracts.lake import QUOTES_TOPIC, SYMBOL_PATTERN, TRADES_TOPIC

ENV_PREFIX = "PRODUCER_"
FINNHUB_API_URL = "https://finnhub.io/api/v1"
FINNHUB_WS_URL = "wss://ws.finnhub.io"
# never a flag: flags end up in `ps` and shell history
SECRET_FIELDS = frozenset({"finnhub_api_key", "kafka_sasl_password"})
FINNHUB_HOSTS = ("finnhub.io",)  # the key goes to these hosts (and their subdomains) over TLS, nowhere else
KEY_SCHEMES = frozenset({"https", "wss"})


class ConfigError(ValueError):
    """A setting we cannot run with; the message starts with the variable to change."""


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ProducerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    mode: Literal["quotes", "trades"] = Field("quotes", description="quotes: poll /quote; trades: the WebSocket.")
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"], description="Comma-separated tickers."
    )
    feed: str = Field("default", min_length=1, max_length=63, description="Feed name written into every message.")
    api_url: str | None = Field(None, description="REST base URL; required without a Finnhub key (the simulator).")
    ws_url: str | None = Field(None, description="Trades WebSocket URL; default derived from the REST base.")
    source: Literal["finnhub", "simulator"] | None = Field(None, description="Default: from the API host.")
    finnhub_api_key: SecretStr | None = Field(None, description="Env only (PRODUCER_FINNHUB_API_KEY).")
    finnhub_api_key_file: Path | None = Field(None, description="A mounted file holding the key.")
    finnhub_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(FINNHUB_HOSTS),
        description="Comma-separated hosts (and their subdomains) the key may be sent to, over https/wss only.",
    )

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers.")
    kafka_security_protocol: str = Field(DEFAULT_PROTOCOL, description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
    kafka_sasl_mechanism: str = Field(DEFAULT_MECHANISM, description="SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN.")
    kafka_sasl_username: str | None = Field(None, description="The KafkaUser's name (SASL).")
    kafka_sasl_password: SecretStr | None = Field(None, description="Env only (PRODUCER_KAFKA_SASL_PASSWORD).")
    kafka_sasl_password_file: Path | None = Field(None, description="A mounted file holding the Kafka password.")
    kafka_ssl_ca_file: str | None = Field(None, description="PEM CA bundle for the broker (default: system CAs).")
    kafka_ssl_cert_file: str | None = Field(None, description="mTLS: the client certificate (PEM).")
    kafka_ssl_key_file: str | None = Field(None, description="mTLS: the client key (PEM).")
    quotes_topic: str = Field(QUOTES_TOPIC, min_length=1, description="Topic for quote.v1 messages.")
    trades_topic: str = Field(TRADES_TOPIC, min_length=1, description="Topic for trade.v1 messages.")
    kafka_compression: Literal["lz4", "zstd", "gzip", "snappy", "none"] = Field("lz4", description="Compression.")
    kafka_linger_ms: int = Field(20, ge=0, description="How long librdkafka waits to fill a batch.")
    kafka_queue_max_messages: int = Field(100_000, ge=1, description="Bound of the local queue (back-pressure).")
    kafka_queue_max_kbytes: int = Field(65_536, ge=1, description="Bound of the local queue in KiB.")
    kafka_message_timeout_ms: int = Field(300_000, ge=1_000, description="Give up (and log) a delivery after this.")
    flush_timeout_seconds: float = Field(30.0, ge=0, description="How long shutdown waits for deliveries.")

    plan_calls_per_minute: int = Field(60, ge=1, description="The API plan's per-minute limit (free: 60).")
    plan_calls_per_second: int = Field(30, ge=1, description="The API plan's per-second cap (all plans: 30).")
    rate_headroom: float = Field(0.03, ge=0, lt=1, description="Share of the plan left unused against jitter.")
    rate_burst: int = Field(1, ge=1, description="Token bucket capacity: calls allowed back to back.")
    request_timeout_seconds: float = Field(5.0, gt=0, description="Read timeout of every REST call.")
    connect_timeout_seconds: float = Field(3.0, gt=0, description="Connect timeout of every REST call.")
    max_attempts: int = Field(4, ge=1, description="Calls per symbol and round before giving up on it.")
    backoff_base_seconds: float = Field(0.5, gt=0, description="First backoff step (doubles per attempt).")
    backoff_max_seconds: float = Field(30.0, gt=0, description="Largest backoff step.")
    max_rate_limit_wait_seconds: float = Field(65.0, gt=0, description="Cap on a wait for X-Ratelimit-Reset.")
    republish_unchanged: bool = Field(False, description="Publish a quote again even when its t did not move.")
    validate_quotes: bool = Field(True, description="Check each quote against quote.v1 before producing it.")
    validate_trades: bool = Field(
        False,
        description="Also check each trade against trade.v1 (the trade encoder always applies trade.v1's rules to the "
        "trade fields; this full check costs about as much again per trade).",
    )

    ws_max_symbols: int = Field(50, ge=1, description="Symbols one WebSocket may subscribe (free plan: 50).")
    ws_idle_timeout_seconds: float = Field(30.0, gt=0, description="Reconnect when nothing (not even a ping) came.")
    ws_open_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of the WebSocket handshake.")

    metrics_host: str = Field("127.0.0.1", description="Address of /metrics and /healthz (0.0.0.0 in a pod).")
    metrics_port: int = Field(8000, ge=0, le=65535, description="Port of /metrics and /healthz.")
    health_stale_seconds: float = Field(120.0, gt=0, description="/healthz fails when the loop is stuck longer.")
    log_level: str = Field("INFO", description="Python logging level.")

    _api_key: SecretStr | None = PrivateAttr(default=None)
    _kafka_password: SecretStr | None = PrivateAttr(default=None)

    _split = field_validator("symbols", "finnhub_hosts", mode="before")(_split_commas)

    @field_validator("symbols")
    @classmethod
    def _valid_symbols(cls, symbols: list[str]) -> list[str]:
        bad = [symbol for symbol in symbols if not SYMBOL_PATTERN.fullmatch(symbol)]
        if bad:
            raise ValueError(f"not ticker symbols (upper case, e.g. AAPL, BRK.B): {', '.join(bad)}")
        if not symbols:
            raise ValueError("at least one symbol is needed")
        return list(dict.fromkeys(symbols))  # drop repeats, keep the order

    # --- derived values --------------------------------------------------------------------------------------

    @property
    def api_key(self) -> SecretStr | None:
        return self._api_key

    @property
    def kafka_security(self) -> KafkaSecurity:
        password = self._kafka_password
        return from_settings(self, password.get_secret_value() if password is not None else None)

    @property
    def rest_base_url(self) -> str:
        return (self.api_url or FINNHUB_API_URL).rstrip("/")

    @property
    def trades_ws_url(self) -> str:
        """Without a token (it is added at connect time and never logged)."""
        if self.ws_url:
            return self.ws_url
        if self.api_url is None:
            return FINNHUB_WS_URL
        parts = urlsplit(self.api_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, "/", "", ""))

    @property
    def message_source(self) -> Literal["finnhub", "simulator"]:
        if self.source is not None:
            return self.source
        host = urlsplit(self.rest_base_url).hostname or ""
        return "finnhub" if host == "finnhub.io" or host.endswith(".finnhub.io") else "simulator"

    @property
    def topic(self) -> str:
        return self.quotes_topic if self.mode == "quotes" else self.trades_topic


def variable(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _read_secret_file(field: str, path: Path) -> SecretStr:
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"{variable(field)}: cannot read {path}: {error.strerror}") from None
    if not text:
        raise ConfigError(f"{variable(field)}: {path} is empty")
    return SecretStr(text)


def _secret(settings: ProducerSettings, field: str) -> SecretStr | None:
    """A secret from its variable or from the file `<field>_FILE` names (not both); blank counts as unset."""
    value: SecretStr | None = getattr(settings, field)
    path: Path | None = getattr(settings, f"{field}_file")
    if value is not None and path is not None:
        raise ConfigError(f"{variable(field)} and {variable(field + '_file')} are both set; set only one")
    if path is not None:
        value = _read_secret_file(field + "_file", path)
    if value is not None and not value.get_secret_value().strip():
        value = None
    return value


def _check(settings: ProducerSettings) -> None:
    key = _secret(settings, "finnhub_api_key")
    if key is None and settings.api_url is None:
        raise ConfigError(
            f"{variable('api_url')} is required when no Finnhub key is set "
            f"({variable('finnhub_api_key')} or {variable('finnhub_api_key_file')}): point it at the simulator, "
            "e.g. http://simulator:8080/api/v1"
        )
    if key is not None:
        _check_key_destinations(settings)
    if settings.mode == "trades" and len(settings.symbols) > settings.ws_max_symbols:
        raise ConfigError(
            f"{variable('symbols')}: {len(settings.symbols)} symbols, but one WebSocket may subscribe at most "
            f"{settings.ws_max_symbols} ({variable('ws_max_symbols')}; Finnhub's free plan allows 50)"
        )
    settings._api_key = key
    settings._kafka_password = _secret(settings, "kafka_sasl_password")
    found = problems(settings.kafka_security, envs.PRODUCER)
    if found:
        raise ConfigError("; ".join(found))


def key_may_go_to(url: str, finnhub_hosts: list[str]) -> bool:
    """True for https/wss to a Finnhub host (or a subdomain), or for a simulator on this machine's loopback."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.username is not None or parts.password is not None:
        return False
    if host == "localhost" or _is_loopback_address(host):
        return parts.scheme in {"http", "https", "ws", "wss"}
    trusted = [name.lower().strip().rstrip(".") for name in finnhub_hosts if name.strip()]
    return parts.scheme in KEY_SCHEMES and any(host == name or host.endswith("." + name) for name in trusted)


def _check_key_destinations(settings: ProducerSettings) -> None:
    """A key is sent only to Finnhub over TLS: a feed must not be able to carry it anywhere else."""
    hosts = ", ".join(settings.finnhub_hosts)
    urls = [("api_url", settings.rest_base_url)]
    if settings.mode == "trades" or settings.ws_url:
        urls.append(("ws_url" if settings.ws_url else "api_url", settings.trades_ws_url))
    for field, url in urls:
        if not key_may_go_to(url, settings.finnhub_hosts):
            raise ConfigError(
                f"{variable(field)}: an API key is set, and it is only ever sent over https/wss to {hosts} "
                f"({variable('finnhub_hosts')}) or to a simulator on loopback; refusing {_without_secrets(url)}"
            )


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _without_secrets(url: str) -> str:
    """scheme://host/path: no user:password, query or fragment (a token could sit in any of them)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def load_settings(flags: Mapping[str, Any] | None = None) -> ProducerSettings:
    """Settings from PRODUCER_* variables overridden by `flags`; checked, and the key file read."""
    overrides = {name: value for name, value in (flags or {}).items() if value is not None}
    leaked = SECRET_FIELDS & overrides.keys()
    if leaked:
        raise ConfigError(f"{variable(next(iter(leaked)))}: a secret is read from the environment or a file only")
    try:
        settings = ProducerSettings(**overrides)
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        raise ConfigError(f"{variable(field)}: {problem['msg']}") from None
    _check(settings)
    return settings
