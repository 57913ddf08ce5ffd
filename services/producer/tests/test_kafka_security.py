"""Kafka authentication settings (PRODUCER_KAFKA_*), the password's handling, and what the publisher does when the
broker refuses it: authorization stops the producer, authentication is logged while librdkafka retries."""

import logging
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException

from stockfeed_producer.cli import build_parser, main
from stockfeed_producer.config import ConfigError, load_settings
from stockfeed_producer.kafka_publisher import KafkaPublisher, kafka_config
from stockfeed_producer.metrics import ProducerMetrics

pytestmark = pytest.mark.unit

PASSWORD = "kafka-pa55-never-shown"
SIM = {"api_url": "http://sim:8080/api/v1"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("PRODUCER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def ca_file(tmp_path):
    path = tmp_path / "ca.crt"
    path.write_text("-----BEGIN CERTIFICATE-----\n")  # exists; only librdkafka would read it
    return path


def scram_env(monkeypatch, ca_file, **extra):
    values = {
        "PRODUCER_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "PRODUCER_KAFKA_SASL_USERNAME": "feed-a-producer",
        "PRODUCER_KAFKA_SASL_PASSWORD": PASSWORD, "PRODUCER_KAFKA_SSL_CA_FILE": str(ca_file), **extra,
    }  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_plaintext_stays_the_default():
    config = kafka_config(load_settings(SIM))
    assert config["security.protocol"] == "PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.")) for key in config)


def test_scram_over_tls_reaches_the_client_config_and_the_password_is_never_shown(monkeypatch, ca_file):
    scram_env(monkeypatch, ca_file)
    settings = load_settings(SIM)
    config = kafka_config(settings)
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("feed-a-producer", PASSWORD)
    assert config["ssl.ca.location"] == str(ca_file)
    assert config["enable.idempotence"] is True  # the producer's own settings still apply
    security = settings.kafka_security
    for shown in (repr(settings), str(settings.model_dump()), security.summary(), repr(security)):
        assert PASSWORD not in shown


