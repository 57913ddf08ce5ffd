"""Issue 19, the consumer (`python -m stockfeed_consumer`, a separate process) against real Kafka and MinIO:

- a SIGKILL of the consumer's own pid (not its process group, as when only the main process is OOM-killed or
  killed by hand on a host) leaves none of its encoder processes nor multiprocessing's resource tracker alive;
- a record whose Kafka timestamp no bronze key can name (past the year 9999) becomes a dead letter with the
  reason, and the records around it are written and committed (before, its batch was retried forever).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

MARKER = "STOCKFEED_TEST_PROCESS_MARKER"


def marked_processes(marker: str) -> dict[int, str]:
    """pid -> command line of every process whose environment holds MARKER=marker (children inherit it)."""
    wanted = f"{MARKER}={marker}".encode()
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if wanted not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                found[int(entry)] = cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:120]
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def consumer_env(stack_env: dict[str, str], s3_bucket: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CONSUMER_KAFKA_BOOTSTRAP": stack_env["DEVSTACK_KAFKA_BOOTSTRAP"],
        "CONSUMER_GROUP_ID": f"bronze-{uuid.uuid4().hex[:8]}",
        "CONSUMER_S3_ENDPOINT_URL": stack_env["DEVSTACK_S3_ENDPOINT"],
        "CONSUMER_S3_REGION": stack_env.get("DEVSTACK_S3_REGION", "us-east-1"),
        "CONSUMER_S3_ACCESS_KEY_ID": stack_env["DEVSTACK_S3_ACCESS_KEY"],
        "CONSUMER_S3_SECRET_ACCESS_KEY": stack_env["DEVSTACK_S3_SECRET_KEY"],
        "CONSUMER_BUCKET": s3_bucket,
        "CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "CONSUMER_S3_TIMEOUT_SECONDS": "5",
        "CONSUMER_RETRY_MAX_SECONDS": "3",
        "CONSUMER_METRICS_PORT": "0",
        "CONSUMER_MAX_AGE_SECONDS": "1",
    }


@pytest.fixture
def start_consumer(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """Start consumers in their own process groups, each with a marker in its environment; kill them (and any
    process carrying their markers) at the end whatever happens."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []

    def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
        marker = uuid.uuid4().hex
        with (tmp_path / f"consumer-{marker[:8]}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "stockfeed_consumer"],
                env={**env, MARKER: marker},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        started.append((proc, marker))
        return proc, marker

    yield start
    for proc, marker in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        for pid in marked_processes(marker):  # only what this test started carries its marker
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.timeout(180)
def test_a_sigkilled_consumer_leaves_no_process_behind(
    start_consumer: Callable[..., tuple[subprocess.Popen[bytes], str]],
    consumer_env: dict[str, str],
    kafka_topic: str,
) -> None:
    proc, marker = start_consumer({**consumer_env, "CONSUMER_TOPICS": kafka_topic, "CONSUMER_ENCODE_PROCESSES": "2"})
    # the consumer, its two encoder processes and the resource tracker
    wait_until(lambda: len(marked_processes(marker)) >= 4, 60, "the encoder processes to start")
    children = {pid: cmd for pid, cmd in marked_processes(marker).items() if pid != proc.pid}
    assert any("spawn_main" in cmd for cmd in children.values()), children

    os.kill(proc.pid, signal.SIGKILL)  # the main pid only, not the group
    proc.wait(10)
    deadline = time.monotonic() + 5
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == {}, f"still alive 5 s after the consumer was killed: {left}"


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, int]]) -> None:
    """(value, Kafka timestamp ms) records into partition 0, in order."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for value, timestamp_ms in records:
        producer.produce(topic, value=value, key=b"AAPL", partition=0, timestamp=timestamp_ms)
    assert producer.flush(30) == 0


def quote(t: int) -> bytes:
    message = {
        "schema_version": "quote.v1", "symbol": "AAPL", "c": 190.5, "d": 1.5, "dp": 0.79, "h": 191.0,
        "l": 188.0, "o": 189.0, "pc": 189.0, "t": t, "fetched_at": t + 0.5, "source": "simulator", "feed": "it",
    }  # fmt: skip
    return json.dumps(message).encode()


@pytest.fixture
def lenient_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A topic whose broker keeps any CreateTime (Kafka 4 refuses records over an hour ahead by default)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    name = f"test-{uuid.uuid4().hex[:12]}"
    config = {"message.timestamp.after.max.ms": str(2**63 - 1)}
    for future in admin.create_topics([NewTopic(name, 1, 1, config=config)]).values():
        future.result(timeout=30)
    yield name
    for future in admin.delete_topics([name]).values():
        with contextlib.suppress(Exception):  # a leftover uniquely named topic is harmless
            future.result(timeout=30)


def list_objects(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = [json.loads(line) for line in gzip.decompress(body).splitlines() if line.strip()]
    return found


@pytest.mark.timeout(180)
def test_an_undatable_kafka_timestamp_becomes_a_dead_letter_and_the_rest_flows(
    start_consumer: Callable[..., tuple[subprocess.Popen[bytes], str]],
    consumer_env: dict[str, str],
    kafka_bootstrap: str,
    lenient_topic: str,
    s3: Any,
    s3_bucket: str,
) -> None:
    now_ms = int(time.time() * 1000)
    t = now_ms // 1000 - 60
    far = 300_000_000_000_000  # about the year 11476
    produce(kafka_bootstrap, lenient_topic, [(quote(t), now_ms), (quote(t + 1), far), (quote(t + 2), now_ms + 1)])
    proc, _ = start_consumer({**consumer_env, "CONSUMER_TOPICS": lenient_topic, "CONSUMER_ENCODE_PROCESSES": "0"})

    def written() -> bool:
        objects = list_objects(s3, s3_bucket)
        data = [r for key, records in objects.items() if not key.startswith("dead-letter/") for r in records]
        dead = [r for key, records in objects.items() if key.startswith("dead-letter/") for r in records]
        return len(data) == 2 and len(dead) == 1

    wait_until(written, 60, "two data records and one dead letter")
    assert proc.poll() is None
    objects = list_objects(s3, s3_bucket)
    (dead,) = [r for key, records in objects.items() if key.startswith("dead-letter/") for r in records]
    assert dead["offset"] == 1
    assert dead["timestamp_ms"] == far
    assert "past the year 9999" in dead["reason"]
    data = sorted(r["t"] for key, records in objects.items() if not key.startswith("dead-letter/") for r in records)
    assert data == [t, t + 2]
