"""The wire format between the DAG's local steps and the worker, on a Unix socket (pure functions, no I/O).

Request: one JSON line, `{"argv": [...], "env": {...}, "cwd": "..."}`: dbt's arguments without the program name,
the caller's whole environment (dbt reads its settings and secrets from it, as the CLI would) and its directory.
Response: dbt's output as it is written, then a NUL byte and the exit code (0 ok, 1 the command failed, 2 dbt
could not run it), as the `dbt` CLI would exit. dbt's output is text and never contains NUL. A response without
the trailer means the command's process died: the caller treats it as a failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

TRAILER = b"\0"
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # argv + environment; anything bigger is not a dbt command line
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class ProtocolError(ValueError):
    """A request the worker cannot run; the message says what is wrong with it."""


@dataclass(frozen=True)
class Request:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str

    def __repr__(self) -> str:  # the environment holds secrets: never in a log line or a traceback
        return f"Request(argv={list(self.argv)!r}, cwd={self.cwd!r}, env=<{len(self.env)} variables>)"


def encode_request(request: Request) -> bytes:
    body = {"argv": list(request.argv), "env": dict(request.env), "cwd": request.cwd}
    return json.dumps(body).encode() + b"\n"


def decode_request(line: bytes) -> Request:
    try:
        body = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"request is not a JSON line: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("request must be a JSON object with argv, env and cwd")
    argv, env, cwd = body.get("argv"), body.get("env"), body.get("cwd")
    if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv):
        raise ProtocolError("argv must be a non-empty list of strings (dbt's arguments, e.g. ['build'])")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ProtocolError("env must be an object of strings")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise ProtocolError("cwd must be an absolute path")
    return Request(tuple(argv), env, cwd)


def encode_trailer(exit_code: int) -> bytes:
    return TRAILER + str(exit_code).encode() + b"\n"


def split_trailer(tail: bytes) -> tuple[bytes, int | None]:
    """(output before the trailer, exit code) of a whole response; (response, None) when it has no trailer.
    The code is the digits up to the trailer's newline; anything after it is ignored."""
    output, found, code = tail.rpartition(TRAILER)
    if not found:
        return tail, None
    text = code.partition(b"\n")[0].strip()
    return output, int(text) if text.isdigit() else EXIT_ERROR
