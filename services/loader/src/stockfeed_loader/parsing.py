"""Turn one downloaded bronze object into the file the warehouse loads, or the reason it cannot be loaded.

The loaded file is gzip NDJSON again, one line per record: `{"object_key": <key>, "v": <the original line>}`.
The record itself is kept byte for byte; the wrapper carries the object key into the raw table's lineage
column with one COPY per batch (Snowflake's COPY transformations, e.g. METADATA$FILENAME, are not used so
that the same statements run on the fakesnow stand-in).
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import IO, Any

from stockfeed_contracts import reason_invalid

# fast, still a few times smaller than the text; the staged file is deleted after the batch
STAGED_GZIP_LEVEL = 3


class RejectedObjectError(ValueError):
    """The object cannot be loaded as it is; the message is the quarantine reason stored in the ledger."""


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity, JSON (and both warehouses) do not
    raise ValueError(f"{name} is not valid JSON")


# expected_schema value for "whichever contract the record names": quotes and trades share the raw table,
# and dbt splits them by schema_version.
ANY_CONTRACT = "any"


def check_line(text: str, line_no: int, expected_schema: str | None) -> None:
    """Raise RejectedObjectError unless `text` is one JSON object following `expected_schema` (a version such as
    quote.v1, or ANY_CONTRACT for the record's own); None checks only that it is a JSON object."""
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise RejectedObjectError(f"line {line_no}: bad JSON: {error}") from None
    if not isinstance(record, dict):
        raise RejectedObjectError(f"line {line_no}: a JSON {type(record).__name__}, not an object")
    pinned = None if expected_schema == ANY_CONTRACT else expected_schema
    if expected_schema is not None and (reason := reason_invalid(record, pinned)) is not None:
        raise RejectedObjectError(f"line {line_no}: {reason}")


def wrap_line(key_json: str, text: str) -> str:
    """One staged line: the record verbatim inside `{"object_key": ..., "v": ...}`."""
    return f'{{"object_key":{key_json},"v":{text}}}\n'


def convert(source: IO[bytes], target: IO[bytes], object_key: str, expected_schema: str | None) -> int:
    """Read gzip NDJSON from `source`, write the staged form to `target` (gzip); return the record count.

    Blank lines are skipped. Raises RejectedObjectError for bad gzip, bad UTF-8, bad JSON or a contract violation.
    """
    key_json = json.dumps(object_key)
    rows = 0
    try:
        with (
            gzip.GzipFile(fileobj=source, mode="rb") as lines,
            gzip.GzipFile(fileobj=target, mode="wb", compresslevel=STAGED_GZIP_LEVEL) as out,
        ):
            for line_no, raw in enumerate(lines, start=1):
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError as error:
                    raise RejectedObjectError(f"line {line_no}: bad UTF-8: {error}") from None
                if not text:
                    continue
                check_line(text, line_no, expected_schema)
                out.write(wrap_line(key_json, text).encode("utf-8"))
                rows += 1
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise RejectedObjectError(f"bad gzip: {error or type(error).__name__}") from None
    return rows
