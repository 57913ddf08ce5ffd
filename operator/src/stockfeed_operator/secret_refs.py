"""A pod's references to Secrets (pure): env entries and read-only file volumes the kubelet fills.

The operator never reads a Secret: every credential reaches a pod through one of these.
"""

from __future__ import annotations

from typing import Any


def secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    """An env entry whose value the kubelet takes from `secret`'s `key`."""
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret_volume(name: str, secret: str, *keys: str) -> dict[str, Any]:
    # only the keys the client reads: not the PKCS#12 copies or their passwords, nor a password as a file
    return {"name": name, "secret": {"secretName": secret, "items": [{"key": key, "path": key} for key in keys]}}


def read_only_mount(volume: str, path: str) -> dict[str, Any]:
    return {"name": volume, "mountPath": path, "readOnly": True}
