"""60 symbols on the free plan for over three minutes: no 429 ever, and every symbol polled about once a minute."""

from __future__ import annotations

import math
import time

import pytest

from stockfeed_contracts import QUOTE_V1, reason_invalid
from stockfeed_producer.testing import producer_process, read_topic, wait_until
from stockfeed_simulator.symbols import BUILTIN_SYMBOLS

pytestmark = pytest.mark.integration

RUN_SECONDS = 200  # 3 min 20 s: every one of 60 symbols comes round 3 times at ~57 calls/min, with ~5 % to spare
SYMBOLS = list(BUILTIN_SYMBOLS[:60])
HEADROOM = 0.03  # the producer's default


@pytest.mark.timeout(300)
def test_sixty_symbols_on_the_free_plan_never_meet_a_429(simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    simulator = simulator_factory()  # the free plan's limits: 60/min and 30/s per key
    settings = {
        "api_url": simulator.api_url,
        "kafka_bootstrap": kafka_bootstrap,
        "quotes_topic": kafka_topic,
        "symbols": SYMBOLS,
        "feed": "rate-plan",
    }
    with producer_process(settings, tmp_path / "producer.log") as producer:
        wait_until(lambda: simulator.stats()["rest"]["requests"] > 0, timeout=20, what="the first call")
        started = time.monotonic()
        while time.monotonic() - started < RUN_SECONDS:
            assert producer.running(), producer.log_text()[-2000:]
            assert simulator.stats()["rest"]["statuses"].get("429", 0) == 0
            time.sleep(5)
        assert producer.health()[0] == 200
        assert producer.terminate() == 0
        elapsed = time.monotonic() - started

    rest = simulator.stats()["rest"]
    metrics_summary = producer.summary()
    assert rest["statuses"] == {"200": rest["requests"]}  # no 429 (nor anything else) was ever served
    assert "429" not in producer.log_text()

    # The plan's rate, used: (60 - 1 burst) per minute less the headroom -> one call every ~1.05 s.
    expected_calls = elapsed * (60 - 1) / 60 * (1 - HEADROOM)
    assert 0.95 * expected_calls <= rest["requests"] <= expected_calls + 2  # the bucket starts with one token
    per_symbol = rest["requests_by_symbol"]
    assert set(per_symbol) == set(SYMBOLS)
    # Round robin: every symbol came round once a minute (3 times in 3+ minutes), none twice as often as another.
    assert min(per_symbol.values()) >= math.floor(RUN_SECONDS / 60)
    assert max(per_symbol.values()) - min(per_symbol.values()) <= 1

    # What was accepted reached the topic, keyed by symbol, following the contract.
    records = read_topic(kafka_bootstrap, kafka_topic)
    assert metrics_summary.published == metrics_summary.delivered == len(records)
    assert metrics_summary.failed == metrics_summary.undelivered == 0
    assert len(records) >= 0.9 * rest["requests"]  # prices move every second, so nearly every poll is news
    for record in records:
        assert reason_invalid(record.value, QUOTE_V1) is None
        assert record.key == record.value["symbol"]
        assert record.value["feed"] == "rate-plan"
        assert record.value["source"] == "simulator"
