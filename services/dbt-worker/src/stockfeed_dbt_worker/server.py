"""The worker: accept a request on the Unix socket, fork a child that runs it with the warm parent's imports and
manifest, stream the child's output back, reap it.

Why a child per command rather than running dbt in this process: dbt-duckdb keeps its DuckDB connection open for
the life of the process, and DuckDB allows one writing process per file, so a long-lived dbt would lock the loader
out of the warehouse. A child ends with its command and its lock with it; it also starts from the same clean state
every time (no memory growth, no leftovers from the last command), as a cold `dbt` would, but with dbt imported and
the project parsed. Children run concurrently, as separate `dbt` processes would.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.util
import os
import select
import signal
import socket
import stat
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from stockfeed_dbt_worker.manifest_key import fingerprint, manifest_key, parse_argv, watched_paths
from stockfeed_dbt_worker.protocol import (
    EXIT_ERROR,
    MAX_REQUEST_BYTES,
    ProtocolError,
    Request,
    decode_request,
    encode_trailer,
)

log = logging.getLogger(__name__)
REQUEST_READ_SECONDS = 10.0
KILL_GRACE_SECONDS = 10.0
KEPT_MANIFESTS = 4  # distinct parses kept (e.g. build and the freshness test's --vars): a few MB each


class Runner(Protocol):
    def parse(self, parse_argv: tuple[str, ...]) -> Any | None: ...
    def invoke(self, request: Request, manifest: Any | None) -> int: ...


@contextlib.contextmanager
def request_environment(request: Request) -> Iterator[None]:
    """The request's environment and directory for a parse in this process, restored afterwards."""
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    try:  # before any change: a failing chdir must not leave this process with a request's secrets
        os.environ.clear()
        os.environ.update(request.env)
        os.chdir(request.cwd)
        sys.argv = ["dbt", *(parse_argv(request.argv) or ())]  # dbt logs it as the invocation's command
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.argv = saved_argv


@dataclass
class ManifestCache:
    runner: Runner
    entries: OrderedDict[str, Any | None] = field(default_factory=OrderedDict)

    def manifest_for(self, request: Request) -> Any | None:
        parse = parse_argv(request.argv)
        paths = watched_paths(request)
        if parse is None or not (paths[0] / "dbt_project.yml").is_file():
            return None  # not a dbt project (yet): the command finds out for itself, and nothing is walked
        key = manifest_key(request, parse, fingerprint(paths))
        if key not in self.entries:
            started = time.monotonic()
            with request_environment(request):
                self.entries[key] = self.runner.parse(parse)
            outcome = "parsed" if self.entries[key] is not None else "did not parse (dbt will say why)"
            log.info("project %s in %.1f s (%s)", outcome, time.monotonic() - started, " ".join(parse))
            while len(self.entries) > KEPT_MANIFESTS:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        return self.entries[key]


def read_request(conn: socket.socket) -> Request | None:
    """The request on a new connection; None for a probe (closed without sending anything)."""
    conn.settimeout(REQUEST_READ_SECONDS)
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(65536)
        if not chunk and not data:
            return None
        if not chunk:
            raise ProtocolError("the connection closed before a whole request line arrived")
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ProtocolError(f"request longer than {MAX_REQUEST_BYTES} bytes")
    conn.settimeout(None)
    return decode_request(data.partition(b"\n")[0])


def stop_when_caller_leaves(fd: int) -> None:
    """In the child: end the command when its caller hangs up (an Airflow timeout or kill), as the cold path's
    subprocess would end, rather than let it run on and hold the warehouse while a retry starts."""

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, select.POLLRDHUP)
        while True:
            for _, events in poller.poll():
                if events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

    threading.Thread(target=watch, name="caller-watch", daemon=True).start()


def run_child(conn: socket.socket, request: Request, manifest: Any | None, runner: Runner) -> None:
    """In the forked child: dbt's output goes to the connection, then the exit code; never returns."""
    code = EXIT_ERROR
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        stop_when_caller_leaves(conn.fileno())
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(conn.fileno(), 1)
        os.dup2(conn.fileno(), 2)
        # new streams on the new descriptors (whatever sys.stdout was), line-buffered: output arrives as it is written
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(request.env)
        os.chdir(request.cwd)
        sys.argv = ["dbt", *request.argv]  # dbt logs it as the invocation's command (dbt.log, run_results.json)
        code = runner.invoke(request, manifest)
    except BaseException:  # whatever happened, the caller gets the traceback and an exit code
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            # what a normal exit runs for multiprocessing: dbt's named semaphores are unlinked, which os._exit
            # would skip, leaving two files in /dev/shm per command (before the trailer: nothing may follow it)
            multiprocessing.util._exit_function()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):  # the caller went away: nobody to tell
            conn.sendall(encode_trailer(code))
        os._exit(code)


