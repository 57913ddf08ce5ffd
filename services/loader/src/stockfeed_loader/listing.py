"""List a bucket with ListObjectsV2, page by page: the topic directories under a prefix, and a directory's objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stockfeed_contracts.lake import TOPIC_SEGMENT, topic_of_directory
from stockfeed_loader.errors import SourceError
from stockfeed_loader.keys import ListedObject

S3_PAGE_SIZE = 1000  # the most S3 returns per page


def list_topics(s3: Any, bucket: str, prefix: str, page_size: int = S3_PAGE_SIZE) -> list[str]:
    """The topics that have a `topic=<name>/` directory right under `prefix`, sorted.

    One request per 1,000 topics (the delimiter folds each directory into one CommonPrefixes entry), whatever
    the number of objects inside them.
    """
    head = prefix.strip("/")
    request = {"Prefix": f"{head}/{TOPIC_SEGMENT}" if head else TOPIC_SEGMENT, "Delimiter": "/"}
    topics = {
        topic_of_directory(prefix, item["Prefix"])
        for page in _pages(s3, bucket, request, page_size)
        for item in page.get("CommonPrefixes", [])
    }
    return sorted(topic for topic in topics if topic is not None)


def list_objects(
    s3: Any, bucket: str, prefix: str, start_after: str | None, page_size: int = S3_PAGE_SIZE
) -> Iterator[ListedObject]:
    """Every object under `prefix` whose key sorts after `start_after` (all of them for None), in key order."""
    request = {"Prefix": prefix, "StartAfter": start_after} if start_after else {"Prefix": prefix}
    for page in _pages(s3, bucket, request, page_size):
        for item in page.get("Contents", []):
            yield ListedObject(key=item["Key"], etag=item["ETag"].strip('"'), size=int(item["Size"]))


def _pages(s3: Any, bucket: str, arguments: dict[str, str], page_size: int) -> Iterator[dict[str, Any]]:
    """ListObjectsV2 answers, page by page: `arguments` on the first request, then the continuation token."""
    request: dict[str, Any] = {"Bucket": bucket, "MaxKeys": page_size, **arguments}
    while True:
        try:
            page: dict[str, Any] = s3.list_objects_v2(**request)
        except (BotoCoreError, ClientError) as error:
            raise SourceError(f"cannot list s3://{bucket}/{arguments['Prefix']}: {error}") from error
        yield page
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        request.pop("StartAfter", None)  # the token carries the position from here on
        request["ContinuationToken"] = token
