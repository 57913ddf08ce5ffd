"""What must never become a price: unknown symbols (all-zero answers) and quotes whose time did not move."""

from __future__ import annotations

import pytest

from stockfeed_producer.testing import producer_process, read_topic, wait_until

pytestmark = pytest.mark.integration

FAST = {"rate_limit_per_minute": 600, "rate_limit_per_second": 30}


@pytest.mark.timeout(90)
def test_unknown_symbol_is_flagged_and_never_published(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(**FAST)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": ["AAPL", "ZZZZQ", "MSFT"],
        "plan_calls_per_minute": 600,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().value("stockfeed_producer_zero_quotes_total", symbol="ZZZZQ") >= 3,
                   timeout=30, what="three all-zero answers for the unknown symbol")  # fmt: skip
        metrics = producer.metrics()
        assert producer.terminate() == 0

    served = simulator.stats()["rest"]["outcomes"]
    assert metrics.value("stockfeed_producer_zero_quotes_total", symbol="ZZZZQ") == served["unknown_symbol"]
    assert metrics.value("stockfeed_producer_zero_quotes_total", symbol="AAPL") == 0
    assert "ZZZZQ: all-zero/null quote (unknown symbol or no data); not published" in producer.log_text()
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert {record.key for record in records} == {"AAPL", "MSFT"}
    assert len(records) == producer.summary().delivered


@pytest.mark.timeout(90)
def test_quote_with_unchanged_time_is_not_published_again(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(**FAST)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": ["AAPL", "MSFT"],
        "plan_calls_per_minute": 600,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 2,
                   timeout=30, what="first quotes")  # fmt: skip

        def unchanged() -> float:  # polls several times a second also see the same t before the close
            return producer.metrics().total("stockfeed_producer_unchanged_quotes_total")

        unchanged_before_close = unchanged()
        served_before_close = simulator.stats()["rest"]["outcomes"]["ok"]
        simulator.set_faults(market_open=False)  # after the close, prices and their t stand still
        wait_until(lambda: unchanged() >= unchanged_before_close + 10, timeout=30, what="polls finding nothing new")
        published_while_closed = producer.metrics().total("stockfeed_producer_messages_published_total")
        wait_until(lambda: unchanged() >= unchanged_before_close + 20, timeout=30, what="more such polls")
        assert producer.metrics().total("stockfeed_producer_messages_published_total") == published_while_closed
        counted_unchanged = unchanged() - unchanged_before_close
        served_after_close = simulator.stats()["rest"]["outcomes"]["ok"] - served_before_close
        assert producer.terminate() == 0

    records = read_topic(kafka_bootstrap, kafka_topic)
    assert len(records) == producer.summary().delivered
    assert len({(r.value["symbol"], r.value["t"]) for r in records}) == len(records)
    # Each quote served from the close on was the first to show a symbol's closing quote (published once), or
    # counted as unchanged; allow a call in flight around each of the snapshots.
    assert -2 <= served_after_close - counted_unchanged <= len(settings["symbols"]) + 2


@pytest.mark.timeout(90)
def test_republish_unchanged_when_configured(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(market_open=False, **FAST)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": ["AAPL"],
        "plan_calls_per_minute": 600,
        "republish_unchanged": True,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 5,
                   timeout=30, what="five deliveries of the same quote")  # fmt: skip
        assert producer.metrics().total("stockfeed_producer_unchanged_quotes_total") == 0
        assert producer.terminate() == 0
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert len({record.value["t"] for record in records}) == 1
    assert len(records) == producer.summary().delivered >= 5