@dataclass
class Worker:
    socket_path: str
    runner: Runner
    drain_seconds: float = 30.0
    children: dict[int, tuple[str, float]] = field(default_factory=dict)
    stopping: bool = False

    def serve(self) -> None:
        cache = ManifestCache(self.runner)
        listener = bind(self.socket_path)
        log.info("dbt worker ready on %s (pid %d)", self.socket_path, os.getpid())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        try:
            while not self.stopping:
                self._reap(block=False)
                with contextlib.suppress(InterruptedError):
                    ready, _, _ = select.select([listener], [], [], 0.5)
                    if ready and not self.stopping:
                        self._handle(listener, cache)
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            self._drain()

    def _stop(self, signum: int, _frame: object) -> None:
        log.info("signal %d: no new commands; waiting for %d running", signum, len(self.children))
        self.stopping = True

    def _handle(self, listener: socket.socket, cache: ManifestCache) -> None:
        try:
            conn, _ = listener.accept()
        except OSError as exc:  # e.g. out of file descriptors: the caller runs dbt cold, the worker goes on
            log.warning("accept failed: %s", exc)
            return
        with conn:
            try:
                request = read_request(conn)
            except (ProtocolError, OSError) as exc:
                log.warning("refused a request: %s", exc)
                with contextlib.suppress(OSError):
                    conn.sendall(f"stockfeed-dbt-worker: {exc}\n".encode() + encode_trailer(EXIT_ERROR))
                return
            if request is None:  # a probe: is anybody listening?
                return
            try:
                manifest = cache.manifest_for(request)
            except Exception:  # a parse that crashed: the command parses for itself and reports it
                log.exception("parsing for `dbt %s` failed", " ".join(request.argv))
                manifest = None
            sys.stdout.flush()
            sys.stderr.flush()
            threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
            if threads > 1:  # a native thread that holds a lock would be missing in the child and hang it
                log.warning("forking with %d threads in the worker: a child may hang", threads)
            try:
                pid = os.fork()
            except OSError as exc:
                log.warning("fork failed: %s", exc)
                with contextlib.suppress(OSError):
                    conn.sendall(f"stockfeed-dbt-worker: cannot start the command: {exc}\n".encode()
                                 + encode_trailer(EXIT_ERROR))  # fmt: skip
                return
            if pid == 0:
                listener.close()
                run_child(conn, request, manifest, self.runner)
            command = " ".join(request.argv)
            self.children[pid] = (command, time.monotonic())
            log.info("pid %d: dbt %s (%s manifest)", pid, command, "warm" if manifest is not None else "own")

    def _reap(self, block: bool) -> None:
        """Wait for ended children, ours and any orphan handed to us (as a container's PID 1)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG if not (block and self.children) else 0)
            except ChildProcessError:  # none left to wait for
                self.children.clear()
                return
            if pid == 0:
                return
            if pid not in self.children:
                continue
            command, started = self.children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            log.info("pid %d: dbt %s exited %d after %.1f s", pid, command, code, time.monotonic() - started)

    def _drain(self) -> None:
        deadline = time.monotonic() + self.drain_seconds
        while self.children and time.monotonic() < deadline:
            self._reap(block=False)
            time.sleep(0.1)
        for signum in (signal.SIGTERM, signal.SIGKILL):  # then whatever ignores SIGTERM
            for pid in list(self.children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            deadline = time.monotonic() + KILL_GRACE_SECONDS
            while self.children and time.monotonic() < deadline:
                self._reap(block=False)
                time.sleep(0.05)


class AlreadyRunningError(RuntimeError):
    pass


def bind(socket_path: str) -> socket.socket:
    """Listen on `socket_path`, readable by this user only (requests carry the caller's secrets)."""
    if os.path.lexists(socket_path):
        if not stat.S_ISSOCK(os.lstat(socket_path).st_mode):
            raise AlreadyRunningError(f"{socket_path} exists and is not a socket: not removing it")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(socket_path)
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(socket_path)  # a worker that is gone left it behind
            else:
                raise AlreadyRunningError(f"another dbt worker already listens on {socket_path}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o077)
    try:
        listener.bind(socket_path)
    finally:
        os.umask(previous)
    listener.listen(16)
    return listener
