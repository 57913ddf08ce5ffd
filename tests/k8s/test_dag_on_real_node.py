"""Kubernetes mode for real: Airflow (`airflow dags test`, on this host, with the cluster's kubeconfig) runs
minio_to_snowflake_stream's KubernetesPodOperator tasks as pods of the project's own images on the real node. The
loader pod loads the test's bronze objects from the stack's MinIO into a DuckDB file on a volume and reports what
it committed through KubernetesPodOperator's XCom sidecar; the dbt pods build from it. Each run's dbt selection is
the one its load calls for: full_build first, minute_trades when only trades landed, minute_clock (gold_latest_kpis
alone) when nothing did. Pods land on the real node through the pod template
setting (PIPELINE_POD_TEMPLATE_FILE), as a user's node selectors and tolerations would.
The test owns its namespace, bucket, warehouse folder, volume and Airflow database."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from kubernetes import client

from tests.integration.conftest import airflow_database  # noqa: F401 - a fixture this test uses
from tests.integration.test_dag_local import (
    AIRFLOW,
    SYMBOLS,
    airflow_db,
    dbt_commands,
    new_dbt_commands,
    quotes,
    run_dag,
    trades,
    write_bronze,
)
from tests.k8s.kube import wait_for, warehouse_claim

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(900)]

LABEL = "stockfeed.dev/real-node"
IMAGE_PREFIX = "docker.io/library/stockfeed-"
IN_POD = "/data"  # where the warehouse volume is mounted in the step pods (PIPELINE_WAREHOUSE_MOUNT_PATH)


@pytest.fixture
def real_node(cluster_env: dict[str, str]) -> dict[str, str]:
    if not cluster_env.get("DEVSTACK_REAL_NODE"):
        pytest.skip("the stack runs without a real node (DEVSTACK_NODE=off, or not root)")
    images = cluster_env.get("DEVSTACK_IMAGES", "").split()
    missing = [name for name in ("loader", "dbt") if not any(i.startswith(IMAGE_PREFIX + name + ":") for i in images)]
    if missing:
        pytest.fail(f"the node lacks the {', '.join(missing)} image: run `devstack up images`")
    return cluster_env


def image(cluster_env: dict[str, str], name: str) -> str:
    return next(i for i in cluster_env["DEVSTACK_IMAGES"].split() if i.startswith(IMAGE_PREFIX + name + ":"))


@pytest.fixture
def warehouse_folder(core_v1: client.CoreV1Api, namespace: str) -> Iterator[Path]:
    """A host folder as the node's volume (the chart's PVC), bound to the claim name the DAG mounts."""
    with tempfile.TemporaryDirectory(prefix="stockfeed-dag-pods-") as folder:
        path = Path(folder)
        path.chmod(0o777)  # the step pods run as 10001
        with warehouse_claim(core_v1, namespace, str(path)):
            yield path


def step_settings(core_v1: client.CoreV1Api, namespace: str, stack_env: dict[str, str], bucket: str) -> None:
    """The ConfigMap and Secrets the step pods read (in the chart: pipeline.yaml and secrets.yaml)."""
    settings = {
        "LOADER_BUCKET": bucket,
        "LOADER_S3_ENDPOINT_URL": "http://minio.devstack.svc.cluster.local:9000",  # the host's MinIO, from pods
        "LOADER_S3_REGION": stack_env["DEVSTACK_S3_REGION"],
        "LOADER_DUCKDB_PATH": f"{IN_POD}/stocks_mds.duckdb",
        "DBT_DUCKDB_PATH": f"{IN_POD}/stocks_mds.duckdb",
        "DBT_PROFILES_DIR": "/app/dbt",
        "DBT_TARGET_PATH": f"{IN_POD}/dbt/target",
        "DBT_LOG_PATH": f"{IN_POD}/dbt/logs",  # on the volume: the test reads which commands ran
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    core_v1.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="stockfeed-pipeline"), data=settings)
    )
    credentials = {
        "LOADER_S3_ACCESS_KEY_ID": stack_env["DEVSTACK_S3_ACCESS_KEY"],
        "LOADER_S3_SECRET_ACCESS_KEY": stack_env["DEVSTACK_S3_SECRET_KEY"],
    }
    for name, data in (("stockfeed-loader", credentials), ("stockfeed-dbt", {})):
        core_v1.create_namespaced_secret(
            namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        )


def pod_template(path: Path) -> Path:
    """What a user's cluster would ask of every step pod; here: the real node, which carries a taint."""
    template = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stockfeed-step"},
        "spec": {
            "nodeSelector": {LABEL: "true"},
            "tolerations": [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "base"}],
        },
    }
    path.write_text(yaml.safe_dump(template))
    return path


