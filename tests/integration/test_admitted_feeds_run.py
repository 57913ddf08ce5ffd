"""Feeds at the CRD's edges, rendered by the operator, run the real producer against the simulator and stay up.

operator/tests/.../test_admitted_feeds_run.py walks every boundary through the settings parsers; this starts the
producer process for the ones that used to crash-loop (a budget of 1 call per minute) and the largest ones.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from stockfeed_operator.config import load_settings as operator_settings
from stockfeed_operator.envs import producer_env
from stockfeed_operator.feed import parse_feed
from stockfeed_producer.testing import producer_process, wait_until

pytestmark = pytest.mark.integration

STAY_UP_SECONDS = 6.0

FEEDS: dict[str, dict[str, Any]] = {
    "one symbol a minute": {"symbols": ["AAPL"], "pollInterval": "1m"},
    "callsPerMinute 1": {"symbols": ["AAPL", "MSFT"], "source": {"callsPerMinute": 1}},
    "most quotes symbols, fastest": {
        "symbols": [f"S{index:03d}" for index in range(250)],
        "pollInterval": "1s",
        "source": {"callsPerMinute": 10000},
    },
    "most trades symbols": {"symbols": [f"T{index:03d}" for index in range(50)], "mode": "trades"},
}


def rendered_env(spec: dict[str, Any], simulator_url: str, bootstrap: str, topic: str) -> dict[str, str]:
    settings = operator_settings(
        {
            "OPERATOR_PRODUCER_IMAGE": "producer:test",
            "OPERATOR_CONSUMER_IMAGE": "consumer:test",
            "OPERATOR_SIMULATOR_URL": simulator_url,
        }
    )
    body = {
        "metadata": {"name": "edge", "namespace": "markets", "uid": "u-1", "generation": 1},
        "spec": spec,
    }
    env = producer_env(parse_feed(body), settings).plain
    # this machine's Kafka and a fresh topic; /metrics on the free port ProducerProcess picked
    env = {name: value for name, value in env.items() if not name.startswith("PRODUCER_METRICS_")}
    env["PRODUCER_KAFKA_BOOTSTRAP"] = bootstrap
    topic_variable = "PRODUCER_QUOTES_TOPIC" if spec.get("mode", "quotes") == "quotes" else "PRODUCER_TRADES_TOPIC"
    env[topic_variable] = topic
    return env


@pytest.mark.timeout(120)
@pytest.mark.parametrize("label", list(FEEDS))
def test_an_admitted_feed_keeps_its_producer_up(label, simulator_factory, kafka_bootstrap, kafka_topic, tmp_path):
    spec = FEEDS[label]
    simulator = simulator_factory(symbols=["*"], rate_limit_per_minute=100_000, trade_rate=20)
    env = rendered_env(spec, simulator.api_url, kafka_bootstrap, kafka_topic)
    with producer_process({}, tmp_path / "producer.log", extra_env=env) as producer:
        wait_until(
            lambda: producer.metrics().total("stockfeed_producer_messages_delivered_total") >= 1,
            timeout=30,
            what=f"a first delivered message ({label})",
        )
        time.sleep(STAY_UP_SECONDS)
        assert producer.running(), producer.log_text()[-2000:]
        status, _body = producer.health()
        assert status == 200
        assert producer.terminate() == 0
    if spec.get("source", {}).get("callsPerMinute") == 1 or spec.get("pollInterval") == "1m":
        # one call at start, the next a minute later: the pacer holds the 1/min budget
        assert simulator.stats()["rest"]["requests"] == 1
