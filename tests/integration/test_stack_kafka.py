"""The stack's Kafka is a real broker: consumer groups, committed offsets, and clients riding out a restart."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

pytestmark = pytest.mark.integration


def _consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )


def _consume(consumer: Consumer, count: int, timeout: float = 30.0) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
            continue
        values.append(message.value())
    return values


def _produce(bootstrap: str, topic: str, values: list[bytes], partition: int = 0) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    failures: list[str] = []

    def on_delivery(err, _message) -> None:
        if err:
            failures.append(str(err))

    for value in values:
        producer.produce(topic, value, partition=partition, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert failures == []


def test_committed_offset_survives_consumer_restart(kafka_bootstrap: str, kafka_topic: str) -> None:
    values = [f"m{i}".encode() for i in range(10)]
    _produce(kafka_bootstrap, kafka_topic, values)
    group = f"{kafka_topic}-group"

    first = _consumer(kafka_bootstrap, group)
    first.assign([TopicPartition(kafka_topic, 0, 0)])
    seen = _consume(first, 4)
    assert seen == values[:4]
    first.commit(offsets=[TopicPartition(kafka_topic, 0, 4)], asynchronous=False)
    first.close()

    second = _consumer(kafka_bootstrap, group)
    second.subscribe([kafka_topic])
    rest = _consume(second, 6)
    committed = second.committed([TopicPartition(kafka_topic, 0)], timeout=10)
    second.close()
    assert rest == values[4:], "the restarted consumer must resume at the committed offset"
    assert committed[0].offset == 4


def test_producer_rides_out_a_broker_restart(kafka_bootstrap: str, kafka_topic: str, stack_servers) -> None:
    kafka = stack_servers["kafka"]
    producer = Producer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 120_000,
            "reconnect.backoff.max.ms": 1000,
        }
    )
    delivered: list[bytes] = []
    failures: list[str] = []

    def on_delivery(err, message) -> None:
        if err:
            failures.append(str(err))
        else:
            delivered.append(message.value())

    before = [f"before-{i}".encode() for i in range(50)]
    for value in before:
        producer.produce(kafka_topic, value, partition=1, on_delivery=on_delivery)
    assert producer.flush(30) == 0

    kafka.stop()
    try:
        during = [f"during-{i}".encode() for i in range(50)]
        for value in during:  # queued in the client while the broker is away
            producer.produce(kafka_topic, value, partition=1, on_delivery=on_delivery)
        producer.poll(1)
    finally:
        kafka.start()
    assert producer.flush(90) == 0, "queued messages must be delivered once the broker is back"
    assert failures == []

    consumer = _consumer(kafka_bootstrap, f"{kafka_topic}-restart")
    consumer.assign([TopicPartition(kafka_topic, 1, 0)])
    got = _consume(consumer, 100, timeout=60)
    consumer.close()
    assert got == before + during, "every message once, in order (idempotent producer)"
    assert sorted(delivered) == sorted(before + during)
