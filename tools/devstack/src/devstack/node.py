"""The real node of the test cluster: containerd + runc, kubelet, kube-proxy (iptables), CoreDNS, a forwarder.

It runs beside kwok's fake node. Tainted `stockfeed.dev/real-node=true:NoSchedule` and labelled
`stockfeed.dev/real-node=true`: only pods that tolerate the taint and select the label land on it. Its address
(the node IP, default 198.18.0.1) and the pods' gateway sit on one Linux bridge; the whole of 198.18.0.0/15 is
routed onto that bridge, so nothing of the cluster's ranges leaves the machine. Needs root; one per machine
(kube-proxy's iptables chains and the kubelet's `kubepods` cgroups are machine-wide).

`stop()` leaves nothing behind: pods and containers, mounts under its data directory, the kubepods cgroups,
KUBE-* and CNI-* iptables chains, the bridge and its route.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack import health, procs
from devstack.errors import StackError
from devstack.k8s import api, builds, kwok_config, node_config
from devstack.k8s.certs import Pki
from devstack.settings import Settings

OWNER_FILE = Path("/run/stockfeed-devstack-real-node")  # which stack home holds this machine's real node
HOST_SERVICES_NAMESPACE = "devstack"
CGROUP_ROOT = Path("/sys/fs/cgroup")
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
NODE_BINARIES = ("kubelet", "kube-proxy", "coredns", "crictl")
APT_PACKAGES = "containerd runc containernetworking-plugins iptables iproute2 busybox-static"


@dataclass(frozen=True)
class Process:
    name: str  # pid and log files: node-<name>
    timeout: float


PROCESSES = (
    Process("forwarder", 10),
    Process("containerd", 30),
    Process("coredns", 20),
    Process("kubelet", 30),  # registers the Node, which kube-proxy waits for (30 s) before it serves
    Process("kube-proxy", 60),
)


class RealNode:
    def __init__(self, settings: Settings, *, apiserver_url: str, pki: Pki, kubeconfig: Path) -> None:
        self.settings = settings
        self.apiserver_url = apiserver_url
        self.pki = pki
        self.kubeconfig = kubeconfig  # the components' admin kubeconfig (inside the cluster's data dir)
        self.dir = settings.data("cluster") / "node"
        self.name = settings.node_name
        self.net = node_config.NodeNet(
            node_ip=settings.node_ip,
            pod_cidr=settings.pod_cidr,
            service_cidr=settings.service_cidr,
            fake_pod_cidr=settings.fake_pod_cidr,
            bridge=settings.node_bridge,
        )

    # -- paths -------------------------------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        return self.dir / "containerd" / "containerd.sock"

    def _path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    def pid_file(self, process: Process) -> Path:
        return self.settings.run / f"node-{process.name}.pid"

    def log_file(self, process: Process) -> Path:
        return self.settings.logs / f"node-{process.name}.log"

    def binary(self, name: str) -> Path:
        return builds.binary_path(self.settings.cache, name)

    @property
    def pause_image(self) -> str:
        return f"{node_config.PAUSE_IMAGE_REPO}:{self._busybox_tag()}"

    @property
    def test_image(self) -> str:
        return f"{node_config.TEST_IMAGE_REPO}:{self._busybox_tag()}"

    # -- install / preconditions -------------------------------------------------------------------------
    def install(self, go: Callable[[], str]) -> None:
        if builds.missing(self.settings.cache, builds.node_builds()):
            builds.ensure_built(self.settings.cache, go(), builds.node_builds(), ".node-build.lock")

    def check_prerequisites(self) -> None:
        if os.geteuid() != 0:
            raise StackError("cluster: the real node needs root (set DEVSTACK_NODE=off for the control plane alone)")
        try:
            self.net.validate()
        except ValueError as error:
            raise StackError(f"cluster: {error}") from None
        missing = [tool for tool in ("containerd", "runc", "ctr", "iptables", "ip") if shutil.which(tool) is None]
        missing += [str(path) for path in (node_config.CNI_BIN_DIR / "bridge", BUSYBOX) if not path.exists()]
        if missing:
            raise StackError(
                f"cluster: the real node needs {', '.join(missing)}: `tools/bootstrap.sh --system` installs "
                f"them (apt-get install {APT_PACKAGES}); or set DEVSTACK_NODE=off"
            )
        if _elf_interpreter(BUSYBOX):
            raise StackError(f"cluster: {BUSYBOX} is dynamically linked; apt-get install busybox-static")
        absent = [name for name in NODE_BINARIES if not self.binary(name).is_file()]
        if absent:
            raise StackError(f"cluster: {', '.join(absent)} not built; run `devstack install cluster`")
        owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else ""
        if owner and owner != str(self.settings.home) and _stack_node_alive(Path(owner)):
            raise StackError(
                f"cluster: this machine's real node belongs to the stack at {owner} (one real node per machine: "
                "kube-proxy's iptables rules and the kubepods cgroups are machine-wide); stop it there, or set "
                "DEVSTACK_NODE=off here"
            )

    # -- start ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.running() and self.healthy():
            return
        self.check_prerequisites()
        if _stale_owner(str(self.settings.home)):
            # a stack that was killed without `down` (SIGKILL, an ended session) left its node's machine-wide
            # state behind: its containers, rules, cgroups and bridge go before ours are made
            self._clean_machine()
        OWNER_FILE.write_text(f"{self.settings.home}\n")
        self._setup_network()
        self._write_configs()
        started: list[Process] = []
        try:
            for process in PROCESSES:
                if not self._alive(process):
                    self._start(process)
                    started.append(process)
                self._wait(process)
                if process.name == "containerd":
                    self._import_images()
            kubelet = next(process for process in PROCESSES if process.name == "kubelet")
            health.wait_until(
                self.node_ready,
                what=f"cluster: real node {self.name} Ready",
                timeout=90,
                log_file=self.log_file(kubelet),
                still_running=lambda: self._alive(kubelet),
            )
        except BaseException:
            self.stop()
            raise

    def host_services(self) -> dict[str, tuple[int, int]]:
        """Services in namespace `devstack` that lead pods to the host's servers (port, port on node IP)."""
        s = self.settings
        return {"minio": (9000, s.minio_port), "postgres": (5432, s.postgres_port), "kafka": (9092, s.kafka_pod_port)}

    def _forward_rules(self) -> list[str]:
        s = self.settings
        ports = [s.apiserver_port, s.minio_port, s.postgres_port, s.kafka_pod_port]
        return [f"{self.net.node_ip}:{port}=127.0.0.1:{port}" for port in ports]

    def _argv(self, process: Process) -> list[str]:
        name = process.name
        if name == "forwarder":
            return [sys.executable, "-m", "devstack.forward", *self._forward_rules(), f"--marker={self.dir}"]
        if name == "containerd":
            return [shutil.which("containerd") or "containerd", f"--config={self._path('containerd.toml')}"]
        if name == "coredns":
            return [str(self.binary("coredns")), "-conf", str(self._path("Corefile"))]
        if name == "kube-proxy":
            return [str(self.binary("kube-proxy")), f"--config={self._path('kube-proxy.json')}", "--v=1"]
        return [
            str(self.binary("kubelet")),
            f"--config={self._path('kubelet.json')}",
            f"--kubeconfig={self.kubeconfig}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.net.node_ip}",
            f"--root-dir={self._path('kubelet')}",
            f"--cert-dir={self._path('kubelet', 'pki')}",
            f"--node-labels={node_config.NODE_LABEL}=true",
            "--v=1",
        ]

    def _start(self, process: Process) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": str(self.dir)}
        if process.name == "forwarder":
            env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        procs.start_daemon(
            self._argv(process), pid_file=self.pid_file(process), log_file=self.log_file(process), env=env
        )

    def _alive(self, process: Process) -> bool:
        return procs.owned_pid(self.pid_file(process), str(self.dir)) is not None

    def _wait(self, process: Process) -> None:
        checks: dict[str, Callable[[], bool]] = {
            "forwarder": lambda: health.tcp_open(self.settings.minio_port, host=self.net.node_ip)
            or health.tcp_open(self.settings.apiserver_port, host=self.net.node_ip),
            "containerd": lambda: self._ctr("version", check=False).returncode == 0,
            "coredns": lambda: health.tcp_open(53, host=self.net.dns_ip),
            "kube-proxy": lambda: health.http_ok(f"http://127.0.0.1:{self.settings.kube_proxy_port}/healthz"),
        }
        check = checks.get(process.name, lambda: self._alive(process))
        health.wait_until(
            check,
            what=f"cluster: node {process.name}",
            timeout=process.timeout,
            log_file=self.log_file(process),
            still_running=lambda: self._alive(process),
        )

    def _write_configs(self) -> None:
        for directory in (
            "containerd/root",
            "containerd/state",
            "cni/net.d",
            "cni/ipam",
            "kubelet",
            "manifests",
            "pod-logs",
        ):
            self._path(*directory.split("/")).mkdir(parents=True, exist_ok=True)
        files = {
            "containerd.toml": node_config.containerd_config(
                root=self._path("containerd", "root"),
                state=self._path("containerd", "state"),
                socket=self.socket,
                cni_conf_dir=self._path("cni", "net.d"),
                sandbox_image=self.pause_image,
            ),
            "cni/net.d/10-devstack.conflist": node_config.cni_conflist(self.net, self._path("cni", "ipam")),
            "resolv.conf": "",
            "kubelet.json": node_config.kubelet_config(
                net=self.net,
                port=self.settings.kubelet_port,
                runtime_socket=self.socket,
                client_ca=self.pki.ca_cert,
                resolv_conf=self._path("resolv.conf"),
                static_pods=self._path("manifests"),
                pod_logs=self._path("pod-logs"),
            ),
            "kube-proxy.json": node_config.kube_proxy_config(
                net=self.net,
                kubeconfig=self.kubeconfig,
                node_name=self.name,
                healthz_port=self.settings.kube_proxy_port,
            ),
            "Corefile": node_config.corefile(net=self.net, kubeconfig=self.kubeconfig),
        }
        for relative, text in files.items():
            path = self._path(*relative.split("/"))
            if not path.exists() or path.read_text() != text:
                path.write_text(text)

    # -- network -------------------------------------------------------------------------------------------
    def _setup_network(self) -> None:
        bridge = self.net.bridge
        if _run(["ip", "link", "show", bridge], check=False).returncode != 0:
            _run(["ip", "link", "add", bridge, "type", "bridge"])
        # The CNI bridge plugin wants the bridge to hold its gateway address and no other, so the node address
        # goes on `lo` (a /32 there is an ordinary local address: the kubelet refuses only 127.0.0.0/8).
        for prefix, device in ((self.net.gateway_prefix, bridge), (f"{self.net.node_ip}/32", "lo")):
            addresses = _run(["ip", "-o", "-4", "addr", "show", "dev", device]).stdout
            if f" {prefix} " not in addresses:
                _run(["ip", "addr", "add", prefix, "dev", device])
        _run(["ip", "link", "set", bridge, "up"])
        # The whole test range goes onto the bridge: an address nobody holds is simply not answered, never routed.
        _run(["ip", "route", "replace", str(node_config.TEST_RANGE), "dev", bridge])
        forward = Path("/proc/sys/net/ipv4/ip_forward")
        saved = self._path("ip_forward.saved")
        if not saved.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            saved.write_text(forward.read_text())
        forward.write_text("1\n")

    def _teardown_network(self) -> None:
        if _run(["ip", "link", "show", self.net.bridge], check=False).returncode == 0:
            _run(["ip", "link", "delete", self.net.bridge], check=False)
        if f" {self.net.node_ip}/32 " in _run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], check=False).stdout:
            _run(["ip", "addr", "del", f"{self.net.node_ip}/32", "dev", "lo"], check=False)
        saved = self._path("ip_forward.saved")
        if saved.exists():
            Path("/proc/sys/net/ipv4/ip_forward").write_text(saved.read_text())
            saved.unlink()

    # -- images --------------------------------------------------------------------------------------------
    def _busybox_tag(self) -> str:
        match = re.search(rb"BusyBox v(\d+(?:\.\d+)+)", BUSYBOX.read_bytes()) if BUSYBOX.exists() else None
        return match.group(1).decode() if match else "unknown"

    def _import_images(self) -> None:
        present = set(self._ctr("images", "ls", "-q").stdout.split())
        wanted = {self.pause_image: ["sleep", "infinity"], self.test_image: ["sh"]}
        busybox = BUSYBOX.read_bytes()
        applets = _run([str(BUSYBOX), "--list"]).stdout.split()
        for image, cmd in wanted.items():
            if image in present:
                continue
            archive = node_config.docker_archive(
                [image],
                {"bin/busybox": busybox},
                {f"bin/{applet}": "busybox" for applet in applets if applet != "busybox"},
                cmd,
            )
            path = self._path(f"{image.rsplit('/', 1)[-1].replace(':', '-')}.tar")
            path.write_bytes(archive)
            self._ctr("images", "import", str(path))
            path.unlink()

    def _ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args], check=check, timeout=120)

    def _crictl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        endpoint = f"unix://{self.socket}"
        argv = [str(self.binary("crictl")), "--runtime-endpoint", endpoint, "--image-endpoint", endpoint]
        return _run([*argv, "--timeout", "20s", *args], check=check, timeout=120)

    # -- health and status -------------------------------------------------------------------------------
    def running(self) -> bool:
        return any(self._alive(process) for process in PROCESSES)

    def healthy(self) -> bool:
        return all(self._alive(process) for process in PROCESSES) and self.node_ready()

    def node(self) -> dict[str, object] | None:
        return api.get_json(self.apiserver_url, f"/api/v1/nodes/{self.name}", self.pki)

    def node_ready(self) -> bool:
        node = self.node()
        if node is None or not _condition_true(node, "Ready"):
            return False
        lease = api.get_json(
            self.apiserver_url, f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}", self.pki
        )
        return lease is not None and kwok_config.lease_fresh(lease, datetime.datetime.now(datetime.UTC), 60.0)

    def describe(self) -> str:
        """One line for `devstack status`: the node, Ready or not, its runtime and kubelet versions."""
        node = self.node()
        if node is None:
            return f"node {self.name}: not registered"
        status = node.get("status")
        info = status.get("nodeInfo", {}) if isinstance(status, dict) else {}
        ready = "Ready" if _condition_true(node, "Ready") else "NotReady"
        runtime = info.get("containerRuntimeVersion", "?") if isinstance(info, dict) else "?"
        kubelet = info.get("kubeletVersion", "?") if isinstance(info, dict) else "?"
        return f"node {self.name} {self.net.node_ip} {ready} {runtime} kubelet {kubelet}"

    def env(self) -> dict[str, str]:
        return {
            "DEVSTACK_REAL_NODE": self.name,
            "DEVSTACK_REAL_NODE_IP": self.net.node_ip,
            "DEVSTACK_CONTAINERD_SOCKET": str(self.socket),
            "DEVSTACK_CRICTL": str(self.binary("crictl")),
            "DEVSTACK_TEST_IMAGE": self.test_image,
            "DEVSTACK_CLUSTER_DNS": self.net.dns_ip,
        }

    # -- stop ----------------------------------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop everything and remove what it made; safe to call when nothing runs (and on a half start)."""
        stopped = False
        by_name = {process.name: process for process in PROCESSES}
        stopped = procs.stop(self.pid_file(by_name["kubelet"]), str(self.dir)) or stopped
        if self._alive(by_name["containerd"]) and self.binary("crictl").is_file():
            self._crictl("rmp", "--all", "--force", check=False)  # CNI DEL for each sandbox: IPs, hostPort rules
        for name in ("kube-proxy", "containerd", "coredns", "forwarder"):
            stopped = procs.stop(self.pid_file(by_name[name]), str(self.dir)) or stopped
        self._kill_shims()
        if os.geteuid() != 0:
            return stopped
        _unmount_under(self.dir)
        _remove_log_links(self._path("pod-logs"))
        shutil.rmtree(self._path("cni", "ipam"), ignore_errors=True)  # no sandbox is left to hold an address
        owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else ""
        if owner and owner != str(self.settings.home) and _stack_node_alive(Path(owner)):
            return stopped  # the machine's node is another stack's: its rules, cgroups and bridge are not ours
        self._clean_machine()
        if owner == str(self.settings.home):
            OWNER_FILE.unlink()
        return stopped

    def _clean_machine(self) -> None:
        """The node's machine-wide state: kube-proxy's and CNI's rules, the kubepods cgroups (and what still runs
        in them when the runtime died first), the bridge and the node address."""
        if self.binary("kube-proxy").is_file():
            _run([str(self.binary("kube-proxy")), "--cleanup"], check=False, timeout=60)
        _sweep_iptables()
        _kill_pod_processes("kubepods")
        _remove_cgroups("kubepods")
        self._teardown_network()

    def _kill_shims(self) -> None:
        """containerd's shims outlive it; ours name our socket in their command line."""
        marker = f"-address {self.socket} "
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and marker in procs.cmdline(int(entry.name)) + " ":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)


