"""The embedded target: a DuckDB file with the raw table (JSON column `v`) and the ledger.

One transaction per batch holds the raw rows and the ledger rows; a killed process leaves an uncommitted
transaction in the WAL, which DuckDB discards when the file is opened again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from stockfeed_loader import sql
from stockfeed_loader.batch import PreparedBatch, ledger_rows
from stockfeed_loader.errors import WarehouseError
from stockfeed_loader.keys import KeyRange
from stockfeed_loader.warehouse import Checkpoint, no_checkpoint

DIALECT = sql.Dialect.DUCKDB
# DuckDB lets one process open the file for writing, and no writer while any reader holds it: the dashboard or a
# query polling the warehouse holds it for milliseconds. Waiting a little beats failing the task, which Airflow
# would retry only after its retry delay. dbt does the same (dbt/profiles.yml: retries).
LOCK_WAITS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


def connect_when_free(
    path: Path, waits: tuple[float, ...] = LOCK_WAITS, sleep: Callable[[float], None] = time.sleep
) -> duckdb.DuckDBPyConnection:
    """duckdb.connect(path), tried again after each of `waits` while another process holds the file's lock."""
    for wait in waits:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            sleep(wait)
    return duckdb.connect(str(path))


class DuckDBWarehouse:
    name = "duckdb"

    def __init__(self, path: Path, names: sql.Names, checkpoint: Checkpoint = no_checkpoint) -> None:
        self._names = names
        self._checkpoint = checkpoint
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = connect_when_free(path)
        except (duckdb.Error, OSError) as error:  # e.g. another process holds the file's lock
            raise WarehouseError(f"cannot open DuckDB file {path}: {error}") from error

    def ensure_tables(self) -> None:
        self._run(sql.create_schema(self._names))
        self._run(sql.create_raw_table(self._names, DIALECT))
        self._run(sql.create_ledger_table(self._names, DIALECT))

    def high_water_key(self, key_range: KeyRange) -> str | None:
        statement, params = sql.high_water_key(self._names, DIALECT, key_range)
        row = self._run(statement, params).fetchone()
        return None if row is None else row[0]

    def ledger_keys(self, key_range: KeyRange, after: str | None) -> set[tuple[str, str]]:
        statement, params = sql.ledger_keys(self._names, DIALECT, key_range, after)
        return {(row[0], row[1]) for row in self._run(statement, params).fetchall()}

    def load_batch(self, batch: PreparedBatch) -> int:
        staged = batch.staged
        self._checkpoint("after-stage")  # the staged files exist locally; nothing is in the database yet
        self._run("BEGIN TRANSACTION")
        try:
            inserted = 0
            if staged:
                files = [str(batch.directory / obj.staged_name) for obj in staged if obj.staged_name]
                result = self._run(sql.insert_raw_from_files(self._names), [batch.loaded_at, files]).fetchone()
                inserted = int(result[0]) if result else 0
                if inserted != batch.staged_rows:
                    raise WarehouseError(f"inserted {inserted} rows, the batch's objects hold {batch.staged_rows}")
            self._checkpoint("after-copy")
            self._run(sql.insert_ledger_columns(self._names), sql.ledger_columns(ledger_rows(batch)))
            self._checkpoint("before-commit")
            self._run("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return inserted

    def close(self) -> None:
        self._conn.close()

    def _run(self, statement: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self._conn.execute(statement, params)
        except duckdb.Error as error:
            raise WarehouseError(f"DuckDB: {error}") from error

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # no transaction left to roll back (e.g. BEGIN failed)
            self._conn.execute("ROLLBACK")
