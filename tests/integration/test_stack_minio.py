"""The stack's MinIO is a real S3 endpoint: pagination past 1000 keys, get, multipart upload."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.integration


def test_listing_paginates_past_1000_keys(s3, s3_bucket: str) -> None:
    keys = [f"bronze/dt=2026-11-27/hour={i % 24:02d}/obj-{i:05d}.json" for i in range(1100)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=s3_bucket, Key=key, Body=key.encode()), keys))

    first = s3.list_objects_v2(Bucket=s3_bucket)
    assert first["KeyCount"] == 1000, "a single listing stops at 1000 keys"
    assert first["IsTruncated"]

    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket))
    listed = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert len(pages) >= 2
    assert sorted(listed) == sorted(keys)

    assert s3.get_object(Bucket=s3_bucket, Key=keys[1042])["Body"].read() == keys[1042].encode()


def test_multipart_upload_roundtrips(s3, s3_bucket: str) -> None:
    part_size = 5 * 1024 * 1024  # S3's minimum for every part but the last
    data = os.urandom(part_size * 2 + 12345)
    upload = s3.create_multipart_upload(Bucket=s3_bucket, Key="big.bin")
    parts = []
    for number, start in enumerate(range(0, len(data), part_size), start=1):
        answer = s3.upload_part(
            Bucket=s3_bucket, Key="big.bin", UploadId=upload["UploadId"], PartNumber=number,
            Body=data[start : start + part_size],
        )  # fmt: skip
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(
        Bucket=s3_bucket, Key="big.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    head = s3.head_object(Bucket=s3_bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3"), "a multipart object's ETag counts its parts"
    body = s3.get_object(Bucket=s3_bucket, Key="big.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_conditional_put_refuses_to_overwrite(s3, s3_bucket: str) -> None:
    from botocore.exceptions import ClientError

    s3.put_object(Bucket=s3_bucket, Key="once", Body=b"first")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=s3_bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=s3_bucket, Key="once")["Body"].read() == b"first"
