"""What every server of the stack offers the CLI: install, start, stop, health and the env it exports."""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path

from devstack.errors import StackError
from devstack.settings import Settings


class Server(ABC):
    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def log_file(self) -> Path:
        return self.settings.logs / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.settings.run / f"{self.name}.pid"

    @abstractmethod
    def install(self) -> None:
        """Fetch or build what the server needs into the version-keyed cache (a no-op when cached)."""

    @abstractmethod
    def start(self) -> None:
        """Start the server and return once it answers its health probe."""

    @abstractmethod
    def stop(self) -> bool:
        """Stop the server if it is ours and running; True if something was stopped."""

    @abstractmethod
    def running(self) -> bool:
        """True while the process we started is alive."""

    @abstractmethod
    def healthy(self) -> bool:
        """True when the server answers its own protocol."""

    @abstractmethod
    def address(self) -> str:
        """Where clients reach it."""

    @abstractmethod
    def env(self) -> dict[str, str]:
        """Variables the env file exports for clients (endpoints, credentials)."""

    def details(self) -> list[str]:
        """Extra lines `devstack status` prints under the server's row (the cluster's real node)."""
        return []


def require_tool(tool: str, hint: str) -> str:
    """The tool's path, or a StackError that names the missing prerequisite and how to get it."""
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"missing prerequisite: {tool!r} is not on PATH ({hint})")
    return path
