"""Trades mode: one WebSocket, every symbol subscribed; after each drop it reconnects and subscribes again."""

from __future__ import annotations

import pytest

from stockfeed_contracts import TRADE_V1, reason_invalid
from stockfeed_producer.testing import producer_process, read_topic, wait_until

pytestmark = pytest.mark.integration

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "TSLA"]


@pytest.mark.timeout(120)
def test_websocket_dropped_three_times_reconnects_and_resubscribes(
    simulator_factory, kafka_bootstrap, kafka_topic, tmp_path
):
    simulator = simulator_factory(trade_rate=200, ping_seconds=1)
    settings = {
        "mode": "trades",
        "api_url": simulator.api_url,  # the WebSocket URL is derived from it: same host and port
        "kafka_bootstrap": kafka_bootstrap,
        "trades_topic": kafka_topic,
        "symbols": SYMBOLS,
        "backoff_base_seconds": 0.2,
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:

        def delivered() -> float:
            return producer.metrics().total("stockfeed_producer_messages_delivered_total")

        wait_until(lambda: delivered() >= 100, timeout=30, what="trades delivered")
        for drop in range(1, 4):
            before = delivered()
            assert simulator.drop_websockets() == 1
            connection = drop + 1

            def resubscribed(connection: int = connection) -> bool:
                websocket = simulator.stats()["websocket"]
                return websocket["connections"] == connection and websocket["subscribes"] == connection * len(SYMBOLS)

            wait_until(resubscribed, timeout=30, what=f"connection {connection} with every symbol subscribed")
            wait_until(lambda before=before: delivered() >= before + 100, timeout=30, what="trades flowing again")

        wait_until(lambda: producer.metrics().value("stockfeed_producer_ws_pings_total") >= 1,
                   timeout=10, what="a ping")  # fmt: skip
        while_running = simulator.stats()["websocket"]
        metrics = producer.metrics()
        assert producer.health()[0] == 200
        assert producer.terminate() == 0

    assert while_running["open_connections"] == 1
    assert while_running["open_subscriptions"] == sorted(SYMBOLS)
    websocket = simulator.stats()["websocket"]  # final: the producer has closed its connection
    assert websocket["drops"] == 3
    assert websocket["subscribes_by_symbol"] == dict.fromkeys(SYMBOLS, 4)
    assert metrics.value("stockfeed_producer_ws_reconnects_total") == 3
    assert metrics.value("stockfeed_producer_ws_connections_total") == 4
    assert metrics.value("stockfeed_producer_ws_subscribe_messages_total") == 4 * len(SYMBOLS)

    summary = producer.summary()
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert summary.failed == summary.undelivered == 0
    assert summary.published == summary.delivered == len(records)
    assert len(records) <= websocket["trades_sent"]  # a drop can cut a batch off in flight; nothing is invented
    assert len(records) >= websocket["trades_sent"] * 0.95
    for record in records:
        assert reason_invalid(record.value, TRADE_V1) is None
        assert record.key == record.value["s"]
        assert record.value["s"] in SYMBOLS
