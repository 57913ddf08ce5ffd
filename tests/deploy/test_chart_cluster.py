"""The platform chart against the real API server of the local control plane: every object passes a server-side
dry-run (schemas, Strimzi's CRDs with strict field validation, RBAC, admission), `helm install` succeeds for the
kind and the production-like values, and the operator Deployment becomes Ready (kwok plays the kubelet).

The Strimzi operator and Airflow are remote charts (not reachable here); the Strimzi CRDs are generated from
Strimzi's jars on Maven Central by `devstack up cluster` (tests.k8s.kube.STRIMZI_CRDS). Nothing runs in the pods,
so Kafka never becomes Ready and `helm test` is not run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from tests.deploy.chart import CHART, FIXTURES, PRODUCTION_VALUES, STRIMZI_CRDS, parse, value_args
from tests.k8s.kube import Tool, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(600)]

KIND_VALUES = {"exampleFeed.enabled": "true"}
FIELD_MANAGER = "stockfeed-chart-tests"


@pytest.fixture(scope="module")
def crds(kubectl: Tool) -> None:
    """Strimzi's CRDs and ours, applied (never deleted: other tests share these cluster-wide types)."""
    for source in (STRIMZI_CRDS, CHART / "crds"):
        kubectl.run(
            ["apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", str(source)]
        )
    names = [
        "kafkas.kafka.strimzi.io",
        "kafkanodepools.kafka.strimzi.io",
        "kafkatopics.kafka.strimzi.io",
        "kafkausers.kafka.strimzi.io",
        "stockfeeds.stockfeed.dev",
    ]
    kubectl.run(["wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{name}" for name in names]])


def render(helm: Tool, namespace: str, values: list[Path], sets: dict[str, str]) -> str:
    return helm.run(["template", "stockfeed", str(CHART), "--namespace", namespace, *value_args(values, sets)]).stdout


@pytest.fixture
def release(helm: Tool, namespace: str) -> Iterator[str]:
    """The release name; uninstalled afterwards (the namespace's deletion would leave its ClusterRole behind)."""
    yield "stockfeed"
    helm.run(["uninstall", "stockfeed", "--namespace", namespace, "--wait", "--timeout", "120s"], check=False)


@pytest.mark.parametrize(
    ("values", "sets"),
    [([], KIND_VALUES), ([PRODUCTION_VALUES], {}), ([PRODUCTION_VALUES], {"kafdrop.enabled": "true"})],
    ids=["kind", "production", "production-kafdrop"],  # the last with Kafdrop's KafkaUser
)
def test_server_side_dry_run_accepts_every_object(
    crds: None, helm: Tool, kubectl: Tool, namespace: str, values: list[Path], sets: dict[str, str]
) -> None:
    rendered = render(helm, namespace, values, sets)
    expected = {(doc["kind"], doc["metadata"]["name"]) for doc in parse(rendered)}
    result = kubectl.run(
        ["apply", "--server-side", "--dry-run=server", "--validate=strict", f"--field-manager={FIELD_MANAGER}",
         "--namespace", namespace, "-o", "json", "-f", "-"],
        stdin=rendered,
    )  # fmt: skip
    accepted = json.loads(result.stdout)
    items = accepted["items"] if accepted.get("kind") == "List" else [accepted]
    assert {(item["kind"], item["metadata"]["name"]) for item in items} == expected


def test_install_with_kind_values_and_the_operator_becomes_ready(
    crds: None,
    helm: Tool,
    namespace: str,
    release: str,
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
) -> None:
    helm.run(["install", release, str(CHART), "--namespace", namespace, *value_args([], KIND_VALUES)], timeout=300)
    status = json.loads(helm.run(["status", release, "--namespace", namespace, "-o", "json"]).stdout)
    assert status["info"]["status"] == "deployed"

    wait_for(lambda: operator_ready(apps_v1, namespace), timeout=120, what="the operator Deployment to be Ready")
    for name in ("stockfeed-simulator", "stockfeed-kafdrop", "stockfeed-dashboard"):
        assert apps_v1.read_namespaced_deployment(name, namespace).spec.replicas == 1
    kafka = cast(
        dict[str, Any],
        custom_objects.get_namespaced_custom_object("kafka.strimzi.io", "v1", namespace, "kafkas", "stockfeed"),
    )
    assert kafka["spec"]["kafka"]["listeners"][0]["port"] == 9092
    feed = cast(
        dict[str, Any],
        custom_objects.get_namespaced_custom_object(
            "stockfeed.dev", "v1alpha1", namespace, "stockfeeds", "stock-quotes"
        ),
    )
    assert feed["spec"]["sink"] == {"bucket": "bronze-transactions", "prefix": "bronze"}
    # stored with the CRD's defaults filled in: what the operator will read
    assert feed["spec"]["kafka"]["partitions"] == 3


def test_install_with_production_values(
    crds: None, helm: Tool, namespace: str, release: str, apps_v1: client.AppsV1Api
) -> None:
    helm.run(["install", release, str(CHART), "--namespace", namespace, *value_args([PRODUCTION_VALUES])], timeout=300)
    status = json.loads(helm.run(["status", release, "--namespace", namespace, "-o", "json"]).stdout)
    assert status["info"]["status"] == "deployed"
    wait_for(lambda: operator_ready(apps_v1, namespace), timeout=120, what="the operator Deployment to be Ready")


def operator_ready(apps_v1: client.AppsV1Api, namespace: str) -> bool:
    status = apps_v1.read_namespaced_deployment_status("stockfeed-operator", namespace).status
    return status is not None and status.ready_replicas == 1


def test_install_refuses_values_against_the_schema(crds: None, helm: Tool, namespace: str) -> None:
    invalid = value_args([FIXTURES / "values-invalid-schema.yaml"])
    result = helm.run(["install", "stockfeed", str(CHART), "--namespace", namespace, *invalid], check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert "replicas" in result.stderr
    listed = json.loads(helm.run(["list", "--namespace", namespace, "--all", "-o", "json"]).stdout)
    assert listed == []
