"""Fixtures for the deployment tests: the stack's helm for rendering, and the control plane's fixtures for installs."""

from __future__ import annotations

import pytest

from devstack.cluster import tool_path
from devstack.k8s.versions import KUBERNETES_VERSION
from devstack.settings import Settings
from tests.deploy.chart import Helm

# The control plane's fixtures (clients, a namespace per test, kubectl and helm bound to the cluster).
from tests.k8s.conftest import (  # noqa: F401 - re-exported as fixtures of this directory
    apps_v1,
    cluster_env,
    core_v1,
    custom_objects,
    helm,
    kube_client,
    kubeconfig_path,
    kubectl,
    namespace,
)


@pytest.fixture(scope="session")
def chart_helm(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm for offline rendering and linting; the control plane build makes it (`make cluster-up`)."""
    binary = tool_path(stack_settings, "helm")
    if not binary.is_file():
        pytest.fail(f"helm is not built yet ({binary} is missing): run `make cluster-up`, which builds it")
    return Helm(binary, tmp_path_factory.mktemp("helm-home"), KUBERNETES_VERSION.removeprefix("v"))
