"""Read-only polls of the demo's DuckDB warehouse (I/O only; the bookkeeping is stats.Sightings)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .stats import Quote

# The quote time of both layers the same way (gold only has market_timestamp; silver's is make_timestamp(t)), so
# one quote has one key in both. The loader's schema is COMMON; DuckDB matches names case-insensitively.
SILVER_SQL = "select symbol, epoch(market_timestamp) from common.silver_clean_stock_quotes"
GOLD_SQL = "select symbol, epoch(market_timestamp) from common.gold_kpi"


@dataclass
class PollStats:
    """What the polls cost: how long each held the file (the loader and dbt cannot open it meanwhile)."""

    done: int = 0
    missing: int = 0  # no warehouse file yet (before the first DAG run)
    locked: int = 0  # a writer held the file, or the tables were not built yet
    durations: list[float] = field(default_factory=list)


def poll(path: Path, stats: PollStats) -> tuple[float, list[Quote], list[Quote]] | None:
    """(wall-clock time of the read, silver rows, gold rows) from one short-lived read-only connection, or None
    when the file is missing, locked by the loader or dbt, or the tables do not exist yet."""
    import duckdb

    if not path.exists():
        stats.missing += 1
        return None
    began = time.monotonic()
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            silver = [(str(s), float(t)) for s, t in conn.execute(SILVER_SQL).fetchall()]
            gold = [(str(s), float(t)) for s, t in conn.execute(GOLD_SQL).fetchall()]
            now = time.time()
    except duckdb.Error:  # IOException (a writer holds the lock), CatalogException (not built yet), ...
        stats.locked += 1
        return None
    stats.done += 1
    stats.durations.append(time.monotonic() - began)
    return now, silver, gold
