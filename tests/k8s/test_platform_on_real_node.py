"""The platform as its users run it, every pod on the real node: `helm install` charts/stockfeed (Kafka external:
the stack's broker, reached through the node; the chart's own MinIO, bucket Job and PostgreSQL, from stand-ins of
their images), `helm test`, two StockFeeds applied with kubectl, the chart's operator (its own image,
ServiceAccount and RBAC) making producer and consumer pods that really stream from the chart's simulator through
Kafka into bronze objects in the chart's MinIO, a consumer pod deleted mid-stream, Airflow on this host running
minio_to_snowflake_stream in kubernetes mode from the chart's own settings (its ConfigMap, ServiceAccount, Secrets
and warehouse claim) twice, gold answering on the dashboard's Service, then what users do to feeds: change
symbols, suspend, delete.

Not here (kind only): Strimzi's Kafka, the official Airflow chart (Airflow runs on this host, its metadata in the
stack's PostgreSQL), the upstream images themselves, image pulls, NetworkPolicy enforcement. The test owns its
namespace, release, topics, consumer groups, bucket, volumes and Airflow database."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import requests
import yaml
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from kubernetes import client

from stockfeed_producer.testing import read_topic
from tests.integration.conftest import airflow_database  # noqa: F401 - a fixture this test uses
from tests.integration.test_dag_local import AIRFLOW, run_dag
from tests.k8s.kube import Tool, volume_for_claim, wait_for
from tests.k8s.operator_kit import FEEDS, delete_feeds_and_wait, list_feeds, patch_feed_spec, wait_condition
from tests.k8s.test_dag_on_real_node import host_airflow_env

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(1500)]

RELEASE = "sf"
CHART = Path(__file__).resolve().parents[2] / "charts" / "stockfeed"
REAL_NODE = "stockfeed.dev/real-node"
ON_REAL_NODE = {
    "nodeSelector": {REAL_NODE: "true"},
    "tolerations": [{"key": REAL_NODE, "operator": "Exists", "effect": "NoSchedule"}],
}
IMAGES = ("operator", "producer", "consumer", "simulator", "dashboard", "loader", "dbt")
QUOTE_SYMBOLS = ["AAPL", "MSFT", "NVDA"]
TRADE_SYMBOLS = ["AMZN", "TSLA"]
CHART_COMPONENTS = {"operator", "simulator", "dashboard", "minio", "postgres"}
FEED_NAMES = ("quotes", "trades")


def chart_values(
    stack_env: dict[str, str], s3_keys: tuple[str, str], bucket: str, pod_template: Path
) -> dict[str, Any]:
    """What a user with their own Kafka would set, plus the real node's placement and image stand-ins."""
    stand_in = {"digest": "", "pullPolicy": "Never"}
    minio_repository, minio_tag = stack_env["DEVSTACK_MINIO_IMAGE"].rsplit(":", 1)  # checked by real_node
    mc_repository, mc_tag = stack_env["DEVSTACK_MC_IMAGE"].rsplit(":", 1)
    postgres_repository, postgres_tag = stack_env["DEVSTACK_POSTGRES_IMAGE"].rsplit(":", 1)
    return {
        **ON_REAL_NODE,
        "feeds": ON_REAL_NODE,
        "images": {name: {"pullPolicy": "Never"} for name in IMAGES},  # imported into the node, never pulled
        "kafka": {"provider": "external", "external": {"bootstrap": stack_env["DEVSTACK_KAFKA_POD_BOOTSTRAP"]}},
        "s3": {"accessKeyId": s3_keys[0], "secretAccessKey": s3_keys[1], "bucket": bucket},
        # the chart's MinIO and its bucket Job, from stand-ins of MinIO's images (devstack/standins.py)
        "minio": {
            "image": {"repository": minio_repository, "tag": minio_tag, **stand_in},
            "mcImage": {"repository": mc_repository, "tag": mc_tag, **stand_in},
            "persistence": {"size": "1Gi"},
        },
        # the chart's PostgreSQL (Airflow's metadata database in the Airflow release; Airflow on this host uses the
        # stack's): Debian's PostgreSQL behind an entrypoint doing what the official image's does
        "postgres": {
            "image": {"repository": postgres_repository, "tag": postgres_tag, **stand_in},
            "persistence": {"size": "1Gi"},
        },
        "kafdrop": {"enabled": False},
        "operator": {"resyncSeconds": 10},
        # Airflow runs on this host here, so the template's path is a host path (in the Airflow chart: a mount)
        "pipeline": {"schedule": "cron", "podTemplateFile": str(pod_template)},
    }


