import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockfeed_dashboard import queries
from stockfeed_dashboard.config import DashboardSettings
from stockfeed_dashboard.reader import DuckDBReader, WarehouseBusyError, make_reader

pytestmark = pytest.mark.unit


def test_latest_kpis_and_movers(warehouse: Path) -> None:
    reader = DuckDBReader(str(warehouse))
    kpis = reader.frame(queries.latest_kpis("COMMON"))
    assert list(kpis["symbol"]) == ["AAPL", "MSFT", "TSLA"]
    movers = reader.frame(queries.movers("COMMON", 1))
    assert movers[["side", "symbol"]].values.tolist() == [["gainer", "AAPL"], ["loser", "TSLA"]]


def test_feed_filter_matches_whole_feed_names_in_the_feeds_list(warehouse: Path) -> None:
    reader = DuckDBReader(str(warehouse))
    assert list(reader.frame(queries.feeds("COMMON"))["feed"]) == ["quotes", "quotes-eu", "trades"]
    assert list(reader.frame(queries.latest_kpis("COMMON", "quotes"))["symbol"]) == ["AAPL", "MSFT"]
    assert list(reader.frame(queries.latest_kpis("COMMON", "quotes-e"))["symbol"]) == []
    movers = reader.frame(queries.movers("COMMON", 1, "quotes-eu"))
    assert movers[["side", "symbol"]].values.tolist() == [["gainer", "MSFT"], ["loser", "TSLA"]]
    assert list(reader.frame(queries.latest_trades("COMMON", "trades"))["vwap"]) == [pytest.approx(180.2)]
    with pytest.raises(ValueError, match="not a feed name"):
        queries.latest_kpis("COMMON", "x' or 1=1 --")


def test_candles_keep_the_last_minutes_in_order_with_sma(warehouse: Path) -> None:
    candles = DuckDBReader(str(warehouse)).frame(queries.candles("COMMON", "AAPL", 10))
    assert len(candles) == 10
    assert candles["candle_minute"].is_monotonic_increasing
    last = candles.iloc[-1]
    assert last["sma_5"] == pytest.approx(candles["close_price"].iloc[-5:].mean())


@pytest.mark.parametrize(
    ("schema", "symbol"),
    [("common; drop table x", "AAPL"), ("COMMON", "AAPL' or '1'='1"), ("COMMON", "AAPL\n")],  # the contracts' rule
)
def test_identifiers_are_checked_before_they_reach_sql(schema: str, symbol: str) -> None:
    with pytest.raises(ValueError, match="is not a"):
        queries.candles(schema, symbol, 5)


@contextlib.contextmanager
def writer_holding_the_lock(path: Path, seconds: float) -> Iterator[None]:
    """Another process with a read-write connection, as the loader or dbt has during a run."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('locked', flush=True); time.sleep({seconds})"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_reader_waits_out_a_writer_holding_the_lock(warehouse: Path) -> None:
    with writer_holding_the_lock(warehouse, 1.5):
        began = time.monotonic()
        kpis = DuckDBReader(str(warehouse), attempts=40, pause_seconds=0.1).frame(queries.latest_kpis("COMMON"))
    assert len(kpis) == 3
    assert time.monotonic() - began > 0.3, "the first attempts met the writer's lock"


def test_a_writer_that_never_lets_go_is_reported(warehouse: Path) -> None:
    reader = DuckDBReader(str(warehouse), attempts=3, pause_seconds=0.05)
    with writer_holding_the_lock(warehouse, 10), pytest.raises(WarehouseBusyError, match="stayed locked"):
        reader.frame("select 1")


def test_snowflake_is_chosen_only_with_an_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHBOARD_SNOWFLAKE_ACCOUNT", raising=False)
    assert type(make_reader(DashboardSettings())).__name__ == "DuckDBReader"
    monkeypatch.setenv("DASHBOARD_SNOWFLAKE_ACCOUNT", "xy12345")
    assert DashboardSettings().uses_snowflake