# -- machine-level helpers ---------------------------------------------------------------------------------
def _run(argv: list[str], *, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:  # a hung tool must not cut a clean-up short
        result = subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout:.0f}s")
    if check and result.returncode != 0:
        raise StackError(f"cluster: `{' '.join(argv)}` failed: {(result.stderr or result.stdout).strip()[-1500:]}")
    return result


def _condition_true(node: dict[str, object], kind: str) -> bool:
    status = node.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return isinstance(conditions, list) and any(
        isinstance(c, dict) and c.get("type") == kind and c.get("status") == "True" for c in conditions
    )


def _stale_owner(home: str) -> bool:
    """True when the owner file names another stack whose node no longer runs (killed without `down`)."""
    owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else ""
    return bool(owner) and owner != home and not _stack_node_alive(Path(owner))


def _kill_pod_processes(name: str) -> None:
    """SIGKILL what still runs in the `name` cgroups (a killed node's containers outlive their runtime)."""
    for procs_file in (CGROUP_ROOT / "pids" / name).glob("**/cgroup.procs") if CGROUP_ROOT.is_dir() else []:
        with contextlib.suppress(OSError):
            for pid in procs_file.read_text().split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)


def _stack_node_alive(home: Path) -> bool:
    """Does the stack at `home` still run its node's containerd (by its pid file and command line)?"""
    marker = str(home / "data" / "cluster" / "node")
    return procs.owned_pid(home / "run" / "node-containerd.pid", marker) is not None


