"""The loader's KubernetesPodOperator, reporting what it loaded; imported in kubernetes mode only (needs Airflow)."""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from kubernetes.client import models as k8s

# Where the loader writes its report in the pod: the XCom volume KubernetesPodOperator mounts with do_xcom_push.
POD_REPORT_FILE = f"{PodDefaults.XCOM_MOUNT_PATH}/return.json"


class LoadPodOperator(KubernetesPodOperator):  # type: ignore[misc]  # Airflow is untyped in the lint env
    """The loader's pod, whose report (what it committed, by kind) becomes the task's XCom with its attempt number.

    KubernetesPodOperator reads the report through its XCom sidecar, a container that only waits (`/bin/sh`,
    `sleep`). It runs in the loader's own image, which the node already has, not in the provider's default alpine
    image, which a cluster without registry access could not pull; and as an unprivileged user, as the pod requires.
    """

    def build_pod_request_obj(self, context: Any = None, **kwargs: Any) -> k8s.V1Pod:
        pod: k8s.V1Pod = super().build_pod_request_obj(context, **kwargs)
        containers = pod.spec.containers if pod.spec else []
        for container in containers[1:]:
            if container.name == PodDefaults.SIDECAR_CONTAINER_NAME:  # as the loader's: the node has that image
                container.image = containers[0].image
                container.image_pull_policy = containers[0].image_pull_policy
        return pod

    def execute(self, context: Any) -> Any:
        report = super().execute(context)
        if isinstance(report, dict):
            return {**report, "attempt": context["ti"].try_number}
        return report


def unprivileged_sidecar() -> k8s.V1SecurityContext:
    """The XCom sidecar's security context, as restricted as the step's own container."""
    return k8s.V1SecurityContext(
        run_as_user=65534,
        run_as_group=65534,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
    )
