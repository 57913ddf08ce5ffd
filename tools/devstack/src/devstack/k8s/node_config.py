"""The real node's configuration files, as pure functions: containerd, CNI, kubelet, kube-proxy, CoreDNS, images.

The real node is one kubelet beside kwok's fake node: containerd + runc (Debian packages), the bridge CNI with
host-local IPAM and portmap, kube-proxy in iptables mode and CoreDNS as a host process. Everything it uses lies
in 198.18.0.0/15 (reserved for network tests) and stays on this machine.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TEST_RANGE = ipaddress.ip_network("198.18.0.0/15")
TAINT_KEY = "stockfeed.dev/real-node"
NODE_LABEL = "stockfeed.dev/real-node"  # value "true"; tests select the node with it and tolerate the taint
CLUSTER_DOMAIN = "cluster.local"
CNI_NETWORK = "devstack"
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
PAUSE_IMAGE_REPO = "devstack.local/pause"
TEST_IMAGE_REPO = "devstack.local/busybox"


@dataclass(frozen=True)
class NodeNet:
    """The real node's addresses: all inside 198.18.0.0/15, checked by validate()."""

    node_ip: str  # on the bridge: kubelet's node IP, CoreDNS, the forwarders to the host's servers
    pod_cidr: str  # host-local hands pod IPs out of it; the bridge holds its first address (the gateway)
    service_cidr: str
    fake_pod_cidr: str  # kwok's fake pod IPs (never assigned to anything; routed onto the bridge, so dropped)
    bridge: str  # Linux interface name (at most 15 characters)

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))

    @property
    def gateway_prefix(self) -> str:
        return f"{self.gateway}/{ipaddress.ip_network(self.pod_cidr).prefixlen}"

    @property
    def dns_ip(self) -> str:
        return self.node_ip

    def validate(self) -> None:
        """Refuse addresses outside 198.18.0.0/15 and overlaps, naming the variable to change."""
        named = {
            "DEVSTACK_NODE_IP": ipaddress.ip_network(f"{self.node_ip}/32"),
            "DEVSTACK_POD_CIDR": ipaddress.ip_network(self.pod_cidr),
            "DEVSTACK_SERVICE_CIDR": ipaddress.ip_network(self.service_cidr),
            "DEVSTACK_FAKE_POD_CIDR": ipaddress.ip_network(self.fake_pod_cidr),
        }
        for variable, network in named.items():
            if not network.subnet_of(TEST_RANGE):  # type: ignore[arg-type]
                raise ValueError(f"{variable}={network} lies outside {TEST_RANGE}: cluster traffic must stay here")
        items = list(named.items())
        for index, (first, one) in enumerate(items):
            for second, other in items[index + 1 :]:
                if one.overlaps(other):
                    raise ValueError(f"{first}={one} overlaps {second}={other}")
        if not 1 <= len(self.bridge) <= 15 or not self.bridge.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"DEVSTACK_NODE_BRIDGE={self.bridge!r} is not a valid interface name (1-15 characters)")


