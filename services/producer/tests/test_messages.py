import json

import pytest

from stockfeed_contracts import QUOTE_V1, TRADE_V1, reason_invalid
from stockfeed_producer.messages import (
    LastPublishedTimes,
    QuoteVerdict,
    TradeEncoder,
    classify_quote,
    encode,
    to_quote_message,
)

pytestmark = pytest.mark.unit

GOOD = {"c": 189.5, "d": 1.25, "dp": 0.6641, "h": 190.1, "l": 187.0, "o": 188.0, "pc": 188.25, "t": 1700000000}


def test_valid_quote():
    assert classify_quote(GOOD) is QuoteVerdict.VALID
    assert classify_quote({**GOOD, "d": None, "dp": None}) is QuoteVerdict.VALID
    assert classify_quote({**GOOD, "t": 1700000000.0, "c": 190}) is QuoteVerdict.VALID


@pytest.mark.parametrize(
    "payload",
    [
        {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0},  # Finnhub's unknown symbol
        {"c": None, "d": None, "dp": None, "h": None, "l": None, "o": None, "pc": None, "t": None},
        {},
        {**GOOD, "c": 0},  # whatever else it says, no current price is no quote
    ],
)
def test_zero_or_null_quotes_are_empty(payload):
    assert classify_quote(payload) is QuoteVerdict.EMPTY


@pytest.mark.parametrize(
    "payload",
    [
        [GOOD],
        "189.5",
        {**GOOD, "h": "190.1"},
        {**GOOD, "t": True},
        {**GOOD, "t": 1700000000.5},
        {**GOOD, "t": -5},
        {**GOOD, "c": -1.0},
        {**GOOD, "dp": "n/a"},
        {**GOOD, "c": float("nan")},
        {**GOOD, "t": 946684799},  # before the contract's first second (2000-01-01)
        {**GOOD, "t": 4102444800},  # 2100-01-01: the contract's end
        {**GOOD, "t": 1700000000123},  # milliseconds by mistake
        {**GOOD, "c": 1e9},
        {**GOOD, "pc": float("inf")},
        {**GOOD, "dp": 1e10},
        {**GOOD, "d": -1e9 - 1},
        {key: value for key, value in GOOD.items() if key != "pc"},
    ],
)
def test_malformed_quotes(payload):
    assert classify_quote(payload) is QuoteVerdict.MALFORMED


def test_quote_message_keeps_original_fields_and_follows_the_contract():
    message = to_quote_message("AAPL", GOOD, fetched_at=1700000001.5, source="simulator", feed="demo")
    assert {key: message[key] for key in GOOD} == GOOD
    assert message["symbol"] == "AAPL"
    assert message["fetched_at"] == 1700000001.5
    assert message["schema_version"] == QUOTE_V1
    assert (message["source"], message["feed"]) == ("simulator", "demo")
    assert reason_invalid(message, QUOTE_V1) is None
    assert json.loads(encode(message)) == message


def test_quote_message_makes_t_an_integer():
    message = to_quote_message("AAPL", {**GOOD, "t": 1700000000.0}, fetched_at=1.0, source="finnhub", feed="f")
    assert message["t"] == 1700000000
    assert isinstance(message["t"], int)


GOOD_TRADE = {"s": "AAPL", "p": 189.5, "t": 1700000000123, "v": 100, "c": ["1", "12"]}


def encode_trades(items, fetched_at=1700000000.25):
    return TradeEncoder(source="finnhub", feed="demo").encode(items, fetched_at)


def test_trade_records_follow_the_contract():
    items = [
        GOOD_TRADE,
        {"s": "BRK.B", "p": 410, "t": 1700000000124, "v": 0.5},  # no conditions: c becomes null
        {"s": "MSFT", "p": 1e-05, "t": 946684800000, "v": 0, "c": None},  # the contract's first millisecond
        {"s": "X:Y-Z", "p": 999999999.125, "t": 4102444799999, "v": 999999999999.5, "c": []},  # its last
    ]
    records, unusable = encode_trades(items)
    assert unusable == 0
    assert [key for key, _value in records] == ["AAPL", "BRK.B", "MSFT", "X:Y-Z"]
    for (key, value), item in zip(records, items, strict=True):
        message = json.loads(value)
        assert reason_invalid(message, TRADE_V1) is None
        assert {name: message[name] for name in ("s", "p", "t", "v")} == {n: item[n] for n in ("s", "p", "t", "v")}
        assert message["c"] == item.get("c")
        assert message["s"] == key
        assert (message["schema_version"], message["source"], message["feed"]) == (TRADE_V1, "finnhub", "demo")
        assert message["fetched_at"] == 1700000000.25


