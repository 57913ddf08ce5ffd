"""bench.e2e's pure logic: nearest-rank percentiles, first sightings per layer, the start-up filter, ratios, the
summary table and the settings (bench/e2e/stats.py, bench/e2e/__main__.py's config)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: `bench` is a namespace package

stats = importlib.import_module("bench.e2e.stats")
bench_main = importlib.import_module("bench.e2e.__main__")

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.01, 1.0), (0.05, 1.0), (0.06, 2.0), (0.5, 10.0), (0.51, 11.0), (0.95, 19.0), (0.96, 20.0), (1.0, 20.0)],
)
def test_nearest_rank_is_the_ceil_rank_of_the_sorted_values(share: float, expected: float) -> None:
    values = [float(v) for v in range(20, 0, -1)]  # 20 .. 1, unsorted on purpose
    assert stats.nearest_rank(values, share) == expected


def test_nearest_rank_never_interpolates() -> None:
    assert stats.nearest_rank([1.0, 100.0], 0.5) == 1.0
    assert stats.nearest_rank([1.0, 100.0], 0.95) == 100.0
    assert stats.nearest_rank([7.5], 0.95) == 7.5


@pytest.mark.parametrize("share", [0.0, -0.1, 1.01])
def test_nearest_rank_refuses_a_share_outside_0_1(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        stats.nearest_rank([1.0], share)


def test_nearest_rank_refuses_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        stats.nearest_rank([], 0.5)


def test_latencies_keep_every_quote_from_the_start_on_and_drop_nothing_else() -> None:
    first_seen = {("A", 100.0): 130.0, ("A", 99.0): 200.0, ("B", 101.0): 500.0, ("B", 98.0): 99.0}
    assert sorted(stats.latencies(first_seen, since=99.0)) == [30.0, 101.0, 399.0]
    assert stats.latencies(first_seen, since=1000.0) == []


def test_summarize_counts_and_takes_nearest_rank_percentiles() -> None:
    assert stats.summarize([]) is None
    summary = stats.summarize([float(v) for v in range(1, 101)])
    assert summary == stats.Summary(count=100, p50=50.0, p95=95.0, max=100.0)


def test_ratio_is_none_for_a_meaningless_denominator() -> None:
    assert stats.ratio(60.0, 20.0) == 3.0
    assert stats.ratio(1.0, 0.0) is None
    assert stats.ratio(1.0, -2.0) is None


def test_running_line_matches_the_demo_s_banner() -> None:
    assert stats.running_line("\nstockfeed demo is running:\n")
    assert not stats.running_line("starting consumer ...")


def test_sightings_keep_the_first_time_of_every_quote_in_each_layer() -> None:
    seen = stats.Sightings()
    seen.observe(10.0, [("A", 1.0), ("A", 2.0)], [])  # silver first, gold not built yet
    seen.observe(11.0, [("A", 1.0), ("A", 2.0), ("B", 3.0)], [("A", 2.0), ("B", 3.0)])
    seen.observe(12.0, [("A", 1.0), ("A", 2.0), ("B", 3.0)], [("A", 2.0), ("B", 3.0)])
    assert seen.silver == {("A", 1.0): 10.0, ("A", 2.0): 10.0, ("B", 3.0): 11.0}
    # (A, 1) never is gold's row, but gold reflects it (a newer quote of A) from 11.0 on
    assert seen.gold == {("A", 1.0): 11.0, ("A", 2.0): 11.0, ("B", 3.0): 11.0}
    assert seen.gold_exact == {("A", 2.0): 11.0, ("B", 3.0): 11.0}
    assert not seen.pending


def test_sightings_count_a_late_quote_from_its_first_poll_in_silver() -> None:
    seen = stats.Sightings()
    seen.observe(10.0, [("A", 5.0)], [("A", 5.0)])
    seen.observe(20.0, [("A", 5.0), ("A", 3.0)], [("A", 5.0)])  # t = 3 arrives late, older than gold's row
    assert seen.silver[("A", 3.0)] == 20.0
    assert seen.gold[("A", 3.0)] == 20.0  # never before it was in silver
    assert ("A", 3.0) not in seen.gold_exact


def test_sightings_wait_for_gold_to_reach_a_quote() -> None:
    seen = stats.Sightings()
    seen.observe(10.0, [("A", 1.0), ("A", 2.0)], [("A", 1.0)])  # dbt built silver, gold still the older quote
    assert ("A", 2.0) not in seen.gold
    assert seen.pending == {("A", 2.0)}
    seen.observe(11.0, [("A", 1.0), ("A", 2.0)], [])  # a poll without gold rows changes nothing
    seen.observe(12.0, [("A", 1.0), ("A", 2.0)], [("A", 2.0)])
    assert seen.gold[("A", 2.0)] == 12.0
    assert seen.layer("gold exact") == {("A", 1.0): 10.0, ("A", 2.0): 12.0}


def test_format_table_shows_every_mode_and_layer_then_the_ratios_and_the_sampling_bound() -> None:
    results = {
        "cron": {"silver": stats.Summary(100, 60.0, 90.0, 120.0), "gold": None},
        "events": {"silver": stats.Summary(120, 15.0, 30.0, 45.5), "gold": stats.Summary(3, 1.0, 2.0, 2.0)},
    }
    text = stats.format_table(results, poll_seconds=1.0)
    lines = text.splitlines()
    assert lines[0].split() == ["mode", "layer", "count", "p50", "s", "p95", "s", "max", "s"]
    assert lines[1].split() == ["cron", "silver", "100", "60.0", "90.0", "120.0"]
    assert lines[2].split() == ["cron", "gold", "0", "-", "-", "-"]
    assert lines[3].split() == ["events", "silver", "120", "15.0", "30.0", "45.5"]
    assert lines[4].split() == ["events", "gold", "3", "1.0", "2.0", "2.0"]
    assert "cron/events" in lines[6]
    assert lines[7].split() == ["silver", "4.00x", "3.00x"]
    assert lines[8].split() == ["gold", "-", "-"]
    assert "every 1 s" in text
    assert "0 to 1 s" in text


def test_format_table_puts_every_other_mode_over_events() -> None:
    results = {
        "cron": {"silver": stats.Summary(100, 60.0, 90.0, 120.0)},
        "events-cold": {"silver": stats.Summary(100, 20.0, 30.0, 40.0)},
        "events": {"silver": stats.Summary(100, 10.0, 20.0, 25.0)},
    }
    lines = stats.format_table(results, poll_seconds=1.0).splitlines()
    assert lines[3].split() == ["events", "silver", "100", "10.0", "20.0", "25.0"]
    assert lines[5].split() == ["cron/events", "p50", "p95"]
    assert lines[6].split() == ["silver", "6.00x", "4.50x"]
    assert lines[8].split() == ["events-cold/events", "p50", "p95"]
    assert lines[9].split() == ["silver", "2.00x", "1.50x"]


def test_format_table_without_both_modes_has_no_ratio() -> None:
    text = stats.format_table({"cron": {"silver": stats.Summary(1, 2.0, 2.0, 2.0)}}, poll_seconds=0.5)
    assert "cron/events" not in text
    assert "every 0.5 s" in text


def test_config_defaults_and_overrides() -> None:
    assert bench_main.config({}) == bench_main.Config(420, ("cron", "events-cold", "events"), 1.0, 60.0)
    cfg = bench_main.config({"BENCH_E2E_SECONDS": "240", "BENCH_E2E_MODES": " events ", "BENCH_E2E_POLL_SECONDS": "2"})
    assert cfg == bench_main.Config(240, ("events",), 2.0, 60.0)


@pytest.mark.parametrize(
    "env",
    [
        {"BENCH_E2E_SECONDS": "60"},
        {"BENCH_E2E_MODES": "cron,hourly"},
        {"BENCH_E2E_MODES": "cron,cron"},
        {"BENCH_E2E_MODES": ","},
        {"BENCH_E2E_POLL_SECONDS": "0"},
        {"BENCH_E2E_SECONDS": "soon"},
    ],
)
def test_config_refuses_bad_settings(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - int()'s own message or ours
        bench_main.config(env)
