"""Run fuzz targets for a number of inputs or a time budget; collect each distinct crash once with its input."""

from __future__ import annotations

import random
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from tests.fuzz.properties import Target

MAX_CRASHES_KEPT = 20
INPUT_PREVIEW = 400


@dataclass
class Crash:
    target: str
    seed: int
    index: int  # the input's position in the seeded stream: (seed, index) replays it
    input: Any
    error: str  # the exception's type and message
    traceback: str

    def describe(self) -> str:
        shown = repr(self.input)
        if len(shown) > INPUT_PREVIEW:
            shown = shown[:INPUT_PREVIEW] + f"... ({len(shown)} chars)"
        return f"[{self.target}] seed={self.seed} input #{self.index}: {self.error}\n  input: {shown}\n{self.traceback}"


@dataclass
class Report:
    target: str
    seed: int
    tried: int = 0
    seconds: float = 0.0
    crashes: list[Crash] = field(default_factory=list)
    crash_count: int = 0  # all failing inputs; `crashes` keeps one per distinct (error type, place)

    def summary(self) -> str:
        return (
            f"{self.target}: {self.tried} inputs in {self.seconds:.0f}s (seed {self.seed}), "
            f"{self.crash_count} failing inputs, {len(self.crashes)} distinct"
        )


def _signature(error: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    place = f"{last.filename}:{last.lineno}" if last else "?"
    kind = type(error).__name__
    if isinstance(error, AssertionError):  # wrong answers differ by message, not by line
        kind += ": " + str(error).split(":")[0]
    return kind, place


def run(target: Target, seed: int, *, count: int | None = None, seconds: float | None = None) -> Report:
    """Try inputs until `count` are done or `seconds` have passed (whichever is given; both: the first reached)."""
    if count is None and seconds is None:
        raise ValueError("give a count or a time budget")
    rng = random.Random(seed)
    report = Report(target.name, seed)
    seen: set[tuple[str, str]] = set()
    began = time.monotonic()
    deadline = None if seconds is None else began + seconds
    index = 0
    while (count is None or index < count) and (deadline is None or time.monotonic() < deadline):
        case = target.draw(rng)
        try:
            target.check(case)
        except Exception as error:
            report.crash_count += 1
            signature = _signature(error)
            if signature not in seen and len(report.crashes) < MAX_CRASHES_KEPT:
                seen.add(signature)
                report.crashes.append(
                    Crash(target.name, seed, index, case, f"{type(error).__name__}: {error}", traceback.format_exc())
                )
        index += 1
    report.tried = index
    report.seconds = time.monotonic() - began
    return report
