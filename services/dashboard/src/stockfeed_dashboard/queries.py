"""The dashboard's SQL, one function per panel; plain SQL that DuckDB and Snowflake both run."""

from __future__ import annotations

import re

from stockfeed_contracts.lake import SYMBOL_PATTERN

# checked with fullmatch: `$` would also accept a trailing newline
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a feed is named after its StockFeed (a Kubernetes name) or the demo's feeds: no quotes, commas or spaces
_FEED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,62}")


def _schema(schema: str) -> str:
    if not _IDENTIFIER.fullmatch(schema):
        raise ValueError(f"{schema!r} is not a plain schema name")
    return schema


def _seen_by(feed: str | None) -> str:
    """A condition on a row's `feeds` list (sorted, comma-separated: dbt/README.md): true when `feed` saw it."""
    if feed is None:
        return "true"
    if not _FEED.fullmatch(feed):
        raise ValueError(f"{feed!r} is not a feed name")
    # position(), not LIKE: `_` is a wildcard there, and feed names may contain it
    return f"position(',{feed},' in (',' || feeds || ',')) > 0"


def feeds(schema: str) -> str:
    """Every feed with data in gold: the quote feeds' latest KPIs and the trade feeds' minutes."""
    s = _schema(schema)
    return (
        f"select distinct feed from (select feed from {s}.gold_latest_kpis union all "
        f"select feed from {s}.gold_trades_1m) as fed where feed is not null order by feed"
    )


def latest_kpis(schema: str, feed: str | None = None) -> str:
    """One row per symbol (its latest quote); only the symbols `feed` quotes when given."""
    return (
        "select symbol, current_price, change_amount, change_percent, day_low, day_high, day_open, prev_close, "
        "sma_5, sma_20, realized_volatility_30m, gainer_rank, loser_rank, market_timestamp, staleness_seconds, "
        f"is_stale, feeds from {_schema(schema)}.gold_latest_kpis where {_seen_by(feed)} order by symbol"
    )


def latest_trades(schema: str, feed: str | None = None) -> str:
    """Each traded symbol's latest minute of trades (VWAP, volume); only `feed`'s symbols when given."""
    return (
        "select symbol, trade_minute, vwap, close_price, volume, trade_count, feeds "
        f"from {_schema(schema)}.gold_trades_1m where {_seen_by(feed)} "
        "qualify row_number() over (partition by symbol order by trade_minute desc) = 1 order by symbol"
    )


def candles(schema: str, symbol: str, minutes: int) -> str:
    """The symbol's last `minutes` one-minute candles, oldest first, with SMA-5/20 over closes."""
    if not SYMBOL_PATTERN.fullmatch(symbol):
        raise ValueError(f"{symbol!r} is not a ticker symbol")
    return (
        "select candle_minute, open_price, high_price, low_price, close_price, quote_count, "
        "avg(close_price) over (order by candle_minute rows between 4 preceding and current row) as sma_5, "
        "avg(close_price) over (order by candle_minute rows between 19 preceding and current row) as sma_20 "
        f"from {_schema(schema)}.gold_candles_1m where symbol = '{symbol}' "
        f"qualify row_number() over (order by candle_minute desc) <= {int(minutes)} order by candle_minute"
    )


def movers(schema: str, count: int, feed: str | None = None) -> str:
    """Top gainers and losers by percent change since the previous close (among `feed`'s symbols when given)."""
    return (
        "select case when gainer_rank <= {n} then 'gainer' else 'loser' end as side, symbol, change_percent, "
        "current_price from (select symbol, change_percent, current_price, "
        "rank() over (order by change_percent desc nulls last) as gainer_rank, "
        "rank() over (order by change_percent asc nulls last) as loser_rank "
        "from {s}.gold_latest_kpis where {f}) as ranked where gainer_rank <= {n} or loser_rank <= {n} "
        "order by change_percent desc"
    ).format(n=int(count), s=_schema(schema), f=_seen_by(feed))


def pipeline_freshness(schema: str) -> str:
    """Newest quote time and newest load time visible to the dashboard."""
    s = _schema(schema)
    return (
        f"select (select max(market_timestamp) from {s}.gold_kpi) as newest_quote, "
        f"(select max(as_of) from {s}.gold_latest_kpis) as gold_built_at"
    )
