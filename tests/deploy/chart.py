"""Helpers over the platform chart: render it with the stack's helm, and walk the rendered objects."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.k8s import kube

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
CHART = CHARTS / "stockfeed"
PRODUCTION_VALUES = CHART / "values-production.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STRIMZI_CRDS = kube.STRIMZI_CRDS  # generated from Maven Central by `devstack up cluster`

Manifest = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "Pod")


@dataclass(frozen=True)
class Helm:
    """The helm binary the local stack built, with private config dirs so it never touches ~/.config/helm."""

    binary: Path
    home: Path
    kube_version: str

    def env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }

    def run(self, args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=self.env(), timeout=timeout, check=False
        )

    def template(
        self, values: Sequence[Path] = (), sets: Mapping[str, str] | None = None, namespace: str = "stockfeed"
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            [
                "template",
                "stockfeed",
                str(CHART),
                "--namespace",
                namespace,
                "--kube-version",
                self.kube_version,
                *value_args(values, sets),
            ]
        )


def value_args(values: Sequence[Path] = (), sets: Mapping[str, str] | None = None) -> list[str]:
    args: list[str] = []
    for path in values:
        args += ["--values", str(path)]
    for key, value in (sets or {}).items():
        args += ["--set", f"{key}={value}"]
    return args


def parse(rendered: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def render(helm: Helm, production: bool, sets: Mapping[str, str] | None = None) -> list[Manifest]:
    """The chart's objects with the default values, or with values-production.yaml; `sets` on top."""
    result = helm.template((PRODUCTION_VALUES,) if production else (), sets)
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def by_kind(objects: Sequence[Manifest], kind: str) -> dict[str, Manifest]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_spec(obj: Manifest) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        return dict(obj["spec"])
    return dict(obj["spec"]["template"]["spec"])


def containers(obj: Manifest) -> Iterator[dict[str, Any]]:
    spec = pod_spec(obj)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def workloads(objects: Sequence[Manifest]) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def env_of(container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value (plain) or name -> valueFrom mapping."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}
