"""Faults injected by the simulator (429s, 5xx, hangs, malformed JSON): the producer keeps going and its
counts match what the simulator served, call for call."""

from __future__ import annotations

import time

import pytest

from stockfeed_producer.testing import Metrics, producer_process, read_topic, wait_until

pytestmark = pytest.mark.integration

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AVGO"]
FAST_PLAN = {"rate_limit_per_minute": 900, "rate_limit_per_second": 30}  # a paid-like plan: more calls per second


def served_vs_counted(served: dict, metrics: Metrics) -> dict[str, tuple[float, float]]:
    """(what the simulator served, what the producer counted) for each kind of answer."""
    statuses = served["statuses"]
    outcomes = served["outcomes"]
    by_status = metrics.by_label("stockfeed_producer_http_requests_total", "status")
    return {
        "200": (statuses.get("200", 0), by_status.get("200", 0)),
        "429": (statuses.get("429", 0), by_status.get("429", 0)),
        "429 seen": (statuses.get("429", 0), metrics.value("stockfeed_producer_rate_limited_total")),
        "5xx": (
            sum(n for code, n in statuses.items() if code.startswith("5")),
            sum(n for code, n in by_status.items() if code.startswith("5")),
        ),
        "hung": (outcomes.get("hung", 0), by_status.get("timeout", 0)),
        "malformed": (outcomes.get("malformed", 0), metrics.total("stockfeed_producer_malformed_responses_total")),
    }


@pytest.mark.timeout(120)
def test_faults_are_survived_and_counted(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(**FAST_PLAN)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": SYMBOLS,
        "plan_calls_per_minute": 900,
        "request_timeout_seconds": 4,  # well above any honest answer, even on a busy machine
        "backoff_base_seconds": 0.1,
        "backoff_max_seconds": 1,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 5,
                   timeout=20, what="the first deliveries")  # fmt: skip
        simulator.set_faults(
            rate_limited_share=0.08,
            rate_limited_reset_seconds=1,
            server_error_share=0.15,
            hang_share=0.04,
            hang_seconds=10,
            malformed_share=0.1,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert producer.running(), producer.log_text()[-3000:]
            time.sleep(1)
        simulator.set_faults(rate_limited_share=0, server_error_share=0, hang_share=0, malformed_share=0)

        # Hung calls end at the producer's timeout: after that, both sides must agree on every kind of answer.
        def counts_agree() -> bool:
            return all(a == b for a, b in served_vs_counted(simulator.stats()["rest"], producer.metrics()).values())

        try:
            wait_until(counts_agree, timeout=20, what="the producer's counts to match the simulator's")
        except TimeoutError:
            pytest.fail(f"served vs counted: {served_vs_counted(simulator.stats()['rest'], producer.metrics())}")
        comparison = served_vs_counted(simulator.stats()["rest"], producer.metrics())
        metrics = producer.metrics()
        assert producer.health()[0] == 200
        assert producer.terminate() == 0

    # Every kind of fault did happen, often enough to matter.
    assert comparison["429"][0] >= 2, comparison
    assert comparison["5xx"][0] >= 5, comparison
    assert comparison["hung"][0] >= 1, comparison
    assert comparison["malformed"][0] >= 2, comparison
    assert metrics.value("stockfeed_producer_retries_total") >= comparison["5xx"][0] * 0.5
    # ...and the good answers still made it to Kafka, exactly once each.
    summary = producer.summary()
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert summary.published == summary.delivered == len(records) > 20
    assert summary.failed == summary.undelivered == 0
    assert len({(r.value["symbol"], r.value["t"]) for r in records}) == len(records)


@pytest.mark.timeout(120)
def test_a_time_ahead_of_the_clock_is_malformed_and_never_hides_later_quotes(
    simulator_factory, kafka_bootstrap, kafka_topic, tmp_path
):
    # Every answer first carries t in milliseconds (far ahead of the clock); then the simulator answers honestly.
    simulator = simulator_factory(**FAST_PLAN, future_t_share=1.0)
    symbols = SYMBOLS[:3]
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": symbols,
        "plan_calls_per_minute": 900,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(
            lambda: producer.metrics().value("stockfeed_producer_malformed_responses_total", kind="quote_time_ahead")
            >= 2 * len(symbols),
            timeout=30,
            what="answers with a future t counted as malformed",
        )
        assert producer.metrics().total("stockfeed_producer_messages_delivered_total") == 0
        simulator.set_faults(future_t_share=0)
        wait_until(
            lambda: {r.value["symbol"] for r in read_topic(kafka_bootstrap, kafka_topic)} == set(symbols),
            timeout=30,
            what="every symbol's honest quote, despite the future t seen before",
        )
        served = simulator.stats()["rest"]["outcomes"]
        assert producer.terminate() == 0
    assert served.get("future_t", 0) >= 2 * len(symbols), served
    assert all(r.value["t"] < time.time() + 300 for r in read_topic(kafka_bootstrap, kafka_topic))
