"""The batching policy and a partition's state machine: cuts, determinism, rewinds, uploads, memory."""

from __future__ import annotations

import random

import pytest

from stockfeed_consumer.batching import (
    HOUR_MS,
    BatchPolicy,
    CutReason,
    OpenBatch,
    SealedBatch,
    cut_before,
    is_expired,
)
from stockfeed_consumer.flush import EncodedFlush
from stockfeed_consumer.partition import PartitionState, pause_changes

pytestmark = pytest.mark.unit

T0 = 1_795_770_000_000  # an hour boundary (09:00 UTC)


def record(offset: int, size: int = 9, timestamp_ms: int | None = None) -> tuple[int, int, bytes, bytes]:
    return offset, T0 + offset if timestamp_ms is None else timestamp_ms, b"k", b"x" * size


def cuts(state: PartitionState) -> list[tuple[int, int, CutReason]]:
    return [(batch.first_offset, batch.next_offset, batch.reason) for batch in state.sealed]


def feed(state: PartitionState, records: list[tuple[int, int, bytes, bytes]], now: float = 0.0) -> None:
    for offset, timestamp_ms, key, value in records:
        state.append(offset, timestamp_ms, key, value, now)


def test_policy_refuses_non_positive_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        BatchPolicy(0, 100, 1.0)


def test_cut_by_records() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=3, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(i) for i in range(7)])
    assert cuts(state) == [(0, 3, CutReason.RECORDS), (3, 6, CutReason.RECORDS)]
    assert state.open is not None
    assert state.open.offsets == [6]


def test_cut_by_bytes_before_the_record_that_would_pass_the_limit() -> None:
    # each record is 9 bytes + newline = 10
    state = PartitionState("t", 0, BatchPolicy(max_records=100, max_bytes=25, max_age_seconds=60))
    feed(state, [record(i) for i in range(5)])
    assert cuts(state) == [(0, 2, CutReason.BYTES), (2, 4, CutReason.BYTES)]
    assert all(batch.size_bytes <= 25 for batch in state.sealed)


def test_a_record_larger_than_max_bytes_is_a_batch_of_its_own() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=100, max_bytes=25, max_age_seconds=60))
    feed(state, [record(0), record(1, size=100), record(2)])
    assert cuts(state) == [(0, 1, CutReason.BYTES), (1, 2, CutReason.BYTES)]


def test_cut_when_the_record_time_enters_another_hour() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=100, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(0, timestamp_ms=T0 - 2), record(1, timestamp_ms=T0 - 1), record(2, timestamp_ms=T0)])
    assert cuts(state) == [(0, 2, CutReason.HOUR)]
    assert state.open is not None
    assert state.open.hour == T0 // HOUR_MS


def test_cut_by_age_fires_without_new_records() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=100, max_bytes=10**6, max_age_seconds=5))
    feed(state, [record(0), record(1)], now=100.0)
    state.seal_if_expired(104.9)
    assert cuts(state) == []
    assert state.wakeup_at() == 105.0
    state.seal_if_expired(105.0)
    assert cuts(state) == [(0, 2, CutReason.AGE)]
    assert state.open is None
    assert state.wakeup_at() is None


def test_pure_policy_functions_agree_with_the_inlined_hot_path() -> None:
    policy = BatchPolicy(max_records=2, max_bytes=25, max_age_seconds=5)
    batch = OpenBatch(0, T0, opened_at=10.0)
    batch.add(0, T0, None, b"x" * 9, 10)
    assert cut_before(policy, batch, T0 + HOUR_MS, 10) is CutReason.HOUR
    assert cut_before(policy, batch, T0, 16) is CutReason.BYTES
    assert cut_before(policy, batch, T0, 10) is None
    assert not is_expired(policy, batch, 14.9)
    assert is_expired(policy, batch, 15.0)


def test_deterministic_cuts_do_not_depend_on_how_records_arrive() -> None:
    """Count, bytes and hour cuts from the same first offset are the same however the stream is chunked."""
    rng = random.Random(7)
    records = [record(i, size=rng.randint(1, 30), timestamp_ms=T0 + i * 60_000) for i in range(300)]
    policy = BatchPolicy(max_records=17, max_bytes=200, max_age_seconds=3600)

    def run(chunking_seed: int) -> list[tuple[int, int, CutReason]]:
        state = PartitionState("t", 0, policy)
        chunker = random.Random(chunking_seed)
        index = 0
        while index < len(records):
            step = chunker.randint(1, 40)
            feed(state, records[index : index + step], now=float(index))
            index += step
        return cuts(state)

    assert run(1) == run(2) == run(3)


