"""pipeline.schedule events|cron in the chart. events (the default): MinIO publishes every object created under
bronze/ to the events topic (its Kafka notification target, opted in by the bucket Job), the chart makes that topic
(Strimzi), and the Airflow components get PIPELINE_SCHEDULE=events with a Kafka connection for the triggerer's
watcher. cron renders none of that. What the design cannot do (Kafka clients that authenticate or use TLS, no
chart MinIO) fails the render with a message. Offline: helm template only."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
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
    parse,
    pod_spec,
    render,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]

ARN = "arn:minio:sqs::stockfeed:kafka"
TOPIC = "stockfeed.bronze-events"
BUCKET = "bronze-transactions"
STRIMZI_BOOTSTRAP = "stockfeed-kafka-bootstrap:9092"
EXTERNAL_BOOTSTRAP = "b-1.kafka.example.com:9092,b-2.kafka.example.com:9092"
EXTERNAL = {"kafka.provider": "external", "kafka.external.bootstrap": EXTERNAL_BOOTSTRAP.replace(",", "\\,")}
CONNECTION = "AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA"
NOTIFY = ("ENABLE", "BROKERS", "TOPIC", "QUEUE_DIR")
# the official Airflow chart's labels on its triggerer and scheduler pods (release airflow)
AIRFLOW_PODS = [
    {"tier": "airflow", "component": component, "release": "airflow"} for component in ("triggerer", "scheduler")
]


@pytest.fixture(scope="module")
def events_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=False)


@pytest.fixture(scope="module")
def cron_objects(chart_helm: Helm) -> list[Manifest]:
    return render(chart_helm, production=False, sets={"pipeline.schedule": "cron"})


def airflow_env(objects: list[Manifest]) -> dict[str, str]:
    return dict(by_kind(objects, "ConfigMap")["stockfeed-airflow-env"]["data"])


def minio_container(objects: list[Manifest]) -> dict[str, Any]:
    return next(containers(by_kind(objects, "StatefulSet")["stockfeed-minio"]))


def bucket_job(objects: list[Manifest]) -> Manifest:
    (job,) = [obj for name, obj in by_kind(objects, "Job").items() if name.startswith("stockfeed-minio-bucket-")]
    return job


def kafka_topics(objects: list[Manifest]) -> dict[str, Manifest]:
    return by_kind(objects, "KafkaTopic")


def pipeline_settings(env: dict[str, str]) -> Any:
    """The DAG's own parser of the PIPELINE_* variables (settings.py imports nothing of Airflow)."""
    spec = importlib.util.spec_from_file_location("sf_events_settings", REPO / "dags/stockfeed_pipeline/settings.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.PipelineSettings.from_env(env)


# -- events, the default ------------------------------------------------------------------------------------------


def test_default_is_events_and_the_dag_reads_it(events_objects: list[Manifest]) -> None:
    env = airflow_env(events_objects)
    assert env["PIPELINE_SCHEDULE"] == "events"
    assert env["PIPELINE_EVENTS_TOPIC"] == TOPIC
    assert env["PIPELINE_EVENTS_BUCKET"] == BUCKET == loader_bucket(events_objects)
    assert env["PIPELINE_EVENTS_TIMER_CRON"] == "*/5 * * * *"
    settings = pipeline_settings(env)
    assert settings.schedule.value == "events"
    assert (settings.events_topic, settings.events_bucket) == (TOPIC, BUCKET)
    # Airflow finds connection <id> in AIRFLOW_CONN_<ID>
    assert f"AIRFLOW_CONN_{settings.events_kafka_conn_id.upper()}" == CONNECTION


def loader_bucket(objects: list[Manifest]) -> str:
    """The bucket the loader reads: the watcher must filter on the same one."""
    return str(by_kind(objects, "ConfigMap")["stockfeed-pipeline"]["data"]["LOADER_BUCKET"])


def test_the_watchers_connection_is_the_charts_kafka_without_a_secret(events_objects: list[Manifest]) -> None:
    connection = json.loads(airflow_env(events_objects)[CONNECTION])
    assert connection["conn_type"] == "kafka"
    assert connection["extra"] == {
        "bootstrap.servers": STRIMZI_BOOTSTRAP,
        "group.id": "stockfeed-airflow-events",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    # the same bootstrap address the operator gives every feed's pods
    operator = env_of(next(containers(by_kind(events_objects, "Deployment")["stockfeed-operator"])))
    assert operator["OPERATOR_KAFKA_BOOTSTRAP_TEMPLATE"].format(cluster="stockfeed") == STRIMZI_BOOTSTRAP


def test_minio_publishes_to_the_events_topic_with_a_queue_on_its_data_volume(events_objects: list[Manifest]) -> None:
    container = minio_container(events_objects)
    env = env_of(container)
    # lowercase target id: MinIO puts the suffix verbatim into the ARN the bucket's configuration names
    assert {f"MINIO_NOTIFY_KAFKA_{key}_stockfeed" for key in NOTIFY} <= set(env)
    assert not [name for name in env if name.startswith("MINIO_NOTIFY_") and not name.endswith("_stockfeed")]
    assert env["MINIO_NOTIFY_KAFKA_ENABLE_stockfeed"] == "on"
    assert env["MINIO_NOTIFY_KAFKA_BROKERS_stockfeed"] == STRIMZI_BOOTSTRAP
    assert env["MINIO_NOTIFY_KAFKA_TOPIC_stockfeed"] == TOPIC
    data = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data")
    queue = Path(env["MINIO_NOTIFY_KAFKA_QUEUE_DIR_stockfeed"])
    assert queue.is_relative_to(data), queue
    # a dot directory: no valid bucket name, so MinIO never lists it as one
    assert queue.relative_to(data).parts[0].startswith(".")


def test_the_bucket_job_creates_the_bucket_then_opts_it_in(events_objects: list[Manifest]) -> None:
    job = bucket_job(events_objects)
    spec = pod_spec(job)
    (make,) = spec["initContainers"]
    (event,) = spec["containers"]
    assert make["args"][-3:] == ["mb", "--ignore-existing", f"stockfeed/{BUCKET}"]
    args = event["args"]
    assert args[args.index("event") : args.index("event") + 2] == ["event", "add"]
    assert args[-2:] == [f"stockfeed/{BUCKET}", ARN]
    assert args[args.index("--prefix") + 1] == "bronze/"
    assert args[args.index("--event") + 1] == "put"  # mc's put = s3:ObjectCreated:*
    assert "--ignore-existing" in args  # a later revision's Job finds the configuration there already
    assert env_of(event)["MC_HOST_stockfeed"] == env_of(make)["MC_HOST_stockfeed"]
    # the ARN names the target MinIO is given
    target = ARN.split(":")[4]
    assert f"MINIO_NOTIFY_KAFKA_ENABLE_{target}" in env_of(minio_container(events_objects))


def test_strimzi_gets_the_events_topic(events_objects: list[Manifest]) -> None:
    topic = kafka_topics(events_objects)[TOPIC]
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "stockfeed"
    spec = topic["spec"]
    assert spec["topicName"] == TOPIC
    assert spec["partitions"] == 1
    assert spec["replicas"] == 1
    assert spec["config"]["retention.ms"] == 24 * 3600 * 1000


def test_the_events_topic_follows_the_values(chart_helm: Helm) -> None:
    sets = {"pipeline.events.topic": "my_events", "pipeline.events.consumerGroup": "g", "s3.bucket": "lake"}
    objects = render(chart_helm, production=False, sets=sets)
    env = airflow_env(objects)
    assert (env["PIPELINE_EVENTS_TOPIC"], env["PIPELINE_EVENTS_BUCKET"]) == ("my_events", "lake")
    assert json.loads(env[CONNECTION])["extra"]["group.id"] == "g"
    assert env_of(minio_container(objects))["MINIO_NOTIFY_KAFKA_TOPIC_stockfeed"] == "my_events"
    topic = kafka_topics(objects)["my-events"]  # a valid object name; the topic keeps its own
    assert topic["spec"]["topicName"] == "my_events"
    assert pod_spec(bucket_job(objects))["containers"][0]["args"][-2] == "stockfeed/lake"


def test_an_external_plaintext_kafka_gets_no_topic_but_its_bootstrap(chart_helm: Helm) -> None:
    objects = render(chart_helm, production=False, sets=EXTERNAL)
    assert kafka_topics(objects) == {}
    assert json.loads(airflow_env(objects)[CONNECTION])["extra"]["bootstrap.servers"] == EXTERNAL_BOOTSTRAP
    assert env_of(minio_container(objects))["MINIO_NOTIFY_KAFKA_BROKERS_stockfeed"] == EXTERNAL_BOOTSTRAP


def test_a_strimzi_kafka_of_another_release_gets_no_topic(chart_helm: Helm) -> None:
    """As with kafka.topics: without the chart's Kafka cluster the chart makes no KafkaTopic (values.yaml says so)."""
    objects = render(chart_helm, production=False, sets={"kafka.enabled": "false"})
    assert kafka_topics(objects) == {}
    assert json.loads(airflow_env(objects)[CONNECTION])["extra"]["bootstrap.servers"] == STRIMZI_BOOTSTRAP


def test_the_triggerer_runs_in_the_airflow_release() -> None:
    airflow = yaml.safe_load((CHARTS / "airflow-values.yaml").read_text())
    assert airflow["triggerer"]["enabled"] is True


# -- cron ---------------------------------------------------------------------------------------------------------


def test_cron_renders_none_of_it(cron_objects: list[Manifest]) -> None:
    env = airflow_env(cron_objects)
    assert env["PIPELINE_SCHEDULE"] == "cron"
    assert pipeline_settings(env).schedule.value == "cron"
    assert not [name for name in env if name.startswith(("PIPELINE_EVENTS_", "AIRFLOW_CONN_"))]
    assert not [name for name in env_of(minio_container(cron_objects)) if name.startswith("MINIO_NOTIFY_")]
    spec = pod_spec(bucket_job(cron_objects))
    assert "initContainers" not in spec
    (make,) = spec["containers"]
    assert make["args"][-3:] == ["mb", "--ignore-existing", f"stockfeed/{BUCKET}"]
    assert kafka_topics(cron_objects) == {}


# -- what events mode cannot do -----------------------------------------------------------------------------------

KAFKA_CREDENTIALS = "MinIO's notification target and Airflow's watcher would each need Kafka credentials"
REFUSED = {
    "scram": ({"kafka.authentication": "scram-sha-512"}, KAFKA_CREDENTIALS),
    "mutual-tls": ({"kafka.authentication": "tls", "kafka.tls": "true"}, KAFKA_CREDENTIALS),
    "tls": ({"kafka.tls": "true"}, KAFKA_CREDENTIALS),
    "external-sasl": (
        {**EXTERNAL, "kafka.external.securityProtocol": "SASL_SSL", "kafka.external.existingSecret": "kafka-client"},
        KAFKA_CREDENTIALS,
    ),
    "no-minio": (
        {"minio.enabled": "false", "s3.endpoint": "https://s3.example.com"},
        "an external S3 store's notifications are configured by its owner",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_events_cannot_do_fails_with_its_message_and_cron_renders(chart_helm: Helm, case: str) -> None:
    sets, message = REFUSED[case]
    result = chart_helm.template(sets=sets)
    assert result.returncode != 0
    assert "pipeline.schedule is events" in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert "Set pipeline.schedule=cron" in result.stderr
    assert airflow_env(render(chart_helm, production=False, sets={**sets, "pipeline.schedule": "cron"}))


def test_production_values_need_cron(chart_helm: Helm) -> None:
    """values-production.yaml (SCRAM over TLS, external S3) is one of the cases events mode cannot do."""
    result = chart_helm.template((PRODUCTION_VALUES,), {"pipeline.schedule": "cron"})
    assert result.returncode == 0, result.stderr
    assert airflow_env(parse(result.stdout))["PIPELINE_SCHEDULE"] == "cron"


def test_the_schema_refuses_an_unknown_schedule(chart_helm: Helm) -> None:
    result = chart_helm.template(sets={"pipeline.schedule": "hourly"})
    assert result.returncode != 0
    assert "/pipeline/schedule" in result.stderr, result.stderr
    assert "'events', 'cron'" in result.stderr, result.stderr


# -- network policies ---------------------------------------------------------------------------------------------


def selects(policy: Manifest, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "NotIn" and labels.get(key) in expression["values"]:
            return False
    return True


def test_minio_and_airflow_may_reach_kafka(chart_helm: Helm) -> None:
    """No egress rule holds MinIO or Airflow's pods back, even with the egress policies on, and Strimzi's listener
    policies admit every pod (no networkPolicyPeers)."""
    objects = render(chart_helm, production=False, sets={"networkPolicies.egress.enabled": "true"})
    minio = by_kind(objects, "StatefulSet")["stockfeed-minio"]["spec"]["template"]["metadata"]["labels"]
    egress = [p for p in by_kind(objects, "NetworkPolicy").values() if "Egress" in p["spec"]["policyTypes"]]
    assert egress
    for labels in (minio, *AIRFLOW_PODS):
        assert not [p["metadata"]["name"] for p in egress if selects(p, labels)], labels
    for listener in by_kind(objects, "Kafka")["stockfeed"]["spec"]["kafka"]["listeners"]:
        assert "networkPolicyPeers" not in listener
