"""How a feed component authenticates to Kafka and checks the broker: one description, its librdkafka properties,
the problems of a setting (each naming the variable to fix) and what a client-side Kafka error means.

The producer and the consumer read `<PREFIX>_KAFKA_SECURITY_PROTOCOL` etc. (stockfeed_contracts.envs) into a
`KafkaSecurity` and build their librdkafka configuration with `librdkafka_properties`, so both speak to a
Strimzi listener (SCRAM-SHA-512 over TLS, or mTLS) the same way. Pure: no Kafka client is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from stockfeed_contracts import envs

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_PROTOCOL = "PLAINTEXT"
DEFAULT_MECHANISM = "SCRAM-SHA-512"  # what Strimzi's KafkaUser `authentication.type: scram-sha-512` creates


@dataclass(frozen=True)
class KafkaSecurity:
    """One client's Kafka security settings. Protocol and mechanism are case-insensitive (kept in upper case);
    the password never appears in repr()."""

    protocol: str = DEFAULT_PROTOCOL
    sasl_mechanism: str = DEFAULT_MECHANISM
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_file: str | None = None
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None

    def __post_init__(self) -> None:
        # frozen: normalise once, here (an empty variable means "not set")
        object.__setattr__(self, "protocol", (self.protocol or DEFAULT_PROTOCOL).strip().upper())
        object.__setattr__(self, "sasl_mechanism", (self.sasl_mechanism or DEFAULT_MECHANISM).strip().upper())
        for name in ("sasl_username", "ssl_ca_file", "ssl_cert_file", "ssl_key_file"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value.strip() or None) if value is not None else None)
        if self.sasl_password == "":
            object.__setattr__(self, "sasl_password", None)

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def principal(self) -> str:
        """Who the broker will see, for messages: the SASL user, the certificate's subject, or anonymous."""
        if self.uses_sasl:
            return f"User:{self.sasl_username}"
        if self.uses_tls and self.ssl_cert_file:
            return f"the subject of the client certificate {self.ssl_cert_file}"
        return "User:ANONYMOUS"

    def redact(self, text: str) -> str:
        """`text` without the password: for any client message that reaches a log (none is known to quote it)."""
        return text.replace(self.sasl_password, "***") if self.sasl_password else text

    def summary(self) -> str:
        """For the start-up log line: everything but the password."""
        parts = [f"protocol={self.protocol}"]
        if self.uses_sasl:
            parts += [f"mechanism={self.sasl_mechanism}", f"user={self.sasl_username}"]
        if self.uses_tls:
            parts.append(f"ca={self.ssl_ca_file or 'system'}")
            if self.ssl_cert_file:
                parts.append(f"cert={self.ssl_cert_file}")
        return " ".join(parts)


class KafkaClientSettings(Protocol):
    """A component's settings with the shared Kafka security fields (their variables: stockfeed_contracts.envs)."""

    @property
    def kafka_security_protocol(self) -> str: ...
    @property
    def kafka_sasl_mechanism(self) -> str: ...
    @property
    def kafka_sasl_username(self) -> str | None: ...
    @property
    def kafka_ssl_ca_file(self) -> str | None: ...
    @property
    def kafka_ssl_cert_file(self) -> str | None: ...
    @property
    def kafka_ssl_key_file(self) -> str | None: ...


def from_settings(settings: KafkaClientSettings, password: str | None) -> KafkaSecurity:
    """The security of a component's settings; the password comes separately (env or _FILE, read by the caller)."""
    return KafkaSecurity(
        protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=password,
        ssl_ca_file=settings.kafka_ssl_ca_file,
        ssl_cert_file=settings.kafka_ssl_cert_file,
        ssl_key_file=settings.kafka_ssl_key_file,
    )


def librdkafka_properties(security: KafkaSecurity) -> dict[str, str]:
    """The librdkafka (confluent-kafka) properties of `security`; check `problems(...)` first."""
    properties = {"security.protocol": security.protocol}
    if security.uses_sasl:
        properties["sasl.mechanisms"] = security.sasl_mechanism
        if security.sasl_username is not None:
            properties["sasl.username"] = security.sasl_username
        if security.sasl_password is not None:
            properties["sasl.password"] = security.sasl_password
    if security.uses_tls:
        # librdkafka >= 2 verifies the host name by default; said here so no properties file can assume otherwise
        properties["ssl.endpoint.identification.algorithm"] = "https"
        if security.ssl_ca_file is not None:
            properties["ssl.ca.location"] = security.ssl_ca_file
        if security.ssl_cert_file is not None:
            properties["ssl.certificate.location"] = security.ssl_cert_file
        if security.ssl_key_file is not None:
            properties["ssl.key.location"] = security.ssl_key_file
    return properties


