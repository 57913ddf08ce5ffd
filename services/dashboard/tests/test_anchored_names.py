"""Issue 19: the dashboard's name checks are anchored at the very end (`$` with `re.match` accepts "X\n")."""

from __future__ import annotations

import pytest

from stockfeed_dashboard import queries

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("schema", ["main\n", "X\n"])
def test_a_schema_with_a_trailing_newline_is_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="not a plain schema name"):
        queries.feeds(schema)


@pytest.mark.parametrize("symbol", ["AAPL\n", "X\n"])
def test_a_symbol_with_a_trailing_newline_is_refused(symbol: str) -> None:
    with pytest.raises(ValueError, match="not a ticker symbol"):
        queries.candles("main", symbol, 30)


def test_a_feed_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="not a feed name"):
        queries.latest_kpis("main", "demo\n")


def test_plain_names_still_pass() -> None:
    assert "main.gold_latest_kpis" in queries.latest_kpis("main", "demo")
    assert "AAPL" in queries.candles("main", "AAPL", 30)
