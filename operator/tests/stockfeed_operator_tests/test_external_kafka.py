"""OPERATOR_KAFKA_PROVIDER=external: settings, the topic decisions, the pods' Kafka access and the two I/O paths
(reconcile, deletion) with a Kafka and an API server that only record what they are asked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, cast

import kopf
import pytest

from stockfeed_operator import handlers, reconcile
from stockfeed_operator.children import desired_children
from stockfeed_operator.conditions import Observed, topic_condition
from stockfeed_operator.config import ConfigError, OperatorSettings, load_settings
from stockfeed_operator.feed import parse_feed
from stockfeed_operator.kube import ApiError, Kube
from stockfeed_operator.state import OperatorState
from stockfeed_operator.topic_admin import TopicAdmin, TopicAdminError
from stockfeed_operator.topic_plan import (
    CREATED_TOPIC_FIELD,
    Action,
    DescribedTopic,
    WantedTopic,
    created_by_feed,
    plan,
    topic_state,
)

from .conftest import BASE_ENV, feed_body

pytestmark = pytest.mark.unit

EXTERNAL = {**BASE_ENV, "OPERATOR_KAFKA_PROVIDER": "external", "OPERATOR_KAFKA_BOOTSTRAP": "kafka.example:9096"}
WANTED = WantedTopic("stock-quotes", 3, 2)


def external(**overrides: str) -> OperatorSettings:
    return load_settings({**EXTERNAL, **{f"OPERATOR_{key.upper()}": value for key, value in overrides.items()}})


# -- settings ------------------------------------------------------------------------------------------------------


def test_strimzi_is_the_default_and_ignores_the_external_address() -> None:
    settings = load_settings({**BASE_ENV, "OPERATOR_KAFKA_BOOTSTRAP": "kafka.example:9096"})
    assert settings.kafka_provider == "strimzi"
    assert not settings.external
    assert settings.kafka_bootstrap("main") == "main-kafka-bootstrap:9092"


def test_external_needs_its_bootstrap_address() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE_ENV, "OPERATOR_KAFKA_PROVIDER": "external"})
    assert str(caught.value) == "OPERATOR_KAFKA_BOOTSTRAP is required with OPERATOR_KAFKA_PROVIDER=external"


def test_external_reads_its_address_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXTERNAL.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.external
    assert settings.kafka_bootstrap("any-cluster") == "kafka.example:9096"


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"kafka_authentication": "scram-sha-512"}, "OPERATOR_KAFKA_AUTHENTICATION"),
        ({"kafka_tls": "true"}, "OPERATOR_KAFKA_TLS"),
        ({"kafka_security_protocol": "SASL_SSL"}, "OPERATOR_KAFKA_SASL_USERNAME is required"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "op", "kafka_sasl_password": "pw"},
            "OPERATOR_KAFKA_CLIENT_SECRET is required",
        ),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_ca_file": "/nowhere/ca.crt"}, "OPERATOR_KAFKA_SSL_CA_FILE"),
        ({"kafka_security_protocol": "TLS"}, "OPERATOR_KAFKA_SECURITY_PROTOCOL"),
    ],
)
def test_a_bad_external_setting_names_its_variable(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        external(**overrides)


def test_an_unreadable_password_file_or_two_passwords_are_refused_by_name(tmp_path: Path) -> None:
    sasl = {"kafka_security_protocol": "sasl_plaintext", "kafka_sasl_username": "operator",
            "kafka_client_secret": "kafka-client"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"OPERATOR_KAFKA_SASL_PASSWORD_FILE: cannot read .*missing"):
        external(**sasl, kafka_sasl_password_file=str(tmp_path / "missing"))
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    with pytest.raises(ConfigError, match="KAFKA_SASL_PASSWORD and OPERATOR_KAFKA_SASL_PASSWORD_FILE are both set"):
        external(**sasl, kafka_sasl_password="other", kafka_sasl_password_file=str(password))


def test_the_admin_password_comes_from_its_file_and_is_never_shown(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    settings = external(
        kafka_security_protocol="sasl_plaintext",
        kafka_sasl_username="operator",
        kafka_sasl_password_file=str(password),
        kafka_client_secret="kafka-client",
    )
    security = settings.admin_security()
    assert (security.protocol, security.sasl_username, security.sasl_password) == (
        "SASL_PLAINTEXT",
        "operator",
        "s3cret",
    )
    assert "s3cret" not in security.summary()
    assert "s3cret" not in repr(settings)


# -- the decisions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("described", "ours", "action"),
    [
        (None, False, Action.CREATE),
        (None, True, Action.CREATE),  # ours, deleted by hand: made again
        (DescribedTopic("stock-quotes", 3, 0), False, Action.CONFLICT),
        (DescribedTopic("stock-quotes", 1, 0), False, Action.CONFLICT),  # someone else's: never grown
        (DescribedTopic("stock-quotes", 3, 0), True, Action.NOTHING),
        (DescribedTopic("stock-quotes", 2, 0), True, Action.GROW),
        (DescribedTopic("stock-quotes", 5, 0), True, Action.REFUSE_SHRINK),
    ],
)
def test_what_to_do_with_the_topic(described: DescribedTopic | None, ours: bool, action: Action) -> None:
    decision = plan(WANTED, described, ours=ours, feed="tech")
    assert decision.action is action
    assert (decision.problem is not None) == (action is Action.CONFLICT)
    if decision.problem is not None:
        assert decision.problem.reason == "ChildConflict"
        assert "stock-quotes" in decision.problem.message


@pytest.mark.parametrize(
    ("described", "ready", "reason"),
    [
        (None, "False", "TopicMissing"),
        (DescribedTopic("stock-quotes", 3, 0), "True", "TopicReady"),
        (DescribedTopic("stock-quotes", 3, 1), "False", "TopicNotReady"),
        (DescribedTopic("stock-quotes", 2, 0), "False", "TopicNotReady"),
        (DescribedTopic("stock-quotes", 4, 0), "False", "NotSupported"),
    ],
)
def test_topic_ready_from_describe(described: DescribedTopic | None, ready: str, reason: str) -> None:
    state = topic_state(WANTED, described)
    observed = Observed(False, "tech-topic", state, None, None, None, require_topic_ready=True)
    condition = topic_condition(observed)
    assert (condition.status, condition.reason) == (ready, reason)
    assert "stock-quotes" in condition.message


def test_only_the_recorded_topic_is_the_feeds() -> None:
    assert created_by_feed({CREATED_TOPIC_FIELD: "stock-quotes"}, None, "stock-quotes")
    assert created_by_feed(None, "stock-quotes", "stock-quotes")  # recorded by this process, not yet watched
    assert not created_by_feed({CREATED_TOPIC_FIELD: "other"}, None, "stock-quotes")
    assert not created_by_feed(None, None, "stock-quotes")
    # a record this process removed wins over a status the watch delivered before the removal
    assert not created_by_feed({CREATED_TOPIC_FIELD: "stock-quotes"}, "", "stock-quotes")


# -- the pods ------------------------------------------------------------------------------------------------------


def test_no_strimzi_children_and_the_external_address() -> None:
    children = desired_children(parse_feed(feed_body()), external())
    assert [child["kind"] for child in children] == ["ConfigMap", "Deployment", "Deployment"]
    data = children[0]["data"]
    assert data["PRODUCER_KAFKA_BOOTSTRAP"] == data["CONSUMER_KAFKA_BOOTSTRAP"] == "kafka.example:9096"
    assert not any("SECURITY_PROTOCOL" in key for key in data)  # PLAINTEXT: nothing else


def test_sasl_ssl_credentials_come_from_the_client_secret_by_reference(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = external(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="operator",
        kafka_sasl_password="operator-secret",
        kafka_ssl_ca_file=str(ca),
        kafka_client_secret="kafka-client",
    )
    config, producer, consumer = desired_children(parse_feed(feed_body()), settings)
    assert config["data"]["PRODUCER_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["data"]["CONSUMER_KAFKA_SASL_MECHANISM"] == "PLAIN"
    assert config["data"]["CONSUMER_KAFKA_SSL_CA_FILE"] == "/etc/stockfeed/kafka-ca/ca.crt"
    assert "operator-secret" not in str(config)
    assert "operator-secret" not in str(producer)
    for deployment, prefix in ((producer, "PRODUCER"), (consumer, "CONSUMER")):
        pod = deployment["spec"]["template"]["spec"]
        refs = {item["name"]: item["valueFrom"] for item in pod["containers"][0]["env"]}
        assert refs[f"{prefix}_KAFKA_SASL_USERNAME"] == {
            "secretKeyRef": {"name": "kafka-client", "key": "sasl-username"}
        }
        assert refs[f"{prefix}_KAFKA_SASL_PASSWORD"] == {
            "secretKeyRef": {"name": "kafka-client", "key": "sasl-password"}
        }
        ca_volume = {
            "name": "kafka-ca",
            "secret": {"secretName": "kafka-client", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
        }
        assert ca_volume in pod["volumes"]
        assert {"name": "kafka-ca", "mountPath": "/etc/stockfeed/kafka-ca", "readOnly": True} in pod["containers"][0][
            "volumeMounts"
        ]


# -- reconcile and deletion against recording fakes ----------------------------------------------------------------


class FakeKube(Kube):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[Mapping[str, Any]] = []
        self.applied: list[str] = []
        self.scaled: list[str] = []

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        self.applied.append(obj["kind"])
        return dict(obj)

    async def patch_feed_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        self.records.append(dict(status))
        return {}

    async def scale_to_zero(self, namespace: str, name: str) -> None:
        self.scaled.append(name)


FEED_UID = feed_body()["metadata"]["uid"]


def deployment(
    replicas: int, running: int, terminating: int | None, observed: int = 2, owner: str = FEED_UID
) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": observed, "replicas": running}
    if terminating is not None:  # left out by API servers before Kubernetes 1.35
        status["terminatingReplicas"] = terminating
    references = [{"kind": "StockFeed", "name": "tech", "uid": owner, "controller": True}]
    metadata = {"generation": 2, "ownerReferences": references}
    return {"metadata": metadata, "spec": {"replicas": replicas}, "status": status}


class PodsStopping(FakeKube):
    """The feed's Deployments as the API answers: running with one replica, then scaled down and terminating
    until the given read."""

    def __init__(self, reads_until_gone: int, owner: str = FEED_UID) -> None:
        super().__init__()
        self.reads_until_gone, self.reads, self.owner = reads_until_gone, 0, owner

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind, namespace) == ("apps/v1", "Deployment", "markets")
        self.reads += 1
        if name not in self.scaled:
            return deployment(1, 1, 0, owner=self.owner)
        return deployment(0, 0, 0 if self.reads >= self.reads_until_gone else 1, owner=self.owner)


class FakeAdmin(TopicAdmin):
    def __init__(self, settings: OperatorSettings, described: DescribedTopic | None, *, exists: bool = False) -> None:
        super().__init__(settings)
        self.described, self.exists, self.calls = described, exists, list[str]()
        self.fail = False
        self.fail_create = False

    async def describe(self, name: str) -> DescribedTopic | None:
        self.calls.append("describe")
        if self.fail:
            raise TopicAdminError("describing topic failed: broker down")
        return self.described

    async def create(self, wanted: WantedTopic) -> bool:
        self.calls.append("create")
        if self.fail_create:
            raise TopicAdminError("creating topic failed: request timed out")
        if self.exists:
            return False
        self.described = DescribedTopic(wanted.name, wanted.partitions, 0)
        return True

    async def grow(self, name: str, partitions: int) -> None:
        self.calls.append(f"grow {partitions}")

    async def delete(self, name: str) -> None:
        self.calls.append(f"delete {name}")
        if self.fail:
            raise TopicAdminError("deleting topic failed: broker down")


def run_reconcile(admin: FakeAdmin, body: dict[str, Any]) -> tuple[reconcile.Outcome, FakeKube]:
    kube = FakeKube()
    state = OperatorState(settings=admin_settings(), kube=kube, topic_admin=admin)
    return asyncio.run(reconcile.reconcile(state, body, [])), kube


def reason_of(outcome: reconcile.Outcome) -> str | None:
    return outcome.problem.reason if outcome.problem else None


def admin_settings() -> OperatorSettings:
    return external()


def test_a_missing_topic_is_recorded_before_it_is_created() -> None:
    admin = FakeAdmin(admin_settings(), None)
    outcome, kube = run_reconcile(admin, feed_body())
    assert outcome.problem is None
    assert kube.records == [{CREATED_TOPIC_FIELD: "stock-quotes"}]
    assert admin.calls == ["describe", "create", "describe"]  # the last: TopicReady after the create
    assert kube.applied == ["ConfigMap", "Deployment", "Deployment"]


def test_a_foreign_topic_stops_everything() -> None:
    admin = FakeAdmin(admin_settings(), DescribedTopic("stock-quotes", 1, 0))
    outcome, kube = run_reconcile(admin, feed_body())
    assert reason_of(outcome) == "ChildConflict"
    assert (kube.applied, kube.records, admin.calls) == ([], [], ["describe"])


def test_a_topic_created_by_someone_else_in_between_is_not_ours() -> None:
    admin = FakeAdmin(admin_settings(), None, exists=True)
    outcome, kube = run_reconcile(admin, feed_body())
    assert reason_of(outcome) == "ChildConflict"
    assert kube.records == [{CREATED_TOPIC_FIELD: "stock-quotes"}, {CREATED_TOPIC_FIELD: None}]
    assert kube.applied == ["ConfigMap"]  # no Deployments for a topic that is not the feed's


class FailingRemovalKube(FakeKube):
    """Records the claim, then fails to remove it: the API server went away between the two patches."""

    async def patch_feed_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        if status.get(CREATED_TOPIC_FIELD) is None:
            raise ApiError(503, "ServiceUnavailable", "")
        return await super().patch_feed_status(namespace, name, status)


def test_a_record_that_could_not_be_removed_never_makes_a_foreign_topic_ours() -> None:
    admin = FakeAdmin(admin_settings(), None, exists=True)  # someone else creates it between describe and create
    kube = FailingRemovalKube()
    state = OperatorState(settings=admin_settings(), kube=kube, topic_admin=admin)
    body = feed_body()
    first = asyncio.run(reconcile.reconcile(state, body, []))
    assert reason_of(first) == "ChildConflict"
    admin.described = DescribedTopic("stock-quotes", 1, 0)  # theirs, as the next reconcile sees it
    second = asyncio.run(reconcile.reconcile(state, recorded(body), []))  # the status still names the topic
    assert reason_of(second) == "ChildConflict"
    assert not [call for call in admin.calls if call.startswith("grow")]
    assert kube.applied == ["ConfigMap"]  # the first attempt's ConfigMap only: no Deployments, ever


def test_a_failed_create_drops_the_record_it_cannot_vouch_for() -> None:
    admin = FakeAdmin(admin_settings(), None)
    admin.fail_create = True
    outcome, kube = run_reconcile(admin, feed_body())
    assert outcome.problem is None  # TopicReady says KafkaError; the resync tries again
    assert kube.records == [{CREATED_TOPIC_FIELD: "stock-quotes"}, {CREATED_TOPIC_FIELD: None}]


def test_its_own_topic_grows() -> None:
    admin = FakeAdmin(admin_settings(), DescribedTopic("stock-quotes", 1, 0))
    body = recorded(feed_body())
    outcome, _ = run_reconcile(admin, body)
    assert outcome.problem is None
    assert "grow 3" in admin.calls


def test_an_unreachable_kafka_applies_nothing_and_retries() -> None:
    admin = FakeAdmin(admin_settings(), None)
    admin.fail = True
    outcome, kube = run_reconcile(admin, feed_body())
    assert reason_of(outcome) == "KafkaUnreachable"
    assert outcome.retry
    assert kube.applied == []


class Memo:
    def __init__(self, operator: OperatorState) -> None:
        self.operator = operator


def delete(admin: FakeAdmin, body: dict[str, Any], retry: int, kube: FakeKube | None = None) -> None:
    memo = Memo(OperatorState(settings=admin_settings(), kube=kube or FakeKube(), topic_admin=admin))
    # kopf types the decorated handler as its full callback protocol; called here with what it reads
    handler = cast(Callable[..., Coroutine[Any, Any, None]], handlers.delete_created_topic)
    raw = cast(kopf.RawBody, body)
    asyncio.run(handler(body=kopf.Body(raw), memo=memo, retry=retry, logger=logging.getLogger("test")))


def recorded(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "status": {CREATED_TOPIC_FIELD: "stock-quotes"}}


def test_deletion_deletes_only_the_topic_the_feed_created() -> None:
    admin = FakeAdmin(admin_settings(), None)
    delete(admin, feed_body(), retry=0)
    assert admin.calls == []
    delete(admin, recorded(feed_body()), retry=0)
    assert admin.calls == ["delete stock-quotes"]


def test_the_feeds_pods_stop_before_its_topic_is_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A producer still running would make the topic again on a Kafka that creates topics on first use."""
    monkeypatch.setattr(handlers, "POD_STOP_CHECK_SECONDS", 0.0)
    admin = FakeAdmin(admin_settings(), None)
    kube = PodsStopping(reads_until_gone=3)  # a pod terminating, still flushing
    delete(admin, recorded(feed_body()), retry=0, kube=kube)
    assert kube.scaled[:2] == ["tech-producer", "tech-consumer"]
    assert kube.reads >= 3
    assert admin.calls == ["delete stock-quotes"]  # the topic only once no pod was left


