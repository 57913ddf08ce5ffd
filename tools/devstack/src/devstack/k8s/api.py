"""A tiny stdlib client for the apiserver, authenticated with the admin client certificate (health probes)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from devstack.k8s.certs import Pki


def admin_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return context


def get(base_url: str, path: str, pki: Pki, timeout: float = 3.0) -> tuple[int, bytes]:
    """(status, body) of a GET, or (0, b"") when the server cannot be reached."""
    return request("GET", base_url, path, pki, timeout)


def delete(base_url: str, path: str, pki: Pki, timeout: float = 3.0) -> int:
    """The status of a DELETE (404 when there was nothing to delete, 0 when unreachable)."""
    return request("DELETE", base_url, path, pki, timeout)[0]


def request(method: str, base_url: str, path: str, pki: Pki, timeout: float) -> tuple[int, bytes]:
    try:
        context = admin_context(pki)
        call = urllib.request.Request(base_url + path, method=method)  # noqa: S310
        with urllib.request.urlopen(call, timeout=timeout, context=context) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return 0, b""


def get_json(base_url: str, path: str, pki: Pki) -> dict[str, object] | None:
    status, body = get(base_url, path, pki)
    if status != 200:
        return None
    value = json.loads(body)
    return value if isinstance(value, dict) else None
