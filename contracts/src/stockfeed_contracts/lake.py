"""The bronze lake's contract: default names, the object key layout (built and parsed here only), the symbol rule.

    <prefix>/topic=<topic>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first offset, 20 digits>.ndjson.gz

The consumer writes keys with `bronze_key`; the loader reads them back with `parse_bronze_key` and finds the
topics under a prefix with `topic_directory` / `topic_of_directory`. Every input of a key is a property of a
batch's first record in the Kafka log, so a batch re-read after a crash gets the same key and overwrites its
earlier attempt. Dead letters use the same layout under their own prefix (`DEFAULT_DEAD_LETTER_PREFIX`), which
lies outside the data prefix; a key with a `dead-letter` directory anywhere is never data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from stockfeed_contracts.validate import QUOTE_V1, load_schema

DEFAULT_BUCKET = "bronze-transactions"
DEFAULT_PREFIX = "bronze/"  # where data objects go; one `topic=<name>/` directory per topic below it
DEFAULT_DEAD_LETTER_PREFIX = "dead-letter/"
DEAD_LETTER_SEGMENT = "dead-letter"
QUOTES_TOPIC = "stock-quotes"
TRADES_TOPIC = "stock-trades"
OBJECT_SUFFIX = ".ndjson.gz"
OFFSET_DIGITS = 20  # any int64 offset, zero-padded so keys of one hour and partition sort by offset
TOPIC_SEGMENT = "topic="

# Kafka's own rule for topic names; these characters are also safe in S3 keys
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_KEY = re.compile(
    r"(?P<head>(?:.*/)?)topic=(?P<topic>[A-Za-z0-9._-]{1,249})/dt=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    rf"(?P=topic)\+(?P<partition>\d+)\+(?P<offset>\d{{{OFFSET_DIGITS}}}){re.escape(OBJECT_SUFFIX)}"
)


@dataclass(frozen=True)
class BronzeKey:
    """A parsed object key; `bronze_key(*key.parts())` gives the key back."""

    prefix: str  # without surrounding slashes; "" for none
    topic: str
    partition: int
    first_offset: int
    hour: datetime  # UTC, naive: the start of the hour of the batch's first record

    @property
    def topic_directory(self) -> str:
        return topic_directory(self.prefix, self.topic)

    def hour_directory_at(self, moment: datetime) -> str:
        """The key prefix of `moment`'s hour directory of this key's topic (ends with "/")."""
        return f"{self.topic_directory}{hour_directory(moment)}/"


def is_topic_name(topic: str) -> bool:
    return TOPIC_NAME.fullmatch(topic) is not None


def _head(prefix: str) -> str:
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


def topic_directory(prefix: str, topic: str) -> str:
    """`<prefix>/topic=<topic>/`: the directory all of a topic's objects share (the loader's unit of listing)."""
    if not is_topic_name(topic):
        raise ValueError(f"not a Kafka topic name: {topic!r}")
    return f"{_head(prefix)}{TOPIC_SEGMENT}{topic}/"


def topic_of_directory(prefix: str, directory: str) -> str | None:
    """The topic a listed common prefix names (`<prefix>/topic=<t>/`), or None for anything else below `prefix`."""
    head = _head(prefix)
    if not directory.startswith(head) or not directory.endswith("/"):
        return None
    segment = directory[len(head) : -1]
    if not segment.startswith(TOPIC_SEGMENT):
        return None
    topic = segment[len(TOPIC_SEGMENT) :]
    return topic if is_topic_name(topic) else None


def hour_directory(moment: datetime) -> str:
    """`dt=YYYY-MM-DD/hour=HH` of a moment (aware moments are taken in UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"dt={moment:%Y-%m-%d}/hour={moment:%H}"


def timestamp_hour(timestamp_ms: int) -> datetime:
    """The UTC moment of a Kafka record timestamp; unknown timestamps (< 0) map to the epoch."""
    return datetime.fromtimestamp(max(timestamp_ms, 0) / 1000, tz=UTC)


def object_name(topic: str, partition: int, first_offset: int) -> str:
    """The file name part: `<topic>+<partition>+<offset>.ndjson.gz` (Kafka Connect's naming, zero-padded)."""
    if not is_topic_name(topic):
        raise ValueError(f"not a Kafka topic name: {topic!r}")
    if partition < 0 or first_offset < 0:
        raise ValueError(f"partition and offset must be >= 0, got {partition} and {first_offset}")
    return f"{topic}+{partition}+{first_offset:0{OFFSET_DIGITS}d}{OBJECT_SUFFIX}"


def bronze_key(prefix: str, topic: str, partition: int, first_offset: int, first_timestamp_ms: int) -> str:
    """The full key of a batch's object under `prefix` (the data prefix, or the dead-letter prefix)."""
    name = object_name(topic, partition, first_offset)
    return f"{topic_directory(prefix, topic)}{hour_directory(timestamp_hour(first_timestamp_ms))}/{name}"


def parse_bronze_key(key: str) -> BronzeKey | None:
    """The parts of a key `bronze_key` built, or None for any key off that layout."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    try:
        hour = datetime.strptime(f"{match['date']} {match['hour']}", "%Y-%m-%d %H")
    except ValueError:
        return None
    return BronzeKey(match["head"].strip("/"), match["topic"], int(match["partition"]), int(match["offset"]), hour)


def is_dead_letter(key: str) -> bool:
    """True for keys under any `dead-letter` directory: those objects are never loaded as data."""
    return DEAD_LETTER_SEGMENT in key.split("/")


def anchored_pattern(pattern: str) -> str:
    """JSON Schema's `$` as the full validator reads it: end of string (`\\Z`), not "before a final newline"."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


@cache
def symbol_pattern() -> re.Pattern[str]:
    """The symbol rule of quote v1 (trade v1 uses the same), compiled with `\\Z`: "X\\n" is not a symbol."""
    return re.compile(anchored_pattern(load_schema(QUOTE_V1)["properties"]["symbol"]["pattern"]))


SYMBOL_PATTERN = symbol_pattern()  # anchored both ends: `.match` and `.fullmatch` agree


def is_symbol(value: object) -> bool:
    return isinstance(value, str) and SYMBOL_PATTERN.match(value) is not None
