"""PIPELINE_SCHEDULE=events, run by Airflow itself: bronze objects land in MinIO -> MinIO publishes each on the
stack's events topic -> Airflow's triggerer (AssetWatcher, the Kafka provider's message-queue trigger) -> an
asset-triggered run of minio_to_snowflake_stream -> the real loader and dbt -> silver and gold. No manual trigger
helps, and the timer (set to once a year) runs only once, when the DAG first appears, before any object lands.
Objects that land while a run is busy are folded into one next run. The test owns its bucket, watcher consumer
group, warehouse and Airflow database; the events topic is the stack's, and the watcher ignores other buckets'
objects."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pytest

from stockfeed_consumer.encoding import encode_object
from stockfeed_contracts.lake import bronze_key
from tests.integration.test_dag_local import (
    AIRFLOW,
    REPO,
    SYMBOLS,
    TOPIC,
    airflow_env,
    dbt_commands,
    new_dbt_commands,
    quotes,
)
from tests.secure_kafka import free_ports

sys.path.insert(0, str(REPO / "tools" / "demo"))
import demo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DAG_ID = "minio_to_snowflake_stream"
NEVER = "0 0 1 1 *"  # the events mode's timer, out of the way: only object events start runs here


@pytest.fixture
def airflow(
    tmp_path: Path, stack_env: dict[str, str], s3: Any, s3_bucket: str, airflow_database: str
) -> Iterator[dict[str, str]]:
    """`airflow standalone` (scheduler, triggerer, dag-processor, API server) in events mode on ports of its own."""
    demo.enable_bucket_events(stack_env, s3_bucket)  # as the demo: the bucket opts in, the events topic exists
    api, worker_logs, trigger_logs = free_ports(3)
    env = {
        **airflow_env(tmp_path, stack_env, s3_bucket, tmp_path / "stocks_mds.duckdb", airflow_database),
        "PATH": f"{AIRFLOW.parent}:{os.environ.get('PATH', '')}",  # standalone starts its parts as `airflow ...`
        "PYTHONUNBUFFERED": "1",  # standalone relays its parts' lines: the test reads them as they come
        "PYTHONPATH": str(REPO / "dags"),  # as the demo and the image: the triggerer imports the watcher by name
        "PIPELINE_SCHEDULE": "events",
        "PIPELINE_EVENTS_TOPIC": stack_env["DEVSTACK_S3_EVENTS_TOPIC"],
        "PIPELINE_EVENTS_BUCKET": s3_bucket,
        "PIPELINE_EVENTS_TIMER_CRON": NEVER,
        "AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA": demo.events_connection(
            stack_env["DEVSTACK_KAFKA_BOOTSTRAP"], f"test-events-{airflow_database}"
        ),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_logs),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "PIPELINE_DBT_WORKER_SOCKET": str(tmp_path / "dbt.sock"),  # dbt steps on the warm worker, as in the demo
    }
    worker_log = (tmp_path / "dbt-worker.log").open("wb")
    worker_argv = [str(REPO / ".venv-dbt" / "bin" / "stockfeed-dbt-worker"), "--socket", str(tmp_path / "dbt.sock")]
    worker = subprocess.Popen(worker_argv, stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        yield from run_airflow(env, tmp_path)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()


def run_airflow(env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    log = (tmp_path / "airflow.log").open("wb")
    process = subprocess.Popen(
        [str(AIRFLOW), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield {**env, "LOG": str(tmp_path / "airflow.log"), "WORKER_LOG": str(tmp_path / "dbt-worker.log")}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


class BronzeWriter:
    """Objects of 12 records each, named as the consumer names them, offsets going on from write to write."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket, self.offset = s3, bucket, 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        for first in range(0, len(rows), 12):
            batch = [json.dumps(row).encode() for row in rows[first : first + 12]]
            key = bronze_key("bronze", TOPIC, 0, self.offset, int(rows[first]["fetched_at"] * 1000))
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=encode_object(batch, 6))
            self.offset += len(batch)