def feed(name: str, mode: str, symbols: list[str], topic: str, bucket: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "symbols": symbols,
        "mode": mode,
        "source": {"type": "simulator"},
        "kafka": {"cluster": "stockfeed", "topic": topic, "partitions": 3},
        "sink": {"bucket": bucket, "prefix": "bronze"},
    }
    if mode == "quotes":
        spec["pollInterval"] = "2s"
    return {"apiVersion": "stockfeed.dev/v1alpha1", "kind": "StockFeed", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def real_node(cluster_env: dict[str, str]) -> dict[str, str]:
    if not cluster_env.get("DEVSTACK_REAL_NODE"):
        pytest.skip("the stack runs without a real node (DEVSTACK_NODE=off, or not root)")
    present = cluster_env.get("DEVSTACK_IMAGES", "")
    missing = [name for name in IMAGES if f"stockfeed-{name}:" not in present]
    listed = subprocess.run(
        ["ctr", "--address", cluster_env["DEVSTACK_CONTAINERD_SOCKET"], "--namespace", "k8s.io", "images", "ls", "-q"],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout.split()  # fmt: skip
    stand_ins = [
        cluster_env.get(name, name) for name in ("DEVSTACK_MINIO_IMAGE", "DEVSTACK_MC_IMAGE", "DEVSTACK_POSTGRES_IMAGE")
    ]
    missing += [image for image in stand_ins if image not in listed]
    if missing:
        pytest.fail(f"the node lacks the {', '.join(missing)} images: run `devstack up images`")
    return cluster_env


@pytest.fixture
def warehouse_folder(core_v1: client.CoreV1Api, namespace: str) -> Iterator[Path]:
    """A host folder as the volume of the chart's warehouse claim (no provisioner here: the PV names the claim)."""
    with tempfile.TemporaryDirectory(prefix="stockfeed-platform-") as folder:
        Path(folder).chmod(0o777)  # the loader, dbt and dashboard pods run as 10001
        with volume_for_claim(core_v1, namespace, f"{RELEASE}-warehouse", folder):
            yield Path(folder)


@dataclass(frozen=True)
class Platform:
    release: str
    bucket: str
    s3: Any  # a boto3 client for the chart's MinIO, through its Service


@pytest.fixture
def server_folders(core_v1: client.CoreV1Api, namespace: str) -> Iterator[None]:
    """The volumes of the chart's MinIO and PostgreSQL (their StatefulSets' claims data-<release>-<name>-0)."""
    with contextlib.ExitStack() as stack:
        for server in ("minio", "postgres"):
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"stockfeed-platform-{server}-"))
            Path(folder).chmod(0o777)  # MinIO runs as 10001, PostgreSQL as 999
            stack.enter_context(volume_for_claim(core_v1, namespace, f"data-{RELEASE}-{server}-0", folder))
        yield


