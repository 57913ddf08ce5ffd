"""A sealed batch encoded into the objects to write: valid records to the data prefix, the rest to dead letters.

`encode_flush` is a pure function of (batch, layout, gzip level), so it can run in a worker process and its
result is the same wherever and however often it runs. Both objects are named after the batch's first
record, so a rewrite of the batch replaces both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from stockfeed_consumer.batching import CutReason, SealedBatch
from stockfeed_consumer.encoding import dead_letter_line, encode_object
from stockfeed_consumer.validation import as_ndjson_line, reasons_invalid
from stockfeed_contracts.lake import bronze_key

# the last Kafka timestamp whose hour a bronze key can name (dt=9999-12-31/hour=23); later ones cannot be dated
LAST_KEY_TIMESTAMP_MS = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()) * 1000 + 999


def timestamp_reason(timestamp_ms: int) -> str | None:
    """Why a record's Kafka timestamp cannot go into a bronze key (it is a dead letter then), or None."""
    if timestamp_ms > LAST_KEY_TIMESTAMP_MS:
        return f"Kafka timestamp {timestamp_ms} ms is past the year 9999: no bronze key can name its hour"
    return None


def key_timestamp(timestamp_ms: int) -> int:
    """The timestamp a batch's keys are named by: its first record's, or the epoch when that cannot be dated
    (as for unknown timestamps), so the dead-letter object of such a batch still has a deterministic key."""
    return timestamp_ms if timestamp_ms <= LAST_KEY_TIMESTAMP_MS else 0


class ObjectKind(StrEnum):
    DATA = "data"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Layout:
    """Where objects go inside the bucket."""

    data_prefix: str
    dead_letter_prefix: str
    expected_schema: str | None = None  # pin every record to one contract (None: its own schema_version)


@dataclass(frozen=True)
class EncodedObject:
    kind: ObjectKind
    key: str
    body: bytes  # gzip NDJSON
    records: int
    metadata: dict[str, str]  # S3 user metadata: where the records came from


@dataclass(frozen=True)
class EncodedFlush:
    """Everything needed to write one batch and then commit `next_offset`."""

    topic: str
    partition: int
    first_offset: int
    next_offset: int
    records: int
    dead_letters: int
    reason: CutReason
    sealed_at: float
    objects: tuple[EncodedObject, ...]

    @property
    def size_bytes(self) -> int:
        return sum(len(obj.body) for obj in self.objects)


def split_records(batch: SealedBatch, expected_schema: str | None) -> tuple[list[bytes], list[bytes]]:
    """The batch as (data lines, dead-letter lines), each in offset order."""
    lines: list[bytes] = []
    dead: list[bytes] = []
    reasons = reasons_invalid(batch.values, expected_schema)
    if batch.timestamps and max(batch.timestamps) > LAST_KEY_TIMESTAMP_MS:
        reasons = [timestamp_reason(ts) or reason for ts, reason in zip(batch.timestamps, reasons, strict=True)]
    for index, reason in enumerate(reasons):
        value = batch.values[index]
        if reason is None and value is not None:
            lines.append(as_ndjson_line(value))
        else:
            dead.append(
                dead_letter_line(
                    topic=batch.topic, partition=batch.partition, offset=batch.offsets[index],
                    timestamp_ms=batch.timestamps[index], key=batch.keys[index], value=value,
                    reason=reason or "no value",
                )
            )  # fmt: skip
    return lines, dead


def _metadata(batch: SealedBatch, records: int) -> dict[str, str]:
    return {
        "topic": batch.topic,
        "partition": str(batch.partition),
        "first-offset": str(batch.first_offset),
        "next-offset": str(batch.next_offset),
        "records": str(records),
    }


def encode_flush(batch: SealedBatch, layout: Layout, gzip_level: int) -> EncodedFlush:
    """Validate, split, name and compress one batch's objects (CPU only, no I/O)."""
    lines, dead = split_records(batch, layout.expected_schema)
    objects: list[EncodedObject] = []
    for kind, prefix, body in ((ObjectKind.DATA, layout.data_prefix, lines),
                               (ObjectKind.DEAD_LETTER, layout.dead_letter_prefix, dead)):  # fmt: skip
        if body:
            first = key_timestamp(batch.first_timestamp_ms)
            key = bronze_key(prefix, batch.topic, batch.partition, batch.first_offset, first)
            compressed = encode_object(body, gzip_level)
            objects.append(EncodedObject(kind, key, compressed, len(body), _metadata(batch, len(body))))
    return EncodedFlush(
        topic=batch.topic, partition=batch.partition, first_offset=batch.first_offset,
        next_offset=batch.next_offset, records=len(batch.values), dead_letters=len(dead),
        reason=batch.reason, sealed_at=batch.sealed_at, objects=tuple(objects),
    )  # fmt: skip
