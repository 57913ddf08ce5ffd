"""Where the stack lives and which ports it uses: every value can be overridden by a DEVSTACK_* variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"  # the log4j-core Kafka 4.1.1 ships with; the slf4j 1.7 binding must match it
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"  # newest MinIO the Go module proxy serves
MC_VERSION = "v0.0.0-20250313080218-cf909e1063a9"  # newest mc (MinIO's client) the Go module proxy serves


class ConfigError(ValueError):
    """A DEVSTACK_* variable has a value we cannot use; the message names it."""


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Makefile").exists() and (parent / "tools" / "devstack").is_dir():
            return parent
    return Path.cwd()


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise ConfigError(f"{name}={value} is outside 1..65535")
    return value


def _switch(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: use on or off")


@dataclass(frozen=True)
class Settings:
    home: Path  # data, logs, pid files, generated credentials and the env file
    cache: Path  # downloads and builds, keyed by version, shared between checkouts
    kafka_port: int
    kafka_controller_port: int
    kafka_pod_port: int  # the listener the real node's pods reach through the forwarder
    minio_port: int
    postgres_port: int
    apiserver_port: int
    etcd_port: int
    etcd_peer_port: int
    # The real node beside kwok's fake one (root only; one per machine: kube-proxy's iptables chains are global).
    node_enabled: bool = True
    node_name: str = "devstack-node-0"
    node_ip: str = "198.18.0.1"
    node_bridge: str = "sfnode0"
    pod_cidr: str = "198.18.1.0/24"
    service_cidr: str = "198.19.0.0/24"
    fake_pod_cidr: str = "198.18.128.0/17"
    kubelet_port: int = 20250
    kube_proxy_port: int = 20256  # healthz; metrics on the next port

    @property
    def env_file(self) -> Path:
        return self.home / "env"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    def data(self, server: str) -> Path:
        return self.home / "data" / server

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("DEVSTACK_HOME") or _repo_root() / ".devstack").resolve()
        cache = Path(
            env.get("STOCKFEED_CACHE") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stockfeed"
        ).resolve()
        return cls(
            home=home,
            cache=cache,
            kafka_port=_port(env, "DEVSTACK_KAFKA_PORT", 19092),
            kafka_controller_port=_port(env, "DEVSTACK_KAFKA_CONTROLLER_PORT", 19093),
            kafka_pod_port=_port(env, "DEVSTACK_KAFKA_POD_PORT", 19094),
            minio_port=_port(env, "DEVSTACK_MINIO_PORT", 19000),
            postgres_port=_port(env, "DEVSTACK_POSTGRES_PORT", 15432),
            apiserver_port=_port(env, "DEVSTACK_APISERVER_PORT", 16443),
            etcd_port=_port(env, "DEVSTACK_ETCD_PORT", 12379),
            etcd_peer_port=_port(env, "DEVSTACK_ETCD_PEER_PORT", 12380),
            node_enabled=_switch(env, "DEVSTACK_NODE", default=os.geteuid() == 0),  # root: runs containers
            node_name=env.get("DEVSTACK_NODE_NAME") or "devstack-node-0",
            node_ip=env.get("DEVSTACK_NODE_IP") or "198.18.0.1",
            node_bridge=env.get("DEVSTACK_NODE_BRIDGE") or "sfnode0",
            pod_cidr=env.get("DEVSTACK_POD_CIDR") or "198.18.1.0/24",
            service_cidr=env.get("DEVSTACK_SERVICE_CIDR") or "198.19.0.0/24",
            fake_pod_cidr=env.get("DEVSTACK_FAKE_POD_CIDR") or "198.18.128.0/17",
            kubelet_port=_port(env, "DEVSTACK_KUBELET_PORT", 20250),
            kube_proxy_port=_port(env, "DEVSTACK_KUBE_PROXY_PORT", 20256),
        )
