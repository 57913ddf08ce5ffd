"""Kafka client security: normalised settings, their librdkafka properties, problems that name the variable to fix,
and what an error name means (stockfeed_contracts.kafka_security)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import (
    Denial,
    KafkaSecurity,
    authentication_hint,
    client_config_problem,
    denial,
    librdkafka_properties,
    problems,
)

pytestmark = pytest.mark.unit

PASSWORD = "pa55-w0rd-never-shown"


def exists(_path: str) -> bool:
    return True


def scram(**changes: str | None) -> KafkaSecurity:
    settings: dict[str, str | None] = {
        "protocol": "SASL_SSL", "sasl_username": "feed-producer", "sasl_password": PASSWORD,
        "ssl_ca_file": "/certs/ca.crt", **changes,
    }  # fmt: skip
    return KafkaSecurity(**settings)  # type: ignore[arg-type]


def test_default_is_plaintext_and_renders_only_the_protocol() -> None:
    security = KafkaSecurity()
    assert (security.protocol, security.sasl_mechanism) == ("PLAINTEXT", "SCRAM-SHA-512")
    assert librdkafka_properties(security) == {"security.protocol": "PLAINTEXT"}
    assert problems(security, envs.PRODUCER) == []


def test_input_is_case_insensitive_and_blank_means_unset() -> None:
    security = KafkaSecurity(protocol=" sasl_ssl ", sasl_mechanism="scram-sha-256", sasl_username=" u ",
                             sasl_password="", ssl_ca_file="", ssl_cert_file="  ")  # fmt: skip
    assert (security.protocol, security.sasl_mechanism, security.sasl_username) == ("SASL_SSL", "SCRAM-SHA-256", "u")
    assert (security.sasl_password, security.ssl_ca_file, security.ssl_cert_file) == (None, None, None)
    assert KafkaSecurity(protocol="", sasl_mechanism="").protocol == "PLAINTEXT"


def test_scram_over_tls_renders_every_property_and_verifies_the_host() -> None:
    assert librdkafka_properties(scram()) == {
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "feed-producer",
        "sasl.password": PASSWORD, "ssl.endpoint.identification.algorithm": "https", "ssl.ca.location": "/certs/ca.crt",
    }  # fmt: skip
    assert problems(scram(), envs.PRODUCER, is_file=exists) == []


def test_mtls_renders_certificate_and_key_and_no_sasl() -> None:
    security = KafkaSecurity(protocol="ssl", ssl_ca_file="/c/ca", ssl_cert_file="/c/tls.crt", ssl_key_file="/c/tls.key")
    assert librdkafka_properties(security) == {
        "security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "https", "ssl.ca.location": "/c/ca",
        "ssl.certificate.location": "/c/tls.crt", "ssl.key.location": "/c/tls.key",
    }  # fmt: skip
    assert problems(security, envs.CONSUMER, is_file=exists) == []
    assert "tls.crt" in security.principal()


def test_the_password_is_never_in_repr_or_summary() -> None:
    security = scram()
    assert PASSWORD not in repr(security)
    assert PASSWORD not in security.summary()
    assert security.summary() == "protocol=SASL_SSL mechanism=SCRAM-SHA-512 user=feed-producer ca=/certs/ca.crt"
    assert security.redact(f"failed for {PASSWORD}!") == "failed for ***!"
    assert KafkaSecurity().redact("as is") == "as is"


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        (KafkaSecurity(protocol="TLS"), "PRODUCER_KAFKA_SECURITY_PROTOCOL: 'TLS' is not one of PLAINTEXT, SSL, "),
        (scram(sasl_mechanism="GSSAPI"), "PRODUCER_KAFKA_SASL_MECHANISM: 'GSSAPI' is not one of SCRAM-SHA-512"),
        (scram(sasl_username=None),
         "PRODUCER_KAFKA_SASL_USERNAME is required with PRODUCER_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        (scram(sasl_password=None), "PRODUCER_KAFKA_SASL_PASSWORD (or PRODUCER_KAFKA_SASL_PASSWORD_FILE) is "
                                    "required with PRODUCER_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        (scram(protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", ssl_ca_file=None),
         "PRODUCER_KAFKA_SASL_MECHANISM=PLAIN with PRODUCER_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT would send the "
         "password in clear text"),
        (scram(ssl_cert_file="/c/tls.crt"),
         "PRODUCER_KAFKA_SSL_KEY_FILE is required with PRODUCER_KAFKA_SSL_CERT_FILE"),
        (scram(ssl_key_file="/c/tls.key"),
         "PRODUCER_KAFKA_SSL_CERT_FILE is required with PRODUCER_KAFKA_SSL_KEY_FILE"),
        (KafkaSecurity(sasl_username="u"), "PRODUCER_KAFKA_SASL_USERNAME is set, but "
                                           "PRODUCER_KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no SASL"),
        (KafkaSecurity(protocol="SSL", sasl_password=PASSWORD), "PRODUCER_KAFKA_SASL_PASSWORD (or "
         "PRODUCER_KAFKA_SASL_PASSWORD_FILE) is set, but PRODUCER_KAFKA_SECURITY_PROTOCOL=SSL uses no SASL"),
        (KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p", ssl_ca_file="/ca"),
         "PRODUCER_KAFKA_SSL_CA_FILE is set, but PRODUCER_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT uses no TLS"),
    ],
)  # fmt: skip
def test_each_problem_names_the_variable(security: KafkaSecurity, expected: str) -> None:
    found = problems(security, envs.PRODUCER, is_file=exists)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]
    assert PASSWORD not in found[0]


def test_scram_over_sasl_plaintext_is_allowed_plain_over_tls_too() -> None:
    assert problems(scram(protocol="SASL_PLAINTEXT", ssl_ca_file=None), envs.CONSUMER) == []
    assert problems(scram(sasl_mechanism="plain"), envs.CONSUMER, is_file=exists) == []


def test_files_that_do_not_exist_are_named(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("pem")
    security = KafkaSecurity(
        protocol="SSL", ssl_ca_file=str(tmp_path / "ca.crt"), ssl_cert_file=str(tmp_path / "gone.crt"),
        ssl_key_file=str(tmp_path / "gone.key"),
    )  # fmt: skip
    assert problems(security, envs.CONSUMER) == [
        f"CONSUMER_KAFKA_SSL_CERT_FILE: {tmp_path / 'gone.crt'} does not exist",
        f"CONSUMER_KAFKA_SSL_KEY_FILE: {tmp_path / 'gone.key'} does not exist",
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(KafkaSecurity(protocol="sasl_ssl", sasl_mechanism="x"), envs.CONSUMER, is_file=exists)
    assert [line.split()[0].rstrip(":") for line in found] == [
        "CONSUMER_KAFKA_SASL_MECHANISM", "CONSUMER_KAFKA_SASL_USERNAME", "CONSUMER_KAFKA_SASL_PASSWORD"]  # fmt: skip


def test_the_variables_are_the_shared_vocabulary() -> None:
    """Every suffix a problem can name is one envs.SHARED_KAFKA lists (the services read exactly those)."""
    found = problems(
        KafkaSecurity(protocol="PLAINTEXT", sasl_username="u", sasl_password="p", ssl_ca_file="a", ssl_cert_file="b",
                      ssl_key_file="c"),
        "X",
    )  # fmt: skip
    named = {line.split()[0].removeprefix("X_") for line in found}
    assert named <= set(envs.SHARED_KAFKA)
    assert len(found) == 5


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("_AUTHENTICATION", Denial.AUTHENTICATION), ("SASL_AUTHENTICATION_FAILED", Denial.AUTHENTICATION),
        ("_SSL", Denial.AUTHENTICATION), ("TOPIC_AUTHORIZATION_FAILED", Denial.AUTHORIZATION),
        ("GROUP_AUTHORIZATION_FAILED", Denial.AUTHORIZATION), ("CLUSTER_AUTHORIZATION_FAILED", Denial.AUTHORIZATION),
        ("_TRANSPORT", None), ("_ALL_BROKERS_DOWN", None), ("_MSG_TIMED_OUT", None),
    ],
)  # fmt: skip
def test_denial_by_error_name(name: str, kind: Denial | None) -> None:
    assert denial(name) is kind


def test_authentication_hints_name_variables_never_values() -> None:
    sasl = authentication_hint(scram(), envs.CONSUMER, "_AUTHENTICATION")
    assert "User:feed-producer" in sasl
    assert "CONSUMER_KAFKA_SASL_USERNAME" in sasl
    assert "CONSUMER_KAFKA_SASL_PASSWORD" in sasl
    assert PASSWORD not in sasl
    assert "CONSUMER_KAFKA_SSL_CA_FILE" in authentication_hint(scram(), envs.CONSUMER, "_SSL")
    mtls = KafkaSecurity(protocol="SSL", ssl_cert_file="/c/tls.crt", ssl_key_file="/c/tls.key")
    assert "PRODUCER_KAFKA_SSL_CERT_FILE" in authentication_hint(mtls, envs.PRODUCER, "_SSL")


def test_a_client_that_will_not_start_names_the_variable() -> None:
    message = "Failed to create producer: ssl.ca.location failed: error:05800088:x509 certificate routines"
    assert client_config_problem(scram(), envs.PRODUCER, message).startswith("PRODUCER_KAFKA_SSL_CA_FILE: ")
    assert client_config_problem(scram(), envs.PRODUCER, f"odd {PASSWORD}") == (
        "the Kafka client cannot start with this configuration (odd ***)")  # fmt: skip
