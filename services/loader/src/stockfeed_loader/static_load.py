"""stockfeed-load-static: load the original project's reference CSVs into the warehouse, idempotently.

Reads `company_stocks.csv` and `company_reviews.csv` from `--source` (default `$LOADER_STATIC_SOURCE`, else
`s3://static-stock-data`: a bucket, optionally with a prefix, or a local directory) and writes them to
STATIC_COMPANY_STOCKS / STATIC_COMPANY_REVIEWS next to the raw table (same warehouse settings as
`stockfeed-load`). dbt turns them into COMPANY_STOCKS and COMPANY_REVIEWS_CLEANED.

Idempotent per file: STATIC_LOAD_LEDGER keeps the SHA-256 of the file each table was loaded from. The same
file again changes nothing; a changed file replaces that table's contents (delete + insert + ledger row in one
transaction). A file that is not supplied leaves its table as it is (dbt then falls back to dim_symbol when the
table is empty or absent).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stockfeed_loader import sql
from stockfeed_loader.config import LoaderSettings, TargetKind, load_settings, snowflake_credentials
from stockfeed_loader.errors import ConfigError, SourceError, WarehouseError
from stockfeed_loader.static_data import CompanyReview, CompanyStock, parse_company_reviews, parse_company_stocks

log = logging.getLogger("stockfeed_loader.static")

DEFAULT_SOURCE = "s3://static-stock-data"
LEDGER = "STATIC_LOAD_LEDGER"


@dataclass(frozen=True)
class StaticTable:
    file_name: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (name, type); `double`/`varchar` spelled the same on both warehouses
    parse: Callable[[str, str], Sequence[CompanyStock] | Sequence[CompanyReview]]


TABLES = (
    StaticTable(
        "company_stocks.csv",
        "STATIC_COMPANY_STOCKS",
        (("SYMBOL", "VARCHAR"), ("COMPANY_NAME", "VARCHAR"), ("SECTOR", "VARCHAR"), ("P_E_RATIO", "DOUBLE")),
        parse_company_stocks,
    ),
    StaticTable(
        "company_reviews.csv",
        "STATIC_COMPANY_REVIEWS",
        (
            ("SYMBOL", "VARCHAR"),
            ("COMPANY_NAME", "VARCHAR"),
            ("REVIEW_RAW", "VARCHAR"),
            ("RATING", "DOUBLE"),
            ("REVIEW", "VARCHAR"),
            ("SENTIMENT_SCORE", "DOUBLE"),
        ),
        parse_company_reviews,
    ),
)
LINEAGE_COLUMNS = (("SOURCE_FILE", "VARCHAR"), ("FILE_SHA256", "VARCHAR"))


# --- where the files come from --------------------------------------------------------------------------------


class FileSource:
    """Reads a named file, or None when it is not there."""

    def __init__(self, location: str, s3_client: Callable[[], Any]) -> None:
        self.location = location
        self._s3_client = s3_client

    def read(self, file_name: str) -> tuple[str, bytes] | None:
        if self.location.startswith("s3://"):
            bucket, _, prefix = self.location[len("s3://") :].partition("/")
            key = f"{prefix.strip('/')}/{file_name}" if prefix.strip("/") else file_name
            client = self._s3_client()
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except client.exceptions.NoSuchKey:
                return None
            except Exception as error:  # botocore's ClientError and friends
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                if code in {"NoSuchKey", "404", "NoSuchBucket"}:
                    return None
                raise SourceError(f"cannot read s3://{bucket}/{key}: {error}") from error
            return f"s3://{bucket}/{key}", bytes(body)
        path = Path(self.location) / file_name
        if not path.is_file():
            return None
        return str(path), path.read_bytes()


# --- the warehouse --------------------------------------------------------------------------------------------


class StaticWarehouse:
    """The three statements a static load needs, on DuckDB or Snowflake (one connection, explicit transactions)."""

    def __init__(self, connection: Any, dialect: sql.Dialect, schema: str, database: str | None) -> None:
        self._conn = connection
        self.dialect = dialect
        self._prefix = f"{database}.{schema}" if database else schema

    def qualify(self, table: str) -> str:
        return f"{self._prefix}.{table}"

    def run(self, statement: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        try:
            if self.dialect is sql.Dialect.DUCKDB:
                result = self._conn.execute(statement, params)
                return list(result.fetchall()) if result.description else []
            cursor = self._conn.cursor()
            cursor.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []
        except Exception as error:
            raise WarehouseError(f"{self.dialect.value}: {error}") from error

    def run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        try:
            if self.dialect is sql.Dialect.DUCKDB:
                self._conn.executemany(statement, rows)
            else:
                self._conn.cursor().executemany(statement, rows)
        except Exception as error:
            raise WarehouseError(f"{self.dialect.value}: {error}") from error

    def ensure_tables(self) -> None:
        self.run(f"CREATE SCHEMA IF NOT EXISTS {self._prefix}")
        stamp = self.dialect.timestamp_type
        for table in TABLES:
            columns = ", ".join(f"{name} {kind}" for name, kind in (*table.columns, *LINEAGE_COLUMNS))
            self.run(f"CREATE TABLE IF NOT EXISTS {self.qualify(table.table)} ({columns}, LOADED_AT {stamp})")
        self.run(
            f"CREATE TABLE IF NOT EXISTS {self.qualify(LEDGER)} (TABLE_NAME VARCHAR, SOURCE_FILE VARCHAR, "
            f"FILE_SHA256 VARCHAR, ROW_COUNT {self.dialect.integer_type}, LOADED_AT {stamp})"
        )

    def loaded_sha256(self, table: str) -> str | None:
        p = self.dialect.placeholder
        rows = self.run(f"SELECT FILE_SHA256 FROM {self.qualify(LEDGER)} WHERE TABLE_NAME = {p}", [table])
        return str(rows[0][0]) if rows else None

    def replace(self, table: StaticTable, rows: Sequence[tuple[object, ...]], source_file: str, sha256: str) -> None:
        """Replace the table's rows and its ledger row in one transaction."""
        p = self.dialect.placeholder
        now = datetime.now(UTC).replace(tzinfo=None)
        names = [name for name, _ in (*table.columns, *LINEAGE_COLUMNS)] + ["LOADED_AT"]
        insert = f"INSERT INTO {self.qualify(table.table)} ({', '.join(names)}) VALUES ({', '.join([p] * len(names))})"
        self.run("BEGIN")
        try:
            self.run(f"DELETE FROM {self.qualify(table.table)}")
            self.run_many(insert, [(*row, source_file, sha256, now) for row in rows])
            self.run(f"DELETE FROM {self.qualify(LEDGER)} WHERE TABLE_NAME = {p}", [table.table])
            self.run(
                f"INSERT INTO {self.qualify(LEDGER)} (TABLE_NAME, SOURCE_FILE, FILE_SHA256, ROW_COUNT, LOADED_AT) "
                f"VALUES ({p}, {p}, {p}, {p}, {p})",
                [table.table, source_file, sha256, len(rows), now],
            )
            self.run("COMMIT")
        except BaseException:
            with contextlib.suppress(WarehouseError):  # nothing left to roll back
                self.run("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class TableOutcome:
    table: str
    status: str  # loaded | unchanged | not-supplied
    rows: int = 0
    source_file: str | None = None


def load_static(source: FileSource, warehouse: StaticWarehouse) -> list[TableOutcome]:
    warehouse.ensure_tables()
    outcomes: list[TableOutcome] = []
    for table in TABLES:
        found = source.read(table.file_name)
        if found is None:
            log.info("%s not supplied in %s: %s left as it is", table.file_name, source.location, table.table)
            outcomes.append(TableOutcome(table.table, "not-supplied"))
            continue
        location, content = found
        sha256 = hashlib.sha256(content).hexdigest()
        if warehouse.loaded_sha256(table.table) == sha256:
            outcomes.append(TableOutcome(table.table, "unchanged", source_file=location))
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{location}: not UTF-8 text") from None
        rows = [astuple(row) for row in table.parse(text, table.file_name)]
        warehouse.replace(table, rows, location, sha256)
        outcomes.append(TableOutcome(table.table, "loaded", len(rows), location))
    return outcomes


def make_static_warehouse(settings: LoaderSettings) -> StaticWarehouse:
    if settings.resolved_target is TargetKind.SNOWFLAKE:
        from stockfeed_loader import snowflake_target

        connection = snowflake_target.connect(settings, snowflake_credentials(settings))
        return StaticWarehouse(connection, sql.Dialect.SNOWFLAKE, settings.schema_name, settings.database)
    import duckdb

    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(str(settings.duckdb_path))
    except duckdb.Error as error:
        raise WarehouseError(f"cannot open DuckDB file {settings.duckdb_path}: {error}") from error
    return StaticWarehouse(connection, sql.Dialect.DUCKDB, settings.schema_name, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockfeed-load-static", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        default=os.environ.get("LOADER_STATIC_SOURCE", DEFAULT_SOURCE),
        help="s3://bucket[/prefix] or a local directory holding the CSVs (LOADER_STATIC_SOURCE)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("snowflake.connector", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
        from stockfeed_loader.cli import make_s3_client

        source = FileSource(args.source, lambda: make_s3_client(settings))
        warehouse = make_static_warehouse(settings)
        try:
            outcomes = load_static(source, warehouse)
        finally:
            warehouse.close()
    except ConfigError as error:
        print(json.dumps({"status": "config-error", "error": str(error)}))
        return 2
    except (SourceError, WarehouseError) as error:
        print(json.dumps({"status": "failed", "error": str(error)}))
        return 3
    print(json.dumps({"status": "ok", "tables": [outcome.__dict__ for outcome in outcomes]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
