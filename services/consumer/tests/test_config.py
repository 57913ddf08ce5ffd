"""Settings: CONSUMER_* variables, flags over env, secrets from files and never shown, errors naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stockfeed_consumer.config import ConsumerSettings, load_settings
from stockfeed_consumer.errors import ConfigError
from stockfeed_consumer.kafka import consumer_config, parse_properties

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CONSUMER_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_platform_names() -> None:
    settings = load_settings([])
    assert settings.topics == ("stock-quotes",)
    assert settings.bucket == "bronze-transactions"
    assert settings.group_id == "stockfeed-bronze"
    assert settings.s3_access_key_id is None  # boto3's default credential chain


def test_env_and_flags_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSUMER_TOPICS", "a, b,c")
    monkeypatch.setenv("CONSUMER_MAX_RECORDS", "500")
    settings = load_settings(["--max-records", "700"])
    assert settings.topics == ("a", "b", "c")
    assert settings.max_records == 700


def test_credentials_from_mounted_files_are_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "access").write_text("AKIAEXAMPLE\n")
    (tmp_path / "secret").write_text("s3cr3t-value\n")
    monkeypatch.setenv("CONSUMER_S3_ACCESS_KEY_ID_FILE", str(tmp_path / "access"))
    monkeypatch.setenv("CONSUMER_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "secret"))
    settings = load_settings([])
    assert settings.s3_access_key_id is not None
    assert settings.s3_access_key_id.get_secret_value() == "AKIAEXAMPLE"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONSUMER_MAX_RECORDS": "zero"}, "CONSUMER_MAX_RECORDS"),
        ({"CONSUMER_GZIP_LEVEL": "12"}, "CONSUMER_GZIP_LEVEL"),
        ({"CONSUMER_TOPICS": " , "}, "CONSUMER_TOPICS"),
        ({"CONSUMER_S3_ACCESS_KEY_ID": "a"}, "CONSUMER_S3_SECRET_ACCESS_KEY"),
        ({"CONSUMER_S3_ACCESS_KEY_ID_FILE": "/nonexistent/key", "CONSUMER_S3_SECRET_ACCESS_KEY": "x"},
         "CONSUMER_S3_ACCESS_KEY_ID_FILE"),
        ({"CONSUMER_S3_ACCESS_KEY_ID": "a", "CONSUMER_S3_ACCESS_KEY_ID_FILE": "/x",
          "CONSUMER_S3_SECRET_ACCESS_KEY": "b"}, "CONSUMER_S3_ACCESS_KEY_ID_FILE"),
        ({"CONSUMER_S3_ACCESS_KEY": "a"}, "CONSUMER_S3_SECRET_ACCESS_KEY"),  # a deprecated name, reported new
    ],
)  # fmt: skip
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        load_settings([])


def test_a_bad_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSUMER_S3_ACCESS_KEY_ID", "only-the-access-key-XYZ")
    with pytest.raises(ConfigError) as caught:
        load_settings([])
    assert "only-the-access-key-XYZ" not in str(caught.value)


def test_the_shared_names_and_their_deprecated_aliases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("old-secret\n")
    old = {
        "CONSUMER_BOOTSTRAP_SERVERS": "old:9092", "CONSUMER_S3_ENDPOINT": "http://old:9000",
        "CONSUMER_S3_ACCESS_KEY": "old-key", "CONSUMER_S3_SECRET_KEY_FILE": str(tmp_path / "secret"),
    }  # fmt: skip
    for name, value in old.items():
        monkeypatch.setenv(name, value)
    settings = load_settings([])
    assert (settings.kafka_bootstrap, settings.s3_endpoint_url) == ("old:9092", "http://old:9000")
    assert settings.s3_access_key_id is not None
    assert settings.s3_access_key_id.get_secret_value() == "old-key"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "old-secret"
    monkeypatch.setenv("CONSUMER_KAFKA_BOOTSTRAP", "new:9092")  # the new name wins over the old one
    monkeypatch.setenv("CONSUMER_S3_ENDPOINT_URL", "http://new:9000")
    settings = load_settings(["--s3-region", "eu-west-1"])
    assert (settings.kafka_bootstrap, settings.s3_endpoint_url, settings.s3_region) == (
        "new:9092", "http://new:9000", "eu-west-1")  # fmt: skip
    assert load_settings(["--kafka-bootstrap", "flag:9092"]).kafka_bootstrap == "flag:9092"


def test_the_command_exits_2_on_bad_configuration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stockfeed_consumer", "--max-bytes", "-1"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "CONSUMER_MAX_BYTES" in result.stderr


def test_kafka_config_never_auto_commits_and_keeps_the_static_member_id() -> None:
    settings = ConsumerSettings(group_instance_id="pod-0", kafka_bootstrap="k:9092")
    config = consumer_config(settings)
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["group.instance.id"] == "pod-0"
    assert config["bootstrap.servers"] == "k:9092"


def test_a_properties_file_adds_client_settings_but_cannot_turn_on_auto_commit(tmp_path: Path) -> None:
    extra = tmp_path / "kafka.properties"
    extra.write_text("# SASL\nsecurity.protocol=SASL_SSL\nsasl.password = p=w\n")
    config = consumer_config(ConsumerSettings(kafka_properties_file=extra))
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "p=w"
    extra.write_text("enable.auto.commit=true\n")
    with pytest.raises(ConfigError, match=r"enable\.auto\.commit"):
        consumer_config(ConsumerSettings(kafka_properties_file=extra))


def test_properties_parser_rejects_lines_without_a_value_separator() -> None:
    assert parse_properties("a=1\n! comment\n\nb = two\n") == {"a": "1", "b": "two"}
    with pytest.raises(ValueError, match="line 1"):
        parse_properties("novalue\n")


def test_settings_are_the_bottom_of_the_package() -> None:
    """config imports none of the consumer's other modules (it was config -> writer -> sink -> config)."""
    probe = (
        "import sys, stockfeed_consumer.config; print(sorted(m for m in sys.modules if m.startswith('stockfeed_c')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(eval(result.stdout))  # noqa: S307 - our own probe's printed list
    assert {m for m in loaded if m.startswith("stockfeed_consumer")} == {
        "stockfeed_consumer", "stockfeed_consumer.config", "stockfeed_consumer.errors"}  # fmt: skip
