import json
import random
from collections import Counter

import pytest

from stockfeed_simulator.market import UNKNOWN_SYMBOL_QUOTE, Market
from stockfeed_simulator.prices import PathParams
from stockfeed_simulator.symbols import BUILTIN_SYMBOLS, SymbolUniverse

pytestmark = pytest.mark.unit

ANCHOR = 1_700_000_000.0


def make_market(symbols=()):
    return Market(seed=7, params=PathParams(), universe=SymbolUniverse(symbols), anchor=ANCHOR)


def test_quote_has_finnhub_fields_and_t_is_the_last_change():
    quote = make_market().quote("AAPL", ANCHOR + 120.5)
    assert set(quote) == {"c", "d", "dp", "h", "l", "o", "pc", "t"}
    assert ANCHOR <= quote["t"] <= ANCHOR + 120
    assert isinstance(quote["t"], int)


def test_unknown_symbol_gets_all_zeros():
    assert make_market().quote("NOPE", ANCHOR + 5) == UNKNOWN_SYMBOL_QUOTE
    assert make_market(["*"]).quote("NOPE", ANCHOR + 5)["c"] > 0
    assert make_market(["*"]).quote("bad symbol", ANCHOR + 5) == UNKNOWN_SYMBOL_QUOTE


def test_builtin_universe_is_big_enough_for_sixty_symbol_drills():
    assert len(set(BUILTIN_SYMBOLS)) >= 100
    assert all(SymbolUniverse().known(symbol) for symbol in BUILTIN_SYMBOLS)


def test_closed_market_stands_still_and_reopening_catches_up():
    market = make_market()
    first = market.quote("MSFT", ANCHOR + 60)
    market.set_open(False, ANCHOR + 60)
    assert market.quote("MSFT", ANCHOR + 600) == first
    market.set_open(True, ANCHOR + 600)
    assert market.quote("MSFT", ANCHOR + 600)["t"] > first["t"]


def test_two_markets_with_one_seed_agree():
    assert make_market().quote("NVDA", ANCHOR + 3_000) == make_market().quote("NVDA", ANCHOR + 3_000)


def test_trades_follow_the_current_price_and_skip_unknown_symbols():
    market = make_market()
    text, count = market.trade_message(["AAPL", "NOPE"], 200, ANCHOR + 10, random.Random(1))
    message = json.loads(text)
    assert message["type"] == "trade"
    assert count == len(message["data"]) == 200
    price = market.price("AAPL", ANCHOR + 10)
    for trade in message["data"]:
        assert set(trade) == {"s", "p", "t", "v", "c"}
        assert trade["s"] == "AAPL"
        assert abs(trade["p"] - price) / price < 0.01
        assert trade["t"] == int((ANCHOR + 10) * 1000)
        assert trade["v"] > 0
        assert trade["c"] is None or all(isinstance(code, str) for code in trade["c"])
    assert market.trade_message(["NOPE"], 10, ANCHOR, random.Random(1)) == ("", 0)


def test_trades_spread_over_the_subscribed_symbols():
    text, _ = make_market().trade_message(["AAPL", "MSFT", "NVDA"], 3_000, ANCHOR, random.Random(2))
    counts = Counter(trade["s"] for trade in json.loads(text)["data"])
    assert set(counts) == {"AAPL", "MSFT", "NVDA"}
    assert min(counts.values()) > 800
