"""The status document: children seen by the watch merged with fresher apply answers, and the feed's problem."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from stockfeed_operator.conditions import Problem
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.kube import Kube
from stockfeed_operator.naming import Role
from stockfeed_operator.observe import TopicState, WorkloadState
from stockfeed_operator.reconcile import build_status, feed_memory
from stockfeed_operator.state import ChildState, OperatorState

from .conftest import feed_body

pytestmark = pytest.mark.unit

NOW = datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.UTC)
READY = WorkloadState(10, 1, 1, 1, 1, 1, 1, 1, False)
TOPIC = TopicState(11, 1, 0, "Unknown", "", "")


def operator(settings: OperatorSettings) -> OperatorState:
    return OperatorState(settings=settings, kube=Kube())  # never connected: nothing is written here


def ready_of(status: dict[str, Any]) -> dict[str, Any]:
    ready: dict[str, Any] = next(item for item in status["conditions"] if item["type"] == "Ready")
    return ready


def test_status_from_watched_children(settings: OperatorSettings) -> None:
    state = operator(settings)
    watched: list[tuple[Role, ChildState]] = [(Role.PRODUCER, READY), (Role.CONSUMER, READY), (Role.TOPIC, TOPIC)]
    status = build_status(state, feed_body(), watched, now=NOW)
    assert status["observedGeneration"] == 0  # nothing applied yet, and the body had no status
    assert ready_of(status)["reason"] == "TopicNotReady"  # the default requires the topic
    assert ready_of(status)["lastTransitionTime"] == "2026-01-05T12:00:00Z"


def test_a_fresher_apply_answer_wins_over_a_lagging_watch(settings: OperatorSettings) -> None:
    state = operator(settings.model_copy(update={"require_topic_ready": False}))
    body = feed_body()
    memory = feed_memory(state, body)
    memory.observed_generation = 1
    # the apply just bumped the producer's template (generation 2); the watch still shows generation 1
    memory.applied[Role.PRODUCER] = dataclasses.replace(READY, resource_version=20, generation=2)
    watched: list[tuple[Role, ChildState]] = [(Role.PRODUCER, READY), (Role.CONSUMER, READY), (Role.TOPIC, TOPIC)]
    status = build_status(state, body, watched, now=NOW)
    assert ready_of(status)["status"] == "False"
    assert ready_of(status)["reason"] == "ProducerNotReady"
    # once the watch catches up with a newer version, it wins again
    caught_up = dataclasses.replace(READY, resource_version=25, generation=2, observed_generation=2)
    status = build_status(state, body, [(Role.PRODUCER, caught_up), (Role.CONSUMER, READY)], now=NOW)
    assert ready_of(status)["status"] == "True"
    assert status["observedGeneration"] == 1


def test_a_recorded_problem_shows_in_ready(settings: OperatorSettings) -> None:
    state = operator(settings)
    body = feed_body()
    memory = feed_memory(state, body)
    memory.problem = Problem("ChildRejected", "the API server refused Deployment tech-producer: ...")
    ready = ready_of(build_status(state, body, [], now=NOW))
    assert (ready["status"], ready["reason"]) == ("False", "ChildRejected")


def test_a_recreated_feed_starts_with_a_clean_memory(settings: OperatorSettings) -> None:
    state = operator(settings)
    feed_memory(state, feed_body()).problem = Problem("TopicConflict", "...")
    again = feed_body(uid="another-uid")
    assert feed_memory(state, again).problem is None
