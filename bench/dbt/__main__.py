"""dbt on DuckDB at 1M quotes: a full build and an incremental build with one minute of new data, side by side.

    .venv/bin/python -m bench.dbt [--quotes 1000000] [--repeats 3] [--work DIR]

The raw table gets `--quotes` rows of simulator quotes (60 symbols polled every 6 s, loaded a minute after
each poll, as the minute DAG would); then, on the same warehouse:
  full        `dbt build --full-refresh --selector full_build`  (everything rebuilt from the whole raw table)
  incremental one more minute of quotes loaded now, then `dbt build --selector minute_job`: what the DAG runs
              each minute (models + data tests, without reference data)
  hourly      one more minute, then `dbt build --selector full_build`: what the DAG runs at the top of the hour
              (and after an unsuccessful run): the same plus reference data
  inc. run    one more minute, then `dbt run --selector minute_job`  (models only, no tests)
Each is timed as the CLI's wall clock (process start, partial parse, run), as dbt's own elapsed time
(run_results.json) and as the CPU seconds the dbt process used (DuckDB runs inside it) — the last one tells
the work apart from waiting on a busy machine. The selectors (dbt/selectors.yml) leave out unit tests and the
DAG's freshness alarm. Target: incremental <= 5 s (dbt elapsed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
MAKE_FIXTURE = PROJECT / "scripts" / "make_fixture.py"
SYMBOLS = 60
POLL_SECONDS = 6
STEP_TIMEOUT = 1800
INCREMENTAL_TARGET_SECONDS = 5.0


@dataclass(frozen=True)
class Timing:
    wall: float  # CLI process, start to exit
    elapsed: float  # dbt's own run time (run_results.json), without start-up and parsing
    cpu: float  # user + system CPU seconds of the dbt process (DuckDB runs inside it): the work, whatever the load


def fixture(warehouse: Path, origin: int, from_minute: int, minutes: int, loaded_at: str) -> int:
    command = [sys.executable, str(MAKE_FIXTURE), "--duckdb", str(warehouse), "--symbol-count", str(SYMBOLS)]
    command += ["--origin", str(origin), "--from-minute", str(from_minute), "--minutes", str(minutes)]
    command += ["--poll-seconds", str(POLL_SECONDS), "--loaded-at", loaded_at]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=True)
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["rows"])


def dbt(args: list[str], work: Path) -> Timing:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    env |= {"DBT_DATA_DIR": str(work), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{proc.stdout[-4000:]}")
    results = work / "target" / "run_results.json"
    elapsed = float(json.loads(results.read_text())["elapsed_time"]) if results.exists() else wall
    results.unlink(missing_ok=True)  # a later command must not report this one's figure
    return Timing(wall, elapsed, cpu)


def count(warehouse: Path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        row = conn.execute(f"select count(*) from COMMON.{table}").fetchone()
    return int(row[0]) if row else 0


def median(timings: list[Timing], field: str) -> float:
    return statistics.median(float(getattr(timing, field)) for timing in timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quotes", type=int, default=1_000_000, help="raw quote rows of history")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (medians are printed)")
    parser.add_argument("--work", type=Path, help="working directory (default: a temporary one, removed after)")
    args = parser.parse_args()
    if not DBT.exists():
        sys.exit(f"{DBT} is missing: run `make bootstrap`")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        warehouse = work / "stocks_mds.duckdb"
        if warehouse.exists():
            sys.exit(f"{warehouse} exists: give an empty --work directory")
        quotes_per_minute = SYMBOLS * 60 // POLL_SECONDS
        history_minutes = math.ceil(args.quotes / quotes_per_minute)
        extra_minutes = 3 * args.repeats
        origin = (int(time.time()) // 60 - history_minutes - extra_minutes) * 60

        started = time.perf_counter()
        raw_rows = fixture(warehouse, origin, 0, history_minutes, "event")
        print(f"history: {raw_rows:,} raw quotes ({SYMBOLS} symbols x {history_minutes} minutes), "
              f"generated in {time.perf_counter() - started:.0f} s")  # fmt: skip
        dbt(["parse"], work)

        full = [dbt(["build", "--full-refresh", "--selector", "full_build"], work) for _ in range(args.repeats)]
        silver_rows = count(warehouse, "silver_clean_stock_quotes")
        incremental: list[Timing] = []
        hourly: list[Timing] = []
        incremental_run: list[Timing] = []
        next_minute = history_minutes
        for _ in range(args.repeats):
            fixture(warehouse, origin, next_minute, 1, "now")
            incremental.append(dbt(["build", "--selector", "minute_job"], work))
            fixture(warehouse, origin, next_minute + 1, 1, "now")
            hourly.append(dbt(["build", "--selector", "full_build"], work))
            fixture(warehouse, origin, next_minute + 2, 1, "now")
            incremental_run.append(dbt(["run", "--selector", "minute_job"], work))
            next_minute += 3
        assert count(warehouse, "silver_clean_stock_quotes") > silver_rows

    print(f"silver after the full build: {silver_rows:,} quotes (one per symbol and quote time)")
    print(f"one new minute: {quotes_per_minute} quotes; medians of {args.repeats} runs each")
    print(f"{'':34}{'CLI wall (s)':>14}{'dbt elapsed (s)':>17}{'CPU (s)':>10}")
    rows = [("full build (--full-refresh)", full), ("incremental build (1 new minute)", incremental)]
    rows += [("hourly build (+ reference data)", hourly), ("incremental run, models only", incremental_run)]
    for label, timings in rows:
        wall, elapsed, cpu = (median(timings, field) for field in ("wall", "elapsed", "cpu"))
        print(f"{label:34}{wall:>14.2f}{elapsed:>17.2f}{cpu:>10.2f}")
    for field in ("wall", "elapsed", "cpu"):
        ratio = median(full, field) / median(incremental, field)
        print(f"full / incremental build ({field}): {ratio:.1f}x")
    verdict = "met" if median(incremental, "elapsed") <= INCREMENTAL_TARGET_SECONDS else "MISSED"
    print(f"target incremental build <= {INCREMENTAL_TARGET_SECONDS:.0f} s (dbt elapsed): {verdict}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
