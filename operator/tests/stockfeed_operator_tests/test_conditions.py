"""Conditions from child states: the API conventions, Ready's rules, and transition times."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stockfeed_operator import conditions
from stockfeed_operator.conditions import Observed, Problem
from stockfeed_operator.observe import TopicState, WorkloadState, fresher, topic_state, workload_state

pytestmark = pytest.mark.unit

ROLLED_OUT = WorkloadState(
    resource_version=10,
    generation=2,
    observed_generation=2,
    desired=1,
    replicas=1,
    updated=1,
    available=1,
    ready=1,
    deadline_exceeded=False,
)
TOPIC_READY = TopicState(5, 1, 1, "True", "", "")
TOPIC_UNSEEN = TopicState(5, 1, 0, "Unknown", "", "")


def observed(**changes: Any) -> Observed:
    base = Observed(
        suspended=False,
        topic_name="tech-topic",
        topic=TOPIC_READY,
        producer=ROLLED_OUT,
        consumer=ROLLED_OUT,
        problem=None,
        require_topic_ready=True,
    )
    return dataclasses.replace(base, **changes)


def by_type(observation: Observed) -> dict[str, conditions.Condition]:
    return {condition.type: condition for condition in conditions.conditions(observation)}


def test_all_ready() -> None:
    result = by_type(observed())
    assert list(result) == ["Ready", "TopicReady", "ProducerReady", "ConsumerReady"]
    assert all(condition.status == "True" for condition in result.values())
    assert result["Ready"].reason == "Streaming"


def test_without_a_topic_operator_ready_depends_on_the_setting() -> None:
    strict = by_type(observed(topic=TOPIC_UNSEEN))
    assert strict["TopicReady"].status == "Unknown"
    assert strict["TopicReady"].reason == "WaitingForTopicOperator"
    assert (strict["Ready"].status, strict["Ready"].reason) == ("False", "TopicNotReady")
    relaxed = by_type(observed(topic=TOPIC_UNSEEN, require_topic_ready=False))
    assert relaxed["TopicReady"].status == "Unknown"
    assert relaxed["Ready"].status == "True"
    assert "not required" in relaxed["Ready"].message


def test_a_topic_the_topic_operator_refused_carries_its_reason() -> None:
    refused = TopicState(6, 1, 1, "False", "InvalidResourceException", "Number of partitions cannot be decreased")
    result = by_type(observed(topic=refused))
    assert (result["TopicReady"].status, result["TopicReady"].reason) == ("False", "InvalidResourceException")
    assert "cannot be decreased" in result["Ready"].message


def test_a_rollout_in_progress_is_not_ready() -> None:
    rolling = dataclasses.replace(ROLLED_OUT, generation=3, observed_generation=3, updated=0, replicas=1)
    result = by_type(observed(producer=rolling))
    assert (result["ProducerReady"].status, result["ProducerReady"].reason) == ("False", "RollingOut")
    assert result["Ready"].reason == "ProducerNotReady"
    unseen = dataclasses.replace(ROLLED_OUT, generation=3)
    assert by_type(observed(consumer=unseen))["ConsumerReady"].reason == "RollingOut"
    old_pods_left = dataclasses.replace(ROLLED_OUT, replicas=2)
    assert by_type(observed(consumer=old_pods_left))["ConsumerReady"].status == "False"


def test_missing_and_stuck_deployments() -> None:
    assert by_type(observed(producer=None))["ProducerReady"].reason == "DeploymentMissing"
    stuck = dataclasses.replace(ROLLED_OUT, available=0, deadline_exceeded=True)
    assert by_type(observed(consumer=stuck))["ConsumerReady"].reason == "ProgressDeadlineExceeded"


def test_suspended_feeds_say_so() -> None:
    zero = dataclasses.replace(ROLLED_OUT, desired=0, replicas=0, updated=0, available=0, ready=0)
    result = by_type(observed(suspended=True, producer=zero, consumer=zero))
    assert (result["Ready"].status, result["Ready"].reason) == ("False", "Suspended")
    assert result["ProducerReady"].reason == "Suspended"
    assert "scaled to zero" in result["ProducerReady"].message


def test_a_problem_overrides_ready_whatever_the_children_say() -> None:
    result = by_type(observed(problem=Problem("TopicConflict", "topic stock-quotes belongs to feed a")))
    assert (result["Ready"].status, result["Ready"].reason) == ("False", "TopicConflict")
    assert result["Ready"].message == "topic stock-quotes belongs to feed a"
    assert result["ProducerReady"].status == "True"


def test_transition_time_moves_only_when_status_changes() -> None:
    first = conditions.render(conditions.conditions(observed()), [], observed_generation=1, now="T1")
    assert {item["lastTransitionTime"] for item in first} == {"T1"}
    again = conditions.render(conditions.conditions(observed()), first, observed_generation=2, now="T2")
    assert {item["lastTransitionTime"] for item in again} == {"T1"}
    assert {item["observedGeneration"] for item in again} == {2}
    changed = conditions.render(conditions.conditions(observed(producer=None)), again, observed_generation=2, now="T3")
    times = {item["type"]: item["lastTransitionTime"] for item in changed}
    assert times == {"Ready": "T3", "TopicReady": "T1", "ProducerReady": "T3", "ConsumerReady": "T1"}


def test_same_status_ignores_timestamps_only() -> None:
    one = {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "a"}]}
    two = {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "b"}]}
    assert conditions.same_status(one, two)
    assert not conditions.same_status(one, {**two, "observedGeneration": 2})


def deployment(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 4, "resourceVersion": "812"},
        "spec": {"replicas": 2},
        "status": status,
    }


def test_workload_state_reads_a_deployment() -> None:
    state = workload_state(
        deployment(observedGeneration=4, replicas=2, updatedReplicas=2, availableReplicas=2, readyReplicas=2)
    )
    assert state.rolled_out
    assert state.resource_version == 812
    assert not workload_state(deployment()).rolled_out  # the controller has not looked yet
    stuck = workload_state(
        deployment(observedGeneration=4, conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}])
    )
    assert stuck.deadline_exceeded


def test_topic_state_ignores_a_ready_condition_of_an_older_generation() -> None:
    topic = {
        "metadata": {"generation": 2, "resourceVersion": "9"},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert topic_state(topic).ready == "Unknown"
    topic["status"]["observedGeneration"] = 2
    assert topic_state(topic).ready == "True"
    assert topic_state({"metadata": {"generation": 1}}).ready == "Unknown"


def test_fresher_prefers_the_higher_resource_version() -> None:
    older = dataclasses.replace(ROLLED_OUT, resource_version=5)
    newer = dataclasses.replace(ROLLED_OUT, resource_version=9, available=0)
    assert fresher(older, newer) is newer
    assert fresher(newer, older) is newer
    assert fresher(None, older) is older
    assert fresher(older, None) is older
