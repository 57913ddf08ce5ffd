"""Loader benchmark: does a run's cost follow the new objects or the loaded history?

Buckets in the local MinIO, DuckDB target: with 10, 1,000 and 10,000 already-loaded objects, and the same
100 new objects (same keys, same records) in each, spread over 1 topic and over 50 (`--topics`: the loader
discovers every `topic=` directory and keeps a watermark per topic, so 50 topics must not make it O(history)).
Each repetition resets the 100 new objects (deletes
their raw and ledger rows) and times one loader run per bucket, in a shuffled order, so machine load hits
all alike. Prints median run times, the ratio (target <= 1.2), rows/s into DuckDB, and for contrast the same
runs without the watermark (a full listing, which is how the original DAG's cost grew with the bucket).

    .venv/bin/python -m bench.loader [--repetitions 7] [--rows-per-object 20] [--recheck-hours 1] [--topics 1,50]

Needs MinIO from `devstack up minio` (DEVSTACK_* variables pick the stack instance).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from pydantic import SecretStr

from devstack import envfile
from devstack.settings import Settings
from stockfeed_contracts.lake import DEFAULT_PREFIX, QUOTES_TOPIC, bronze_key
from stockfeed_loader import runner, sql
from stockfeed_loader.batch import PreparedBatch
from stockfeed_loader.cli import make_s3_client
from stockfeed_loader.config import LoaderSettings, TargetKind
from stockfeed_loader.duckdb_target import DuckDBWarehouse

NEW_OBJECTS = 100
OBJECTS_PER_HOUR = 180  # 3 partitions flushing once a minute
FIRST_NEW_HOUR = datetime(2024, 6, 1, 0)
NAMES = sql.Names("COMMON", "BRONZE_STOCK_QUOTES_RAW", "BRONZE_LOAD_LEDGER")
TIME_LIMIT_S = 20 * 60


def topic_name(index: int, topics: int) -> str:
    return QUOTES_TOPIC if topics == 1 else f"{QUOTES_TOPIC}-{index % topics:02d}"


def object_key(index: int, topics: int = 1) -> str:
    """Object `index` (negative: already loaded, 0.. new) in hour order, 3 partitions, offsets increasing,
    dealt round-robin over `topics` topics."""
    position = index + 1_000_000  # keeps offsets positive and increasing with index
    hour = FIRST_NEW_HOUR + timedelta(hours=index // OBJECTS_PER_HOUR)
    timestamp_ms = int(hour.replace(tzinfo=UTC).timestamp() * 1000)
    return bronze_key(DEFAULT_PREFIX, topic_name(index, topics), position % 3, position, timestamp_ms)


def object_body(index: int, rows: int) -> bytes:
    lines = []
    for row in range(rows):
        t = 1_717_200_000 + index * rows + row
        record = {
            "c": 189.5, "d": 1.25, "dp": 0.66, "h": 190.0, "l": 187.1, "o": 188.0, "pc": 188.25, "t": t,
            "symbol": ("AAPL", "MSFT", "NVDA", "AMZN")[row % 4], "fetched_at": t + 0.25,
            "schema_version": "quote.v1", "source": "simulator", "feed": "bench",
        }  # fmt: skip
        lines.append(json.dumps(record))
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def s3_client(env: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env["DEVSTACK_S3_ENDPOINT"],
        aws_access_key_id=env["DEVSTACK_S3_ACCESS_KEY"],
        aws_secret_access_key=env["DEVSTACK_S3_SECRET_KEY"],
        region_name=env.get("DEVSTACK_S3_REGION", "us-east-1"),
        config=Config(max_pool_connections=32, retries={"max_attempts": 5, "mode": "standard"}),
    )


@contextmanager
def bucket_with(s3: Any, indexes: list[int], rows: int, topics: int) -> Iterator[str]:
    name = f"bench-loader-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    keys = [object_key(i, topics) for i in indexes]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket=name, Key=object_key(i, topics), Body=object_body(i, rows)),
                          indexes))  # fmt: skip
        yield name
    finally:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            s3.delete_objects(Bucket=name, Delete={"Objects": chunk, "Quiet": True})
        s3.delete_bucket(Bucket=name)


class TimedDuckDB(DuckDBWarehouse):
    """Counts the time spent inside load_batch (the DuckDB transaction), for rows/s into DuckDB."""

    insert_seconds = 0.0

    def load_batch(self, batch: PreparedBatch) -> int:
        started = time.perf_counter()
        try:
            return super().load_batch(batch)
        finally:
            TimedDuckDB.insert_seconds += time.perf_counter() - started


@dataclass
class Timing:
    seconds: float
    rows: int
    listed: int
    insert_seconds: float


def load(env: dict[str, str], bucket: str, db: Path, recheck_hours: int, full_rescan: bool = False) -> Timing:
    """One loader run (in-process: the same code path as the CLI, without interpreter start-up)."""
    settings = LoaderSettings(
        bucket=bucket,  # every topic under bronze/ is discovered (the default)
        s3_endpoint_url=env["DEVSTACK_S3_ENDPOINT"],
        s3_access_key_id=env["DEVSTACK_S3_ACCESS_KEY"],
        s3_secret_access_key=SecretStr(env["DEVSTACK_S3_SECRET_KEY"]),
        target=TargetKind.DUCKDB,
        duckdb_path=db,
        recheck_hours=recheck_hours,
        max_objects=0,
        full_rescan=full_rescan,
    )
    TimedDuckDB.insert_seconds = 0.0
    started = time.perf_counter()
    warehouse = TimedDuckDB(db, NAMES)
    try:
        summary = runner.run(settings, make_s3_client(settings), warehouse)
    finally:
        warehouse.close()
    return Timing(time.perf_counter() - started, summary.rows, summary.listed, TimedDuckDB.insert_seconds)


def forget_new_objects(db: Path, topics: int) -> None:
    """Undo the last run's 100 new objects so the next repetition loads the same ones again."""
    new_keys = [object_key(i, topics) for i in range(NEW_OBJECTS)]
    with duckdb.connect(str(db)) as conn:
        for table in (NAMES.raw, NAMES.ledger_table):
            conn.execute(f"DELETE FROM {table} WHERE list_contains(?::VARCHAR[], object_key)", [new_keys])


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loader", description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--rows-per-object", type=int, default=20)
    parser.add_argument(
        "--histories", default="10,1000,10000", help="already-loaded objects per bucket; first and last are compared"
    )
    parser.add_argument("--recheck-hours", type=int, default=LoaderSettings.model_fields["recheck_hours"].default)
    parser.add_argument("--topics", default="1,50", help="topic counts, one case each (objects dealt round-robin)")
    args = parser.parse_args()
    began = time.perf_counter()
    env = envfile.read(Settings.from_env().env_file)
    if "DEVSTACK_S3_ENDPOINT" not in env:
        raise SystemExit("MinIO is not up: run `devstack up minio` (with the same DEVSTACK_* variables)")
    s3 = s3_client(env)
    sizes = [int(part) for part in args.histories.split(",")]
    verdicts = []
    for topics in (int(part) for part in args.topics.split(",")):
        ratio = bench_case(env, s3, args, sizes, topics, began)
        verdicts.append(f"{topics} topic(s): {ratio:.2f} {'meets' if ratio <= 1.2 else 'MISSES'}")
    print(
        f"result: {sizes[-1]:,} vs {sizes[0]:,} already loaded, median ratio (target <= 1.2): "
        f"{'; '.join(verdicts)}; bench took {time.perf_counter() - began:.0f} s"
    )


