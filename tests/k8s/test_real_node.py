"""The real node beside kwok's fake one: containers really run, Services route, DNS answers, the host is reachable.

Pods land on the real node only when they ask: they select the label `stockfeed.dev/real-node=true` and tolerate
the taint `stockfeed.dev/real-node=true:NoSchedule` (see `on_real_node`). Images cannot be pulled here: the test
image is devstack's busybox-static image, imported into the node's containerd (`DEVSTACK_TEST_IMAGE`).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client

from devstack.k8s import kwok_config
from devstack.k8s.versions import KUBERNETES_VERSION
from devstack.settings import Settings
from tests.k8s.kube import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

LABEL = "stockfeed.dev/real-node"
POD_TIMEOUT = 90  # seconds for a pod on the real node to finish (a start takes ~2-5 s here)


@pytest.fixture(scope="module")
def real_node(cluster_env: dict[str, str], stack_settings: Settings) -> dict[str, str]:
    """The real node's entries of the env file; skips only when the stack runs without one (DEVSTACK_NODE=off)."""
    if not stack_settings.node_enabled:
        pytest.skip("the stack runs without a real node (DEVSTACK_NODE=off, or not root)")
    missing = [key for key in ("DEVSTACK_REAL_NODE", "DEVSTACK_TEST_IMAGE") if not cluster_env.get(key)]
    if missing:
        pytest.fail(f"the real node is not up (env file lacks {', '.join(missing)}): run `make cluster-up`")
    return cluster_env


def on_real_node(pod: dict[str, Any]) -> dict[str, Any]:
    """Let a pod onto the real node and only there: tolerate its taint and select its label."""
    spec = pod["spec"]
    spec["nodeSelector"] = {LABEL: "true"}
    spec["tolerations"] = [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}]
    return pod


def _pod(name: str, image: str, script: str, **extra: Any) -> dict[str, Any]:
    container = {"name": "main", "image": image, "imagePullPolicy": "Never", "command": ["sh", "-c", script]}
    container.update(extra.pop("container", {}))
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], "terminationGracePeriodSeconds": 1}
    spec.update(extra)
    return on_real_node(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}}, "spec": spec}
    )


def _finished(core_v1: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod | None:
    pod = core_v1.read_namespaced_pod(name, namespace)
    return pod if pod.status.phase in ("Succeeded", "Failed") else None


def _run_to_end(core_v1: client.CoreV1Api, namespace: str, pod: dict[str, Any]) -> tuple[str, str, str]:
    """Create the pod, wait until it ends; (phase, node name, log)."""
    name = pod["metadata"]["name"]
    core_v1.create_namespaced_pod(namespace, pod)
    try:
        done = wait_for(lambda: _finished(core_v1, namespace, name), POD_TIMEOUT, f"pod {name} to finish")
        log = core_v1.read_namespaced_pod_log(name, namespace)
        return done.status.phase, done.spec.node_name, log
    finally:
        core_v1.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def test_the_real_node_is_ready_with_containerd_and_tainted(
    core_v1: client.CoreV1Api, real_node: dict[str, str]
) -> None:
    node = core_v1.read_node(real_node["DEVSTACK_REAL_NODE"])
    ready = {condition.type: condition.status for condition in node.status.conditions}
    assert ready["Ready"] == "True", node.status.conditions
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.")
    assert node.status.node_info.kubelet_version == KUBERNETES_VERSION
    assert node.metadata.labels[LABEL] == "true"
    assert [(taint.key, taint.effect) for taint in node.spec.taints or []] == [(LABEL, "NoSchedule")]
    addresses = {address.type: address.address for address in node.status.addresses}
    assert addresses["InternalIP"] == real_node["DEVSTACK_REAL_NODE_IP"]


def test_untolerating_pods_still_go_to_kwok(
    core_v1: client.CoreV1Api, namespace: str, real_node: dict[str, str]
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "plain"},
        "spec": {"containers": [{"name": "main", "image": "example.invalid/never-pulled:1"}]},
    }
    core_v1.create_namespaced_pod(namespace, pod)
    try:
        bound = wait_for(lambda: core_v1.read_namespaced_pod("plain", namespace).spec.node_name, 30, "pod bound")
        assert bound == kwok_config.NODE_NAME != real_node["DEVSTACK_REAL_NODE"]
    finally:
        core_v1.delete_namespaced_pod("plain", namespace, grace_period_seconds=0)


def test_a_pod_with_the_charts_security_context_runs_to_completion(
    core_v1: client.CoreV1Api, namespace: str, real_node: dict[str, str]
) -> None:
    script = "id -u; id -g; if touch /probe 2>/dev/null; then echo writable; else echo read-only; fi; echo done"
    pod = _pod(
        "restricted",
        real_node["DEVSTACK_TEST_IMAGE"],
        script,
        securityContext={  # stockfeed.podSecurityContext
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        container={
            "securityContext": {  # stockfeed.containerSecurityContext
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
        },
    )
    phase, node, log = _run_to_end(core_v1, namespace, pod)
    assert (phase, node) == ("Succeeded", real_node["DEVSTACK_REAL_NODE"]), log
    assert log.split() == ["10001", "10001", "read-only", "done"]


def test_a_service_resolves_by_dns_name_and_answers(
    core_v1: client.CoreV1Api, namespace: str, real_node: dict[str, str]
) -> None:
    image = real_node["DEVSTACK_TEST_IMAGE"]
    token = uuid.uuid4().hex
    server = _pod(
        "web", image, f"mkdir -p /tmp/www && echo {token} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"
    )
    core_v1.create_namespaced_pod(namespace, server)
    core_v1.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    wait_for(
        lambda: core_v1.read_namespaced_pod("web", namespace).status.phase == "Running", POD_TIMEOUT, "pod web Running"
    )
    fqdn = f"web.{namespace}.svc.cluster.local"
    script = (
        f"nslookup {fqdn} || exit 3; "
        # the endpoint may take a moment to reach kube-proxy's rules: retry the request for a while
        # (busybox 1.35's `wget -T` crashes: `timeout` bounds each try instead)
        f"for i in $(seq 1 40); do timeout 3 wget -q -O- http://{fqdn}/ && exit 0; sleep 0.5; done; exit 4"
    )
    try:
        phase, _, log = _run_to_end(core_v1, namespace, _pod("client", image, script))
    finally:
        core_v1.delete_namespaced_pod("web", namespace, grace_period_seconds=0)
    service_ip = core_v1.read_namespaced_service("web", namespace).spec.cluster_ip
    assert phase == "Succeeded", log
    assert service_ip in log  # nslookup answered with the Service's ClusterIP
    assert token in log  # and the request through it reached the server pod


def test_pods_reach_the_api_server_and_the_hosts_minio(
    core_v1: client.CoreV1Api, namespace: str, real_node: dict[str, str], stack_settings: Settings
) -> None:
    script = (
        # The `kubernetes` Service (198.19.0.1:443) -> the advertised node address -> the apiserver on loopback.
        # Plain HTTP to its TLS port: Go's answer proves who is there (busybox's own TLS cannot talk to it).
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc kubernetes.default.svc.cluster.local 443; echo; "
        # MinIO on the host, through the selector-less Service devstack keeps in namespace devstack
        "timeout 10 wget -S -q -O /dev/null http://minio.devstack.svc.cluster.local:9000/minio/health/live 2>&1"
    )
    phase, _, log = _run_to_end(core_v1, namespace, _pod("reach", real_node["DEVSTACK_TEST_IMAGE"], script))
    assert phase == "Succeeded", log
    assert "Client sent an HTTP request to an HTTPS server" in log, log
    assert "200 OK" in log, log
