"""Key selection: the listing watermark, the re-check window, filtering and batching."""

from __future__ import annotations

import pytest

from stockfeed_loader.keys import (
    KeyRange,
    ListedObject,
    is_loadable,
    listing_start,
    plan_batches,
    prefix_upper_bound,
    select_new,
)

pytestmark = pytest.mark.unit

PREFIX = "bronze/topic=stock-quotes/"


def key(day: str, hour: int, partition: int, offset: int) -> str:
    return f"{PREFIX}dt={day}/hour={hour:02d}/stock-quotes+{partition}+{offset:020d}.ndjson.gz"


def obj(name: str, size: int = 10, etag: str = "e") -> ListedObject:
    return ListedObject(key=name, etag=etag, size=size)


def test_upper_bound_is_just_past_every_key_with_the_prefix() -> None:
    upper = prefix_upper_bound(PREFIX)
    assert upper == "bronze/topic=stock-quotes0"
    assert upper is not None
    assert key("2024-05-01", 0, 0, 0) < upper
    assert upper <= "bronze/topic=stock-quotes0"
    assert upper < "bronze/topic=stock-trades/x"  # a sibling topic is outside the range


def test_empty_prefix_has_no_upper_bound() -> None:
    assert prefix_upper_bound("") is None
    assert KeyRange.for_prefix("") == KeyRange("", None)


def test_first_run_lists_everything() -> None:
    assert listing_start(None, recheck_hours=2) is None


def test_listing_starts_at_the_hour_directory_before_the_window() -> None:
    start = listing_start(key("2024-05-01", 10, 2, 500), recheck_hours=2)
    assert start == f"{PREFIX}dt=2024-05-01/hour=08/"
    # StartAfter is exclusive, yet the first key of hour 08 still sorts after it; hour 07 sorts before
    assert key("2024-05-01", 8, 0, 0) > start
    assert key("2024-05-01", 7, 9, 999) < start


def test_window_crosses_midnight() -> None:
    assert listing_start(key("2024-05-01", 1, 0, 0), recheck_hours=3) == f"{PREFIX}dt=2024-04-30/hour=22/"


def test_zero_window_still_rechecks_the_high_water_hour() -> None:
    assert listing_start(key("2024-05-01", 1, 0, 0), recheck_hours=0) == f"{PREFIX}dt=2024-05-01/hour=01/"


def test_off_layout_high_water_key_means_a_full_listing() -> None:
    assert listing_start("bronze/flat/file.ndjson.gz", recheck_hours=2) is None


@pytest.mark.parametrize(
    ("name", "loadable"),
    [
        (key("2024-05-01", 1, 0, 0), True),
        ("dead-letter/topic=stock-quotes/dt=2024-05-01/hour=01/x.ndjson.gz", False),
        (f"{PREFIX}dead-letter/x.ndjson.gz", False),
        (f"{PREFIX}dt=2024-05-01/hour=01/x.ndjson.gz.tmp", False),
        (f"{PREFIX}dt=2024-05-01/hour=01/x.json", False),
        (f"{PREFIX}dt=2024-05-01/hour=01/dead-letter-ish.ndjson.gz", True),  # only a whole segment excludes
    ],
)
def test_only_bronze_data_objects_are_loadable(name: str, loadable: bool) -> None:
    assert is_loadable(name, ".ndjson.gz") is loadable


def test_select_new_skips_the_ledger_and_sorts_by_key() -> None:
    a, b, c = key("2024-05-01", 1, 0, 0), key("2024-05-01", 1, 1, 0), key("2024-05-01", 2, 0, 5)
    listed = [obj(c), obj(a), obj(b), obj("dead-letter/x.ndjson.gz")]
    assert [o.key for o in select_new(listed, done={(b, "e")}, suffix=".ndjson.gz")] == [a, c]


def test_an_object_rewritten_with_new_content_is_new_again() -> None:
    a = key("2024-05-01", 1, 0, 0)
    assert select_new([obj(a, etag="v2")], done={(a, "v1")}, suffix=".ndjson.gz") == [obj(a, etag="v2")]
    assert select_new([obj(a, etag="v1")], done={(a, "v1")}, suffix=".ndjson.gz") == []


def test_select_new_limit_keeps_the_oldest_keys() -> None:
    keys = [key("2024-05-01", h, 0, h) for h in range(5)]
    chosen = select_new([obj(k) for k in reversed(keys)], done=set(), suffix=".ndjson.gz", limit=2)
    assert [o.key for o in chosen] == keys[:2]


def test_batches_split_by_count() -> None:
    objects = [obj(f"k{i}") for i in range(5)]
    assert [len(b) for b in plan_batches(objects, max_objects=2, max_bytes=10**9)] == [2, 2, 1]


def test_batches_split_by_size_and_an_oversized_object_gets_its_own() -> None:
    objects = [obj("a", 40), obj("b", 40), obj("c", 500), obj("d", 10)]
    batches = plan_batches(objects, max_objects=100, max_bytes=100)
    assert [[o.key for o in b] for b in batches] == [["a", "b"], ["c"], ["d"]]


def test_no_objects_no_batches() -> None:
    assert plan_batches([], max_objects=10, max_bytes=10) == []
