"""Seeded random inputs for the fuzz properties: JSON-ish documents, mutated record bytes, mutated bronze objects.

No fuzzing library is in the dev lock (neither hypothesis nor atheris), so this is a small generator of our own:
every input comes from one `random.Random`, so a (seed, count) pair replays a run exactly. Most inputs start from
a valid quote or trade and are bent a little (one field changed, a byte flipped, a line cut), because inputs that
are almost right reach the deepest checks; the rest are built from nothing.
"""

from __future__ import annotations

import gzip
import json
import random
import string
from typing import Any

VALID_QUOTE: dict[str, Any] = {
    "schema_version": "quote.v1", "symbol": "AAPL", "c": 190.5, "d": 1.5, "dp": 0.79, "h": 191.0, "l": 188.0,
    "o": 189.0, "pc": 189.0, "t": 1_795_770_000, "fetched_at": 1_795_770_000.5, "source": "simulator", "feed": "demo",
}  # fmt: skip
VALID_TRADE: dict[str, Any] = {
    "schema_version": "trade.v1", "s": "BINANCE:BTCUSDT", "p": 64_000.5, "t": 1_795_770_000_123, "v": 0.25,
    "c": ["1", "12"], "fetched_at": 1_795_770_000.5, "source": "finnhub", "feed": "crypto",
}  # fmt: skip
EXPECTED_SCHEMAS = (None, "quote.v1", "trade.v1")

# values at and around every bound the contracts have, and the numbers that break parsers and warehouses
EDGE_NUMBERS: tuple[Any, ...] = (
    0, -0.0, 1, -1, 0.5, 1e-320, 946_684_799, 946_684_800, 4_102_444_799, 4_102_444_800, 946_684_800_000,
    4_102_444_800_000, 10**13, 999_999_999.99, 1_000_000_000, 1e9, 1e12, -1e9, 2**53 + 1, 2**63, 2**64, 10**30,
    1e308, float("nan"), float("inf"), float("-inf"), True, False, 1795770000.0,
)  # fmt: skip
EDGE_STRINGS = (
    "", "AAPL", "aapl", "AAPL\n", " AAPL", "BRK.B", "A" * 20, "A" * 21, "\ud800", "\udfff", "\x00", "é", "😀",
    "quote.v1", "trade.v1", "quote.v2", "finnhub", "simulator", "x" * 63, "x" * 64, "<html>", '"', "\\",
)  # fmt: skip
# whole-text literals that are JSON to some parsers and not to others
ODD_TEXTS = (
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"\xef\xbb\xbf{}", b'"\\ud800"', b'"\\udc00\\ud800"',
    b"{}", b"[]", b"null", b"true", b"0", b'""', b"", b" ", b"\n", b"\x00", b"{", b"}", b'{"a":}', b"[1,]",
    b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", b"\xff\xfe{\x00}\x00", b'{"a":1}{"b":2}',
)  # fmt: skip


