"""skaffold itself against the test cluster: `skaffold deploy -p real-node` (skaffold built from the Go module proxy
by `devstack up cluster`) deploys the platform release of skaffold.yaml onto the real node, with the images
`make images` imported. Its releases, setValueTemplates (IMAGE_REPO_/IMAGE_TAG_ from the build artifacts) and
status checks run for real; only the build step does not, as skaffold's builders need a Docker daemon or a
registry, neither of which exists here. The test owns its namespace, Secrets and volume."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.k8s.kube import REPO_ROOT, Tool, volume_for_claim

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(900)]

RELEASE = "stockfeed"  # skaffold.yaml's release name
ARTIFACTS = ("operator", "producer", "consumer", "simulator", "loader", "dbt", "dashboard")
SERVED = ("operator", "simulator", "dashboard")  # the chart's own Deployments (MinIO, PostgreSQL, Kafdrop are off)


@pytest.fixture
def skaffold(cluster_env: dict[str, str]) -> Path:
    if not cluster_env.get("DEVSTACK_REAL_NODE"):
        pytest.skip("the stack runs without a real node (DEVSTACK_NODE=off, or not root)")
    binary = Path(cluster_env.get("DEVSTACK_SKAFFOLD", ""))
    if not binary.is_file():
        pytest.fail("skaffold is not built: run `devstack up cluster` (make cluster-up)")
    return binary


@pytest.fixture
def imported(cluster_env: dict[str, str]) -> dict[str, str]:
    """artifact name -> the reference of its image in the node's containerd (what a build would have produced)."""
    images = cluster_env.get("DEVSTACK_IMAGES", "").split()
    found = {
        name: next((image for image in images if image.startswith(f"docker.io/library/stockfeed-{name}:")), "")
        for name in ARTIFACTS
    }
    missing = [name for name, image in found.items() if not image]
    if missing:
        pytest.fail(f"the node lacks the {', '.join(missing)} images: run `devstack up images`")
    return found


@pytest.fixture
def stack_secrets(core_v1: client.CoreV1Api, namespace: str, stack_env: dict[str, str]) -> None:
    """The two Secrets charts/real-node-values.yaml names: S3 keys never travel as values (or on a command line)."""
    keys = (stack_env["DEVSTACK_S3_ACCESS_KEY"], stack_env["DEVSTACK_S3_SECRET_KEY"])
    for name, data in (
        ("devstack-s3", {"access-key-id": keys[0], "secret-access-key": keys[1]}),
        ("devstack-loader", {"LOADER_S3_ACCESS_KEY_ID": keys[0], "LOADER_S3_SECRET_ACCESS_KEY": keys[1]}),
    ):
        core_v1.create_namespaced_secret(
            namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        )


@pytest.fixture
def warehouse_volume(core_v1: client.CoreV1Api, namespace: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="stockfeed-skaffold-") as folder:
        Path(folder).chmod(0o777)
        with volume_for_claim(core_v1, namespace, f"{RELEASE}-warehouse", folder) as volume:
            yield volume


def run_skaffold(
    skaffold: Path, args: list[str], kubeconfig: Path, helm: Tool, home: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SKAFFOLD_")},
        "HOME": str(home),  # skaffold keeps its global config under ~/.skaffold
        "KUBECONFIG": str(kubeconfig),
        "PATH": f"{helm.binary.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the cluster's own helm
        "SKAFFOLD_UPDATE_CHECK": "false",
    }
    return subprocess.run(
        [str(skaffold), *args, "--filename", str(REPO_ROOT / "skaffold.yaml"), "--interactive=false"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip


def test_skaffold_deploys_the_platform_release_onto_the_real_node(
    skaffold: Path,
    imported: dict[str, str],
    stack_secrets: None,
    warehouse_volume: str,
    cluster_env: dict[str, str],
    kubeconfig_path: Path,
    helm: Tool,
    core_v1: client.CoreV1Api,
    apps_v1: client.AppsV1Api,
    namespace: str,
    tmp_path: Path,
) -> None:
    artifacts = tmp_path / "artifacts.json"
    builds = [{"imageName": f"stockfeed-{name}", "tag": image} for name, image in imported.items()]
    artifacts.write_text(json.dumps({"builds": builds}))
    deploy = ["deploy", "-p", "real-node", "-n", namespace, "--build-artifacts", str(artifacts)]
    deploy += ["--kube-context", "devstack", "--status-check=true"]
    deployed = run_skaffold(skaffold, deploy, kubeconfig_path, helm, tmp_path / "home")
    output = deployed.stdout + deployed.stderr
    print(output[-3000:])
    try:
        assert deployed.returncode == 0, output[-6000:]
        assert "Deployments stabilized" in output  # skaffold's own status check watched the rollouts

        releases = json.loads(helm.run(["list", "-n", namespace, "-o", "json"]).stdout)
        assert [(r["name"], r["status"]) for r in releases] == [(RELEASE, "deployed")]
        node = cluster_env["DEVSTACK_REAL_NODE"]
        for component in SERVED:
            deployment = apps_v1.read_namespaced_deployment(f"{RELEASE}-{component}", namespace)
            # the artifact's reference (docker.io/library/...), not the chart's default: setValueTemplates ran
            assert deployment.spec.template.spec.containers[0].image == imported[component]
            assert (deployment.status.ready_replicas or 0) == 1, component
            pods = core_v1.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/component={component}")
            assert {pod.spec.node_name for pod in pods.items} == {node}, component
        operator = apps_v1.read_namespaced_deployment(f"{RELEASE}-operator", namespace)
        env = {item.name: item.value for item in operator.spec.template.spec.containers[0].env or []}
        # the feeds' images travel as values too (the operator creates those Deployments at run time)
        assert env["OPERATOR_PRODUCER_IMAGE"] == imported["producer"]
        assert env["OPERATOR_CONSUMER_IMAGE"] == imported["consumer"]
        config = core_v1.read_namespaced_config_map("stockfeed-airflow-env", namespace).data
        assert (config["PIPELINE_LOADER_IMAGE"], config["PIPELINE_DBT_IMAGE"]) == (imported["loader"], imported["dbt"])
    finally:
        removed = run_skaffold(
            skaffold, ["delete", "-p", "real-node", "-n", namespace, "--kube-context", "devstack"],
            kubeconfig_path, helm, tmp_path / "home",
        )  # fmt: skip
        assert removed.returncode == 0, (removed.stdout + removed.stderr)[-3000:]
