"""Command lines of the control-plane processes, as pure functions of where things are and which ports to use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.k8s.certs import Pki

# Every cluster range lies in 198.18.0.0/15 (reserved for network tests, RFC 2544): nothing in it is routed off
# this machine (the real node routes the whole /15 onto its own bridge) and no private range is ever a target.
SERVICE_CIDR = "198.19.0.0/24"
SERVICE_IP = "198.19.0.1"  # the first address of SERVICE_CIDR: the `kubernetes` Service
NODE_IP = "198.18.0.1"  # the real node's address (on its bridge); the apiserver advertises it to pods
POD_CIDR = "198.18.128.0/17"  # kwok hands out fake pod IPs from here (the real node's pods use 198.18.1.0/24)
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
ETCD_MEMBER = "devstack"
NODE_LEASE_SECONDS = 40


@dataclass(frozen=True)
class Layout:
    """Everything a command line refers to, under one data directory."""

    data_dir: Path
    bin_dir: dict[str, Path]  # binary name -> path
    apiserver_port: int
    etcd_port: int
    etcd_peer_port: int
    service_cidr: str = SERVICE_CIDR
    node_ip: str = NODE_IP  # advertised as the `kubernetes` Service's endpoint (reached through a forwarder)
    fake_pod_cidr: str = POD_CIDR

    @property
    def pki(self) -> Pki:
        return Pki(self.data_dir / "pki")

    @property
    def kubeconfig(self) -> Path:
        """The components' own copy of the admin kubeconfig (inside data_dir, like every path they get)."""
        return self.data_dir / "admin.kubeconfig"

    @property
    def etcd_data(self) -> Path:
        return self.data_dir / "etcd"

    @property
    def kwok_config(self) -> Path:
        return self.data_dir / "kwok.yaml"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def apiserver_url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


def etcd(layout: Layout) -> list[str]:
    peer = f"http://127.0.0.1:{layout.etcd_peer_port}"
    return [
        str(layout.bin_dir["etcd"]),
        f"--name={ETCD_MEMBER}",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={layout.etcd_url}",
        f"--advertise-client-urls={layout.etcd_url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={ETCD_MEMBER}={peer}",
        "--initial-cluster-state=new",
        "--unsafe-no-fsync=true",  # test data: speed over durability
        "--log-level=warn",
    ]


def kube_apiserver(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(layout.bin_dir["kube-apiserver"]),
        f"--etcd-servers={layout.etcd_url}",
        "--bind-address=127.0.0.1",
        # Pods reach the API through the `kubernetes` Service, whose endpoint is the advertised address: the real
        # node's address, where devstack forwards to 127.0.0.1 (the apiserver binds loopback only).
        f"--advertise-address={layout.node_ip}",
        # The kubelet authenticates the apiserver (logs, exec) by this client certificate (system:masters).
        f"--kubelet-client-certificate={pki.admin_cert}",
        f"--kubelet-client-key={pki.admin_key}",
        # Reach the kubelet by the node's address: its hostname resolves nowhere here (and must not be looked up).
        "--kubelet-preferred-address-types=InternalIP",
        f"--secure-port={layout.apiserver_port}",
        f"--cert-dir={pki.directory}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        f"--service-cluster-ip-range={layout.service_cidr}",
        "--allow-privileged=true",
        # The ServiceAccount admission plugin stays on (the default), as on every real cluster: a pod names an
        # existing ServiceAccount and gets its token projected, so a pod on the real node (the chart's operator)
        # talks to the API as its own ServiceAccount, under the chart's RBAC.
        "--profiling=false",
    ]


def kube_controller_manager(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(layout.bin_dir["kube-controller-manager"]),
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--secure-port=0",  # no HTTPS endpoint: nothing to collide with another stack's ports
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        f"--service-cluster-ip-range={layout.service_cidr}",
        "--cluster-name=devstack",
        "--profiling=false",
    ]


def kube_scheduler(layout: Layout) -> list[str]:
    return [
        str(layout.bin_dir["kube-scheduler"]),
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--secure-port=0",
        "--profiling=false",
    ]


def kwok(layout: Layout, node_selector: str) -> list[str]:
    return [
        str(layout.bin_dir["kwok"]),
        f"--kubeconfig={layout.kubeconfig}",
        f"--config={layout.kwok_config}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={node_selector}",
        f"--cidr={layout.fake_pod_cidr}",
        "--node-ip=127.0.0.1",
        # Without an explicit duration kwok v0.8.0 keeps no node Lease (heartbeat-with-lease then never fires).
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
    ]
