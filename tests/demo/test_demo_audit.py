"""The bounded demo's verdict, on fixed inputs: the loss count (tools/demo/audit.py) and per-symbol freshness."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "demo"))

import audit
import demo
from progress import Warehouse

pytestmark = pytest.mark.unit

SINCE = 1_780_000_000.0


def quote(symbol: str, t: int, fetched_at: float = SINCE + 5, feed: str = "quotes") -> bytes:
    record = {"schema_version": "quote.v1", "symbol": symbol, "t": t, "c": 1.0, "fetched_at": fetched_at, "feed": feed}
    return json.dumps(record).encode()


def trade(symbol: str, t: int, price: float, conditions: list[str] | None = None) -> bytes:
    record = {"schema_version": "trade.v1", "s": symbol, "t": t, "p": price, "v": 10.0, "fetched_at": SINCE + 1,
              "feed": "trades"}  # fmt: skip
    if conditions is not None:
        record["c"] = conditions
    return json.dumps(record).encode()


def test_a_quote_polled_twice_is_one_quote_and_old_runs_are_left_out() -> None:
    delivered = audit.delivered_keys([quote("AAPL", 1), quote("AAPL", 1), quote("MSFT", 2), quote("V", 3, SINCE - 1)],
                                     SINCE)  # fmt: skip
    assert sorted(set(delivered.quotes["quotes"])) == [("AAPL", 1), ("MSFT", 2)]
    assert audit.summary(delivered) == "2 quotes (distinct symbol, t) and 0 trades delivered"


def test_equal_sets_are_no_problem() -> None:
    delivered = audit.delivered_keys([quote("AAPL", 1), trade("AMD", 5, 1.5, ["1"]), trade("AMD", 5, 1.5)], SINCE)
    silver = audit.Keys(
        quotes={"quotes": [("AAPL", 1)]},
        trades={"trades": [("AMD", 5, 1.5, 10.0, ("1",)), ("AMD", 5, 1.5, 10.0, ())]},
    )
    assert audit.compare(delivered, silver) == []


@pytest.mark.parametrize(
    ("silver", "expected"),
    [
        (audit.Keys(quotes={"quotes": []}), "quotes of feed quotes: 1 missing from silver (e.g. ('AAPL', 1))"),
        (audit.Keys(quotes={"quotes": [("AAPL", 1), ("AAPL", 1)]}), "quotes of feed quotes: 1 twice in silver"),
        (audit.Keys(quotes={"quotes": [("AAPL", 1), ("AAPL", 2)]}), "quotes of feed quotes: 1 not delivered"),
        (audit.Keys(quotes={"quotes": [("AAPL", 1)]}, trades={"trades": []}), None),
    ],
)
def test_every_difference_is_named(silver: audit.Keys, expected: str | None) -> None:
    problems = audit.compare(audit.delivered_keys([quote("AAPL", 1)], SINCE), silver)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(expected)


def test_a_missing_trade_is_found() -> None:
    delivered = audit.delivered_keys([trade("AMD", 5, 1.5), trade("AMD", 6, 1.5)], SINCE)
    problems = audit.compare(delivered, audit.Keys(trades={"trades": [("AMD", 5, 1.5, 10.0, ())]}))
    assert problems == ["trades of feed trades: 1 missing from silver (e.g. ('AMD', 6, 1.5, 10.0, ()))"]


def feeds() -> list[dict[str, Any]]:
    return demo.demo_feeds("AAPL,MSFT", "AMD", "run7-")


def test_the_topic_prefix_names_each_feeds_topic() -> None:
    assert [feed["spec"]["kafka"]["topic"] for feed in feeds()] == ["run7-stock-quotes", "run7-stock-trades"]


def sample(**ages: float) -> Warehouse:
    keyed = {("trades" if symbol == "AMD" else "quotes", symbol): age for symbol, age in ages.items()}
    return Warehouse(raw=1, silver=1, gold_symbols=2, freshness_seconds=1.0, feed_symbols=frozenset(keyed),
                     symbol_ages=keyed)  # fmt: skip


def test_each_symbol_must_be_fresh_not_only_the_newest(capsys: pytest.CaptureFixture[str]) -> None:
    # AAPL is 5 s old, which made the old check pass; MSFT has not moved for 10 minutes.
    assert demo.verdict([sample(AAPL=5, MSFT=600, AMD=30)], feeds(), []) == 1
    assert "stale in gold (> 120s): MSFT (quotes) 600s" in capsys.readouterr().err


def test_the_freshest_sample_of_each_symbol_counts() -> None:
    recent = [sample(AAPL=5, MSFT=150, AMD=30), sample(AAPL=70, MSFT=20, AMD=90)]
    assert demo.verdict(recent, feeds(), []) == 0


def test_losses_fail_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.verdict([sample(AAPL=5, MSFT=5, AMD=5)], feeds(), ["quotes of feed quotes: 1 missing"]) == 1
    assert "FAILED: quotes of feed quotes: 1 missing" in capsys.readouterr().err


def test_a_symbol_never_in_gold_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.verdict([sample(AAPL=5, AMD=5)], feeds(), []) == 1
    assert "missing MSFT (quotes)" in capsys.readouterr().err
