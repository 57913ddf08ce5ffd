"""The project's images, built here from their own Dockerfiles (`devstack up images`, `make images`), are current,
sit in the real node's containerd under the names the chart uses, and each one's entrypoint runs in a pod there
with the chart's securityContext (`--help`/`--version`, exit 0).

Pods land on the real node by its label and taint (`stockfeed.dev/real-node`), with `imagePullPolicy: Never`:
nothing can be pulled here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devstack import envfile, images
from devstack.settings import Settings
from tests.k8s.kube import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(300)]

LABEL = "stockfeed.dev/real-node"
POD_TIMEOUT = 180  # seconds: dbt and streamlit import a lot on a shared 2-core machine
IDS = [image.name for image in images.IMAGES]
# What each entrypoint prints for its smoke arguments (Image.smoke), so a pod that exits 0 without running the
# program (a wrong entrypoint) does not pass.
EXPECTED = {  # each program's own name: an image with another service's entrypoint fails
    "simulator": "usage: stockfeed-simulator",
    "producer": "usage: stockfeed-producer",
    "consumer": "usage: stockfeed-consumer",
    "loader": "usage: stockfeed-load",
    "dbt": "Core:",
    "operator": "usage: stockfeed-operator",
    "dashboard": "Streamlit, version",
}


@pytest.fixture(scope="session")
def stack_values(stack_settings: Settings) -> dict[str, str]:
    values = envfile.read(stack_settings.env_file)
    if os.geteuid() != 0:
        pytest.skip("the images are built as root only (buildah's own storage, mounts)")
    if not values.get("DEVSTACK_IMAGES"):
        pytest.fail(f"the images are not built ({stack_settings.env_file} lacks DEVSTACK_IMAGES): run `make images`")
    return values


@pytest.fixture(scope="session")
def builder(stack_settings: Settings, stack_values: dict[str, str]) -> images.Builder:
    return images.Builder(stack_settings)


@pytest.fixture(scope="session")
def node(stack_values: dict[str, str]) -> dict[str, str]:
    """The real node's entries; skips only when the stack has no real node."""
    if not stack_values.get("DEVSTACK_REAL_NODE"):
        pytest.skip("no real node in this stack (DEVSTACK_REAL_NODE unset): the images are built but cannot run here")
    if not stack_values.get("DEVSTACK_CONTAINERD_SOCKET"):
        pytest.fail("the real node is up but the env file names no DEVSTACK_CONTAINERD_SOCKET")
    return stack_values


@pytest.mark.parametrize("image", images.IMAGES, ids=IDS)
def test_the_archive_is_current(builder: images.Builder, image: images.Image) -> None:
    """Built from the tree as it is now: `devstack up images` rebuilds whatever changed."""
    base = builder.base_id()
    assert base is not None, f"{images.BASE_IMAGE} is not in buildah's storage under {builder.cache}"
    assert builder.current(image, base), f"{builder.archive(image)} is stale or missing: run `make images`"


@pytest.mark.parametrize("image", images.IMAGES, ids=IDS)
def test_the_image_is_in_the_nodes_containerd(
    node: dict[str, str], builder: images.Builder, image: images.Image
) -> None:
    name = images.containerd_name(builder.reference(image))
    listed = subprocess.run(
        ["ctr", "--address", node["DEVSTACK_CONTAINERD_SOCKET"], "--namespace", images.NAMESPACE, "images", "ls",
         "--quiet", f"name=={name}"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert listed == [name]


def _smoke_pod(name: str, reference: str, image: images.Image) -> dict[str, Any]:
    """The image's own entrypoint with `args`, as the chart runs its pods (restricted, read-only root, /tmp)."""
    container = {
        "name": "main",
        "image": reference,
        "imagePullPolicy": "Never",
        "args": list(image.smoke),
        "securityContext": {  # stockfeed.containerSecurityContext
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if image.command:
        container["command"] = list(image.command)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "securityContext": {  # stockfeed.podSecurityContext
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "nodeSelector": {LABEL: "true"},
            "tolerations": [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        },
    }


@pytest.mark.parametrize("image", images.IMAGES, ids=IDS)
def test_the_entrypoint_runs_in_a_pod_on_the_real_node(
    node: dict[str, str], core_v1: client.CoreV1Api, namespace: str, builder: images.Builder, image: images.Image
) -> None:
    name = f"smoke-{image.name}"
    core_v1.create_namespaced_pod(namespace, _smoke_pod(name, builder.reference(image), image))

    def finished() -> client.V1Pod | None:
        pod = core_v1.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase in ("Succeeded", "Failed") else None

    try:
        pod = wait_for(finished, POD_TIMEOUT, f"pod {name} to finish")
        log = core_v1.read_namespaced_pod_log(name, namespace)
    finally:
        core_v1.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    assert pod.spec.node_name == node["DEVSTACK_REAL_NODE"]
    assert pod.status.phase == "Succeeded", log
    assert EXPECTED[image.name].lower() in log.lower(), log


def test_the_images_are_where_the_env_file_says(stack_values: dict[str, str], builder: images.Builder) -> None:
    assert Path(stack_values["DEVSTACK_IMAGES_DIR"]) == builder.cache
    wanted = [images.containerd_name(builder.reference(image)) for image in images.IMAGES]
    assert stack_values["DEVSTACK_IMAGES"].split() == wanted