def test_a_rewind_drops_the_buffered_copies_of_records_read_again() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=100, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(i) for i in range(10)])
    feed(state, [record(i) for i in range(6, 12)])
    assert state.open is not None
    assert state.open.offsets == list(range(12))
    assert state.rewinds == 1
    feed(state, [record(i) for i in range(0, 3)])  # before the open batch's start: start over
    assert state.open is not None
    assert state.open.offsets == [0, 1, 2]


def test_offset_gaps_are_normal_records_after_them_join_the_batch() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=3, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(0), record(5), record(9)])  # transaction markers or compaction leave gaps
    assert cuts(state) == [(0, 10, CutReason.RECORDS)]


def fake_encoded(batch: SealedBatch) -> EncodedFlush:
    return EncodedFlush(
        topic=batch.topic, partition=batch.partition, first_offset=batch.first_offset, next_offset=batch.next_offset,
        records=len(batch.offsets), dead_letters=0, reason=batch.reason, sealed_at=batch.sealed_at, objects=(),
    )  # fmt: skip


def test_batches_move_in_order_and_a_failed_write_is_retried_after_backoff() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=2, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(i) for i in range(4)])
    assert state.ready_to_encode()
    state.encode_done(fake_encoded(state.begin_encode()))
    assert state.ready_to_encode()  # the next batch may be encoded while the first waits for its write
    state.encode_done(fake_encoded(state.begin_encode()))
    assert [flush.first_offset for flush in state.encoded] == [0, 2]

    assert state.ready_to_upload(now=0.0)
    assert state.begin_upload().first_offset == 0
    assert not state.ready_to_upload(now=0.0)  # one write at a time per partition
    delay = state.upload_failed(now=10.0, initial=1.0, maximum=30.0, rand=lambda: 0.5)
    assert delay == 1.0
    assert state.blocked
    assert not state.ready_to_upload(now=10.5)
    assert state.wakeup_at() == 11.0
    assert state.ready_to_upload(now=11.0)
    assert state.begin_upload().first_offset == 0  # the same batch again, never the next one first
    done = state.upload_succeeded()
    assert (done.first_offset, done.next_offset) == (0, 2)
    assert not state.blocked
    assert state.begin_upload().first_offset == 2


def test_a_failed_encode_puts_the_batch_back_in_front() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=2, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(i) for i in range(4)])
    first = state.begin_encode()
    state.encode_failed()
    assert state.begin_encode() is first


def test_buffered_bytes_and_records_follow_the_batch_through_its_stages() -> None:
    state = PartitionState("t", 0, BatchPolicy(max_records=2, max_bytes=10**6, max_age_seconds=60))
    feed(state, [record(i) for i in range(5)])
    assert (state.buffered_records(), state.buffered_bytes()) == (5, 50)
    batch = state.begin_encode()
    assert (state.buffered_records(), state.buffered_bytes()) == (5, 50)
    state.encode_done(fake_encoded(batch))  # encoded: only its (here empty) compressed bodies count
    assert (state.buffered_records(), state.buffered_bytes()) == (5, 30)
    state.begin_upload()
    state.upload_succeeded()
    assert (state.buffered_records(), state.buffered_bytes()) == (3, 30)
    assert state.has_work()


def test_failing_partitions_pause_alone_and_everything_pauses_at_the_memory_cap() -> None:
    policy = BatchPolicy(max_records=100, max_bytes=10**6, max_age_seconds=60)
    healthy, failing = PartitionState("t", 0, policy), PartitionState("t", 1, policy)
    feed(healthy, [record(i) for i in range(3)])  # 30 bytes
    failing.failures = 1
    assert pause_changes([healthy, failing], cap=100, resume_fraction=0.5) == ([failing], [])
    feed(healthy, [record(i) for i in range(3, 10)])  # 100 bytes: at the cap
    to_pause, _ = pause_changes([healthy, failing], cap=100, resume_fraction=0.5)
    assert to_pause == [healthy, failing]
    healthy.paused = failing.paused = True
    healthy.open = None  # written: nothing buffered any more
    assert pause_changes([healthy, failing], cap=100, resume_fraction=0.5) == ([], [healthy])
    failing.failures = 0
    assert pause_changes([healthy, failing], cap=100, resume_fraction=0.5) == ([], [healthy, failing])
