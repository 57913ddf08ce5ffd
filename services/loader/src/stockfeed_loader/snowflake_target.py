"""The Snowflake target: PUT the batch's files to a temporary internal stage, COPY INTO a temporary landing
table, move the rows into the raw table with their lineage, and write the ledger rows, in one transaction.

Why this shape:
- Stage paths are `<run id>/<batch>/<n>-<object file name>`: never reused, so Snowflake's PUT (which keeps,
  not replaces, a same-named file) and COPY's load history (which skips a file name it has loaded) can
  never hide or drop a file. Idempotency comes from our ledger, committed with the rows, not from COPY.
- The stage and the landing table are TEMPORARY: they belong to this session and vanish with it, so a killed
  run leaves nothing behind that a later run could pick up by mistake.
- A killed session leaves its transaction open until Snowflake aborts it; the transaction only appended
  (INSERTs), so it blocks nobody, and its rows never become visible.
"""

from __future__ import annotations

import logging
from typing import Any

from stockfeed_loader import sql
from stockfeed_loader.batch import PreparedBatch, ledger_rows
from stockfeed_loader.config import LoaderSettings, SnowflakeCredentials
from stockfeed_loader.errors import ConfigError, WarehouseError
from stockfeed_loader.keys import KeyRange
from stockfeed_loader.warehouse import Checkpoint, no_checkpoint

DIALECT = sql.Dialect.SNOWFLAKE
log = logging.getLogger(__name__)


def connect(settings: LoaderSettings, credentials: SnowflakeCredentials) -> Any:
    """A connection to the account in `settings` (host/port/protocol only for non-default endpoints)."""
    import snowflake.connector

    params: dict[str, Any] = {
        "account": settings.snowflake_account,
        "user": settings.snowflake_user,
        "database": settings.database,
        "schema": settings.schema_name,
        "network_timeout": settings.snowflake_network_timeout,
        "login_timeout": settings.snowflake_login_timeout,
        "application": "stockfeed-loader",
        "session_parameters": {"QUERY_TAG": "stockfeed-loader"},
    }
    for key, value in (
        ("role", settings.snowflake_role),
        ("warehouse", settings.snowflake_warehouse),
        ("host", settings.snowflake_host),
        ("port", settings.snowflake_port),
    ):
        if value is not None:
            params[key] = value
    if settings.snowflake_host:
        params["protocol"] = settings.snowflake_protocol
    if credentials.private_key_pem is not None:
        params["private_key"] = load_private_key(credentials)
    else:
        params["password"] = credentials.password
    try:
        return snowflake.connector.connect(**params)
    except snowflake.connector.errors.Error as error:
        raise WarehouseError(f"cannot connect to Snowflake account {settings.snowflake_account}: {error}") from error


def load_private_key(credentials: SnowflakeCredentials) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    assert credentials.private_key_pem is not None
    passphrase = credentials.private_key_passphrase
    try:
        return load_pem_private_key(credentials.private_key_pem, passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"LOADER_SNOWFLAKE_PRIVATE_KEY_FILE: not a usable PEM private key ({error})") from None