@pytest.fixture
def release(
    helm: Tool,
    kubectl: Tool,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    namespace: str,
    real_node: dict[str, str],
    stack_env: dict[str, str],
    kafka_bootstrap: str,
    warehouse_folder: Path,
    server_folders: None,
    tmp_path: Path,
) -> Iterator[Platform]:
    """The chart installed into the test's namespace. On the way out the feeds go first, while the operator still
    runs to release their finalizers and delete the topics it made; whatever is left of them (a feed's finalizer,
    its topic, its consumer group) is removed by hand, and the release is uninstalled in any case."""
    template = tmp_path / "pod-template.yaml"
    spec = {**ON_REAL_NODE, "containers": [{"name": "base"}]}
    template.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "step"}, "spec": spec}))
    values = tmp_path / "values.yaml"
    keys, bucket = ("stockfeed", secrets.token_urlsafe(24)), f"bronze-{namespace}"
    values.write_text(yaml.safe_dump(chart_values(stack_env, keys, bucket, template)))
    started = time.monotonic()
    try:
        helm.run(
            ["install", RELEASE, str(CHART), "-n", namespace, "-f", str(values), "--wait", "--timeout", "240s"],
            timeout=300,
        )
        print(f"helm install --wait: {time.monotonic() - started:.1f}s")
        minio = core_v1.read_namespaced_service(f"{RELEASE}-minio", namespace).spec.cluster_ip
        s3 = boto3.client(
            "s3", endpoint_url=f"http://{minio}:9000", aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
            region_name="us-east-1",
        )  # fmt: skip
        yield Platform(RELEASE, bucket, s3)
    finally:
        # pytest.fail is a BaseException: a feed that outlives the wait must not skip the cleanup below
        with contextlib.suppress(BaseException):
            delete_feeds_and_wait(custom_objects, namespace, timeout=200)  # each may wait for its pods to stop
        for leftover in list_feeds(custom_objects, namespace):
            with contextlib.suppress(client.ApiException):
                patch = {"metadata": {"finalizers": None}}
                name = leftover["metadata"]["name"]
                custom_objects.patch_namespaced_custom_object(
                    *FEEDS[:2], namespace, FEEDS[2], name, patch, _content_type="application/merge-patch+json"
                )
        helm.run(["uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "120s"], check=False, timeout=180)
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        topics = admin.delete_topics([f"{namespace}-{name}" for name in FEED_NAMES], operation_timeout=10)
        groups = admin.delete_consumer_groups([f"stockfeed.{namespace}.{name}" for name in FEED_NAMES])
        for future in [*topics.values(), *groups.values()]:
            with contextlib.suppress(Exception):  # most are gone already (the operator deleted the topics)
                future.result(timeout=15)


def pods_by_component(core_v1: client.CoreV1Api, namespace: str) -> dict[str, list[client.V1Pod]]:
    found: dict[str, list[client.V1Pod]] = {}
    for pod in core_v1.list_namespaced_pod(namespace).items:
        labels = pod.metadata.labels or {}
        name = labels.get("app.kubernetes.io/component") or labels.get("stockfeed.dev/component") or "?"
        if labels.get("stockfeed.dev/feed"):
            name = f"{labels['stockfeed.dev/feed']}-{name}"
        found.setdefault(name, []).append(pod)
    return found


def running_on_real_node(pod: client.V1Pod, node: str) -> bool:
    statuses = pod.status.container_statuses or []
    return (
        pod.spec.node_name == node
        and pod.status.phase == "Running"
        and pod.metadata.deletion_timestamp is None
        and bool(statuses)
        and all(status.ready for status in statuses)
    )


def feed_pods(core_v1: client.CoreV1Api, namespace: str, feed_name: str, role: str) -> list[client.V1Pod]:
    selector = f"stockfeed.dev/feed={feed_name},app.kubernetes.io/component={role}"
    return [
        pod
        for pod in core_v1.list_namespaced_pod(namespace, label_selector=selector).items
        if pod.metadata.deletion_timestamp is None
    ]


def one_running(core_v1: client.CoreV1Api, namespace: str, feed_name: str, role: str, node: str) -> client.V1Pod:
    def ready() -> client.V1Pod | None:
        pods = feed_pods(core_v1, namespace, feed_name, role)
        return pods[0] if len(pods) == 1 and running_on_real_node(pods[0], node) else None

    return wait_for(ready, 120, f"one {feed_name} {role} pod running on {node}")


def replacement(core_v1: client.CoreV1Api, namespace: str, old: client.V1Pod, node: str, what: str) -> client.V1Pod:
    """The pod that took `old`'s place in its feed and role, once it runs on the node."""
    feed_name, role = old.metadata.labels["stockfeed.dev/feed"], old.metadata.labels["app.kubernetes.io/component"]

    def running() -> client.V1Pod | None:
        pods = feed_pods(core_v1, namespace, feed_name, role)
        return next((p for p in pods if p.metadata.uid != old.metadata.uid and running_on_real_node(p, node)), None)

    return wait_for(running, 120, what)


def bronze_times(s3: Any, bucket: str, topic: str) -> list[Any]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"bronze/topic={topic}/")
    return [item["LastModified"] for item in listed.get("Contents", [])]


def bronze_keys(s3: Any, bucket: str, topic: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"bronze/topic={topic}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def delivered(bootstrap: str, topic: str) -> list[tuple[str, int]]:
    """(symbol, t) of every quote the producer delivered to the topic, read from the host's listener."""
    return [(record.value["symbol"], int(record.value["t"])) for record in read_topic(bootstrap, topic)]


def committed_everything(admin: AdminClient, bootstrap: str, group: str, topic: str) -> bool:
    """The consumer commits an offset only once the records before it are in an object: all committed, all written."""
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"audit-{group}"})
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        probe.close()
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    answer = admin.list_consumer_group_offsets([request])[group].result()
    committed = {tp.partition: tp.offset for tp in answer.topic_partitions}
    return all(ends[p] == 0 or committed.get(p) == ends[p] for p in partitions)


