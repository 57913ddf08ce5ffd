"""The operator's own manifests (CRD, RBAC, Deployment) are accepted by the real API server, and the operator's
Deployment becomes Ready on the kwok node (nothing runs in it: this checks the manifests, not the image)."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.k8s.kube import Tool, wait_for
from tests.k8s.operator_kit import OPERATOR_DIR, OPERATOR_NAMESPACE, as_dict, install_crds

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(120)]

DEPLOYMENT = OPERATOR_DIR / "deploy" / "operator.yaml"
RBAC = OPERATOR_DIR / "deploy" / "rbac.yaml"


def test_deploy_manifests_pass_server_side_validation(
    kubectl: Tool, apiextensions_v1: client.ApiextensionsV1Api
) -> None:
    install_crds(kubectl, apiextensions_v1)
    # A server-side dry run creates nothing, so the namespace operator.yaml declares must exist already.
    kubectl.run(["create", "namespace", OPERATOR_NAMESPACE], check=False)
    kubectl.run(["apply", "--server-side", "-f", str(DEPLOYMENT), "--dry-run=server"])
    kubectl.run(["apply", "--server-side", "-f", str(RBAC), "--dry-run=server"])


def test_operator_deployment_becomes_ready(kubectl: Tool, apps_v1: client.AppsV1Api) -> None:
    # The order `kubectl apply -f operator/deploy/` uses (by file name): operator.yaml brings the namespace.
    kubectl.run(["apply", "-f", str(DEPLOYMENT)])
    kubectl.run(["apply", "-f", str(RBAC)])
    try:

        def ready() -> bool:
            deployment = as_dict(apps_v1, apps_v1.read_namespaced_deployment("stockfeed-operator", OPERATOR_NAMESPACE))
            return bool((deployment.get("status") or {}).get("readyReplicas") == 1)

        wait_for(ready, timeout=60, what="the operator Deployment ready on the kwok node")
    finally:
        apps_v1.delete_namespaced_deployment("stockfeed-operator", OPERATOR_NAMESPACE)
