"""Helpers for the StockFeed operator's tests against the local control plane (not a test module).

- `install_crds`: our CRD (operator/crds/stockfeed.yaml) and Strimzi's KafkaTopic and KafkaUser CRDs, waited
  until Established.
- `service_account_kubeconfig`: operator/deploy/rbac.yaml applied, a token for its ServiceAccount, a kubeconfig
  with it, so the operator under test has exactly the permissions the manifest grants.
- `running_operator`: the operator in-process with kopf.testing.KopfRunner, OPERATOR_* settings given per run.
- small readers for feeds, conditions and children.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client

from tests.k8s.kube import REPO_ROOT, STRIMZI_CRDS, Tool, wait_for

OPERATOR_DIR = REPO_ROOT / "operator"
STOCKFEED_CRD = OPERATOR_DIR / "crds" / "stockfeed.yaml"
RBAC_MANIFEST = OPERATOR_DIR / "deploy" / "rbac.yaml"
KAFKATOPIC_CRD = STRIMZI_CRDS / "043-Crd-kafkatopic.yaml"
KAFKAUSER_CRD = STRIMZI_CRDS / "044-Crd-kafkauser.yaml"
OPERATOR_NAMESPACE = "stockfeed-system"
SERVICE_ACCOUNT = "stockfeed-operator"

FEEDS = ("stockfeed.dev", "v1alpha1", "stockfeeds")
TOPICS = ("kafka.strimzi.io", "v1", "kafkatopics")
USERS = ("kafka.strimzi.io", "v1", "kafkausers")
PRODUCER_IMAGE = "registry.test/stockfeed-producer:1.0"
CONSUMER_IMAGE = "registry.test/stockfeed-consumer:1.0"

# The settings every test run uses; a test module adds or overrides a few.
BASE_SETTINGS = {
    "OPERATOR_PRODUCER_IMAGE": PRODUCER_IMAGE,
    "OPERATOR_CONSUMER_IMAGE": CONSUMER_IMAGE,
    "OPERATOR_SIMULATOR_URL": "http://stockfeed-simulator:8080/api/v1",
    "OPERATOR_S3_ENDPOINT_URL": "http://minio:9000",
    "OPERATOR_S3_CREDENTIALS_SECRET": "minio-credentials",
    "OPERATOR_KAFKA_CLUSTER": "stockfeed",
    # short, so the level-based resync shows within a test; read when the handlers are first imported
    "OPERATOR_RESYNC_SECONDS": "3",
    "OPERATOR_LIVENESS_ENDPOINT": "",
}


def install_crds(kubectl: Tool, apiextensions: client.ApiextensionsV1Api) -> None:
    for path in (STOCKFEED_CRD, KAFKATOPIC_CRD, KAFKAUSER_CRD):
        kubectl.run(["apply", "--server-side", "--force-conflicts", "-f", str(path)])
    for name in ("stockfeeds.stockfeed.dev", "kafkatopics.kafka.strimzi.io", "kafkausers.kafka.strimzi.io"):

        def established(crd_name: str = name) -> bool:
            crd = apiextensions.read_custom_resource_definition(crd_name)
            conditions = (crd.status.conditions if crd.status else None) or []
            return any(item.type == "Established" and item.status == "True" for item in conditions)

        wait_for(established, timeout=30, what=f"CRD {name} Established")


def service_account_kubeconfig(kubectl: Tool, core_v1: client.CoreV1Api, admin_kubeconfig: Path, target: Path) -> Path:
    """A kubeconfig that authenticates as the operator's ServiceAccount (RBAC from operator/deploy/rbac.yaml)."""
    kubectl.run(["create", "namespace", OPERATOR_NAMESPACE], check=False)
    kubectl.run(["apply", "-f", str(RBAC_MANIFEST)])
    return token_kubeconfig(core_v1, OPERATOR_NAMESPACE, SERVICE_ACCOUNT, admin_kubeconfig, target)


def token_kubeconfig(
    core_v1: client.CoreV1Api, namespace: str, service_account: str, admin_kubeconfig: Path, target: Path
) -> Path:
    """A kubeconfig with a fresh token of `service_account` (TokenRequest), for the admin kubeconfig's cluster."""
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=7200))
    token = core_v1.create_namespaced_service_account_token(service_account, namespace, request)
    assert token.status is not None
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "devstack", "cluster": cluster}],
        "users": [{"name": service_account, "user": {"token": token.status.token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "devstack", "user": service_account}}],
        "current-context": "operator",
    }
    target.touch(mode=0o600)
    target.write_text(yaml.safe_dump(config))
    return target


