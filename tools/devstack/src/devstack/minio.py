"""MinIO built from the Go module proxy, serving one data directory on loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devstack import health, procs
from devstack.credentials import credential
from devstack.errors import StackError
from devstack.server import Server, require_tool
from devstack.settings import MINIO_VERSION, Settings

# S3 event notifications: MinIO publishes bucket events to Kafka through one target, like S3 -> SQS on AWS.
EVENTS_TARGET_ID = "stockfeed"  # the <ID> in MINIO_NOTIFY_KAFKA_*_<ID> and in the target's ARN
EVENTS_TOPIC = "stockfeed.bronze-events"
EVENTS_ARN = f"arn:minio:sqs::{EVENTS_TARGET_ID}:kafka"  # what a bucket's QueueConfiguration names


class MinIO(Server):
    name = "minio"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.binary = settings.cache / "minio" / MINIO_VERSION / "minio"
        self.data_dir = settings.data("minio")

    def install(self) -> None:
        if self.binary.exists():
            return
        go = require_tool("go", "install Go 1.24+ (the machine's toolchain)")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [go, "install", f"github.com/minio/minio@{MINIO_VERSION}"],
            env={**os.environ, "GOBIN": str(self.binary.parent), "CGO_ENABLED": "0"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"minio: go install failed:\n{result.stderr[-3000:]}")

    @property
    def user(self) -> str:
        return credential(self.settings.home, "DEVSTACK_MINIO_ROOT_USER", default="stockfeed")

    @property
    def password(self) -> str:
        return credential(self.settings.home, "DEVSTACK_MINIO_ROOT_PASSWORD")

    def start(self) -> None:
        if self.running():
            return
        port = self.settings.minio_port
        procs.require_free_ports("minio", {"DEVSTACK_MINIO_PORT": port})
        if not self.binary.exists():
            raise StackError(f"minio: {self.binary} is not built; run `devstack install` (make devstack-up does)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.data_dir),
            "MINIO_ROOT_USER": self.user,
            "MINIO_ROOT_PASSWORD": self.password,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "1",  # no root-disk refusal: the data dir lives on the system disk
            **self.events_env(),
        }
        procs.start_daemon(
            [str(self.binary), "server", str(self.data_dir), "--address", f"127.0.0.1:{port}", "--quiet"],
            pid_file=self.pid_file,
            log_file=self.log_file,
            env=env,
        )
        health.wait_until(self.healthy, what="minio", timeout=60, log_file=self.log_file, still_running=self.running)

    @property
    def events_queue_dir(self) -> Path:
        # A dot name is no valid bucket name, so MinIO never lists this directory as a bucket.
        return self.data_dir / ".events-queue" / EVENTS_TARGET_ID

    def events_env(self) -> dict[str, str]:
        """The Kafka notification target: buckets opt in with a QueueConfiguration naming EVENTS_ARN."""
        # MinIO takes the target id verbatim from the variable's suffix, and the ARN match is case-sensitive:
        # MINIO_NOTIFY_KAFKA_ENABLE_STOCKFEED would publish as arn:minio:sqs::STOCKFEED:kafka, not EVENTS_ARN.
        suffix = EVENTS_TARGET_ID
        return {
            f"MINIO_NOTIFY_KAFKA_ENABLE_{suffix}": "on",
            f"MINIO_NOTIFY_KAFKA_BROKERS_{suffix}": f"127.0.0.1:{self.settings.kafka_port}",
            f"MINIO_NOTIFY_KAFKA_TOPIC_{suffix}": EVENTS_TOPIC,
            # Events wait on disk while Kafka is down (or not started yet), and MinIO starts regardless.
            f"MINIO_NOTIFY_KAFKA_QUEUE_DIR_{suffix}": str(self.events_queue_dir),
            # No MINIO_NOTIFY_KAFKA_VERSION: sarama's default protocol (2.1) is one Kafka 4.1 still serves (tested).
        }

    def stop(self) -> bool:
        return procs.stop(self.pid_file, str(self.data_dir))

    def running(self) -> bool:
        return procs.owned_pid(self.pid_file, str(self.data_dir)) is not None

    def healthy(self) -> bool:
        return health.http_ok(f"http://127.0.0.1:{self.settings.minio_port}/minio/health/ready")

    def address(self) -> str:
        return f"http://127.0.0.1:{self.settings.minio_port}"

    def env(self) -> dict[str, str]:
        return {
            "DEVSTACK_S3_ENDPOINT": self.address(),
            "DEVSTACK_S3_ACCESS_KEY": self.user,
            "DEVSTACK_S3_SECRET_KEY": self.password,
            "DEVSTACK_S3_REGION": "us-east-1",
            "DEVSTACK_S3_EVENTS_ARN": EVENTS_ARN,
            "DEVSTACK_S3_EVENTS_TOPIC": EVENTS_TOPIC,
        }
