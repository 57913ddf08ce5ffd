"""The simulator over real sockets: the Finnhub REST quote and trades WebSocket, its fault knobs, its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from stockfeed_simulator.testing import simulator_process

pytestmark = pytest.mark.integration

QUOTE_FIELDS = {"c", "d", "dp", "h", "l", "o", "pc", "t"}


def quote(simulator, symbol="AAPL", timeout=5.0, **params):
    return requests.get(f"{simulator.api_url}/quote", params={"symbol": symbol, **params}, timeout=timeout)


def test_quote_answers_like_finnhub(simulator):
    response = quote(simulator)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == QUOTE_FIELDS
    assert body["l"] <= body["c"] <= body["h"]
    assert body["d"] == pytest.approx(body["c"] - body["pc"], abs=1e-4)
    assert abs(body["t"] - time.time()) < 5
    assert response.headers["X-Ratelimit-Limit"] == "60"
    assert response.headers["X-Ratelimit-Remaining"] == "59"
    assert int(response.headers["X-Ratelimit-Reset"]) > time.time()
    assert quote(simulator, "NOPE").json() == {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}


def test_same_seed_same_prices(simulator_factory):
    first, again, other = simulator_factory(seed=11), simulator_factory(seed=11), simulator_factory(seed=12)

    def day(simulator):
        body = quote(simulator, "MSFT").json()
        return body["pc"], body["o"]

    assert day(first) == day(again)
    assert day(first) != day(other)


def test_tokens_from_query_or_header(simulator_factory):
    simulator = simulator_factory(api_keys=["k1", "k2"])
    assert quote(simulator).status_code == 401
    assert quote(simulator).json() == {"error": "Please use an API key."}
    assert quote(simulator, token="wrong").json() == {"error": "Invalid API key"}
    assert quote(simulator, token="k1").status_code == 200
    headers = {"X-Finnhub-Token": "k2"}
    assert requests.get(f"{simulator.api_url}/quote?symbol=AAPL", headers=headers, timeout=5).status_code == 200


def test_sixty_first_call_of_a_minute_is_429(simulator_factory):
    simulator = simulator_factory(rate_limit_per_second=0)  # only the minute limit, so calls can come quickly
    statuses = [quote(simulator, token="a").status_code for _ in range(60)]
    assert statuses == [200] * 60
    limited = quote(simulator, token="a")
    assert limited.status_code == 429
    assert "API limit reached" in limited.text
    assert limited.headers["X-Ratelimit-Remaining"] == "0"
    assert 0 < int(limited.headers["X-Ratelimit-Reset"]) - time.time() <= 61
    assert quote(simulator, token="b").status_code == 200  # limits are per key
    assert simulator.stats()["rest"]["outcomes"] == {"ok": 61, "rate_limited": 1}


def test_per_second_cap(simulator_factory):
    simulator = simulator_factory(rate_limit_per_minute=0, rate_limit_per_second=5)
    statuses = [quote(simulator).status_code for _ in range(8)]
    assert statuses.count(429) >= 2  # eight calls in well under a second


def test_fault_knobs_at_runtime(simulator):
    simulator.set_faults(rate_limit_per_minute=0, rate_limit_per_second=0, server_error_share=1.0)
    assert quote(simulator).status_code in (500, 502, 503)
    simulator.set_faults(server_error_share=0, malformed_share=1.0)
    response = quote(simulator)
    assert response.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - requests' JSON error is a ValueError
        response.json()
    simulator.set_faults(malformed_share=0, rate_limited_share=1.0, rate_limited_reset_seconds=3)
    throttled = quote(simulator)
    assert throttled.status_code == 429
    assert int(throttled.headers["X-Ratelimit-Reset"]) >= time.time() + 1
    simulator.set_faults(rate_limited_share=0, latency_ms=300)
    started = time.monotonic()
    assert quote(simulator).status_code == 200
    assert time.monotonic() - started >= 0.3
    simulator.set_faults(latency_ms=0, hang_share=1.0, hang_seconds=30)
    with pytest.raises(requests.Timeout):
        quote(simulator, timeout=0.5)
    outcomes = simulator.stats()["rest"]["outcomes"]
    assert outcomes == {"server_error": 1, "malformed": 1, "throttled": 1, "ok": 1, "hung": 1}


def test_bad_knob_is_refused_and_changes_nothing(simulator):
    response = requests.patch(f"{simulator.admin_url}/faults", json={"hang_share": 3}, timeout=5)
    assert response.status_code == 400
    assert "hang_share" in response.json()["error"]
    assert requests.patch(f"{simulator.admin_url}/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert simulator.faults()["hang_share"] == 0


def connect(url: str) -> ClientConnection:
    # Unbounded client queue: with a full queue the client stops reading and would not see the server's close
    # frame until its close timeout, after the tests stop reading a busy stream.
    return ws_connect(url, max_queue=None, close_timeout=2)


def receive(websocket, timeout=5.0):
    return json.loads(websocket.recv(timeout=timeout))


def test_websocket_trades_pings_and_errors(simulator_factory):
    simulator = simulator_factory(trade_rate=100, ping_seconds=0.5, ws_max_symbols=2)
    with connect(f"{simulator.ws_url}?token=x") as websocket:
        websocket.send(json.dumps({"type": "subscribe", "symbol": "AAPL"}))
        websocket.send(json.dumps({"type": "subscribe", "symbol": "MSFT"}))
        websocket.send(json.dumps({"type": "subscribe", "symbol": "NVDA"}))  # over the limit of 2
        websocket.send("hello?")
        kinds, symbols, errors = set(), set(), []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not ({"trade", "ping"} <= kinds and len(errors) == 2):
            message = receive(websocket)
            kinds.add(message["type"])
            if message["type"] == "trade":
                for trade in message["data"]:
                    assert set(trade) == {"s", "p", "t", "v", "c"}
                    assert trade["p"] > 0
                    symbols.add(trade["s"])
            elif message["type"] == "error":
                errors.append(message["msg"])
        assert {"trade", "ping"} <= kinds
        assert symbols <= {"AAPL", "MSFT"}
        assert sorted(errors) == ["Invalid message: not JSON", "Subscribing to too many symbols"]

        websocket.send(json.dumps({"type": "unsubscribe", "symbol": "AAPL"}))
        time.sleep(0.3)  # let in-flight batches pass
        while True:
            message = receive(websocket)
            if message["type"] == "trade":
                break
        later = [receive(websocket) for _ in range(10)]
        traded = {t["s"] for m in [message, *later] if m["type"] == "trade" for t in m["data"]}
        assert traded == {"MSFT"}


def read_many(websocket, count):
    return [receive(websocket) for _ in range(count)]


def test_trade_rate_knob(simulator_factory):
    simulator = simulator_factory(trade_rate=2000)
    with connect(simulator.ws_url) as websocket:
        websocket.send(json.dumps({"type": "subscribe", "symbol": "AAPL"}))
        receive(websocket)
        started, trades = time.monotonic(), 0
        while time.monotonic() - started < 2:
            message = receive(websocket)
            trades += len(message.get("data", []))
        assert 2000 * 2 * 0.7 <= trades <= 2000 * 2 * 1.2


def test_websocket_drops_after_messages_and_on_demand(simulator_factory):
    simulator = simulator_factory(trade_rate=100, ws_drop_after_messages=5)
    with connect(simulator.ws_url) as websocket:
        websocket.send(json.dumps({"type": "subscribe", "symbol": "AAPL"}))
        with pytest.raises(ConnectionClosed):
            read_many(websocket, 50)
    simulator.set_faults(ws_drop_after_messages=0, ws_drop_every_seconds=0.5)
    with connect(simulator.ws_url) as websocket:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            receive(websocket, timeout=5)
        assert 0.4 <= time.monotonic() - started < 3
    simulator.set_faults(ws_drop_every_seconds=0)
    with connect(simulator.ws_url) as websocket:
        assert simulator.drop_websockets() == 1
        with pytest.raises(ConnectionClosed):
            receive(websocket, timeout=5)
    assert simulator.stats()["websocket"]["drops"] == 3


def test_closed_market_sends_only_pings(simulator_factory):
    simulator = simulator_factory(trade_rate=100, ping_seconds=0.2, market_open=False)
    with connect(simulator.ws_url) as websocket:
        websocket.send(json.dumps({"type": "subscribe", "symbol": "AAPL"}))
        assert {receive(websocket)["type"] for _ in range(5)} == {"ping"}


def test_websocket_refuses_a_bad_token(simulator_factory):
    simulator = simulator_factory(api_keys=["k1"])
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{simulator.ws_url}?token=bad").close()
    assert refused.value.response.status_code == 401
    with connect(f"{simulator.ws_url}?token=k1"):
        pass


@pytest.mark.timeout(60)
def test_cli_process_serves_and_stops_promptly_even_while_a_call_hangs(tmp_path):
    with simulator_process(log_file=tmp_path / "simulator.log", hang_share=1.0, hang_seconds=300) as simulator:
        assert requests.get(f"{simulator.url}/healthz", timeout=5).status_code == 200
        with pytest.raises(requests.Timeout):
            quote(simulator, timeout=1)
        assert simulator.stats()["rest"]["outcomes"] == {"hung": 1}
    assert "stockfeed-simulator serving" in (tmp_path / "simulator.log").read_text()


def test_cli_rejects_bad_settings():
    result = subprocess.run(
        [sys.executable, "-m", "stockfeed_simulator", "--malformed-share", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "SIMULATOR_MALFORMED_SHARE" in result.stderr
