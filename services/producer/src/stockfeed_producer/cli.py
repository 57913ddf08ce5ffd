"""`stockfeed-producer`: load settings, serve /metrics and /healthz, run quotes or trades mode, flush on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
import sys
import threading
import time
from types import FrameType

from confluent_kafka import KafkaError, KafkaException

from stockfeed_contracts import envs
from stockfeed_contracts.kafka_security import client_config_problem
from stockfeed_producer.config import SECRET_FIELDS, ConfigError, ProducerSettings, load_settings
from stockfeed_producer.finnhub_rest import QuoteClient
from stockfeed_producer.kafka_publisher import KafkaPublisher, kafka_config
from stockfeed_producer.metrics import ProducerMetrics
from stockfeed_producer.pacing import plan_pacer
from stockfeed_producer.quote_poller import QuotePoller
from stockfeed_producer.status_server import Health, StatusServer
from stockfeed_producer.trade_stream import TradeStream

log = logging.getLogger("stockfeed_producer")

EXIT_BAD_CONFIG = 2
EXIT_UNDELIVERED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockfeed-producer",
        description="Finnhub (or the stockfeed simulator) -> Kafka. Every flag can also be set as PRODUCER_<FLAG>; "
        "the secrets only from the environment or a file: PRODUCER_FINNHUB_API_KEY[_FILE] and "
        "PRODUCER_KAFKA_SASL_PASSWORD[_FILE].",
    )
    for name, field in ProducerSettings.model_fields.items():
        if name not in SECRET_FIELDS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=field.description)
    return parser


def run_quotes(settings: ProducerSettings, publisher: KafkaPublisher, metrics: ProducerMetrics, health: Health) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_fatal(reason: str) -> None:
        health.set_fatal(reason)
        stop.set()

    publisher.on_fatal = on_fatal
    client = QuoteClient(
        settings.rest_base_url,
        settings.api_key,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.request_timeout_seconds,
    )
    pacer = plan_pacer(
        settings.plan_calls_per_minute,
        settings.plan_calls_per_second,
        headroom=settings.rate_headroom,
        burst=settings.rate_burst,
        now=time.monotonic(),
    )
    try:
        QuotePoller(settings, client, publisher, pacer, metrics, health, stop).run()
    finally:
        client.close()


async def run_trades(
    settings: ProducerSettings, publisher: KafkaPublisher, metrics: ProducerMetrics, health: Health
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def on_fatal(reason: str) -> None:
        health.set_fatal(reason)
        stop.set()

    publisher.on_fatal = on_fatal
    await TradeStream(settings, publisher, metrics, health, rng=random.Random()).run(stop)


def main(argv: list[str] | None = None) -> int:
    flags = vars(build_parser().parse_args(argv))
    try:
        settings = load_settings(flags)
    except ConfigError as error:
        print(f"stockfeed-producer: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # websockets' debug log prints the handshake's request line, and Finnhub wants the key in that URL.
    logging.getLogger("websockets").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    log.info(
        "starting: mode=%s feed=%s symbols=%d source=%s kafka=%s (%s) key=%s",
        settings.mode,
        settings.feed,
        len(settings.symbols),
        settings.message_source,
        settings.kafka_bootstrap,
        settings.kafka_security.summary(),
        "set" if settings.api_key else "none",
    )
    metrics = ProducerMetrics()
    health = Health(settings.health_stale_seconds)
    try:
        publisher = KafkaPublisher(
            kafka_config(settings), metrics, on_fatal=health.set_fatal, security=settings.kafka_security
        )
    except KafkaException as error:  # e.g. a CA or key file that is not PEM: librdkafka refuses at creation
        reason = error.args[0].str() if error.args and isinstance(error.args[0], KafkaError) else str(error)
        problem = client_config_problem(settings.kafka_security, envs.PRODUCER, reason)
        print(f"stockfeed-producer: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    status = StatusServer(settings.metrics_host, settings.metrics_port, metrics.registry, health)
    status.start()
    publisher.on_wait = health.beat
    undelivered = 0
    try:
        if settings.mode == "quotes":
            run_quotes(settings, publisher, metrics, health)
        else:
            asyncio.run(run_trades(settings, publisher, metrics, health))
    finally:
        undelivered = publisher.close(settings.flush_timeout_seconds)
        log.info(
            "stopped: published=%d delivered=%d failed=%d undelivered=%d",
            publisher.published,
            publisher.delivered,
            publisher.failed,
            undelivered,
        )
        status.stop()
    if publisher.fatal_error:
        return EXIT_UNDELIVERED
    return EXIT_UNDELIVERED if undelivered or publisher.failed else 0


if __name__ == "__main__":
    sys.exit(main())
