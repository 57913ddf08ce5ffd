"""kwok's --config (its Stage objects) and the fake Node it manages: pure rendering."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence

NODE_NAME = "kwok-node-0"
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_SELECTOR = f"{NODE_ANNOTATION}=fake"


def render_config(stage_documents: Sequence[str]) -> str:
    """kwok's --config: the Stage objects shipped with kwok, as one multi-document YAML.

    No KwokConfiguration document: one given in a file is not defaulted (kwok then refuses to start with
    "playStageParallelism must be greater than 0"); its options come from flags instead.
    """
    return "---\n".join(document.strip() + "\n" for document in stage_documents)


def node_manifest(kubelet_version: str, name: str = NODE_NAME) -> str:
    """A Node kwok adopts (by its annotation) and keeps Ready; untainted, so any pod may land on it."""
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": kubelet_version,
            },
        },
    }
    return json.dumps(node, indent=2) + "\n"  # JSON is YAML: kubectl applies it as is


def node_ready(node: dict[str, object]) -> bool:
    """True when the Node object's Ready condition is True."""
    status = node.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(conditions, list):
        return False
    return any(
        isinstance(condition, dict) and condition.get("type") == "Ready" and condition.get("status") == "True"
        for condition in conditions
    )


LEASE_NAMESPACE = "kube-node-lease"
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{NODE_NAME}"
LEASE_MAX_AGE_SECONDS = 40.0  # kwok's node lease duration: older means nobody manages the node any more


def lease_fresh(lease: dict[str, object], now: datetime.datetime, max_age: float = LEASE_MAX_AGE_SECONDS) -> bool:
    """True when the node's Lease was renewed within `max_age` seconds of `now` (kwok is alive and managing it).

    A Node object left in etcd by an earlier run still says Ready; only a fresh lease proves kwok took it over.
    """
    spec = lease.get("spec")
    renew = spec.get("renewTime") if isinstance(spec, dict) else None
    if not isinstance(renew, str):
        return False
    try:
        renewed = datetime.datetime.fromisoformat(renew)
    except ValueError:
        return False
    if renewed.tzinfo is None:
        renewed = renewed.replace(tzinfo=datetime.UTC)
    return abs((now - renewed).total_seconds()) <= max_age
