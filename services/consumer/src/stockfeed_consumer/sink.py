"""The S3 side: one boto3 client for any S3 endpoint (MinIO by default), bucket creation, object writes.

botocore's own retries are off: the writer retries with its own backoff and never commits on a failure,
and a bounded attempt keeps a revoke or shutdown from hanging on a dead endpoint.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from stockfeed_consumer.config import ConsumerSettings

log = logging.getLogger(__name__)


class ObjectSink(Protocol):
    def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None: ...


class S3Sink:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: ConsumerSettings) -> S3Sink:
        # without keys: boto3's default chain (AWS_* env, web identity, instance profile)
        access_key = settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None
        secret_key = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        config = Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=min(5.0, settings.s3_timeout_seconds),
            read_timeout=settings.s3_timeout_seconds,
            max_pool_connections=max(10, settings.upload_workers * 2),
            s3={"addressing_style": "path"},  # MinIO and most S3-compatible stores
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region, config=config,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        )  # fmt: skip
        return cls(client, settings.bucket)

    def ensure_bucket(self, create: bool) -> None:
        """Raise unless the bucket exists; create it first when allowed."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status != 404 or not create:
                raise
        region = self.client.meta.region_name
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
            log.info("created bucket %s", self.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        """Write one object; returns once the store has acknowledged it (durable), raises otherwise."""
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/gzip", Metadata=metadata
        )
