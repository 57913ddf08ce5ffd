"""Pure logic of bench.e2e: first sightings per layer, the start-up filter, nearest-rank percentiles, ratios and
the summary table. No I/O here (tests/bench/test_e2e_stats.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Quote = tuple[str, float]  # (symbol, t): t is the quote's time, epoch seconds
RUNNING_LINE = "stockfeed demo is running"
LAYERS = ("silver", "gold", "gold exact")


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it
    (the ceil(share * n)-th smallest, 1-based). Always one of `values`; never interpolated."""
    if not values:
        raise ValueError("nearest_rank of no values")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], not {share}")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))  # the epsilon: 0.95 * 20 is 19.000000000000004
    return ordered[rank - 1]


@dataclass
class Sightings:
    """The first wall-clock time each quote was seen, per layer, fed one warehouse poll at a time.

    silver: the first poll with (symbol, t) in silver_clean_stock_quotes.
    gold exact: the first poll with (symbol, t) itself in gold_kpi. gold_kpi holds one row per symbol (its newest
        quote), so a quote overtaken by a newer one of its symbol before a DAG run is never there: this layer
        samples the newest quote of each run only.
    gold: every silver quote: the first poll at which gold_kpi shows the quote or a newer one of its symbol, and
        the quote is in silver (a late quote older than gold's row counts from its first poll in silver).
    """

    silver: dict[Quote, float] = field(default_factory=dict)
    gold: dict[Quote, float] = field(default_factory=dict)
    gold_exact: dict[Quote, float] = field(default_factory=dict)
    gold_newest: dict[str, float] = field(default_factory=dict)  # the greatest t gold_kpi has shown per symbol
    pending: set[Quote] = field(default_factory=set)  # in silver, not yet reflected in gold

    def observe(self, now: float, silver_rows: Iterable[Quote], gold_rows: Iterable[Quote]) -> None:
        """One consistent poll of both tables (one read-only connection) at wall-clock time `now`."""
        for quote in silver_rows:
            if quote not in self.silver:
                self.silver[quote] = now
                self.pending.add(quote)
        for quote in gold_rows:
            self.gold_exact.setdefault(quote, now)
            symbol, t = quote
            self.gold_newest[symbol] = max(t, self.gold_newest.get(symbol, t))
        reflected = {q for q in self.pending if q[1] <= self.gold_newest.get(q[0], -math.inf)}
        for quote in reflected:
            self.gold[quote] = now
        self.pending -= reflected

    def layer(self, name: str) -> Mapping[Quote, float]:
        return {"silver": self.silver, "gold": self.gold, "gold exact": self.gold_exact}[name]


def latencies(first_seen: Mapping[Quote, float], since: float, until: float = float("inf")) -> list[float]:
    """first seen - t for every quote with `since` <= t < `until`: after the start-up transient, and early enough
    that the timed run, not the demo's wind-down (producers stopped, the drain's last DAG run), shows it."""
    return [seen - t for (_, t), seen in first_seen.items() if since <= t < until]


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    max: float


def summarize(values: Sequence[float]) -> Summary | None:
    if not values:
        return None
    return Summary(len(values), nearest_rank(values, 0.50), nearest_rank(values, 0.95), max(values))


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when it means nothing (a zero or negative denominator)."""
    return numerator / denominator if denominator > 0 else None


def running_line(line: str) -> bool:
    """Whether a line of the demo's output says its pipeline is running (tools/demo/demo.py prints it)."""
    return RUNNING_LINE in line


def format_table(results: Mapping[str, Mapping[str, Summary | None]], poll_seconds: float) -> str:
    """Count, p50, p95 and max per mode and layer, then each other mode's p50 and p95 over events mode's."""
    lines = [f"{'mode':<12} {'layer':<11} {'count':>7} {'p50 s':>8} {'p95 s':>8} {'max s':>8}"]
    for mode, layers in results.items():
        for layer, summary in layers.items():
            if summary is None:
                lines.append(f"{mode:<12} {layer:<11} {0:>7} {'-':>8} {'-':>8} {'-':>8}")
            else:
                lines.append(
                    f"{mode:<12} {layer:<11} {summary.count:>7} {summary.p50:>8.1f} {summary.p95:>8.1f} "
                    f"{summary.max:>8.1f}"
                )
    for other in (mode for mode in results if mode != "events" and "events" in results):
        lines.append("")
        lines.append(f"{other + '/events':<24} {'p50':>8} {'p95':>8}")
        for layer in results[other]:
            slow, events = results[other][layer], results["events"].get(layer)
            cells = []
            for pick in ("p50", "p95"):
                value = None if slow is None or events is None else ratio(getattr(slow, pick), getattr(events, pick))
                cells.append(f"{'-' if value is None else f'{value:.2f}x':>8}")
            lines.append(f"{layer:<24} {cells[0]} {cells[1]}")
    lines.append("")
    lines.append(
        f"sampling: the warehouse is polled every {poll_seconds:g} s, so each latency is late by 0 to "
        f"{poll_seconds:g} s (plus the poll's own duration); t is whole seconds, which adds 0 to 1 s."
    )
    return "\n".join(lines)
