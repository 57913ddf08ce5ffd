"""Pytest fixtures and helpers: a simulator on free ports, driven through its admin endpoint.

Registered as a pytest plugin (entry point `pytest11`), so `simulator` and `simulator_factory` are available to
any test in an environment where the package is installed:

    def test_something(simulator):
        simulator.set_faults(server_error_share=0.2)
        requests.get(f"{simulator.api_url}/quote", params={"symbol": "AAPL"}, timeout=5)
        assert simulator.stats()["rest"]["requests"] == 1
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from stockfeed_simulator.config import SimulatorSettings
from stockfeed_simulator.server import Addresses, BackgroundSimulator

ADMIN_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class RunningSimulator:
    """Addresses of a running simulator and a client for its admin endpoint."""

    def __init__(self, addresses: Addresses) -> None:
        self.addresses = addresses
        if addresses.admin_url is None:
            raise ValueError("the test helpers need the admin endpoint (admin_port >= 0)")
        self.admin_url: str = addresses.admin_url
        self._http = requests.Session()

    @property
    def url(self) -> str:
        return self.addresses.url

    @property
    def api_url(self) -> str:
        return self.addresses.api_url

    @property
    def ws_url(self) -> str:
        return self.addresses.ws_url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"{self.admin_url}{path}", timeout=ADMIN_TIMEOUT, **kwargs)
        if response.status_code != 200:
            raise ValueError(f"simulator admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/faults")
        return result

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", "/faults", json=knobs)
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        self._call("POST", "/stats/reset")

    def drop_websockets(self) -> int:
        return int(self._call("POST", "/websockets/drop")["dropped"])

    def close(self) -> None:
        self._http.close()


def _settings(overrides: dict[str, Any]) -> SimulatorSettings:
    defaults: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "admin_port": 0, "seed": 7}
    return SimulatorSettings(**{**defaults, **overrides})


@contextlib.contextmanager
def running_simulator(**settings: Any) -> Iterator[RunningSimulator]:
    """A simulator on a thread of this process (ports picked by the OS). Keyword arguments are settings/knobs."""
    background = BackgroundSimulator(_settings(settings))
    addresses = background.start()
    client = RunningSimulator(addresses)
    try:
        yield client
    finally:
        client.close()
        background.stop()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the simulator exited with {process.returncode} before it became healthy")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the simulator at {url} did not become healthy in {timeout:.0f} s")


@contextlib.contextmanager
def simulator_process(log_file: Path | None = None, **settings: Any) -> Iterator[RunningSimulator]:
    """The real CLI in a child process (its own interpreter and GIL: for load tests and benchmarks)."""
    host = str(settings.pop("host", "127.0.0.1"))
    port, admin_port = free_port(host), free_port(host)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIMULATOR_")}
    args = [sys.executable, "-m", "stockfeed_simulator", "--host", host, "--port", str(port)]
    args += ["--admin-host", host, "--admin-port", str(admin_port)]
    settings.setdefault("seed", 7)
    for name, value in settings.items():
        text = ",".join(value) if isinstance(value, list | tuple) else str(value)
        args += [f"--{name.replace('_', '-')}", text]
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log_file.open("ab")) if log_file else subprocess.DEVNULL
        process = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
        client: RunningSimulator | None = None
        try:
            _wait_healthy(f"http://{host}:{port}", process, timeout=20)
            client = RunningSimulator(Addresses(host, port, admin_port))
            yield client
        finally:
            if client is not None:
                client.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """A simulator with default knobs (seed 7) on free ports, in this process."""
    with running_simulator() as running:
        yield running


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., RunningSimulator]]:
    """Start simulators with chosen settings/knobs: `sim = simulator_factory(symbols=["*"], trade_rate=100)`."""
    with contextlib.ExitStack() as stack:

        def start(**settings: Any) -> RunningSimulator:
            return stack.enter_context(running_simulator(**settings))

        yield start
