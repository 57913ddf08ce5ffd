"""Operator settings: required images, names of bad variables, the CLI's exit code 2."""

from __future__ import annotations

import json
import logging

import pytest

from stockfeed_operator import cli
from stockfeed_operator.config import ConfigError, OperatorSettings, load_settings, resync_seconds_from_env

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
        ("OPERATOR_POD_NODE_SELECTOR", "{role: real}"),
        ("OPERATOR_POD_NODE_SELECTOR", '["a"]'),
        ("OPERATOR_POD_NODE_SELECTOR", '{"count": 3}'),
        ("OPERATOR_POD_TOLERATIONS", '{"key": "a"}'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "operater": "Exists"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "operator": "Sometimes"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "effect": "NoRun"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "operator": "Exists", "value": "x"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"operator": "Equal", "value": "x"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "effect": "NoSchedule", "tolerationSeconds": 60}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": 7}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "bad key!", "operator": "Equal", "value": "x"}]'),
        ("OPERATOR_POD_TOLERATIONS", '[{"key": "a", "operator": "Equal", "value": "not a label value!"}]'),
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


def settings_from_tolerations(tolerations: list[dict[str, object]]) -> OperatorSettings:
    return load_settings({**BASE_ENV, "OPERATOR_POD_TOLERATIONS": json.dumps(tolerations)})


def test_pod_placement_is_json_and_empty_means_unset() -> None:
    settings = load_settings(
        {
            **BASE_ENV,
            "OPERATOR_POD_NODE_SELECTOR": '{"pool": "feeds"}',
            "OPERATOR_POD_TOLERATIONS": '[{"key": "pool", "operator": "Exists", "effect": "NoSchedule"}]',
        }
    )
    assert settings.pod_node_selector == {"pool": "feeds"}
    assert settings.pod_tolerations == ({"key": "pool", "operator": "Exists", "effect": "NoSchedule"},)
    # what Kubernetes takes is taken: empty operator (Equal) and effect (all), a key-less Exists, NoExecute's seconds
    kubernetes_ok = [
        {"key": "a", "operator": "", "value": "x", "effect": ""},
        {"operator": "Exists"},
        {"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
    ]
    assert list(settings_from_tolerations(kubernetes_ok).pod_tolerations) == kubernetes_ok
    unset = load_settings({**BASE_ENV, "OPERATOR_POD_NODE_SELECTOR": "", "OPERATOR_POD_TOLERATIONS": " "})
    assert (unset.pod_node_selector, unset.pod_tolerations) == ({}, ())


@pytest.mark.parametrize("log_format", ["plain", "full"])
def test_text_log_lines_name_the_feed_they_are_about(log_format: str) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        cli.configure_logging(load_settings({**BASE_ENV, "OPERATOR_LOG_FORMAT": log_format}))
        message = "Handler 'reconcile_feed' succeeded."
        record = logging.LogRecord("kopf.objects", logging.INFO, __file__, 1, message, (), None)
        record.k8s_ref = {"namespace": "markets", "name": "quotes"}  # what kopf's object loggers attach
        line = root.handlers[-1].format(record)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "[markets/quotes] Handler 'reconcile_feed' succeeded." in line
