"""When a partition's buffered records become a batch: by count, bytes, age, hour of the record time, or an event.

Pure logic, no I/O. Count, bytes and hour cuts depend only on the records from the batch's first offset, so a
re-read after a crash cuts the same batches; age, revoke and shutdown cuts depend on wall-clock and events and
may end a batch earlier or later than a previous attempt did (README: "Why a re-delivery never loses records").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

HOUR_MS = 3_600_000


class CutReason(StrEnum):
    RECORDS = "records"  # max records reached
    BYTES = "bytes"  # the next record would pass max bytes
    HOUR = "hour"  # the next record's timestamp is in another hour than the batch's first record
    AGE = "age"  # the batch is older than max age (fires on a quiet topic too)
    REVOKE = "revoke"  # the partition is being taken away
    SHUTDOWN = "shutdown"  # SIGTERM


@dataclass(frozen=True)
class BatchPolicy:
    max_records: int
    max_bytes: int  # uncompressed NDJSON bytes (values plus newlines)
    max_age_seconds: float

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.max_bytes < 1 or self.max_age_seconds <= 0:
            raise ValueError(f"batch limits must be positive: {self}")


def record_size(value: bytes | None) -> int:
    """A record's share of the uncompressed object: its bytes and the newline after it."""
    return (len(value) if value is not None else 0) + 1


def hour_bucket(timestamp_ms: int) -> int:
    """Hours since the epoch of a Kafka timestamp; unknown timestamps (< 0) count as the epoch."""
    return max(timestamp_ms, 0) // HOUR_MS


class OpenBatch:
    """The records of one partition since the last cut, in offset order (parallel lists: cheap to append)."""

    __slots__ = ("first_offset", "first_timestamp_ms", "hour", "keys", "offsets", "opened_at", "size_bytes",
                 "timestamps", "values")  # fmt: skip

    def __init__(self, first_offset: int, first_timestamp_ms: int, opened_at: float) -> None:
        self.first_offset = first_offset
        self.first_timestamp_ms = first_timestamp_ms
        self.hour = hour_bucket(first_timestamp_ms)
        self.opened_at = opened_at  # monotonic seconds, for the age cut
        self.offsets: list[int] = []
        self.timestamps: list[int] = []
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.size_bytes = 0

    def add(self, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None, size: int) -> None:
        self.offsets.append(offset)
        self.timestamps.append(timestamp_ms)
        self.keys.append(key)
        self.values.append(value)
        self.size_bytes += size

    def __len__(self) -> int:
        return len(self.offsets)

    def truncate_from(self, offset: int) -> None:
        """Drop the records at `offset` and after (they are being delivered again)."""
        keep = 0
        while keep < len(self.offsets) and self.offsets[keep] < offset:
            keep += 1
        for column in (self.offsets, self.timestamps, self.keys, self.values):
            del column[keep:]
        self.size_bytes = sum(record_size(value) for value in self.values)


@dataclass(frozen=True)
class SealedBatch:
    """A cut batch: records [first_offset, next_offset) of one partition (gaps allowed: compaction, markers)."""

    topic: str
    partition: int
    first_offset: int
    next_offset: int  # the offset to commit once the batch is written
    first_timestamp_ms: int
    offsets: list[int]
    timestamps: list[int]
    keys: list[bytes | None]
    values: list[bytes | None]
    size_bytes: int
    reason: CutReason
    sealed_at: float  # monotonic seconds

    @classmethod
    def seal(cls, topic: str, partition: int, batch: OpenBatch, reason: CutReason, now: float) -> SealedBatch:
        return cls(
            topic=topic, partition=partition, first_offset=batch.first_offset,
            next_offset=batch.offsets[-1] + 1, first_timestamp_ms=batch.first_timestamp_ms,
            offsets=batch.offsets, timestamps=batch.timestamps, keys=batch.keys, values=batch.values,
            size_bytes=batch.size_bytes, reason=reason, sealed_at=now,
        )  # fmt: skip


def cut_before(policy: BatchPolicy, batch: OpenBatch, timestamp_ms: int, size: int) -> CutReason | None:
    """Whether the next record must start a new batch instead of joining `batch` (deterministic cuts only)."""
    if hour_bucket(timestamp_ms) != batch.hour:
        return CutReason.HOUR
    if batch.size_bytes + size > policy.max_bytes and len(batch) > 0:
        return CutReason.BYTES
    return None


def is_expired(policy: BatchPolicy, batch: OpenBatch, now: float) -> bool:
    return now - batch.opened_at >= policy.max_age_seconds


def expires_at(policy: BatchPolicy, batch: OpenBatch) -> float:
    return batch.opened_at + policy.max_age_seconds
