"""`python -m tests.fuzz --minutes N`: run the fuzz properties for N minutes in all, split across the targets.

Prints, per target, the number of inputs tried and every distinct crash (input and traceback); exits 1 if any
input failed. `--target loader --minutes 3` runs one target; `--seed` replays a run.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.fuzz.properties import TARGETS
from tests.fuzz.runner import run

# the share of the time each target gets when all run: the contract check is the cheapest per input
WEIGHTS = {"contract": 4, "loader": 3, "consumer": 3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="time budget in all (default 1)")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append", help="one target (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    args = parser.parse_args(argv)
    names = args.target or list(WEIGHTS)
    seed = args.seed if args.seed is not None else int(time.time())
    total_weight = sum(WEIGHTS[name] for name in names)
    reports = []
    for offset, name in enumerate(names):
        budget = args.minutes * 60 * WEIGHTS[name] / total_weight
        print(f"fuzzing {name} for {budget / 60:.1f} min (seed {seed + offset})", flush=True)
        report = run(TARGETS[name], seed + offset, seconds=budget)
        reports.append(report)
        print(report.summary(), flush=True)
        for crash in report.crashes:
            print(crash.describe(), flush=True)
    print("\nsummary")
    for report in reports:
        print(f"  {report.summary()}")
    tried = sum(report.tried for report in reports)
    failing = sum(report.crash_count for report in reports)
    minutes = sum(report.seconds for report in reports) / 60
    print(f"  total: {tried} inputs in {minutes:.1f} min, {failing} failing inputs")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
