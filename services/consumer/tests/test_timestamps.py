"""Issue 19: a Kafka record timestamp no bronze key can name (past the year 9999) makes a dead letter with
the reason, instead of an encode that fails and is retried forever."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stockfeed_consumer.batching import CutReason, SealedBatch
from stockfeed_consumer.encoding import decode_object
from stockfeed_consumer.flush import LAST_KEY_TIMESTAMP_MS, Layout, ObjectKind, encode_flush, timestamp_reason
from stockfeed_contracts.lake import bronze_key, parse_bronze_key

pytestmark = pytest.mark.unit

LAYOUT = Layout("bronze", "dead-letter")


def quote(i: int) -> bytes:
    message: dict[str, Any] = {
        "schema_version": "quote.v1", "symbol": f"S{i}", "c": 10.0 + i, "d": 0.1, "dp": 0.01, "h": 11.0,
        "l": 9.0, "o": 10.0, "pc": 10.0, "t": 1_795_770_000 + i, "fetched_at": 1_795_770_000.0,
        "source": "simulator", "feed": "demo",
    }  # fmt: skip
    return json.dumps(message, separators=(",", ":")).encode()


def batch(first_timestamp_ms: int, count: int = 3) -> SealedBatch:
    offsets = list(range(100, 100 + count))
    timestamps = [first_timestamp_ms + i for i in range(count)]
    values: list[bytes | None] = [quote(i) for i in range(count)]
    return SealedBatch(
        topic="stock-quotes", partition=1, first_offset=100, next_offset=100 + count,
        first_timestamp_ms=first_timestamp_ms, offsets=offsets, timestamps=timestamps,
        keys=[b"k"] * count, values=values, size_bytes=sum(len(v or b"") + 1 for v in values),
        reason=CutReason.RECORDS, sealed_at=1.0,
    )  # fmt: skip


def test_the_last_nameable_timestamp_is_the_end_of_the_year_9999() -> None:
    key = bronze_key("bronze", "t", 0, 0, LAST_KEY_TIMESTAMP_MS)
    assert "/dt=9999-12-31/hour=23/" in key
    with pytest.raises((ValueError, OverflowError, OSError)):
        bronze_key("bronze", "t", 0, 0, LAST_KEY_TIMESTAMP_MS + 1)
    assert timestamp_reason(LAST_KEY_TIMESTAMP_MS) is None
    assert timestamp_reason(-1) is None  # unknown: the epoch's directory, as before
    assert "past the year 9999" in str(timestamp_reason(LAST_KEY_TIMESTAMP_MS + 1))


@pytest.mark.parametrize("timestamp_ms", [LAST_KEY_TIMESTAMP_MS + 1, 10**15, 10**18, 2**63 - 1])
def test_records_with_an_undatable_timestamp_become_dead_letters(timestamp_ms: int) -> None:
    flush = encode_flush(batch(timestamp_ms), LAYOUT, gzip_level=6)
    (dead,) = flush.objects
    assert dead.kind is ObjectKind.DEAD_LETTER
    assert (
        dead.key == "dead-letter/topic=stock-quotes/dt=1970-01-01/hour=00/stock-quotes+1+00000000000000000100.ndjson.gz"
    )
    rejected = decode_object(dead.body)
    assert [record["offset"] for record in rejected] == [100, 101, 102]
    assert {record["timestamp_ms"] for record in rejected} == {timestamp_ms, timestamp_ms + 1, timestamp_ms + 2}
    assert all("past the year 9999" in record["reason"] for record in rejected)
    assert (flush.records, flush.dead_letters, flush.next_offset) == (3, 3, 103)
    assert encode_flush(batch(timestamp_ms), LAYOUT, gzip_level=6) == flush  # deterministic: a rewrite replaces it


def test_a_batch_at_the_last_hour_is_still_data() -> None:
    flush = encode_flush(batch(LAST_KEY_TIMESTAMP_MS - 10), LAYOUT, gzip_level=6)
    (data,) = flush.objects
    assert data.kind is ObjectKind.DATA
    parsed = parse_bronze_key(data.key)
    assert parsed is not None
    assert parsed.hour.year == 9999
