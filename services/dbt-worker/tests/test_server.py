"""The worker's process model with a stand-in for dbt (tests/integration/test_dbt_worker.py runs real dbt): a child
per command, output streamed and the exit code returned, the manifest parsed once per project state, commands run
side by side, a clean stop."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stockfeed_dbt_worker.client import WorkerDiedError, WorkerUnavailableError, run_on_worker, worker_listening
from stockfeed_dbt_worker.protocol import EXIT_ERROR, Request, encode_request
from stockfeed_dbt_worker.server import AlreadyRunningError, Worker, bind

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


KEPT: list[Any] = []


@dataclass
class FakeDbt:
    """dbt's stand-in: `parse` counts, and each command says which parse it got; argv picks its behaviour."""

    parses: int = 0

    def parse(self, parse_argv: tuple[str, ...]) -> Any | None:
        self.parses += 1  # in the parent: each count is a parse the worker did
        KEPT.append(multiprocessing.get_context("spawn").Lock())  # as dbt's parse: the resource tracker starts here
        return None if "--vars" in parse_argv and "broken" in parse_argv else f"manifest-{self.parses}"

    def invoke(self, request: Request, manifest: Any | None) -> int:
        action, _, argument = request.argv[2].partition(":")  # build --select <action>[:<argument>]
        print(f"manifest={manifest} cwd={os.getcwd()} X={os.environ.get('X')}")
        if action == "fail":
            print("1 of 2 models failed")
            return 1
        if action == "crash":
            raise RuntimeError("adapter exploded")
        if action == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "sleep":
            print(f"pid={os.getpid()}", flush=True)
            time.sleep(float(argument))
        if action == "semaphore":  # as dbt does: a named semaphore, which only a normal exit unlinks
            lock = multiprocessing.get_context("spawn").Lock()
            KEPT.append(lock)  # alive until the process ends, as dbt's are
            print(f"semaphore={lock._semlock.name}")  # type: ignore[attr-defined]
        print("Done.")
        return 0


