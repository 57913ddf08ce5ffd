"""The local control plane is a real Kubernetes API: scheduling, CRD validation (schema and CEL), RBAC,
server-side dry-run, Helm, and Strimzi's real CRDs. Pods are faked by kwok; nothing runs in them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from devstack.k8s.flags import SERVICE_ACCOUNT_ISSUER
from devstack.k8s.kwok_config import NODE_NAME
from devstack.k8s.versions import KUBERNETES_VERSION, major_minor
from tests.k8s.kube import FIXTURES, STRIMZI_CRDS, Tool, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

WIDGETS = ("devstack.stockfeed.test", "v1", "widgets")
KAFKA_TOPICS = ("kafka.strimzi.io", "v1", "kafkatopics")
KAFKA_USERS = ("kafka.strimzi.io", "v1", "kafkausers")


def refusal(call: Callable[[], object]) -> tuple[int, str]:
    """Run an API call that must be refused; return the HTTP status and the API server's message."""
    with pytest.raises(client.ApiException) as caught:
        call()
    body = json.loads(caught.value.body or "{}")
    return int(caught.value.status), str(body.get("message", caught.value.body))


def deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="registry.k8s.io/pause:3.10")]),
            ),
        ),
    )


def as_json(model: object) -> str:
    return json.dumps(client.ApiClient().sanitize_for_serialization(model))  # type: ignore[no-untyped-call]


def test_version_is_the_release_we_built(kube_client: client.ApiClient) -> None:
    info = client.VersionApi(kube_client).get_code()
    assert info.git_version == KUBERNETES_VERSION
    assert (info.major, info.minor) == major_minor(KUBERNETES_VERSION)


