"""Seeded price paths: geometric Brownian motion per symbol inside a coherent trading day.

Pure: no clock and no I/O. A path is a function of (seed, symbol, tick index) only, so the same seed always
gives the same series; the market maps ticks to wall-clock time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


@dataclass(frozen=True)
class PathParams:
    tick_seconds: float = 1.0
    annual_volatility: float = 0.3
    annual_drift: float = 0.05
    change_probability: float = 0.8  # share of ticks on which the price moves at all
    ticks_per_day: int = 23_400  # 6.5 hours of 1-second ticks
    overnight_gap_volatility: float = 0.01
    min_start_price: float = 10.0
    max_start_price: float = 600.0


@dataclass(frozen=True)
class PathState:
    """Where a path stands after `tick`: the fields a Finnhub quote is built from."""

    tick: int
    log_price: float  # unrounded, so rounding to cents never biases the walk
    price: float  # what quotes show: rounded to cents
    open: float
    previous_close: float
    high: float
    low: float
    last_change_tick: int  # the quote time `t` advances only when the shown price changes


@dataclass(frozen=True)
class Quote:
    c: float
    d: float
    dp: float
    h: float
    l: float  # noqa: E741 - Finnhub's field name
    o: float
    pc: float
    last_change_tick: int


def _cents(value: float) -> float:
    return round(value, 2)


def symbol_rng(seed: int, symbol: str) -> random.Random:
    """One independent, reproducible stream per (seed, symbol); str seeds hash with SHA-512, stable across runs."""
    return random.Random(f"stockfeed:{seed}:{symbol}")


def initial_state(rng: random.Random, params: PathParams) -> PathState:
    """Tick 0: a previous close drawn log-uniformly from the price range, and the day's open after a gap."""
    previous_close = _cents(math.exp(rng.uniform(math.log(params.min_start_price), math.log(params.max_start_price))))
    log_price = math.log(previous_close) + rng.gauss(0.0, params.overnight_gap_volatility)
    open_price = _cents(math.exp(log_price))
    return PathState(
        tick=0,
        log_price=log_price,
        price=open_price,
        open=open_price,
        previous_close=previous_close,
        high=open_price,
        low=open_price,
        last_change_tick=0,
    )


def step(state: PathState, rng: random.Random, params: PathParams) -> PathState:
    """The state one tick later. Draws the same number of variates on every tick so streams stay aligned."""
    tick = state.tick + 1
    moves = rng.random() < params.change_probability
    shock = rng.gauss(0.0, 1.0)
    if tick % params.ticks_per_day == 0:
        # A new trading day: yesterday's last price is the previous close, the open gaps away from it.
        log_price = state.log_price + params.overnight_gap_volatility * shock
        open_price = _cents(math.exp(log_price))
        return PathState(tick, log_price, open_price, open_price, state.price, open_price, open_price, tick)
    if not moves:
        return replace(state, tick=tick)
    dt = params.tick_seconds / TRADING_SECONDS_PER_YEAR
    sigma = params.annual_volatility
    log_price = state.log_price + (params.annual_drift - sigma * sigma / 2) * dt + sigma * math.sqrt(dt) * shock
    price = _cents(math.exp(log_price))
    if price == state.price:
        return replace(state, tick=tick, log_price=log_price)
    return PathState(
        tick=tick,
        log_price=log_price,
        price=price,
        open=state.open,
        previous_close=state.previous_close,
        high=max(state.high, price),
        low=min(state.low, price),
        last_change_tick=tick,
    )


def quote_of(state: PathState) -> Quote:
    """Finnhub's quote fields, consistent by construction: d = c - pc, dp = 100 * d / pc."""
    change = round(state.price - state.previous_close, 4)
    percent = round(100.0 * (state.price - state.previous_close) / state.previous_close, 4)
    return Quote(
        c=state.price,
        d=change,
        dp=percent,
        h=state.high,
        l=state.low,
        o=state.open,
        pc=state.previous_close,
        last_change_tick=state.last_change_tick,
    )


class PricePath:
    """One symbol's path, advanced lazily (only as far as someone asks) and never backwards."""

    def __init__(self, seed: int, symbol: str, params: PathParams) -> None:
        self.params = params
        self._rng = symbol_rng(seed, symbol)
        self.state = initial_state(self._rng, params)

    def advance_to(self, tick: int) -> PathState:
        while self.state.tick < tick:
            self.state = step(self.state, self._rng, self.params)
        return self.state


def price_series(seed: int, symbol: str, ticks: int, params: PathParams | None = None) -> list[PathState]:
    """The first `ticks` + 1 states of a path (tick 0 included): the reference for determinism tests."""
    path = PricePath(seed, symbol, params or PathParams())
    return [path.state] + [path.advance_to(tick) for tick in range(1, ticks + 1)]
