"""Build the control plane's binaries from the Go module proxy, once per version, into the stack's cache.

Layout: `<cache>/k8s/<name>-<version>/bin/<binary>` (kwok's Stage files beside it in `stages/`). A build goes
to a `.partial` directory renamed into place only when complete, under a lock, so an interrupted or concurrent
`devstack up cluster` never sees half a build. GOMODCACHE and GOCACHE stay the Go defaults so later builds reuse them.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack import procs
from devstack.errors import StackError
from devstack.k8s import gomod
from devstack.k8s.versions import (
    COREDNS_VERSION,
    CRICTL_VERSION,
    ETCD_VERSION,
    HELM_VERSION,
    KUBERNETES_VERSION,
    KWOK_VERSION,
    SKAFFOLD_VERSION,
    major_minor,
)

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
NODE_COMMANDS = ("kubelet", "kube-proxy")  # the real node: same source, same recipe, separate cache entry
# The Stage objects kwok v0.8.0 needs in --config: nodes become Ready and keep a lease, pods become Ready.
KWOK_STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


def k8s_cache(cache: Path) -> Path:
    return cache / "k8s"


class Go:
    """The go command with the caller's environment (default GOMODCACHE/GOCACHE), failing as StackError."""

    def __init__(self, go: str, log_file: Path) -> None:
        self.go = go
        self.log_file = log_file
        self.env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod -buildvcs=false"}

    def run(self, args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> str:
        command = [self.go, *args]
        nice = shutil.which("nice")
        if nice is not None:  # the machine is shared: long compiles yield to interactive work
            command = [nice, "-n", "10", *command]
        with self.log_file.open("a") as log:
            log.write(f"$ (cd {cwd}) {' '.join(command)}\n")
        result = subprocess.run(
            command, cwd=cwd, env={**self.env, **(env or {})}, capture_output=True, text=True, check=False
        )
        with self.log_file.open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).splitlines()[-25:])
            raise StackError(f"cluster build: `go {' '.join(args)}` failed (log: {self.log_file}):\n{tail}")
        return result.stdout

    def download(self, module_at_version: str, cwd: Path) -> dict[str, str]:
        """`go mod download -json`: where the module's go.mod and extracted source are."""
        info: dict[str, str] = json.loads(self.run(["mod", "download", "-json", module_at_version], cwd=cwd))
        return info


Recipe = Callable[[Go, Path, Path], None]  # (go, throwaway work dir, output dir)


@dataclass(frozen=True)
class Build:
    key: str  # directory under <cache>/k8s: the name and every version that changes the output
    binaries: tuple[str, ...]
    recipe: Recipe

    def directory(self, cache: Path) -> Path:
        return k8s_cache(cache) / self.key

    def done(self, cache: Path) -> bool:
        return all((self.directory(cache) / "bin" / binary).is_file() for binary in self.binaries)


def _build_etcd(go: Go, work: Path, out: Path) -> None:
    # Every etcd module carries replace directives, so `go install` refuses it: build in a throwaway module.
    go.run(["mod", "init", "devstack.local/build/etcd"], cwd=work)
    go.run(["get", f"go.etcd.io/etcd/server/v3@{ETCD_VERSION}"], cwd=work)
    go.run(["build", "-ldflags=-s -w", "-o", str(out / "bin" / "etcd"), "go.etcd.io/etcd/server/v3"], cwd=work)


def _build_kubernetes(go: Go, work: Path, out: Path) -> None:
    _build_kubernetes_commands(go, work, out, KUBE_COMMANDS)


def _build_kubernetes_node(go: Go, work: Path, out: Path) -> None:
    _build_kubernetes_commands(go, work, out, NODE_COMMANDS)


def _build_kubernetes_commands(go: Go, work: Path, out: Path, commands: Sequence[str]) -> None:
    served = go.download(f"k8s.io/kubernetes@{KUBERNETES_VERSION}", cwd=work)
    go_mod = Path(served["GoMod"]).read_text()
    (work / "go.mod").write_text(gomod.kubernetes_go_mod("devstack.local/build/kubernetes", KUBERNETES_VERSION, go_mod))
    packages = [f"k8s.io/kubernetes/cmd/{command}" for command in commands]
    go.run(["get", *gomod.packages_at(packages, KUBERNETES_VERSION)], cwd=work)
    build_date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ldflags = gomod.kubernetes_ldflags(KUBERNETES_VERSION, build_date)
    (out / "bin").mkdir(parents=True, exist_ok=True)
    go.run(["build", f"-ldflags={ldflags}", "-o", str(out / "bin") + "/", *packages], cwd=work)


