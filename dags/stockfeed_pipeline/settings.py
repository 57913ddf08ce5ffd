"""The pipeline's settings, read from PIPELINE_* environment variables when the DAG file is parsed.

Environment rather than Airflow Variables: reading Variables at parse time hits the metadata database on every
parse; the chart sets these variables on the Airflow components instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parents[1]


class ExecutionMode(StrEnum):
    KUBERNETES = "kubernetes"  # each step is a pod from its own image (KubernetesPodOperator)
    LOCAL = "local"  # each step is a subprocess on the Airflow worker: laptops, `make demo`, tests


class Schedule(StrEnum):
    EVENTS = "events"  # a run when objects land (MinIO/S3 bucket notifications on Kafka), plus a timer
    CRON = "cron"  # the original's every minute


class SettingsError(ValueError):
    """A PIPELINE_* variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class PipelineSettings:
    mode: ExecutionMode
    # Kubernetes mode
    namespace: str | None
    loader_image: str
    dbt_image: str
    config_map: str  # non-secret settings for both steps, as env (envFrom)
    loader_secret: str  # S3 and warehouse credentials for the loader (envFrom)
    dbt_secret: str  # warehouse credentials for dbt (envFrom)
    service_account: str | None
    warehouse_claim: str | None  # a PVC holding the DuckDB file (the embedded warehouse); None with Snowflake
    warehouse_mount_path: str
    # a pod template (YAML) every step's pod starts from, for what only the cluster knows: node selectors,
    # tolerations, image pull secrets. The step's own settings (image, command, resources, volumes) win over it.
    pod_template_file: str | None
    # Local mode
    loader_command: str
    static_loader_command: str
    dbt_command: str
    dbt_project_dir: str
    dbt_worker_socket: str | None  # a warm dbt (stockfeed-dbt-worker) listens here; None: a cold `dbt` per step
    # Both
    dbt_target: str | None
    freshness_max_age_seconds: int
    # Scheduling (schedule.py)
    schedule: Schedule
    events_topic: str  # where the object store publishes "object created" notifications
    events_bucket: str  # only this bucket's objects start a run; "" = any bucket's
    events_kafka_conn_id: str  # the Airflow connection (Kafka consumer settings) the watcher reads with
    events_timer_cron: str  # events mode's timer: objects whose event was lost, the freshness alarm, hourly

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if env is None else env
        raw_mode = env.get("PIPELINE_EXECUTION_MODE", ExecutionMode.KUBERNETES.value)
        try:
            mode = ExecutionMode(raw_mode)
        except ValueError:
            raise SettingsError(f"PIPELINE_EXECUTION_MODE={raw_mode!r}: use 'kubernetes' or 'local'") from None
        raw_schedule = env.get("PIPELINE_SCHEDULE", Schedule.EVENTS.value)
        try:
            schedule = Schedule(raw_schedule)
        except ValueError:
            raise SettingsError(f"PIPELINE_SCHEDULE={raw_schedule!r}: use 'events' or 'cron'") from None
        raw_age = env.get("PIPELINE_FRESHNESS_MAX_AGE_SECONDS", "600")
        if not raw_age.isdigit():
            raise SettingsError(f"PIPELINE_FRESHNESS_MAX_AGE_SECONDS={raw_age!r} is not a whole number of seconds")
        # the static loader is the loader package's second program: by default it sits next to the first
        loader_command = env.get("PIPELINE_LOADER_COMMAND", "stockfeed-load")
        return cls(
            mode=mode,
            namespace=env.get("PIPELINE_NAMESPACE") or None,
            loader_image=env.get("PIPELINE_LOADER_IMAGE", "stockfeed/loader:latest"),
            dbt_image=env.get("PIPELINE_DBT_IMAGE", "stockfeed/dbt:latest"),
            config_map=env.get("PIPELINE_CONFIG_MAP", "stockfeed-pipeline"),
            loader_secret=env.get("PIPELINE_LOADER_SECRET", "stockfeed-loader"),
            dbt_secret=env.get("PIPELINE_DBT_SECRET", "stockfeed-dbt"),
            service_account=env.get("PIPELINE_SERVICE_ACCOUNT") or None,
            warehouse_claim=env.get("PIPELINE_WAREHOUSE_CLAIM") or None,
            warehouse_mount_path=env.get("PIPELINE_WAREHOUSE_MOUNT_PATH", "/data"),
            pod_template_file=env.get("PIPELINE_POD_TEMPLATE_FILE") or None,
            loader_command=loader_command,
            static_loader_command=env.get("PIPELINE_STATIC_LOADER_COMMAND", loader_command + "-static"),
            dbt_command=env.get("PIPELINE_DBT_COMMAND", "dbt"),
            dbt_project_dir=env.get("PIPELINE_DBT_PROJECT_DIR", str(DAGS_FOLDER.parent / "dbt")),
            dbt_worker_socket=env.get("PIPELINE_DBT_WORKER_SOCKET") or None,
            dbt_target=env.get("PIPELINE_DBT_TARGET") or None,
            freshness_max_age_seconds=int(raw_age),
            schedule=schedule,
            events_topic=env.get("PIPELINE_EVENTS_TOPIC", "stockfeed.bronze-events"),
            events_bucket=env.get("PIPELINE_EVENTS_BUCKET", ""),
            events_kafka_conn_id=env.get("PIPELINE_EVENTS_KAFKA_CONN_ID", "stockfeed_events_kafka"),
            events_timer_cron=env.get("PIPELINE_EVENTS_TIMER_CRON", "*/5 * * * *"),
        )
