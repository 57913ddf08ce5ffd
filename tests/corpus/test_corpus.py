"""Issue 19's bad-input corpus, offline: every API answer, Kafka record, bronze object, StockFeed and chart value in
tests/corpus gets its expected outcome (a skip, a reason, a quarantine, a refusal), and none raises unexpectedly.

StockFeeds refused by a CEL rule need an API server: tests/k8s/test_corpus_stockfeeds.py applies every StockFeed
of the corpus with `kubectl apply --dry-run=server`. Here they are checked against the CRD's structural schema.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import threading
from typing import Any

import jsonschema
import pytest
import requests
import yaml
from requests.adapters import BaseAdapter
from requests.utils import get_encoding_from_headers

from stockfeed_consumer.validation import as_ndjson_line, reasons_invalid
from stockfeed_contracts import reason_invalid
from stockfeed_loader.parsing import ANY_CONTRACT, RejectedObjectError, check_line, convert
from tests.corpus.entries import CORPUS, DATA_SUFFIXES, Entry, entries, field_path

pytestmark = pytest.mark.unit

REPO = CORPUS.parents[1]
CRD = REPO / "charts" / "stockfeed" / "crds" / "stockfeed.yaml"
CHART = REPO / "charts" / "stockfeed"
VALID_RECORD = (CORPUS / "kafka_records" / "valid_quote.bin").read_bytes()


def ids(items: list[Entry]) -> list[str]:
    return [item.name for item in items]


def test_every_category_has_cases_and_every_case_an_expectation() -> None:
    for category, suffix in DATA_SUFFIXES.items():
        found = entries(category)
        assert found, f"tests/corpus/{category} is empty"
        for entry in found:
            assert entry.expect, f"{entry.path.relative_to(REPO)} has no expected outcome"
        names = {entry.name for entry in found}
        for sidecar in (CORPUS / category).glob("*.expect"):
            assert sidecar.stem in names, f"{sidecar.relative_to(REPO)} has no {suffix} beside it"


# --- API answers -> the producer's quote handling -----------------------------------------------------------------


class CannedAnswer(BaseAdapter):
    """A requests transport that answers every request with one canned response (no network)."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        super().__init__()
        self.status, self.content_type, self.body = status, content_type, body

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = self.status
        response.headers["Content-Type"] = self.content_type
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = self.body
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


class MemoryPublisher:
    def __init__(self) -> None:
        self.published: list[bytes] = []

    def publish(self, topic: str, key: str, value: bytes, stop: threading.Event) -> bool:
        self.published.append(value)
        return True

    def poll(self) -> None:
        pass


@pytest.mark.parametrize("entry", entries("api_answers"), ids=ids(entries("api_answers")))
def test_an_api_answer_is_published_or_skipped_with_its_reason(entry: Entry) -> None:
    from stockfeed_producer.config import load_settings
    from stockfeed_producer.finnhub_rest import QuoteClient
    from stockfeed_producer.metrics import ProducerMetrics
    from stockfeed_producer.pacing import CallPacer
    from stockfeed_producer.quote_poller import QuotePoller
    from stockfeed_producer.status_server import Health

    expect = entry.expect
    session = requests.Session()
    session.mount("http://", CannedAnswer(int(expect["status"]), expect["content_type"], entry.data()))
    client = QuoteClient("http://sim:8080/api/v1", None, connect_timeout=1, read_timeout=1, session=session)
    settings = load_settings({"api_url": "http://sim:8080/api/v1", "symbols": "AAPL", "max_attempts": 1})
    publisher = MemoryPublisher()
    poller = QuotePoller(
        settings, client, publisher, CallPacer([]), ProducerMetrics(), Health(60.0), threading.Event(),  # type: ignore[arg-type]
        wall_clock=lambda: 1_795_770_060.0,
    )  # fmt: skip
    assert poller.poll("AAPL") == expect["poll"]
    if expect["poll"] == "published":
        assert len(publisher.published) == 1
        assert reason_invalid(json.loads(publisher.published[0]), "quote.v1") is None
    else:
        assert publisher.published == []


# --- Kafka record values -> the consumer's validator --------------------------------------------------------------


