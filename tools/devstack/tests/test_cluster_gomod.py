"""The throwaway-module text for the Kubernetes build: staging replaces, go.mod, version ldflags."""

from __future__ import annotations

import pytest

from devstack.k8s import gomod
from devstack.k8s.versions import major_minor, staging_version

pytestmark = pytest.mark.unit

SERVED_GO_MOD = """\
module k8s.io/kubernetes

go 1.25.0

godebug default=go1.25

require (
\tgithub.com/spf13/cobra v1.10.0
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
)

replace k8s.io/kms => ./staging/src/k8s.io/kms

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go // the client
\tgithub.com/example/fork => github.com/example/fork v1.2.3
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


def test_staging_modules_are_the_local_replaces_in_order_without_duplicates() -> None:
    assert gomod.staging_modules(SERVED_GO_MOD) == ["k8s.io/kms", "k8s.io/api", "k8s.io/client-go"]


def test_staging_modules_ignore_requires_and_module_replaces() -> None:
    assert "github.com/example/fork" not in gomod.staging_modules(SERVED_GO_MOD)
    assert "github.com/spf13/cobra" not in gomod.staging_modules(SERVED_GO_MOD)


def test_go_directive() -> None:
    assert gomod.go_directive(SERVED_GO_MOD) == "1.25.0"
    with pytest.raises(ValueError, match="go"):
        gomod.go_directive("module x\n")


def test_kubernetes_go_mod_points_every_staging_module_at_its_published_tag() -> None:
    text = gomod.kubernetes_go_mod("example.local/build", "v1.35.4", SERVED_GO_MOD)
    lines = text.splitlines()
    assert lines[0] == "module example.local/build"
    assert "go 1.25.0" in lines
    assert "require k8s.io/kubernetes v1.35.4" in lines
    assert "\tk8s.io/api => k8s.io/api v0.35.4" in lines
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4" in lines
    assert "\tk8s.io/kms => k8s.io/kms v0.35.4" in lines
    assert "./staging" not in text


def test_kubernetes_go_mod_refuses_a_go_mod_without_staging_replaces() -> None:
    with pytest.raises(ValueError, match="staging"):
        gomod.kubernetes_go_mod("x", "v1.35.4", "module k8s.io/kubernetes\n\ngo 1.25.0\n")


@pytest.mark.parametrize(
    ("version", "staging"), [("v1.35.4", "v0.35.4"), ("v1.36.0", "v0.36.0"), ("1.34.10", "v0.34.10")]
)
def test_staging_version(version: str, staging: str) -> None:
    assert staging_version(version) == staging


@pytest.mark.parametrize("version", ["latest", "v1", "vX.Y.Z"])
def test_major_minor_rejects_what_is_not_a_version(version: str) -> None:
    with pytest.raises(ValueError, match="version"):
        major_minor(version)


def test_kubernetes_ldflags_stamp_both_version_packages() -> None:
    flags = gomod.kubernetes_ldflags("v1.35.4", "2026-01-02T03:04:05Z").split()
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"{package}.gitVersion=v1.35.4" in flags
        assert f"{package}.gitMajor=1" in flags
        assert f"{package}.gitMinor=35" in flags
        assert f"{package}.buildDate=2026-01-02T03:04:05Z" in flags
    assert flags.count("-X") == 10


def test_helm_ldflags_report_the_cluster_minor() -> None:
    flags = gomod.helm_ldflags("v1.35.4").split()
    assert "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1" in flags
    assert "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=35" in flags


def test_module_replaces_are_read_from_both_forms_and_a_local_one_is_refused() -> None:
    go_mod = (
        "module example.com/tool\n\ngo 1.24\n\n"
        "replace github.com/docker/docker => github.com/docker/docker v27.5.1+incompatible\n"
        "replace (\n"
        "\tgithub.com/a/b v1.0.0 => github.com/c/d v1.2.0 // pinned\n"
        ")\n"
    )
    assert gomod.module_replaces(go_mod) == [
        "github.com/docker/docker => github.com/docker/docker v27.5.1+incompatible",
        "github.com/a/b v1.0.0 => github.com/c/d v1.2.0",
    ]
    with pytest.raises(ValueError, match="third_party/f"):  # exists only inside the tool's own repository
        gomod.module_replaces("replace github.com/e/f => ./third_party/f\n")
