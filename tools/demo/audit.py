"""The bounded demo's loss count: every message the producers delivered to Kafka against what reached silver.

A quote is identified by (symbol, t), silver's grain, so a quote polled twice is one quote; a trade by silver's
natural key (symbol, t, price, volume, conditions). What Kafka holds is what the producers delivered (acks=all,
idempotent), so reading the demo's topics from the start is the count of delivered messages.
Comparing is pure (`compare`); reading Kafka and DuckDB happens at the edges.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QuoteKey = tuple[str, int]
TradeKey = tuple[str, int, float, float, tuple[str, ...]]


@dataclass(frozen=True)
class Keys:
    """Identities per feed; lists (not sets) on the silver side, so a duplicate row shows."""

    quotes: dict[str, list[QuoteKey]] = field(default_factory=dict)
    trades: dict[str, list[TradeKey]] = field(default_factory=dict)


def quote_key(record: dict[str, Any]) -> QuoteKey:
    return str(record["symbol"]), int(record["t"])


def trade_key(record: dict[str, Any]) -> TradeKey:
    conditions = tuple(str(c) for c in (record.get("c") or ()))
    return str(record["s"]), int(record["t"]), float(record["p"]), float(record["v"]), conditions


def delivered_keys(records: Iterable[bytes], since: float) -> Keys:
    """The identities in the topics' records (quote.v1 or trade.v1, by schema_version) fetched from `since` on
    (topics reused from an earlier demo hold its records too), per feed."""
    keys = Keys()
    for value in records:
        record = json.loads(value)
        if float(record["fetched_at"]) < since:
            continue
        feed = str(record.get("feed"))
        if record.get("schema_version") == "trade.v1":
            keys.trades.setdefault(feed, []).append(trade_key(record))
        else:
            keys.quotes.setdefault(feed, []).append(quote_key(record))
    return keys


def compare(delivered: Keys, silver: Keys) -> list[str]:
    """Problems, each one line: a delivered identity missing from silver, one silver has twice, or one too many."""
    problems = []
    for kind in ("quotes", "trades"):
        sent: dict[str, list[Any]] = getattr(delivered, kind)
        stored: dict[str, list[Any]] = getattr(silver, kind)
        for feed in sorted(set(sent) | set(stored)):
            want, have = set(sent.get(feed, [])), Counter(stored.get(feed, []))
            missing = want - set(have)
            twice = {key for key, count in have.items() if count > 1}
            extra = set(have) - want
            found_by_label = {"missing from silver": missing, "twice in silver": twice, "not delivered": extra}
            for label, found in found_by_label.items():
                if found:
                    shown = ", ".join(str(key) for key in sorted(found)[:3])
                    problems.append(f"{kind} of feed {feed}: {len(found)} {label} (e.g. {shown})")
    return problems


def summary(delivered: Keys) -> str:
    quotes = sum(len(set(keys)) for keys in delivered.quotes.values())
    trades = sum(len(set(keys)) for keys in delivered.trades.values())
    return f"{quotes} quotes (distinct symbol, t) and {trades} trades delivered"


# --- Kafka ----------------------------------------------------------------------------------------------------------


def _admin_consumer(bootstrap: str) -> Any:
    from confluent_kafka import Consumer

    return Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"demo-audit-{uuid.uuid4().hex}", "enable.auto.commit": False,
        "enable.partition.eof": True, "auto.offset.reset": "earliest",
    })  # fmt: skip


def _partitions(consumer: Any, topics: Sequence[str]) -> list[Any]:
    from confluent_kafka import TopicPartition

    metadata = consumer.list_topics(timeout=10)
    return [TopicPartition(topic, p) for topic in topics for p in sorted(metadata.topics[topic].partitions)]


def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    consumer = _admin_consumer(bootstrap)
    try:
        return {
            (tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1]
            for tp in _partitions(consumer, topics)
        }
    finally:
        consumer.close()


def wait_committed(bootstrap: str, group: str, topics: Sequence[str], timeout: float) -> bool:
    """True once `group` has committed every partition up to its end: everything is in bronze (the consumer
    commits only what it wrote to S3)."""
    from confluent_kafka import Consumer

    ends = end_offsets(bootstrap, topics)
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = watcher.committed(_partitions(watcher, topics), timeout=10)
            if all(max(tp.offset, 0) >= ends[(tp.topic, tp.partition)] for tp in committed):
                return True
            time.sleep(2)
        return False
    finally:
        watcher.close()


def read_topics(bootstrap: str, topics: Sequence[str], timeout: float = 120.0) -> Iterator[bytes]:
    """Every record of `topics` up to their current ends, without joining or committing to any group's offsets."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException

    ends = end_offsets(bootstrap, topics)
    consumer = _admin_consumer(bootstrap)
    try:
        wanted = [tp for tp in _partitions(consumer, topics) if ends[(tp.topic, tp.partition)] > 0]
        for tp in wanted:
            tp.offset = OFFSET_BEGINNING
        consumer.assign(wanted)
        left = {(tp.topic, tp.partition) for tp in wanted}
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {', '.join(topics)} took over {timeout:.0f}s")
            message = consumer.poll(1.0)
            if message is None:
                continue
            where = (message.topic(), message.partition())
            if message.error() is None:
                yield message.value()
                if message.offset() + 1 >= ends[where]:
                    left.discard(where)
            elif message.error().code() == KafkaError._PARTITION_EOF:
                left.discard(where)
            else:  # anything else would only spin until the timeout
                raise KafkaException(message.error())
    finally:
        consumer.close()


# --- DuckDB ---------------------------------------------------------------------------------------------------------


def silver_keys(duckdb_path: Path, since: float) -> Keys:
    """Silver's rows of quotes and trades fetched from `since` on (silver keeps fetched_at as a UTC timestamp)."""
    import duckdb

    keys = Keys()
    with duckdb.connect(str(duckdb_path), read_only=True) as conn:
        quotes = conn.execute(
            "select feed, symbol, t from common.silver_clean_stock_quotes where epoch(fetched_at) >= ?", [since]
        ).fetchall()
        for feed, symbol, t in quotes:
            keys.quotes.setdefault(str(feed), []).append((str(symbol), int(t)))
        trades = conn.execute(
            "select feed, symbol, trade_ms, price, volume, conditions from common.silver_clean_trades"
            " where epoch(fetched_at) >= ?",
            [since],
        ).fetchall()
        for feed, symbol, t, price, volume, conditions in trades:
            parsed = tuple(str(c) for c in (json.loads(conditions) or ()))
            keys.trades.setdefault(str(feed), []).append((str(symbol), int(t), float(price), float(volume), parsed))
    return keys
