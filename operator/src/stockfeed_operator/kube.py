"""The operator's connection to the API server, shared with kopf, and its two kinds of writes.

One aiohttp session, built at login from the pod's service account or $KUBECONFIG, serves kopf's watches and
patches and our server-side applies and status patches. Its connector is bounded: a burst of reconciles then
queues here instead of opening a TLS connection per request (each costs memory, and a busy API server gains
nothing from more parallel requests). Objects are plain dicts in and out; errors become ApiError carrying the
server's own message (a 422 names the field the API server refused).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import kopf

from stockfeed_operator import feed as feedspec
from stockfeed_operator.naming import MANAGED_BY

# kind -> plural, for the kinds the operator writes
PLURALS: Mapping[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "configmaps",
    ("apps/v1", "Deployment"): "deployments",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopics",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafkausers",
    (feedspec.API_VERSION, feedspec.KIND): feedspec.PLURAL,
}
REQUEST_TIMEOUT = 30.0  # seconds; a hung API call must not hold a feed's reconcile forever
CONNECTIONS = 16  # kopf's watch streams (one per resource kind) and all requests share these


@dataclass(frozen=True)
class ApiError(Exception):
    """The API server refused a request (or could not be reached: status 0)."""

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


def object_path(api_version: str, kind: str, namespace: str, name: str, subresource: str = "") -> str:
    plural = PLURALS[(api_version, kind)]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}/{name}"
    return f"{path}/{subresource}" if subresource else path


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def credentials(**login_kwargs: Any) -> kopf.ConnectionInfo | None:
    """The pod's service account in a cluster, else $KUBECONFIG as it is now (not when a library was imported)."""
    if in_cluster():
        return kopf.login_with_service_account(**login_kwargs)
    return kopf.login_with_kubeconfig(**login_kwargs)


def open_session(info: kopf.ConnectionInfo) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS, ssl=info.as_ssl_context()),
        headers={**info.as_http_headers(), "User-Agent": MANAGED_BY},
    )


class Kube:
    """Writes through the session of the latest login (kopf logs in again when credentials expire)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._server = ""
        self._ready = asyncio.Event()

    def use(self, session: aiohttp.ClientSession, server: str) -> None:
        self._session, self._server = session, server.rstrip("/")
        self._ready.set()

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply as the operator's field manager, forcing ownership of every field we set.

        Forcing is what corrects drift: a field someone changed by hand returns to our value on the next apply;
        fields we never set (the Strimzi topic operator's finalizer, kubectl annotations) stay as they are.
        """
        metadata = obj["metadata"]
        path = object_path(obj["apiVersion"], obj["kind"], metadata["namespace"], metadata["name"])
        query = {"fieldManager": MANAGED_BY, "force": "true"}
        return await self._patch(path, obj, "application/apply-patch+yaml", query)

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as stored, or None when there is none."""
        try:
            return await self._request("GET", object_path(api_version, kind, namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def list_items(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        """Every object of a kind in a namespace (for the few lookups no label selector can make)."""
        path = object_path(api_version, kind, namespace, "").rstrip("/")
        answer = await self._request("GET", path)
        items: list[dict[str, Any]] = answer.get("items") or []
        return items

    async def scale_to_zero(self, namespace: str, name: str) -> None:
        """A Deployment's replicas to 0 by a merge patch (the object is about to go: no field ownership to keep);
        a missing one is already stopped."""
        path = object_path("apps/v1", "Deployment", namespace, name)
        try:
            await self._patch(path, {"spec": {"replicas": 0}}, "application/merge-patch+json", {})
        except ApiError as error:
            if error.status != 404:
                raise

    async def patch_feed_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of a StockFeed's status subresource (lists such as conditions are replaced whole)."""
        path = object_path(feedspec.API_VERSION, feedspec.KIND, namespace, name, subresource="status")
        return await self._patch(path, {"status": status}, "application/merge-patch+json", {})

    async def _patch(
        self, path: str, body: Mapping[str, Any], content_type: str, query: Mapping[str, str]
    ) -> dict[str, Any]:
        # JSON is YAML, so this also serves apply-patch+yaml
        return await self._request("PATCH", path, json.dumps(body), content_type, query)

    async def _request(
        self,
        method: str,
        path: str,
        data: str | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        await self._ready.wait()
        assert self._session is not None
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            async with self._session.request(
                method,
                self._server + path,
                params=query or {},
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                text = await response.text()
                if not 200 <= response.status <= 299:
                    raise api_error(response.status, response.reason or "", text)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApiError(0, type(error).__name__, str(error) or "no answer from the API server") from None
        parsed: dict[str, Any] = json.loads(text) if text else {}
        return parsed


def api_error(status: int, reason: str, body: str) -> ApiError:
    """The Kubernetes Status object's reason and message when there is one, else the raw body."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ApiError(status, reason, body.strip()[:500] or reason)
    if not isinstance(answer, dict):
        return ApiError(status, reason, body.strip()[:500])
    return ApiError(status, str(answer.get("reason") or reason), str(answer.get("message") or reason))
