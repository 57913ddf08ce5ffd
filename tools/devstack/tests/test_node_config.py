"""The real node's rendered configuration: containerd, CNI, kubelet, kube-proxy, CoreDNS, images, iptables clean-up."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tomllib
from pathlib import Path

import pytest

from devstack import forward
from devstack.k8s import certs, flags, node_config
from devstack.node import iptables_cleanup_commands
from devstack.settings import ConfigError, Settings

pytestmark = pytest.mark.unit

NET = node_config.NodeNet(
    node_ip="198.18.0.1",
    pod_cidr="198.18.1.0/24",
    service_cidr="198.19.0.0/24",
    fake_pod_cidr="198.18.128.0/17",
    bridge="sfnode0",
)


def test_node_addresses_stay_in_the_test_range() -> None:
    NET.validate()
    assert NET.gateway == "198.18.1.1"
    assert NET.gateway_prefix == "198.18.1.1/24"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("service_cidr", "10.0.0.0/24", "DEVSTACK_SERVICE_CIDR"),
        ("pod_cidr", "192.168.1.0/24", "DEVSTACK_POD_CIDR"),
        ("node_ip", "172.16.0.1", "DEVSTACK_NODE_IP"),
        ("fake_pod_cidr", "198.18.1.0/25", "overlaps"),
        ("bridge", "a-much-too-long-name", "DEVSTACK_NODE_BRIDGE"),
    ],
)
def test_private_ranges_overlaps_and_bad_names_are_refused(field: str, value: str, message: str) -> None:
    net = node_config.NodeNet(**{**NET.__dict__, field: value})
    with pytest.raises(ValueError, match=message):
        net.validate()


def test_containerd_config_is_valid_toml_with_what_this_machine_needs(tmp_path: Path) -> None:
    text = node_config.containerd_config(
        root=tmp_path / "root",
        state=tmp_path / "state",
        socket=tmp_path / "c.sock",
        cni_conf_dir=tmp_path / "net.d",
        sandbox_image="devstack.local/pause:1.35.0",
    )
    config = tomllib.loads(text)
    assert config["version"] == 2
    assert config["root"] == str(tmp_path / "root")
    assert config["grpc"]["address"] == str(tmp_path / "c.sock")
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True  # negative oom_score_adj is refused here
    assert cri["sandbox_image"] == "devstack.local/pause:1.35.0"
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": str(tmp_path / "net.d"), "max_conf_num": 1}


def test_cni_conflist_bridges_pods_without_masquerade(tmp_path: Path) -> None:
    config = json.loads(node_config.cni_conflist(NET, tmp_path / "ipam"))
    bridge, portmap = config["plugins"]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "sfnode0"
    assert bridge["isGateway"] is True
    assert bridge["ipMasq"] is False
    assert bridge["hairpinMode"] is True
    assert bridge["ipam"]["type"] == "host-local"
    assert bridge["ipam"]["ranges"] == [[{"subnet": "198.18.1.0/24", "gateway": "198.18.1.1"}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "ipam")
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_kubelet_config_for_cgroup_v1_our_runtime_dns_and_taint(tmp_path: Path) -> None:
    config = json.loads(
        node_config.kubelet_config(
            net=NET,
            port=20250,
            runtime_socket=tmp_path / "c.sock",
            client_ca=tmp_path / "ca.crt",
            resolv_conf=tmp_path / "resolv.conf",
            static_pods=tmp_path / "manifests",
            pod_logs=tmp_path / "pod-logs",
        )
    )
    assert config["kind"] == "KubeletConfiguration"
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["containerRuntimeEndpoint"] == f"unix://{tmp_path / 'c.sock'}"
    assert config["address"] == "198.18.0.1"
    assert config["port"] == 20250
    assert config["clusterDNS"] == ["198.18.0.1"]
    assert config["clusterDomain"] == "cluster.local"
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["x509"]["clientCAFile"] == str(tmp_path / "ca.crt")
    assert config["registerWithTaints"] == [{"key": "stockfeed.dev/real-node", "value": "true", "effect": "NoSchedule"}]
    assert config["podLogsDir"] == str(tmp_path / "pod-logs")
    assert config["imageGCHighThresholdPercent"] == 100  # imported images cannot be pulled back


def test_kube_proxy_config_iptables_on_the_node_address(tmp_path: Path) -> None:
    config = json.loads(
        node_config.kube_proxy_config(net=NET, kubeconfig=tmp_path / "k", node_name="n0", healthz_port=20256)
    )
    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == "198.18.1.0/24"
    assert config["nodePortAddresses"] == ["198.18.0.1/32"]
    assert config["healthzBindAddress"] == "127.0.0.1:20256"
    assert config["metricsBindAddress"] == "127.0.0.1:20257"
    assert config["conntrack"]["maxPerCore"] == 0  # no machine-wide sysctl changes


def test_corefile_serves_the_cluster_domain_on_the_node_address(tmp_path: Path) -> None:
    text = node_config.corefile(net=NET, kubeconfig=tmp_path / "admin.kubeconfig")
    assert text.startswith("cluster.local:53 in-addr.arpa:53 {")
    assert text.count("bind 198.18.0.1") == 2
    assert f"kubeconfig {tmp_path / 'admin.kubeconfig'}" in text
    assert "forward" not in text  # no upstream: nothing leaves the machine


def test_host_services_point_at_the_node_address() -> None:
    manifest = json.loads(node_config.host_services_manifest("devstack", "198.18.0.1", {"minio": (9000, 19000)}))
    namespace, service, slice_ = manifest["items"]
    assert namespace["metadata"]["name"] == "devstack"
    assert service["spec"]["ports"][0] == {"name": "tcp", "port": 9000, "targetPort": 19000, "protocol": "TCP"}
    assert "selector" not in service["spec"]
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "minio"
    assert slice_["endpoints"][0]["addresses"] == ["198.18.0.1"]
    assert slice_["ports"][0]["port"] == 19000


def test_docker_archive_is_deterministic_and_importable_shape() -> None:
    args = (["devstack.local/busybox:1"], {"bin/busybox": b"\x7fELF..."}, {"bin/sh": "busybox"}, ["sh"])
    first = node_config.docker_archive(*args)
    assert first == node_config.docker_archive(*args)
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        (manifest,) = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert manifest["RepoTags"] == ["devstack.local/busybox:1"]
        config = json.loads(archive.extractfile(manifest["Config"]).read())  # type: ignore[union-attr]
        layer = archive.extractfile(manifest["Layers"][0]).read()  # type: ignore[union-attr]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert config["config"]["Cmd"] == ["sh"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as rootfs:
        names = {member.name: member for member in rootfs.getmembers()}
    assert names["bin/busybox"].mode == 0o755
    assert names["bin/sh"].issym()
    assert names["bin/sh"].linkname == "busybox"
    assert names["tmp"].isdir()


def test_iptables_cleanup_deletes_jumps_then_chains() -> None:
    rules = "\n".join(
        [
            "-P PREROUTING ACCEPT",
            "-N KUBE-SERVICES",
            "-N CNI-HOSTPORT-DNAT",
            "-N OTHER",
            '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
            "-A PREROUTING -j OTHER",
            '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
            "-A KUBE-SERVICES -j RETURN",
        ]
    )
    commands = iptables_cleanup_commands(rules, "nat")
    assert commands[0][:4] == ["-t", "nat", "-D", "PREROUTING"]
    assert commands[0][-1] == "KUBE-SERVICES"
    assert commands[1][-1] == "CNI-HOSTPORT-DNAT"
    assert commands[2] == ["-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment",
                           "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"]  # fmt: skip
    assert ["-t", "nat", "-F", "KUBE-SERVICES"] in commands
    assert commands[-2:] == [["-t", "nat", "-X", "KUBE-SERVICES"], ["-t", "nat", "-X", "CNI-HOSTPORT-DNAT"]]
    assert not any("OTHER" in command for command in commands)


def test_forward_rules_parse() -> None:
    assert forward.parse_rule("198.18.0.1:19000=127.0.0.1:19000") == (("198.18.0.1", 19000), ("127.0.0.1", 19000))
    with pytest.raises(ValueError, match="LISTEN=TARGET"):
        forward.parse_rule("198.18.0.1:19000")


def test_node_settings_from_env() -> None:
    settings = Settings.from_env(
        {"DEVSTACK_NODE": "off", "DEVSTACK_NODE_BRIDGE": "sfnode1", "DEVSTACK_KUBELET_PORT": "21250"}
    )
    assert settings.node_enabled is False
    assert settings.node_bridge == "sfnode1"
    assert settings.kubelet_port == 21250
    assert settings.service_cidr == "198.19.0.0/24"
    assert settings.node_ip == "198.18.0.1"
    with pytest.raises(ConfigError, match="DEVSTACK_NODE"):
        Settings.from_env({"DEVSTACK_NODE": "maybe"})


def test_apiserver_advertises_the_node_address_and_reaches_kubelets_by_ip(tmp_path: Path) -> None:
    layout = flags.Layout(
        data_dir=tmp_path,
        bin_dir={"kube-apiserver": tmp_path / "a", "kwok": tmp_path / "k"},
        apiserver_port=1,
        etcd_port=2,
        etcd_peer_port=3,
    )
    argv = flags.kube_apiserver(layout)
    assert "--bind-address=127.0.0.1" in argv  # the host's kubeconfig keeps loopback; pods use the forwarder
    assert "--advertise-address=198.18.0.1" in argv
    assert "--service-cluster-ip-range=198.19.0.0/24" in argv
    assert "--kubelet-preferred-address-types=InternalIP" in argv
    assert f"--kubelet-client-certificate={layout.pki.admin_cert}" in argv
    assert "--cidr=198.18.128.0/17" in flags.kwok(layout, "x=y")


def test_serving_certificate_names_the_node_address() -> None:
    sans = certs.serving_sans(flags.SERVICE_IP, [flags.NODE_IP])
    assert {"IP:127.0.0.1", "IP:198.19.0.1", "IP:198.18.0.1"} <= set(sans)
