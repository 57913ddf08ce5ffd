"""Development credentials: taken from the environment, else generated once and kept (mode 0600) in the stack home."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def credential(home: Path, variable: str, *, default: str | None = None) -> str:
    """The value of `variable` if set; otherwise `default`, or a random secret remembered in home/credentials.json."""
    value = os.environ.get(variable)
    if value:
        return value
    if default is not None:
        return default
    store = home / "credentials.json"
    known: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
    if variable not in known:
        known[variable] = secrets.token_urlsafe(18)
        home.mkdir(parents=True, exist_ok=True)
        store.touch(mode=0o600)
        store.write_text(json.dumps(known, indent=2))
    return known[variable]