def test_the_password_from_a_mounted_file(monkeypatch, ca_file, tmp_path):
    scram_env(monkeypatch, ca_file)
    monkeypatch.delenv("PRODUCER_KAFKA_SASL_PASSWORD")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("PRODUCER_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "password"))
    assert kafka_config(load_settings(SIM))["sasl.password"] == PASSWORD
    monkeypatch.setenv("PRODUCER_KAFKA_SASL_PASSWORD", PASSWORD)
    with pytest.raises(ConfigError, match=r"^PRODUCER_KAFKA_SASL_PASSWORD and PRODUCER_KAFKA_SASL_PASSWORD_FILE are"):
        load_settings(SIM)


def test_the_password_has_no_flag():
    flags = {action.dest for action in build_parser()._actions}
    assert "kafka_sasl_password" not in flags
    assert {"kafka_sasl_password_file", "kafka_sasl_username", "kafka_security_protocol"} <= flags
    with pytest.raises(ConfigError, match=r"^PRODUCER_KAFKA_SASL_PASSWORD: a secret is read from the environment"):
        load_settings({**SIM, "kafka_sasl_password": PASSWORD})


def test_a_missing_username_exits_2_naming_it_without_the_password(monkeypatch, ca_file, capsys):
    scram_env(monkeypatch, ca_file)
    monkeypatch.delenv("PRODUCER_KAFKA_SASL_USERNAME")
    assert main(["--api-url", SIM["api_url"]]) == 2
    err = capsys.readouterr().err
    assert "PRODUCER_KAFKA_SASL_USERNAME is required with PRODUCER_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in err
    assert PASSWORD not in err


def test_a_ca_file_that_is_not_pem_exits_2_naming_the_variable(monkeypatch, tmp_path, capsys):
    (tmp_path / "ca.crt").write_text("not a certificate\n")
    scram_env(monkeypatch, tmp_path / "ca.crt")
    assert main(["--api-url", SIM["api_url"], "--metrics-port", "0"]) == 2
    err = capsys.readouterr().err
    assert "stockfeed-producer: PRODUCER_KAFKA_SSL_CA_FILE: the Kafka client cannot use it" in err
    assert PASSWORD not in err


# -- the publisher's reaction to refusals (a real client that never connects; callbacks driven by hand) ------------


class Record:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes:
        return b"AAPL"

    def value(self) -> bytes:
        return b'{"symbol":"AAPL"}'


@pytest.fixture
def fatal_calls():
    return []


@pytest.fixture
def publisher(monkeypatch, ca_file, fatal_calls):
    scram_env(monkeypatch, ca_file, PRODUCER_KAFKA_BOOTSTRAP="127.0.0.1:1")
    settings = load_settings(SIM)
    config = {**kafka_config(settings), "ssl.ca.location": "probe"}  # the placeholder file is no PEM: system CAs
    return KafkaPublisher(config, ProducerMetrics(), on_fatal=fatal_calls.append, security=settings.kafka_security)


def test_a_topic_it_may_not_write_stops_it_once_naming_topic_and_user(publisher, fatal_calls, caplog):
    error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed")
    with caplog.at_level(logging.ERROR):
        publisher._on_delivery(error, Record("someone-elses"))
        publisher._on_delivery(error, Record("someone-elses"))
    assert fatal_calls == [publisher.fatal_error]  # told once
    assert "User:feed-a-producer writing to topic someone-elses (TOPIC_AUTHORIZATION_FAILED" in publisher.fatal_error
    assert "Write and Describe" in publisher.fatal_error
    assert (publisher.delivered, publisher.failed) == (0, 2)
    assert [r.levelname for r in caplog.records].count("CRITICAL") == 1
    assert not publisher.publish("someone-elses", "AAPL", b"{}", threading.Event())  # nothing more is taken
    assert PASSWORD not in caplog.text


def test_an_authentication_failure_is_an_error_not_a_stop(publisher, fatal_calls, caplog):
    error = KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: invalid credentials")
    with caplog.at_level(logging.WARNING):
        publisher._on_error(error)
        publisher._on_error(error)  # a repeat within 30 s is counted, not logged
    assert publisher.fatal_error is None
    assert fatal_calls == []
    lines = [r for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelname == "ERROR"
    assert "PRODUCER_KAFKA_SASL_PASSWORD" in lines[0].getMessage()
    assert "User:feed-a-producer" in lines[0].getMessage()
    assert PASSWORD not in caplog.text
    value = publisher.metrics.registry.get_sample_value(
        "stockfeed_producer_kafka_errors_total", {"reason": "_AUTHENTICATION"}
    )
    assert value == 2


class RaisingProducer:
    def __init__(self, error: KafkaError) -> None:
        self.error = error

    def poll(self, _timeout: float) -> int:
        raise KafkaException(self.error)

    def flush(self, _timeout: float) -> int:
        raise KafkaException(self.error)

    def __len__(self) -> int:
        return 3


def test_a_fatal_error_raised_from_poll_takes_the_fatal_path(publisher):
    """confluent-kafka raises 'no idempotent producer id' (no Write anywhere) from poll() instead of error_cb."""
    error = KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, "Failed to acquire idempotence PID", fatal=True)
    publisher._producer = RaisingProducer(error)
    publisher.poll(0.1)  # does not raise
    assert publisher.fatal_error is not None
    assert publisher.fatal_error.startswith("Kafka refused User:feed-a-producer (CLUSTER_AUTHORIZATION_FAILED")
    assert publisher.close(1) == 3  # what is still queued is reported undelivered


class RefusingProducer(RaisingProducer):
    def produce(self, *_args):
        raise KafkaException(self.error)

    def poll(self, _timeout: float) -> int:
        return 0


def test_a_topic_refused_at_produce_is_named(publisher):
    """Once librdkafka knows a topic is refused, produce() itself raises; the refusal still names the topic."""
    publisher._producer = RefusingProducer(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Unable to produce"))
    assert publisher.try_publish_many("someone-elses", [("AAPL", b"{}")]) == 0
    assert publisher.fatal_error is not None
    assert "writing to topic someone-elses (TOPIC_AUTHORIZATION_FAILED: Unable to produce)" in publisher.fatal_error


def test_other_exceptions_from_poll_are_not_swallowed(publisher):
    publisher._producer = RaisingProducer(KafkaError(KafkaError._TRANSPORT, "a bug elsewhere"))
    with pytest.raises(KafkaException):
        publisher.poll(0)
