"""The platform chart lints strictly, renders for kind and for production, refuses bad values with a message, and
every object it renders follows the platform's rules (non-root, read-only root, requests, pinned images, no secrets
outside Secrets). Offline: helm template only; tests/deploy/test_chart_cluster.py takes the objects to a server."""

from __future__ import annotations

import base64
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.deploy.chart import (
    CHART,
    CHARTS,
    FIXTURES,
    PRODUCTION_VALUES,
    REPO,
    Helm,
    Manifest,
    by_kind,
    containers,
    env_of,
    parse,
    pod_spec,
    workloads,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

VALUE_SETS = {"default": (), "production": (PRODUCTION_VALUES,)}
OWN_IMAGES = ("operator", "producer", "consumer", "simulator", "dashboard", "loader", "dbt")


def load_module(name: str, path: Path) -> ModuleType:
    """Import one source file by path (the operator and the DAG package are not installed in this venv)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest, chart_helm: Helm) -> tuple[str, list[Manifest]]:
    result = chart_helm.template(VALUE_SETS[request.param])
    assert result.returncode == 0, result.stderr
    return request.param, parse(result.stdout)


@pytest.fixture(scope="module")
def default_objects(chart_helm: Helm) -> list[Manifest]:
    result = chart_helm.template()
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


@pytest.fixture(scope="module")
def production_objects(chart_helm: Helm) -> list[Manifest]:
    result = chart_helm.template([PRODUCTION_VALUES])
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


# -- lint and schema ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_lint_strict_passes(chart_helm: Helm, values: str) -> None:
    args = ["lint", "--strict", str(CHART), "--kube-version", chart_helm.kube_version]
    for path in VALUE_SETS[values]:
        args += ["--values", str(path)]
    result = chart_helm.run(args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_schema_refuses_wrong_values_naming_each(chart_helm: Helm) -> None:
    result = chart_helm.template([FIXTURES / "values-invalid-schema.yaml"])
    assert result.returncode != 0
    message = result.stderr
    assert "values don't meet the specifications of the schema" in message
    for path in ("kafka", "replicas", "bucket", "images", "producer", "tag"):
        assert path in message, message


def test_schema_refuses_a_misspelled_key(chart_helm: Helm) -> None:
    result = chart_helm.template([FIXTURES / "values-typo.yaml"])
    assert result.returncode != 0
    assert "persistance" in result.stderr, result.stderr


def test_rules_beyond_the_schema_fail_with_their_message(chart_helm: Helm) -> None:
    result = chart_helm.template([FIXTURES / "values-postgres-secret-only.yaml"])
    assert result.returncode != 0
    assert "postgres.auth.existingSecret is set: set airflow.existingSecret too" in result.stderr


def test_a_finnhub_example_feed_needs_a_key(chart_helm: Helm) -> None:
    result = chart_helm.template(sets={"exampleFeed.enabled": "true", "exampleFeed.source": "finnhub"})
    assert result.returncode != 0
    assert "set finnhub.apiKey or finnhub.existingSecret" in result.stderr


# -- what every rendered object must satisfy ----------------------------------------------------------------------


def test_every_workload_runs_non_root_with_a_read_only_root_filesystem(rendered: tuple[str, list[Manifest]]) -> None:
    name, objects = rendered
    assert workloads(objects), name
    for obj in workloads(objects):
        where = f"{name}: {obj['kind']}/{obj['metadata']['name']}"
        pod = pod_spec(obj)["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert pod["runAsUser"] > 0, where
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in containers(obj):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, f"{where} {container['name']}"
            assert security["allowPrivilegeEscalation"] is False, f"{where} {container['name']}"
            assert security["capabilities"]["drop"] == ["ALL"], f"{where} {container['name']}"


def test_every_container_requests_cpu_and_memory_and_limits_memory(rendered: tuple[str, list[Manifest]]) -> None:
    name, objects = rendered
    for obj in workloads(objects):
        for container in containers(obj):
            where = f"{name}: {obj['metadata']['name']}/{container['name']}"
            resources = container["resources"]
            assert set(resources["requests"]) >= {"cpu", "memory"}, where
            assert "memory" in resources["limits"], where


def test_laptop_fit_requests_stay_small(default_objects: list[Manifest]) -> None:
    """Everything long-running in our chart (Kafka brokers included) asks for under 2 CPUs and 3 GiB together."""
    cpu_milli, memory_mi = 0.0, 0.0
    for obj in workloads(default_objects):
        if obj["kind"] in ("Job", "Pod"):
            continue
        for container in containers(obj):
            cpu_milli += quantity_milli(container["resources"]["requests"]["cpu"])
            memory_mi += quantity_mi(container["resources"]["requests"]["memory"])
    kafka = by_kind(default_objects, "KafkaNodePool")["stockfeed-dual"]["spec"]
    cpu_milli += kafka["replicas"] * quantity_milli(kafka["resources"]["requests"]["cpu"])
    memory_mi += kafka["replicas"] * quantity_mi(kafka["resources"]["requests"]["memory"])
    assert cpu_milli < 2000, cpu_milli
    assert memory_mi < 3 * 1024, memory_mi


def test_images_are_pinned_and_third_party_ones_by_digest(rendered: tuple[str, list[Manifest]]) -> None:
    name, objects = rendered
    for obj in workloads(objects):
        for container in containers(obj):
            image = container["image"]
            _, _, tag = image.split("@")[0].rpartition(":")
            assert tag, f"{name}: {image} has no tag"
            assert tag != "latest", f"{name}: {image}"
            if image.startswith(("quay.io/minio/", "docker.io/library/postgres")):
                assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{name}: {image}"


def test_secrets_stay_in_secrets(rendered: tuple[str, list[Manifest]]) -> None:
    """No ConfigMap key or plain env value looks like a credential, and no Secret value appears in a ConfigMap."""
    name, objects = rendered
    secret_values = {  # access key ids are identifiers, not secrets
        base64.b64decode(value).decode()
        for secret in by_kind(objects, "Secret").values()
        for key, value in (secret.get("data") or {}).items()
        if not re.search("access.key.id", key, re.IGNORECASE)
    }
    credential = re.compile(r"PASSWORD|SECRET_KEY|SECRET_ACCESS|TOKEN|API_KEY", re.IGNORECASE)
    for config_map in by_kind(objects, "ConfigMap").values():
        for key, value in (config_map.get("data") or {}).items():
            where = f"{name}: ConfigMap {config_map['metadata']['name']} {key}"
            assert not credential.search(key) or key.startswith("PIPELINE_"), where
            assert value not in secret_values, where
    for obj in workloads(objects):
        for container in containers(obj):
            for variable, value in env_of(container).items():
                if credential.search(variable) and not variable.endswith(("_SECRET", "_FILE")):
                    assert isinstance(value, dict), f"{name}: {variable} is a plain value"
                    assert "secretKeyRef" in value, f"{name}: {variable}"


def test_every_object_is_labelled_with_the_release(rendered: tuple[str, list[Manifest]]) -> None:
    name, objects = rendered
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/instance") == "stockfeed", f"{name}: {obj['kind']}/{obj['metadata']}"
        assert labels.get("app.kubernetes.io/part-of") == "stockfeed"


# -- the default (kind) rendering ---------------------------------------------------------------------------------


def test_kind_rendering_has_every_component(default_objects: list[Manifest]) -> None:
    kinds = {(obj["kind"], obj["metadata"]["name"]) for obj in default_objects}
    expected = {
        ("Kafka", "stockfeed"),
        ("KafkaNodePool", "stockfeed-dual"),
        ("StatefulSet", "stockfeed-minio"),
        ("Job", "stockfeed-minio-bucket-1"),
        ("StatefulSet", "stockfeed-postgres"),
        ("Deployment", "stockfeed-kafdrop"),
        ("Deployment", "stockfeed-operator"),
        ("Deployment", "stockfeed-simulator"),
        ("Deployment", "stockfeed-dashboard"),
        ("ConfigMap", "stockfeed-pipeline"),
        ("ConfigMap", "stockfeed-airflow-env"),
        ("Secret", "stockfeed-loader"),
        ("Secret", "stockfeed-dbt"),
        ("Secret", "stockfeed-airflow"),
        ("ServiceAccount", "stockfeed-operator"),
        ("Role", "stockfeed-operator"),
        ("Pod", "stockfeed-test-connectivity"),
        ("NetworkPolicy", "stockfeed-default-deny"),
    }
    assert expected <= kinds, expected - kinds


def test_kafka_is_kraft_with_a_dual_role_pool_sized_for_kind(default_objects: list[Manifest]) -> None:
    pool = by_kind(default_objects, "KafkaNodePool")["stockfeed-dual"]
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "stockfeed"
    assert pool["spec"]["roles"] == ["controller", "broker"]
    assert pool["spec"]["replicas"] == 1
    assert pool["spec"]["storage"]["volumes"][0]["kraftMetadata"] == "shared"
    kafka = by_kind(default_objects, "Kafka")["stockfeed"]["spec"]
    assert kafka["kafka"]["listeners"] == [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]
    assert kafka["kafka"]["config"]["offsets.topic.replication.factor"] == 1
    assert "topicOperator" in kafka["entityOperator"]


def test_generated_secrets_are_usable(default_objects: list[Manifest]) -> None:
    airflow = decoded(by_kind(default_objects, "Secret")["stockfeed-airflow"])
    assert set(airflow) == {"connection", "fernet-key", "api-secret-key", "jwt-secret"}
    assert len(base64.urlsafe_b64decode(airflow["fernet-key"])) == 32
    postgres = decoded(by_kind(default_objects, "Secret")["stockfeed-postgres"])
    assert airflow["connection"] == (
        f"postgresql://airflow:{postgres['password']}@stockfeed-postgres:5432/airflow?sslmode=disable"
    )
    s3 = decoded(by_kind(default_objects, "Secret")["stockfeed-s3"])
    loader = decoded(by_kind(default_objects, "Secret")["stockfeed-loader"])
    assert loader["LOADER_S3_ACCESS_KEY_ID"] == s3["access-key-id"]
    assert loader["LOADER_S3_SECRET_ACCESS_KEY"] == s3["secret-access-key"]
    assert len(s3["secret-access-key"]) >= 8


def test_operator_gets_its_children_images_and_a_valid_configuration(default_objects: list[Manifest]) -> None:
    operator = by_kind(default_objects, "Deployment")["stockfeed-operator"]
    env = env_of(next(containers(operator)))
    assert env["OPERATOR_PRODUCER_IMAGE"] == "stockfeed-producer:0.1.0"
    assert env["OPERATOR_CONSUMER_IMAGE"] == "stockfeed-consumer:0.1.0"
    assert env["OPERATOR_SIMULATOR_URL"] == "http://stockfeed-simulator:8080/api/v1"
    assert env["OPERATOR_S3_ENDPOINT_URL"] == "http://stockfeed-minio:9000"
    assert env["OPERATOR_S3_CREDENTIALS_SECRET"] == "stockfeed-s3"
    settings = load_module("sf_operator_settings", REPO / "operator/src/stockfeed_operator/config.py")
    parsed = settings.load_settings({key: str(value) for key, value in env.items()})  # raises on a bad value
    assert parsed.kafka_bootstrap("stockfeed") == "stockfeed-kafka-bootstrap:9092"


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_operator_permissions_equal_the_operators_own_manifest(chart_helm: Helm, values: str) -> None:
    """The chart's Role (per watched namespace) plus ClusterRole grant what operator/deploy/rbac.yaml grants, plus
    listing namespaces: kopf needs that when it watches named namespaces (the cluster-wide manifest does not).
    KafkaUsers only when Kafka authentication is on (production): without it the operator makes none."""
    result = chart_helm.template(VALUE_SETS[values])
    assert result.returncode == 0, result.stderr
    objects = parse(result.stdout)
    own = [doc for doc in yaml.safe_load_all((REPO / "operator/deploy/rbac.yaml").read_text()) if doc]
    expected = grants(next(doc for doc in own if doc["kind"] == "ClusterRole")["rules"])
    if values == "default":
        expected = {grant for grant in expected if grant[1] != "kafkausers"}
    chart_rules = by_kind(objects, "Role")["stockfeed-operator"]["rules"]
    chart_rules += by_kind(objects, "ClusterRole")["stockfeed-stockfeed-operator"]["rules"]
    assert grants(chart_rules) == expected | {("", "namespaces", "list"), ("", "namespaces", "watch")}


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_airflow_env_gives_the_dag_what_it_reads(default_objects: list[Manifest]) -> None:
    """The DAG's own settings parser accepts the ConfigMap, and every name it gets exists in the rendering."""
    data = by_kind(default_objects, "ConfigMap")["stockfeed-airflow-env"]["data"]
    settings_module = load_module("sf_pipeline_settings", REPO / "dags/stockfeed_pipeline/settings.py")
    settings = settings_module.PipelineSettings.from_env(data)
    assert settings.mode.value == "kubernetes"
    assert settings.namespace == "stockfeed"
    assert settings.loader_image == "stockfeed-loader:0.1.0"
    assert settings.dbt_image == "stockfeed-dbt:0.1.0"
    assert settings.config_map in by_kind(default_objects, "ConfigMap")
    assert settings.loader_secret in by_kind(default_objects, "Secret")
    assert settings.dbt_secret in by_kind(default_objects, "Secret")
    assert settings.service_account in by_kind(default_objects, "ServiceAccount")
    assert settings.dbt_target == "duckdb"
    read_by_dag = set(re.findall(r'"(PIPELINE_[A-Z_]+)"', (REPO / "dags/stockfeed_pipeline/settings.py").read_text()))
    local_mode_only = r"_COMMAND$|_PROJECT_DIR$|_WORKER_SOCKET$"  # subprocesses and the warm dbt worker
    kubernetes_mode = {name for name in read_by_dag if not re.search(local_mode_only, name)}
    assert kubernetes_mode <= set(data), kubernetes_mode - set(data)


def test_pipeline_configmap_points_the_steps_at_minio_and_the_warehouse_volume(default_objects: list[Manifest]) -> None:
    data = by_kind(default_objects, "ConfigMap")["stockfeed-pipeline"]["data"]
    assert data["LOADER_S3_ENDPOINT_URL"] == "http://stockfeed-minio:9000"
    assert data["LOADER_BUCKET"] == "bronze-transactions"
    assert data["LOADER_DUCKDB_PATH"] == data["DBT_DUCKDB_PATH"] == "/data/stocks_mds.duckdb"
    assert data["LOADER_TARGET"] == "duckdb"
    # dbt-duckdb refuses, from the second run on, a schema that matches the loader's only case-insensitively
    assert data["DBT_SCHEMA"] == data["LOADER_SCHEMA"] == "COMMON"


def test_node_ports_match_kind_config(default_objects: list[Manifest]) -> None:
    kind_config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    mapped = {m["containerPort"] for node in kind_config["nodes"] for m in node.get("extraPortMappings", [])}
    node_ports = {
        port["nodePort"]
        for service in by_kind(default_objects, "Service").values()
        for port in service["spec"]["ports"]
        if "nodePort" in port
    }
    airflow = yaml.safe_load((CHARTS / "airflow-values.yaml").read_text())
    node_ports |= {port["nodePort"] for port in airflow["apiServer"]["service"]["ports"]}
    assert node_ports == mapped == {30080, 30501, 30900, 30901}


def test_airflow_values_name_what_the_chart_creates(default_objects: list[Manifest]) -> None:
    airflow = yaml.safe_load((CHARTS / "airflow-values.yaml").read_text())
    secrets = by_kind(default_objects, "Secret")
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert airflow[key] in secrets, key
    assert airflow["data"]["metadataSecretName"] in secrets
    env_from = yaml.safe_load(airflow["extraEnvFrom"])
    assert [item["configMapRef"]["name"] for item in env_from] == ["stockfeed-airflow-env"]
    assert "stockfeed-airflow-env" in by_kind(default_objects, "ConfigMap")
    assert airflow["executor"] == "LocalExecutor"
    assert airflow["postgresql"]["enabled"] is False
    assert airflow["airflowVersion"] == "3.3.2"


def test_airflow_config_overrides_are_options_airflow_knows() -> None:
    """Every `config:` override names a section and option of the pinned Airflow (3.x moved some of them), and
    new DAGs start unpaused: Airflow 3 pauses them by default, and a paused DAG never loads anything."""
    config = yaml.safe_load((CHARTS / "airflow-values.yaml").read_text())["config"]
    known = airflow_config_options()
    for section, options in config.items():
        for option in options:
            assert option in known.get(section, set()), f"[{section}] {option} is not an Airflow 3 option"
    assert config["core"]["dags_are_paused_at_creation"] == "False"


def airflow_config_options() -> dict[str, set[str]]:
    """Sections and options of the Airflow in .venv-airflow (its config template), read without importing it."""
    templates = list(
        (REPO / ".venv-airflow" / "lib").glob("python3*/site-packages/airflow/config_templates/config.yml")
    )
    if not templates:
        pytest.fail("no .venv-airflow: run `make bootstrap`")
    sections = yaml.safe_load(templates[0].read_text())
    return {name: set(section.get("options", {})) for name, section in sections.items()}


def test_network_policies_cover_every_workload(default_objects: list[Manifest]) -> None:
    deny = by_kind(default_objects, "NetworkPolicy")["stockfeed-default-deny"]["spec"]
    selector = deny["podSelector"]["matchLabels"]
    for obj in workloads(default_objects):
        labels = (obj if obj["kind"] == "Pod" else obj["spec"]["template"])["metadata"]["labels"]
        assert selector.items() <= labels.items(), obj["metadata"]["name"]


def test_example_feed_is_off_by_default_and_valid_when_on(chart_helm: Helm, default_objects: list[Manifest]) -> None:
    assert not by_kind(default_objects, "StockFeed")
    result = chart_helm.template(sets={"exampleFeed.enabled": "true"})
    assert result.returncode == 0, result.stderr
    feed = by_kind(parse(result.stdout), "StockFeed")["stock-quotes"]
    assert feed["apiVersion"] == "stockfeed.dev/v1alpha1"
    assert feed["spec"]["source"] == {"type": "simulator"}
    assert feed["spec"]["kafka"]["topic"] == "stock-quotes"
    assert 1 <= len(feed["spec"]["symbols"]) <= 10


# -- the production-like rendering --------------------------------------------------------------------------------


def test_production_brings_its_own_secrets_and_no_minio(production_objects: list[Manifest]) -> None:
    secrets = by_kind(production_objects, "Secret")
    assert not {"stockfeed-s3", "stockfeed-postgres", "stockfeed-airflow", "stockfeed-loader"} & set(secrets)
    assert "StatefulSet" not in {o["kind"] for o in production_objects if "minio" in o["metadata"]["name"]}
    operator = env_of(next(containers(by_kind(production_objects, "Deployment")["stockfeed-operator"])))
    assert operator["OPERATOR_S3_ENDPOINT_URL"] == "https://s3.eu-west-1.amazonaws.com"
    assert operator["OPERATOR_S3_CREDENTIALS_SECRET"] == "stockfeed-s3"
    env = by_kind(production_objects, "ConfigMap")["stockfeed-airflow-env"]["data"]
    assert env["PIPELINE_DBT_TARGET"] == "snowflake"
    feed = by_kind(production_objects, "StockFeed")["stock-quotes"]
    assert feed["spec"]["source"]["apiKeySecretRef"] == {"name": "stockfeed-finnhub", "key": "api-key"}


def test_production_has_no_node_ports(production_objects: list[Manifest]) -> None:
    for service in by_kind(production_objects, "Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]


# -- helpers ------------------------------------------------------------------------------------------------------


def decoded(secret: Manifest) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}


def quantity_milli(value: Any) -> float:
    text = str(value)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def quantity_mi(value: Any) -> float:
    text = str(value)
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / (1024 * 1024)
