"""Issue 19: content and keys that once stopped every run (or loaded wrongly) end in a quarantine with a reason."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stockfeed_loader.fetch import prepare_object, staged_name
from stockfeed_loader.keys import ListedObject, first_future_hour, future_reason, watermark_range
from stockfeed_loader.parsing import Limits, RejectedObjectError, check_line, convert, parse_record

pytestmark = pytest.mark.unit

PREFIX = "bronze/topic=stock-quotes/"
KEY = f"{PREFIX}dt=2024-05-01/hour=01/stock-quotes+0+00000000000000000042.ndjson.gz"


def reason_of(data: bytes, limits: Limits, expected_schema: str | None = None) -> str:
    with pytest.raises(RejectedObjectError) as rejected:
        convert(io.BytesIO(data), io.BytesIO(), KEY, expected_schema, limits)
    return str(rejected.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"symbol": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"\\udc00": 1}', "lone UTF-16 surrogate"),
        ('{"a": ["x", {"b": "\\uDBFF"}]}', "lone UTF-16 surrogate"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"x": ' + "[" * 128 + "]" * 128 + "}", "nested more than 128 levels deep"),
        ('{"c": 1e400}', "out of the double range"),
        ('{"c": -1e400}', "out of the double range"),
        ('{"c": -5, "c": 1.0}', "duplicate key 'c'"),
        ('{"a": {"b": 1, "b": 1}}', "duplicate key 'b'"),
        ('{"c": NaN}', "NaN is not valid JSON"),
    ],
)
def test_json_that_a_warehouse_reads_otherwise_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_record(text)
    with pytest.raises(RejectedObjectError, match=f"line 1: bad JSON: .*{reason}"):
        check_line(text, 1, None)


@pytest.mark.parametrize(
    "text",
    [
        '{"x": ' + "[" * 127 + "]" * 127 + "}",
        '{"a": "\\ud83d\\ude00"}',
        '{"a": "\\\\ud800"}',
        '{"c": 1e308}',
        '{"a": {"b": 1}, "b": 2}',
        '{"s": "é"}',
    ],
)
def test_json_both_warehouses_read_alike_still_passes(text: str) -> None:
    assert parse_record(text) == json.loads(text)


def test_a_line_past_the_cap_is_refused_without_reading_it_whole() -> None:
    assert "line 2: longer than 1000 bytes (LOADER_MAX_LINE_BYTES)" in reason_of(
        gzip.compress(b"{}\n" + b"0" * 50_000_000), Limits(max_line_bytes=1000)
    )


def test_a_line_exactly_at_the_cap_passes() -> None:
    line = b'{"a":"' + b"x" * 992 + b'"}'  # 1000 bytes
    assert convert(io.BytesIO(gzip.compress(line + b"\n" + line)), io.BytesIO(), KEY, None, Limits(1000)) == 2


def test_a_gzip_bomb_is_refused_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(b"{}\n" * 5_000_000)  # 15 MB from ~30 KB
    assert len(bomb) < 100_000
    assert "LOADER_MAX_DECOMPRESSED_BYTES" in reason_of(bomb, Limits(max_decompressed_bytes=1_000_000))


def test_staged_names_stay_short_for_long_keys() -> None:
    long_key = f"{PREFIX}dt=2024-05-01/hour=01/{'q' * 250}.ndjson.gz"
    name = staged_name(7, long_key)
    assert len(name.encode()) < 200
    assert name.startswith("00007-")
    assert name.endswith(".ndjson.gz")


class FakeS3:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.reads += 1
        return {"ETag": '"e"', "Body": io.BytesIO(self.data)}


def test_an_object_over_the_size_cap_is_quarantined_unread(tmp_path: Path) -> None:
    (tmp_path / "batch").mkdir()
    s3 = FakeS3(gzip.compress(b"{}\n"))
    prepared = prepare_object(s3, "b", ListedObject(KEY, "e", 5000), 0, tmp_path / "batch", None, Limits(), 4096)
    assert prepared is not None
    assert prepared.reason == "larger than 4096 bytes (LOADER_MAX_OBJECT_BYTES)"
    assert s3.reads == 0


def test_an_object_larger_than_listed_is_cut_at_the_cap(tmp_path: Path) -> None:
    (tmp_path / "batch").mkdir()
    s3 = FakeS3(b"x" * 10_000)
    prepared = prepare_object(s3, "b", ListedObject(KEY, "e", 10), 0, tmp_path / "batch", None, Limits(), 4096)
    assert prepared is not None
    assert "LOADER_MAX_OBJECT_BYTES" in str(prepared.reason)
    assert list((tmp_path / "batch").iterdir()) == []


def test_a_long_key_with_good_content_loads(tmp_path: Path) -> None:
    (tmp_path / "batch").mkdir()
    long_key = f"{PREFIX}dt=2024-05-01/hour=01/{'q' * 250}.ndjson.gz"
    s3 = FakeS3(gzip.compress(b'{"a": 1}\n'))
    prepared = prepare_object(s3, "b", ListedObject(long_key, "e", 10), 0, tmp_path / "batch", None)
    assert prepared is not None
    assert prepared.reason is None
    assert prepared.rows == 1


NOW = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)


def future_key(day: str, hour: int) -> str:
    return f"{PREFIX}dt={day}/hour={hour:02d}/stock-quotes+0+00000000000000000001.ndjson.gz"


def test_keys_more_than_the_allowed_hours_ahead_are_future() -> None:
    first = first_future_hour(NOW, 2)
    assert first == datetime(2026, 12, 6, 6)
    assert future_reason(future_key("2026-12-06", 5), first) is None  # inside the allowance (clock skew)
    assert future_reason(future_key("2026-12-06", 3), first) is None
    assert future_reason(future_key("2024-01-01", 0), first) is None
    assert future_reason("bronze/topic=stock-quotes/odd-name.ndjson.gz", first) is None
    reason = future_reason(future_key("2026-12-06", 6), first)
    assert reason == "hour 2026-12-06T06 is in the future (LOADER_MAX_FUTURE_HOURS)"
    assert future_reason(future_key("9999-12-31", 23), first) is not None


def test_the_watermark_range_stops_below_the_first_future_hour() -> None:
    key_range = watermark_range(PREFIX, first_future_hour(NOW, 2))
    assert key_range.contains(future_key("2026-12-06", 5))
    upper = key_range.upper
    assert upper is not None
    assert future_key("2026-12-06", 5) < upper <= future_key("2026-12-06", 6) < future_key("9999-12-31", 23)
