"""Rendering of the control plane's command lines, kwok's config, the fake node and the kubeconfig."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest
import yaml

from devstack.k8s import builds, flags, kubeconfig, kwok_config

pytestmark = pytest.mark.unit


def _layout(tmp_path: Path) -> flags.Layout:
    names = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "helm")
    return flags.Layout(
        data_dir=tmp_path / "cluster",
        bin_dir={name: tmp_path / "bin" / name for name in names},
        apiserver_port=26443,
        etcd_port=22379,
        etcd_peer_port=22380,
    )


def _options(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])


def test_etcd_is_one_loopback_member_without_fsync(tmp_path: Path) -> None:
    argv = flags.etcd(_layout(tmp_path))
    options = _options(argv)
    assert argv[0] == str(tmp_path / "bin" / "etcd")
    assert options["listen-client-urls"] == "http://127.0.0.1:22379"
    assert options["listen-peer-urls"] == "http://127.0.0.1:22380"
    assert options["initial-cluster"] == "devstack=http://127.0.0.1:22380"
    assert options["data-dir"] == str(tmp_path / "cluster" / "etcd")
    assert options["unsafe-no-fsync"] == "true"


def test_apiserver_binds_loopback_with_rbac_and_our_pki(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    options = _options(flags.kube_apiserver(layout))
    assert options["bind-address"] == "127.0.0.1"
    assert options["secure-port"] == "26443"
    assert options["etcd-servers"] == "http://127.0.0.1:22379"
    assert options["authorization-mode"] == "RBAC"
    assert options["client-ca-file"] == str(layout.pki.ca_cert)
    assert options["tls-cert-file"] == str(layout.pki.serving_cert)
    assert options["service-account-key-file"] == str(layout.pki.sa_pub)
    assert options["service-account-signing-key-file"] == str(layout.pki.sa_key)
    assert options["service-cluster-ip-range"] == flags.SERVICE_CIDR
    assert "disable-admission-plugins" not in options  # ServiceAccount admission on: pods get their tokens


@pytest.mark.parametrize("render", [flags.kube_controller_manager, flags.kube_scheduler])
def test_controllers_run_alone_on_loopback_and_open_no_port(tmp_path: Path, render: object) -> None:
    assert callable(render)
    options = _options(render(_layout(tmp_path)))
    assert options["leader-elect"] == "false"
    assert options["bind-address"] == "127.0.0.1"
    assert options["secure-port"] == "0"  # two stacks on one machine must not fight over 10257/10259
    assert options["kubeconfig"] == str(tmp_path / "cluster" / "admin.kubeconfig")


def test_every_command_line_names_the_data_dir_so_pids_can_be_told_apart(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    renders = [flags.etcd, flags.kube_apiserver, flags.kube_controller_manager, flags.kube_scheduler]
    argvs = [render(layout) for render in renders] + [flags.kwok(layout, kwok_config.NODE_SELECTOR)]
    for argv in argvs:
        assert str(layout.data_dir) in " ".join(argv[1:]), argv[0]


def test_kwok_manages_only_the_annotated_node(tmp_path: Path) -> None:
    options = _options(flags.kwok(_layout(tmp_path), kwok_config.NODE_SELECTOR))
    assert options["manage-all-nodes"] == "false"
    assert options["manage-nodes-with-annotation-selector"] == "kwok.x-k8s.io/node=fake"
    assert options["config"] == str(tmp_path / "cluster" / "kwok.yaml")


def test_kwok_config_holds_the_stages_as_separate_documents() -> None:
    stage = "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: {name}\n"
    text = kwok_config.render_config([stage.format(name="pod-ready"), stage.format(name="node-initialize") + "\n\n"])
    documents = list(yaml.safe_load_all(text))
    assert [doc["kind"] for doc in documents] == ["Stage", "Stage"]
    assert [doc["metadata"]["name"] for doc in documents] == ["pod-ready", "node-initialize"]


def test_kwok_stage_files_cover_nodes_and_pods() -> None:
    names = {Path(path).name for path in builds.KWOK_STAGE_FILES}
    assert {"node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml"} <= names


def test_fake_node_is_annotated_for_kwok_and_untainted() -> None:
    node = json.loads(kwok_config.node_manifest("v1.35.4"))
    assert node["kind"] == "Node"
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert "taints" not in node["spec"]  # any Deployment may land on it
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.4"
    assert int(node["status"]["allocatable"]["pods"]) > 10


@pytest.mark.parametrize(
    ("conditions", "ready"),
    [
        ([{"type": "Ready", "status": "True"}], True),
        ([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}], True),
        ([{"type": "Ready", "status": "Unknown"}], False),
        ([], False),
        (None, False),
    ],
)
def test_node_ready(conditions: object, ready: bool) -> None:
    assert kwok_config.node_ready({"status": {"conditions": conditions}}) is ready


def test_lease_fresh_only_when_renewed_recently() -> None:
    now = datetime.datetime(2026, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
    assert kwok_config.lease_fresh({"spec": {"renewTime": "2026-05-01T11:59:50.123456Z"}}, now)
    assert not kwok_config.lease_fresh({"spec": {"renewTime": "2026-05-01T11:50:00.000000Z"}}, now)
    assert not kwok_config.lease_fresh({"spec": {}}, now)
    assert not kwok_config.lease_fresh({"spec": {"renewTime": "yesterday"}}, now)


def test_kubeconfig_has_one_admin_context_with_embedded_credentials() -> None:
    text = kubeconfig.render("https://127.0.0.1:26443", b"CA PEM", b"CERT PEM", b"KEY PEM")
    config = yaml.safe_load(text)
    assert config["current-context"] == "devstack"
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:26443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == b"CA PEM"
    (user,) = config["users"]
    assert base64.b64decode(user["user"]["client-certificate-data"]) == b"CERT PEM"
    assert base64.b64decode(user["user"]["client-key-data"]) == b"KEY PEM"
    (context,) = config["contexts"]
    assert context["context"] == {"cluster": "devstack", "user": user["name"], "namespace": "default"}


def test_binary_paths_are_keyed_by_version(tmp_path: Path) -> None:
    kubectl = builds.binary_path(tmp_path, "kubectl")
    helm = builds.binary_path(tmp_path, "helm")
    assert kubectl.parent.parent.name.startswith("kubernetes-v1.")
    assert helm.parent.parent.name.startswith("helm-v3.")
    assert "-k8s1." in helm.parent.parent.name
    assert kubectl.is_relative_to(tmp_path / "k8s")
    kubelet = builds.binary_path(tmp_path, "kubelet")  # the real node's build: same version, its own entry
    assert kubelet.parent.parent.name.startswith("kubernetes-node-v1.")
    assert builds.binary_path(tmp_path, "coredns").parent.parent.name.startswith("coredns-v1.")
    with pytest.raises(KeyError):
        builds.binary_path(tmp_path, "dockerd")
