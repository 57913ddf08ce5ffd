"""What the running operator remembers between handler calls (kept in kopf's memo, lost on restart on purpose).

Everything here can be rebuilt from the cluster: a restart resumes every feed, re-applies its children and
recomputes its status. Keys are (namespace, feed name).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from stockfeed_operator.conditions import Problem
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.kube import Kube
from stockfeed_operator.naming import Role
from stockfeed_operator.observe import TopicState, WorkloadState
from stockfeed_operator.topic_admin import TopicAdmin

FeedKey = tuple[str, str]
ChildState = WorkloadState | TopicState


@dataclass
class FeedMemory:
    uid: str = ""
    problem: Problem | None = None
    observed_generation: int | None = None
    # the children as the last apply answered (can be fresher than the watch); dropped when a child is deleted
    applied: dict[Role, ChildState] = field(default_factory=dict)
    applied_config_version: int = 0  # the ConfigMap's resourceVersion after our last apply (it has no generation)
    # external Kafka: the topic this process recorded in the feed's status ("" when it removed the record)
    created_topic: str | None = None
    published: dict[str, Any] | None = None  # the status last written, to skip writes that change nothing
    reconcile_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    status_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class OperatorState:
    settings: OperatorSettings
    kube: Kube
    topic_admin: TopicAdmin | None = None  # only with OPERATOR_KAFKA_PROVIDER=external
    feeds: defaultdict[FeedKey, FeedMemory] = field(default_factory=lambda: defaultdict(FeedMemory))

    def memory(self, key: FeedKey, uid: str) -> FeedMemory:
        """The feed's memory; a feed deleted and created again under the same name starts afresh."""
        memory = self.feeds[key]
        if memory.uid != uid:
            memory = self.feeds[key] = FeedMemory(uid=uid)
        return memory

    def forget(self, key: FeedKey) -> None:
        self.feeds.pop(key, None)
