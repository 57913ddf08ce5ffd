"""The API edge without a server: request paths, the requests each method makes, how refusals read."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from stockfeed_operator.kube import ApiError, Kube, api_error, object_path

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


class Recording(Kube):
    """The requests a Kube method makes, each answered with `answer` (raised when it is an ApiError)."""

    def __init__(self, answer: dict[str, Any] | ApiError) -> None:
        super().__init__()
        self.answer, self.requests = answer, list[tuple[str, str, dict[str, str]]]()

    async def _request(
        self,
        method: str,
        path: str,
        data: str | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        self.requests.append((method, path, dict(query or {})))
        if isinstance(self.answer, ApiError):
            raise self.answer
        return self.answer


def test_scaling_to_zero_patches_replicas_and_a_missing_deployment_is_stopped_already() -> None:
    kube = Recording({})
    asyncio.run(kube.scale_to_zero("markets", "tech-producer"))
    assert kube.requests == [("PATCH", "/apis/apps/v1/namespaces/markets/deployments/tech-producer", {})]
    asyncio.run(Recording(ApiError(404, "NotFound", "gone")).scale_to_zero("markets", "tech-producer"))
    with pytest.raises(ApiError):
        asyncio.run(Recording(ApiError(403, "Forbidden", "no")).scale_to_zero("markets", "tech-producer"))
