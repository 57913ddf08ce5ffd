"""Where the chart's pods run: `nodeSelector` and `tolerations` reach every pod the chart renders (workloads, the
bucket Job, `helm test`), `feeds.*` reach the operator as OPERATOR_POD_* for the producer and consumer pods, and
unset values render no placement at all. Offline: helm template (the real node runs them in
tests/k8s/test_platform_on_real_node.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stockfeed_operator.config import load_settings
from tests.deploy.chart import Helm, Manifest, by_kind, containers, env_of, parse, pod_spec

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

POD_KINDS = ("Deployment", "StatefulSet", "Job", "Pod")
SELECTOR = {"pool": "markets"}
TOLERATIONS = [{"key": "pool", "operator": "Equal", "value": "markets", "effect": "NoSchedule"}]
FEED_SELECTOR = {"pool": "feeds"}
FEED_TOLERATIONS = [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}]


def template(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> tuple[int, str, list[Manifest]]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.template((path,))
    return result.returncode, result.stderr, parse(result.stdout) if result.returncode == 0 else []


def pods(objects: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {f"{obj['kind']}/{obj['metadata']['name']}": pod_spec(obj) for obj in objects if obj["kind"] in POD_KINDS}


def test_every_pod_of_the_chart_goes_where_the_values_place_it(chart_helm: Helm, tmp_path: Path) -> None:
    values = {"nodeSelector": SELECTOR, "tolerations": TOLERATIONS, "kafdrop": {"enabled": True}}
    code, stderr, objects = template(chart_helm, tmp_path, values)
    assert code == 0, stderr
    found = pods(objects)
    # the operator, MinIO, PostgreSQL, the simulator, the dashboard, Kafdrop, the bucket Job and the helm test pod
    assert len(found) >= 8, sorted(found)
    for name, spec in found.items():
        assert (spec.get("nodeSelector"), spec.get("tolerations")) == (SELECTOR, TOLERATIONS), name


def test_feed_placement_reaches_the_operator_and_validates_there(chart_helm: Helm, tmp_path: Path) -> None:
    values = {"feeds": {"nodeSelector": FEED_SELECTOR, "tolerations": FEED_TOLERATIONS}}
    code, stderr, objects = template(chart_helm, tmp_path, values)
    assert code == 0, stderr
    operator = next(containers(by_kind(objects, "Deployment")["stockfeed-operator"]))
    env = {name: value for name, value in env_of(operator).items() if isinstance(value, str)}
    assert json.loads(env["OPERATOR_POD_NODE_SELECTOR"]) == FEED_SELECTOR
    assert json.loads(env["OPERATOR_POD_TOLERATIONS"]) == FEED_TOLERATIONS
    settings = load_settings({key: value for key, value in env.items() if key.startswith("OPERATOR_")})
    assert settings.pod_node_selector == FEED_SELECTOR
    assert list(settings.pod_tolerations) == FEED_TOLERATIONS
    # the chart's own pods stay unplaced: feeds.* is the feeds' alone
    assert all("nodeSelector" not in spec for spec in pods(objects).values())


def test_unset_placement_renders_none(chart_helm: Helm, tmp_path: Path) -> None:
    code, stderr, objects = template(chart_helm, tmp_path, {})
    assert code == 0, stderr
    assert all("nodeSelector" not in spec and "tolerations" not in spec for spec in pods(objects).values())
    operator = next(containers(by_kind(objects, "Deployment")["stockfeed-operator"]))
    assert not {"OPERATOR_POD_NODE_SELECTOR", "OPERATOR_POD_TOLERATIONS"} & set(env_of(operator))


@pytest.mark.parametrize(
    "values",
    [
        {"tolerations": [{"key": "pool", "operator": "Maybe"}]},
        {"tolerations": [{"key": "pool", "effect": "NoRun"}]},
        {"tolerations": [{"key": "pool", "tolerate": True}]},
        {"nodeSelector": {"pool": 3}},
        {"feeds": {"tolerations": [{"key": "pool", "operator": "Sometimes"}]}},
        {"feeds": {"affinity": {}}},
        # the API server's own rules, which the operator checks too (a pod it refused would fail every feed)
        {"feeds": {"tolerations": [{"key": "pool", "operator": "Exists", "value": "x"}]}},
        {"tolerations": [{"key": "pool", "effect": "NoSchedule", "tolerationSeconds": 60}]},
        {"feeds": {"tolerations": [{"operator": "Equal", "value": "x"}]}},
        {"tolerations": [{"key": "bad key!", "operator": "Equal", "value": "x"}]},
        {"feeds": {"tolerations": [{"key": "pool", "value": "not a label value!"}]}},
    ],
)
def test_the_schema_refuses_placement_kubernetes_would_not_take(
    chart_helm: Helm, tmp_path: Path, values: dict[str, Any]
) -> None:
    code, stderr, _ = template(chart_helm, tmp_path, values)
    assert code != 0
    assert "tolerations" in stderr or "nodeSelector" in stderr or "feeds" in stderr, stderr


def test_tolerations_kubernetes_takes_are_taken_by_the_schema_and_the_operator(
    chart_helm: Helm, tmp_path: Path
) -> None:
    accepted = [
        {"key": "pool", "operator": "", "value": "markets", "effect": ""},
        {"operator": "Exists"},
        {"key": "pool", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
    ]
    code, stderr, objects = template(chart_helm, tmp_path, {"feeds": {"tolerations": accepted}})
    assert code == 0, stderr
    operator = next(containers(by_kind(objects, "Deployment")["stockfeed-operator"]))
    env = {name: value for name, value in env_of(operator).items() if isinstance(value, str)}
    assert list(load_settings(env).pod_tolerations) == accepted
