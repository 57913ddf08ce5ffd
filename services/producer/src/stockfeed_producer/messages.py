"""Finnhub answers -> contract messages (quote.v1, trade.v1). Pure: no clock, no I/O.

Quote answers are classified first: VALID ones become messages, EMPTY ones (all zeros/nulls: Finnhub's answer for
an unknown symbol) are flagged and never published as prices, MALFORMED ones (including numbers and times outside
the contract's bounds) are counted and skipped, and AHEAD ones (a time far ahead of the clock: milliseconds by
mistake, or a backend's bad clock) are counted as malformed too and never remembered as the newest.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

from stockfeed_contracts import QUOTE_V1, TRADE_V1, load_schema
from stockfeed_contracts.lake import SYMBOL_PATTERN  # the contracts' symbol rule; checked at startup too

QUOTE_FIELDS = ("c", "d", "dp", "h", "l", "o", "pc", "t")
PRICE_FIELDS = ("c", "h", "l", "o", "pc")

# The contracts' bounds, read from the schema files (one definition): times in [first, end), prices below a limit.
_QUOTE_RULES: dict[str, Any] = load_schema(QUOTE_V1)["properties"]
_TRADE_RULES: dict[str, Any] = load_schema(TRADE_V1)["properties"]
QUOTE_T_FIRST, QUOTE_T_END = _QUOTE_RULES["t"]["minimum"], _QUOTE_RULES["t"]["exclusiveMaximum"]
PRICE_END = _QUOTE_RULES["c"]["exclusiveMaximum"]  # every quote price field is below it
CHANGE_BOUND = _QUOTE_RULES["d"]["maximum"]  # d and dp lie within +-CHANGE_BOUND
TRADE_T_FIRST, TRADE_T_END = _TRADE_RULES["t"]["minimum"], _TRADE_RULES["t"]["exclusiveMaximum"]
TRADE_PRICE_END = _TRADE_RULES["p"]["exclusiveMaximum"]
TRADE_VOLUME_END = _TRADE_RULES["v"]["exclusiveMaximum"]
# A quote's t is when it last changed, so never after the answer; this much lead absorbs clock differences.
MAX_QUOTE_LEAD_SECONDS = 300


class QuoteVerdict(StrEnum):
    VALID = "valid"
    EMPTY = "empty"
    MALFORMED = "malformed"
    AHEAD = "ahead"  # t far ahead of the clock: malformed, and never the newest


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _zero_or_null(value: object) -> bool:
    return value is None or (_is_number(value) and value == 0)


def classify_quote(payload: object, now: float | None = None) -> QuoteVerdict:
    """The verdict on one /quote answer; given `now` (UNIX seconds), t beyond now + MAX_QUOTE_LEAD_SECONDS is AHEAD."""
    if not isinstance(payload, dict):
        return QuoteVerdict.MALFORMED
    if _zero_or_null(payload.get("c")):
        return QuoteVerdict.EMPTY  # no current price: unknown symbol or no data, whatever the other fields say
    if not all(_is_number(payload.get(name)) for name in (*PRICE_FIELDS, "t")):
        return QuoteVerdict.MALFORMED
    if not all(payload.get(name) is None or _is_number(payload.get(name)) for name in ("d", "dp")):
        return QuoteVerdict.MALFORMED
    t = payload["t"]
    if t != int(t) or payload["c"] < 0:
        return QuoteVerdict.MALFORMED
    if not all(0 <= payload[name] < PRICE_END for name in PRICE_FIELDS):
        return QuoteVerdict.MALFORMED
    if not all(payload.get(name) is None or abs(payload[name]) <= CHANGE_BOUND for name in ("d", "dp")):
        return QuoteVerdict.MALFORMED
    if now is not None and t > now + MAX_QUOTE_LEAD_SECONDS:
        return QuoteVerdict.AHEAD  # before the contract's end: a t in milliseconds is both
    if not QUOTE_T_FIRST <= t < QUOTE_T_END:
        return QuoteVerdict.MALFORMED
    return QuoteVerdict.VALID


def to_quote_message(
    symbol: str, payload: dict[str, Any], *, fetched_at: float, source: str, feed: str
) -> dict[str, Any]:
    """quote.v1: the original fields verbatim (c d dp h l o pc t, symbol, fetched_at) plus our metadata."""
    message = {name: payload.get(name) for name in QUOTE_FIELDS}
    message["t"] = int(payload["t"])
    message.update(
        symbol=symbol,
        fetched_at=fetched_at,
        schema_version=QUOTE_V1,
        source=source,
        feed=feed,
    )
    return message


MAX_CACHED_CONDITIONS = 1_024
MAX_CACHED_SYMBOLS = 1_024


class TradeEncoder:
    """trade.v1 records (key, JSON bytes) from the items of a `{"type":"trade","data":[...]}` message.

    The hot path of trades mode (thousands per second), so the JSON text is assembled directly instead of building
    a dict per trade and dumping it. Each item is checked against trade.v1's rules for s, p, t, v and c first (which
    also makes the assembly safe: a symbol that matches the pattern needs no escaping, a finite float's repr is
    valid JSON); an item that fails is counted unusable. The metadata is fixed per encoder and batch. The unit tests
    hold every output to the contract itself.
    """

    def __init__(self, *, source: str, feed: str) -> None:
        metadata = {"schema_version": TRADE_V1, "source": source, "feed": feed}
        self._metadata = json.dumps(metadata, separators=(",", ":"))[1:-1]
        self._conditions: dict[tuple[object, ...], str] = {}
        self._symbols: set[str] = set()  # checked once each: a feed has at most 50 symbols

    def _symbol_ok(self, symbol: str) -> bool:
        if symbol in self._symbols:
            return True
        if SYMBOL_PATTERN.fullmatch(symbol) is None:
            return False
        if len(self._symbols) < MAX_CACHED_SYMBOLS:
            self._symbols.add(symbol)
        return True

    def _conditions_json(self, conditions: object) -> str | None:
        if conditions is None:
            return "null"
        if type(conditions) is not list:
            return None
        key = tuple(conditions)
        text = self._conditions.get(key)
        if text is None:
            if not all(type(code) is str for code in conditions):
                return None
            text = json.dumps(conditions, separators=(",", ":"))
            if len(self._conditions) < MAX_CACHED_CONDITIONS:  # a handful of codes in practice; stay bounded anyway
                self._conditions[key] = text
        return text

    def encode(self, data: object, fetched_at: float) -> tuple[list[tuple[str, bytes]], int]:
        """(records keyed by symbol, number of unusable items)."""
        if type(data) is not list:
            return [], 1
        tail = f'{self._metadata},"fetched_at":{float(fetched_at)!r}}}'
        known_symbols, known_conditions = self._symbols, self._conditions
        t_first, t_end, price_end, volume_end = TRADE_T_FIRST, TRADE_T_END, TRADE_PRICE_END, TRADE_VOLUME_END
        records: list[tuple[str, bytes]] = []
        append = records.append
        unusable = 0
        for item in data:
            # Lookups and checks inlined: this loop runs once per trade.
            try:
                s, p, t, v, c = item["s"], item["p"], item["t"], item["v"], item.get("c")
                conditions = "null" if c is None else known_conditions.get(tuple(c)) if type(c) is list else None
            except (TypeError, KeyError, AttributeError):
                unusable += 1
                continue
            if conditions is None and c is not None:
                conditions = self._conditions_json(c)
            if type(t) is float and t.is_integer():
                t = int(t)
            if (
                conditions is None
                or type(s) is not str
                or (s not in known_symbols and not self._symbol_ok(s))
                or (type(p) is not float and type(p) is not int)
                or not 0 < p < price_end  # also false for NaN and infinity
                or type(t) is not int
                or not t_first <= t < t_end
                or (type(v) is not float and type(v) is not int)
                or not 0 <= v < volume_end
            ):
                unusable += 1
                continue
            append((s, f'{{"s":"{s}","p":{p!r},"t":{t},"v":{v!r},"c":{conditions},{tail}'.encode()))
        return records, unusable


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


class LastPublishedTimes:
    """Dedupe on `t`: a quote is new only if its time moved past the last one published for its symbol.

    An older `t` (a lagging backend answering) counts as unchanged too: it carries nothing newer.
    """

    def __init__(self) -> None:
        self._times: dict[str, int] = {}

    def is_unchanged(self, symbol: str, t: int) -> bool:
        last = self._times.get(symbol)
        return last is not None and t <= last

    def remember(self, symbol: str, t: int) -> None:
        self._times[symbol] = t
