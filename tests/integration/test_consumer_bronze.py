"""The bronze writer against the stack's real Kafka and MinIO: crashes, a quiet topic, a rebalance, an S3 outage,
bad records and a clean stop. The consumer always runs as its own process (`python -m stockfeed_consumer`)."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from stockfeed_consumer.encoding import decode_object

pytestmark = pytest.mark.integration

SYMBOLS = [f"SYM{i:02d}" for i in range(50)]
T_BASE = 1_795_770_000  # quote times (UNIX seconds); (symbol, t) is unique per generated quote


# -- the data ---------------------------------------------------------------------------------------------------


def quote(i: int) -> tuple[bytes, bytes]:
    """The i-th generated quote.v1 message as (key, value); key = symbol."""
    symbol = SYMBOLS[i % len(SYMBOLS)]
    price = 100.0 + (i % 997) / 10
    message = {
        "schema_version": "quote.v1", "symbol": symbol, "c": price, "d": 0.5, "dp": 0.5, "h": price + 1,
        "l": price - 1, "o": price, "pc": price - 0.5, "t": T_BASE + i // len(SYMBOLS),
        "fetched_at": T_BASE + i / 1000, "source": "simulator", "feed": "test",
    }  # fmt: skip
    return symbol.encode(), json.dumps(message, separators=(",", ":")).encode()


def natural_key(i: int) -> tuple[str, int]:
    return SYMBOLS[i % len(SYMBOLS)], T_BASE + i // len(SYMBOLS)


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]], per_second: float = 0.0) -> None:
    """Produce records (idempotent, acks=all), optionally throttled; fails the test on any delivery error."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20})
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    began = time.monotonic()
    for index, (key, value) in enumerate(records):
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        if per_second and index % 100 == 99:
            ahead = (index + 1) / per_second - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
            producer.poll(0)
    assert producer.flush(60) == 0, "records still unsent after 60s"
    assert not failures, failures[:3]


class BackgroundProducer(threading.Thread):
    def __init__(self, bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]], per_second: float):
        super().__init__(daemon=True)
        self.args = (bootstrap, topic, records, per_second)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            produce(*self.args)
        except BaseException as error:
            self.error = error

    def finish(self, timeout: float) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"producer not done after {timeout}s"
        if self.error is not None:
            raise self.error


# -- the consumer under test ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ConsumerProcess:
    """`python -m stockfeed_consumer` in its own process group, logging to a file."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        env = {**self.env, "CONSUMER_METRICS_PORT": str(self.port), "CONSUMER_METRICS_HOST": "127.0.0.1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stockfeed_consumer"], env=env, stdout=log, stderr=log, start_new_session=True
            )
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (the consumer and its encoder processes), like a container kill."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM the consumer (what Kubernetes sends) and return its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics, keyed by name with labels, e.g. 'stockfeed_consumer_buffered_bytes'."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return {}
        samples = {}
        for line in text.splitlines():
            if line.startswith("stockfeed_consumer_"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples (0 when unreachable), over those with the given labels."""
        wanted = [f'{label}="{value}"' for label, value in labels.items()]
        total = 0.0
        for key, value in self.metrics().items():
            sample, _, label_text = key.partition("{")
            if sample == name and all(item in label_text for item in wanted):
                total += value
        return total

    def fully_assigned(self) -> bool:
        """All three partitions of the test topic are assigned to this process."""
        return self.metric("stockfeed_consumer_assigned_partitions") == 3

    def rss_bytes(self) -> int:
        """Resident memory of the consumer and its child processes."""
        assert self.proc is not None
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(child) for child in children]
        except OSError:
            return 0
        total = 0
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            total += int(match.group(1)) * 1024 if match else 0
        return total

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


# -- Kafka and the lake, seen from outside ------------------------------------------------------------------------