@contextlib.contextmanager
def worker(path: Path, drain_seconds: float = 30.0) -> Iterator[int]:
    pid = os.fork()
    if pid == 0:  # the worker, as its own process (it forks its children, takes signals, unlinks its socket)
        code = 0
        try:
            Worker(str(path), FakeDbt(), drain_seconds=drain_seconds).serve()
        except BaseException:  # a test process must never return into pytest
            code = 1
        os._exit(code)
    try:
        deadline = time.monotonic() + 10
        while not worker_listening(str(path)):
            assert time.monotonic() < deadline, "the worker did not listen within 10 s"
            time.sleep(0.02)
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def in_child(work: Any) -> int:
    """Run `work` in a forked process whose exit code is its result; it never returns into pytest."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = work()
        finally:
            os._exit(code)
    return pid


def call(path: Path, *argv: str, env: dict[str, str] | None = None, cwd: str = "/") -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_on_worker(str(path), ["build", "--select", *argv], env or {"X": "1"}, cwd, lines.append, idle_timeout=30)
    return code, lines


@pytest.fixture
def sock(tmp_path: Path) -> Path:
    return tmp_path / "w.sock"


def test_output_and_exit_codes_come_back_as_the_cli_would_give_them(sock: Path, tmp_path: Path) -> None:
    with worker(sock):
        expected = [f"manifest=None cwd={tmp_path} X=from-request", "Done."]  # no dbt_project.yml: no parse ahead
        assert call(sock, "ok", env={"X": "from-request"}, cwd=str(tmp_path)) == (0, expected)
        code, lines = call(sock, "fail")
        assert (code, lines[-1]) == (1, "1 of 2 models failed")
        code, lines = call(sock, "crash")
        assert code == EXIT_ERROR
        assert any("RuntimeError: adapter exploded" in line for line in lines), lines
        with pytest.raises(WorkerDiedError, match="ended without an exit code"):
            call(sock, "die")
        assert call(sock, "ok")[0] == 0, "the worker outlives a child that died"


def test_a_command_leaves_no_semaphore_behind(sock: Path) -> None:
    with worker(sock):
        code, lines = call(sock, "semaphore")
    assert code == 0
    [name] = [line.split("=", 1)[1] for line in lines if line.startswith("semaphore=")]
    assert not Path(f"/dev/shm/sem.{name.lstrip('/')}").exists(), "each command would leave a file in /dev/shm"


def test_the_project_is_parsed_once_per_state(sock: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    model = project / "models" / "m.sql"
    model.write_text("select 1\n")
    flags = ("--project-dir", str(project))
    with worker(sock):
        first = call(sock, "ok", *flags, env={"X": "1", "AIRFLOW_CTX_DAG_RUN_ID": "a"})[1][0]
        again = call(sock, "ok", *flags, env={"X": "1", "AIRFLOW_CTX_DAG_RUN_ID": "b"})[1][0]
        assert first.startswith("manifest=manifest-1")
        assert again.startswith("manifest=manifest-1"), "a per-run Airflow variable does not force a parse"
        other_schema = call(sock, "ok", *flags, env={"X": "1", "DBT_SCHEMA": "OTHER"})[1][0]
        assert other_schema.startswith("manifest=manifest-2"), "a dbt variable changes what parsing produces"
        model.write_text("select 2 -- edited\n")
        edited = call(sock, "ok", *flags, env={"X": "1"})[1][0]
        assert edited.startswith("manifest=manifest-3"), "an edited model is parsed again"
        assert call(sock, "ok", *flags, "--vars", "broken")[1][0].startswith("manifest=None"), (
            "a project that does not parse: the command parses for itself"
        )
        assert call(sock, "ok", *flags, "--warn-error")[1][0].startswith("manifest=None"), (
            "a flag that may change parsing: the command parses for itself"
        )


def test_commands_run_side_by_side(sock: Path) -> None:
    with worker(sock):
        started = time.monotonic()
        slow = in_child(lambda: call(sock, "sleep:5")[0])
        time.sleep(0.3)
        assert call(sock, "ok")[0] == 0
        fast_done = time.monotonic() - started
        _, status = os.waitpid(slow, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert fast_done < 4.5, f"a quick command waited {fast_done:.1f} s behind a slow one (of 5 s)"


def test_a_caller_that_hangs_up_ends_its_command(sock: Path) -> None:
    """An Airflow timeout or kill closes the connection: the command must end too, not hold the warehouse."""
    with worker(sock), socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(sock))
        conn.sendall(encode_request(Request(("build", "--select", "sleep:60"), {}, "/")))
        received = b""
        while b"pid=" not in received or not received.endswith(b"\n"):
            received += conn.recv(4096)
        pid = int(received.decode().partition("pid=")[2].split()[0])
        conn.close()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
            assert time.monotonic() < deadline, "the command outlived its caller by 10 s"
            time.sleep(0.05)


def test_a_file_in_the_sockets_place_is_not_removed(sock: Path) -> None:
    sock.write_text("somebody's data")
    with pytest.raises(AlreadyRunningError, match="not a socket"):
        bind(str(sock))
    assert sock.read_text() == "somebody's data"


def test_a_bad_request_is_answered_and_refused(sock: Path) -> None:
    with worker(sock), socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(sock))
        conn.sendall(b'{"argv": "build"}\n')
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
        assert b"argv must be a non-empty list" in answer
        assert answer.endswith(b"\x002\n")
        assert call(sock, "ok")[0] == 0, "the worker still serves"


def test_the_socket_is_the_owners_alone_and_one_worker_per_path(sock: Path) -> None:
    with worker(sock):
        assert stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0, "requests carry secrets: no group or other access"
        with pytest.raises(AlreadyRunningError, match="already listens"):
            bind(str(sock))


def test_a_stale_socket_file_is_replaced(sock: Path) -> None:
    stale = bind(str(sock))
    stale.close()  # the file stays, nobody listens: a worker that was killed
    with worker(sock):
        assert call(sock, "ok")[0] == 0


def test_stop_lets_running_commands_finish_and_removes_the_socket(sock: Path) -> None:
    with worker(sock) as pid:
        running = in_child(lambda: call(sock, "sleep:1.5")[0])
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(running, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the running command finished with its exit code"
        deadline = time.monotonic() + 5
        while sock.exists():
            assert time.monotonic() < deadline, "the socket outlived the worker"
            time.sleep(0.05)
    with pytest.raises(WorkerUnavailableError, match="no dbt worker listens"):
        call(sock, "ok")


def test_nothing_listening_is_reported_as_unavailable(sock: Path) -> None:
    with pytest.raises(WorkerUnavailableError):
        call(sock, "ok")
    sys.stdout.flush()
