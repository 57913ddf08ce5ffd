"""Which records of a batch are valid JSON that follows its v1 contract, and why the others are not.

The contract itself is `stockfeed_contracts.reason_invalid`; this module only parses, with orjson: about
2.5x faster than the standard library here, and stricter in ways the warehouses downstream need (no NaN or
Infinity, no numbers that overflow to infinity, no lone surrogates, UTF-8 only).

Most records are fine, so each first goes through the contracts' fast path (one msgspec decode, about a
fifth of the cost of parsing and checking); only what it does not accept is parsed and judged in full, which
gives the verdict and the reason. The fast path is never laxer than that (tests/test_validation.py).

Duplicate keys are refused: Python, orjson and msgspec keep the last of them, DuckDB the first, and Snowflake's
COPY refuses the object, so one record would mean different things in different places. Both paths find them
without a second parse in the common case: every key is followed by a literal `:`, so a record whose bytes hold
no more colons than its document has keys (counting the colons inside its strings) cannot repeat a key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple, Union

import msgspec
import orjson

from stockfeed_contracts import reason_invalid
from stockfeed_contracts.fast import struct_for
from stockfeed_contracts.validate import SCHEMA_VERSIONS

# the deepest nesting a record may have, as the loader's (stockfeed_loader.parsing.MAX_DEPTH): deeper records
# could pass here and be refused there (Python's parser stops near 1,000 levels), quarantining their whole
# object; orjson's writer stops at 255. Contract records are flat.
MAX_DEPTH = 128


def nesting_depth(value: object, limit: int = MAX_DEPTH) -> int:
    """How deeply objects and arrays nest in `value` (a scalar: 0), counted up to just past `limit`."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


class Unparsable(NamedTuple):
    """Stands in for the document of a record that is not JSON; never equal to a parsed document."""

    reason: str


def parse_one(value: bytes | None) -> object:
    """The JSON document in `value`, or Unparsable with the reason."""
    if value is None:
        return Unparsable("no value (tombstone)")
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        detail = str(error)
        if "not valid UTF-8" in detail:
            return Unparsable(f"not UTF-8: {detail}")
        return Unparsable(f"not valid JSON: {detail}")
    if value.count(b"[") + value.count(b"{") > MAX_DEPTH and nesting_depth(document) > MAX_DEPTH:
        return Unparsable(f"nested more than {MAX_DEPTH} levels deep")
    # each key takes a colon: a dict with no more colons than keys, or a scalar, cannot repeat one
    if value.count(b":") > (len(document) if isinstance(document, dict) else 0):
        duplicate = duplicate_key(value)
        if duplicate is not None:
            return Unparsable(f"duplicate key {duplicate[:40]!r}")
    return document


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return record


def duplicate_key(value: bytes) -> str | None:
    """The first key some object of the JSON `value` repeats, or None (a second, slower parse)."""
    try:
        json.loads(value, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as found:
        return found.key
    except (ValueError, RecursionError):  # orjson accepted it; this parser may be stricter (e.g. depth)
        return None
    return None


@cache
def _fast_decoder() -> tuple[msgspec.json.Decoder[Any], dict[type, str], dict[type, int | None]]:
    """The contracts' fast-path types (one Struct per schema version, tagged by schema_version), and per type
    its number of keys when every field is required (None: it has optional fields, count them per record)."""
    structs = {struct_for(version): version for version in SCHEMA_VERSIONS}
    keys: dict[type, int | None] = {}
    for struct in structs:
        fields = msgspec.structs.fields(struct)
        keys[struct] = 1 + len(fields) if all(field.required for field in fields) else None  # +1: the tag
    return msgspec.json.Decoder(Union[tuple(structs)]), structs, keys  # noqa: UP007 (built at run time)


def _string_colons(values: tuple[Any, ...]) -> int:
    count = 0
    for item in values:
        if isinstance(item, str):
            count += item.count(":")
        elif isinstance(item, list):
            count += sum(element.count(":") for element in item if isinstance(element, str))
    return count


def fast_accepts(value: bytes, expected_schema: str | None) -> bool:
    """True if `value` surely follows its contract (and is `expected_schema`, if given) with no key repeated.

    msgspec validates each occurrence of a key and keeps the last, so a record is only accepted when its
    colons leave no room for a repeated key: the tag and each present field take one each, and the colons in
    its strings are counted when no escape can hide one. False proves nothing (the full check decides).
    """
    decoder, versions, all_keys = _fast_decoder()
    try:
        document = decoder.decode(value)
    except (ValueError, RecursionError):  # msgspec.DecodeError, UnicodeDecodeError (not UTF-8), deep nesting
        return False
    kind = type(document)
    if expected_schema is not None and versions[kind] != expected_schema:
        return False
    colons = value.count(b":")
    keys = all_keys[kind]
    if colons == keys:  # the common case: every field is required, no colon inside a string
        return True
    fields = msgspec.structs.astuple(document)
    if keys is None:
        keys = 1 + len(fields) - fields.count(msgspec.UNSET)  # the schema_version tag is a key too
        if colons == keys:
            return True
    return b"\\" not in value and colons == keys + _string_colons(fields)


def reasons_invalid(values: Sequence[bytes | None], expected_schema: str | None = None) -> list[str | None]:
    """Per value: None if it is valid JSON following its contract, else a one-line reason."""
    reasons: list[str | None] = []
    for value in values:
        if value is not None and fast_accepts(value, expected_schema):
            reasons.append(None)
            continue
        document = parse_one(value)
        if isinstance(document, Unparsable):
            reasons.append(document.reason)
        else:
            reasons.append(reason_invalid(document, expected_schema))
    return reasons


def as_ndjson_line(value: bytes) -> bytes:
    """The record's own bytes as one NDJSON line; re-encoded compactly only if it spans lines (pretty JSON)."""
    if b"\n" not in value:
        return value
    return orjson.dumps(orjson.loads(value))
