"""Object keys: a pure function of the batch's first record, laid out by date and hour."""

from __future__ import annotations

import pytest

from stockfeed_consumer.keys import hour_directory, object_key, object_name

pytestmark = pytest.mark.unit

# 2026-11-27 08:59:59.999 UTC and the next millisecond
BEFORE_NINE = 1_795_769_999_999
NINE = 1_795_770_000_000


def test_key_layout_names_topic_date_hour_partition_and_padded_offset() -> None:
    key = object_key("bronze", "stock-quotes", 2, 42, NINE)
    assert key == "bronze/topic=stock-quotes/dt=2026-11-27/hour=09/stock-quotes+2+00000000000000000042.ndjson.gz"


def test_the_hour_comes_from_the_first_record_timestamp_in_utc() -> None:
    assert hour_directory(BEFORE_NINE) == "dt=2026-11-27/hour=08"
    assert hour_directory(NINE) == "dt=2026-11-27/hour=09"


def test_unknown_timestamps_map_to_the_epoch_instead_of_failing() -> None:
    assert hour_directory(-1) == "dt=1970-01-01/hour=00"


def test_same_first_record_same_key() -> None:
    assert object_key("bronze", "t", 0, 7, NINE) == object_key("bronze", "t", 0, 7, NINE)
    assert object_key("bronze", "t", 0, 7, NINE) != object_key("bronze", "t", 0, 8, NINE)
    assert object_key("bronze", "t", 0, 7, NINE) != object_key("bronze", "t", 1, 7, NINE)


def test_keys_of_one_partition_and_hour_sort_by_offset() -> None:
    offsets = [0, 9, 10, 99, 100, 10**12, 2**63 - 1]
    keys = [object_key("bronze", "t", 0, offset, NINE) for offset in offsets]
    assert sorted(keys) == keys


@pytest.mark.parametrize(
    ("prefix", "head"), [("bronze", "bronze/"), ("/bronze/", "bronze/"), ("", ""), ("a/b", "a/b/")]
)
def test_prefix_slashes_are_normalised(prefix: str, head: str) -> None:
    assert object_key(prefix, "t", 0, 0, NINE) == f"{head}topic=t/dt=2026-11-27/hour=09/t+0+{0:020d}.ndjson.gz"


@pytest.mark.parametrize(
    ("topic", "partition", "offset"), [("bad/topic", 0, 0), ("", 0, 0), ("t", -1, 0), ("t", 0, -5)]
)
def test_impossible_names_are_refused(topic: str, partition: int, offset: int) -> None:
    with pytest.raises(ValueError, match=r"topic name|>= 0"):
        object_name(topic, partition, offset)
