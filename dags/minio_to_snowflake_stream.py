"""minio_to_snowflake_stream: load new bronze objects into the warehouse and run dbt, as soon as they land.

The original DAG's name, without its faults: no credentials in code (Kubernetes Secrets by
reference), no local files passed between tasks (each step reads S3 or the warehouse itself), no listing of the
whole bucket (the loader keeps a ledger). PIPELINE_EXECUTION_MODE picks pods (`kubernetes`) or subprocesses
(`local`); PIPELINE_SCHEDULE picks a run per landed object (`events`, the default) or the original's
every minute (`cron`): see stockfeed_pipeline/schedule.py, and settings.py for every setting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, chain

from stockfeed_pipeline.operators import freshness_gate, make_task
from stockfeed_pipeline.schedule import pipeline_schedule
from stockfeed_pipeline.settings import PipelineSettings, Schedule
from stockfeed_pipeline.steps import minute_selector, pipeline_steps

GOLD = Asset(name="stockfeed_gold", uri="x-stockfeed://warehouse/gold")

settings = PipelineSettings.from_env()

with DAG(
    dag_id="minio_to_snowflake_stream",
    description="Load new bronze objects (MinIO/S3) into the warehouse, build silver and gold with dbt",
    schedule=pipeline_schedule(settings),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,  # Airflow 3 pauses new DAGs by default: nothing would ever load
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=15),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=2),
    },
    tags=["stockfeed"],
    # dbt_build's selector narrows a minute's build to the kinds of rows its load committed (steps.BUILD_SELECTOR)
    user_defined_macros={"minute_selector": minute_selector},
) as dag:
    tasks = [make_task(step, settings, outlets=[GOLD] if step.builds_gold else []) for step in pipeline_steps(settings)]
    if settings.schedule is Schedule.EVENTS:  # the alarm on the timer's cadence, not in runs that objects started
        tasks.insert(-1, freshness_gate())
    chain(*tasks)
