"""Settings: LOADER_* variables, secrets from files, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockfeed_loader.config import (
    TargetKind,
    load_settings,
    s3_secret,
    snowflake_credentials,
)
from stockfeed_loader.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("LOADER_"):
            monkeypatch.delenv(name)


def test_defaults_load_into_duckdb_every_topic_under_bronze() -> None:
    settings = load_settings()
    assert settings.resolved_target is TargetKind.DUCKDB
    assert settings.bucket == "bronze-transactions"
    assert (settings.prefix, settings.topics, settings.prefixes) == ("bronze/", (), ())
    assert (settings.database, settings.schema_name, settings.table) == (
        "STOCKS_MDS",
        "COMMON",
        "BRONZE_STOCK_QUOTES_RAW",
    )


def test_prefixes_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_PREFIXES", "a/topic=x/, b/topic=y/")
    assert load_settings().prefixes == ("a/topic=x/", "b/topic=y/")


def test_topics_are_an_allow_list_of_kafka_topic_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_TOPICS", "stock-quotes, stock-trades")
    assert load_settings().topics == ("stock-quotes", "stock-trades")
    monkeypatch.setenv("LOADER_TOPICS", "stock quotes")
    with pytest.raises(ConfigError, match="LOADER_TOPICS"):
        load_settings()


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_RECHECK_HOURS", "5")
    assert load_settings(recheck_hours=1).recheck_hours == 1
    assert load_settings(recheck_hours=None).recheck_hours == 5


def test_prefix_must_be_a_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_PREFIXES", "bronze/topic=stock-quotes")
    with pytest.raises(ConfigError, match=r"LOADER_PREFIXES: .*must end with '/'"):
        load_settings()


def test_bad_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_RECHECK_HOURS", "two")
    with pytest.raises(ConfigError, match="LOADER_RECHECK_HOURS"):
        load_settings()


def test_identifiers_are_plain_and_upper_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_SCHEMA", "raw_zone")
    assert load_settings().schema_name == "RAW_ZONE"
    monkeypatch.setenv("LOADER_TABLE", "x; DROP TABLE y")
    with pytest.raises(ConfigError, match=r"LOADER_TABLE: .*not a plain SQL identifier"):
        load_settings()


def test_an_account_selects_snowflake_and_needs_a_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_SNOWFLAKE_ACCOUNT", "xy12345")
    with pytest.raises(ConfigError, match="LOADER_SNOWFLAKE_USER is required"):
        load_settings()


def test_snowflake_needs_a_password_or_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_SNOWFLAKE_ACCOUNT", "xy12345")
    monkeypatch.setenv("LOADER_SNOWFLAKE_USER", "loader")
    with pytest.raises(ConfigError, match="LOADER_SNOWFLAKE_PASSWORD"):
        load_settings()


def test_password_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("LOADER_SNOWFLAKE_ACCOUNT", "xy12345")
    monkeypatch.setenv("LOADER_SNOWFLAKE_USER", "loader")
    monkeypatch.setenv("LOADER_SNOWFLAKE_PASSWORD_FILE", str(secret))
    settings = load_settings()
    assert settings.resolved_target is TargetKind.SNOWFLAKE
    assert snowflake_credentials(settings).password == "s3cr3t"


def test_private_key_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "rsa_key.p8"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n...\n")
    monkeypatch.setenv("LOADER_SNOWFLAKE_ACCOUNT", "xy12345")
    monkeypatch.setenv("LOADER_SNOWFLAKE_USER", "loader")
    monkeypatch.setenv("LOADER_SNOWFLAKE_PRIVATE_KEY_FILE", str(key))
    credentials = snowflake_credentials(load_settings())
    assert credentials.password is None
    assert credentials.private_key_pem == key.read_bytes()


def test_password_and_key_together_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "rsa_key.p8"
    key.write_bytes(b"pem")
    monkeypatch.setenv("LOADER_SNOWFLAKE_ACCOUNT", "xy12345")
    monkeypatch.setenv("LOADER_SNOWFLAKE_USER", "loader")
    monkeypatch.setenv("LOADER_SNOWFLAKE_PASSWORD", "p")
    monkeypatch.setenv("LOADER_SNOWFLAKE_PRIVATE_KEY_FILE", str(key))
    with pytest.raises(ConfigError, match="not both"):
        load_settings()


def test_secret_and_its_file_together_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "s3"
    secret.write_text("x")
    monkeypatch.setenv("LOADER_S3_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("LOADER_S3_SECRET_ACCESS_KEY_FILE", str(secret))
    with pytest.raises(ConfigError, match="LOADER_S3_SECRET_ACCESS_KEY or LOADER_S3_SECRET_ACCESS_KEY_FILE"):
        s3_secret(load_settings())


def test_missing_secret_file_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOADER_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="LOADER_S3_SECRET_ACCESS_KEY_FILE: cannot read"):
        s3_secret(load_settings())


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_SNOWFLAKE_PORT", "not-a-port")
    with pytest.raises(ConfigError) as raised:
        load_settings(snowflake_password=987654321)  # not a string: a validation error on a secret field
    assert "987654321" not in str(raised.value)
    assert "LOADER_SNOWFLAKE_PASSWORD" in str(raised.value)
    assert "LOADER_SNOWFLAKE_PORT" in str(raised.value)
    assert "'not-a-port'" in str(raised.value)  # other values are shown to help


def test_unknown_kill_point_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_TEST_KILL_AT", "sometime")
    with pytest.raises(ConfigError, match="LOADER_TEST_KILL_AT"):
        load_settings()


@pytest.mark.parametrize("spec", ["after-stage", "after-copy:2", "before-commit:10"])
def test_kill_points_may_name_an_occurrence(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setenv("LOADER_TEST_KILL_AT", spec)
    assert load_settings().test_kill_at == spec


@pytest.mark.parametrize("spec", ["after-copy:0", "after-copy:x", "after-copy:"])
def test_bad_kill_occurrences_are_refused(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setenv("LOADER_TEST_KILL_AT", spec)
    with pytest.raises(ConfigError, match="LOADER_TEST_KILL_AT"):
        load_settings()


def test_log_level_is_case_insensitive_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOADER_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"
    monkeypatch.setenv("LOADER_LOG_LEVEL", "chatty")
    with pytest.raises(ConfigError, match="LOADER_LOG_LEVEL"):
        load_settings()


def test_the_s3_access_key_id_also_comes_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stockfeed_loader.config import s3_access_key_id

    (tmp_path / "key-id").write_text("AKIAFILE\n")
    monkeypatch.setenv("LOADER_S3_ACCESS_KEY_ID_FILE", str(tmp_path / "key-id"))
    assert s3_access_key_id(load_settings()) == "AKIAFILE"
    monkeypatch.setenv("LOADER_S3_ACCESS_KEY_ID", "AKIAENV")
    with pytest.raises(ConfigError, match="LOADER_S3_ACCESS_KEY_ID or LOADER_S3_ACCESS_KEY_ID_FILE"):
        s3_access_key_id(load_settings())


def test_the_report_file_is_optional_and_set_by_variable_or_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockfeed_loader.cli import parse_args

    assert load_settings().report_file is None
    monkeypatch.setenv("LOADER_REPORT_FILE", "")  # how a chart renders an unset value
    assert load_settings().report_file is None
    monkeypatch.setenv("LOADER_REPORT_FILE", "/airflow/xcom/return.json")
    assert load_settings().report_file == Path("/airflow/xcom/return.json")
    flags = parse_args(["--report-file", "/tmp/r.json"])
    assert flags == {"report_file": "/tmp/r.json"}
    assert load_settings(**flags).report_file == Path("/tmp/r.json")
