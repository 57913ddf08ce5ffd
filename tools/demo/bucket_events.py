"""Opt a bucket in to S3 event notifications: every object created under bronze/ is published to a queue target.

On the local stack the target is MinIO's Kafka target (the env file's DEVSTACK_S3_EVENTS_ARN); on AWS it would be
an SQS queue's ARN. The Airflow asset watcher consumes what the target receives.
"""

from __future__ import annotations

import contextlib
from typing import Any

from stockfeed_contracts.lake import DEFAULT_PREFIX

CONFIGURATION_ID = "stockfeed-bronze-objects"
EVENTS = ["s3:ObjectCreated:*"]  # puts, copies and completed multipart uploads: every way an object appears


def notification_configuration(arn: str, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """boto3's NotificationConfiguration: one queue that receives every object created under `prefix`."""
    return {
        "QueueConfigurations": [
            {
                "Id": CONFIGURATION_ID,
                "QueueArn": arn,
                "Events": list(EVENTS),
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
            }
        ]
    }


def enable(s3_client: Any, bucket: str, arn: str) -> None:
    """Create `bucket` if it is missing and set its notification configuration; running it again changes nothing.

    The configuration replaces the bucket's whole notification configuration (S3's PUT has no merge).
    """
    try:
        s3_client.head_bucket(Bucket=bucket)
    except s3_client.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise  # 403 and the like: not ours to create
        region = s3_client.meta.region_name
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        with contextlib.suppress(s3_client.exceptions.BucketAlreadyOwnedByYou):  # a concurrent enable() won
            s3_client.create_bucket(Bucket=bucket, **extra)
    s3_client.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=notification_configuration(arn)
    )
