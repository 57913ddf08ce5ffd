"""One bounded demo run per mode, with names of its own, its output passed through (I/O only)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import running_line

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "tools" / "demo" / "demo.py"
DEMO_PORTS = (8080, 8501, 18080)  # Airflow, the dashboard, the simulator: taken while another demo runs


@dataclass
class DemoRun:
    mode: str
    home: Path
    names: dict[str, str]
    process: subprocess.Popen[str]
    running_at: list[float] = field(default_factory=list)  # wall clock of "stockfeed demo is running", once seen
    reader: threading.Thread | None = None

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "stocks_mds.duckdb"


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_free_ports(timeout: float) -> bool:
    """Waits (never kills) while another demo holds the demo's ports; False if they stay taken."""
    deadline = time.monotonic() + timeout
    while taken := [p for p in DEMO_PORTS if port_taken(p)]:
        if time.monotonic() >= deadline:
            return False
        print(f"bench.e2e: ports {taken} are taken (another demo?): waiting", file=sys.stderr, flush=True)
        time.sleep(15)
    return True


def _pass_through(run: DemoRun) -> None:
    assert run.process.stdout is not None
    for line in run.process.stdout:
        if not run.running_at and running_line(line):
            run.running_at.append(time.time())
        sys.stdout.write(line)
        sys.stdout.flush()


def start(mode: str, seconds: int) -> DemoRun:
    run_id = f"bench-e2e-{mode}-{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix=f"{run_id}-"))
    names = {"DEMO_TOPIC_PREFIX": f"{run_id}-", "DEMO_BUCKET": run_id, "DEMO_CONSUMER_GROUP": run_id}
    env = {
        **os.environ,
        **names,
        "DEMO_SECONDS": str(seconds),
        "DEMO_HOME": str(home),
        "PIPELINE_SCHEDULE": mode.removesuffix("-cold"),
        "DEMO_DBT_WORKER": "off" if mode.endswith("-cold") else "on",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(DEMO)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    run = DemoRun(mode, home, names, process)
    run.reader = threading.Thread(target=_pass_through, args=(run,), daemon=True)
    run.reader.start()
    return run


def observe_until_exit(run: DemoRun, poll_seconds: float, on_tick: Callable[[], None]) -> int:
    """Calls `on_tick` every `poll_seconds` until the demo exits (it stops itself after DEMO_SECONDS and its
    drain); Ctrl-C stops the demo. The demo's exit code."""
    try:
        while run.process.poll() is None:
            began = time.monotonic()
            on_tick()
            time.sleep(max(0.0, poll_seconds - (time.monotonic() - began)))
    except KeyboardInterrupt:
        run.process.terminate()
    code = run.process.wait()
    if run.reader is not None:
        run.reader.join(timeout=10)
    return code


def clean_up(run: DemoRun, keep_home: bool) -> None:
    """Best effort: the run's topics, bucket and Airflow database; its home unless `keep_home` (logs to read)."""
    sys.path.insert(0, str(REPO / "tools" / "devstack" / "src"))
    sys.path.insert(0, str(REPO / "tools" / "demo"))
    try:
        from devstack import envfile

        stack: dict[str, str] = envfile.read(REPO / ".devstack" / "env")
        _drop_topics(stack, run.names["DEMO_TOPIC_PREFIX"])
        _drop_bucket(stack, run.names["DEMO_BUCKET"])
        import airflow_db

        airflow_db.drop_database(stack["DEVSTACK_PG_DSN"], airflow_db.database_name(run.home / "airflow"))
    except Exception as error:  # leftovers have unique names: harmless, but say so
        print(f"bench.e2e: clean-up of {run.mode}'s run incomplete: {error}", file=sys.stderr)
    if keep_home:
        print(f"bench.e2e: {run.mode}'s demo home (logs) kept: {run.home}", file=sys.stderr)
    else:
        shutil.rmtree(run.home, ignore_errors=True)


def _drop_topics(stack: dict[str, str], prefix: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": stack["DEVSTACK_KAFKA_BOOTSTRAP"]})
    topics = [name for name in admin.list_topics(timeout=30).topics if name.startswith(prefix)]
    for future in admin.delete_topics(topics).values() if topics else ():
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def _drop_bucket(stack: dict[str, str], bucket: str) -> None:
    import boto3

    s3: Any = boto3.client(
        "s3",
        endpoint_url=stack["DEVSTACK_S3_ENDPOINT"],
        aws_access_key_id=stack["DEVSTACK_S3_ACCESS_KEY"],
        aws_secret_access_key=stack["DEVSTACK_S3_SECRET_KEY"],
        region_name=stack.get("DEVSTACK_S3_REGION", "us-east-1"),
    )
    with contextlib.suppress(s3.exceptions.NoSuchBucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            if keys := [{"Key": item["Key"]} for item in page.get("Contents", [])]:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
