"""The DAG imports cleanly and has the promised shape, in both execution modes, with no credentials in code."""

from __future__ import annotations

import itertools
import re
import sys
import types
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest
import yaml

from tests.airflow.dag_inspection import DAGS, REPO, inspect_dags

sys.path.insert(0, str(DAGS))  # the package as the scheduler sees it: a folder of the DAGs directory

from stockfeed_pipeline import steps

pytestmark = pytest.mark.unit

DAG_ID = "minio_to_snowflake_stream"
ORDER = ["load_bronze_objects", "dbt_build", "check_gold_freshness"]
# events (the default): the alarm only in runs the timer (or a person) started
EVENTS_ORDER = ["load_bronze_objects", "dbt_build", "freshness_due", "check_gold_freshness"]
STATIC_DAG_ID = "static_to_snowflake"
STATIC_ORDER = ["load_static_csvs", "dbt_build_reference"]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = {"PIPELINE_EXECUTION_MODE": "local", "PIPELINE_LOADER_COMMAND": "/opt/x/stockfeed-load"}
    return inspect_dags(tmp_path_factory.mktemp("af"), env)


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return inspect_dags(tmp_path_factory.mktemp("af"), {"PIPELINE_EXECUTION_MODE": "kubernetes"})


@pytest.fixture(scope="module")
def cron(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return inspect_dags(
        tmp_path_factory.mktemp("af"), {"PIPELINE_EXECUTION_MODE": "local", "PIPELINE_SCHEDULE": "cron"}
    )


@pytest.mark.parametrize("mode", ["local", "kubernetes", "cron"])
def test_dag_imports_without_errors(mode: str, request: pytest.FixtureRequest) -> None:
    described = request.getfixturevalue(mode)
    assert described["import_errors"] == {}
    assert sorted(described["dags"]) == [DAG_ID, STATIC_DAG_ID]


@pytest.mark.parametrize(("mode", "order"), [("local", EVENTS_ORDER), ("kubernetes", EVENTS_ORDER), ("cron", ORDER)])
def test_schedule_and_task_chain(mode: str, order: list[str], request: pytest.FixtureRequest) -> None:
    dag = request.getfixturevalue(mode)["dags"][DAG_ID]
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    tasks = dag["tasks"]
    assert sorted(tasks) == sorted(order)
    for upstream, task in itertools.pairwise(order):
        assert tasks[task]["upstream"] == [upstream]
    assert tasks[order[0]]["upstream"] == []
    for task in tasks.values():
        assert task["retries"] >= 2
        assert task["retry_exponential_backoff"] is True
        assert 0 < task["execution_timeout"] <= 15 * 60
    assert tasks["dbt_build"]["outlets"] == ["x-stockfeed://warehouse/gold"]


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_events_is_the_default_schedule_a_watched_asset_or_a_timer(mode: str, request: pytest.FixtureRequest) -> None:
    schedule = request.getfixturevalue(mode)["dags"][DAG_ID]["schedule"]
    assert schedule["timer"] == {"type": "CronTriggerTimetable", "cron": "*/5 * * * *", "timezone": "UTC"}
    [asset] = schedule["assets"]
    [watcher] = asset["watchers"]
    classpath, kwargs = watcher["trigger"]
    # the Kafka provider's trigger behind common-messaging's MessageQueueTrigger(scheme="kafka")
    assert classpath == "airflow.providers.apache.kafka.triggers.await_message.AwaitMessageTrigger"
    assert kwargs["topics"] == ["stockfeed.bronze-events"]
    assert kwargs["apply_function"] == "stockfeed_pipeline.watcher.bronze_object_landed"
    assert kwargs["apply_function_kwargs"] == {"bucket": ""}
    assert kwargs["kafka_config_id"] == "stockfeed_events_kafka"
    assert kwargs["commit_offset"] is True


def test_the_events_settings_reach_the_watcher(tmp_path: Path) -> None:
    env = {"PIPELINE_EXECUTION_MODE": "local", "PIPELINE_EVENTS_TOPIC": "t.events", "PIPELINE_EVENTS_BUCKET": "b1",
           "PIPELINE_EVENTS_KAFKA_CONN_ID": "c1", "PIPELINE_EVENTS_TIMER_CRON": "*/2 * * * *"}  # fmt: skip
    schedule = inspect_dags(tmp_path, env)["dags"][DAG_ID]["schedule"]
    assert schedule["timer"]["cron"] == "*/2 * * * *"
    _, kwargs = schedule["assets"][0]["watchers"][0]["trigger"]
    assert (kwargs["topics"], kwargs["apply_function_kwargs"], kwargs["kafka_config_id"]) == (
        ["t.events"],
        {"bucket": "b1"},
        "c1",
    )


@pytest.mark.parametrize(
    ("run_type", "checks"),
    [("asset_triggered", False), ("scheduled", True), ("manual", True), ("backfill", True)],
)
def test_events_runs_leave_the_freshness_alarm_to_the_timer(run_type: str, checks: bool) -> None:
    assert steps.checks_freshness(run_type) is checks


def test_cron_is_the_originals_every_minute(cron: dict) -> None:
    assert cron["dags"][DAG_ID]["schedule"] == {"cron": "* * * * *"}


def test_kubernetes_mode_uses_pods_and_local_mode_subprocesses(local: dict, kubernetes: dict) -> None:
    pod_tasks = {name: t["operator"] for name, t in kubernetes["dags"][DAG_ID]["tasks"].items()}
    assert pod_tasks.pop("freshness_due") == "ShortCircuitOperator"  # a decision, no work: in the scheduler
    assert set(pod_tasks.values()) == {"KubernetesPodOperator"}
    local_tasks = local["dags"][DAG_ID]["tasks"]
    assert {t["operator"] for name, t in local_tasks.items() if name != "freshness_due"} == {"PythonOperator"}
    assert local_tasks["load_bronze_objects"]["argv"] == ["/opt/x/stockfeed-load"]
    build = local_tasks["dbt_build"]["argv"]
    assert build[:3] == ["dbt", "build", "--selector"]
    assert "--project-dir" in build
    assert "--profiles-dir" in build


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_static_dag_loads_the_csvs_then_builds_the_reference_models(mode: str, request: pytest.FixtureRequest) -> None:
    dag = request.getfixturevalue(mode)["dags"][STATIC_DAG_ID]
    assert dag["schedule"] == {"cron": "@daily"}
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    tasks = dag["tasks"]
    assert sorted(tasks) == sorted(STATIC_ORDER)
    assert tasks["load_static_csvs"]["upstream"] == []
    assert tasks["dbt_build_reference"]["upstream"] == ["load_static_csvs"]
    for task in tasks.values():
        assert task["retries"] >= 2
        assert 0 < task["execution_timeout"] <= 15 * 60
    assert tasks["dbt_build_reference"]["outlets"] == ["x-stockfeed://warehouse/reference"]
    expected = "KubernetesPodOperator" if mode == "kubernetes" else "PythonOperator"
    assert {task["operator"] for task in tasks.values()} == {expected}


def test_static_dag_runs_the_static_loader_next_to_the_loader_and_builds_the_reference_models(local: dict) -> None:
    tasks = local["dags"][STATIC_DAG_ID]["tasks"]
    assert tasks["load_static_csvs"]["argv"] == ["/opt/x/stockfeed-load-static"]
    build = tasks["dbt_build_reference"]["argv"]
    assert build[:5] == ["dbt", "build", "--select", "company_stocks", "company_reviews_cleaned"]
    models = REPO / "dbt" / "models" / "reference"
    assert (models / "company_stocks.sql").exists()
    assert (models / "company_reviews_cleaned.sql").exists()


def render_selector(
    template: str,
    previous_success_end: datetime | None,
    interval_end: datetime | None,
    run_type: str = "scheduled",
    previous_success_start: datetime | None = None,
) -> str:
    """The template rendered with the context Airflow 3 gives: a run without a logical date (asset-triggered) has no
    data interval keys at all, so touching them fails (StrictUndefined, Airflow's default)."""
    context: dict[str, object] = {
        "prev_start_date_success": previous_success_start,
        "dag_run": types.SimpleNamespace(run_type=run_type),
    }
    if interval_end is not None:
        context |= {"prev_data_interval_end_success": previous_success_end, "data_interval_end": interval_end}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (a command, not HTML)
    return env.from_string(template).render(context)


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 5, 4, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("previous_success_end", "interval_end", "selector"),
    [
        (at(14, 5), at(14, 6), "minute_job"),  # Airflow 3's cron timetable: intervals end at their own minute
        (at(14, 6), at(14, 7), "minute_job"),
        (None, at(14, 6), "full_build"),  # the first run
        (at(14, 4), at(14, 6), "full_build"),  # the run at 14:05 failed
        (at(13, 59), at(14, 0), "full_build"),  # top of the hour
        (at(14, 5), None, "full_build"),  # a run without a logical date: no data interval keys at all
    ],
)
def test_cron_rebuilds_reference_data_hourly_and_after_any_unsuccessful_run(
    cron: dict, previous_success_end: datetime | None, interval_end: datetime | None, selector: str
) -> None:
    template = cron["dags"][DAG_ID]["tasks"]["dbt_build"]["argv"][3]
    assert render_selector(template, previous_success_end, interval_end) == selector


