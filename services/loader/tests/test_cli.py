"""The command's contract for Airflow: exit codes and the one-line summary."""

from __future__ import annotations

import os

import pytest

from stockfeed_loader import cli
from stockfeed_loader.kinds import KindCounts
from stockfeed_loader.runner import RunSummary, new_run_id

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LOADER_"):
            monkeypatch.delenv(name)


def test_bad_config_exits_2_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOADER_BATCH_OBJECTS", "0")
    assert cli.main([]) == cli.EXIT_CONFIG
    assert "LOADER_BATCH_OBJECTS" in capsys.readouterr().err


def test_bad_flag_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--prefix", "no-slash"]) == cli.EXIT_CONFIG
    assert "LOADER_PREFIXES" in capsys.readouterr().err


def test_unknown_flag_exits_2() -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--no-such-flag"])
    assert raised.value.code == cli.EXIT_CONFIG  # argparse's own exit code for usage errors is 2 too


def test_quarantine_exits_1_otherwise_0() -> None:
    assert cli.exit_code(RunSummary("duckdb", "r", loaded=5)) == cli.EXIT_OK
    assert cli.exit_code(RunSummary("duckdb", "r", loaded=5, quarantined=1)) == cli.EXIT_QUARANTINED


def summary_of_a_run() -> RunSummary:
    kinds = KindCounts(quotes=200, trades=45, other=5)
    return RunSummary(
        "snowflake", "run-1", listed=12, new=11, loaded=10, quarantined=1, rows=250, rows_by_kind=kinds, batches=1,
        seconds=1.234,
    )  # fmt: skip


def test_summary_is_one_line_with_objects_rows_per_kind_and_seconds() -> None:
    line = cli.format_summary(summary_of_a_run(), "quarantined")
    assert "\n" not in line
    assert line == (
        "stockfeed-load status=quarantined target=snowflake run=run-1 objects=11 loaded=10 quarantined=1 "
        "rows=250 quote_rows=200 trade_rows=45 other_rows=5 listed=12 new=11 batches=1 seconds=1.23"
    )
    assert cli.format_summary(summary_of_a_run(), "error", "boom").endswith("error='boom'")


def test_summary_parses_as_key_values_like_the_integration_tests_do() -> None:
    line = cli.format_summary(summary_of_a_run(), "ok")
    fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    after_rows = list(fields)[list(fields).index("rows") :][:4]
    assert after_rows == ["rows", "quote_rows", "trade_rows", "other_rows"]
    assert [fields[name] for name in after_rows] == ["250", "200", "45", "5"]


def test_the_report_holds_the_counts_the_dag_needs() -> None:
    assert cli.run_report(summary_of_a_run(), "quarantined") == {
        "run": "run-1",
        "status": "quarantined",
        "objects": 11,
        "rows": 250,
        "rows_by_kind": {"quotes": 200, "trades": 45, "other": 5},
    }


def test_run_ids_sort_by_time_and_are_unique() -> None:
    from datetime import UTC, datetime

    earlier, later = datetime(2024, 5, 1, 1, tzinfo=UTC), datetime(2024, 5, 1, 2, tzinfo=UTC)
    assert new_run_id(earlier) < new_run_id(later)
    assert new_run_id(earlier) != new_run_id(earlier)
