"""The DAG in local mode, run by Airflow itself (`airflow dags test`) against the local stack: bronze objects in
MinIO (written with the consumer's own naming and encoding) -> the real loader -> DuckDB -> the real dbt build ->
the freshness check, with Airflow's metadata on the stack's PostgreSQL (LocalExecutor). Each run's dbt selection is
the one its schedule and its load call for: full_build first; after a good minute, minute_clock when the load
brought nothing new (only the model measured against the clock), minute_quotes when it brought only quotes,
minute_trades when only trades. A last run with a freshness limit the data is older than fails at the freshness
alarm. Then the second DAG, static_to_snowflake: reference CSVs in the bucket -> stockfeed-load-static -> the
company tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))
import airflow_db

from stockfeed_consumer.encoding import encode_object
from stockfeed_contracts.lake import bronze_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
SYMBOLS = ["AAPL", "MSFT", "NVDA"]
TOPIC = "stock-quotes"


def quotes(now: int) -> list[dict[str, Any]]:
    """Two minutes of quotes for three symbols, each polled twice (the duplicates silver must remove)."""
    rows = []
    for offset in range(0, 120, 10):
        for number, symbol in enumerate(SYMBOLS):
            price = 100.0 + number * 50 + offset / 100
            quote = {
                "schema_version": "quote.v1", "symbol": symbol, "c": price, "d": 1.0, "dp": 1.0, "h": price + 1,
                "l": price - 1, "o": price - 0.5, "pc": price - 1.0, "t": now - 120 + offset,
                "fetched_at": now - 120 + offset + 0.5, "source": "simulator", "feed": "test",
            }  # fmt: skip
            rows += [quote, quote]
    return rows


COMPANY_STOCKS_CSV = "symbol,company_name,sector,p_e_ratio\nAAPL,Apple Inc.,Technology,29.5\nMSFT,,Technology,35\n"
COMPANY_REVIEWS_CSV = 'symbol,company_name,review\nAAPL,Apple Inc.,"4.5/5 - Great team, very supportive"\n'


def trades(now: int) -> list[dict[str, Any]]:
    """A minute of trades for the same symbols, one every 5 s each."""
    rows = []
    for offset in range(0, 60, 5):
        for number, symbol in enumerate(SYMBOLS):
            rows.append({
                "schema_version": "trade.v1", "s": symbol, "p": 100.0 + number, "t": (now - 60 + offset) * 1000,
                "v": 10 + offset, "c": ["1"], "fetched_at": now - 60 + offset + 0.5, "source": "simulator",
                "feed": "test",
            })  # fmt: skip
    return rows


def write_bronze(s3: Any, bucket: str, rows: list[dict[str, Any]], topic: str = TOPIC) -> int:
    """Objects of 12 records each, as the consumer names them: (topic, partition 0, first offset)."""
    objects = 0
    for first in range(0, len(rows), 12):
        batch = [json.dumps(row).encode() for row in rows[first : first + 12]]
        key = bronze_key("bronze", topic, 0, first, int(rows[first]["fetched_at"] * 1000))
        s3.put_object(Bucket=bucket, Key=key, Body=encode_object(batch, 6))
        objects += 1
    return objects


def airflow_env(
    tmp_path: Path, stack_env: dict[str, str], bucket: str, warehouse: Path, database: str
) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "LOADER_", "DBT_", "AIRFLOW_"))},
        **airflow_db.airflow_env(stack_env["DEVSTACK_PG_DSN"], database),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        "PIPELINE_EXECUTION_MODE": "local",
        "PIPELINE_SCHEDULE": "cron",  # the original's minute: its selector logic; events: test_dag_events.py
        "PIPELINE_LOADER_COMMAND": str(REPO / ".venv" / "bin" / "stockfeed-load"),
        "PIPELINE_DBT_COMMAND": str(REPO / ".venv-dbt" / "bin" / "dbt"),
        "LOADER_BUCKET": bucket,
        "LOADER_S3_ENDPOINT_URL": stack_env["DEVSTACK_S3_ENDPOINT"],
        "LOADER_S3_ACCESS_KEY_ID": stack_env["DEVSTACK_S3_ACCESS_KEY"],
        "LOADER_S3_SECRET_ACCESS_KEY": stack_env["DEVSTACK_S3_SECRET_KEY"],
        "LOADER_DUCKDB_PATH": str(warehouse),
        "DBT_DUCKDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }


def run_dag(
    env: dict[str, str], logical_date: str, dag_id: str = "minio_to_snowflake_stream"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW), "dags", "test", dag_id, logical_date],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def dbt_commands(log_dir: Path) -> list[str]:
    """Every dbt command line logged so far: dbt appends each invocation's arguments to its dbt.log."""
    log = log_dir / "dbt.log"
    return re.findall(r"'invocation_command': '([^']*)'", log.read_text()) if log.exists() else []


def new_dbt_commands(log_dir: Path, before: list[str]) -> list[str]:
    """The invocations after `before`, each as its subcommand and its selection: `build --selector minute_job`.
    Parses the dbt worker made ahead of its commands (`dbt parse`) are left out."""
    shown = []
    for command in dbt_commands(log_dir)[len(before) :]:
        words = command.split()
        if words[1] == "parse":
            continue
        selection = next((f"{flag} {words[i + 1]}" for i, flag in enumerate(words[:-1]) if flag.startswith("--select")))
        shown.append(f"{words[1]} {selection}")
    return shown


