"""End-to-end latency of every quote: from its time `t` to its first sighting in silver and in gold.

What it measures. For each mode (cron: PIPELINE_SCHEDULE=cron, the DAG every minute; events: the DAG when objects
land in bronze, its dbt steps on the warm dbt worker as the demo runs them; events-cold: the same without the
worker, each dbt step a cold `dbt` process), one after the other and for the same time each, it runs the bounded demo
(tools/demo/demo.py: simulator -> producer -> Kafka -> consumer -> MinIO -> Airflow -> loader -> DuckDB -> dbt)
with a home, topics, a bucket and a consumer group of its own, and polls the demo's DuckDB warehouse read-only.
For EVERY quote (symbol, t) -- not only each symbol's newest -- it keeps the first wall-clock time it was seen:

  silver      the quote is in common.silver_clean_stock_quotes;
  gold        gold_kpi (one row per symbol, its newest quote) shows this quote or a newer one of its symbol, and the
              quote is in silver: the moment the gold view reflects the quote;
  gold exact  the quote itself is gold_kpi's row (only the newest quote of each DAG run can be; a sample, shown
              for comparison).

Latency = first seen - t. The quotes counted are every quote with t from the pipeline's start plus a warm-up (60 s
after the demo prints "stockfeed demo is running") to 120 s before the timed run ends (TAIL_SECONDS: younger ones
would be shown by the demo's wind-down, not the pipeline); none inside that window is dropped.
It prints count, p50, p95 (nearest rank) and max per mode and layer, each mode's p50 and p95 over events', and
what the polls cost. Target: p95 <= 30 s in events mode. Exits non-zero when a demo run fails or a layer saw no
quote.

How to run (the local stack up: `make devstack-up`; no other demo running, ports 8080, 8501 and 18080 free):

    .venv/bin/python -m bench.e2e
    BENCH_E2E_SECONDS=180 BENCH_E2E_MODES=cron .venv/bin/python -m bench.e2e

BENCH_E2E_SECONDS (420): each run's pipeline time (DEMO_SECONDS); BENCH_E2E_MODES ("cron,events-cold,events");
BENCH_E2E_POLL_SECONDS (1.0); BENCH_E2E_WARMUP_SECONDS (60).

Sampling error. A quote is seen at the first poll after it becomes visible, so each latency is late by 0 to one
poll interval (plus the poll's duration, a few ms); a poll that finds the file locked by the loader or dbt is
skipped, which can add another interval. The simulator's t is whole seconds (floored), adding 0 to 1 s. Each poll
holds the file's read lock for its duration; a loader or dbt run that starts then fails and is retried by
Airflow: the table reports how long the polls held the file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from . import demo_run, warehouse
from .stats import LAYERS, Sightings, Summary, format_table, latencies, nearest_rank, summarize

MODES = ("cron", "events-cold", "events")


@dataclass(frozen=True)
class Config:
    seconds: int
    modes: tuple[str, ...]
    poll_seconds: float
    warmup_seconds: float


def config(env: Mapping[str, str]) -> Config:
    """The run's settings from the environment; ValueError on a bad one."""
    seconds = int(env.get("BENCH_E2E_SECONDS", "420"))
    modes = tuple(m.strip() for m in env.get("BENCH_E2E_MODES", ",".join(MODES)).split(",") if m.strip())
    poll_seconds = float(env.get("BENCH_E2E_POLL_SECONDS", "1.0"))
    warmup_seconds = float(env.get("BENCH_E2E_WARMUP_SECONDS", "60"))
    if seconds <= warmup_seconds + TAIL_SECONDS:
        raise ValueError(f"BENCH_E2E_SECONDS={seconds} leaves nothing between the {warmup_seconds:g} s warm-up "
                         f"and the last {TAIL_SECONDS} s")  # fmt: skip
    if not modes or set(modes) - set(MODES) or len(set(modes)) != len(modes):
        raise ValueError(f"BENCH_E2E_MODES must name some of {', '.join(MODES)} once each, not {modes}")
    if poll_seconds <= 0:
        raise ValueError("BENCH_E2E_POLL_SECONDS must be positive")
    return Config(seconds, modes, poll_seconds, warmup_seconds)


