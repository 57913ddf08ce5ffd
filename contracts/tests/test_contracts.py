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


# 2000-01-01 and 2100-01-01 UTC: Finnhub's data lies in between, and no warehouse time conversion overflows there
FIRST_SECOND, END_SECOND = 946684800, 4102444800


@pytest.mark.parametrize(
    "message",
    [
        quote(t=FIRST_SECOND, fetched_at=FIRST_SECOND),
        quote(t=END_SECOND - 1, fetched_at=END_SECOND - 0.001),
        quote(c=999999999.99, h=999999999.99, l=0, o=0, pc=0, d=1e9, dp=-1e9),
        quote(d=None, dp=None),
        trade(t=FIRST_SECOND * 1000, fetched_at=FIRST_SECOND),
        trade(t=END_SECOND * 1000 - 1, p=999999999.99, v=999999999999.5),
    ],
)
def test_bounds_are_inclusive_where_stated(message):
    assert reason_invalid(message) is None


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        (quote(t=FIRST_SECOND - 1), "data.t must be bigger than or equal to 946684800"),
        (quote(t=END_SECOND), "data.t must be smaller than 4102444800"),
        (quote(t=10**13), "data.t must be smaller than"),  # milliseconds by mistake, or worse
        (quote(t=1700000000123), "data.t must be smaller than"),  # milliseconds by mistake
        (quote(fetched_at=END_SECOND), "data.fetched_at must be smaller than"),
        (quote(fetched_at=1e308), "data.fetched_at must be smaller than"),
        (quote(fetched_at=0), "data.fetched_at must be bigger than or equal to"),
        (quote(c=1e9), "data.c must be smaller than"),
        (quote(h=float("inf")), "data.h must be smaller than"),
        (quote(pc=1e300), "data.pc must be smaller than"),
        (quote(d=-1e9 - 1), "data.d must be bigger than or equal to"),
        (quote(dp=1e10), "data.dp must be smaller than or equal to"),
        (trade(t=1700000000), "data.t must be bigger than or equal to 946684800000"),  # seconds by mistake
        (trade(t=END_SECOND * 1000), "data.t must be smaller than 4102444800000"),
        (trade(t=2**63), "data.t must be smaller than"),
        (trade(p=1e9), "data.p must be smaller than"),
        (trade(v=1e12), "data.v must be smaller than"),
        (trade(fetched_at=-1.0), "data.fetched_at must be bigger than or equal to"),
    ],
)
def test_out_of_range_numbers_and_times_are_refused(message, fragment):
    reason = reason_invalid(message)
    assert reason is not None
    assert fragment in reason
