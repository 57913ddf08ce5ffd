"""Kafka authentication settings (CONSUMER_KAFKA_*), the password's handling, the properties file on top, and what
the consumer does with refusals: authorization stops the loop, authentication is logged while librdkafka retries."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError

from stockfeed_consumer.batching import BatchPolicy
from stockfeed_consumer.config import ConsumerSettings, _parser, load_settings
from stockfeed_consumer.errors import ConfigError
from stockfeed_consumer.kafka import consumer_config
from stockfeed_consumer.kafka_errors import KafkaErrors
from stockfeed_consumer.metrics import ConsumerMetrics
from stockfeed_consumer.writer import BronzeWriter, WriterOptions
from stockfeed_contracts.kafka_security import KafkaSecurity

pytestmark = pytest.mark.unit

PASSWORD = "consumer-pa55-never-shown"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONSUMER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.crt"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def scram_env(ca_file: Path, **extra: str) -> dict[str, str]:
    return {
        "CONSUMER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CONSUMER_KAFKA_SASL_USERNAME": "feed-a-consumer",
        "CONSUMER_KAFKA_SASL_PASSWORD": PASSWORD, "CONSUMER_KAFKA_SSL_CA_FILE": str(ca_file), **extra,
    }  # fmt: skip


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_plaintext_stays_the_default() -> None:
    config = consumer_config(load_settings([]))
    assert config["security.protocol"] == "PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.")) for key in config)


def test_scram_over_tls_reaches_the_client_config(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> None:
    set_env(monkeypatch, scram_env(ca_file, CONSUMER_KAFKA_SASL_MECHANISM="scram-sha-256"))
    settings = load_settings([])
    config = consumer_config(settings)
    assert (config["security.protocol"], config["sasl.mechanisms"]) == ("SASL_SSL", "SCRAM-SHA-256")
    assert (config["sasl.username"], config["sasl.password"]) == ("feed-a-consumer", PASSWORD)
    assert config["ssl.ca.location"] == str(ca_file)
    assert config["enable.auto.commit"] is False
    for shown in (repr(settings), str(settings.model_dump()), settings.kafka_security.summary()):
        assert PASSWORD not in shown


def test_the_password_from_a_mounted_file_and_never_a_flag(
    monkeypatch: pytest.MonkeyPatch, ca_file: Path, tmp_path: Path
) -> None:
    env = scram_env(ca_file)
    del env["CONSUMER_KAFKA_SASL_PASSWORD"]
    (tmp_path / "password").write_text(PASSWORD + "\n")
    set_env(monkeypatch, {**env, "CONSUMER_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password")})
    assert consumer_config(load_settings([]))["sasl.password"] == PASSWORD
    flags = {option for action in _parser()._actions for option in action.option_strings}
    assert "--kafka-sasl-password" not in flags
    assert "--kafka-sasl-password-file" in flags
    monkeypatch.setenv("CONSUMER_KAFKA_SASL_PASSWORD", PASSWORD)
    with pytest.raises(ConfigError, match="CONSUMER_KAFKA_SASL_PASSWORD and CONSUMER_KAFKA_SASL_PASSWORD_FILE"):
        load_settings([])


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"CONSUMER_KAFKA_SASL_USERNAME": ""}, "CONSUMER_KAFKA_SASL_USERNAME is required"),
        ({"CONSUMER_KAFKA_SECURITY_PROTOCOL": "tls"}, "CONSUMER_KAFKA_SECURITY_PROTOCOL: 'TLS' is not one of"),
        ({"CONSUMER_KAFKA_SSL_CA_FILE": "/nonexistent/ca.crt"}, "CONSUMER_KAFKA_SSL_CA_FILE: /nonexistent/ca.crt"),
        ({"CONSUMER_KAFKA_SSL_CERT_FILE": __file__}, "CONSUMER_KAFKA_SSL_KEY_FILE is required"),
    ],
)
def test_bad_security_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, ca_file: Path, change: dict[str, str], named: str
) -> None:
    set_env(monkeypatch, {**scram_env(ca_file), **change})
    with pytest.raises(ConfigError, match=named) as caught:
        load_settings([])
    assert PASSWORD not in str(caught.value)


def test_the_command_exits_2_naming_the_variable_and_not_the_password(ca_file: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **scram_env(ca_file, CONSUMER_KAFKA_SASL_MECHANISM="PLAIN")}
    env["CONSUMER_KAFKA_SECURITY_PROTOCOL"] = "SASL_PLAINTEXT"
    del env["CONSUMER_KAFKA_SSL_CA_FILE"]
    result = subprocess.run(
        [sys.executable, "-m", "stockfeed_consumer"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 2
    assert "CONSUMER_KAFKA_SASL_MECHANISM=PLAIN with CONSUMER_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_a_ca_file_that_is_not_pem_exits_2_naming_the_variable(ca_file: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **scram_env(ca_file), "CONSUMER_METRICS_PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "stockfeed_consumer"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "bad configuration: CONSUMER_KAFKA_SSL_CA_FILE: the Kafka client cannot use it" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


# -- the properties file on top ---------------------------------------------------------------------------------


def test_the_properties_file_still_carries_security_under_the_default(tmp_path: Path) -> None:
    extra = tmp_path / "kafka.properties"
    extra.write_text("security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.password=p\n")
    config = consumer_config(ConsumerSettings(kafka_properties_file=extra))
    assert (config["security.protocol"], config["sasl.password"]) == ("SASL_SSL", "p")


def test_the_properties_file_may_add_but_not_contradict_the_variables(
    monkeypatch: pytest.MonkeyPatch, ca_file: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "kafka.properties"
    set_env(monkeypatch, {**scram_env(ca_file), "CONSUMER_KAFKA_PROPERTIES_FILE": str(extra)})
    extra.write_text("security.protocol=SASL_SSL\nssl.cipher.suites=ECDHE-RSA-AES256-GCM-SHA384\n")
    config = consumer_config(load_settings([]))
    assert config["ssl.cipher.suites"] == "ECDHE-RSA-AES256-GCM-SHA384"
    extra.write_text(f"security.protocol=PLAINTEXT\nsasl.password={PASSWORD}x\n")
    with pytest.raises(ConfigError, match=r"sets sasl\.password, security\.protocol unlike") as caught:
        consumer_config(load_settings([]))
    assert PASSWORD not in str(caught.value)


# -- refusals at run time --------------------------------------------------------------------------------------


def errors(caplog: pytest.LogCaptureFixture) -> KafkaErrors:
    caplog.set_level(logging.WARNING)
    security = KafkaSecurity(protocol="SASL_SSL", sasl_username="feed-a-consumer", sasl_password=PASSWORD)
    return KafkaErrors(security, "feed-a", ["feed-a-quotes"], ConsumerMetrics())


def test_a_group_it_may_not_join_is_denied_once_naming_group_and_user(caplog: pytest.LogCaptureFixture) -> None:
    handler = errors(caplog)
    refused = KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "FindCoordinator response error")
    handler.on_client_error(refused)
    handler.on_record_error(refused, None)
    assert handler.denied is not None
    assert handler.denied.startswith("Kafka refused User:feed-a-consumer the consumer group feed-a (GROUP_AUTH")
    assert "CONSUMER_GROUP_ID" in handler.denied
    assert [r.levelname for r in caplog.records] == ["CRITICAL"]


def test_a_topic_it_may_not_read_is_denied_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    handler = errors(caplog)
    handler.on_record_error(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed"), "other")
    assert handler.denied is not None
    assert "User:feed-a-consumer reading topic other (TOPIC_AUTHORIZATION_FAILED" in handler.denied
    assert "Read and Describe" in handler.denied


def test_an_authentication_failure_is_logged_once_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    handler = errors(caplog)
    failed = KafkaError(KafkaError._AUTHENTICATION, f"SASL authentication error (echo {PASSWORD})")
    handler.on_client_error(failed)
    handler.on_client_error(failed)
    handler.on_record_error(KafkaError(KafkaError._PARTITION_EOF, "end"), "feed-a-quotes")
    assert handler.denied is None
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "CONSUMER_KAFKA_SASL_PASSWORD" in caplog.text
    assert PASSWORD not in caplog.text  # even a client message that quoted it is redacted
    assert handler.metrics is not None
    counted = handler.metrics.registry.get_sample_value(
        "stockfeed_consumer_kafka_errors_total", {"reason": "_AUTHENTICATION"}
    )
    assert counted == 2


class ErrorRecord:
    def __init__(self, error: KafkaError, topic: str) -> None:
        self._error, self._topic = error, topic

    def error(self) -> KafkaError:
        return self._error

    def topic(self) -> str:
        return self._topic


def test_the_writer_hands_consume_errors_over_with_their_topic() -> None:
    seen: list[tuple[str, str | None]] = []
    writer = BronzeWriter(
        None, None, None, None, WriterOptions(policy=BatchPolicy(1, 1024, 1.0)), ConsumerMetrics(),  # type: ignore[arg-type]
        on_record_error=lambda error, topic: seen.append((error.name(), topic)),
    )  # fmt: skip
    records: list[Any] = [ErrorRecord(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), "other")]
    writer.handle(records)
    assert seen == [("TOPIC_AUTHORIZATION_FAILED", "other")]
