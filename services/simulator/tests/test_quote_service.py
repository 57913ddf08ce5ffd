import json
import random
from collections import Counter

import pytest

from stockfeed_simulator.faults import FaultKnobs
from stockfeed_simulator.market import Market
from stockfeed_simulator.prices import PathParams
from stockfeed_simulator.quotes_http import QuoteService
from stockfeed_simulator.stats import ServedStats
from stockfeed_simulator.symbols import SymbolUniverse

pytestmark = pytest.mark.unit

NOW = 1_700_000_100.0


def make_service(api_keys=()):
    market = Market(7, PathParams(), SymbolUniverse(), anchor=NOW - 100)
    return QuoteService(market, ServedStats(), api_keys, random.Random(3))


UNLIMITED = FaultKnobs(rate_limit_per_minute=0, rate_limit_per_second=0)


def test_plain_quote_with_rate_limit_headers():
    answer = make_service().answer({"symbol": "AAPL"}, None, FaultKnobs(), NOW)
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["c"] > 0
    assert body["t"] > 0
    assert answer.headers["X-Ratelimit-Limit"] == "60"
    assert answer.headers["X-Ratelimit-Remaining"] == "59"


def test_tokens_checked_when_keys_are_configured():
    service = make_service(api_keys=["good"])
    assert service.answer({"symbol": "AAPL"}, None, UNLIMITED, NOW).status == 401
    assert service.answer({"symbol": "AAPL", "token": "bad"}, None, UNLIMITED, NOW).status == 401
    assert service.answer({"symbol": "AAPL", "token": "good"}, None, UNLIMITED, NOW).status == 200
    assert service.answer({"symbol": "AAPL"}, "good", UNLIMITED, NOW).status == 200  # X-Finnhub-Token


def test_missing_symbol_is_a_client_error():
    assert make_service().answer({}, None, UNLIMITED, NOW).status == 422


def test_sixty_first_call_in_a_minute_is_429_with_headers():
    service = make_service()
    answers = [service.answer({"symbol": "AAPL"}, None, FaultKnobs(), NOW + i * 0.9) for i in range(61)]
    assert [a.status for a in answers[:60]] == [200] * 60
    assert answers[60].status == 429
    assert answers[60].headers["X-Ratelimit-Remaining"] == "0"
    assert int(answers[60].headers["X-Ratelimit-Reset"]) == int(NOW + 60)
    assert service.stats.snapshot()["rest"]["outcomes"] == {"ok": 60, "rate_limited": 1}


@pytest.mark.parametrize(
    ("knob", "outcome"),
    [
        ("rate_limited_share", "throttled"),
        ("server_error_share", "server_error"),
        ("hang_share", "hung"),
        ("malformed_share", "malformed"),
    ],
)
def test_each_fault_share_at_one_always_fires(knob, outcome):
    service = make_service()
    knobs = UNLIMITED.updated({knob: 1.0, "latency_ms": 250})
    answers = [service.answer({"symbol": "AAPL"}, None, knobs, NOW + i) for i in range(20)]
    assert service.stats.snapshot()["rest"]["outcomes"] == {outcome: 20}
    for answer in answers:
        assert answer.delay_seconds >= 0.25
        if outcome == "throttled":
            assert answer.status == 429
            assert int(answer.headers["X-Ratelimit-Reset"]) >= NOW
        elif outcome == "server_error":
            assert answer.status in (500, 502, 503)
        elif outcome == "hung":
            assert answer.hang
            assert answer.delay_seconds >= knobs.hang_seconds
        else:
            assert answer.status == 200
            with pytest.raises(ValueError):  # noqa: PT011 - json's error is a ValueError
                json.loads(answer.body)


def test_future_t_answers_carry_milliseconds_where_seconds_are_due():
    service = make_service()
    knobs = UNLIMITED.updated({"future_t_share": 1.0})
    answer = service.answer({"symbol": "AAPL"}, None, knobs, NOW)
    honest = service.answer({"symbol": "AAPL"}, None, UNLIMITED, NOW)
    assert answer.status == 200
    assert json.loads(answer.body)["t"] == json.loads(honest.body)["t"] * 1000 > NOW * 100
    assert service.stats.snapshot()["rest"]["outcomes"] == {"future_t": 1, "ok": 1}


def test_shares_mix_in_proportion():
    service = make_service()
    knobs = UNLIMITED.updated({"server_error_share": 0.2, "malformed_share": 0.1})
    for i in range(2_000):
        service.answer({"symbol": "MSFT"}, None, knobs, NOW + i)
    outcomes = Counter(service.stats.snapshot()["rest"]["outcomes"])
    assert 300 < outcomes["server_error"] < 500
    assert 130 < outcomes["malformed"] < 270
    assert sum(outcomes.values()) == 2_000


def test_unknown_symbol_is_counted_apart():
    service = make_service()
    answer = service.answer({"symbol": "NOPE"}, None, UNLIMITED, NOW)
    assert json.loads(answer.body)["c"] == 0
    assert service.stats.snapshot()["rest"]["outcomes"] == {"unknown_symbol": 1}