def end_offsets(bootstrap: str, topic: str, partitions: int = 3) -> dict[int, int]:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:8]}"})
    try:
        return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        probe.close()


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        result = probe.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: max(tp.offset, 0) for tp in result}
    finally:
        probe.close()


def all_committed(bootstrap: str, group: str, topic: str) -> Callable[[], bool]:
    return lambda: committed_offsets(bootstrap, group, topic) == end_offsets(bootstrap, topic)


@dataclass(frozen=True)
class LakeObject:
    key: str
    partition: int
    first_offset: int
    next_offset: int
    documents: list[Any]


def read_lake(s3: Any, bucket: str, prefix: str) -> list[LakeObject]:
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            response = s3.get_object(Bucket=bucket, Key=item["Key"])
            meta = response["Metadata"]
            objects.append(
                LakeObject(
                    key=item["Key"], partition=int(meta["partition"]), first_offset=int(meta["first-offset"]),
                    next_offset=int(meta["next-offset"]), documents=decode_object(response["Body"].read()),
                )
            )  # fmt: skip
    return objects


def assert_chains_cover(objects: list[LakeObject], ends: dict[int, int]) -> dict[int, int]:
    """Per partition, the objects' offset ranges cover [0, end) with no gap (no loss).

    Returns, per partition, how many offsets are covered more than once (the at-least-once window).
    """
    overlaps = {}
    for partition, end in ends.items():
        ranges = sorted((o.first_offset, o.next_offset) for o in objects if o.partition == partition)
        reached = 0
        doubled = 0
        for first, next_offset in ranges:
            assert first <= reached, f"partition {partition}: offsets {reached}..{first - 1} are in no object"
            doubled += max(0, min(reached, next_offset) - first)
            reached = max(reached, next_offset)
        assert reached == end, f"partition {partition}: objects reach offset {reached}, the log ends at {end}"
        overlaps[partition] = doubled
    return overlaps


def names_match_first_offsets(objects: list[LakeObject]) -> None:
    for obj in objects:
        assert obj.key.endswith(f"+{obj.partition}+{obj.first_offset:020d}.ndjson.gz"), obj.key
        assert re.search(r"/topic=[^/]+/dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/", obj.key), obj.key