def containerd_config(*, root: Path, state: Path, socket: Path, cni_conf_dir: Path, sandbox_image: str) -> str:
    """containerd 1.6's config.toml (version 2) for the node's own containerd instance."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    disabled = ["btrfs", "zfs", "devmapper", "aufs"]
    lines = [
        "version = 2",
        f"root = {json.dumps(str(root))}",
        f"state = {json.dumps(str(state))}",
        "disabled_plugins = ["
        + ", ".join(json.dumps(f"io.containerd.snapshotter.v1.{name}") for name in disabled)
        + "]",
        "",
        "[grpc]",
        f"  address = {json.dumps(str(socket))}",
        "",
        '[plugins."io.containerd.internal.v1.opt"]',
        f"  path = {json.dumps(str(root / 'opt'))}",
        "",
        f"[{cri}]",
        f"  sandbox_image = {json.dumps(sandbox_image)}",
        # This machine refuses negative oom_score_adj (no CAP_SYS_RESOURCE): the sandbox's -998 kills runc.
        "  restrict_oom_score_adj = true",
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        "  enable_selinux = false",
        "  disable_apparmor = true",
        f"[{cri}.containerd]",
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        f"[{cri}.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        f"[{cri}.containerd.runtimes.runc.options]",
        "  SystemdCgroup = false",  # no systemd here: the cgroupfs driver, as the kubelet's
        f"[{cri}.cni]",
        f"  bin_dir = {json.dumps(str(CNI_BIN_DIR))}",
        f"  conf_dir = {json.dumps(str(cni_conf_dir))}",
        "  max_conf_num = 1",
    ]
    return "\n".join(lines) + "\n"


def cni_conflist(net: NodeNet, ipam_dir: Path) -> str:
    """bridge + host-local (pod CIDR) + portmap (hostPort) + loopback is added by containerd itself."""
    config = {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                "ipMasq": False,  # nothing leaves the machine: no SNAT towards any other network
                "hairpinMode": True,  # a pod reaches itself through its own Service
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": net.pod_cidr, "gateway": net.gateway}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def kubelet_config(
    *,
    net: NodeNet,
    port: int,
    runtime_socket: Path,
    client_ca: Path,
    resolv_conf: Path,
    static_pods: Path,
    pod_logs: Path,
) -> str:
    """KubeletConfiguration: cgroup v1 with cgroupfs, our containerd, DNS at the node address, no image GC."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,  # the machine mounts cgroup v1; 1.35 refuses it unless told otherwise
        "cgroupDriver": "cgroupfs",  # no systemd as PID 1
        "containerRuntimeEndpoint": f"unix://{runtime_socket}",
        "failSwapOn": False,
        "address": net.node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzPort": 0,  # no extra port to collide with; health is the Node's Ready condition
        "clusterDNS": [net.dns_ip],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(resolv_conf),  # empty: pods never see the host's resolvers (nothing resolves outside)
        "staticPodPath": str(static_pods),
        "podLogsDir": str(pod_logs),  # not /var/log/pods: everything stays under the stack's directory
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(client_ca)},
        },
        "authorization": {"mode": "Webhook"},
        "registerWithTaints": [{"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}],
        # The images were imported by hand and cannot be pulled again: never garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "1Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "serializeImagePulls": False,
        "maxPods": 30,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": False,  # kube-proxy owns the iptables rules; fewer chains to clean up
    }
    return json.dumps(config, indent=2) + "\n"


def kube_proxy_config(*, net: NodeNet, kubeconfig: Path, node_name: str, healthz_port: int) -> str:
    """KubeProxyConfiguration: iptables mode, NodePorts on the node address only, no sysctl changes."""
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node_name,
        "bindAddress": net.node_ip,
        "clusterCIDR": net.pod_cidr,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{healthz_port + 1}",
        "nodePortAddresses": [f"{net.node_ip}/32"],
        # Service traffic is masqueraded to the bridge address, so replies return through the host even when
        # client and endpoint share the bridge (independent of br_netfilter).
        "iptables": {"masqueradeAll": True, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    return json.dumps(config, indent=2) + "\n"


def corefile(*, net: NodeNet, kubeconfig: Path, port: int = 53) -> str:
    """CoreDNS on the node address: cluster.local from the API, nothing forwarded (no upstream exists here)."""
    return (
        f"{CLUSTER_DOMAIN}:{port} in-addr.arpa:{port} {{\n"
        f"    bind {net.dns_ip}\n"
        "    errors\n"
        f"    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{\n"
        f"        kubeconfig {kubeconfig}\n"
        "        pods insecure\n"
        "        fallthrough in-addr.arpa\n"
        "    }\n"
        "    cache 5\n"
        "    loadbalance\n"
        "}\n"
        f".:{port} {{\n"
        f"    bind {net.dns_ip}\n"
        "    errors\n"
        "    template ANY ANY {\n"
        "        rcode NXDOMAIN\n"  # no upstream: every other name fails fast instead of timing out
        "    }\n"
        "}\n"
    )


def host_services_manifest(namespace: str, node_ip: str, services: Mapping[str, tuple[int, int]]) -> str:
    """Selector-less Services + EndpointSlices so pods reach the host's servers as <name>.<namespace>.svc.

    services: name -> (Service port, port on the node address where devstack forwards to the host server).
    """
    items: list[dict[str, object]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for name, (port, target) in sorted(services.items()):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"name": "tcp", "port": port, "targetPort": target, "protocol": "TCP"}]},
            }
        )
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-host",
                    "namespace": namespace,
                    "labels": {
                        "kubernetes.io/service-name": name,
                        "endpointslice.kubernetes.io/managed-by": "devstack",
                    },
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [node_ip], "conditions": {"ready": True}}],
                "ports": [{"name": "tcp", "port": target, "protocol": "TCP"}],
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2) + "\n"


def docker_archive(
    repo_tags: Sequence[str],
    files: Mapping[str, bytes],
    symlinks: Mapping[str, str],
    cmd: Sequence[str],
    user: str = "",
    *,
    entrypoint: Sequence[str] = (),
    env: Sequence[str] = ("PATH=/bin",),
    created_by: str = "devstack (busybox-static)",
) -> bytes:
    """A one-layer image as `docker save` writes it (manifest.json, config, layer), for `ctr images import`.

    files: path in the image -> content (made executable); symlinks: path -> target. Deterministic: the same
    inputs give the same bytes (fixed mtimes, sorted entries), so the image id is a content hash.
    """
    layer = _tar(_layer_members(files, symlinks))
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    container_config: dict[str, object] = {"Cmd": list(cmd), "Env": list(env), "WorkingDir": "/"}
    if user:
        container_config["User"] = user
    if entrypoint:
        container_config["Entrypoint"] = list(entrypoint)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": created_by}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": list(repo_tags), "Layers": [layer_name]}]
    return _tar(
        [
            (config_name, config_bytes, 0o644, None),
            (layer_name, layer, 0o644, None),
            ("manifest.json", json.dumps(manifest).encode(), 0o644, None),
        ]
    )


_Member = tuple[str, bytes, int, str | None]  # (name, content, mode, symlink target or None)


def _layer_members(files: Mapping[str, bytes], symlinks: Mapping[str, str]) -> list[_Member]:
    members: list[_Member] = []
    directories = {"tmp"}
    for path in [*files, *symlinks]:
        parts = path.strip("/").split("/")[:-1]
        directories.update("/".join(parts[: index + 1]) for index in range(len(parts)))
    for directory in sorted(directories):
        members.append((directory + "/", b"", 0o1777 if directory == "tmp" else 0o755, None))
    for path, content in sorted(files.items()):
        members.append((path.strip("/"), content, 0o755, None))
    for path, target in sorted(symlinks.items()):
        members.append((path.strip("/"), b"", 0o777, target))
    return members


def _tar(members: Sequence[_Member]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content, mode, link in members:
            info = tarfile.TarInfo(name.rstrip("/") if name.endswith("/") else name)
            info.mode, info.mtime, info.uid, info.gid = mode, 0, 0, 0
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