def warehouse_facts(warehouse: Path) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        return {
            # a quotes feed's symbols reach gold_kpi, a trades feed's gold_trades_1m (trades carry no day's open)
            "gold_kpi": {row[0] for row in rows("select symbol from common.gold_kpi")},
            "gold_trades": {row[0] for row in rows("select distinct symbol from common.gold_trades_1m")},
            "silver_quotes": rows("select symbol, t from common.silver_clean_stock_quotes"),
            "silver_trades": rows("select count(*) from common.silver_clean_trades")[0][0],
        }


DASHBOARD_PROBE = """
import json, stockfeed_dashboard.app as app
from streamlit.testing.v1 import AppTest
shown = AppTest.from_file(app.__file__, default_timeout=60).run()
assert not shown.exception, shown.exception
kpis, trades = shown.dataframe[0].value["symbol"], shown.dataframe[-1].value["symbol"]
print(json.dumps({"kpis": sorted(kpis), "trades": sorted(trades)}))
"""


def test_the_platform_runs_on_real_pods_from_helm_install_to_gold_and_through_user_operations(
    release: Platform,
    real_node: dict[str, str],
    stack_env: dict[str, str],
    kubectl: Tool,
    helm: Tool,
    kubeconfig_path: Path,
    core_v1: client.CoreV1Api,
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    namespace: str,
    kafka_bootstrap: str,
    warehouse_folder: Path,
    tmp_path: Path,
    airflow_database: str,  # noqa: F811 - the fixture imported above
) -> None:
    node = real_node["DEVSTACK_REAL_NODE"]
    s3, s3_bucket = release.s3, release.bucket
    suite_started = time.monotonic()

    # 1. The chart: every pod on the real node, the operator as its own ServiceAccount, `helm test` green.
    chart_pods = pods_by_component(core_v1, namespace)
    assert set(chart_pods) >= CHART_COMPONENTS, chart_pods.keys()
    for component in CHART_COMPONENTS:
        assert all(running_on_real_node(pod, node) for pod in chart_pods[component]), component
    operator_pod = chart_pods["operator"][0]
    assert operator_pod.spec.service_account_name == f"{release.release}-operator"
    assert any(volume.projected for volume in operator_pod.spec.volumes or []), "no ServiceAccount token mounted"
    tested = helm.run(["test", release.release, "-n", namespace, "--timeout", "120s"], check=False, timeout=180)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Phase:          Succeeded" in tested.stdout

    # 2. Two feeds, applied as a user does: the operator's children run for real and write bronze objects.
    topics = {name: f"{namespace}-{name}" for name in FEED_NAMES}
    manifests = [
        feed("quotes", "quotes", QUOTE_SYMBOLS, topics["quotes"], s3_bucket),
        feed("trades", "trades", TRADE_SYMBOLS, topics["trades"], s3_bucket),
    ]
    kubectl.run(["apply", "-n", namespace, "-f", "-"], stdin=yaml.safe_dump_all(manifests))
    for name in topics:
        wait_condition(custom_objects, namespace, name, "Ready", "True", timeout=120)
        for role in ("producer", "consumer"):
            one_running(core_v1, namespace, name, role, node)
    for name, topic in topics.items():
        wait_for(lambda topic=topic: bronze_keys(s3, s3_bucket, topic), 120, f"bronze objects of the {name} feed")
    print(kubectl.run(["get", "pods", "-A", "-o", "wide"]).stdout)
    operator_log = kubectl.run(["logs", "-n", namespace, f"deploy/{release.release}-operator"]).stdout
    reconciled = [line for line in operator_log.splitlines() if "healthz" not in line and "'resync'" not in line]
    print("\n".join(reconciled[:40]))
    assert all(f"[{namespace}/{name}]" in operator_log for name in topics), "the operator logged no reconcile"

    # 3. A consumer pod deleted mid-stream comes back, and writes on from its group's committed offsets.
    victim = one_running(core_v1, namespace, "quotes", "consumer", node)
    core_v1.delete_namespaced_pod(victim.metadata.name, namespace)
    successor = replacement(core_v1, namespace, victim, node, "a new quotes consumer pod")
    # the victim flushes its open batches as it stops: only an object newer than the successor's start is its own
    started_at = successor.status.start_time
    wait_for(
        lambda: any(modified > started_at for modified in bronze_times(s3, s3_bucket, topics["quotes"])),
        120,
        f"an object from the new consumer {successor.metadata.name}",
    )

    # The producer stops (replicas 0: the consumer stays); once the group has committed the topic's end, every
    # delivered quote is in an object.
    patch_feed_spec(custom_objects, namespace, "quotes", {"producer": {"replicas": 0}})
    producer_selector = "stockfeed.dev/feed=quotes,app.kubernetes.io/component=producer"
    wait_for(
        lambda: not core_v1.list_namespaced_pod(namespace, label_selector=producer_selector).items,
        90,
        "the quotes producer's pod to be gone (terminating ones still flush to Kafka)",
    )
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    group = f"stockfeed.{namespace}.quotes"
    wait_for(
        lambda: committed_everything(admin, kafka_bootstrap, group, topics["quotes"]),
        120,
        "the quotes consumer to commit the topic's end",
    )
    sent = delivered(kafka_bootstrap, topics["quotes"])
    assert sent, "the quotes producer delivered nothing"

    # 4. The DAG in kubernetes mode, from the chart's own settings: Airflow (here: `dags test` on this host) reads
    # them from the ConfigMap the chart makes for the Airflow release; its step pods run on the real node as the
    # chart's pipeline ServiceAccount, with its Secrets and warehouse claim.
    chart_env = core_v1.read_namespaced_config_map("stockfeed-airflow-env", namespace).data
    assert chart_env["PIPELINE_EXECUTION_MODE"] == "kubernetes"
    env = {**host_airflow_env(tmp_path, stack_env, airflow_database, kubeconfig_path), **chart_env}
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    warehouse = warehouse_folder / "stocks_mds.duckdb"
    facts: list[dict[str, Any]] = []
    for minute in ("2026-12-01T10:00:00+00:00", "2026-12-01T10:01:00+00:00"):
        started = time.monotonic()
        run = run_dag(env, minute)
        assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
        print(f"DAG run {minute}: {time.monotonic() - started:.1f}s")
        facts.append(warehouse_facts(warehouse))
        # gold has every symbol of both feeds, after the full build and after the incremental one
        assert (facts[-1]["gold_kpi"], facts[-1]["gold_trades"]) == (set(QUOTE_SYMBOLS), set(TRADE_SYMBOLS))
    assert facts[1]["silver_trades"] > facts[0]["silver_trades"] > 0  # the trades feed streamed on between runs

    # Nothing lost: every (symbol, t) the producer delivered is in silver, and nothing else of these symbols (silver
    # keeps one row per (symbol, t), so a consumer's redelivery after the kill cannot show as a duplicate here).
    silver = [row for row in facts[-1]["silver_quotes"] if row[0] in QUOTE_SYMBOLS]
    assert len(silver) == len(set(silver)), "a (symbol, t) twice in silver"
    assert set(silver) == set(sent), (len(set(sent) - set(silver)), len(set(silver) - set(sent)))
    print(f"quotes delivered {len(sent)} ({len(set(sent))} distinct (symbol, t)), in silver {len(silver)}")

    # 5. The dashboard answers on its Service, and shows both feeds' symbols from the warehouse volume.
    service = core_v1.read_namespaced_service(f"{release.release}-dashboard", namespace)
    port = service.spec.ports[0].port
    health = requests.get(f"http://{service.spec.cluster_ip}:{port}/_stcore/health", timeout=10)
    assert (health.status_code, health.text) == (200, "ok")
    dashboard = f"deploy/{release.release}-dashboard"
    shown = kubectl.run(["exec", "-n", namespace, dashboard, "--", "python", "-c", DASHBOARD_PROBE], timeout=120)
    page = json.loads(shown.stdout.strip().splitlines()[-1])
    assert page == {"kpis": sorted(QUOTE_SYMBOLS), "trades": sorted(TRADE_SYMBOLS)}, page

    # 6. What users do. New symbols: only the producer rolls; the consumer's pod stays as it was.
    consumer_before = one_running(core_v1, namespace, "trades", "consumer", node)
    producer_before = one_running(core_v1, namespace, "trades", "producer", node)
    consumer_generation = apps_v1.read_namespaced_deployment("trades-consumer", namespace).metadata.generation
    patch_feed_spec(custom_objects, namespace, "trades", {"symbols": [*TRADE_SYMBOLS, "META"]})
    rolled = replacement(core_v1, namespace, producer_before, node, "the trades producer to roll")
    assert rolled.metadata.name != producer_before.metadata.name
    assert [pod.metadata.uid for pod in feed_pods(core_v1, namespace, "trades", "consumer")] == [
        consumer_before.metadata.uid
    ]
    assert apps_v1.read_namespaced_deployment("trades-consumer", namespace).metadata.generation == consumer_generation

    # suspend (the quotes feed, whose consumer still runs): the pods go, the data stays (objects, topic)
    kept = bronze_keys(s3, s3_bucket, topics["quotes"])
    patch_feed_spec(custom_objects, namespace, "quotes", {"suspend": True})
    wait_for(
        lambda: not feed_pods(core_v1, namespace, "quotes", "producer")
        and not feed_pods(core_v1, namespace, "quotes", "consumer"),
        120,
        "the suspended feed's pods to go",
    )
    assert set(kept) <= set(bronze_keys(s3, s3_bucket, topics["quotes"]))
    assert topics["quotes"] in admin.list_topics(timeout=10).topics
    wait_condition(custom_objects, namespace, "quotes", "Ready", "False", reason="Suspended", timeout=60)

    # delete (the trades feed, streaming): its children are garbage-collected (owner references) and its topic,
    # which the operator made, is deleted once its pods stopped, so a producer cannot make it again (this broker,
    # like Apache Kafka by default, creates a topic on first use)
    custom_objects.delete_namespaced_custom_object("stockfeed.dev", "v1alpha1", namespace, "stockfeeds", "trades")
    wait_for(
        lambda: not [
            d for d in apps_v1.list_namespaced_deployment(namespace).items if d.metadata.name.startswith("trades-")
        ]
        and not [
            c for c in core_v1.list_namespaced_config_map(namespace).items if c.metadata.name.startswith("trades-")
        ]
        and not core_v1.list_namespaced_pod(namespace, label_selector="stockfeed.dev/feed=trades").items,
        150,
        "the deleted feed's Deployments, ConfigMap and pods to be garbage-collected",
    )
    # the pods were gone before the topic was deleted: a producer re-making it would keep this waiting
    wait_for(lambda: topics["trades"] not in admin.list_topics(timeout=10).topics, 60, "the trades topic to go")
    print(f"platform suite on the real node: {time.monotonic() - suite_started:.1f}s")