def operator_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules from operator/deploy/rbac.yaml."""
    for document in yaml.safe_load_all(RBAC_MANIFEST.read_text()):
        if document and document["kind"] == "ClusterRole":
            rules: list[dict[str, Any]] = document["rules"]
            return rules
    raise AssertionError(f"no ClusterRole in {RBAC_MANIFEST}")


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the operator's lifetime and restore them afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def running_operator(
    kubeconfig: Path, settings: Mapping[str, str], namespaces: tuple[str, ...] = ()
) -> Iterator[KopfRunner]:
    """The operator, in this process, as `kubeconfig`'s identity: on the whole cluster, or only `namespaces`."""
    env = {**BASE_SETTINGS, **settings, "KUBECONFIG": str(kubeconfig)}
    scope = [f"--namespace={namespace}" for namespace in namespaces] or ["--all-namespaces"]
    args = ["run", "--standalone", *scope, "-m", "stockfeed_operator.handlers"]
    with environment(env), KopfRunner(args, timeout=60) as runner:
        yield runner
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None


def json_object(value: object) -> dict[str, Any]:
    """CustomObjectsApi answers with plain JSON typed as `object`."""
    assert isinstance(value, dict)
    return value


def list_feeds(custom: client.CustomObjectsApi, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json_object(custom.list_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2]))[
        "items"
    ]
    return items


def feed_manifest(name: str, spec: Mapping[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "stockfeed.dev/v1alpha1",
        "kind": "StockFeed",
        "metadata": {"name": name, **metadata},
        "spec": dict(spec),
    }


def create_feed(custom: client.CustomObjectsApi, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return json_object(
        custom.create_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2], feed_manifest(name, spec))
    )


def get_feed(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return json_object(custom.get_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2], name))


def patch_feed_spec(custom: client.CustomObjectsApi, namespace: str, name: str, spec: Mapping[str, Any]) -> None:
    custom.patch_namespaced_custom_object(
        *FEEDS[:2], namespace, FEEDS[2], name, {"spec": dict(spec)}, _content_type="application/merge-patch+json"
    )


def condition(feed: Mapping[str, Any], kind: str) -> dict[str, Any]:
    for item in (feed.get("status") or {}).get("conditions") or ():
        if item.get("type") == kind:
            return dict(item)
    return {}


def wait_condition(
    custom: client.CustomObjectsApi,
    namespace: str,
    name: str,
    kind: str,
    status: str,
    *,
    reason: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Wait until the feed reports `kind=status` (and `reason`) for its current generation; return the feed."""

    def reached() -> dict[str, Any] | None:
        feed = get_feed(custom, namespace, name)
        found = condition(feed, kind)
        current = (feed.get("status") or {}).get("observedGeneration") == feed["metadata"]["generation"]
        if current and found.get("status") == status and (reason is None or found.get("reason") == reason):
            return feed
        return None

    what = f"StockFeed {namespace}/{name} {kind}={status}" + (f" ({reason})" if reason else "")
    feed = wait_for(reached, timeout=timeout, what=what)
    assert feed is not None
    return feed


def delete_feeds_and_wait(custom: client.CustomObjectsApi, namespace: str, timeout: float = 60) -> None:
    """Delete every feed in the namespace while the operator runs, so kopf removes its finalizer."""
    for feed in list_feeds(custom, namespace):
        with contextlib.suppress(client.ApiException):
            custom.delete_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2], feed["metadata"]["name"])

    def gone() -> bool:
        return not list_feeds(custom, namespace)

    wait_for(gone, timeout=timeout, what=f"every StockFeed in {namespace} deleted")


def refusal_message(call: Any) -> tuple[int, str]:
    with pytest.raises(client.ApiException) as caught:
        call()
    body = json.loads(caught.value.body or "{}")
    return int(caught.value.status), str(body.get("message", caught.value.body))


def absent(read: Any) -> bool:
    """True when `read()` answers 404; any other API error is raised."""
    try:
        read()
    except client.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def eventually_absent(read: Any, timeout: float, what: str) -> None:
    wait_for(lambda: absent(read), timeout=timeout, what=what)


def as_dict(api: Any, model: object) -> dict[str, Any]:
    """A client model as the API's own JSON shape (camelCase keys), easier to assert on than Optional models."""
    data: dict[str, Any] = api.api_client.sanitize_for_serialization(model)
    return data


def read_deployment(apps: client.AppsV1Api, namespace: str, name: str) -> dict[str, Any]:
    return as_dict(apps, apps.read_namespaced_deployment(name, namespace))


def read_configmap(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, Any]:
    return as_dict(core, core.read_namespaced_config_map(name, namespace))


def read_topic(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return json_object(custom.get_namespaced_custom_object(*TOPICS[:2], namespace, TOPICS[2], name))


def read_user(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return json_object(custom.get_namespaced_custom_object(*USERS[:2], namespace, USERS[2], name))


def fingerprint(obj: dict[str, Any]) -> tuple[Any, ...]:
    """What the operator would change if it applied: spec/data, labels, owners and generation; and it is never
    among the object's field managers.

    Not resourceVersion or the whole managedFields: the Deployment controller writes a Deployment's status.
    """
    metadata = obj["metadata"]
    managers = {entry.get("manager") for entry in metadata.get("managedFields") or []}
    assert "stockfeed-operator" not in managers
    return (
        metadata.get("generation"),
        metadata.get("ownerReferences"),
        metadata.get("labels"),
        obj.get("data", obj.get("spec")),
    )


def container_env(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        item["name"]: item.get("valueFrom", {})
        for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
