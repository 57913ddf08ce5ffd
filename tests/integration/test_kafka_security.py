"""The feed's clients against a secured Kafka, as the production chart runs it (Strimzi: TLS, SCRAM-SHA-512 or mTLS,
one KafkaUser per component with the operator's ACLs): a broker of this module's own (tests/secure_kafka.py), the
real producer and consumer processes, and the stack's MinIO.

What is refused is refused for the stated reason, in one clear log line, without the password; nothing is
reported delivered or committed that was not; and with the right settings the data still arrives in bronze.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.settings import Settings
from stockfeed_consumer.encoding import decode_object
from stockfeed_operator.kafka_users import kafka_user_acls
from stockfeed_producer.config import load_settings
from stockfeed_producer.kafka_publisher import KafkaPublisher, kafka_config
from stockfeed_producer.metrics import ProducerMetrics
from stockfeed_producer.testing import ProducerProcess, producer_process, wait_until
from tests.conftest import require
from tests.secure_kafka import BrokerError, CertificateAuthority, SecureBroker, kafka_lib

pytestmark = pytest.mark.integration

FAST_SIMULATOR = {"rate_limit_per_minute": 600, "rate_limit_per_second": 30}
SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN"]
QUOTES = 12  # delivered over SASL_SSL before the producer is stopped


# -- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, stack_settings: Settings) -> Iterator[SecureBroker]:
    """One secured broker for the module (about 10 s to start); killed and its files removed at the end."""
    try:
        lib = kafka_lib(stack_settings.cache)
    except BrokerError as error:
        pytest.fail(str(error))  # like a stack server that is down: a failure saying what to run, never a skip
    with SecureBroker(tmp_path_factory.mktemp("secure-kafka"), lib) as running:
        yield running


@dataclass(frozen=True)
class Feed:
    """One feed's topic and group, and its two KafkaUsers with the operator's ACLs (as Strimzi would apply them)."""

    topic: str
    group: str
    producer_user: str
    producer_password: str
    consumer_user: str
    consumer_password: str


@pytest.fixture
def feed(broker: SecureBroker) -> Feed:
    name = f"secure-{uuid.uuid4().hex[:8]}"
    made = Feed(
        topic=f"{name}-quotes", group=f"{name}-bronze", producer_user=f"{name}-producer",
        producer_password=secrets.token_urlsafe(18), consumer_user=f"{name}-consumer",
        consumer_password=secrets.token_urlsafe(18),
    )  # fmt: skip
    broker.create_topic(made.topic)
    broker.add_user(made.producer_user, made.producer_password)
    broker.add_user(made.consumer_user, made.consumer_password)
    broker.grant(made.producer_user, kafka_user_acls("producer", made.topic, None))
    broker.grant(made.consumer_user, kafka_user_acls("consumer", made.topic, made.group))
    return made


@pytest.fixture
def other_topic(broker: SecureBroker) -> str:
    """A topic no feed user was given."""
    name = f"secure-other-{uuid.uuid4().hex[:8]}"
    broker.create_topic(name)
    return name


def producer_settings(broker: SecureBroker, feed: Feed, api_url: str, password_file: Path) -> dict[str, Any]:
    """PRODUCER_* settings of the feed's producer on the SASL_SSL listener (the password from a mounted file)."""
    password_file.write_text(feed.producer_password + "\n")
    return {
        "api_url": api_url, "symbols": SYMBOLS, "plan_calls_per_minute": 600, "quotes_topic": feed.topic,
        "kafka_bootstrap": broker.sasl_bootstrap, "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": feed.producer_user, "kafka_sasl_password_file": password_file,
        "kafka_ssl_ca_file": broker.ca.cert_file, "flush_timeout_seconds": 5,
    }  # fmt: skip


def consumer_env(broker: SecureBroker, feed: Feed, stack_env: dict[str, str], bucket: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CONSUMER_KAFKA_BOOTSTRAP": broker.sasl_bootstrap, "CONSUMER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CONSUMER_KAFKA_SASL_USERNAME": feed.consumer_user, "CONSUMER_KAFKA_SASL_PASSWORD": feed.consumer_password,
        "CONSUMER_KAFKA_SSL_CA_FILE": str(broker.ca.cert_file),
        "CONSUMER_TOPICS": feed.topic, "CONSUMER_GROUP_ID": feed.group, "CONSUMER_BUCKET": bucket,
        "CONSUMER_S3_ENDPOINT_URL": require(stack_env, "DEVSTACK_S3_ENDPOINT", "MinIO"),
        "CONSUMER_S3_REGION": stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        "CONSUMER_S3_ACCESS_KEY_ID": stack_env["DEVSTACK_S3_ACCESS_KEY"],
        "CONSUMER_S3_SECRET_ACCESS_KEY": stack_env["DEVSTACK_S3_SECRET_KEY"],
        "CONSUMER_MAX_AGE_SECONDS": "1", "CONSUMER_ENCODE_PROCESSES": "0", "CONSUMER_METRICS_PORT": "0",
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
    }  # fmt: skip