# Quotes younger than this at the end of the timed run are not counted: the wind-down would show them, not the
# pipeline. A counted quote the timed run never showed still counts, with the wind-down's (later) sighting.
TAIL_SECONDS = 120


def run_mode(mode: str, cfg: Config) -> tuple[dict[str, Summary | None], list[str]]:
    """One demo run in `mode`: its summaries per layer and its problems (empty when it is good)."""
    if not demo_run.wait_for_free_ports(timeout=1800):
        return dict.fromkeys(LAYERS), [f"{mode}: the demo's ports stayed taken (another demo running?)"]
    print(f"\n=== bench.e2e: {mode} mode, {cfg.seconds} s of pipeline time", flush=True)
    run = demo_run.start(mode, cfg.seconds)
    sightings = Sightings()
    polls = warehouse.PollStats()

    def tick() -> None:
        if (result := warehouse.poll(run.warehouse, polls)) is not None:
            sightings.observe(*result)

    code = demo_run.observe_until_exit(run, cfg.poll_seconds, tick)
    tick()  # the final DAG run of the demo's drain may have written after the last poll
    problems = [] if code == 0 else [f"{mode}: the demo exited {code}"]
    if not run.running_at:
        problems.append(f"{mode}: the demo never said its pipeline was running")
        demo_run.clean_up(run, keep_home=True)
        return dict.fromkeys(LAYERS), problems
    since = run.running_at[0] + cfg.warmup_seconds
    window_end = run.running_at[0] + cfg.seconds
    until = window_end - TAIL_SECONDS
    summaries: dict[str, Summary | None] = {}
    for layer in LAYERS:
        first_seen = sightings.layer(layer)
        summaries[layer] = summarize(latencies(first_seen, since, until))
        in_drain = sum(1 for (_, t), seen in first_seen.items() if since <= t < until and seen > window_end)
        print(f"bench.e2e: {mode} {layer}: {in_drain} counted quotes first seen after the timed run (drain)")
        if summaries[layer] is None and layer != "gold exact":
            problems.append(f"{mode}: no quote with t after the warm-up was seen in {layer}")
    unreflected = sum(1 for _, t in sightings.pending if t >= since)
    print(f"bench.e2e: {mode}: {unreflected} counted silver quotes never reflected in gold")
    print(poll_cost(mode, polls, cfg.poll_seconds))
    demo_run.clean_up(run, keep_home=bool(problems))
    return summaries, problems


def poll_cost(mode: str, polls: warehouse.PollStats, poll_seconds: float) -> str:
    if not polls.durations:
        return f"bench.e2e: {mode}: polls: none read ({polls.missing} before the warehouse, {polls.locked} locked)"
    mean = sum(polls.durations) / len(polls.durations)
    return (
        f"bench.e2e: {mode}: polls: {polls.done} read, {polls.missing} before the warehouse existed, {polls.locked} "
        f"skipped (locked by the loader or dbt, or tables not built); each held the "
        f"file {1000 * mean:.1f} ms on average, p95 {1000 * nearest_rank(polls.durations, 0.95):.1f} ms, max "
        f"{1000 * max(polls.durations):.1f} ms ({100 * mean / poll_seconds:.1f}% of the time)"
    )


def main() -> int:
    try:
        cfg = config(os.environ)
    except ValueError as error:
        print(f"bench.e2e: {error}", file=sys.stderr)
        return 2
    results: dict[str, dict[str, Summary | None]] = {}
    problems: list[str] = []
    for mode in cfg.modes:
        results[mode], mode_problems = run_mode(mode, cfg)
        problems += mode_problems
    print(
        f"\nend-to-end latency of every quote (t from pipeline start + {cfg.warmup_seconds:g} s to the last "
        f"{TAIL_SECONDS} s), "
        f"{cfg.seconds} s per mode; target p95 <= 30 s in events mode:\n"
    )
    print(format_table(results, cfg.poll_seconds))
    for problem in problems:
        print(f"bench.e2e: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
