"""Issue 19: a record that repeats a key means different things in different readers (Python, orjson and
msgspec keep the last, DuckDB the first, Snowflake refuses): the consumer sends it to dead letters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stockfeed_consumer.validation import Unparsable, parse_one, reasons_invalid
from stockfeed_contracts.fast import accepts_json as fast_accepts
from stockfeed_contracts.json_rules import duplicate_key

pytestmark = pytest.mark.unit


def quote(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "schema_version": "quote.v1", "symbol": "AAPL", "c": 190.5, "d": 1.5, "dp": 0.79, "h": 191.0,
        "l": 188.0, "o": 189.0, "pc": 189.0, "t": 1_795_770_000, "fetched_at": 1_795_770_000.5,
        "source": "simulator", "feed": "demo",
    }  # fmt: skip
    message.update(changes)
    return message


def trade(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "schema_version": "trade.v1", "s": "AAPL", "p": 1.5, "t": 1_795_770_000_123, "v": 3, "c": ["1", "12"],
        "fetched_at": 1_795_770_000.5, "source": "finnhub", "feed": "demo",
    }  # fmt: skip
    message.update(changes)
    return message


GOOD = json.dumps(quote()).encode()


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (GOOD.replace(b'"c": 190.5', b'"c": -5, "c": 190.5'), "c"),  # the example: first invalid
        (GOOD.replace(b'"c": 190.5', b'"c": 190.5, "c": 1.0'), "c"),  # both valid: msgspec would accept
        (GOOD.replace(b'"feed": "demo"', b'"feed": "demo", "feed": "demo"'), "feed"),  # same value twice
        (GOOD.replace(b'"c": 190.5', b'"c" : 190.5, "c"  :  1.0'), "c"),  # spaces before the colons
        (GOOD.replace(b'"c": 190.5', b'"c": 190.5, "\\u0063": 1.0'), "c"),  # an escaped name
        (GOOD.replace(b'"symbol": "AAPL"', b'"symbol": "BINANCE:BTCUSDT", "symbol": "AAPL"'), "symbol"),
        (GOOD.replace(b'"symbol": "AAPL"', b'"symbol": "A\\u003aB", "c": 1.0'), "c"),  # an escape hides a colon
        (
            GOOD.replace(
                b'"schema_version": "quote.v1"', b'"schema_version": "quote.v1", "schema_version": "quote.v1"'
            ),
            "schema_version",
        ),
        (json.dumps(trade()).encode().replace(b'"v": 3', b'"v": 3, "v": 4'), "v"),
        (b'{"extra": {"a": 1, "a": 2}, "b": 1}', "a"),  # nested, in an otherwise invalid record
        (b'[1, 2, 3, {"a": 1, "a": 2}]', "a"),
    ],
)
def test_a_repeated_key_is_refused_with_its_name(value: bytes, key: str) -> None:
    assert not fast_accepts(value, None)
    assert duplicate_key(value) == key
    assert parse_one(value) == Unparsable(f"duplicate key {key!r}")
    assert reasons_invalid([value, GOOD]) == [f"duplicate key {key!r}", None]


@pytest.mark.parametrize(
    "value",
    [
        GOOD,
        json.dumps(quote(symbol="BINANCE:BTCUSDT")).encode(),  # colons inside strings are not keys
        json.dumps(quote(symbol="BINANCE:BTCUSDT"), separators=(",", ":")).encode(),
        json.dumps(trade(c=["a:b", "c"])).encode(),
        json.dumps(trade()).encode(),
    ],
)
def test_records_without_repeats_pass_the_fast_path(value: bytes) -> None:
    assert fast_accepts(value, None)
    assert duplicate_key(value) is None
    assert reasons_invalid([value]) == [None]


def test_colons_in_strings_beside_an_escape_leave_the_verdict_to_the_full_check() -> None:
    value = json.dumps(quote(symbol="BINANCE:BTC")).encode().replace(b'"demo"', b'"d\\u0065mo"')
    assert not fast_accepts(value, None)  # an escape could hide a colon: not proven here
    assert reasons_invalid([value]) == [None]  # still valid


def test_nesting_past_the_loaders_limit_is_a_dead_letter() -> None:
    deep = GOOD[:-1] + b', "x": ' + b"[" * 128 + b"]" * 128 + b"}"
    assert reasons_invalid([deep]) == ["nested more than 128 levels deep"]
    fine = GOOD[:-1] + b', "x": ' + b"[" * 127 + b"]" * 127 + b"}"
    assert reasons_invalid([fine]) == [None]