def _build_kwok(go: Go, work: Path, out: Path) -> None:
    go.run(["install", f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"], cwd=work, env={"GOBIN": str(out / "bin")})
    source = Path(go.download(f"sigs.k8s.io/kwok@{KWOK_VERSION}", cwd=work)["Dir"])
    stages = out / "stages"
    stages.mkdir(parents=True, exist_ok=True)
    for relative in KWOK_STAGE_FILES:
        shutil.copyfile(source / relative, stages / Path(relative).name)


def _build_helm(go: Go, work: Path, out: Path) -> None:
    ldflags = gomod.helm_ldflags(KUBERNETES_VERSION)
    go.run(
        ["install", f"-ldflags={ldflags}", f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}"],
        cwd=work,
        env={"GOBIN": str(out / "bin")},
    )


SKAFFOLD_MODULE = "github.com/GoogleContainerTools/skaffold/v2"


def _build_skaffold(go: Go, work: Path, out: Path) -> None:
    # `go install` refuses a module with replace directives (and the proxy lists no skaffold versions, which
    # `go install` asks for): build in a throwaway module that requires it and carries its replaces.
    served = go.download(f"{SKAFFOLD_MODULE}@{SKAFFOLD_VERSION}", cwd=work)
    served_go_mod = Path(served["GoMod"]).read_text()
    replaces = "".join(f"replace {line}\n" for line in gomod.module_replaces(served_go_mod))
    go_version = gomod.go_directive(served_go_mod)
    (work / "go.mod").write_text(
        f"module devstack.local/build/skaffold\n\ngo {go_version}\n\n"
        f"require {SKAFFOLD_MODULE} {SKAFFOLD_VERSION}\n\n{replaces}"
    )
    (work / "tools.go").write_text(f'//go:build tools\n\npackage tools\n\nimport _ "{SKAFFOLD_MODULE}/cmd/skaffold"\n')
    go.run(["mod", "tidy"], cwd=work)
    ldflags = f"-s -w -X {SKAFFOLD_MODULE}/pkg/skaffold/version.version={SKAFFOLD_VERSION}"
    binary = str(out / "bin" / "skaffold")
    go.run(["build", f"-ldflags={ldflags}", "-o", binary, f"{SKAFFOLD_MODULE}/cmd/skaffold"], cwd=work)


def _build_coredns(go: Go, work: Path, out: Path) -> None:
    go.run(
        ["install", "-ldflags=-s -w", f"github.com/coredns/coredns@{COREDNS_VERSION}"],
        cwd=work,
        env={"GOBIN": str(out / "bin")},
    )


def _build_crictl(go: Go, work: Path, out: Path) -> None:
    go.run(
        ["install", "-ldflags=-s -w", f"sigs.k8s.io/cri-tools/cmd/crictl@{CRICTL_VERSION}"],
        cwd=work,
        env={"GOBIN": str(out / "bin")},
    )


def node_builds() -> tuple[Build, ...]:
    """What the real node adds to the control plane's builds (built under a lock of its own)."""
    return (
        Build(f"kubernetes-node-{KUBERNETES_VERSION}", NODE_COMMANDS, _build_kubernetes_node),
        Build(f"coredns-{COREDNS_VERSION}", ("coredns",), _build_coredns),
        Build(f"crictl-{CRICTL_VERSION}", ("crictl",), _build_crictl),
    )


def all_builds() -> tuple[Build, ...]:
    kube_major, kube_minor = major_minor(KUBERNETES_VERSION)
    return (
        Build(f"etcd-{ETCD_VERSION}", ("etcd",), _build_etcd),
        Build(f"kubernetes-{KUBERNETES_VERSION}", KUBE_COMMANDS, _build_kubernetes),
        Build(f"kwok-{KWOK_VERSION}", ("kwok",), _build_kwok),
        # Helm's default capabilities are stamped at build time, so the key names the Kubernetes minor too.
        Build(f"helm-{HELM_VERSION}-k8s{kube_major}.{kube_minor}", ("helm",), _build_helm),
        Build(f"skaffold-{SKAFFOLD_VERSION}", ("skaffold",), _build_skaffold),
    )


def binary_path(cache: Path, binary: str) -> Path:
    """Where a control-plane or node binary (etcd, kube-apiserver, ..., kwok, helm, kubelet, ...) lives once built."""
    for build in (*all_builds(), *node_builds()):
        if binary in build.binaries:
            return build.directory(cache) / "bin" / binary
    raise KeyError(f"no build provides {binary!r}")


def kwok_stages_dir(cache: Path) -> Path:
    return binary_path(cache, "kwok").parent.parent / "stages"


def missing(cache: Path, builds: Sequence[Build] | None = None) -> list[Build]:
    return [build for build in (all_builds() if builds is None else builds) if not build.done(cache)]


def ensure_built(
    cache: Path, go: str, builds: Sequence[Build] | None = None, lock: str = ".build.lock"
) -> dict[str, float]:
    """Build whatever is missing; returns seconds spent per build key (empty when all were cached)."""
    timings: dict[str, float] = {}
    if not missing(cache, builds):
        return timings
    with procs.exclusive(k8s_cache(cache) / lock, "cluster"):
        for build in missing(cache, builds):  # re-checked under the lock: another process may have finished it
            began = time.monotonic()
            _run_build(build, cache, go)
            timings[build.key] = time.monotonic() - began
            _say(f"built {build.key} in {timings[build.key]:.0f}s")
    return timings


def _run_build(build: Build, cache: Path, go_binary: str) -> None:
    final = build.directory(cache)
    partial = final.with_name(final.name + ".partial")
    work = k8s_cache(cache) / "work" / build.key
    for leftover in (partial, work):
        shutil.rmtree(leftover, ignore_errors=True)
    (partial / "bin").mkdir(parents=True)
    work.mkdir(parents=True)
    go = Go(go_binary, k8s_cache(cache) / f"{build.key}.build.log")
    _say(f"building {build.key} (one time; many minutes for kubernetes on 2 cores; log {go.log_file})")
    build.recipe(go, work, partial)
    absent = [binary for binary in build.binaries if not (partial / "bin" / binary).is_file()]
    if absent:
        raise StackError(f"cluster build {build.key}: the build produced no {', '.join(absent)}")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    shutil.rmtree(work, ignore_errors=True)


def _say(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr, flush=True)
