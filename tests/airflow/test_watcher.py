"""The bucket-events watcher's decision: which messages start a run, and which are already covered by one."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.airflow.dag_inspection import DAGS

sys.path.insert(0, str(DAGS))  # the package as the triggerer sees it: a folder of the DAGs directory

from stockfeed_pipeline import watcher
from stockfeed_pipeline.bucket_events import ObjectCreated

pytestmark = pytest.mark.unit

NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def landed(bucket: str, key: str, when: datetime) -> ObjectCreated:
    return ObjectCreated(bucket=bucket, key=key, event_time=when)


class FakeMessage:
    def __init__(self, value: bytes | None) -> None:
        self._value = value

    def value(self) -> bytes | None:
        return self._value


def s3_event(bucket: str, key: str, when: datetime) -> FakeMessage:
    record = {"eventName": "s3:ObjectCreated:Put", "eventTime": when.isoformat().replace("+00:00", "Z"),
              "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}  # fmt: skip
    return FakeMessage(json.dumps({"EventName": "s3:ObjectCreated:Put", "Records": [record]}).encode())


@pytest.fixture(autouse=True)
def fresh_watcher() -> None:
    watcher._last_fired.clear()


def test_before_any_firing_every_object_of_the_bucket_counts() -> None:
    objects = [landed("demo", "bronze/a", NOON), landed("other", "bronze/b", NOON)]
    assert watcher.uncovered(objects, "demo", None) == [objects[0]]
    assert watcher.uncovered(objects, "", None) == objects  # no bucket filter: any bucket's objects


def test_an_object_that_landed_before_the_last_firing_is_covered() -> None:
    fired = NOON
    old = landed("demo", "bronze/old", fired - timedelta(seconds=10))
    new = landed("demo", "bronze/new", fired + timedelta(seconds=1))
    assert watcher.uncovered([old, new], "demo", fired) == [new]


def test_clock_skew_errs_towards_an_extra_run() -> None:
    # within CLOCK_SKEW of the firing the object may have landed after it on the triggerer's clock: not covered
    close = landed("demo", "bronze/close", NOON - watcher.CLOCK_SKEW + timedelta(milliseconds=1))
    assert watcher.uncovered([close], "demo", NOON) == [close]


def test_the_first_event_fires_and_a_backlog_behind_it_does_not() -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    first = watcher.bronze_object_landed(s3_event("demo", "bronze%2Fa.json", past), bucket="demo")
    assert first == {"bucket": "demo", "key": "bronze/a.json", "event_time": past.isoformat(), "objects": 1}
    # objects that landed before that firing are loaded by the run it queued
    backlog = s3_event("demo", "bronze%2Fb.json", past + timedelta(seconds=30))
    assert watcher.bronze_object_landed(backlog, bucket="demo") is None
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert watcher.bronze_object_landed(s3_event("demo", "bronze%2Fc.json", later), bucket="demo") is not None


def test_other_buckets_and_bad_messages_never_fire() -> None:
    now = datetime.now(UTC)
    assert watcher.bronze_object_landed(s3_event("someone-else", "bronze%2Fa", now), bucket="demo") is None
    for value in (None, b"", b"not json", b"[]", b'{"Records": [{"eventName": "s3:ObjectRemoved:Delete"}]}'):
        assert watcher.bronze_object_landed(FakeMessage(value), bucket="demo") is None
    assert watcher._last_fired == {}


def test_each_bucket_filter_keeps_its_own_firing_time() -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    assert watcher.bronze_object_landed(s3_event("a", "bronze%2Fx", past), bucket="a") is not None
    assert watcher.bronze_object_landed(s3_event("b", "bronze%2Fx", past), bucket="b") is not None
