"""The minute build narrowed to what a load touched against the whole minute job, side by side, on the dbt worker.

    .venv/bin/python -m bench.dbt_selection [--rounds 15] [--symbols 15] [--history-minutes 120]

Two copies of one warehouse (the simulator's quotes and trades, `--history-minutes` of history, built once with
`full_build`). Each round adds the same new minute to both copies, of one kind only, or nothing: quotes, trades and
nothing in turn (a run loads one kind when only one kind's objects landed since the run before, and nothing when
the run before loaded its objects). Then, on the warm dbt worker (services/dbt-worker, as `make demo` runs the
DAG's dbt steps), one copy builds `dbt build --selector minute_job` (what every event run built before) and the
other the selector the DAG now picks for that load (`minute_quotes`, `minute_trades` or `minute_clock`); which
goes first alternates. Timed from the caller's side, request sent to exit code, which is what the DAG's task
waits for. Medians per kind over the rounds; the two copies' silver and gold rows are compared at the end (the
narrowed build leaves out only models with nothing new to read; gold_latest_kpis without its clock columns, which
differ by build time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.dbt_worker.__main__ import ROOT, WORKER, cold, fixture, start_worker, warm

NARROWED = {"quotes": "minute_quotes", "trades": "minute_trades", "nothing": "minute_clock"}
# Everything a dashboard or report reads, by a key and a value, so equal lists mean equal tables.
COMPARED = {"silver_clean_stock_quotes": "symbol, t, current_price",
            "silver_clean_trades": "symbol, trade_ms, price, volume",
            "gold_kpi": "symbol, current_price", "gold_candles_1m": "symbol, candle_minute, close_price",
            "gold_daily_summary": "symbol, trade_date, close_price", "gold_trades_1m": "symbol, trade_minute, vwap",
            "gold_treechart": "symbol, quote_count", "dim_symbol": "symbol",
            "gold_latest_kpis": "symbol, current_price, sma_5, sma_20, gainer_rank"}  # fmt: skip


def keep_only(warehouse: Path, kind: str, since: dt.datetime) -> None:
    """Drop the other kind's rows from what the last fixture call loaded: this minute brought only `kind`."""
    trade = "json_extract_string(v, '$.schema_version') = 'trade.v1'"
    other = f"not coalesce({trade}, false)" if kind == "trades" else trade
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"delete from common.bronze_stock_quotes_raw where loaded_at >= ? and {other}", [since])


def tables(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {name: conn.execute(f"select {cols} from common.{name} order by all").fetchall()
                for name, cols in COMPARED.items()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="quotes, trades and nothing in turn")
    parser.add_argument("--symbols", type=int, default=15, help="as the demo: 10 quoted + 5 traded")
    parser.add_argument("--history-minutes", type=int, default=120)
    args = parser.parse_args()
    if not WORKER.exists():
        sys.exit(f"{WORKER} is missing: run `make bootstrap`")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-dbt-selection-") as scratch:
        work = Path(scratch)
        whole_wh, narrow_wh = work / "whole" / "stocks_mds.duckdb", work / "narrow" / "stocks_mds.duckdb"
        origin = (int(time.time()) // 60 - args.history_minutes - args.rounds) * 60
        for warehouse in (whole_wh, narrow_wh):
            warehouse.parent.mkdir()
            fixture(warehouse, origin, 0, args.history_minutes, args.symbols)
            cold(["build", "--selector", "full_build"], warehouse)
        socket_path = work / "dbt.sock"
        proc, _ = start_worker(socket_path, work / "worker.log")
        timings: dict[tuple[str, str], list[float]] = {(kind, side): [] for kind in NARROWED for side in "wn"}
        try:
            for warehouse in (whole_wh, narrow_wh):  # the worker's parse, outside the timings
                warm(socket_path, ["build", "--selector", "minute_job"], warehouse)
            for round_number in range(args.rounds):
                kind = list(NARROWED)[round_number % len(NARROWED)]
                for warehouse in (whole_wh, narrow_wh) if kind != "nothing" else ():
                    since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                    fixture(warehouse, origin, args.history_minutes + round_number, 1, args.symbols)
                    keep_only(warehouse, kind, since)
                order = "wn" if (round_number // len(NARROWED)) % 2 == 0 else "nw"
                for side in order:
                    selector = "minute_job" if side == "w" else NARROWED[kind]
                    warehouse = whole_wh if side == "w" else narrow_wh
                    timings[(kind, side)].append(warm(socket_path, ["build", "--selector", selector], warehouse))
            same = tables(whole_wh) == tables(narrow_wh)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    print(
        f"warehouse: {args.symbols} symbols, {args.history_minutes} minutes of history; {args.rounds} rounds, "
        "each adding a minute of quotes, of trades, or nothing, in turn; order alternating; on the dbt worker"
    )
    print(f"{'new rows':10}{'minute_job p50':>16}{'narrowed p50':>14}{'selector':>15}{'saved':>8}{'ratio':>7}{'n':>4}")
    for kind, selector in NARROWED.items():
        whole, narrow = timings[(kind, "w")], timings[(kind, "n")]
        wm, nm = statistics.median(whole), statistics.median(narrow)
        print(f"{kind:10}{wm:>15.2f}s{nm:>13.2f}s{selector:>15}{wm - nm:>7.2f}s{wm / nm:>6.2f}x{len(whole):>4}")
    print(f"the two copies' silver and gold rows are the same: {same}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"(project: {ROOT / 'dbt'})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
