"""minio_to_snowflake_stream: every minute, load new bronze objects into the warehouse and run dbt.

The original DAG's name and schedule, without its faults: no credentials in code (Kubernetes Secrets by
reference), no local files passed between tasks (each step reads S3 or the warehouse itself), no listing of the
whole bucket (the loader keeps a ledger). PIPELINE_EXECUTION_MODE picks pods (`kubernetes`) or subprocesses
(`local`); see stockfeed_pipeline/settings.py for every setting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, chain

from stockfeed_pipeline.operators import make_task
from stockfeed_pipeline.settings import PipelineSettings
from stockfeed_pipeline.steps import pipeline_steps

GOLD = Asset(name="stockfeed_gold", uri="x-stockfeed://warehouse/gold")

settings = PipelineSettings.from_env()

with DAG(
    dag_id="minio_to_snowflake_stream",
    description="Load new bronze objects (MinIO/S3) into the warehouse, build silver and gold with dbt",
    schedule="* * * * *",
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
) as dag:
    chain(*(make_task(step, settings, outlets=[GOLD] if step.builds_gold else []) for step in pipeline_steps(settings)))
