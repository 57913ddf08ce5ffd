"""Pagination of the listing: StartAfter on the first page, continuation tokens after (no 1,000-key cap).

The real MinIO test (tests/integration/test_loader_runs.py) lists 1,500 objects; this one pins the request
sequence with a small in-memory bucket.
"""

from __future__ import annotations

from typing import Any

import pytest

from stockfeed_loader.listing import list_objects, list_topics

pytestmark = pytest.mark.unit


class PagedBucket:
    """Answers list_objects_v2 like S3 for a sorted list of keys, recording each request."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.requests: list[dict[str, Any]] = []

    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        start = int(request["ContinuationToken"]) if "ContinuationToken" in request else 0
        if "ContinuationToken" not in request and "StartAfter" in request:
            start = sum(1 for k in self.keys if k <= request["StartAfter"])
        matching = [k for k in self.keys[start:] if k.startswith(request["Prefix"])]
        page = matching[: request["MaxKeys"]]
        end = start + len(page)
        answer: dict[str, Any] = {
            "Contents": [{"Key": k, "ETag": f'"{i}"', "Size": 1} for i, k in enumerate(page)],
            "IsTruncated": len(matching) > len(page),
        }
        if answer["IsTruncated"]:
            answer["NextContinuationToken"] = str(end)
        return answer


def test_all_pages_are_read() -> None:
    bucket = PagedBucket([f"p/{i:04d}" for i in range(25)])
    listed = list(list_objects(bucket, "b", "p/", None, page_size=10))
    assert [o.key for o in listed] == [f"p/{i:04d}" for i in range(25)]
    assert len(bucket.requests) == 3
    assert "ContinuationToken" not in bucket.requests[0]
    assert bucket.requests[1]["ContinuationToken"] == "10"


def test_start_after_is_sent_once_and_skips_older_keys() -> None:
    bucket = PagedBucket([f"p/{i:04d}" for i in range(25)])
    listed = list(list_objects(bucket, "b", "p/", "p/0019", page_size=4))
    assert [o.key for o in listed] == [f"p/{i:04d}" for i in range(20, 25)]
    assert bucket.requests[0]["StartAfter"] == "p/0019"
    assert all("StartAfter" not in r for r in bucket.requests[1:])


def test_etags_lose_their_quotes() -> None:
    bucket = PagedBucket(["p/a"])
    assert next(iter(list_objects(bucket, "b", "p/", None))).etag == "0"


def test_an_empty_prefix_lists_nothing() -> None:
    assert list(list_objects(PagedBucket([]), "b", "p/", None)) == []


class DelimitedBucket(PagedBucket):
    """Answers a delimited list_objects_v2 like S3: keys below the delimiter fold into CommonPrefixes, paged."""

    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        prefix, delimiter = request["Prefix"], request["Delimiter"]
        folded = sorted(
            {prefix + k[len(prefix) :].split(delimiter, 1)[0] + delimiter for k in self.keys
             if k.startswith(prefix) and delimiter in k[len(prefix) :]}
        )  # fmt: skip
        start = int(request.get("ContinuationToken", 0))
        page = folded[start : start + request["MaxKeys"]]
        answer: dict[str, Any] = {"CommonPrefixes": [{"Prefix": p} for p in page]}
        answer["IsTruncated"] = start + len(page) < len(folded)
        if answer["IsTruncated"]:
            answer["NextContinuationToken"] = str(start + len(page))
        return answer


def test_topics_are_the_topic_directories_under_the_prefix_in_pages() -> None:
    keys = [
        f"bronze/topic=t{i:02d}/dt=2024-05-01/hour=0{h}/t{i:02d}+0+{h:020d}.ndjson.gz" for i in range(7) for h in (1, 2)
    ]
    keys += ["bronze/flat.ndjson.gz", "bronze/other/x.ndjson.gz", "dead-letter/topic=t99/x.ndjson.gz", "topic=root/x"]
    bucket = DelimitedBucket(keys)
    assert list_topics(bucket, "b", "bronze/", page_size=3) == [f"t{i:02d}" for i in range(7)]
    assert [r["Prefix"] for r in bucket.requests] == ["bronze/topic="] * 3
    assert all(r["Delimiter"] == "/" for r in bucket.requests)
    assert list_topics(bucket, "b", "") == ["root"]
