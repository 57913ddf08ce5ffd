"""The fast path may refuse what the contract allows (the full validator then decides), never the reverse."""

import itertools
import json
import random

import pytest

from stockfeed_contracts import QUOTE_V1, TRADE_V1, ContractError, reason_invalid
from stockfeed_contracts.fast import accepts_json, anchored_pattern, property_type

pytestmark = pytest.mark.unit

QUOTE = {
    "schema_version": QUOTE_V1, "symbol": "AAPL", "c": 189.5, "d": 1.5, "dp": 0.798, "h": 190.1, "l": 187.2,
    "o": 188.0, "pc": 188.0, "t": 1700000000, "fetched_at": 1700000001.25, "source": "simulator", "feed": "demo",
}  # fmt: skip
TRADE = {
    "schema_version": TRADE_V1, "s": "BRK.B", "p": 189.5, "t": 1700000000123, "v": 100, "c": ["1", "12"],
    "fetched_at": 1700000000.2, "source": "finnhub", "feed": "demo",
}  # fmt: skip
# values at and around every rule the two schemas state, and values of every JSON type
PALETTE = [
    None, True, False, 0, -1, 1, 1.0, 1.5, -0.0, 0.0, 5e-324, 2**63, 2**64, 10**30, 1e308, "", "A", "a", "AAPL\n",
    "\nAAPL", "X" * 20, "X" * 21, "X" * 63, "X" * 64, "BRK.B", "A-B:C", "É", [], ["1"], [1], [None], {}, {"a": 1},
    QUOTE_V1, TRADE_V1, "simulator", "finnhub", "yahoo", "1",
    # the bounds: times from 2000-01-01 (s and ms) up to 2100-01-01 excluded, prices and changes 1e9, volumes 1e12
    946684799, 946684800, 946684800.5, 4102444799, 4102444799.5, 4102444800, 4102444800.0, 10**13,
    946684799999, 946684800000, 4102444799999, 4102444800000, 999999999.99, 10**9, 1e9, -(10**9), -1e9 - 1,
    10**12 - 1, 10**12, 1e12, float("inf"),
]  # fmt: skip


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def mutants(base: dict[str, object]) -> list[dict[str, object]]:
    """Every field set to every palette value or removed, plus an unknown field; then random pairs of those."""
    singles: list[dict[str, object]] = []
    for field, value in itertools.product([*base, "extra"], [*PALETTE, ...]):
        document = dict(base)
        if value is ...:
            document.pop(field, None)
        else:
            document[field] = value
        singles.append(document)
    rng = random.Random(7)
    pairs = [{**rng.choice(singles), **{k: v for k, v in rng.choice(singles).items() if rng.random() < 0.3}}
             for _ in range(1500)]  # fmt: skip
    return singles + pairs


@pytest.mark.parametrize("base", [QUOTE, TRADE], ids=["quote", "trade"])
def test_whatever_the_fast_path_accepts_follows_the_contract(base: dict[str, object]) -> None:
    accepted = 0
    for document in mutants(base):
        if accepts_json(encode(document)):
            accepted += 1
            assert reason_invalid(document) is None, document
    assert accepted > 50  # the check above is not vacuous


def test_ordinary_messages_take_the_fast_path() -> None:
    without_conditions = {k: v for k, v in TRADE.items() if k != "c"}
    for document in [QUOTE, TRADE, {**TRADE, "c": None}, without_conditions, {**QUOTE, "d": None, "c": 190}]:
        assert accepts_json(encode(document)), document
    assert accepts_json(encode(QUOTE), expected=QUOTE_V1)


@pytest.mark.parametrize(
    "value",
    [
        encode(TRADE)[:-1],  # truncated
        encode(QUOTE) + b"{}",
        encode([QUOTE]),
        encode({**QUOTE, "note": "unknown fields are left to the full validator"}),
        encode({**QUOTE, "t": 1700000000.0}),  # an integral float: the contract allows it, the fast path does not
        encode(QUOTE).replace(b"AAPL", b"\xff\xfe"),
        b"",
    ],
)
def test_anything_unusual_is_left_to_the_full_validator(value: bytes) -> None:
    assert not accepts_json(value)


def test_expected_version_is_enforced() -> None:
    assert not accepts_json(encode(TRADE), expected=QUOTE_V1)


def test_dollar_means_end_of_string_as_in_the_full_validator() -> None:
    assert anchored_pattern("^[A-Z]+$") == "^[A-Z]+\\Z"
    assert anchored_pattern("^a\\$") == "^a\\$"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "multipleOf": 2},
        {"type": "object"},
        {"anyOf": [{"type": "string"}]},
        {"const": 1},
        {"description": "no type: would accept anything"},
    ],
)
def test_a_keyword_it_cannot_translate_refuses_to_build(schema: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        property_type(schema, "test")


@pytest.mark.parametrize(
    ("base", "field", "inside", "outside"),
    [
        (QUOTE, "t", 4102444799, 4102444800),
        (QUOTE, "t", 946684800, 946684799),
        (QUOTE, "fetched_at", 4102444799.5, 4102444800),
        (QUOTE, "c", 999999999.5, 1e9),
        (QUOTE, "dp", -1e9, -1e9 - 1),
        (TRADE, "t", 4102444799999, 4102444800000),
        (TRADE, "t", 946684800000, 1700000000),  # seconds where milliseconds are due
        (TRADE, "v", 1e12 - 1, 1e12),
    ],
)
def test_the_bounds_hold_on_the_fast_path(base: dict[str, object], field: str, inside: float, outside: float) -> None:
    assert accepts_json(encode({**base, field: inside}))
    assert not accepts_json(encode({**base, field: outside}))
    assert reason_invalid({**base, field: outside}) is not None
