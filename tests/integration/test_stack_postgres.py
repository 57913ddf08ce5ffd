"""The stack's PostgreSQL is a real server of our own: SQL, transactions, password auth."""

from __future__ import annotations

import uuid

import psycopg
import pytest

pytestmark = pytest.mark.integration


def test_sql_and_transactions(pg_dsn: str) -> None:
    table = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, connect_timeout=5) as conn:
        conn.execute(f"CREATE TABLE {table} (symbol text PRIMARY KEY, price numeric(12,4) NOT NULL)")
        conn.execute(f"INSERT INTO {table} VALUES ('AAPL', 189.5), ('MSFT', 410.25)")
        conn.commit()
        try:
            with conn.transaction():
                conn.execute(f"INSERT INTO {table} VALUES ('NVDA', 120)")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        rows = conn.execute(f"SELECT symbol, price::float FROM {table} ORDER BY symbol").fetchall()
        assert rows == [("AAPL", 189.5), ("MSFT", 410.25)]
        assert conn.execute("SELECT current_setting('server_version_num')::int").fetchone()[0] >= 150000
        conn.execute(f"DROP TABLE {table}")


def test_wrong_password_is_refused(pg_dsn: str) -> None:
    bad = pg_dsn.replace("://stockfeed:", "://stockfeed:wrong", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad, connect_timeout=5)
