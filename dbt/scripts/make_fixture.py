"""Fill the raw table with realistic quote.v1 (and optionally trade.v1) rows, as the loader would.

Prices come from the market simulator's own model (stockfeed_simulator.prices: seeded GBM, t advancing only
when the shown price changes), polled every --poll-seconds per symbol, so repeated polls of an unchanged quote
give natural duplicates. --copies N repeats every polled quote N times (a quote polled N times, or its object
delivered again), each copy with its own fetched_at and object key: the duplicate-heavy input silver must
collapse. Windows are given in minutes after --origin, so a second call with a later window continues the same
price paths (incremental runs).

Targets: a DuckDB file (`--duckdb PATH`; catalog = file name) or a Snowflake-compatible server
(`--snowflake-host/--snowflake-port`, the fakesnow server over HTTP). Creates database, schema and raw table
when missing; never replaces the table.

Run with the project's test environment (it imports stockfeed_simulator):
    .venv/bin/python dbt/scripts/make_fixture.py --duckdb /tmp/x/stocks_mds.duckdb --minutes 30 --copies 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from stockfeed_simulator.prices import PathParams, PricePath, quote_of

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "XOM")
FEED = "fixture"


@dataclass(frozen=True)
class Window:
    origin: int  # UNIX seconds of minute 0 (tick 0 of every path)
    from_minute: int
    minutes: int
    poll_seconds: int

    def poll_ticks(self) -> range:
        """Ticks (polls since origin) whose poll time falls in [from_minute, from_minute + minutes)."""
        first = math.ceil(self.from_minute * 60 / self.poll_seconds)
        end = math.ceil((self.from_minute + self.minutes) * 60 / self.poll_seconds)
        return range(first, end)

    def at(self, tick: int) -> int:
        return self.origin + tick * self.poll_seconds


@dataclass(frozen=True)
class RawRow:
    message: dict[str, Any]
    object_key: str
    loaded_at: dt.datetime  # naive, UTC


def quote_rows(
    symbols: Sequence[str], window: Window, copies: int, seed: int, loaded_at: str, feed: str = FEED
) -> Iterator[RawRow]:
    """Polled quotes of every symbol in the window, each repeated `copies` times, as feed `feed` saw them."""
    params = PathParams(tick_seconds=float(window.poll_seconds), ticks_per_day=10**12)
    jitter = random.Random(f"fixture-latency:{seed}:{window.from_minute}")
    now = _utc_now()
    for symbol in symbols:
        path = PricePath(seed, symbol, params)
        for tick in window.poll_ticks():
            quote = quote_of(path.advance_to(tick))
            polled_at = window.at(tick)
            minute = (polled_at - window.origin) // 60
            for copy in range(copies):
                fetched_at = polled_at + 0.05 + 0.25 * copy + jitter.random() * 0.2
                message = {
                    "schema_version": "quote.v1",
                    "symbol": symbol,
                    "c": quote.c,
                    "d": quote.d,
                    "dp": quote.dp,
                    "h": quote.h,
                    "l": quote.l,
                    "o": quote.o,
                    "pc": quote.pc,
                    "t": window.at(quote.last_change_tick),
                    "fetched_at": round(fetched_at, 6),
                    "source": "simulator",
                    "feed": feed,
                }
                key = _object_key("quotes", minute, copy, feed)
                yield RawRow(message, key, _loaded_at(loaded_at, polled_at, now))


def trade_rows(
    symbols: Sequence[str], window: Window, per_minute: int, copies: int, seed: int, loaded_at: str
) -> Iterator[RawRow]:
    """`per_minute` trades per symbol and minute around the simulated price, each repeated `copies` times."""
    params = PathParams(tick_seconds=float(window.poll_seconds), ticks_per_day=10**12)
    now = _utc_now()
    for symbol in symbols:
        path = PricePath(seed, symbol, params)
        rng = random.Random(f"fixture-trades:{seed}:{symbol}:{window.from_minute}")
        for minute in range(window.from_minute, window.from_minute + window.minutes):
            minute_start = window.origin + minute * 60
            price = path.advance_to(minute * 60 // window.poll_seconds).price
            for _ in range(per_minute):
                trade_ms = minute_start * 1000 + rng.randrange(60_000)
                message = {
                    "schema_version": "trade.v1",
                    "s": symbol,
                    "p": round(price * (1 + rng.gauss(0.0, 0.0002)), 2),
                    "t": trade_ms,
                    "v": float(rng.randint(1, 500)),
                    "c": rng.choice([None, ["1"], ["1", "12"]]),
                    "fetched_at": round(trade_ms / 1000 + 0.05, 6),
                    "source": "simulator",
                    "feed": FEED,
                }
                for copy in range(copies):
                    yield RawRow(
                        message, _object_key("trades", minute, copy), _loaded_at(loaded_at, minute_start + 60, now)
                    )


def zero_quote_rows(window: Window, loaded_at: str) -> Iterator[RawRow]:
    """Finnhub's all-zero answer for an unknown symbol, once a minute: silver must drop these."""
    now = _utc_now()
    for minute in range(window.from_minute, window.from_minute + window.minutes):
        polled_at = window.origin + minute * 60
        message = {"schema_version": "quote.v1", "symbol": "ZZZZ", "c": 0, "d": None, "dp": None, "h": 0, "l": 0}
        message |= {"o": 0, "pc": 0, "t": 0, "fetched_at": polled_at, "source": "simulator", "feed": FEED}
        yield RawRow(message, _object_key("quotes", minute, 0), _loaded_at(loaded_at, polled_at, now))


