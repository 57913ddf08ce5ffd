"""Helpers for tests and benchmarks: the real producer CLI as a child process, its metrics, and a topic reader."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from confluent_kafka import Consumer, KafkaError, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

SUMMARY = re.compile(r"stopped: published=(\d+) delivered=(\d+) failed=(\d+) undelivered=(\d+)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    if not condition():
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Metrics:
    """One scrape of /metrics: samples by name (with the _total suffix) and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str) -> float:
        return sum(value for (sample, _labels), value in self.samples.items() if sample == name)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for (sample, labels), value in self.samples.items():
            if sample == name:
                found[dict(labels).get(label, "")] = value
        return found


@dataclass(frozen=True)
class Summary:
    published: int
    delivered: int
    failed: int
    undelivered: int


class ProducerProcess:
    """`python -m stockfeed_producer` with PRODUCER_* settings; /metrics on a free port; log kept in a file."""

    def __init__(self, settings: Mapping[str, Any], log_file: Path, extra_env: Mapping[str, str] | None = None) -> None:
        """`settings` become PRODUCER_* variables; `extra_env` is added as is (e.g. PRODUCER_FINNHUB_API_KEY).
        PRODUCER_* variables of this process's environment are not inherited."""
        self.metrics_port = free_port()
        self.log_file = log_file
        base = {key: value for key, value in os.environ.items() if not key.startswith("PRODUCER_")}
        values = {"metrics_port": self.metrics_port, "metrics_host": "127.0.0.1", **settings}
        self.env = {**base, **{f"PRODUCER_{k.upper()}": _text(v) for k, v in values.items()}, **(extra_env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.metrics_port}"

    def start(self, timeout: float = 30.0) -> ProducerProcess:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stockfeed_producer"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._healthy, timeout=timeout, what=f"the producer's /healthz (log: {self.log_file})")
        return self

    def _healthy(self) -> bool:
        if not self.running():
            raise RuntimeError(f"the producer exited with {self.returncode()}:\n{self.log_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def health(self) -> tuple[int, dict[str, Any]]:
        response = requests.get(f"{self.url}/healthz", timeout=5)
        return response.status_code, response.json()

    def metrics(self) -> Metrics:
        return Metrics(requests.get(f"{self.url}/metrics", timeout=5).text)

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (the producer flushes), wait, and return the exit code."""
        if self.process is None:
            raise RuntimeError("not started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise

    def summary(self) -> Summary:
        """The counts the producer logged when it stopped."""
        found = SUMMARY.findall(self.log_text())
        if not found:
            raise ValueError(f"no 'stopped:' summary in {self.log_file}")
        return Summary(*(int(n) for n in found[-1]))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@contextlib.contextmanager
def producer_process(
    settings: Mapping[str, Any], log_file: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[ProducerProcess]:
    """A started producer, killed on the way out if the test did not stop it."""
    producer = ProducerProcess(settings, log_file, extra_env)
    try:
        yield producer.start()
    finally:
        producer.kill()


@dataclass(frozen=True)
class Record:
    key: str | None
    value: dict[str, Any]
    partition: int
    offset: int


def read_topic(bootstrap: str, topic: str, *, timeout: float = 60.0) -> list[Record]:
    """Every record in `topic` up to its current end offsets (read once, from the beginning)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30)
        partitions = sorted(metadata.topics[topic].partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: list[Record] = []
        positions = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout
        while any(positions[p] < ends[p] for p in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {len(records)} records of {topic}, positions {positions}, ends {ends}")
            message = consumer.poll(1.0)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(f"reading {topic}: {error}")
            partition, offset = message.partition(), message.offset()
            if partition is None or offset is None:
                continue
            positions[partition] = offset + 1
            key = message.key()
            records.append(
                Record(key.decode() if key else None, json.loads(message.value() or b"null"), partition, offset)
            )
        return records
    finally:
        consumer.close()
