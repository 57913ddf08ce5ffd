"""Issue 19's StockFeed corpus on a real API server: every StockFeed in tests/corpus/stockfeeds is admitted or
refused as its header says, CEL rules included (`kubectl apply --dry-run=server`: nothing is stored, no operator)."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.corpus.entries import Entry, entries
from tests.k8s.kube import Tool
from tests.k8s.operator_kit import install_crds

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(300)]

FEEDS = entries("stockfeeds")


@pytest.fixture(scope="module", autouse=True)
def crds(kubectl: Tool, apiextensions_v1: client.ApiextensionsV1Api) -> None:
    install_crds(kubectl, apiextensions_v1)


@pytest.mark.parametrize("entry", FEEDS, ids=[entry.name for entry in FEEDS])
def test_the_api_server_admits_or_refuses_each_stockfeed(entry: Entry, kubectl: Tool, namespace: str) -> None:
    result = kubectl.run(["apply", "--dry-run=server", "-n", namespace, "-f", str(entry.path)], check=False, timeout=60)
    expect = entry.expect["expect"]
    if expect == "admitted":
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0, f"admitted: {result.stdout}"
    wanted = entry.expect["message"] if expect == "refused by rule" else entry.expect["field"]
    assert wanted in result.stderr, result.stderr