class SnowflakeWarehouse:
    name = "snowflake"

    def __init__(
        self, connection: Any, names: sql.Names, stage: str, landing: str, checkpoint: Checkpoint = no_checkpoint
    ) -> None:
        self._conn = connection
        self._names = names
        self._stage = stage
        self._landing = landing
        self._checkpoint = checkpoint

    def ensure_tables(self) -> None:
        self._run(sql.create_raw_table(self._names, DIALECT))
        self._run(sql.create_ledger_table(self._names, DIALECT))
        self._run(sql.create_stage(self._names, self._stage))
        self._run(sql.create_landing_table(self._landing))

    def high_water_key(self, key_range: KeyRange) -> str | None:
        statement, params = sql.high_water_key(self._names, DIALECT, key_range)
        rows = self._run(statement, params)
        return rows[0][0] if rows else None

    def ledger_keys(self, key_range: KeyRange, after: str | None) -> set[tuple[str, str]]:
        statement, params = sql.ledger_keys(self._names, DIALECT, key_range, after)
        return {(row[0], row[1]) for row in self._run(statement, params)}

    def load_batch(self, batch: PreparedBatch) -> int:
        staged = batch.staged
        if staged:
            self._put(batch)
        self._checkpoint("after-stage")
        self._run("BEGIN")
        try:
            inserted = 0
            if staged:
                self._run(sql.clear_landing(self._landing))
                self._copy(batch)
                inserted = self._rowcount(sql.move_landing_to_raw(self._names, self._landing), [_ts(batch)])
                if inserted != batch.staged_rows:
                    raise WarehouseError(f"inserted {inserted} rows, the batch's objects hold {batch.staged_rows}")
            self._checkpoint("after-copy")
            self._executemany(
                sql.insert_ledger(self._names, DIALECT), [sql.ledger_params(row) for row in ledger_rows(batch)]
            )
            self._checkpoint("before-commit")
            self._run("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return inserted

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # closing is best effort; the session expires on its own
            log.debug("closing the Snowflake connection failed", exc_info=True)

    def _put(self, batch: PreparedBatch) -> None:
        results = self._query(sql.put_files(self._names, self._stage, batch.directory, batch.stage_path))
        uploaded = {row["target"] for row in results if str(row["status"]).upper() == "UPLOADED"}
        expected = {obj.staged_name for obj in batch.staged if obj.staged_name is not None}
        if missing := expected - uploaded:
            statuses = {row["target"]: row["status"] for row in results}
            raise WarehouseError(f"PUT did not upload {sorted(missing)[:5]} (statuses: {statuses})")

    def _copy(self, batch: PreparedBatch) -> None:
        """COPY the batch's files and check each file's result against the rows we counted."""
        results = self._query(sql.copy_into_landing(self._names, self._stage, self._landing, batch.stage_path))
        by_name = {str(row.get("file", "")).rsplit("/", 1)[-1]: row for row in results}
        for obj in batch.staged:
            row = by_name.get(obj.staged_name or "")
            if row is None:
                raise WarehouseError(f"COPY reported no result for {obj.key} (staged as {obj.staged_name})")
            status, loaded = str(row.get("status")), int(row.get("rows_loaded") or 0)
            if status.upper() != "LOADED" or loaded != obj.rows:
                raise WarehouseError(
                    f"COPY of {obj.key}: status {status}, {loaded} of {obj.rows} rows loaded "
                    f"(first error: {row.get('first_error')})"
                )

    def _run(self, statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self._execute(statement, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _query(self, statement: str) -> list[dict[str, Any]]:
        """Rows as dicts keyed by lower-case column name (PUT and COPY report per-file results)."""
        cursor = self._execute(statement, None)
        try:
            columns = [column[0].lower() for column in cursor.description or []]
            return [dict(zip(columns, row, strict=False)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _rowcount(self, statement: str, params: list[Any]) -> int:
        cursor = self._execute(statement, params)
        try:
            return int(cursor.rowcount or 0)
        finally:
            cursor.close()

    def _execute(self, statement: str, params: list[Any] | None) -> Any:
        import snowflake.connector

        cursor = self._conn.cursor()
        try:
            cursor.execute(statement, params)
        except snowflake.connector.errors.Error as error:
            cursor.close()
            raise WarehouseError(f"Snowflake: {error}") from error
        return cursor

    def _executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        import snowflake.connector

        cursor = self._conn.cursor()
        try:
            cursor.executemany(statement, rows)
        except snowflake.connector.errors.Error as error:
            raise WarehouseError(f"Snowflake: {error}") from error
        finally:
            cursor.close()

    def _rollback(self) -> None:
        try:
            self._conn.cursor().execute("ROLLBACK")
        except Exception:  # the session may be gone; Snowflake then aborts the transaction
            log.warning("ROLLBACK failed; Snowflake aborts the open transaction when the session ends")


def _ts(batch: PreparedBatch) -> str:
    return batch.loaded_at.isoformat(sep=" ", timespec="microseconds")
