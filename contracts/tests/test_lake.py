"""The bronze lake's contract: keys built and parsed by one pair of functions, topic directories, the symbol rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from stockfeed_contracts import QUOTE_V1, TRADE_V1, load_schema
from stockfeed_contracts.lake import (
    DEFAULT_BUCKET,
    DEFAULT_DEAD_LETTER_PREFIX,
    DEFAULT_PREFIX,
    QUOTES_TOPIC,
    SYMBOL_PATTERN,
    TRADES_TOPIC,
    BronzeKey,
    bronze_key,
    hour_directory,
    is_dead_letter,
    is_symbol,
    object_name,
    parse_bronze_key,
    timestamp_hour,
    topic_directory,
    topic_of_directory,
)

pytestmark = pytest.mark.unit

# 2026-11-27 08:59:59.999 UTC and the next millisecond
BEFORE_NINE = 1_795_769_999_999
NINE = 1_795_770_000_000


def test_the_names_users_already_know() -> None:
    assert (DEFAULT_BUCKET, DEFAULT_PREFIX, DEFAULT_DEAD_LETTER_PREFIX) == (
        "bronze-transactions",
        "bronze/",
        "dead-letter/",
    )
    assert (QUOTES_TOPIC, TRADES_TOPIC) == ("stock-quotes", "stock-trades")


def test_key_layout_names_topic_date_hour_partition_and_padded_offset() -> None:
    key = bronze_key("bronze", "stock-quotes", 2, 42, NINE)
    assert key == "bronze/topic=stock-quotes/dt=2026-11-27/hour=09/stock-quotes+2+00000000000000000042.ndjson.gz"


@pytest.mark.parametrize(
    ("prefix", "topic", "partition", "offset", "timestamp_ms"),
    list(
        itertools.product(
            ["bronze", "/bronze/", "", "a/b", "dead-letter"],
            ["t", "stock-quotes", "a.b_c-9"],
            [0, 11],
            [0, 7, 2**63 - 1],
            [-1, BEFORE_NINE, NINE],
        )
    ),
)
def test_parse_gives_back_what_build_put_in(
    prefix: str, topic: str, partition: int, offset: int, timestamp_ms: int
) -> None:
    key = bronze_key(prefix, topic, partition, offset, timestamp_ms)
    parsed = parse_bronze_key(key)
    assert parsed == BronzeKey(prefix.strip("/"), topic, partition, offset, timestamp_hour(timestamp_ms).replace(
        minute=0, second=0, microsecond=0, tzinfo=None))  # fmt: skip
    assert bronze_key(parsed.prefix, parsed.topic, parsed.partition, parsed.first_offset,
                      int(parsed.hour.replace(tzinfo=UTC).timestamp() * 1000)) == key  # fmt: skip
    assert key.startswith(parsed.topic_directory)


@pytest.mark.parametrize(
    "key",
    [
        "bronze/other-layout/x.ndjson.gz",
        "bronze/topic=t/dt=2024-13-01/hour=07/t+0+00000000000000000000.ndjson.gz",  # not a date
        "bronze/topic=t/dt=2024-05-01/hour=07/u+0+00000000000000000000.ndjson.gz",  # another topic's file
        "bronze/topic=t/dt=2024-05-01/hour=07/t+0+0.ndjson.gz",  # offset not padded
        "bronze/topic=t/dt=2024-05-01/hour=07/t+0+00000000000000000000.ndjson.gz\n",
        "bronze/topic=t/dt=2024-05-01/hour=07/t+0+00000000000000000000.json",
    ],
)
def test_keys_off_the_layout_do_not_parse(key: str) -> None:
    assert parse_bronze_key(key) is None


def test_the_hour_comes_from_the_first_record_timestamp_in_utc() -> None:
    assert hour_directory(timestamp_hour(BEFORE_NINE)) == "dt=2026-11-27/hour=08"
    assert hour_directory(timestamp_hour(NINE)) == "dt=2026-11-27/hour=09"
    assert hour_directory(timestamp_hour(-1)) == "dt=1970-01-01/hour=00"  # unknown timestamps: the epoch
    assert hour_directory(datetime(2024, 5, 1, 7, 30)) == "dt=2024-05-01/hour=07"


def test_same_first_record_same_key_and_keys_sort_by_offset() -> None:
    assert bronze_key("bronze", "t", 0, 7, NINE) == bronze_key("bronze", "t", 0, 7, NINE)
    assert bronze_key("bronze", "t", 0, 7, NINE) != bronze_key("bronze", "t", 1, 7, NINE)
    offsets = [0, 9, 10, 99, 100, 10**12, 2**63 - 1]
    keys = [bronze_key("bronze", "t", 0, offset, NINE) for offset in offsets]
    assert sorted(keys) == keys


@pytest.mark.parametrize(
    ("topic", "partition", "offset"), [("bad/topic", 0, 0), ("", 0, 0), ("t\n", 0, 0), ("t", -1, 0), ("t", 0, -5)]
)
def test_impossible_names_are_refused(topic: str, partition: int, offset: int) -> None:
    with pytest.raises(ValueError, match=r"topic name|>= 0"):
        object_name(topic, partition, offset)


def test_topic_directories_round_trip() -> None:
    for prefix in ("bronze", "bronze/", "/bronze/", "a/b/"):
        directory = topic_directory(prefix, "stock-trades")
        assert directory == f"{prefix.strip('/')}/topic=stock-trades/"
        assert topic_of_directory(prefix, directory) == "stock-trades"
    assert topic_directory("", "t") == "topic=t/"
    assert topic_of_directory("", "topic=t/") == "t"
    assert topic_of_directory("bronze/", "bronze/flat/") is None
    assert topic_of_directory("bronze/", "bronze/topic=bad name/") is None
    assert topic_of_directory("bronze/", "other/topic=t/") is None


def test_dead_letter_keys_are_recognised_wherever_the_directory_is() -> None:
    assert is_dead_letter(bronze_key(DEFAULT_DEAD_LETTER_PREFIX, "t", 0, 0, NINE))
    assert is_dead_letter("bronze/dead-letter/x.ndjson.gz")
    assert not is_dead_letter(bronze_key(DEFAULT_PREFIX, "dead-letter-topic", 0, 0, NINE))


def test_the_symbol_rule_is_the_schemas_and_refuses_a_trailing_newline() -> None:
    for version, field in ((QUOTE_V1, "symbol"), (TRADE_V1, "s")):
        assert load_schema(version)["properties"][field]["pattern"].rstrip("$") == SYMBOL_PATTERN.pattern[: -len("\\Z")]
    for good in ("AAPL", "BRK.B", "BINANCE:BTCUSDT"):
        assert is_symbol(good)
    for bad in ("X\n", "aapl", "", ".A", "A" * 21, None, 7):
        assert not is_symbol(bad)
    assert SYMBOL_PATTERN.match("X\n") is None


def test_the_lake_and_envs_import_without_the_validator_dependency() -> None:
    """The operator, dashboard and simulator images install the contracts without fastjsonschema."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['fastjsonschema'] = None; sys.modules['msgspec'] = None\n"
        "from stockfeed_contracts import envs, lake\n"
        "assert lake.is_symbol('AAPL') and envs.variable(envs.LOADER, envs.S3_REGION) == 'LOADER_S3_REGION'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
