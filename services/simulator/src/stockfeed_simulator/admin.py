"""The admin endpoint (a separate port, so API clients never reach it): read/replace knobs, read stats, drop sockets.

GET  /faults              the knobs in force
PATCH|PUT|POST /faults    {"knob": value, ...}: validated, applied at once; 400 names a bad knob
GET  /stats               what was served (REST outcomes per status and symbol, WebSocket events)
POST /stats/reset         zero the counters
POST /websockets/drop     cut every open WebSocket now
GET  /healthz             liveness
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from pydantic import ValidationError

log = logging.getLogger(__name__)


class AdminControl(Protocol):
    def current_knobs(self) -> dict[str, Any]: ...
    def update_knobs(self, changes: dict[str, Any]) -> dict[str, Any]: ...
    def stats_snapshot(self) -> dict[str, Any]: ...
    def reset_stats(self) -> None: ...
    def drop_websockets(self) -> int: ...


def _validation_message(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'knobs'}: {e['msg']}" for e in error.errors())


class _Handler(BaseHTTPRequestHandler):
    control: AdminControl  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("admin: " + format, *args)

    def _reply(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/faults":
            self._reply(200, self.control.current_knobs())
        elif self.path == "/stats":
            self._reply(200, self.control.stats_snapshot())
        elif self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": f"no such admin path: {self.path}"})

    def _update_faults(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            changes = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"error": "the body must be a JSON object of knobs"})
            return
        if not isinstance(changes, dict):
            self._reply(400, {"error": "the body must be a JSON object of knobs"})
            return
        try:
            self._reply(200, self.control.update_knobs(changes))
        except ValidationError as error:
            self._reply(400, {"error": _validation_message(error)})

    def do_POST(self) -> None:
        if self.path == "/faults":
            self._update_faults()
        elif self.path == "/stats/reset":
            self.control.reset_stats()
            self._reply(200, {"reset": True})
        elif self.path == "/websockets/drop":
            self._reply(200, {"dropped": self.control.drop_websockets()})
        else:
            self._reply(404, {"error": f"no such admin path: {self.path}"})

    def do_PATCH(self) -> None:
        if self.path == "/faults":
            self._update_faults()
        else:
            self._reply(404, {"error": f"no such admin path: {self.path}"})

    do_PUT = do_PATCH  # noqa: N815


class AdminServer:
    def __init__(self, host: str, port: int, control: AdminControl) -> None:
        handler = type("AdminHandler", (_Handler,), {"control": control})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulator-admin", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
