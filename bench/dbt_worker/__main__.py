"""A warm dbt (services/dbt-worker) against the cold `dbt` CLI: the DAG's dbt steps, side by side, each round.

    .venv/bin/python -m bench.dbt_worker [--rounds 9] [--symbols 15] [--history-minutes 120]

Two copies of one warehouse (the simulator's quotes and trades, `--history-minutes` of history, built once with
`full_build`). Each round adds the same new minute to both, then runs the DAG's two dbt steps on each copy:
`dbt build --selector minute_job` (both kinds new) and the freshness alarm (`dbt test --select tag:freshness --vars
...`: timer and manual runs; runs that objects start skip it), cold through the CLI on one copy and through the
worker on the other; which goes first alternates per round. Each command keeps its own target folder on both
sides, so the CLI's partial parsing is as warm as it can be (a folder shared by commands with different --vars
would make every cold command parse from scratch).
Timed from the caller's side: process start (CLI) or request sent (worker) to exit code, which is what a DAG task
waits for. After each worker command the bench checks that another process can take the warehouse's write lock
(the loader needs it). Also printed: the worker's start (spawn to listening) and its first command (which includes
the one parse). Medians over the rounds; the two sides' tables are compared at the end (same rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from stockfeed_dbt_worker.client import run_on_worker

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
WORKER = ROOT / ".venv-dbt" / "bin" / "stockfeed-dbt-worker"
MAKE_FIXTURE = PROJECT / "scripts" / "make_fixture.py"
FRESHNESS_VARS = json.dumps({"freshness_max_age_seconds": 86400})
COMMANDS = {
    "build minute_job": ["build", "--selector", "minute_job"],
    "freshness alarm": ["test", "--select", "tag:freshness", "--vars", FRESHNESS_VARS],
}
COMPARED = {"silver_clean_stock_quotes": "symbol, t", "silver_clean_trades": "symbol, trade_ms, price, volume",
            "gold_kpi": "symbol, current_price", "gold_candles_1m": "symbol, candle_minute, close_price"}  # fmt: skip


def fixture(warehouse: Path, origin: int, from_minute: int, minutes: int, symbols: int) -> None:
    command = [sys.executable, str(MAKE_FIXTURE), "--duckdb", str(warehouse), "--symbol-count", str(symbols),
               "--origin", str(origin), "--from-minute", str(from_minute), "--minutes", str(minutes),
               "--trades-per-minute", "20", "--loaded-at", "now", "--seed", "11"]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)


def env_for(warehouse: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    return env | {"DBT_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def flags(work: Path, command: list[str]) -> list[str]:
    target = work / f"target-{command[0]}"  # one per command: its partial parse stays valid from round to round
    return ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
            "--target-path", str(target), "--log-path", str(work / "logs")]  # fmt: skip


def cold(args: list[str], warehouse: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(DBT), *args, *flags(warehouse.parent, args)], env=env_for(warehouse),
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    took = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"cold dbt {' '.join(args)} failed:\n{proc.stdout[-3000:]}")
    return took


def warm(socket_path: Path, args: list[str], warehouse: Path) -> float:
    lines: list[str] = []
    started = time.perf_counter()
    code = run_on_worker(str(socket_path), [*args, *flags(warehouse.parent, args)], env_for(warehouse), str(ROOT),
                         lines.append)  # fmt: skip
    took = time.perf_counter() - started
    if code != 0:
        sys.exit(f"worker dbt {' '.join(args)} exited {code}:\n" + "\n".join(lines[-40:]))
    return took


def writable(warehouse: Path) -> bool:
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException:
        return False
    return True


def tables(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {name: conn.execute(f"select {cols} from common.{name} order by all").fetchall()
                for name, cols in COMPARED.items()}  # fmt: skip


def start_worker(socket_path: Path, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen([str(WORKER), "--socket", str(socket_path)], stdout=out, stderr=subprocess.STDOUT)
    while "dbt worker ready" not in log.read_text():
        if proc.poll() is not None or time.perf_counter() - started > 120:
            sys.exit(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    return proc, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--symbols", type=int, default=15, help="as the demo: 10 quoted + 5 traded")
    parser.add_argument("--history-minutes", type=int, default=120)
    args = parser.parse_args()
    for program in (DBT, WORKER):
        if not program.exists():
            sys.exit(f"{program} is missing: run `make bootstrap`")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-dbt-worker-") as scratch:
        work = Path(scratch)
        cold_wh, warm_wh = work / "cold" / "stocks_mds.duckdb", work / "warm" / "stocks_mds.duckdb"
        cold_wh.parent.mkdir()
        warm_wh.parent.mkdir()
        origin = (int(time.time()) // 60 - args.history_minutes - args.rounds) * 60
        fixture(cold_wh, origin, 0, args.history_minutes, args.symbols)
        cold(["build", "--selector", "full_build"], cold_wh)
        shutil.copy(cold_wh, warm_wh)
        built = cold_wh.parent / "target-build"
        for target in (cold_wh.parent / "target-test", warm_wh.parent / "target-build", warm_wh.parent / "target-test"):
            shutil.copytree(built, target)  # every command's first run starts from the full build's parse

        proc, ready = start_worker(work / "dbt.sock", work / "worker.log")
        try:
            first = warm(work / "dbt.sock", ["build", "--selector", "full_build"], warm_wh)  # includes the parse
            timings: dict[tuple[str, str], list[float]] = {(name, side): [] for name in COMMANDS for side in "cw"}
            lock_free = lock_checks = 0
            for round_number in range(args.rounds):
                for warehouse in (cold_wh, warm_wh):
                    fixture(warehouse, origin, args.history_minutes + round_number, 1, args.symbols)
                for name, command in COMMANDS.items():
                    order = "cw" if round_number % 2 == 0 else "wc"
                    for side in order:
                        if side == "c":
                            timings[(name, "c")].append(cold(command, cold_wh))
                        else:
                            timings[(name, "w")].append(warm(work / "dbt.sock", command, warm_wh))
                            lock_checks += 1
                            lock_free += writable(warm_wh)
            same = tables(cold_wh) == tables(warm_wh)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        parses = (work / "worker.log").read_text().count("project parsed")

    print(f"warehouse: {args.symbols} symbols, {args.history_minutes} minutes of history, one new minute per round; "
          f"{args.rounds} rounds, order alternating")  # fmt: skip
    print(f"worker start (spawn to listening): {ready:.2f} s; its first command (full_build, with the parse): "
          f"{first:.2f} s; parses in all: {parses}")  # fmt: skip
    print(f"{'command':20}{'cold CLI p50':>14}{'worker p50':>12}{'cold max':>10}{'worker max':>12}{'saved':>8}"
          f"{'ratio':>7}")  # fmt: skip
    for name in COMMANDS:
        c, w = timings[(name, "c")], timings[(name, "w")]
        cm, wm = statistics.median(c), statistics.median(w)
        print(f"{name:20}{cm:>13.2f}s{wm:>11.2f}s{max(c):>9.2f}s{max(w):>11.2f}s{cm - wm:>7.2f}s{cm / wm:>6.2f}x")
    cold_total = sum(statistics.median(timings[(n, "c")]) for n in COMMANDS)
    warm_total = sum(statistics.median(timings[(n, "w")]) for n in COMMANDS)
    cold_build, warm_build = (statistics.median(timings[("build minute_job", side)]) for side in "cw")
    print(f"a run that objects started (the build): cold {cold_build:.2f} s, worker {warm_build:.2f} s, "
          f"{cold_build / warm_build:.2f}x")  # fmt: skip
    print(f"a timer run (build + alarm): cold {cold_total:.2f} s, worker {warm_total:.2f} s, "
          f"{cold_total / warm_total:.2f}x")  # fmt: skip
    print(f"warehouse writable by another process right after each worker command: {lock_free} of {lock_checks}")
    print(f"the two copies' silver and gold rows are the same: {same}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0 if same and lock_free == lock_checks else 1


if __name__ == "__main__":
    sys.exit(main())
