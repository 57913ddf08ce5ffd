"""`/metrics` (Prometheus) and `/healthz` (is the work loop alive?) on one small HTTP port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class Health:
    """The work loop beats; /healthz fails when it has not beaten for `stale_after` s or something fatal happened."""

    def __init__(self, stale_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self.last_beat = clock()
        self.fatal: str | None = None

    def beat(self) -> None:
        self.last_beat = self.clock()

    def set_fatal(self, reason: str) -> None:
        self.fatal = reason

    def status(self) -> tuple[bool, dict[str, Any]]:
        silent_for = self.clock() - self.last_beat
        ok = self.fatal is None and silent_for <= self.stale_after
        return ok, {
            "status": "ok" if ok else "failing",
            "loop_silent_seconds": round(silent_for, 1),
            "fatal": self.fatal,
        }


class StatusServer:
    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    ok, details = health.status()
                    self._send(200 if ok else 503, json.dumps(details).encode(), "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="status", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
