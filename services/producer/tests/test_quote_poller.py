"""The quote loop's handling of answers, with a scripted API and an in-memory publisher (no servers)."""

import json
import threading

import pytest

from stockfeed_producer.config import load_settings
from stockfeed_producer.finnhub_rest import FetchResult, Outcome
from stockfeed_producer.metrics import ProducerMetrics
from stockfeed_producer.pacing import CallPacer
from stockfeed_producer.quote_poller import QuotePoller
from stockfeed_producer.status_server import Health

pytestmark = pytest.mark.unit

NOW = 1700000100.0
ANSWER = {"c": 189.5, "d": 1.25, "dp": 0.6641, "h": 190.1, "l": 187.0, "o": 188.0, "pc": 188.25, "t": 1700000000}


class ScriptedClient:
    def __init__(self, answers: list[dict[str, object]]) -> None:
        self.answers = list(answers)

    def fetch(self, symbol: str) -> FetchResult:
        return FetchResult(Outcome.OK, "200", payload=self.answers.pop(0))


class MemoryPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, bytes]] = []

    def publish(self, topic: str, key: str, value: bytes, stop: threading.Event) -> bool:
        self.published.append((topic, key, value))
        return True

    def poll(self) -> None:
        pass


def poller(answers: list[dict[str, object]]) -> tuple[QuotePoller, MemoryPublisher, ProducerMetrics]:
    publisher, metrics = MemoryPublisher(), ProducerMetrics()
    settings = load_settings({"api_url": "http://sim:8080/api/v1/", "symbols": "AAPL"})
    quote_poller = QuotePoller(
        settings, ScriptedClient(answers), publisher, CallPacer([]), metrics, Health(60.0), threading.Event(),  # type: ignore[arg-type]
        wall_clock=lambda: NOW,
    )  # fmt: skip
    return quote_poller, publisher, metrics


def malformed(metrics: ProducerMetrics, kind: str) -> float:
    return metrics.registry.get_sample_value("stockfeed_producer_malformed_responses_total", {"kind": kind}) or 0.0


@pytest.mark.parametrize(
    "future_t",
    [1700000000 * 1000, int(NOW) + 3600, 4102444799],  # milliseconds by mistake; an hour ahead; the contract's last
)
def test_a_time_ahead_of_the_clock_is_malformed_and_never_hides_later_quotes(future_t: int) -> None:
    later = {**ANSWER, "t": 1700000060, "c": 190.0}
    quote_poller, publisher, metrics = poller([ANSWER, {**ANSWER, "t": future_t}, later, later])
    assert quote_poller.poll("AAPL") == "published"
    assert quote_poller.poll("AAPL") == "malformed"
    assert malformed(metrics, "quote_time_ahead") == 1
    assert quote_poller.poll("AAPL") == "published"  # the real next quote is not "unchanged"
    assert quote_poller.poll("AAPL") == "unchanged"
    assert [json.loads(value)["t"] for _topic, _key, value in publisher.published] == [1700000000, 1700000060]


def test_a_time_within_the_lead_is_published() -> None:
    quote_poller, publisher, _metrics = poller([{**ANSWER, "t": int(NOW) + 60}])
    assert quote_poller.poll("AAPL") == "published"
    assert len(publisher.published) == 1
