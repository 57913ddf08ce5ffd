"""Run the dashboard's queries on DuckDB (read-only, riding out the loader's write windows) or Snowflake."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from stockfeed_dashboard.config import DashboardSettings


class WarehouseBusyError(RuntimeError):
    """DuckDB stayed locked by a writer (the loader or dbt) for every attempt."""


class Reader(Protocol):
    def frame(self, sql: str) -> pd.DataFrame: ...


class DuckDBReader:
    """A short read-only connection per query: DuckDB admits one writing process or many readers, never both,
    so a query that meets the loader's or dbt's lock waits a moment and tries again."""

    def __init__(self, path: str, attempts: int = 20, pause_seconds: float = 0.25) -> None:
        self.path = path
        self.attempts = attempts
        self.pause_seconds = pause_seconds

    def frame(self, sql: str) -> pd.DataFrame:
        import duckdb

        if not Path(self.path).exists():
            raise FileNotFoundError(f"no warehouse at {self.path} yet")
        last: Exception | None = None
        for _ in range(self.attempts):
            try:
                with duckdb.connect(self.path, read_only=True) as conn:
                    return conn.execute(sql).df()
            except duckdb.IOException as error:  # the file is locked by a writer
                last = error
                time.sleep(self.pause_seconds)
        raise WarehouseBusyError(f"{self.path} stayed locked by a writer: {last}")


class SnowflakeReader:
    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self._conn: Any = None

    def frame(self, sql: str) -> pd.DataFrame:
        import snowflake.connector

        s = self.settings
        if self._conn is None:
            self._conn = snowflake.connector.connect(
                account=s.snowflake_account, user=s.snowflake_user, password=s.snowflake_secret(),
                role=s.snowflake_role, warehouse=s.snowflake_warehouse, database=s.snowflake_database,
                schema=s.schema_name, network_timeout=30,
            )  # fmt: skip
        cursor = self._conn.cursor()
        cursor.execute(sql)
        columns = [c[0].lower() for c in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def make_reader(settings: DashboardSettings) -> Reader:
    if settings.uses_snowflake:
        return SnowflakeReader(settings)
    return DuckDBReader(str(settings.duckdb_path))
