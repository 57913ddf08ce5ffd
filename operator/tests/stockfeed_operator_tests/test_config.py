"""Operator settings: required images, names of bad variables, the CLI's exit code 2."""

from __future__ import annotations

import pytest

from stockfeed_operator import cli
from stockfeed_operator.config import ConfigError, load_settings, resync_seconds_from_env

from .conftest import BASE_ENV

pytestmark = pytest.mark.unit


def test_images_are_required_and_named_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"OPERATOR_CONSUMER_IMAGE": "c:1"})
    assert str(caught.value) == "OPERATOR_PRODUCER_IMAGE is required"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPERATOR_IMAGE_PULL_POLICY", "Sometimes"),
        ("OPERATOR_RESYNC_SECONDS", "0"),
        ("OPERATOR_POSTING_LEVEL", "LOUD"),
        ("OPERATOR_KAFKA_BOOTSTRAP_TEMPLATE", "{broker}:9092"),
        ("OPERATOR_REQUIRE_TOPIC_READY", "perhaps"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({**BASE_ENV, variable: value})


def test_defaults_and_lists() -> None:
    settings = load_settings({**BASE_ENV, "OPERATOR_NAMESPACES": "markets, crypto", "OPERATOR_POSTING_LEVEL": "info"})
    assert settings.namespaces == ("markets", "crypto")
    assert settings.posting_level_number == 20
    assert settings.require_topic_ready is True
    assert settings.kafka_bootstrap("main") == "main-kafka-bootstrap:9092"


def test_resync_interval_for_the_timer_decorator() -> None:
    assert resync_seconds_from_env({"OPERATOR_RESYNC_SECONDS": "15"}) == 15.0
    assert resync_seconds_from_env({}) == 60.0
    assert resync_seconds_from_env({"OPERATOR_RESYNC_SECONDS": "soon"}) == 60.0


def test_cli_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPERATOR_PRODUCER_IMAGE", raising=False)
    monkeypatch.setenv("OPERATOR_CONSUMER_IMAGE", "c:1")
    assert cli.main(["--check"]) == 2
    assert "OPERATOR_PRODUCER_IMAGE is required" in capsys.readouterr().err


def test_cli_check_accepts_good_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["--check"]) == 0


def test_the_s3_endpoint_has_the_shared_name_and_the_old_one_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {k: v for k, v in BASE_ENV.items() if not k.startswith("OPERATOR_S3_ENDPOINT")}
    assert load_settings({**base, "OPERATOR_S3_ENDPOINT_URL": "http://new:9000"}).s3_endpoint_url == "http://new:9000"
    assert load_settings({**base, "OPERATOR_S3_ENDPOINT": "http://old:9000"}).s3_endpoint_url == "http://old:9000"
    for name, value in {**base, "OPERATOR_S3_ENDPOINT": "http://old-env:9000"}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().s3_endpoint_url == "http://old-env:9000"
