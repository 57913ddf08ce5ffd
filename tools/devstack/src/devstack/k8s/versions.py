"""The one place that pins the control plane's versions (the build cache is keyed by them)."""

from __future__ import annotations

ETCD_VERSION = "v3.6.16"
KUBERNETES_VERSION = "v1.35.4"  # newest 1.35 patch the module proxy serves; builds with the machine's Go 1.26
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.22.0"
# The real node (kubelet and kube-proxy come from KUBERNETES_VERSION): cluster DNS and the CRI debugging client.
COREDNS_VERSION = "v1.15.0"  # newest the module proxy serves; its go.mod has no replaces, so `go install` works
CRICTL_VERSION = "v1.37.0"  # sigs.k8s.io/cri-tools
# skaffold, to deploy skaffold.yaml's real-node profile onto the test cluster (v2.17 is not served by the proxy)
SKAFFOLD_VERSION = "v2.16.1"


def major_minor(version: str) -> tuple[str, str]:
    """("1", "35") for "v1.35.4": what /version and Helm's capabilities report."""
    parts = version.removeprefix("v").split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"not a semantic version: {version!r}")
    return parts[0], parts[1]


def staging_version(kubernetes_version: str) -> str:
    """The tag of the published staging modules (k8s.io/api, ...) of a Kubernetes release: v1.35.4 -> v0.35.4."""
    major, minor = major_minor(kubernetes_version)
    patch = kubernetes_version.removeprefix("v").split(".")[2]
    if major != "1":
        raise ValueError(f"staging modules are only published for Kubernetes 1.x, not {kubernetes_version}")
    return f"v0.{minor}.{patch}"
