import json
from pathlib import Path

import pytest

from stockfeed_contracts import QUOTE_V1, TRADE_V1, ContractError, check, load_schema, reason_invalid

pytestmark = pytest.mark.unit


def quote(**overrides):
    message = {
        "schema_version": QUOTE_V1, "symbol": "AAPL", "c": 189.5, "d": 1.5, "dp": 0.798, "h": 190.1, "l": 187.2,
        "o": 188.0, "pc": 188.0, "t": 1700000000, "fetched_at": 1700000001.25, "source": "simulator", "feed": "demo",
    }  # fmt: skip
    message.update(overrides)
    return message


def trade(**overrides):
    message = {
        "schema_version": TRADE_V1, "s": "AAPL", "p": 189.5, "t": 1700000000123, "v": 100, "c": ["1", "12"],
        "fetched_at": 1700000000.2, "source": "finnhub", "feed": "demo",
    }  # fmt: skip
    message.update(overrides)
    return message


def test_valid_messages_pass():
    assert reason_invalid(quote()) is None
    assert reason_invalid(trade()) is None
    assert reason_invalid(trade(c=None)) is None
    check(quote(), expected=QUOTE_V1)


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        (quote(c=0), "data.c must be bigger than 0"),
        (quote(symbol="aapl"), "data.symbol must match pattern"),
        (quote(t=1.5), "data.t must be integer"),
        (quote(source="yahoo"), "data.source must be one of"),
        ({k: v for k, v in quote().items() if k != "pc"}, "must contain"),
        (trade(p=-1), "data.p must be bigger than 0"),
        (quote(schema_version="quote.v2"), "unknown schema_version 'quote.v2'"),
        ([1, 2], "not a JSON object but list"),
    ],
)
def test_invalid_messages_name_the_rule(message, fragment):
    reason = reason_invalid(message)
    assert reason is not None
    assert fragment in reason


def test_expected_version_is_enforced():
    assert reason_invalid(trade(), expected=QUOTE_V1) == "schema_version 'trade.v1', expected 'quote.v1'"
    with pytest.raises(ContractError):
        check(trade(), expected=QUOTE_V1)


def test_original_fields_are_kept_verbatim():
    # The original project's SQL reads these names from the raw JSON; renaming any breaks it.
    original = {"c", "d", "dp", "h", "l", "o", "pc", "t", "symbol", "fetched_at"}
    assert original <= set(load_schema(QUOTE_V1)["required"])
    assert {"s", "p", "t", "v"} <= set(load_schema(TRADE_V1)["required"])


def test_schema_files_are_the_package_data():
    folder = Path(__file__).parents[1] / "src" / "stockfeed_contracts" / "schemas"
    assert json.loads((folder / "quote.v1.json").read_text()) == load_schema(QUOTE_V1)
