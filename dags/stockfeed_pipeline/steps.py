"""The pipeline's steps as plain data: the same command runs in a pod or as a local subprocess."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from stockfeed_pipeline.settings import PipelineSettings, Schedule


class Image(StrEnum):
    LOADER = "loader"
    DBT = "dbt"


@dataclass(frozen=True)
class Step:
    task_id: str
    image: Image
    argv: tuple[str, ...]  # argv[0] is the program; in a pod it is the image's own binary
    timeout_minutes: int
    cpu_request: str
    memory_request: str
    memory_limit: str
    builds_gold: bool = False  # its success updates the gold tables (the DAG's Asset outlet)
    reports_load: bool = False  # the loader's report (what kinds of rows it committed) is the task's XCom


def _dbt(settings: PipelineSettings, *args: str) -> tuple[str, ...]:
    target = ("--target", settings.dbt_target) if settings.dbt_target else ()
    return ("dbt", *args, *target)


# Which dbt selector (dbt/selectors.yml) a run builds, rendered by Airflow per run. `full_build` adds reference data
# (the symbols seed, dim_date) to `minute_job`: at the top of every hour, and on any run whose previous minute did
# not succeed (the first run, after a failure or a pause), so a fresh or broken warehouse heals on the next run.
# "Previous minute succeeded" is read from data interval ends, which works with both of Airflow's cron timetables
# (Airflow 3's default gives every run an empty interval at its minute; the interval one ends it a minute later).
# Neither selector runs dbt's unit tests (model logic on fixed inputs: CI's job) or the freshness alarm (next step).
# A run without a logical date (triggered by hand with none) has no data interval keys at all in Airflow 3: `is
# defined` keeps the template from failing on them (Airflow renders with StrictUndefined).
# A minute that follows a successful one builds only what its load touched (minute_selector below).
LOAD_TASK_ID = "load_bronze_objects"
NARROWED = f"minute_selector(ti.xcom_pull(task_ids='{LOAD_TASK_ID}'))"
BUILD_SELECTOR = (
    f"{{{{ {NARROWED} if data_interval_end is defined and prev_data_interval_end_success"
    " and (data_interval_end - prev_data_interval_end_success).total_seconds() <= 60"
    " and data_interval_end.minute != 0 else 'full_build' }}"
)
# With PIPELINE_SCHEDULE=events, runs that objects started have no logical date, no data interval and no "previous
# successful run" (Airflow looks that up by logical date): they build what their load touched. Runs with a date
# (the timer, manual runs) build `full_build` when none of them has succeeded yet (the timer's first tick, taken as
# soon as the DAG appears, builds a new warehouse's reference data) and at the top of the hour, `minute_job`
# otherwise: the timer's whole minute job is also what catches up after an event run whose build failed.
EVENTS_BUILD_SELECTOR = (
    f"{{{{ {NARROWED} if dag_run.run_type == 'asset_triggered'"
    " else 'full_build' if not prev_start_date_success or data_interval_end is not defined"
    " or data_interval_end.minute == 0"
    " else 'minute_job' }}"
)

KINDS = ("quotes", "trades", "other")


def minute_selector(load_report: object) -> str:
    """The minute job narrowed to the models the load's new rows touch (dbt/selectors.yml), from the loader's report
    (LOADER_REPORT_FILE) with the `attempt` of the load task that wrote it: `minute_quotes`, `minute_trades`, or
    `minute_clock` when it committed nothing (only the model measured against the clock). Anything short of a
    consistent first-attempt report of known kinds builds the whole `minute_job`: an earlier attempt may have
    committed rows this report does not count, and an older loader or another program may report nothing at all."""
    if not isinstance(load_report, dict) or load_report.get("attempt") != 1:
        return "minute_job"
    counts, rows = load_report.get("rows_by_kind"), load_report.get("rows")
    if not isinstance(counts, dict) or set(counts) != set(KINDS):
        return "minute_job"
    quotes, trades, other = (counts[kind] for kind in KINDS)
    if not all(type(n) is int and n >= 0 for n in (quotes, trades, other, rows)) or quotes + trades + other != rows:
        return "minute_job"
    if other or (quotes and trades):
        return "minute_job"
    if quotes:
        return "minute_quotes"
    return "minute_trades" if trades else "minute_clock"


# Run types whose runs end with the freshness alarm. With PIPELINE_SCHEDULE=events a run that objects started has
# just brought gold new data, and the alarm (a cold dbt start, ~5 s) would hold the next run back: it runs on the
# timer's cadence instead (and on manual runs), so a stopped feed still raises it within one timer period.
FRESHNESS_RUN_TYPES = frozenset({"scheduled", "manual", "backfill"})


def checks_freshness(run_type: str) -> bool:
    return run_type in FRESHNESS_RUN_TYPES


def build_selector(settings: PipelineSettings) -> str:
    return EVENTS_BUILD_SELECTOR if settings.schedule is Schedule.EVENTS else BUILD_SELECTOR


def pipeline_steps(settings: PipelineSettings) -> list[Step]:
    """load new bronze objects -> dbt build (bronze, silver, gold) -> fail loudly if gold is stale."""
    freshness_vars = json.dumps({"freshness_max_age_seconds": settings.freshness_max_age_seconds})
    return [
        Step(LOAD_TASK_ID, Image.LOADER, ("stockfeed-load",), 10, "100m", "256Mi", "1Gi", reports_load=True),
        Step("dbt_build", Image.DBT, _dbt(settings, "build", "--selector", build_selector(settings)), 15, "250m",
             "512Mi", "2Gi", builds_gold=True),
        Step("check_gold_freshness", Image.DBT,
             _dbt(settings, "test", "--select", "tag:freshness", "--vars", freshness_vars), 5, "100m", "256Mi",
             "1Gi"),
    ]  # fmt: skip


# The original's reference tables for its Power BI report (dbt/models/reference): tag:static, so the minute job
# leaves them to this DAG and the hourly full_build.
REFERENCE_MODELS = ("company_stocks", "company_reviews_cleaned")


def static_steps(settings: PipelineSettings) -> list[Step]:
    """load the user's reference CSVs (idempotent: an unchanged file is skipped) -> dbt builds the tables."""
    return [
        Step("load_static_csvs", Image.LOADER, ("stockfeed-load-static",), 10, "100m", "256Mi", "1Gi"),
        Step("dbt_build_reference", Image.DBT, _dbt(settings, "build", "--select", *REFERENCE_MODELS), 15, "250m",
             "512Mi", "2Gi", builds_gold=True),
    ]  # fmt: skip


def local_argv(step: Step, settings: PipelineSettings) -> list[str]:
    """The step's command for a local subprocess: the configured programs, dbt pointed at the project dir."""
    if step.image is Image.LOADER:
        program = settings.static_loader_command if step.argv[0] == "stockfeed-load-static" else settings.loader_command
        return [program, *step.argv[1:]]
    project = ["--project-dir", settings.dbt_project_dir, "--profiles-dir", settings.dbt_project_dir]
    return [settings.dbt_command, *step.argv[1:], *project]
