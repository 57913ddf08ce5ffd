"""What the demo's progress line shows: counters scraped from /metrics, row counts and freshness from DuckDB."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def metric_total(text: str, name: str) -> float:
    """Sum every sample of a Prometheus counter (all label sets) in an exposition text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(f"{name}_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(url: str, name: str) -> float | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URLs we built
            return metric_total(response.read().decode(), name)
    except OSError:
        return None


@dataclass(frozen=True)
class Warehouse:
    raw: int
    silver: int
    gold_symbols: int
    freshness_seconds: float | None  # now - newest quote time visible in gold_kpi
    # (feed, symbol) of every symbol in gold: quote feeds' latest KPIs, trade feeds' minutes
    feed_symbols: frozenset[tuple[str, str]] = frozenset()
    # (feed, symbol) -> now - its newest time in gold: quote time in gold_kpi; for trades the start of its newest
    # minute in gold_trades_1m, so never younger than its newest trade
    symbol_ages: dict[tuple[str, str], float] = field(default_factory=dict)


def read_warehouse(duckdb_path: Path, attempts: int = 5) -> Warehouse | None:
    """Counts from a short read-only connection; the loader and dbt hold the write lock now and then."""
    import duckdb

    if not duckdb_path.exists():
        return None
    for _ in range(attempts):
        try:
            with duckdb.connect(str(duckdb_path), read_only=True) as conn:
                return _counts(conn)
        except duckdb.Error:
            time.sleep(0.3)
    return None


def _counts(conn: object) -> Warehouse:
    import duckdb

    assert isinstance(conn, duckdb.DuckDBPyConnection)

    def scalar(sql: str) -> float | None:
        try:
            row = conn.execute(sql).fetchone()
        except duckdb.CatalogException:
            return None
        return None if not row or row[0] is None else float(row[0])

    # market_timestamp is a plain UTC timestamp (quote time t); epoch() reads it as UTC.
    newest = scalar("select epoch(max(market_timestamp)) from common.gold_kpi")
    try:
        newest_per_symbol = conn.execute(
            "select feed, symbol, epoch(max(market_timestamp)) from common.gold_kpi group by all"
            " union all select feed, symbol, epoch(max(trade_minute)) from common.gold_trades_1m group by all"
        ).fetchall()
    except duckdb.Error:  # no gold yet, or a warehouse built before gold had lineage columns
        newest_per_symbol = []
    now = time.time()
    ages = {(str(feed), str(symbol)): now - float(newest) for feed, symbol, newest in newest_per_symbol if feed}
    return Warehouse(
        raw=int(scalar("select count(*) from common.bronze_stock_quotes_raw") or 0),
        silver=int(scalar("select count(*) from common.silver_clean_stock_quotes") or 0),
        gold_symbols=int(scalar("select count(distinct symbol) from common.gold_kpi") or 0),
        freshness_seconds=None if newest is None else time.time() - newest,
        feed_symbols=frozenset(ages),
        symbol_ages=ages,
    )
