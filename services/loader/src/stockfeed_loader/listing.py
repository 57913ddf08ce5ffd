"""List a bucket prefix with ListObjectsV2, page by page (StartAfter, then continuation tokens)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stockfeed_loader.errors import SourceError
from stockfeed_loader.keys import ListedObject

S3_PAGE_SIZE = 1000  # the most S3 returns per page


def list_objects(
    s3: Any, bucket: str, prefix: str, start_after: str | None, page_size: int = S3_PAGE_SIZE
) -> Iterator[ListedObject]:
    """Every object under `prefix` whose key sorts after `start_after` (all of them for None), in key order."""
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    if start_after:
        request["StartAfter"] = start_after
    while True:
        try:
            page = s3.list_objects_v2(**request)
        except (BotoCoreError, ClientError) as error:
            raise SourceError(f"cannot list s3://{bucket}/{prefix}: {error}") from error
        for item in page.get("Contents", []):
            yield ListedObject(key=item["Key"], etag=item["ETag"].strip('"'), size=int(item["Size"]))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        request.pop("StartAfter", None)  # the token carries the position from here on
        request["ContinuationToken"] = token
