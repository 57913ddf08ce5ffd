"""Pure parts of the devstack tool, and its process handling on a harmless `sleep`."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from devstack import envfile, health, procs
from devstack.errors import StackError
from devstack.kafka import fetch_pom, server_properties
from devstack.settings import ConfigError, Settings

pytestmark = pytest.mark.unit


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env({"DEVSTACK_HOME": str(tmp_path), "DEVSTACK_KAFKA_PORT": "29092"})
    assert settings.kafka_port == 29092
    assert settings.minio_port == 19000
    assert settings.env_file == tmp_path / "env"
    assert settings.data("kafka") == tmp_path / "data" / "kafka"


@pytest.mark.parametrize("value", ["kafka", "0", "70000"])
def test_bad_port_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="DEVSTACK_MINIO_PORT"):
        Settings.from_env({"DEVSTACK_MINIO_PORT": value})


def test_kafka_config_binds_loopback_and_sizes_internal_topics_for_one_broker(tmp_path: Path) -> None:
    text = server_properties(port=1111, controller_port=2222, pod_port=3333, node_ip="198.18.0.1", log_dir=tmp_path)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1111,PODS://127.0.0.1:3333,CONTROLLER://127.0.0.1:2222"
    # pods reach the broker through the node's forwarder, so that is the address their clients are sent back to
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1111,PODS://198.18.0.1:3333"
    assert props["listener.security.protocol.map"].split(",").count("PODS:PLAINTEXT") == 1
    assert props["controller.quorum.voters"] == "1@127.0.0.1:2222"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["log.dirs"] == str(tmp_path)


def test_kafka_pom_adds_a_log4j_binding() -> None:
    pom = fetch_pom("4.1.1", "2.24.3")
    assert "<artifactId>kafka_2.13</artifactId><version>4.1.1</version>" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version>" in pom


def test_env_file_roundtrips_awkward_values(tmp_path: Path) -> None:
    values = {"A": "plain", "B": "with space and 'quote'", "C": "", "D": "x=y;$HOME"}
    path = tmp_path / "env"
    envfile.write(path, values)
    assert envfile.read(path) == values
    assert path.stat().st_mode & 0o777 == 0o600, "it holds credentials"


def test_busy_port_fails_fast_naming_the_variable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not procs.port_is_free(port)
        with pytest.raises(StackError, match=f"127.0.0.1:{port} is busy.*DEVSTACK_KAFKA_PORT"):
            procs.require_free_ports("kafka", {"DEVSTACK_KAFKA_PORT": port})


def test_kafka_probe_is_false_on_a_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert health.kafka_api_versions(port, timeout=0.5) is False


def test_daemon_is_started_found_and_stopped(tmp_path: Path) -> None:
    marker = f"{tmp_path}/marker"
    pid_file = tmp_path / "run" / "sleeper.pid"
    code = "import sys, time; time.sleep(60)"
    pid = procs.start_daemon([sys.executable, "-c", code, marker], pid_file=pid_file, log_file=tmp_path / "log")
    try:
        assert procs.owned_pid(pid_file, marker) == pid
        assert procs.owned_pid(pid_file, "some-other-marker") is None, "never claim a process we cannot recognise"
    finally:
        assert procs.stop(pid_file, marker, timeout=5) is True
    assert procs.owned_pid(pid_file, marker) is None
    assert procs.stop(pid_file, marker) is False, "a second stop is a no-op"


def test_wait_until_reports_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("starting\nFATAL: could not bind\n")
    with pytest.raises(StackError, match=r"(?s)demo: not healthy after 0s.*FATAL: could not bind"):
        health.wait_until(lambda: False, what="demo", timeout=0.3, log_file=log)


def test_minio_publishes_bucket_events_to_kafka_and_exports_the_target(tmp_path: Path) -> None:
    from devstack.minio import EVENTS_ARN, EVENTS_TOPIC, MinIO

    settings = Settings.from_env({"DEVSTACK_HOME": str(tmp_path), "DEVSTACK_KAFKA_PORT": "29092"})
    minio = MinIO(settings)
    notify = minio.events_env()
    # The variable's suffix is MinIO's target id, verbatim: it must spell the id in the exported ARN.
    assert EVENTS_ARN == "arn:minio:sqs::stockfeed:kafka"
    assert notify["MINIO_NOTIFY_KAFKA_ENABLE_stockfeed"] == "on"
    assert notify["MINIO_NOTIFY_KAFKA_BROKERS_stockfeed"] == "127.0.0.1:29092"
    assert notify["MINIO_NOTIFY_KAFKA_TOPIC_stockfeed"] == EVENTS_TOPIC == "stockfeed.bronze-events"
    queue_dir = Path(notify["MINIO_NOTIFY_KAFKA_QUEUE_DIR_stockfeed"])
    assert queue_dir.is_relative_to(minio.data_dir)
    assert queue_dir.relative_to(minio.data_dir).parts[0].startswith(".")  # never listed as a bucket
    exported = minio.env()
    assert exported["DEVSTACK_S3_EVENTS_ARN"] == EVENTS_ARN
    assert exported["DEVSTACK_S3_EVENTS_TOPIC"] == EVENTS_TOPIC
