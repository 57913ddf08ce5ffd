"""The operator watching one namespace (OPERATOR_NAMESPACES / --namespace), as the Helm chart runs it: the rules
of operator/deploy/rbac.yaml held by a Role in that namespace; cluster-wide only kopf's discovery (list/watch of
CRDs and of namespaces: without the latter kopf retries for about a minute before it falls back)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from tests.k8s.kube import Tool
from tests.k8s.operator_kit import (
    create_feed,
    delete_feeds_and_wait,
    install_crds,
    operator_rules,
    running_operator,
    token_kubeconfig,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]


def test_a_namespaced_operator_with_a_role_reconciles_its_namespace(
    namespace: str,
    kubectl: Tool,
    apiextensions_v1: client.ApiextensionsV1Api,
    core_v1: client.CoreV1Api,
    rbac_v1: client.RbacAuthorizationV1Api,
    custom_objects: client.CustomObjectsApi,
    kubeconfig_path: Path,
    tmp_path: Path,
) -> None:
    install_crds(kubectl, apiextensions_v1)
    account = "feeds-operator"
    core_v1.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
    )
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    rules = operator_rules()
    namespaced = [rule for rule in rules if "customresourcedefinitions" not in rule["resources"]]
    discovery = [rule for rule in rules if "customresourcedefinitions" in rule["resources"]]
    discovery.append({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]})
    # the client accepts the API's JSON shape for these bodies
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}
    rbac_v1.create_namespaced_role(namespace, cast(Any, {"metadata": {"name": account}, "rules": namespaced}))
    binding: Any = {"metadata": {"name": account}, "roleRef": role_ref, "subjects": [subject]}
    rbac_v1.create_namespaced_role_binding(namespace, binding)
    cluster_name = f"test-{uuid.uuid4().hex[:8]}"
    rbac_v1.create_cluster_role(cast(Any, {"metadata": {"name": cluster_name}, "rules": discovery}))
    cluster_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name}
    cluster_binding: Any = {"metadata": {"name": cluster_name}, "roleRef": cluster_ref, "subjects": [subject]}
    rbac_v1.create_cluster_role_binding(cluster_binding)
    try:
        kubeconfig = token_kubeconfig(core_v1, namespace, account, kubeconfig_path, tmp_path / "kubeconfig")
        settings = {"OPERATOR_REQUIRE_TOPIC_READY": "false", "OPERATOR_NAMESPACES": namespace}
        with running_operator(kubeconfig, settings, namespaces=(namespace,)):
            create_feed(custom_objects, namespace, "tech", {"symbols": ["AAPL"]})
            wait_condition(custom_objects, namespace, "tech", "Ready", "True")
            delete_feeds_and_wait(custom_objects, namespace)
    finally:
        rbac_v1.delete_cluster_role_binding(cluster_name)
        rbac_v1.delete_cluster_role(cluster_name)
