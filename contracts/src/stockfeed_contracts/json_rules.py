"""How a record's JSON is read, one rule for every component: no key twice in an object, bounded nesting.

Python, orjson and msgspec keep the last of duplicate keys, DuckDB the first, and Snowflake's COPY refuses the
object, so one record would mean different things in different places: duplicates are refused (the consumer
dead-letters the record, the loader quarantines the object). Contract records are flat; Python's parser stops
near 1,000 levels and orjson's writer at 255, so anything nested deeper than MAX_DEPTH is refused everywhere,
and a record the consumer accepts is one the loader can read.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 128


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key[:40]!r}")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An `object_pairs_hook` for `json.loads` that raises DuplicateKeyError on a repeated key."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return record


def duplicate_key(raw: bytes | str) -> str | None:
    """The first key some object of the JSON `raw` repeats, or None (a second, slower parse: call it only when a
    cheaper count leaves room for a repeat)."""
    try:
        json.loads(raw, object_pairs_hook=unique_keys)
    except DuplicateKeyError as found:
        return found.key
    except (ValueError, RecursionError):  # not JSON to this parser; the caller's own parse gives that verdict
        return None
    return None


def nesting_depth(value: object, limit: int = MAX_DEPTH) -> int:
    """How deeply objects and arrays nest in `value` (a scalar: 0), counted up to just past `limit`."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest
