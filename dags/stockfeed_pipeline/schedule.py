"""When the pipeline DAG runs: PIPELINE_SCHEDULE=events (default) or cron.

events: a run as soon as a bronze object lands. The object store publishes each "object created" on a Kafka topic
(MinIO bucket notifications; S3 Event Notifications on AWS are the same shape), and an AssetWatcher with the Kafka
provider's message-queue trigger turns those messages into asset events (watcher.py decides which ones). A timer
(PIPELINE_EVENTS_TIMER_CRON, every 5 minutes) runs it too: it loads objects whose event was lost, keeps the
freshness alarm going when nothing lands (a stopped feed sends no events), and its top-of-the-hour run is the
hourly full build.
cron: every minute, as the original did.
"""

from __future__ import annotations

from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable

from stockfeed_pipeline.settings import PipelineSettings, Schedule

EVERY_MINUTE = "* * * * *"


def bronze_objects(settings: PipelineSettings) -> Asset:
    """The asset whose events start a run: new objects under bronze/, watched on the events topic."""
    trigger = MessageQueueTrigger(
        scheme="kafka",
        topics=[settings.events_topic],
        apply_function="stockfeed_pipeline.watcher.bronze_object_landed",
        apply_function_kwargs={"bucket": settings.events_bucket},
        kafka_config_id=settings.events_kafka_conn_id,
        poll_timeout=1,
        # the trigger sleeps this long after every message it skips: short, so a backlog is read in seconds
        poll_interval=0.01,
    )
    return Asset(
        name="stockfeed_bronze_objects",
        uri="x-stockfeed://bronze/objects",
        watchers=[AssetWatcher(name="stockfeed_bronze_objects_watcher", trigger=trigger)],
    )


def pipeline_schedule(settings: PipelineSettings) -> str | AssetOrTimeSchedule:
    if settings.schedule is Schedule.CRON:
        return EVERY_MINUTE
    timer = CronTriggerTimetable(settings.events_timer_cron, timezone="UTC")
    return AssetOrTimeSchedule(timetable=timer, assets=bronze_objects(settings))
