"""Wiring: one port speaks Finnhub (REST quote via websockets' process_request hook, and the trades WebSocket);
a second port serves the admin endpoint. Everything that touches the market runs on the event loop's thread."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from stockfeed_simulator.admin import AdminServer
from stockfeed_simulator.config import SimulatorSettings
from stockfeed_simulator.faults import FaultKnobs
from stockfeed_simulator.market import Market
from stockfeed_simulator.quotes_http import QuoteService
from stockfeed_simulator.stats import ServedStats
from stockfeed_simulator.symbols import SymbolUniverse
from stockfeed_simulator.trades_ws import TradeSession

log = logging.getLogger(__name__)

QUOTE_PATH = "/api/v1/quote"
WEBSOCKET_PATHS = ("/", "/ws")
ADMIN_CALL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Addresses:
    host: str
    port: int
    admin_port: int | None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Finnhub's REST base (quote is at {api_url}/quote)."""
        return f"{self.url}/api/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def admin_url(self) -> str | None:
        return None if self.admin_port is None else f"http://{self.host}:{self.admin_port}"


def http_response(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    payload = body.encode()
    base = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Connection", "close"),
        ("Content-Length", str(len(payload))),
    ]
    extra = headers or {}
    if "Content-Type" not in extra:
        base.append(("Content-Type", "application/json; charset=utf-8"))
    return Response(status, http.HTTPStatus(status).phrase, Headers([*base, *extra.items()]), payload)


def _query(path: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(path)
    return parts.path, {key: values[-1] for key, values in parse_qs(parts.query).items()}


class SimulatorServer:
    def __init__(self, settings: SimulatorSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.knobs: FaultKnobs = settings.knobs()
        self.stats = ServedStats()
        self.market = Market(settings.seed, settings.path_params(), SymbolUniverse(settings.symbols), clock())
        self.market.set_open(self.knobs.market_open, clock())
        self.quotes = QuoteService(self.market, self.stats, settings.api_keys, random.Random(settings.seed))
        self.sessions: set[TradeSession] = set()
        self._session_seed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.addresses: Addresses | None = None

    # --- the Finnhub port ---------------------------------------------------------------------------------------

    def _authorised(self, token: str) -> bool:
        return not self.quotes.api_keys or token in self.quotes.api_keys

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops (hung calls must not hold up shutdown)."""
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, query = _query(request.path)
        if path.rstrip("/") == QUOTE_PATH:
            answer = self.quotes.answer(query, request.headers.get("X-Finnhub-Token"), self.knobs, self.clock())
            if answer.delay_seconds:
                await self._pause(answer.delay_seconds)
            if answer.hang:
                connection.transport.abort()  # never answered: the client sees its own timeout
                return http_response(504, "")
            return http_response(answer.status, answer.body, answer.headers)
        if path == "/healthz":
            return http_response(200, json.dumps({"status": "ok"}))
        if path in WEBSOCKET_PATHS and request.headers.get("Upgrade", "").lower() == "websocket":
            token = query.get("token") or request.headers.get("X-Finnhub-Token") or ""
            if not self._authorised(token):
                self.stats.ws("unauthorized")
                return http_response(401, json.dumps({"error": "Invalid API key"}))
            return None  # go on with the WebSocket handshake
        return http_response(404, json.dumps({"error": f"Not found: {path}"}))

    async def _handle_websocket(self, connection: ServerConnection) -> None:
        self._session_seed += 1
        session = TradeSession(
            connection,
            self.market,
            self.stats,
            lambda: self.knobs,
            self.clock,
            random.Random(f"{self.settings.seed}:ws:{self._session_seed}"),
        )
        self.sessions.add(session)
        self.stats.ws("connections")
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    # --- admin (called from the admin thread; every change runs on the loop) ------------------------------------

    def _on_loop(self, function: Callable[[], Any]) -> Any:
        assert self._loop is not None

        async def call() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(ADMIN_CALL_TIMEOUT)

    def current_knobs(self) -> dict[str, Any]:
        return self.knobs.model_dump()

    def update_knobs(self, changes: dict[str, Any]) -> dict[str, Any]:
        knobs = self.knobs.updated(changes)  # validates first: a bad knob changes nothing

        def apply() -> None:
            self.knobs = knobs
            self.market.set_open(knobs.market_open, self.clock())
            log.info("knobs changed: %s", changes)

        self._on_loop(apply)
        return knobs.model_dump()

    def stats_snapshot(self) -> dict[str, Any]:
        def snapshot() -> dict[str, Any]:
            served = self.stats.snapshot()
            served["websocket"]["open_connections"] = len(self.sessions)
            served["websocket"]["open_subscriptions"] = sorted(
                {symbol for session in self.sessions for symbol in session.subscriptions}
            )
            return served

        result: dict[str, Any] = self._on_loop(snapshot)
        return result

    def reset_stats(self) -> None:
        self.stats.reset()

    def drop_websockets(self) -> int:
        def drop_all() -> int:
            sessions = [session for session in self.sessions if not session.dropped]
            for session in sessions:
                session.drop()
            return len(sessions)

        return int(self._on_loop(drop_all))

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event, ready: Callable[[Addresses], None] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = stop
        s = self.settings
        async with serve(
            self._handle_websocket,
            s.host,
            s.port,
            process_request=self._process_request,
            open_timeout=None,  # hung REST calls are paced by hang_seconds, not cut by the handshake timeout
            max_size=2**16,
            compression=None,  # trades at full speed: deflate would cost more than the loopback saves
            logger=logging.getLogger("stockfeed_simulator.websockets"),
        ) as server:
            port = int(next(iter(server.sockets)).getsockname()[1])
            admin = AdminServer(s.admin_host, s.admin_port, self) if s.admin_port >= 0 else None
            if admin is not None:
                admin.start()
            self.addresses = Addresses(s.host, port, admin.port if admin else None)
            log.info(
                "stockfeed-simulator serving %s (WebSocket %s), admin %s",
                self.addresses.api_url,
                self.addresses.ws_url,
                self.addresses.admin_url or "off",
            )
            if ready is not None:
                ready(self.addresses)
            try:
                await stop.wait()
            finally:
                if admin is not None:
                    admin.stop()
                for session in list(self.sessions):
                    session.drop()


class BackgroundSimulator:
    """A simulator on its own thread and event loop (for tests and tools in the same process)."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.server = SimulatorServer(settings)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.server.serve(self._stop, lambda _addresses: self._ready.set())

        try:
            asyncio.run(main())
        except BaseException as error:
            self._failure = error
            self._ready.set()

    def start(self, timeout: float = 10.0) -> Addresses:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the simulator did not start in time")
        if self._failure is not None or self.server.addresses is None:
            raise RuntimeError(f"the simulator failed to start: {self._failure!r}")
        return self.server.addresses

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
