"""Object bodies: NDJSON + gzip, byte-identical for identical input; dead-letter envelopes."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from stockfeed_consumer.encoding import DEAD_LETTER_ENVELOPE, dead_letter_line, decode_object, encode_object, ndjson

pytestmark = pytest.mark.unit


def test_ndjson_is_one_document_per_line_with_a_final_newline() -> None:
    assert ndjson([b'{"a":1}', b'{"b":2}']) == b'{"a":1}\n{"b":2}\n'
    assert ndjson([]) == b""


def test_gzip_output_is_deterministic_so_a_rewrite_has_the_same_etag() -> None:
    lines = [json.dumps({"i": i}).encode() for i in range(1000)]
    first = encode_object(lines, 6)
    assert encode_object(list(lines), 6) == first
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME field: no wall clock in the bytes


def test_decode_reverses_encode() -> None:
    documents = [{"i": i, "s": "ünïcode"} for i in range(10)]
    body = encode_object([json.dumps(d, ensure_ascii=False).encode() for d in documents], 1)
    assert gzip.decompress(body).count(b"\n") == 10
    assert decode_object(body) == documents


def test_dead_letter_keeps_origin_reason_and_original_bytes() -> None:
    line = dead_letter_line(
        topic="stock-quotes",
        partition=1,
        offset=77,
        timestamp_ms=1234,
        key=b"AAPL",
        value=b"\xffnot json",
        reason="bad",
    )
    envelope = json.loads(line)
    assert envelope == {
        "envelope": DEAD_LETTER_ENVELOPE, "reason": "bad", "topic": "stock-quotes", "partition": 1, "offset": 77,
        "timestamp_ms": 1234, "key_base64": base64.b64encode(b"AAPL").decode(),
        "value_base64": base64.b64encode(b"\xffnot json").decode(),
    }  # fmt: skip
    assert b"\n" not in line


def test_dead_letter_of_a_tombstone_without_key() -> None:
    envelope = json.loads(
        dead_letter_line(topic="t", partition=0, offset=0, timestamp_ms=-1, key=None, value=None, reason="tombstone")
    )
    assert envelope["key_base64"] is None
    assert envelope["value_base64"] is None


def test_dead_letter_lines_are_deterministic() -> None:
    first = dead_letter_line(topic="t", partition=0, offset=5, timestamp_ms=9, key=b"k", value=b"v", reason="r")
    again = dead_letter_line(topic="t", partition=0, offset=5, timestamp_ms=9, key=b"k", value=b"v", reason="r")
    assert first == again
