"""Helpers for tests against the local control plane: waiting for a condition, and running kubectl or helm."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes import client

from devstack import strimzi_crds
from devstack.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Strimzi's CRDs, generated from its jars on Maven Central by `devstack up cluster` (`make cluster-up`)
STRIMZI_CRDS = Path(os.environ.get("DEVSTACK_STRIMZI_CRDS") or strimzi_crds.crds_dir(Settings.from_env().cache))

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll `predicate` until it returns something truthy and return that; fail the test naming `what` on timeout.

    An exception from the predicate counts as "not yet" (the API may not know a new type for a moment);
    the last value or exception is part of the failure message.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except Exception as error:
            last = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")
        time.sleep(interval)


@dataclass(frozen=True)
class Tool:
    """A CLI (kubectl or helm) bound to the test cluster's kubeconfig."""

    binary: Path
    kubeconfig: Path
    env: Mapping[str, str]

    def run(
        self, args: Sequence[str], *, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=dict(self.env),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"`{self.binary.name} {' '.join(args)}` exited {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result


@contextlib.contextmanager
def warehouse_claim(core_v1: client.CoreV1Api, namespace: str, host_path: str) -> Iterator[str]:
    """The claim the DAG's pods mount (PIPELINE_WAREHOUSE_CLAIM), on a hostPath volume of its own; yields the claim's
    name and deletes the volume afterwards (the claim goes with the namespace)."""
    with volume_for_claim(core_v1, namespace, "stockfeed-warehouse", host_path) as volume:
        core_v1.create_namespaced_persistent_volume_claim(
            namespace,
            client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name="stockfeed-warehouse"),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    storage_class_name="",
                    volume_name=volume,
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
                ),
            ),
        )
        yield "stockfeed-warehouse"


@contextlib.contextmanager
def volume_for_claim(core_v1: client.CoreV1Api, namespace: str, claim: str, host_path: str) -> Iterator[str]:
    """A hostPath volume reserved for a claim someone else makes (a chart's: there is no provisioner here); the PV
    controller binds them when the claim appears. Yields the volume's name and deletes it afterwards."""
    volume = f"{claim}-{namespace}"
    core_v1.create_persistent_volume(
        client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=volume),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": "1Gi"},
                access_modes=["ReadWriteOnce"],
                storage_class_name="",
                host_path=client.V1HostPathVolumeSource(path=host_path),
                claim_ref=client.V1ObjectReference(namespace=namespace, name=claim),
            ),
        )
    )
    try:
        yield volume
    finally:
        core_v1.delete_persistent_volume(volume)
