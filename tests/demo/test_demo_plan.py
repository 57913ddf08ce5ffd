"""The demo's process plan: the schedule reaches Airflow with everything the bucket-events watcher needs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))

import demo

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.unit

STACK = {
    "DEVSTACK_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "DEVSTACK_S3_ENDPOINT": "http://127.0.0.1:19000",
    "DEVSTACK_S3_ACCESS_KEY": "user",
    "DEVSTACK_S3_SECRET_KEY": "secret",
    "DEVSTACK_PG_DSN": "postgresql://u:p@127.0.0.1:15432/stockfeed",
    "DEVSTACK_S3_EVENTS_TOPIC": "stockfeed.bronze-events",
}


def airflow_env(tmp_path: Path, schedule: str) -> dict[str, str]:
    feeds = demo.demo_feeds("AAPL", "AMD")
    components, _ = demo.plan(STACK, tmp_path, feeds, bucket="b1", group="g1", schedule=schedule)
    return dict(next(c for c in components if c.name == "airflow").env)


def test_events_wire_the_watcher_to_the_stack_topic_and_the_runs_bucket(tmp_path: Path) -> None:
    env = airflow_env(tmp_path, "events")
    assert env["PIPELINE_SCHEDULE"] == "events"
    assert env["PIPELINE_EVENTS_TOPIC"] == "stockfeed.bronze-events"
    assert env["PIPELINE_EVENTS_BUCKET"] == "b1"
    assert env["PYTHONPATH"] == str(REPO / "dags")  # the triggerer imports the watcher's filter by name
    connection = json.loads(env["AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA"])
    assert connection["conn_type"] == "kafka"
    extra = connection["extra"]
    assert extra["bootstrap.servers"] == "127.0.0.1:19092"
    assert extra["group.id"].startswith("stockfeed-events-airflow_")  # one group per Airflow home
    assert extra["auto.offset.reset"] == "earliest"


def test_cron_is_passed_on(tmp_path: Path) -> None:
    assert airflow_env(tmp_path, "cron")["PIPELINE_SCHEDULE"] == "cron"


def test_each_airflow_home_reads_the_events_with_its_own_group(tmp_path: Path) -> None:
    first = json.loads(airflow_env(tmp_path / "a", "events")["AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA"])
    second = json.loads(airflow_env(tmp_path / "b", "events")["AIRFLOW_CONN_STOCKFEED_EVENTS_KAFKA"])
    assert first["extra"]["group.id"] != second["extra"]["group.id"]


def test_the_dbt_steps_go_to_a_warm_worker_started_before_airflow(tmp_path: Path) -> None:
    components, _ = demo.plan(STACK, tmp_path, demo.demo_feeds("AAPL", "AMD"), bucket="b1", group="g1")
    names = [component.name for component in components]
    assert names.index("dbt-worker") < names.index("airflow"), "the first run finds the worker warm"
    worker = components[names.index("dbt-worker")]
    socket_path = worker.argv[worker.argv.index("--socket") + 1]
    assert components[names.index("airflow")].env["PIPELINE_DBT_WORKER_SOCKET"] == socket_path
    assert Path(socket_path).parent == tmp_path


def test_without_the_worker_each_dbt_step_runs_cold(tmp_path: Path) -> None:
    feeds = demo.demo_feeds("AAPL", "AMD")
    components, _ = demo.plan(STACK, tmp_path, feeds, bucket="b1", group="g1", dbt_worker=False)
    assert "dbt-worker" not in [component.name for component in components]
    assert next(c for c in components if c.name == "airflow").env["PIPELINE_DBT_WORKER_SOCKET"] == ""


def test_a_home_too_deep_for_a_socket_path_gets_one_in_the_temp_folder(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    socket_path = demo.dbt_worker_socket(deep)
    assert len(str(socket_path).encode()) <= demo.UNIX_SOCKET_PATH_MAX
    assert socket_path == demo.dbt_worker_socket(deep), "the same home, the same socket"
    assert socket_path != demo.dbt_worker_socket(tmp_path / ("d" * 60) / ("f" * 60))
    assert str(os.getuid()) in socket_path.parent.name, "a folder per user"


def test_the_socket_folder_outside_the_home_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "sock"
    demo.private_socket_folder(folder / "dbt-worker.sock", tmp_path / "home")
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o777)  # someone opened it up: the demo refuses to put its socket there
    with pytest.raises(SystemExit, match="not a folder of this user alone"):
        demo.private_socket_folder(folder / "dbt-worker.sock", tmp_path / "home")
