"""The statements both warehouses run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from stockfeed_loader import sql
from stockfeed_loader.batch import LedgerRow
from stockfeed_loader.keys import KeyRange

pytestmark = pytest.mark.unit

SNOW = sql.Names("COMMON", "BRONZE_STOCK_QUOTES_RAW", "BRONZE_LOAD_LEDGER", "STOCKS_MDS")
DUCK = sql.Names("COMMON", "BRONZE_STOCK_QUOTES_RAW", "BRONZE_LOAD_LEDGER")
RANGE = KeyRange.for_prefix("bronze/topic=stock-quotes/")


def test_names_are_qualified_per_warehouse() -> None:
    assert SNOW.raw == "STOCKS_MDS.COMMON.BRONZE_STOCK_QUOTES_RAW"
    assert DUCK.raw == "COMMON.BRONZE_STOCK_QUOTES_RAW"
    assert sql.create_schema(DUCK) == "CREATE SCHEMA IF NOT EXISTS COMMON"


@pytest.mark.parametrize("dialect", list(sql.Dialect))
def test_tables_are_only_ever_created_if_missing(dialect: sql.Dialect) -> None:
    for statement in (sql.create_raw_table(SNOW, dialect), sql.create_ledger_table(SNOW, dialect)):
        assert statement.startswith("CREATE TABLE IF NOT EXISTS ")
        assert "REPLACE" not in statement.upper()


def test_raw_table_column_types() -> None:
    snowflake = sql.create_raw_table(SNOW, sql.Dialect.SNOWFLAKE)
    assert "v VARIANT NOT NULL" in snowflake
    assert "loaded_at TIMESTAMP_NTZ" in snowflake
    duckdb = sql.create_raw_table(DUCK, sql.Dialect.DUCKDB)
    assert "v JSON NOT NULL" in duckdb
    assert "object_key VARCHAR NOT NULL" in duckdb


def test_high_water_key_is_bounded_to_the_prefix() -> None:
    statement, params = sql.high_water_key(SNOW, sql.Dialect.SNOWFLAKE, RANGE)
    assert statement == (
        "SELECT MAX(object_key) FROM STOCKS_MDS.COMMON.BRONZE_LOAD_LEDGER WHERE object_key >= %s AND object_key < %s"
    )
    assert params == ["bronze/topic=stock-quotes/", "bronze/topic=stock-quotes0"]


def test_ledger_keys_start_after_the_window_start() -> None:
    after = "bronze/topic=stock-quotes/dt=2024-05-01/hour=08/"
    statement, params = sql.ledger_keys(DUCK, sql.Dialect.DUCKDB, RANGE, after)
    assert statement.startswith("SELECT object_key, etag FROM COMMON.BRONZE_LOAD_LEDGER")
    assert statement.endswith("WHERE object_key > ? AND object_key < ?")
    assert params == [after, "bronze/topic=stock-quotes0"]


def test_ledger_keys_ignore_a_start_below_the_prefix() -> None:
    _, params = sql.ledger_keys(DUCK, sql.Dialect.DUCKDB, RANGE, "aaa")
    assert params[0] == "bronze/topic=stock-quotes/"


def test_empty_prefix_has_only_a_lower_bound() -> None:
    statement, params = sql.ledger_keys(DUCK, sql.Dialect.DUCKDB, KeyRange.for_prefix(""), None)
    assert statement.endswith("WHERE object_key >= ?")
    assert params == [""]


@pytest.mark.parametrize("dialect", list(sql.Dialect))
def test_ledger_insert_has_one_placeholder_per_value(dialect: sql.Dialect) -> None:
    row = LedgerRow("k", "etag", 3, "loaded", None, datetime(2024, 5, 1, 1, 2, 3, 4), "run")
    params = sql.ledger_params(row)
    assert sql.insert_ledger(SNOW, dialect).count(dialect.placeholder) == len(params)
    assert params[5] == "2024-05-01 01:02:03.000004"


def test_put_uploads_the_batch_directory_to_a_unique_stage_path() -> None:
    statement = sql.put_files(SNOW, "STAGE", Path("/tmp/run/batch-000001"), "20240501T000000-abc/000001")
    assert statement == (
        "PUT 'file:///tmp/run/batch-000001/*' @STOCKS_MDS.COMMON.STAGE/20240501T000000-abc/000001/ "
        "AUTO_COMPRESS = FALSE"
    )


def test_put_refuses_a_quote_in_the_path() -> None:
    with pytest.raises(ValueError, match="quote"):
        sql.put_files(SNOW, "STAGE", Path("/tmp/it's"), "run/1")


def test_copy_reads_only_the_batch_path_as_json() -> None:
    statement = sql.copy_into_landing(SNOW, "STAGE", "LANDING", "run/000002")
    assert statement == (
        "COPY INTO LANDING FROM @STOCKS_MDS.COMMON.STAGE/run/000002/ FILE_FORMAT = (TYPE = JSON) PURGE = TRUE"
    )


def test_move_to_raw_unwraps_the_record_and_its_key() -> None:
    statement = sql.move_landing_to_raw(SNOW, "LANDING")
    assert statement.startswith("INSERT INTO STOCKS_MDS.COMMON.BRONZE_STOCK_QUOTES_RAW (v, object_key, loaded_at)")
    assert "SELECT v:v, v:object_key::VARCHAR, %s::TIMESTAMP_NTZ FROM LANDING" in statement


def test_duckdb_reads_the_staged_files_directly() -> None:
    statement = sql.insert_raw_from_files(DUCK)
    assert "read_ndjson_objects(?, compression = 'gzip')" in statement
    assert "json -> '$.v', json ->> '$.object_key'" in statement


def test_duckdb_ledger_rows_go_in_as_one_list_per_column() -> None:
    rows = [
        LedgerRow("a", "e1", 3, "loaded", None, datetime(2024, 5, 1), "run"),
        LedgerRow("b", "e2", 0, "quarantined", "bad gzip", datetime(2024, 5, 1), "run"),
    ]
    columns = sql.ledger_columns(rows)
    assert columns[0] == ["a", "b"]
    assert columns[4] == [None, "bad gzip"]
    assert len(columns) == sql.insert_ledger_columns(DUCK).count("?") == 7
    assert sql.ledger_columns([]) == [[]] * 7
