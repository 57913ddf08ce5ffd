"""Prometheus metrics and the small HTTP server for `/metrics` and `/healthz`."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PREFIX = "stockfeed_consumer"


class ConsumerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.records_in = Counter(f"{PREFIX}_records_in", "Records received from Kafka.", ["topic"], registry=r)
        self.records_written = Counter(
            f"{PREFIX}_records_written", "Records written to objects, by kind.", ["topic", "kind"], registry=r
        )
        self.objects_written = Counter(f"{PREFIX}_objects_written", "Objects written, by kind.", ["kind"], registry=r)
        self.bytes_written = Counter(
            f"{PREFIX}_bytes_written", "Compressed object bytes written, by kind.", ["kind"], registry=r
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters", "Records rejected to the dead-letter prefix.", ["topic"], registry=r
        )
        self.flush_seconds = Histogram(
            f"{PREFIX}_flush_seconds", "From cutting a batch to its offset being committed.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120), registry=r,
        )  # fmt: skip
        self.upload_seconds = Histogram(
            f"{PREFIX}_upload_seconds", "One batch's gzip and put_object calls.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r,
        )  # fmt: skip
        self.batches_cut = Counter(f"{PREFIX}_batches_cut", "Batches cut, by reason.", ["reason"], registry=r)
        self.upload_failures = Counter(f"{PREFIX}_upload_failures", "Failed batch uploads (retried).", registry=r)
        self.commits = Counter(f"{PREFIX}_commits", "Synchronous offset commits that succeeded.", registry=r)
        self.commit_failures = Counter(f"{PREFIX}_commit_failures", "Offset commits that failed.", registry=r)
        self.kafka_errors = Counter(
            f"{PREFIX}_kafka_errors", "Kafka client errors by reason (e.g. _AUTHENTICATION, _TRANSPORT).", ["reason"],
            registry=r,
        )  # fmt: skip
        self.dropped_on_revoke = Counter(
            f"{PREFIX}_dropped_on_revoke", "Buffered records given up at a revoke or shutdown (re-delivered).",
            registry=r,
        )  # fmt: skip
        self.lag = Gauge(
            f"{PREFIX}_lag", "High watermark minus the next offset to read, per partition.", ["topic", "partition"],
            registry=r,
        )  # fmt: skip
        self.committed_offset = Gauge(
            f"{PREFIX}_committed_offset", "Last offset committed by this process.", ["topic", "partition"], registry=r
        )
        self.buffered_bytes = Gauge(f"{PREFIX}_buffered_bytes", "Record bytes held in memory.", registry=r)
        self.buffered_records = Gauge(f"{PREFIX}_buffered_records", "Records held in memory.", registry=r)
        self.paused_partitions = Gauge(f"{PREFIX}_paused_partitions", "Partitions paused.", registry=r)
        self.assigned_partitions = Gauge(f"{PREFIX}_assigned_partitions", "Partitions assigned.", registry=r)

    def forget_partition(self, topic: str, partition: int) -> None:
        for gauge in (self.lag, self.committed_offset):
            with contextlib.suppress(KeyError):  # never exported for this partition
                gauge.remove(topic, str(partition))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def serve(metrics: ConsumerMetrics, health: HealthCheck, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `/metrics` and `/healthz` on a daemon thread; call `.shutdown()` to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, metrics.exposition())
            elif path == "/healthz":
                ok, details = health()
                self._reply(200 if ok else 503, "application/json", json.dumps(details).encode())
            else:
                self._reply(404, "text/plain", b"not found\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds would drown the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
