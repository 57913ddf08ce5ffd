"""The bronze writer: Kafka records into per-partition batches, batches into S3 objects, then offset commits.

Runs on the consumer's thread (records, cuts, commits, rebalance callbacks). Encoding (validate, split, gzip)
runs in the Encoder's worker processes and put_object on upload threads; their results come back here. An
offset is committed only after every object of its batch was written, synchronously, and only for
partitions this process still owns.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from stockfeed_consumer.batching import BatchPolicy, CutReason
from stockfeed_consumer.encoder import Encoder
from stockfeed_consumer.flush import EncodedFlush, ObjectKind
from stockfeed_consumer.metrics import ConsumerMetrics
from stockfeed_consumer.partition import PartitionState, pause_changes
from stockfeed_consumer.sink import ObjectSink

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]
RESUME_FRACTION = 0.5  # resume fetching once buffered bytes fell below this share of the cap
LAG_EVERY_SECONDS = 2.0
IDLE_POLL_SECONDS = 0.5
BUSY_POLL_SECONDS = 0.05  # while encodes or uploads run, come back soon to pass their results on


class KafkaConsumerLike(Protocol):
    """The parts of confluent_kafka.Consumer the writer uses."""

    def commit(self, *args: Any, **kwargs: Any) -> Any: ...
    def pause(self, partitions: list[TopicPartition]) -> None: ...
    def resume(self, partitions: list[TopicPartition]) -> None: ...
    def get_watermark_offsets(self, partition: TopicPartition, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class WriterOptions:
    policy: BatchPolicy
    max_buffered_bytes: int = 128 * 1024 * 1024
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    revoke_timeout_seconds: float = 20.0
    shutdown_timeout_seconds: float = 20.0
    upload_timeout_seconds: float = 35.0  # the longest one batch's put_object calls can take


@dataclass(frozen=True)
class UploadOutcome:
    seconds: float


def write_objects(sink: ObjectSink, flush: EncodedFlush) -> UploadOutcome:
    """Put every object of one batch (runs on an upload thread)."""
    began = time.perf_counter()
    for obj in flush.objects:
        sink.put(obj.key, obj.body, obj.metadata)
    return UploadOutcome(time.perf_counter() - began)


class BronzeWriter:
    def __init__(
        self,
        consumer: KafkaConsumerLike,
        sink: ObjectSink,
        encoder: Encoder,
        uploader: Executor,
        options: WriterOptions,
        metrics: ConsumerMetrics,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        on_record_error: Callable[[KafkaError, str | None], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.on_record_error = on_record_error  # errors consume() returns (kafka_errors.KafkaErrors), not fatal ones
        self.sink = sink
        self.encoder = encoder
        self.uploader = uploader
        self.options = options
        self.metrics = metrics
        self.clock = clock
        self.rand = rand
        self.states: dict[PartitionKey, PartitionState] = {}
        self.encodes: dict[PartitionKey, Future[EncodedFlush]] = {}
        self.uploads: dict[PartitionKey, Future[UploadOutcome]] = {}
        self.written: dict[PartitionKey, int] = {}  # written, not committed yet: the offset to commit
        self.last_loop = clock()
        self.last_lag = 0.0
        self.snapshot: dict[str, Any] = {}  # for /healthz, which runs on another thread

    # -- rebalance callbacks (called by confluent-kafka inside consume(), on this thread) --------------------

    def on_assign(self, consumer: object, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if key not in self.states:
                self.states[key] = PartitionState(tp.topic, tp.partition, self.options.policy)
        log.info("assigned %s", _names(partitions))
        self.metrics.assigned_partitions.set(len(self.states))

    def on_revoke(self, consumer: object, partitions: list[TopicPartition]) -> None:
        """Write and commit the revoked partitions' batches before the next owner starts reading them."""
        keys = self._owned(partitions)
        log.info("revoked %s: flushing their batches", _names(partitions))
        self.drain(keys, CutReason.REVOKE, self.options.revoke_timeout_seconds)
        self._forget(keys)

    def on_lost(self, consumer: object, partitions: list[TopicPartition]) -> None:
        """Ownership is already gone: no commits. Wait for our running puts so none lands after this."""
        keys = self._owned(partitions)
        log.warning("lost %s: dropping their buffers (the next owner re-reads them)", _names(partitions))
        running = [self.uploads[key] for key in keys if key in self.uploads]
        if running:
            wait(running, timeout=self.options.upload_timeout_seconds)
        for key in keys:
            self.metrics.dropped_on_revoke.inc(self.states[key].buffered_records())
        self._forget(keys)

    def _owned(self, partitions: Iterable[TopicPartition]) -> list[PartitionKey]:
        return [(tp.topic, tp.partition) for tp in partitions if (tp.topic, tp.partition) in self.states]

    def _forget(self, keys: Iterable[PartitionKey]) -> None:
        for key in keys:
            state = self.states.pop(key)
            if state.records_in:
                self.metrics.records_in.labels(key[0]).inc(state.records_in)
            self.encodes.pop(key, None)  # a late result is dropped: the next owner re-reads the records
            self.uploads.pop(key, None)
            self.written.pop(key, None)
            self.metrics.forget_partition(*key)
        self.metrics.assigned_partitions.set(len(self.states))

    # -- the loop -------------------------------------------------------------------------------------------

    def handle(self, messages: Sequence[Message]) -> None:
        """Buffer one consume() result: the hot path, so it does no more than append."""
        now = self.clock()
        states = self.states
        last_key: PartitionKey | None = None
        state: PartitionState | None = None
        for message in messages:
            error = message.error()
            if error is not None:
                self._on_kafka_error(error, message.topic())
                continue
            key: PartitionKey = (message.topic(), message.partition())  # type: ignore[assignment]
            if key != last_key:  # consume() returns runs of one partition: look the state up once per run
                last_key = key
                state = states.get(key)
            if state is not None:  # None: fetched before a revoke; the next owner reads it again
                state.append(message.offset(), message.timestamp()[1], message.key(), message.value(), now)  # type: ignore[arg-type]

    def tick(self) -> None:
        """Everything but records: age cuts, finished encodes and uploads, commits, new work, backpressure."""
        now = self.clock()
        for state in self.states.values():
            state.seal_if_expired(now)
        keys = list(self.states)
        self._advance(keys, now)
        self._backpressure()
        self._export(now)
        self.last_loop = now

    def poll_timeout(self) -> float:
        """How long consume() may block: until the next age cut or retry, shorter while work is running."""
        now = self.clock()
        timeout = BUSY_POLL_SECONDS if (self.uploads or self.encodes) else IDLE_POLL_SECONDS
        for state in self.states.values():
            at = state.wakeup_at()
            if at is not None:
                timeout = min(timeout, max(0.0, at - now))
        return timeout

    def shutdown(self) -> None:
        """SIGTERM: cut every open batch, write and commit what can be written in time."""
        self.drain(list(self.states), CutReason.SHUTDOWN, self.options.shutdown_timeout_seconds)

    # -- moving batches along -------------------------------------------------------------------------------

    def _advance(self, keys: list[PartitionKey], now: float) -> None:
        self._collect_encodes(keys)
        self._collect_uploads(keys, now)
        self._commit(keys)
        for key in keys:
            state = self.states[key]
            if key not in self.encodes and state.ready_to_encode():
                self.encodes[key] = self.encoder.submit(state.begin_encode())
            if key not in self.uploads and state.ready_to_upload(now):
                self.uploads[key] = self.uploader.submit(write_objects, self.sink, state.begin_upload())

    def _collect_encodes(self, keys: Iterable[PartitionKey]) -> None:
        broken = False
        for key in [key for key in keys if key in self.encodes and self.encodes[key].done()]:
            future = self.encodes.pop(key)
            state = self.states[key]
            try:
                flush = future.result()
            except BrokenProcessPool:
                broken = True
                state.encode_failed()
                continue
            except Exception:  # a bug, not bad input (bad records become dead letters): keep the batch
                log.exception("%s[%d]: encoding a batch failed; retrying", key[0], key[1])
                state.encode_failed()
                continue
            self.metrics.batches_cut.labels(flush.reason.value).inc()
            state.encode_done(flush)
        if broken:
            log.error("an encoder process died; starting new ones (the batches are encoded again)")
            self.encoder.rebuild()
            for key in list(self.encodes):  # every other encode of the broken pool failed as well
                self.encodes.pop(key)
                self.states[key].encode_failed()

    def _collect_uploads(self, keys: Iterable[PartitionKey], now: float) -> None:
        for key in [key for key in keys if key in self.uploads and self.uploads[key].done()]:
            future = self.uploads.pop(key)
            state = self.states[key]
            try:
                outcome = future.result()
            except Exception as error:  # any S3/network error: keep the batch, retry later, never commit it
                delay = state.upload_failed(
                    now, self.options.retry_initial_seconds, self.options.retry_max_seconds, self.rand
                )
                self.metrics.upload_failures.inc()
                log.warning(
                    "%s[%d]: writing offsets %d.. failed (%s: %s); attempt %d in %.1fs, not committing",
                    key[0], key[1], state.encoded[0].first_offset, type(error).__name__, str(error)[:200],
                    state.failures + 1, delay,
                )  # fmt: skip
                continue
            flush = state.upload_succeeded()
            self._book_written(flush, outcome)
            self.written[key] = flush.next_offset

    def _book_written(self, flush: EncodedFlush, outcome: UploadOutcome) -> None:
        m = self.metrics
        for obj in flush.objects:
            m.objects_written.labels(obj.kind.value).inc()
            m.bytes_written.labels(obj.kind.value).inc(len(obj.body))
            m.records_written.labels(flush.topic, obj.kind.value).inc(obj.records)
        if flush.dead_letters:
            m.dead_letters.labels(flush.topic).inc(flush.dead_letters)
        m.upload_seconds.observe(outcome.seconds)
        m.flush_seconds.observe(self.clock() - flush.sealed_at)
        log.info(
            "%s[%d]: wrote offsets %d..%d (%d records, %d dead letters, cut by %s) in %.3fs",
            flush.topic, flush.partition, flush.first_offset, flush.next_offset - 1, flush.records,
            flush.dead_letters, flush.reason.value, outcome.seconds,
        )  # fmt: skip
        for obj in flush.objects:
            if obj.kind is ObjectKind.DEAD_LETTER:
                log.warning("%s[%d]: %d records rejected to %s", flush.topic, flush.partition, obj.records, obj.key)

    def _commit(self, keys: Iterable[PartitionKey]) -> None:
        """Commit, synchronously, the offset after the last written batch of each of `keys`."""
        due = {key: self.written[key] for key in keys if key in self.written}
        if not due:
            return
        offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in due.items()]
        try:
            results = self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            self.metrics.commit_failures.inc()
            log.warning("commit of %s failed: %s (the objects stay; retried next time)", _names(offsets), error)
            return
        for tp in results or []:
            key = (tp.topic, tp.partition)
            if tp.error is not None:
                self.metrics.commit_failures.inc()
                log.warning("commit of %s[%d] failed: %s", tp.topic, tp.partition, tp.error)
                continue
            if key not in due:
                continue
            if self.written.get(key) == due[key]:
                del self.written[key]
            self.states[key].committed = due[key]
            self.metrics.committed_offset.labels(key[0], str(key[1])).set(due[key])
        self.metrics.commits.inc()

    def drain(self, keys: list[PartitionKey], reason: CutReason, timeout: float) -> None:
        """Write and commit every buffered record of `keys`, waiting at most `timeout`; what is left stays
        uncommitted, so whoever reads those offsets next gets them again."""
        now = self.clock()
        deadline = now + timeout
        for key in keys:
            self.states[key].seal(reason, now)
        while True:
            self._advance(keys, now)
            running: list[Future[Any]] = [self.encodes[k] for k in keys if k in self.encodes]
            running += [self.uploads[k] for k in keys if k in self.uploads]
            if not running and not any(self.states[k].has_work() for k in keys):
                break
            now = self.clock()
            if now >= deadline:
                break
            retries = [s.retry_at for k in keys if (s := self.states[k]).encoded and not s.uploading]
            pause = max(0.0, min([deadline, *[t for t in retries if t > now]]) - now)
            if running:
                wait(running, timeout=min(pause, 1.0), return_when=FIRST_COMPLETED)
            else:
                time.sleep(min(pause, 1.0))
            now = self.clock()
        running_uploads = [self.uploads[k] for k in keys if k in self.uploads]
        if running_uploads:  # past the deadline: let running puts end, so none lands after we let go
            wait(running_uploads, timeout=self.options.upload_timeout_seconds)
            self._collect_uploads(keys, self.clock())
            self._commit(keys)
        for key in keys:
            left = self.states[key].buffered_records()
            if left:
                self.metrics.dropped_on_revoke.inc(left)
                log.warning(
                    "%s[%d]: %d records not written within %.0fs (%s); left uncommitted, they will be read again",
                    key[0], key[1], left, timeout, reason.value,
                )  # fmt: skip

    # -- memory and metrics ---------------------------------------------------------------------------------

    def buffered_bytes(self) -> int:
        return sum(state.buffered_bytes() for state in self.states.values())

    def _backpressure(self) -> None:
        """Pause partitions whose writes are failing, and all of them while memory is over the cap."""
        cap = self.options.max_buffered_bytes
        to_pause, to_resume = pause_changes(list(self.states.values()), cap, RESUME_FRACTION)
        if to_pause:
            self.consumer.pause([TopicPartition(s.topic, s.partition) for s in to_pause])
            for state in to_pause:
                state.paused = True
            log.warning("paused %s (writes failing, or buffered bytes at the cap of %d)", _states(to_pause), cap)
        if to_resume:
            self.consumer.resume([TopicPartition(s.topic, s.partition) for s in to_resume])
            for state in to_resume:
                state.paused = False
            log.info("resumed %s", _states(to_resume))

    def _export(self, now: float) -> None:
        m = self.metrics
        states = list(self.states.values())
        for state in states:
            if state.records_in:
                m.records_in.labels(state.topic).inc(state.records_in)
                state.records_in = 0
        buffered = sum(state.buffered_bytes() for state in states)
        m.buffered_bytes.set(buffered)
        m.buffered_records.set(sum(state.buffered_records() for state in states))
        m.paused_partitions.set(sum(1 for state in states if state.paused))
        self.snapshot = {
            "assigned": len(states),
            "paused": sum(1 for state in states if state.paused),
            "failing_writes": sum(1 for state in states if state.blocked),
            "buffered_bytes": buffered,
        }
        if now - self.last_lag >= LAG_EVERY_SECONDS:
            self.last_lag = now
            for state in self.states.values():
                self._export_lag(state)

    def _export_lag(self, state: PartitionState) -> None:
        if state.next_offset is None:
            return
        try:
            _low, high = self.consumer.get_watermark_offsets(TopicPartition(state.topic, state.partition), cached=True)
        except KafkaException:
            return
        if high >= 0:
            self.metrics.lag.labels(state.topic, str(state.partition)).set(max(0, high - state.next_offset))

    def _on_kafka_error(self, error: KafkaError, topic: str | None) -> None:
        if error.fatal():
            raise KafkaException(error)
        if self.on_record_error is not None:
            self.on_record_error(error, topic)
        elif error.code() != KafkaError._PARTITION_EOF:
            log.warning("kafka: %s", error)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Alive while the loop turns (an S3 outage is no reason to restart: the writer waits it out)."""
        since_loop = self.clock() - self.last_loop
        return since_loop < 60.0, {"loop_seconds_ago": round(since_loop, 1), **self.snapshot}


def _names(partitions: Iterable[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def _states(states: Iterable[PartitionState]) -> str:
    return ", ".join(f"{s.topic}[{s.partition}]" for s in states)
