"""A feed's status conditions from what its children report (pure), per the Kubernetes API conventions.

`Ready` is the summary: True when the producer and consumer Deployments have rolled out (and, when
OPERATOR_REQUIRE_TOPIC_READY is on, the Strimzi topic operator says the KafkaTopic is Ready). A problem the
operator found in the spec (Problem) makes Ready False with its own reason whatever the children say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stockfeed_operator.observe import TopicState, WorkloadState

READY, TOPIC_READY, PRODUCER_READY, CONSUMER_READY = "Ready", "TopicReady", "ProducerReady", "ConsumerReady"
CONDITION_TYPES = (READY, TOPIC_READY, PRODUCER_READY, CONSUMER_READY)


@dataclass(frozen=True)
class Problem:
    """Why the operator cannot (fully) reconcile a feed: reason in CamelCase, message for humans."""

    reason: str
    message: str


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True, False or Unknown
    reason: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "True"


@dataclass(frozen=True)
class Observed:
    """Everything the conditions are computed from."""

    suspended: bool
    topic_name: str  # the KafkaTopic resource's name
    topic: TopicState | None
    producer: WorkloadState | None
    consumer: WorkloadState | None
    problem: Problem | None
    require_topic_ready: bool


def topic_condition(observed: Observed) -> Condition:
    state = observed.topic
    if state is None:
        return Condition(TOPIC_READY, "False", "TopicMissing", f"KafkaTopic {observed.topic_name} does not exist yet")
    if state.ready == "True":
        # an external topic's state says what describe saw; Strimzi's Ready=True carries no message
        return Condition(
            TOPIC_READY, "True", "TopicReady", state.message or f"KafkaTopic {observed.topic_name} is Ready"
        )
    if state.ready == "False":
        reason = state.reason or "TopicNotReady"
        return Condition(
            TOPIC_READY, "False", reason, state.message or f"KafkaTopic {observed.topic_name} is not Ready"
        )
    return Condition(
        TOPIC_READY,
        "Unknown",
        "WaitingForTopicOperator",
        f"KafkaTopic {observed.topic_name} has no Ready condition for generation {state.generation} yet "
        "(is a Strimzi topic operator watching this namespace?)",
    )


def workload_condition(kind: str, state: WorkloadState | None, suspended: bool) -> Condition:
    role = kind.removesuffix("Ready").lower()
    if state is None:
        return Condition(kind, "False", "DeploymentMissing", f"the {role} Deployment does not exist yet")
    if suspended:
        return Condition(kind, "False", "Suspended", f"spec.suspend is true: the {role} is {state.describe()}")
    if state.deadline_exceeded:
        return Condition(kind, "False", "ProgressDeadlineExceeded", f"the {role} rollout is stuck: {state.describe()}")
    if not state.rolled_out:
        return Condition(kind, "False", "RollingOut", f"the {role} is rolling out: {state.describe()}")
    return Condition(kind, "True", "Available", f"the {role}: {state.describe()}")


def ready_condition(observed: Observed, parts: Sequence[Condition]) -> Condition:
    if observed.problem is not None:
        return Condition(READY, "False", observed.problem.reason, observed.problem.message)
    if observed.suspended:
        return Condition(READY, "False", "Suspended", "spec.suspend is true: producer and consumer are scaled to zero")
    required = [part for part in parts if part.type != TOPIC_READY or observed.require_topic_ready]
    failing = [part for part in required if not part.ok]
    if failing:
        first = failing[0]
        return Condition(
            READY, "False", f"{first.type.removesuffix('Ready')}NotReady", "; ".join(part.message for part in failing)
        )
    if observed.require_topic_ready:
        return Condition(READY, "True", "Streaming", "topic, producer and consumer are ready")
    return Condition(
        READY, "True", "Streaming", "producer and consumer are ready (TopicReady not required by the operator)"
    )


def conditions(observed: Observed) -> list[Condition]:
    parts = [
        topic_condition(observed),
        workload_condition(PRODUCER_READY, observed.producer, observed.suspended),
        workload_condition(CONSUMER_READY, observed.consumer, observed.suspended),
    ]
    return [ready_condition(observed, parts), *parts]


def render(
    current: Sequence[Condition],
    previous: Sequence[Mapping[str, Any]],
    *,
    observed_generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """Conditions as status entries; lastTransitionTime moves only when a condition's status changes."""
    before = {str(item.get("type")): item for item in previous}
    rendered = []
    for condition in current:
        old = before.get(condition.type)
        changed = old is None or old.get("status") != condition.status or not old.get("lastTransitionTime")
        rendered.append(
            {
                "type": condition.type,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": now if changed or old is None else old["lastTransitionTime"],
                "observedGeneration": observed_generation,
            }
        )
    return rendered


def same_status(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Equal apart from timestamps: no need to patch."""

    def strip(status: Mapping[str, Any]) -> dict[str, Any]:
        copy = {key: value for key, value in status.items() if key != "conditions"}
        copy["conditions"] = [
            {key: value for key, value in item.items() if key != "lastTransitionTime"}
            for item in status.get("conditions") or ()
        ]
        return copy

    return strip(first) == strip(second)
