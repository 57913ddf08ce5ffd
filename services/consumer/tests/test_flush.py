"""A batch encoded into its objects: good records to the data prefix, bad ones to the dead-letter prefix."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from stockfeed_consumer.batching import CutReason, SealedBatch
from stockfeed_consumer.encoding import decode_object
from stockfeed_consumer.flush import Layout, ObjectKind, encode_flush

pytestmark = pytest.mark.unit

T0 = 1_795_770_000_000
LAYOUT = Layout("bronze", "dead-letter")


def quote(i: int) -> bytes:
    message: dict[str, Any] = {
        "schema_version": "quote.v1", "symbol": f"S{i}", "c": 10.0 + i, "d": 0.1, "dp": 0.01, "h": 11.0,
        "l": 9.0, "o": 10.0, "pc": 10.0, "t": 1_795_770_000 + i, "fetched_at": 1_795_770_000.0,
        "source": "simulator", "feed": "demo",
    }  # fmt: skip
    return json.dumps(message, separators=(",", ":")).encode()


def batch(values: list[bytes | None], first_offset: int = 100) -> SealedBatch:
    offsets = list(range(first_offset, first_offset + len(values)))
    return SealedBatch(
        topic="stock-quotes", partition=1, first_offset=first_offset, next_offset=offsets[-1] + 1,
        first_timestamp_ms=T0, offsets=offsets, timestamps=[T0 + i for i in range(len(values))],
        keys=[b"k"] * len(values), values=values, size_bytes=sum(len(v or b"") + 1 for v in values),
        reason=CutReason.RECORDS, sealed_at=1.0,
    )  # fmt: skip


def test_good_and_bad_records_go_to_twin_objects_named_after_the_first_offset() -> None:
    values: list[bytes | None] = [quote(0), b"garbage", quote(1), None, quote(2)]
    flush = encode_flush(batch(values), LAYOUT, gzip_level=6)
    data, dead = flush.objects
    name = "topic=stock-quotes/dt=2026-11-27/hour=09/stock-quotes+1+00000000000000000100.ndjson.gz"
    assert (data.kind, data.key) == (ObjectKind.DATA, f"bronze/{name}")
    assert (dead.kind, dead.key) == (ObjectKind.DEAD_LETTER, f"dead-letter/{name}")
    assert [doc["symbol"] for doc in decode_object(data.body)] == ["S0", "S1", "S2"]
    rejected = decode_object(dead.body)
    origins = [(r["offset"], r["partition"], r["topic"]) for r in rejected]
    assert origins == [(101, 1, "stock-quotes"), (103, 1, "stock-quotes")]
    assert base64.b64decode(rejected[0]["value_base64"]) == b"garbage"
    assert "not valid JSON" in rejected[0]["reason"]
    assert "tombstone" in rejected[1]["reason"]
    assert (flush.records, flush.dead_letters, flush.next_offset) == (5, 2, 105)
    assert data.metadata == {
        "topic": "stock-quotes", "partition": "1", "first-offset": "100", "next-offset": "105", "records": "3"
    }  # fmt: skip


def test_valid_records_are_written_byte_for_byte() -> None:
    values: list[bytes | None] = [quote(i) for i in range(3)]
    (data,) = encode_flush(batch(values), LAYOUT, gzip_level=1).objects
    assert decode_object(data.body) == [json.loads(v) for v in values if v is not None]
    assert gzip.decompress(data.body) == b"\n".join(v for v in values if v is not None) + b"\n"


def test_only_bad_records_make_only_a_dead_letter_object() -> None:
    flush = encode_flush(batch([b"{", b"[]"]), LAYOUT, gzip_level=6)
    assert [obj.kind for obj in flush.objects] == [ObjectKind.DEAD_LETTER]


def test_encoding_the_same_batch_twice_gives_the_same_bytes() -> None:
    values: list[bytes | None] = [*(quote(i) for i in range(50)), b"bad"]
    first = encode_flush(batch(values), LAYOUT, gzip_level=6)
    second = encode_flush(batch(values), LAYOUT, gzip_level=6)
    assert [(o.key, o.body) for o in first.objects] == [(o.key, o.body) for o in second.objects]
