"""Wiring: settings -> S3 sink, Kafka consumer, encoder, writer, metrics server; the poll loop; SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import Consumer, KafkaError, KafkaException

from stockfeed_consumer.backoff import retry_delay
from stockfeed_consumer.batching import BatchPolicy
from stockfeed_consumer.config import ConsumerSettings
from stockfeed_consumer.encoder import Encoder
from stockfeed_consumer.errors import ConfigError
from stockfeed_consumer.flush import Layout
from stockfeed_consumer.kafka import consumer_config
from stockfeed_consumer.kafka_errors import KafkaErrors
from stockfeed_consumer.metrics import ConsumerMetrics, serve
from stockfeed_consumer.sink import S3Sink
from stockfeed_consumer.writer import BronzeWriter, WriterOptions
from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import client_config_problem

log = logging.getLogger(__name__)

EXIT_DENIED = 1  # Kafka refused access (a missing ACL): what was held is written and committed first


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


def _consumer(settings: ConsumerSettings, errors: KafkaErrors) -> Consumer:
    try:
        return Consumer(
            {
                **consumer_config(settings),
                "error_cb": errors.on_client_error,
                # librdkafka's own log repeats every failed connect several times a second (a wrong password
                # too); the same errors reach error_cb (counted, each kind logged at most twice a minute), so
                # only its critical lines are kept, in our log format.
                "log_level": 2,
                "logger": logging.getLogger("stockfeed_consumer.librdkafka"),
            }
        )
    except KafkaException as error:  # e.g. a CA or key file that is not PEM: librdkafka refuses at creation
        reason = error.args[0].str() if error.args and isinstance(error.args[0], KafkaError) else str(error)
        raise ConfigError(client_config_problem(settings.kafka_security, envs.CONSUMER, reason)) from None


def run(settings: ConsumerSettings) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    metrics = ConsumerMetrics()
    errors = KafkaErrors(settings.kafka_security, settings.group_id, settings.topics, metrics)
    consumer = _consumer(settings, errors)  # first: a refused configuration leaves nothing else to stop
    sink = S3Sink.from_settings(settings)
    encoder = Encoder(settings.encode_processes, layout(settings), settings.gzip_level)
    uploader = ThreadPoolExecutor(max_workers=settings.upload_workers, thread_name_prefix="upload")
    writer = BronzeWriter(
        consumer, sink, encoder, uploader, writer_options(settings), metrics, on_record_error=errors.on_record_error
    )
    server = None
    if settings.metrics_port:
        server = serve(metrics, writer.health, settings.metrics_host, settings.metrics_port)
    log.info(
        "starting: topics=%s group=%s kafka=%s (%s) bucket=%s endpoint=%s batches of %d records / %d bytes / %.1fs",
        ",".join(settings.topics), settings.group_id, settings.kafka_bootstrap, settings.kafka_security.summary(),
        settings.bucket, settings.s3_endpoint_url or "aws", settings.max_records, settings.max_bytes,
        settings.max_age_seconds,
    )  # fmt: skip
    try:
        if not _wait_for_bucket(sink, settings, stop):
            return 0
        consumer.subscribe(
            list(settings.topics), on_assign=writer.on_assign, on_revoke=writer.on_revoke, on_lost=writer.on_lost
        )
        while not stop.is_set() and errors.denied is None:
            writer.handle(consumer.consume(num_messages=settings.poll_max_records, timeout=writer.poll_timeout()))
            writer.tick()
        writer.shutdown()
        if errors.denied is not None:  # logged where it was seen
            return EXIT_DENIED
        return 0
    finally:
        consumer.close()  # the revoke this may trigger finds nothing left to write
        uploader.shutdown(wait=True, cancel_futures=True)
        encoder.shutdown()
        if server is not None:
            server.shutdown()
        log.info("stopped")
