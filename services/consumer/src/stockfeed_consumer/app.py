"""Wiring: settings -> S3 sink, Kafka consumer, encoder, writer, metrics server; the poll loop; SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import Consumer

from stockfeed_consumer.backoff import retry_delay
from stockfeed_consumer.batching import BatchPolicy
from stockfeed_consumer.config import ConsumerSettings
from stockfeed_consumer.encoder import Encoder
from stockfeed_consumer.flush import Layout
from stockfeed_consumer.kafka import consumer_config
from stockfeed_consumer.metrics import ConsumerMetrics, serve
from stockfeed_consumer.sink import S3Sink
from stockfeed_consumer.writer import BronzeWriter, WriterOptions

log = logging.getLogger(__name__)


def layout(settings: ConsumerSettings) -> Layout:
    return Layout(settings.prefix, settings.dead_letter_prefix, settings.expected_schema)


def writer_options(settings: ConsumerSettings) -> WriterOptions:
    return WriterOptions(
        policy=BatchPolicy(settings.max_records, settings.max_bytes, settings.max_age_seconds),
        max_buffered_bytes=settings.max_buffered_bytes,
        retry_initial_seconds=settings.retry_initial_seconds,
        retry_max_seconds=settings.retry_max_seconds,
        revoke_timeout_seconds=settings.revoke_timeout_seconds,
        shutdown_timeout_seconds=settings.shutdown_timeout_seconds,
        upload_timeout_seconds=settings.s3_timeout_seconds + 5.0,  # connect + read timeouts of one put
    )


def _wait_for_bucket(sink: S3Sink, settings: ConsumerSettings, stop: threading.Event) -> bool:
    """Retry until the bucket exists (or was created); False if asked to stop first."""
    failures = 0
    while not stop.is_set():
        try:
            sink.ensure_bucket(settings.create_bucket)
            return True
        except (BotoCoreError, ClientError) as error:
            failures += 1
            delay = retry_delay(failures, settings.retry_initial_seconds, settings.retry_max_seconds)
            log.warning("bucket %s not ready (%s); retrying in %.1fs", settings.bucket, error, delay)
            stop.wait(delay)
    return False


def run(settings: ConsumerSettings) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    metrics = ConsumerMetrics()
    sink = S3Sink.from_settings(settings)
    encoder = Encoder(settings.encode_processes, layout(settings), settings.gzip_level)
    uploader = ThreadPoolExecutor(max_workers=settings.upload_workers, thread_name_prefix="upload")
    consumer = Consumer(consumer_config(settings))
    writer = BronzeWriter(consumer, sink, encoder, uploader, writer_options(settings), metrics)
    server = None
    if settings.metrics_port:
        server = serve(metrics, writer.health, settings.metrics_host, settings.metrics_port)
    log.info(
        "starting: topics=%s group=%s bucket=%s endpoint=%s batches of %d records / %d bytes / %.1fs",
        ",".join(settings.topics), settings.group_id, settings.bucket, settings.s3_endpoint_url or "aws",
        settings.max_records, settings.max_bytes, settings.max_age_seconds,
    )  # fmt: skip
    try:
        if not _wait_for_bucket(sink, settings, stop):
            return 0
        consumer.subscribe(
            list(settings.topics), on_assign=writer.on_assign, on_revoke=writer.on_revoke, on_lost=writer.on_lost
        )
        while not stop.is_set():
            writer.handle(consumer.consume(num_messages=settings.poll_max_records, timeout=writer.poll_timeout()))
            writer.tick()
        writer.shutdown()
        return 0
    finally:
        consumer.close()  # the revoke this may trigger finds nothing left to write
        uploader.shutdown(wait=True, cancel_futures=True)
        encoder.shutdown()
        if server is not None:
            server.shutdown()
        log.info("stopped")
