"""One run: find the topic directories, then for each find the objects the ledger lacks and load them in batches.

The directories are every `topic=<name>/` under LOADER_PREFIX (found by one delimited listing, so a new feed's
topic is loaded on the next run with no configuration), narrowed by LOADER_TOPICS when set; LOADER_PREFIXES
names directories explicitly instead. Each directory has its own watermark: the greatest key the ledger holds
inside it, so the listing of one topic starts near its own newest object whatever the other topics hold.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stockfeed_contracts.lake import topic_directory
from stockfeed_loader.batch import PreparedBatch, PreparedObject
from stockfeed_loader.config import LoaderSettings
from stockfeed_loader.fetch import prepare_batch
from stockfeed_loader.keys import (
    KeyRange,
    ListedObject,
    first_future_hour,
    future_reason,
    listing_start,
    plan_batches,
    select_new,
    watermark_range,
)
from stockfeed_loader.kinds import NO_ROWS, KindCounts
from stockfeed_loader.listing import list_objects, list_topics
from stockfeed_loader.parsing import ANY_CONTRACT, Limits
from stockfeed_loader.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    target: str
    run_id: str
    prefixes: int = 0
    listed: int = 0
    new: int = 0
    loaded: int = 0
    quarantined: int = 0
    rows: int = 0
    rows_by_kind: KindCounts = NO_ROWS  # `rows` split by kind (kinds.py): which dbt models the new rows touch
    batches: int = 0
    seconds: float = 0.0
    quarantined_keys: list[str] = field(default_factory=list)


def new_run_id(now: datetime) -> str:
    """Sortable and unique: the UTC start time plus random bits."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"


def run(settings: LoaderSettings, s3: Any, warehouse: Warehouse, summary: RunSummary | None = None) -> RunSummary:
    """Load every prefix's new objects; `summary` (if given) shows the progress made even when this raises."""
    started = time.monotonic()
    if summary is None:
        summary = RunSummary(target=warehouse.name, run_id="")
    summary.run_id = new_run_id(datetime.now(UTC))
    warehouse.ensure_tables()
    remaining = settings.max_objects  # 0: no limit
    directories = topic_directories(settings, s3)
    log.info("%d topic directories: %s", len(directories), ", ".join(directories))
    with tempfile.TemporaryDirectory(prefix="stockfeed-load-") as scratch:
        for prefix in directories:
            if settings.max_objects and remaining <= 0:
                break
            new = _find_new(settings, s3, warehouse, prefix, summary, remaining)
            remaining -= len(new)
            if settings.dry_run:
                for obj in new:
                    log.info("would load %s", obj.key)
                continue
            for objects in plan_batches(new, settings.batch_objects, settings.batch_bytes):
                _load_batch(settings, s3, warehouse, objects, Path(scratch), summary)
    summary.seconds = time.monotonic() - started
    return summary


def topic_directories(settings: LoaderSettings, s3: Any) -> list[str]:
    """The directories this run loads: LOADER_PREFIXES as given, else LOADER_TOPICS' or every discovered topic's."""
    if settings.prefixes:
        return list(settings.prefixes)
    topics = list(settings.topics) if settings.topics else list_topics(s3, settings.bucket, settings.prefix)
    return [topic_directory(settings.prefix, topic) for topic in topics]


def _find_new(
    settings: LoaderSettings, s3: Any, warehouse: Warehouse, prefix: str, summary: RunSummary, limit: int
) -> list[ListedObject]:
    """The objects under `prefix` the ledger lacks: list from the watermark's window, compare with the ledger."""
    key_range = KeyRange.for_prefix(prefix)
    summary.prefixes += 1
    # Only keys up to the current hour count: a key ahead of the clock (loaded within LOADER_MAX_FUTURE_HOURS, or
    # quarantined beyond it) would otherwise start the listing after itself and hide this hour's objects.
    next_hour = first_future_hour(datetime.now(UTC), 0)
    high_water = None if settings.full_rescan else warehouse.high_water_key(watermark_range(prefix, next_hour))
    start_after = listing_start(high_water, settings.recheck_hours)
    if high_water is not None and start_after is None:
        log.warning("high-water key %s is off the bronze key layout: listing all of %s", high_water, prefix)
    listed = list(list_objects(s3, settings.bucket, prefix, start_after))
    done = warehouse.ledger_keys(key_range, start_after)
    new = select_new(listed, done, settings.key_suffix, limit)
    summary.listed += len(listed)
    summary.new += len(new)
    late = sum(1 for obj in new if high_water is not None and obj.key < high_water)
    log.info("prefix %s: high-water %s, listed %d after %s", prefix, high_water, len(listed), start_after)
    log.info("prefix %s: %d new objects (%d late, i.e. below the high-water key)", prefix, len(new), late)
    return new


def _load_batch(
    settings: LoaderSettings,
    s3: Any,
    warehouse: Warehouse,
    objects: list[ListedObject],
    scratch: Path,
    summary: RunSummary,
) -> None:
    """Download and check the batch's objects, then load them with their ledger rows in one transaction."""
    summary.batches += 1
    directory = scratch / f"batch-{summary.batches:06d}"
    directory.mkdir()
    expected_schema = ANY_CONTRACT if settings.validate_contract else None
    first_future = first_future_hour(datetime.now(UTC), settings.max_future_hours)
    future = {obj.key: reason for obj in objects if (reason := future_reason(obj.key, first_future))}
    for key, reason in future.items():
        log.warning("quarantining %s: %s", key, reason)
    limits = Limits(settings.max_line_bytes, settings.max_decompressed_bytes)
    present = [obj for obj in objects if obj.key not in future]
    prepared = prepare_batch(
        s3,
        settings.bucket,
        present,
        directory,
        expected_schema,
        settings.fetch_concurrency,
        limits,
        settings.max_object_bytes,
    )
    prepared += [PreparedObject(obj.key, obj.etag, 0, None, future[obj.key]) for obj in objects if obj.key in future]
    batch = PreparedBatch(
        run_id=summary.run_id,
        sequence=summary.batches,
        loaded_at=datetime.now(UTC).replace(tzinfo=None),
        directory=directory,
        objects=tuple(prepared),
    )
    summary.rows += warehouse.load_batch(batch)
    # load_batch returned: the batch is committed, and its inserted count matched the staged rows
    summary.rows_by_kind += batch.staged_kinds
    for item in batch.objects:
        if item.reason is None:
            summary.loaded += 1
        else:
            summary.quarantined += 1
            summary.quarantined_keys.append(item.key)
    shutil.rmtree(directory)
    log.info("batch %d: %d objects, %d rows committed", batch.sequence, len(batch.objects), batch.staged_rows)