def host_airflow_env(tmp_path: Path, stack_env: dict[str, str], database: str, kubeconfig: Path) -> dict[str, str]:
    """Airflow on this host against the cluster: its own home and metadata database, the repository's DAGs, none of
    the caller's PIPELINE_/LOADER_/DBT_/AIRFLOW_ settings (the caller adds the DAG's)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "LOADER_", "DBT_", "AIRFLOW_"))},
        **airflow_db.airflow_env(stack_env["DEVSTACK_PG_DSN"], database),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(AIRFLOW.parents[2] / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        "KUBECONFIG": str(kubeconfig),
    }


def table_counts(warehouse: Path) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # type: ignore[index]  # noqa: E731
        return {
            "raw": one("select count(*) from common.bronze_stock_quotes_raw"),
            "silver_quotes": one("select count(*) from common.silver_clean_stock_quotes"),
            "silver_trades": one("select count(*) from common.silver_clean_trades"),
            "gold_symbols": {row[0] for row in conn.execute("select symbol from common.gold_kpi").fetchall()},
        }


def test_the_dag_runs_its_steps_as_pods_and_builds_what_each_load_touched(
    tmp_path: Path,
    stack_env: dict[str, str],
    real_node: dict[str, str],
    kubeconfig_path: Path,
    core_v1: client.CoreV1Api,
    namespace: str,
    s3: Any,
    s3_bucket: str,
    warehouse_folder: Path,
    airflow_database: str,  # noqa: F811 - the fixture imported above
) -> None:
    step_settings(core_v1, namespace, stack_env, s3_bucket)
    env = {
        **host_airflow_env(tmp_path, stack_env, airflow_database, kubeconfig_path),
        "PIPELINE_EXECUTION_MODE": "kubernetes",
        "PIPELINE_SCHEDULE": "cron",  # one run per `dags test`, each after a successful minute
        "PIPELINE_NAMESPACE": namespace,
        "PIPELINE_LOADER_IMAGE": image(real_node, "loader"),
        "PIPELINE_DBT_IMAGE": image(real_node, "dbt"),
        "PIPELINE_WAREHOUSE_CLAIM": "stockfeed-warehouse",
        "PIPELINE_WAREHOUSE_MOUNT_PATH": IN_POD,
        "PIPELINE_POD_TEMPLATE_FILE": str(pod_template(tmp_path / "pod-template.yaml")),
    }
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    warehouse = warehouse_folder / "stocks_mds.duckdb"
    logs = warehouse_folder / "dbt" / "logs"

    quote_rows = quotes(int(time.time()))
    write_bronze(s3, s3_bucket, quote_rows)
    started = time.monotonic()
    first = run_dag(env, "2026-11-27T10:00:00+00:00")
    print(f"first run (load, full build, alarm: three pods) {time.monotonic() - started:.1f}s")
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-6000:]
    assert new_dbt_commands(logs, []) == ["build --selector full_build", "test --select tag:freshness"]
    after_first = table_counts(warehouse)
    assert after_first["raw"] == len(quote_rows)
    assert after_first["silver_quotes"] == len(quote_rows) // 2
    assert after_first["gold_symbols"] == set(SYMBOLS)

    trade_rows = trades(int(time.time()))
    write_bronze(s3, s3_bucket, trade_rows, topic="stock-trades")
    before = dbt_commands(logs)
    second = run_dag(env, "2026-11-27T10:01:00+00:00")
    assert second.returncode == 0, (second.stdout + second.stderr)[-6000:]
    # only the loader's report, read through the XCom sidecar, can tell the DAG that the new rows are all trades
    assert new_dbt_commands(logs, before) == ["build --selector minute_trades", "test --select tag:freshness"]
    after_second = table_counts(warehouse)
    assert after_second["silver_trades"] == len(trade_rows)
    assert after_second["silver_quotes"] == after_first["silver_quotes"]

    before = dbt_commands(logs)
    third = run_dag(env, "2026-11-27T10:02:00+00:00")
    output = third.stdout + third.stderr
    assert third.returncode == 0, output[-6000:]
    assert new_dbt_commands(logs, before) == ["build --selector minute_clock", "test --select tag:freshness"]
    assert table_counts(warehouse) == after_second

    # The step pods are deleted when done (KubernetesPodOperator does not wait for the last one to go).
    wait_for(lambda: not core_v1.list_namespaced_pod(namespace).items, 60, "the step pods to be deleted")
