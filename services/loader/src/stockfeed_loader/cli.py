"""`stockfeed-load`: one run, a one-line summary on stdout, an optional JSON report (LOADER_REPORT_FILE), and an
exit code Airflow can act on.

Exit codes: 0 all new objects loaded (or none new); 1 the run finished but quarantined at least one object;
2 configuration error; 3 S3 or warehouse error (the current batch was rolled back; a re-run is safe), or the
report could not be written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stockfeed_loader import sql
from stockfeed_loader.config import (
    LoaderSettings,
    TargetKind,
    load_settings,
    s3_access_key_id,
    s3_secret,
    snowflake_credentials,
)
from stockfeed_loader.errors import ConfigError, SourceError, WarehouseError
from stockfeed_loader.runner import RunSummary, run
from stockfeed_loader.warehouse import Warehouse, kill_at

EXIT_OK = 0
EXIT_QUARANTINED = 1
EXIT_CONFIG = 2
EXIT_FAILED = 3

log = logging.getLogger("stockfeed_loader")


def parse_args(argv: Sequence[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="stockfeed-load",
        description="Load new bronze objects into the warehouse raw table. Every flag has a LOADER_* variable.",
    )
    parser.add_argument("--bucket", help="LOADER_BUCKET")
    parser.add_argument(
        "--prefix",
        dest="prefixes",
        action="append",
        help="LOADER_PREFIXES: an explicit topic directory instead of discovery; repeatable",
    )
    parser.add_argument(
        "--topic", dest="topics", action="append", help="LOADER_TOPICS: load only this discovered topic; repeatable"
    )
    parser.add_argument("--target", choices=[kind.value for kind in TargetKind], help="LOADER_TARGET")
    parser.add_argument("--duckdb-path", help="LOADER_DUCKDB_PATH")
    parser.add_argument("--recheck-hours", type=int, help="LOADER_RECHECK_HOURS")
    parser.add_argument("--max-objects", type=int, help="LOADER_MAX_OBJECTS (0: no limit)")
    parser.add_argument("--batch-objects", type=int, help="LOADER_BATCH_OBJECTS")
    parser.add_argument(
        "--full-rescan",
        action="store_const",
        const=True,
        help="list whole prefixes, ignoring the watermark (finds objects that arrived after the window)",
    )
    parser.add_argument("--dry-run", action="store_const", const=True, help="list what would be loaded, load nothing")
    parser.add_argument(
        "--report-file", help="LOADER_REPORT_FILE: write a finished run's counts there as JSON (not on --dry-run)"
    )
    parser.add_argument("--log-level", help="LOADER_LOG_LEVEL")
    return {key: value for key, value in vars(parser.parse_args(argv)).items() if value is not None}


def make_s3_client(settings: LoaderSettings) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    # Timestamps stay text: the loader never reads LastModified, and botocore's date parsing cost about
    # a millisecond per listed key, the largest part of listing the re-check window.
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    return session.create_client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=s3_access_key_id(settings),
        aws_secret_access_key=s3_secret(settings),
        config=Config(
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=max(10, settings.fetch_concurrency),
        ),
    )


def make_warehouse(settings: LoaderSettings) -> Warehouse:
    checkpoint = kill_at(settings.test_kill_at)
    if settings.resolved_target is TargetKind.SNOWFLAKE:
        from stockfeed_loader import snowflake_target

        names = sql.Names(settings.schema_name, settings.table, settings.ledger_table, settings.database)
        connection = snowflake_target.connect(settings, snowflake_credentials(settings))
        return snowflake_target.SnowflakeWarehouse(
            connection, names, settings.snowflake_stage, settings.snowflake_landing_table, checkpoint
        )
    from stockfeed_loader.duckdb_target import DuckDBWarehouse

    names = sql.Names(settings.schema_name, settings.table, settings.ledger_table)
    return DuckDBWarehouse(settings.duckdb_path, names, checkpoint)


def format_summary(summary: RunSummary, status: str, error: str | None = None) -> str:
    kinds = summary.rows_by_kind
    line = (
        f"stockfeed-load status={status} target={summary.target} run={summary.run_id} "
        f"objects={summary.loaded + summary.quarantined} loaded={summary.loaded} "
        f"quarantined={summary.quarantined} rows={summary.rows} quote_rows={kinds.quotes} "
        f"trade_rows={kinds.trades} other_rows={kinds.other} listed={summary.listed} new={summary.new} "
        f"batches={summary.batches} seconds={summary.seconds:.2f}"
    )
    return f"{line} error={error!r}" if error else line


def run_report(summary: RunSummary, status: str) -> dict[str, Any]:
    """What LOADER_REPORT_FILE receives: the DAG picks the dbt models to build from `rows_by_kind`."""
    return {
        "run": summary.run_id,
        "status": status,
        "objects": summary.loaded + summary.quarantined,
        "rows": summary.rows,
        "rows_by_kind": summary.rows_by_kind.as_dict(),
    }


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write `report` to `path` as JSON through a temporary file in the same directory and a rename, so a reader
    finds the whole report or none. The directory must exist (on Kubernetes: the XCom volume)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o644)  # not mkstemp's 0600: the XCom sidecar may read as another user
            json.dump(report, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def exit_code(summary: RunSummary) -> int:
    return EXIT_QUARANTINED if summary.quarantined else EXIT_OK


def _failed(summary: RunSummary, started: float, error: str) -> int:
    summary.seconds = time.monotonic() - started
    print(format_summary(summary, "error", error), flush=True)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    try:
        settings = load_settings(**parse_args(argv))
    except ConfigError as error:
        print(f"stockfeed-load: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("snowflake.connector", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    if settings.report_file is not None:  # a report left by an earlier run must not pass for this one's
        with contextlib.suppress(FileNotFoundError):
            settings.report_file.unlink()
    summary = RunSummary(target=settings.resolved_target.value, run_id="-")
    warehouse: Warehouse | None = None
    try:
        warehouse = make_warehouse(settings)
        run(settings, make_s3_client(settings), warehouse, summary)
    except ConfigError as error:
        print(f"stockfeed-load: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (SourceError, WarehouseError) as error:
        log.error("run failed: %s", error)
        return _failed(summary, started, str(error))
    except Exception as error:  # a bug: still one summary line and the "failed, re-run is safe" code
        log.exception("run failed unexpectedly")
        return _failed(summary, started, f"{type(error).__name__}: {error}")
    finally:
        if warehouse is not None:
            warehouse.close()
    summary.seconds = time.monotonic() - started  # the whole run, connecting included
    for key in summary.quarantined_keys:
        log.warning("quarantined: %s (see the ledger for the reason)", key)
    status = "dry-run" if settings.dry_run else ("quarantined" if summary.quarantined else "ok")
    if settings.report_file is not None and not settings.dry_run:
        try:
            write_report(settings.report_file, run_report(summary, status))
        except OSError as error:
            # the rows are committed, but the DAG cannot tell which models they touch: fail the task
            problem = f"LOADER_REPORT_FILE: cannot write {settings.report_file}: {error.strerror or error}"
            log.error("%s", problem)
            return _failed(summary, started, problem)
    print(format_summary(summary, status), flush=True)
    return exit_code(summary)


if __name__ == "__main__":
    sys.exit(main())