def bench_case(
    env: dict[str, str], s3: Any, args: argparse.Namespace, sizes: list[int], topics: int, began: float
) -> float:
    """One topic count: every history size with and without the watermark; the watermark's median ratio."""
    rows = args.rows_per_object
    new = list(range(NEW_OBJECTS))
    print(
        f"loader bench, {topics} topic(s): {NEW_OBJECTS} new objects x {rows} rows, DuckDB target, re-check window "
        f"{args.recheck_hours} h, {OBJECTS_PER_HOUR} objects per hour, {args.repetitions} repetitions "
        "(buckets in shuffled order)"
    )
    results: dict[tuple[int, bool], list[Timing]] = {(size, f): [] for size in sizes for f in (False, True)}
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as scratch, ExitStack() as stack:
        buckets = {
            size: stack.enter_context(bucket_with(s3, list(range(-size, 0)) + new, rows, topics)) for size in sizes
        }
        dbs = {size: Path(scratch) / f"history-{size}.duckdb" for size in sizes}
        print(f"  setup: uploaded {sum(sizes) + len(sizes) * NEW_OBJECTS:,} objects")
        for size in sizes:
            seed_started = time.perf_counter()
            seeded = load(env, buckets[size], dbs[size], args.recheck_hours)  # history + new; new ones reset below
            seed_s = time.perf_counter() - seed_started
            print(
                f"  seeded {size:,} already-loaded objects (+{NEW_OBJECTS} new): {seeded.rows:,} rows in "
                f"{seed_s:.1f} s = {seeded.rows / seed_s:,.0f} rows/s end to end, "
                f"{seeded.rows / max(seeded.insert_seconds, 1e-9):,.0f} rows/s in DuckDB transactions"
            )
            forget_new_objects(dbs[size], topics)

        order = random.Random(42)  # a fresh order each repetition: no history size always runs first
        for _ in range(args.repetitions):
            for full_rescan in (False, True):
                for size in order.sample(sizes, len(sizes)):
                    if time.perf_counter() - began > TIME_LIMIT_S:
                        raise SystemExit(f"bench stopped: over {TIME_LIMIT_S} s")
                    timing = load(env, buckets[size], dbs[size], args.recheck_hours, full_rescan)
                    assert timing.rows == NEW_OBJECTS * rows, f"loaded {timing.rows} rows, not the new objects'"
                    results[(size, full_rescan)].append(timing)
                    forget_new_objects(dbs[size], topics)

    def report(label: str, full_rescan: bool) -> float:
        print(f"  {label}")
        print("    already loaded   median run   min      max      listed   rows/s end-to-end   rows/s in DuckDB")
        medians, minimums = {}, {}
        for size in sizes:
            timings = results[(size, full_rescan)]
            seconds = [t.seconds for t in timings]
            medians[size], minimums[size] = median(seconds), min(seconds)
            insert = median([t.insert_seconds for t in timings])
            print(
                f"    {size:>14,}   {medians[size]:8.3f} s  {min(seconds):6.3f}   {max(seconds):6.3f}   "
                f"{timings[0].listed:>6,}   {NEW_OBJECTS * rows / medians[size]:>17,.0f}   "
                f"{NEW_OBJECTS * rows / max(insert, 1e-9):>16,.0f}"
            )
        for name, values in (("median", medians), ("fastest", minimums)):
            ratios = ", ".join(f"{size:,} / {sizes[0]:,} = {values[size] / values[sizes[0]]:.2f}" for size in sizes[1:])
            print(f"    ratios of {name} run times: {ratios}")
        return medians[sizes[-1]] / medians[sizes[0]]

    ratio = report("with the per-topic listing watermark (the loader's default):", False)
    report("without it (--full-rescan: lists and compares every topic whole; grows with the bucket):", True)
    print(
        f"  {topics} topic(s): {sizes[-1]:,} vs {sizes[0]:,} already loaded: median ratio {ratio:.2f} (target <= 1.2)"
    )
    return ratio


if __name__ == "__main__":
    main()
