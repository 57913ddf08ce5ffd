"""The three fuzz targets of issue 19: each draws one input from a seeded generator and checks its properties.

A property that fails raises (AssertionError for a wrong answer, anything else for a crash); the runner records the
input and the traceback. The targets:

- contract: `reason_invalid(doc)` and `accepts_json(raw)` never raise, and the fast path is never laxer than the
  full check (`accepts_json(raw)` True implies `reason_invalid(orjson.loads(raw)) is None`).
- loader: `parsing.convert` on any object's bytes either stages rows or raises RejectedObjectError with a reason;
  every staged line is strict JSON (what the warehouses accept: no NaN, no lone surrogates, no overflow, no
  repeated key).
- consumer: `reasons_invalid` never raises, gives one str-or-None per value, None only when the value is strict
  JSON that the full contract check accepts with no key repeated, every reason is one line, and every value it
  accepts is a line the loader's parser accepts too (else one record would quarantine its whole bronze object).
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tests.fuzz import generators as gen

BRONZE_KEY = "bronze/topic=stock-quotes/dt=2026-12-06/hour=03/stock-quotes+0+00000000000000000042.ndjson.gz"


@dataclass(frozen=True)
class Target:
    name: str
    draw: Callable[[random.Random], Any]
    check: Callable[[Any], None]


class _RepeatedKeyError(Exception):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _RepeatedKeyError(sorted(key for key in set(keys) if keys.count(key) > 1)[0])
    return dict(pairs)


def repeated_key(raw: bytes | str) -> str | None:
    """A key some object of the JSON text repeats (issue 19: refused everywhere), or None (also when unsure)."""
    try:
        json.loads(raw, object_pairs_hook=_no_repeats)
    except _RepeatedKeyError as error:
        return str(error)
    except (ValueError, RecursionError):
        return None
    return None


def _reason_shape(reason: object, where: str) -> None:
    assert reason is None or isinstance(reason, str), f"{where}: a {type(reason).__name__}, not str or None"
    if isinstance(reason, str):
        assert reason, f"{where}: an empty reason"
        assert "\n" not in reason, f"{where}: the reason spans lines: {reason!r}"


# --- contract ------------------------------------------------------------------------------------------------------


def draw_contract(rng: random.Random) -> tuple[Any, bytes, str | None]:
    document = gen.any_document(rng)
    raw = gen.record_bytes(rng) if rng.random() < 0.6 else gen.dumps(document, rng)
    return document, raw, rng.choice(gen.EXPECTED_SCHEMAS)


def check_contract(case: tuple[Any, bytes, str | None]) -> None:
    from stockfeed_contracts import reason_invalid
    from stockfeed_contracts.fast import accepts_json

    document, raw, expected = case
    _reason_shape(reason_invalid(document, expected), "reason_invalid(document)")
    accepted = accepts_json(raw, expected)
    assert isinstance(accepted, bool), f"accepts_json returned {accepted!r}"
    if accepted:
        parsed = orjson.loads(raw)  # raises if the fast path took bytes that are not strict JSON
        reason = reason_invalid(parsed, expected)
        assert reason is None, f"the fast path accepted what the full check refuses: {reason}"


# --- loader --------------------------------------------------------------------------------------------------------


# (max_line_bytes, max_decompressed_bytes): small bounds, so that the loader's size limits are reached too
LoaderLimits = tuple[int, int] | None


def draw_loader(rng: random.Random) -> tuple[bytes, str | None, LoaderLimits]:
    limits = (rng.choice((1, 64, 300, 1024)), rng.choice((100, 1000, 10**6))) if rng.random() < 0.3 else None
    return gen.bronze_object(rng), rng.choice((None, "any", "quote.v1", "trade.v1")), limits


def check_loader(case: tuple[bytes, str | None, LoaderLimits]) -> None:
    from stockfeed_contracts import reason_invalid
    from stockfeed_loader.parsing import ANY_CONTRACT, Limits, RejectedObjectError, convert

    data, expected, limits = case
    bounds = Limits() if limits is None else Limits(max_line_bytes=limits[0], max_decompressed_bytes=limits[1])
    target = io.BytesIO()
    try:
        rows = convert(io.BytesIO(data), target, BRONZE_KEY, expected, bounds)
    except RejectedObjectError as error:
        _reason_shape(str(error), "RejectedObjectError")
        return
    assert isinstance(rows, int), f"convert returned {rows!r}"
    staged = gzip.decompress(target.getvalue()).split(b"\n")[:-1]  # NDJSON: \n only (\r is JSON whitespace)
    assert len(staged) == rows, f"{rows} rows counted, {len(staged)} staged"
    prefix = f'{{"object_key":{json.dumps(BRONZE_KEY)},"v":'.encode()
    for line in staged:
        assert line.startswith(prefix), f"staged line {line[:80]!r} lacks its wrapper"
        assert len(line) - len(prefix) - 1 <= bounds.max_line_bytes, "staged a line longer than the limit"
        wrapper = orjson.loads(line)  # strict: what the warehouses' JSON parsers accept
        assert wrapper["object_key"] == BRONZE_KEY
        record = wrapper["v"]
        assert isinstance(record, dict), f"staged a {type(record).__name__}"
        if expected is not None:
            pinned = None if expected == ANY_CONTRACT else expected
            assert reason_invalid(record, pinned) is None, "staged a record its contract refuses"
        assert repeated_key(line) is None, f"staged a record with a repeated key {repeated_key(line)!r}"


# --- consumer ------------------------------------------------------------------------------------------------------


def draw_consumer(rng: random.Random) -> tuple[list[bytes | None], str | None]:
    values: list[bytes | None] = [gen.record_bytes(rng) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.1:
        values.append(None)
    return values, rng.choice(gen.EXPECTED_SCHEMAS)


def check_consumer(case: tuple[list[bytes | None], str | None]) -> None:
    from stockfeed_consumer.validation import as_ndjson_line, reasons_invalid
    from stockfeed_contracts import reason_invalid
    from stockfeed_loader.parsing import ANY_CONTRACT, check_line

    values, expected = case
    reasons = reasons_invalid(values, expected)
    assert isinstance(reasons, list), f"returned {type(reasons).__name__}"
    assert len(reasons) == len(values), f"{len(values)} values, {len(reasons)} reasons"
    for value, reason in zip(values, reasons, strict=True):
        _reason_shape(reason, "reasons_invalid")
        if reason is None:
            assert value is not None, "a tombstone passed"
            document = orjson.loads(value)  # None only for strict JSON
            full = reason_invalid(document, expected)
            assert full is None, f"passed a value the full check refuses: {full}"
            assert repeated_key(value) is None, f"passed a value with a repeated key {repeated_key(value)!r}"
            # what the consumer writes to bronze, the loader loads: else one record quarantines its whole object
            check_line(as_ndjson_line(value).decode("utf-8").strip(), 1, expected or ANY_CONTRACT)


TARGETS = {
    "contract": Target("contract", draw_contract, check_contract),
    "loader": Target("loader", draw_loader, check_loader),
    "consumer": Target("consumer", draw_consumer, check_consumer),
}
