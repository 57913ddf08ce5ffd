"""Object bodies: NDJSON lines, gzip with a fixed header (same lines, same bytes, same ETag), dead-letter lines."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from typing import Any

DEAD_LETTER_ENVELOPE = "stockfeed.dead-letter.v1"


def ndjson(lines: Sequence[bytes]) -> bytes:
    """Lines (each one JSON document without a newline) joined by newlines, with a final newline."""
    if not lines:
        return b""
    return b"\n".join(lines) + b"\n"


def gzip_body(data: bytes, level: int) -> bytes:
    """gzip with mtime 0 and no file name, so equal input gives equal output (and an equal ETag on rewrite)."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def encode_object(lines: Sequence[bytes], level: int) -> bytes:
    return gzip_body(ndjson(lines), level)


def decode_object(body: bytes) -> list[Any]:
    """The documents of an NDJSON.gz object (the inverse of encode_object; for tests, tools and the bench)."""
    text = gzip.decompress(body).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dead_letter_line(
    *, topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None, reason: str
) -> bytes:
    """One dead-letter record: where it came from, why it was rejected, and its original bytes (base64).

    No wall-clock field: a re-delivered batch must produce the same dead-letter object.
    """
    envelope = {
        "envelope": DEAD_LETTER_ENVELOPE,
        "reason": reason,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp_ms": timestamp_ms,
        "key_base64": _b64(key),
        "value_base64": _b64(value),
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode("utf-8")