@pytest.mark.parametrize(
    ("run_type", "previous_success_start", "interval_end", "selector"),
    [
        # objects landed: no data interval and never a previous success (Airflow looks it up by logical date)
        ("asset_triggered", None, None, "minute_job"),
        ("scheduled", at(14, 3), at(14, 5), "minute_job"),  # the 5-minute timer
        ("scheduled", at(13, 58), at(14, 0), "full_build"),  # the timer's top of the hour
        ("scheduled", None, at(14, 5), "full_build"),  # the timer's first tick, when the DAG appears
        ("manual", at(14, 5), at(14, 7), "minute_job"),
        ("manual", None, at(14, 7), "full_build"),
        ("manual", at(14, 5), None, "full_build"),  # triggered by hand without a logical date
    ],
)
def test_events_build_reference_data_first_and_at_the_top_of_the_hour(
    local: dict, run_type: str, previous_success_start: datetime | None, interval_end: datetime | None, selector: str
) -> None:
    template = local["dags"][DAG_ID]["tasks"]["dbt_build"]["argv"][3]
    rendered = render_selector(template, None, interval_end, run_type, previous_success_start)
    assert rendered == selector


def test_both_selectors_exist_in_the_dbt_project() -> None:
    names = {entry["name"] for entry in yaml.safe_load((REPO / "dbt" / "selectors.yml").read_text())["selectors"]}
    assert {"minute_job", "full_build"} <= names


