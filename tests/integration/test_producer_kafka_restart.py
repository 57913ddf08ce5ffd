"""The Kafka broker restarts in the middle of a run: every quote the producer accepted reaches the topic, none
twice, and while the broker is away the bounded local queue pushes back instead of growing."""

from __future__ import annotations

import time

import pytest

from stockfeed_contracts import QUOTE_V1, reason_invalid
from stockfeed_producer.testing import producer_process, read_topic, wait_until
from stockfeed_simulator.symbols import BUILTIN_SYMBOLS

pytestmark = pytest.mark.integration

QUEUE_BOUND = 40


@pytest.mark.timeout(360)
def test_broker_restart_loses_nothing_and_duplicates_nothing(
    simulator_factory, kafka_bootstrap, kafka_topic, stack_servers, tmp_path
):
    simulator = simulator_factory(rate_limit_per_minute=1200, rate_limit_per_second=30, tick_seconds=0.05)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": list(BUILTIN_SYMBOLS[:20]),
        "plan_calls_per_minute": 1200,  # ~19 quotes/s: plenty in flight when the broker goes
        "kafka_queue_max_messages": QUEUE_BOUND,
        "flush_timeout_seconds": 60,
    }
    kafka = stack_servers["kafka"]
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 50,
                   timeout=30, what="deliveries before the restart")  # fmt: skip
        try:
            kafka.stop()
            away_until = time.monotonic() + 8
            deepest_queue = 0.0
            while time.monotonic() < away_until:
                metrics = producer.metrics()
                deepest_queue = max(deepest_queue, metrics.value("stockfeed_producer_queue_depth"))
                assert producer.running(), producer.log_text()[-3000:]
                time.sleep(0.5)
            pushed_back = producer.metrics().value("stockfeed_producer_backpressure_waits_total")
        finally:
            kafka.start()
        published_at_restart = producer.metrics().total("stockfeed_producer_messages_published_total")
        try:
            wait_until(
                lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total")
                > published_at_restart + 20,
                timeout=120,
                what="deliveries after the broker came back",
            )
        except TimeoutError:
            pytest.fail(f"no deliveries after the restart; producer log:\n{producer.log_text()[-3000:]}")
        assert producer.terminate() == 0  # SIGTERM: flushes what is still queued

    summary = producer.summary()
    records = read_topic(kafka_bootstrap, kafka_topic)
    # Accepted == acknowledged == in the topic, and nothing in the topic twice.
    assert summary.failed == summary.undelivered == 0
    assert summary.published == summary.delivered == len(records)
    assert len({(r.value["symbol"], r.value["t"]) for r in records}) == len(records)
    assert len({(r.partition, r.offset) for r in records}) == len(records)
    assert all(reason_invalid(r.value, QUOTE_V1) is None and r.key == r.value["symbol"] for r in records)
    # While the broker was away the queue filled to its bound and produce calls waited (back-pressure).
    assert deepest_queue <= QUEUE_BOUND
    assert pushed_back > 0
