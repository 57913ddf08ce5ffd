"""Which keys a run lists and loads: pure functions over key strings (no I/O).

Bronze keys (stockfeed_contracts.lake owns the layout) sort by time within a topic directory:
`<prefix>/topic=T/dt=YYYY-MM-DD/hour=HH/T+<partition>+<offset 20 digits>.ndjson.gz`.
A run lists from a point shortly before the ledger's high-water key (the re-check window, in hours of that
layout), so its cost follows the new objects, not the loaded history, and objects that arrive late for an
hour already passed (a lagging partition) are still found while they are inside the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stockfeed_contracts.lake import hour_directory, is_dead_letter, parse_bronze_key


@dataclass(frozen=True)
class ListedObject:
    """One object as the bucket listing reports it."""

    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class KeyRange:
    """All keys that start with `prefix`, as a half-open range [prefix, upper) a warehouse can prune on."""

    prefix: str
    upper: str | None  # None: no upper bound (the empty prefix)

    @classmethod
    def for_prefix(cls, prefix: str) -> KeyRange:
        return cls(prefix, prefix_upper_bound(prefix))

    def contains(self, key: str) -> bool:
        return key.startswith(self.prefix)


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (None for the empty prefix)."""
    stripped = prefix.rstrip(chr(0x10FFFF))
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def listing_start(high_water_key: str | None, recheck_hours: int) -> str | None:
    """The StartAfter for this run's listing: the start of the hour `recheck_hours` before the high-water key's.

    None means "list the whole prefix": on the first run (no high-water key yet) and for keys off the
    dt=/hour= layout, where no safe window can be computed.
    """
    if high_water_key is None:
        return None
    parsed = parse_bronze_key(high_water_key)
    if parsed is None:
        return None
    # "<topic directory>dt=D/hour=H/" sorts just before every key inside that hour's directory (StartAfter
    # is exclusive)
    return parsed.hour_directory_at(parsed.hour - timedelta(hours=recheck_hours))


def first_future_hour(now: datetime, max_future_hours: int) -> datetime:
    """The start of the first hour (naive UTC) that lies more than `max_future_hours` ahead of `now` (aware)."""
    ahead = now.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=max_future_hours)
    return ahead.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def future_reason(key: str, first_future: datetime) -> str | None:
    """Why a key cannot be loaded yet: its dt=/hour= is at or after `first_future` (a clock or a producer gone
    wrong; loading it would make it the watermark and hide every later object); None otherwise."""
    parsed = parse_bronze_key(key)
    if parsed is None or parsed.hour < first_future:
        return None
    return f"hour {parsed.hour:%Y-%m-%dT%H} is in the future (LOADER_MAX_FUTURE_HOURS)"


def watermark_range(prefix: str, end_hour: datetime) -> KeyRange:
    """The keys the watermark is taken from: the topic directory `prefix`, below the hour `end_hour`."""
    return KeyRange(prefix, f"{prefix}{hour_directory(end_hour)}/")


def is_loadable(key: str, suffix: str) -> bool:
    """Bronze data objects only: the configured suffix, never anything under a dead-letter directory."""
    return key.endswith(suffix) and not is_dead_letter(key)


def select_new(
    listed: Iterable[ListedObject], done: set[tuple[str, str]], suffix: str, limit: int = 0
) -> list[ListedObject]:
    """Loadable listed objects whose (key, ETag) the ledger lacks, in key order; at most `limit` (0: all).

    Matching on the ETag too means an object rewritten with other content (the consumer re-writing a
    batch after a crash) is loaded again, so its extra records are not lost; records it shares with the
    first version then appear twice in raw, which contract 4 allows (silver deduplicates).
    """
    new = sorted(
        (obj for obj in listed if is_loadable(obj.key, suffix) and (obj.key, obj.etag) not in done), key=_by_key
    )
    return new[:limit] if limit > 0 else new


def plan_batches(objects: list[ListedObject], max_objects: int, max_bytes: int) -> list[list[ListedObject]]:
    """Split `objects` (kept in order) into batches of at most `max_objects` and about `max_bytes` each.

    A single object larger than `max_bytes` still forms a batch of its own.
    """
    batches: list[list[ListedObject]] = []
    current: list[ListedObject] = []
    current_bytes = 0
    for obj in objects:
        if current and (len(current) >= max_objects or current_bytes + obj.size > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(obj)
        current_bytes += obj.size
    if current:
        batches.append(current)
    return batches


def _by_key(obj: ListedObject) -> str:
    return obj.key
