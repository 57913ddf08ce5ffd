"""The pure parts of the API edge: request paths and how refusals read."""

from __future__ import annotations

import pytest

from stockfeed_operator.kube import api_error, object_path

pytestmark = pytest.mark.unit


def test_paths_for_core_grouped_and_custom_kinds() -> None:
    assert object_path("v1", "ConfigMap", "ns", "a-config") == "/api/v1/namespaces/ns/configmaps/a-config"
    assert object_path("apps/v1", "Deployment", "ns", "a") == "/apis/apps/v1/namespaces/ns/deployments/a"
    assert object_path("kafka.strimzi.io/v1", "KafkaTopic", "ns", "t") == (
        "/apis/kafka.strimzi.io/v1/namespaces/ns/kafkatopics/t"
    )
    assert object_path("stockfeed.dev/v1alpha1", "StockFeed", "ns", "f", subresource="status") == (
        "/apis/stockfeed.dev/v1alpha1/namespaces/ns/stockfeeds/f/status"
    )


def test_a_status_object_gives_reason_and_message() -> None:
    body = '{"kind":"Status","status":"Failure","reason":"Invalid","message":"Deployment.apps \\"a\\" is invalid"}'
    error = api_error(422, "Unprocessable Entity", body)
    assert (error.status, error.reason, error.message) == (422, "Invalid", 'Deployment.apps "a" is invalid')
    assert str(error) == '422 Invalid: Deployment.apps "a" is invalid'


def test_a_body_that_is_not_json_is_kept_short() -> None:
    error = api_error(502, "Bad Gateway", "<html>" + "x" * 1000)
    assert error.reason == "Bad Gateway"
    assert len(error.message) == 500
    assert api_error(500, "Internal Server Error", "").message == "Internal Server Error"