def latest_kpis_as_of(warehouse: Path) -> Any:
    """When gold_latest_kpis was last built: the clock its staleness columns were measured against."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("select max(as_of) from common.gold_latest_kpis").fetchone()[0]  # type: ignore[index]


TABLES = ("bronze_stock_quotes_raw", "bronze_load_ledger", "silver_clean_stock_quotes", "gold_kpi")


def counts(warehouse: Path, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            table: conn.execute(f"select count(*) from common.{table}").fetchone()[0]  # type: ignore[index]
            for table in tables
        }


def test_dag_loads_builds_and_a_second_run_loads_nothing(
    tmp_path: Path, stack_env: dict[str, str], s3: Any, s3_bucket: str, airflow_database: str
) -> None:
    rows = quotes(int(time.time()))
    objects = write_bronze(s3, s3_bucket, rows)
    warehouse = tmp_path / "stocks_mds.duckdb"
    env = airflow_env(tmp_path, stack_env, s3_bucket, warehouse, airflow_database)
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]

    logs = Path(env["DBT_LOG_PATH"])
    first = run_dag(env, "2026-11-27T10:00:00+00:00")
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    # no earlier successful minute: the full build (reference data too), then the freshness alarm
    assert new_dbt_commands(logs, []) == [
        "build --selector full_build",
        "test --select tag:freshness",
    ]
    after_first = counts(warehouse)
    assert after_first["bronze_stock_quotes_raw"] == len(rows), "every bronze record in raw, duplicates included"
    assert after_first["bronze_load_ledger"] == objects
    assert after_first["silver_clean_stock_quotes"] == len(rows) // 2, "one silver row per (symbol, t)"
    assert after_first["gold_kpi"] == len(SYMBOLS)

    # The previous minute succeeded, and nothing new landed: only gold_latest_kpis, whose staleness is the clock's.
    before = dbt_commands(logs)
    built_at = latest_kpis_as_of(warehouse)
    second = run_dag(env, "2026-11-27T10:01:00+00:00")
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert counts(warehouse) == after_first, "nothing new in the bucket: nothing new in any table"
    assert new_dbt_commands(logs, before) == ["build --selector minute_clock", "test --select tag:freshness"]
    assert latest_kpis_as_of(warehouse) > built_at, "gold_latest_kpis measured its staleness again"

    # Only quotes landed: the minute job without the trades-only models.
    older = quotes(int(time.time()) - 600)  # quotes not seen yet (older than the newest), in objects of new content
    write_bronze(s3, s3_bucket, older)
    before = dbt_commands(logs)
    third = run_dag(env, "2026-11-27T10:02:00+00:00")
    assert third.returncode == 0, (third.stdout + third.stderr)[-4000:]
    assert new_dbt_commands(logs, before) == ["build --selector minute_quotes", "test --select tag:freshness"]
    after_quotes = counts(warehouse)
    assert after_quotes["silver_clean_stock_quotes"] == (len(rows) + len(older)) // 2

    # Only trades landed: the trades' models (and the shared ones), not the quotes' gold tables.
    trade_rows = trades(int(time.time()))
    write_bronze(s3, s3_bucket, trade_rows, topic="stock-trades")
    before = dbt_commands(logs)
    fourth = run_dag(env, "2026-11-27T10:03:00+00:00")
    assert fourth.returncode == 0, (fourth.stdout + fourth.stderr)[-4000:]
    assert new_dbt_commands(logs, before) == ["build --selector minute_trades", "test --select tag:freshness"]
    trade_tables = counts(warehouse, ("silver_clean_trades", "gold_trades_1m", "silver_clean_stock_quotes"))
    assert trade_tables["silver_clean_trades"] == len(trade_rows)
    assert trade_tables["gold_trades_1m"] > 0
    assert trade_tables["silver_clean_stock_quotes"] == after_quotes["silver_clean_stock_quotes"]
    settled = counts(warehouse)

    # The alarm fails on stale data: the newest quote is older than 5 s by now (it was 9.5 s old when written).
    before = dbt_commands(logs)
    stale = run_dag({**env, "PIPELINE_FRESHNESS_MAX_AGE_SECONDS": "5"}, "2026-11-27T10:04:00+00:00")
    assert stale.returncode != 0, "a stale gold_kpi must fail the run"
    assert "assert_gold_kpi_is_fresh" in stale.stdout + stale.stderr
    build, *alarms = new_dbt_commands(logs, before)  # the alarm task retries before the run fails
    assert build == "build --selector minute_clock"
    assert alarms, "the freshness alarm ran"
    assert set(alarms) == {"test --select tag:freshness"}
    assert counts(warehouse) == settled

    # The original's second DAG: reference CSVs from a bucket -> stockfeed-load-static -> the company tables.
    # (Re-running with the same files changes nothing: services/loader/tests/test_static.py, and on fakesnow in
    # tests/integration/test_dbt_build.py.)
    s3.put_object(Bucket=s3_bucket, Key="reference/company_stocks.csv", Body=COMPANY_STOCKS_CSV.encode())
    s3.put_object(Bucket=s3_bucket, Key="reference/company_reviews.csv", Body=COMPANY_REVIEWS_CSV.encode())
    static_env = {**env, "LOADER_STATIC_SOURCE": f"s3://{s3_bucket}/reference"}
    static = run_dag(static_env, "2026-11-27T00:00:00+00:00", "static_to_snowflake")
    assert static.returncode == 0, (static.stdout + static.stderr)[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        companies = conn.execute("select symbol, p_e_ratio, reference_source from common.company_stocks").fetchall()
        reviews = conn.execute("select symbol, rating, sentiment_score from common.company_reviews_cleaned").fetchall()
    assert sorted(companies) == [("AAPL", 29.5, "company_stocks.csv"), ("MSFT", 35.0, "company_stocks.csv")]
    assert [(symbol, rating) for symbol, rating, _ in reviews] == [("AAPL", 4.5)]
    assert reviews[0][2] > 0
