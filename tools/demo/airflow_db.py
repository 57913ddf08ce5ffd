"""Airflow's metadata database on the local stack's PostgreSQL, as in the chart: one database per Airflow home.

`make demo` and the DAG tests run Airflow with LocalExecutor on it (SQLite would let only one process write and
is not what a user runs). The name comes from the Airflow home, so a demo keeps its history across restarts and
every test run gets a database of its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

PREFIX = "airflow_"


def database_name(airflow_home: Path) -> str:
    """A valid PostgreSQL identifier derived from the (absolute) Airflow home."""
    digest = hashlib.sha256(str(airflow_home.resolve()).encode()).hexdigest()[:16]
    return PREFIX + digest


def sqlalchemy_url(admin_dsn: str, database: str) -> str:
    """Airflow's connection string (psycopg2 driver) for `database` on the server and login of `admin_dsn`."""
    parts = urlsplit(admin_dsn)  # user and password are percent-encoded in a DSN: decode, then encode once
    login = quote(unquote(parts.username or ""), safe="")
    if parts.password:
        login += ":" + quote(unquote(parts.password), safe="")
    return f"postgresql+psycopg2://{login}@{parts.hostname}:{parts.port or 5432}/{database}"


def airflow_env(admin_dsn: str, database: str) -> dict[str, str]:
    """The variables that put Airflow on `database` with LocalExecutor; small pools, as several Airflow processes
    share one PostgreSQL with the tests."""
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(admin_dsn, database),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
    }


def ensure_database(admin_dsn: str, database: str) -> None:
    """Create `database` unless it exists (CREATE DATABASE has no IF NOT EXISTS)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone() is None:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))


def run_counts(admin_dsn: str, database: str, dag_id: str) -> dict[str, int]:
    """How many runs of `dag_id` each run type (scheduled, asset_triggered, manual) made in `database`."""
    import psycopg

    dsn = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{database}"))
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute("select run_type, count(*) from dag_run where dag_id = %s group by run_type", [dag_id])
        return {str(run_type): int(count) for run_type, count in rows.fetchall()}


def drop_database(admin_dsn: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
