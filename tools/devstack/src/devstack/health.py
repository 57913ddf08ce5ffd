"""Health probes that speak each server's own protocol, and a wait loop with a clear failure message."""

from __future__ import annotations

import socket
import ssl
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from devstack.errors import StackError
from devstack.procs import log_tail


def kafka_api_versions(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """Send a Kafka ApiVersions v0 request and accept an answer with error code 0 (the broker serves)."""
    client_id = b"devstack"
    body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4)
            size = struct.unpack(">i", header)[0]
            payload = _recv_exact(sock, size)
    except OSError:
        return False
    correlation_id, error_code = struct.unpack(">ih", payload[:6])
    return bool(correlation_id == 7 and error_code == 0)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return chunks


def http_ok(url: str, timeout: float = 2.0, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310 - loopback
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def tcp_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log_file: Path | None = None,
    still_running: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until it holds; on timeout (or if the process died) fail with the log's last lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if still_running is not None and not still_running():
            break
        time.sleep(0.25)
    else:
        reason = f"not healthy after {timeout:.0f}s"
        raise StackError(_failure(what, reason, log_file))
    raise StackError(_failure(what, "exited before it became healthy", log_file))


def _failure(what: str, reason: str, log_file: Path | None) -> str:
    message = f"{what}: {reason}"
    if log_file is not None:
        message += f"\n--- last lines of {log_file} ---\n{log_tail(log_file)}"
    return message