def test_the_wait_for_pods_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "POD_STOP_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(handlers, "POD_STOP_WAIT_SECONDS", 0.0)
    admin = FakeAdmin(admin_settings(), None)
    kube = PodsStopping(reads_until_gone=1000)
    delete(admin, recorded(feed_body()), retry=0, kube=kube)
    assert kube.scaled == ["tech-producer", "tech-consumer"]  # scaled down, then the wait ended at once
    assert admin.calls == ["delete stock-quotes"]  # gave up waiting, deleted anyway


def test_a_deployment_the_feed_does_not_control_is_never_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "POD_STOP_CHECK_SECONDS", 0.0)
    admin = FakeAdmin(admin_settings(), None)
    kube = PodsStopping(reads_until_gone=1000, owner="someone-else")  # same names, another owner
    delete(admin, recorded(feed_body()), retry=0, kube=kube)
    assert kube.scaled == []
    assert admin.calls == ["delete stock-quotes"]


@pytest.mark.parametrize(
    ("body", "stopped"),
    [
        (None, True),  # already gone
        (deployment(0, 0, 0), True),
        (deployment(0, 0, None), True),  # before Kubernetes 1.35: no terminating count to wait for
        (deployment(0, 0, 1), False),  # a pod still terminating (flushing)
        (deployment(0, 1, 0), False),
        (deployment(1, 0, 0), False),  # not scaled down (yet)
        (deployment(0, 0, 0, observed=1), False),  # the controller has not seen the scale-down
    ],
)
def test_a_deployment_is_stopped_when_its_status_counts_no_pod(body: dict[str, Any] | None, stopped: bool) -> None:
    assert handlers.deployment_stopped(body) is stopped


def test_deletion_retries_a_few_times_then_lets_the_feed_go(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(kopf, "warn", lambda body, *, reason, message: warnings.append(reason))
    admin = FakeAdmin(admin_settings(), None)
    admin.fail = True
    body = recorded(feed_body())
    with pytest.raises(kopf.TemporaryError):
        delete(admin, body, retry=0)
    assert warnings == []
    delete(admin, body, retry=handlers.TOPIC_DELETE_ATTEMPTS - 1)  # the last try: no error, the finalizer goes
    assert warnings == ["TopicLeftBehind"]


def test_the_status_keeps_the_record_and_drops_a_removed_one() -> None:
    state = OperatorState(settings=admin_settings(), kube=FakeKube())
    body = recorded(feed_body())
    assert reconcile.build_status(state, body, [])[CREATED_TOPIC_FIELD] == "stock-quotes"
    reconcile.feed_memory(state, body).created_topic = ""  # this process removed it
    # a merge patch keeps a field that is left out: only null removes the record from the stored status
    assert reconcile.build_status(state, body, [])[CREATED_TOPIC_FIELD] is None
    unrecorded = feed_body()
    assert CREATED_TOPIC_FIELD not in reconcile.build_status(state, unrecorded, [])
