"""One feed, made to match its spec: validate, apply every child, then publish the status.

Called by kopf's create/resume/update handlers, by the periodic resync timer and when a child is deleted or
edited by hand. Applying is idempotent (server-side apply), so calling it again is always safe.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from stockfeed_operator import conditions, observe, topic_plan
from stockfeed_operator.children import desired_children
from stockfeed_operator.conditions import Observed, Problem
from stockfeed_operator.conflicts import TopicClaim, child_conflict, foreign_topic, topic_conflict
from stockfeed_operator.envs import UnresolvableError, kafka_cluster
from stockfeed_operator.feed import Feed, InvalidSpecError, parse_feed
from stockfeed_operator.kube import ApiError
from stockfeed_operator.naming import COMPONENT_LABEL, Role, child_name
from stockfeed_operator.state import ChildState, FeedKey, FeedMemory, OperatorState
from stockfeed_operator.topic_admin import TopicAdmin, TopicAdminError
from stockfeed_operator.topic_plan import Action, WantedTopic

log = logging.getLogger(__name__)
# children whose type only exists once Strimzi's CRDs are installed (a 404 on apply then means the CRD is missing)
STRIMZI_KINDS = ("KafkaTopic", "KafkaUser")


@dataclass(frozen=True)
class Outcome:
    problem: Problem | None
    retry: bool  # a temporary failure (API down, CRD missing, RBAC): try again soon


def feed_key(body: Mapping[str, Any]) -> FeedKey:
    metadata = body["metadata"]
    return (str(metadata["namespace"]), str(metadata["name"]))


def feed_memory(state: OperatorState, body: Mapping[str, Any]) -> FeedMemory:
    return state.memory(feed_key(body), str(body["metadata"].get("uid") or ""))


async def reconcile(state: OperatorState, body: Mapping[str, Any], claims: Iterable[TopicClaim]) -> Outcome:
    memory = feed_memory(state, body)
    async with memory.reconcile_lock:
        outcome = await _apply_all(state, memory, body, claims)
        memory.problem = outcome.problem
        memory.observed_generation = int(body["metadata"].get("generation") or 0)
    return outcome


async def _apply_all(
    state: OperatorState, memory: FeedMemory, body: Mapping[str, Any], claims: Iterable[TopicClaim]
) -> Outcome:
    try:
        feed = parse_feed(body)
        cluster = kafka_cluster(feed, state.settings)
        conflict = topic_conflict(feed.name, feed.spec.kafka.topic, cluster, claims)
        if conflict is not None:
            return Outcome(conflict, retry=False)
        children = desired_children(feed, state.settings)
    except InvalidSpecError as error:
        return Outcome(Problem(error.reason, error.message), retry=False)
    except UnresolvableError as error:
        return Outcome(Problem("OperatorSettingMissing", str(error)), retry=False)

    try:
        foreign = await _foreign_object(state, feed, cluster, children)
    except ApiError as error:
        reason = "Forbidden" if error.status == 403 else "ApplyFailed"
        return Outcome(Problem(reason, f"reading the feed's children failed: {error}"), retry=True)
    if foreign is not None:
        log.warning("%s/%s: %s", feed.namespace, feed.name, foreign.message)
        return Outcome(foreign, retry=False)

    check = None
    if state.topic_admin is not None:  # external Kafka: the topic through the Admin API, no KafkaTopic child
        check = await _check_external_topic(state.topic_admin, memory, feed, body)
        if check.problem is not None:  # someone else's topic, or Kafka cannot be asked: apply nothing
            return Outcome(check.problem, retry=check.retry)

    # The ConfigMap first (the pods read it), then the topic and both Deployments side by side.
    config, rest = children[0], children[1:]
    outcomes = [await _apply_one(state, memory, config)]
    if state.topic_admin is not None and check is not None:
        topic = await _converge_external_topic(state, state.topic_admin, memory, feed, check)
        if topic.problem is not None:  # not ours after all, or the record could not be written: no Deployments
            return topic
    outcomes += await asyncio.gather(*(_apply_one(state, memory, child) for child in rest))
    return next((outcome for outcome in outcomes if outcome.problem is not None), Outcome(None, retry=False))


@dataclass(frozen=True)
class TopicCheck:
    """An external topic as described, and what topic_plan decided about it."""

    wanted: WantedTopic
    described: topic_plan.DescribedTopic | None
    ours: bool  # the feed's record says it created this topic
    decision: topic_plan.Plan | None  # None when Kafka could not be asked
    problem: Problem | None
    retry: bool


def wanted_topic(feed: Feed) -> WantedTopic:
    kafka = feed.spec.kafka
    return WantedTopic(kafka.topic, kafka.partitions, kafka.replicas)


async def _check_external_topic(
    admin: TopicAdmin, memory: FeedMemory, feed: Feed, body: Mapping[str, Any]
) -> TopicCheck:
    """Describe the topic and refuse a foreign one (ChildConflict) before anything is applied."""
    wanted = wanted_topic(feed)
    ours = topic_plan.created_by_feed(body.get("status"), memory.created_topic, wanted.name)
    try:
        described = await admin.describe(wanted.name)
    except TopicAdminError as error:
        memory.applied[Role.TOPIC] = topic_plan.unreachable_state(wanted, str(error))
        return TopicCheck(wanted, None, ours, None, Problem("KafkaUnreachable", str(error)), retry=True)
    decision = topic_plan.plan(wanted, described, ours=ours, feed=feed.name)
    memory.applied[Role.TOPIC] = topic_plan.topic_state(wanted, described)
    if decision.action is Action.CONFLICT and decision.problem is not None:
        log.warning("%s/%s: %s", feed.namespace, feed.name, decision.problem.message)
        return TopicCheck(wanted, described, ours, decision, decision.problem, retry=False)
    return TopicCheck(wanted, described, ours, decision, None, retry=False)


async def _converge_external_topic(
    state: OperatorState, admin: TopicAdmin, memory: FeedMemory, feed: Feed, check: TopicCheck
) -> Outcome:
    """Create or grow the feed's topic as planned; TopicReady from a fresh describe afterwards."""
    wanted, action = check.wanted, check.decision.action if check.decision else Action.NOTHING
    if action not in (Action.CREATE, Action.GROW):
        return Outcome(None, retry=False)  # nothing to do, or a refused shrink (TopicReady says NotSupported)
    try:
        if action is Action.CREATE:
            if not check.ours:  # the record first: a restart between create and record would lose the topic
                await _record_created_topic(state, memory, feed, wanted.name)
            if not await admin.create(wanted):  # created by someone else in the meantime: not ours after all
                await _forget_uncertain_record(state, memory, feed)  # forgotten here even if the patch fails
                conflict = topic_plan.plan(wanted, _described_as_wanted(wanted), ours=False, feed=feed.name)
                return Outcome(conflict.problem, retry=False)
            log.info("%s/%s: created Kafka topic %s", feed.namespace, feed.name, wanted.name)
        else:
            await admin.grow(wanted.name, wanted.partitions)
            log.info("%s/%s: grew Kafka topic %s to %d", feed.namespace, feed.name, wanted.name, wanted.partitions)
        described = await admin.describe_when_led(wanted.name)
    except TopicAdminError as error:
        memory.applied[Role.TOPIC] = topic_plan.unreachable_state(wanted, str(error))
        log.warning("%s/%s: %s", feed.namespace, feed.name, error)
        if action is Action.CREATE:
            await _forget_uncertain_record(state, memory, feed)
        return Outcome(None, retry=False)  # TopicReady says KafkaError; the resync tries again
    except ApiError as error:
        return Outcome(Problem("ApplyFailed", f"recording the created topic on the feed failed: {error}"), retry=True)
    memory.applied[Role.TOPIC] = topic_plan.topic_state(wanted, described)
    return Outcome(None, retry=False)


