"""The simulated market: price paths anchored to wall-clock time, quotes and trades built from them."""

from __future__ import annotations

import json
import math
import random
from typing import Any

from stockfeed_simulator.prices import PathParams, PricePath, quote_of
from stockfeed_simulator.symbols import SymbolUniverse

# Finnhub's answer for a symbol it has no data for (HTTP 200, zeros and nulls).
UNKNOWN_SYMBOL_QUOTE: dict[str, Any] = {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}

TRADE_CONDITIONS: tuple[list[str] | None, ...] = (["1"], ["1", "12"], ["12"], None, ["1", "8"])
LOT_SIZES = (1, 5, 10, 25, 50, 100, 100, 100, 200, 300, 500, 1000)
_spread_rng = random.Random(0)
PRICE_SPREADS = tuple(1.0 + _spread_rng.gauss(0.0, 0.0002) for _ in range(64))  # trade price / quote price
TRADE_TAILS = tuple(  # what follows "t": in a trade: volume and conditions
    f',"v":{lot},"c":{json.dumps(codes, separators=(",", ":"))}}}' for lot in LOT_SIZES for codes in TRADE_CONDITIONS
)


class Market:
    """Tick 0 of every path is at `anchor` (UNIX seconds); while the market is closed, time stands still."""

    def __init__(self, seed: int, params: PathParams, universe: SymbolUniverse, anchor: float) -> None:
        self.seed = seed
        self.params = params
        self.universe = universe
        self.anchor = anchor
        self._paths: dict[str, PricePath] = {}
        self._closed_at: float | None = None
        self._heads: dict[str, tuple[float, tuple[str, ...]]] = {}

    def set_open(self, is_open: bool, now: float) -> None:
        if is_open:
            self._closed_at = None  # on reopening the paths catch up at once, like an opening gap
        elif self._closed_at is None:
            self._closed_at = now

    def _tick(self, now: float) -> int:
        market_time = now if self._closed_at is None else self._closed_at
        return max(0, math.floor((market_time - self.anchor) / self.params.tick_seconds))

    def _path(self, symbol: str) -> PricePath:
        path = self._paths.get(symbol)
        if path is None:
            path = self._paths[symbol] = PricePath(self.seed, symbol, self.params)
        return path

    def quote(self, symbol: str, now: float) -> dict[str, Any]:
        """The /quote body for `symbol` at `now`; all zeros for a symbol the market does not know."""
        if not self.universe.known(symbol):
            return dict(UNKNOWN_SYMBOL_QUOTE)
        quote = quote_of(self._path(symbol).advance_to(self._tick(now)))
        changed_at = self.anchor + quote.last_change_tick * self.params.tick_seconds
        return {
            "c": quote.c,
            "d": quote.d,
            "dp": quote.dp,
            "h": quote.h,
            "l": quote.l,
            "o": quote.o,
            "pc": quote.pc,
            "t": int(changed_at),
        }

    def price(self, symbol: str, now: float) -> float:
        return self._path(symbol).advance_to(self._tick(now)).price

    def _trade_heads(self, symbol: str, price: float) -> tuple[str, ...]:
        """`{"s":..,"p":..,"t":` prefixes for one symbol at one quote price, a few cents around it (cached until
        the price moves, i.e. at most once per tick)."""
        cached = self._heads.get(symbol)
        if cached is None or cached[0] != price:
            heads = tuple(
                f'{{"s":"{symbol}","p":{max(round(price * spread, 2), 0.01)!r},"t":' for spread in PRICE_SPREADS
            )
            cached = self._heads[symbol] = (price, heads)
        return cached[1]

    def trade_message(self, symbols: list[str], count: int, now: float, rng: random.Random) -> tuple[str, int]:
        """A `{"type":"trade","data":[...]}` text with `count` trades over `symbols` (known ones only, priced a hair
        around each current price), and how many trades it holds (0: nothing to send).

        Assembled from pre-serialised pieces picked with rng.choices: at thousands of trades per second, building
        and dumping a dict per trade would cost more CPU than the client under test (on the same machine) gets.
        """
        known = [symbol for symbol in symbols if self.universe.known(symbol)]
        if not known or count <= 0:
            return "", 0
        heads = [head for symbol in known for head in self._trade_heads(symbol, self.price(symbol, now))]
        millis = str(int(now * 1000))
        items = [
            head + millis + tail
            for head, tail in zip(rng.choices(heads, k=count), rng.choices(TRADE_TAILS, k=count), strict=True)
        ]
        return '{"type":"trade","data":[' + ",".join(items) + "]}", count