def _object_key(kind: str, minute: int, copy: int, feed: str = FEED) -> str:
    folder = kind if feed == FEED else f"{feed}/{kind}"
    return f"fixture/{folder}/minute={minute:06d}/copy={copy}.ndjson.gz"


def _loaded_at(mode: str, event_time: float, now: dt.datetime) -> dt.datetime:
    """`now`: this run's time (a fresh load); `event`: a minute after the event (a history loaded as it came)."""
    if mode == "now":
        return now
    return dt.datetime.fromtimestamp(event_time + 60, dt.UTC).replace(tzinfo=None)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- writers: the raw table exactly as the loader creates it (services/loader sql.py: message + lineage) --------


def _write_ndjson(path: str, rows: Iterator[RawRow]) -> int:
    """One line per raw row: {"v": message, "object_key": ..., "loaded_at": ...} (the loader's landing shape)."""
    count = 0
    with open(path, "w", encoding="utf-8") as spool:
        for row in rows:
            line = {"v": row.message, "object_key": row.object_key, "loaded_at": row.loaded_at.isoformat()}
            spool.write(json.dumps(line, separators=(",", ":")) + "\n")
            count += 1
    return count


def write_duckdb(path: str, schema: str, table: str, rows: Iterator[RawRow]) -> int:
    import duckdb

    with tempfile.TemporaryDirectory() as spool_dir:
        spool = os.path.join(spool_dir, "fixture.ndjson")
        count = _write_ndjson(spool, rows)
        with duckdb.connect(path) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.{table} "
                "(v JSON NOT NULL, object_key VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL)"
            )
            conn.execute(
                f"insert into {schema}.{table} (v, object_key, loaded_at) "
                "select json -> '$.v', json ->> '$.object_key', cast(json ->> '$.loaded_at' as timestamp) "
                "from read_ndjson_objects(?)",
                [spool],
            )
    return count


def write_snowflake(
    connect_args: dict[str, Any], database: str, schema: str, table: str, rows: Iterator[RawRow]
) -> int:
    """As the loader does it: PUT an NDJSON file on a stage, COPY it into a VARIANT landing table, then INSERT the
    message and lineage columns into the raw table (row-by-row binds are far too slow over HTTP)."""
    import snowflake.connector

    with tempfile.TemporaryDirectory() as spool_dir:
        spool = os.path.join(spool_dir, f"fixture-{os.getpid()}-{time.time_ns()}.ndjson")
        count = _write_ndjson(spool, rows)
        conn = snowflake.connector.connect(**connect_args)
        try:
            cur = conn.cursor()
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}")
            target = f"{database}.{schema}.{table}"
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {target} "
                "(v VARIANT NOT NULL, object_key VARCHAR NOT NULL, loaded_at TIMESTAMP_NTZ NOT NULL)"
            )
            stage = f"{database}.{schema}.FIXTURE_STAGE"
            landing = f"{database}.{schema}.FIXTURE_LANDING"
            cur.execute(f"CREATE STAGE IF NOT EXISTS {stage}")
            cur.execute(f"CREATE OR REPLACE TABLE {landing} (v VARIANT)")
            cur.execute(f"PUT 'file://{spool}' @{stage}")
            cur.execute(f"COPY INTO {landing} FROM @{stage}/{os.path.basename(spool)}.gz FILE_FORMAT = (TYPE = JSON)")
            cur.execute(
                f"INSERT INTO {target} (v, object_key, loaded_at) "
                f"SELECT v:v, v:object_key::VARCHAR, v:loaded_at::TIMESTAMP_NTZ FROM {landing}"
            )
            cur.execute(f"DROP TABLE IF EXISTS {landing}")
        finally:
            conn.close()
    return count


