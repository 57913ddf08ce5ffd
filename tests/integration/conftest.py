"""Fixtures of the tests that run Airflow against the local stack."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))
import airflow_db


@pytest.fixture
def airflow_database(tmp_path: Path, pg_dsn: str) -> Iterator[str]:
    """Airflow's metadata database of this test on the stack's PostgreSQL (as in the chart), dropped afterwards."""
    name = airflow_db.database_name(tmp_path / "airflow")
    airflow_db.ensure_database(pg_dsn, name)
    yield name
    airflow_db.drop_database(pg_dsn, name)
