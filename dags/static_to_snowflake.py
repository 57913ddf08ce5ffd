"""static_to_snowflake: load the user's reference CSVs into the warehouse and build the original's company tables.

The original project's second DAG, by name: `company_stocks.csv` and `company_reviews.csv` from the
`static-stock-data` bucket (LOADER_STATIC_SOURCE) become COMPANY_STOCKS and COMPANY_REVIEWS_CLEANED, the tables
its Power BI report reads (docs/powerbi.md). Idempotent: an unchanged file is skipped, a changed one replaces its
table; without files, COMPANY_STOCKS falls back to dim_symbol. Same steps machinery as minio_to_snowflake_stream
(stockfeed_pipeline): pods or local subprocesses per PIPELINE_EXECUTION_MODE. Daily once unpaused, and on demand
after uploading new files.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, chain

from stockfeed_pipeline.operators import make_task
from stockfeed_pipeline.settings import PipelineSettings
from stockfeed_pipeline.steps import static_steps

REFERENCE = Asset(name="stockfeed_reference", uri="x-stockfeed://warehouse/reference")

settings = PipelineSettings.from_env()

with DAG(
    dag_id="static_to_snowflake",
    description="Load company_stocks.csv / company_reviews.csv (static-stock-data) and build the company tables",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # paused until someone has CSVs to load (unpause it, or trigger it, after uploading them): meanwhile the hourly
    # full_build of the minute DAG keeps COMPANY_STOCKS filled from dim_symbol, and no second writer competes with
    # the minute DAG for the embedded DuckDB file
    is_paused_upon_creation=True,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
    },
    tags=["stockfeed"],
) as dag:
    steps = static_steps(settings)
    chain(*(make_task(step, settings, outlets=[REFERENCE] if step.builds_gold else []) for step in steps))