def scalar(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(EDGE_NUMBERS)
    if kind == 1:
        return rng.choice(EDGE_STRINGS)
    if kind == 2:
        return rng.choice((None, True, False))
    if kind == 3:
        return rng.uniform(-1e10, 1e10)
    if kind == 4:
        return rng.randint(-(2**70), 2**70)
    return "".join(rng.choice(string.printable) for _ in range(rng.randrange(12)))


def document(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON-ish value: nested dicts and lists of edge scalars (NaN and lone surrogates included)."""
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return scalar(rng)
    if roll < 0.6:
        return [document(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = list(VALID_QUOTE) + list(VALID_TRADE) + ["x", ""]
    return {rng.choice(keys) if rng.random() < 0.8 else scalar_key(rng): document(rng, depth + 1) for _ in range(4)}


def scalar_key(rng: random.Random) -> str:
    return rng.choice(EDGE_STRINGS)


def mutated_message(rng: random.Random) -> Any:
    """A valid quote or trade with a few fields dropped, retyped, added or set to edge values."""
    message = dict(rng.choice((VALID_QUOTE, VALID_TRADE)))
    for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
        action = rng.randrange(5)
        name = rng.choice(list(message)) if message else "x"
        if action == 0:
            message.pop(name, None)
        elif action == 1:
            message[name] = scalar(rng)
        elif action == 2:
            message[rng.choice(("x", "extra", "C", "symbol", "s", "c"))] = scalar(rng)
        elif action == 3:
            message[name] = document(rng, 3)
        else:
            message["schema_version"] = rng.choice(("quote.v1", "trade.v1", "quote.v2", "", None, 1))
    return message


def any_document(rng: random.Random) -> Any:
    return mutated_message(rng) if rng.random() < 0.7 else document(rng)


def dumps(value: Any, rng: random.Random) -> bytes:
    """JSON text as a producer might write it (spaces, indent, NaN allowed, lone surrogates kept)."""
    indent = rng.choice((None, None, None, 2))
    separators = rng.choice(((",", ":"), (", ", ": ")))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to three byte-level edits: flip, insert, delete, truncate, duplicate a span, splice in odd text."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        action = rng.randrange(8)
        at = rng.randrange(len(buffer) + 1)
        if action == 0 and buffer:
            buffer[min(at, len(buffer) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            buffer[at:at] = bytes([rng.randrange(256)])
        elif action == 2 and buffer:
            del buffer[at : at + rng.randint(1, 8)]
        elif action == 3:
            del buffer[at:]
        elif action == 4 and buffer:
            start = rng.randrange(len(buffer))
            buffer[at:at] = buffer[start : start + rng.randint(1, 16)]
        elif action == 5:
            buffer[at:at] = rng.choice(ODD_TEXTS)
        elif action == 6:
            buffer[at:at] = rng.choice((b'"\\ud800"', b"1e400", b"NaN", b'"c":-5,', b"\xef\xbb\xbf", b"\\u0000"))
        else:
            buffer[at:at] = rng.choice((b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\n", b"\xff", b"\xc3"))
    return bytes(buffer)


def duplicate_key(value: bytes, rng: random.Random) -> bytes:
    """A JSON object with one of its keys repeated (first or last), e.g. {"c":-5, ..., "c":1.0}."""
    if not value.startswith(b"{") or len(value) < 3:
        return value
    name = rng.choice(("c", "t", "symbol", "schema_version", "p", "s"))
    extra = f'"{name}":{json.dumps(scalar(rng))}'.encode()
    if rng.random() < 0.5:
        return b"{" + extra + b"," + value[1:]
    return value[:-1] + b"," + extra + b"}"


def nested(depth: int, rng: random.Random) -> bytes:
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    return opener * depth + b"1" + closer * depth


def deep_extra_field(rng: random.Random) -> bytes:
    """A valid message with one unknown field nested around the parsers' depth limits (Python's ~1,000, orjson's
    1,024), sometimes with a repeated key at the bottom."""
    message = dumps(rng.choice((VALID_QUOTE, VALID_TRADE)), rng)
    bottom = rng.choice((b"1", b'{"a":1,"a":2}', b'"\\ud800"'))
    depth = rng.choice((900, 985, 990, 995, 1000, 1010, 1020, 1023, 1024, 1030))
    return message.rstrip()[:-1] + b',"x":' + b"[" * depth + bottom + b"]" * depth + b"}"


def record_bytes(rng: random.Random) -> bytes:
    """Bytes of one Kafka record value: mostly near-valid JSON, some odd literals, deep nesting, random bytes."""
    roll = rng.random()
    if roll < 0.25:
        return dumps(any_document(rng), rng)
    if roll < 0.65:
        return mutate_bytes(dumps(mutated_message(rng), rng), rng)
    if roll < 0.75:
        return duplicate_key(dumps(mutated_message(rng), rng), rng)
    if roll < 0.82:
        return rng.choice(ODD_TEXTS)
    if roll < 0.86:
        return nested(rng.choice((10, 500, 1000, 1025, 3000, 6000)), rng)
    if roll < 0.89:
        return deep_extra_field(rng)
    if roll < 0.94:
        return b"\xef\xbb\xbf" + dumps(mutated_message(rng), rng)
    return rng.randbytes(rng.randrange(64))


def ndjson_lines(rng: random.Random) -> list[bytes]:
    lines: list[bytes] = []
    for _ in range(rng.randrange(6)):
        roll = rng.random()
        if roll < 0.5:
            lines.append(json.dumps(rng.choice((VALID_QUOTE, VALID_TRADE))).encode())
        elif roll < 0.6:
            lines.append(b"")
        else:
            lines.append(record_bytes(rng).replace(b"\n", b" "))
    return lines


def bronze_object(rng: random.Random) -> bytes:
    """The bytes of one bronze object: gzip NDJSON, often with a bad line, sometimes broken as gzip."""
    body = b"\n".join(ndjson_lines(rng)) + rng.choice((b"\n", b"", b"\r\n"))
    roll = rng.random()
    if roll < 0.55:
        return gzip.compress(body, compresslevel=1, mtime=0)
    if roll < 0.75:
        return mutate_bytes(gzip.compress(body, compresslevel=1, mtime=0), rng)
    if roll < 0.82:
        packed = gzip.compress(body, compresslevel=1, mtime=0)
        return packed[: rng.randrange(len(packed) + 1)]  # truncated
    if roll < 0.88:
        return gzip.compress(body, mtime=0) + rng.choice((b"", gzip.compress(b"{}\n"), b"\x00" * 4, b"garbage"))
    if roll < 0.94:
        return body  # not gzip at all
    return rng.randbytes(rng.randrange(128))
