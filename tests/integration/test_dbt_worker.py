"""The warm dbt worker (services/dbt-worker) with real dbt and DuckDB: the same commands, through the worker and
through the `dbt` CLI, on two copies of the same raw data, give the same silver and gold, the same exit codes,
and the worker never keeps the warehouse locked between commands (the loader writes to the same file).
No servers needed; the DAG using the worker is tests/integration/test_dag_events.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from stockfeed_dbt_worker.client import run_on_worker

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
WORKER = ROOT / ".venv-dbt" / "bin" / "stockfeed-dbt-worker"
MAKE_FIXTURE = PROJECT / "scripts" / "make_fixture.py"
TABLES = {  # each silver and gold table by its grain: the rows both ways must match exactly
    "silver_clean_stock_quotes": "symbol, t, current_price",
    "silver_clean_trades": "symbol, trade_ms, price, volume, conditions",
    "gold_kpi": "symbol, current_price, market_timestamp",
    "gold_latest_kpis": "symbol, current_price, sma_5, sma_20",
    "gold_candles_1m": "symbol, candle_minute, open_price, high_price, low_price, close_price, quote_count",
    "gold_trades_1m": "symbol, trade_minute, trade_count, volume, vwap",
    "gold_daily_summary": "symbol, trade_date, open_price, close_price, quote_count",
    "dim_symbol": "symbol",
}


def fixture(warehouse: Path, origin: int, from_minute: int, minutes: int) -> None:
    command = [sys.executable, str(MAKE_FIXTURE), "--duckdb", str(warehouse), "--symbol-count", "6",
               "--origin", str(origin), "--from-minute", str(from_minute), "--minutes", str(minutes),
               "--trades-per-minute", "5", "--copies", "2", "--loaded-at", "event", "--seed", "7"]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)


def dbt_env(warehouse: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    return env | {"DBT_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def project_args(work: Path) -> list[str]:
    return ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs")]  # fmt: skip


def by_worker(
    socket_path: Path, args: list[str], warehouse: Path, work: Path, idle_timeout: float | None = 600
) -> tuple[int, str]:
    lines: list[str] = []
    argv, env = [*args, *project_args(work)], dbt_env(warehouse)
    code = run_on_worker(str(socket_path), argv, env, str(ROOT), lines.append, idle_timeout=idle_timeout)
    return code, "\n".join(lines)


def by_cli(args: list[str], warehouse: Path, work: Path) -> tuple[int, str]:
    command = [str(DBT), *args, *project_args(work)]
    proc = subprocess.run(command, env=dbt_env(warehouse), capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def rows(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {table: conn.execute(f"select {columns} from common.{table} order by all").fetchall()
                for table, columns in TABLES.items()}  # fmt: skip


def writable(warehouse: Path) -> bool:
    """Whether another process could take the write lock right now (what the loader needs)."""
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException:
        return False
    return True


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    socket_path, log = tmp_path / "dbt.sock", tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(WORKER), "--socket", str(socket_path)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "dbt worker ready" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker did not start within 60 s"
            time.sleep(0.1)
        yield socket_path, log
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert not socket_path.exists(), "the worker removes its socket when it stops"


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_the_worker_builds_what_the_cli_builds_and_never_holds_the_lock(
    worker: tuple[Path, Path], tmp_path: Path
) -> None:
    socket_path, log = worker
    origin = (int(time.time()) // 60 - 40) * 60
    warm, cold = tmp_path / "warm" / "stocks_mds.duckdb", tmp_path / "cold" / "stocks_mds.duckdb"
    for warehouse in (warm, cold):
        warehouse.parent.mkdir()
        fixture(warehouse, origin, 0, 30)

    # the DAG's sequence: a full build, then minute builds with new data, then the freshness alarm
    steps = [["build", "--selector", "full_build"], ["build", "--selector", "minute_job"]]
    for number, args in enumerate(steps):
        if number:
            for warehouse in (warm, cold):
                fixture(warehouse, origin, 30, 2)
        warm_code, warm_output = by_worker(socket_path, args, warm, tmp_path / "warm")
        assert writable(warm), "the worker's command ended: the warehouse must be free for the loader"
        cold_code, cold_output = by_cli(args, cold, tmp_path / "cold")
        assert (warm_code, cold_code) == (0, 0), f"worker:\n{warm_output[-3000:]}\ncli:\n{cold_output[-3000:]}"
        assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0", warm_output), warm_output[-2000:]
        assert rows(warm) == rows(cold), f"`dbt {' '.join(args)}`: the worker's tables differ from the CLI's"
    empty = [table for table, found in rows(warm).items() if not found]
    assert not empty, f"empty tables prove nothing by being equal: {empty}"

    # the freshness alarm on data 8 minutes old: both fail it, with the CLI's exit code for a failed test
    stale = ["test", "--select", "tag:freshness", "--vars", json.dumps({"freshness_max_age_seconds": 60})]
    warm_code, warm_output = by_worker(socket_path, stale, warm, tmp_path / "warm")
    cold_code, _ = by_cli(stale, cold, tmp_path / "cold")
    assert (warm_code, cold_code) == (1, 1), warm_output[-3000:]
    assert "assert_gold_kpi_is_fresh" in warm_output
    fresh = ["test", "--select", "tag:freshness", "--vars", json.dumps({"freshness_max_age_seconds": 86400})]
    assert by_worker(socket_path, fresh, warm, tmp_path / "warm")[0] == 0
    assert writable(warm)

    # a command dbt cannot run: exit 2 and dbt's reason, as the CLI would
    code, output = by_worker(socket_path, ["build", "--no-such-option"], warm, tmp_path / "warm")
    assert code == 2
    assert "no-such-option" in output

    # commands that parse for themselves, after the worker has parsed: a full reparse in the child (which hung
    # when the worker's own parse had started dbt's native static parser), and a flag that may change parsing
    code, output = by_worker(socket_path, ["parse", "--no-partial-parse"], warm, tmp_path / "warm", idle_timeout=180)
    assert code == 0, output[-3000:]
    code, output = by_worker(socket_path, ["build", "--selector", "minute_job", "--warn-error"], warm,
                             tmp_path / "warm", idle_timeout=180)  # fmt: skip
    assert code == 0, output[-3000:]

    # parsed once for both builds (same project, same dbt variables), and once per distinct --vars
    text = log.read_text()
    assert text.count("project parsed") == 3, text[-3000:]
    assert len(re.findall(r"dbt build --selector \w+ .*\(warm manifest\)", text)) == 2, text[-3000:]


@pytest.mark.unit
def test_the_project_reads_only_variables_the_worker_keys_its_parse_on() -> None:
    """The worker reuses a parse while DBT_*/FAKESNOW_* variables and the files are unchanged (manifest_key.py):
    a model or profile reading any other variable would be served a parse made with a stale value."""
    from stockfeed_dbt_worker.manifest_key import ENV_PREFIXES

    read = set()
    for path in [*PROJECT.rglob("*.sql"), *PROJECT.rglob("*.yml")]:
        if {"target", "logs", "dbt_packages"} & set(path.relative_to(PROJECT).parts):
            continue
        read |= set(re.findall(r"env_var\(\s*['\"]([^'\"]+)['\"]", path.read_text()))
    assert read, "the project reads its settings with env_var(): the scan found none"
    assert {name for name in read if not name.startswith(ENV_PREFIXES)} == set()
