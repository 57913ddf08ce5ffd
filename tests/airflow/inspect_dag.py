"""Run with the Airflow environment's Python: describe the DAG as JSON for tests in the main environment.

Airflow lives in its own environment (as in its image), so tests do not import it; they run this script and
assert on what it prints: import errors, DAG and task structure, and, in Kubernetes mode, the pods the
KubernetesPodOperator tasks would create.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def describe_schedule(schedule: Any) -> dict[str, Any]:
    """A cron string as it is; an asset-or-time schedule as its timer and each watched asset's trigger."""
    if isinstance(schedule, str) or schedule is None:
        return {"cron": schedule}
    timer = schedule.timetable
    asset = schedule.asset_condition
    return {
        "timer": {"type": type(timer).__name__, "cron": timer.expression, "timezone": str(timer.timezone)},
        "assets": [
            {
                "name": asset.name,
                "watchers": [{"name": w.name, "trigger": list(w.trigger.serialize())} for w in asset.watchers],
            }
        ],
    }


def describe(dags_folder: str, *, pods: bool) -> dict[str, Any]:
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    # As the dag-processor does: the bundle (the DAGs folder) is importable, so DAGs can share modules.
    bag = BundleDagBag(dag_folder=dags_folder, bundle_path=Path(dags_folder))
    result: dict[str, Any] = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for task in dag.tasks:
            entry: dict[str, Any] = {
                "operator": type(task).__name__,
                "bases": [cls.__name__ for cls in type(task).__mro__],
                "upstream": sorted(task.upstream_task_ids),
                "retries": task.retries,
                "retry_delay": seconds(task.retry_delay),
                "retry_exponential_backoff": bool(task.retry_exponential_backoff),
                "execution_timeout": seconds(task.execution_timeout),
                "outlets": [getattr(o, "uri", str(o)) for o in task.outlets],
            }
            if pods and hasattr(task, "build_pod_request_obj"):  # needs a kubeconfig
                from kubernetes.client import ApiClient

                pod = task.build_pod_request_obj(context=None)
                entry["pod"] = ApiClient().sanitize_for_serialization(pod)
                entry["on_finish_action"] = str(getattr(task.on_finish_action, "value", task.on_finish_action))
            elif getattr(task, "op_args", None):
                entry["argv"] = task.op_args[0]
            tasks[task.task_id] = entry
        result["dags"][dag_id] = {
            "schedule": describe_schedule(dag.schedule),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "user_defined_macros": sorted(dag.user_defined_macros or {}),
            "tasks": tasks,
        }
    return result


if __name__ == "__main__":
    # Airflow logs to stdout too: the JSON is the last line.
    print(json.dumps(describe(sys.argv[1], pods="--pods" in sys.argv[2:]), default=str))
