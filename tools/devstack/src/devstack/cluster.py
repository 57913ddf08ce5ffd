"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controller-manager, scheduler and kwok.

kwok adopts one fake Node and moves pods to Running/Ready, so Deployments, CRDs, RBAC, admission and Helm behave
as on a real cluster while nothing runs. Beside it (as root, unless DEVSTACK_NODE=off) a real, tainted node
runs containers: see devstack.node.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack import health, procs, strimzi_crds
from devstack import node as realnode
from devstack.errors import StackError
from devstack.k8s import api, builds, certs, flags, kubeconfig, kwok_config, node_config
from devstack.k8s.versions import KUBERNETES_VERSION
from devstack.server import Server, require_tool
from devstack.settings import Settings

BINARIES = ("etcd", *builds.KUBE_COMMANDS, "kwok", "helm")  # what start() needs; skaffold is for tests alone


def tool_path(settings: Settings, binary: str) -> Path:
    """Where the cluster's own build of a binary lives (kubectl and helm for tests and scripts)."""
    return builds.binary_path(settings.cache, binary)


@dataclass(frozen=True)
class Component:
    name: str  # also names its pid and log files: cluster-<name>
    argv: Callable[[flags.Layout], list[str]]
    timeout: float  # seconds to become healthy


COMPONENTS = (
    Component("etcd", flags.etcd, 30),
    Component("kube-apiserver", flags.kube_apiserver, 60),
    Component("kube-controller-manager", flags.kube_controller_manager, 30),
    Component("kube-scheduler", flags.kube_scheduler, 30),
    Component("kwok", lambda layout: flags.kwok(layout, kwok_config.NODE_SELECTOR), 30),
)


