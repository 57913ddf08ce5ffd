"""Start, find and stop the processes the stack owns; it only ever signals PIDs it recorded itself."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from devstack.errors import StackError


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_ports(server: str, ports: Mapping[str, int]) -> None:
    """Fail fast, naming the variable to change, when something else already listens on our port."""
    for variable, port in ports.items():
        if not port_is_free(port):
            raise StackError(f"{server}: port 127.0.0.1:{port} is busy (another process listens there); set {variable}")


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def owned_pid(pid_file: Path, marker: str) -> int | None:
    """The recorded PID if that process is still ours (its command line still names `marker`), else None."""
    pid = read_pid(pid_file)
    if pid is None:
        return None
    line = cmdline(pid)
    if marker not in line or _is_zombie(pid):
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def start_daemon(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start `argv` in its own session (so stop() can signal the whole group), logging to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    _wait_for_exec(proc, argv)
    return proc.pid


def _wait_for_exec(proc: subprocess.Popen[bytes], argv: Sequence[str], timeout: float = 5.0) -> None:
    # Until the child has exec'd, /proc shows the parent's command line and owned_pid() would not know it.
    expected = " ".join(argv) + " "
    deadline = time.monotonic() + timeout
    while proc.poll() is None and cmdline(proc.pid) != expected and time.monotonic() < deadline:
        time.sleep(0.01)


def stop(pid_file: Path, marker: str, timeout: float = 20.0) -> bool:
    """SIGTERM our process group, SIGKILL it after `timeout`; True if something was stopped."""
    pid = owned_pid(pid_file, marker)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # The whole group, not only its leader: a server's children (PostgreSQL's backends) may still hold its
    # port or data directory for a moment after the leader has gone.
    while time.monotonic() < deadline:
        if not _alive(pid) and not group_members(pid):
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    while (_alive(pid) or group_members(pid)) and time.monotonic() < deadline + 5:
        time.sleep(0.1)
    return True


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and fields[2] == str(group):
            members.append(int(stat.parent.name))
    return members


def kill_now(pid_file: Path, marker: str) -> bool:
    """SIGKILL, for fault tests that need an abrupt crash."""
    pid = owned_pid(pid_file, marker)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGKILL)
    while _alive(pid) or group_members(pid):
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the group id equals the pid: start_new_session made it a leader
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child we spawned lingers as a zombie until reaped; reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not _is_zombie(pid)
    return done == 0


def log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def exclusive(lock_file: Path, who: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (made if missing) while one process builds what others wait for;
    says once, as `who`, that it waits when another process holds it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{who}: another process holds {lock_file}; waiting for it", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
