"""Parsing and contract checks of a batch: the one-parse fast path must judge exactly like record by record."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from stockfeed_consumer.validation import Unparsable, as_ndjson_line, parse_one, reasons_invalid
from stockfeed_contracts import reason_invalid

pytestmark = pytest.mark.unit


def quote(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "schema_version": "quote.v1", "symbol": "AAPL", "c": 190.5, "d": 1.5, "dp": 0.79, "h": 191.0,
        "l": 188.0, "o": 189.0, "pc": 189.0, "t": 1_795_770_000, "fetched_at": 1_795_770_000.5,
        "source": "simulator", "feed": "demo",
    }  # fmt: skip
    message.update(changes)
    return message


def raw(message: object) -> bytes:
    return json.dumps(message).encode()


def test_valid_quotes_have_no_reason() -> None:
    assert reasons_invalid([raw(quote()), raw(quote(symbol="MSFT"))]) == [None, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (None, "tombstone"),
        (b'{"c": NaN}', "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (raw(quote(schema_version="quote.v9")), "unknown schema_version"),
        (raw(quote(c=-1)), "quote.v1"),
        (raw({k: v for k, v in quote().items() if k != "t"}), "quote.v1"),
    ],
)
def test_each_kind_of_bad_record_gets_a_reason(value: bytes | None, expected: str) -> None:
    reasons = reasons_invalid([raw(quote()), value, raw(quote())])
    assert reasons[0] is None
    assert reasons[2] is None
    assert reasons[1] is not None
    assert expected in reasons[1]


def test_an_expected_schema_pins_the_contract() -> None:
    trade = {"schema_version": "trade.v1"}
    assert "expected 'quote.v1'" in str(reasons_invalid([raw(trade)], "quote.v1")[0])


def test_each_value_is_judged_on_its_own() -> None:
    """Values that would only make sense glued together are each rejected: one record, one document."""
    values: list[bytes | None] = [b"1,2", b"[3", b"4]", b'{"a":"}', b'{"}', raw(quote()) + b"," + raw(quote()), b""]
    assert all(reason is not None and "not valid JSON" in reason for reason in reasons_invalid(values))


def test_leading_and_trailing_whitespace_is_fine() -> None:
    assert reasons_invalid([b"  " + raw(quote()) + b"\n"]) == [None]


@pytest.mark.parametrize("value", [b'{"c": 1e999}', b'{"s": "\\ud800"}', b'{"c": Infinity}'])
def test_json_the_warehouses_would_choke_on_is_rejected(value: bytes) -> None:
    reason = reasons_invalid([value])[0]
    assert reason is not None
    assert "not valid JSON" in reason


def test_pretty_printed_json_becomes_one_line() -> None:
    pretty = json.dumps(quote(), indent=2).encode()
    line = as_ndjson_line(pretty)
    assert b"\n" not in line
    assert json.loads(line) == quote()


def test_compact_values_are_kept_byte_for_byte() -> None:
    value = raw(quote())
    assert as_ndjson_line(value) is value


def judged_in_full(value: bytes | None) -> str | None:
    """The verdict without the contracts' fast path: parse with orjson, then the compiled JSON Schema."""
    document = parse_one(value)
    return document.reason if isinstance(document, Unparsable) else reason_invalid(document)


def byte_mutants(value: bytes, count: int, seed: int) -> list[bytes]:
    """Bytes replaced, inserted or deleted at random places, with bytes JSON and UTF-8 find interesting."""
    interesting = b'{}[]",:.-+eE0129\\u \n\x00\x7f\xc3\xa9\xed\xa0\x80\xff'
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(value)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            byte = interesting[rng.randrange(len(interesting))]
            action = rng.randrange(3)
            if action == 0:
                data[at] = byte
            elif action == 1:
                data.insert(at, byte)
            elif len(data) > 1:
                del data[at]
        out.append(bytes(data))
    return out


TRICKY = [
    b"\xef\xbb\xbf" + raw(quote()),  # a byte order mark
    raw(quote()).replace(b'"demo"', b'"d\\ud800"'),  # a lone surrogate
    raw(quote()).replace(b'"demo"', b'"d\\u0000"'),
    raw(quote()).replace(b"190.5", b"1e999"),  # overflows to infinity
    raw(quote()).replace(b"190.5", b"1" + b"0" * 30),
    raw(quote()).replace(b"190.5", b"1e-400"),  # underflows to zero: not > 0
    raw(quote()).replace(b'"AAPL"', b'"AAPL\\n"'),
    raw(quote()).replace(b'"t": ', b'"t": 5, "t": '),  # a duplicate key
    raw(quote()).replace(b'"t": ', b'"schema_version": "trade.v1", "t": '),
    raw(quote()) + b" x",
]


def test_the_fast_path_never_changes_a_verdict_or_a_reason() -> None:
    """Every record judged with the fast path gets exactly the verdict and reason of the full check."""
    trade = {"schema_version": "trade.v1", "s": "AAPL", "p": 1.5, "t": 1_795_770_000_123, "v": 3, "c": ["1"],
             "fetched_at": 1_795_770_000.5, "source": "finnhub", "feed": "demo"}  # fmt: skip
    compact = json.dumps(quote(), separators=(",", ":")).encode()
    values = [*TRICKY, *byte_mutants(compact, 3000, seed=1), *byte_mutants(raw(trade), 1000, seed=2)]
    full = [judged_in_full(value) for value in values]
    assert reasons_invalid(values) == full
    assert 50 < full.count(None) < len(values) - 50  # both verdicts occur: the comparison means something
