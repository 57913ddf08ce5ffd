"""A second StockFeed reaches the loader with no chart change (issue 18).

The operator renders each feed's consumer environment (bucket, prefix, topic); the loader finds topics by
listing `topic=` directories under its own default prefix. So this applies two StockFeeds on the test cluster,
writes one object where each feed's consumer would (the key built by stockfeed_contracts.lake from the
rendered ConfigMap), and shows the loader's discovery, with its defaults and nothing configured, lists both.
Needs the cluster and MinIO (`devstack up minio cluster`).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client
from pydantic import SecretStr

from stockfeed_contracts.lake import bronze_key, topic_directory
from stockfeed_loader.config import LoaderSettings
from stockfeed_loader.runner import topic_directories
from tests.k8s.operator_kit import create_feed, read_configmap, wait_condition

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

# the `operator` and `ns` fixtures (tests/k8s/conftest.py) run the operator with these
OPERATOR_SETTINGS = {"OPERATOR_REQUIRE_TOPIC_READY": "false"}


def test_a_second_feed_is_discovered_by_the_loader_with_its_defaults(
    ns: str,
    custom_objects: client.CustomObjectsApi,
    core_v1: client.CoreV1Api,
    s3: Any,
    s3_bucket: str,
    stack_env: dict[str, str],
) -> None:
    create_feed(custom_objects, ns, "quotes", {"symbols": ["AAPL"]})
    create_feed(custom_objects, ns, "crypto", {"symbols": ["BINANCE:BTCUSDT"], "mode": "trades",
                                               "kafka": {"topic": "crypto-trades"}})  # fmt: skip
    loader = LoaderSettings(
        bucket=s3_bucket,  # the test's own bucket; the default bucket is compared below
        s3_endpoint_url=stack_env["DEVSTACK_S3_ENDPOINT"],
        s3_access_key_id=stack_env["DEVSTACK_S3_ACCESS_KEY"],
        s3_secret_access_key=SecretStr(stack_env["DEVSTACK_S3_SECRET_KEY"]),
    )
    expected = []
    for feed in ("quotes", "crypto"):
        wait_condition(custom_objects, ns, feed, "Ready", "True")
        data = read_configmap(core_v1, ns, f"{feed}-config")["data"]
        assert data["CONSUMER_BUCKET"] == LoaderSettings.model_fields["bucket"].default
        topic, prefix = data["CONSUMER_TOPICS"], data["CONSUMER_PREFIX"]
        key = bronze_key(prefix, topic, 0, 0, int(time.time() * 1000))  # where this feed's consumer writes
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"")
        expected.append(topic_directory(loader.prefix, topic))

    assert sorted(expected) == [topic_directory("bronze", "crypto-trades"), topic_directory("bronze", "stock-quotes")]
    assert topic_directories(loader, s3) == sorted(expected)
