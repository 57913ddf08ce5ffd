"""Local mode's step runner: dbt steps go to the warm dbt worker when one listens, run cold when none does, and
a failure either way fails the task. The worker here runs a stand-in for dbt (real dbt: tests/integration)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stockfeed_dbt_worker.client import worker_listening
from stockfeed_dbt_worker.protocol import Request
from stockfeed_dbt_worker.server import Worker

from tests.airflow.dag_inspection import DAGS

sys.path.insert(0, str(DAGS))

from stockfeed_pipeline.operators import run_locally
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
