"""The loader waits briefly for DuckDB's file lock instead of failing the task: a reader holds it for moments."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from stockfeed_loader.duckdb_target import connect_when_free

pytestmark = pytest.mark.unit

HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=True)
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


def hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process (DuckDB's lock is per process) reading the file for `seconds`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    return path


def test_a_reader_holding_the_file_for_a_moment_is_waited_for(warehouse: Path) -> None:
    holder = hold_lock(warehouse, 0.5)
    try:
        conn = connect_when_free(warehouse)
        conn.execute("create table t as select 1 as x")
        conn.close()
    finally:
        holder.wait(timeout=30)


def test_a_lock_that_stays_fails_after_the_waits(warehouse: Path) -> None:
    holder = hold_lock(warehouse, 30)
    slept: list[float] = []
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            connect_when_free(warehouse, waits=(0.01, 0.02), sleep=slept.append)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert slept == [0.01, 0.02]