def test_deployment_reaches_ready_replicas(
    namespace: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    apps_v1.create_namespaced_deployment(namespace, deployment("web", replicas=3))

    def ready() -> bool:
        status = apps_v1.read_namespaced_deployment_status("web", namespace).status
        return status is not None and status.ready_replicas == 3 and status.available_replicas == 3

    wait_for(ready, timeout=90, what="Deployment web to have 3 ready replicas")
    pods = core_v1.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3
    for pod in pods:  # scheduled by kube-scheduler onto the kwok node, marked Running/Ready by kwok
        assert pod.spec is not None
        assert pod.status is not None
        assert pod.spec.node_name == NODE_NAME
        assert pod.status.phase == "Running"
        assert pod.status.pod_ip


@pytest.fixture(scope="module")
def widgets_crd(apiextensions_v1: client.ApiextensionsV1Api) -> Iterator[str]:
    """The test CRD, installed for this module and removed afterwards."""
    manifest = yaml.safe_load((FIXTURES / "widgets-crd.yaml").read_text())
    name = manifest["metadata"]["name"]
    _delete_crd(apiextensions_v1, name)  # a leftover of an interrupted run
    apiextensions_v1.create_custom_resource_definition(manifest)
    wait_for(lambda: _established(apiextensions_v1, name), timeout=60, what=f"CRD {name} to be Established")
    try:
        yield name
    finally:
        with contextlib.suppress(client.ApiException):
            apiextensions_v1.delete_custom_resource_definition(name)


def _established(api: client.ApiextensionsV1Api, name: str) -> bool:
    status = api.read_custom_resource_definition(name).status
    conditions = (status.conditions if status is not None else None) or []
    return any(condition.type == "Established" and condition.status == "True" for condition in conditions)


def _delete_crd(api: client.ApiextensionsV1Api, name: str) -> None:
    try:
        api.delete_custom_resource_definition(name)
    except client.ApiException as error:
        if error.status == 404:
            return
        raise

    def gone() -> bool:
        try:
            api.read_custom_resource_definition(name)
        except client.ApiException as error:
            return bool(error.status == 404)
        return False

    wait_for(gone, timeout=60, what=f"leftover CRD {name} to be deleted")


def widget(name: str, **spec: object) -> dict[str, Any]:
    return {"apiVersion": "devstack.stockfeed.test/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_crd_schema_and_cel_rule_are_enforced(
    widgets_crd: str, namespace: str, custom_objects: client.CustomObjectsApi
) -> None:
    group, version, plural = WIDGETS

    def create(body: dict[str, Any]) -> object:
        return custom_objects.create_namespaced_custom_object(group, version, namespace, plural, body)

    # The type is served a moment after Established: the first create may still 404.
    wait_for(lambda: create(widget("good", size=3, color="red", minReplicas=1, maxReplicas=2)), 30, "a valid Widget")

    status, message = refusal(lambda: create(widget("too-big", size=50, minReplicas=1, maxReplicas=2)))
    assert status == 422
    assert "spec.size" in message
    assert "less than or equal to 10" in message

    status, message = refusal(lambda: create(widget("purple", size=1, color="purple", minReplicas=1, maxReplicas=2)))
    assert status == 422
    assert 'Unsupported value: "purple"' in message

    status, message = refusal(lambda: create(widget("inverted", size=1, minReplicas=5, maxReplicas=2)))
    assert status == 422
    assert "minReplicas must not exceed maxReplicas" in message  # the CEL rule's message, from the API server

    stored = custom_objects.list_namespaced_custom_object(group, version, namespace, plural)
    assert isinstance(stored, dict)
    assert [item["metadata"]["name"] for item in stored["items"]] == ["good"]


def test_rbac_refuses_a_service_account_without_permissions(
    namespace: str,
    core_v1: client.CoreV1Api,
    rbac_v1: client.RbacAuthorizationV1Api,
    kube_client: client.ApiClient,
    kubectl: Tool,
) -> None:
    core_v1.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    issued = core_v1.create_namespaced_service_account_token(
        "nobody",
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[SERVICE_ACCOUNT_ISSUER], expiration_seconds=600)
        ),
    ).status
    assert issued is not None
    token = issued.token
    settings = client.Configuration()
    settings.host = kube_client.configuration.host
    settings.ssl_ca_cert = kube_client.configuration.ssl_ca_cert
    settings.api_key = {"authorization": f"Bearer {token}"}
    as_nobody = client.CoreV1Api(client.ApiClient(settings))
    user = f"system:serviceaccount:{namespace}:nobody"

    status, message = refusal(lambda: as_nobody.list_namespaced_pod(namespace))
    assert status == 403
    assert f'User "{user}" cannot list resource "pods"' in message

    # Impersonation through kubectl gets the same answer from the authorizer.
    answer = kubectl.run(["auth", "can-i", "list", "pods", "-n", namespace, "--as", user], check=False)
    assert answer.stdout.strip() == "no"

    # Control: once RBAC grants it, the same token may list pods, so the refusal above was RBAC's.
    rbac_v1.create_namespaced_role(
        namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="pod-reader"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["list"])],
        ),
    )
    rbac_v1.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="nobody-reads-pods"),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader"),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="nobody", namespace=namespace)],
        ),
    )
    wait_for(lambda: as_nobody.list_namespaced_pod(namespace) is not None, 30, "the RoleBinding to take effect")
    status, message = refusal(lambda: as_nobody.list_namespaced_secret(namespace))
    assert status == 403
    assert 'cannot list resource "secrets"' in message


def test_kubectl_server_side_dry_run(kubectl: Tool, namespace: str, apps_v1: client.AppsV1Api) -> None:
    manifest = as_json(deployment("dry", replicas=2))
    result = kubectl.run(["apply", "-n", namespace, "--dry-run=server", "-o", "json", "-f", "-"], stdin=manifest)
    answered = json.loads(result.stdout)
    assert answered["metadata"]["namespace"] == namespace
    assert answered["spec"]["strategy"]["type"] == "RollingUpdate"  # defaulted by the API server
    status, _ = refusal(lambda: apps_v1.read_namespaced_deployment("dry", namespace))
    assert status == 404  # a dry run stores nothing

    broken = as_json(deployment("broken", replicas=-1))
    result = kubectl.run(["apply", "-n", namespace, "--dry-run=server", "-f", "-"], stdin=broken, check=False)
    assert result.returncode != 0
    assert "spec.replicas: Invalid value: -1" in result.stderr


