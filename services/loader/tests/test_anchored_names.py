"""Issue 19: name checks are anchored at the very end (`$` in `re.match` also accepts a trailing newline)."""

from __future__ import annotations

import os

import pytest

from stockfeed_loader.config import load_settings
from stockfeed_loader.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LOADER_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("field", ["schema_name", "database", "table", "ledger_table", "snowflake_stage"])
@pytest.mark.parametrize("value", ["X\n", "COMMON\n", "A\nB", "\nX"])
def test_an_identifier_with_a_newline_is_refused(field: str, value: str) -> None:
    with pytest.raises(ConfigError, match="is not a plain SQL identifier"):
        load_settings(**{field: value})


def test_the_schema_variable_with_a_trailing_newline_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_SCHEMA", "X\n")
    with pytest.raises(ConfigError, match="LOADER_SCHEMA"):
        load_settings()


def test_plain_identifiers_still_pass() -> None:
    assert load_settings(schema_name="x_1$").schema_name == "X_1$"
