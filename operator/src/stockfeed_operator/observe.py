"""What a child object says about itself, reduced to the few facts the feed's conditions need (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class WorkloadState:
    """A Deployment's rollout, read the way `kubectl rollout status` reads it."""

    resource_version: int
    generation: int
    observed_generation: int
    desired: int
    replicas: int  # pods of every revision
    updated: int
    available: int
    ready: int
    deadline_exceeded: bool

    @property
    def rolled_out(self) -> bool:
        return (
            self.observed_generation >= self.generation
            and self.updated >= self.desired
            and self.replicas <= self.updated  # no pods of an older template left
            and self.available >= self.desired
        )

    def describe(self) -> str:
        if self.observed_generation < self.generation:
            return "the Deployment controller has not seen the latest template yet"
        if self.desired == 0:
            return "scaled to zero" if self.replicas == 0 else f"{self.replicas} pod(s) still terminating"
        if self.updated < self.desired:
            return f"{self.updated} of {self.desired} pod(s) updated"
        if self.replicas > self.updated:
            return f"{self.replicas - self.updated} old pod(s) still terminating"
        return f"{self.available} of {self.desired} pod(s) available"


@dataclass(frozen=True)
class TopicState:
    """A Strimzi KafkaTopic's Ready condition, if its topic operator has written one for this generation."""

    resource_version: int
    generation: int
    observed_generation: int
    ready: str  # True, False or Unknown (no condition yet)
    reason: str
    message: str


State = TypeVar("State", WorkloadState, TopicState)


def resource_version(obj: Mapping[str, Any]) -> int:
    """etcd's revision as a number, to tell the fresher of two copies of one object apart (0 when unknown)."""
    raw = (obj.get("metadata") or {}).get("resourceVersion") or "0"
    try:
        return int(raw)
    except ValueError:
        return 0


def workload_state(deployment: Mapping[str, Any]) -> WorkloadState:
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    conditions = {item.get("type"): item for item in status.get("conditions") or ()}
    progressing = conditions.get("Progressing") or {}
    return WorkloadState(
        resource_version=resource_version(deployment),
        generation=int(metadata.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        desired=int(spec.get("replicas", 1)),
        replicas=int(status.get("replicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
    )


def topic_state(topic: Mapping[str, Any]) -> TopicState:
    metadata = topic.get("metadata") or {}
    status = topic.get("status") or {}
    ready = next((item for item in status.get("conditions") or () if item.get("type") == "Ready"), None)
    generation = int(metadata.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    if ready is None or observed < generation:
        return TopicState(resource_version(topic), generation, observed, "Unknown", "", "")
    return TopicState(
        resource_version=resource_version(topic),
        generation=generation,
        observed_generation=observed,
        ready=str(ready.get("status") or "Unknown"),
        reason=str(ready.get("reason") or ""),
        message=str(ready.get("message") or ""),
    )


def fresher(first: State | None, second: State | None) -> State | None:
    """The copy with the higher resourceVersion: an apply's answer can be newer than the watch has delivered."""
    if first is None or second is None:
        return first if second is None else second
    return first if first.resource_version >= second.resource_version else second
