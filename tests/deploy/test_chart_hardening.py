"""Issue 19, the chart: Kafdrop read-only and off in production, egress NetworkPolicies for the pods that handle
data (the operator's producers and consumers and the DAG's pods, selected by their own labels), and the namespace's
Pod Security labels. Offline: helm template only."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.chart import (
    CHARTS,
    PRODUCTION_VALUES,
    REPO,
    Helm,
    Manifest,
    by_kind,
    containers,
    env_of,
    render,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

PRODUCER_LABELS = {"app.kubernetes.io/component": "producer", "app.kubernetes.io/managed-by": "stockfeed-operator"}
CONSUMER_LABELS = {"app.kubernetes.io/component": "consumer", "app.kubernetes.io/managed-by": "stockfeed-operator"}


@pytest.fixture(scope="module")
def default_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=False)


@pytest.fixture(scope="module")
def production_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=True)


def egress_policies(objects: list[Manifest]) -> dict[str, Manifest]:
    return {
        name: policy
        for name, policy in by_kind(objects, "NetworkPolicy").items()
        if "Egress" in policy["spec"].get("policyTypes", [])
    }


def selecting(policies: dict[str, Manifest], labels: dict[str, str]) -> Manifest:
    """The one egress policy whose podSelector matches a pod with these labels."""
    found = []
    for policy in policies.values():
        selector = policy["spec"]["podSelector"]
        wanted = selector.get("matchLabels", {})
        expressions = selector.get("matchExpressions", [])
        if all(labels.get(key) == value for key, value in wanted.items()) and all(
            expression["operator"] == "Exists" and expression["key"] in labels for expression in expressions
        ):
            found.append(policy)
    assert len(found) == 1, [policy["metadata"]["name"] for policy in found]
    return found[0]


def ports(rule: dict[str, Any]) -> set[int]:
    return {int(port["port"]) for port in rule.get("ports", [])}


def reaches(policy: Manifest) -> dict[str, set[int]]:
    """What a policy lets out, by destination kind: dns, kafka, minio, simulator, ipBlock."""
    out: dict[str, set[int]] = {}
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
            if "ipBlock" in peer:
                kind = "ipBlock"
            elif labels.get("k8s-app") == "kube-dns":
                kind = "dns"
            elif labels.get("strimzi.io/kind") == "Kafka":
                kind = "kafka"
            else:
                kind = labels.get("app.kubernetes.io/component", "?")
            out.setdefault(kind, set()).update(ports(rule))
    return out


# -- Kafdrop ------------------------------------------------------------------------------------------------------


def test_kafdrop_cannot_create_or_delete_topics(default_objects: list[Manifest]) -> None:
    kafdrop = by_kind(default_objects, "Deployment")["stockfeed-kafdrop"]
    args = env_of(next(containers(kafdrop)))["CMD_ARGS"]
    assert "--topic.deleteEnabled=false" in args
    assert "--topic.createEnabled=false" in args


def test_kafdrop_is_off_in_production(production_objects: list[Manifest]) -> None:
    names = {obj["metadata"]["name"] for obj in production_objects}
    assert not {name for name in names if "kafdrop" in name}


def test_kafdrop_enabled_in_production_stays_read_only_and_internal(chart_helm: Helm) -> None:
    objects = render(chart_helm, production=True, sets={"kafdrop.enabled": "true"})
    assert by_kind(objects, "Service")["stockfeed-kafdrop"]["spec"]["type"] == "ClusterIP"
    kafdrop = by_kind(objects, "Deployment")["stockfeed-kafdrop"]
    assert "--topic.deleteEnabled=false" in env_of(next(containers(kafdrop)))["CMD_ARGS"]


# -- egress --------------------------------------------------------------------------------------------------------


def test_no_egress_rules_by_default(default_objects: list[Manifest]) -> None:
    assert egress_policies(default_objects) == {}


def test_producers_reach_finnhub_and_kafka_only(production_objects: list[Manifest]) -> None:
    policy = selecting(egress_policies(production_objects), {**PRODUCER_LABELS, "stockfeed.dev/feed": "tech"})
    assert reaches(policy) == {"dns": {53}, "kafka": {9093}, "ipBlock": {443}}  # only the TLS listener
    blocks = [peer["ipBlock"] for rule in policy["spec"]["egress"] for peer in rule["to"] if "ipBlock" in peer]
    assert all("10.0.0.0/8" in block.get("except", []) for block in blocks)  # not the cluster's private ranges


def test_producers_may_reach_the_simulator_when_there_is_one(chart_helm: Helm) -> None:
    objects = render(chart_helm, production=False, sets={"networkPolicies.egress.enabled": "true"})
    policy = selecting(egress_policies(objects), PRODUCER_LABELS)
    assert reaches(policy)["simulator"] == {8080}


def test_consumers_reach_kafka_and_s3_only(production_objects: list[Manifest], chart_helm: Helm) -> None:
    policy = selecting(egress_policies(production_objects), CONSUMER_LABELS)
    assert reaches(policy) == {"dns": {53}, "kafka": {9093}, "ipBlock": {443}}  # external S3 in production
    with_minio = render(chart_helm, production=False, sets={"networkPolicies.egress.enabled": "true"})
    assert reaches(selecting(egress_policies(with_minio), CONSUMER_LABELS)) == {
        "dns": {53},
        "kafka": {9092},  # the plain dev listener
        "minio": {9000},
    }


def test_dag_pods_reach_s3_and_the_warehouse_not_kafka(production_objects: list[Manifest]) -> None:
    # the labels dags/stockfeed_pipeline/operators.py gives every KubernetesPodOperator pod
    labels = {"app.kubernetes.io/part-of": "stockfeed", "stockfeed.dev/step": "load-bronze-objects"}
    policy = selecting(egress_policies(production_objects), labels)
    assert reaches(policy) == {"dns": {53}, "ipBlock": {443}}


def test_helm_managed_pods_are_not_caught_by_the_egress_rules(production_objects: list[Manifest]) -> None:
    operator = {"app.kubernetes.io/component": "operator", "app.kubernetes.io/managed-by": "Helm"}
    policies = egress_policies(production_objects)
    for policy in policies.values():
        selector = policy["spec"]["podSelector"]
        assert not all(operator.get(k) == v for k, v in selector.get("matchLabels", {}).items())


# -- Pod Security ----------------------------------------------------------------------------------------------------


def test_the_namespace_has_pod_security_labels_and_is_applied_first() -> None:
    namespace = yaml.safe_load((CHARTS / "namespace.yaml").read_text())
    assert namespace["kind"] == "Namespace"
    assert namespace["metadata"]["name"] == "stockfeed"
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    skaffold = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    hooks = skaffold["deploy"]["helm"]["hooks"]["before"]
    assert any("charts/namespace.yaml" in " ".join(hook["host"]["command"]) for hook in hooks)


# -- the dashboard in Snowflake mode -----------------------------------------------------------------------------------


def test_the_dashboard_reads_snowflake_with_its_own_read_only_login(production_objects: list[Manifest]) -> None:
    dashboard = by_kind(production_objects, "Deployment")["stockfeed-dashboard"]
    container = next(containers(dashboard))
    env = env_of(container)
    # the names the dashboard reads (services/dashboard/.../config.py), not dbt's DBT_SNOWFLAKE_*
    assert env["DASHBOARD_WAREHOUSE"] == "snowflake"
    assert env["DASHBOARD_SNOWFLAKE_ACCOUNT"] == "xy12345.eu-west-1"
    assert env["DASHBOARD_SNOWFLAKE_USER"] == "STOCKFEED_DASHBOARD"
    assert env["DASHBOARD_SNOWFLAKE_ROLE"] == "STOCKFEED_DASHBOARD_RO"
    assert env["DASHBOARD_SNOWFLAKE_WAREHOUSE"] == "STOCKFEED_WH"
    assert env["DASHBOARD_SNOWFLAKE_PASSWORD"] == {
        "secretKeyRef": {"name": "stockfeed-dashboard", "key": "DASHBOARD_SNOWFLAKE_PASSWORD"}
    }
    # never dbt's or the loader's Secret
    assert all("secretRef" not in source for source in container.get("envFrom", []))


def test_the_dashboard_settings_accept_the_rendered_names(production_objects: list[Manifest]) -> None:
    from stockfeed_dashboard.config import DashboardSettings

    container = next(containers(by_kind(production_objects, "Deployment")["stockfeed-dashboard"]))
    # DASHBOARD_PORT is read by the image's entrypoint (Streamlit's port), not by the settings class
    names = {
        item["name"] for item in container["env"] if item["name"].startswith(("DASHBOARD_SNOWFLAKE_", "DASHBOARD_W"))
    }
    fields = {f"DASHBOARD_{name.upper()}" for name in DashboardSettings.model_fields}
    assert names <= fields, names - fields


def test_the_dashboard_never_gets_the_transform_role(chart_helm: Helm) -> None:
    result = chart_helm.template((PRODUCTION_VALUES,), {"dashboard.snowflake.role": "STOCKFEED"})
    assert result.returncode != 0
    assert "never the transform role" in result.stderr


def test_a_chart_made_dashboard_secret_holds_only_its_password(chart_helm: Helm) -> None:
    objects = render(
        chart_helm,
        production=True,
        sets={"dashboard.snowflake.existingSecret": "", "dashboard.snowflake.password": "pw"},
    )
    secret = by_kind(objects, "Secret")["stockfeed-dashboard-snowflake"]
    assert set(secret["stringData"]) == {"DASHBOARD_SNOWFLAKE_PASSWORD"}


def test_the_duckdb_dashboard_gets_no_snowflake_settings(default_objects: list[Manifest]) -> None:
    env = env_of(next(containers(by_kind(default_objects, "Deployment")["stockfeed-dashboard"])))
    assert env["DASHBOARD_WAREHOUSE"] == "duckdb"
    assert not [name for name in env if name.startswith("DASHBOARD_SNOWFLAKE_")]
