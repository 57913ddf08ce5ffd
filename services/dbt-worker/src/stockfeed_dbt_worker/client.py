"""Run one dbt command on the worker and stream its output: what the DAG's local steps call (stdlib only)."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable, Mapping, Sequence

from stockfeed_dbt_worker.protocol import TRAILER, Request, encode_request, split_trailer


class WorkerUnavailableError(OSError):
    """Nothing listens on the socket: the caller may run dbt itself instead."""


class WorkerDiedError(RuntimeError):
    """The command's process ended without an exit code (killed, crashed)."""


def worker_listening(socket_path: str) -> bool:
    """Whether a worker accepts connections on the socket: a connection closed without a request is a probe, which
    the worker drops without a word."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(socket_path)
        except OSError:
            return False
        return True


def run_on_worker(
    socket_path: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    on_line: Callable[[str], None],
    idle_timeout: float | None = None,
) -> int:
    """dbt's exit code for `argv` (dbt's arguments), each output line passed to `on_line` as it arrives.
    `idle_timeout`: give up (TimeoutError) after that long without output; None waits as long as dbt runs."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(socket_path)
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            raise WorkerUnavailableError(f"no dbt worker listens on {socket_path}: {exc.strerror}") from None
        owner = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if owner != os.getuid():  # the request carries our environment, secrets included: only to ourselves
            raise WorkerUnavailableError(f"the process listening on {socket_path} runs as uid {owner}, not ours")
        conn.settimeout(idle_timeout)
        conn.sendall(encode_request(Request(tuple(argv), env, cwd)))
        pending = b""
        while chunk := conn.recv(65536):
            pending += chunk
            # dbt's output is over: what follows is the exit code. Read on to the end of the stream, which comes when
            # the command's process has exited: by then its hold on the warehouse is gone too.
            if TRAILER in pending:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                on_line(line.decode(errors="replace"))
    output, code = split_trailer(pending)
    for text in output.decode(errors="replace").splitlines():
        on_line(text)
    if code is None:
        raise WorkerDiedError(f"the dbt worker's process for `dbt {' '.join(argv)}` ended without an exit code")
    return code
