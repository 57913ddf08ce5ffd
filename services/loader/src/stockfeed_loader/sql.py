"""The statements both warehouses run, built as (sql, params) without touching a connection.

Identifiers come from validated settings (plain, upper-cased names), so they are spliced in unquoted;
every value goes through a placeholder. Only additive DDL: `CREATE ... IF NOT EXISTS`, never OR REPLACE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from stockfeed_loader.batch import LedgerRow
from stockfeed_loader.keys import KeyRange


class Dialect(StrEnum):
    SNOWFLAKE = "snowflake"
    DUCKDB = "duckdb"

    @property
    def placeholder(self) -> str:
        return "%s" if self is Dialect.SNOWFLAKE else "?"

    @property
    def json_type(self) -> str:
        return "VARIANT" if self is Dialect.SNOWFLAKE else "JSON"

    @property
    def timestamp_type(self) -> str:
        return "TIMESTAMP_NTZ" if self is Dialect.SNOWFLAKE else "TIMESTAMP"

    @property
    def integer_type(self) -> str:
        return "NUMBER(18, 0)" if self is Dialect.SNOWFLAKE else "BIGINT"


@dataclass(frozen=True)
class Names:
    """Where the raw table and the ledger live; `database` is None for DuckDB (the file is the database)."""

    schema: str
    table: str
    ledger: str
    database: str | None = None

    def qualify(self, name: str) -> str:
        return f"{self.database}.{self.schema}.{name}" if self.database else f"{self.schema}.{name}"

    @property
    def raw(self) -> str:
        return self.qualify(self.table)

    @property
    def ledger_table(self) -> str:
        return self.qualify(self.ledger)


Statement = tuple[str, list[object]]


def create_schema(names: Names) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {names.qualify('')[:-1]}"


def create_raw_table(names: Names, dialect: Dialect) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {names.raw} ("
        f"v {dialect.json_type} NOT NULL, "
        "object_key VARCHAR NOT NULL, "
        f"loaded_at {dialect.timestamp_type} NOT NULL)"
    )


def create_ledger_table(names: Names, dialect: Dialect) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {names.ledger_table} ("
        "object_key VARCHAR NOT NULL, "
        "etag VARCHAR NOT NULL, "
        f"row_count {dialect.integer_type} NOT NULL, "
        "status VARCHAR NOT NULL, "
        "reason VARCHAR, "
        f"loaded_at {dialect.timestamp_type} NOT NULL, "
        "run_id VARCHAR NOT NULL)"
    )


def _key_bounds(key_range: KeyRange, after: str | None, placeholder: str) -> Statement:
    """`object_key` inside the prefix's range, and after `after` when that is inside it too."""
    if after is not None and after >= key_range.prefix:
        clauses, params = [f"object_key > {placeholder}"], [after]
    else:
        clauses, params = [f"object_key >= {placeholder}"], [key_range.prefix]
    if key_range.upper is not None:
        clauses.append(f"object_key < {placeholder}")
        params.append(key_range.upper)
    return " AND ".join(clauses), list(params)


def high_water_key(names: Names, dialect: Dialect, key_range: KeyRange) -> Statement:
    """The greatest key the ledger holds for the prefix: the listing watermark."""
    where, params = _key_bounds(key_range, None, dialect.placeholder)
    return f"SELECT MAX(object_key) FROM {names.ledger_table} WHERE {where}", params


def ledger_keys(names: Names, dialect: Dialect, key_range: KeyRange, after: str | None) -> Statement:
    """(key, ETag) pairs the ledger already holds in the part of the prefix this run lists."""
    where, params = _key_bounds(key_range, after, dialect.placeholder)
    return f"SELECT object_key, etag FROM {names.ledger_table} WHERE {where}", params


def insert_ledger(names: Names, dialect: Dialect) -> str:
    """One ledger row per object, for executemany with `ledger_params`."""
    p = dialect.placeholder
    cast = "::TIMESTAMP_NTZ" if dialect is Dialect.SNOWFLAKE else "::TIMESTAMP"
    return (
        f"INSERT INTO {names.ledger_table} (object_key, etag, row_count, status, reason, loaded_at, run_id) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}{cast}, {p})"
    )


def ledger_params(row: LedgerRow) -> tuple[object, ...]:
    return (
        row.object_key,
        row.etag,
        row.row_count,
        row.status,
        row.reason,
        row.loaded_at.isoformat(sep=" ", timespec="microseconds"),
        row.run_id,
    )


def insert_ledger_columns(names: Names) -> str:
    """DuckDB: all of a batch's ledger rows in one statement from column lists (`ledger_columns`).

    DuckDB's executemany runs one statement per row, which dominated a batch's transaction time.
    """
    return (
        f"INSERT INTO {names.ledger_table} (object_key, etag, row_count, status, reason, loaded_at, run_id) "
        "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), "
        "unnest(?::VARCHAR[]), unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[])"
    )


def ledger_columns(rows: list[LedgerRow]) -> list[list[object]]:
    """The parameters of `insert_ledger_columns`: one list per column."""
    return [list(column) for column in zip(*(ledger_params(row) for row in rows), strict=True)] or [[]] * 7


# Snowflake: temporary stage and landing table (session-scoped), PUT, COPY, move to the raw table.
# The landing table is left unqualified: a temporary table lives in the session's current schema (set at
# connect), and fakesnow rejects qualified temporary table names.


def create_stage(names: Names, stage: str) -> str:
    return f"CREATE TEMPORARY STAGE IF NOT EXISTS {names.qualify(stage)}"


def create_landing_table(landing: str) -> str:
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {landing} (v VARIANT)"


def clear_landing(landing: str) -> str:
    return f"DELETE FROM {landing}"


def put_files(names: Names, stage: str, local_directory: Path, stage_path: str) -> str:
    """Upload every file of the batch directory in one PUT (the connector expands the wildcard)."""
    directory = local_directory.as_posix()
    if "'" in directory or "'" in stage_path:
        raise ValueError(f"a quote in {directory!r} or {stage_path!r} cannot be put into a PUT command")
    # the files are gzip already; AUTO_COMPRESS would only add work
    return f"PUT 'file://{directory}/*' @{names.qualify(stage)}/{stage_path}/ AUTO_COMPRESS = FALSE"


def copy_into_landing(names: Names, stage: str, landing: str, stage_path: str) -> str:
    """Load the batch's staged files; PURGE drops them from the stage once loaded."""
    return f"COPY INTO {landing} FROM @{names.qualify(stage)}/{stage_path}/ FILE_FORMAT = (TYPE = JSON) PURGE = TRUE"


def move_landing_to_raw(names: Names, landing: str) -> str:
    return (
        f"INSERT INTO {names.raw} (v, object_key, loaded_at) "
        f"SELECT v:v, v:object_key::VARCHAR, %s::TIMESTAMP_NTZ FROM {landing}"
    )


# DuckDB: read the staged files straight into the raw table


def insert_raw_from_files(names: Names) -> str:
    """Parameters: loaded_at, then the list of staged file paths."""
    return (
        f"INSERT INTO {names.raw} (v, object_key, loaded_at) "
        "SELECT json -> '$.v', json ->> '$.object_key', ?::TIMESTAMP "
        "FROM read_ndjson_objects(?, compression = 'gzip')"
    )
