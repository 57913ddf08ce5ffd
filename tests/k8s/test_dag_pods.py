"""Kubernetes mode: the pods the DAG's KubernetesPodOperator tasks would create, rendered by Airflow itself and
created on the real API server (kwok marks them Running; no container runs here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.airflow.dag_inspection import inspect_dags
from tests.k8s import kube
from tests.k8s.kube import wait_for

pytestmark = pytest.mark.k8s

DAG_ID = "minio_to_snowflake_stream"
IMAGES = {"loader": "registry.local/stockfeed-loader:1.2.3", "dbt": "registry.local/stockfeed-dbt:4.5.6"}


@pytest.fixture
def rendered_pods(namespace: str, kubeconfig_path: Path, tmp_path: Path) -> dict[str, dict]:
    env = {
        "KUBECONFIG": str(kubeconfig_path),
        "PIPELINE_EXECUTION_MODE": "kubernetes",
        "PIPELINE_NAMESPACE": namespace,
        "PIPELINE_LOADER_IMAGE": IMAGES["loader"],
        "PIPELINE_DBT_IMAGE": IMAGES["dbt"],
        "PIPELINE_WAREHOUSE_CLAIM": "stockfeed-warehouse",
        "PIPELINE_DBT_TARGET": "duckdb",
    }
    described = inspect_dags(tmp_path, env, pods=True)
    assert described["import_errors"] == {}
    tasks = described["dags"][DAG_ID]["tasks"]
    # events (the default schedule) adds freshness_due: a ShortCircuit decision in the scheduler, no pod
    assert {task_id for task_id, task in tasks.items() if "pod" not in task} == {"freshness_due"}
    return {task_id: task["pod"] for task_id, task in tasks.items() if "pod" in task}


def test_pods_have_the_intended_image_command_and_resources(rendered_pods: dict[str, dict], namespace: str) -> None:
    expected = {
        "load_bronze_objects": (IMAGES["loader"], ["stockfeed-load"], []),
        "dbt_build": (IMAGES["dbt"], ["dbt"], ["build", "--selector"]),
        "check_gold_freshness": (IMAGES["dbt"], ["dbt"], ["test", "--select", "tag:freshness"]),
    }
    for task_id, (image, command, args_prefix) in expected.items():
        pod = rendered_pods[task_id]
        assert pod["metadata"]["namespace"] == namespace
        container = pod["spec"]["containers"][0]  # the loader's pod also has KubernetesPodOperator's XCom sidecar
        assert container["image"] == image
        assert container["command"] == command
        assert container.get("args", [])[: len(args_prefix)] == args_prefix
        if task_id == "dbt_build":  # the selector is a template Airflow renders per run (steps.BUILD_SELECTOR)
            assert "minute_job" in container["args"][2]
            assert "minute_selector(ti.xcom_pull(task_ids='load_bronze_objects'))" in container["args"][2]
            assert "full_build" in container["args"][2]
            assert container["args"][3:] == ["--target", "duckdb"]
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert "memory" in resources["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        xcom = {"xcom": "/airflow/xcom"} if task_id == "load_bronze_objects" else {}
        assert mounts == {"tmp": "/tmp", "warehouse": "/data", **xcom}


def test_the_loader_reports_through_a_sidecar_in_its_own_image(rendered_pods: dict[str, dict]) -> None:
    """The loader writes its report (the kinds of rows it committed) where KubernetesPodOperator reads its XCom; the
    sidecar that serves the file runs in the loader's image (nothing else to pull) as an unprivileged user."""
    loader, sidecar = rendered_pods["load_bronze_objects"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in loader.get("env", [])}
    assert env["LOADER_REPORT_FILE"] == "/airflow/xcom/return.json"
    assert sidecar["name"] == "airflow-xcom-sidecar"
    assert sidecar["image"] == IMAGES["loader"]
    assert sidecar.get("imagePullPolicy") == loader.get("imagePullPolicy")
    context = sidecar["securityContext"]
    assert context["runAsUser"] != 0
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    for task_id in ("dbt_build", "check_gold_freshness"):
        assert len(rendered_pods[task_id]["spec"]["containers"]) == 1


def test_credentials_come_only_from_secret_references(rendered_pods: dict[str, dict]) -> None:
    secrets = {
        "load_bronze_objects": "stockfeed-loader",
        "dbt_build": "stockfeed-dbt",
        "check_gold_freshness": "stockfeed-dbt",
    }
    for task_id, pod in rendered_pods.items():
        container, *sidecars = pod["spec"]["containers"]
        assert all("env" not in c and "envFrom" not in c for c in sidecars), "the XCom sidecar gets no settings"
        env_from = container["envFrom"]
        assert {"secretRef": {"name": secrets[task_id]}} in env_from
        assert {"configMapRef": {"name": "stockfeed-pipeline"}} in env_from
        literal = {e["name"]: e.get("value") for e in container.get("env", []) if "value" in e}
        leaked = [name for name in literal if any(w in name.upper() for w in ("PASSWORD", "SECRET", "KEY", "TOKEN"))]
        assert leaked == [], f"{task_id} carries credentials as literal env: {leaked}"


@pytest.fixture
def warehouse_claim(namespace: str, core_v1: client.CoreV1Api) -> Iterator[str]:
    """A bound claim named as the DAG expects, so the scheduler can place the pods (no container runs here)."""
    with kube.warehouse_claim(core_v1, namespace, f"/tmp/warehouse-{namespace}") as claim:
        yield claim


def test_the_api_server_accepts_the_pods(
    rendered_pods: dict[str, dict], namespace: str, core_v1: client.CoreV1Api, warehouse_claim: str
) -> None:
    created = []
    for pod in rendered_pods.values():
        pod["metadata"].pop("name", None)
        pod["metadata"]["generateName"] = "dag-step-"
        created.append(core_v1.create_namespaced_pod(namespace, pod).metadata.name)

    def all_running() -> bool:
        phases = [core_v1.read_namespaced_pod(name, namespace).status.phase for name in created]
        return all(phase == "Running" for phase in phases)

    wait_for(all_running, timeout=60, what=f"the DAG's pods {created} to be Running on the fake node")
