"""The env file `up` writes for tests, benchmarks and `make demo` (shell- and dotenv-readable)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path


def render(values: Mapping[str, str]) -> str:
    lines = ["# written by `devstack up`: endpoints and development credentials of the local stack"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, raw = line.split("=", 1)
        parts = shlex.split(raw)
        values[key] = parts[0] if parts else ""
    return values


def write(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(render(values))
    os.replace(tmp, path)


def read(path: Path) -> dict[str, str]:
    return parse(path.read_text()) if path.exists() else {}