async def _record_created_topic(state: OperatorState, memory: FeedMemory, feed: Feed, topic: str | None) -> None:
    """Write (or, with None, remove) the feed's record of the topic it created, in its status."""
    await state.kube.patch_feed_status(feed.namespace, feed.name, {topic_plan.CREATED_TOPIC_FIELD: topic})
    memory.created_topic = topic or ""


async def _forget_uncertain_record(state: OperatorState, memory: FeedMemory, feed: Feed) -> None:
    """A create that failed may or may not have made the topic; someone else may make it before the next try.

    Keeping the record could then claim their topic; dropping it can at worst make our own topic a ChildConflict
    (a person deletes it and the feed makes it again). Never adopting wins.
    """
    try:
        await _record_created_topic(state, memory, feed, None)
    except ApiError as error:
        memory.created_topic = ""  # this process at least never counts it as ours
        log.warning(
            "%s/%s: removing the topic record after a failed create failed: %s", feed.namespace, feed.name, error
        )


def _described_as_wanted(wanted: WantedTopic) -> topic_plan.DescribedTopic:
    return topic_plan.DescribedTopic(wanted.name, wanted.partitions, 0)


async def _foreign_object(
    state: OperatorState, feed: Feed, cluster: str, children: list[dict[str, Any]]
) -> Problem | None:
    """An object in the way that this feed does not control: a child's name taken, or its Kafka topic managed.

    Server-side apply would take such an object over (and the garbage collector delete it with the feed), so
    nothing is applied while one exists. Only this check stands between a name and an adoption: an object created
    between this read and the apply that follows would still be taken (a window of one request).
    """
    found = await asyncio.gather(
        *(
            state.kube.get(child["apiVersion"], child["kind"], feed.namespace, child["metadata"]["name"])
            for child in children
        )
    )
    for existing in found:
        if existing is not None and (problem := child_conflict(feed.name, feed.uid, existing)) is not None:
            return problem
    topic = next((child for child in children if child["kind"] == "KafkaTopic"), None)
    if topic is None:  # an external Kafka: no KafkaTopic child (topic_plan decides about the topic itself)
        return None
    try:
        topics = await state.kube.list_items(topic["apiVersion"], "KafkaTopic", feed.namespace)
    except ApiError as error:
        if error.status == 404:  # no KafkaTopic CRD: applying the topic reports KafkaTopicCRDMissing
            return None
        raise
    return foreign_topic(feed.name, feed.uid, feed.spec.kafka.topic, cluster, topics)


