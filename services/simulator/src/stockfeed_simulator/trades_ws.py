"""The trades WebSocket: subscriptions, `{"type":"trade","data":[...]}` batches, pings, errors and injected drops."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from stockfeed_contracts.lake import SYMBOL_PATTERN
from stockfeed_simulator.faults import FaultKnobs
from stockfeed_simulator.market import Market
from stockfeed_simulator.stats import ServedStats

log = logging.getLogger(__name__)

BATCH_INTERVAL = 0.05  # at high trade rates, one message per 50 ms carries the trades due
MAX_TRADES_PER_MESSAGE = 2_000


def parse_client_message(raw: str | bytes) -> tuple[str, str] | str:
    """(action, symbol) for a valid subscribe/unsubscribe, else the error text Finnhub-style clients get back."""
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "Invalid message: not JSON"
    if not isinstance(message, dict):
        return "Invalid message: not a JSON object"
    action, symbol = message.get("type"), message.get("symbol")
    if action not in ("subscribe", "unsubscribe"):
        return f"Invalid message type: {action!r}"
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
        return f"Invalid symbol: {symbol!r}"
    return action, symbol


class TradeSession:
    """One client connection. The write loop paces trades by `trade_rate`, the read loop handles subscriptions."""

    def __init__(
        self,
        connection: ServerConnection,
        market: Market,
        stats: ServedStats,
        knobs: Callable[[], FaultKnobs],
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self.connection = connection
        self.market = market
        self.stats = stats
        self.knobs = knobs
        self.clock = clock
        self.rng = rng
        self.subscriptions: set[str] = set()
        self.messages_sent = 0
        self.dropped = False

    def drop(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        if not self.dropped:
            self.dropped = True
            self.stats.ws("drops")
            self.connection.transport.abort()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        try:
            await self._write_loop()
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()
            self.stats.ws("disconnects")

    async def _send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message, separators=(",", ":")))
        self.messages_sent += 1

    async def _read_loop(self) -> None:
        try:
            async for raw in self.connection:
                parsed = parse_client_message(raw)
                if isinstance(parsed, str):
                    self.stats.ws("errors_sent")
                    await self._send({"type": "error", "msg": parsed})
                    continue
                action, symbol = parsed
                if action == "unsubscribe":
                    self.subscriptions.discard(symbol)
                    self.stats.ws("unsubscribes")
                elif symbol in self.subscriptions:
                    self.stats.subscribed(symbol)
                elif len(self.subscriptions) >= self.knobs().ws_max_symbols:
                    self.stats.ws("errors_sent")
                    await self._send({"type": "error", "msg": "Subscribing to too many symbols"})
                else:
                    self.subscriptions.add(symbol)
                    self.stats.subscribed(symbol)
        except ConnectionClosed:
            pass

    def _due_drop(self, knobs: FaultKnobs, connected_at: float, now: float) -> bool:
        if knobs.ws_drop_every_seconds and now - connected_at >= knobs.ws_drop_every_seconds:
            return True
        return bool(knobs.ws_drop_after_messages and self.messages_sent >= knobs.ws_drop_after_messages)

    async def _write_loop(self) -> None:
        connected_at = last = last_ping = self.clock()
        owed = 0.0  # fractional trades carried between batches, so low rates still come out right
        while not self.dropped:
            knobs = self.knobs()
            now = self.clock()
            if self._due_drop(knobs, connected_at, now):
                self.drop()
                return
            if now - last_ping >= knobs.ping_seconds:
                last_ping = now
                self.stats.ws("pings_sent")
                await self._send({"type": "ping"})
            trading = knobs.market_open and knobs.trade_rate > 0 and bool(self.subscriptions)
            if not trading:
                last, owed = now, 0.0
                await asyncio.sleep(BATCH_INTERVAL)
                continue
            owed = min(owed + knobs.trade_rate * (now - last), float(MAX_TRADES_PER_MESSAGE))
            last = now
            count = int(owed)
            if count:
                owed -= count
                text, sent = self.market.trade_message(sorted(self.subscriptions), count, now, self.rng)
                if sent:
                    await self.connection.send(text)
                    self.messages_sent += 1
                    self.stats.ws("trade_messages_sent")
                    self.stats.ws("trades_sent", sent)
            if count < MAX_TRADES_PER_MESSAGE:
                await asyncio.sleep(min(BATCH_INTERVAL, (1.0 - owed) / knobs.trade_rate))
            else:
                await asyncio.sleep(0)  # behind at full speed: send() waiting for the socket paces us
