"""Parsing a bronze object into its staged form, and the quarantine reasons."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from stockfeed_loader.kinds import OTHER, QUOTES, TRADES, KindCounts
from stockfeed_loader.parsing import (
    ANY_CONTRACT,
    RejectedObjectError,
    check_line,
    convert,
    convert_by_kind,
    wrap_line,
)

pytestmark = pytest.mark.unit

KEY = "bronze/topic=stock-quotes/dt=2024-05-01/hour=01/stock-quotes+0+00000000000000000042.ndjson.gz"


def quote(t: int = 1714525200, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": t,
        "symbol": "AAPL", "fetched_at": t + 0.25, "schema_version": "quote.v1", "source": "simulator", "feed": "demo",
    }  # fmt: skip
    record.update(changes)
    return record


def gz(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"))


def run_convert(data: bytes, expected_schema: str | None = "quote.v1") -> tuple[int, list[str]]:
    target = io.BytesIO()
    rows = convert(io.BytesIO(data), target, KEY, expected_schema)
    return rows, gzip.decompress(target.getvalue()).decode("utf-8").splitlines()


def test_records_are_wrapped_verbatim_with_their_object_key() -> None:
    lines = [json.dumps(quote(1714525200 + n)) for n in (1, 2, 3)]
    rows, staged = run_convert(gz("\n".join(lines) + "\n"))
    assert rows == 3
    for original, wrapped in zip(lines, staged, strict=True):
        assert wrapped == f'{{"object_key":{json.dumps(KEY)},"v":{original}}}'
        assert json.loads(wrapped) == {"object_key": KEY, "v": json.loads(original)}


def test_blank_lines_and_a_missing_final_newline_are_fine() -> None:
    rows, staged = run_convert(gz(f"\n{json.dumps(quote())}\n\n{json.dumps(quote(1714525201))}"))
    assert rows == 2
    assert len(staged) == 2


def test_an_empty_object_has_no_rows() -> None:
    assert run_convert(gz(""))[0] == 0


def test_not_gzip_is_rejected() -> None:
    with pytest.raises(RejectedObjectError, match="bad gzip"):
        run_convert(json.dumps(quote()).encode())


def test_truncated_gzip_is_rejected() -> None:
    data = gz(json.dumps(quote()) + "\n")
    with pytest.raises(RejectedObjectError, match="bad gzip"):
        run_convert(data[: len(data) // 2])


def test_a_bad_json_line_names_its_line_number() -> None:
    text = f"{json.dumps(quote())}\n{{not json\n{json.dumps(quote(1714525203))}\n"
    with pytest.raises(RejectedObjectError, match="line 2: bad JSON"):
        run_convert(gz(text))


@pytest.mark.parametrize("text", ["[1, 2]", "42", '"AAPL"', "null"])
def test_a_line_must_be_an_object(text: str) -> None:
    with pytest.raises(RejectedObjectError, match="line 1: a JSON"):
        check_line(text, 1, None)


def test_nan_is_not_json() -> None:
    with pytest.raises(RejectedObjectError, match="NaN"):
        check_line('{"c": NaN}', 7, None)


def test_bad_utf8_is_rejected() -> None:
    with pytest.raises(RejectedObjectError, match="line 1: bad UTF-8"):
        run_convert(gzip.compress(b'{"symbol": "\xff"}\n'))


def test_contract_violations_are_rejected_when_validating() -> None:
    bad = json.dumps(quote(c=-1))
    with pytest.raises(RejectedObjectError, match=r"line 1: quote\.v1"):
        run_convert(gz(bad + "\n"))
    assert run_convert(gz(bad + "\n"), expected_schema=None)[0] == 1


def test_wrap_line_escapes_the_key_as_json() -> None:
    assert wrap_line(json.dumps('a"b'), "{}") == '{"object_key":"a\\"b","v":{}}\n'


TRADE = (
    '{"schema_version":"trade.v1","s":"AAPL","p":189.5,"t":1700000000123,"v":100,"c":null,'
    '"fetched_at":1700000000.2,"source":"simulator","feed":"demo"}'
)


def test_any_contract_accepts_quotes_and_trades_but_not_unknown_versions() -> None:
    check_line(TRADE, 1, ANY_CONTRACT)
    with pytest.raises(RejectedObjectError, match=r"unknown schema_version 'trade\.v9'"):
        check_line(TRADE.replace("trade.v1", "trade.v9"), 2, ANY_CONTRACT)


def test_check_line_returns_the_record_kind() -> None:
    assert check_line(json.dumps(quote()), 1, ANY_CONTRACT) == QUOTES
    assert check_line(TRADE, 1, ANY_CONTRACT) == TRADES
    assert check_line('{"a": 1}', 1, None) == OTHER


def test_convert_counts_the_rows_of_each_kind() -> None:
    unversioned = {key: value for key, value in quote().items() if key != "schema_version"}  # the original's quote
    lines = [
        json.dumps(quote()),
        TRADE,
        "",
        json.dumps(unversioned),
        json.dumps(quote(1714525201)),
        '{"note": "neither view reads this"}',
        TRADE,
    ]
    data = gz("\n".join(lines) + "\n")
    target = io.BytesIO()
    counts = convert_by_kind(io.BytesIO(data), target, KEY, None)
    assert counts == KindCounts(quotes=3, trades=2, other=1)
    assert counts.total == len(gzip.decompress(target.getvalue()).splitlines()) == 6
    assert convert(io.BytesIO(data), io.BytesIO(), KEY, None) == 6  # the plain count stays an int


def test_an_empty_object_has_no_rows_of_any_kind() -> None:
    assert convert_by_kind(io.BytesIO(gz("\n\n")), io.BytesIO(), KEY, ANY_CONTRACT) == KindCounts()
