"""Start the demo's processes, wait until each is healthy, and stop exactly those processes again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Component:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    health_url: str | None = None  # polled until it answers 2xx
    start_timeout: float = 60.0
    cwd: Path | None = None


@dataclass
class Supervisor:
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, component: Component) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{component.name}.log").open("ab") as log:
            self.running[component.name] = subprocess.Popen(
                list(component.argv),
                env=dict(component.env),
                cwd=component.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a stop reaches its children, and only them
            )
        if component.health_url:
            self._wait_healthy(component)

    def _wait_healthy(self, component: Component) -> None:
        process = self.running[component.name]
        deadline = time.monotonic() + component.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{component.name} exited with {process.returncode}; see {self.log(component.name)}")
            if _answers(component.health_url or ""):
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"{component.name} not healthy after {component.start_timeout:.0f}s; see {self.log(component.name)}"
        )

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def dead(self) -> list[str]:
        return [name for name, process in self.running.items() if process.poll() is not None]

    def stop_all(self, timeout: float = 30.0) -> None:
        """SIGTERM in reverse start order (so producers flush into a live Kafka), then SIGKILL stragglers."""
        for name in reversed(list(self.running)):
            self.stop(name, timeout)

    def stop(self, name: str, timeout: float = 30.0) -> int | None:
        """SIGTERM one component and wait up to `timeout` for it to finish its work; its exit code (None if it
        had to be killed)."""
        process = self.running.pop(name)
        tree = _descendants(process.pid)  # before they are orphaned and lose their parent link
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        code = process.poll()
        # Children that outlive their parent (airflow standalone's servers do) are still in its group.
        time.sleep(1)
        _signal_group(process.pid, signal.SIGKILL)
        for pid in tree:  # some start sessions of their own (Airflow's task workers)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        return code


def _descendants(root: int) -> list[int]:
    """Every process below `root`, read from /proc (children of children included)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URLs we built
            return bool(200 <= response.status < 300)
    except OSError:
        return False
