"""Two feeds may not share a topic on one Kafka cluster: the older keeps it, the newer reports why."""

from __future__ import annotations

import pytest

from stockfeed_operator.conflicts import topic_conflict

pytestmark = pytest.mark.unit


def test_a_sole_claim_is_no_conflict() -> None:
    assert topic_conflict("a", "stock-quotes", "main", [("2026-01-01T00:00:00Z", "a")]) is None
    assert topic_conflict("a", "stock-quotes", "main", []) is None


def test_the_older_feed_keeps_the_topic() -> None:
    claims = [("2026-01-02T00:00:00Z", "late"), ("2026-01-01T00:00:00Z", "early")]
    assert topic_conflict("early", "stock-quotes", "main", claims) is None
    problem = topic_conflict("late", "stock-quotes", "main", claims)
    assert problem is not None
    assert problem.reason == "TopicConflict"
    assert "early" in problem.message
    assert "stock-quotes" in problem.message


def test_same_second_ties_break_by_name() -> None:
    claims = [("2026-01-01T00:00:00Z", "b"), ("2026-01-01T00:00:00Z", "a")]
    assert topic_conflict("a", "t", "main", claims) is None
    assert topic_conflict("b", "t", "main", claims) is not None
