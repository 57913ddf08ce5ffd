"""Turn a Step into an Airflow task: the one place where the execution mode is decided."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from stockfeed_pipeline.settings import ExecutionMode, PipelineSettings
from stockfeed_pipeline.steps import Image, Step, checks_freshness, local_argv

log = logging.getLogger(__name__)


def make_task(step: Step, settings: PipelineSettings, **task_kwargs: Any) -> Any:
    timeout = timedelta(minutes=step.timeout_minutes)
    if settings.mode is ExecutionMode.KUBERNETES:
        return _pod_task(step, settings, execution_timeout=timeout, **task_kwargs)
    return _local_task(step, settings, execution_timeout=timeout, **task_kwargs)


def _pod_task(step: Step, settings: PipelineSettings, **task_kwargs: Any) -> Any:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
    from kubernetes.client import models as k8s

    from stockfeed_pipeline.pod_operators import POD_REPORT_FILE, LoadPodOperator, unprivileged_sidecar

    image = settings.loader_image if step.image is Image.LOADER else settings.dbt_image
    secret = settings.loader_secret if step.image is Image.LOADER else settings.dbt_secret
    volumes = [k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource())]
    mounts = [k8s.V1VolumeMount(name="tmp", mount_path="/tmp")]  # noqa: S108 - the pod's own scratch space
    if settings.warehouse_claim:  # DuckDB lives on a volume that outlives each step's pod
        claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=settings.warehouse_claim)
        volumes.append(k8s.V1Volume(name="warehouse", persistent_volume_claim=claim))
        mounts.append(k8s.V1VolumeMount(name="warehouse", mount_path=settings.warehouse_mount_path))
    operator: type[KubernetesPodOperator] = KubernetesPodOperator
    if step.reports_load:
        operator = LoadPodOperator
        task_kwargs |= {
            "do_xcom_push": True,
            "env_vars": {"LOADER_REPORT_FILE": POD_REPORT_FILE},
            "xcom_sidecar_container_security_context": unprivileged_sidecar(),
            "deferrable": False,  # its execute() adds the attempt number to the report; a deferred run would not
        }
    else:
        task_kwargs.setdefault("do_xcom_push", False)
    return operator(
        task_id=step.task_id,
        name=step.task_id.replace("_", "-"),
        namespace=settings.namespace,
        image=image,
        cmds=[step.argv[0]],
        arguments=list(step.argv[1:]),
        configmaps=[settings.config_map],
        secrets=[Secret(deploy_type="env", deploy_target=None, secret=secret)],  # credentials only by reference
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": step.cpu_request, "memory": step.memory_request},
            limits={"memory": step.memory_limit},
        ),
        service_account_name=settings.service_account,
        labels={"app.kubernetes.io/part-of": "stockfeed", "stockfeed.dev/step": step.task_id.replace("_", "-")},
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        volumes=volumes,
        volume_mounts=mounts,
        get_logs=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=300,
        pod_template_file=settings.pod_template_file,
        **task_kwargs,
    )


def _local_task(step: Step, settings: PipelineSettings, **task_kwargs: Any) -> Any:
    from airflow.providers.standard.operators.python import PythonOperator

    if step.reports_load:
        return PythonOperator(
            task_id=step.task_id, python_callable=load_locally, op_args=[local_argv(step, settings)], **task_kwargs
        )
    worker = settings.dbt_worker_socket if step.image is Image.DBT else None
    return PythonOperator(
        task_id=step.task_id,
        python_callable=run_locally,
        op_args=[local_argv(step, settings)],
        op_kwargs={"dbt_worker_socket": worker},
        do_xcom_push=False,
        **task_kwargs,
    )


def freshness_gate(**task_kwargs: Any) -> Any:
    """PIPELINE_SCHEDULE=events: skip the freshness alarm in runs that objects started (steps.checks_freshness)."""
    from airflow.providers.standard.operators.python import ShortCircuitOperator

    return ShortCircuitOperator(task_id="freshness_due", python_callable=_freshness_due,
                                execution_timeout=timedelta(minutes=1), **task_kwargs)  # fmt: skip


def _freshness_due(**context: Any) -> bool:
    run_type = context["dag_run"].run_type
    return checks_freshness(str(getattr(run_type, "value", run_type)))


def load_locally(argv: list[str], **context: Any) -> dict[str, Any] | None:
    """Run the loader as a subprocess; return its report (LOADER_REPORT_FILE) with this task's attempt number, the
    task's XCom from which the dbt step's selector is chosen (steps.minute_selector). None when the program wrote
    no report (another loader command): the dbt step then builds the whole minute job."""
    with tempfile.TemporaryDirectory(prefix="stockfeed-load-report-") as folder:
        report_file = Path(folder) / "report.json"
        _run_subprocess(argv, {**os.environ, "LOADER_REPORT_FILE": str(report_file)})
        if not report_file.exists():
            log.warning("%s wrote no report to LOADER_REPORT_FILE: dbt builds the whole minute job", argv[0])
            return None
        report: dict[str, Any] = json.loads(report_file.read_text())
    ti = context.get("ti")
    return {**report, "attempt": getattr(ti, "try_number", None)}


def run_locally(argv: list[str], dbt_worker_socket: str | None = None) -> None:
    """Run one step with the Airflow worker's environment, its output in the task log: dbt on the warm dbt worker
    when one is configured and listening (the same command, without dbt's start-up), else as a subprocess."""
    if dbt_worker_socket and _ran_on_dbt_worker(argv, dbt_worker_socket):
        return
    _run_subprocess(argv, dict(os.environ))


def _run_subprocess(argv: list[str], env: dict[str, str]) -> None:
    log.info("running %s", " ".join(argv))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    for line in (result.stdout + result.stderr).splitlines():
        log.info("%s", line)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {result.returncode}")


def _ran_on_dbt_worker(argv: list[str], socket_path: str) -> bool:
    """True when the worker ran the command (and it succeeded); False when no worker listens: run it cold."""
    from stockfeed_dbt_worker.client import WorkerUnavailableError, run_on_worker

    log.info("running %s on the dbt worker at %s", " ".join(argv[1:]), socket_path)
    try:
        code = run_on_worker(socket_path, argv[1:], dict(os.environ), os.getcwd(), lambda line: log.info("%s", line))
    except WorkerUnavailableError as exc:
        log.warning("%s: running dbt cold instead", exc)
        return False
    if code != 0:
        raise RuntimeError(f"dbt (on the dbt worker) exited with {code}")
    return True
