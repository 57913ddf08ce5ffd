"""Airflow's metadata database for the demo and the DAG tests: its name and connection string (pure parts)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))

import airflow_db

pytestmark = pytest.mark.unit


def test_one_database_per_airflow_home_with_a_valid_name(tmp_path: Path) -> None:
    first, second = airflow_db.database_name(tmp_path / "a"), airflow_db.database_name(tmp_path / "b")
    assert first != second
    assert first == airflow_db.database_name(tmp_path / "a" / ".." / "a")  # the same home, however it is written
    assert re.fullmatch(r"airflow_[0-9a-f]{16}", first)


def test_the_password_is_quoted_into_the_url_once() -> None:
    url = airflow_db.sqlalchemy_url("postgresql://stock:p%40ss%2Fw%3Ard@127.0.0.1:15432/stockfeed", "airflow_x")
    assert url == "postgresql+psycopg2://stock:p%40ss%2Fw%3Ard@127.0.0.1:15432/airflow_x"


def test_airflow_runs_local_executor_on_postgres() -> None:
    env = airflow_db.airflow_env("postgresql://u:p@h:5/d", "airflow_x")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://u:p@h:5/airflow_x")
