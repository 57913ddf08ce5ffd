"""The stand-ins for MinIO's images: one layer with the program as the entrypoint, so a chart that passes only
arguments (MinIO's `server /data`, mc's subcommands) runs the same command line as with the upstream images."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from devstack import standins

pytestmark = pytest.mark.unit


def test_a_stand_in_runs_its_program_with_the_charts_arguments() -> None:
    with tarfile.open(fileobj=io.BytesIO(standins.archive(standins.MINIO, b"\x7fELF..."))) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config = json.loads(archive.extractfile(manifest[0]["Config"]).read())["config"]  # type: ignore[union-attr]
        layer_bytes = archive.extractfile(manifest[0]["Layers"][0]).read()  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] == [standins.MINIO.reference]
    assert config["Entrypoint"] == ["/usr/bin/minio"]
    assert config["Cmd"] == []
    assert "HOME=/tmp" in config["Env"]  # the root filesystem is read-only in the chart
    with tarfile.open(fileobj=io.BytesIO(layer_bytes)) as layer:
        assert layer.extractfile("usr/bin/minio").read() == b"\x7fELF..."  # type: ignore[union-attr]
        assert layer.getmember("usr/bin/minio").mode & 0o111


def test_the_references_name_the_built_versions() -> None:
    assert standins.env() == {
        "DEVSTACK_MINIO_IMAGE": f"devstack.local/minio:{standins.MINIO.version}",
        "DEVSTACK_MC_IMAGE": f"devstack.local/mc:{standins.MC.version}",
        "DEVSTACK_POSTGRES_IMAGE": "devstack.local/postgres:15-bookworm",
    }


def test_the_postgres_stand_in_is_rebuilt_when_its_files_or_base_change() -> None:
    assert standins.postgres_hash("sha256:base-a") != standins.postgres_hash("sha256:base-b")
    assert standins.postgres_hash("sha256:base-a") == standins.postgres_hash("sha256:base-a")
    files = {path.name for path in standins.POSTGRES_CONTEXT.iterdir()}
    assert files == {"Dockerfile", "docker-entrypoint.sh"}  # every file of the context is in the hash