@pytest.mark.parametrize(
    "item",
    [
        {**GOOD_TRADE, "s": "aapl"},
        {**GOOD_TRADE, "s": "AAPL\n"},
        {**GOOD_TRADE, "s": 'AA"PL'},
        {**GOOD_TRADE, "s": 5},
        {**GOOD_TRADE, "p": 0},
        {**GOOD_TRADE, "p": -1.5},
        {**GOOD_TRADE, "p": "189.5"},
        {**GOOD_TRADE, "p": True},
        {**GOOD_TRADE, "t": 0},
        {**GOOD_TRADE, "t": 1700000000},  # seconds where milliseconds are due
        {**GOOD_TRADE, "t": 946684799999},
        {**GOOD_TRADE, "t": 4102444800000},
        {**GOOD_TRADE, "t": 10**19},
        {**GOOD_TRADE, "p": 1e9},
        {**GOOD_TRADE, "v": 1e12},
        {**GOOD_TRADE, "t": 1700000000123.5},
        {**GOOD_TRADE, "v": -1},
        {**GOOD_TRADE, "v": None},
        {**GOOD_TRADE, "c": "1"},
        {**GOOD_TRADE, "c": [1, 12]},
        {key: value for key, value in GOOD_TRADE.items() if key != "p"},
        ["AAPL", 189.5],
        "trade",
        None,
    ],
)
def test_unusable_trade_items_are_skipped_and_would_break_the_contract(item):
    records, unusable = encode_trades([item, GOOD_TRADE])
    assert unusable == 1
    assert len(records) == 1
    if isinstance(item, dict):  # the encoder's rules agree with the contract's
        message = {"schema_version": TRADE_V1, "source": "finnhub", "feed": "demo", "fetched_at": 1.7e9, **item}
        assert reason_invalid(message, TRADE_V1) is not None


@pytest.mark.parametrize("price", [float("nan"), float("inf")])
def test_non_finite_numbers_are_unusable(price):  # the schema would pass them, but JSON cannot carry them
    assert encode_trades([{**GOOD_TRADE, "p": price}]) == ([], 1)


def test_integral_float_times_become_integers():
    records, _ = encode_trades([{**GOOD_TRADE, "t": 1700000000123.0}])
    assert json.loads(records[0][1])["t"] == 1700000000123
    assert b'"t":1700000000123,' in records[0][1]


def test_trade_payload_without_a_data_list_is_unusable():
    assert encode_trades(None) == ([], 1)
    assert encode_trades({"s": "AAPL"}) == ([], 1)


def test_feed_names_are_escaped():
    records, _ = TradeEncoder(source="simulator", feed='odd "feed" \\ name').encode([GOOD_TRADE], 1.0)
    assert json.loads(records[0][1])["feed"] == 'odd "feed" \\ name'


def test_dedupe_on_t():
    seen = LastPublishedTimes()
    assert not seen.is_unchanged("AAPL", 100)
    seen.remember("AAPL", 100)
    assert seen.is_unchanged("AAPL", 100)
    assert seen.is_unchanged("AAPL", 99)  # an older answer carries nothing new
    assert not seen.is_unchanged("AAPL", 101)
    assert not seen.is_unchanged("MSFT", 100)  # per symbol


NOW = 1700000100.0


@pytest.mark.parametrize("t", [1700000000123, int(NOW) + 301, 4102444799])
def test_a_time_far_ahead_of_the_clock_is_ahead(t):
    assert classify_quote({**GOOD, "t": t}, now=NOW) is QuoteVerdict.AHEAD


@pytest.mark.parametrize("t", [1700000000, int(NOW), int(NOW) + 300])
def test_a_time_up_to_the_lead_is_valid(t):
    assert classify_quote({**GOOD, "t": t}, now=NOW) is QuoteVerdict.VALID