def fakesnow_connect_args(host: str, port: int) -> dict[str, Any]:
    return {
        "user": "fake",
        "password": "snow",
        "account": "fakesnow",
        "host": host,
        "port": port,
        "protocol": "http",
        "network_timeout": 30,
    }


# --- command line ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--duckdb", metavar="PATH", help="DuckDB file (its name is the catalog: stocks_mds.duckdb)")
    target.add_argument("--snowflake-host", help="fakesnow server host (with --snowflake-port)")
    parser.add_argument("--snowflake-port", type=int, default=8080)
    parser.add_argument("--database", default="STOCKS_MDS", help="Snowflake database (DuckDB: the file's catalog)")
    parser.add_argument("--schema", default="COMMON")
    parser.add_argument("--table", default="BRONZE_STOCK_QUOTES_RAW")
    symbols = parser.add_mutually_exclusive_group()
    symbols.add_argument("--symbols", help="comma-separated tickers")
    symbols.add_argument("--symbol-count", type=int, help="the first N of the simulator's built-in universe")
    parser.add_argument("--origin", type=int, help="UNIX seconds of minute 0 (default: now - minutes, whole minute)")
    parser.add_argument("--from-minute", type=int, default=0, help="first minute of the window after --origin")
    parser.add_argument("--minutes", type=int, default=30, help="length of the window")
    parser.add_argument("--poll-seconds", type=int, default=6, help="poll interval per symbol (the original's 6 s)")
    parser.add_argument("--copies", type=int, default=1, help="copies of every quote (5 = duplicate-heavy)")
    parser.add_argument("--trades-per-minute", type=int, default=0, help="trades per symbol and minute (0: none)")
    parser.add_argument("--zero-quotes", action="store_true", help="add Finnhub's all-zero answers for ZZZZ")
    parser.add_argument("--loaded-at", choices=("now", "event"), default="now", help="loaded_at of the rows")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--feed", default=FEED, help="the quotes' feed name (a second feed of the same symbols)")
    args = parser.parse_args(argv)
    if args.copies < 1 or args.minutes < 1 or args.poll_seconds < 1:
        parser.error("--copies, --minutes and --poll-seconds must be at least 1")
    return args


def chosen_symbols(args: argparse.Namespace) -> list[str]:
    if args.symbols:
        return [symbol.strip().upper() for symbol in args.symbols.split(",") if symbol.strip()]
    if args.symbol_count:
        from stockfeed_simulator.symbols import BUILTIN_SYMBOLS

        return list(BUILTIN_SYMBOLS[: args.symbol_count])
    return list(DEFAULT_SYMBOLS)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    origin = args.origin if args.origin is not None else (int(time.time()) // 60 - args.minutes) * 60
    window = Window(origin, args.from_minute, args.minutes, args.poll_seconds)
    symbols = chosen_symbols(args)

    def rows() -> Iterator[RawRow]:
        yield from quote_rows(symbols, window, args.copies, args.seed, args.loaded_at, args.feed)
        if args.trades_per_minute:
            yield from trade_rows(symbols, window, args.trades_per_minute, args.copies, args.seed, args.loaded_at)
        if args.zero_quotes:
            yield from zero_quote_rows(window, args.loaded_at)

    started = time.perf_counter()
    if args.duckdb:
        count = write_duckdb(args.duckdb, args.schema, args.table, rows())
    else:
        connect_args = fakesnow_connect_args(args.snowflake_host, args.snowflake_port)
        count = write_snowflake(connect_args, args.database, args.schema, args.table, rows())
    print(
        json.dumps(
            {"rows": count, "symbols": len(symbols), "origin": origin, "from_minute": args.from_minute,
             "minutes": args.minutes, "copies": args.copies, "seconds": round(time.perf_counter() - started, 2)}
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