def _elf_interpreter(path: Path) -> bool:
    """True when the ELF executable asks for a dynamic loader (PT_INTERP): not usable alone in an image."""
    data = path.read_bytes()[:65536]
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return True
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for index in range(phnum):
        (kind,) = struct.unpack_from("<I", data, phoff + index * phentsize)
        if kind == 3:
            return True
    return False


def iptables_cleanup_commands(rules: str, table: str) -> list[list[str]]:
    """From `iptables -t TABLE -S`: delete jumps into KUBE-*/CNI-* chains, then flush and delete those chains."""
    ours = re.compile(r"^(KUBE-|CNI-)")
    deletes: list[list[str]] = []
    chains: list[str] = []
    for line in rules.splitlines():
        parts = shlex.split(line)  # comments are quoted and hold spaces
        if len(parts) >= 2 and parts[0] == "-N" and ours.match(parts[1]):
            chains.append(parts[1])
        elif len(parts) >= 2 and parts[0] == "-A" and not ours.match(parts[1]) and ours.match(_jump(parts)):
            deletes.append(["-t", table, "-D", *parts[1:]])
    flushes = [["-t", table, "-F", chain] for chain in chains]
    removals = [["-t", table, "-X", chain] for chain in chains]
    return deletes + flushes + removals


def _jump(parts: list[str]) -> str:
    for flag in ("-j", "-g"):
        if flag in parts and parts.index(flag) + 1 < len(parts):
            return parts[parts.index(flag) + 1]
    return ""


