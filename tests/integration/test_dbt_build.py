"""The dbt project (dbt/) builds green on DuckDB and on the fakesnow server, incrementally, from simulator quotes.

dbt runs as a subprocess from its own environment (.venv-dbt, as in its image) with a temporary target path and
warehouse. The raw table is filled by dbt/scripts/make_fixture.py (the simulator's price model, the loader's
table shape), in duplicate-heavy mode: every quote arrives 5 times, and objects are delivered again later.

What fakesnow does not cover (Snowflake semantics these tests cannot show): real MERGE concurrency and
transactions, Snowflake's own type mapping and VARIANT path edge cases, micro-partition pruning, grants, and
the two code paths of macros/compat/fakesnow.sql (switched on here, never on a real account).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
MAKE_FIXTURE = PROJECT / "scripts" / "make_fixture.py"
DBT_TIMEOUT = 900
SYMBOLS = "AAPL,MSFT,GOOGL,AMZN,NVDA,ZZTOP"  # ZZTOP: not in the reference list, so dim_symbol must add it
# First builds run everything (unit tests included); second builds run what the minute DAG runs between its
# hourly full builds (dbt/selectors.yml: no reference data, unit tests or freshness alarm).
PRODUCTION_BUILD = ["build", "--selector", "minute_job"]


@pytest.fixture(scope="module")
def dbt_cli() -> Path:
    if not DBT.exists():
        pytest.fail(f"{DBT} is missing: run `make bootstrap` (it creates .venv-dbt from requirements/dbt.txt)")
    return DBT


def dbt_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any DBT_* setting that could steer the run, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra})
    return env


def run_dbt(dbt: Path, args: Sequence[str], work: Path, env: dict[str, str]) -> str:
    command = [str(dbt), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT, check=False)
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def make_fixture(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(MAKE_FIXTURE), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def minute_origin(minutes_ago: int) -> int:
    return (int(time.time()) // 60 - minutes_ago) * 60


# --- DuckDB: the embedded default ------------------------------------------------------------------------------


def duck_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def duck_one(path: Path, sql: str) -> Any:
    return duck_rows(path, sql)[0][0]


VALID_RAW_QUOTE_KEYS = """
    select count(distinct (upper(trim(v ->> '$.symbol')), cast(v ->> '$.t' as bigint)))
    from COMMON.BRONZE_STOCK_QUOTES_RAW
    where coalesce(v ->> '$.schema_version', 'quote.v1') = 'quote.v1'
      and cast(v ->> '$.c' as double) > 0 and cast(v ->> '$.t' as bigint) > 0
