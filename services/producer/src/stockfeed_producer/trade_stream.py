"""Trades mode: one WebSocket per API key, all symbols subscribed on it, trades produced to Kafka in batches.

A drop (or silence longer than the idle timeout) leads to a reconnect with exponential backoff and jitter, and
every symbol is subscribed again on the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from stockfeed_contracts import TRADE_V1, reason_invalid
from stockfeed_producer.backoff import backoff_delay
from stockfeed_producer.config import ProducerSettings
from stockfeed_producer.kafka_publisher import KafkaPublisher
from stockfeed_producer.messages import TradeEncoder
from stockfeed_producer.metrics import ProducerMetrics
from stockfeed_producer.status_server import Health

log = logging.getLogger(__name__)

RECV_SLICE_SECONDS = 1.0  # recv() waits this long at most, so stop requests and health beats are seen
STABLE_AFTER_MESSAGES = 1  # a connection that delivered something resets the backoff


class TradeStream:
    def __init__(
        self,
        settings: ProducerSettings,
        publisher: KafkaPublisher,
        metrics: ProducerMetrics,
        health: Health,
        *,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.metrics = metrics
        self.health = health
        self.rng = rng or random.Random()
        self.wall_clock = wall_clock
        self.connections = 0
        self.received_in_session = 0
        self.encoder = TradeEncoder(source=settings.message_source, feed=settings.feed)

    def _url(self) -> str:
        key = self.settings.api_key
        base = self.settings.trades_ws_url
        if key is None:
            return base
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}{urlencode({'token': key.get_secret_value()})}"

    def _redact(self, text: str) -> str:
        """Some errors quote the URL, and the URL carries the token: never let it reach a log line."""
        key = self.settings.api_key
        return text if key is None else text.replace(key.get_secret_value(), "***")

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        log.info(
            "streaming trades of %d symbols from %s into %s",
            len(self.settings.symbols),
            self.settings.trades_ws_url,  # without the token
            self.settings.trades_topic,
        )
        while not stop.is_set():
            opened_before = self.connections
            self.received_in_session = 0
            try:
                await self._session(stop)
                reason = "closed by the server"
            except (OSError, TimeoutError, WebSocketException) as error:
                reason = self._redact(f"{type(error).__name__}: {error}")
            finally:
                self.metrics.ws_connected.set(0)
            if self.connections == opened_before:
                self.metrics.ws_connect_failures.inc()
            if stop.is_set():
                break
            if self.received_in_session >= STABLE_AFTER_MESSAGES:
                attempt = 0
            delay = backoff_delay(
                attempt, base=self.settings.backoff_base_seconds, cap=self.settings.backoff_max_seconds, rng=self.rng
            )
            attempt += 1
            log.warning("WebSocket lost (%s); reconnecting in %.1f s", reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, stop: asyncio.Event) -> None:
        """One connection: subscribe everything, then read until it drops or we stop."""
        async with connect(
            self._url(),
            open_timeout=self.settings.ws_open_timeout_seconds,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=5,
            max_size=2**23,
            user_agent_header="stockfeed-producer",
        ) as websocket:
            self._connected()
            await self._subscribe(websocket)
            last_message = time.monotonic()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(websocket.recv(), timeout=RECV_SLICE_SECONDS)
                except TimeoutError:
                    self.health.beat()
                    self.publisher.poll()
                    silent = time.monotonic() - last_message
                    if silent > self.settings.ws_idle_timeout_seconds:
                        raise TimeoutError(f"nothing received for {silent:.0f} s") from None
                    continue
                last_message = time.monotonic()
                self.received_in_session += 1
                self.health.beat()
                await self._handle(raw, stop)

    def _connected(self) -> None:
        self.connections += 1
        self.metrics.ws_connections.inc()
        if self.connections > 1:
            self.metrics.ws_reconnects.inc()
        self.metrics.ws_connected.set(1)

    async def _subscribe(self, websocket: ClientConnection) -> None:
        for symbol in self.settings.symbols:
            await websocket.send(json.dumps({"type": "subscribe", "symbol": symbol}))
            self.metrics.ws_subscribe_messages.inc()
        log.info("WebSocket open; subscribed to %d symbols", len(self.settings.symbols))

    async def _handle(self, raw: str | bytes, stop: asyncio.Event) -> None:
        fetched_at = round(self.wall_clock(), 3)
        try:
            message: Any = orjson.loads(raw)  # about twice json's speed on big trade batches
        except orjson.JSONDecodeError:
            self.metrics.malformed.labels("ws_message").inc()
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "trade":
            await self._publish_trades(message, fetched_at, stop)
        elif kind == "ping":
            self.metrics.ws_pings.inc()  # Finnhub's pings need no answer; protocol pings are answered by websockets
        elif kind == "error":
            self.metrics.ws_server_errors.inc()
            log.warning("server says: %s", message.get("msg"))
        else:
            self.metrics.malformed.labels("ws_message").inc()

    async def _publish_trades(self, message: dict[str, Any], fetched_at: float, stop: asyncio.Event) -> None:
        records, unusable = self.encoder.encode(message.get("data"), fetched_at)
        self.metrics.trades_received.inc(len(records) + unusable)
        if unusable:
            self.metrics.malformed.labels("trade").inc(unusable)
            log.warning("%d trade items without usable s/p/t/v/c skipped", unusable)
        if self.settings.validate_trades:
            records = self._contract_checked(records)
        if records:
            await self.publisher.publish_many_async(self.settings.trades_topic, records, stop)

    def _contract_checked(self, records: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        kept = []
        for key, value in records:
            reason = reason_invalid(json.loads(value), TRADE_V1)
            if reason is None:
                kept.append((key, value))
            else:
                self.metrics.invalid_messages.labels(TRADE_V1).inc()
                log.warning("trade breaks %s (%s); not published", TRADE_V1, reason)
        return kept
