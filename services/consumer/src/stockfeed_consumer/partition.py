"""One assigned partition's state: the open batch, cut batches being encoded and written, retries.

Pure state machine (no Kafka, no S3): the writer feeds it records and outcomes and asks what to do next.
A batch moves open -> sealed -> encoding -> encoded -> written. Per partition, one batch is encoded at a time
and one is written at a time, strictly in offset order, so the committed offset only moves over batches
that are in the bucket.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from stockfeed_consumer.backoff import retry_delay
from stockfeed_consumer.batching import (
    HOUR_MS,
    BatchPolicy,
    CutReason,
    OpenBatch,
    SealedBatch,
    expires_at,
    is_expired,
)
from stockfeed_consumer.flush import EncodedFlush


class PartitionState:
    def __init__(self, topic: str, partition: int, policy: BatchPolicy) -> None:
        self.topic = topic
        self.partition = partition
        self.policy = policy
        self.open: OpenBatch | None = None
        self.sealed: deque[SealedBatch] = deque()  # cut, waiting to be encoded
        self.encoding: SealedBatch | None = None  # handed to the encoder
        self.encoded: deque[EncodedFlush] = deque()  # waiting to be written; [0] is being written or retried
        self.uploading = False
        self.failures = 0  # consecutive failed writes of encoded[0]
        self.retry_at = 0.0
        self.next_offset: int | None = None  # the offset after the last record received
        self.committed: int | None = None  # the last offset this process committed
        self.paused = False
        self.records_in = 0  # records received since the writer last exported the count
        self.rewinds = 0

    # -- records in (the hot path: kept flat on purpose) ---------------------------------------------------------

    def append(self, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None, now: float) -> None:
        if self.next_offset is not None and offset < self.next_offset:
            self._rewind(offset)
        size = len(value) + 1 if value is not None else 1
        batch = self.open
        if batch is not None:
            # the deterministic cuts (batching.cut_before, inlined): another hour, or too many bytes
            if (timestamp_ms if timestamp_ms > 0 else 0) // HOUR_MS != batch.hour:
                self.seal(CutReason.HOUR, now)
                batch = None
            elif batch.size_bytes + size > self.policy.max_bytes:
                self.seal(CutReason.BYTES, now)
                batch = None
        if batch is None:
            batch = self.open = OpenBatch(offset, timestamp_ms, now)
        batch.offsets.append(offset)
        batch.timestamps.append(timestamp_ms)
        batch.keys.append(key)
        batch.values.append(value)
        batch.size_bytes += size
        self.next_offset = offset + 1
        self.records_in += 1
        if len(batch.offsets) >= self.policy.max_records:
            self.seal(CutReason.RECORDS, now)

    def _rewind(self, offset: int) -> None:
        """Records from `offset` on arrive again (a seek or a re-fetch): drop their buffered copies.

        Batches already cut stay as they are: writing them too can only duplicate records, never lose one.
        """
        self.rewinds += 1
        batch = self.open
        if batch is not None:
            if offset <= batch.first_offset:
                self.open = None
            else:
                batch.truncate_from(offset)
                if len(batch) == 0:
                    self.open = None
        self.next_offset = offset

    # -- cuts ---------------------------------------------------------------------------------------------------

    def seal(self, reason: CutReason, now: float) -> None:
        if self.open is not None and len(self.open) > 0:
            self.sealed.append(SealedBatch.seal(self.topic, self.partition, self.open, reason, now))
        self.open = None

    def seal_if_expired(self, now: float) -> None:
        if self.open is not None and is_expired(self.policy, self.open, now):
            self.seal(CutReason.AGE, now)

    def wakeup_at(self) -> float | None:
        """The monotonic time at which this partition next needs attention (age cut or retry), if any."""
        times = []
        if self.open is not None:
            times.append(expires_at(self.policy, self.open))
        if self.failures and not self.uploading and self.encoded:
            times.append(self.retry_at)
        return min(times) if times else None

    # -- encoding -----------------------------------------------------------------------------------------------

    def ready_to_encode(self) -> bool:
        return self.encoding is None and bool(self.sealed)

    def begin_encode(self) -> SealedBatch:
        self.encoding = self.sealed.popleft()
        return self.encoding

    def encode_done(self, flush: EncodedFlush) -> None:
        self.encoding = None
        self.encoded.append(flush)

    def encode_failed(self) -> None:
        """Put the batch back in front (e.g. a worker process died); it is encoded again later."""
        if self.encoding is not None:
            self.sealed.appendleft(self.encoding)
        self.encoding = None

    # -- writing ------------------------------------------------------------------------------------------------

    def has_work(self) -> bool:
        """Cut batches not yet written (the open batch is not work until it is cut)."""
        return bool(self.sealed) or self.encoding is not None or bool(self.encoded)

    def ready_to_upload(self, now: float) -> bool:
        return not self.uploading and bool(self.encoded) and now >= self.retry_at

    def begin_upload(self) -> EncodedFlush:
        self.uploading = True
        return self.encoded[0]

    def upload_succeeded(self) -> EncodedFlush:
        """The written batch; its `next_offset` is now safe to commit."""
        self.uploading = False
        self.failures = 0
        self.retry_at = 0.0
        return self.encoded.popleft()

    def upload_failed(self, now: float, initial: float, maximum: float, rand: Callable[[], float]) -> float:
        """Keep the batch for a retry; returns the delay chosen."""
        self.uploading = False
        self.failures += 1
        delay = retry_delay(self.failures, initial, maximum, rand=rand)
        self.retry_at = now + delay
        return delay

    @property
    def blocked(self) -> bool:
        """Writing this partition's oldest batch is failing: stop fetching until it succeeds."""
        return self.failures > 0

    # -- memory -------------------------------------------------------------------------------------------------

    def buffered_bytes(self) -> int:
        """Record bytes held: raw until encoded, compressed after."""
        total = self.open.size_bytes if self.open is not None else 0
        total += sum(batch.size_bytes for batch in self.sealed)
        if self.encoding is not None:
            total += self.encoding.size_bytes
        total += sum(flush.size_bytes for flush in self.encoded)
        return total

    def buffered_records(self) -> int:
        total = len(self.open) if self.open is not None else 0
        total += sum(len(batch.offsets) for batch in self.sealed)
        if self.encoding is not None:
            total += len(self.encoding.offsets)
        total += sum(flush.records for flush in self.encoded)
        return total


def pause_changes(
    states: list[PartitionState], cap: int, resume_fraction: float
) -> tuple[list[PartitionState], list[PartitionState]]:
    """Which partitions to pause and which to resume: pause those whose writes fail, and all of them while the
    buffered bytes are at the cap; resume a healthy partition once the total fell below `resume_fraction` of it."""
    total = sum(state.buffered_bytes() for state in states)
    to_pause = [s for s in states if not s.paused and (s.blocked or total >= cap)]
    to_resume = [s for s in states if s.paused and not s.blocked and total < cap * resume_fraction]
    return to_pause, to_resume
