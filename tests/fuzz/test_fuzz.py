"""A short, fixed-seed fuzz run of the three targets in `make test` (the long run: `python -m tests.fuzz`)."""

from __future__ import annotations

import pytest

from tests.fuzz.properties import TARGETS
from tests.fuzz.runner import run

pytestmark = pytest.mark.unit

# enough to reach every generator branch many times, about a second per target
EXAMPLES = {"contract": 15_000, "loader": 6_000, "consumer": 7_000}
SEED = 19


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_no_input_breaks_a_property(name: str) -> None:
    report = run(TARGETS[name], SEED, count=EXAMPLES[name])
    assert report.tried == EXAMPLES[name]
    assert not report.crashes, "\n\n".join(crash.describe() for crash in report.crashes)


def test_the_runner_reports_a_crash_with_its_input() -> None:
    from tests.fuzz.properties import Target

    def check(case: int) -> None:
        if case % 2:
            raise RuntimeError("odd")

    report = run(Target("demo", lambda rng: rng.randrange(10), check), seed=1, count=50)
    assert report.tried == 50
    assert report.crash_count > 0
    assert len(report.crashes) == 1
    assert "odd" in report.crashes[0].describe()
    assert "input:" in report.crashes[0].describe()


# --- what the fuzz run found, kept as plain cases -------------------------------------------------------------------


@pytest.mark.parametrize("depth", [999, 1_000, 5_000])
def test_the_fast_path_declines_deeply_nested_objects(depth: int) -> None:
    """msgspec raised RecursionError (not ValueError) past ~1,000 nested objects under an unknown key."""
    from stockfeed_contracts.fast import accepts_json

    raw = b'{"a":' * depth + b"1" + b"}" * depth
    assert accepts_json(raw) is False
    assert accepts_json(raw, "quote.v1") is False
