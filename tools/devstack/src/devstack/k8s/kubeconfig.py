"""The admin kubeconfig: one cluster, one user (client cert in system:masters), one context; data embedded."""

from __future__ import annotations

import base64
import json

CONTEXT = "devstack"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render(server: str, ca_pem: bytes, client_cert_pem: bytes, client_key_pem: bytes, *, name: str = CONTEXT) -> str:
    """A kubeconfig as YAML; values are JSON-quoted strings, which YAML reads as plain strings."""
    q = json.dumps
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {q(name)}\n"
        "  cluster:\n"
        f"    server: {q(server)}\n"
        f"    certificate-authority-data: {q(_b64(ca_pem))}\n"
        "users:\n"
        f"- name: {q(name + '-admin')}\n"
        "  user:\n"
        f"    client-certificate-data: {q(_b64(client_cert_pem))}\n"
        f"    client-key-data: {q(_b64(client_key_pem))}\n"
        "contexts:\n"
        f"- name: {q(name)}\n"
        "  context:\n"
        f"    cluster: {q(name)}\n"
        f"    user: {q(name + '-admin')}\n"
        "    namespace: default\n"
        f"current-context: {q(name)}\n"
        "preferences: {}\n"
    )
