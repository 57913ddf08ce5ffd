"""What a batch hands to the warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from stockfeed_loader.batch import LOADED, QUARANTINED, PreparedBatch, PreparedObject, ledger_rows
from stockfeed_loader.fetch import staged_name
from stockfeed_loader.kinds import KindCounts

pytestmark = pytest.mark.unit

WHEN = datetime(2024, 5, 1, 1, 2, 3)


def batch(*objects: PreparedObject) -> PreparedBatch:
    return PreparedBatch("20240501T010203-abc", 7, WHEN, Path("/tmp/b"), objects)


def test_only_objects_with_rows_are_staged() -> None:
    good = PreparedObject("a", "e1", 3, "00000-a")
    empty = PreparedObject("b", "e2", 0, None)
    bad = PreparedObject("c", "e3", 0, None, "bad gzip")
    prepared = batch(good, empty, bad)
    assert prepared.staged == (good,)
    assert prepared.staged_rows == 3
    assert [o.status for o in prepared.objects] == [LOADED, LOADED, QUARANTINED]


def test_rows_per_kind_sum_over_the_staged_objects_only() -> None:
    quotes = PreparedObject("a", "e1", 3, "00000-a", kinds=KindCounts(quotes=3))
    mixed = PreparedObject("b", "e2", 4, "00001-b", kinds=KindCounts(quotes=1, trades=2, other=1))
    bad = PreparedObject("c", "e3", 0, None, "bad gzip")
    assert bad.kinds == KindCounts()  # a quarantined object has no rows of any kind
    prepared = batch(quotes, mixed, bad)
    assert prepared.staged_kinds == KindCounts(quotes=4, trades=2, other=1)
    assert prepared.staged_kinds.total == prepared.staged_rows
    assert batch(bad).staged_kinds == KindCounts()


def test_every_object_gets_a_ledger_row_with_the_batch_time() -> None:
    rows = ledger_rows(batch(PreparedObject("a", "e1", 3, "00000-a"), PreparedObject("c", "e3", 0, None, "why")))
    assert [(r.object_key, r.status, r.reason, r.row_count) for r in rows] == [
        ("a", LOADED, None, 3),
        ("c", QUARANTINED, "why", 0),
    ]
    assert {r.loaded_at for r in rows} == {WHEN}
    assert {r.run_id for r in rows} == {"20240501T010203-abc"}


def test_stage_path_is_unique_per_run_and_batch() -> None:
    assert batch().stage_path == "20240501T010203-abc/000007"


def test_staged_names_keep_the_object_name_and_cannot_collide() -> None:
    a = staged_name(0, "p/dt=2024-05-01/hour=01/stock-quotes+0+00000000000000000001.ndjson.gz")
    b = staged_name(1, "p/dt=2024-05-01/hour=02/stock-quotes+0+00000000000000000001.ndjson.gz")
    assert a == "00000-stock-quotes+0+00000000000000000001.ndjson.gz"
    assert a != b