# -- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def consumer_env(stack_env: dict[str, str], kafka_topic: str, s3_bucket: str) -> dict[str, str]:
    """Settings of a consumer on this test's topic and bucket, in a group of its own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CONSUMER_KAFKA_BOOTSTRAP": stack_env["DEVSTACK_KAFKA_BOOTSTRAP"],
        "CONSUMER_TOPICS": kafka_topic,
        "CONSUMER_GROUP_ID": f"bronze-{uuid.uuid4().hex[:8]}",
        "CONSUMER_S3_ENDPOINT_URL": stack_env["DEVSTACK_S3_ENDPOINT"],
        "CONSUMER_S3_REGION": stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        "CONSUMER_S3_ACCESS_KEY_ID": stack_env["DEVSTACK_S3_ACCESS_KEY"],
        "CONSUMER_S3_SECRET_ACCESS_KEY": stack_env["DEVSTACK_S3_SECRET_KEY"],
        "CONSUMER_BUCKET": s3_bucket,
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "CONSUMER_S3_TIMEOUT_SECONDS": "5",
        "CONSUMER_RETRY_MAX_SECONDS": "3",
    }


@pytest.fixture
def consumers(tmp_path: Path) -> Iterator[Callable[..., ConsumerProcess]]:
    """Start consumer processes; all of them are killed at the end whatever happens."""
    started: list[ConsumerProcess] = []

    def start(env: dict[str, str], name: str = "consumer", **settings: str) -> ConsumerProcess:
        overrides = {f"CONSUMER_{key.upper()}": value for key, value in settings.items()}
        process = ConsumerProcess({**env, **overrides}, tmp_path / f"{name}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


# -- the tests ----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(420)
def test_sigkill_at_random_moments_loses_nothing(
    consumers: Callable[..., ConsumerProcess], consumer_env: dict[str, str], kafka_bootstrap: str,
    kafka_topic: str, s3: Any, s3_bucket: str,
) -> None:  # fmt: skip
    count = 100_000
    producer = BackgroundProducer(kafka_bootstrap, kafka_topic, [quote(i) for i in range(count)], per_second=3_000)
    producer.start()
    wait_until(lambda: sum(end_offsets(kafka_bootstrap, kafka_topic).values()) > 5_000, 60, "records flowing")
    rng = random.Random()
    group = consumer_env["CONSUMER_GROUP_ID"]
    settings = {"max_records": "2000", "max_age_seconds": "1", "group_instance_id": "crash-test-0"}
    kills = 0
    progress = []
    while kills < 5 or (kills < 15 and producer.is_alive()):  # kill while records keep arriving
        process = consumers(consumer_env, "consumer", **settings)
        # a random moment once it works (interpreter start-up is slow on a busy machine and proves nothing)
        wait_until(process.fully_assigned, 60, "an assignment")
        time.sleep(rng.uniform(0.2, 4.0))
        process.kill()
        kills += 1
        progress.append(sum(committed_offsets(kafka_bootstrap, group, kafka_topic).values()))
    producer.finish(timeout=120)
    final = consumers(consumer_env, "consumer", **settings)
    wait_until(final.fully_assigned, 60, "the last run's assignment")
    wait_until(all_committed(kafka_bootstrap, group, kafka_topic), 180, "all committed")
    assert final.terminate() == 0

    objects = read_lake(s3, s3_bucket, "bronze/")
    seen = [(doc["symbol"], doc["t"]) for obj in objects for doc in obj.documents]
    expected = {natural_key(i) for i in range(count)}
    assert set(seen) == expected
    assert len(seen) >= count
    assert_chains_cover(objects, end_offsets(kafka_bootstrap, kafka_topic))
    names_match_first_offsets(objects)
    print(f"{kills} kills, committed after each: {progress}; {len(seen) - count} duplicates in {len(objects)} objects")
    assert kills >= 5
    assert progress[-1] > progress[0], "the kills did not happen while the consumer was making progress"


@pytest.mark.timeout(120)
def test_a_quiet_topic_is_flushed_within_max_age(
    consumers: Callable[..., ConsumerProcess], consumer_env: dict[str, str], kafka_bootstrap: str,
    kafka_topic: str, s3: Any, s3_bucket: str,
) -> None:  # fmt: skip
    max_age = 2.0
    process = consumers(consumer_env, max_age_seconds=str(max_age), max_records="10000")
    wait_until(process.fully_assigned, 60, "partitions assigned")
    produce(kafka_bootstrap, kafka_topic, [quote(i) for i in range(10)])
    last_produced = time.monotonic()
    wait_until(lambda: len(read_lake(s3, s3_bucket, "bronze/")) > 0, 30, "an object", every=0.1)
    first_object_after = time.monotonic() - last_produced
    wait_until(all_committed(kafka_bootstrap, consumer_env["CONSUMER_GROUP_ID"], kafka_topic), 30, "commits")
    flushed_within = time.monotonic() - last_produced
    documents = [doc for obj in read_lake(s3, s3_bucket, "bronze/") for doc in obj.documents]
    assert sorted((d["symbol"], d["t"]) for d in documents) == sorted(natural_key(i) for i in range(10))
    assert flushed_within < max_age + 3.0, f"partial batches written and committed {flushed_within:.1f}s after"
    cut = process.metric("stockfeed_consumer_batches_cut_total")
    assert cut > 0
    assert cut == process.metric("stockfeed_consumer_batches_cut_total", reason="age")
    assert process.running(), "the consumer keeps running on a quiet topic"
    print(f"first object {first_object_after:.2f}s, all committed {flushed_within:.2f}s after the last record")


@pytest.mark.timeout(240)
def test_a_second_consumer_joining_gets_flushed_and_committed_partitions(
    consumers: Callable[..., ConsumerProcess], consumer_env: dict[str, str], kafka_bootstrap: str,
    kafka_topic: str, s3: Any, s3_bucket: str,
) -> None:  # fmt: skip
    count = 30_000
    producer = BackgroundProducer(kafka_bootstrap, kafka_topic, [quote(i) for i in range(count)], per_second=2_500)
    producer.start()
    settings = {"max_records": "1000", "max_age_seconds": "30"}  # the age never cuts: revokes and counts do
    first = consumers(consumer_env, "first", **settings)
    group = consumer_env["CONSUMER_GROUP_ID"]
    wait_until(lambda: sum(committed_offsets(kafka_bootstrap, group, kafka_topic).values()) > 0, 60, "first commits")
    second = consumers(consumer_env, "second", **settings)
    wait_until(lambda: second.metric("stockfeed_consumer_assigned_partitions") > 0, 60, "the second's assignment")
    producer.finish(timeout=120)
    assert first.terminate() == 0  # its partitions move to the second, flushed first
    wait_until(all_committed(kafka_bootstrap, group, kafka_topic), 120, "all committed")
    assert second.terminate() == 0

    moved = re.findall(r"revoked ((?:\S+\[\d\](?:, )?)+): flushing", first.log())
    assert moved, "the first consumer never had a partition revoked"
    assert "cut by revoke" in first.log(), "no batch was cut and written at the revoke"
    objects = read_lake(s3, s3_bucket, "bronze/")
    seen = [(doc["symbol"], doc["t"]) for obj in objects for doc in obj.documents]
    assert set(seen) == {natural_key(i) for i in range(count)}
    # a flushed-and-committed handover: the next owner starts where the last object ended. Only a commit
    # refused mid-rebalance could make it re-read one batch (max_records) of a moved partition.
    doubled = assert_chains_cover(objects, end_offsets(kafka_bootstrap, kafka_topic))
    assert all(records <= 1000 for records in doubled.values()), doubled
    assert len(seen) == count + sum(doubled.values())
    print(f"records written twice per partition: {doubled}")


@pytest.mark.timeout(300)
def test_an_s3_outage_pauses_with_bounded_memory_and_recovers(
    consumers: Callable[..., ConsumerProcess], consumer_env: dict[str, str], kafka_bootstrap: str,
    kafka_topic: str, s3: Any, s3_bucket: str, stack_servers: dict[str, Any],
) -> None:  # fmt: skip
    count = 60_000
    cap = 4 * 1024 * 1024
    producer = BackgroundProducer(kafka_bootstrap, kafka_topic, [quote(i) for i in range(count)], per_second=1_200)
    producer.start()
    process = consumers(
        consumer_env, max_records="1000", max_age_seconds="1", max_buffered_bytes=str(cap),
        poll_max_records="500", queued_max_kbytes="2048",
    )  # fmt: skip
    group = consumer_env["CONSUMER_GROUP_ID"]
    wait_until(lambda: sum(committed_offsets(kafka_bootstrap, group, kafka_topic).values()) > 2000, 60, "commits")
    minio = stack_servers["minio"]
    buffered, rss, paused = [], [], []
    minio.stop()
    try:
        outage_began = time.monotonic()
        committed_at_outage = committed_offsets(kafka_bootstrap, group, kafka_topic)
        while time.monotonic() - outage_began < 30:
            buffered.append(process.metric("stockfeed_consumer_buffered_bytes"))
            paused.append(process.metric("stockfeed_consumer_paused_partitions"))
            rss.append(process.rss_bytes())
            time.sleep(1)
        committed_in_outage = committed_offsets(kafka_bootstrap, group, kafka_topic)
    finally:
        minio.start()
    assert process.running(), "the consumer survives the outage"
    producer.finish(timeout=120)
    wait_until(all_committed(kafka_bootstrap, group, kafka_topic), 150, "all committed after the outage")
    upload_failures = process.metric("stockfeed_consumer_upload_failures_total")
    assert process.terminate() == 0

    assert committed_in_outage == committed_at_outage, "nothing may be committed while nothing can be written"
    assert max(paused) == 3, f"partitions were not paused: {paused}"
    assert max(buffered) <= cap, f"buffered bytes went to {max(buffered):.0f} (cap {cap})"
    assert max(rss) < 400 * 1024 * 1024, f"RSS went to {max(rss) / 2**20:.0f} MiB"
    assert upload_failures > 0
    objects = read_lake(s3, s3_bucket, "bronze/")
    seen = [(doc["symbol"], doc["t"]) for obj in objects for doc in obj.documents]
    assert set(seen) == {natural_key(i) for i in range(count)}
    assert_chains_cover(objects, end_offsets(kafka_bootstrap, kafka_topic))
    print(f"outage: max buffered {max(buffered) / 2**20:.2f} MiB, max RSS {max(rss) / 2**20:.0f} MiB, paused {paused}")


@pytest.mark.timeout(120)
def test_bad_records_go_to_dead_letters_and_sigterm_flushes_the_rest(
    consumers: Callable[..., ConsumerProcess], consumer_env: dict[str, str], kafka_bootstrap: str,
    kafka_topic: str, s3: Any, s3_bucket: str,
) -> None:  # fmt: skip
    bad: list[tuple[bytes, bytes | None]] = [
        (b"SYM00", b"not json at all"),
        (b"SYM01", b"\xff\xfe\x00garbage"),
        (b"SYM02", json.dumps({**json.loads(quote(2)[1]), "c": -5}).encode()),  # breaks quote.v1
        (b"SYM03", b'{"schema_version": "quote.v7"}'),
        (b"SYM04", None),  # a tombstone
    ]
    records: list[tuple[bytes, bytes | None]] = []
    for i in range(200):
        records.append(quote(i))
        if i % 40 == 0:
            records.append(bad[i // 40])
    # a long max age: nothing is cut before the SIGTERM, so the stop itself must write everything
    process = consumers(consumer_env, max_age_seconds="300", max_records="10000")
    wait_until(process.fully_assigned, 60, "partitions assigned")
    produce(kafka_bootstrap, kafka_topic, records)
    wait_until(lambda: process.metric("stockfeed_consumer_records_in_total") == len(records), 30, "all records in")
    assert read_lake(s3, s3_bucket, "") == []
    assert process.terminate() == 0
    assert committed_offsets(kafka_bootstrap, consumer_env["CONSUMER_GROUP_ID"], kafka_topic) == end_offsets(
        kafka_bootstrap, kafka_topic
    )

    good = [doc for obj in read_lake(s3, s3_bucket, "bronze/") for doc in obj.documents]
    assert sorted((d["symbol"], d["t"]) for d in good) == sorted(natural_key(i) for i in range(200))
    dead_objects = read_lake(s3, s3_bucket, "dead-letter/")
    names_match_first_offsets(dead_objects)
    letters = [doc for obj in dead_objects for doc in obj.documents]
    assert len(letters) == len(bad)
    by_value = {(None if d["value_base64"] is None else base64.b64decode(d["value_base64"])): d for d in letters}
    assert set(by_value) == {value for _key, value in bad}
    assert "not valid JSON" in by_value[b"not json at all"]["reason"]
    assert "not UTF-8" in by_value[b"\xff\xfe\x00garbage"]["reason"]
    assert "quote.v1" in by_value[bad[2][1]]["reason"]
    assert "unknown schema_version" in by_value[bad[3][1]]["reason"]
    assert "tombstone" in by_value[None]["reason"]
    for letter in letters:
        assert letter["topic"] == kafka_topic
        assert {"partition", "offset", "timestamp_ms", "key_base64"} <= set(letter)