async def _apply_one(state: OperatorState, memory: FeedMemory, child: Mapping[str, Any]) -> Outcome:
    try:
        answer = await state.kube.apply(child)
    except ApiError as error:
        failure = _classify(child, error)
        metadata = child["metadata"]
        log.warning(
            "%s/%s: %s", metadata["namespace"], metadata["name"], failure.problem.message if failure.problem else error
        )
        return failure
    if child["kind"] == "ConfigMap":
        memory.applied_config_version = observe.resource_version(answer)
    applied = _child_state(answer)
    if applied is not None:
        role, child_state = applied
        memory.applied[role] = child_state
    return Outcome(None, retry=False)


def _classify(child: Mapping[str, Any], error: ApiError) -> Outcome:
    what = f"{child['kind']} {child['metadata']['name']}"
    if error.status in (400, 422):
        return Outcome(Problem("ChildRejected", f"the API server refused {what}: {error.message}"), retry=False)
    if error.status == 404 and child["kind"] in STRIMZI_KINDS:
        kind = child["kind"]
        message = f"cannot create {what}: the {kind} CRD (kafka.strimzi.io/v1) is not installed; install Strimzi"
        return Outcome(Problem(f"{kind}CRDMissing", message), retry=True)
    if error.status == 403:
        return Outcome(Problem("Forbidden", f"the operator may not write {what}: {error.message}"), retry=True)
    return Outcome(Problem("ApplyFailed", f"applying {what} failed: {error}"), retry=True)


def _child_state(obj: Mapping[str, Any]) -> tuple[Role, ChildState] | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    component = labels.get(COMPONENT_LABEL)
    if obj.get("kind") == "Deployment" and component in (Role.PRODUCER.value, Role.CONSUMER.value):
        return Role(component), observe.workload_state(obj)
    if obj.get("kind") == "KafkaTopic":
        return Role.TOPIC, observe.topic_state(obj)
    return None


def child_role_state(obj: Mapping[str, Any]) -> tuple[Role, ChildState] | None:
    """The role and state of a child seen by a watch (same reading as an apply's answer)."""
    return _child_state(obj)


async def publish_status(
    state: OperatorState,
    body: Mapping[str, Any],
    watched: Iterable[tuple[Role, ChildState]],
    *,
    now: datetime.datetime | None = None,
) -> bool:
    """Recompute the feed's conditions from its children and write them if they changed; True if written."""
    key = feed_key(body)
    memory = feed_memory(state, body)
    async with memory.status_lock:
        status = build_status(state, body, watched, now=now)
        previous = memory.published if memory.published is not None else (body.get("status") or {})
        if previous and conditions.same_status(previous, status):
            return False
        try:
            await state.kube.patch_feed_status(key[0], key[1], status)
        except ApiError as error:
            if error.status == 404:  # the feed is gone; nothing to report on
                state.forget(key)
                return False
            raise
        memory.published = status
        return True


def build_status(
    state: OperatorState,
    body: Mapping[str, Any],
    watched: Iterable[tuple[Role, ChildState]],
    *,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    memory = feed_memory(state, body)
    seen: dict[Role, ChildState] = dict(watched)

    def workload(role: Role) -> observe.WorkloadState | None:
        return observe.fresher(
            _as(seen.get(role), observe.WorkloadState), _as(memory.applied.get(role), observe.WorkloadState)
        )

    topic = observe.fresher(
        _as(seen.get(Role.TOPIC), observe.TopicState), _as(memory.applied.get(Role.TOPIC), observe.TopicState)
    )
    spec = body.get("spec") or {}
    name = str(body["metadata"]["name"])
    observed = Observed(
        suspended=bool(spec.get("suspend", False)),
        topic_name=child_name(name, Role.TOPIC),
        topic=topic,
        producer=workload(Role.PRODUCER),
        consumer=workload(Role.CONSUMER),
        problem=memory.problem,
        require_topic_ready=state.settings.require_topic_ready,
    )
    previous = memory.published if memory.published is not None else (body.get("status") or {})
    generation = memory.observed_generation
    if generation is None:
        generation = int((body.get("status") or {}).get("observedGeneration") or 0)
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions.render(
            conditions.conditions(observed),
            previous.get("conditions") or [],
            observed_generation=generation,
            now=stamp,
        ),
    }
    created = topic_plan.recorded_topic(body.get("status"), memory.created_topic)
    if created:  # the external topic's ownership record (topic_plan): kept as it is
        status[topic_plan.CREATED_TOPIC_FIELD] = created
    elif topic_plan.CREATED_TOPIC_FIELD in previous:  # removed by this process: null deletes it (merge patch)
        status[topic_plan.CREATED_TOPIC_FIELD] = None
    return status


T = TypeVar("T")


def _as(value: object, kind: type[T]) -> T | None:
    return value if isinstance(value, kind) else None