"""


@pytest.mark.timeout(1500)
def test_duckdb_build_is_green_deduplicates_and_runs_incrementally(dbt_cli: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "stocks_mds.duckdb"
    env = dbt_env(DBT_DATA_DIR=str(tmp_path))
    origin = str(minute_origin(30))
    common = ["--duckdb", str(warehouse), "--symbols", SYMBOLS, "--origin", origin]

    first = make_fixture(*common, "--minutes", "30", "--copies", "5", "--zero-quotes", "--trades-per-minute", "4")
    # A second feed polling the same symbols sees the same quotes (same t, same prices), loaded a moment later.
    second_feed = make_fixture(*common, "--minutes", "30", "--copies", "1", "--feed", "fixture-b")
    run_dbt(dbt_cli, ["build"], tmp_path, env)

    raw_rows = first["rows"] + second_feed["rows"]
    assert duck_one(warehouse, "select count(*) from COMMON.BRONZE_STOCK_QUOTES_RAW") == raw_rows
    silver = duck_rows(warehouse, "select count(*), count(distinct (symbol, t)) from COMMON.silver_clean_stock_quotes")
    expected_quotes = duck_one(warehouse, VALID_RAW_QUOTE_KEYS)
    assert silver == [(expected_quotes, expected_quotes)], "one silver row per (symbol, t) of the 5x raw input"
    # Cross-feed rule: counted once, with both feeds; the values (and `feed`) are the earliest sighting's, from
    # either feed (the unit tests pin the rule down).
    lineage = duck_rows(warehouse, "select feeds, count(*) from COMMON.silver_clean_stock_quotes group by all")
    assert lineage == [("fixture,fixture-b", expected_quotes)]
    winners = duck_rows(warehouse, "select distinct feed from COMMON.silver_clean_stock_quotes order by 1")
    assert set(winners) <= {("fixture",), ("fixture-b",)}
    assert duck_rows(warehouse, "select distinct source, feeds from COMMON.gold_latest_kpis") == [
        ("simulator", "fixture,fixture-b")
    ]
    assert duck_one(warehouse, "select count(*) from COMMON.gold_candles_1m where feed is null or feeds is null") == 0
    assert first["rows"] > 5 * expected_quotes, "the input really was duplicate-heavy"
    assert duck_one(warehouse, "select count(*) from COMMON.silver_clean_stock_quotes where symbol = 'ZZZZ'") == 0
    trades = duck_rows(
        warehouse,
        "select count(*), count(distinct (symbol, trade_ms, price, volume, conditions)) "
        "from COMMON.silver_clean_trades",
    )
    assert trades[0][0] == trades[0][1] > 0
    assert duck_one(warehouse, "select count(*) from COMMON.gold_kpi") == len(SYMBOLS.split(","))
    assert duck_one(warehouse, "select company_name from COMMON.dim_symbol where symbol = 'AAPL'") == "Apple Inc."
    assert duck_one(warehouse, "select is_reference_listed from COMMON.dim_symbol where symbol = 'ZZTOP'") is False
    candles_before = duck_one(warehouse, "select count(*) from COMMON.gold_candles_1m")
    assert candles_before == duck_one(
        warehouse,
        "select count(distinct (symbol, date_trunc('minute', market_timestamp))) from COMMON.silver_clean_stock_quotes",
    )
    stored_before = duck_rows(
        warehouse, "select symbol, t, fetched_at, object_key from COMMON.silver_clean_stock_quotes order by 1, 2"
    )

    # One new minute (5x again), and an old minute's objects delivered once more: only new quotes may appear.
    make_fixture(*common, "--from-minute", "30", "--minutes", "1", "--copies", "5", "--trades-per-minute", "4")
    make_fixture(*common, "--from-minute", "10", "--minutes", "1", "--copies", "1", "--trades-per-minute", "4")
    run_dbt(dbt_cli, PRODUCTION_BUILD, tmp_path, env)

    expected_quotes_after = duck_one(warehouse, VALID_RAW_QUOTE_KEYS)
    assert expected_quotes_after > expected_quotes
    silver_after = duck_rows(
        warehouse, "select count(*), count(distinct (symbol, t)) from COMMON.silver_clean_stock_quotes"
    )
    assert silver_after == [(expected_quotes_after, expected_quotes_after)]
    stored_after = duck_rows(
        warehouse, "select symbol, t, fetched_at, object_key from COMMON.silver_clean_stock_quotes order by 1, 2"
    )
    assert set(stored_before) <= set(stored_after), "stored quotes stay as first seen"
    newest_minute = duck_one(warehouse, "select max(candle_minute) from COMMON.gold_candles_1m")
    assert newest_minute == duck_one(
        warehouse, "select date_trunc('minute', max(market_timestamp)) from COMMON.silver_clean_stock_quotes"
    )
    assert duck_one(warehouse, "select count(*) from COMMON.gold_candles_1m") > candles_before
    assert duck_one(warehouse, "select max(market_timestamp) from COMMON.gold_kpi") == duck_one(
        warehouse, "select max(market_timestamp) from COMMON.silver_clean_stock_quotes"
    )

    freshness = run_dbt(dbt_cli, ["source", "freshness"], tmp_path, env)
    assert "PASS freshness of raw.bronze_stock_quotes_raw" in freshness

    # What replaced per-column tests: NOT NULL constraints the database enforces, and multi-column range tests
    # that fail on one bad value.
    with duckdb.connect(str(warehouse)) as conn:
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            conn.execute(
                "insert into COMMON.silver_clean_stock_quotes (symbol, t, market_timestamp, current_price, loaded_at) "
                "values (null, 1, now(), 1.0, now())"
            )
        conn.execute("update COMMON.gold_latest_kpis set sma_20 = -1 where symbol = 'AAPL'")
    range_tests = [str(dbt_cli), "test", "--select", "gold_latest_kpis,test_name:columns_in_range"]
    range_tests += [
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(tmp_path / "target"),
    ]
    failed = subprocess.run(range_tests, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT, check=False)
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "FAIL 1 columns_in_range_gold_latest_kpis_current_price__sma_5__sma_20" in failed.stdout


POISON_SYMBOLS = "AAPL,MSFT,NVDA"


def poison_rows(now: int) -> list[tuple[dict[str, Any], str]]:
    """Raw rows that look contract-valid but carry times no conversion should be asked to make, and their reason."""
    quote = {
        "schema_version": "quote.v1", "symbol": "AAPL", "c": 190.0, "d": 1.0, "dp": 0.5, "h": 191.0, "l": 189.0,
        "o": 189.5, "pc": 189.0, "t": now, "fetched_at": now + 0.5, "source": "simulator", "feed": "poison",
    }  # fmt: skip
    trade = {
        "schema_version": "trade.v1", "s": "MSFT", "p": 410.0, "t": now * 1000, "v": 10, "c": None,
        "fetched_at": now + 0.5, "source": "simulator", "feed": "poison",
    }  # fmt: skip
    return [
        ({**quote, "t": 10**13}, "t outside the contract window"),  # overflows a microsecond timestamp
        ({**quote, "symbol": "POISON", "t": now * 1000}, "t outside the contract window"),  # milliseconds
        ({**quote, "fetched_at": 1e300}, "fetched_at outside the contract window"),
        ({**quote, "t": now + 10 * 86400}, "t more than 86400 s ahead of the clock"),
        ({**quote, "t": now + 0.5}, "t is not a whole number"),
        ({**trade, "t": 10**19}, "t outside the contract window"),  # beyond bigint
        ({**trade, "t": now}, "t outside the contract window"),  # seconds where milliseconds are due
    ]


@pytest.mark.timeout(1500)
def test_duckdb_poison_rows_are_quarantined_and_every_symbol_keeps_updating(dbt_cli: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "stocks_mds.duckdb"
    env = dbt_env(DBT_DATA_DIR=str(tmp_path))
    origin = minute_origin(12)
    common = ["--duckdb", str(warehouse), "--symbols", POISON_SYMBOLS, "--origin", str(origin)]
    make_fixture(*common, "--minutes", "10", "--copies", "1", "--trades-per-minute", "2")
    run_dbt(dbt_cli, ["build", "--selector", "full_build"], tmp_path, env)
    kpi_before = dict(duck_rows(warehouse, "select symbol, market_timestamp from COMMON.gold_kpi"))
    trades_before = duck_one(warehouse, "select count(*) from COMMON.silver_clean_trades")

    # Poison straight into the raw table (as a loader that let it through would), then one more normal minute.
    poison = poison_rows(origin + 11 * 60)
    with duckdb.connect(str(warehouse)) as conn:
        for number, (message, _reason) in enumerate(poison):
            conn.execute(
                "insert into COMMON.BRONZE_STOCK_QUOTES_RAW (v, object_key, loaded_at) values (?, ?, ?)",
                [json.dumps(message), f"poison/{number}.ndjson.gz", dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
    make_fixture(*common, "--from-minute", "10", "--minutes", "2", "--copies", "1", "--trades-per-minute", "2")
    run_dbt(dbt_cli, PRODUCTION_BUILD, tmp_path, env)

    kpi_after = dict(duck_rows(warehouse, "select symbol, market_timestamp from COMMON.gold_kpi"))
    assert set(kpi_after) == set(POISON_SYMBOLS.split(",")), "no poison symbol in gold"
    assert all(kpi_after[symbol] > kpi_before[symbol] for symbol in kpi_before), (kpi_before, kpi_after)
    assert duck_one(warehouse, "select count(*) from COMMON.silver_clean_trades") > trades_before
    assert duck_one(warehouse, "select max(market_timestamp) from COMMON.silver_clean_stock_quotes") < (
        dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1)
    )
    quarantined = duck_rows(
        warehouse, "select object_key, schema_version, reason from COMMON.bronze_quarantine order by object_key"
    )
    assert len(quarantined) == len(poison), quarantined
    for number, (row, (message, expected)) in enumerate(zip(quarantined, poison, strict=True)):
        object_key, version, reason = row
        assert object_key == f"poison/{number}.ndjson.gz"
        assert version == message["schema_version"]
        assert reason.startswith(expected), (message, reason)


# --- fakesnow: the Snowflake stand-in ----------------------------------------------------------------------------


def fakesnow_binary() -> str:
    for candidate in (ROOT / ".venv-dbt" / "bin" / "fakesnow", ROOT / ".venv" / "bin" / "fakesnow"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("fakesnow")
    if not found:
        pytest.fail("no fakesnow server: install fakesnow[server]==0.12.1 (snowflake-connector-python<5)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fakesnow_port(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = (tmp_path / "fakesnow.log").open("w")
    server = subprocess.Popen([fakesnow_binary(), "-s", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"fakesnow exited: {(tmp_path / 'fakesnow.log').read_text()[-2000:]}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "fakesnow did not listen within 60 s"
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        log.close()


def snow_rows(port: int, sql: str) -> list[tuple[Any, ...]]:
    import snowflake.connector

    conn = snowflake.connector.connect(
        user="fake",
        password="snow",
        account="fakesnow",
        host="127.0.0.1",
        port=port,
        protocol="http",
        network_timeout=30,
        database="STOCKS_MDS",
        schema="COMMON",
    )
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        conn.close()


# The original project's Power BI report (dashboard/stock-market-analysis.pbix there) reads these tables and
# columns; docs/powerbi.md. `sentiment_score` was written in lower case (a quoted identifier on Snowflake).
POWER_BI_COLUMNS = {
    "GOLD_KPI": {"SYMBOL", "CURRENT_PRICE", "CHANGE_AMOUNT", "CHANGE_PERCENT", "DAY_HIGH", "DAY_LOW", "DAY_OPEN"},
    "GOLD_TREECHART": {"SYMBOL", "AVG_PRICE", "VOLATILITY", "RELATIVE_VOLATILITY"},
    "SILVER_CLEAN_STOCK_QUOTES": {"SYMBOL", "CURRENT_PRICE", "DAY_HIGH", "DAY_LOW", "DAY_OPEN"},
    "COMPANY_STOCKS": {"SYMBOL", "COMPANY_NAME", "SECTOR", "P_E_RATIO"},
    "COMPANY_REVIEWS_CLEANED": {"SYMBOL", "COMPANY_NAME", "RATING", "REVIEW", "sentiment_score"},
}
STATIC_CSVS = {
    "company_stocks.csv": "symbol,company_name,sector,p_e_ratio\nAAPL,Apple Inc.,Technology,29.5\nMSFT,,Technology,\n",
    "company_reviews.csv": (
        'symbol,company_name,review\nAAPL,Apple Inc.,"4.2/5 - Great culture, very supportive managers"\n'
        "MSFT,Microsoft,2/5 - not good and very stressful\n"
    ),
}


def load_static_csvs(port: int, directory: Path) -> None:
    """stockfeed-load-static (services/loader) against the fakesnow server, twice: the second run changes nothing."""
    directory.mkdir()
    for name, text in STATIC_CSVS.items():
        (directory / name).write_text(text)
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOADER_")}
    env |= {
        "LOADER_TARGET": "snowflake", "LOADER_DATABASE": "STOCKS_MDS", "LOADER_SNOWFLAKE_ACCOUNT": "fakesnow",
        "LOADER_SNOWFLAKE_USER": "loader", "LOADER_SNOWFLAKE_PASSWORD": "test", "LOADER_SNOWFLAKE_HOST": "127.0.0.1",
        "LOADER_SNOWFLAKE_PORT": str(port), "LOADER_SNOWFLAKE_PROTOCOL": "http",
        "LOADER_SNOWFLAKE_NETWORK_TIMEOUT": "10", "LOADER_SNOWFLAKE_LOGIN_TIMEOUT": "10",
    }  # fmt: skip
    statuses = []
    for _ in range(2):
        proc = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "stockfeed-load-static"), "--source", str(directory)],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        statuses.append([table["status"] for table in summary["tables"]])
    assert statuses == [["loaded", "loaded"], ["unchanged", "unchanged"]]


def assert_power_bi_tables(port: int) -> None:
    found: dict[str, set[str]] = {}
    for table, column in snow_rows(
        port, "select table_name, column_name from information_schema.columns where table_schema = 'COMMON'"
    ):
        found.setdefault(str(table), set()).add(str(column))
    for table, columns in POWER_BI_COLUMNS.items():
        assert table in found, f"{table} missing on the Snowflake target"
        assert columns <= found[table], f"{table} lacks {sorted(columns - found[table])}"
    companies = snow_rows(port, "select symbol, company_name, p_e_ratio from company_stocks order by symbol")
    assert companies == [("AAPL", "Apple Inc.", 29.5), ("MSFT", "Microsoft Corporation", None)]
    reviews = snow_rows(
        port, 'select symbol, rating, review, "sentiment_score" from company_reviews_cleaned order by symbol'
    )
    assert [row[:3] for row in reviews] == [
        ("AAPL", 4.2, "Great culture, very supportive managers"),
        ("MSFT", 2.0, "not good and very stressful"),
    ]
    assert 0 < reviews[0][3] <= 1
    assert -1 <= reviews[1][3] < 0
    treechart = snow_rows(port, "select count(*), min(relative_volatility) from gold_treechart")
    assert treechart[0][0] == 3
    assert treechart[0][1] >= 0


@pytest.mark.timeout(1500)
def test_fakesnow_build_is_green_without_trades_then_with_first_trades_incrementally(
    dbt_cli: Path, tmp_path: Path, fakesnow_port: int
) -> None:
    env = dbt_env(FAKESNOW_HOST="127.0.0.1", FAKESNOW_PORT=str(fakesnow_port), DBT_FAKESNOW_COMPAT="true")
    origin = str(minute_origin(15))
    common = ["--snowflake-host", "127.0.0.1", "--snowflake-port", str(fakesnow_port), "--origin", origin]
    common += ["--symbols", "AAPL,MSFT,NVDA"]

    first = make_fixture(*common, "--minutes", "15", "--copies", "5", "--zero-quotes")
    load_static_csvs(fakesnow_port, tmp_path / "static")
    run_dbt(dbt_cli, ["build", "--target", "fakesnow"], tmp_path, env)
    assert_power_bi_tables(fakesnow_port)

    raw = snow_rows(fakesnow_port, "select count(*) from BRONZE_STOCK_QUOTES_RAW")
    assert raw == [(first["rows"],)]
    silver = snow_rows(fakesnow_port, "select count(*), count(distinct symbol, t) from silver_clean_stock_quotes")
    assert silver[0][0] == silver[0][1] > 0
    assert first["rows"] > 5 * silver[0][0]
    # No trades were streamed: the trade models exist, are empty, and their tests passed.
    assert snow_rows(fakesnow_port, "select count(*) from silver_clean_trades") == [(0,)]
    assert snow_rows(fakesnow_port, "select count(*) from gold_trades_1m") == [(0,)]
    assert snow_rows(fakesnow_port, "select count(*) from gold_kpi") == [(3,)]

    # The first trades ever arrive with the next minute (the trades' silver table was empty until now).
    make_fixture(*common, "--from-minute", "15", "--minutes", "1", "--copies", "5", "--trades-per-minute", "2")
    make_fixture(*common, "--from-minute", "5", "--minutes", "1", "--copies", "1")
    run_dbt(dbt_cli, [*PRODUCTION_BUILD, "--target", "fakesnow"], tmp_path, env)

    silver_after = snow_rows(fakesnow_port, "select count(*), count(distinct symbol, t) from silver_clean_stock_quotes")
    assert silver_after[0][0] == silver_after[0][1] > silver[0][0]
    newest = snow_rows(
        fakesnow_port,
        "select (select max(candle_minute) from gold_candles_1m), "
        "(select date_trunc('minute', max(market_timestamp)) from silver_clean_stock_quotes)",
    )
    assert newest[0][0] == newest[0][1]
    raw_trades = snow_rows(
        fakesnow_port,
        "select count(distinct v:s::varchar, v:t::bigint, v:p::double, v:v::double, to_json(v:c)) "
        "from BRONZE_STOCK_QUOTES_RAW where v:schema_version::varchar = 'trade.v1'",
    )
    assert raw_trades[0][0] > 0
    assert snow_rows(fakesnow_port, "select count(*) from silver_clean_trades") == raw_trades
    assert snow_rows(fakesnow_port, "select count(distinct symbol) from gold_trades_1m") == [(3,)]


@pytest.mark.timeout(1500)
def test_fakesnow_poison_rows_are_quarantined_and_every_symbol_keeps_updating(
    dbt_cli: Path, tmp_path: Path, fakesnow_port: int
) -> None:
    env = dbt_env(FAKESNOW_HOST="127.0.0.1", FAKESNOW_PORT=str(fakesnow_port), DBT_FAKESNOW_COMPAT="true")
    origin = minute_origin(12)
    common = ["--snowflake-host", "127.0.0.1", "--snowflake-port", str(fakesnow_port), "--origin", str(origin)]
    common += ["--symbols", POISON_SYMBOLS]
    make_fixture(*common, "--minutes", "10", "--copies", "1", "--trades-per-minute", "2")
    load_static_csvs(fakesnow_port, tmp_path / "static")
    run_dbt(dbt_cli, ["build", "--selector", "full_build", "--target", "fakesnow"], tmp_path, env)
    kpi_before = dict(snow_rows(fakesnow_port, "select symbol, market_timestamp from gold_kpi"))

    poison = poison_rows(origin + 11 * 60)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    for number, (message, _reason) in enumerate(poison):
        snow_rows(
            fakesnow_port,
            "insert into BRONZE_STOCK_QUOTES_RAW (v, object_key, loaded_at) "
            f"select parse_json('{json.dumps(message)}'), 'poison/{number}.ndjson.gz', "
            f"'{loaded_at}'::timestamp_ntz",
        )
    make_fixture(*common, "--from-minute", "10", "--minutes", "2", "--copies", "1", "--trades-per-minute", "2")
    run_dbt(dbt_cli, [*PRODUCTION_BUILD, "--target", "fakesnow"], tmp_path, env)

    kpi_after = dict(snow_rows(fakesnow_port, "select symbol, market_timestamp from gold_kpi"))
    assert set(kpi_after) == set(POISON_SYMBOLS.split(",")), "no poison symbol in gold"
    assert all(kpi_after[symbol] > kpi_before[symbol] for symbol in kpi_before), (kpi_before, kpi_after)
    quarantined = snow_rows(
        fakesnow_port, "select object_key, schema_version, reason from bronze_quarantine order by object_key"
    )
    assert [row[0] for row in quarantined] == [f"poison/{number}.ndjson.gz" for number in range(len(poison))]
    for (_key, version, reason), (message, expected) in zip(quarantined, poison, strict=True):
        assert version == message["schema_version"]
        assert reason.startswith(expected), (message, reason)


@pytest.mark.timeout(600)
def test_fakesnow_compat_never_applies_to_a_real_snowflake_account(dbt_cli: Path, tmp_path: Path) -> None:
    """Even with DBT_FAKESNOW_COMPAT set, a real account gets dbt-snowflake's own MERGE (in a transaction) and a
    qualified temporary relation. Compiled offline: no connection is opened."""
    probe = (
        "{%- set target_rel = api.Relation.create(database='STOCKS_MDS', schema='COMMON', identifier='t') -%}"
        "{%- set tmp = make_temp_relation(target_rel) -%}"
        "{%- set columns = [api.Column('SYMBOL', 'varchar'), api.Column('T', 'number')] -%}"
        "{{ adapter.dispatch('get_incremental_merge_sql', 'dbt')({'target_relation': target_rel, "
        "'temp_relation': tmp, 'unique_key': ['symbol', 't'], 'dest_columns': columns, "
        "'incremental_predicates': none}) }}"
    )
    env = dbt_env(
        DBT_FAKESNOW_COMPAT="true",
        DBT_SNOWFLAKE_ACCOUNT="xy12345.eu-central-1",
        DBT_SNOWFLAKE_USER="someone",
        DBT_SNOWFLAKE_ROLE="TRANSFORMER",
        DBT_SNOWFLAKE_WAREHOUSE="COMPUTE_WH",
    )
    args = ["compile", "--target", "snowflake", "--no-populate-cache", "--inline", probe]
    compiled = run_dbt(dbt_cli, args, tmp_path, env)
    assert "begin;" in compiled
    assert "commit;" in compiled
    assert "using STOCKS_MDS.COMMON.t__dbt_tmp as DBT_INTERNAL_SOURCE" in compiled