@dataclass
class Process:
    """A service started by the test (its own process group); only this pid group is ever signalled."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def exit_code(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s:\n{self.log()[-3000:]}") from None

    def terminate(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.exit_code(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[str, dict[str, str], str], Process]]:
    """Start `python -m <module>` with exactly `env`, logging to tmp_path/<name>.log; all killed at the end."""
    started: list[Process] = []

    def run(module: str, env: dict[str, str], name: str) -> Process:
        log_path = tmp_path / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(Process(proc, log_path))
        return started[-1]

    yield run
    for process in started:
        process.kill()


# -- reading what happened, as the admin ----------------------------------------------------------------------------


def read_all(broker: SecureBroker, topic: str, partitions: int = 3) -> list[tuple[int, int, bytes]]:
    """(partition, offset, value) of every record up to the end offsets."""
    ends = broker.end_offsets(topic, partitions)
    reader = Consumer({**broker.admin_config(), "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                       "enable.auto.commit": False})  # fmt: skip
    try:
        reader.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        records: list[tuple[int, int, bytes]] = []
        deadline = time.monotonic() + 30
        while len(records) < sum(ends.values()) and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.partition() or 0, message.offset() or 0, message.value() or b""))
        return records
    finally:
        reader.close()


def bronze_records(s3: Any, bucket: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            documents += decode_object(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    return documents


def committed(broker: SecureBroker, group: str, topic: str) -> dict[int, int]:
    """Per partition, the offset the group committed (0 where it committed nothing, as for an empty partition)."""
    return {partition: max(offset, 0) for partition, offset in broker.committed(group, topic).items()}


def nothing_committed(broker: SecureBroker, group: str, topic: str) -> bool:
    return all(offset < 0 for offset in broker.committed(group, topic).values())


def write_as(broker: SecureBroker, user: str, password: str, topic: str, count: int) -> list[str | None]:
    """Produce `count` records as `user` (idempotent, like the producer); the delivery error names (None: ok)."""
    outcomes: list[str | None] = []
    client = Producer({**broker.sasl_config(user, password), "enable.idempotence": True, "log_level": 0,
                       "message.timeout.ms": 20_000})  # fmt: skip
    for index in range(count):
        client.produce(
            topic, b'{"n":%d}' % index, b"k", on_delivery=lambda e, _m: outcomes.append(None if e is None else e.name())
        )
    client.flush(30)
    return outcomes


# -- SCRAM-SHA-512 over TLS: the whole way into bronze --------------------------------------------------------------


@pytest.mark.timeout(240)
def test_quotes_reach_bronze_over_sasl_ssl_with_each_components_own_user(
    broker: SecureBroker, feed: Feed, simulator_factory: Any, start: Callable[..., Process], stack_env: dict[str, str],
    s3: Any, s3_bucket: str, tmp_path: Path,
) -> None:  # fmt: skip
    simulator = simulator_factory(**FAST_SIMULATOR)
    settings = producer_settings(broker, feed, simulator.api_url, tmp_path / "producer-password")
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= QUOTES,
                   timeout=60, what=f"{QUOTES} quotes delivered over SASL_SSL")  # fmt: skip
        assert producer.terminate() == 0
    summary = producer.summary()
    assert summary.delivered >= QUOTES
    assert (summary.failed, summary.undelivered, summary.published) == (0, 0, summary.delivered)
    assert f"protocol=SASL_SSL mechanism=SCRAM-SHA-512 user={feed.producer_user}" in producer.log_text()
    in_kafka = read_all(broker, feed.topic)
    assert len(in_kafka) == summary.delivered

    consumer = start("stockfeed_consumer", consumer_env(broker, feed, stack_env, s3_bucket), "consumer")
    ends = broker.end_offsets(feed.topic)
    wait_until(lambda: committed(broker, feed.group, feed.topic) == ends, timeout=90,
               what=f"the consumer's commits reaching the end offsets {ends}")  # fmt: skip
    assert consumer.terminate() == 0
    documents = bronze_records(s3, s3_bucket)
    delivered = [json.loads(value) for _partition, _offset, value in in_kafka]
    assert sorted((d["symbol"], d["t"]) for d in documents) == sorted((d["symbol"], d["t"]) for d in delivered), (
        "every delivered quote is in bronze, once"
    )
    for log in (producer.log_text(), consumer.log()):
        assert feed.producer_password not in log
        assert feed.consumer_password not in log


# -- authorization: fatal, named, nothing delivered or committed ----------------------------------------------------


@pytest.mark.timeout(180)
def test_the_producer_may_not_write_another_topic(
    broker: SecureBroker, feed: Feed, other_topic: str, simulator_factory: Any, tmp_path: Path
) -> None:
    simulator = simulator_factory(**FAST_SIMULATOR)
    settings = {**producer_settings(broker, feed, simulator.api_url, tmp_path / "pw"), "quotes_topic": other_topic}
    producer = ProducerProcess(settings, tmp_path / "producer.log")
    with (tmp_path / "producer.log").open("ab") as log:  # not start(): it may stop before /healthz is ever green
        producer.process = subprocess.Popen([sys.executable, "-m", "stockfeed_producer"], env=producer.env,
                                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        assert producer.process.wait(60) == 1, producer.log_text()[-3000:]
    finally:
        producer.kill()
    text = producer.log_text()
    refusal = f"CRITICAL stockfeed_producer.kafka_publisher Kafka refused User:{feed.producer_user} writing to topic "
    assert f"{refusal}{other_topic} (TOPIC_AUTHORIZATION_FAILED" in text
    assert text.count(refusal) == 1
    summary = producer.summary()
    assert summary.delivered == 0
    assert summary.failed == summary.published
    assert sum(broker.end_offsets(other_topic).values()) == 0
    assert feed.producer_password not in text
    # the same user's own topic still takes its writes
    assert write_as(broker, feed.producer_user, feed.producer_password, feed.topic, 3) == [None] * 3


@pytest.mark.timeout(180)
@pytest.mark.parametrize("refused", ["group", "topic"])
def test_the_consumer_may_not_use_another_group_or_topic(
    refused: str, broker: SecureBroker, feed: Feed, other_topic: str, start: Callable[..., Process],
    stack_env: dict[str, str], s3: Any, s3_bucket: str,
) -> None:  # fmt: skip
    assert write_as(broker, feed.producer_user, feed.producer_password, feed.topic, 5) == [None] * 5
    env = consumer_env(broker, feed, stack_env, s3_bucket)
    other_group = f"{feed.group}-not-granted"
    if refused == "group":
        env["CONSUMER_GROUP_ID"] = other_group
        expected = f"Kafka refused User:{feed.consumer_user} the consumer group {other_group} (GROUP_AUTHORIZATION"
    else:
        env["CONSUMER_TOPICS"] = other_topic
        expected = f"Kafka refused User:{feed.consumer_user} reading topic {other_topic} (TOPIC_AUTHORIZATION"
    consumer = start("stockfeed_consumer", env, f"consumer-{refused}")
    assert consumer.exit_code(90) == 1, consumer.log()[-3000:]
    log = consumer.log()
    assert f"CRITICAL stockfeed_consumer.kafka_errors {expected}" in log
    assert log.count("Kafka refused") == 1, log
    assert feed.consumer_password not in log
    assert nothing_committed(broker, other_group, feed.topic)
    assert nothing_committed(broker, feed.group, feed.topic)
    assert nothing_committed(broker, feed.group, other_topic)
    assert bronze_records(s3, s3_bucket) == []
    # the same user in its own group, on its own topic, reads the records
    reader = Consumer({**broker.sasl_config(feed.consumer_user, feed.consumer_password), "group.id": feed.group,
                       "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 0})  # fmt: skip
    try:
        reader.subscribe([feed.topic])
        got: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            got += [m.value() or b"" for m in reader.consume(10, 0.5) if m.error() is None]
    finally:
        reader.close()
    assert len(got) == 5


# -- authentication: logged as an error while the client retries; the password never shown --------------------------


@pytest.mark.timeout(180)
def test_a_wrong_password_is_an_authentication_error_that_never_shows_a_password(
    broker: SecureBroker, feed: Feed, simulator_factory: Any, start: Callable[..., Process],
    stack_env: dict[str, str], s3_bucket: str, tmp_path: Path,
) -> None:  # fmt: skip
    wrong = f"wrong-{secrets.token_urlsafe(12)}"
    simulator = simulator_factory(**FAST_SIMULATOR)
    settings = producer_settings(broker, feed, simulator.api_url, tmp_path / "pw")
    (tmp_path / "pw").write_text(wrong)
    consumer = start("stockfeed_consumer", {**consumer_env(broker, feed, stack_env, s3_bucket),
                                            "CONSUMER_KAFKA_SASL_PASSWORD": wrong}, "consumer")  # fmt: skip
    line = "ERROR stockfeed_producer.kafka_publisher Kafka authentication failed: "
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: line in producer.log_text(), timeout=30, what="the producer's authentication error")
        wait_until(lambda: "Kafka authentication failed: " in consumer.log(), timeout=30,
                   what="the consumer's authentication error")  # fmt: skip
        time.sleep(2)  # still retrying, not stopped
        assert producer.running()
        assert consumer.proc.poll() is None
        assert producer.terminate() == 1  # its quotes were never acknowledged: undelivered, exit 1
    text = producer.log_text()
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in text
    assert f"User:{feed.producer_user}" in text
    assert "PRODUCER_KAFKA_SASL_PASSWORD" in text
    assert text.count(line) == 1  # repeats are counted, not logged (for 30 s)
    assert producer.summary().delivered == 0
    assert consumer.terminate() == 0
    assert consumer.log().count("ERROR stockfeed_consumer.kafka_errors Kafka authentication failed: ") == 1
    assert "CONSUMER_KAFKA_SASL_PASSWORD" in consumer.log()
    assert nothing_committed(broker, feed.group, feed.topic)
    for log in (text, consumer.log()):
        assert wrong not in log
        assert feed.producer_password not in log
        assert feed.consumer_password not in log
    assert sum(broker.end_offsets(feed.topic).values()) == 0
    assert write_as(broker, feed.producer_user, feed.producer_password, feed.topic, 2) == [None] * 2


@pytest.mark.timeout(120)
def test_without_the_ca_the_broker_certificate_fails_verification(
    broker: SecureBroker, feed: Feed, simulator_factory: Any, tmp_path: Path
) -> None:
    simulator = simulator_factory(**FAST_SIMULATOR)
    settings = producer_settings(broker, feed, simulator.api_url, tmp_path / "pw")
    del settings["kafka_ssl_ca_file"]  # the system's CAs: they never signed the test CA's broker certificate
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: "Kafka authentication failed" in producer.log_text(), timeout=30, what="a TLS error")
        assert producer.terminate() == 1
    text = producer.log_text()
    assert "certificate verify failed" in text
    assert "the TLS handshake failed: check that the broker's certificate chains to PRODUCER_KAFKA_SSL_CA_FILE" in text
    assert producer.summary().delivered == 0
    assert feed.producer_password not in text


# -- mutual TLS: the certificate's CN is the user, and its ACLs apply ---------------------------------------------


@pytest.mark.timeout(120)
def test_mtls_client_certificate_is_its_user_with_its_acls(
    broker: SecureBroker, feed: Feed, other_topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"{feed.producer_user}-tls"
    pem = broker.ca.issue(user)
    broker.grant(user, kafka_user_acls("producer", feed.topic, None))
    for name in [name for name in os.environ if name.startswith("PRODUCER_")]:
        monkeypatch.delenv(name)

    def publisher(topic: str) -> KafkaPublisher:
        settings = load_settings({
            "api_url": "http://127.0.0.1:1/api/v1", "kafka_bootstrap": broker.mtls_bootstrap, "quotes_topic": topic,
            "kafka_security_protocol": "ssl", "kafka_ssl_ca_file": str(broker.ca.cert_file),
            "kafka_ssl_cert_file": str(pem.cert), "kafka_ssl_key_file": str(pem.key),
        })  # fmt: skip
        return KafkaPublisher(kafka_config(settings), ProducerMetrics(), security=settings.kafka_security)

    allowed = publisher(feed.topic)
    never = threading.Event()
    for index in range(5):
        assert allowed.publish(feed.topic, "AAPL", b'{"n":%d}' % index, never)
    assert allowed.close(30) == 0
    assert (allowed.delivered, allowed.failed, allowed.fatal_error) == (5, 0, None)
    assert sum(broker.end_offsets(feed.topic).values()) == 5

    refused = publisher(other_topic)
    refused.publish(other_topic, "AAPL", b"{}", never)
    deadline = time.monotonic() + 30
    while refused.fatal_error is None and time.monotonic() < deadline:
        refused.poll(0.2)  # delivery reports arrive inside poll()
    refused.close(5)
    assert refused.fatal_error is not None
    assert f"writing to topic {other_topic} (TOPIC_AUTHORIZATION_FAILED" in refused.fatal_error
    assert f"the subject of the client certificate {pem.cert}" in refused.fatal_error
    assert (refused.delivered, refused.failed) == (0, 1)
    assert sum(broker.end_offsets(other_topic).values()) == 0

    # a certificate from another CA is not a user at all
    stranger = CertificateAuthority(tmp_path / "stranger-ca").issue(user)
    outsider = Producer({"bootstrap.servers": broker.mtls_bootstrap, "security.protocol": "SSL", "log_level": 0,
                         "ssl.ca.location": str(broker.ca.cert_file), "ssl.certificate.location": str(stranger.cert),
                         "ssl.key.location": str(stranger.key), "message.timeout.ms": 5000})  # fmt: skip
    outcome: list[str | None] = []
    outsider.produce(feed.topic, b"x", on_delivery=lambda e, _m: outcome.append(None if e is None else e.name()))
    outsider.flush(15)
    assert outcome == ["_MSG_TIMED_OUT"]  # never let in, so never delivered
    assert sum(broker.end_offsets(feed.topic).values()) == 5