def problems(security: KafkaSecurity, component: str, *, is_file: Callable[[str], bool] = os.path.isfile) -> list[str]:
    """What is wrong with `security` as `component` (e.g. envs.PRODUCER) configured it: one message per problem,
    each starting with the variable to change. `is_file` checks that a named file exists (injectable for tests)."""
    name = _namer(component)
    protocol_is = f"{name(envs.KAFKA_SECURITY_PROTOCOL)}={security.protocol}"
    if security.protocol not in PROTOCOLS:
        return [f"{name(envs.KAFKA_SECURITY_PROTOCOL)}: {security.protocol!r} is not one of {', '.join(PROTOCOLS)}"]
    found: list[str] = []
    if security.sasl_mechanism not in MECHANISMS:
        found.append(
            f"{name(envs.KAFKA_SASL_MECHANISM)}: {security.sasl_mechanism!r} is not one of {', '.join(MECHANISMS)}"
        )
    password = f"{name(envs.KAFKA_SASL_PASSWORD)} (or {name(envs.KAFKA_SASL_PASSWORD)}{envs.FILE})"
    if security.uses_sasl:
        if security.sasl_username is None:
            found.append(f"{name(envs.KAFKA_SASL_USERNAME)} is required with {protocol_is}")
        if security.sasl_password is None:
            found.append(f"{password} is required with {protocol_is}")
        if security.protocol == "SASL_PLAINTEXT" and security.sasl_mechanism == "PLAIN":
            found.append(
                f"{name(envs.KAFKA_SASL_MECHANISM)}=PLAIN with {protocol_is} would send the password in clear "
                "text: use SASL_SSL, or a SCRAM mechanism"
            )
    else:
        # set but unused: the client would connect without the credentials the operator thinks it has
        if security.sasl_username is not None:
            found.append(f"{name(envs.KAFKA_SASL_USERNAME)} is set, but {protocol_is} uses no SASL: use SASL_SSL")
        if security.sasl_password is not None:
            found.append(f"{password} is set, but {protocol_is} uses no SASL: use SASL_SSL")
    files = {
        envs.KAFKA_SSL_CA_FILE: security.ssl_ca_file,
        envs.KAFKA_SSL_CERT_FILE: security.ssl_cert_file,
        envs.KAFKA_SSL_KEY_FILE: security.ssl_key_file,
    }
    if not security.uses_tls:
        found += [
            f"{name(suffix)} is set, but {protocol_is} uses no TLS: use SSL or SASL_SSL"
            for suffix, path in files.items()
            if path is not None
        ]
        return found
    if security.ssl_cert_file is not None and security.ssl_key_file is None:
        found.append(f"{name(envs.KAFKA_SSL_KEY_FILE)} is required with {name(envs.KAFKA_SSL_CERT_FILE)}")
    if security.ssl_key_file is not None and security.ssl_cert_file is None:
        found.append(f"{name(envs.KAFKA_SSL_CERT_FILE)} is required with {name(envs.KAFKA_SSL_KEY_FILE)}")
    found += [f"{name(suffix)}: {path} does not exist" for suffix, path in files.items() if path and not is_file(path)]
    return found


def _namer(component: str) -> Callable[[str], str]:
    return lambda suffix: envs.variable(component, suffix)


# the variable each rendered property comes from (librdkafka names the property when it rejects one)
_SOURCES = {
    "ssl.ca.location": envs.KAFKA_SSL_CA_FILE,
    "ssl.certificate.location": envs.KAFKA_SSL_CERT_FILE,
    "ssl.key.location": envs.KAFKA_SSL_KEY_FILE,
    "sasl.mechanisms": envs.KAFKA_SASL_MECHANISM,
    "sasl.username": envs.KAFKA_SASL_USERNAME,
    "security.protocol": envs.KAFKA_SECURITY_PROTOCOL,
}


def client_config_problem(security: KafkaSecurity, component: str, message: str) -> str:
    """A Kafka client that would not start (e.g. a CA file that is not PEM), led by the variable to fix."""
    text = security.redact(message)
    for prop, suffix in _SOURCES.items():
        if prop in text:
            return f"{envs.variable(component, suffix)}: the Kafka client cannot use it ({text})"
    return f"the Kafka client cannot start with this configuration ({text})"


# -- what a client-side Kafka error means --------------------------------------------------------------------------


class Denial(Enum):
    """Why the broker would not serve a client (None from `denial(...)`: an ordinary, transient error)."""

    AUTHENTICATION = "authentication"  # who we are: wrong password, unknown user, TLS verification, bad cert
    AUTHORIZATION = "authorization"  # what we may do: an ACL is missing for a topic, group or the cluster


# librdkafka's error names (KafkaError.name()): its own (leading underscore) and the broker's
_AUTHENTICATION = frozenset({"_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED", "_SSL"})
_AUTHORIZATION = frozenset(
    {
        "TOPIC_AUTHORIZATION_FAILED",
        "GROUP_AUTHORIZATION_FAILED",
        "CLUSTER_AUTHORIZATION_FAILED",
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
    }
)


def denial(error_name: str) -> Denial | None:
    """Classify a KafkaError by its name()."""
    if error_name in _AUTHENTICATION:
        return Denial.AUTHENTICATION
    if error_name in _AUTHORIZATION:
        return Denial.AUTHORIZATION
    return None


def authentication_hint(security: KafkaSecurity, component: str, error_name: str) -> str:
    """Which variables to check after an authentication failure (names only, never a value)."""
    name = _namer(component)
    if error_name == "_SSL":
        if security.ssl_cert_file:
            return (
                "the TLS handshake failed: check that the broker's certificate chains to "
                f"{name(envs.KAFKA_SSL_CA_FILE)} and matches the bootstrap host, and that "
                f"{name(envs.KAFKA_SSL_CERT_FILE)} is signed by a CA the broker trusts"
            )
        return (
            "the TLS handshake failed: check that the broker's certificate chains to "
            f"{name(envs.KAFKA_SSL_CA_FILE)} (unset: the system's CAs) and matches the bootstrap host"
        )
    if security.uses_sasl:
        return (
            f"the broker refused {security.principal()} ({security.sasl_mechanism}): check "
            f"{name(envs.KAFKA_SASL_USERNAME)} and {name(envs.KAFKA_SASL_PASSWORD)}[{envs.FILE}] (the KafkaUser's "
            "Secret); retrying, as a new KafkaUser's credentials can reach the broker after the client starts"
        )
    return f"the broker refused the connection: check {name(envs.KAFKA_SECURITY_PROTOCOL)} and the listener it names"
