"""Fixtures over the local Kubernetes control plane (`make cluster-up`): clients, a namespace per test, CLIs."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner
from kubernetes import client, config

from devstack import envfile
from devstack.settings import Settings
from tests.k8s.kube import Tool, wait_for
from tests.k8s.operator_kit import (
    delete_feeds_and_wait,
    install_crds,
    running_operator,
    service_account_kubeconfig,
)


@pytest.fixture(scope="session")
def cluster_env(stack_settings: Settings) -> dict[str, str]:
    """The env file's cluster entries; fails (never skips) when the control plane is not up.

    It reads the env file itself rather than through `stack_env`, which insists on Kafka: the control
    plane's tests need only the cluster.
    """
    values: dict[str, str] = envfile.read(stack_settings.env_file)
    missing = [key for key in ("KUBECONFIG", "DEVSTACK_KUBECTL", "DEVSTACK_HELM") if not values.get(key)]
    if missing:
        pytest.fail(
            f"the test cluster is not up ({stack_settings.env_file} lacks {', '.join(missing)}): run `make cluster-up`"
        )
    if not Path(values["KUBECONFIG"]).is_file():
        pytest.fail(f"KUBECONFIG={values['KUBECONFIG']} from {stack_settings.env_file} does not exist")
    return values


@pytest.fixture(scope="session")
def kubeconfig_path(cluster_env: dict[str, str]) -> Path:
    return Path(cluster_env["KUBECONFIG"])


@pytest.fixture(scope="session")
def kube_client(kubeconfig_path: Path) -> client.ApiClient:
    """An API client authenticated as the cluster admin (client certificate in system:masters)."""
    api_client: client.ApiClient = config.new_client_from_config(config_file=str(kubeconfig_path))  # type: ignore[no-untyped-call]
    return api_client


@pytest.fixture(scope="session")
def core_v1(kube_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(kube_client)


@pytest.fixture(scope="session")
def apps_v1(kube_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(kube_client)


@pytest.fixture(scope="session")
def custom_objects(kube_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube_client)


@pytest.fixture(scope="session")
def apiextensions_v1(kube_client: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(kube_client)


@pytest.fixture(scope="session")
def rbac_v1(kube_client: client.ApiClient) -> client.RbacAuthorizationV1Api:
    return client.RbacAuthorizationV1Api(kube_client)


@pytest.fixture
def namespace(core_v1: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace, deleted afterwards (the namespace controller removes what is inside)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"test": "k8s"})))
    try:
        # ServiceAccount admission refuses a pod until the controller-manager has made the namespace's `default`
        wait_for(lambda: core_v1.read_namespaced_service_account("default", name), 30, f"{name}/default")
        yield name
    finally:
        with contextlib.suppress(client.ApiException):
            core_v1.delete_namespace(name)


def _tool_env(home: Path) -> dict[str, str]:
    """A private HOME and Helm dirs, so CLIs never read or write the developer's ~/.kube or Helm repositories."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
    }


@pytest.fixture(scope="session")
def kubectl(cluster_env: dict[str, str], kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Tool:
    home = tmp_path_factory.mktemp("kubectl-home")
    return Tool(Path(cluster_env["DEVSTACK_KUBECTL"]), kubeconfig_path, _tool_env(home))


@pytest.fixture(scope="session")
def helm(cluster_env: dict[str, str], kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Tool:
    home = tmp_path_factory.mktemp("helm-home")
    return Tool(Path(cluster_env["DEVSTACK_HELM"]), kubeconfig_path, _tool_env(home))


@pytest.fixture(scope="module")
def operator(
    request: pytest.FixtureRequest,
    kubectl: Tool,
    apiextensions_v1: client.ApiextensionsV1Api,
    core_v1: client.CoreV1Api,
    kubeconfig_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KopfRunner]:
    """The operator, cluster-wide, as the ServiceAccount of operator/deploy/rbac.yaml, with the requesting test
    module's OPERATOR_SETTINGS (modules differ in what they switch on)."""
    settings = getattr(request.module, "OPERATOR_SETTINGS", None)
    assert isinstance(settings, dict), f"{request.module.__name__} must define OPERATOR_SETTINGS to use `operator`"
    install_crds(kubectl, apiextensions_v1)
    kubeconfig = service_account_kubeconfig(
        kubectl, core_v1, kubeconfig_path, tmp_path_factory.mktemp("operator") / "kubeconfig"
    )
    with running_operator(kubeconfig, settings) as runner:
        yield runner


@pytest.fixture
def ns(namespace: str, custom_objects: client.CustomObjectsApi, operator: KopfRunner) -> Iterator[str]:
    """A fresh namespace whose feeds are deleted while the operator still runs (kopf removes its finalizer)."""
    yield namespace
    delete_feeds_and_wait(custom_objects, namespace)
