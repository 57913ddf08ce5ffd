"""A small DuckDB warehouse with the gold tables' contracted columns (as dbt builds them)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

GOLD_DDL = """
create schema common;
create table common.gold_latest_kpis (
  symbol varchar, current_price double, change_amount double, change_percent double, day_high double,
  day_low double, day_open double, prev_close double, sma_5 double, sma_20 double,
  realized_volatility_30m double, gainer_rank bigint, loser_rank bigint, market_timestamp timestamp,
  staleness_seconds double, is_stale boolean, as_of timestamp, feed varchar, source varchar, feeds varchar);
create table common.gold_kpi (symbol varchar, current_price double, market_timestamp timestamp);
create table common.gold_candles_1m (
  symbol varchar, candle_minute timestamp, open_price double, high_price double, low_price double,
  close_price double, quote_count bigint);
insert into common.gold_latest_kpis values
  ('AAPL', 190.0, 2.0, 1.06, 191.0, 187.0, 188.0, 188.0, 189.5, 189.0, 0.0012, 1, 3, now()::timestamp, 5, false,
   now()::timestamp, 'quotes', 'simulator', 'quotes'),
  ('MSFT', 410.0, -1.0, -0.24, 412.0, 409.0, 411.0, 411.0, 410.5, 410.8, 0.0009, 2, 2, now()::timestamp, 5, false,
   now()::timestamp, 'quotes', 'simulator', 'quotes,quotes-eu'),
  ('TSLA', 240.0, -6.0, -2.44, 247.0, 239.0, 246.0, 246.0, 241.0, 243.0, 0.0031, 3, 1, now()::timestamp, 5, false,
   now()::timestamp, 'quotes-eu', 'simulator', 'quotes-eu');
insert into common.gold_kpi select symbol, current_price, market_timestamp from common.gold_latest_kpis;
insert into common.gold_candles_1m
  select 'AAPL', timestamp '2026-11-27 14:00:00' + to_minutes(i), 188 + i * 0.1, 188.5 + i * 0.1, 187.8 + i * 0.1,
         188.2 + i * 0.1, 6
  from range(30) t(i);
create table common.gold_trades_1m (
  symbol varchar, trade_minute timestamp, trade_date date, trade_count bigint, volume double, vwap double,
  open_price double, high_price double, low_price double, close_price double, last_loaded_at timestamp,
  feed varchar, source varchar, feeds varchar);
insert into common.gold_trades_1m
  select 'NVDA', timestamp '2026-11-27 14:00:00' + to_minutes(i), date '2026-11-27', 4, 100 + i, 180 + i * 0.1,
         180, 181, 179, 180.5, now()::timestamp, 'trades', 'simulator', 'trades'
  from range(3) t(i);
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "stocks_mds.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(GOLD_DDL)
    return path
