"""Opting a bucket in to event notifications: the configuration (pure) and the S3 calls (stubbed, no server)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))

import bucket_events

pytestmark = pytest.mark.unit

ARN = "arn:minio:sqs::stockfeed:kafka"


def test_one_queue_gets_every_object_created_under_the_prefix() -> None:
    assert bucket_events.notification_configuration(ARN) == {
        "QueueConfigurations": [
            {
                "Id": "stockfeed-bronze-objects",
                "QueueArn": ARN,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "bronze/"}]}},
            }
        ]
    }
    other = bucket_events.notification_configuration(ARN, prefix="silver/")
    assert other["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "silver/"}]


def client(region: str = "us-east-1") -> Any:
    return boto3.client("s3", region_name=region, aws_access_key_id="test", aws_secret_access_key="test")


def expect_put(stub: Stubber, bucket: str) -> None:
    configuration = bucket_events.notification_configuration(ARN)
    stub.add_response(
        "put_bucket_notification_configuration", {}, {"Bucket": bucket, "NotificationConfiguration": configuration}
    )


def test_a_missing_bucket_is_created_then_configured() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "404", http_status_code=404, expected_params={"Bucket": "b1"})
        stub.add_response("create_bucket", {}, {"Bucket": "b1"})
        expect_put(stub, "b1")
        bucket_events.enable(s3, "b1", ARN)
        stub.assert_no_pending_responses()


def test_outside_us_east_1_the_bucket_is_created_in_the_clients_region() -> None:
    s3 = client("eu-west-1")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "404", http_status_code=404, expected_params={"Bucket": "b1"})
        stub.add_response(
            "create_bucket",
            {},
            {"Bucket": "b1", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
        )
        expect_put(stub, "b1")
        bucket_events.enable(s3, "b1", ARN)
        stub.assert_no_pending_responses()


def test_enabling_twice_only_puts_the_same_configuration_again() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        for _ in range(2):
            stub.add_response("head_bucket", {}, {"Bucket": "b1"})
            expect_put(stub, "b1")
        bucket_events.enable(s3, "b1", ARN)
        bucket_events.enable(s3, "b1", ARN)
        stub.assert_no_pending_responses()


def test_a_bucket_created_concurrently_is_fine() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "404", http_status_code=404)
        stub.add_client_error("create_bucket", "BucketAlreadyOwnedByYou", http_status_code=409)
        expect_put(stub, "b1")
        bucket_events.enable(s3, "b1", ARN)
        stub.assert_no_pending_responses()


def test_a_forbidden_bucket_is_not_created() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "403", http_status_code=403)
        with pytest.raises(s3.exceptions.ClientError, match="403"):
            bucket_events.enable(s3, "b1", ARN)
        stub.assert_no_pending_responses()