class Cluster(Server):
    name = "cluster"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.data_dir = settings.data("cluster")
        self.kubeconfig = settings.home / "kubeconfig"
        self.layout = flags.Layout(
            data_dir=self.data_dir,
            bin_dir={binary: tool_path(settings, binary) for binary in BINARIES},
            apiserver_port=settings.apiserver_port,
            etcd_port=settings.etcd_port,
            etcd_peer_port=settings.etcd_peer_port,
            service_cidr=settings.service_cidr,
            node_ip=settings.node_ip,
            fake_pod_cidr=settings.fake_pod_cidr,
        )
        self.node = (
            realnode.RealNode(settings, apiserver_url=self.layout.apiserver_url, pki=self.layout.pki,
                          kubeconfig=self.layout.kubeconfig)
            if settings.node_enabled
            else None
        )  # fmt: skip

    # -- files of one component -------------------------------------------------------------------------
    def component_pid_file(self, component: Component) -> Path:
        return self.settings.run / f"cluster-{component.name}.pid"

    def component_log(self, component: Component) -> Path:
        return self.settings.logs / f"cluster-{component.name}.log"

    def component_running(self, component: Component) -> bool:
        # Every command line names our data directory, so a recycled PID is never mistaken for ours.
        return procs.owned_pid(self.component_pid_file(component), str(self.data_dir)) is not None

    # -- Server ----------------------------------------------------------------------------------------
    def install(self) -> None:
        require_tool("openssl", "apt-get install openssl")
        strimzi_crds.ensure(self.settings.cache)  # the Strimzi CRDs the k8s tests install (from Maven Central)

        def go() -> str:
            return require_tool(
                "go", "install Go 1.26 (the machine's toolchain); the control plane is built from source"
            )

        if builds.missing(self.settings.cache):
            builds.ensure_built(self.settings.cache, go())
        if self.node is not None:
            self.node.install(go)

    def start(self) -> None:
        if self.running() and self.healthy():
            return
        openssl = require_tool("openssl", "apt-get install openssl")
        absent = [binary for binary in BINARIES if not tool_path(self.settings, binary).is_file()]
        if absent:
            raise StackError(f"cluster: {', '.join(absent)} not built; run `devstack install cluster`")
        if self.node is not None:
            self.node.check_prerequisites()
        self._reset_if_network_changed()
        certs.ensure_pki(self.layout.pki, openssl, self._service_ip(), [self.settings.node_ip])
        self._write_kubeconfig()
        self._write_kwok_config()
        self._require_free_ports()
        started: list[Component] = []
        try:
            for component in COMPONENTS:
                if not self.component_running(component):
                    if component.name == "kwok":
                        self._release_node_lease()
                    self._start_component(component)
                    started.append(component)
                self._wait_component(component)
            self._apply(kwok_config.node_manifest(KUBERNETES_VERSION))
            kwok = COMPONENTS[-1]
            health.wait_until(
                self._node_ready,
                what=f"cluster: fake node {kwok_config.NODE_NAME} Ready",
                timeout=30,
                log_file=self.component_log(kwok),
                still_running=lambda: self.component_running(kwok),
            )
            if self.node is not None:
                self.node.start()
                self._apply(node_config.host_services_manifest(
                    realnode.HOST_SERVICES_NAMESPACE, self.settings.node_ip, self.node.host_services()))  # fmt: skip
        except BaseException:
            # Leave nothing half-up behind: stop what this call started (the logs stay for the error message).
            if self.node is not None:
                self.node.stop()
            for component in reversed(started):
                procs.stop(self.component_pid_file(component), str(self.data_dir))
            raise

    def stop(self) -> bool:
        stopped = False
        if self.node is not None:
            if self.node.running() and self._apiserver_ready():
                # Its pods go with it (pod GC); a stale NotReady node would only confuse the next run.
                api.delete(self.layout.apiserver_url, f"/api/v1/nodes/{self.node.name}", self.layout.pki)
            stopped = self.node.stop() or stopped
        for component in reversed(COMPONENTS):
            stopped = procs.stop(self.component_pid_file(component), str(self.data_dir)) or stopped
        return stopped

    def running(self) -> bool:
        return any(self.component_running(component) for component in COMPONENTS)

    def healthy(self) -> bool:
        if not all(self.component_running(component) for component in COMPONENTS):
            return False
        if not (self._apiserver_ready() and self._node_ready()):
            return False
        return self.node is None or self.node.healthy()

    def details(self) -> list[str]:
        """Extra lines for `devstack status`: the real node, Ready or not, with its runtime's version."""
        if self.node is None or not self.running():
            return []
        return [self.node.describe()]

    def address(self) -> str:
        return self.layout.apiserver_url

    def env(self) -> dict[str, str]:
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "DEVSTACK_KUBECONFIG": str(self.kubeconfig),
            "DEVSTACK_KUBECTL": str(tool_path(self.settings, "kubectl")),
            "DEVSTACK_HELM": str(tool_path(self.settings, "helm")),
            "DEVSTACK_SKAFFOLD": str(tool_path(self.settings, "skaffold")),
            "DEVSTACK_STRIMZI_CRDS": str(strimzi_crds.crds_dir(self.settings.cache)),
            # The real node: its name, address, containerd socket (image imports), crictl and test image.
            **(self.node.env() if self.node is not None and self.node.running() else {}),
        }

    # -- helpers ---------------------------------------------------------------------------------------
    def _service_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.settings.service_cidr).hosts()))

    def _reset_if_network_changed(self) -> None:
        """A Service range or advertised address differing from the one etcd and the PKI were made for: start over.

        The apiserver keeps its first ServiceCIDR (and the `kubernetes` Service's IP) in etcd, and the serving
        certificate names the addresses, so both are made again (test data only; the lost etcd is a test cluster).
        """
        stamp = self.data_dir / "network.json"
        wanted = {"service_cidr": self.settings.service_cidr, "node_ip": self.settings.node_ip}
        current = json.loads(stamp.read_text()) if stamp.exists() else None
        made = self.layout.etcd_data.exists() or self.layout.pki.ca_cert.exists()
        if current != wanted and (current is not None or made):
            print(f"cluster: network changed ({current} -> {wanted}); starting with a new etcd and PKI", flush=True)
            for component in reversed(COMPONENTS):
                procs.stop(self.component_pid_file(component), str(self.data_dir))
            shutil.rmtree(self.layout.etcd_data, ignore_errors=True)
            shutil.rmtree(self.layout.pki.directory, ignore_errors=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(wanted) + "\n")

    def _require_free_ports(self) -> None:
        ports: dict[str, int] = {}
        settings = self.settings
        by_component = {
            "etcd": {"DEVSTACK_ETCD_PORT": settings.etcd_port, "DEVSTACK_ETCD_PEER_PORT": settings.etcd_peer_port},
            "kube-apiserver": {"DEVSTACK_APISERVER_PORT": settings.apiserver_port},
        }
        for component in COMPONENTS:
            if not self.component_running(component):
                ports.update(by_component.get(component.name, {}))
        procs.require_free_ports("cluster", ports)

    def _process_env(self) -> dict[str, str]:
        home = self.data_dir / "home"  # kubectl's discovery cache and the like stay inside the stack
        home.mkdir(parents=True, exist_ok=True)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}

    def _start_component(self, component: Component) -> None:
        procs.start_daemon(
            component.argv(self.layout),
            pid_file=self.component_pid_file(component),
            log_file=self.component_log(component),
            env=self._process_env(),
        )

    def _wait_component(self, component: Component) -> None:
        checks: dict[str, Callable[[], bool]] = {
            "etcd": lambda: health.http_ok(f"{self.layout.etcd_url}/health"),
            "kube-apiserver": self._apiserver_ready,
        }
        # controller-manager, scheduler and kwok serve no port here; they prove themselves by the node and pods.
        check = checks.get(component.name, lambda: self.component_running(component))
        health.wait_until(
            check,
            what=f"cluster: {component.name}",
            timeout=component.timeout,
            log_file=self.component_log(component),
            still_running=lambda: self.component_running(component),
        )

    def _apiserver_ready(self) -> bool:
        status, _ = api.get(self.layout.apiserver_url, "/readyz", self.layout.pki)
        return status == 200

    def _node_ready(self) -> bool:
        """The fake node says Ready and kwok renews its lease (a node left from an earlier run only says Ready)."""
        base, pki, name = self.layout.apiserver_url, self.layout.pki, kwok_config.NODE_NAME
        node = api.get_json(base, f"/api/v1/nodes/{name}", pki)
        if node is None or not kwok_config.node_ready(node):
            return False
        lease = api.get_json(base, kwok_config.LEASE_PATH, pki)
        return lease is not None and kwok_config.lease_fresh(lease, datetime.datetime.now(datetime.UTC))

    def _release_node_lease(self) -> None:
        """Drop the lease a previous kwok held: a new kwok would otherwise wait up to 40 s for it to expire."""
        status = api.delete(self.layout.apiserver_url, kwok_config.LEASE_PATH, self.layout.pki)
        if status not in (200, 202, 404):
            raise StackError(f"cluster: could not release the node lease of the last kwok (HTTP {status})")

    def _write_kubeconfig(self) -> None:
        pki = self.layout.pki
        text = kubeconfig.render(
            self.layout.apiserver_url, pki.ca_cert.read_bytes(), pki.admin_cert.read_bytes(), pki.admin_key.read_bytes()
        )
        for path in (self.kubeconfig, self.layout.kubeconfig):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(text)
            os.replace(tmp, path)

    def _write_kwok_config(self) -> None:
        stages = sorted(builds.kwok_stages_dir(self.settings.cache).glob("*.yaml"))
        self.layout.kwok_config.write_text(kwok_config.render_config([stage.read_text() for stage in stages]))

    def _apply(self, manifest: str) -> None:
        kubectl = str(tool_path(self.settings, "kubectl"))
        result = subprocess.run(
            [kubectl, f"--kubeconfig={self.kubeconfig}", "apply", "-f", "-"],
            input=manifest, capture_output=True, text=True, env=self._process_env(), timeout=60, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"cluster: kubectl apply failed: {result.stderr.strip()}")


def kubectl_path(settings: Settings | None = None) -> Path:
    return tool_path(settings or Settings.from_env(), "kubectl")


def helm_path(settings: Settings | None = None) -> Path:
    return tool_path(settings or Settings.from_env(), "helm")


__all__ = ["Cluster", "helm_path", "kubectl_path", "tool_path"]
