"""S3 event notifications (MinIO's, or AWS S3's as delivered to SQS) -> the objects they report as created.

Pure and standard library only: the asset watcher imports this inside the scheduler's own environment, which has
none of the project's packages. One bad message must never stop the watcher, so `object_created` never raises:
whatever it cannot read yields no objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

# MinIO names events "s3:ObjectCreated:Put"; AWS S3 records say "ObjectCreated:Put".
_CREATED = "ObjectCreated:"


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str  # decoded: the object's real key
    event_time: datetime  # timezone-aware, UTC


def object_created(value: bytes | str | None) -> list[ObjectCreated]:
    """The ObjectCreated records of one notification message, in message order; [] for anything unreadable.

    A record that is not an ObjectCreated event or lacks a field is skipped; the message's other records count.
    """
    if not isinstance(value, bytes | str):  # None is a tombstone
        return []
    try:
        message = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a number too long, nesting too deep
        return []
    records = message.get("Records") if isinstance(message, dict) else None
    if not isinstance(records, list):  # e.g. AWS's s3:TestEvent, sent once when a queue is configured
        return []
    found = [_record(record) for record in records]
    return [item for item in found if item is not None]


def _record(record: Any) -> ObjectCreated | None:
    if not isinstance(record, dict):
        return None
    name = record.get("eventName")
    if not isinstance(name, str) or not name.removeprefix("s3:").startswith(_CREATED):
        return None
    s3 = record.get("s3")
    bucket = _dig(s3, "bucket", "name")
    key = _dig(s3, "object", "key")
    when = _utc(record.get("eventTime"))
    if not bucket or not key or when is None:
        return None
    # Keys arrive URL-encoded as in a query string: "a b+c" is sent as "a+b%2Bc".
    return ObjectCreated(bucket=bucket, key=unquote_plus(key), event_time=when)


def _dig(node: Any, outer: str, inner: str) -> str | None:
    child = node.get(outer) if isinstance(node, dict) else None
    leaf = child.get(inner) if isinstance(child, dict) else None
    return leaf if isinstance(leaf, str) else None


def _utc(raw: Any) -> datetime | None:
    """ISO 8601 as both servers write it ("2026-12-06T08:35:55.351Z"); a time without an offset is taken as UTC."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an offset that pushes the time past year 1 or 9999
        return None
