"""The dashboard's SQL, one function per panel; plain SQL that DuckDB and Snowflake both run."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.:\-]{0,19}$")


def _schema(schema: str) -> str:
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"{schema!r} is not a plain schema name")
    return schema


def latest_kpis(schema: str) -> str:
    return (
        "select symbol, current_price, change_amount, change_percent, day_low, day_high, day_open, prev_close, "
        "sma_5, sma_20, realized_volatility_30m, gainer_rank, loser_rank, market_timestamp, staleness_seconds, "
        f"is_stale from {_schema(schema)}.gold_latest_kpis order by symbol"
    )


def candles(schema: str, symbol: str, minutes: int) -> str:
    """The symbol's last `minutes` one-minute candles, oldest first, with SMA-5/20 over closes."""
    if not _SYMBOL.match(symbol):
        raise ValueError(f"{symbol!r} is not a ticker symbol")
    return (
        "select candle_minute, open_price, high_price, low_price, close_price, quote_count, "
        "avg(close_price) over (order by candle_minute rows between 4 preceding and current row) as sma_5, "
        "avg(close_price) over (order by candle_minute rows between 19 preceding and current row) as sma_20 "
        f"from {_schema(schema)}.gold_candles_1m where symbol = '{symbol}' "
        f"qualify row_number() over (order by candle_minute desc) <= {int(minutes)} order by candle_minute"
    )


def movers(schema: str, count: int) -> str:
    """Top gainers and losers by percent change since the previous close."""
    return (
        "select case when gainer_rank <= {n} then 'gainer' else 'loser' end as side, symbol, change_percent, "
        "current_price from {s}.gold_latest_kpis where gainer_rank <= {n} or loser_rank <= {n} "
        "order by change_percent desc"
    ).format(n=int(count), s=_schema(schema))


def pipeline_freshness(schema: str) -> str:
    """Newest quote time and newest load time visible to the dashboard."""
    s = _schema(schema)
    return (
        f"select (select max(market_timestamp) from {s}.gold_kpi) as newest_quote, "
        f"(select max(as_of) from {s}.gold_latest_kpis) as gold_built_at"
    )
