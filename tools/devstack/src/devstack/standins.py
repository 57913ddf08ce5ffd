"""Stand-ins for the third-party images the chart runs (MinIO's server, its `mc` client, PostgreSQL): nothing can be
pulled here, so MinIO's are one-layer images around the same programs built from the Go module proxy, and
PostgreSQL's is Debian's PostgreSQL 15 on the stack's image base with an entrypoint of ours that does what the
official image's does for the chart (postgres_standin/); each is imported into the real node's containerd under its
own name. The chart's image values point at them (tests/k8s/test_platform_on_real_node.py);
its own images come from their Dockerfiles instead (images.py).

What they do not cover: the upstream images' other files (shells, CA bundles), the official PostgreSQL
entrypoint's other features (init scripts, POSTGRES_INITDB_ARGS, ...), their versions (MinIO's newest the module
proxy serves, Debian's PostgreSQL 15 for the chart's 17) and their digests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import StackError
from devstack.k8s import node_config
from devstack.server import require_tool
from devstack.settings import MC_VERSION, MINIO_VERSION, Settings

REPOSITORY = "devstack.local"


@dataclass(frozen=True)
class StandIn:
    name: str  # the program, and the image's name
    version: str
    module: str  # `go install` path

    @property
    def reference(self) -> str:
        return f"{REPOSITORY}/{self.name}:{self.version}"

    def binary(self, cache: Path) -> Path:
        return cache / self.name / self.version / self.name


MINIO = StandIn("minio", MINIO_VERSION, "github.com/minio/minio")
MC = StandIn("mc", MC_VERSION, "github.com/minio/mc")
STAND_INS = (MINIO, MC)
# PostgreSQL is Debian's, built on the stack's image base from postgres_standin/ (images.Builder.build_postgres)
POSTGRES_REFERENCE = f"{REPOSITORY}/postgres:15-bookworm"
POSTGRES_CONTEXT = Path(__file__).resolve().parent / "postgres_standin"


def postgres_hash(base_id: str) -> str:
    """What decides a rebuild of the PostgreSQL stand-in: its files and the base it starts from."""
    digest = hashlib.sha256(base_id.encode() + b"\0")
    for path in sorted(POSTGRES_CONTEXT.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def archive(stand_in: StandIn, binary: bytes) -> bytes:
    """The image: the program at /usr/bin, its entrypoint (the chart passes only arguments), /tmp as HOME."""
    return node_config.docker_archive(
        [stand_in.reference],
        {f"usr/bin/{stand_in.name}": binary},
        {},
        [],
        entrypoint=[f"/usr/bin/{stand_in.name}"],
        env=["PATH=/usr/bin:/bin", "HOME=/tmp"],
        created_by=f"devstack (go install {stand_in.module}@{stand_in.version})",
    )


def install(settings: Settings) -> None:
    """Build each program once per version (MinIO's is the stack's own server build)."""
    for stand_in in STAND_INS:
        binary = stand_in.binary(settings.cache)
        if binary.is_file():
            continue
        go = require_tool("go", "install Go 1.24+ (the machine's toolchain)")
        binary.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [go, "install", "-ldflags=-s -w", f"{stand_in.module}@{stand_in.version}"],
            env={**os.environ, "GOBIN": str(binary.parent), "CGO_ENABLED": "0"},
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"images: go install {stand_in.module} failed:\n{result.stderr[-3000:]}")


def import_missing(settings: Settings, socket: str, present: set[str], work: Path) -> list[str]:
    """Import each stand-in the node's containerd lacks; returns the references imported."""
    ctr = require_tool("ctr", "apt-get install containerd")
    imported = []
    for stand_in in STAND_INS:
        if stand_in.reference in present:
            continue
        path = work / f"{stand_in.name}-standin.tar"
        path.write_bytes(archive(stand_in, stand_in.binary(settings.cache).read_bytes()))
        try:
            result = subprocess.run(
                [ctr, "--address", socket, "--namespace", "k8s.io", "images", "import", str(path)],
                capture_output=True, text=True, check=False, timeout=600,
            )  # fmt: skip
        finally:
            path.unlink()
        if result.returncode != 0:
            raise StackError(f"images: importing {stand_in.reference} failed: {result.stderr[-2000:]}")
        imported.append(stand_in.reference)
    return imported


def env() -> Mapping[str, str]:
    return {
        "DEVSTACK_MINIO_IMAGE": MINIO.reference,
        "DEVSTACK_MC_IMAGE": MC.reference,
        "DEVSTACK_POSTGRES_IMAGE": POSTGRES_REFERENCE,
    }
