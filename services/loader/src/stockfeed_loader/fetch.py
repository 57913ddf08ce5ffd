"""Download bronze objects and turn each into its staged file (or a quarantine reason), a few at a time."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stockfeed_loader.batch import PreparedObject
from stockfeed_loader.errors import SourceError
from stockfeed_loader.keys import ListedObject
from stockfeed_loader.parsing import RejectedObjectError, convert

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024
_IN_MEMORY_BYTES = 32 * 1024 * 1024


def staged_name(index: int, key: str) -> str:
    """The file name inside the batch directory: unique by position, readable by the object's own name."""
    return f"{index:05d}-{key.rsplit('/', 1)[-1]}"


def prepare_object(
    s3: Any, bucket: str, obj: ListedObject, index: int, directory: Path, expected_schema: str | None
) -> PreparedObject | None:
    """Download `obj`, convert it into `directory`; None if it vanished since the listing.

    The download completes before parsing starts, so S3 failures (SourceError: the run stops) are never
    mistaken for content failures (a quarantine reason). Small objects stay in memory, large ones spill to disk.
    """
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES, dir=str(directory.parent)) as download:
        try:
            response = s3.get_object(Bucket=bucket, Key=obj.key)
            etag = str(response.get("ETag", obj.etag)).strip('"')
            shutil.copyfileobj(response["Body"], download, _CHUNK)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                log.warning("object %s disappeared after the listing; skipped", obj.key)
                return None
            raise SourceError(f"cannot read s3://{bucket}/{obj.key}: {error}") from error
        except (BotoCoreError, OSError) as error:
            raise SourceError(f"cannot read s3://{bucket}/{obj.key}: {error}") from error
        download.seek(0)

        name = staged_name(index, obj.key)
        target = directory / name
        try:
            with target.open("wb") as sink:
                rows = convert(download, sink, obj.key, expected_schema)
        except RejectedObjectError as rejected:
            target.unlink(missing_ok=True)
            log.warning("quarantining %s: %s", obj.key, rejected)
            return PreparedObject(obj.key, etag, 0, None, str(rejected))
    if rows == 0:
        target.unlink()  # nothing to copy; the ledger row alone records it
        return PreparedObject(obj.key, etag, 0, None)
    return PreparedObject(obj.key, etag, rows, name)


def prepare_batch(
    s3: Any,
    bucket: str,
    objects: Sequence[ListedObject],
    directory: Path,
    expected_schema: str | None,
    concurrency: int,
) -> list[PreparedObject]:
    """Prepare `objects` into `directory` (which must exist and be empty), keeping their order."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
        futures = [
            pool.submit(prepare_object, s3, bucket, obj, index, directory, expected_schema)
            for index, obj in enumerate(objects)
        ]
        prepared = [future.result() for future in futures]
    return [item for item in prepared if item is not None]