@pytest.mark.parametrize("entry", entries("kafka_records"), ids=ids(entries("kafka_records")))
def test_a_kafka_record_is_valid_or_has_a_one_line_reason(entry: Entry, request: pytest.FixtureRequest) -> None:
    expect = entry.expect
    if "pending" in expect:  # a known gap: fails until it is closed, then XPASS(strict) says to drop the line
        request.applymarker(pytest.mark.xfail(reason=expect["pending"], strict=True))
    schema = expect.get("expected_schema")
    before, reason, after = reasons_invalid([VALID_RECORD, entry.data(), VALID_RECORD], schema)
    if schema in (None, "quote.v1"):
        assert before is None
        assert after is None  # the neighbours are judged on their own
    if expect.get("consistent") and reason is None:  # either refused, or accepted and loadable
        expect = {"valid": True}
    if expect.get("valid"):
        assert reason is None
        # what the consumer accepts it writes as one line, and the loader loads that line (else the record would
        # quarantine its whole bronze object)
        line = as_ndjson_line(entry.data())
        assert b"\n" not in line
        check_line(line.decode("utf-8").strip(), 1, schema or ANY_CONTRACT)
        return
    assert reason is not None, "accepted"
    assert "\n" not in reason, reason
    assert expect.get("reason", "") in reason


# --- bronze objects -> the loader's parser -------------------------------------------------------------------------

KEY = "bronze/topic=stock-quotes/dt=2026-12-06/hour=03/stock-quotes+0+00000000000000000042.ndjson.gz"


@pytest.mark.parametrize("entry", entries("bronze_objects"), ids=ids(entries("bronze_objects")))
def test_a_bronze_object_is_staged_or_quarantined_with_its_reason(entry: Entry) -> None:
    expect = entry.expect
    target = io.BytesIO()
    schema = expect.get("expected_schema", "any")
    if "rows" in expect:
        rows = convert(io.BytesIO(entry.data()), target, KEY, schema)
        assert rows == expect["rows"]
        staged = gzip.decompress(target.getvalue()).split(b"\n")[:-1]
        assert len(staged) == rows
        assert all(json.loads(line)["object_key"] == KEY for line in staged)
        return
    with pytest.raises(RejectedObjectError) as caught:
        convert(io.BytesIO(entry.data()), target, KEY, schema)
    assert expect["reason"] in str(caught.value)
    assert "\n" not in str(caught.value)


# --- StockFeeds -> the CRD's structural schema ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CRD.read_text())
    return document


def structural_errors(crd: dict[str, Any], feed: Any) -> list[str]:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    validator = jsonschema.Draft7Validator(schema)  # x-kubernetes-* keywords are ignored: CEL needs a server
    return [f"{field_path(error)}: {error.message}" for error in validator.iter_errors(feed)]


@pytest.mark.parametrize("entry", entries("stockfeeds"), ids=ids(entries("stockfeeds")))
def test_a_stockfeed_is_refused_where_the_crd_says(entry: Entry, crd: dict[str, Any]) -> None:
    expect = entry.expect["expect"]
    feed = entry.document()
    errors = structural_errors(crd, feed)
    if expect == "admitted":
        assert errors == []
    elif expect == "refused":
        field = entry.expect["field"]
        assert any(error.startswith(field) for error in errors), f"not refused at {field}: {errors}"
    else:
        assert expect == "refused by rule", f"unknown expectation {expect!r}"
        # the rule's message is in the CRD (a server applies it: tests/k8s/test_corpus_stockfeeds.py)
        assert entry.expect["message"] in CRD.read_text()


# --- chart values -> values.schema.json ----------------------------------------------------------------------------


def merged(base: Any, override: Any) -> Any:
    """Helm's merge of a values file over the chart's values: maps merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            result[key] = merged(base.get(key), value) if key in base else copy.deepcopy(value)
        return result
    return copy.deepcopy(override)


@pytest.fixture(scope="module")
def chart_values() -> tuple[dict[str, Any], jsonschema.Draft7Validator]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    return yaml.safe_load((CHART / "values.yaml").read_text()), jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("entry", entries("chart_values"), ids=ids(entries("chart_values")))
def test_chart_values_are_refused_where_the_schema_says(
    entry: Entry, chart_values: tuple[dict[str, Any], jsonschema.Draft7Validator]
) -> None:
    defaults, validator = chart_values
    values = merged(defaults, entry.document() or {})
    errors = [f"{field_path(error)}: {error.message}" for error in validator.iter_errors(values)]
    if entry.expect["expect"] == "accepted":
        assert errors == []
        return
    field = entry.expect["field"]
    assert any(error.startswith(field) for error in errors), f"not refused at {field}: {errors}"