def test_a_bad_schedule_is_an_import_error_naming_the_variable(tmp_path: Path) -> None:
    described = inspect_dags(tmp_path, {"PIPELINE_EXECUTION_MODE": "local", "PIPELINE_SCHEDULE": "hourly"})
    assert any("PIPELINE_SCHEDULE='hourly'" in error for error in described["import_errors"].values())


def test_a_bad_mode_is_an_import_error_naming_the_variable(tmp_path: Path) -> None:
    described = inspect_dags(tmp_path, {"PIPELINE_EXECUTION_MODE": "docker"})
    errors = described["import_errors"]
    assert sorted(Path(name).name for name in errors) == ["minio_to_snowflake_stream.py", "static_to_snowflake.py"]
    assert all("PIPELINE_EXECUTION_MODE='docker'" in error for error in errors.values())


def test_no_credentials_in_dag_code() -> None:
    suspicious = re.compile(
        r"(password|passwd|secret_key|access_key|api_key|token)\s*[=:]\s*['\"][^'\"]+['\"]|AKIA[0-9A-Z]{16}",
        re.IGNORECASE,
    )
    offenders = [
        f"{path.relative_to(DAGS)}:{number}: {line.strip()}"
        for path in DAGS.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if suspicious.search(line)
    ]
    assert offenders == []
