"""The operator stopped and started again: what changed meanwhile is reconciled on resume.

While the operator is down, a spec change waits, a deleted child stays deleted, and deleting a feed waits on the
finalizer kopf keeps for the resync timer; all of it completes once the operator is back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.k8s.kube import Tool, wait_for
from tests.k8s.operator_kit import (
    FEEDS,
    create_feed,
    delete_feeds_and_wait,
    get_feed,
    install_crds,
    list_feeds,
    patch_feed_spec,
    read_configmap,
    read_deployment,
    running_operator,
    service_account_kubeconfig,
    wait_condition,
)

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

SETTINGS = {"OPERATOR_REQUIRE_TOPIC_READY": "false"}


@pytest.fixture(scope="module")
def kubeconfig(
    kubectl: Tool,
    apiextensions_v1: client.ApiextensionsV1Api,
    core_v1: client.CoreV1Api,
    kubeconfig_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    install_crds(kubectl, apiextensions_v1)
    return service_account_kubeconfig(kubectl, core_v1, kubeconfig_path, tmp_path_factory.mktemp("op") / "kubeconfig")


def test_changes_made_while_the_operator_was_down_are_reconciled_on_resume(
    namespace: str,
    kubeconfig: Path,
    custom_objects: client.CustomObjectsApi,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
) -> None:
    with running_operator(kubeconfig, SETTINGS):
        create_feed(custom_objects, namespace, "tech", {"symbols": ["AAPL"]})
        create_feed(custom_objects, namespace, "gone", {"symbols": ["MSFT"], "kafka": {"topic": "gone"}})
        wait_condition(custom_objects, namespace, "tech", "Ready", "True")
        wait_condition(custom_objects, namespace, "gone", "Ready", "True")

    # the operator is down
    patch_feed_spec(custom_objects, namespace, "tech", {"symbols": ["AAPL", "NVDA"]})
    apps_v1.delete_namespaced_deployment("tech-consumer", namespace)
    custom_objects.delete_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2], "gone")
    assert get_feed(custom_objects, namespace, "gone")["metadata"]["deletionTimestamp"]  # held by the finalizer
    assert get_feed(custom_objects, namespace, "tech")["status"]["observedGeneration"] == 1

    with running_operator(kubeconfig, SETTINGS):
        feed = wait_condition(custom_objects, namespace, "tech", "Ready", "True")
        assert feed["status"]["observedGeneration"] == 2
        assert read_configmap(core_v1, namespace, "tech-config")["data"]["PRODUCER_SYMBOLS"] == "AAPL,NVDA"
        assert read_deployment(apps_v1, namespace, "tech-consumer")["status"]["readyReplicas"] == 1

        def gone_is_gone() -> bool:
            return all(item["metadata"]["name"] != "gone" for item in list_feeds(custom_objects, namespace))

        wait_for(gone_is_gone, timeout=30, what="the feed deleted while the operator was down to be gone")
        delete_feeds_and_wait(custom_objects, namespace)
