"""Turn one downloaded bronze object into the file the warehouse loads, or the reason it cannot be loaded.

The loaded file is gzip NDJSON again, one line per record: `{"object_key": <key>, "v": <the original line>}`.
The record itself is kept byte for byte; the wrapper carries the object key into the raw table's lineage
column with one COPY per batch (Snowflake's COPY transformations, e.g. METADATA$FILENAME, are not used so
that the same statements run on the fakesnow stand-in).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import IO, Any

from stockfeed_contracts import reason_invalid
from stockfeed_contracts.json_rules import MAX_DEPTH, nesting_depth, unique_keys
from stockfeed_loader.kinds import KINDS, KindCounts, record_kind

# fast, still a few times smaller than the text; the staged file is deleted after the batch
STAGED_GZIP_LEVEL = 3


class RejectedObjectError(ValueError):
    """The object cannot be loaded as it is; the message is the quarantine reason stored in the ledger."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one object's content, so that no object can exhaust memory, disk or time
    (LOADER_MAX_LINE_BYTES, LOADER_MAX_DECOMPRESSED_BYTES); an object past one is quarantined."""

    max_line_bytes: int = 1024 * 1024
    max_decompressed_bytes: int = 2 * 1024 * 1024 * 1024


DEFAULT_LIMITS = Limits()


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity, JSON (and both warehouses) do not
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # Python reads 1e400 as inf, which neither warehouse can store
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of the double range")
    return value


# a \uD800-\uDFFF escape: only then can a parsed string hold a surrogate (a lone one DuckDB refuses)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _lone_surrogate(value: Any) -> bool:
    """True if any string (key or value) in `value` holds a surrogate that did not pair up while parsing."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_record(text: str) -> Any:
    """`text` as JSON the way both warehouses read it; ValueError for anything one of them reads otherwise:
    NaN/Infinity, numbers past the double range, duplicate keys, lone surrogates, nesting Python cannot parse."""
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=unique_keys
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(value) > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(value):
        raise ValueError("a lone UTF-16 surrogate escape")
    return value


# expected_schema value for "whichever contract the record names": quotes and trades share the raw table,
# and dbt splits them by schema_version.
ANY_CONTRACT = "any"


def check_line(text: str, line_no: int, expected_schema: str | None) -> str:
    """Raise RejectedObjectError unless `text` is one JSON object following `expected_schema` (a version such as
    quote.v1, or ANY_CONTRACT for the record's own); None checks only that it is a JSON object.

    Returns the record's kind (kinds.record_kind), from the parse the check needs anyway.
    """
    try:
        record = parse_record(text)
    except ValueError as error:
        raise RejectedObjectError(f"line {line_no}: bad JSON: {error}") from None
    if not isinstance(record, dict):
        raise RejectedObjectError(f"line {line_no}: a JSON {type(record).__name__}, not an object")
    pinned = None if expected_schema == ANY_CONTRACT else expected_schema
    if expected_schema is not None and (reason := reason_invalid(record, pinned)) is not None:
        raise RejectedObjectError(f"line {line_no}: {reason}")
    return record_kind(record)


def wrap_line(key_json: str, text: str) -> str:
    """One staged line: the record verbatim inside `{"object_key": ..., "v": ...}`."""
    return f'{{"object_key":{key_json},"v":{text}}}\n'


def convert(
    source: IO[bytes], target: IO[bytes], object_key: str, expected_schema: str | None, limits: Limits = DEFAULT_LIMITS
) -> int:
    """convert_by_kind's record count alone (for callers that need no kinds, e.g. the corpus and fuzz tests)."""
    return convert_by_kind(source, target, object_key, expected_schema, limits).total


def convert_by_kind(
    source: IO[bytes], target: IO[bytes], object_key: str, expected_schema: str | None, limits: Limits = DEFAULT_LIMITS
) -> KindCounts:
    """Read gzip NDJSON from `source`, write the staged form to `target` (gzip); return the records per kind
    (their `total` is the record count).

    Blank lines are skipped. Raises RejectedObjectError for bad gzip, bad UTF-8, bad JSON, a contract violation,
    or content past `limits`. Reads line by line with a bounded buffer: memory stays near `max_line_bytes`.
    """
    key_json = json.dumps(object_key)
    tally = dict.fromkeys(KINDS, 0)  # one dict update per line; the tally is also the row count
    decompressed = 0
    try:
        with (
            gzip.GzipFile(fileobj=source, mode="rb") as lines,
            gzip.GzipFile(fileobj=target, mode="wb", compresslevel=STAGED_GZIP_LEVEL) as out,
        ):
            line_no = 0
            while raw := lines.readline(limits.max_line_bytes + 1):
                line_no += 1
                decompressed += len(raw)
                if decompressed > limits.max_decompressed_bytes:
                    raise RejectedObjectError(
                        f"more than {limits.max_decompressed_bytes} bytes decompressed (LOADER_MAX_DECOMPRESSED_BYTES)"
                    )
                if len(raw) > limits.max_line_bytes and not raw.endswith(b"\n"):
                    raise RejectedObjectError(
                        f"line {line_no}: longer than {limits.max_line_bytes} bytes (LOADER_MAX_LINE_BYTES)"
                    )
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError as error:
                    raise RejectedObjectError(f"line {line_no}: bad UTF-8: {error}") from None
                if not text:
                    continue
                kind = check_line(text, line_no, expected_schema)
                out.write(wrap_line(key_json, text).encode("utf-8"))
                tally[kind] += 1
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise RejectedObjectError(f"bad gzip: {error or type(error).__name__}") from None
    return KindCounts(**tally)