def _sweep_iptables() -> None:
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool) is None:
            continue
        for table in ("filter", "nat", "mangle"):
            listing = _run([tool, "-w", "5", "-t", table, "-S"], check=False)
            if listing.returncode != 0:
                continue
            for args in iptables_cleanup_commands(listing.stdout, table):
                _run([tool, "-w", "5", *args], check=False)


def _unmount_under(directory: Path) -> None:
    prefix = str(directory.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if (point + "/").startswith(prefix):
            mounts.append(point)
    for point in sorted(set(mounts), key=len, reverse=True):
        if _run(["umount", point], check=False).returncode != 0:
            _run(["umount", "-l", point], check=False)


def _remove_log_links(pod_logs: Path) -> None:
    """The kubelet links each container's log into /var/log/containers; drop the links into our pod-logs dir."""
    links = Path("/var/log/containers")
    if not links.is_dir():
        return
    for link in links.iterdir():
        if link.is_symlink() and os.readlink(link).startswith(str(pod_logs) + "/"):
            link.unlink()
    with contextlib.suppress(OSError):
        links.rmdir()  # the kubelet made it; gone again when empty


def _remove_cgroups(name: str) -> None:
    """rmdir the kubelet's `kubepods` tree in every cgroup v1 hierarchy, deepest first (empty once pods are gone)."""
    if not CGROUP_ROOT.is_dir():
        return
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / name
        if not top.is_dir():
            continue
        for dirpath, _dirnames, _files in sorted(os.walk(top), key=lambda item: len(item[0]), reverse=True):
            deadline = time.monotonic() + 5
            while True:
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
