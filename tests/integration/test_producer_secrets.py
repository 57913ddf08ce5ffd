"""The API key: read from a file or the environment, sent to the API, never written to logs or metrics; and no key
without a simulator URL is a configuration error, not a silent call to the paid service."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from stockfeed_producer.testing import producer_process, wait_until

pytestmark = pytest.mark.integration

KEY = "sekret-key-4711"


@pytest.mark.timeout(90)
def test_key_from_a_file_is_used_and_never_shown(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(api_keys=[KEY], rate_limit_per_minute=600)
    key_file = tmp_path / "finnhub-key"
    key_file.write_text(KEY + "\n")
    settings = {
        "api_url": simulator.api_url,
        "finnhub_api_key_file": key_file,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": ["AAPL", "MSFT"],
        "plan_calls_per_minute": 600,
        "log_level": "DEBUG",
    }
    with producer_process(settings, tmp_path / "quotes.log") as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 3,
                   timeout=30, what="quotes fetched with the key")  # fmt: skip
        metrics_text = requests.get(f"{producer.url}/metrics", timeout=5).text
        assert producer.terminate() == 0
    assert simulator.stats()["rest"]["outcomes"].get("unauthorized", 0) == 0
    assert "key=set" in producer.log_text()
    assert KEY not in producer.log_text()
    assert KEY not in metrics_text


@pytest.mark.timeout(90)
def test_trades_key_goes_in_the_url_but_not_in_the_log(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(api_keys=[KEY], trade_rate=50)
    settings = {
        "mode": "trades",
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "trades_topic": kafka_topic,
        "symbols": ["AAPL"],
        "backoff_base_seconds": 0.1,
        "log_level": "DEBUG",
    }
    with producer_process(settings, tmp_path / "trades.log", extra_env={"PRODUCER_FINNHUB_API_KEY": KEY}) as producer:
        wait_until(lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 10,
                   timeout=30, what="trades over the keyed WebSocket")  # fmt: skip
        simulator.drop_websockets()  # the reconnect logs the reason of the drop
        wait_until(lambda: producer.metrics().value("stockfeed_producer_ws_reconnects_total") >= 1,
                   timeout=30, what="a reconnect")  # fmt: skip
        assert producer.terminate() == 0
    assert simulator.stats()["websocket"].get("unauthorized", 0) == 0
    assert "key=set" in producer.log_text()
    assert "WebSocket lost" in producer.log_text()
    assert KEY not in producer.log_text()


@pytest.mark.timeout(90)
def test_a_wrong_key_is_reported_without_showing_it(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory(api_keys=["the-right-one"], rate_limit_per_minute=600)
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": ["AAPL"],
        "plan_calls_per_minute": 600,
        "log_level": "DEBUG",
    }
    with producer_process(settings, tmp_path / "wrong.log", extra_env={"PRODUCER_FINNHUB_API_KEY": KEY}) as producer:
        wait_until(
            lambda: producer.metrics().value("stockfeed_producer_http_requests_total", status="401") >= 3,
            timeout=30,
            what="401 answers",
        )
        assert producer.metrics().total("stockfeed_producer_messages_published_total") == 0
        assert producer.terminate() == 0
    assert "key=set" in producer.log_text()
    assert "HTTP 401" in producer.log_text()
    assert KEY not in producer.log_text()


def test_no_key_and_no_simulator_url_exits_2():
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRODUCER_")}
    result = subprocess.run(
        [sys.executable, "-m", "stockfeed_producer"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("stockfeed-producer: PRODUCER_API_URL is required")
