"""Download bronze objects and turn each into its staged file (or a quarantine reason), a few at a time."""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from stockfeed_loader.batch import PreparedObject
from stockfeed_loader.errors import SourceError
from stockfeed_loader.keys import ListedObject
from stockfeed_loader.parsing import DEFAULT_LIMITS, Limits, RejectedObjectError, convert_by_kind

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024
_IN_MEMORY_BYTES = 32 * 1024 * 1024


# the object's own name in its staged file name is cut to this (file names stop at 255 bytes; keys do not)
_NAME_CHARS = 120


def staged_name(index: int, key: str) -> str:
    """The file name inside the batch directory: unique by position, readable by the object's own name."""
    return f"{index:05d}-{key.rsplit('/', 1)[-1][-_NAME_CHARS:]}"


def _quarantined(obj: ListedObject, etag: str, reason: str) -> PreparedObject:
    log.warning("quarantining %s: %s", obj.key, reason)
    return PreparedObject(obj.key, etag, 0, None, reason)


def _copy_capped(body: Any, download: IO[bytes], max_bytes: int) -> bool:
    """Copy `body` into `download` chunk by chunk; False (copy stopped) once it exceeds `max_bytes`."""
    copied = 0
    while chunk := body.read(_CHUNK):
        copied += len(chunk)
        if copied > max_bytes:
            return False
        download.write(chunk)
    return True


def prepare_object(
    s3: Any,
    bucket: str,
    obj: ListedObject,
    index: int,
    directory: Path,
    expected_schema: str | None,
    limits: Limits = DEFAULT_LIMITS,
    max_object_bytes: int = 0,
) -> PreparedObject | None:
    """Download `obj`, convert it into `directory`; None if it vanished since the listing.

    The download completes before parsing starts, so S3 failures (SourceError: the run stops) are never
    mistaken for content failures (a quarantine reason). Small objects stay in memory, large ones spill to disk.
    An object over `max_object_bytes` (0: no cap) is quarantined without reading it all.
    """
    too_big = f"larger than {max_object_bytes} bytes (LOADER_MAX_OBJECT_BYTES)"
    if max_object_bytes and obj.size > max_object_bytes:
        return _quarantined(obj, obj.etag, too_big)
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES, dir=str(directory.parent)) as download:
        try:
            response = s3.get_object(Bucket=bucket, Key=obj.key)
            etag = str(response.get("ETag", obj.etag)).strip('"')
            with contextlib.closing(response["Body"]) as body:
                if not _copy_capped(body, download, max_object_bytes or sys.maxsize):
                    return _quarantined(obj, etag, too_big)
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
                kinds = convert_by_kind(download, sink, obj.key, expected_schema, limits)
        except RejectedObjectError as rejected:
            target.unlink(missing_ok=True)
            return _quarantined(obj, etag, str(rejected))
    if kinds.total == 0:
        target.unlink()  # nothing to copy; the ledger row alone records it
        return PreparedObject(obj.key, etag, 0, None)
    return PreparedObject(obj.key, etag, kinds.total, name, kinds=kinds)


def prepare_batch(
    s3: Any,
    bucket: str,
    objects: Sequence[ListedObject],
    directory: Path,
    expected_schema: str | None,
    concurrency: int,
    limits: Limits = DEFAULT_LIMITS,
    max_object_bytes: int = 0,
) -> list[PreparedObject]:
    """Prepare `objects` into `directory` (which must exist and be empty), keeping their order."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
        futures = [
            pool.submit(prepare_object, s3, bucket, obj, index, directory, expected_schema, limits, max_object_bytes)
            for index, obj in enumerate(objects)
        ]
        prepared = [future.result() for future in futures]
    return [item for item in prepared if item is not None]
