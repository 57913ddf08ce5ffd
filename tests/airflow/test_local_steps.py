"""Local mode's step runner: dbt steps go to the warm dbt worker when one listens, run cold when none does, and
a failure either way fails the task; the loader's step returns its report. The worker here runs a stand-in for dbt
and the loader is a stand-in program (the real ones: tests/integration)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stockfeed_dbt_worker.client import worker_listening
from stockfeed_dbt_worker.protocol import Request
from stockfeed_dbt_worker.server import Worker

from tests.airflow.dag_inspection import DAGS

sys.path.insert(0, str(DAGS))

from stockfeed_pipeline.operators import load_locally, run_locally
from stockfeed_pipeline.settings import PipelineSettings

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


class EchoDbt:
    def parse(self, parse_argv: tuple[str, ...]) -> Any | None:
        return None

    def invoke(self, request: Request, manifest: Any | None) -> int:
        print(f"worker ran: {' '.join(request.argv)}")
        return 1 if "failing_model" in request.argv else 0


@contextlib.contextmanager
def echo_worker(path: Path) -> Iterator[None]:
    pid = os.fork()
    if pid == 0:
        try:
            Worker(str(path), EchoDbt()).serve()
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while not worker_listening(str(path)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def test_a_dbt_step_runs_on_the_worker(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sock = tmp_path / "dbt.sock"
    caplog.set_level(logging.INFO)
    with echo_worker(sock):
        run_locally(["/nonexistent/dbt", "build", "--selector", "minute_job"], dbt_worker_socket=str(sock))
        assert "worker ran: build --selector minute_job" in caplog.text, "dbt's arguments, without the program"
        with pytest.raises(RuntimeError, match=r"dbt \(on the dbt worker\) exited with 1"):
            run_locally(["/nonexistent/dbt", "build", "--select", "failing_model"], dbt_worker_socket=str(sock))


def test_without_a_worker_the_step_runs_cold(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    program = [sys.executable, "-c", "print('ran as a subprocess')"]
    run_locally(program, dbt_worker_socket=str(tmp_path / "nobody.sock"))
    assert "running dbt cold instead" in caplog.text
    assert "ran as a subprocess" in caplog.text
    with pytest.raises(RuntimeError, match="exited with 3"):
        run_locally([sys.executable, "-c", "raise SystemExit(3)"], dbt_worker_socket=str(tmp_path / "nobody.sock"))


def test_the_worker_socket_is_a_setting_off_by_default() -> None:
    assert PipelineSettings.from_env({}).dbt_worker_socket is None
    assert PipelineSettings.from_env({"PIPELINE_DBT_WORKER_SOCKET": ""}).dbt_worker_socket is None
    assert PipelineSettings.from_env({"PIPELINE_DBT_WORKER_SOCKET": "/run/dbt.sock"}).dbt_worker_socket == (
        "/run/dbt.sock"
    )


def fake_loader(body: str) -> list[str]:
    return [sys.executable, "-c", f"import json, os, pathlib\n{body}"]


def test_the_load_step_returns_the_loaders_report_with_its_attempt() -> None:
    report = {"run": "r1", "rows": 3, "rows_by_kind": {"quotes": 3, "trades": 0, "other": 0}}
    writes = f"pathlib.Path(os.environ['LOADER_REPORT_FILE']).write_text(json.dumps({report!r}))"
    returned = load_locally(fake_loader(writes), ti=types.SimpleNamespace(try_number=2))
    assert returned == {**report, "attempt": 2}


def test_a_loader_without_a_report_returns_none(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    silent = fake_loader("print('loaded, reported nothing')")
    assert load_locally(silent, ti=types.SimpleNamespace(try_number=1)) is None
    assert "wrote no report" in caplog.text


def test_a_failing_loader_fails_the_step() -> None:
    with pytest.raises(RuntimeError, match="exited with 3"):
        load_locally(fake_loader("raise SystemExit(3)"), ti=types.SimpleNamespace(try_number=1))