def database_dsn(admin_dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{database}"))


def dag_runs(dsn: str) -> list[tuple[str, str]]:
    """(run_type, state) of every run of the DAG, oldest first; [] until Airflow has made its tables."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn:
        try:
            rows = conn.execute(
                "select run_type, state from dag_run where dag_id = %s order by id", [DAG_ID]
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []
    return [(str(run_type), str(state)) for run_type, state in rows]


def silver_count(warehouse: Path) -> int:
    try:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            row = conn.execute("select count(*) from common.silver_clean_stock_quotes").fetchone()
    except duckdb.Error:  # not built yet, or a writer holds the file
        return -1
    return int(row[0]) if row else -1


def wait_for(what: str, check: Any, timeout: float, log: str) -> float:
    """Seconds until `check()` is true; fails with the end of Airflow's log otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"{what} not within {timeout:.0f}s; airflow log:\n{Path(log).read_text()[-4000:]}")


def test_objects_landing_start_runs_and_a_burst_folds_into_one_next_run(
    airflow: dict[str, str], s3: Any, s3_bucket: str, pg_dsn: str, tmp_path: Path
) -> None:
    dsn = database_dsn(pg_dsn, airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1])
    warehouse = Path(airflow["DBT_DUCKDB_PATH"])
    log = airflow["LOG"]
    # The watcher is up once the triggerer runs it; nothing has started a run before any object landed.
    watching = re.compile(r"^triggerer .* trigger ID \d+ starting", re.MULTILINE)
    wait_for("the triggerer running the bucket watcher", lambda: watching.search(Path(log).read_text()), 240, log)
    # With catchup off, the timer runs once for its latest tick when the DAG first appears (the full build of a
    # new warehouse); no object has landed yet, so nothing else may start a run.
    time.sleep(5)
    wait_for("the timer's first run to finish", lambda: all(state != "running" for _, state in dag_runs(dsn)), 300, log)
    start_up = dag_runs(dsn)
    assert len(start_up) <= 1, start_up
    assert all(run_type == "scheduled" for run_type, _ in start_up), start_up
    logs = Path(airflow["DBT_LOG_PATH"])
    before = dbt_commands(logs)

    now = int(time.time())
    bronze = BronzeWriter(s3, s3_bucket)
    first = quotes(now)
    bronze.write(first)
    took = wait_for("the first object's run to reach silver", lambda: silver_count(warehouse) == len(first) // 2,
                    300, log)  # fmt: skip
    print(f"first objects -> silver in {took:.1f}s (a cold Airflow: DAG run, loader and dbt start-up)")
    wait_for("the first run to finish", lambda: all(state != "running" for _, state in dag_runs(dsn)), 120, log)
    runs = dag_runs(dsn)[len(start_up) :]
    assert runs, "a run"
    assert all(run == ("asset_triggered", "success") for run in runs), runs
    runs_before = len(start_up) + len(runs)

    # A burst: 4 writes, 2 s apart, of quotes not seen yet (6 objects each: earlier two-minute windows). One run
    # starts with the first; what lands while it runs is folded into one next run, so the burst costs at most 3
    # runs, never one per object.
    parts = [quotes(now - 130 * (n + 1)) for n in range(4)]
    for part in parts:
        bronze.write(part)
        time.sleep(2)
    burst = [row for part in parts for row in part]
    expected = (len(first) + len(burst)) // 2
    took = wait_for("the burst to reach silver", lambda: silver_count(warehouse) == expected, 300, log)
    print(f"burst -> silver in {took:.1f}s after its last write")
    wait_for("the burst's runs to finish", lambda: all(state != "running" for _, state in dag_runs(dsn)), 120, log)
    runs = dag_runs(dsn)
    burst_runs = runs[runs_before:]
    print(f"the burst of 4 writes ({len(burst) // 12} objects) made {len(burst_runs)} runs: {burst_runs}")
    assert 1 <= len(burst_runs) <= 3, burst_runs
    assert all(run == ("asset_triggered", "success") for run in burst_runs), runs
    # Runs that objects started build what their load touched (only quotes landed here: no trades' models), or only
    # gold_latest_kpis when a folded event's objects were loaded by the run before; they leave the alarm to the timer.
    commands = set(new_dbt_commands(logs, before))
    assert "build --selector minute_quotes" in commands
    assert commands <= {"build --selector minute_quotes", "build --selector minute_clock"}, commands
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        symbols = {row[0] for row in conn.execute("select symbol from common.gold_kpi").fetchall()}
    assert symbols == set(SYMBOLS)
    # Every dbt step ran on the warm worker, with the project parsed ahead: no cold start, no fallback.
    worker_log = Path(airflow["WORKER_LOG"]).read_text()
    served = re.findall(r"pid \d+: dbt (\w+ --select\w* \S+) .* exited (\d+) after", worker_log)
    assert ("build --selector minute_quotes", "0") in served, served
    assert len(served) == len(new_dbt_commands(logs, [])), "each dbt invocation was the worker's"
    assert "running dbt cold" not in Path(log).read_text() + "".join(
        path.read_text(errors="replace") for path in (tmp_path / "airflow" / "logs").rglob("*.log")
    )
