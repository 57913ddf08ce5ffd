"""kopf's entry points: settings at startup, indexes, the reconcile handlers, the resync timer and child watches.

Every path ends in the same two steps (reconcile.py): apply the children, publish the status. Handlers only
decide when, and how a failure is reported to kopf (retry soon, or wait for the next spec change).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from stockfeed_operator import kube, reconcile, topic_plan
from stockfeed_operator.config import load_settings, resync_seconds_from_env
from stockfeed_operator.conflicts import TopicClaim, owned_by
from stockfeed_operator.feed import DEFAULT_TOPIC, GROUP, PLURAL, VERSION
from stockfeed_operator.naming import FEED_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Role, child_name
from stockfeed_operator.observe import resource_version
from stockfeed_operator.state import ChildState, FeedKey, FeedMemory, OperatorState
from stockfeed_operator.topic_admin import TopicAdmin, TopicAdminError

FEEDS = (GROUP, VERSION, PLURAL)
DEPLOYMENTS = ("apps", "v1", "deployments")
DEPLOYMENT = ("apps/v1", "Deployment")  # for kube.Kube.get
KAFKA_TOPICS = ("kafka.strimzi.io", "v1", "kafkatopics")
CONFIGMAPS = ("", "v1", "configmaps")
OURS = {MANAGED_BY_LABEL: MANAGED_BY}
RESYNC_SECONDS = resync_seconds_from_env()
RETRY_SECONDS = 10.0
# deleting a feed's own topic on an external Kafka: this many tries, then the feed goes and the topic stays
TOPIC_DELETE_ATTEMPTS = 5
TOPIC_DELETE_RETRY_SECONDS = 10.0
# ... but first the feed's pods stop, for at most this long (their grace period is 45 s), checked this often
POD_STOP_WAIT_SECONDS = 120.0
POD_STOP_CHECK_SECONDS = 2.0

FeedIndex = kopf.Index[FeedKey, dict[str, Any]]
ClaimIndex = kopf.Index[tuple[str, str, str], TopicClaim]
ChildIndex = kopf.Index[FeedKey, tuple[Role, ChildState]]


@dataclass(frozen=True)
class Indexes:
    """kopf hands its indexes to every handler as keyword arguments named after the index functions."""

    stockfeeds: FeedIndex
    topic_claims: ClaimIndex
    feed_deployments: ChildIndex
    feed_topics: ChildIndex

    @classmethod
    def of(cls, kwargs: Mapping[str, Any]) -> Indexes:
        return cls(**{name: kwargs[name] for name in ("stockfeeds", "topic_claims", "feed_deployments", "feed_topics")})

    def claims(self, key: tuple[str, str, str]) -> list[TopicClaim]:
        return list(self.topic_claims.get(key, ()))

    def children(self, key: FeedKey) -> list[tuple[Role, ChildState]]:
        return [entry for index in (self.feed_deployments, self.feed_topics) for entry in index.get(key, ())]


# -- lifecycle ----------------------------------------------------------------------------------------------------


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    config = load_settings()
    logging.getLogger("stockfeed_operator").setLevel(config.log_level)
    # kopf's finalizer (for the resync timer and, with an external Kafka, the topic's deletion), named after our group.
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    # Progress and the last-handled spec live in annotations: status belongs to the conditions alone.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Idle watches can stall silently behind proxies/load balancers: end them on both sides and reconnect.
    settings.watching.server_timeout = config.watch_server_timeout
    settings.watching.client_timeout = config.watch_client_timeout
    settings.watching.connect_timeout = 10
    settings.posting.level = config.posting_level_number
    settings.peering.standalone = True  # one replica, no peering CRD (the Deployment uses strategy Recreate)
    # Watch only our own children, filtered by the API server.
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    for resource in (DEPLOYMENTS, KAFKA_TOPICS, CONFIGMAPS):
        settings.watching.label_selectors[resource[0], resource[2]] = selector
    admin = TopicAdmin(config) if config.external else None
    memo.operator = OperatorState(settings=config, kube=kube.Kube(), topic_admin=admin)  # connected at login
    logger.info(
        "stockfeed operator: producer %s, consumer %s, Kafka %s (authentication %s, TLS %s), TopicReady %s, "
        "resync every %.0fs",
        config.producer_image,
        config.consumer_image,
        f"external at {config.external_bootstrap} ({config.admin_security().summary()})"
        if config.external
        else f"cluster {config.kafka_cluster}",
        config.kafka_authentication,
        "on" if config.kafka_tls else "off",
        "required" if config.require_topic_ready else "not required",
        RESYNC_SECONDS,
    )


@kopf.on.login()
async def login(memo: Any, **kwargs: Any) -> kopf.AiohttpSession | None:
    """One session for kopf and for our writes (kube.py); kopf calls this again when credentials expire."""
    info = kube.credentials(memo=memo, **kwargs)
    if info is None:
        return None
    session = kube.open_session(info)
    memo.operator.kube.use(session, info.server)
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        expiration=info.expiration,
        priority=info.priority,
    )


@kopf.on.cleanup()
async def close(memo: Any, **_: Any) -> None:
    operator: OperatorState | None = getattr(memo, "operator", None)
    if operator is not None:
        await operator.kube.close()


# -- indexes (kept current by kopf's watches before any handler runs) ---------------------------------------------


@kopf.index(*FEEDS)
async def stockfeeds(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[FeedKey, dict[str, Any]]:
    return {(_namespaced(namespace), name): snapshot(body)}


@kopf.index(*FEEDS)
async def topic_claims(
    spec: kopf.Spec, meta: kopf.Meta, namespace: str | None, name: str, memo: Any, **_: Any
) -> dict[tuple[str, str, str], TopicClaim]:
    kafka = spec.get("kafka") or {}
    cluster = kafka.get("cluster") or memo.operator.settings.kafka_cluster
    topic = str(kafka.get("topic", DEFAULT_TOPIC))
    return {(_namespaced(namespace), str(cluster), topic): (str(meta.get("creationTimestamp")), name)}


@kopf.index(*DEPLOYMENTS, labels=OURS)
async def feed_deployments(body: kopf.Body, namespace: str | None, labels: kopf.Labels, **_: Any) -> dict[FeedKey, Any]:
    return _child_entry(body, namespace, labels)


@kopf.index(*KAFKA_TOPICS, labels=OURS)
async def feed_topics(body: kopf.Body, namespace: str | None, labels: kopf.Labels, **_: Any) -> dict[FeedKey, Any]:
    return _child_entry(body, namespace, labels)


# -- the feed itself -----------------------------------------------------------------------------------------------


@kopf.on.resume(*FEEDS)
@kopf.on.create(*FEEDS)
@kopf.on.update(*FEEDS)
async def reconcile_feed(body: kopf.Body, memo: Any, **kwargs: Any) -> None:
    outcome = await _reconcile_and_publish(memo.operator, snapshot(body), Indexes.of(kwargs))
    if outcome.problem is None:
        return
    if outcome.retry:
        raise kopf.TemporaryError(outcome.problem.message, delay=RETRY_SECONDS)
    # Retrying cannot help until the spec changes (or, for a conflict, the other feed goes: the timer sees that).
    raise kopf.PermanentError(f"{outcome.problem.reason}: {outcome.problem.message}")


@kopf.timer(*FEEDS, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
async def resync(body: kopf.Body, memo: Any, logger: kopf.Logger, **kwargs: Any) -> None:
    """Level-based: whatever happened meanwhile (drift, a missed event, a freed topic), converge again."""
    outcome = await _reconcile_and_publish(memo.operator, snapshot(body), Indexes.of(kwargs))
    if outcome.problem is not None:
        logger.info("still not reconciled: %s: %s", outcome.problem.reason, outcome.problem.message)


def _external_kafka(memo: Any, **_: Any) -> bool:
    return bool(getattr(memo, "operator", None)) and memo.operator.topic_admin is not None


@kopf.on.delete(*FEEDS, when=_external_kafka)
async def delete_created_topic(body: kopf.Body, memo: Any, retry: int, logger: kopf.Logger, **_: Any) -> None:
    """An external topic this feed created goes with the feed (a Strimzi KafkaTopic goes by garbage collection).

    A topic the feed did not create is never deleted. If Kafka cannot be reached after TOPIC_DELETE_ATTEMPTS
    tries, the feed is let go anyway (a Warning event names the topic left behind): deletion never hangs.
    """
    operator: OperatorState = memo.operator
    memory = reconcile.feed_memory(operator, body)
    topic = topic_plan.recorded_topic(body.get("status"), memory.created_topic)
    if not topic or operator.topic_admin is None:
        return
    async with memory.reconcile_lock:  # not while a reconcile of this feed might be creating it (or scaling up)
        await _stop_feed_pods(operator, body, logger)
        try:
            await operator.topic_admin.delete(topic)
        except TopicAdminError as error:
            if retry + 1 < TOPIC_DELETE_ATTEMPTS:
                raise kopf.TemporaryError(str(error), delay=TOPIC_DELETE_RETRY_SECONDS) from None
            message = f"Kafka topic {topic} was left behind after {TOPIC_DELETE_ATTEMPTS} tries: {error}"
            kopf.warn(body, reason="TopicLeftBehind", message=message)
            logger.warning(message)
            return
    logger.info("deleted Kafka topic %s, which this feed created", topic)


async def _stop_feed_pods(operator: OperatorState, body: kopf.Body, logger: kopf.Logger) -> None:
    """A producer still running, or still flushing while it terminates, would make the topic again right after
    it is deleted on a Kafka that creates topics on first use (Apache Kafka's default), and that topic would
    belong to nobody. So the feed's Deployments go to 0 first and the topic waits until their status shows no
    pod, terminating ones included (their grace period is 45 s), for at most POD_STOP_WAIT_SECONDS: a deletion
    never hangs. The wait sleeps in the handler rather than retrying, so TOPIC_DELETE_ATTEMPTS keeps counting
    Kafka's failures only; the garbage collector still deletes the Deployments once the feed is gone."""
    namespace, name, uid = _namespaced(body.metadata.namespace), str(body.metadata.name), str(body.metadata.uid)
    names = [child_name(name, role) for role in (Role.PRODUCER, Role.CONSUMER)]
    deadline = time.monotonic() + POD_STOP_WAIT_SECONDS
    while True:
        running = []
        for deployment in names:
            try:
                found = await operator.kube.get(*DEPLOYMENT, namespace, deployment)
                if found is None or not owned_by(found, uid):
                    continue  # gone, or not this feed's (never touched: the same rule as the reconcile's)
                if (found.get("spec") or {}).get("replicas") != 0:
                    await operator.kube.scale_to_zero(namespace, deployment)
                if not deployment_stopped(found):
                    running.append(deployment)
            except kube.ApiError as error:
                running.append(f"{deployment} (unknown: {error})")
        if not running:
            return
        if time.monotonic() >= deadline:
            logger.warning("deleting the topic while %s may still run: it may be made again", ", ".join(running))
            return
        await asyncio.sleep(POD_STOP_CHECK_SECONDS)


def deployment_stopped(deployment: Mapping[str, Any] | None) -> bool:
    """Scaled to 0, and its status (for this generation) counts no pod: neither running nor terminating.

    `status.terminatingReplicas` is there from Kubernetes 1.35 (beta, on by default); an older API server leaves
    it out, and then only running pods can be seen."""
    if deployment is None:
        return True
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    current = status.get("observedGeneration", 0) >= (deployment.get("metadata") or {}).get("generation", 0)
    pods = (status.get("replicas") or 0) + (status.get("terminatingReplicas") or 0)
    return spec.get("replicas") == 0 and current and pods == 0


@kopf.on.event(*FEEDS)
async def feed_event(type: str, namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    if type == "DELETED":
        memo.operator.forget((_namespaced(namespace), name))


# -- children: status follows them; deleted or edited ones are put back at once ------------------------------------


@kopf.on.event(*DEPLOYMENTS, labels=OURS)
@kopf.on.event(*KAFKA_TOPICS, labels=OURS)
@kopf.on.event(*CONFIGMAPS, labels=OURS)
async def child_event(
    type: str,
    body: kopf.Body,
    namespace: str | None,
    labels: kopf.Labels,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    operator: OperatorState = memo.operator
    indexes = Indexes.of(kwargs)
    feed_body = _live_feed(indexes.stockfeeds, (_namespaced(namespace), str(labels.get(FEED_LABEL, ""))))
    if feed_body is None:
        return  # an orphan, or its feed is being deleted: the garbage collector takes care of it
    memory = reconcile.feed_memory(operator, feed_body)
    role_state = reconcile.child_role_state(body)
    if type == "DELETED" or _edited_by_someone_else(body, role_state, memory):
        if role_state is not None:
            memory.applied.pop(role_state[0], None)
        logger.info("%s %s was %s: reconciling its feed", body.get("kind"), body.metadata.name, _what(type))
        await _reconcile_and_publish(operator, feed_body, indexes)
        return
    if memory.observed_generation is None:
        return  # not reconciled by this process yet (just started): the resume handler publishes first
    await reconcile.publish_status(operator, feed_body, indexes.children(reconcile.feed_key(feed_body)))


# -- helpers -------------------------------------------------------------------------------------------------------


async def _reconcile_and_publish(
    operator: OperatorState, body: Mapping[str, Any], indexes: Indexes
) -> reconcile.Outcome:
    key = reconcile.feed_key(body)
    spec = body.get("spec") or {}
    kafka = spec.get("kafka") or {}
    claim_key = (key[0], kafka.get("cluster") or operator.settings.kafka_cluster, kafka.get("topic", DEFAULT_TOPIC))
    outcome = await reconcile.reconcile(operator, body, indexes.claims(claim_key))
    await reconcile.publish_status(operator, body, indexes.children(key))
    return outcome


def snapshot(body: Mapping[str, Any]) -> dict[str, Any]:
    """A detached copy of a feed's body: kopf's Body is a live view that changes under our feet.

    managedFields are left out: nothing here reads them and they are most of a feed's metadata.
    """
    metadata = {key: value for key, value in (body.get("metadata") or {}).items() if key != "managedFields"}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": copy.deepcopy(metadata),
        "spec": copy.deepcopy(dict(body.get("spec") or {})),
        "status": copy.deepcopy(dict(body.get("status") or {})),
    }


def _child_entry(body: kopf.Body, namespace: str | None, labels: kopf.Labels) -> dict[FeedKey, Any]:
    feed = labels.get(FEED_LABEL)
    role_state = reconcile.child_role_state(body)
    if not feed or role_state is None:
        return {}
    return {(_namespaced(namespace), feed): role_state}


def _namespaced(namespace: str | None) -> str:
    if namespace is None:  # StockFeeds and their children are namespaced; kopf types it optional for all kinds
        raise kopf.PermanentError("a namespaced object without a namespace")
    return namespace


def _live_feed(stockfeeds: FeedIndex, key: FeedKey) -> dict[str, Any] | None:
    for body in stockfeeds.get(key, ()):
        if not body["metadata"].get("deletionTimestamp"):
            return body
    return None


def _edited_by_someone_else(body: kopf.Body, role_state: tuple[Role, ChildState] | None, memory: FeedMemory) -> bool:
    """A spec change we did not make (generation moved past our last apply), or any ConfigMap change."""
    if body.get("kind") == "ConfigMap":
        ours = memory.applied_config_version
        return bool(ours) and resource_version(body) > ours
    if role_state is None:
        return False
    role, state = role_state
    applied = memory.applied.get(role)
    return applied is not None and state.generation > applied.generation


def _what(event_type: str) -> str:
    return "deleted" if event_type == "DELETED" else "changed by someone else"
