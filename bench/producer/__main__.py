"""Trades into Kafka: the producer's throughput beside raw confluent-kafka producing the very same messages.

    .venv/bin/python -m bench.producer [--seconds 10] [--rounds 3] [--symbols 20]

(a) ours: the simulator's trades WebSocket at full speed -> stockfeed-producer (trades mode, default settings:
    contract validation on, idempotent, acks=all, lz4) -> Kafka. Measured as trades acknowledged by Kafka per
    second (the producer's own delivered counter) over a steady window after a warm-up.
(b) raw: the exact records (key and value bytes) that (a) wrote, read back from its topic and produced again
    by a bare confluent-kafka Producer with the same Kafka settings and a delivery callback, timed from the
    first produce() to the end of flush().
Rounds alternate (a) and (b); medians and the ratio (a)/(b) are printed (target >= 0.5).
Needs the local stack (`make devstack-up`, or DEVSTACK_* variables for another instance).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import envfile
from devstack.settings import Settings
from stockfeed_producer.testing import ProducerProcess, wait_until
from stockfeed_simulator.symbols import BUILTIN_SYMBOLS
from stockfeed_simulator.testing import simulator_process

PARTITIONS = 3
WARM_UP_SECONDS = 3.0
# The producer's defaults (see stockfeed_producer.kafka_publisher.kafka_config), for the raw baseline.
RAW_CONFIG = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 20,
    "queue.buffering.max.messages": 100_000,
    "queue.buffering.max.kbytes": 65_536,
}


def bootstrap_servers(explicit: str | None) -> str:
    if explicit:
        return explicit
    values = envfile.read(Settings.from_env().env_file)
    if "DEVSTACK_KAFKA_BOOTSTRAP" not in values:
        sys.exit("bench.producer: the local stack is not up (run `make devstack-up`) and --bootstrap is not given")
    return values["DEVSTACK_KAFKA_BOOTSTRAP"]


def create_topic(admin: AdminClient) -> str:
    name = f"bench-producer-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])[name].result(30)
    return name


def read_records(bootstrap: str, topic: str, timeout: float = 120.0) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) in `topic`, as bytes, up to the end offsets seen at the start."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 52_428_800,
        }
    )
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTITIONS)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        positions = dict.fromkeys(ends, 0)
        records: list[tuple[bytes | None, bytes]] = []
        deadline = time.monotonic() + timeout
        while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 1.0):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(str(error))
                partition, offset = message.partition(), message.offset()
                if partition is None or offset is None or offset >= ends[partition]:
                    continue
                positions[partition] = offset + 1
                records.append((message.key(), message.value() or b""))
        return records
    finally:
        consumer.close()


def run_producer(bootstrap: str, topic: str, api_url: str, symbols: list[str], seconds: float, log: Path) -> float:
    """Trades/s acknowledged by Kafka over `seconds`, after a warm-up; the producer is stopped afterwards."""
    settings = {
        "mode": "trades",
        "api_url": api_url,
        "kafka_bootstrap": bootstrap,
        "trades_topic": topic,
        "symbols": symbols,
        "feed": "bench",
        "log_level": "WARNING",
    }
    producer = ProducerProcess(settings, log)
    try:
        producer.start()

        def delivered() -> float:
            return producer.metrics().total("stockfeed_producer_messages_delivered_total")

        wait_until(lambda: delivered() > 0, timeout=30, what="the first trades")
        time.sleep(WARM_UP_SECONDS)
        first, started = delivered(), time.monotonic()
        time.sleep(seconds)
        last, ended = delivered(), time.monotonic()
        code = producer.terminate()
        if code != 0:
            raise RuntimeError(f"the producer exited with {code}; see {log}")
        return (last - first) / (ended - started)
    finally:
        producer.kill()


def run_raw(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> float:
    """Messages/s of a bare confluent-kafka Producer sending `records`, first produce() to flush() done."""
    delivered = failed = 0

    def on_delivery(error: KafkaError | None, _message: object) -> None:
        nonlocal delivered, failed
        if error is None:
            delivered += 1
        else:
            failed += 1

    producer = Producer({"bootstrap.servers": bootstrap, **RAW_CONFIG})
    producer.list_topics(topic, timeout=30)  # connect and learn the partitions before the clock starts
    produce = producer.produce
    started = time.perf_counter()
    for key, value in records:
        while True:
            try:
                produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(120)
    elapsed = time.perf_counter() - started
    if left or failed or delivered != len(records):
        raise RuntimeError(f"raw producer: delivered {delivered}, failed {failed}, left {left} of {len(records)}")
    return len(records) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.producer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each producer run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--symbols", type=int, default=20, help="subscribed symbols (<= 50)")
    parser.add_argument("--bootstrap", default=os.environ.get("BENCH_KAFKA_BOOTSTRAP"))
    args = parser.parse_args(argv)
    bootstrap = bootstrap_servers(args.bootstrap)
    symbols = list(BUILTIN_SYMBOLS[: args.symbols])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics: list[str] = []
    ours: list[float] = []
    raw: list[float] = []
    work = Path(tempfile.mkdtemp(prefix="bench-producer-"))
    print(f"bench.producer: {args.rounds} rounds, {args.seconds:.0f} s windows, {len(symbols)} symbols, "
          f"Kafka {bootstrap}, logs in {work}")  # fmt: skip
    try:
        with simulator_process(log_file=work / "simulator.log", trade_rate=1_000_000, symbols=symbols) as simulator:
            for round_number in range(1, args.rounds + 1):
                ours_topic, raw_topic = create_topic(admin), create_topic(admin)
                topics += [ours_topic, raw_topic]
                log = work / f"producer-{round_number}.log"
                ours_rate = run_producer(bootstrap, ours_topic, simulator.api_url, symbols, args.seconds, log)
                records = read_records(bootstrap, ours_topic)
                raw_rate = run_raw(bootstrap, raw_topic, records)
                ours.append(ours_rate)
                raw.append(raw_rate)
                size = sum(len(value) for _key, value in records) / max(1, len(records))
                print(f"round {round_number}: producer {ours_rate:10,.0f} msg/s | raw confluent-kafka "
                      f"{raw_rate:10,.0f} msg/s | ratio {ours_rate / raw_rate:.2f} "
                      f"({len(records):,} messages, {size:.0f} B each)")  # fmt: skip
    finally:
        if topics:
            for future in admin.delete_topics(topics).values():
                try:
                    future.result(30)
                except Exception as error:  # cleanup only: report and go on
                    print(f"could not delete a bench topic: {error}", file=sys.stderr)
    ours_median, raw_median = statistics.median(ours), statistics.median(raw)
    ratio = ours_median / raw_median
    round_ratios = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(f"median: producer {ours_median:,.0f} msg/s, raw {raw_median:,.0f} msg/s, ratio of medians {ratio:.2f}, "
          f"median of round ratios {round_ratios:.2f} (target >= 0.50: {verdict})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
