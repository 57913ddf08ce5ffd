"""Bronze writer throughput, measured side by side in one run on one preloaded topic.

    .venv/bin/python -m bench.consumer [--messages 200000] [--original-sample 2000] [--repeats 3]

(a) consume-only: read every record's value and drop it, the ceiling for any Python consumer;
(b) ours: the bronze writer (stockfeed_consumer) into MinIO: batches, validation, gzip, put, manual commits;
(c) the original's way: one put_object per message, offsets auto-committed, on a capped sample.
Each is timed from its first record to its last record handled (for (b): written and committed), so group
joins are not counted. Runs are interleaved and repeated; the medians and their ratios are printed.
Needs the local stack (`make devstack-up`, or DEVSTACK_* variables for another instance).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from pydantic import SecretStr

from devstack import envfile
from devstack.settings import Settings
from stockfeed_consumer.app import layout, writer_options
from stockfeed_consumer.batching import CutReason
from stockfeed_consumer.config import ConsumerSettings
from stockfeed_consumer.encoder import Encoder
from stockfeed_consumer.kafka import consumer_config
from stockfeed_consumer.metrics import ConsumerMetrics
from stockfeed_consumer.sink import S3Sink
from stockfeed_consumer.writer import BronzeWriter

PARTITIONS = 3
SYMBOLS = [f"SYM{i:02d}" for i in range(50)]
RUN_TIMEOUT = 600.0


def quote(i: int) -> tuple[bytes, bytes]:
    symbol = SYMBOLS[i % len(SYMBOLS)]
    price = 100.0 + (i % 997) / 10
    message = {
        "schema_version": "quote.v1", "symbol": symbol, "c": price, "d": 0.5, "dp": 0.5, "h": price + 1,
        "l": price - 1, "o": price, "pc": price - 0.5, "t": 1_795_770_000 + i // len(SYMBOLS),
        "fetched_at": 1_795_770_000 + i / 1000, "source": "simulator", "feed": "bench",
    }  # fmt: skip
    return symbol.encode(), json.dumps(message, separators=(",", ":")).encode()


def preload(bootstrap: str, topic: str, count: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "enable.idempotence": True})
    for i in range(count):
        key, value = quote(i)
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise SystemExit("preload: records still unsent after 120s")


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished child processes (the encoder workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def kafka_consumer(bootstrap: str, **extra: Any) -> Consumer:
    config = {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
              "auto.offset.reset": "earliest", "enable.auto.commit": False, **extra}  # fmt: skip
    return Consumer(config)


def consume_only(bootstrap: str, topic: str, count: int) -> float:
    """(a) messages/s reading every value and dropping it."""
    consumer = kafka_consumer(bootstrap)
    consumer.subscribe([topic])
    seen = 0
    began = None
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while seen < count and time.monotonic() < deadline:
            messages = consumer.consume(num_messages=10_000, timeout=0.5)
            if messages and began is None:
                began = time.perf_counter()
            for message in messages:
                if message.error() is None and message.value() is not None:
                    seen += 1
        if began is None or seen != count:
            raise RuntimeError(f"consume-only read {seen} of {count} records")
        return count / (time.perf_counter() - began)
    finally:
        consumer.close()


def ours(stack: dict[str, str], topic: str, count: int, encode_processes: int) -> float:
    """(b) messages/s through the bronze writer into MinIO, until every offset is committed."""
    bucket = f"bench-ours-{uuid.uuid4().hex[:8]}"
    settings = ConsumerSettings(
        kafka_bootstrap=stack["DEVSTACK_KAFKA_BOOTSTRAP"], topics=(topic,), group_id=f"bench-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=stack["DEVSTACK_S3_ENDPOINT"], s3_access_key_id=SecretStr(stack["DEVSTACK_S3_ACCESS_KEY"]),
        s3_secret_access_key=SecretStr(stack["DEVSTACK_S3_SECRET_KEY"]), bucket=bucket,
        encode_processes=encode_processes, metrics_port=0,
    )  # fmt: skip
    sink = S3Sink.from_settings(settings)
    sink.ensure_bucket(create=True)
    encoder = Encoder(settings.encode_processes, layout(settings), settings.gzip_level)
    encoder.wait_ready(timeout=60)
    uploader = ThreadPoolExecutor(max_workers=settings.upload_workers)
    consumer = Consumer(consumer_config(settings))
    writer = BronzeWriter(consumer, sink, encoder, uploader, writer_options(settings), ConsumerMetrics())
    consumer.subscribe([topic], on_assign=writer.on_assign, on_revoke=writer.on_revoke)
    began = None
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while time.monotonic() < deadline:
            messages = consumer.consume(num_messages=settings.poll_max_records, timeout=writer.poll_timeout())
            if messages and began is None:
                began = time.perf_counter()
            writer.handle(messages)
            writer.tick()
            if writer.states and sum(state.next_offset or 0 for state in writer.states.values()) >= count:
                # every record is in: cut the open batches now instead of waiting for max age
                writer.drain(list(writer.states), CutReason.SHUTDOWN, timeout=RUN_TIMEOUT)
                break
        committed = sum(state.committed or 0 for state in writer.states.values())
        if began is None or committed != count:
            raise RuntimeError(f"ours committed {committed} of {count} records")
        return count / (time.perf_counter() - began)
    finally:
        consumer.close()
        uploader.shutdown()
        encoder.shutdown()
        empty_bucket(sink.client, bucket)


def original_way(stack: dict[str, str], topic: str, sample: int) -> float:
    """(c) messages/s the seed's way: one JSON object per message, offsets auto-committed whatever happens."""
    bucket = f"bench-original-{uuid.uuid4().hex[:8]}"
    s3 = s3_client(stack)
    s3.create_bucket(Bucket=bucket)
    consumer = kafka_consumer(stack["DEVSTACK_KAFKA_BOOTSTRAP"], **{"enable.auto.commit": True})
    consumer.subscribe([topic])
    written = 0
    began = None
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while written < sample and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if began is None:
                began = time.perf_counter()
            record = json.loads(message.value() or b"null")
            key = f"{record['symbol']}/{record['t']}.json"  # the seed's layout: symbol/timestamp.json
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record).encode())
            written += 1
        if began is None or written != sample:
            raise RuntimeError(f"the original way wrote {written} of {sample} records")
        return sample / (time.perf_counter() - began)
    finally:
        consumer.close()
        empty_bucket(s3, bucket)


