"""The stack's MinIO publishes an event to Kafka for each object created under bronze/ in a bucket that opted in,
and the asset watcher's parser reads it. No skip: if MinIO does not publish, this fails."""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.conftest import require

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dags"))  # the package as the scheduler sees it

import bucket_events

from stockfeed_pipeline.bucket_events import ObjectCreated, object_created

pytestmark = pytest.mark.integration

WAIT_S = 20.0  # for the bronze event
GRACE_S = 3.0  # after it, for a stray other/ event


def ensure_topic(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions (created if MinIO has not published yet), each at its current end offset."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic not in admin.list_topics(timeout=10).topics:
        for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
            try:
                future.result(timeout=30)
            except KafkaException as error:  # MinIO's first publish may auto-create it at the same moment
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}"})
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        ends = []
        for partition in sorted(partitions):
            _, high = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            ends.append(TopicPartition(topic, partition, high))
        return ends
    finally:
        probe.close()


def test_only_bronze_objects_of_an_opted_in_bucket_are_published(s3: Any, stack_env: dict[str, str]) -> None:
    arn = require(stack_env, "DEVSTACK_S3_EVENTS_ARN", "MinIO (with its Kafka notification target)")
    topic = require(stack_env, "DEVSTACK_S3_EVENTS_TOPIC", "MinIO (with its Kafka notification target)")
    bootstrap = require(stack_env, "DEVSTACK_KAFKA_BOOTSTRAP", "Kafka")
    bucket = f"test-events-{uuid.uuid4().hex[:12]}"
    bronze_key = f"bronze/dt=2026-12-06/hour=08/{uuid.uuid4().hex} quote+1.jsonl"  # a space and a plus: encoded
    other_key = f"other/{uuid.uuid4().hex}.jsonl"

    start = ensure_topic(bootstrap, topic)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-bucket-events-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        bucket_events.enable(s3, bucket, arn)
        bucket_events.enable(s3, bucket, arn)  # idempotent
        assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]["QueueArn"] == arn
        s3.put_object(Bucket=bucket, Key=other_key, Body=b"{}\n")  # first: a stray event would precede the bronze one
        s3.put_object(Bucket=bucket, Key=bronze_key, Body=b"{}\n")
        put_at = time.time()

        consumer.assign(start)
        ours: list[ObjectCreated] = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            found = [item for item in object_created(message.value()) if item.bucket == bucket]
            if found:
                print(f"event for {bucket}: {message.value()!r}")  # shown with -s: a real payload
            ours += found
            if any(item.key == bronze_key for item in ours):
                deadline = min(deadline, time.monotonic() + GRACE_S)

        assert [item.key for item in ours] == [bronze_key], f"events for {bucket} within {WAIT_S:.0f} s"
        assert other_key not in {item.key for item in ours}
        (event,) = ours
        assert event.event_time.utcoffset() is not None
        assert abs(event.event_time.timestamp() - put_at) < 60
    finally:
        consumer.close()
        with contextlib.suppress(s3.exceptions.NoSuchBucket):  # enable() may have failed before creating it
            for key in (bronze_key, other_key):
                s3.delete_object(Bucket=bucket, Key=key)
            s3.delete_bucket(Bucket=bucket)
