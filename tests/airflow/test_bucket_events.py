"""S3 event notifications -> ObjectCreated: real MinIO and AWS payloads, deletes ignored, garbage never raises."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from tests.airflow.dag_inspection import DAGS

sys.path.insert(0, str(DAGS))  # the package as the scheduler sees it: a folder of the DAGs directory

from stockfeed_pipeline.bucket_events import ObjectCreated, object_created

pytestmark = pytest.mark.unit

# Published by the stack's MinIO (its Kafka target) in tests/integration/test_bucket_events.py for a put of
# "bronze/dt=2026-12-06/hour=08/12a35507427045c7a4dec1488f87c8a5 quote+1.jsonl"; the Kafka key is the value's "Key".
MINIO_PUT = (
    '{"EventName":"s3:ObjectCreated:Put","Key":"test-events-e9bc058f444a/bronze/dt=2026-12-06/hour=08/12a3550'
    '7427045c7a4dec1488f87c8a5 quote+1.jsonl","Records":[{"eventVersion":"2.0","eventSource":"minio:s3","awsR'
    'egion":"","eventTime":"2026-12-06T08:38:21.639Z","eventName":"s3:ObjectCreated:Put","userIdentity":{"pri'
    'ncipalId":"stockfeed"},"requestParameters":{"principalId":"stockfeed","region":"","sourceIPAddress":"127'
    '.0.0.1"},"responseElements":{"x-amz-id-2":"470a0afc0f6fdbebb6a8e14ece29122784c0656e19563387135a7c8e02feb'
    '163","x-amz-request-id":"18EE9D57C3A96801","x-minio-deployment-id":"72de3f30-0cca-4c43-8fc0-0054649b8805'
    '","x-minio-origin-endpoint":"http://127.0.0.1:19000"},"s3":{"s3SchemaVersion":"1.0","configurationId":"C'
    'onfig","bucket":{"name":"test-events-e9bc058f444a","ownerIdentity":{"principalId":"stockfeed"},"arn":"ar'
    'n:aws:s3:::test-events-e9bc058f444a"},"object":{"key":"bronze%2Fdt%3D2026-12-06%2Fhour%3D08%2F12a3550742'
    '7045c7a4dec1488f87c8a5+quote%2B1.jsonl","size":3,"eTag":"8a80554c91d9fca8acb82f023de02f11","contentType"'
    ':"binary/octet-stream","userMetadata":{"content-type":"binary/octet-stream"},"sequencer":"18EE9D57C3B05E'
    '55"}},"source":{"host":"127.0.0.1","port":"","userAgent":"Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linu'
    "x#6.18.44-fc-v1300 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,E,b,Z,e,U cfg/retry-mode#stan"
    'dard Botocore/1.44.8"}}]}'
)


def aws_record(event_name: str, key: str, bucket: str = "stockfeed-bronze") -> dict:
    """One record as AWS S3 sends it to SQS (event names without the "s3:" prefix)."""
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": "2026-12-06T09:10:11.123Z", "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "stockfeed-bronze-objects",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e"},
        },
    }  # fmt: skip


def test_a_real_minio_put_gives_the_decoded_key_and_a_utc_time() -> None:
    assert object_created(MINIO_PUT.encode()) == [
        ObjectCreated(
            bucket="test-events-e9bc058f444a",
            key="bronze/dt=2026-12-06/hour=08/12a35507427045c7a4dec1488f87c8a5 quote+1.jsonl",
            event_time=datetime(2026, 12, 6, 8, 38, 21, 639000, tzinfo=UTC),
        )
    ]
    assert object_created(MINIO_PUT) == object_created(MINIO_PUT.encode())  # str and bytes alike
    (found,) = object_created(MINIO_PUT)
    assert found.event_time.utcoffset() is not None
    assert found.event_time.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_an_aws_message_with_several_records_keeps_the_created_ones_in_order() -> None:
    message = {
        "Records": [
            aws_record("ObjectCreated:Put", "bronze/dt%3D2026-12-06/hour%3D09/part-0001.jsonl.gz"),
            aws_record("ObjectRemoved:Delete", "bronze/old.jsonl.gz"),
            aws_record("ObjectCreated:CompleteMultipartUpload", "bronze/big+file.jsonl.gz"),
        ]
    }
    found = object_created(json.dumps(message))
    assert [(item.bucket, item.key) for item in found] == [
        ("stockfeed-bronze", "bronze/dt=2026-12-06/hour=09/part-0001.jsonl.gz"),
        ("stockfeed-bronze", "bronze/big file.jsonl.gz"),
    ]
    assert {item.event_time for item in found} == {datetime(2026, 12, 6, 9, 10, 11, 123000, tzinfo=UTC)}


def test_a_delete_event_is_ignored() -> None:
    minio_delete = MINIO_PUT.replace("s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete")
    assert object_created(minio_delete) == []
    assert object_created(json.dumps({"Records": [aws_record("ObjectRemoved:Delete", "bronze/x")]})) == []


def test_offsets_are_converted_to_utc_and_a_time_without_one_is_taken_as_utc() -> None:
    shifted = aws_record("ObjectCreated:Put", "bronze/x")
    shifted["eventTime"] = "2026-12-06T10:10:11+01:00"
    naive = aws_record("ObjectCreated:Put", "bronze/y")
    naive["eventTime"] = "2026-12-06T09:10:11"
    times = [item.event_time for item in object_created(json.dumps({"Records": [shifted, naive]}))]
    assert times == [datetime(2026, 12, 6, 9, 10, 11, tzinfo=UTC)] * 2
    assert all(time.tzinfo is UTC for time in times)


def test_a_bad_record_is_skipped_and_its_neighbours_count() -> None:
    broken = aws_record("ObjectCreated:Put", "bronze/broken")
    broken["eventTime"] = "yesterday"
    message = {"Records": [broken, "not a record", aws_record("ObjectCreated:Put", "bronze/good")]}
    assert [item.key for item in object_created(json.dumps(message))] == ["bronze/good"]


def _without(path: tuple[str, ...]) -> str:
    record = aws_record("ObjectCreated:Put", "bronze/x")
    node = record
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return json.dumps({"Records": [record]})


GARBAGE = [
    None,  # a tombstone
    b"",
    "",
    b"not json",
    b"\xff\xfe\x00garbage",  # not UTF-8
    b"null",
    b"42",
    b'"a string"',
    b"[]",
    b"[{}]",
    b"{}",
    b'{"Records": null}',
    b'{"Records": {}}',
    b'{"Records": "x"}',
    b'{"Records": [null, 1, "x", []]}',
    b'{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T09:00:00.000Z","Bucket":"b"}',
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's recursion limit
    b'{"Records": [' + b"9" * 10_000 + b"]}",  # an integer longer than Python converts
    json.dumps({"Records": [{**aws_record("ObjectCreated:Put", "bronze/x"), "eventName": 7}]}),
    json.dumps({"Records": [{**aws_record("ObjectCreated:Put", "bronze/x"), "eventTime": 1_765_000_000}]}),
    json.dumps(
        {"Records": [{**aws_record("ObjectCreated:Put", "bronze/x"), "eventTime": "0001-01-01T00:00:00+05:00"}]}
    ),
    json.dumps({"Records": [{**aws_record("ObjectCreated:Put", "bronze/x"), "s3": []}]}),
    json.dumps({"Records": [{**aws_record("ObjectCreated:Put", "bronze/x"), "s3": {"bucket": "b", "object": "k"}}]}),
    json.dumps({"Records": [aws_record("ObjectCreated:Put", "")]}),
    _without(("eventName",)),
    _without(("eventTime",)),
    _without(("s3",)),
    _without(("s3", "bucket", "name")),
    _without(("s3", "object", "key")),
]


@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gives_nothing_and_never_raises(value: bytes | str | None) -> None:
    assert object_created(value) == []
