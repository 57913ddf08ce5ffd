"""What the DAG's AssetWatcher does with each bucket-events message (PIPELINE_SCHEDULE=events).

The Kafka provider's message-queue trigger calls `bronze_object_landed` on every message of the events topic, in
the triggerer process; a truthy answer becomes an asset event and so a DAG run (runs that arrive while one is
running are folded into the next one by Airflow: one run at a time). The trigger starts a new consumer after each
event it fires, so firing on every object would let the watcher fall behind the objects; instead it fires once
per "not yet covered" object: a run queued at time T loads every object that landed before T, so an object whose
event time is older than the last firing is already on its way and is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from stockfeed_pipeline.bucket_events import ObjectCreated, object_created

# MinIO stamps its events with its own clock; the triggerer reads another (the same host here, NTP in a cluster).
# An object is only taken as covered when it landed this much before the last firing.
CLOCK_SKEW = timedelta(seconds=2)


class Message(Protocol):  # what we use of confluent_kafka.Message
    def value(self) -> bytes | None: ...


# Per bucket filter: when this triggerer process last fired. Lost on a restart, which costs one extra run.
_last_fired: dict[str, datetime] = {}


def uncovered(objects: list[ObjectCreated], bucket: str, last_fired: datetime | None) -> list[ObjectCreated]:
    """The objects of `bucket` ("" = any) that no run queued at `last_fired` is sure to load."""
    wanted = [o for o in objects if not bucket or o.bucket == bucket]
    if last_fired is None:
        return wanted
    return [o for o in wanted if o.event_time > last_fired - CLOCK_SKEW]


def bronze_object_landed(message: Message, bucket: str = "") -> dict[str, Any] | None:
    """The asset event's payload when the message announces an object that needs a run, else None.

    Malformed messages parse to no objects (bucket_events.object_created never raises), so a bad message is
    skipped and never stops the watcher.
    """
    fresh = uncovered(object_created(message.value()), bucket, _last_fired.get(bucket))
    if not fresh:
        return None
    _last_fired[bucket] = datetime.now(UTC)
    newest = max(fresh, key=lambda o: o.event_time)
    return {"bucket": newest.bucket, "key": newest.key, "event_time": newest.event_time.isoformat(),
            "objects": len(fresh)}  # fmt: skip
