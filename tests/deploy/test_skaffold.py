"""skaffold.yaml's kind path cannot run here (no Docker, no kind); these checks keep it consistent with the
repository: every artifact has its Dockerfile, every template names a declared artifact the way skaffold sanitises
it, every image value of our chart is set from a build, the releases install in dependency order, and the
real-node profile's patches (positional) still take out what they say. skaffold itself deploys that profile in
tests/k8s/test_skaffold_real_node.py."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART, CHARTS, REPO

pytestmark = pytest.mark.unit

SKAFFOLD = REPO / "skaffold.yaml"
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*\.(IMAGE_(?:REPO|TAG|FULLY_QUALIFIED|DIGEST)_([A-Za-z0-9_]+))\s*\}\}")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SKAFFOLD.read_text())
    return loaded


def sanitized(image: str) -> str:
    """skaffold's setValueTemplates name for an artifact: `/`, `-`, `.` and `:` become `_`."""
    return re.sub(r"[/\-.:]", "_", image)


def releases(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {release["name"]: release for release in config["deploy"]["helm"]["releases"]}


def test_schema_version_and_kind(config: dict[str, Any]) -> None:
    assert config["apiVersion"] == "skaffold/v4beta13"
    assert config["kind"] == "Config"


def test_builds_every_image_of_the_platform(config: dict[str, Any]) -> None:
    images = {artifact["image"] for artifact in config["build"]["artifacts"]}
    expected = {"operator", "producer", "consumer", "simulator", "loader", "dbt", "airflow", "dashboard"}
    assert images == {f"stockfeed-{name}" for name in expected}


def test_every_artifact_has_its_dockerfile(config: dict[str, Any]) -> None:
    missing = []
    for artifact in config["build"]["artifacts"]:
        context = REPO / artifact.get("context", ".")
        dockerfile = context / artifact["docker"]["dockerfile"]
        if not dockerfile.is_file():
            missing.append(str(dockerfile.relative_to(REPO)))
    assert not missing, f"Dockerfiles not written yet: {missing}"


def test_templates_name_declared_artifacts(config: dict[str, Any]) -> None:
    declared = {sanitized(artifact["image"]) for artifact in config["build"]["artifacts"]}
    for release in config["deploy"]["helm"]["releases"]:
        for key, template in release.get("setValueTemplates", {}).items():
            found = TEMPLATE_VARIABLE.findall(template)
            assert found, f"{release['name']}: {key} has no image template"
            for _, artifact in found:
                assert artifact in declared, f"{release['name']}: {key} names unknown artifact {artifact}"


def test_every_own_image_of_the_chart_comes_from_a_build(config: dict[str, Any]) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    templates = releases(config)["stockfeed"]["setValueTemplates"]
    for name in values["images"]:
        assert templates[f"images.{name}.repository"] == f"{{{{.IMAGE_REPO_stockfeed_{name}}}}}", name
        assert templates[f"images.{name}.tag"] == f"{{{{.IMAGE_TAG_stockfeed_{name}}}}}", name
    airflow = releases(config)["airflow"]["setValueTemplates"]
    assert airflow["images.airflow.repository"] == "{{.IMAGE_REPO_stockfeed_airflow}}"


def test_releases_install_in_dependency_order(config: dict[str, Any]) -> None:
    order = [release["name"] for release in config["deploy"]["helm"]["releases"]]
    assert order == ["strimzi", "stockfeed", "airflow"]  # CRDs first; Airflow needs our Secrets and PostgreSQL
    by_name = releases(config)
    assert by_name["strimzi"]["remoteChart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert by_name["strimzi"]["version"] == "1.2.0"
    assert by_name["airflow"]["remoteChart"] == "airflow"
    assert by_name["airflow"]["repo"] == "https://airflow.apache.org"
    assert by_name["airflow"]["version"].startswith("1.22.")
    assert by_name["stockfeed"]["chartPath"] == "charts/stockfeed"
    assert {release["namespace"] for release in by_name.values()} == {"stockfeed"}
    for release in by_name.values():
        for path in release.get("valuesFiles", []):
            assert (REPO / path).is_file(), path


def test_status_checks_wait_out_pods_that_recover(config: dict[str, Any]) -> None:
    """Airflow's migration wait races PostgreSQL: a failed init container that recovers is not a failed deploy."""
    assert config["deploy"]["tolerateFailuresUntilDeadline"] is True
    assert releases(config)["stockfeed"]["wait"] is True  # PostgreSQL is up before Airflow's release starts


def test_strimzi_values_watch_the_release_namespace() -> None:
    values = yaml.safe_load((CHARTS / "strimzi-values.yaml").read_text())
    assert values["watchAnyNamespace"] is False
    assert values["watchNamespaces"] == []


def patched(config: dict[str, Any], profile: str) -> dict[str, Any]:
    """The config with a profile's JSON patches applied (the remove/add/replace operations the profiles use)."""
    result = copy.deepcopy(config)
    for patch in next(p for p in config["profiles"] if p["name"] == profile)["patches"]:
        *parents, last = patch["path"].strip("/").split("/")
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if patch["op"] == "remove":
            del target[key]
        else:
            target[key] = patch["value"]
    return result


def test_the_real_node_profile_deploys_only_the_platform_release_from_its_own_images(config: dict[str, Any]) -> None:
    real_node = patched(config, "real-node")
    assert [release["name"] for release in real_node["deploy"]["helm"]["releases"]] == ["stockfeed"]
    assert "hooks" not in real_node["deploy"]["helm"]
    platform = real_node["deploy"]["helm"]["releases"][0]
    assert platform["valuesFiles"] == ["charts/real-node-values.yaml"]
    assert platform["setValueTemplates"] == releases(config)["stockfeed"]["setValueTemplates"]  # templates kept
    images = {artifact["image"] for artifact in real_node["build"]["artifacts"]}
    assert images == {artifact["image"] for artifact in config["build"]["artifacts"]} - {"stockfeed-airflow"}
    assert real_node["deploy"]["tolerateFailuresUntilDeadline"] is True  # the status check as on kind