def test_helm_install_of_the_test_chart_goes_ready(
    helm: Tool, namespace: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    helm.run(
        ["install", "demo", str(FIXTURES / "testchart"), "-n", namespace, "--wait", "--timeout", "90s"],
        timeout=150,
    )
    status = apps_v1.read_namespaced_deployment_status("demo-app", namespace).status
    assert status is not None
    assert status.ready_replicas == 2
    settings = core_v1.read_namespaced_config_map("demo-settings", namespace).data or {}
    assert settings["kubeVersion"] == KUBERNETES_VERSION  # Helm asked the cluster
    releases = json.loads(helm.run(["list", "-n", namespace, "-o", "json"]).stdout)
    assert [(release["name"], release["status"]) for release in releases] == [("demo", "deployed")]


def test_helm_template_offline_assumes_the_cluster_minor(helm: Tool) -> None:
    # Without a cluster Helm uses the version stamped in at build time; the chart requires >= 1.35.
    rendered = helm.run(["template", "demo", str(FIXTURES / "testchart")]).stdout
    major, minor = major_minor(KUBERNETES_VERSION)
    assert f'kubeVersion: "v{major}.{minor}.0"' in rendered


@pytest.fixture(scope="module")
def strimzi_crds(kubectl: Tool) -> list[str]:
    """Strimzi 1.2.0's CRDs, applied server-side (Kafka's CRD is too big for client-side apply's annotation).

    They stay installed: other suites on the same cluster may rely on them, and re-applying is idempotent.
    """
    files = sorted(STRIMZI_CRDS.glob("*.yaml"))
    assert files, f"no Strimzi CRDs under {STRIMZI_CRDS}: run `make cluster-up` (devstack generates them)"
    args = ["apply", "--server-side", "--force-conflicts", "--field-manager=stockfeed-tests"]
    for path in files:
        args += ["-f", str(path)]
    kubectl.run(args)
    names = [yaml.safe_load(path.read_text())["metadata"]["name"] for path in files]
    kubectl.run(["wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{name}" for name in names)])
    return names


def kafka_topic(name: str, **spec: object) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": "stockfeed"}},
        "spec": spec,
    }


def test_strimzi_crds_accept_a_valid_kafka_topic_and_refuse_an_invalid_one(
    strimzi_crds: list[str], namespace: str, custom_objects: client.CustomObjectsApi
) -> None:
    assert "kafkatopics.kafka.strimzi.io" in strimzi_crds
    group, version, plural = KAFKA_TOPICS

    def create(body: dict[str, Any]) -> dict[str, Any]:
        created = custom_objects.create_namespaced_custom_object(group, version, namespace, plural, body)
        assert isinstance(created, dict)
        return created

    valid = kafka_topic("stock-quotes", partitions=3, replicas=1, config={"retention.ms": 604800000})
    created = wait_for(lambda: create(valid), 30, "a valid KafkaTopic to be accepted")
    assert created["spec"]["partitions"] == 3

    status, message = refusal(lambda: create(kafka_topic("no-partitions", partitions=0, replicas=1)))
    assert status == 422
    assert "spec.partitions" in message
    assert "greater than or equal to 1" in message

    status, message = refusal(lambda: create(kafka_topic("wordy", partitions="three", replicas=1)))
    assert status == 422
    assert "spec.partitions" in message


def kafka_user(name: str, authentication: str, operations: list[str]) -> dict[str, Any]:
    acl = {"resource": {"type": "topic", "name": "stock-quotes", "patternType": "literal"}, "operations": operations}
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": "stockfeed"}},
        "spec": {"authentication": {"type": authentication}, "authorization": {"type": "simple", "acls": [acl]}},
    }


def test_strimzi_crds_accept_a_valid_kafka_user_and_refuse_an_invalid_one(
    strimzi_crds: list[str], namespace: str, custom_objects: client.CustomObjectsApi
) -> None:
    assert "kafkausers.kafka.strimzi.io" in strimzi_crds
    group, version, plural = KAFKA_USERS

    def create(body: dict[str, Any]) -> dict[str, Any]:
        created = custom_objects.create_namespaced_custom_object(group, version, namespace, plural, body)
        assert isinstance(created, dict)
        return created

    valid = kafka_user("tech-producer-user", "scram-sha-512", ["Write", "Describe"])
    created = wait_for(lambda: create(valid), 30, "a valid KafkaUser to be accepted")
    assert created["spec"]["authorization"]["acls"][0]["operations"] == ["Write", "Describe"]

    status, message = refusal(lambda: create(kafka_user("plain-user", "plain", ["Read"])))
    assert status == 422
    assert "spec.authentication.type" in message

    status, message = refusal(lambda: create(kafka_user("peeking-user", "tls", ["Peek"])))
    assert status == 422
    assert "operations[0]" in message