def s3_client(stack: dict[str, str]) -> Any:
    return boto3.client(
        "s3", endpoint_url=stack["DEVSTACK_S3_ENDPOINT"], aws_access_key_id=stack["DEVSTACK_S3_ACCESS_KEY"],
        aws_secret_access_key=stack["DEVSTACK_S3_SECRET_KEY"], region_name=stack.get("DEVSTACK_S3_REGION", "us-east-1"),
    )  # fmt: skip


def empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="records preloaded into the topic")
    parser.add_argument("--original-sample", type=int, default=2_000, help="records for the original's way")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved; medians are reported")
    parser.add_argument("--encode-processes", type=int, default=ConsumerSettings().encode_processes)
    args = parser.parse_args(argv)

    stack = envfile.read(Settings.from_env().env_file)
    if "DEVSTACK_KAFKA_BOOTSTRAP" not in stack:
        print("the local stack is not up: run `make devstack-up`", file=sys.stderr)
        return 2
    bootstrap = stack["DEVSTACK_KAFKA_BOOTSTRAP"]
    topic = f"bench-consumer-{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    preload(bootstrap, topic, args.messages)
    load = os.getloadavg()[0]
    print(f"preloaded {args.messages} quote.v1 records into {topic} ({PARTITIONS} partitions) "
          f"in {time.monotonic() - began:.1f}s; {os.cpu_count()} CPUs, load average {load:.1f}")  # fmt: skip
    rates: dict[str, list[float]] = {"consume-only": [], "ours": [], "original": []}
    cpu: dict[str, list[float]] = {"consume-only": [], "ours": []}  # CPU microseconds per message
    try:
        for run in range(1, args.repeats + 1):
            before = cpu_seconds()
            rates["consume-only"].append(consume_only(bootstrap, topic, args.messages))
            middle = cpu_seconds()
            rates["ours"].append(ours(stack, topic, args.messages, args.encode_processes))
            after = cpu_seconds()
            cpu["consume-only"].append((middle - before) / args.messages * 1e6)
            cpu["ours"].append((after - middle) / args.messages * 1e6)
            rates["original"].append(original_way(stack, topic, args.original_sample))
            print(f"run {run}: " + ", ".join(f"{name} {values[-1]:,.0f} msg/s" for name, values in rates.items()))
    finally:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.delete_topics([topic])[topic].result(30)

    median = {name: statistics.median(values) for name, values in rates.items()}
    print()
    print(f"{'':44} {'median msg/s':>14}   runs")
    print(f"{'(a) consume-only (the limit)':44} {median['consume-only']:>14,.0f}   {_runs(rates['consume-only'])}")
    print(f"{'(b) ours: batched NDJSON.gz + manual commits':44} {median['ours']:>14,.0f}   {_runs(rates['ours'])}")
    print(f"{f'(c) original: put per message ({args.original_sample} msgs)':44} {median['original']:>14,.0f}   "
          f"{_runs(rates['original'])}")  # fmt: skip
    vs_original = median["ours"] / median["original"]
    vs_limit = median["ours"] / median["consume-only"]
    print()
    print(f"ours / original way : {vs_original:8.1f}x   (target >= 100x: {'met' if vs_original >= 100 else 'MISSED'})")
    print(f"ours / consume-only : {vs_limit:8.2f}    (target >= 0.5:  {'met' if vs_limit >= 0.5 else 'MISSED'})")
    cpu_limit, cpu_ours = statistics.median(cpu["consume-only"]), statistics.median(cpu["ours"])
    print(f"CPU per message     : consume-only {cpu_limit:.1f} us, ours {cpu_ours:.1f} us "
          f"(client side, all threads and encoder processes; brokers and MinIO not counted)")  # fmt: skip
    print(f"(encode processes: {args.encode_processes}; load average now {os.getloadavg()[0]:.1f}: "
          f"other work on this machine competes for its CPUs)")  # fmt: skip
    return 0


def _runs(values: list[float]) -> str:
    return " ".join(f"{value:,.0f}" for value in values)


if __name__ == "__main__":  # the encoder's spawned processes import this module again
    sys.exit(main(sys.argv[1:]))
