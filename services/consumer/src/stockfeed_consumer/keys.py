"""Object keys: a pure function of (topic, partition, first offset, first record's timestamp).

    <prefix>/topic=<topic>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first offset, 20 digits>.ndjson.gz

Every input is a property of the batch's first record in the Kafka log, so a batch re-read after a crash
(which starts at the committed offset, i.e. the same first record) gets the same key and overwrites its
earlier attempt instead of adding a second object. 20 digits hold any int64 offset, so keys sort by offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

SUFFIX = ".ndjson.gz"
OFFSET_DIGITS = 20
# Kafka's own rule for topic names: these characters are also safe in S3 keys
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def hour_directory(timestamp_ms: int) -> str:
    """`dt=YYYY-MM-DD/hour=HH` (UTC) for a Kafka record timestamp; unknown timestamps (< 0) map to the epoch."""
    moment = datetime.fromtimestamp(max(timestamp_ms, 0) / 1000, tz=UTC)
    return f"dt={moment:%Y-%m-%d}/hour={moment:%H}"


def object_name(topic: str, partition: int, first_offset: int) -> str:
    """The file name part: `<topic>+<partition>+<offset>.ndjson.gz` (Kafka Connect's naming, zero-padded)."""
    if not _TOPIC_NAME.match(topic):
        raise ValueError(f"not a Kafka topic name: {topic!r}")
    if partition < 0 or first_offset < 0:
        raise ValueError(f"partition and offset must be >= 0, got {partition} and {first_offset}")
    return f"{topic}+{partition}+{first_offset:0{OFFSET_DIGITS}d}{SUFFIX}"


def object_key(prefix: str, topic: str, partition: int, first_offset: int, first_timestamp_ms: int) -> str:
    """The full key of a batch's object under `prefix` (data or dead-letter prefix)."""
    head = prefix.strip("/")
    parts = [head] if head else []
    parts += [f"topic={topic}", hour_directory(first_timestamp_ms), object_name(topic, partition, first_offset)]
    return "/".join(parts)
