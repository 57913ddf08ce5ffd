"""Pure text work for the throwaway Go modules the builds use: replace lists, go.mod files, ldflags."""

from __future__ import annotations

import re
from collections.abc import Sequence

from devstack.k8s.versions import major_minor, staging_version

# `k8s.io/api => ./staging/src/k8s.io/api`, alone or inside a `replace ( ... )` block.
_STAGING_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+\./staging/\S+\s*$")
_GO_DIRECTIVE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", re.MULTILINE)
# `a [v0] => b v1`, alone (`replace a => b v1`) or inside a `replace ( ... )` block
_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+(?:\s+v\S+)?\s+=>\s+\S+\s+v\S+)\s*$")


def staging_modules(go_mod: str) -> list[str]:
    """The modules k8s.io/kubernetes replaces with its own staging copies, in go.mod order.

    Those replaces point inside the kubernetes repository, so a module that depends on k8s.io/kubernetes
    must redirect each of them to the published staging tag instead.
    """
    modules: list[str] = []
    for line in go_mod.splitlines():
        match = _STAGING_REPLACE.match(line.split("//", 1)[0])
        if match and match.group(1) not in modules:
            modules.append(match.group(1))
    return modules


def module_replaces(go_mod: str) -> list[str]:
    """A module's replace directives that point at other modules, as `old [version] => new version`.

    Go applies replaces only in the main module, so building a tool through a throwaway module needs the tool's
    own replaces copied there, or its dependencies resolve to versions it does not build with.
    """
    replaces: list[str] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("replace ("):
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if in_block or line.startswith("replace "):
            match = _REPLACE.match(line)
            if match is None:  # a local path exists only in the tool's own repository: no build of ours matches it
                raise ValueError(f"go.mod replaces a module with something other than a module version: {line!r}")
            replaces.append(" ".join(match.group(1).split()))
    return replaces


def go_directive(go_mod: str) -> str:
    match = _GO_DIRECTIVE.search(go_mod)
    if match is None:
        raise ValueError("go.mod has no `go` directive")
    return match.group(1)


def kubernetes_go_mod(module: str, kubernetes_version: str, served_go_mod: str) -> str:
    """A go.mod that requires k8s.io/kubernetes and points every staging module at its published tag."""
    staging = staging_version(kubernetes_version)
    replaces = [f"\t{path} => {path} {staging}" for path in staging_modules(served_go_mod)]
    if not replaces:
        raise ValueError("the served k8s.io/kubernetes go.mod lists no staging replaces; is it the right file?")
    return (
        f"module {module}\n\n"
        f"go {go_directive(served_go_mod)}\n\n"
        f"require k8s.io/kubernetes {kubernetes_version}\n\n"
        "replace (\n" + "\n".join(replaces) + "\n)\n"
    )


def kubernetes_ldflags(kubernetes_version: str, build_date: str) -> str:
    """Version stamps as the release build sets them, so /version and `kubectl version` tell the truth."""
    major, minor = major_minor(kubernetes_version)
    values = {
        "gitVersion": kubernetes_version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": build_date,
    }
    packages = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    flags = [f"-X {package}.{key}={value}" for package in packages for key, value in values.items()]
    return " ".join(["-s", "-w", *flags])


def helm_ldflags(kubernetes_version: str) -> str:
    """Make Helm's built-in capabilities (used by `helm template` and kubeVersion checks) match the cluster."""
    major, minor = major_minor(kubernetes_version)
    package = "helm.sh/helm/v3/pkg/chartutil"
    return f"-s -w -X {package}.k8sVersionMajor={major} -X {package}.k8sVersionMinor={minor}"


def packages_at(packages: Sequence[str], version: str) -> list[str]:
    return [f"{package}@{version}" for package in packages]
