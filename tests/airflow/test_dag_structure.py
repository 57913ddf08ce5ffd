"""The DAG imports cleanly and has the promised shape, in both execution modes, with no credentials in code."""

from __future__ import annotations

import functools
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
    # the loader's pod reports what it committed (its XCom), from which the build's selection is chosen
    assert pod_tasks == {
        "load_bronze_objects": "LoadPodOperator",
        "dbt_build": "KubernetesPodOperator",
        "check_gold_freshness": "KubernetesPodOperator",
    }
    for task in kubernetes["dags"][DAG_ID]["tasks"].values():
        assert task["operator"] == "ShortCircuitOperator" or "KubernetesPodOperator" in task["bases"]
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
    assert all(expected in task["bases"] for task in tasks.values())


def test_static_dag_runs_the_static_loader_next_to_the_loader_and_builds_the_reference_models(local: dict) -> None:
    tasks = local["dags"][STATIC_DAG_ID]["tasks"]
    assert tasks["load_static_csvs"]["argv"] == ["/opt/x/stockfeed-load-static"]
    build = tasks["dbt_build_reference"]["argv"]
    assert build[:5] == ["dbt", "build", "--select", "company_stocks", "company_reviews_cleaned"]
    models = REPO / "dbt" / "models" / "reference"
    assert (models / "company_stocks.sql").exists()
    assert (models / "company_reviews_cleaned.sql").exists()


# What the loader's task returns (operators.load_locally, pod_operators.LoadPodOperator) after a first attempt.
BOTH_KINDS = {"rows": 3, "rows_by_kind": {"quotes": 2, "trades": 1, "other": 0}, "attempt": 1}
QUOTES_ONLY = {"rows": 2, "rows_by_kind": {"quotes": 2, "trades": 0, "other": 0}, "attempt": 1}


class FakeTaskInstance:
    """`ti` in the template: only xcom_pull, answering for the load task."""

    def __init__(self, load_report: object) -> None:
        self.load_report = load_report

    def xcom_pull(self, task_ids: str) -> object:
        assert task_ids == "load_bronze_objects"
        return self.load_report


def render_selector(
    template: str,
    previous_success_end: datetime | None,
    interval_end: datetime | None,
    run_type: str = "scheduled",
    previous_success_start: datetime | None = None,
    load_report: object = BOTH_KINDS,
) -> str:
    """The template rendered with the context Airflow 3 gives: a run without a logical date (asset-triggered) has no
    data interval keys at all, so touching them fails (StrictUndefined, Airflow's default). The DAG's
    user_defined_macros bring minute_selector."""
    context: dict[str, object] = {
        "prev_start_date_success": previous_success_start,
        "dag_run": types.SimpleNamespace(run_type=run_type),
        "ti": FakeTaskInstance(load_report),
        "minute_selector": steps.minute_selector,
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


def test_every_selector_the_dag_picks_exists_in_the_dbt_project() -> None:
    names = {entry["name"] for entry in yaml.safe_load((REPO / "dbt" / "selectors.yml").read_text())["selectors"]}
    assert {"minute_job", "minute_quotes", "minute_trades", "minute_clock", "full_build"} <= names


@pytest.mark.parametrize(
    ("report", "selector"),
    [
        (QUOTES_ONLY, "minute_quotes"),
        ({"rows": 4, "rows_by_kind": {"quotes": 0, "trades": 4, "other": 0}, "attempt": 1}, "minute_trades"),
        (BOTH_KINDS, "minute_job"),
        # nothing committed: only the model measured against the clock (staleness shows within a minute)
        ({"rows": 0, "rows_by_kind": {"quotes": 0, "trades": 0, "other": 0}, "attempt": 1}, "minute_clock"),
        # rows no model reads by kind (contract checks off): everything, to be safe
        ({"rows": 2, "rows_by_kind": {"quotes": 1, "trades": 0, "other": 1}, "attempt": 1}, "minute_job"),
        # a retry: the attempt before may have committed rows this report does not count
        ({**QUOTES_ONLY, "attempt": 2}, "minute_job"),
        ({"rows": 0, "rows_by_kind": {"quotes": 0, "trades": 0, "other": 0}, "attempt": 2}, "minute_job"),
        # no report (another loader command), or one this DAG cannot vouch for
        (None, "minute_job"),
        ("quotes", "minute_job"),
        ({**QUOTES_ONLY, "attempt": None}, "minute_job"),
        ({"rows": 1, "rows_by_kind": {"quotes": 1}, "attempt": 1}, "minute_job"),  # a kind missing
        ({"rows": 5, "rows_by_kind": {}, "attempt": 1}, "minute_job"),
        ({"rows": 5, "rows_by_kind": {"quotes": 0, "trades": 0, "other": 0}, "attempt": 1}, "minute_job"),  # sum
        ({"rows_by_kind": {"quotes": 0, "trades": 0, "other": 0}, "attempt": 1}, "minute_job"),  # no total
        ({"rows": 1, "rows_by_kind": {"quotes": "1", "trades": 0, "other": 0}, "attempt": 1}, "minute_job"),
        ({"rows": 1, "rows_by_kind": {"quotes": True, "trades": 0, "other": 0}, "attempt": 1}, "minute_job"),
        ({"rows": 0, "rows_by_kind": {"quotes": 1, "trades": -1, "other": 0}, "attempt": 1}, "minute_job"),
        ({"rows": 2, "rows_by_kind": {"quotes": 1, "trades": 0, "other": 0, "candles": 1}, "attempt": 1}, "minute_job"),
    ],
)
def test_a_minute_builds_only_what_its_load_touched(report: object, selector: str) -> None:
    assert steps.minute_selector(report) == selector


def test_event_runs_are_narrowed_and_timer_runs_build_the_whole_minute(local: dict) -> None:
    template = local["dags"][DAG_ID]["tasks"]["dbt_build"]["argv"][3]
    render = functools.partial(render_selector, template, None, load_report=QUOTES_ONLY)
    assert render(None, "asset_triggered") == "minute_quotes"
    # the timer's runs catch up after an event run whose build failed: never narrowed
    assert render(at(14, 5), "scheduled", at(14, 3)) == "minute_job"
    assert render(at(14, 0), "scheduled", at(13, 58)) == "full_build"


def test_cron_minutes_are_narrowed_after_a_successful_minute(cron: dict) -> None:
    template = cron["dags"][DAG_ID]["tasks"]["dbt_build"]["argv"][3]
    assert render_selector(template, at(14, 5), at(14, 6), load_report=QUOTES_ONLY) == "minute_quotes"
    assert render_selector(template, at(14, 4), at(14, 6), load_report=QUOTES_ONLY) == "full_build"


@pytest.mark.parametrize("mode", ["local", "kubernetes", "cron"])
def test_the_dag_brings_the_selector_function_its_template_calls(mode: str, request: pytest.FixtureRequest) -> None:
    dag = request.getfixturevalue(mode)["dags"][DAG_ID]
    assert dag["user_defined_macros"] == ["minute_selector"]
    if mode != "kubernetes":  # there the command is the pod's (tests/k8s/test_dag_pods.py)
        assert "minute_selector(ti.xcom_pull(task_ids='load_bronze_objects'))" in dag["tasks"]["dbt_build"]["argv"][3]


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
